//! The CAP 1.2 rules a document must follow before it is imported:
//! required and unique elements, the enumerations, date-times,
//! `references` triplets, `restriction`/`addresses` by scope, circles.
//! Every problem is collected with the path of the element at fault.

use super::xml::Element;
use super::{CapReference, MsgType, CAP_NAMESPACE};
use mpaka_protocol::{FieldError, Location};

const XMLDSIG_NAMESPACE: &str = "http://www.w3.org/2000/09/xmldsig#";

const CATEGORIES: &[&str] = &[
    "Geo",
    "Met",
    "Safety",
    "Security",
    "Rescue",
    "Fire",
    "Health",
    "Env",
    "Transport",
    "Infra",
    "CBRNE",
    "Other",
];
const RESPONSE_TYPES: &[&str] = &[
    "Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor", "Assess", "AllClear", "None",
];
const STATUSES: &[&str] = &["Actual", "Exercise", "System", "Test", "Draft"];
const SCOPES: &[&str] = &["Public", "Restricted", "Private"];
const URGENCIES: &[&str] = &["Immediate", "Expected", "Future", "Past", "Unknown"];
const SEVERITIES: &[&str] = &["Extreme", "Severe", "Moderate", "Minor", "Unknown"];
const CERTAINTIES: &[&str] = &["Observed", "Likely", "Possible", "Unlikely", "Unknown"];

pub(super) fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    // CAP documents come from other systems, not from people at a form:
    // their problems keep the generic code and the English message.
    FieldError::new(field, mpaka_protocol::FieldCode::Invalid, message)
}

/// The children of one element, taken by name; whatever is not taken is
/// reported as unexpected by [`Children::finish`].
struct Children<'a> {
    el: &'a Element,
    path: String,
    taken: Vec<&'static str>,
}

impl<'a> Children<'a> {
    fn of(el: &'a Element, path: impl Into<String>) -> Self {
        Children {
            el,
            path: path.into(),
            taken: Vec::new(),
        }
    }

    fn all(&mut self, name: &'static str) -> Vec<&'a Element> {
        self.taken.push(name);
        self.el
            .children
            .iter()
            .filter(|c| c.name == name && c.ns.as_deref() == Some(CAP_NAMESPACE))
            .collect()
    }

    /// The trimmed text of an element that may appear at most once.
    fn opt(&mut self, name: &'static str, p: &mut Vec<FieldError>) -> Option<String> {
        let found = self.all(name);
        if found.len() > 1 {
            p.push(problem(
                format!("{}.{name}", self.path),
                format!("appears {} times; at most once is allowed", found.len()),
            ));
        }
        found.first().map(|e| e.text.trim().to_string())
    }

    /// The trimmed, non-empty text of an element that must appear once.
    fn req(&mut self, name: &'static str, p: &mut Vec<FieldError>) -> String {
        match self.opt(name, p) {
            Some(t) if !t.is_empty() => t,
            Some(_) => {
                p.push(problem(
                    format!("{}.{name}", self.path),
                    "must not be empty",
                ));
                String::new()
            }
            None => {
                p.push(problem(format!("{}.{name}", self.path), "is required"));
                String::new()
            }
        }
    }

    fn finish(self, p: &mut Vec<FieldError>, allow_signature: bool) {
        for c in &self.el.children {
            let cap = c.ns.as_deref() == Some(CAP_NAMESPACE);
            if cap && self.taken.contains(&c.name.as_str()) {
                continue;
            }
            if allow_signature && c.ns.as_deref() == Some(XMLDSIG_NAMESPACE) {
                continue;
            }
            p.push(problem(
                format!("{}.{}", self.path, c.name),
                match c.ns.as_deref() {
                    Some(ns) if !cap => format!("element in namespace {ns} is not allowed here"),
                    None => "element without namespace is not allowed here".to_string(),
                    _ => "is not a CAP 1.2 element here".to_string(),
                },
            ));
        }
    }
}

/// What is needed of a CAP document, once checked.
pub(super) struct CapDoc {
    pub(super) identifier: String,
    pub(super) sender: String,
    pub(super) sent: String,
    pub(super) status: String,
    pub(super) msg_type: Option<MsgType>,
    pub(super) references: Vec<CapReference>,
    pub(super) infos: Vec<CapInfo>,
}

pub(super) struct CapInfo {
    pub(super) path: String,
    pub(super) language: String,
    pub(super) categories: Vec<String>,
    pub(super) event: String,
    pub(super) urgency: String,
    pub(super) severity: String,
    pub(super) certainty: String,
    pub(super) headline: Option<String>,
    pub(super) description: Option<String>,
    pub(super) params: Vec<(String, String)>,
    pub(super) circles: Vec<Location>,
}

pub(super) fn read_alert(root: &Element, p: &mut Vec<FieldError>) -> CapDoc {
    let mut c = Children::of(root, "alert");
    let identifier = c.req("identifier", p);
    let sender = c.req("sender", p);
    check_token("alert.identifier", &identifier, p);
    check_token("alert.sender", &sender, p);
    let sent = c.req("sent", p);
    check_datetime("alert.sent", &sent, p);
    let status = c.req("status", p);
    check_enum("alert.status", &status, STATUSES, p);
    let msg_type_text = c.req("msgType", p);
    let msg_type = MsgType::parse(&msg_type_text);
    if msg_type.is_none() && !msg_type_text.is_empty() {
        check_enum(
            "alert.msgType",
            &msg_type_text,
            &["Alert", "Update", "Cancel", "Ack", "Error"],
            p,
        );
    }
    let scope = c.req("scope", p);
    check_enum("alert.scope", &scope, SCOPES, p);
    let restriction = c.opt("restriction", p);
    let addresses = c.opt("addresses", p);
    if scope == "Restricted" && restriction.as_deref().is_none_or(str::is_empty) {
        p.push(problem(
            "alert.restriction",
            "is required when scope is Restricted",
        ));
    }
    if scope == "Private" && addresses.as_deref().is_none_or(str::is_empty) {
        p.push(problem(
            "alert.addresses",
            "is required when scope is Private",
        ));
    }
    for name in ["source", "note", "incidents"] {
        let _ = c.opt(name, p);
    }
    let _ = c.all("code");
    let references = c
        .opt("references", p)
        .map(|r| read_references(&r, p))
        .unwrap_or_default();
    let infos = c
        .all("info")
        .into_iter()
        .enumerate()
        .map(|(i, el)| read_info(el, format!("alert.info[{i}]"), p))
        .collect();
    c.finish(p, true);
    CapDoc {
        identifier,
        sender,
        sent,
        status,
        msg_type,
        references,
        infos,
    }
}

fn read_references(text: &str, p: &mut Vec<FieldError>) -> Vec<CapReference> {
    let mut refs = Vec::new();
    for triplet in text.split_whitespace() {
        let parts: Vec<&str> = triplet.split(',').collect();
        match parts.as_slice() {
            [sender, identifier, sent] if !sender.is_empty() && !identifier.is_empty() => {
                check_datetime("alert.references", sent, p);
                refs.push(CapReference {
                    sender: sender.to_string(),
                    identifier: identifier.to_string(),
                    sent: sent.to_string(),
                });
            }
            _ => p.push(problem(
                "alert.references",
                format!(
                    "`{}` is not a sender,identifier,sent triplet",
                    triplet.chars().take(80).collect::<String>()
                ),
            )),
        }
    }
    refs
}

fn read_info(el: &Element, path: String, p: &mut Vec<FieldError>) -> CapInfo {
    let mut c = Children::of(el, path.clone());
    let language = c.opt("language", p).unwrap_or_else(|| "en-US".into());
    if !is_xs_language(&language) {
        p.push(problem(format!("{path}.language"), "is not a language tag"));
    }
    let categories: Vec<String> = c
        .all("category")
        .iter()
        .map(|e| e.text.trim().to_string())
        .collect();
    if categories.is_empty() {
        p.push(problem(format!("{path}.category"), "is required"));
    }
    for cat in &categories {
        check_enum(&format!("{path}.category"), cat, CATEGORIES, p);
    }
    let event = c.req("event", p);
    for r in c.all("responseType") {
        check_enum(
            &format!("{path}.responseType"),
            r.text.trim(),
            RESPONSE_TYPES,
            p,
        );
    }
    let urgency = c.req("urgency", p);
    check_enum(&format!("{path}.urgency"), &urgency, URGENCIES, p);
    let severity = c.req("severity", p);
    check_enum(&format!("{path}.severity"), &severity, SEVERITIES, p);
    let certainty = c.req("certainty", p);
    check_enum(&format!("{path}.certainty"), &certainty, CERTAINTIES, p);
    for name in ["effective", "onset", "expires"] {
        if let Some(t) = c.opt(name, p) {
            check_datetime(&format!("{path}.{name}"), &t, p);
        }
    }
    for name in ["audience", "senderName", "instruction", "web", "contact"] {
        let _ = c.opt(name, p);
    }
    let headline = c.opt("headline", p);
    let description = c.opt("description", p);
    for code in c.all("eventCode") {
        let _ = value_pair(code, &format!("{path}.eventCode"), p);
    }
    let params = c
        .all("parameter")
        .into_iter()
        .filter_map(|e| value_pair(e, &format!("{path}.parameter"), p))
        .collect();
    for (i, res) in c.all("resource").into_iter().enumerate() {
        let mut rc = Children::of(res, format!("{path}.resource[{i}]"));
        rc.req("resourceDesc", p);
        rc.req("mimeType", p);
        for name in ["size", "uri", "derefUri", "digest"] {
            let _ = rc.opt(name, p);
        }
        rc.finish(p, false);
    }
    let mut circles = Vec::new();
    for (i, area) in c.all("area").into_iter().enumerate() {
        let apath = format!("{path}.area[{i}]");
        let mut ac = Children::of(area, apath.clone());
        ac.req("areaDesc", p);
        let _ = ac.all("polygon");
        for circle in ac.all("circle") {
            match parse_circle(circle.text.trim()) {
                Some(l) => circles.push(l),
                None => p.push(problem(
                    format!("{apath}.circle"),
                    "must be `lat,lon radius` with -90<=lat<=90, -180<=lon<=180, radius>=0",
                )),
            }
        }
        for g in ac.all("geocode") {
            let _ = value_pair(g, &format!("{apath}.geocode"), p);
        }
        for name in ["altitude", "ceiling"] {
            if let Some(v) = ac.opt(name, p) {
                if v.parse::<f64>().is_err() {
                    p.push(problem(
                        format!("{apath}.{name}"),
                        "must be a decimal number",
                    ));
                }
            }
        }
        ac.finish(p, false);
    }
    c.finish(p, false);
    CapInfo {
        path,
        language,
        categories,
        event,
        urgency,
        severity,
        certainty,
        headline,
        description,
        params,
        circles,
    }
}

/// A `valueName`/`value` pair (parameter, eventCode, geocode).
fn value_pair(el: &Element, path: &str, p: &mut Vec<FieldError>) -> Option<(String, String)> {
    let mut c = Children::of(el, path);
    let name = c.req("valueName", p);
    let value = c.opt("value", p);
    if value.is_none() {
        p.push(problem(format!("{path}.value"), "is required"));
    }
    c.finish(p, false);
    Some((name, value?))
}

fn check_enum(field: &str, value: &str, allowed: &[&str], p: &mut Vec<FieldError>) {
    if !value.is_empty() && !allowed.contains(&value) {
        p.push(problem(
            field,
            format!(
                "`{}` is not one of {}",
                value.chars().take(40).collect::<String>(),
                allowed.join(", ")
            ),
        ));
    }
}

/// CAP forbids spaces, commas and `<` `&` in identifiers and senders.
fn check_token(field: &str, value: &str, p: &mut Vec<FieldError>) {
    if value
        .chars()
        .any(|c| c.is_whitespace() || matches!(c, ',' | '<' | '&'))
    {
        p.push(problem(field, "must not contain spaces, commas, < or &"));
    }
}

/// CAP date-times: `YYYY-MM-DDThh:mm:ss±hh:mm`, a real date, no `Z`.
fn check_datetime(field: &str, value: &str, p: &mut Vec<FieldError>) {
    if value.is_empty() {
        return;
    }
    let b = value.as_bytes();
    let shape = b.len() == 25
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 | 22 => *c == b':',
            19 => matches!(c, b'+' | b'-'),
            _ => c.is_ascii_digit(),
        });
    let real = shape
        && time::OffsetDateTime::parse(value, &time::format_description::well_known::Rfc3339)
            .is_ok();
    if !real {
        p.push(problem(
            field,
            format!(
                "`{}` is not a CAP date-time such as 2025-03-14T08:12:45+02:00",
                value.chars().take(40).collect::<String>()
            ),
        ));
    }
}

/// The `xs:language` shape: 1–8 letters, then subtags of 1–8 letters or digits.
fn is_xs_language(s: &str) -> bool {
    let mut parts = s.split('-');
    parts
        .next()
        .is_some_and(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphabetic()))
        && parts.all(|p| (1..=8).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn parse_circle(s: &str) -> Option<Location> {
    let (point, radius) = s.split_once(char::is_whitespace)?;
    let (lat, lon) = point.split_once(',')?;
    let (lat, lon, radius): (f64, f64, f64) = (
        lat.parse().ok()?,
        lon.parse().ok()?,
        radius.trim().parse().ok()?,
    );
    let ok = (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon) && radius >= 0.0;
    ok.then_some(Location { lat, lon })
}
