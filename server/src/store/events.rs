//! The event log: append, read in order, page back through a channel.

use super::{now_ms, Result, Store, StoreError};
use crate::vlog::merkle::Hash;
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

/// An event ready to write: its column values, serialised once, so that the
/// leaf hash commits to exactly the bytes stored, and so that a publish's
/// idempotency fingerprint can hash those same bytes instead of encoding
/// the body a second time.
pub struct PreparedEvent {
    event: NewEvent,
    channel: String,
    kind: &'static str,
    author: Option<String>,
    audience: Option<String>,
    body: String,
}

impl PreparedEvent {
    /// Serialises the event's columns.
    ///
    /// # Errors
    /// A part of the event that cannot be encoded (reported as corrupt).
    pub fn new(event: NewEvent) -> Result<PreparedEvent> {
        Ok(PreparedEvent {
            channel: event.channel.to_string(),
            kind: event.data.kind(),
            author: event
                .author
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::corrupt)?,
            audience: event
                .audience
                .as_ref()
                .map(serde_json::to_string)
                .transpose()
                .map_err(StoreError::corrupt)?,
            body: serde_json::to_string(&event.data).map_err(StoreError::corrupt)?,
            event,
        })
    }

    /// The channel column, as stored.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// The body column: the event data's JSON, as stored.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The event to prepare again, for a row that was rolled back.
    pub(super) fn from_stored(stored: StoredEvent) -> Result<PreparedEvent> {
        PreparedEvent::new(NewEvent {
            channel: stored.channel,
            author_id: stored.author_id,
            author: stored.author,
            audience: stored.audience,
            data: stored.data,
        })
    }

    /// The stored event and its leaf hash, once the row has its `seq`.
    fn stored(self, seq: i64, at_ms: i64) -> (StoredEvent, Hash) {
        let leaf = crate::vlog::leaf::EventRow {
            seq,
            channel: self.channel,
            kind: self.kind.to_owned(),
            at: at_ms,
            author_id: self.event.author_id,
            author: self.author,
            audience: self.audience,
            body: self.body,
        };
        let hash = crate::vlog::merkle::leaf_hash(&leaf.leaf_bytes());
        let stored = StoredEvent {
            seq: seq as u64,
            channel: self.event.channel,
            at_ms,
            author_id: self.event.author_id,
            author: self.event.author,
            audience: self.event.audience,
            data: self.event.data,
        };
        (stored, hash)
    }
}

/// Inserts the rows, in order, in as few statements as
/// [`super::rows::chunk_lengths`] allows; returns each stored event with
/// the hash of its log leaf (computed from the exact column values
/// written).
pub(super) async fn insert_many(
    conn: &mut AnyConnection,
    prepared: Vec<PreparedEvent>,
) -> Result<Vec<(StoredEvent, Hash)>> {
    let at_ms = now_ms();
    let mut prepared = prepared.into_iter();
    let mut written = Vec::with_capacity(prepared.len());
    for len in super::rows::chunk_lengths(prepared.len()) {
        let chunk: Vec<PreparedEvent> = prepared.by_ref().take(len).collect();
        let sql = format!(
            "INSERT INTO events (channel, kind, at, author_id, author, audience, body) \
             VALUES {} RETURNING seq",
            super::rows::placeholders(len, 7)
        );
        let mut query = sqlx::query_scalar::<_, i64>(&sql);
        for row in &chunk {
            query = query
                .bind(row.channel.as_str())
                .bind(row.kind)
                .bind(at_ms)
                .bind(row.event.author_id)
                .bind(row.author.as_deref())
                .bind(row.audience.as_deref())
                .bind(row.body.as_str());
        }
        let mut seqs = query.fetch_all(&mut *conn).await?;
        // Writers are serialised and the rows of one VALUES list are
        // inserted in order, so the ascending sequence numbers belong to
        // the rows in list order; RETURNING itself promises no order.
        seqs.sort_unstable();
        if seqs.len() != chunk.len() {
            return Err(StoreError::corrupt(format!(
                "inserted {} events but {} sequence numbers came back",
                chunk.len(),
                seqs.len()
            )));
        }
        written.extend(
            chunk
                .into_iter()
                .zip(seqs)
                .map(|(row, seq)| row.stored(seq, at_ms)),
        );
    }
    Ok(written)
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
