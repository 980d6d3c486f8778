//! Alert requests over the socket (`alert.*` frames). The session hands
//! them here and sends the answer when it is ready, while it keeps serving;
//! the request `id` is the idempotency key of write steps.

use super::query;
use super::steps::{self, Closing};
use crate::access::Principal;
use crate::app::AppState;
use crate::error::AppResult;
use crate::ws::check_rate;
use mpaka_protocol::ClientFrame;
use mpaka_protocol::ServerFrame;

/// Whether the frame is an alert request this module answers.
pub fn is_alert_request(frame: &ClientFrame) -> bool {
    matches!(
        frame,
        ClientFrame::AlertRaise { .. }
            | ClientFrame::AlertAck { .. }
            | ClientFrame::AlertUpdate { .. }
            | ClientFrame::AlertResolve { .. }
            | ClientFrame::AlertCancel { .. }
            | ClientFrame::AlertList { .. }
            | ClientFrame::AlertGet { .. }
            | ClientFrame::AlertSummary { .. }
    )
}

/// Answers one alert request; any other frame is answered `bad_frame`.
///
/// # Errors
/// The step's or query's error, for an `error` frame with the request id.
pub async fn handle(
    state: &AppState,
    who: &Principal,
    frame: ClientFrame,
) -> AppResult<ServerFrame> {
    let saved = |id: String, receipt| ServerFrame::AlertSaved {
        id,
        receipt: Box::new(receipt),
    };
    Ok(match frame {
        ClientFrame::AlertRaise { id, alert } => {
            check_rate(state, who.user_id)?;
            saved(
                id.clone(),
                steps::raise(state, who, &id, alert, None).await?,
            )
        }
        ClientFrame::AlertAck { id, alert_id } => {
            check_rate(state, who.user_id)?;
            saved(
                id.clone(),
                steps::acknowledge(state, who, &id, &alert_id).await?,
            )
        }
        ClientFrame::AlertUpdate {
            id,
            alert_id,
            patch,
        } => {
            check_rate(state, who.user_id)?;
            saved(
                id.clone(),
                steps::update(state, who, &id, &alert_id, patch).await?,
            )
        }
        ClientFrame::AlertResolve {
            id,
            alert_id,
            reason,
        } => {
            check_rate(state, who.user_id)?;
            let receipt =
                steps::close(state, who, &id, &alert_id, Closing::Resolve, reason).await?;
            saved(id, receipt)
        }
        ClientFrame::AlertCancel {
            id,
            alert_id,
            reason,
        } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::close(state, who, &id, &alert_id, Closing::Cancel, reason).await?;
            saved(id, receipt)
        }
        ClientFrame::AlertList { id, filter } => ServerFrame::AlertPage {
            id,
            page: query::list(state, who, filter).await?,
        },
        ClientFrame::AlertGet { id, alert_id } => ServerFrame::AlertDetail {
            id,
            detail: Box::new(query::get(state, who, &alert_id).await?),
        },
        ClientFrame::AlertSummary { id } => ServerFrame::AlertSummaries {
            id,
            corridors: query::summary(state, who).await?,
        },
        other => {
            return Err(crate::error::AppError::new(
                mpaka_protocol::ErrorCode::BadFrame,
                format!("`{}` is not an alert request", other.id()),
            ))
        }
    })
}

/// For an `alert.raise` or `alert.update` frame that failed to parse because
/// of its draft or patch (an unknown kind, a count that is not a number),
/// the `validation_failed` error naming the field; `None` otherwise, when
/// the generic `bad_frame` answer fits.
pub fn explain_parse_failure(frame: &serde_json::Value) -> Option<mpaka_protocol::ErrorBody> {
    let problem = match frame.get("type")?.as_str()? {
        "alert.raise" => mpaka_protocol::from_value_named::<mpaka_protocol::AlertDraft>(
            frame.get("alert")?.clone(),
        )
        .err()?,
        "alert.update" => mpaka_protocol::from_value_named::<mpaka_protocol::AlertPatch>(
            frame.get("patch")?.clone(),
        )
        .err()?,
        _ => return None,
    };
    Some(crate::error::AppError::invalid(vec![problem]).body())
}
