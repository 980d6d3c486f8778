//! Stable error codes and WebSocket close codes.
//!
//! The `code` strings never change meaning once published; clients switch on
//! them. The human `message` may change and must not be parsed.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A machine-readable error code, shared by the WebSocket and the REST API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON, has an unknown `type`, or misses a field.
    BadFrame,
    /// The `auth` frame names a protocol version the server does not speak.
    UnsupportedVersion,
    /// The `auth` frame asks for an event `encoding` the server does not
    /// write (it writes `json` and `compact`).
    UnsupportedEncoding,
    /// The frame is larger than the server's `max_frame_bytes`.
    FrameTooLarge,
    /// A request other than `auth` arrived before authentication.
    AuthRequired,
    /// No `auth` frame arrived within the allowed time.
    AuthTimeout,
    /// The token is malformed, tampered with, signed with another key or algorithm.
    InvalidToken,
    /// The token has expired: refresh it and reconnect.
    TokenExpired,
    /// Wrong username or password.
    InvalidCredentials,
    /// The account is disabled (or its tokens were revoked).
    AccountDisabled,
    /// The user may not do this.
    Forbidden,
    /// The channel name is well formed but no such corridor, post or user exists.
    UnknownChannel,
    /// The thing asked for does not exist (or is not visible to this user).
    NotFound,
    /// The request's content is invalid; `fields` says which fields and why.
    ValidationFailed,
    /// Too many requests: wait `retry_after_ms` and try again.
    RateLimited,
    /// Too many failed logins for this account or from this address: no
    /// login (not even with the right password) until `retry_after_ms` has
    /// passed. A back-off, never a permanent lock.
    TooManyAttempts,
    /// The new password is too short or too easy to guess; `message` says
    /// why (and how to choose a better one).
    WeakPassword,
    /// The password is right, but an administrator reset it: set a new one
    /// with `POST /api/v1/auth/password` before logging in.
    PasswordChangeRequired,
    /// The password is right and the account has a second factor (TOTP):
    /// send `challenge` with a code from the authenticator app, or a
    /// recovery code, to `POST /api/v1/auth/second-factor` within two
    /// minutes.
    SecondFactorRequired,
    /// The password is right, but the account's role requires a second
    /// factor and none is enrolled yet: enrol with `challenge` at
    /// `POST /api/v1/auth/second-factor/enrol`, then confirm a code at
    /// `POST /api/v1/auth/second-factor/confirm` (ten minutes).
    SecondFactorEnrolmentRequired,
    /// The second-factor code is wrong, already used (a TOTP code works
    /// once) or outside the ±30 s window, or the recovery code is unknown or
    /// spent. Counted as a failed login.
    InvalidSecondFactor,
    /// The login challenge is unknown, used or expired: log in again with
    /// the password.
    ChallengeExpired,
    /// The idempotency key was used before for a different request.
    IdempotencyConflict,
    /// The request is valid but the target's state does not allow it.
    InvalidState,
    /// Something with this name or id already exists.
    AlreadyExists,
    /// A `subscribe` with `since` named a log `epoch` that is not the
    /// server's: the database was restored to an older point and sequence
    /// numbers were reused. Drop the kept `seq`, subscribe again without
    /// `since`, and reload history.
    EpochChanged,
    /// The client could not keep up with its events and was disconnected.
    SlowConsumer,
    /// The account or the client address already has as many sockets open
    /// as the hub allows (`ws.max_connections_per_user` /
    /// `ws.max_connections_per_address`): close one before opening another.
    TooManyConnections,
    /// The server is shutting down or its storage is unreachable: retry later.
    Unavailable,
    /// An unexpected server fault; the details are in the server log only.
    Internal,
}

impl ErrorCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadFrame => "bad_frame",
            ErrorCode::UnsupportedVersion => "unsupported_version",
            ErrorCode::UnsupportedEncoding => "unsupported_encoding",
            ErrorCode::FrameTooLarge => "frame_too_large",
            ErrorCode::AuthRequired => "auth_required",
            ErrorCode::AuthTimeout => "auth_timeout",
            ErrorCode::InvalidToken => "invalid_token",
            ErrorCode::TokenExpired => "token_expired",
            ErrorCode::InvalidCredentials => "invalid_credentials",
            ErrorCode::AccountDisabled => "account_disabled",
            ErrorCode::Forbidden => "forbidden",
            ErrorCode::UnknownChannel => "unknown_channel",
            ErrorCode::NotFound => "not_found",
            ErrorCode::ValidationFailed => "validation_failed",
            ErrorCode::RateLimited => "rate_limited",
            ErrorCode::TooManyAttempts => "too_many_attempts",
            ErrorCode::WeakPassword => "weak_password",
            ErrorCode::PasswordChangeRequired => "password_change_required",
            ErrorCode::SecondFactorRequired => "second_factor_required",
            ErrorCode::SecondFactorEnrolmentRequired => "second_factor_enrolment_required",
            ErrorCode::InvalidSecondFactor => "invalid_second_factor",
            ErrorCode::ChallengeExpired => "challenge_expired",
            ErrorCode::IdempotencyConflict => "idempotency_conflict",
            ErrorCode::InvalidState => "invalid_state",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::EpochChanged => "epoch_changed",
            ErrorCode::SlowConsumer => "slow_consumer",
            ErrorCode::TooManyConnections => "too_many_connections",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
        }
    }

    /// The HTTP status the REST API answers with for this code.
    pub fn http_status(self) -> u16 {
        match self {
            ErrorCode::BadFrame
            | ErrorCode::UnsupportedVersion
            | ErrorCode::UnsupportedEncoding => 400,
            ErrorCode::ValidationFailed | ErrorCode::WeakPassword => 422,
            ErrorCode::FrameTooLarge => 413,
            ErrorCode::AuthRequired
            | ErrorCode::AuthTimeout
            | ErrorCode::InvalidToken
            | ErrorCode::TokenExpired
            | ErrorCode::InvalidCredentials
            | ErrorCode::InvalidSecondFactor
            | ErrorCode::ChallengeExpired => 401,
            ErrorCode::AccountDisabled
            | ErrorCode::Forbidden
            | ErrorCode::PasswordChangeRequired
            | ErrorCode::SecondFactorRequired
            | ErrorCode::SecondFactorEnrolmentRequired => 403,
            ErrorCode::UnknownChannel | ErrorCode::NotFound => 404,
            ErrorCode::RateLimited | ErrorCode::TooManyAttempts | ErrorCode::TooManyConnections => {
                429
            }
            ErrorCode::IdempotencyConflict
            | ErrorCode::InvalidState
            | ErrorCode::AlreadyExists
            | ErrorCode::EpochChanged => 409,
            ErrorCode::SlowConsumer | ErrorCode::Unavailable => 503,
            ErrorCode::Internal => 500,
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why one field of a request is invalid, as a stable code a client can
/// show in its user's language (with [`FieldError::params`]). Like
/// [`ErrorCode`], a code never changes meaning once published; new codes
/// may be added, and a client that does not know one reads it as
/// [`FieldCode::Invalid`] and shows the English `message`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FieldCode {
    /// The field is missing, `null` or empty.
    Required,
    /// The value has the wrong JSON type (text for a number, a list for an
    /// object…). Params: none.
    WrongType,
    /// Not one of the accepted values (an unknown alert kind, an unknown
    /// post, a reason not configured). Params: none (the value is never
    /// echoed).
    UnknownValue,
    /// A count below zero. Params: `got`.
    MustNotBeNegative,
    /// A number above the largest accepted. Params: `max`, `got`.
    TooLarge,
    /// The low end of a range is above its high end. Params: `low`, `high`.
    LowAboveHigh,
    /// The same entry is listed twice.
    ListedTwice,
    /// A number outside its range (a latitude). Params: `min`, `max`.
    OutOfRange,
    /// Too long. Params: `max`, `unit` (`characters`, `bytes` or `entries`).
    TooLong,
    /// Text with control characters other than tab and line breaks.
    ControlCharacters,
    /// Not a language this hub knows (or not a BCP 47 tag).
    NotALanguage,
    /// Not a slug (lowercase letters, digits and hyphens).
    NotASlug,
    /// Not a date or time in the expected form. Params: `format`
    /// (`YYYY-MM-DD`, `YYYY-MM`, `RFC 3339`).
    NotADate,
    /// A value this request may not use (an SOP owned by one country
    /// addressing the other). Params: `allowed` when there is one.
    NotAllowed,
    /// Two fields that must agree do not (a title without a body, an end
    /// before a start). Params: `other`, the other field.
    Mismatch,
    /// A time later than the hub's clock allows (`written_at`). Params:
    /// `max_skew_s`.
    InFuture,
    /// Not in the expected form (a user name, a phone number, a PIN).
    /// Params: `format`, the form as a pattern or example that reads the
    /// same in every language (`+25779000001`, `a-z 0-9 . - _ (3–64)`).
    BadFormat,
    /// A one-time code that does not match (the code sent by SMS to
    /// verify a phone number).
    WrongCode,
    /// A one-time code used after it expired: ask for a new one.
    Expired,
    /// The change requested changes nothing (a correction or an update
    /// whose every value is already the current one).
    Unchanged,
    /// Any other problem, and any code this client does not know: show
    /// the English `message`.
    #[default]
    #[serde(other)]
    Invalid,
}

impl FieldCode {
    /// Every code, for documentation checks.
    pub const ALL: &'static [FieldCode] = &[
        FieldCode::Required,
        FieldCode::WrongType,
        FieldCode::UnknownValue,
        FieldCode::MustNotBeNegative,
        FieldCode::TooLarge,
        FieldCode::LowAboveHigh,
        FieldCode::ListedTwice,
        FieldCode::OutOfRange,
        FieldCode::TooLong,
        FieldCode::ControlCharacters,
        FieldCode::NotALanguage,
        FieldCode::NotASlug,
        FieldCode::NotADate,
        FieldCode::NotAllowed,
        FieldCode::Mismatch,
        FieldCode::InFuture,
        FieldCode::BadFormat,
        FieldCode::WrongCode,
        FieldCode::Expired,
        FieldCode::Unchanged,
        FieldCode::Invalid,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldCode::Required => "required",
            FieldCode::WrongType => "wrong_type",
            FieldCode::UnknownValue => "unknown_value",
            FieldCode::MustNotBeNegative => "must_not_be_negative",
            FieldCode::TooLarge => "too_large",
            FieldCode::LowAboveHigh => "low_above_high",
            FieldCode::ListedTwice => "listed_twice",
            FieldCode::OutOfRange => "out_of_range",
            FieldCode::TooLong => "too_long",
            FieldCode::ControlCharacters => "control_characters",
            FieldCode::NotALanguage => "not_a_language",
            FieldCode::NotASlug => "not_a_slug",
            FieldCode::NotADate => "not_a_date",
            FieldCode::NotAllowed => "not_allowed",
            FieldCode::Mismatch => "mismatch",
            FieldCode::InFuture => "in_future",
            FieldCode::BadFormat => "bad_format",
            FieldCode::WrongCode => "wrong_code",
            FieldCode::Expired => "expired",
            FieldCode::Unchanged => "unchanged",
            FieldCode::Invalid => "invalid",
        }
    }
}

impl fmt::Display for FieldCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One invalid field of a request.
///
/// `code` and `params` were added after `field` and `message`: a client
/// that reads only those two keeps working, and one that reads an older
/// hub's error sees `invalid` with no params.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct FieldError {
    /// Dotted path of the field, e.g. `headcount.low`.
    pub field: String,
    /// Why it is invalid, as a stable code.
    #[serde(default)]
    pub code: FieldCode,
    /// Values the code's text needs (`got`, `max`, …): numbers or short
    /// words, never text copied from the request.
    #[serde(default, skip_serializing_if = "serde_json::Map::is_empty")]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Why it is invalid, in English (the fallback for an unknown code).
    pub message: String,
}

impl FieldError {
    /// A field error with its code and English message, without params.
    pub fn new(field: impl Into<String>, code: FieldCode, message: impl Into<String>) -> Self {
        FieldError {
            field: field.into(),
            code,
            params: serde_json::Map::new(),
            message: message.into(),
        }
    }

    /// The same error with one more parameter.
    #[must_use]
    pub fn with(mut self, name: &str, value: impl Into<serde_json::Value>) -> Self {
        self.params.insert(name.to_owned(), value.into());
        self
    }
}

/// The body of every error, on the socket (inside an `error` frame) and over
/// REST (as the JSON response body).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    pub code: ErrorCode,
    /// A human explanation; may change between versions, never parse it.
    pub message: String,
    /// Per-field problems, with `validation_failed`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<FieldError>,
    /// With `rate_limited`: how long to wait before retrying.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// With `second_factor_required` and `second_factor_enrolment_required`:
    /// the short-lived, single-use proof that the password step passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub challenge: Option<String>,
}

impl fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The login challenge stays out of logs.
        f.debug_struct("ErrorBody")
            .field("code", &self.code)
            .field("message", &self.message)
            .field("fields", &self.fields)
            .field("retry_after_ms", &self.retry_after_ms)
            .finish_non_exhaustive()
    }
}

impl ErrorBody {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        ErrorBody {
            code,
            message: message.into(),
            fields: Vec::new(),
            retry_after_ms: None,
            challenge: None,
        }
    }
}

/// WebSocket close codes the server uses. 1000–1011 are RFC 6455's; 4000–4999
/// are mpaka's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseCode {
    /// 1000: the client asked to close.
    Normal,
    /// 1001: the server is shutting down; reconnect (to another node) and resume.
    GoingAway,
    /// 1007: a text frame was not valid UTF-8 (RFC 6455 §7.1.7).
    InvalidPayload,
    /// 1009: a frame exceeded the hard size limit.
    TooBig,
    /// 4001: authentication failed (invalid, expired or revoked token).
    AuthFailed,
    /// 4002: no `auth` frame in time.
    AuthTimeout,
    /// 4003: the account was disabled or its role changed; log in again.
    AccountChanged,
    /// 4008: the client's outbound queue overflowed; reconnect and resume.
    SlowConsumer,
    /// 4009: the link stopped answering heartbeats.
    HeartbeatTimeout,
    /// 4010: the account already has `ws.max_connections_per_user` sockets
    /// open; close another one first (do not reconnect in a loop).
    TooManyConnections,
}

impl CloseCode {
    pub fn code(self) -> u16 {
        match self {
            CloseCode::Normal => 1000,
            CloseCode::GoingAway => 1001,
            CloseCode::InvalidPayload => 1007,
            CloseCode::TooBig => 1009,
            CloseCode::AuthFailed => 4001,
            CloseCode::AuthTimeout => 4002,
            CloseCode::AccountChanged => 4003,
            CloseCode::SlowConsumer => 4008,
            CloseCode::HeartbeatTimeout => 4009,
            CloseCode::TooManyConnections => 4010,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            CloseCode::Normal => "bye",
            CloseCode::GoingAway => "server shutting down",
            CloseCode::InvalidPayload => "text frame is not UTF-8",
            CloseCode::TooBig => "frame too large",
            CloseCode::AuthFailed => "authentication failed",
            CloseCode::AuthTimeout => "authentication timeout",
            CloseCode::AccountChanged => "account disabled or changed",
            CloseCode::SlowConsumer => "slow consumer",
            CloseCode::HeartbeatTimeout => "heartbeat timeout",
            CloseCode::TooManyConnections => "too many connections",
        }
    }
}
