//! Alert requests over the socket (`alert.*` frames). The session hands
//! them here and sends the answer when it is ready, while it keeps serving;
//! the request `id` is the idempotency key of write steps.

use super::queries;
use super::steps::{self, Closing};
use crate::access::Principal;
use crate::error::AppResult;
use crate::state::AppState;
use mpaka_protocol::{AlertRequest, ServerFrame};

/// Answers one request; the session turns an error into an `error`
/// frame with the request's id.
///
/// # Errors
/// The step's or query's refusal.
pub async fn handle(
    state: &AppState,
    who: &Principal,
    request: AlertRequest,
) -> AppResult<ServerFrame> {
    let saved = |id: String, receipt| ServerFrame::AlertSaved {
        id,
        receipt: Box::new(receipt),
    };
    if request.is_write() {
        state.write_limiter.check(who.user_id)?;
    }
    Ok(match request {
        AlertRequest::Raise { id, alert } => {
            let receipt = steps::raise(state, who, &id, alert, None).await?;
            saved(id, receipt)
        }
        AlertRequest::Ack {
            id,
            alert_id,
            written_at,
        } => {
            let receipt =
                steps::acknowledge(state, who, &id, &alert_id, written_at.as_deref()).await?;
            saved(id, receipt)
        }
        AlertRequest::Update {
            id,
            alert_id,
            patch,
        } => {
            let receipt = steps::update(state, who, &id, &alert_id, patch).await?;
            saved(id, receipt)
        }
        AlertRequest::Resolve {
            id,
            alert_id,
            reason,
        } => {
            let receipt =
                steps::close(state, who, &id, &alert_id, Closing::Resolve, reason).await?;
            saved(id, receipt)
        }
        AlertRequest::Cancel {
            id,
            alert_id,
            reason,
        } => {
            let receipt = steps::close(state, who, &id, &alert_id, Closing::Cancel, reason).await?;
            saved(id, receipt)
        }
        AlertRequest::List { id, filter } => ServerFrame::AlertPage {
            id,
            page: queries::list(state, who, filter).await?,
        },
        AlertRequest::Get { id, alert_id } => ServerFrame::AlertDetail {
            id,
            detail: Box::new(queries::get(state, who, &alert_id).await?),
        },
        AlertRequest::Summary { id } => ServerFrame::AlertSummaries {
            id,
            corridors: queries::summary(state, who).await?,
        },
    })
}
