//! The event log: append, read in order, page back through a channel.

use super::{now_ms, Result, Store, StoreError};
use mpaka_protocol::SopAudience as Audience;
use mpaka_protocol::{Author, ChannelId, Event, EventData};
use sqlx::{AnyConnection, Row};

/// An event about to be appended.
#[derive(Debug, Clone)]
pub struct NewEvent {
    pub channel: ChannelId,
    pub author_id: Option<i64>,
    pub author: Option<Author>,
    /// Further restriction within the channel (e.g. an SOP's audience).
    pub audience: Option<Audience>,
    pub data: EventData,
}

impl NewEvent {
    /// An event for the hubs themselves (`account.changed`,
    /// `directory.changed`, `session.ended`): on `system`, which no client
    /// receives, with no author.
    pub fn system(data: EventData) -> NewEvent {
        NewEvent {
            channel: ChannelId::System,
            author_id: None,
            author: None,
            audience: None,
            data,
        }
    }
}

/// An event as stored, with what the hub needs to decide who receives it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredEvent {
    pub seq: u64,
    pub channel: ChannelId,
    pub at_ms: i64,
    pub author_id: Option<i64>,
    pub author: Option<Author>,
    pub audience: Option<Audience>,
    pub data: EventData,
}

impl StoredEvent {
    /// The event as a client receives it; `redact` for observers.
    pub fn to_wire(&self, redact: bool) -> Event {
        Event {
            seq: self.seq,
            channel: self.channel.clone(),
            at: super::format_ms(self.at_ms),
            author: self
                .author
                .as_ref()
                .map(|a| if redact { a.redacted() } else { a.clone() }),
            data: if redact {
                self.data.redacted()
            } else {
                self.data.clone()
            },
        }
    }
}

const COLUMNS: &str = "seq, channel, at, author_id, author, audience, body";

/// Inserts the row; returns it and the hash of its log leaf (computed from
/// the exact column values written).
pub(super) async fn insert(
    conn: &mut AnyConnection,
    event: NewEvent,
) -> Result<(StoredEvent, crate::vlog::merkle::Hash)> {
    let at_ms = now_ms();
    let author = event
        .author
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(StoreError::corrupt)?;
    let audience = event
        .audience
        .as_ref()
        .map(serde_json::to_string)
        .transpose()
        .map_err(StoreError::corrupt)?;
    let body = serde_json::to_string(&event.data).map_err(StoreError::corrupt)?;
    let channel = event.channel.to_string();
    let kind = event.data.kind();
    let seq: i64 = sqlx::query_scalar(
        "INSERT INTO events (channel, kind, at, author_id, author, audience, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq",
    )
    .bind(&channel)
    .bind(kind)
    .bind(at_ms)
    .bind(event.author_id)
    .bind(&author)
    .bind(&audience)
    .bind(&body)
    .fetch_one(conn)
    .await?;
    let leaf = crate::vlog::leaf::EventRow {
        seq,
        channel,
        kind: kind.to_owned(),
        at: at_ms,
        author_id: event.author_id,
        author,
        audience,
        body,
    };
    let hash = crate::vlog::merkle::leaf_hash(&leaf.leaf_bytes());
    let stored = StoredEvent {
        seq: seq as u64,
        channel: event.channel,
        at_ms,
        author_id: event.author_id,
        author: event.author,
        audience: event.audience,
        data: event.data,
    };
    Ok((stored, hash))
}

fn decode(row: &sqlx::any::AnyRow) -> Result<StoredEvent> {
    let channel: String = row.try_get("channel")?;
    let author: Option<String> = row.try_get("author")?;
    let audience: Option<String> = row.try_get("audience")?;
    let body: String = row.try_get("body")?;
    Ok(StoredEvent {
        seq: row.try_get::<i64, _>("seq")? as u64,
        channel: channel.parse().map_err(StoreError::corrupt)?,
        at_ms: row.try_get("at")?,
        author_id: row.try_get("author_id")?,
        author: author
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(StoreError::corrupt)?,
        audience: audience
            .map(|a| serde_json::from_str(&a))
            .transpose()
            .map_err(StoreError::corrupt)?,
        data: serde_json::from_str(&body).map_err(StoreError::corrupt)?,
    })
}

fn decode_all(rows: &[sqlx::any::AnyRow]) -> Result<Vec<StoredEvent>> {
    rows.iter().map(decode).collect()
}

fn seq_param(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

impl Store {
    /// The highest committed sequence number (0 for an empty log).
    ///
    /// # Errors
    /// A database failure.
    pub async fn head_seq(&self) -> Result<u64> {
        let mut conn = self.reader().await?;
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM events")
            .fetch_one(&mut *conn)
            .await?;
        Ok(head.unwrap_or(0) as u64)
    }

    /// Events of every channel with `seq > after`, oldest first.
    ///
    /// # Errors
    /// A database failure or an undecodable row.
    pub async fn events_after(&self, after: u64, limit: u32) -> Result<Vec<StoredEvent>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2"
        ))
        .bind(seq_param(after))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        decode_all(&rows)
    }

    /// Events of `channels` with `after < seq <= through`, oldest first.
    ///
    /// # Errors
    /// A database failure or an undecodable row.
    pub async fn channel_events(
        &self,
        channels: &[ChannelId],
        after: u64,
        through: u64,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        if channels.is_empty() {
            return Ok(Vec::new());
        }
        // Channel names are validated identifiers, but bind them anyway.
        let placeholders: Vec<String> =
            (0..channels.len()).map(|i| format!("${}", i + 4)).collect();
        let sql = format!(
            "SELECT {COLUMNS} FROM events WHERE seq > $1 AND seq <= $2 AND channel IN ({}) \
             ORDER BY seq LIMIT $3",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(&sql)
            .bind(seq_param(after))
            .bind(seq_param(through))
            .bind(i64::from(limit));
        for channel in channels {
            query = query.bind(channel.to_string());
        }
        let mut conn = self.reader().await?;
        let rows = query.fetch_all(&mut *conn).await?;
        decode_all(&rows)
    }

    /// One channel's events with `seq < before`, newest first.
    ///
    /// # Errors
    /// A database failure or an undecodable row.
    pub async fn history(
        &self,
        channel: &ChannelId,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<StoredEvent>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM events WHERE channel = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3"
        ))
        .bind(channel.to_string())
        .bind(seq_param(before.unwrap_or(u64::MAX)))
        .bind(i64::from(limit))
        .fetch_all(&mut *conn)
        .await?;
        decode_all(&rows)
    }
}
