//! The one error type at the hub's boundaries (REST handlers and socket
//! requests) and the one place that turns internal failures into wire codes.
//! The cause of an internal failure is logged once, here, and never sent.

use crate::store::StoreError;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use mpaka_protocol::{ErrorBody, ErrorCode, FieldCode, FieldError};

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

    /// `validation_failed` for one field, with the generic code `invalid`
    /// (the English message is all a client can show). Prefer
    /// [`AppError::coded`] for anything a person fills in.
    pub fn field(field: &str, message: impl Into<String>) -> AppError {
        AppError::coded(field, FieldCode::Invalid, message)
    }

    /// `validation_failed` for one field, with its stable code.
    pub fn coded(field: &str, code: FieldCode, message: impl Into<String>) -> AppError {
        AppError::invalid(vec![FieldError::new(field, code, message)])
    }

    /// `validation_failed` for one field, with its stable code and the
    /// params its text needs (numbers or short fixed words, never text
    /// from the request).
    pub fn coded_with(
        field: &str,
        code: FieldCode,
        message: impl Into<String>,
        params: &[(&str, serde_json::Value)],
    ) -> AppError {
        let error = params
            .iter()
            .fold(FieldError::new(field, code, message), |e, (k, v)| {
                e.with(k, v.clone())
            });
        AppError::invalid(vec![error])
    }

    /// `too_many_attempts` with `retry_after_ms` (and, over HTTP, `Retry-After`).
    pub fn too_many_attempts(retry_after_ms: u64) -> AppError {
        let mut body = ErrorBody::new(
            ErrorCode::TooManyAttempts,
            "too many failed logins; wait before trying again",
        );
        body.retry_after_ms = Some(retry_after_ms);
        AppError::Client(body)
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
        // RFC 9110 Retry-After, in whole seconds, beside the body's milliseconds.
        let retry_after = body.retry_after_ms.map(|ms| ms.div_ceil(1000).to_string());
        let mut response = (status, axum::Json(body)).into_response();
        if let Some(Ok(value)) = retry_after.map(|s| axum::http::HeaderValue::from_str(&s)) {
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, value);
        }
        response
    }
}

/// Rewrites a parser message so that no value from the input (which might
/// be a password or token) is echoed back: double-quoted strings and
/// backtick-quoted input (`unknown variant `x``) are elided, while the
/// parser's own vocabulary stays — the list after "expected" and the name
/// in "missing field `status`", which come from the schema, not the input.
pub fn elide_quoted(message: &str) -> String {
    let (input_part, expected) = match message.find(", expected") {
        Some(at) => message.split_at(at),
        None => (message, ""),
    };
    let mut out = String::with_capacity(message.len());
    let mut quote: Option<char> = None;
    let mut keep_backticks = false;
    for (at, c) in input_part.char_indices() {
        match (quote, c) {
            (Some(open), c) if c == open => {
                if !(open == '`' && keep_backticks) {
                    out.push('…');
                }
                out.push(c);
                quote = None;
            }
            (Some(open), c) => {
                if open == '`' && keep_backticks {
                    out.push(c);
                }
            }
            (None, '"' | '`') => {
                keep_backticks = c == '`' && input_part[..at].ends_with("missing field ");
                out.push(c);
                quote = Some(c);
            }
            (None, c) => out.push(c),
        }
    }
    out.push_str(&expected.replace('"', ""));
    out
}

/// The error for a request body that could not be read at all: over the
/// size limit (`frame_too_large`, 413) or broken off (`bad_frame`).
pub fn body_rejection(status: StatusCode) -> AppError {
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::new(
            mpaka_protocol::ErrorCode::FrameTooLarge,
            "the request body is larger than the limit",
        )
    } else {
        AppError::new(
            mpaka_protocol::ErrorCode::BadFrame,
            "the request body could not be read",
        )
    }
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

#[cfg(test)]
mod tests {
    use super::elide_quoted;

    #[test]
    fn parser_messages_never_echo_the_input() {
        let unknown = "unknown variant `hunter2`, expected one of `officer`, `coordinator`";
        assert_eq!(
            elide_quoted(unknown),
            "unknown variant `…`, expected one of `officer`, `coordinator`"
        );
        let wrong_type = "invalid type: string \"s3cret\", expected u32 at line 1 column 9";
        assert!(!elide_quoted(wrong_type).contains("s3cret"));
        assert!(!elide_quoted("unknown field `token-abc`, expected `id`").contains("token-abc"));
    }

    #[test]
    fn missing_field_names_come_from_the_schema_and_stay() {
        assert_eq!(
            elide_quoted("missing field `status` at line 1 column 4"),
            "missing field `status` at line 1 column 4"
        );
    }
}
