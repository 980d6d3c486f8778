use super::*;
use serde_json::json;

fn line(value: serde_json::Value) -> FlowLine {
    serde_json::from_value(value).expect("a line")
}

#[test]
fn a_line_counts_everyone_by_sex_and_age() {
    let l = line(
        json!({"direction": "in", "nationality": "BI", "men": 3, "women": 4, "boys": 2, "girls": 1}),
    );
    assert_eq!(l.total(), 10);
    assert!(validate_lines(&[l]).is_empty());
}

#[test]
fn vulnerable_counts_may_not_exceed_the_line() {
    let l = line(json!({"direction": "in", "nationality": "TZ", "women": 2,
        "vulnerable": {"pregnant_or_lactating_women": 3}}));
    let problems = validate_lines(&[l]);
    assert_eq!(problems.len(), 1);
    assert_eq!(
        problems[0].field,
        "lines.0.vulnerable.pregnant_or_lactating_women"
    );
}

#[test]
fn reasons_are_codes_and_counts_are_bounded() {
    let l = line(
        json!({"direction": "out", "nationality": "other", "men": 100_001, "reason": "Family Visit"}),
    );
    let fields: Vec<String> = validate_lines(&[l]).into_iter().map(|p| p.field).collect();
    assert_eq!(fields, ["lines.0.men", "lines.0.reason"]);
}

#[test]
fn unknown_fields_and_values_are_refused() {
    assert!(serde_json::from_value::<FlowLine>(
        json!({"direction": "in", "nationality": "BI", "name": "x"})
    )
    .is_err());
    assert!(serde_json::from_value::<FlowLine>(
        json!({"direction": "sideways", "nationality": "BI"})
    )
    .is_err());
}

#[test]
fn a_draft_is_joint_unless_said_otherwise() {
    let d: FlowDraft = serde_json::from_value(json!({
        "period_start": "2026-11-30T08:00:00Z", "period_end": "2026-11-30T09:00:00Z"
    }))
    .expect("draft");
    assert_eq!(d.sharing, FlowSharing::Joint);
    assert!(d.lines.is_empty());
}
