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

/// `POST /api/v1/auth/second-factor`: the second step of a login that
/// answered `second_factor_required`. `code` is the 6-digit code of the
/// authenticator app, or one of the recovery codes (dashes and spaces
/// ignored). Answered with a [`TokenResponse`].
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecondFactorLogin {
    pub challenge: String,
    pub code: String,
}

impl std::fmt::Debug for SecondFactorLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorLogin { .. }")
    }
}

/// `POST /api/v1/auth/second-factor/enrol`: starts the enrolment a login
/// answered with `second_factor_enrolment_required` asks for.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecondFactorChallenge {
    pub challenge: String,
}

impl std::fmt::Debug for SecondFactorChallenge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorChallenge { .. }")
    }
}

/// `POST /api/v1/me/second-factor/confirm` (`challenge` left out) and
/// `POST /api/v1/auth/second-factor/confirm` (with the login's
/// `challenge`): a code from the app proves it holds the new secret.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecondFactorConfirm {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub challenge: String,
    pub code: String,
}

impl std::fmt::Debug for SecondFactorConfirm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorConfirm { .. }")
    }
}

/// A TOTP secret being enrolled (RFC 6238: SHA-1, 6 digits, 30 s), shown
/// once; it works only after a confirmation.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecondFactorEnrolment {
    /// The secret in base32 (RFC 4648, no padding), for typing into an app.
    pub secret: String,
    /// The `otpauth://totp/…` URI the QR code holds.
    pub otpauth_url: String,
    /// The QR code of `otpauth_url` as an SVG document.
    pub qr_svg: String,
}

impl std::fmt::Debug for SecondFactorEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecondFactorEnrolment { .. }")
    }
}

/// A confirmed enrolment: the recovery codes, shown this once (the hub
/// keeps only their hashes), and, when the enrolment was part of a login,
/// the login's tokens.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecondFactorEnabled {
    /// Ten single-use codes, each standing in for one TOTP code.
    pub recovery_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<TokenResponse>,
}

impl std::fmt::Debug for SecondFactorEnabled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SecondFactorEnabled")
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

/// `GET /api/v1/me/second-factor`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SecondFactorStatus {
    /// A TOTP secret is enrolled and confirmed.
    pub enabled: bool,
    /// The caller's role must use one (`auth.second_factor_roles`).
    pub required: bool,
    /// Recovery codes not yet used.
    pub recovery_codes_left: u32,
}
