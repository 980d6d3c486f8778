//! The REST side of a client session: `POST /api/v1/auth/login`,
//! `/refresh` and `/logout`, and the URLs of a hub's API and socket.

use crate::{Error, Socket};
use mpaka_protocol::{
    ErrorBody, LoginRequest, RefreshRequest, SecondFactorLogin, TokenResponse, Welcome,
};

/// A hub's address plus an HTTP client. Cheap to clone (the HTTP client's
/// connection pool is shared).
#[derive(Clone)]
pub struct HubClient {
    base: String,
    http: reqwest::Client,
    /// The WebSocket TLS set-up, when not the default one.
    #[cfg(feature = "tls")]
    ws: Option<tokio_tungstenite::Connector>,
}

impl std::fmt::Debug for HubClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

impl HubClient {
    /// A client of the hub at `base_url`, e.g. `http://127.0.0.1:8080`
    /// (a trailing `/` is ignored).
    pub fn new(base_url: &str) -> Self {
        Self::with_http(base_url, reqwest::Client::new())
    }

    /// Like [`HubClient::new`], sharing an existing HTTP client.
    pub fn with_http(base_url: &str, http: reqwest::Client) -> Self {
        HubClient {
            base: base_url.trim_end_matches('/').to_owned(),
            http,
            #[cfg(feature = "tls")]
            ws: None,
        }
    }

    /// Like [`HubClient::new`], believing the certificates of `trust`.
    #[cfg(feature = "tls")]
    pub fn with_trust(base_url: &str, trust: crate::Trust) -> Self {
        HubClient {
            ws: Some(trust.ws),
            ..Self::with_http(base_url, trust.http)
        }
    }

    /// The hub's base URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// The URL of a REST route: `api_url("/alerts")` is
    /// `{base}/api/v1/alerts`.
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// The socket's URL: `ws://…/ws` for an `http://` hub, `wss://…/ws`
    /// for an `https://` one.
    pub fn ws_url(&self) -> String {
        let base = if let Some(rest) = self.base.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = self.base.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            self.base.clone()
        };
        format!("{base}/ws")
    }

    /// The HTTP client, for the other REST routes.
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// Logs in with username and password.
    ///
    /// # Errors
    /// [`Error::Refused`] with 401 for a wrong password, 403 for a disabled
    /// account, 429 when rate-limited; [`Error::Http`] when the hub is
    /// unreachable.
    pub async fn login(&self, username: &str, password: &str) -> Result<TokenResponse, Error> {
        let body = LoginRequest {
            username: username.to_owned(),
            password: password.to_owned(),
        };
        let response = self
            .http
            .post(self.api_url("/auth/login"))
            .json(&body)
            .send()
            .await?;
        Ok(accepted(response).await?.json().await?)
    }

    /// The second step of a login refused with `second_factor_required`:
    /// its `challenge` and a code from the authenticator app (or a
    /// recovery code).
    ///
    /// # Errors
    /// [`Error::Refused`] with 401 `invalid_second_factor` for a wrong or
    /// used code, 401 `challenge_expired`, 429 `too_many_attempts`;
    /// [`Error::Http`] when the hub is unreachable.
    pub async fn second_factor(&self, challenge: &str, code: &str) -> Result<TokenResponse, Error> {
        let response = self
            .http
            .post(self.api_url("/auth/second-factor"))
            .json(&SecondFactorLogin {
                challenge: challenge.to_owned(),
                code: code.to_owned(),
            })
            .send()
            .await?;
        Ok(accepted(response).await?.json().await?)
    }

    /// Exchanges a refresh token for a new pair; the old one is spent.
    ///
    /// # Errors
    /// [`Error::Refused`] with 401 for a spent, revoked or unknown token;
    /// [`Error::Http`] when the hub is unreachable.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenResponse, Error> {
        let response = self
            .http
            .post(self.api_url("/auth/refresh"))
            .json(&RefreshRequest {
                refresh_token: refresh_token.to_owned(),
            })
            .send()
            .await?;
        Ok(accepted(response).await?.json().await?)
    }

    /// Revokes a refresh token (the access token stays valid until it
    /// expires).
    ///
    /// # Errors
    /// [`Error::Refused`] when the hub refuses; [`Error::Http`] when it is
    /// unreachable.
    pub async fn logout(&self, refresh_token: &str) -> Result<(), Error> {
        let response = self
            .http
            .post(self.api_url("/auth/logout"))
            .json(&RefreshRequest {
                refresh_token: refresh_token.to_owned(),
            })
            .send()
            .await?;
        accepted(response).await?;
        Ok(())
    }

    /// Opens the socket and authenticates with `access_token`.
    ///
    /// # Errors
    /// See [`Socket::connect`] and [`Socket::auth`].
    pub async fn connect(&self, access_token: &str) -> Result<(Socket, Welcome), Error> {
        #[cfg(feature = "tls")]
        let mut socket = match &self.ws {
            Some(connector) => {
                Socket::connect_with_connector(&self.ws_url(), connector.clone()).await?
            }
            None => Socket::connect(&self.ws_url()).await?,
        };
        #[cfg(not(feature = "tls"))]
        let mut socket = Socket::connect(&self.ws_url()).await?;
        let welcome = socket.auth(access_token).await?;
        Ok((socket, welcome))
    }
}

/// The response when its status is a success, else [`Error::Refused`] with
/// the documented error body when there is one.
async fn accepted(response: reqwest::Response) -> Result<reqwest::Response, Error> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let error = response.json::<ErrorBody>().await.ok();
    Err(Error::Refused {
        status: status.as_u16(),
        error,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_built_from_the_base() {
        let hub = HubClient::new("http://127.0.0.1:8080/");
        assert_eq!(hub.base_url(), "http://127.0.0.1:8080");
        assert_eq!(
            hub.api_url("/alerts"),
            "http://127.0.0.1:8080/api/v1/alerts"
        );
        assert_eq!(hub.ws_url(), "ws://127.0.0.1:8080/ws");
        assert_eq!(
            HubClient::new("https://hub.example").ws_url(),
            "wss://hub.example/ws"
        );
    }
}
