//! Access tokens: short-lived HS256 JWTs. Only HS256 is accepted, so
//! `alg: none` and algorithm-confusion tokens fail validation; `exp` and,
//! when present, `nbf` are checked (with 5 s of leeway for clock skew).
//! Each token names its login session (`sid`), which the hub checks on
//! every use, and its header names the signing key (`kid`, see `keys.rs`):
//! after a rotation, tokens signed with a retired key still verify.

use super::keys::{Key, KeyRing};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
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

/// Signs access tokens with one key and checks them with any key of the ring.
#[derive(Clone)]
pub struct TokenKeys {
    kid: String,
    encoding: EncodingKey,
    /// The signing key first, then the others.
    decoding: Vec<(String, DecodingKey)>,
    validation: Validation,
}

impl TokenKeys {
    /// One key that signs and verifies.
    pub fn new(secret: &[u8]) -> TokenKeys {
        TokenKeys::from_ring(&KeyRing {
            signing: Key::new(secret),
            verifying: Vec::new(),
            source: String::new(),
        })
    }

    /// The signing key of `ring` signs; all its keys verify.
    pub fn from_ring(ring: &KeyRing) -> TokenKeys {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        validation.leeway = 5;
        validation.validate_nbf = true;
        TokenKeys {
            kid: ring.signing.kid.clone(),
            encoding: EncodingKey::from_secret(&ring.signing.secret),
            decoding: std::iter::once(&ring.signing)
                .chain(&ring.verifying)
                .map(|k| (k.kid.clone(), DecodingKey::from_secret(&k.secret)))
                .collect(),
            validation,
        }
    }

    /// The id of the signing key.
    pub fn kid(&self) -> &str {
        &self.kid
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
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.kid.clone());
        encode(&header, &claims, &self.encoding)
    }

    /// Checks signature, algorithm, issuer, expiry and not-before, with the
    /// key the header's `kid` names (every key, for tokens without one).
    /// A token signed with a key this node does not have is logged (its
    /// `kid`, never the token): nodes with different keys are a
    /// configuration mistake that otherwise shows only as 401s.
    ///
    /// # Errors
    /// [`TokenError::Expired`] or [`TokenError::Invalid`].
    pub fn check(&self, token: &str) -> Result<Claims, TokenError> {
        let kid = decode_header(token).map_err(|_| TokenError::Invalid)?.kid;
        let candidates: Vec<&DecodingKey> = match &kid {
            Some(kid) => self
                .decoding
                .iter()
                .filter(|(k, _)| k == kid)
                .map(|(_, key)| key)
                .collect(),
            None => self.decoding.iter().map(|(_, key)| key).collect(),
        };
        if candidates.is_empty() {
            tracing::warn!(
                token_kid = kid.as_deref().unwrap_or_default(),
                node_kid = %self.kid,
                "access token refused: signed with a key this node does not have \
                 (nodes sharing a database need the same jwt_secret; after a rotation \
                 keep the old key in jwt_verify_secrets until its tokens expire)"
            );
            return Err(TokenError::Invalid);
        }
        let mut outcome = Err(TokenError::Invalid);
        for key in candidates {
            outcome = decode::<Claims>(token, key, &self.validation)
                .map(|data| data.claims)
                .map_err(|e| match e.kind() {
                    ErrorKind::ExpiredSignature => TokenError::Expired,
                    _ => TokenError::Invalid,
                });
            if !matches!(outcome, Err(TokenError::Invalid)) {
                break;
            }
        }
        if kid.is_none() && matches!(outcome, Err(TokenError::Invalid)) {
            tracing::debug!("access token without kid refused: no key of this node verifies it");
        }
        outcome
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

    fn ring(signing: &[u8], verifying: &[&[u8]]) -> TokenKeys {
        TokenKeys::from_ring(&KeyRing {
            signing: Key::new(signing),
            verifying: verifying.iter().map(|k| Key::new(k)).collect(),
            source: String::new(),
        })
    }

    #[test]
    fn tokens_of_a_retired_key_verify_and_unknown_keys_do_not() {
        let old: &[u8] = b"the old key, long enough for hs256 signing";
        let new: &[u8] = b"the new key, long enough for hs256 signing";
        let now = crate::store::now_ms() / 1000;
        let before = ring(old, &[]);
        let token = before.issue(1, "u", "officer", 0, "s", now + 60).unwrap();
        assert_eq!(
            decode_header(&token).unwrap().kid.as_deref(),
            Some(before.kid())
        );
        let after = ring(new, &[old]);
        assert_eq!(after.check(&token).unwrap().sub, "1");
        let fresh = after.issue(2, "v", "officer", 0, "s", now + 60).unwrap();
        assert_eq!(
            decode_header(&fresh).unwrap().kid.as_deref(),
            Some(after.kid())
        );
        let elsewhere = ring(b"a third key, unknown to the issuing node!!", &[]);
        assert_eq!(elsewhere.check(&token).unwrap_err(), TokenError::Invalid);
        // A token without kid (issued before keys had ids) still verifies.
        let legacy = forge(&keys(), Some(now), now + 60);
        let upgraded = ring(new, &[b"a test key that is long enough for hs256"]);
        assert!(upgraded.check(&legacy).is_ok());
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
