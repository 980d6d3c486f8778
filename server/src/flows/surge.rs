//! Surge detection inside a flow step's transaction: after a report is
//! recorded or corrected, the detector tests its day for each direction
//! the report counts, and a surge not yet suggested becomes a
//! `flow.surge_suggested` event on the post's channel with an alert draft
//! pre-filled from the day's figures.

use super::detector::{self, Setting, Verdict};
use super::store::{self as sql, Visible, DAY_MS};
use crate::error::AppResult;
use crate::store::{format_ms, AuditEntry, NewEvent, WriteTx};
use mpaka_protocol::{
    AlertDraft, AlertKind, AlertStatus, Certainty, ChannelId, Country, Direction, EventData,
    FlowDirection, FlowReport, FlowSurge, FlowSurgeState, Headcount, LocalizedText, Urgency,
    VulnerableGroups,
};
use serde_json::json;

/// Only days this recent are tested: figures typed in weeks later (paper
/// tallies after an outage) fill the history without raising old alarms.
pub const RECENT_DAYS: i64 = 2;

/// The detector setting for a post: its own threshold, else its
/// corridor's, else the default.
pub async fn setting_for(tx: &mut WriteTx, post: &str, corridor: &str) -> AppResult<Setting> {
    let mut setting = detector::DEFAULT;
    if let Some(t) = sql::threshold(tx.conn(), &format!("post:{post}")).await? {
        setting.threshold = t;
    } else if let Some(t) = sql::threshold(tx.conn(), &format!("corridor:{corridor}")).await? {
        setting.threshold = t;
    }
    Ok(setting)
}

/// The UTC date of day number `day`.
pub fn day_name(day: i64) -> String {
    format_ms(day * DAY_MS).chars().take(10).collect()
}

/// Tests the report's day and suggests the surges it reveals.
///
/// # Errors
/// Storage failures.
pub async fn detect(
    tx: &mut WriteTx,
    report: &FlowReport,
    start_ms: i64,
    now: i64,
) -> AppResult<Vec<FlowSurge>> {
    let day = start_ms.div_euclid(DAY_MS);
    if day < now.div_euclid(DAY_MS) - RECENT_DAYS {
        return Ok(Vec::new());
    }
    let setting = setting_for(tx, &report.post, &report.corridor).await?;
    let mut found = Vec::new();
    for &direction in FlowDirection::ALL {
        if !report.lines.iter().any(|l| l.direction == direction) {
            continue;
        }
        let first = day - 7 * i64::from(setting.weeks) - 10;
        let days = sql::daily(tx.conn(), &report.post, direction.as_str(), first, day).await?;
        #[allow(clippy::cast_precision_loss)]
        let observed = days.get(&day).copied().unwrap_or(0) as f64;
        #[allow(clippy::cast_precision_loss)]
        let verdict =
            detector::test_day(&setting, day, observed, |d| days.get(&d).map(|n| *n as f64));
        let Some(verdict) = verdict.filter(|v| v.surge) else {
            continue;
        };
        let name = day_name(day);
        if sql::surge_on(tx.conn(), &report.post, &name, direction.as_str())
            .await?
            .is_some()
        {
            continue;
        }
        let surge = suggest(tx, report, day, direction, &verdict, &setting, now).await?;
        found.push(surge);
    }
    Ok(found)
}

#[allow(clippy::too_many_arguments)]
async fn suggest(
    tx: &mut WriteTx,
    report: &FlowReport,
    day: i64,
    direction: FlowDirection,
    verdict: &Verdict,
    setting: &Setting,
    now: i64,
) -> AppResult<FlowSurge> {
    let visible = Visible {
        full: vec![report.post.clone()],
        joint: Vec::new(),
    };
    let sums = sql::sums(
        tx.conn(),
        &visible,
        day * DAY_MS,
        (day + 1) * DAY_MS,
        DAY_MS,
        0,
        "",
    )
    .await?;
    let mut vulnerable = [0u64; 5];
    for s in sums.iter().filter(|s| s.direction == direction.as_str()) {
        for (total, n) in vulnerable.iter_mut().zip(s.vulnerable) {
            *total += n;
        }
    }
    let count = |n: u64| (n > 0).then(|| i64::try_from(n).unwrap_or(i64::MAX));
    let into = match direction {
        FlowDirection::In => report.country,
        FlowDirection::Out => report.country.other(),
    };
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let observed = verdict.observed.max(0.0) as u64;
    let name = day_name(day);
    let reports = sql::report_ids_on(tx.conn(), &report.post, day).await?;
    let draft = AlertDraft {
        written_at: None,
        post: Some(report.post.clone()),
        kind: match direction {
            FlowDirection::In => AlertKind::MassArrival,
            FlowDirection::Out => AlertKind::MassDeparture,
        },
        direction: match into {
            Country::BI => Direction::IntoBurundi,
            Country::TZ => Direction::IntoTanzania,
        },
        headcount: Headcount::Single(i64::try_from(observed).unwrap_or(i64::MAX)),
        vulnerable: VulnerableGroups {
            unaccompanied_or_separated_children: count(vulnerable[0]),
            pregnant_or_lactating_women: count(vulnerable[1]),
            elderly: count(vulnerable[2]),
            injured_or_sick: count(vulnerable[3]),
            persons_with_disabilities: count(vulnerable[4]),
        },
        needs: Vec::new(),
        severity: verdict.severity(setting.threshold),
        urgency: Urgency::Expected,
        certainty: Certainty::Likely,
        location: None,
        text: Some(LocalizedText {
            text: format!(
                "Flow figures for {name}: {observed} movements {direction} against about {:.0} expected \
                 (score {:.1}, threshold {:.1}). Suggested by the hub's surge detector from {} report(s).",
                verdict.expected,
                verdict.score,
                setting.threshold,
                reports.len()
            ),
            lang: "en".into(),
        }),
        status: AlertStatus::Actual,
    };
    let surge = FlowSurge {
        id: uuid::Uuid::now_v7().simple().to_string(),
        post: report.post.clone(),
        corridor: report.corridor.clone(),
        day: name,
        direction,
        observed,
        expected: (verdict.expected * 10.0).round() / 10.0,
        score: (verdict.score * 100.0).round() / 100.0,
        threshold: setting.threshold,
        draft,
        reports,
        state: FlowSurgeState::Suggested,
        found_at: format_ms(now),
        alert_id: None,
        closed_by: None,
        reason: None,
    };
    sql::insert_surge(tx.conn(), &surge, now).await?;
    let data = EventData::FlowSurgeSuggested(Box::new(surge.clone()));
    let kind = data.kind();
    tx.append(NewEvent {
        channel: ChannelId::Post(surge.post.clone()),
        author_id: None,
        author: None,
        audience: None,
        data,
    })
    .await?;
    tx.audit(AuditEntry::new(
        None,
        kind,
        format!("flow-surge:{}", surge.id),
        json!({
            "post": surge.post, "day": surge.day, "direction": surge.direction,
            "observed": surge.observed, "expected": surge.expected, "score": surge.score,
        }),
    ))
    .await?;
    Ok(surge)
}
