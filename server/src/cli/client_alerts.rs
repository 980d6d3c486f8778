//! `mpaka client … alert …`: raise, acknowledge, list alerts and fetch one
//! as a CAP 1.2 document, over the REST API with the logged-in token.

use clap::Subcommand;
use mpaka_protocol::{Alert, AlertPage, AlertReceipt};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum AlertCommand {
    /// Raise an alert from a JSON draft file (see docs/alerts.md).
    Raise {
        /// JSON draft of the alert (see docs/alerts.md).
        #[arg(long)]
        file: PathBuf,
    },
    /// Acknowledge an alert raised by the facing post.
    Ack { id: String },
    /// List alerts, newest first.
    List {
        /// open, resolved or cancelled.
        #[arg(long)]
        state: Option<String>,
        /// Only alerts of this corridor, e.g. mugina-manyovu.
        #[arg(long)]
        corridor: Option<String>,
        /// actual, exercise or test.
        #[arg(long)]
        status: Option<String>,
        /// At most this many alerts.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
    /// Print an alert as an OASIS CAP 1.2 XML document.
    Cap { id: String },
}

pub async fn run(
    server: &str,
    http: &reqwest::Client,
    token: &str,
    command: AlertCommand,
    json: bool,
) -> anyhow::Result<()> {
    let api = |path: &str| format!("{server}/api/v1{path}");
    let response = match &command {
        AlertCommand::Raise { file } => {
            let draft = std::fs::read_to_string(file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let draft: serde_json::Value = serde_json::from_str(&draft)
                .map_err(|e| anyhow::anyhow!("{} is not JSON: {e}", file.display()))?;
            http.post(api("/alerts"))
                .header("Idempotency-Key", uuid::Uuid::new_v4().to_string())
                .json(&draft)
        }
        AlertCommand::Ack { id } => http.post(api(&format!("/alerts/{id}/ack"))),
        AlertCommand::List {
            state,
            corridor,
            status,
            limit,
        } => {
            let mut query = vec![("limit", limit.to_string())];
            for (name, value) in [("state", state), ("corridor", corridor), ("status", status)] {
                if let Some(value) = value {
                    query.push((name, value.clone()));
                }
            }
            http.get(api("/alerts")).query(&query)
        }
        AlertCommand::Cap { id } => http.get(api(&format!("/alerts/{id}/cap"))),
    }
    .bearer_auth(token)
    .send()
    .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        anyhow::bail!(
            "{}: {}{}",
            body["code"].as_str().unwrap_or(status.as_str()),
            body["message"].as_str().unwrap_or("request failed"),
            body["fields"]
                .as_array()
                .map(|fields| fields
                    .iter()
                    .map(|f| format!("\n  {}: {}", f["field"], f["message"]))
                    .collect::<String>())
                .unwrap_or_default()
        );
    }
    if json || matches!(command, AlertCommand::Cap { .. }) {
        out!("{text}");
        return Ok(());
    }
    match command {
        AlertCommand::Raise { .. } | AlertCommand::Ack { .. } => {
            let receipt: AlertReceipt = serde_json::from_str(&text)?;
            out!("stored as event #{}", receipt.seq);
            print_alert(&receipt.alert);
        }
        AlertCommand::List { .. } => {
            let page: AlertPage = serde_json::from_str(&text)?;
            for alert in &page.alerts {
                print_alert(alert);
            }
            if page.alerts.is_empty() {
                out!("no alerts");
            }
        }
        AlertCommand::Cap { .. } => {}
    }
    Ok(())
}

fn print_alert(a: &Alert) {
    let acks: Vec<String> = a
        .acknowledgements
        .iter()
        .map(|ack| {
            format!(
                "{} at {}",
                ack.by.username.as_deref().unwrap_or("(redacted)"),
                ack.at
            )
        })
        .collect();
    out!(
        "{id}  {state:<9} {status:<8} {kind} {direction} {headcount} people, {severity} \
         (post {post}, raised {raised_at}, level {level}, v{version})\n    acknowledged: {acks}",
        id = a.id,
        state = a.state.as_str(),
        status = a.status.as_str(),
        kind = a.kind,
        direction = a.direction,
        headcount = a.headcount,
        severity = a.severity,
        post = a.post,
        raised_at = a.raised_at,
        level = a.escalation_level,
        version = a.version,
        acks = if acks.is_empty() {
            "not yet".to_owned()
        } else {
            acks.join(", ")
        },
    );
}
