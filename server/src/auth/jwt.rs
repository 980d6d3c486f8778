//! Access tokens: short-lived HS256 JWTs. Only HS256 is accepted, so
//! `alg: none` and algorithm-confusion tokens fail validation; `exp` and,
//! when present, `nbf` are checked (with 5 s of leeway for clock skew).
//! Each token names its login session (`sid`), which the hub checks on
//! every use.

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

const ISSUER: &str = "mpaka";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// The user id, as a string per RFC 7519.
    pub sub: String,
    pub name: String,
    pub role: String,
    /// The account's token version when issued; a mismatch means revoked.
    pub ver: i64,
    /// The login session (refresh family); empty in tokens from before
    /// sessions existed, which are refused.
    #[serde(default)]
    pub sid: String,
    pub iat: i64,
    /// Not valid before (seconds since the epoch); the issue time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub exp: i64,
    pub iss: String,
    pub jti: String,
}

/// Why a token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenError {
    Expired,
    Invalid,
}

/// Signs and checks access tokens with one key.
#[derive(Clone)]
pub struct TokenKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl TokenKeys {
    pub fn new(secret: &[u8]) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        validation.validate_nbf = true;
        TokenKeys {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Issues a token for `user_id` in session `sid`, expiring at `exp`
    /// (seconds since the epoch).
    ///
    /// # Errors
    /// Only if encoding fails, which it does not for these claims.
    pub fn issue(
        &self,
        user_id: i64,
        name: &str,
        role: &str,
        ver: i64,
        sid: &str,
        exp: i64,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = crate::store::now_ms() / 1000;
        let claims = Claims {
            sub: user_id.to_string(),
            name: name.to_owned(),
            role: role.to_owned(),
            ver,
            sid: sid.to_owned(),
            iat: now,
            nbf: Some(now),
            exp,
            iss: ISSUER.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    /// Checks signature, algorithm, issuer, expiry and not-before.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`].
    pub fn check(&self, token: &str) -> Result<Claims, TokenError> {
        decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> TokenKeys {
        TokenKeys::new(b"a test key that is long enough for hs256")
    }

    fn forge(keys: &TokenKeys, nbf: Option<i64>, exp: i64) -> String {
        let now = crate::store::now_ms() / 1000;
        let claims = Claims {
            sub: "1".into(),
            name: "n".into(),
            role: "officer".into(),
            ver: 0,
            sid: "s".into(),
            iat: now,
            nbf,
            exp,
            iss: ISSUER.into(),
            jti: "j".into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &keys.encoding).unwrap()
    }

    #[test]
    fn a_token_not_yet_valid_is_refused() {
        let keys = keys();
        let now = crate::store::now_ms() / 1000;
        let future = forge(&keys, Some(now + 3600), now + 7200);
        assert_eq!(keys.check(&future).unwrap_err(), TokenError::Invalid);
        let current = forge(&keys, Some(now), now + 600);
        assert_eq!(keys.check(&current).unwrap().sid, "s");
    }

    #[test]
    fn issued_tokens_carry_their_session_and_expiry() {
        let keys = keys();
        let now = crate::store::now_ms() / 1000;
        let token = keys.issue(7, "u", "admin", 3, "sess", now + 60).unwrap();
        let claims = keys.check(&token).unwrap();
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("7", "sess"));
        assert_eq!(claims.exp, now + 60);
        assert_eq!(claims.nbf, Some(now));
    }
}
