//! Reads of flow figures, always narrowed to what the caller may read (see
//! [`super::policy`]): series with totals and change, the monthly summary,
//! one report with its versions, report listings for exports, and surges.

use super::policy::{self, Place};
use super::store::{self as sql, Sums, Visible, DAY_MS};
use crate::access::Principal;
use crate::error::{AppError, AppResult};
use crate::state::AppState;
use crate::store::{format_ms, now_ms, Directory};
use mpaka_protocol::FieldCode;
use mpaka_protocol::{
    FlowBucket, FlowChange, FlowFigures, FlowPoint, FlowQuery, FlowReport, FlowReportHistory,
    FlowSeries, FlowSharing, FlowSummary, FlowSurge, NamedCount, VulnerableGroups,
};
use std::collections::BTreeMap;

/// Longest span of one series.
pub const MAX_SPAN_MS: i64 = 400 * DAY_MS;
/// Default span of a series.
pub const DEFAULT_SPAN_MS: i64 = 30 * DAY_MS;
/// Most reports in one listing or export.
pub const MAX_REPORTS: u32 = 100_000;
/// Monday 1970-01-05, where weeks start.
const FIRST_MONDAY_MS: i64 = 4 * DAY_MS;

/// The posts of `scope` that `who` may read, and how much of each.
///
/// # Errors
/// `validation_failed` for an unknown scope; `forbidden` when nothing in
/// it is readable.
pub fn visible(who: &Principal, directory: &Directory, scope: &str) -> AppResult<Visible> {
    let posts: Vec<&crate::store::Post> = match scope.split_once(':') {
        None if scope == "all" => directory.posts.values().collect(),
        Some(("post", slug)) => vec![directory.post(slug).ok_or_else(|| {
            AppError::coded(
                "scope",
                FieldCode::UnknownValue,
                format!("there is no post {slug}"),
            )
        })?],
        Some(("corridor", slug)) => {
            let corridor = directory.corridor(slug).ok_or_else(|| {
                AppError::coded(
                    "scope",
                    FieldCode::UnknownValue,
                    format!("there is no corridor {slug}"),
                )
            })?;
            corridor
                .posts
                .iter()
                .filter_map(|p| directory.post(p))
                .collect()
        }
        Some(("country", code)) => {
            let country: mpaka_protocol::Country = code
                .parse()
                .map_err(|e: String| AppError::coded("scope", FieldCode::UnknownValue, e))?;
            directory
                .posts
                .values()
                .filter(|p| p.country == country)
                .collect()
        }
        _ => {
            return Err(AppError::coded(
                "scope",
                FieldCode::UnknownValue,
                "must be all, post:{slug}, corridor:{slug} or country:{BI|TZ}",
            ))
        }
    };
    let mut visible = Visible::default();
    for post in posts {
        let Some(corridor) = post.corridor.as_deref() else {
            continue;
        };
        let place = Place {
            post: &post.slug,
            corridor,
            country: post.country,
        };
        let countries = directory.corridor_countries(corridor);
        if policy::may_read(who, place, FlowSharing::National, &countries) {
            visible.full.push(post.slug.clone());
        } else if policy::may_read(who, place, FlowSharing::Joint, &countries) {
            visible.joint.push(post.slug.clone());
        }
    }
    if visible.is_empty() {
        return Err(AppError::forbidden(format!(
            "you may not read flow figures of {scope}"
        )));
    }
    Ok(visible)
}

/// A checked time range `[from, to)` in Unix ms.
///
/// # Errors
/// `validation_failed` for unreadable times, an empty range or one longer
/// than [`MAX_SPAN_MS`].
pub fn range(from: Option<&str>, to: Option<&str>) -> AppResult<(i64, i64)> {
    let parse = |field: &str, text: &str| {
        super::parse_time(text).ok_or_else(|| {
            AppError::coded_with(
                field,
                FieldCode::NotADate,
                "must be an RFC 3339 time or a date such as 2026-11-30",
                &[("format", "YYYY-MM-DD".into())],
            )
        })
    };
    let to_ms = match to {
        Some(t) => parse("to", t)?,
        None => now_ms(),
    };
    let from_ms = match from {
        Some(f) => parse("from", f)?,
        None => to_ms - DEFAULT_SPAN_MS,
    };
    if to_ms <= from_ms {
        return Err(AppError::coded_with(
            "to",
            FieldCode::Mismatch,
            "must be after from",
            &[("other", "from".into())],
        ));
    }
    if to_ms - from_ms > MAX_SPAN_MS {
        return Err(AppError::coded_with(
            "from",
            FieldCode::TooLong,
            "a series covers at most 400 days",
            &[("max", 400.into()), ("unit", "days".into())],
        ));
    }
    Ok((from_ms, to_ms))
}

/// Adds one group of sums to figures.
pub fn add(figures: &mut FlowFigures, s: &Sums) {
    figures.total += s.total;
    if s.direction == "in" {
        figures.incoming += s.total;
    } else {
        figures.outgoing += s.total;
    }
    figures.men += s.men;
    figures.women += s.women;
    figures.boys += s.boys;
    figures.girls += s.girls;
    *figures
        .nationality
        .entry(s.nationality.clone())
        .or_default() += s.total;
    for (group, n) in VulnerableGroups::GROUPS.iter().zip(s.vulnerable) {
        if n > 0 {
            *figures.vulnerable.entry((*group).to_owned()).or_default() += n;
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn change(total: u64, days: f64, previous: u64, previous_days: f64) -> FlowChange {
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let daily = total as f64 / days.max(1.0 / 24.0);
    let before = previous as f64 / previous_days.max(1.0 / 24.0);
    FlowChange {
        daily_average: round(daily),
        previous_daily_average: round(before),
        percent: (previous > 0).then(|| round((daily - before) / before * 100.0)),
    }
}

/// The series, totals and change of `query`.
///
/// # Errors
/// `validation_failed` for a bad scope, time or offset; `forbidden`;
/// storage failures.
pub async fn series(state: &AppState, who: &Principal, query: FlowQuery) -> AppResult<FlowSeries> {
    let scope = query.scope.unwrap_or_else(|| "all".into());
    let directory = state.hub.directory();
    let visible = visible(who, &directory, &scope)?;
    let (from, to) = range(query.from.as_deref(), query.to.as_deref())?;
    let bucket = query.bucket.unwrap_or(FlowBucket::Day);
    let offset = query.utc_offset_minutes.unwrap_or(0);
    if !(-720..=840).contains(&offset) {
        return Err(AppError::coded_with(
            "utc_offset_minutes",
            FieldCode::OutOfRange,
            "must be between -720 and 840",
            &[("min", (-720).into()), ("max", 840.into())],
        ));
    }
    let offset_ms = i64::from(offset) * 60_000;
    let (width, anchor) = match bucket {
        FlowBucket::Hour => (3_600_000, 0),
        FlowBucket::Day => (DAY_MS, 0),
        FlowBucket::Week => (7 * DAY_MS, FIRST_MONDAY_MS),
    };
    let mut conn = state.store.reader().await?;
    let minutes = i64::from(offset);
    let shift = offset_ms - anchor;
    let rows = sql::sums_by_day(&mut conn, &visible, from, to, width, shift, "", minutes).await?;
    let span = to - from;
    let earlier = sql::sums_by_day(
        &mut conn,
        &visible,
        from - span,
        from,
        DAY_MS,
        offset_ms,
        "",
        minutes,
    )
    .await?;
    let mut points: BTreeMap<i64, FlowFigures> = BTreeMap::new();
    let mut totals = FlowFigures::default();
    for row in &rows {
        add(points.entry(row.bucket).or_default(), row);
        add(&mut totals, row);
    }
    let mut previous = FlowFigures::default();
    for row in &earlier {
        add(&mut previous, row);
    }
    #[allow(clippy::cast_precision_loss)]
    let days = span as f64 / DAY_MS as f64;
    let mut posts = visible.full.clone();
    posts.extend(visible.joint.iter().cloned());
    posts.sort();
    Ok(FlowSeries {
        scope,
        bucket,
        from: format_ms(from),
        to: format_ms(to),
        points: points
            .into_iter()
            .map(|(start, figures)| FlowPoint {
                start: format_ms(start),
                figures,
            })
            .collect(),
        change: change(totals.total, days, previous.total, days),
        totals,
        previous,
        posts,
    })
}

/// The first day of `month` (`YYYY-MM`) and of the next, in Unix ms.
///
/// # Errors
/// `validation_failed` naming `month`.
pub fn month_range(month: &str) -> AppResult<(i64, i64, i64)> {
    let bad = || {
        AppError::coded_with(
            "month",
            FieldCode::NotADate,
            "must be a month such as 2026-11",
            &[("format", "YYYY-MM".into())],
        )
    };
    let (y, m) = month.split_once('-').ok_or_else(bad)?;
    let year: i32 = y.parse().map_err(|_| bad())?;
    let m: u8 = m.parse().map_err(|_| bad())?;
    let month_of = |year: i32, m: u8| -> AppResult<i64> {
        let month = time::Month::try_from(m).map_err(|_| bad())?;
        let date = time::Date::from_calendar_date(year, month, 1).map_err(|_| bad())?;
        Ok(date.midnight().assume_utc().unix_timestamp() * 1000)
    };
    let start = month_of(year, m)?;
    let end = if m == 12 {
        month_of(year + 1, 1)?
    } else {
        month_of(year, m + 1)?
    };
    let previous = if m == 1 {
        month_of(year - 1, 12)?
    } else {
        month_of(year, m - 1)?
    };
    Ok((previous, start, end))
}

fn ranked(map: BTreeMap<String, u64>) -> Vec<NamedCount> {
    let mut list: Vec<NamedCount> = map
        .into_iter()
        .filter(|(name, _)| !name.is_empty())
        .map(|(name, count)| NamedCount { name, count })
        .collect();
    list.sort_by(|a, b| b.count.cmp(&a.count).then(a.name.cmp(&b.name)));
    list
}

/// A month in the shape of a DTM flow monitoring dashboard.
///
/// # Errors
/// `validation_failed`; `forbidden`; storage failures.
pub async fn summary(
    state: &AppState,
    who: &Principal,
    scope: Option<String>,
    month: &str,
) -> AppResult<FlowSummary> {
    let scope = scope.unwrap_or_else(|| "all".into());
    let visible = visible(who, &state.hub.directory(), &scope)?;
    let (previous_start, start, end) = month_range(month)?;
    let mut conn = state.store.reader().await?;
    let width = end - start;
    let mut figures = FlowFigures::default();
    let mut posts = BTreeMap::new();
    for row in sql::sums_by_day(&mut conn, &visible, start, end, width, -start, "post", 0).await? {
        add(&mut figures, &row);
        *posts.entry(row.key.clone()).or_default() += row.total;
    }
    let mut reasons = BTreeMap::new();
    for row in sql::sums(&mut conn, &visible, start, end, width, -start, "reason").await? {
        *reasons.entry(row.key.clone()).or_default() += row.total;
    }
    let mut transport = BTreeMap::new();
    for row in sql::sums(&mut conn, &visible, start, end, width, -start, "transport").await? {
        *transport.entry(row.key.clone()).or_default() += row.total;
    }
    let before: u64 = sql::sums_by_day(
        &mut conn,
        &visible,
        previous_start,
        start,
        start - previous_start,
        -previous_start,
        "",
        0,
    )
    .await?
    .iter()
    .map(|s| s.total)
    .sum();
    #[allow(clippy::cast_precision_loss)]
    let days = |ms: i64| (ms / DAY_MS) as f64;
    Ok(FlowSummary {
        scope,
        month: month.to_owned(),
        days: u32::try_from(width / DAY_MS).unwrap_or(0),
        change: change(
            figures.total,
            days(width),
            before,
            days(start - previous_start),
        ),
        figures,
        posts: ranked(posts),
        top_reasons: ranked(reasons).into_iter().take(5).collect(),
        transport: ranked(transport),
    })
}

/// Reports of `scope` with their period starting in `[from, to)`, oldest
/// first, as the caller may see them.
///
/// # Errors
/// As [`series`].
pub async fn reports(
    state: &AppState,
    who: &Principal,
    scope: Option<String>,
    from: Option<&str>,
    to: Option<&str>,
) -> AppResult<Vec<FlowReport>> {
    let scope = scope.unwrap_or_else(|| "all".into());
    let visible = visible(who, &state.hub.directory(), &scope)?;
    let (from, to) = range(from, to)?;
    let mut conn = state.store.reader().await?;
    let reports = sql::reports(&mut conn, &visible, from, to, MAX_REPORTS).await?;
    Ok(reports
        .into_iter()
        .map(|r| if who.sees_redacted() { r.redacted() } else { r })
        .collect())
}

/// One report with every version.
///
/// # Errors
/// `not_found` when it does not exist or `who` may not read it.
pub async fn report(state: &AppState, who: &Principal, id: &str) -> AppResult<FlowReportHistory> {
    let missing = || AppError::not_found(format!("no flow report {id}"));
    let mut conn = state.store.reader().await?;
    let (report, _) = sql::load(&mut conn, id).await?.ok_or_else(missing)?;
    let directory = state.hub.directory();
    let place = Place {
        post: &report.post,
        corridor: &report.corridor,
        country: report.country,
    };
    if !policy::may_read(
        who,
        place,
        report.sharing,
        &directory.corridor_countries(&report.corridor),
    ) {
        return Err(missing());
    }
    let mut versions = sql::versions(&mut conn, id).await?;
    if who.sees_redacted() {
        for v in &mut versions {
            v.by = v.by.redacted();
        }
        return Ok(FlowReportHistory {
            report: report.redacted(),
            versions,
        });
    }
    Ok(FlowReportHistory { report, versions })
}

/// Surges of the posts `who` may verify, newest first.
///
/// # Errors
/// `validation_failed` for an unknown state; storage failures.
pub async fn surges(
    state: &AppState,
    who: &Principal,
    surge_state: Option<&str>,
) -> AppResult<Vec<FlowSurge>> {
    if let Some(s) = surge_state {
        s.parse::<mpaka_protocol::FlowSurgeState>()
            .map_err(|e| AppError::coded("state", FieldCode::UnknownValue, e))?;
    }
    let directory = state.hub.directory();
    let posts: Vec<String> = directory
        .posts
        .values()
        .filter(|p| {
            p.corridor.as_deref().is_some_and(|corridor| {
                policy::may_verify(
                    who,
                    Place {
                        post: &p.slug,
                        corridor,
                        country: p.country,
                    },
                )
            })
        })
        .map(|p| p.slug.clone())
        .collect();
    let mut conn = state.store.reader().await?;
    Ok(sql::surges(&mut conn, &posts, surge_state, 500).await?)
}
