//! SOP requests on the socket: the session hands every `sop.*` frame here
//! and sends back whatever frame this returns. Requests run beside the
//! session's loop (like publishes), so a slow commit never stalls the
//! delivery of events; replies are matched to requests by `id`.

use super::queries;
use super::steps::{self, DraftMode};
use crate::access::Principal;
use crate::error::AppResult;
use crate::state::AppState;
use mpaka_protocol::{ServerFrame, SopRequest};

/// Answers one request; the session turns an error into an `error`
/// frame with the request's id.
///
/// # Errors
/// The step's or query's refusal.
pub async fn handle(
    state: &AppState,
    who: &Principal,
    request: SopRequest,
) -> AppResult<ServerFrame> {
    if request.is_write() {
        state.write_limiter.check(who.user_id)?;
    }
    Ok(match request {
        SopRequest::List { id } => ServerFrame::SopList {
            id,
            sops: queries::list(state, who).await?,
        },
        SopRequest::Get {
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
        SopRequest::History { id, slug } => ServerFrame::SopHistory {
            history: Box::new(queries::history(state, who, &slug).await?),
            id,
        },
        SopRequest::Draft { id, draft } => {
            let saved = steps::save_draft(state, who, Some(&id), *draft, DraftMode::Upsert).await?;
            ServerFrame::SopDrafted {
                id,
                draft: Box::new(saved),
            }
        }
        SopRequest::Publish { id, slug, version } => {
            let receipt = steps::publish(state, who, Some(&id), &slug, version).await?;
            ServerFrame::SopPublished { id, receipt }
        }
        SopRequest::Retire { id, slug, reason } => {
            let receipt = steps::retire(state, who, Some(&id), &slug, &reason).await?;
            ServerFrame::SopRetired { id, receipt }
        }
        SopRequest::Ack { id, slug, version } => {
            let receipt = steps::acknowledge(state, who, Some(&id), &slug, version).await?;
            ServerFrame::SopAcknowledged { id, receipt }
        }
        SopRequest::Coverage { id, slug, version } => ServerFrame::SopCoverage {
            coverage: queries::coverage(state, who, &slug, version).await?,
            id,
        },
        SopRequest::Remind {
            id,
            slug,
            version,
            message,
        } => {
            let receipt = steps::remind(state, who, Some(&id), &slug, version, &message).await?;
            ServerFrame::SopReminded { id, receipt }
        }
        SopRequest::Diff {
            id,
            slug,
            from,
            to,
            lang,
        } => ServerFrame::SopDiff {
            diff: queries::diff(state, who, &slug, from, to, lang.as_deref()).await?,
            id,
        },
    })
}
