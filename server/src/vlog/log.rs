//! The hub's verifiable log at run time: its key, signing checkpoints
//! every N entries or T seconds and at shutdown, their append-only copies,
//! and offering them to witnesses.

use super::settings::LogSettings;
use super::{key, leaf, merkle, note, store, witness};
use crate::store::{Result, Store, StoreError};
use note::{Checkpoint, NoteSigner, Verifier};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The log's signing side; cheap to clone.
#[derive(Clone)]
pub struct Log {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    settings: LogSettings,
    signer: NoteSigner,
    /// Logs this hub witnesses.
    witnessed: Vec<Verifier>,
    http: reqwest::Client,
    /// One checkpoint at a time from this process.
    signing: tokio::sync::Mutex<()>,
}

/// Errors of building the log.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("log key file {path}: {reason}")]
    Key { path: String, reason: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Log {
    /// The HTTP client that offers checkpoints to witnesses.
    pub(super) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// Loads (or creates) the key and adds leaves for rows written before
    /// the log existed.
    ///
    /// # Errors
    /// An unusable key file or a database failure.
    pub async fn open(
        store: Store,
        settings: LogSettings,
        data_dir: &std::path::Path,
    ) -> std::result::Result<Log, LogError> {
        let path = settings
            .key_file
            .clone()
            .unwrap_or_else(|| data_dir.join("log.key"));
        let key = key::load_or_create(&path)?;
        let signer = NoteSigner::new(settings.origin.clone(), key);
        let witnessed = settings
            .witness_for
            .iter()
            .filter_map(|v| Verifier::parse(v).ok())
            .collect();
        backfill(&store).await?;
        Ok(Log {
            inner: Arc::new(Inner {
                store,
                settings,
                signer,
                witnessed,
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .unwrap_or_default(),
                signing: tokio::sync::Mutex::new(()),
            }),
        })
    }

    pub fn verifier(&self) -> Verifier {
        self.inner.signer.verifier()
    }

    pub fn settings(&self) -> &LogSettings {
        &self.inner.settings
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    pub(crate) fn signer(&self) -> &NoteSigner {
        &self.inner.signer
    }

    pub(crate) fn witnessed(&self) -> &[Verifier] {
        &self.inner.witnessed
    }

    /// Signs a checkpoint of the whole log now, unless the newest one
    /// already covers every leaf; returns the newest checkpoint either way.
    ///
    /// # Errors
    /// A database failure.
    pub async fn checkpoint(&self) -> Result<Option<store::StoredCheckpoint>> {
        let _one = self.inner.signing.lock().await;
        let mut tx = self.inner.store.write().await?;
        let last = store::latest_checkpoint(tx.conn()).await?;
        let old = last.as_ref().map_or(0, |c| c.size);
        let size = store::leaf_count(tx.conn()).await?;
        if size == old && last.is_some() {
            drop(tx);
            return Ok(last);
        }
        if size < old {
            // Rows vanished under us: never sign a shrunken tree.
            return Err(StoreError::corrupt(format!(
                "log has {size} leaves but checkpoint {old} was signed"
            )));
        }
        store::extend_nodes(tx.conn(), old, size).await?;
        let root = if size == 0 {
            merkle::empty_root()
        } else {
            store::range_hash(tx.conn(), 0, size).await?
        };
        let at_ms = crate::store::now_ms();
        let note = self
            .inner
            .signer
            .sign_checkpoint(
                &Checkpoint {
                    origin: self.inner.settings.origin.clone(),
                    size,
                    root,
                },
                (at_ms / 1000) as u64,
            )
            .render();
        store::insert_checkpoint(tx.conn(), size, &root, at_ms, &note).await?;
        tx.commit().await?;
        tracing::info!(size, root = %hex::encode(root), "signed a log checkpoint");
        let latest = store::StoredCheckpoint {
            id: 0,
            size,
            root: hex::encode(root),
            at_ms,
            note,
        };
        self.publish(&latest, old).await;
        Ok(Some(latest))
    }

    /// Copies a new checkpoint off the machine: the append-only directory,
    /// then each witness. Failures are logged; the next checkpoint retries.
    async fn publish(&self, checkpoint: &store::StoredCheckpoint, _old: u64) {
        if let Some(dir) = &self.inner.settings.checkpoint_dir {
            if let Err(error) = write_checkpoint_file(dir, checkpoint) {
                tracing::warn!(%error, dir = %dir.display(), "cannot write the checkpoint copy");
            }
        }
        for peer in &self.inner.settings.witnesses {
            if let Err(error) = witness::offer(self, peer, checkpoint).await {
                tracing::warn!(%error, witness = %peer.url, "witness did not cosign");
            }
        }
    }

    /// Starts the task that signs checkpoints every `checkpoint_every`
    /// entries or `checkpoint_secs` seconds.
    pub fn start(&self, tracker: &TaskTracker, shutdown: CancellationToken) {
        let log = self.clone();
        tracker.spawn(async move {
            let every = log.inner.settings.checkpoint_every;
            let period = Duration::from_secs(log.inner.settings.checkpoint_secs);
            let tick = period.min(Duration::from_millis(500));
            let mut last_signed = tokio::time::Instant::now();
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(tick) => {}
                }
                let due = async {
                    let size = log.inner.store.log_size().await?;
                    let signed = log
                        .inner
                        .store
                        .latest_checkpoint()
                        .await?
                        .map_or(0, |c| c.size);
                    Ok::<bool, StoreError>(
                        size > signed
                            && (size - signed >= every || last_signed.elapsed() >= period),
                    )
                }
                .await;
                match due {
                    Ok(true) => {
                        if let Err(error) = log.checkpoint().await {
                            tracing::warn!(%error, "cannot sign a log checkpoint");
                        }
                        last_signed = tokio::time::Instant::now();
                    }
                    Ok(false) => {}
                    Err(error) => tracing::warn!(%error, "cannot read the log size"),
                }
            }
        });
    }
}

fn write_checkpoint_file(
    dir: &std::path::Path,
    c: &store::StoredCheckpoint,
) -> std::io::Result<()> {
    use std::io::Write as _;
    std::fs::create_dir_all(dir)?;
    let path = dir.join(format!("{:020}.checkpoint", c.size));
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
    {
        Ok(mut file) => {
            file.write_all(c.note.as_bytes())?;
            file.sync_all()
        }
        // The same size signed again (another node): keep the first copy.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// On a database written before the log existed (no leaf yet), adds
/// leaves for its rows in row order: events, then audit entries. Never
/// after: a row that appears later without a leaf was not written by the
/// hub, and the verifier reports it.
async fn backfill(store: &Store) -> Result<()> {
    let mut tx = store.write().await?;
    if store::leaf_count(tx.conn()).await? > 0 {
        return Ok(());
    }
    let mut next = None;
    let mut added = 0u64;
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM events WHERE NOT EXISTS (SELECT 1 FROM log_leaves l \
             WHERE l.source = 'event' AND l.ref = events.seq) ORDER BY seq LIMIT 1000",
            store::EVENT_COLUMNS
        ))
        .fetch_all(tx.conn())
        .await?;
        if rows.is_empty() {
            break;
        }
        let leaves = rows
            .iter()
            .map(|row| {
                let e = store::decode_event_row(row)?;
                Ok(store::NewLeaf {
                    source: leaf::Source::Event,
                    reference: e.seq,
                    hash: merkle::leaf_hash(&e.leaf_bytes()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        store::append_leaves(tx.conn(), &mut next, &leaves).await?;
        added += leaves.len() as u64;
    }
    loop {
        let rows = sqlx::query(&format!(
            "SELECT {} FROM audit WHERE NOT EXISTS (SELECT 1 FROM log_leaves l \
             WHERE l.source = 'audit' AND l.ref = audit.id) ORDER BY id LIMIT 1000",
            store::AUDIT_COLUMNS
        ))
        .fetch_all(tx.conn())
        .await?;
        if rows.is_empty() {
            break;
        }
        let leaves = rows
            .iter()
            .map(|row| {
                let a = store::decode_audit_row(row)?;
                Ok(store::NewLeaf {
                    source: leaf::Source::Audit,
                    reference: a.id,
                    hash: merkle::leaf_hash(&a.leaf_bytes()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        store::append_leaves(tx.conn(), &mut next, &leaves).await?;
        added += leaves.len() as u64;
    }
    tx.commit().await?;
    if added > 0 {
        tracing::info!(added, "added log leaves for rows written before the log");
    }
    Ok(())
}
