//! Messaging frames on the socket (`publish`, `history`, `presence`). A
//! publish's reply is a future the session sends when the commit is done,
//! while it keeps serving; the request `id` is the idempotency key.

use super::{queries, steps};
use crate::access::Principal;
use crate::error::AppResult;
use crate::state::AppState;
use mpaka_protocol::{MessagingRequest, ServerFrame};
use std::future::Future;
use std::sync::Arc;

/// Answers one messaging request. The checks of a publish run before this
/// returns; its reply comes from the returned future.
///
/// # Errors
/// The refusal, for an `error` frame with the request id.
pub async fn handle(
    state: &AppState,
    who: &Arc<Principal>,
    request: MessagingRequest,
) -> AppResult<Reply> {
    Ok(match request {
        MessagingRequest::Publish {
            id,
            channel,
            text,
            lang,
            written_at,
        } => {
            let commit = steps::publish(
                state,
                who.clone(),
                id.clone(),
                channel,
                text,
                lang,
                written_at,
            )?;
            Reply::Later(Box::pin(async move {
                let published = commit.await?;
                Ok(ServerFrame::Published {
                    id,
                    seq: published.seq,
                    at: published.at,
                    duplicate: published.duplicate,
                })
            }))
        }
        MessagingRequest::History {
            id,
            channel,
            before,
            limit,
        } => Reply::Now(Box::new(ServerFrame::History {
            events: queries::history(state, who, &channel, before, limit).await?,
            id,
            channel,
        })),
        MessagingRequest::Presence { id } => Reply::Now(Box::new(ServerFrame::Presence {
            id,
            posts: queries::post_statuses(state, who).await?,
        })),
    })
}

/// A reply to send now, or one that is ready when a commit completes.
pub enum Reply {
    Now(Box<ServerFrame>),
    Later(std::pin::Pin<Box<dyn Future<Output = AppResult<ServerFrame>> + Send>>),
}
