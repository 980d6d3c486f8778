//! The SMS gateway behind a small trait, and its Kannel implementation:
//! `sendsms` over HTTP with a delivery-report URL (`dlr-url`, `dlr-mask`)
//! that names the outbox row and the attempt. Other gateways (an HTTP
//! aggregator) would implement [`Gateway`] the same way.

use super::gsm::Encoding;
use super::settings::SmsSettings;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// How long one hand-over to the gateway may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Kannel's delivery-report mask: delivered (1), undelivered (2),
/// queued at the SMSC (4), accepted by the SMSC (8), rejected by the SMSC (16).
pub const DLR_MASK: u8 = 31;

/// One SMS to hand over.
#[derive(Debug, Clone)]
pub struct Outgoing<'a> {
    pub outbox_id: i64,
    pub attempt_id: &'a str,
    pub to: &'a str,
    pub text: &'a str,
    pub encoding: Encoding,
}

/// Why the gateway did not take an SMS.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The gateway is unreachable or failed; try again later.
    #[error("gateway unavailable: {0}")]
    Unavailable(String),
    /// The gateway refused this SMS (bad number, bad credentials); retrying
    /// the same request will not help.
    #[error("gateway refused: {0}")]
    Refused(String),
}

type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<String, GatewayError>> + Send + 'a>>;

/// Something that sends SMS. Returns the gateway's answer on acceptance.
pub trait Gateway: Send + Sync {
    fn send<'a>(&'a self, sms: Outgoing<'a>) -> SendFuture<'a>;
}

/// Kannel's smsbox `sendsms` interface.
pub struct Kannel {
    http: reqwest::Client,
    settings: SmsSettings,
}

impl Kannel {
    /// # Errors
    /// The HTTP client cannot be built.
    pub fn new(settings: &SmsSettings) -> anyhow::Result<Kannel> {
        let http = reqwest::Client::builder().timeout(SEND_TIMEOUT).build()?;
        Ok(Kannel {
            http,
            settings: settings.clone(),
        })
    }

    /// The delivery-report URL Kannel calls for this attempt (`%d` is the
    /// report type, filled in by Kannel).
    fn dlr_url(&self, sms: &Outgoing<'_>) -> String {
        let secret = self
            .settings
            .callback_secret
            .as_ref()
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        let mut url = format!(
            "{}/api/v1/sms/kannel/dlr?id={}&attempt={}&secret=",
            self.settings.callback_base_url.trim_end_matches('/'),
            sms.outbox_id,
            sms.attempt_id,
        );
        url.extend(url::form_urlencoded::byte_serialize(secret.as_bytes()));
        url.push_str("&type=%d");
        url
    }

    async fn send_now(&self, sms: Outgoing<'_>) -> Result<String, GatewayError> {
        let coding = match sms.encoding {
            Encoding::Gsm7 => "0",
            Encoding::Ucs2 => "2",
        };
        let password = self
            .settings
            .password
            .as_ref()
            .map(|s| s.expose().to_owned())
            .unwrap_or_default();
        let dlr_url = self.dlr_url(&sms);
        let dlr_mask = DLR_MASK.to_string();
        let response = self
            .http
            .get(&self.settings.gateway_url)
            .query(&[
                ("username", self.settings.username.as_str()),
                ("password", password.as_str()),
                ("from", self.settings.sender_id.as_str()),
                ("to", sms.to),
                ("text", sms.text),
                ("charset", "UTF-8"),
                ("coding", coding),
                ("dlr-mask", dlr_mask.as_str()),
                ("dlr-url", dlr_url.as_str()),
            ])
            .send()
            .await
            // Without the URL: it carries the password.
            .map_err(|e| GatewayError::Unavailable(describe(&e)))?;
        let status = response.status();
        let body = response
            .text()
            .await
            .map_err(|e| GatewayError::Unavailable(describe(&e)))?;
        let body = body.trim().chars().take(200).collect::<String>();
        if status.is_success() {
            Ok(body)
        } else if status.is_server_error() || status.as_u16() == 429 {
            Err(GatewayError::Unavailable(format!("{status}: {body}")))
        } else {
            Err(GatewayError::Refused(format!("{status}: {body}")))
        }
    }
}

/// A reqwest error in a few words, never with the URL (it holds the password).
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        "timed out".into()
    } else if error.is_connect() {
        "cannot connect".into()
    } else {
        error.without_url_ref().to_string()
    }
}

impl Gateway for Kannel {
    fn send<'a>(&'a self, sms: Outgoing<'a>) -> SendFuture<'a> {
        Box::pin(self.send_now(sms))
    }
}

trait WithoutUrl {
    fn without_url_ref(&self) -> String;
}

impl WithoutUrl for reqwest::Error {
    fn without_url_ref(&self) -> String {
        let mut text = self.to_string();
        if let Some(url) = self.url() {
            text = text.replace(url.as_str(), "<gateway>");
        }
        text
    }
}
