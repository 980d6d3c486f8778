//! Leases on background jobs (table `jobs`): work that one node at a time
//! must do (retention, the SMS sender) takes the job's lease first.

use super::Result;
use sqlx::AnyConnection;

/// Takes (or renews) the lease of job `name` for `holder` until `until_ms`
/// when it is free (expired) or already `holder`'s. Returns whether it did.
pub async fn take_lease(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
    now_ms: i64,
    until_ms: i64,
) -> Result<bool> {
    let taken = sqlx::query(
        "INSERT INTO jobs (name, holder, lease_until, watermark) VALUES ($1, $2, $3, 0) \
         ON CONFLICT (name) DO UPDATE SET holder = $2, lease_until = $3 \
         WHERE jobs.lease_until <= $4 OR jobs.holder = $2",
    )
    .bind(name)
    .bind(holder)
    .bind(until_ms)
    .bind(now_ms)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(taken == 1)
}

/// Ends `holder`'s lease of `name` at `until_ms` (the next run's time).
pub async fn hold_until(
    conn: &mut AnyConnection,
    name: &str,
    holder: &str,
    until_ms: i64,
    now_ms: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE jobs SET lease_until = $1, last_run_at = $2 WHERE name = $3 AND holder = $4",
    )
    .bind(until_ms)
    .bind(now_ms)
    .bind(name)
    .bind(holder)
    .execute(conn)
    .await?;
    Ok(())
}
