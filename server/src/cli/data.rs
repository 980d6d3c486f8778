//! Data tools: `mpaka export`, `mpaka import` (move a deployment, e.g.
//! from SQLite to PostgreSQL) and `mpaka backup` (an online SQLite copy).
//! Progress goes to stderr; a summary with verified counts to stdout.

use super::StoreArgs;
use crate::store::{Progress, Store};
use clap::Args;
use std::io::{BufReader, BufWriter, IsTerminal, Write};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// File to write (JSON lines); refuses to overwrite.
    #[arg(long)]
    pub to: PathBuf,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// An export file written by `mpaka export`.
    #[arg(long)]
    pub from: PathBuf,
}

#[derive(Debug, Args)]
pub struct BackupArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The backup file to create (a complete SQLite database).
    #[arg(long)]
    pub to: PathBuf,
}

/// Prints progress to stderr: one updating line on a terminal, a line per
/// table (and every 10%) otherwise.
fn progress_printer() -> impl FnMut(Progress<'_>) + Send {
    let terminal = std::io::stderr().is_terminal();
    let mut last_tenth: Option<(String, u64)> = None;
    move |p: Progress<'_>| {
        let mut err = std::io::stderr().lock();
        if terminal {
            let _ = write!(err, "\r  {:<16} {:>10} / {:<10}", p.table, p.done, p.total);
            if p.done == p.total {
                let _ = writeln!(err);
            }
            return;
        }
        let tenth = (p.done * 10).checked_div(p.total).unwrap_or(10);
        let key = (p.table.to_owned(), tenth);
        if last_tenth.as_ref() != Some(&key) {
            let _ = writeln!(err, "  {:<16} {:>10} / {}", p.table, p.done, p.total);
            last_tenth = Some(key);
        }
    }
}

/// `mpaka export --to FILE`.
///
/// # Errors
/// The file exists or cannot be written; storage failures.
pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    let settings = args.store.settings()?;
    let store = super::open_store(&settings, false).await?;
    if args.to.exists() {
        anyhow::bail!("cannot create {}: it already exists", args.to.display());
    }
    // Written beside the target and renamed into place once complete and
    // synced: a crash never leaves a truncated export under the real name.
    let temp = crate::files::temp_path(&args.to);
    let file = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&temp)
            .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", args.to.display()))?
    };
    let mut out = BufWriter::new(file);
    eprintln!("exporting to {}", args.to.display());
    let written = async {
        let header = store.export(&mut out, &mut progress_printer()).await?;
        out.into_inner()
            .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.to.display()))?
            .sync_all()?;
        crate::files::publish(&temp, &args.to)?;
        anyhow::Ok(header)
    }
    .await;
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    let header = written?;
    store.close().await;
    out!("exported from {}:", header.source);
    for table in &header.tables {
        out!("  {:<16} {:>10} rows", table.name, table.rows);
    }
    Ok(())
}

/// `mpaka import --from FILE` into the configured (empty) database.
///
/// # Errors
/// A malformed file, a non-empty target, any count mismatch or a broken
/// audit chain: nothing is imported then.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let settings = args.store.settings()?;
    let store = super::open_store(&settings, true).await?;
    let file = std::fs::File::open(&args.from)
        .map_err(|e| anyhow::anyhow!("cannot open {}: {e}", args.from.display()))?;
    eprintln!("importing {}", args.from.display());
    let result = store
        .import(&mut BufReader::new(file), &mut progress_printer())
        .await;
    let header = match result {
        Ok(header) => header,
        Err(error) => {
            store.close().await;
            anyhow::bail!("import failed, nothing was imported: {error}");
        }
    };
    let stored = store.table_counts().await?;
    let head = store.head_seq().await?;
    store.close().await;
    out!("imported (exported from {}); verified:", header.source);
    for table in &stored {
        out!("  {:<16} {:>10} rows  ok", table.name, table.rows);
    }
    out!("  audit chain intact; last event seq {head}");
    Ok(())
}

/// `mpaka backup --to FILE`: an online, consistent copy of the SQLite
/// database, checked after it is written.
///
/// # Errors
/// PostgreSQL (use its own tools), an existing file, or a failed check.
pub async fn backup(args: BackupArgs) -> anyhow::Result<()> {
    let settings = args.store.settings()?;
    let url = settings.database_url();
    anyhow::ensure!(
        crate::store::backend_of(&url)? == crate::store::Backend::Sqlite,
        "mpaka backup copies SQLite databases; {} is PostgreSQL: back it up with pg_dump \
         (or continuous archiving, docs/operations.md)",
        crate::config::DatabaseSummary::of(&url)
    );
    let store = super::open_store(&settings, false).await?;
    store.backup_to(&args.to).await?;
    store.close().await;
    // Check the copy on its own: integrity, chain, counts.
    let copy = Store::open(&format!("sqlite://{}", args.to.display())).await?;
    copy.integrity_check().await?;
    let audit = copy.verify_audit().await?;
    let counts = copy.table_counts().await?;
    let head = copy.head_seq().await?;
    copy.close().await;
    anyhow::ensure!(
        audit.intact,
        "the backup's audit chain does not verify (entry {:?})",
        audit.first_broken_id
    );
    out!(
        "backup written to {}; integrity ok; verified:",
        args.to.display()
    );
    for table in &counts {
        out!("  {:<16} {:>10} rows", table.name, table.rows);
    }
    out!("  audit chain intact; last event seq {head}");
    Ok(())
}
