//! The flow tables: reports, their lines (what queries add up), versions,
//! surges and sensitivity. Plain SQL over sqlx's `Any` driver, the same on
//! SQLite and PostgreSQL; writes run inside the caller's `WriteTx`.
//! Sums are cast to BIGINT because PostgreSQL sums BIGINTs as NUMERIC.

use crate::store::{Result, StoreError};
use mpaka_protocol::{FlowReport, FlowSurge, FlowVersion};
use sqlx::{AnyConnection, Row};

/// One day in milliseconds.
pub const DAY_MS: i64 = 86_400_000;

/// The UTC offsets (minutes) whose local days `flow_daily` rolls up: UTC,
/// Burundi (UTC+2) and Tanzania (UTC+3), the zones headquarters reads in.
/// Neither country has daylight saving, so an offset is a time zone here.
pub const ROLLUP_OFFSETS_MINUTES: [i64; 3] = [0, 120, 180];

/// Which posts' lines a reader may add up: every line of `full` posts, and
/// the joint lines of `joint` posts.
#[derive(Debug, Clone, Default)]
pub struct Visible {
    pub full: Vec<String>,
    pub joint: Vec<String>,
}

impl Visible {
    pub fn is_empty(&self) -> bool {
        self.full.is_empty() && self.joint.is_empty()
    }

    /// The SQL condition on `flow_lines` (`post`, `sharing`) with its
    /// placeholders numbered from `first`, and the values to bind.
    fn condition(&self, prefix: &str, first: usize) -> (String, Vec<String>) {
        let mut values = Vec::new();
        let mut list = |posts: &[String]| -> String {
            if posts.is_empty() {
                return "NULL".into();
            }
            posts
                .iter()
                .map(|p| {
                    values.push(p.clone());
                    format!("${}", first + values.len() - 1)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        let full = list(&self.full);
        let joint = list(&self.joint);
        (
            format!(
                "({prefix}post IN ({full}) OR ({prefix}sharing = 'joint' AND {prefix}post IN ({joint})))"
            ),
            values,
        )
    }
}

fn body<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

fn decode<T: serde::de::DeserializeOwned>(row: &sqlx::any::AnyRow, column: &str) -> Result<T> {
    let text: String = row.try_get(column)?;
    serde_json::from_str(&text).map_err(StoreError::corrupt)
}

fn count(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Stores a new report and its lines.
pub async fn insert(
    conn: &mut AnyConnection,
    report: &FlowReport,
    start_ms: i64,
    end_ms: i64,
    recorded_by: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO flow_reports (id, post, corridor, country, sharing, period_start, period_end, \
         total, version, recorded_by, recorded_at, updated_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
    )
    .bind(&report.id)
    .bind(&report.post)
    .bind(&report.corridor)
    .bind(report.country.as_str())
    .bind(report.sharing.as_str())
    .bind(start_ms)
    .bind(end_ms)
    .bind(count(report.total))
    .bind(i64::from(report.version))
    .bind(recorded_by)
    .bind(now)
    .bind(now)
    .bind(body(report)?)
    .execute(&mut *conn)
    .await?;
    insert_lines(conn, report, start_ms).await?;
    roll_up(conn, &report.id, 1).await
}

/// Adds (`sign` 1) or takes away (`sign` -1) the stored lines of one report
/// in the daily roll-up, for every offset in [`ROLLUP_OFFSETS_MINUTES`] at
/// once (the lines joined with a `VALUES` list of the offsets).
async fn roll_up(conn: &mut AnyConnection, report_id: &str, sign: i64) -> Result<()> {
    static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let zones = ROLLUP_OFFSETS_MINUTES
            .iter()
            .map(|m| format!("({m})"))
            .collect::<Vec<_>>()
            .join(", ");
        // `WHERE` before `GROUP BY` also keeps SQLite from reading the
        // upsert's `ON CONFLICT` as a join constraint.
        format!(
            "INSERT INTO flow_daily (utc_offset_minutes, day_start, post, sharing, direction, \
             nationality, men, women, boys, girls, total, v_children, v_pregnant, v_elderly, \
             v_sick, v_disabled, lines) \
             SELECT zone.column1, \
             ((period_start + zone.column1 * 60000) / 86400000) * 86400000 - zone.column1 * 60000, \
             post, sharing, direction, nationality, \
             CAST($1 * SUM(men) AS BIGINT), CAST($1 * SUM(women) AS BIGINT), \
             CAST($1 * SUM(boys) AS BIGINT), CAST($1 * SUM(girls) AS BIGINT), \
             CAST($1 * SUM(total) AS BIGINT), CAST($1 * SUM(v_children) AS BIGINT), \
             CAST($1 * SUM(v_pregnant) AS BIGINT), CAST($1 * SUM(v_elderly) AS BIGINT), \
             CAST($1 * SUM(v_sick) AS BIGINT), CAST($1 * SUM(v_disabled) AS BIGINT), $1 * COUNT(*) \
             FROM flow_lines CROSS JOIN (VALUES {zones}) AS zone WHERE report_id = $2 \
             GROUP BY 1, 2, post, sharing, direction, nationality \
             ON CONFLICT (utc_offset_minutes, day_start, post, sharing, direction, nationality) \
             DO UPDATE SET men = flow_daily.men + excluded.men, \
             women = flow_daily.women + excluded.women, boys = flow_daily.boys + excluded.boys, \
             girls = flow_daily.girls + excluded.girls, total = flow_daily.total + excluded.total, \
             v_children = flow_daily.v_children + excluded.v_children, \
             v_pregnant = flow_daily.v_pregnant + excluded.v_pregnant, \
             v_elderly = flow_daily.v_elderly + excluded.v_elderly, \
             v_sick = flow_daily.v_sick + excluded.v_sick, \
             v_disabled = flow_daily.v_disabled + excluded.v_disabled, \
             lines = flow_daily.lines + excluded.lines"
        )
    });
    sqlx::query(&SQL)
        .bind(sign)
        .bind(report_id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn insert_lines(conn: &mut AnyConnection, report: &FlowReport, start_ms: i64) -> Result<()> {
    for (i, line) in report.lines.iter().enumerate() {
        let v = &line.vulnerable;
        let n = |c: Option<i64>| c.unwrap_or(0);
        sqlx::query(
            "INSERT INTO flow_lines (report_id, idx, post, sharing, period_start, direction, \
             nationality, transport, reason, men, women, boys, girls, total, v_children, \
             v_pregnant, v_elderly, v_sick, v_disabled) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
        )
        .bind(&report.id)
        .bind(i64::try_from(i).unwrap_or(i64::MAX))
        .bind(&report.post)
        .bind(report.sharing.as_str())
        .bind(start_ms)
        .bind(line.direction.as_str())
        .bind(line.nationality.as_str())
        .bind(line.transport.map(|t| t.as_str()))
        .bind(line.reason.as_deref())
        .bind(i64::from(line.men))
        .bind(i64::from(line.women))
        .bind(i64::from(line.boys))
        .bind(i64::from(line.girls))
        .bind(count(line.total()))
        .bind(n(v.unaccompanied_or_separated_children))
        .bind(n(v.pregnant_or_lactating_women))
        .bind(n(v.elderly))
        .bind(n(v.injured_or_sick))
        .bind(n(v.persons_with_disabilities))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes a corrected report: its row and its new lines.
pub async fn save(
    conn: &mut AnyConnection,
    report: &FlowReport,
    start_ms: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE flow_reports SET total = $2, version = $3, updated_at = $4, body = $5 WHERE id = $1",
    )
    .bind(&report.id)
    .bind(count(report.total))
    .bind(i64::from(report.version))
    .bind(now)
    .bind(body(report)?)
    .execute(&mut *conn)
    .await?;
    roll_up(conn, &report.id, -1).await?;
    sqlx::query("DELETE FROM flow_lines WHERE report_id = $1")
        .bind(&report.id)
        .execute(&mut *conn)
        .await?;
    insert_lines(conn, report, start_ms).await?;
    roll_up(conn, &report.id, 1).await
}

/// One report with the start of its period (Unix ms).
pub async fn load(conn: &mut AnyConnection, id: &str) -> Result<Option<(FlowReport, i64)>> {
    let row = sqlx::query("SELECT body, period_start FROM flow_reports WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|row| Ok((decode(&row, "body")?, row.try_get("period_start")?)))
        .transpose()
}

/// Keeps one version of a report.
pub async fn insert_version(
    conn: &mut AnyConnection,
    report_id: &str,
    version: &FlowVersion,
    at: i64,
    actor_id: i64,
    seq: u64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO flow_versions (report_id, version, at, actor_id, seq, body) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(report_id)
    .bind(i64::from(version.version))
    .bind(at)
    .bind(actor_id)
    .bind(i64::try_from(seq).unwrap_or(i64::MAX))
    .bind(body(version)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every version of a report, oldest first.
pub async fn versions(conn: &mut AnyConnection, report_id: &str) -> Result<Vec<FlowVersion>> {
    let rows = sqlx::query("SELECT body FROM flow_versions WHERE report_id = $1 ORDER BY version")
        .bind(report_id)
        .fetch_all(conn)
        .await?;
    rows.iter().map(|r| decode(r, "body")).collect()
}

/// Reports of `post` in `[from, to)`, oldest first.
pub async fn reports(
    conn: &mut AnyConnection,
    visible: &Visible,
    from_ms: i64,
    to_ms: i64,
    limit: u32,
) -> Result<Vec<FlowReport>> {
    let (condition, values) = visible.condition("", 4);
    let sql = format!(
        "SELECT body FROM flow_reports WHERE period_start >= $1 AND period_start < $2 AND \
         {condition} ORDER BY period_start, id LIMIT $3"
    );
    let mut query = sqlx::query(&sql)
        .bind(from_ms)
        .bind(to_ms)
        .bind(i64::from(limit));
    for v in &values {
        query = query.bind(v);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(|r| decode(r, "body")).collect()
}

/// Per day in `[from_day, to_day]` (day numbers since the epoch, UTC): the
/// movements of `post` in `direction`, for days that have any report.
pub async fn daily(
    conn: &mut AnyConnection,
    post: &str,
    direction: &str,
    from_day: i64,
    to_day: i64,
) -> Result<std::collections::BTreeMap<i64, u64>> {
    let (from, to) = (from_day * DAY_MS, (to_day + 1) * DAY_MS);
    let mut days = std::collections::BTreeMap::new();
    let reported = sqlx::query(
        "SELECT DISTINCT period_start / $4 AS day FROM flow_reports \
         WHERE post = $1 AND period_start >= $2 AND period_start < $3",
    )
    .bind(post)
    .bind(from)
    .bind(to)
    .bind(DAY_MS)
    .fetch_all(&mut *conn)
    .await?;
    for row in reported {
        days.insert(row.try_get::<i64, _>("day")?, 0);
    }
    let sums = sqlx::query(
        "SELECT period_start / $5 AS day, CAST(SUM(total) AS BIGINT) AS n FROM flow_lines \
         WHERE post = $1 AND direction = $2 AND period_start >= $3 AND period_start < $4 \
         GROUP BY 1",
    )
    .bind(post)
    .bind(direction)
    .bind(from)
    .bind(to)
    .bind(DAY_MS)
    .fetch_all(&mut *conn)
    .await?;
    for row in sums {
        let n: i64 = row.try_get("n")?;
        days.insert(row.try_get("day")?, n.max(0).unsigned_abs());
    }
    Ok(days)
}

/// The ids of `post`'s reports whose period starts on `day`.
pub async fn report_ids_on(conn: &mut AnyConnection, post: &str, day: i64) -> Result<Vec<String>> {
    let rows = sqlx::query(
        "SELECT id FROM flow_reports WHERE post = $1 AND period_start >= $2 AND period_start < $3 \
         ORDER BY period_start, id",
    )
    .bind(post)
    .bind(day * DAY_MS)
    .bind((day + 1) * DAY_MS)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok(r.try_get::<String, _>("id")?))
        .collect()
}

/// The surge of `post` on `day` in `direction`, if one was ever suggested.
pub async fn surge_on(
    conn: &mut AnyConnection,
    post: &str,
    day: &str,
    direction: &str,
) -> Result<Option<FlowSurge>> {
    let row =
        sqlx::query("SELECT body FROM flow_surges WHERE post = $1 AND day = $2 AND direction = $3")
            .bind(post)
            .bind(day)
            .bind(direction)
            .fetch_optional(conn)
            .await?;
    row.map(|r| decode(&r, "body")).transpose()
}

/// Stores a new suggestion.
pub async fn insert_surge(conn: &mut AnyConnection, surge: &FlowSurge, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO flow_surges (id, post, day, direction, state, found_at, body) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&surge.id)
    .bind(&surge.post)
    .bind(&surge.day)
    .bind(surge.direction.as_str())
    .bind(surge.state.as_str())
    .bind(now)
    .bind(body(surge)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// One surge with who has claimed it for confirmation.
pub async fn load_surge(
    conn: &mut AnyConnection,
    id: &str,
) -> Result<Option<(FlowSurge, Option<i64>)>> {
    let row = sqlx::query("SELECT body, claimed_by FROM flow_surges WHERE id = $1")
        .bind(id)
        .fetch_optional(conn)
        .await?;
    row.map(|r| Ok((decode(&r, "body")?, r.try_get("claimed_by")?)))
        .transpose()
}

/// Writes a surge after a step.
pub async fn save_surge(
    conn: &mut AnyConnection,
    surge: &FlowSurge,
    claimed_by: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE flow_surges SET state = $2, claimed_by = $3, alert_id = $4, body = $5 WHERE id = $1",
    )
    .bind(&surge.id)
    .bind(surge.state.as_str())
    .bind(claimed_by)
    .bind(surge.alert_id.as_deref())
    .bind(body(surge)?)
    .execute(conn)
    .await?;
    Ok(())
}

/// Surges of the given posts, newest first.
pub async fn surges(
    conn: &mut AnyConnection,
    posts: &[String],
    state: Option<&str>,
    limit: u32,
) -> Result<Vec<FlowSurge>> {
    if posts.is_empty() {
        return Ok(Vec::new());
    }
    let list: Vec<String> = (0..posts.len()).map(|i| format!("${}", i + 3)).collect();
    let sql = format!(
        "SELECT body FROM flow_surges WHERE ($1 = '' OR state = $1) AND post IN ({}) \
         ORDER BY found_at DESC, id LIMIT $2",
        list.join(", ")
    );
    let mut query = sqlx::query(&sql)
        .bind(state.unwrap_or(""))
        .bind(i64::from(limit));
    for p in posts {
        query = query.bind(p);
    }
    let rows = query.fetch_all(conn).await?;
    rows.iter().map(|r| decode(r, "body")).collect()
}

/// The threshold set for `scope` (`post:{slug}` or `corridor:{slug}`).
pub async fn threshold(conn: &mut AnyConnection, scope: &str) -> Result<Option<f64>> {
    let milli: Option<i64> =
        sqlx::query_scalar("SELECT threshold_milli FROM flow_sensitivity WHERE scope = $1")
            .bind(scope)
            .fetch_optional(conn)
            .await?;
    #[allow(clippy::cast_precision_loss)]
    Ok(milli.map(|m| m as f64 / 1000.0))
}

/// Sets the threshold of `scope`.
pub async fn set_threshold(
    conn: &mut AnyConnection,
    scope: &str,
    threshold: f64,
    now: i64,
    by: i64,
) -> Result<()> {
    #[allow(clippy::cast_possible_truncation)]
    let milli = (threshold * 1000.0).round() as i64;
    sqlx::query("DELETE FROM flow_sensitivity WHERE scope = $1")
        .bind(scope)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO flow_sensitivity (scope, threshold_milli, updated_at, updated_by) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(scope)
    .bind(milli)
    .bind(now)
    .bind(by)
    .execute(conn)
    .await?;
    Ok(())
}

/// One group of summed lines.
#[derive(Debug, Clone, Default)]
pub struct Sums {
    pub bucket: i64,
    pub key: String,
    pub direction: String,
    pub nationality: String,
    pub men: u64,
    pub women: u64,
    pub boys: u64,
    pub girls: u64,
    pub total: u64,
    pub vulnerable: [u64; 5],
}

/// Where [`sums`] reads: the lines themselves, or the daily roll-up of one
/// UTC offset (only whole local days of it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Lines,
    Daily { offset_minutes: i64 },
}

/// As [`sums`], but whole local days at `offset_minutes` are read from the
/// daily roll-up when that offset is rolled up, the buckets are whole days
/// and the key is `''` or `post`; the partial days at either end still come
/// from the lines. Gives the same rows as [`sums`], grouped the same way
/// (a bucket may appear in up to three rows per group; callers add them).
#[allow(clippy::too_many_arguments)]
pub async fn sums_by_day(
    conn: &mut AnyConnection,
    visible: &Visible,
    from_ms: i64,
    to_ms: i64,
    width_ms: i64,
    shift_ms: i64,
    key_column: &'static str,
    offset_minutes: i64,
) -> Result<Vec<Sums>> {
    let offset_ms = offset_minutes * 60_000;
    let days_fit = width_ms % DAY_MS == 0 && (shift_ms - offset_ms) % DAY_MS == 0;
    let rolled = ROLLUP_OFFSETS_MINUTES.contains(&offset_minutes)
        && matches!(key_column, "" | "post")
        && days_fit;
    // The first and last local-day boundaries inside [from, to).
    let first = (from_ms + offset_ms).div_euclid(DAY_MS) * DAY_MS - offset_ms;
    let first = if first < from_ms {
        first + DAY_MS
    } else {
        first
    };
    let last = (to_ms + offset_ms).div_euclid(DAY_MS) * DAY_MS - offset_ms;
    if !rolled || first >= last {
        return sums(
            conn, visible, from_ms, to_ms, width_ms, shift_ms, key_column,
        )
        .await;
    }
    let mut rows = select_sums(
        conn,
        Source::Daily { offset_minutes },
        visible,
        (first, last),
        (width_ms, shift_ms),
        key_column,
    )
    .await?;
    for (a, b) in [(from_ms, first), (last, to_ms)] {
        if a < b {
            rows.extend(sums(conn, visible, a, b, width_ms, shift_ms, key_column).await?);
        }
    }
    rows.sort_by_key(|r| r.bucket);
    Ok(rows)
}

/// Sums of the visible lines with `period_start` in `[from, to)`, grouped by
/// bucket (`((t + shift) / width) * width - shift`), `key_column` (a
/// column name chosen by the caller, or `''`), direction and nationality.
pub async fn sums(
    conn: &mut AnyConnection,
    visible: &Visible,
    from_ms: i64,
    to_ms: i64,
    width_ms: i64,
    shift_ms: i64,
    key_column: &'static str,
) -> Result<Vec<Sums>> {
    select_sums(
        conn,
        Source::Lines,
        visible,
        (from_ms, to_ms),
        (width_ms, shift_ms),
        key_column,
    )
    .await
}

async fn select_sums(
    conn: &mut AnyConnection,
    source: Source,
    visible: &Visible,
    (from_ms, to_ms): (i64, i64),
    (width_ms, shift_ms): (i64, i64),
    key_column: &'static str,
) -> Result<Vec<Sums>> {
    if visible.is_empty() {
        return Ok(Vec::new());
    }
    let (condition, values) = visible.condition("", 5);
    let (table, time, only) = match source {
        Source::Lines => ("flow_lines", "period_start", String::new()),
        Source::Daily { offset_minutes } => (
            "flow_daily",
            "day_start",
            format!("utc_offset_minutes = {offset_minutes} AND lines > 0 AND "),
        ),
    };
    let key = if key_column.is_empty() {
        "''"
    } else {
        key_column
    };
    let sql = format!(
        "SELECT (({time} + $3) / $4) * $4 - $3 AS bucket, COALESCE({key}, '') AS k, \
         direction, nationality, \
         CAST(SUM(men) AS BIGINT) AS men, CAST(SUM(women) AS BIGINT) AS women, \
         CAST(SUM(boys) AS BIGINT) AS boys, CAST(SUM(girls) AS BIGINT) AS girls, \
         CAST(SUM(total) AS BIGINT) AS total, CAST(SUM(v_children) AS BIGINT) AS v1, \
         CAST(SUM(v_pregnant) AS BIGINT) AS v2, CAST(SUM(v_elderly) AS BIGINT) AS v3, \
         CAST(SUM(v_sick) AS BIGINT) AS v4, CAST(SUM(v_disabled) AS BIGINT) AS v5 \
         FROM {table} WHERE {only}{time} >= $1 AND {time} < $2 AND {condition} \
         GROUP BY 1, 2, 3, 4 \
         ORDER BY bucket"
    );
    let mut query = sqlx::query(&sql)
        .bind(from_ms)
        .bind(to_ms)
        .bind(shift_ms)
        .bind(width_ms);
    for v in &values {
        query = query.bind(v);
    }
    let rows = query.fetch_all(conn).await?;
    let n = |row: &sqlx::any::AnyRow, c: &str| -> Result<u64> {
        Ok(row.try_get::<i64, _>(c)?.max(0).unsigned_abs())
    };
    rows.iter()
        .map(|row| {
            Ok(Sums {
                bucket: row.try_get("bucket")?,
                key: row.try_get("k")?,
                direction: row.try_get("direction")?,
                nationality: row.try_get("nationality")?,
                men: n(row, "men")?,
                women: n(row, "women")?,
                boys: n(row, "boys")?,
                girls: n(row, "girls")?,
                total: n(row, "total")?,
                vulnerable: [
                    n(row, "v1")?,
                    n(row, "v2")?,
                    n(row, "v3")?,
                    n(row, "v4")?,
                    n(row, "v5")?,
                ],
            })
        })
        .collect()
}
