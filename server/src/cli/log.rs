//! `mpaka log …`: verify the log from the database, sign a checkpoint, build
//! proofs, check a proof offline, print the verifier key.

use super::StoreArgs;
use crate::vlog::leaf::Source;
use crate::vlog::note::Verifier;
use crate::vlog::proof::{self, ConsistencyProof, InclusionProof};
use crate::vlog::verify::{self, CheckpointText};
use crate::vlog::Log;
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct LogArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(subcommand)]
    pub command: LogCommand,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Recompute the tree from the database and check it against every
    /// stored checkpoint and each --checkpoint file; exit 1 if anything differs.
    Verify {
        /// A checkpoint saved earlier (C2SP text); repeatable.
        #[arg(long = "checkpoint")]
        checkpoints: Vec<PathBuf>,
        /// The trusted verifier key (`name+keyid+base64`); default: the
        /// public half of the hub's key file.
        #[arg(long)]
        vkey: Option<String>,
        /// Print the full report as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Sign a checkpoint of the log as it is now and print it.
    Checkpoint,
    /// Print an inclusion proof (one of --event, --audit, --leaf) or, with
    /// --from, a consistency proof, as JSON.
    Prove {
        /// Sequence number of an event.
        #[arg(long)]
        event: Option<i64>,
        /// Id of an audit entry.
        #[arg(long)]
        audit: Option<i64>,
        /// Index of a leaf of the log.
        #[arg(long)]
        leaf: Option<u64>,
        /// Prove against the checkpoint of this many entries (default: newest).
        #[arg(long)]
        size: Option<u64>,
        /// Consistency proof from the checkpoint of this size.
        #[arg(long)]
        from: Option<u64>,
        /// … to the checkpoint of this size (default: newest).
        #[arg(long)]
        to: Option<u64>,
    },
    /// Check a proof file offline with only the log's verifier key.
    CheckProof {
        /// A JSON proof from `mpaka log prove` or the REST API.
        #[arg(long)]
        proof: PathBuf,
        /// The log's verifier key (`mpaka log key`), as the other party holds it.
        #[arg(long)]
        vkey: String,
    },
    /// Print the log's verifier key.
    Key,
}

/// Runs `mpaka log …`.
///
/// # Errors
/// Unusable configuration, database or files; a log that does not verify.
pub async fn run(args: LogArgs) -> anyhow::Result<()> {
    if let LogCommand::CheckProof { proof, vkey } = &args.command {
        return check_proof(proof, vkey);
    }
    let settings = args.store.settings()?;
    let store = super::open_store(&settings, false).await?;
    let log = Log::open(store.clone(), settings.log.clone(), &settings.data_dir).await?;
    let result = match args.command {
        LogCommand::Verify {
            checkpoints,
            vkey,
            json,
        } => {
            let trusted = match vkey {
                Some(v) => Verifier::parse(&v)?,
                None => log.verifier(),
            };
            let mut extra = Vec::new();
            for path in &checkpoints {
                extra.push(CheckpointText {
                    from: path.display().to_string(),
                    text: std::fs::read_to_string(path)?,
                });
            }
            if let Some(dir) = &settings.log.checkpoint_dir {
                if let Ok(entries) = std::fs::read_dir(dir) {
                    for e in entries.filter_map(Result::ok) {
                        if e.path().extension().is_some_and(|x| x == "checkpoint") {
                            extra.push(CheckpointText {
                                from: e.path().display().to_string(),
                                text: std::fs::read_to_string(e.path())?,
                            });
                        }
                    }
                }
            }
            let report = verify::verify(&store, &trusted, &extra).await?;
            if json {
                out!("{}", serde_json::to_string_pretty(&report)?);
            } else {
                out!(
                    "{} entries ({} events, {} audit), root {}",
                    report.entries,
                    report.events,
                    report.audit_entries,
                    report.root
                );
                for c in &report.checkpoints {
                    out!(
                        "checkpoint {} of {} entries: {}",
                        c.from,
                        c.size,
                        match (c.signature_ok, c.consistent) {
                            (false, _) => "SIGNATURE INVALID",
                            (true, true) => "consistent",
                            (true, false) => "DIFFERS",
                        }
                    );
                }
                for p in &report.problems {
                    out!("problem: {}", p.detail);
                }
            }
            if report.intact {
                out!("intact");
                Ok(())
            } else {
                Err(anyhow::anyhow!(
                    "the log does not verify; first difference: {}",
                    report.first_difference.as_deref().unwrap_or("unknown")
                ))
            }
        }
        LogCommand::Checkpoint => {
            let cp = log
                .checkpoint()
                .await?
                .ok_or_else(|| anyhow::anyhow!("no checkpoint"))?;
            out_part!("{}", cp.note);
            Ok(())
        }
        LogCommand::Prove {
            event,
            audit,
            leaf,
            size,
            from,
            to,
        } => {
            if let Some(from) = from {
                let p = proof::consistency(&log, from, to).await.map_err(app)?;
                out!("{}", serde_json::to_string_pretty(&p)?);
                return Ok(());
            }
            let found = match (event, audit, leaf) {
                (Some(seq), None, None) => store.leaf_of(Source::Event, seq).await?,
                (None, Some(id), None) => store.leaf_of(Source::Audit, id).await?,
                (None, None, Some(idx)) => store.leaf_at(idx).await?,
                _ => anyhow::bail!("give exactly one of --event, --audit, --leaf (or --from)"),
            };
            let found = found.ok_or_else(|| anyhow::anyhow!("no such log entry"))?;
            let p = proof::inclusion(&log, &found, size).await.map_err(app)?;
            out!("{}", serde_json::to_string_pretty(&p)?);
            Ok(())
        }
        LogCommand::Key => {
            out!("{}", log.verifier().vkey());
            Ok(())
        }
        LogCommand::CheckProof { .. } => Ok(()),
    };
    store.close().await;
    result
}

fn app(e: crate::error::AppError) -> anyhow::Error {
    let body = e.body();
    anyhow::anyhow!("{}: {}", body.code, body.message)
}

fn check_proof(path: &PathBuf, vkey: &str) -> anyhow::Result<()> {
    let verifier = Verifier::parse(vkey)?;
    let text = std::fs::read_to_string(path)?;
    let value: serde_json::Value = serde_json::from_str(&text)?;
    if value.get("leaf_index").is_some() {
        let p: InclusionProof = serde_json::from_value(value)?;
        let included = proof::check_inclusion(&p, &verifier).map_err(anyhow::Error::msg)?;
        out!(
            "valid: entry {} is in {}'s log of {} entries{}",
            included.leaf_index,
            included.origin,
            included.tree_size,
            included
                .signed_at
                .map(|t| format!(" signed at {}", crate::store::format_ms((t as i64) * 1000)))
                .unwrap_or_default()
        );
        out!("{}", included.leaf);
    } else {
        let p: ConsistencyProof = serde_json::from_value(value)?;
        proof::check_consistency(&p, &verifier).map_err(anyhow::Error::msg)?;
        out!(
            "valid: the log of {} entries extends the log of {} entries",
            p.to,
            p.from
        );
    }
    Ok(())
}
