//! Bodies of the REST API under `/api/v1` that clients of the socket also
//! need (logging in, refreshing). Errors use [`crate::ErrorBody`].

use crate::UserInfo;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST /api/v1/me/password`: the caller changes their own password; the
/// caller's other sessions end.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PasswordChange {
    pub current_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for PasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordChange").finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/password`: a password change without a token, for an
/// account whose login answers `password_change_required`; every session
/// of the account ends.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AccountPasswordChange {
    pub username: String,
    pub current_password: String,
    pub new_password: String,
}

impl std::fmt::Debug for AccountPasswordChange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccountPasswordChange")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/users/{username}/password`: an administrator sets a new
/// password; the user must change it at the next login.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct PasswordReset {
    pub password: String,
}

impl std::fmt::Debug for PasswordReset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordReset").finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/login`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginRequest")
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

/// `POST /api/v1/auth/refresh` and `POST /api/v1/auth/logout`.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RefreshRequest {
    /// The refresh token. May be left out (`{}`) by a browser that logged in
    /// with the `x-mpaka-refresh: cookie` header: the hub then reads it from
    /// its `mpaka_refresh` cookie, and only with that header again.
    #[serde(default)]
    pub refresh_token: String,
}

impl std::fmt::Debug for RefreshRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshRequest { .. }")
    }
}

/// The answer to a successful login or refresh.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct TokenResponse {
    /// JWT for `Authorization: Bearer …` and the socket's `auth` frame.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Opaque, single-use: exchange it at `/api/v1/auth/refresh` for a new
    /// pair. Absent when the request carried `x-mpaka-refresh: cookie`: the
    /// token is then only in the HttpOnly `mpaka_refresh` cookie.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub refresh_token: String,
    pub user: UserInfo,
}

impl std::fmt::Debug for TokenResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("expires_in", &self.expires_in)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}
