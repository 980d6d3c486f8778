//! SOP requests on the socket: the session hands every `sop.*` frame here
//! and sends back whatever frame this returns. Requests run beside the
//! session's loop (like publishes), so a slow commit never stalls the
//! delivery of events; replies are matched to requests by `id`.

use super::queries;
use super::steps::{self, DraftMode};
use crate::access::Principal;
use crate::app::AppState;
use crate::error::AppResult;
use crate::ws::check_rate;
use mpaka_protocol::{ClientFrame, ErrorCode, ServerFrame};
use std::sync::Arc;

/// Answers one SOP request: its reply frame, or an `error` frame with the
/// request's id. The request id is the idempotency key of write steps.
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
    Ok(match frame {
        ClientFrame::SopList { id } => ServerFrame::SopList {
            id,
            sops: queries::list(state, who).await?,
        },
        ClientFrame::SopGet {
            id,
            slug,
            version,
            lang,
            format,
        } => ServerFrame::SopGet {
            id,
            reading: Box::new(
                queries::reading(
                    state,
                    who,
                    &slug,
                    version,
                    lang.as_deref(),
                    format.unwrap_or_default(),
                )
                .await?,
            ),
        },
        ClientFrame::SopHistory { id, slug } => ServerFrame::SopHistory {
            history: Box::new(queries::history(state, who, &slug).await?),
            id,
        },
        ClientFrame::SopDraft { id, draft } => {
            check_rate(state, who.user_id)?;
            let saved = steps::save_draft(state, who, Some(&id), *draft, DraftMode::Upsert).await?;
            ServerFrame::SopDrafted {
                id,
                draft: Box::new(saved),
            }
        }
        ClientFrame::SopPublish { id, slug, version } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::publish(state, who, Some(&id), &slug, version).await?;
            ServerFrame::SopPublished { id, receipt }
        }
        ClientFrame::SopRetire { id, slug, reason } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::retire(state, who, Some(&id), &slug, &reason).await?;
            ServerFrame::SopRetired { id, receipt }
        }
        ClientFrame::SopAck { id, slug, version } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::acknowledge(state, who, Some(&id), &slug, version).await?;
            ServerFrame::SopAcknowledged { id, receipt }
        }
        ClientFrame::SopCoverage { id, slug, version } => ServerFrame::SopCoverage {
            coverage: queries::coverage(state, who, &slug, version).await?,
            id,
        },
        ClientFrame::SopRemind {
            id,
            slug,
            version,
            message,
        } => {
            check_rate(state, who.user_id)?;
            let receipt = steps::remind(state, who, Some(&id), &slug, version, &message).await?;
            ServerFrame::SopReminded { id, receipt }
        }
        ClientFrame::SopDiff {
            id,
            slug,
            from,
            to,
            lang,
        } => ServerFrame::SopDiff {
            diff: queries::diff(state, who, &slug, from, to, lang.as_deref()).await?,
            id,
        },
        other => {
            return Err(crate::error::AppError::new(
                ErrorCode::BadFrame,
                format!("`{}` is not an SOP request", other.id()),
            ))
        }
    })
}
