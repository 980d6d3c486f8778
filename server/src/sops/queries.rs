//! The read side of the SOP library: the list, one SOP's history, one
//! version in a reader's language (optionally rendered), coverage and
//! diffs. Whatever a user may not see answers `not_found`, so the existence
//! of another country's SOP or of a draft is not revealed.

use super::policy::{self, in_audience, may_draft, may_read};
use super::store::{self as sql, SopRow, VersionRow};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{format_ms, Directory};
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    Lang, Sop, SopAudience, SopCoverage, SopDiff, SopFormat, SopHistory, SopOwner, SopReader,
    SopReading, SopState, SopVersion, SopVersionInfo,
};
use sqlx::AnyConnection;
use std::collections::BTreeMap;

/// Whether `who` may know this SOP exists.
pub fn sop_visible(who: &Principal, row: &SopRow, directory: &Directory) -> bool {
    may_draft(who, row.owner)
        || (row.state != SopState::Draft && may_read(who, row.owner, directory))
}

/// Whether `who` may read a version in `state` of an SOP of `owner`.
pub fn version_visible(
    who: &Principal,
    owner: SopOwner,
    state: SopState,
    directory: &Directory,
) -> bool {
    match state {
        SopState::Draft => may_draft(who, owner),
        _ => may_read(who, owner, directory),
    }
}

pub(crate) fn no_such_sop(slug: &str) -> AppError {
    AppError::not_found(format!("no SOP {slug}"))
}

pub(crate) fn no_such_version(slug: &str, version: u32) -> AppError {
    AppError::not_found(format!("no version {version} of SOP {slug}"))
}

/// The SOP as `who` may see it: drafts only for the owners' coordinators,
/// the creator's identity not for observers.
pub async fn sop_view(conn: &mut AnyConnection, who: &Principal, row: &SopRow) -> AppResult<Sop> {
    let show_drafts = may_draft(who, row.owner);
    let titled = row
        .current_version
        .or(if show_drafts { row.latest_draft } else { None });
    let titles = match titled {
        Some(n) => sql::version(conn, &row.slug, n)
            .await?
            .map(|v| v.version.titles)
            .unwrap_or_default(),
        None => BTreeMap::new(),
    };
    Ok(Sop {
        slug: row.slug.clone(),
        owner: row.owner,
        titles,
        state: row.state,
        current_version: row.current_version,
        latest_draft: if show_drafts { row.latest_draft } else { None },
        created_by: if who.sees_redacted() {
            row.created_by.redacted()
        } else {
            row.created_by.clone()
        },
        updated_at: format_ms(row.updated_at),
    })
}

/// Every SOP `who` may see, by slug.
///
/// # Errors
/// `forbidden` for admins and auditors; storage failures.
pub async fn list(state: &AppState, who: &Principal) -> AppResult<Vec<Sop>> {
    policy::require_reader(who)?;
    let directory = state.hub.directory();
    let mut conn = state.store.reader().await?;
    let mut out = Vec::new();
    for row in sql::sops(&mut conn).await? {
        if sop_visible(who, &row, &directory) {
            out.push(sop_view(&mut conn, who, &row).await?);
        }
    }
    Ok(out)
}

/// An SOP visible to `who`, or `not_found`.
async fn visible_sop(
    conn: &mut AnyConnection,
    who: &Principal,
    slug: &str,
    directory: &Directory,
) -> AppResult<SopRow> {
    policy::require_reader(who)?;
    sql::sop(conn, slug)
        .await?
        .filter(|row| sop_visible(who, row, directory))
        .ok_or_else(|| no_such_sop(slug))
}

/// A version of `row` visible to `who`, or `not_found`.
async fn visible_version(
    conn: &mut AnyConnection,
    who: &Principal,
    row: &SopRow,
    version: u32,
    directory: &Directory,
) -> AppResult<VersionRow> {
    sql::version(conn, &row.slug, version)
        .await?
        .filter(|v| version_visible(who, row.owner, v.version.state, directory))
        .ok_or_else(|| no_such_version(&row.slug, version))
}

fn redact(version: SopVersion, who: &Principal) -> SopVersion {
    if who.sees_redacted() {
        version.redacted()
    } else {
        version
    }
}

/// An SOP and the versions of it `who` may see, newest first.
///
/// # Errors
/// `not_found`, `forbidden` for admins and auditors, storage failures.
pub async fn history(state: &AppState, who: &Principal, slug: &str) -> AppResult<SopHistory> {
    let directory = state.hub.directory();
    let mut conn = state.store.reader().await?;
    let row = visible_sop(&mut conn, who, slug, &directory).await?;
    let sop = sop_view(&mut conn, who, &row).await?;
    let versions = sql::versions(&mut conn, slug)
        .await?
        .into_iter()
        .filter(|v| version_visible(who, row.owner, v.version.state, &directory))
        .map(|v| {
            let v = redact(v.version, who);
            SopVersionInfo {
                version: v.version,
                state: v.state,
                titles: v.titles,
                change_summary: v.change_summary,
                effective_date: v.effective_date,
                audience: v.audience,
                author: v.author,
                published_at: v.published_at,
            }
        })
        .collect();
    Ok(SopHistory { sop, versions })
}

/// Checks a client-given language tag: a BCP 47-like `fr`, `fr-BI`.
fn check_lang_tag(lang: &str) -> AppResult<()> {
    let valid = (2..=35).contains(&lang.len())
        && lang
            .split('-')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric()));
    if valid {
        Ok(())
    } else {
        Err(AppError::coded(
            "lang",
            FieldCode::NotALanguage,
            "must be a language tag such as fr, en, sw or rn",
        ))
    }
}

/// The language to serve among `available`: the one `asked` for, else the
/// reader's account language, else the configured fallback order (as
/// docs/sops.md says).
pub fn choose_lang(
    state: &AppState,
    asked: Option<&str>,
    account: &str,
    available: &[Lang],
) -> Option<Lang> {
    let preferred: Vec<&str> = asked.into_iter().chain([account]).collect();
    let available: Vec<&str> = available.iter().map(|l| l.as_str()).collect();
    let fallback: Vec<&str> = state
        .settings
        .sops
        .fallback_languages
        .iter()
        .map(|l| l.as_str())
        .collect();
    super::pick_language(&available, &preferred, &fallback).and_then(|l| l.parse().ok())
}

/// The version to read when none is named: the one in force (or last in
/// force, once retired), else the pending draft for those who may see it.
fn default_version(who: &Principal, row: &SopRow) -> Option<u32> {
    row.current_version
        .or_else(|| row.latest_draft.filter(|_| may_draft(who, row.owner)))
}

/// One version in one language, for reading.
///
/// # Errors
/// `not_found`, `validation_failed` for a malformed `lang`, `forbidden` for
/// admins and auditors, storage failures.
pub async fn reading(
    state: &AppState,
    who: &Principal,
    slug: &str,
    version: Option<u32>,
    lang: Option<&str>,
    format: SopFormat,
) -> AppResult<SopReading> {
    if let Some(lang) = lang {
        check_lang_tag(lang)?;
    }
    let directory = state.hub.directory();
    let mut conn = state.store.reader().await?;
    let row = visible_sop(&mut conn, who, slug, &directory).await?;
    let number = version
        .or_else(|| default_version(who, &row))
        .ok_or_else(|| no_such_sop(slug))?;
    let v = visible_version(&mut conn, who, &row, number, &directory)
        .await?
        .version;
    let languages: Vec<Lang> = v.bodies.keys().copied().collect();
    let chosen = choose_lang(state, lang, &who.language, &languages)
        .ok_or_else(|| anyhow::anyhow!("SOP {slug}@{number} has no body"))?;
    let acknowledged_at = sql::ack_of(&mut conn, slug, number, who.user_id)
        .await?
        .map(format_ms);
    let in_audience =
        v.state != SopState::Draft && in_audience(who, row.owner, &v.audience, &directory);
    let v = redact(v, who);
    let body = v.bodies.get(&chosen).cloned().unwrap_or_default();
    Ok(SopReading {
        slug: v.slug,
        version: v.version,
        owner: v.owner,
        state: v.state,
        lang: chosen,
        languages,
        title: v.titles.get(&chosen).cloned().unwrap_or_default(),
        html: (format == SopFormat::Html).then(|| super::render_markdown_html(&body)),
        body,
        change_summary: v.change_summary,
        effective_date: v.effective_date,
        audience: v.audience,
        author: v.author,
        published_at: v.published_at,
        in_audience,
        acknowledged_at,
    })
}

/// An audience member with the language they read in.
pub struct Member {
    pub reader: SopReader,
    pub language: String,
}

/// Every active user a version of an SOP of `owner` with `audience`
/// addresses, with their acknowledgement time from `acks`.
///
/// # Errors
/// Storage failures.
pub async fn members(
    state: &AppState,
    owner: SopOwner,
    audience: &SopAudience,
    acks: &BTreeMap<i64, i64>,
) -> AppResult<Vec<Member>> {
    let directory = state.hub.directory();
    Ok(state
        .store
        .users()
        .await?
        .into_iter()
        .filter(|user| !user.disabled)
        .filter_map(|user| {
            let who = Principal::new(&user, &directory);
            in_audience(&who, owner, audience, &directory).then(|| Member {
                reader: SopReader {
                    user_id: user.id,
                    display_name: user.display_name.clone(),
                    role: user.role,
                    country: user.country,
                    post: user.post.clone(),
                    acknowledged_at: acks.get(&user.id).copied().map(format_ms),
                },
                language: user.language,
            })
        })
        .collect())
}

/// Who in a version's audience has acknowledged it (default: the version
/// in force). For the owners' coordinators.
///
/// # Errors
/// `forbidden`, `not_found`, `invalid_state` for a draft, storage failures.
pub async fn coverage(
    state: &AppState,
    who: &Principal,
    slug: &str,
    version: Option<u32>,
) -> AppResult<SopCoverage> {
    // A coordination step, like the writes: anyone but the owners'
    // coordinators is refused, whether or not they may read the SOP.
    policy::require_coordinator(who)?;
    let directory = state.hub.directory();
    let mut conn = state.store.reader().await?;
    let row = sql::sop(&mut conn, slug)
        .await?
        .ok_or_else(|| no_such_sop(slug))?;
    policy::require_owner_coordinator(who, row.owner)?;
    let number = version.or(row.current_version).ok_or_else(|| {
        AppError::new(
            mpaka_protocol::ErrorCode::InvalidState,
            format!("SOP {slug} has never been published"),
        )
    })?;
    let v = visible_version(&mut conn, who, &row, number, &directory)
        .await?
        .version;
    if v.state == SopState::Draft {
        return Err(AppError::new(
            mpaka_protocol::ErrorCode::InvalidState,
            format!("version {number} is a draft: nobody has been asked to read it"),
        ));
    }
    let acks = sql::acks(&mut conn, slug, number).await?;
    drop(conn);
    let readers: Vec<SopReader> = members(state, row.owner, &v.audience, &acks)
        .await?
        .into_iter()
        .map(|m| m.reader)
        .collect();
    Ok(super::coverage(slug, number, &readers))
}

/// The line diff of two versions' bodies in one language. A language one
/// of the versions lacks counts as an empty body there.
///
/// # Errors
/// `not_found`, `validation_failed` for a malformed `lang`, storage failures.
pub async fn diff(
    state: &AppState,
    who: &Principal,
    slug: &str,
    from: u32,
    to: u32,
    lang: Option<&str>,
) -> AppResult<SopDiff> {
    if let Some(lang) = lang {
        check_lang_tag(lang)?;
    }
    let directory = state.hub.directory();
    let mut conn = state.store.reader().await?;
    let row = visible_sop(&mut conn, who, slug, &directory).await?;
    let old = visible_version(&mut conn, who, &row, from, &directory)
        .await?
        .version;
    let new = visible_version(&mut conn, who, &row, to, &directory)
        .await?
        .version;
    let mut languages: Vec<Lang> = new
        .bodies
        .keys()
        .chain(old.bodies.keys())
        .copied()
        .collect();
    languages.sort();
    languages.dedup();
    let chosen = choose_lang(state, lang, &who.language, &languages)
        .ok_or_else(|| anyhow::anyhow!("SOP {slug} versions have no body"))?;
    let text = |v: &SopVersion| v.bodies.get(&chosen).cloned().unwrap_or_default();
    Ok(SopDiff {
        slug: slug.to_owned(),
        from,
        to,
        lang: chosen,
        lines: super::line_diff(&text(&old), &text(&new)),
    })
}
