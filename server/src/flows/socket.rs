//! Flow requests over the socket (`flow.*` frames), answered beside the
//! session loop like SOP requests; the request `id` is the idempotency key
//! of write steps.

use super::{queries, steps};
use crate::access::Principal;
use crate::app::AppState;
use crate::error::{AppError, AppResult};
use crate::ws::check_rate;
use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame};
use std::sync::Arc;

/// Answers one flow request with its reply or an `error` frame.
pub async fn handle(state: AppState, who: Arc<Principal>, frame: ClientFrame) -> ServerFrame {
    let id = frame.id().to_owned();
    match answer(&state, &who, frame).await {
        Ok(reply) => reply,
        Err(error) => ServerFrame::Error {
            id: Some(id),
            error: error.body(),
        },
    }
}

async fn answer(state: &AppState, who: &Principal, frame: ClientFrame) -> AppResult<ServerFrame> {
    let saved = |id: String, receipt| ServerFrame::FlowSaved {
        id,
        receipt: Box::new(receipt),
    };
    let surge_saved = |id: String, receipt| ServerFrame::FlowSurgeSaved {
        id,
        receipt: Box::new(receipt),
    };
    Ok(match frame {
        ClientFrame::FlowRecord { id, report } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::record(state, who, &id, report).await?;
            saved(id, receipt)
        }
        ClientFrame::FlowCorrect {
            id,
            report_id,
            correction,
        } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::correct(state, who, &id, &report_id, correction).await?;
            saved(id, receipt)
        }
        ClientFrame::FlowSeries { id, query } => ServerFrame::FlowSeries {
            id,
            series: Box::new(queries::series(state, who, query).await?),
        },
        ClientFrame::FlowSurgeConfirm { id, surge_id } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::confirm(state, who, &id, &surge_id).await?;
            surge_saved(id, receipt)
        }
        ClientFrame::FlowSurgeDismiss {
            id,
            surge_id,
            reason,
        } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::dismiss(state, who, &id, &surge_id, &reason).await?;
            surge_saved(id, receipt)
        }
        other => {
            return Err(AppError::new(
                ErrorCode::BadFrame,
                format!("`{}` is not a flow request", other.id()),
            ))
        }
    })
}
