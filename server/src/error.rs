//! The one error type at the hub's boundaries (REST handlers and socket
//! requests) and the one place that turns internal failures into wire codes.
//! The cause of an internal failure is logged once, here, and never sent.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mpaka_protocol::{ErrorBody, ErrorCode, FieldError};

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// A problem with the request, told to the client as is.
    #[error("{}: {}", .0.code, .0.message)]
    Client(ErrorBody),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> AppError {
        AppError::Client(ErrorBody::new(code, message))
    }

    pub fn forbidden(message: impl Into<String>) -> AppError {
        AppError::new(ErrorCode::Forbidden, message)
    }

    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(ErrorCode::NotFound, message)
    }

    pub fn invalid(fields: Vec<FieldError>) -> AppError {
        let message = match fields.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} fields are invalid", fields.len()),
        };
        let mut body = ErrorBody::new(ErrorCode::ValidationFailed, message);
        body.fields = fields;
        AppError::Client(body)
    }

    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::invalid(vec![FieldError {
            field: field.into(),
            message: message.into(),
        }])
    }

    pub fn rate_limited(retry_after_ms: u64) -> AppError {
        let mut body = ErrorBody::new(ErrorCode::RateLimited, "too many requests; slow down");
        body.retry_after_ms = Some(retry_after_ms);
        AppError::Client(body)
    }

    /// The body sent to the client. Internal causes are logged here and
    /// replaced by a generic message.
    pub fn body(&self) -> ErrorBody {
        match self {
            AppError::Client(body) => body.clone(),
            AppError::Store(StoreError::IdempotencyConflict) => ErrorBody::new(
                ErrorCode::IdempotencyConflict,
                "this request id was already used for a different request",
            ),
            AppError::Store(StoreError::NotFound(what)) => {
                ErrorBody::new(ErrorCode::NotFound, format!("{what} not found"))
            }
            AppError::Store(StoreError::Duplicate(what)) => {
                ErrorBody::new(ErrorCode::AlreadyExists, format!("{what} already exists"))
            }
            AppError::Store(StoreError::Unavailable(reason)) => ErrorBody::new(
                ErrorCode::Unavailable,
                format!("storage unavailable: {reason}; retry later"),
            ),
            AppError::Store(StoreError::Database(e))
                if crate::store::unavailable_reason(e).is_some() =>
            {
                let reason = crate::store::unavailable_reason(e).unwrap_or("unavailable");
                tracing::error!(error = %e, reason, "storage unavailable");
                ErrorBody::new(
                    ErrorCode::Unavailable,
                    format!("storage unavailable: {reason}; retry later"),
                )
            }
            other => {
                tracing::error!(error = ?other, "internal error");
                ErrorBody::new(ErrorCode::Internal, "internal error; see the server log")
            }
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let body = self.body();
        let status = StatusCode::from_u16(body.code.http_status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        (status, axum::Json(body)).into_response()
    }
}

/// Rewrites a parser message so that no value from the input (which might
/// be a password or token) is echoed back: quoted strings are elided.
pub fn elide_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut in_quotes = false;
    for c in message.chars() {
        match c {
            '"' if in_quotes => {
                out.push_str("…\"");
                in_quotes = false;
            }
            '"' => {
                out.push('"');
                in_quotes = true;
            }
            _ if in_quotes => {}
            _ => out.push(c),
        }
    }
    out
}

impl From<axum::extract::rejection::JsonRejection> for AppError {
    fn from(rejection: axum::extract::rejection::JsonRejection) -> AppError {
        AppError::new(
            mpaka_protocol::ErrorCode::BadFrame,
            format!(
                "malformed request body: {}",
                elide_quoted(&rejection.body_text())
            ),
        )
    }
}
