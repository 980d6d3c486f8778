//! Federation's SQL, nothing else: stored peers, each link's state, the
//! local events to stream, and received events marked with their origin.

use super::wire::SharedEvent;
use crate::store::{
    now_ms, AuditActor, AuditEntry, NewEvent, Result, Store, StoreError, StoredEvent, WriteTx,
};
use mpaka_protocol::ChannelId;
use sqlx::Row;

/// A peer as stored by `mpaka peer add`.
#[derive(Debug, Clone)]
pub struct StoredPeer {
    pub name: String,
    pub url: String,
    pub vkey: String,
    pub corridors: Vec<String>,
}

/// The state of the pull from one peer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LinkRow {
    pub peer: String,
    pub received_through: u64,
    pub peer_head: u64,
    /// Shared events the peer still had to send when it last said.
    pub pending: u64,
    pub last_contact_at: Option<i64>,
    pub caught_up_at: Option<i64>,
    pub refused: u64,
    pub last_error: Option<String>,
}

fn seq(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Peers added with `mpaka peer add`, by name.
///
/// # Errors
/// A database failure or an undecodable row.
pub async fn peers(store: &Store) -> Result<Vec<StoredPeer>> {
    let mut conn = store.reader().await?;
    let rows = sqlx::query("SELECT name, url, vkey, corridors FROM federation_peers ORDER BY name")
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|row| {
            let corridors: String = row.try_get("corridors")?;
            Ok(StoredPeer {
                name: row.try_get("name")?,
                url: row.try_get("url")?,
                vkey: row.try_get("vkey")?,
                corridors: serde_json::from_str(&corridors).map_err(StoreError::corrupt)?,
            })
        })
        .collect()
}

/// Adds or replaces a stored peer, with an audit entry.
///
/// # Errors
/// A database failure.
pub async fn put_peer(store: &Store, peer: &StoredPeer) -> Result<()> {
    let mut tx = store.write().await?;
    let corridors = serde_json::to_string(&peer.corridors).map_err(StoreError::corrupt)?;
    sqlx::query(
        "INSERT INTO federation_peers (name, url, vkey, corridors, added_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (name) DO UPDATE SET url = excluded.url, vkey = excluded.vkey, corridors = excluded.corridors",
    )
    .bind(&peer.name)
    .bind(&peer.url)
    .bind(&peer.vkey)
    .bind(&corridors)
    .bind(now_ms())
    .execute(tx.conn())
    .await?;
    tx.audit(AuditEntry::new(
        AuditActor::default(),
        "federation.peer_added",
        format!("peer:{}", peer.name),
        serde_json::json!({"url": peer.url, "key": peer.vkey, "corridors": peer.corridors}),
    ))
    .await?;
    tx.commit().await
}

/// Removes a stored peer (its link state and received events stay);
/// whether it was there.
///
/// # Errors
/// A database failure.
pub async fn remove_peer(store: &Store, name: &str) -> Result<bool> {
    let mut tx = store.write().await?;
    let removed = sqlx::query("DELETE FROM federation_peers WHERE name = $1")
        .bind(name)
        .execute(tx.conn())
        .await?
        .rows_affected();
    if removed > 0 {
        tx.audit(AuditEntry::new(
            AuditActor::default(),
            "federation.peer_removed",
            format!("peer:{name}"),
            serde_json::json!({}),
        ))
        .await?;
    }
    tx.commit().await?;
    Ok(removed > 0)
}

fn link_row(row: &sqlx::any::AnyRow) -> Result<LinkRow> {
    Ok(LinkRow {
        peer: row.try_get("peer")?,
        received_through: row.try_get::<i64, _>("received_through")? as u64,
        peer_head: row.try_get::<i64, _>("peer_head")? as u64,
        pending: row.try_get::<i64, _>("pending")? as u64,
        last_contact_at: row.try_get("last_contact_at")?,
        caught_up_at: row.try_get("caught_up_at")?,
        refused: row.try_get::<i64, _>("refused")? as u64,
        last_error: row.try_get("last_error")?,
    })
}

const LINK_COLUMNS: &str =
    "peer, received_through, peer_head, pending, last_contact_at, caught_up_at, refused, last_error";

/// Every link's state, by peer name.
///
/// # Errors
/// A database failure.
pub async fn links(store: &Store) -> Result<Vec<LinkRow>> {
    let mut conn = store.reader().await?;
    let rows = sqlx::query(&format!(
        "SELECT {LINK_COLUMNS} FROM federation_links ORDER BY peer"
    ))
    .fetch_all(&mut *conn)
    .await?;
    rows.iter().map(link_row).collect()
}

/// One link's state (zero when nothing was received yet).
///
/// # Errors
/// A database failure.
pub async fn link(store: &Store, peer: &str) -> Result<LinkRow> {
    let mut conn = store.reader().await?;
    let row = sqlx::query(&format!(
        "SELECT {LINK_COLUMNS} FROM federation_links WHERE peer = $1"
    ))
    .bind(peer)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => link_row(&row),
        None => Ok(LinkRow {
            peer: peer.to_owned(),
            ..LinkRow::default()
        }),
    }
}

async fn ensure_link(tx: &mut WriteTx, peer: &str) -> Result<()> {
    sqlx::query("INSERT INTO federation_links (peer) VALUES ($1) ON CONFLICT (peer) DO NOTHING")
        .bind(peer)
        .execute(tx.conn())
        .await?;
    Ok(())
}

/// Records that the peer answered, its shared head and how many shared
/// events it still had to send (none: this hub is caught up now).
///
/// # Errors
/// A database failure.
pub async fn note_contact(store: &Store, peer: &str, head: u64, pending: u64) -> Result<()> {
    let mut tx = store.write().await?;
    ensure_link(&mut tx, peer).await?;
    let now = now_ms();
    sqlx::query(
        "UPDATE federation_links SET last_contact_at = $2, peer_head = $3, pending = $4, \
         last_error = NULL, caught_up_at = CASE WHEN $4 = 0 THEN $2 ELSE caught_up_at END \
         WHERE peer = $1",
    )
    .bind(peer)
    .bind(now)
    .bind(seq(head))
    .bind(seq(pending))
    .execute(tx.conn())
    .await?;
    tx.commit().await
}

/// Records a failure to reach or talk to a peer.
///
/// # Errors
/// A database failure.
pub async fn note_error(store: &Store, peer: &str, error: &str) -> Result<()> {
    let mut tx = store.write().await?;
    ensure_link(&mut tx, peer).await?;
    sqlx::query("UPDATE federation_links SET last_error = $2 WHERE peer = $1")
        .bind(peer)
        .bind(error)
        .execute(tx.conn())
        .await?;
    tx.commit().await
}

/// The seqs in `[first, last]` of events received from other hubs, in order.
async fn foreign_seqs(store: &Store, first: u64, last: u64) -> Result<Vec<u64>> {
    let mut conn = store.reader().await?;
    let seqs: Vec<i64> = sqlx::query_scalar(
        "SELECT seq FROM event_origins WHERE seq >= $1 AND seq <= $2 ORDER BY seq",
    )
    .bind(seq(first))
    .bind(seq(last))
    .fetch_all(&mut *conn)
    .await?;
    Ok(seqs.into_iter().map(|s| s as u64).collect())
}

/// One read of the events to stream.
#[derive(Debug, Default)]
pub struct Scan {
    /// This hub's own events among those read, oldest first.
    pub events: Vec<StoredEvent>,
    /// The last seq read: the next read starts after it.
    pub through: u64,
    /// Whether the read was full (more may follow at once).
    pub full: bool,
}

/// This hub's own events of `channels` after `after`, oldest first, at
/// most `limit` read (events received from other hubs are read but left
/// out: an origin streams only its own, so three hubs never loop).
///
/// # Errors
/// A database failure or an undecodable row.
pub async fn local_events_after(
    store: &Store,
    channels: &[ChannelId],
    after: u64,
    limit: u32,
) -> Result<Scan> {
    let read = store
        .channel_events(channels, after, u64::MAX, limit)
        .await?;
    let (Some(first), Some(last)) = (read.first().map(|e| e.seq), read.last().map(|e| e.seq))
    else {
        return Ok(Scan {
            through: after,
            ..Scan::default()
        });
    };
    let full = read.len() >= limit as usize;
    let foreign = foreign_seqs(store, first, last).await?;
    let events = read
        .into_iter()
        .filter(|e| foreign.binary_search(&e.seq).is_err())
        .collect();
    Ok(Scan {
        events,
        through: last,
        full,
    })
}

/// The highest seq of this hub's own events of `channels` (0 if none),
/// and how many of them are after `after`.
///
/// # Errors
/// A database failure.
pub async fn local_head(store: &Store, channels: &[ChannelId], after: u64) -> Result<(u64, u64)> {
    if channels.is_empty() {
        return Ok((0, 0));
    }
    let within = |first: usize| {
        let placeholders: Vec<String> = (0..channels.len())
            .map(|i| format!("${}", i + first))
            .collect();
        format!(
            "channel IN ({}) AND NOT EXISTS (SELECT 1 FROM event_origins o WHERE o.seq = events.seq)",
            placeholders.join(", ")
        )
    };
    // Two statements: MAX walks the (channel, seq) index backwards, the
    // count reads only the range after `after`.
    let head_sql = format!("SELECT MAX(seq) FROM events WHERE {}", within(1));
    let mut head = sqlx::query_scalar::<_, Option<i64>>(&head_sql);
    let count_sql = format!(
        "SELECT COUNT(*) FROM events WHERE seq > $1 AND {}",
        within(2)
    );
    let mut pending = sqlx::query_scalar::<_, i64>(&count_sql).bind(seq(after));
    for channel in channels {
        head = head.bind(channel.to_string());
        pending = pending.bind(channel.to_string());
    }
    let mut conn = store.reader().await?;
    let head = head.fetch_one(&mut *conn).await?;
    let pending = pending.fetch_one(&mut *conn).await?;
    Ok((head.unwrap_or(0) as u64, pending as u64))
}

/// What a batch from a peer comes to.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Stored {
    /// Events appended to this hub's log.
    pub appended: usize,
    /// Events already held (a repeat after a cut): skipped.
    pub repeated: usize,
}

/// An item of a batch, checked by the caller.
pub enum Item {
    /// Boxed: an event is far larger than a refusal.
    Accept(Box<SharedEvent>),
    /// Refused by policy: skipped for good, audited, counted.
    Refuse {
        origin_seq: u64,
        reason: &'static str,
        detail: String,
    },
}

/// Stores a batch from `peer` in one transaction: each accepted event
/// appended to this hub's log (with its log leaf, and handed to the
/// dispatcher at commit, so local sockets get it live under local access
/// rules) with its origin row in `event_origins`; each refusal audited; and the resume
/// point moved past all of them. Items at or below the resume point are
/// repeats and skipped.
///
/// # Errors
/// A database failure: nothing of the batch is stored.
pub async fn store_batch(store: &Store, peer: &str, items: Vec<Item>) -> Result<Stored> {
    let mut tx = store.write().await?;
    ensure_link(&mut tx, peer).await?;
    // Read inside the write transaction: writers are serialised, so two
    // nodes pulling the same peer cannot both store an event.
    let through: i64 =
        sqlx::query_scalar("SELECT received_through FROM federation_links WHERE peer = $1")
            .bind(peer)
            .fetch_one(tx.conn())
            .await?;
    let mut through = through as u64;
    let mut outcome = Stored::default();
    let mut refused = 0_i64;
    for item in items {
        let origin_seq = match &item {
            Item::Accept(event) => event.origin_seq,
            Item::Refuse { origin_seq, .. } => *origin_seq,
        };
        if origin_seq <= through {
            outcome.repeated += 1;
            continue;
        }
        through = origin_seq;
        match item {
            Item::Accept(event) => {
                let event = *event;
                let (local, _) = tx
                    .append_many(vec![NewEvent {
                        channel: event.channel,
                        author_id: None,
                        author: event.author,
                        audience: event.audience,
                        data: event.data,
                    }])
                    .await?
                    .pop()
                    .ok_or_else(|| StoreError::corrupt("an appended event has no seq"))?;
                sqlx::query(
                    "INSERT INTO event_origins (seq, origin, origin_seq, origin_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(seq(local))
                .bind(peer)
                .bind(seq(event.origin_seq))
                .bind(event.at_ms)
                .execute(tx.conn())
                .await?;
                outcome.appended += 1;
            }
            Item::Refuse { reason, detail, .. } => {
                refused += 1;
                tx.audit(AuditEntry::new(
                    AuditActor::default(),
                    "federation.event_refused",
                    format!("peer:{peer}"),
                    serde_json::json!({"origin_seq": origin_seq, "reason": reason, "detail": detail}),
                ))
                .await?;
            }
        }
    }
    sqlx::query(
        "UPDATE federation_links SET received_through = $2, refused = refused + $3 WHERE peer = $1",
    )
    .bind(peer)
    .bind(seq(through))
    .bind(refused)
    .execute(tx.conn())
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Records a refusal that moves no resume point (a bad signature or a
/// failed handshake: nothing in it can be trusted), with its audit entry;
/// counted on the peer's link when `known` (an unknown caller gets no row,
/// so that strangers cannot fill the table).
///
/// # Errors
/// A database failure.
pub async fn note_refusal(
    store: &Store,
    peer: &str,
    known: bool,
    reason: &str,
    detail: &str,
) -> Result<()> {
    let mut tx = store.write().await?;
    if known {
        ensure_link(&mut tx, peer).await?;
        sqlx::query(
            "UPDATE federation_links SET refused = refused + 1, last_error = $2 WHERE peer = $1",
        )
        .bind(peer)
        .bind(format!("{reason}: {detail}"))
        .execute(tx.conn())
        .await?;
    }
    tx.audit(AuditEntry::new(
        AuditActor::default(),
        "federation.refused",
        format!("peer:{peer}"),
        serde_json::json!({"reason": reason, "detail": detail}),
    ))
    .await?;
    tx.commit().await
}
