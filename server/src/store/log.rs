//! The log's SQL: leaves appended inside the caller's write transaction,
//! the node cache, checkpoints, cosignatures and witness state, and the
//! reads proofs and the verifier need.

use super::{Result, Store, StoreError};
use crate::vlog::leaf::{AuditRow, EventRow, RedactionRow, Source};
use crate::vlog::merkle::{self, Hash, Perfect};
use sqlx::{AnyConnection, Row};

/// Leaves hashed into the node cache per round, to bound memory.
const EXTEND_CHUNK: u64 = 1 << 15;

pub(crate) fn hex_hash(h: &Hash) -> String {
    hex::encode(h)
}

pub(crate) fn parse_hash(s: &str) -> Result<Hash> {
    let bytes = hex::decode(s).map_err(StoreError::corrupt)?;
    <Hash>::try_from(bytes.as_slice()).map_err(|_| StoreError::corrupt("hash is not 32 bytes"))
}

/// A leaf about to be appended: the row it commits to and its hash.
pub(crate) struct NewLeaf {
    pub source: Source,
    pub reference: i64,
    pub hash: Hash,
}

/// Appends leaves in order; returns the index of the first. `next` caches
/// the next index within one transaction (writers are serialised, so
/// nobody else appends meanwhile).
///
/// # Errors
/// A database failure.
pub(crate) async fn append_leaves(
    conn: &mut AnyConnection,
    next: &mut Option<i64>,
    leaves: &[NewLeaf],
) -> Result<i64> {
    let first = match *next {
        Some(idx) => idx,
        None => {
            let max: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM log_leaves")
                .fetch_one(&mut *conn)
                .await?;
            max.map_or(0, |m| m + 1)
        }
    };
    let mut idx = first;
    let mut rest = leaves;
    for len in super::rows::chunk_lengths(leaves.len()) {
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        let sql = format!(
            "INSERT INTO log_leaves (idx, source, ref, hash) VALUES {}",
            super::rows::placeholders(len, 4)
        );
        let mut query = sqlx::query(&sql);
        for leaf in chunk {
            query = query
                .bind(idx)
                .bind(leaf.source.as_str())
                .bind(leaf.reference)
                .bind(hex_hash(&leaf.hash));
            idx += 1;
        }
        query.execute(&mut *conn).await?;
    }
    *next = Some(idx);
    Ok(first)
}

/// The number of leaves.
pub(crate) async fn leaf_count(conn: &mut AnyConnection) -> Result<u64> {
    let max: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM log_leaves")
        .fetch_one(conn)
        .await?;
    Ok(max.map_or(0, |m| (m + 1) as u64))
}

async fn level_range(
    conn: &mut AnyConnection,
    level: u32,
    from: u64,
    to: u64,
) -> Result<Vec<(u64, Hash)>> {
    let rows = if level == 0 {
        sqlx::query("SELECT idx, hash FROM log_leaves WHERE idx >= $1 AND idx < $2 ORDER BY idx")
            .bind(from as i64)
            .bind(to as i64)
            .fetch_all(&mut *conn)
            .await?
    } else {
        sqlx::query(
            "SELECT idx, hash FROM log_nodes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(i64::from(level))
        .bind(from as i64)
        .bind(to as i64)
        .fetch_all(&mut *conn)
        .await?
    };
    rows.iter()
        .map(|r| {
            let idx: i64 = r.try_get("idx")?;
            let hash: String = r.try_get("hash")?;
            Ok((idx as u64, parse_hash(&hash)?))
        })
        .collect()
}

/// Adds to the node cache every perfect subtree completed by growing the
/// tree from `old` to `new` leaves. Call inside a write transaction.
///
/// # Errors
/// A database failure, or a cache with holes (corrupt).
pub(crate) async fn extend_nodes(conn: &mut AnyConnection, old: u64, new: u64) -> Result<()> {
    let mut start = old;
    while start < new {
        let end = new.min(start + EXTEND_CHUNK);
        for level in 1..64u32 {
            let (lo, hi) = (start >> level, end >> level);
            if lo >= hi {
                break;
            }
            let children = level_range(conn, level - 1, 2 * lo, 2 * hi).await?;
            if children.len() as u64 != 2 * (hi - lo) {
                return Err(StoreError::corrupt(format!(
                    "log node cache has holes at level {}",
                    level - 1
                )));
            }
            let nodes: Vec<Hash> = children
                .chunks(2)
                .map(|pair| merkle::node_hash(&pair[0].1, &pair[1].1))
                .collect();
            insert_nodes(conn, level, lo, &nodes).await?;
        }
        start = end;
    }
    Ok(())
}

/// Stores the nodes of one level from index `first` on, a chunk of rows
/// per statement.
async fn insert_nodes(
    conn: &mut AnyConnection,
    level: u32,
    first: u64,
    nodes: &[Hash],
) -> Result<()> {
    let mut idx = first as i64;
    let mut rest = nodes;
    for len in super::rows::chunk_lengths(nodes.len()) {
        let (chunk, tail) = rest.split_at(len);
        rest = tail;
        let sql = format!(
            "INSERT INTO log_nodes (level, idx, hash) VALUES {} \
             ON CONFLICT (level, idx) DO NOTHING",
            super::rows::placeholders(len, 3)
        );
        let mut query = sqlx::query(&sql);
        for hash in chunk {
            query = query.bind(i64::from(level)).bind(idx).bind(hex_hash(hash));
            idx += 1;
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

async fn perfect(conn: &mut AnyConnection, p: Perfect) -> Result<Hash> {
    let found = level_range(conn, p.level, p.index, p.index + 1).await?;
    found.first().map(|(_, h)| *h).ok_or_else(|| {
        StoreError::NotFound(format!("log node level {} index {}", p.level, p.index))
    })
}

/// The MTH of leaves `[start, end)` from the cache (`end` must not exceed
/// the size the cache was extended to).
pub(crate) async fn range_hash(conn: &mut AnyConnection, start: u64, end: u64) -> Result<Hash> {
    let mut hashes = Vec::new();
    for p in merkle::parts(start, end) {
        hashes.push(perfect(conn, p).await?);
    }
    Ok(merkle::fold(&hashes))
}

/// A checkpoint as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StoredCheckpoint {
    pub id: i64,
    pub size: u64,
    /// Hex.
    pub root: String,
    pub at_ms: i64,
    pub note: String,
}

fn decode_checkpoint(r: &sqlx::any::AnyRow) -> Result<StoredCheckpoint> {
    Ok(StoredCheckpoint {
        id: r.try_get("id")?,
        size: r.try_get::<i64, _>("size")? as u64,
        root: r.try_get("root")?,
        at_ms: r.try_get("at")?,
        note: r.try_get("note")?,
    })
}

pub(crate) async fn latest_checkpoint(
    conn: &mut AnyConnection,
) -> Result<Option<StoredCheckpoint>> {
    let row = sqlx::query(
        "SELECT id, size, root, at, note FROM log_checkpoints ORDER BY id DESC LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode_checkpoint).transpose()
}

pub(crate) async fn insert_checkpoint(
    conn: &mut AnyConnection,
    size: u64,
    root: &Hash,
    at_ms: i64,
    note: &str,
) -> Result<()> {
    sqlx::query("INSERT INTO log_checkpoints (size, root, at, note) VALUES ($1, $2, $3, $4)")
        .bind(size as i64)
        .bind(hex_hash(root))
        .bind(at_ms)
        .bind(note)
        .execute(conn)
        .await?;
    Ok(())
}

/// A leaf's position and stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeafRef {
    pub idx: u64,
    pub source: Source,
    pub reference: i64,
    pub hash: Hash,
}

fn decode_leaf(r: &sqlx::any::AnyRow) -> Result<LeafRef> {
    let source: String = r.try_get("source")?;
    let hash: String = r.try_get("hash")?;
    Ok(LeafRef {
        idx: r.try_get::<i64, _>("idx")? as u64,
        source: Source::parse(&source).ok_or_else(|| StoreError::corrupt("unknown leaf source"))?,
        reference: r.try_get("ref")?,
        hash: parse_hash(&hash)?,
    })
}

pub(crate) fn decode_event_row(r: &sqlx::any::AnyRow) -> Result<EventRow> {
    Ok(EventRow {
        seq: r.try_get("seq")?,
        channel: r.try_get("channel")?,
        kind: r.try_get("kind")?,
        at: r.try_get("at")?,
        author_id: r.try_get("author_id")?,
        author: r.try_get("author")?,
        audience: r.try_get("audience")?,
        body: r.try_get("body")?,
    })
}

pub(crate) fn decode_audit_row(r: &sqlx::any::AnyRow) -> Result<AuditRow> {
    Ok(AuditRow {
        id: r.try_get("id")?,
        at: r.try_get("at")?,
        actor_id: r.try_get("actor_id")?,
        actor: r.try_get("actor")?,
        action: r.try_get("action")?,
        target: r.try_get("target")?,
        detail: r.try_get("detail")?,
        prev_hash: r.try_get("prev_hash")?,
        hash: r.try_get("hash")?,
    })
}

pub(crate) fn decode_redaction_row(r: &sqlx::any::AnyRow) -> Result<RedactionRow> {
    Ok(RedactionRow {
        target: r.try_get("target")?,
        at: r.try_get("at")?,
        actor: r.try_get("actor")?,
        reason: r.try_get("reason")?,
    })
}

pub(crate) const EVENT_COLUMNS: &str = "seq, channel, kind, at, author_id, author, audience, body";
pub(crate) const AUDIT_COLUMNS: &str =
    "id, at, actor_id, actor, action, target, detail, prev_hash, hash";

impl Store {
    /// The number of leaves in the log.
    ///
    /// # Errors
    /// A database failure.
    pub async fn log_size(&self) -> Result<u64> {
        leaf_count(&mut *self.reader().await?).await
    }

    /// The newest checkpoint the hub signed, if any.
    ///
    /// # Errors
    /// A database failure.
    pub async fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        latest_checkpoint(&mut *self.reader().await?).await
    }

    /// Checkpoints with `id > after`, oldest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn checkpoints(&self, after: i64, limit: u32) -> Result<Vec<StoredCheckpoint>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(
            "SELECT id, size, root, at, note FROM log_checkpoints WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(decode_checkpoint).collect()
    }

    /// The checkpoint of exactly `size` leaves, if one was signed.
    ///
    /// # Errors
    /// A database failure.
    pub async fn checkpoint_of_size(&self, size: u64) -> Result<Option<StoredCheckpoint>> {
        let mut conn = self.reader().await?;
        let row = sqlx::query(
            "SELECT id, size, root, at, note FROM log_checkpoints WHERE size = $1 ORDER BY id LIMIT 1",
        )
        .bind(size as i64)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(decode_checkpoint).transpose()
    }

    /// The leaf of an event (`Source::Event`, seq), an audit entry
    /// (`Source::Audit`, id) or a tombstone.
    ///
    /// # Errors
    /// A database failure.
    pub async fn leaf_of(&self, source: Source, reference: i64) -> Result<Option<LeafRef>> {
        let mut conn = self.reader().await?;
        let row = sqlx::query(
            "SELECT idx, source, ref, hash FROM log_leaves WHERE source = $1 AND ref = $2",
        )
        .bind(source.as_str())
        .bind(reference)
        .fetch_optional(&mut *conn)
        .await?;
        row.as_ref().map(decode_leaf).transpose()
    }

    /// The leaf at `idx`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn leaf_at(&self, idx: u64) -> Result<Option<LeafRef>> {
        let mut conn = self.reader().await?;
        let row = sqlx::query("SELECT idx, source, ref, hash FROM log_leaves WHERE idx = $1")
            .bind(idx as i64)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(decode_leaf).transpose()
    }

    /// Leaves with `idx >= from`, in order.
    ///
    /// # Errors
    /// A database failure.
    pub async fn leaves_from(&self, from: u64, limit: u32) -> Result<Vec<LeafRef>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(
            "SELECT idx, source, ref, hash FROM log_leaves WHERE idx >= $1 ORDER BY idx LIMIT $2",
        )
        .bind(from as i64)
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(decode_leaf).collect()
    }

    /// The bytes the leaf commits to, re-read from its row as stored now
    /// (`None` when the row is gone).
    ///
    /// # Errors
    /// A database failure.
    pub async fn leaf_bytes(&self, leaf: &LeafRef) -> Result<Option<Vec<u8>>> {
        let mut conn = self.reader().await?;
        let (sql, decode): (String, DecodeRow) = match leaf.source {
            Source::Event => (
                format!("SELECT {EVENT_COLUMNS} FROM events WHERE seq = $1"),
                |r| decode_event_row(r).map(|e| e.leaf_bytes()),
            ),
            Source::Audit => (
                format!("SELECT {AUDIT_COLUMNS} FROM audit WHERE id = $1"),
                |r| decode_audit_row(r).map(|e| e.leaf_bytes()),
            ),
            Source::Redaction => (
                "SELECT target, at, actor, reason FROM log_redactions WHERE leaf = $1".to_owned(),
                |r| decode_redaction_row(r).map(|e| e.leaf_bytes()),
            ),
        };
        let row = sqlx::query(&sql)
            .bind(leaf.reference)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The hashes of an inclusion proof of leaf `idx` in the tree of
    /// `size` leaves; `size` must not exceed the newest checkpoint.
    ///
    /// # Errors
    /// A database failure; `NotFound` beyond the cached tree.
    pub async fn inclusion_proof(&self, idx: u64, size: u64) -> Result<Vec<Hash>> {
        let mut conn = self.reader().await?;
        let mut out = Vec::new();
        for (a, b) in merkle::inclusion_ranges(idx, size) {
            out.push(range_hash(&mut conn, a, b).await?);
        }
        Ok(out)
    }

    /// The hashes of a consistency proof from `old` to `new` leaves.
    ///
    /// # Errors
    /// As [`Store::inclusion_proof`].
    pub async fn consistency_proof(&self, old: u64, new: u64) -> Result<Vec<Hash>> {
        let mut conn = self.reader().await?;
        let mut out = Vec::new();
        for (a, b) in merkle::consistency_ranges(old, new) {
            out.push(range_hash(&mut conn, a, b).await?);
        }
        Ok(out)
    }

    /// Records a witness's cosigned copy of one of this log's checkpoints.
    ///
    /// # Errors
    /// A database failure.
    pub async fn add_cosignature(&self, size: u64, witness: &str, note: &str) -> Result<()> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO log_cosignatures (size, witness, at, note) VALUES ($1, $2, $3, $4)",
        )
        .bind(size as i64)
        .bind(witness)
        .bind(crate::store::now_ms())
        .bind(note)
        .execute(tx.conn())
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Cosigned checkpoints of this log, newest first.
    ///
    /// # Errors
    /// A database failure.
    pub async fn cosignatures(&self, limit: u32) -> Result<Vec<(u64, String, String)>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(
            "SELECT size, witness, note FROM log_cosignatures ORDER BY id DESC LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get::<i64, _>("size")? as u64,
                    r.try_get("witness")?,
                    r.try_get("note")?,
                ))
            })
            .collect()
    }
}

/// The cached tree hash state, for tests and tools: MTH of `[0, size)`.
///
/// # Errors
/// A database failure or a cache that does not reach `size`.
pub async fn cached_root(store: &Store, size: u64) -> Result<Hash> {
    if size == 0 {
        return Ok(merkle::empty_root());
    }
    range_hash(&mut *store.reader().await?, 0, size).await
}

/// The witness's memory of one log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WitnessState {
    pub size: u64,
    pub root: Hash,
}

pub(crate) async fn witness_state(
    conn: &mut AnyConnection,
    origin: &str,
) -> Result<Option<WitnessState>> {
    let row = sqlx::query("SELECT size, root FROM witness_state WHERE origin = $1")
        .bind(origin)
        .fetch_optional(conn)
        .await?;
    row.map(|r| {
        let root: String = r.try_get("root")?;
        Ok(WitnessState {
            size: r.try_get::<i64, _>("size")? as u64,
            root: parse_hash(&root)?,
        })
    })
    .transpose()
}

pub(crate) async fn set_witness_state(
    conn: &mut AnyConnection,
    origin: &str,
    size: u64,
    root: &Hash,
    note: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO witness_state (origin, size, root, note, at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (origin) DO UPDATE SET size = excluded.size, root = excluded.root, \
         note = excluded.note, at = excluded.at",
    )
    .bind(origin)
    .bind(size as i64)
    .bind(hex_hash(root))
    .bind(note)
    .bind(crate::store::now_ms())
    .execute(conn)
    .await?;
    Ok(())
}

impl Store {
    /// An event's channel and audience, for access checks on proofs.
    ///
    /// # Errors
    /// A database failure or an undecodable row.
    pub async fn event_scope(
        &self,
        seq: i64,
    ) -> Result<
        Option<(
            mpaka_protocol::ChannelId,
            Option<mpaka_protocol::SopAudience>,
        )>,
    > {
        let mut conn = self.reader().await?;
        let row = sqlx::query("SELECT channel, audience FROM events WHERE seq = $1")
            .bind(seq)
            .fetch_optional(&mut *conn)
            .await?;
        let Some(row) = row else { return Ok(None) };
        let channel: String = row.try_get("channel")?;
        let audience: Option<String> = row.try_get("audience")?;
        Ok(Some((
            channel.parse().map_err(StoreError::corrupt)?,
            audience
                .map(|a| serde_json::from_str(&a))
                .transpose()
                .map_err(StoreError::corrupt)?,
        )))
    }
}

/// Reads the bytes a leaf commits to from its row.
type DecodeRow = fn(&sqlx::any::AnyRow) -> Result<Vec<u8>>;

impl super::WriteTx {
    /// Replaces an event's body (the row only: its leaf keeps the hash of
    /// what was first written) and appends a tombstone leaf naming the
    /// event's leaf, in this transaction (docs/audit.md §7). The verifier
    /// then accepts the changed row and lists it as redacted. Returns the
    /// tombstone's leaf index.
    ///
    /// # Errors
    /// The event has no leaf (a corrupt log), or a database failure.
    pub async fn redact_event(
        &mut self,
        seq: i64,
        body: &str,
        actor: &str,
        reason: &str,
    ) -> Result<i64> {
        let target: Option<i64> =
            sqlx::query_scalar("SELECT idx FROM log_leaves WHERE source = $1 AND ref = $2")
                .bind(Source::Event.as_str())
                .bind(seq)
                .fetch_optional(self.conn())
                .await?;
        let target =
            target.ok_or_else(|| StoreError::corrupt(format!("event {seq} has no log leaf")))?;
        sqlx::query("UPDATE events SET body = $1 WHERE seq = $2")
            .bind(body)
            .bind(seq)
            .execute(self.conn())
            .await?;
        let row = RedactionRow {
            target,
            at: super::now_ms(),
            actor: actor.to_owned(),
            reason: reason.to_owned(),
        };
        let hash = merkle::leaf_hash(&row.leaf_bytes());
        // The tombstone's leaf refers to its own row by leaf index, which
        // is the index this append takes.
        let conn = self
            .conn
            .as_deref_mut()
            .expect("a write transaction has its connection until commit");
        let next = match self.next_leaf {
            Some(idx) => idx,
            None => {
                let max: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM log_leaves")
                    .fetch_one(&mut *conn)
                    .await?;
                max.map_or(0, |m| m + 1)
            }
        };
        self.next_leaf = Some(next);
        let idx = self.append_leaf(Source::Redaction, next, &hash).await?;
        sqlx::query(
            "INSERT INTO log_redactions (leaf, target, at, actor, reason) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(idx)
        .bind(row.target)
        .bind(row.at)
        .bind(&row.actor)
        .bind(&row.reason)
        .execute(self.conn())
        .await?;
        Ok(idx)
    }
}
