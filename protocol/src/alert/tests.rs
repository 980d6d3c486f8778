//! Tests of alert wire types: JSON shapes, validation, redaction, summaries.

use super::*;
use crate::{Event, EventData, FieldError, Role};
use serde_json::json;

/// What the Mugina officer sends: 400 people on foot, mostly women and children.
const MUGINA_DRAFT: &str = r#"{
    "kind": "mass_arrival",
    "direction": "into_tanzania",
    "headcount": {"low": 350, "high": 450},
    "vulnerable": {
        "unaccompanied_or_separated_children": 12,
        "pregnant_or_lactating_women": 30,
        "elderly": 15
    },
    "needs": ["water", "food", "shelter", "protection"],
    "severity": "severe",
    "urgency": "immediate",
    "certainty": "observed",
    "location": {"lat": -4.0921, "lon": 29.6243},
    "text": {"text": "Abantu nka 400 bashitse n'amaguru, abenshi ni abagore n'abana.", "lang": "rn"},
    "status": "actual"
}"#;

fn officer(id: i64, username: &str, country: Country, post: &str) -> Author {
    Author {
        id: Some(id),
        username: Some(username.into()),
        display_name: Some(format!("Officer {username}")),
        role: Role::Officer,
        country: Some(country),
        post: Some(post.into()),
    }
}

fn mugina_alert() -> Alert {
    let draft: AlertDraft = serde_json::from_str(MUGINA_DRAFT).unwrap();
    Alert::raise(
        draft,
        AlertOrigin {
            id: "01JQ3M4ZK8".into(),
            post: "mugina".into(),
            corridor: "mugina-manyovu".into(),
            country: Country::BI,
            raised_by: officer(7, "ndayishimiye", Country::BI, "mugina"),
            raised_at: "2025-03-14T06:12:45.120Z".into(),
        },
    )
}

fn fields(errors: &[FieldError]) -> Vec<&str> {
    errors.iter().map(|e| e.field.as_str()).collect()
}

#[test]
fn the_mugina_draft_parses_and_is_valid() {
    let draft: AlertDraft = serde_json::from_str(MUGINA_DRAFT).unwrap();
    assert_eq!(draft.kind, AlertKind::MassArrival);
    assert_eq!(
        draft.headcount,
        Headcount::Range {
            low: 350,
            high: 450
        }
    );
    assert_eq!(draft.vulnerable.elderly, Some(15));
    assert_eq!(draft.vulnerable.injured_or_sick, None);
    assert_eq!(draft.post, None);
    assert_eq!(draft.validate(), vec![]);
    // Serialising and parsing again gives the same draft.
    let again: AlertDraft = serde_json::from_value(serde_json::to_value(&draft).unwrap()).unwrap();
    assert_eq!(again, draft);
}

#[test]
fn a_headcount_is_a_bare_number_or_a_low_high_range() {
    let single: Headcount = serde_json::from_str("400").unwrap();
    assert_eq!(single, Headcount::Single(400));
    assert_eq!(serde_json::to_string(&single).unwrap(), "400");
    assert_eq!(single.best_estimate(), 400);

    let range: Headcount = serde_json::from_str(r#"{"low": 300, "high": 501}"#).unwrap();
    assert_eq!(
        serde_json::to_value(range).unwrap(),
        json!({"low": 300, "high": 501})
    );
    assert_eq!(range.best_estimate(), 400);
    assert_eq!(range.to_string(), "300-501");

    let err = serde_json::from_str::<Headcount>(r#""many""#).unwrap_err();
    assert!(err.to_string().contains("a number of people"), "{err}");
}

#[test]
fn negative_counts_and_inverted_ranges_are_reported_by_field() {
    let mut draft: AlertDraft = serde_json::from_str(MUGINA_DRAFT).unwrap();
    draft.headcount = Headcount::Range { low: 500, high: -5 };
    draft.vulnerable.elderly = Some(-2);
    let errors = draft.validate();
    assert_eq!(
        fields(&errors),
        vec!["headcount.high", "headcount.low", "vulnerable.elderly"]
    );
    assert!(errors[1].message.contains("500 > -5"), "{errors:?}");

    draft.headcount = Headcount::Single(-5);
    draft.vulnerable.elderly = Some(MAX_HEADCOUNT + 1);
    assert_eq!(
        fields(&draft.validate()),
        vec!["headcount", "vulnerable.elderly"]
    );
}

#[test]
fn a_negative_count_in_json_reaches_validation_instead_of_failing_to_parse() {
    let json = MUGINA_DRAFT.replace(r#""elderly": 15"#, r#""elderly": -5"#);
    let draft: AlertDraft = from_json_named(&json).unwrap();
    assert_eq!(fields(&draft.validate()), vec!["vulnerable.elderly"]);
}

#[test]
fn locations_outside_the_globe_are_refused() {
    let mut draft: AlertDraft = serde_json::from_str(MUGINA_DRAFT).unwrap();
    draft.location = Some(Location {
        lat: -94.1,
        lon: 29.6,
    });
    assert_eq!(fields(&draft.validate()), vec!["location.lat"]);
    draft.location = Some(Location {
        lat: f64::NAN,
        lon: 181.0,
    });
    assert_eq!(
        fields(&draft.validate()),
        vec!["location.lat", "location.lon"]
    );
}

#[test]
fn text_must_be_non_empty_bounded_clean_and_tagged_with_a_language() {
    let mut draft: AlertDraft = serde_json::from_str(MUGINA_DRAFT).unwrap();
    let mut check = |text: &str, lang: &str| {
        draft.text = Some(LocalizedText {
            text: text.into(),
            lang: lang.into(),
        });
        draft
            .validate()
            .into_iter()
            .map(|e| e.field)
            .collect::<Vec<_>>()
    };
    assert!(check("Watu 400 wamefika kwa miguu", "sw").is_empty());
    assert!(check("Environ 400 personnes à pied", "fr-BI").is_empty());
    assert_eq!(check("   \n ", "en"), vec!["text.text"]);
    assert_eq!(
        check(&"é".repeat(MAX_TEXT_CHARS + 1), "fr"),
        vec!["text.text"]
    );
    assert!(check(&"é".repeat(MAX_TEXT_CHARS), "fr").is_empty());
    assert_eq!(check("bell\u{7}", "en"), vec!["text.text"]);
    assert_eq!(check("ok", "french"), vec!["text.lang"]);
}

#[test]
fn language_tags_look_like_bcp_47() {
    for ok in [
        "fr",
        "en",
        "sw",
        "rn",
        "kin",
        "fr-BI",
        "sw-TZ",
        "zh-Hant-TW",
        "en-US",
    ] {
        assert!(is_language_tag(ok), "{ok} refused");
    }
    for bad in [
        "",
        "f",
        "french",
        "fr_BI",
        "fr-",
        "-fr",
        "fr-BI-",
        "e1",
        "fr-toolongsubtag",
    ] {
        assert!(!is_language_tag(bad), "{bad} accepted");
    }
}

#[test]
fn a_need_listed_twice_and_a_malformed_post_are_refused() {
    let mut draft: AlertDraft = serde_json::from_str(MUGINA_DRAFT).unwrap();
    draft.needs = vec![Need::Water, Need::Food, Need::Water];
    draft.post = Some("Mugina Post".into());
    assert_eq!(fields(&draft.validate()), vec!["post", "needs[2]"]);
}

#[test]
fn parse_errors_name_the_field_at_fault() {
    let unknown_kind = MUGINA_DRAFT.replace("mass_arrival", "flood");
    let err = from_json_named::<AlertDraft>(&unknown_kind).unwrap_err();
    assert_eq!(err.field, "kind");
    assert!(err.message.contains("unknown variant `flood`"), "{err:?}");

    let bad_group = MUGINA_DRAFT.replace("\"elderly\"", "\"old\"");
    assert_eq!(
        from_json_named::<AlertDraft>(&bad_group).unwrap_err().field,
        "vulnerable.old"
    );

    let bad_headcount = MUGINA_DRAFT.replace(r#"{"low": 350, "high": 450}"#, r#""lots""#);
    assert_eq!(
        from_json_named::<AlertDraft>(&bad_headcount)
            .unwrap_err()
            .field,
        "headcount"
    );

    let no_status = MUGINA_DRAFT.replace(r#","status": "actual""#, "").replace(
        r#",
    "status": "actual""#,
        "",
    );
    let err = from_json_named::<AlertDraft>(&no_status).unwrap_err();
    assert!(err.message.contains("missing field `status`"), "{err:?}");

    assert_eq!(
        from_json_named::<AlertDraft>("{").unwrap_err().field,
        "body"
    );
    assert_eq!(
        from_json_named::<AlertDraft>(&format!("{MUGINA_DRAFT} 42"))
            .unwrap_err()
            .field,
        "body"
    );
    let value = json!({"headcount": 420, "needs": ["water", "wifi"]});
    assert_eq!(
        from_value_named::<AlertPatch>(value).unwrap_err().field,
        "needs[1]"
    );
}

#[test]
fn a_patch_is_validated_and_applied_field_by_field() {
    let patch: AlertPatch = serde_json::from_str(
        r#"{"headcount": 420, "needs": ["water", "food", "shelter", "protection", "medical"], "severity": "severe"}"#,
    )
    .unwrap();
    assert!(patch.validate().is_empty());
    assert!(!patch.is_empty());
    assert!(AlertPatch::default().is_empty());

    let mut alert = mugina_alert();
    let changes = alert.apply_patch(&patch);
    // Severity was already severe: only headcount and needs changed.
    assert_eq!(
        changes.iter().map(|c| c.field.as_str()).collect::<Vec<_>>(),
        vec!["headcount", "needs"]
    );
    assert_eq!(changes[0].from, json!({"low": 350, "high": 450}));
    assert_eq!(changes[0].to, json!(420));
    assert_eq!(alert.headcount, Headcount::Single(420));
    assert_eq!(alert.needs.len(), 5);
    assert_eq!(
        alert.version, 1,
        "the server bumps the version, not apply_patch"
    );

    let bad: AlertPatch = serde_json::from_str(
        r#"{"headcount": {"low": -1, "high": 10}, "text": {"text": "", "lang": "xx_YY"}}"#,
    )
    .unwrap();
    assert_eq!(
        fields(&bad.validate()),
        vec!["headcount.low", "text.text", "text.lang"]
    );
}

#[test]
fn an_alert_event_has_a_stable_json_shape_and_round_trips() {
    let alert = mugina_alert();
    let event = Event {
        seq: 1042,
        channel: alert.channel(),
        at: "2025-03-14T06:12:45.120Z".into(),
        author: Some(alert.raised_by.clone()),
        data: EventData::AlertRaised(Box::new(AlertStepBody {
            change: AlertChange {
                written_at: None,
                at: alert.raised_at.clone(),
                by: Some(alert.raised_by.clone()),
                step: AlertStep::Raised,
                changes: vec![],
            },
            alert,
        })),
    };
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["kind"], "alert.raised");
    assert_eq!(value["channel"], "corridor:mugina-manyovu");
    let body = &value["body"];
    assert_eq!(body["alert"]["state"], "open");
    assert_eq!(body["alert"]["status"], "actual");
    assert_eq!(body["alert"]["version"], 1);
    assert_eq!(body["alert"]["headcount"], json!({"low": 350, "high": 450}));
    assert_eq!(body["alert"]["raised_by"]["username"], "ndayishimiye");
    assert_eq!(body["change"]["step"], "raised");
    assert_eq!(event.data.kind(), "alert.raised");

    let parsed: Event = serde_json::from_value(value).unwrap();
    assert_eq!(parsed, event);
}

#[test]
fn the_full_life_of_an_alert_round_trips_as_events() {
    let mut alert = mugina_alert();
    let manyovu = officer(19, "mwakasege", Country::TZ, "manyovu");
    alert.acknowledgements.push(AlertAck {
        written_at: None,
        by: manyovu.clone(),
        at: "2025-03-14T06:14:02.000Z".into(),
    });
    alert.escalation_level = 1;
    alert.state = AlertState::Resolved;
    alert.version = 5;
    alert.closing = Some(AlertClosing {
        reason: "Wote wamepelekwa kituo cha mapokezi Manyovu".into(),
        by: manyovu.clone(),
        at: "2025-03-14T17:40:00.000Z".into(),
    });
    let change = AlertChange {
        written_at: None,
        at: "2025-03-14T06:20:00.000Z".into(),
        by: None,
        step: AlertStep::Escalated,
        changes: vec![FieldChange {
            field: "escalation_level".into(),
            from: json!(0),
            to: json!(1),
        }],
    };
    let step = AlertStepBody {
        alert: alert.clone(),
        change: change.clone(),
    };
    let all = [
        EventData::AlertAcknowledged(Box::new(step.clone())),
        EventData::AlertUpdated(Box::new(step.clone())),
        EventData::AlertResolved(Box::new(step.clone())),
        EventData::AlertCancelled(Box::new(step)),
        EventData::AlertEscalated(Box::new(AlertEscalationBody {
            alert,
            change,
            level: 1,
        })),
    ];
    for data in all {
        let value = serde_json::to_value(&data).unwrap();
        assert_eq!(value["kind"], data.kind());
        assert_eq!(serde_json::from_value::<EventData>(value).unwrap(), data);
    }
}

#[test]
fn observers_see_alerts_without_personal_data_or_free_text() {
    let mut alert = mugina_alert();
    alert.acknowledgements.push(AlertAck {
        written_at: None,
        by: officer(19, "mwakasege", Country::TZ, "manyovu"),
        at: "2025-03-14T06:14:02.000Z".into(),
    });
    alert.closing = Some(AlertClosing {
        reason: "Handed over to Juma Mussa".into(),
        by: officer(19, "mwakasege", Country::TZ, "manyovu"),
        at: "2025-03-14T17:40:00.000Z".into(),
    });
    let change = AlertChange {
        written_at: None,
        at: "2025-03-14T09:00:00.000Z".into(),
        by: Some(alert.raised_by.clone()),
        step: AlertStep::Updated,
        changes: vec![
            FieldChange {
                field: "text".into(),
                from: json!(null),
                to: json!({"text": "Nduwimana Jean is their leader", "lang": "en"}),
            },
            FieldChange {
                field: "headcount".into(),
                from: json!(400),
                to: json!(420),
            },
        ],
    };
    let data = EventData::AlertUpdated(Box::new(AlertStepBody { alert, change })).redacted();
    let text = serde_json::to_string(&data).unwrap();
    for secret in [
        "ndayishimiye",
        "mwakasege",
        "Officer",
        "Juma",
        "Nduwimana",
        "400 bashitse",
        "\"id\":7",
    ] {
        assert!(!text.contains(secret), "{secret} leaked: {text}");
    }
    let EventData::AlertUpdated(body) = data else {
        panic!("kind changed")
    };
    assert_eq!(body.alert.raised_by.post.as_deref(), Some("mugina"));
    assert_eq!(body.alert.text.unwrap().lang, "rn");
    assert_eq!(body.change.changes[0].from, json!(null));
    assert_eq!(body.change.changes[0].to, json!(REDACTED));
    assert_eq!(body.change.changes[1].to, json!(420));
    assert_eq!(
        body.alert.headcount,
        Headcount::Range {
            low: 350,
            high: 450
        }
    );
}

#[test]
fn the_corridor_summary_counts_only_open_actual_alerts() {
    let a = mugina_alert(); // 350-450, unacknowledged
    let mut b = mugina_alert();
    b.id = "b".into();
    b.headcount = Headcount::Single(120);
    b.raised_at = "2025-03-14T05:00:00.000Z".into();
    b.acknowledgements.push(AlertAck {
        written_at: None,
        by: officer(19, "mwakasege", Country::TZ, "manyovu"),
        at: "2025-03-14T05:03:00.000Z".into(),
    });
    let mut exercise = mugina_alert();
    exercise.status = AlertStatus::Exercise;
    exercise.headcount = Headcount::Single(5000);
    exercise.raised_at = "2025-03-13T00:00:00.000Z".into();
    let mut resolved = mugina_alert();
    resolved.state = AlertState::Resolved;
    let mut elsewhere = mugina_alert();
    elsewhere.corridor = "kobero-kabanga".into();

    let summary = AlertSummary::of("mugina-manyovu", &[a, b, exercise, resolved, elsewhere]);
    assert_eq!(
        summary,
        AlertSummary {
            corridor: "mugina-manyovu".into(),
            open: 2,
            people_on_the_move: 520,
            unacknowledged: 1,
            oldest_unacknowledged_at: Some("2025-03-14T06:12:45.120Z".into()),
            open_exercises_and_tests: 1,
        }
    );
}

#[test]
fn wire_enums_use_snake_case_names() {
    assert_eq!(
        json!(AlertKind::SecurityIncident),
        json!("security_incident")
    );
    assert_eq!(json!(Direction::IntoBurundi), json!("into_burundi"));
    assert_eq!("border_reopening".parse(), Ok(AlertKind::BorderReopening));
    assert!("Border_Reopening".parse::<AlertKind>().is_err());
    assert_eq!(Direction::IntoTanzania.destination(), Country::TZ);
    for s in Severity::ALL {
        assert_eq!(json!(s), json!(s.as_str()));
    }
}

#[test]
fn the_protocol_schema_describes_alert_events() {
    let schema = crate::json_schema().to_string();
    for name in [
        "alert.raised",
        "alert.escalated",
        "AlertStepBody",
        "Headcount",
        "mass_arrival",
    ] {
        assert!(schema.contains(name), "{name} missing from schema");
    }
}
