//! Writing alerts as CAP 1.2 documents and open alerts as an Atom feed.
//! The mapping is described in the parent module.

use super::xml::is_xml_char;
use super::{
    category, certainty_to_cap, event_name, param, severity_to_cap, status_to_cap, urgency_to_cap,
    CAP_NAMESPACE,
};
use mpaka_protocol::{Alert, AlertKind, AlertState, AlertStatus, Direction};
use quick_xml::escape::escape;
use std::fmt::Write;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Who may see mpaka alerts exported as CAP (`restriction`).
const RESTRICTION: &str = "Border, migration and humanitarian coordination staff of Burundi \
     and Tanzania and their authorised partners only. Do not publish.";

/// Writes `alert` as a CAP 1.2 alert message from `sender` (e.g.
/// `mpaka@migration.gov.bi`; spaces, commas, `<` and `&`, which CAP forbids
/// there, are replaced by `_`). The document validates against
/// `server/cap/CAP-v1.2.xsd`.
///
/// Timestamps are the hub's own RFC 3339 strings; one that cannot be read
/// (which the hub never writes) is exported as the Unix epoch and logged.
pub fn to_cap(alert: &Alert, sender: &str) -> String {
    let sender = cap_token(sender);
    let mut x = Xml::default();
    x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.raw(&format!("<alert xmlns=\"{CAP_NAMESPACE}\">\n"));
    x.el(1, "identifier", &identifier(alert, alert.version));
    x.el(1, "sender", &sender);
    x.el(1, "sent", &cap_datetime(&alert.updated_at));
    x.el(1, "status", &status_to_cap(alert.status));
    let msg_type = match (alert.state, alert.version) {
        (AlertState::Cancelled, _) => "Cancel",
        (_, 0 | 1) => "Alert",
        _ => "Update",
    };
    x.el(1, "msgType", msg_type);
    x.el(1, "source", &format!("mpaka post {}", alert.post));
    x.el(1, "scope", "Restricted");
    x.el(1, "restriction", RESTRICTION);
    match alert.status {
        AlertStatus::Actual => {}
        AlertStatus::Exercise => x.el(
            1,
            "note",
            "EXERCISE - not a real event. Act only within the exercise.",
        ),
        AlertStatus::Test => x.el(1, "note", "TEST - technical test message. Ignore."),
    }
    if msg_type != "Alert" {
        let original = format!(
            "{sender},{},{}",
            identifier(alert, 1),
            cap_datetime(&alert.raised_at)
        );
        x.el(1, "references", &original);
    }
    x.el(1, "incidents", &format!("mpaka-{}", cap_token(&alert.id)));
    write_info(&mut x, alert);
    x.raw("</alert>\n");
    x.0
}

fn write_info(x: &mut Xml, alert: &Alert) {
    x.raw("  <info>\n");
    let lang = alert.text.as_ref().map_or("en", |t| t.lang.as_str());
    x.el(2, "language", lang);
    x.el(2, "category", category(alert.kind));
    x.el(2, "event", event_name(alert.kind));
    if alert.state == AlertState::Resolved {
        x.el(2, "responseType", "AllClear");
    }
    x.el(2, "urgency", &urgency_to_cap(alert.urgency));
    x.el(2, "severity", &severity_to_cap(alert.severity));
    x.el(2, "certainty", &certainty_to_cap(alert.certainty));
    x.el(
        2,
        "senderName",
        &format!("mpaka, post {} ({})", alert.post, alert.country),
    );
    x.el(2, "headline", &headline(alert));
    match &alert.text {
        Some(t) => x.el(2, "description", &t.text),
        None => x.el(2, "description", &summary(alert)),
    }
    if let Some(i) = instruction(alert) {
        x.el(2, "instruction", i);
    }
    for (name, value) in parameters(alert) {
        x.raw("    <parameter>\n");
        x.el(3, "valueName", &name);
        x.el(3, "value", &value);
        x.raw("    </parameter>\n");
    }
    x.raw("    <area>\n");
    x.el(
        3,
        "areaDesc",
        &format!("post {}, corridor {}", alert.post, alert.corridor),
    );
    if let Some(l) = alert.location {
        // A point: the officer gives no radius.
        x.el(3, "circle", &format!("{},{} 0", l.lat, l.lon));
    }
    x.raw("    </area>\n");
    x.raw("  </info>\n");
}

/// The structured fields as `(valueName, value)` pairs.
fn parameters(alert: &Alert) -> Vec<(String, String)> {
    let mut p = vec![
        (param::KIND.into(), alert.kind.to_string()),
        (param::DIRECTION.into(), alert.direction.to_string()),
        (param::HEADCOUNT.into(), alert.headcount.to_string()),
        (
            param::HEADCOUNT_BEST.into(),
            alert.headcount.best_estimate().to_string(),
        ),
    ];
    for (group, count) in alert.vulnerable.counts() {
        if let Some(n) = count {
            p.push((
                format!("{}{group}", param::VULNERABLE_PREFIX),
                n.to_string(),
            ));
        }
    }
    if !alert.needs.is_empty() {
        let needs: Vec<&str> = alert.needs.iter().map(|n| n.as_str()).collect();
        p.push((param::NEEDS.into(), needs.join(" ")));
    }
    p.extend([
        (param::POST.into(), alert.post.clone()),
        (param::CORRIDOR.into(), alert.corridor.clone()),
        (param::COUNTRY.into(), alert.country.to_string()),
        (param::STATE.into(), alert.state.to_string()),
        (param::VERSION.into(), alert.version.to_string()),
        (
            param::ACKNOWLEDGEMENTS.into(),
            alert.acknowledgements.len().to_string(),
        ),
        (
            param::ESCALATION_LEVEL.into(),
            alert.escalation_level.to_string(),
        ),
    ]);
    p
}

/// A one-line English summary, prefixed for exercises, tests and closed alerts.
fn headline(alert: &Alert) -> String {
    let prefix = match alert.status {
        AlertStatus::Actual => "",
        AlertStatus::Exercise => "EXERCISE: ",
        AlertStatus::Test => "TEST: ",
    };
    let closed = match alert.state {
        AlertState::Open => "",
        AlertState::Resolved => "Resolved: ",
        AlertState::Cancelled => "Cancelled: ",
    };
    let what = match movement_label(alert.kind) {
        Some(label) => format!(
            "{label}: about {} people {}",
            alert.headcount.best_estimate(),
            direction_words(alert.direction)
        ),
        None => event_name(alert.kind).to_string(),
    };
    format!("{prefix}{closed}{what} at post {}", alert.post)
}

/// Short headline label of the kinds that are about a number of people.
fn movement_label(kind: AlertKind) -> Option<&'static str> {
    match kind {
        AlertKind::MassArrival => Some("Mass arrival"),
        AlertKind::MassDeparture => Some("Mass departure"),
        AlertKind::UnusualFlow => Some("Unusual flow"),
        AlertKind::Other => Some("Border event"),
        _ => None,
    }
}

fn direction_words(d: Direction) -> &'static str {
    match d {
        Direction::IntoBurundi => "into Burundi",
        Direction::IntoTanzania => "into Tanzania",
    }
}

/// An English description built from the structured fields, marked for
/// exercises and tests.
fn summary(alert: &Alert) -> String {
    let mark = match alert.status {
        AlertStatus::Actual => "",
        AlertStatus::Exercise => "EXERCISE - ",
        AlertStatus::Test => "TEST - ",
    };
    let mut s = format!(
        "{mark}{}: an estimated {} people ({}) moving {} at post {} (corridor {}).",
        event_name(alert.kind),
        alert.headcount.best_estimate(),
        alert.headcount,
        direction_words(alert.direction),
        alert.post,
        alert.corridor
    );
    let groups: Vec<String> = alert
        .vulnerable
        .counts()
        .iter()
        .filter_map(|(g, n)| n.map(|n| format!("{n} {}", g.replace('_', " "))))
        .collect();
    if !groups.is_empty() {
        let _ = write!(s, " Vulnerable: {}.", groups.join(", "));
    }
    if !alert.needs.is_empty() {
        let needs: Vec<&str> = alert.needs.iter().map(|n| n.as_str()).collect();
        let _ = write!(s, " Needs: {}.", needs.join(", "));
    }
    let _ = write!(
        s,
        " State: {}, {} acknowledgement(s).",
        alert.state,
        alert.acknowledgements.len()
    );
    s
}

fn instruction(alert: &Alert) -> Option<&'static str> {
    match (alert.state, alert.kind) {
        (AlertState::Open, AlertKind::MassArrival | AlertKind::MassDeparture | AlertKind::UnusualFlow) => Some(
            "Facing post: acknowledge in mpaka and prepare reception for the people and needs listed. \
             Coordinators: mobilise partners for the needs listed.",
        ),
        (AlertState::Open, _) => Some("Acknowledge in mpaka and follow the applicable SOP."),
        (AlertState::Resolved, _) => Some("No further action needed."),
        (AlertState::Cancelled, _) => Some("This alert was raised in error. Disregard it."),
    }
}

/// Writes an Atom feed (RFC 4287) of the open alerts among `alerts`, newest
/// update first, each entry linking to `/api/v1/alerts/{id}/cap`.
/// `updated` is the feed's RFC 3339 update time.
pub fn cap_feed(alerts: &[Alert], sender: &str, updated: &str) -> String {
    let sender = cap_token(sender);
    let mut open: Vec<(Option<OffsetDateTime>, &Alert)> = alerts
        .iter()
        .filter(|a| a.is_open())
        .map(|a| (OffsetDateTime::parse(&a.updated_at, &Rfc3339).ok(), a))
        .collect();
    // Newest first by instant; unreadable times (never written by the hub) last.
    open.sort_by(|(ta, a), (tb, b)| tb.cmp(ta).then_with(|| a.id.cmp(&b.id)));
    let mut x = Xml::default();
    x.raw("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    x.raw("<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    x.el(1, "id", &format!("urn:mpaka:alerts:{}", url_part(&sender)));
    x.el(1, "title", "mpaka open border-movement alerts (CAP 1.2)");
    x.el(1, "updated", updated);
    x.raw("  <author>\n");
    x.el(2, "name", &sender);
    x.raw("  </author>\n");
    for (_, alert) in open {
        x.raw("  <entry>\n");
        x.el(2, "id", &format!("urn:mpaka:alert:{}", url_part(&alert.id)));
        x.el(2, "title", &headline(alert));
        x.el(2, "published", &alert.raised_at);
        x.el(2, "updated", &alert.updated_at);
        x.raw(&format!(
            "    <link rel=\"alternate\" type=\"application/cap+xml\" href=\"/api/v1/alerts/{}/cap\"/>\n",
            url_part(&alert.id)
        ));
        x.raw(&format!(
            "    <category term=\"{}\"/>\n",
            escape(alert.kind.as_str())
        ));
        x.raw(&format!(
            "    <category term=\"{}\"/>\n",
            escape(alert.status.as_str())
        ));
        x.el(2, "summary", &summary(alert));
        x.raw("  </entry>\n");
    }
    x.raw("</feed>\n");
    x.0
}

/// The CAP identifier of an alert at a version.
fn identifier(alert: &Alert, version: u32) -> String {
    format!("mpaka-{}-v{version}", cap_token(&alert.id))
}

/// `s` without what CAP forbids in `identifier`, `sender` and
/// `references` parts (space, comma, `<`, `&`) and without characters XML
/// cannot carry; never empty.
fn cap_token(s: &str) -> String {
    let t: String = s
        .chars()
        .filter(|c| is_xml_char(*c))
        .map(|c| {
            if c.is_whitespace() || matches!(c, ',' | '<' | '&') {
                '_'
            } else {
                c
            }
        })
        .collect();
    if t.is_empty() {
        "_".into()
    } else {
        t
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn url_part(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// An RFC 3339 time in CAP form: whole seconds, explicit offset, and UTC
/// written `-00:00` as CAP 1.2 requires.
pub(super) fn cap_datetime(rfc3339: &str) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second][offset_hour sign:mandatory]:[offset_minute]"
    );
    let parsed = OffsetDateTime::parse(rfc3339, &Rfc3339).unwrap_or_else(|e| {
        tracing::warn!(time = rfc3339, error = %e, "unreadable alert timestamp exported as the epoch");
        OffsetDateTime::UNIX_EPOCH
    });
    let mut s = parsed
        .format(&format)
        .unwrap_or_else(|_| "1970-01-01T00:00:00-00:00".into());
    if parsed.offset().is_utc() {
        s.replace_range(s.len() - 6.., "-00:00");
    }
    s
}

/// A tiny indenting XML writer; every text goes through [`Xml::el`], which escapes it.
#[derive(Default)]
struct Xml(String);

impl Xml {
    fn raw(&mut self, s: &str) {
        self.0.push_str(s);
    }

    /// `<name>text</name>` on its own line, `depth` levels in.
    fn el(&mut self, depth: usize, name: &str, text: &str) {
        let clean: String = text.chars().filter(|c| is_xml_char(*c)).collect();
        let _ = writeln!(
            self.0,
            "{:indent$}<{name}>{}</{name}>",
            "",
            escape(clean.as_str()),
            indent = depth * 2
        );
    }
}
