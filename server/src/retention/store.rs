//! Retention's SQL: the job's watermark, old events, closed alerts (the
//! job's lease is `store::jobs`).

use crate::store::{Result, Store};
use sqlx::{AnyConnection, Row};

pub async fn watermark(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    let w: Option<i64> = sqlx::query_scalar("SELECT watermark FROM jobs WHERE name = $1")
        .bind(name)
        .fetch_optional(conn)
        .await?;
    Ok(w.unwrap_or(0))
}

pub async fn set_watermark(conn: &mut AnyConnection, name: &str, watermark: i64) -> Result<()> {
    sqlx::query("UPDATE jobs SET watermark = $1 WHERE name = $2")
        .bind(watermark)
        .bind(name)
        .execute(conn)
        .await?;
    Ok(())
}

/// An event as retention reads it.
pub struct OldEvent {
    pub seq: i64,
    pub at_ms: i64,
    pub body: String,
}

/// Events after `after_seq`, oldest first.
pub async fn events_after(
    conn: &mut AnyConnection,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<OldEvent>> {
    let rows = sqlx::query("SELECT seq, at, body FROM events WHERE seq > $1 ORDER BY seq LIMIT $2")
        .bind(after_seq)
        .bind(limit)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OldEvent {
                seq: r.try_get("seq")?,
                at_ms: r.try_get("at")?,
                body: r.try_get("body")?,
            })
        })
        .collect()
}

/// Closed alerts last changed before `before_ms` and not yet redacted.
pub async fn closed_alerts(
    conn: &mut AnyConnection,
    before_ms: i64,
    limit: i64,
) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query(
        "SELECT id, body FROM alerts WHERE state <> 'open' AND updated_at < $1 \
         AND redacted_at IS NULL ORDER BY updated_at LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("body")?)))
        .collect()
}

pub async fn save_alert(conn: &mut AnyConnection, id: &str, body: &str, now_ms: i64) -> Result<()> {
    sqlx::query("UPDATE alerts SET body = $1, redacted_at = $2 WHERE id = $3")
        .bind(body)
        .bind(now_ms)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn history(conn: &mut AnyConnection, alert_id: &str) -> Result<Vec<(i64, String)>> {
    let rows = sqlx::query("SELECT id, change FROM alert_history WHERE alert_id = $1")
        .bind(alert_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("id")?, r.try_get("change")?)))
        .collect()
}

pub async fn save_change(conn: &mut AnyConnection, id: i64, change: &str) -> Result<()> {
    sqlx::query("UPDATE alert_history SET change = $1 WHERE id = $2")
        .bind(change)
        .bind(id)
        .execute(conn)
        .await?;
    Ok(())
}

/// The highest event seq any node has redacted.
pub async fn last_redacted_event(store: &Store) -> Result<Option<u64>> {
    let mut conn = store.reader().await?;
    let seq: Option<i64> = sqlx::query_scalar(
        "SELECT MAX(l.ref) FROM log_redactions r JOIN log_leaves l ON l.idx = r.target \
         WHERE l.source = 'event'",
    )
    .fetch_one(&mut *conn)
    .await?;
    Ok(seq.map(|s| s as u64))
}

/// Flow versions recorded before `before_ms` whose correction reason is
/// still there: `(report_id, version, body)`.
pub async fn flow_versions_with_reason(
    conn: &mut AnyConnection,
    before_ms: i64,
    limit: i64,
) -> Result<Vec<(String, i64, String)>> {
    let rows = sqlx::query(
        "SELECT report_id, version, body FROM flow_versions WHERE at < $1 \
         AND body LIKE '%\"reason\":%' AND body NOT LIKE '%\"reason\":\"[redacted]\"%' \
         ORDER BY at LIMIT $2",
    )
    .bind(before_ms)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("report_id")?,
                r.try_get("version")?,
                r.try_get("body")?,
            ))
        })
        .collect()
}

pub async fn save_flow_version(
    conn: &mut AnyConnection,
    report_id: &str,
    version: i64,
    body: &str,
) -> Result<()> {
    sqlx::query("UPDATE flow_versions SET body = $1 WHERE report_id = $2 AND version = $3")
        .bind(body)
        .bind(report_id)
        .bind(version)
        .execute(conn)
        .await?;
    Ok(())
}
