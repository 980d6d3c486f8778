//! The audit trail: an append-only hash chain. Each entry's hash covers its
//! own fields and the previous entry's hash, so editing or deleting any entry
//! breaks every hash after it, which [`Store::verify_audit`] detects.
//! Entries caused by a request carry the client's address (the forwarded
//! one behind a trusted proxy); the hash covers it when present, so entries
//! written before the address existed verify as they always did.

use super::{now_ms, Result, Store, StoreError};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Row};
use std::net::IpAddr;

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry, as written and as read back.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    /// Position in the chain (0 before it is written).
    pub id: i64,
    pub at_ms: i64,
    pub actor_id: Option<i64>,
    /// Username, or `system` for the hub's own actions.
    pub actor: String,
    /// What happened, e.g. `auth.login`, `user.disabled`, `alert.raised`.
    pub action: String,
    /// What it happened to, e.g. `user:12`, `alert:ALT-…`.
    pub target: String,
    pub detail: serde_json::Value,
    /// The address the request came from; `None` for the hub's own actions
    /// and the command line on the server machine.
    pub client_addr: Option<String>,
    pub hash: String,
}

/// Who did what is audited, and from which address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AuditActor<'a> {
    /// The account, or `None` for the hub itself (`system`).
    pub user: Option<(i64, &'a str)>,
    pub client: Option<IpAddr>,
}

impl<'a> From<Option<(i64, &'a str)>> for AuditActor<'a> {
    fn from(user: Option<(i64, &'a str)>) -> AuditActor<'a> {
        AuditActor { user, client: None }
    }
}

impl AuditActor<'_> {
    /// The same actor, acting from `client`.
    pub fn from_client(self, client: IpAddr) -> Self {
        AuditActor {
            client: Some(client),
            ..self
        }
    }
}

impl AuditEntry {
    /// A new entry for `actor` (a user or `None` for the hub itself, with
    /// the client address when a request caused it).
    pub fn new<'a>(
        actor: impl Into<AuditActor<'a>>,
        action: &str,
        target: impl Into<String>,
        detail: serde_json::Value,
    ) -> AuditEntry {
        let actor = actor.into();
        AuditEntry {
            id: 0,
            at_ms: 0,
            actor_id: actor.user.map(|(id, _)| id),
            actor: actor
                .user
                .map_or_else(|| "system".to_owned(), |(_, name)| name.to_owned()),
            action: action.to_owned(),
            target: target.into(),
            detail,
            client_addr: actor.client.map(|ip| ip.to_string()),
            hash: String::new(),
        }
    }
}

/// The result of checking the whole chain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditVerification {
    pub entries: u64,
    pub intact: bool,
    /// The first entry whose hash does not match, when not intact.
    pub first_broken_id: Option<i64>,
}

fn chain_hash(prev: &str, e: &AuditEntry, detail: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [
        prev,
        &e.at_ms.to_string(),
        &e.actor_id.map(|id| id.to_string()).unwrap_or_default(),
        &e.actor,
        &e.action,
        &e.target,
        detail,
    ]
    .into_iter()
    // Only when present: entries from before the column hash as before.
    .chain(e.client_addr.as_deref())
    {
        // Length-prefix every field so that no two entries hash alike.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// Appends the entry; returns its id and the hash of its log leaf.
pub(super) async fn append(
    conn: &mut AnyConnection,
    mut entry: AuditEntry,
) -> Result<(i64, crate::vlog::merkle::Hash)> {
    let prev: Option<String> =
        sqlx::query_scalar("SELECT hash FROM audit ORDER BY id DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?;
    let prev = prev.unwrap_or_else(|| GENESIS.to_owned());
    entry.at_ms = now_ms();
    let detail = entry.detail.to_string();
    let hash = chain_hash(&prev, &entry, &detail);
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO audit (at, actor_id, actor, action, target, detail, prev_hash, hash, client_addr) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(entry.at_ms)
    .bind(entry.actor_id)
    .bind(&entry.actor)
    .bind(&entry.action)
    .bind(&entry.target)
    .bind(&detail)
    .bind(&prev)
    .bind(&hash)
    .bind(&entry.client_addr)
    .fetch_one(conn)
    .await?;
    let row = crate::vlog::leaf::AuditRow {
        id,
        at: entry.at_ms,
        actor_id: entry.actor_id,
        actor: entry.actor,
        action: entry.action,
        target: entry.target,
        detail,
        prev_hash: prev,
        hash,
    };
    Ok((id, crate::vlog::merkle::leaf_hash(&row.leaf_bytes())))
}

fn decode(row: &sqlx::any::AnyRow) -> Result<(AuditEntry, String, String)> {
    let detail: String = row.try_get("detail")?;
    let entry = AuditEntry {
        id: row.try_get("id")?,
        at_ms: row.try_get("at")?,
        actor_id: row.try_get("actor_id")?,
        actor: row.try_get("actor")?,
        action: row.try_get("action")?,
        target: row.try_get("target")?,
        detail: serde_json::from_str(&detail).map_err(StoreError::corrupt)?,
        client_addr: row.try_get("client_addr")?,
        hash: row.try_get("hash")?,
    };
    Ok((entry, row.try_get("prev_hash")?, detail))
}

const COLUMNS: &str =
    "id, at, actor_id, actor, action, target, detail, prev_hash, hash, client_addr";

impl Store {
    /// Audit entries with `id > after`, oldest first, optionally of one action prefix.
    ///
    /// # Errors
    /// A database failure.
    pub async fn audit_entries(
        &self,
        after: i64,
        action_prefix: Option<&str>,
        limit: u32,
    ) -> Result<Vec<AuditEntry>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM audit WHERE id > $1 AND action LIKE $2 ORDER BY id LIMIT $3"
        ))
        .bind(after)
        .bind(format!("{}%", action_prefix.unwrap_or("")))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        rows.iter().map(|r| decode(r).map(|(e, _, _)| e)).collect()
    }

    /// Recomputes the whole chain.
    ///
    /// # Errors
    /// A database failure.
    pub async fn verify_audit(&self) -> Result<AuditVerification> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM audit ORDER BY id"))
            .fetch_all(&mut *conn)
            .await?;
        let mut prev = GENESIS.to_owned();
        for row in &rows {
            let (entry, stored_prev, detail) = decode(row)?;
            if stored_prev != prev || chain_hash(&prev, &entry, &detail) != entry.hash {
                return Ok(AuditVerification {
                    entries: rows.len() as u64,
                    intact: false,
                    first_broken_id: Some(entry.id),
                });
            }
            prev = entry.hash;
        }
        Ok(AuditVerification {
            entries: rows.len() as u64,
            intact: true,
            first_broken_id: None,
        })
    }
}
