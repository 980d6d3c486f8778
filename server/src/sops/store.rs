//! SOP rows in the database: the procedures, their versions and the
//! acknowledgements. Functions take a connection so that write steps run
//! them inside their own [`crate::store::WriteTx`] (serialised with every
//! other writer) and reads on a pooled reader.

use crate::store::{format_ms, Result, StoreError};
use mpaka_protocol::{Author, Lang, SopOwner, SopState, SopVersion};
use sqlx::{AnyConnection, Row};
use std::collections::BTreeMap;

/// An SOP as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct SopRow {
    pub slug: String,
    pub owner: SopOwner,
    pub state: SopState,
    pub current_version: Option<u32>,
    pub latest_draft: Option<u32>,
    pub created_by: Author,
    pub updated_at: i64,
}

/// One version as stored, with the author's id for access to their account.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRow {
    pub version: SopVersion,
    pub author_id: Option<i64>,
}

pub fn owner_str(owner: SopOwner) -> &'static str {
    match owner {
        SopOwner::Burundi => "BI",
        SopOwner::Tanzania => "TZ",
        SopOwner::Joint => "joint",
    }
}

fn parse_owner(s: &str) -> Result<SopOwner> {
    match s {
        "BI" => Ok(SopOwner::Burundi),
        "TZ" => Ok(SopOwner::Tanzania),
        "joint" => Ok(SopOwner::Joint),
        other => Err(StoreError::corrupt(format!("SOP owner {other}"))),
    }
}

pub fn state_str(state: SopState) -> &'static str {
    match state {
        SopState::Draft => "draft",
        SopState::Published => "published",
        SopState::Superseded => "superseded",
        SopState::Retired => "retired",
    }
}

fn parse_state(s: &str) -> Result<SopState> {
    match s {
        "draft" => Ok(SopState::Draft),
        "published" => Ok(SopState::Published),
        "superseded" => Ok(SopState::Superseded),
        "retired" => Ok(SopState::Retired),
        other => Err(StoreError::corrupt(format!("SOP state {other}"))),
    }
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(StoreError::corrupt)
}

fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(StoreError::corrupt)
}

fn version_number(n: Option<i64>) -> Result<Option<u32>> {
    n.map(|n| u32::try_from(n).map_err(StoreError::corrupt))
        .transpose()
}

const SOP_COLUMNS: &str =
    "slug, owner, state, current_version, latest_draft, created_by, updated_at";

fn decode_sop(row: &sqlx::any::AnyRow) -> Result<SopRow> {
    let owner: String = row.try_get("owner")?;
    let state: String = row.try_get("state")?;
    let created_by: String = row.try_get("created_by")?;
    Ok(SopRow {
        slug: row.try_get("slug")?,
        owner: parse_owner(&owner)?,
        state: parse_state(&state)?,
        current_version: version_number(row.try_get("current_version")?)?,
        latest_draft: version_number(row.try_get("latest_draft")?)?,
        created_by: from_json(&created_by)?,
        updated_at: row.try_get("updated_at")?,
    })
}

const VERSION_COLUMNS: &str = "v.slug, v.version, s.owner, v.state, v.titles, v.bodies, \
     v.change_summary, v.effective_date, v.audience, v.author_id, v.author, v.published_at";

fn decode_version(row: &sqlx::any::AnyRow) -> Result<VersionRow> {
    let owner: String = row.try_get("owner")?;
    let state: String = row.try_get("state")?;
    let titles: String = row.try_get("titles")?;
    let bodies: String = row.try_get("bodies")?;
    let audience: String = row.try_get("audience")?;
    let author: String = row.try_get("author")?;
    let published_at: Option<i64> = row.try_get("published_at")?;
    let version: i64 = row.try_get("version")?;
    Ok(VersionRow {
        version: SopVersion {
            slug: row.try_get("slug")?,
            version: u32::try_from(version).map_err(StoreError::corrupt)?,
            owner: parse_owner(&owner)?,
            titles: from_json(&titles)?,
            bodies: from_json(&bodies)?,
            change_summary: row.try_get("change_summary")?,
            effective_date: row.try_get("effective_date")?,
            audience: from_json(&audience)?,
            author: from_json(&author)?,
            published_at: published_at.map(format_ms),
            state: parse_state(&state)?,
        },
        author_id: row.try_get("author_id")?,
    })
}

/// One SOP by slug.
pub async fn sop(conn: &mut AnyConnection, slug: &str) -> Result<Option<SopRow>> {
    let row = sqlx::query(&format!("SELECT {SOP_COLUMNS} FROM sops WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(conn)
        .await?;
    row.as_ref().map(decode_sop).transpose()
}

/// Every SOP, by slug.
pub async fn sops(conn: &mut AnyConnection) -> Result<Vec<SopRow>> {
    let rows = sqlx::query(&format!("SELECT {SOP_COLUMNS} FROM sops ORDER BY slug"))
        .fetch_all(conn)
        .await?;
    rows.iter().map(decode_sop).collect()
}

/// One version of an SOP.
pub async fn version(
    conn: &mut AnyConnection,
    slug: &str,
    version: u32,
) -> Result<Option<VersionRow>> {
    let row = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM sop_versions v JOIN sops s ON s.slug = v.slug \
         WHERE v.slug = $1 AND v.version = $2"
    ))
    .bind(slug)
    .bind(i64::from(version))
    .fetch_optional(conn)
    .await?;
    row.as_ref().map(decode_version).transpose()
}

/// Every version of an SOP, newest first.
pub async fn versions(conn: &mut AnyConnection, slug: &str) -> Result<Vec<VersionRow>> {
    let rows = sqlx::query(&format!(
        "SELECT {VERSION_COLUMNS} FROM sop_versions v JOIN sops s ON s.slug = v.slug \
         WHERE v.slug = $1 ORDER BY v.version DESC"
    ))
    .bind(slug)
    .fetch_all(conn)
    .await?;
    rows.iter().map(decode_version).collect()
}

/// The highest version number of an SOP (0 when it has none).
pub async fn max_version(conn: &mut AnyConnection, slug: &str) -> Result<u32> {
    let max: Option<i64> =
        sqlx::query_scalar("SELECT MAX(version) FROM sop_versions WHERE slug = $1")
            .bind(slug)
            .fetch_one(conn)
            .await?;
    Ok(version_number(max)?.unwrap_or(0))
}

/// Creates an SOP row in the `draft` state.
pub async fn insert_sop(
    conn: &mut AnyConnection,
    slug: &str,
    owner: SopOwner,
    created_by: &Author,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO sops (slug, owner, state, created_by, created_at, updated_at) \
         VALUES ($1, $2, 'draft', $3, $4, $4)",
    )
    .bind(slug)
    .bind(owner_str(owner))
    .bind(json(created_by)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets an SOP's state and version pointers.
pub async fn update_sop(
    conn: &mut AnyConnection,
    slug: &str,
    state: SopState,
    current_version: Option<u32>,
    latest_draft: Option<u32>,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE sops SET state = $1, current_version = $2, latest_draft = $3, updated_at = $4 \
         WHERE slug = $5",
    )
    .bind(state_str(state))
    .bind(current_version.map(i64::from))
    .bind(latest_draft.map(i64::from))
    .bind(now)
    .bind(slug)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records why and when an SOP was retired.
pub async fn mark_retired(
    conn: &mut AnyConnection,
    slug: &str,
    reason: &str,
    now: i64,
) -> Result<()> {
    sqlx::query("UPDATE sops SET retired_reason = $1, retired_at = $2 WHERE slug = $3")
        .bind(reason)
        .bind(now)
        .bind(slug)
        .execute(conn)
        .await?;
    Ok(())
}

/// Writes a draft version: inserts it, or replaces the pending draft with
/// the same number.
pub async fn save_draft(
    conn: &mut AnyConnection,
    draft: &SopVersion,
    author_id: i64,
    now: i64,
) -> Result<()> {
    sqlx::query("DELETE FROM sop_versions WHERE slug = $1 AND version = $2 AND state = 'draft'")
        .bind(&draft.slug)
        .bind(i64::from(draft.version))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "INSERT INTO sop_versions (slug, version, state, titles, bodies, change_summary, \
         effective_date, audience, author_id, author, updated_at) \
         VALUES ($1, $2, 'draft', $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(&draft.slug)
    .bind(i64::from(draft.version))
    .bind(json(&draft.titles)?)
    .bind(json(&draft.bodies)?)
    .bind(&draft.change_summary)
    .bind(&draft.effective_date)
    .bind(json(&draft.audience)?)
    .bind(author_id)
    .bind(json(&draft.author)?)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// Changes a version's state; `published_at` is set when given.
pub async fn set_version_state(
    conn: &mut AnyConnection,
    slug: &str,
    version: u32,
    state: SopState,
    published_at: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE sop_versions SET state = $1, published_at = COALESCE($2, published_at) \
         WHERE slug = $3 AND version = $4",
    )
    .bind(state_str(state))
    .bind(published_at)
    .bind(slug)
    .bind(i64::from(version))
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an acknowledgement unless the user already gave one; returns
/// the time of the acknowledgement that stands (the first one).
pub async fn acknowledge(
    conn: &mut AnyConnection,
    slug: &str,
    version: u32,
    user_id: i64,
    now: i64,
) -> Result<(i64, bool)> {
    let done = sqlx::query(
        "INSERT INTO sop_acks (slug, version, user_id, at) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (slug, version, user_id) DO NOTHING",
    )
    .bind(slug)
    .bind(i64::from(version))
    .bind(user_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 1 {
        return Ok((now, true));
    }
    let at = ack_of(conn, slug, version, user_id)
        .await?
        .ok_or_else(|| StoreError::corrupt("acknowledgement vanished"))?;
    Ok((at, false))
}

/// When `user_id` acknowledged a version, if they did.
pub async fn ack_of(
    conn: &mut AnyConnection,
    slug: &str,
    version: u32,
    user_id: i64,
) -> Result<Option<i64>> {
    Ok(sqlx::query_scalar(
        "SELECT at FROM sop_acks WHERE slug = $1 AND version = $2 AND user_id = $3",
    )
    .bind(slug)
    .bind(i64::from(version))
    .bind(user_id)
    .fetch_optional(conn)
    .await?)
}

/// Every acknowledgement of a version: user id → time.
pub async fn acks(
    conn: &mut AnyConnection,
    slug: &str,
    version: u32,
) -> Result<BTreeMap<i64, i64>> {
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT user_id, at FROM sop_acks WHERE slug = $1 AND version = $2")
            .bind(slug)
            .bind(i64::from(version))
            .fetch_all(conn)
            .await?;
    Ok(rows.into_iter().collect())
}

/// The languages of a version in listing order.
pub fn languages(version: &SopVersion) -> Vec<Lang> {
    version.bodies.keys().copied().collect()
}
