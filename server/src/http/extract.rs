//! The one way a REST handler reads a request: who is calling
//! ([`Authenticated`]), the `Idempotency-Key` ([`IdempotencyKey`]), the
//! JSON body ([`Body`]), and how a write answers ([`Written`]). Every
//! rejection is the documented JSON error body.
//!
//! The rule for `Idempotency-Key`: every REST write accepts it (1–128
//! visible ASCII characters) and answers a repeat with the first reply
//! (200, `duplicate: true`). Publishing a message and raising an alert
//! require it, because a retry without it would store a second one. Every
//! other write may leave it out: a repeated step on an existing alert or
//! SOP is refused by its state (`invalid_state`), a second SOP with the
//! same slug by `already_exists`, and a CAP document is keyed by its own
//! sender and identifier.

use crate::access::Principal;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::User;
use axum::extract::{FromRequest, FromRequestParts, OptionalFromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use mpaka_protocol::{ErrorCode, FieldCode, FieldError, Role};
use serde::de::DeserializeOwned;
use serde::Serialize;

/// The caller of a REST route, checked against the account as it is now.
pub struct Authenticated {
    pub user: User,
    pub principal: Principal,
}

impl Authenticated {
    /// Fails with `forbidden` unless the caller has one of `roles`.
    ///
    /// # Errors
    /// `forbidden`.
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
        let mut principal = Principal::new(&user, &state.hub.directory());
        if let Some(client) =
            crate::client_addr::ClientAddr::of(&parts.extensions, &parts.headers, state)
        {
            principal = principal.from_client(client.0);
        }
        Ok(Authenticated { user, principal })
    }
}

/// Query-string parameters; a value that does not fit is
/// `validation_failed` on `query`, with no value echoed.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for Params<T> {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(params)| Params(params))
            .map_err(|e| {
                AppError::coded(
                    "query",
                    FieldCode::WrongType,
                    crate::error::elide_quoted(&e.body_text())
                        .replace("Failed to deserialize query string: ", ""),
                )
            })
    }
}

/// The `Idempotency-Key` header: required as `IdempotencyKey`, optional as
/// `Option<IdempotencyKey>` (a present but malformed key is refused either way).
pub struct IdempotencyKey(pub String);

impl IdempotencyKey {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn read(parts: &Parts) -> Result<Option<IdempotencyKey>, AppError> {
        let Some(value) = parts.headers.get("idempotency-key") else {
            return Ok(None);
        };
        value
            .to_str()
            .ok()
            .filter(|k| (1..=128).contains(&k.len()))
            .map(|k| Some(IdempotencyKey(k.to_owned())))
            .ok_or_else(|| {
                AppError::coded_with(
                    "Idempotency-Key",
                    FieldCode::BadFormat,
                    "must be 1–128 visible ASCII characters",
                    &[("format", "ASCII (1–128)".into())],
                )
            })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        IdempotencyKey::read(parts)?.ok_or_else(|| {
            AppError::coded(
                "Idempotency-Key",
                FieldCode::Required,
                "send a unique Idempotency-Key header (1–128 characters)",
            )
        })
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for IdempotencyKey {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        IdempotencyKey::read(parts)
    }
}

/// A JSON request body. Text that is not JSON at all is `bad_frame`; JSON
/// that does not fit is `validation_failed` naming each field at fault
/// (every missing required field, or the path of the first wrong one).
/// An empty body reads as `T::default()` only through [`OptionalBody`].
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + schemars::JsonSchema> FromRequest<S> for Body<T> {
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| crate::error::body_rejection(e.status()))?;
        parse_body(&bytes).map(Body)
    }
}

/// A JSON body that may be left out entirely (empty or whitespace).
pub struct OptionalBody<T>(pub T);

impl<S, T> FromRequest<S> for OptionalBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned + schemars::JsonSchema + Default,
{
    type Rejection = AppError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|e| crate::error::body_rejection(e.status()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalBody(T::default()));
        }
        parse_body(&bytes).map(OptionalBody)
    }
}

/// Parses a request body as [`Body`] does.
///
/// # Errors
/// `bad_frame` for text that is not JSON, `validation_failed` for JSON that
/// does not fit `T`.
pub fn parse_body<T: DeserializeOwned + schemars::JsonSchema>(bytes: &[u8]) -> Result<T, AppError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        AppError::new(
            ErrorCode::BadFrame,
            format!(
                "the request body is not JSON: {}",
                crate::error::elide_quoted(&e.to_string())
            ),
        )
    })?;
    // The usual case, a body that fits, costs one pass; only a refused one
    // pays for the schema and for finding the path of the fault.
    if let Ok(body) = T::deserialize(&value) {
        return Ok(body);
    }
    let missing = missing_fields::<T>(&value);
    if !missing.is_empty() {
        return Err(AppError::invalid(missing));
    }
    mpaka_protocol::from_value_named(value).map_err(|mut e| {
        e.message = crate::error::elide_quoted(&e.message);
        AppError::invalid(vec![e])
    })
}

/// Every required top-level field of `T` absent from `value`, so that a
/// client sees all of them at once instead of one per attempt.
fn missing_fields<T: schemars::JsonSchema>(value: &serde_json::Value) -> Vec<FieldError> {
    let Some(object) = value.as_object() else {
        return Vec::new();
    };
    let schema = schemars::schema_for!(T);
    schema
        .get("required")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|name| name.as_str())
        .filter(|name| !object.contains_key(*name))
        .map(|name| FieldError::new(name, FieldCode::Required, "is required"))
        .collect()
}

/// The answer to a write. A write that creates something (a message, an
/// alert, an SOP version…) answers 201, a step on an existing object 200;
/// a repeat of either (its `Idempotency-Key` already used) answers 200 with
/// the first reply, marked `duplicate: true`.
pub struct Written<T> {
    reply: T,
    fresh: StatusCode,
}

impl<T> Written<T> {
    /// A write that created something: 201, or 200 for a repeat.
    pub fn created(reply: T) -> Written<T> {
        Written {
            reply,
            fresh: StatusCode::CREATED,
        }
    }

    /// A step on an existing object: 200.
    pub fn applied(reply: T) -> Written<T> {
        Written {
            reply,
            fresh: StatusCode::OK,
        }
    }
}

/// A reply that can say whether it repeats an earlier write.
pub trait Outcome {
    fn is_duplicate(&self) -> bool;
}

impl<T: Serialize + Outcome> IntoResponse for Written<T> {
    fn into_response(self) -> Response {
        let status = if self.reply.is_duplicate() {
            StatusCode::OK
        } else {
            self.fresh
        };
        (status, axum::Json(self.reply)).into_response()
    }
}

macro_rules! outcome {
    ($($t:ty),*) => {
        $(impl Outcome for $t {
            fn is_duplicate(&self) -> bool {
                self.duplicate
            }
        })*
    };
}

outcome!(
    mpaka_protocol::AlertReceipt,
    mpaka_protocol::SopDraftSaved,
    mpaka_protocol::SopReceipt,
    mpaka_protocol::SopAckReceipt,
    mpaka_protocol::SopRemindReceipt,
    mpaka_protocol::FlowReceipt
);
