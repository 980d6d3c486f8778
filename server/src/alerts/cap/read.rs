//! Reading a CAP 1.2 alert from another system: the document is checked
//! against CAP's rules first (see `check`), then mapped to an
//! [`AlertDraft`] from `mpaka:*` parameters or, failing those, its wording.

use super::check::{problem, read_alert, CapDoc, CapInfo};
use super::xml;
use super::{
    from_cap_case, infer, param, CapError, ImportedCap, MsgType, CAP_NAMESPACE, MAX_CAP_BYTES,
};
use mpaka_protocol::{
    is_language_tag, AlertDraft, AlertState, AlertStatus, Direction, Headcount, LocalizedText,
    Need, VulnerableGroups, MAX_TEXT_CHARS,
};
use std::collections::HashMap;

/// Reads a CAP 1.2 alert message into an [`ImportedCap`].
///
/// # Errors
/// [`CapError::TooLarge`] and [`CapError::Malformed`] for input that is not
/// a reasonable XML document, [`CapError::Invalid`] listing every way it
/// breaks CAP 1.2 (or gives bad `mpaka:*` values), and
/// [`CapError::Unsupported`] for valid CAP that is no border-movement
/// alert. Never panics, whatever the input.
pub fn from_cap(input: &str) -> Result<ImportedCap, CapError> {
    read(input, Accept::AnyAlertMessage)
}

/// Like [`from_cap`], for an import that raises a new alert: an `Update`
/// or `Cancel` message is refused, its `msgType` listed with every other
/// problem of the document so the sender sees them all at once.
///
/// # Errors
/// As [`from_cap`].
pub fn new_alert_from_cap(input: &str) -> Result<ImportedCap, CapError> {
    read(input, Accept::NewAlertsOnly)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Accept {
    AnyAlertMessage,
    NewAlertsOnly,
}

fn read(input: &str, accept: Accept) -> Result<ImportedCap, CapError> {
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
    if accept == Accept::NewAlertsOnly {
        if let Some(m @ (MsgType::Update | MsgType::Cancel)) = doc.msg_type {
            problems.insert(
                0,
                problem(
                    "alert.msgType",
                    format!("only new alerts (msgType Alert) are imported, not {m}"),
                ),
            );
            let mut rest = match import(doc) {
                Err(CapError::Invalid(p) | CapError::Unsupported(p)) => p,
                _ => Vec::new(),
            };
            problems.append(&mut rest);
            return Err(CapError::Unsupported(problems));
        }
    }
    if !problems.is_empty() {
        return Err(CapError::Invalid(problems));
    }
    import(doc)
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
            format!(
                "no {} parameter, and the wording names no single direction \
                 (into Burundi or into Tanzania)",
                param::DIRECTION
            ),
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
    for (name, value) in [
        ("severity", severity.is_none()),
        ("urgency", urgency.is_none()),
        ("certainty", certainty.is_none()),
    ] {
        // Unreachable after the checks, but never answer with an empty list.
        if value {
            missing.push(problem(
                format!("{}.{name}", info.path),
                "has no mpaka equivalent",
            ));
        }
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
        written_at: None,
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
