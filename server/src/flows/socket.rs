//! Flow requests over the socket (`flow.*` frames), answered beside the
//! session loop like SOP requests; the request `id` is the idempotency key
//! of write steps.

use super::{queries, steps};
use crate::access::Principal;
use crate::error::AppResult;
use crate::state::AppState;
use mpaka_protocol::{FlowRequest, ServerFrame};

/// Answers one request; the session turns an error into an `error`
/// frame with the request's id.
///
/// # Errors
/// The step's or query's refusal.
pub async fn handle(
    state: &AppState,
    who: &Principal,
    request: FlowRequest,
) -> AppResult<ServerFrame> {
    let saved = |id: String, receipt| ServerFrame::FlowSaved {
        id,
        receipt: Box::new(receipt),
    };
    let surge_saved = |id: String, receipt| ServerFrame::FlowSurgeSaved {
        id,
        receipt: Box::new(receipt),
    };
    if request.is_write() {
        state.write_limiter.check(who.user_id)?;
    }
    Ok(match request {
        FlowRequest::Record { id, report } => {
            let receipt = steps::record(state, who, &id, report).await?;
            saved(id, receipt)
        }
        FlowRequest::Correct {
            id,
            report_id,
            correction,
        } => {
            let receipt = steps::correct(state, who, &id, &report_id, correction).await?;
            saved(id, receipt)
        }
        FlowRequest::Series { id, query } => ServerFrame::FlowSeries {
            id,
            series: Box::new(queries::series(state, who, query).await?),
        },
        FlowRequest::SurgeConfirm { id, surge_id } => {
            let receipt = steps::confirm(state, who, &id, &surge_id).await?;
            surge_saved(id, receipt)
        }
        FlowRequest::SurgeDismiss {
            id,
            surge_id,
            reason,
        } => {
            let receipt = steps::dismiss(state, who, &id, &surge_id, &reason).await?;
            surge_saved(id, receipt)
        }
    })
}
