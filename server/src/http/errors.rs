//! Every error response of the API carries the documented JSON error body,
//! including those made outside mpaka's handlers: the body limit (413), an
//! unknown route (404), a wrong method (405), a wrong content type (415).

use axum::extract::Request;
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use mpaka_protocol::{ErrorBody, ErrorCode};

/// Rewrites a non-JSON error response into an [`ErrorBody`] with the same status.
pub async fn json_errors(request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    // Only bodies nobody chose are rewritten: none, or the plain text that
    // axum and tower write for their own rejections. A handler that set a
    // type of its own (JSON, or the witness protocol's `text/x.tlog.size`)
    // keeps its body.
    let chosen = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| !v.as_bytes().starts_with(b"text/plain"));
    if chosen {
        return response;
    }
    let (code, message) = match status.as_u16() {
        413 => (
            ErrorCode::FrameTooLarge,
            "the request body is larger than the limit",
        ),
        404 => (ErrorCode::NotFound, "no such API route"),
        405 => (ErrorCode::BadFrame, "this route does not take that method"),
        415 => (ErrorCode::BadFrame, "send the body as application/json"),
        401 => (ErrorCode::AuthRequired, "authentication required"),
        503 => (ErrorCode::Unavailable, "unavailable; retry later"),
        500.. => (ErrorCode::Internal, "internal error; see the server log"),
        _ => (ErrorCode::BadFrame, "the request could not be read"),
    };
    let mut rewritten = (status, axum::Json(ErrorBody::new(code, message))).into_response();
    for (name, value) in response.headers() {
        if name != CONTENT_TYPE && name != axum::http::header::CONTENT_LENGTH {
            rewritten.headers_mut().insert(name.clone(), value.clone());
        }
    }
    rewritten
}
