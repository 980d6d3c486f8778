//! The SMS bridge's SQL, nothing else: phones and preferences, alert
//! reference codes, the outbox, incoming SMS and the sender's lease.

use crate::store::Result;
use sqlx::{AnyConnection, Row};

/// A user's phone and SMS preferences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneRow {
    pub user_id: i64,
    pub phone: String,
    pub verified: bool,
    pub code_hash: Option<String>,
    pub code_expires: Option<i64>,
    pub code_tries: i64,
    pub opted_out: bool,
    pub quiet_from: Option<i64>,
    pub quiet_to: Option<i64>,
    pub pin_hash: Option<String>,
}

fn phone_row(r: &sqlx::any::AnyRow) -> Result<PhoneRow> {
    Ok(PhoneRow {
        user_id: r.try_get("user_id")?,
        phone: r.try_get("phone")?,
        verified: r.try_get::<Option<i64>, _>("verified_at")?.is_some(),
        code_hash: r.try_get("code_hash")?,
        code_expires: r.try_get("code_expires")?,
        code_tries: r.try_get("code_tries")?,
        opted_out: r.try_get::<i64, _>("opted_out")? != 0,
        quiet_from: r.try_get("quiet_from")?,
        quiet_to: r.try_get("quiet_to")?,
        pin_hash: r.try_get("pin_hash")?,
    })
}

const PHONE_COLUMNS: &str = "user_id, phone, verified_at, code_hash, code_expires, code_tries, \
     opted_out, quiet_from, quiet_to, pin_hash";

pub async fn phone_of(conn: &mut AnyConnection, user_id: i64) -> Result<Option<PhoneRow>> {
    let row = sqlx::query(&format!(
        "SELECT {PHONE_COLUMNS} FROM sms_phones WHERE user_id = $1"
    ))
    .bind(user_id)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(phone_row).transpose()
}

/// The user whose verified phone is `phone`.
pub async fn owner_of(conn: &mut AnyConnection, phone: &str) -> Result<Option<PhoneRow>> {
    let row = sqlx::query(&format!(
        "SELECT {PHONE_COLUMNS} FROM sms_phones WHERE phone = $1 AND verified_at IS NOT NULL"
    ))
    .bind(phone)
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(phone_row).transpose()
}

/// Registers (or replaces) a user's phone, unverified, with a pending code.
pub async fn set_phone(
    conn: &mut AnyConnection,
    user_id: i64,
    phone: &str,
    code_hash: &str,
    expires: i64,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sms_phones (user_id, phone, verified_at, code_hash, code_expires, code_tries, updated_at) \
         VALUES ($1, $2, NULL, $3, $4, 0, $5) \
         ON CONFLICT (user_id) DO UPDATE SET phone = $2, verified_at = NULL, code_hash = $3, \
         code_expires = $4, code_tries = 0, updated_at = $5",
    )
    .bind(user_id)
    .bind(phone)
    .bind(code_hash)
    .bind(expires)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn count_try(conn: &mut AnyConnection, user_id: i64) -> Result<()> {
    sqlx::query("UPDATE sms_phones SET code_tries = code_tries + 1 WHERE user_id = $1")
        .bind(user_id)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn mark_verified(conn: &mut AnyConnection, user_id: i64, now: i64) -> Result<()> {
    // Another account that had verified the same number loses it.
    sqlx::query(
        "UPDATE sms_phones SET verified_at = NULL, updated_at = $2 WHERE verified_at IS NOT NULL \
         AND user_id <> $1 AND phone = (SELECT phone FROM sms_phones WHERE user_id = $1)",
    )
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "UPDATE sms_phones SET verified_at = $2, code_hash = NULL, code_expires = NULL, \
         updated_at = $2 WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_preferences(
    conn: &mut AnyConnection,
    user_id: i64,
    opted_out: bool,
    quiet: Option<(i64, i64)>,
    now: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sms_phones SET opted_out = $2, quiet_from = $3, quiet_to = $4, updated_at = $5 \
         WHERE user_id = $1",
    )
    .bind(user_id)
    .bind(i64::from(opted_out))
    .bind(quiet.map(|q| q.0))
    .bind(quiet.map(|q| q.1))
    .bind(now)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

pub async fn set_pin(
    conn: &mut AnyConnection,
    user_id: i64,
    pin_hash: Option<&str>,
    now: i64,
) -> Result<bool> {
    let done =
        sqlx::query("UPDATE sms_phones SET pin_hash = $2, updated_at = $3 WHERE user_id = $1")
            .bind(user_id)
            .bind(pin_hash)
            .bind(now)
            .execute(conn)
            .await?
            .rows_affected();
    Ok(done == 1)
}

pub async fn code_of(conn: &mut AnyConnection, alert_id: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT code FROM sms_alert_codes WHERE alert_id = $1")
            .bind(alert_id)
            .fetch_optional(conn)
            .await?,
    )
}

/// Gives `alert_id` the code `code` unless either already has one; returns
/// whether it did. A code whose alert was closed before `reusable_before`
/// is taken from it.
pub async fn insert_code(
    conn: &mut AnyConnection,
    alert_id: &str,
    code: &str,
    reusable_before: i64,
) -> Result<bool> {
    sqlx::query(
        "DELETE FROM sms_alert_codes WHERE code = $1 AND alert_id IN \
         (SELECT id FROM alerts WHERE state <> 'open' AND updated_at < $2)",
    )
    .bind(code)
    .bind(reusable_before)
    .execute(&mut *conn)
    .await?;
    let done = sqlx::query(
        "INSERT INTO sms_alert_codes (alert_id, code) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(alert_id)
    .bind(code)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

pub async fn alert_of_code(conn: &mut AnyConnection, code: &str) -> Result<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT alert_id FROM sms_alert_codes WHERE code = $1")
            .bind(code)
            .fetch_optional(conn)
            .await?,
    )
}

/// An SMS to queue.
#[derive(Debug, Clone)]
pub struct NewSms<'a> {
    pub dedup_key: &'a str,
    pub user_id: Option<i64>,
    pub phone: &'a str,
    pub alert_id: Option<&'a str>,
    pub purpose: &'a str,
    pub body: &'a str,
    pub segments: i64,
    pub encoding: &'a str,
}

/// Queues an SMS unless one with the same key exists; returns whether it did.
pub async fn enqueue(conn: &mut AnyConnection, sms: &NewSms<'_>, now: i64) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO sms_outbox (dedup_key, user_id, phone, alert_id, purpose, body, state, \
         next_try_at, segments, encoding, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, 'queued', $7, $8, $9, $7) ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(sms.dedup_key)
    .bind(sms.user_id)
    .bind(sms.phone)
    .bind(sms.alert_id)
    .bind(sms.purpose)
    .bind(sms.body)
    .bind(now)
    .bind(sms.segments)
    .bind(sms.encoding)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// An SMS of the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutRow {
    pub id: i64,
    pub user_id: Option<i64>,
    pub phone: String,
    pub alert_id: Option<String>,
    pub purpose: String,
    pub body: String,
    pub state: String,
    pub attempts: i64,
    pub encoding: String,
    pub segments: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub sent_at: Option<i64>,
    pub delivered_at: Option<i64>,
}

const OUT_COLUMNS: &str =
    "id, user_id, phone, alert_id, purpose, body, state, attempts, encoding, \
     segments, error, created_at, sent_at, delivered_at";

fn out_row(r: &sqlx::any::AnyRow) -> Result<OutRow> {
    Ok(OutRow {
        id: r.try_get("id")?,
        user_id: r.try_get("user_id")?,
        phone: r.try_get("phone")?,
        alert_id: r.try_get("alert_id")?,
        purpose: r.try_get("purpose")?,
        body: r.try_get("body")?,
        state: r.try_get("state")?,
        attempts: r.try_get("attempts")?,
        encoding: r.try_get("encoding")?,
        segments: r.try_get("segments")?,
        error: r.try_get("error")?,
        created_at: r.try_get("created_at")?,
        sent_at: r.try_get("sent_at")?,
        delivered_at: r.try_get("delivered_at")?,
    })
}

/// SMS to hand to the gateway now, oldest first: queued ones whose time
/// has come, and ones left `sending` by a node that died before recording
/// the gateway's answer, with no delivery report since `stale_before`.
pub async fn due(
    conn: &mut AnyConnection,
    now: i64,
    stale_before: i64,
    limit: i64,
) -> Result<Vec<OutRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE (state = 'queued' AND next_try_at <= $1) \
         OR (state = 'sending' AND attempt_at < $2) ORDER BY id LIMIT $3"
    ))
    .bind(now)
    .bind(stale_before)
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(out_row).collect()
}

/// Marks an SMS as being handed to the gateway under a new attempt id,
/// if it is still as [`due`] found it. Returns whether it did.
pub async fn mark_sending(
    conn: &mut AnyConnection,
    id: i64,
    attempt_id: &str,
    now: i64,
    stale_before: i64,
) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE sms_outbox SET state = 'sending', attempt_id = $2, attempt_at = $3, \
         attempts = attempts + 1 WHERE id = $1 AND (state = 'queued' OR (state = 'sending' AND attempt_at < $4))",
    )
    .bind(id)
    .bind(attempt_id)
    .bind(now)
    .bind(stale_before)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(done == 1)
}

/// The gateway accepted the SMS.
pub async fn mark_sent(
    conn: &mut AnyConnection,
    id: i64,
    attempt_id: &str,
    reply: &str,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE sms_outbox SET state = 'sent', gateway_reply = $3, sent_at = $4, error = NULL \
         WHERE id = $1 AND attempt_id = $2 AND state = 'sending'",
    )
    .bind(id)
    .bind(attempt_id)
    .bind(reply)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// The gateway could not take the SMS: queued again for `next_try_at`, or
/// failed when `give_up`.
pub async fn mark_retry(
    conn: &mut AnyConnection,
    id: i64,
    attempt_id: &str,
    next_try_at: i64,
    error: &str,
    give_up: bool,
) -> Result<()> {
    sqlx::query(
        "UPDATE sms_outbox SET state = $3, next_try_at = $4, error = $5 \
         WHERE id = $1 AND attempt_id = $2 AND state = 'sending'",
    )
    .bind(id)
    .bind(attempt_id)
    .bind(if give_up { "failed" } else { "queued" })
    .bind(next_try_at)
    .bind(error)
    .execute(conn)
    .await?;
    Ok(())
}

/// A delivery report from the gateway for attempt `attempt_id` of SMS
/// `id`: Kannel's type 1 delivered, 2 undelivered, 4 queued at the SMSC,
/// 8 accepted by the SMSC, 16 rejected by the SMSC. A report proves the
/// gateway took that attempt, so a `sending` row becomes at least `sent`.
/// Returns the new state, if the row exists.
pub async fn delivery_report(
    conn: &mut AnyConnection,
    id: i64,
    attempt_id: &str,
    kind: i64,
    now: i64,
) -> Result<Option<String>> {
    let state: Option<String> =
        sqlx::query_scalar("SELECT state FROM sms_outbox WHERE id = $1 AND attempt_id = $2")
            .bind(id)
            .bind(attempt_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some(state) = state else {
        return Ok(None);
    };
    let next = match (kind, state.as_str()) {
        (_, "delivered") => "delivered",
        (1, _) => "delivered",
        (2 | 16, _) => "failed",
        (_, "failed") => "failed",
        _ => "sent",
    };
    sqlx::query(
        "UPDATE sms_outbox SET state = $3, sent_at = COALESCE(sent_at, $4), \
         delivered_at = CASE WHEN $3 = 'delivered' THEN COALESCE(delivered_at, $4) ELSE delivered_at END, \
         error = CASE WHEN $3 = 'failed' THEN $5 ELSE error END \
         WHERE id = $1 AND attempt_id = $2",
    )
    .bind(id)
    .bind(attempt_id)
    .bind(next)
    .bind(now)
    .bind(format!("delivery report {kind}"))
    .execute(conn)
    .await?;
    Ok(Some(next.to_owned()))
}

/// The SMS about one alert, oldest first.
pub async fn of_alert(conn: &mut AnyConnection, alert_id: &str) -> Result<Vec<OutRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {OUT_COLUMNS} FROM sms_outbox WHERE alert_id = $1 ORDER BY id"
    ))
    .bind(alert_id)
    .fetch_all(conn)
    .await?;
    rows.iter().map(out_row).collect()
}

/// The most recent SMS of the outbox.
pub async fn recent(conn: &mut AnyConnection, limit: i64) -> Result<Vec<OutRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {OUT_COLUMNS} FROM sms_outbox ORDER BY id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(conn)
    .await?;
    rows.iter().map(out_row).collect()
}

/// SMS per state, for the metrics.
pub async fn state_counts(conn: &mut AnyConnection) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM sms_outbox GROUP BY state")
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
        .collect()
}

/// Records an incoming SMS unless the gateway already delivered it; returns
/// its id and, for a repeat, the outcome recorded then.
pub async fn insert_inbound(
    conn: &mut AnyConnection,
    key: &str,
    sender: &str,
    text: &str,
    now: i64,
) -> Result<(i64, Option<String>)> {
    let done = sqlx::query(
        "INSERT INTO sms_inbound (dedup_key, sender, text, received_at, outcome) \
         VALUES ($1, $2, $3, $4, 'pending') ON CONFLICT (dedup_key) DO NOTHING",
    )
    .bind(key)
    .bind(sender)
    .bind(text)
    .bind(now)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    let row = sqlx::query("SELECT id, outcome FROM sms_inbound WHERE dedup_key = $1")
        .bind(key)
        .fetch_one(conn)
        .await?;
    let id: i64 = row.try_get("id")?;
    let outcome: String = row.try_get("outcome")?;
    Ok((id, (done == 0).then_some(outcome)))
}

/// Replies of `user_id` refused since `since` with `outcome`.
pub async fn refusals_since(
    conn: &mut AnyConnection,
    user_id: i64,
    outcome: &str,
    since: i64,
) -> Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT COUNT(*) FROM sms_inbound WHERE user_id = $1 AND outcome = $2 AND received_at > $3",
    )
    .bind(user_id)
    .bind(outcome)
    .bind(since)
    .fetch_one(conn)
    .await?)
}

pub async fn finish_inbound(
    conn: &mut AnyConnection,
    id: i64,
    user_id: Option<i64>,
    alert_id: Option<&str>,
    outcome: &str,
) -> Result<()> {
    sqlx::query("UPDATE sms_inbound SET user_id = $2, alert_id = $3, outcome = $4 WHERE id = $1")
        .bind(id)
        .bind(user_id)
        .bind(alert_id)
        .bind(outcome)
        .execute(conn)
        .await?;
    Ok(())
}

/// Candidates for an alert SMS: `(alert id, user id)` of officers with a
/// verified phone at posts facing an open, unacknowledged severe or
/// extreme alert, where the post has been dark since before `dark_before`
/// or the alert was raised before `unacked_before`.
pub async fn alert_candidates(
    conn: &mut AnyConnection,
    dark_before: i64,
    unacked_before: i64,
) -> Result<Vec<(String, i64)>> {
    let rows = sqlx::query(
        "SELECT a.id AS alert_id, u.id AS user_id FROM alerts a \
         JOIN posts p ON p.corridor = a.corridor AND p.country <> a.country \
         JOIN users u ON u.post = p.slug AND u.role = 'officer' AND u.disabled = 0 \
         JOIN sms_phones s ON s.user_id = u.id AND s.verified_at IS NOT NULL \
         WHERE a.state = 'open' AND a.ack_count = 0 AND a.status <> 'test' \
         AND a.severity IN ('severe', 'extreme') \
         AND (COALESCE(p.last_seen_at, p.created_at) < $1 OR a.raised_at < $2) \
         AND NOT EXISTS (SELECT 1 FROM sms_outbox o WHERE o.dedup_key = 'alert:' || a.id || ':raised:' || u.id) \
         ORDER BY a.raised_at",
    )
    .bind(dark_before)
    .bind(unacked_before)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get("alert_id")?, r.try_get("user_id")?)))
        .collect()
}

/// Candidates for an escalation SMS: `(alert id, level, user id)` of
/// coordinators with a verified phone, for open unacknowledged escalated
/// alerts.
pub async fn escalation_candidates(conn: &mut AnyConnection) -> Result<Vec<(String, i64, i64)>> {
    let rows = sqlx::query(
        "SELECT a.id AS alert_id, a.escalation_level AS level, u.id AS user_id FROM alerts a \
         JOIN users u ON u.role = 'coordinator' AND u.disabled = 0 \
         JOIN sms_phones s ON s.user_id = u.id AND s.verified_at IS NOT NULL \
         WHERE a.state = 'open' AND a.ack_count = 0 AND a.status <> 'test' \
         AND a.escalation_level > 0 \
         AND NOT EXISTS (SELECT 1 FROM sms_outbox o \
             WHERE o.dedup_key = 'alert:' || a.id || ':esc' || a.escalation_level || ':' || u.id) \
         ORDER BY a.raised_at",
    )
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|r| {
            Ok((
                r.try_get("alert_id")?,
                r.try_get("level")?,
                r.try_get("user_id")?,
            ))
        })
        .collect()
}
