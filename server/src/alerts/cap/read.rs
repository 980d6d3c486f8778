//! Reading a CAP 1.2 alert from another system: structural checks first
//! (every problem reported at once), then the mapping to an [`AlertDraft`].

use super::xml::{self, Element};
use super::{
    from_cap_case, infer, param, CapError, CapReference, ImportedCap, MsgType, CAP_NAMESPACE,
    MAX_CAP_BYTES,
};
use mpaka_protocol::{
    is_language_tag, AlertDraft, AlertState, AlertStatus, Direction, FieldError, Headcount,
    LocalizedText, Location, Need, VulnerableGroups, MAX_TEXT_CHARS,
};
use std::collections::HashMap;

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

/// Reads a CAP 1.2 alert message into an [`ImportedCap`].
///
/// # Errors
/// [`CapError::TooLarge`] and [`CapError::Malformed`] for input that is not
/// a reasonable XML document, [`CapError::Invalid`] listing every way it
/// breaks CAP 1.2 (or gives bad `mpaka:*` values), and
/// [`CapError::Unsupported`] for valid CAP that is no border-movement
/// alert. Never panics, whatever the input.
pub fn from_cap(input: &str) -> Result<ImportedCap, CapError> {
    if input.len() > MAX_CAP_BYTES {
        return Err(CapError::TooLarge(input.len()));
    }
    let root = xml::parse(input)?;
    if root.name != "alert" || root.ns.as_deref() != Some(CAP_NAMESPACE) {
        return Err(CapError::Invalid(vec![problem(
            "alert",
            format!(
                "the root element must be <alert> in namespace {CAP_NAMESPACE}, found <{}> in {}",
                root.name,
                root.ns.as_deref().unwrap_or("no namespace")
            ),
        )]));
    }
    let mut problems = Vec::new();
    let doc = read_alert(&root, &mut problems);
    if !problems.is_empty() {
        return Err(CapError::Invalid(problems));
    }
    import(doc)
}

fn problem(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
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
struct CapDoc {
    identifier: String,
    sender: String,
    sent: String,
    status: String,
    msg_type: Option<MsgType>,
    references: Vec<CapReference>,
    infos: Vec<CapInfo>,
}

struct CapInfo {
    path: String,
    language: String,
    categories: Vec<String>,
    event: String,
    urgency: String,
    severity: String,
    certainty: String,
    headline: Option<String>,
    description: Option<String>,
    params: Vec<(String, String)>,
    circles: Vec<Location>,
}

fn read_alert(root: &Element, p: &mut Vec<FieldError>) -> CapDoc {
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

/// Maps a checked document to a draft.
fn import(doc: CapDoc) -> Result<ImportedCap, CapError> {
    let unsupported =
        |field: &str, message: String| Err(CapError::Unsupported(vec![problem(field, message)]));
    let status = match doc.status.as_str() {
        "Actual" => AlertStatus::Actual,
        "Exercise" => AlertStatus::Exercise,
        "Test" => AlertStatus::Test,
        other => return unsupported("alert.status", format!("{other} messages are not imported")),
    };
    let msg_type = match doc.msg_type {
        Some(m @ (MsgType::Alert | MsgType::Update | MsgType::Cancel)) => m,
        Some(m) => return unsupported("alert.msgType", format!("{m} messages are not alerts")),
        None => return unsupported("alert.msgType", "missing".into()),
    };
    let Some(info) = pick_info(&doc.infos) else {
        return unsupported(
            "alert.info",
            "the message has no <info> block to import".into(),
        );
    };
    let (draft, state, inferred) = draft_from_info(info, status)?;
    Ok(ImportedCap {
        identifier: doc.identifier,
        sender: doc.sender,
        sent: doc.sent,
        msg_type,
        references: doc.references,
        draft,
        state,
        inferred,
    })
}

/// The `info` to import: one carrying mpaka parameters, else one in a
/// language of the region, else the first.
fn pick_info(infos: &[CapInfo]) -> Option<&CapInfo> {
    let regional = |i: &&CapInfo| {
        let primary = i
            .language
            .split('-')
            .next()
            .unwrap_or("")
            .to_ascii_lowercase();
        matches!(primary.as_str(), "fr" | "en" | "sw" | "rn")
    };
    infos
        .iter()
        .find(|i| i.params.iter().any(|(n, _)| n == param::KIND))
        .or_else(|| infos.iter().find(regional))
        .or_else(|| infos.first())
}

type DraftParts = (AlertDraft, Option<AlertState>, Vec<&'static str>);

fn draft_from_info(info: &CapInfo, status: AlertStatus) -> Result<DraftParts, CapError> {
    let params: HashMap<&str, &str> = info
        .params
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let mut bad = Vec::new();
    let mut inferred = Vec::new();
    let get = |name: &str| params.get(name).copied();
    let field = |name: &str| format!("{}.parameter[{name}]", info.path);

    let wording = format!(
        "{} {} {}",
        info.event,
        info.headline.as_deref().unwrap_or(""),
        info.description.as_deref().unwrap_or("")
    );

    let kind = match get(param::KIND) {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e: String| bad.push(problem(field(param::KIND), e)))
            .ok(),
        None => {
            inferred.push("kind");
            Some(infer::kind(
                &info.event,
                info.headline.as_deref().unwrap_or(""),
                &info.categories,
            ))
        }
    };
    let direction: Option<Direction> = match get(param::DIRECTION) {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e: String| bad.push(problem(field(param::DIRECTION), e)))
            .ok(),
        None => {
            inferred.push("direction");
            infer::direction(&wording)
        }
    };
    let headcount = match get(param::HEADCOUNT) {
        Some(v) => {
            let h = parse_headcount(v.trim());
            if h.is_none() {
                bad.push(problem(
                    field(param::HEADCOUNT),
                    "must be a number such as 400 or a range such as 350-450",
                ));
            }
            h
        }
        None => {
            inferred.push("headcount");
            infer::headcount(&wording)
        }
    };
    let mut vulnerable = VulnerableGroups::default();
    for (name, value) in &info.params {
        if let Some(group) = name.strip_prefix(param::VULNERABLE_PREFIX) {
            match value.trim().parse::<i64>() {
                Ok(n) if vulnerable.set(group, Some(n)) => {}
                Ok(_) => bad.push(problem(
                    field(name),
                    "is not a vulnerable group mpaka knows",
                )),
                Err(_) => bad.push(problem(field(name), "must be a whole number")),
            }
        }
    }
    let mut needs = Vec::new();
    if let Some(v) = get(param::NEEDS) {
        for word in v.split([' ', ',']).filter(|w| !w.is_empty()) {
            match word.parse::<Need>() {
                Ok(n) => needs.push(n),
                Err(e) => bad.push(problem(field(param::NEEDS), e)),
            }
        }
    }
    let state = match get(param::STATE) {
        Some(v) => v
            .trim()
            .parse()
            .map_err(|e: String| bad.push(problem(field(param::STATE), e)))
            .ok(),
        None => None,
    };
    let post = get(param::POST).map(|p| p.trim().to_string());
    let severity = from_cap_case(&info.severity);
    let urgency = from_cap_case(&info.urgency);
    let certainty = from_cap_case(&info.certainty);
    if !bad.is_empty() {
        return Err(CapError::Invalid(bad));
    }
    let mut missing = Vec::new();
    if direction.is_none() {
        missing.push(problem(
            "direction",
            format!("no {} parameter, and the wording names no single direction (into Burundi / into Tanzania)", param::DIRECTION),
        ));
    }
    if headcount.is_none() {
        missing.push(problem(
            "headcount",
            format!(
                "no {} parameter, and the wording gives no count of people",
                param::HEADCOUNT
            ),
        ));
    }
    let (
        Some(kind),
        Some(direction),
        Some(headcount),
        Some(severity),
        Some(urgency),
        Some(certainty),
    ) = (kind, direction, headcount, severity, urgency, certainty)
    else {
        return Err(CapError::Unsupported(missing));
    };
    let draft = AlertDraft {
        post,
        kind,
        direction,
        headcount,
        vulnerable,
        needs,
        severity,
        urgency,
        certainty,
        location: info.circles.first().copied(),
        text: text_of(info),
        status,
    };
    let errors = draft.validate();
    if !errors.is_empty() {
        return Err(CapError::Invalid(
            errors
                .into_iter()
                .map(|e| problem(format!("draft.{}", e.field), e.message))
                .collect(),
        ));
    }
    Ok((draft, state, inferred))
}

/// `400`, or `350-450`.
fn parse_headcount(s: &str) -> Option<Headcount> {
    if let Ok(n) = s.parse() {
        return Some(Headcount::Single(n));
    }
    let (low, high) = s
        .get(1..)?
        .split_once('-')
        .map(|(a, b)| (&s[..a.len() + 1], b))?;
    Some(Headcount::Range {
        low: low.parse().ok()?,
        high: high.parse().ok()?,
    })
}

/// The description (else the headline) as clean text in the info's language.
fn text_of(info: &CapInfo) -> Option<LocalizedText> {
    let raw = info
        .description
        .as_deref()
        .filter(|d| !d.is_empty())
        .or(info.headline.as_deref())?;
    let text: String = raw
        .chars()
        .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
        .take(MAX_TEXT_CHARS)
        .collect();
    if text.trim().is_empty() {
        return None;
    }
    let lang = if is_language_tag(&info.language) {
        info.language.clone()
    } else {
        "und".into()
    };
    Some(LocalizedText { text, lang })
}
