//! `mpaka sms test NUMBER`: sends one SMS straight through the configured
//! gateway (`[sms]` settings) and prints its answer, to check a Kannel set-up
//! without raising an alert. It does not go through the outbox: nothing
//! is stored, and a delivery report for it is ignored by the hub.

use super::StoreArgs;
use crate::sms::gateway::{Gateway, Kannel, Outgoing};
use crate::sms::{gsm, policy};
use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum SmsCommand {
    /// Send a test SMS to NUMBER (E.164, e.g. +25779000001) through the gateway.
    Test {
        number: String,
        /// The text (default: "MPAKA test message").
        #[arg(long)]
        text: Option<String>,
    },
}

/// Runs `mpaka sms …`.
///
/// # Errors
/// Bad configuration or number; the gateway refused or is unreachable.
pub async fn run(store: StoreArgs, command: SmsCommand) -> anyhow::Result<()> {
    let SmsCommand::Test { number, text } = command;
    let settings = store.settings()?;
    let number = policy::tidy_phone(&number);
    anyhow::ensure!(
        policy::is_e164(&number),
        "{number} is not an international number such as +25779000001"
    );
    let text = text.unwrap_or_else(|| "MPAKA test message".to_owned());
    let measure = gsm::measure(&text);
    let gateway = Kannel::new(&settings.sms)?;
    let answer = gateway
        .send(Outgoing {
            outbox_id: 0,
            attempt_id: "test",
            to: &number,
            text: &text,
            encoding: measure.encoding,
        })
        .await
        .map_err(|e| anyhow::anyhow!("{e} ({})", settings.sms.gateway_url))?;
    out!(
        "sent to {number} through {}: {} segment(s), {}; the gateway answered: {answer}",
        settings.sms.gateway_url,
        measure.segments,
        measure.encoding.as_str()
    );
    Ok(())
}
