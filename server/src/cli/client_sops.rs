//! `mpaka client … sop …`: the SOP library from the command line, over the
//! REST API (`/api/v1/sops`), for the README tour and operators' scripts.

use clap::Subcommand;
use mpaka_protocol::{
    Sop, SopAckReceipt, SopCoverage, SopDraftInput, SopDraftSaved, SopReading, SopReceipt,
    SopRemindReceipt,
};
use serde::de::DeserializeOwned;
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum SopCommand {
    /// List the SOPs you may see.
    List,
    /// Read an SOP (the version in force unless --version) in your language.
    Read {
        slug: String,
        /// Version number (default: the latest).
        #[arg(long)]
        version: Option<u32>,
        /// fr, en, sw or rn (default: your account's language).
        #[arg(long)]
        lang: Option<String>,
        /// Print the sanitized HTML rendering instead of the Markdown.
        #[arg(long)]
        html: bool,
    },
    /// Acknowledge that you read and understood this exact version.
    Ack { slug: String, version: u32 },
    /// Save the draft in FILE (JSON, as `POST /api/v1/sops`) and publish it.
    Publish {
        /// JSON of the SOP version (see docs/sops.md).
        #[arg(long)]
        file: PathBuf,
    },
    /// Who in the audience has acknowledged a version (default: in force).
    Coverage {
        slug: String,
        /// Version number (default: the latest).
        #[arg(long)]
        version: Option<u32>,
    },
    /// Remind everyone in the audience who has not acknowledged the version in force.
    Remind {
        slug: String,
        /// A line added to the reminder.
        #[arg(long, default_value = "")]
        message: String,
    },
}

struct Api<'a> {
    http: reqwest::Client,
    base: String,
    token: &'a str,
}

impl Api<'_> {
    async fn call<T: DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<T> {
        let response = request.bearer_auth(self.token).send().await?;
        let status = response.status();
        if !status.is_success() {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            anyhow::bail!(
                "{} ({}): {}",
                body["code"].as_str().unwrap_or("error"),
                status.as_u16(),
                body["message"].as_str().unwrap_or("no details")
            );
        }
        Ok(response.json().await?)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/api/v1/sops{path}", self.base)
    }

    /// A write request with a fresh idempotency key.
    fn write(&self, path: &str) -> reqwest::RequestBuilder {
        self.http
            .post(self.url(path))
            .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
    }
}

/// A unit enum as written on the wire (`BI`, `joint`, `published`).
fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

fn show<T: serde::Serialize>(value: &T) -> anyhow::Result<()> {
    out!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Runs one `sop` subcommand as the logged-in user.
///
/// # Errors
/// Network failures, and the hub's error code and message.
pub async fn run(
    server: &str,
    http: &reqwest::Client,
    token: &str,
    command: SopCommand,
    json: bool,
) -> anyhow::Result<()> {
    let api = Api {
        http: http.clone(),
        base: server.to_owned(),
        token,
    };
    match command {
        SopCommand::List => {
            let sops: Vec<Sop> = api.call(api.http.get(api.url(""))).await?;
            if json {
                return show(&sops);
            }
            for sop in sops {
                let title = sop.titles.values().next().cloned().unwrap_or_default();
                out!(
                    "{:<28} {:<6} {:<10} v{:<4} {}",
                    sop.slug,
                    wire_name(&sop.owner),
                    wire_name(&sop.state),
                    sop.current_version
                        .map(|v| v.to_string())
                        .unwrap_or_else(|| "-".into()),
                    title
                );
            }
        }
        SopCommand::Read {
            slug,
            version,
            lang,
            html,
        } => {
            let number = version.map_or_else(|| "current".to_owned(), |v| v.to_string());
            let mut query = Vec::new();
            if let Some(lang) = &lang {
                query.push(("lang", lang.as_str()));
            }
            if html {
                query.push(("format", "html"));
            }
            let reading: SopReading = api
                .call(
                    api.http
                        .get(api.url(&format!("/{slug}/versions/{number}")))
                        .query(&query),
                )
                .await?;
            if json {
                return show(&reading);
            }
            out!(
                "{} — version {} ({:?}, {}), effective {}",
                reading.title,
                reading.version,
                reading.state,
                reading.lang,
                reading.effective_date
            );
            if !reading.change_summary.is_empty() {
                out!("Changes: {}", reading.change_summary);
            }
            out!("");
            out!("{}", reading.html.as_deref().unwrap_or(&reading.body));
            match (&reading.acknowledged_at, reading.in_audience) {
                (Some(at), _) => out!("\nYou acknowledged this version at {at}."),
                (None, true) => out!(
                    "\nAcknowledge it with: mpaka client … sop ack {} {}",
                    reading.slug,
                    reading.version
                ),
                (None, false) => {}
            }
        }
        SopCommand::Ack { slug, version } => {
            let receipt: SopAckReceipt = api
                .call(api.write(&format!("/{slug}/versions/{version}/ack")))
                .await?;
            if json {
                return show(&receipt);
            }
            out!(
                "acknowledged {}@{} at {}{}",
                receipt.ack.slug,
                receipt.ack.version,
                receipt.ack.at,
                if receipt.duplicate {
                    " (already acknowledged)"
                } else {
                    ""
                }
            );
        }
        SopCommand::Publish { file } => {
            let text = std::fs::read_to_string(&file)?;
            let draft: SopDraftInput = serde_json::from_str(&text)
                .map_err(|e| anyhow::anyhow!("{} is not an SOP draft: {e}", file.display()))?;
            let slug = draft.slug.clone();
            let exists = api
                .http
                .get(api.url(&format!("/{slug}")))
                .bearer_auth(token)
                .send()
                .await?
                .status()
                .is_success();
            let request = if exists {
                api.http
                    .put(api.url(&format!("/{slug}/draft")))
                    .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
            } else {
                api.write("")
            };
            let saved: SopDraftSaved = api.call(request.json(&draft)).await?;
            let receipt: SopReceipt = api
                .call(
                    api.write(&format!("/{slug}/publish"))
                        .json(&serde_json::json!({ "version": saved.version })),
                )
                .await?;
            if json {
                return show(&receipt);
            }
            out!(
                "published {}@{} as event #{} at {}",
                receipt.slug,
                receipt.version,
                receipt.seq,
                receipt.at
            );
        }
        SopCommand::Coverage { slug, version } => {
            let number = version.map_or_else(|| "current".to_owned(), |v| v.to_string());
            let coverage: SopCoverage = api
                .call(
                    api.http
                        .get(api.url(&format!("/{slug}/versions/{number}/coverage"))),
                )
                .await?;
            if json {
                return show(&coverage);
            }
            out!(
                "{}@{}: {} of {} acknowledged, {} missing",
                coverage.slug,
                coverage.version,
                coverage.acknowledged,
                coverage.audience_total,
                coverage.missing
            );
            for group in &coverage.by_post {
                let missing: Vec<&str> = group
                    .missing_users
                    .iter()
                    .map(|r| r.display_name.as_str())
                    .collect();
                out!(
                    "  {:<10} {}/{}  missing: {}",
                    group.key.as_deref().unwrap_or("(no post)"),
                    group.acknowledged,
                    group.total,
                    if missing.is_empty() {
                        "nobody".to_owned()
                    } else {
                        missing.join(", ")
                    }
                );
            }
        }
        SopCommand::Remind { slug, message } => {
            let receipt: SopRemindReceipt = api
                .call(
                    api.write(&format!("/{slug}/versions/current/remind"))
                        .json(&serde_json::json!({ "message": message })),
                )
                .await?;
            if json {
                return show(&receipt);
            }
            out!(
                "reminded {} reader(s) of {}@{}",
                receipt.recipients.len(),
                receipt.slug,
                receipt.version
            );
        }
    }
    Ok(())
}
