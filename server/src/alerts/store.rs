//! The alert tables: current state with its escalation plan, acknowledgements
//! and history. Plain SQL over sqlx's `Any` driver, the same on SQLite and
//! PostgreSQL; every write here runs inside the caller's `WriteTx`.

use crate::store::{Result, StoreError};
use mpaka_protocol::{Alert, AlertChange};
use sqlx::{AnyConnection, Row};

/// An alert as stored: the alert and its escalation plan.
#[derive(Debug, Clone)]
pub struct AlertRow {
    pub alert: Alert,
    /// When the next escalation is due (Unix ms), if one is.
    pub next_escalation_at: Option<i64>,
    /// Delay from the first to the second escalation, fixed at raise time.
    pub second_level_ms: i64,
}

/// Filters of a listing, already checked and converted (times in Unix ms).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Corridors the caller may see; nothing else is ever listed.
    pub corridors: Vec<String>,
    pub state: Option<&'static str>,
    pub post: Option<String>,
    pub kind: Option<&'static str>,
    pub severity: Option<&'static str>,
    pub status: Option<&'static str>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: u32,
    pub offset: u32,
}

const COLUMNS: &str = "body, next_escalation_at, second_level_ms";

fn decode(row: &sqlx::any::AnyRow) -> Result<AlertRow> {
    let body: String = row.try_get("body")?;
    Ok(AlertRow {
        alert: serde_json::from_str(&body).map_err(StoreError::corrupt)?,
        next_escalation_at: row.try_get("next_escalation_at")?,
        second_level_ms: row.try_get("second_level_ms")?,
    })
}

fn body(alert: &Alert) -> Result<String> {
    serde_json::to_string(alert).map_err(StoreError::corrupt)
}

fn best(alert: &Alert) -> i64 {
    i64::try_from(alert.headcount.best_estimate()).unwrap_or(i64::MAX)
}

/// Stores a newly raised alert.
pub async fn insert(
    conn: &mut AnyConnection,
    alert: &Alert,
    raised_by: i64,
    at_ms: i64,
    next_escalation_at: Option<i64>,
    second_level_ms: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alerts (id, post, corridor, country, kind, severity, status, state, \
         headcount_best, raised_by, raised_at, updated_at, version, ack_count, escalation_level, \
         next_escalation_at, second_level_ms, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 0, 0, $14, $15, $16)",
    )
    .bind(&alert.id)
    .bind(&alert.post)
    .bind(&alert.corridor)
    .bind(alert.country.as_str())
    .bind(alert.kind.as_str())
    .bind(alert.severity.as_str())
    .bind(alert.status.as_str())
    .bind(alert.state.as_str())
    .bind(best(alert))
    .bind(raised_by)
    .bind(at_ms)
    .bind(at_ms)
    .bind(i64::from(alert.version))
    .bind(next_escalation_at)
    .bind(second_level_ms)
    .bind(body(alert)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// One alert, if it exists.
pub async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<AlertRow>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM alerts WHERE id = $1"))
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode).transpose()
}

/// Writes an alert after a user's step, with its new escalation deadline.
/// The escalation level is never changed here: only [`escalate`] does.
pub async fn save(
    conn: &mut AnyConnection,
    alert: &Alert,
    at_ms: i64,
    next_escalation_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE alerts SET severity = $2, state = $3, headcount_best = $4, updated_at = $5, \
         version = $6, ack_count = $7, next_escalation_at = $8, body = $9 WHERE id = $1",
    )
    .bind(&alert.id)
    .bind(alert.severity.as_str())
    .bind(alert.state.as_str())
    .bind(best(alert))
    .bind(at_ms)
    .bind(i64::from(alert.version))
    .bind(i64::try_from(alert.acknowledgements.len()).unwrap_or(i64::MAX))
    .bind(next_escalation_at)
    .bind(body(alert)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// Moves an alert from escalation level `from_level` to the next one, but
/// only if it is still open, unacknowledged, at that level and due at
/// `now_ms`. False when another node (or an acknowledgement) got there
/// first: this condition is what makes each escalation happen once.
pub async fn escalate(
    conn: &mut AnyConnection,
    alert: &Alert,
    from_level: i64,
    now_ms: i64,
    next_escalation_at: Option<i64>,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE alerts SET escalation_level = $3, updated_at = $4, version = $5, \
         next_escalation_at = $6, body = $7 \
         WHERE id = $1 AND escalation_level = $2 AND state = 'open' AND ack_count = 0 \
         AND next_escalation_at IS NOT NULL AND next_escalation_at <= $4",
    )
    .bind(&alert.id)
    .bind(from_level)
    .bind(from_level + 1)
    .bind(now_ms)
    .bind(i64::from(alert.version))
    .bind(next_escalation_at)
    .bind(body(alert)?)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Records one user's acknowledgement; false if they had already acknowledged.
pub async fn insert_ack(
    conn: &mut AnyConnection,
    alert_id: &str,
    user_id: i64,
    at_ms: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO alert_acks (alert_id, user_id, at) VALUES ($1, $2, $3) \
         ON CONFLICT (alert_id, user_id) DO NOTHING",
    )
    .bind(alert_id)
    .bind(user_id)
    .bind(at_ms)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Appends one step to an alert's history.
pub async fn insert_history(
    conn: &mut AnyConnection,
    alert: &Alert,
    change: &AlertChange,
    at_ms: i64,
    actor_id: Option<i64>,
    seq: u64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO alert_history (alert_id, version, step, at, actor_id, seq, change) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&alert.id)
    .bind(i64::from(alert.version))
    .bind(change.step.as_str())
    .bind(at_ms)
    .bind(actor_id)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .bind(serde_json::to_string(change).map_err(StoreError::corrupt)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every step of an alert, oldest first.
pub async fn history(conn: &mut AnyConnection, alert_id: &str) -> Result<Vec<AlertChange>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT change FROM alert_history WHERE alert_id = $1 ORDER BY id")
            .bind(alert_id)
            .fetch_all(conn)
            .await?;
    rows.iter()
        .map(|(c,)| serde_json::from_str(c).map_err(StoreError::corrupt))
        .collect()
}

/// Alerts matching `filter`, newest raised first, one page plus one (so
/// the caller knows whether another page follows).
pub async fn list(conn: &mut AnyConnection, filter: &Filter) -> Result<Vec<Alert>> {
    if filter.corridors.is_empty() {
        return Ok(Vec::new());
    }
    let mut binds: Vec<Bind> = Vec::new();
    let mut clauses = Vec::new();
    let param = |value: Bind, binds: &mut Vec<Bind>| {
        binds.push(value);
        format!("${}", binds.len())
    };
    let corridors: Vec<String> = filter
        .corridors
        .iter()
        .map(|c| param(Bind::Text(c.clone()), &mut binds))
        .collect();
    clauses.push(format!("corridor IN ({})", corridors.join(", ")));
    for (column, value) in [
        ("state", filter.state.map(str::to_owned)),
        ("post", filter.post.clone()),
        ("kind", filter.kind.map(str::to_owned)),
        ("severity", filter.severity.map(str::to_owned)),
        ("status", filter.status.map(str::to_owned)),
    ] {
        if let Some(value) = value {
            let p = param(Bind::Text(value), &mut binds);
            clauses.push(format!("{column} = {p}"));
        }
    }
    if let Some(from) = filter.from_ms {
        let p = param(Bind::Int(from), &mut binds);
        clauses.push(format!("raised_at >= {p}"));
    }
    if let Some(to) = filter.to_ms {
        let p = param(Bind::Int(to), &mut binds);
        clauses.push(format!("raised_at < {p}"));
    }
    let limit = param(Bind::Int(i64::from(filter.limit) + 1), &mut binds);
    let offset = param(Bind::Int(i64::from(filter.offset)), &mut binds);
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts WHERE {} ORDER BY raised_at DESC, id DESC \
         LIMIT {limit} OFFSET {offset}",
        clauses.join(" AND ")
    );
    let mut query = sqlx::query(&sql);
    for bind in binds {
        query = match bind {
            Bind::Text(s) => query.bind(s),
            Bind::Int(i) => query.bind(i),
        };
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(|r| decode(r).map(|a| a.alert)).collect()
}

enum Bind {
    Text(String),
    Int(i64),
}

/// Every open alert of `corridors` (for summaries and the CAP feed).
pub async fn open_in(conn: &mut AnyConnection, corridors: &[String]) -> Result<Vec<Alert>> {
    if corridors.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=corridors.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM alerts WHERE state = 'open' AND corridor IN ({}) \
         ORDER BY raised_at",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for corridor in corridors {
        query = query.bind(corridor);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(|r| decode(r).map(|a| a.alert)).collect()
}

/// Ids of open alerts whose next escalation is due at `now_ms`, most overdue first.
pub async fn due(conn: &mut AnyConnection, now_ms: i64, limit: u32) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT id FROM alerts WHERE state = 'open' AND next_escalation_at IS NOT NULL \
         AND next_escalation_at <= $1 ORDER BY next_escalation_at LIMIT $2",
    )
    .bind(now_ms)
    .bind(i64::from(limit))
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(id,)| id).collect())
}

/// Open alerts per severity: `(severity, open, of which unacknowledged)`.
pub async fn open_counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT severity, COUNT(*) AS open, \
         SUM(CASE WHEN ack_count = 0 THEN 1 ELSE 0 END) AS unacked \
         FROM alerts WHERE state = 'open' GROUP BY severity",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| {
            Ok((
                row.try_get("severity")?,
                row.try_get("open")?,
                row.try_get("unacked")?,
            ))
        })
        .collect()
}
