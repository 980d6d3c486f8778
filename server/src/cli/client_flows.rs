//! `mpaka client flow import`: a post's paper tallies, typed into CSV
//! during an outage, recorded over the REST API with the logged-in token.
//! Each report's idempotency key is a hash of its content, so importing the
//! same file twice records nothing new.

use clap::Subcommand;
use mpaka_protocol::FlowReceipt;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum FlowCommand {
    /// Record the reports in a CSV file (columns as in docs/flows.md; one
    /// report per post, period and sharing).
    Import {
        /// CSV file of tallies (columns in docs/flows.md).
        #[arg(long)]
        file: PathBuf,
    },
}

pub async fn run(
    server: &str,
    http: &reqwest::Client,
    token: &str,
    command: FlowCommand,
    json: bool,
) -> anyhow::Result<()> {
    let FlowCommand::Import { file } = command;
    let text = std::fs::read_to_string(&file)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
    let receipts = import_with(http, server, token, &text).await?;
    for receipt in &receipts {
        if json {
            out!("{}", serde_json::to_string(receipt)?);
        } else {
            out!(
                "{} {} {}–{}: {} people{}",
                if receipt.duplicate {
                    "already recorded"
                } else {
                    "recorded"
                },
                receipt.report.post,
                receipt.report.period_start,
                receipt.report.period_end,
                receipt.report.total,
                if receipt.surges.is_empty() {
                    ""
                } else {
                    " (surge suggested)"
                }
            );
        }
    }
    if !json {
        let repeated = receipts.iter().filter(|r| r.duplicate).count();
        out!(
            "{} report(s) recorded, {repeated} already there",
            receipts.len() - repeated
        );
    }
    Ok(())
}

/// Records every report of a tally file (CSV text) at `server`, in file
/// order, stopping at the first refusal.
///
/// # Errors
/// An invalid file (every problem, by row), an unreachable hub, or the
/// hub's refusal of a report (with its code and fields).
pub async fn import(server: &str, token: &str, text: &str) -> anyhow::Result<Vec<FlowReceipt>> {
    import_with(&reqwest::Client::new(), server, token, text).await
}

/// [`import`] with a given HTTP client (its trusted certificates).
///
/// # Errors
/// As [`import`].
pub async fn import_with(
    http: &reqwest::Client,
    server: &str,
    token: &str,
    text: &str,
) -> anyhow::Result<Vec<FlowReceipt>> {
    let drafts = crate::flows::export::parse_csv(text).map_err(|problems| {
        let lines: Vec<String> = problems
            .iter()
            .map(|p| format!("  {}: {}", p.field, p.message))
            .collect();
        anyhow::anyhow!("not a valid tally file:\n{}", lines.join("\n"))
    })?;
    let mut receipts = Vec::new();
    for draft in &drafts {
        let body = serde_json::to_vec(draft)?;
        let key = format!("flow-import:{}", hex::encode(Sha256::digest(&body)));
        let response = http
            .post(format!("{server}/api/v1/flows/reports"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            let body: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
            anyhow::bail!(
                "{} {}–{}: {}: {}{}",
                draft.post.as_deref().unwrap_or(""),
                draft.period_start,
                draft.period_end,
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
        receipts.push(serde_json::from_str(&text)?);
    }
    Ok(receipts)
}
