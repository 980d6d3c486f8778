//! The `Authorization: Bearer …` extractor for REST handlers.

use crate::access::Principal;
use crate::app::AppState;
use crate::error::AppError;
use crate::store::User;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use mpaka_protocol::{ErrorCode, Role};

/// The caller of a REST route, checked against the account as it is now.
pub struct Authenticated {
    pub user: User,
    pub principal: Principal,
}

impl Authenticated {
    /// Fails with `forbidden` unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role]) -> Result<(), AppError> {
        if roles.contains(&self.user.role) {
            Ok(())
        } else {
            Err(AppError::forbidden(format!(
                "the {} role may not do this",
                self.user.role
            )))
        }
    }

    pub fn actor(&self) -> crate::admin::Actor<'_> {
        crate::admin::Actor::User {
            id: self.user.id,
            username: &self.user.username,
        }
    }
}

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::AuthRequired,
                    "send Authorization: Bearer <access token>",
                )
            })?;
        let user = state.auth.authenticate(token).await.inspect_err(|e| {
            state.metrics.auth_failed(e.body().code);
        })?;
        let principal = Principal::new(&user, &state.hub.directory());
        Ok(Authenticated { user, principal })
    }
}

/// `Json` whose rejections are mpaka errors (`bad_frame` with a stable body).
#[derive(axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(AppError))]
pub struct ApiJson<T>(pub T);

/// The `Idempotency-Key` header of a REST write, if sent: the same role as a
/// socket request's `id`.
///
/// # Errors
/// `validation_failed` when present but empty, longer than 128 bytes or not
/// visible ASCII.
pub fn idempotency_key(headers: &axum::http::HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    value
        .to_str()
        .ok()
        .filter(|k| (1..=128).contains(&k.len()))
        .map(|k| Some(k.to_owned()))
        .ok_or_else(|| AppError::field("Idempotency-Key", "must be 1–128 visible ASCII characters"))
}
