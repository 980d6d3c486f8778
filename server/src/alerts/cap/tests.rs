//! CAP tests: generated documents validate against the official schema
//! (with `xmllint`), imports of the specification's examples and of
//! hostile input behave, and a round trip keeps the structured fields.

use super::*;
use mpaka_protocol::{
    Alert, AlertAck, AlertClosing, AlertOrigin, Author, Country, Direction, Headcount,
    LocalizedText, Location, Need, Role,
};
use std::io::Write as _;
use std::process::{Command, Stdio};

const SENDER: &str = "mpaka@migration.gov.bi";
const SCHEMA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cap/CAP-v1.2.xsd");
const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/cap/examples");

fn officer(username: &str, country: Country, post: &str) -> Author {
    Author {
        id: Some(7),
        username: Some(username.into()),
        display_name: Some(format!("Officer {username}")),
        role: Role::Officer,
        country: Some(country),
        post: Some(post.into()),
    }
}

/// The Mugina alert as raised: 350-450 people on foot into Tanzania.
fn raised() -> Alert {
    let draft = AlertDraft {
        written_at: None,
        post: None,
        kind: AlertKind::MassArrival,
        direction: Direction::IntoTanzania,
        headcount: Headcount::Range {
            low: 350,
            high: 450,
        },
        vulnerable: mpaka_protocol::VulnerableGroups {
            unaccompanied_or_separated_children: Some(12),
            pregnant_or_lactating_women: Some(30),
            elderly: Some(15),
            injured_or_sick: Some(0),
            persons_with_disabilities: None,
        },
        needs: vec![Need::Water, Need::Food, Need::Shelter, Need::Protection],
        severity: Severity::Severe,
        urgency: Urgency::Immediate,
        certainty: Certainty::Observed,
        location: Some(Location {
            lat: -4.0921,
            lon: 29.6243,
        }),
        text: Some(LocalizedText {
            text: "Abantu nka 400 bashitse n'amaguru, abenshi ni abagore n'abana. Bakeneye amazi."
                .into(),
            lang: "rn".into(),
        }),
        status: AlertStatus::Actual,
    };
    Alert::raise(
        draft,
        AlertOrigin {
            id: "01JQ3M4ZK8".into(),
            post: "mugina".into(),
            corridor: "mugina-manyovu".into(),
            country: Country::BI,
            raised_by: officer("ndayishimiye", Country::BI, "mugina"),
            raised_at: "2025-03-14T06:12:45.120Z".into(),
        },
    )
}

/// Acknowledged by Manyovu and updated twice; Swahili text, no location.
fn updated() -> Alert {
    let mut a = raised();
    a.acknowledgements.push(AlertAck {
        written_at: None,
        by: officer("mwakasege", Country::TZ, "manyovu"),
        at: "2025-03-14T06:14:02.000Z".into(),
    });
    a.headcount = Headcount::Single(420);
    a.location = None;
    a.text = Some(LocalizedText {
        text: "Watu 420 sasa; wanahitaji maji na makazi. Kituo cha mapokezi kimejaa <80%> & kinaendelea.".into(),
        lang: "sw".into(),
    });
    a.version = 3;
    a.updated_at = "2025-03-14T11:30:00.000+03:00".into();
    a
}

fn exercise() -> Alert {
    let mut a = raised();
    a.id = "ex 2025/03, drill".into();
    a.status = AlertStatus::Exercise;
    a.location = None;
    a.text = None;
    a
}

fn cancelled() -> Alert {
    let mut a = raised();
    a.state = AlertState::Cancelled;
    a.version = 2;
    a.updated_at = "2025-03-14T06:20:00.000Z".into();
    a.closing = Some(AlertClosing {
        reason: "Raised at the wrong post".into(),
        by: officer("ndayishimiye", Country::BI, "mugina"),
        at: "2025-03-14T06:20:00.000Z".into(),
    });
    a
}

fn resolved() -> Alert {
    let mut a = updated();
    a.status = AlertStatus::Test;
    a.state = AlertState::Resolved;
    a.kind = AlertKind::BorderClosure;
    a.version = 5;
    a.updated_at = "2025-03-14T17:40:00.000Z".into();
    a
}

fn all_alerts() -> Vec<(&'static str, Alert)> {
    vec![
        ("raised", raised()),
        ("updated", updated()),
        ("exercise", exercise()),
        ("cancelled", cancelled()),
        ("resolved test", resolved()),
        ("redacted", updated().redacted()),
    ]
}

/// Validates `doc` against the CAP 1.2 schema; `None` when xmllint is
/// missing (which fails the test under CI=true).
fn schema_errors(doc: &str) -> Option<Result<(), String>> {
    xmllint(&["--noout", "--schema", SCHEMA, "-"], doc)
}

fn xmllint(args: &[&str], doc: &str) -> Option<Result<(), String>> {
    let child = Command::new("xmllint")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            println!("SKIPPED: xmllint not installed (Debian package libxml2-utils)");
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "xmllint is required when CI=true: apt-get install -y libxml2-utils"
            );
            return None;
        }
        Err(e) => panic!("cannot run xmllint: {e}"),
    };
    let mut stdin = child.stdin.take().expect("stdin is piped");
    stdin.write_all(doc.as_bytes()).expect("write to xmllint");
    drop(stdin);
    let out = child.wait_with_output().expect("xmllint runs");
    Some(if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    })
}

#[test]
fn every_generated_document_validates_against_the_cap_schema() {
    for (name, alert) in all_alerts() {
        let doc = to_cap(&alert, SENDER);
        if let Some(result) = schema_errors(&doc) {
            assert_eq!(result, Ok(()), "{name} does not validate:\n{doc}");
        }
    }
}

#[test]
fn a_fresh_alert_is_a_restricted_actual_alert_with_a_point_area() {
    let doc = to_cap(&raised(), SENDER);
    for expected in [
        "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
        "<identifier>mpaka-01JQ3M4ZK8-v1</identifier>",
        "<sender>mpaka@migration.gov.bi</sender>",
        "<sent>2025-03-14T06:12:45-00:00</sent>",
        "<status>Actual</status>",
        "<msgType>Alert</msgType>",
        "<scope>Restricted</scope>",
        "<incidents>mpaka-01JQ3M4ZK8</incidents>",
        "<language>rn</language>",
        "<category>Safety</category>",
        "<event>Mass arrival of people</event>",
        "<urgency>Immediate</urgency>",
        "<severity>Severe</severity>",
        "<certainty>Observed</certainty>",
        "<headline>Mass arrival: about 400 people into Tanzania at post mugina</headline>",
        "Abantu nka 400 bashitse n&apos;amaguru",
        "<valueName>mpaka:headcount</valueName>\n      <value>350-450</value>",
        "<valueName>mpaka:vulnerable.injured_or_sick</valueName>\n      <value>0</value>",
        "<value>water food shelter protection</value>",
        "<areaDesc>post mugina, corridor mugina-manyovu</areaDesc>",
        "<circle>-4.0921,29.6243 0</circle>",
    ] {
        assert!(doc.contains(expected), "missing {expected:?} in\n{doc}");
    }
    assert!(!doc.contains("<references>"));
    assert!(!doc.contains("<note>"));
    assert!(!doc.contains("ndayishimiye"), "officer named in CAP");
    assert!(
        !doc.contains("persons_with_disabilities"),
        "an uncounted group was exported"
    );
}

#[test]
fn updates_and_cancellations_reference_the_original_message() {
    let doc = to_cap(&updated(), SENDER);
    assert!(doc.contains("<msgType>Update</msgType>"));
    assert!(doc.contains("<identifier>mpaka-01JQ3M4ZK8-v3</identifier>"));
    assert!(
        doc.contains("<sent>2025-03-14T11:30:00+03:00</sent>"),
        "offset kept:\n{doc}"
    );
    assert!(doc.contains(
        "<references>mpaka@migration.gov.bi,mpaka-01JQ3M4ZK8-v1,2025-03-14T06:12:45-00:00</references>"
    ));
    assert!(doc.contains("&lt;80%&gt; &amp; kinaendelea"));
    assert!(doc.contains("<language>sw</language>"));
    assert!(!doc.contains("<circle>"));

    let doc = to_cap(&cancelled(), SENDER);
    assert!(doc.contains("<msgType>Cancel</msgType>"));
    assert!(doc.contains("<references>mpaka@migration.gov.bi,mpaka-01JQ3M4ZK8-v1,"));

    let doc = to_cap(&resolved(), SENDER);
    assert!(doc.contains("<responseType>AllClear</responseType>"));
    assert!(
        doc.contains("<headline>TEST: Resolved: Border crossing closed at post mugina</headline>")
    );
    assert!(doc.contains("<status>Test</status>"));
    assert!(doc.contains("<note>TEST"));
}

#[test]
fn exercises_are_marked_as_such_in_status_note_and_headline() {
    let doc = to_cap(&exercise(), "mpaka hub, Bujumbura");
    assert!(doc.contains("<status>Exercise</status>"));
    assert!(doc.contains("<note>EXERCISE - not a real event."));
    assert!(doc.contains("<headline>EXERCISE: Mass arrival"));
    // CAP forbids spaces and commas in identifier and sender.
    assert!(doc.contains("<identifier>mpaka-ex_2025/03__drill-v1</identifier>"));
    assert!(doc.contains("<sender>mpaka_hub__Bujumbura</sender>"));
    // Without free text the description is the generated summary, in English.
    assert!(doc.contains("<language>en</language>"));
    assert!(doc.contains("Vulnerable: 12 unaccompanied or separated children"));
}

#[test]
fn a_round_trip_through_cap_keeps_the_structured_fields() {
    for (name, alert) in all_alerts() {
        let imported = from_cap(&to_cap(&alert, SENDER)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let d = &imported.draft;
        assert_eq!(d.post.as_deref(), Some(alert.post.as_str()), "{name}");
        assert_eq!(d.kind, alert.kind, "{name}");
        assert_eq!(d.direction, alert.direction, "{name}");
        assert_eq!(d.headcount, alert.headcount, "{name}");
        assert_eq!(d.vulnerable, alert.vulnerable, "{name}");
        assert_eq!(d.needs, alert.needs, "{name}");
        assert_eq!(d.severity, alert.severity, "{name}");
        assert_eq!(d.urgency, alert.urgency, "{name}");
        assert_eq!(d.certainty, alert.certainty, "{name}");
        assert_eq!(d.location, alert.location, "{name}");
        assert_eq!(d.status, alert.status, "{name}");
        if let Some(text) = &alert.text {
            assert_eq!(d.text.as_ref(), Some(text), "{name}");
        }
        assert_eq!(imported.state, Some(alert.state), "{name}");
        assert!(
            imported.inferred.is_empty(),
            "{name}: {:?}",
            imported.inferred
        );
        assert_eq!(imported.sender, SENDER);
        let expected = match (alert.state, alert.version) {
            (AlertState::Cancelled, _) => MsgType::Cancel,
            (_, 1) => MsgType::Alert,
            _ => MsgType::Update,
        };
        assert_eq!(imported.msg_type, expected, "{name}");
        assert_eq!(
            imported.references.len(),
            usize::from(expected != MsgType::Alert)
        );
    }
}

#[test]
fn the_specification_examples_are_valid_cap_but_not_border_movements() {
    for n in 1..=4 {
        let path = format!("{EXAMPLES}/cap12_appendix_a{n}.xml");
        let doc = std::fs::read_to_string(&path).unwrap();
        if let Some(result) = schema_errors(&doc) {
            assert_eq!(result, Ok(()), "{path} should validate");
        }
        match from_cap(&doc) {
            Err(CapError::Unsupported(problems)) => {
                let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
                assert!(fields.contains(&"direction"), "{path}: {problems:?}");
            }
            other => panic!("{path}: expected Unsupported, got {other:?}"),
        }
    }
}

/// A partner system's CAP alert with no mpaka parameters (written for this test).
const PARTNER_ALERT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<cap:alert xmlns:cap="urn:oasis:names:tc:emergency:cap:1.2">
  <cap:identifier>KGM-2025-0314-07</cap:identifier>
  <cap:sender>field.kigoma@partner.example</cap:sender>
  <cap:sent>2025-03-14T09:05:00+03:00</cap:sent>
  <cap:status>Actual</cap:status>
  <cap:msgType>Alert</cap:msgType>
  <cap:scope>Public</cap:scope>
  <cap:info>
    <cap:language>fr-BI</cap:language>
    <cap:category>Safety</cap:category>
    <cap:category>Rescue</cap:category>
    <cap:event>Afflux de réfugiés</cap:event>
    <cap:urgency>Expected</cap:urgency>
    <cap:severity>Moderate</cap:severity>
    <cap:certainty>Likely</cap:certainty>
    <cap:headline>Afflux attendu à Manyovu</cap:headline>
    <cap:description>Environ 1.200 personnes en route du Burundi, attendues ce soir.</cap:description>
    <cap:area>
      <cap:areaDesc>Manyovu, Buhigwe District</cap:areaDesc>
      <cap:circle>-4.1,29.65 5</cap:circle>
    </cap:area>
  </cap:info>
</cap:alert>"#;

#[test]
fn a_partner_alert_without_parameters_is_imported_by_its_wording() {
    if let Some(result) = schema_errors(PARTNER_ALERT) {
        assert_eq!(result, Ok(()), "the fixture itself must be valid CAP");
    }
    let imported = from_cap(PARTNER_ALERT).unwrap();
    assert_eq!(imported.identifier, "KGM-2025-0314-07");
    assert_eq!(imported.sent, "2025-03-14T09:05:00+03:00");
    let d = imported.draft;
    assert_eq!(d.kind, AlertKind::MassArrival);
    assert_eq!(d.direction, Direction::IntoTanzania);
    assert_eq!(d.headcount, Headcount::Single(1200));
    assert_eq!(d.severity, Severity::Moderate);
    assert_eq!(d.urgency, Urgency::Expected);
    assert_eq!(d.certainty, Certainty::Likely);
    assert_eq!(
        d.location,
        Some(Location {
            lat: -4.1,
            lon: 29.65
        })
    );
    assert_eq!(d.text.unwrap().lang, "fr-BI");
    assert_eq!(d.post, None);
    assert_eq!(imported.state, None);
    assert_eq!(imported.inferred, vec!["kind", "direction", "headcount"]);
}

fn invalid_fields(doc: &str) -> Vec<String> {
    match from_cap(doc) {
        Err(CapError::Invalid(p)) => p.into_iter().map(|p| p.field).collect(),
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn documents_breaking_cap_are_refused_with_every_problem_named() {
    let good = to_cap(&raised(), SENDER);
    let cap11 = good.replace("cap:1.2", "cap:1.1");
    assert_eq!(invalid_fields(&cap11), vec!["alert"]);
    let err = from_cap(&cap11).unwrap_err().to_string();
    assert!(
        err.contains("namespace urn:oasis:names:tc:emergency:cap:1.2"),
        "{err}"
    );

    let broken = good
        .replace("<status>Actual</status>", "<status>Real</status>")
        .replace(
            "<sent>2025-03-14T06:12:45-00:00</sent>",
            "<sent>2025-03-14T06:12:45Z</sent>",
        )
        .replace("<urgency>Immediate</urgency>", "")
        .replace("<severity>Severe</severity>", "<severity>severe</severity>")
        .replace(
            "<circle>-4.0921,29.6243 0</circle>",
            "<circle>-94,29 0</circle>",
        )
        .replace("<restriction>", "<note>")
        .replace("</restriction>", "</note>")
        .replace("<incidents>", "<incident>")
        .replace("</incidents>", "</incident>");
    let fields = invalid_fields(&broken);
    for expected in [
        "alert.sent",
        "alert.status",
        "alert.restriction",
        "alert.incident",
        "alert.info[0].urgency",
        "alert.info[0].severity",
        "alert.info[0].area[0].circle",
    ] {
        assert!(
            fields.iter().any(|f| f == expected),
            "{expected} not in {fields:?}"
        );
    }

    let no_identifier = good.replace("<identifier>mpaka-01JQ3M4ZK8-v1</identifier>", "");
    assert_eq!(invalid_fields(&no_identifier), vec!["alert.identifier"]);

    let bad_refs = to_cap(&updated(), SENDER).replace(
        "mpaka@migration.gov.bi,mpaka-01JQ3M4ZK8-v1,",
        "mpaka-01JQ3M4ZK8-v1,",
    );
    assert_eq!(invalid_fields(&bad_refs), vec!["alert.references"]);
}

#[test]
fn bad_mpaka_parameter_values_are_refused() {
    let good = to_cap(&raised(), SENDER);
    let doc = good
        .replace("<value>mass_arrival</value>", "<value>flood</value>")
        .replace("<value>350-450</value>", "<value>lots</value>")
        .replace(
            "<value>water food shelter protection</value>",
            "<value>water wifi</value>",
        );
    assert_eq!(
        invalid_fields(&doc),
        vec![
            "alert.info[0].parameter[mpaka:kind]",
            "alert.info[0].parameter[mpaka:headcount]",
            "alert.info[0].parameter[mpaka:needs]",
        ]
    );
    let negative = good.replace("<value>350-450</value>", "<value>-5</value>");
    assert_eq!(invalid_fields(&negative), vec!["draft.headcount"]);
    let inverted = good.replace("<value>350-450</value>", "<value>450-350</value>");
    assert_eq!(invalid_fields(&inverted), vec!["draft.headcount.low"]);
}

#[test]
fn drafts_acks_and_alerts_without_info_are_not_imported() {
    let good = to_cap(&raised(), SENDER);
    let draft = good.replace("<status>Actual</status>", "<status>Draft</status>");
    assert!(matches!(from_cap(&draft), Err(CapError::Unsupported(_))));
    let ack = good.replace("<msgType>Alert</msgType>", "<msgType>Ack</msgType>");
    assert!(matches!(from_cap(&ack), Err(CapError::Unsupported(_))));
    let start = good.find("  <info>").unwrap();
    let end = good.find("</info>").unwrap() + "</info>\n".len();
    let no_info = format!("{}{}", &good[..start], &good[end..]);
    let err = from_cap(&no_info).unwrap_err();
    assert_eq!(err.problems()[0].field, "alert.info", "{err}");
}

#[test]
fn an_update_imported_as_new_lists_its_msg_type_with_the_other_problems() {
    let good = to_cap(&raised(), SENDER);
    let update = good
        .replace("<msgType>Alert</msgType>", "<msgType>Update</msgType>")
        .replace("<value>350-450</value>", "<value>-5</value>");
    let err = new_alert_from_cap(&update).unwrap_err();
    let fields: Vec<&str> = err.problems().iter().map(|p| p.field.as_str()).collect();
    assert_eq!(fields.first(), Some(&"alert.msgType"), "{err}");
    assert!(
        fields.len() >= 2,
        "the headcount problem is listed too: {err}"
    );
    assert!(new_alert_from_cap(&good).is_ok());
}

#[test]
fn garbage_and_hostile_xml_is_refused_without_panicking() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&lol2;</identifier></alert>"#;
    let external = r#"<?xml version="1.0"?>
<!DOCTYPE alert [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&xxe;</identifier></alert>"#;
    let undefined_entity = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&nope;</identifier></alert>"#;
    let nul_char_ref = r#"<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>&#0;</identifier></alert>"#;
    let deep = format!("{}{}", "<a>".repeat(10_000), "</a>".repeat(10_000));
    let wide = format!("<a>{}</a>", "<b/>".repeat(30_000));
    let huge = format!("<a>{}</a>", "x".repeat(MAX_CAP_BYTES));
    let cases: Vec<(&str, String)> = vec![
        ("empty", String::new()),
        ("blank", "   \n".into()),
        ("not xml", "this is not xml".into()),
        ("json", r#"{"identifier": "x"}"#.into()),
        (
            "unclosed",
            "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">".into(),
        ),
        ("mismatched", "<a><b></a></b>".into()),
        ("two roots", "<a/><b/>".into()),
        ("undeclared prefix", "<x:alert/>".into()),
        ("billion laughs", billion_laughs.into()),
        ("external entity", external.into()),
        ("undefined entity", undefined_entity.into()),
        ("nul char ref", nul_char_ref.into()),
        ("deep", deep),
        ("wide", wide),
        ("huge", huge),
        (
            "no namespace",
            "<alert><identifier>x</identifier></alert>".into(),
        ),
        ("html", "<html><body>hi</body></html>".into()),
        ("truncated", to_cap(&raised(), SENDER)[..400].to_string()),
    ];
    for (name, input) in cases {
        let result = std::panic::catch_unwind(|| from_cap(&input));
        match result {
            Ok(Err(e)) => assert!(!e.to_string().is_empty(), "{name}"),
            Ok(Ok(imported)) => panic!("{name} was imported: {imported:?}"),
            Err(_) => panic!("{name} panicked"),
        }
    }
    assert!(matches!(
        from_cap(&format!("<a>{}</a>", "x".repeat(MAX_CAP_BYTES))),
        Err(CapError::TooLarge(_))
    ));
    assert!(matches!(
        from_cap("<x:alert/>"),
        Err(CapError::Malformed(_))
    ));
}

#[test]
fn the_feed_lists_open_alerts_with_links_to_their_cap_documents() {
    let mut other = updated();
    other.id = "01JQ/other id".into();
    let feed = cap_feed(
        &[raised(), cancelled(), exercise(), other, resolved()],
        SENDER,
        "2025-03-14T12:00:00.000Z",
    );
    let root = xml::parse(&feed).expect("well-formed");
    assert_eq!(root.name, "feed");
    assert_eq!(root.ns.as_deref(), Some("http://www.w3.org/2005/Atom"));
    let entries: Vec<_> = root.children.iter().filter(|c| c.name == "entry").collect();
    assert_eq!(entries.len(), 3, "only open alerts:\n{feed}");
    assert!(feed.contains("href=\"/api/v1/alerts/01JQ3M4ZK8/cap\""));
    assert!(feed.contains("href=\"/api/v1/alerts/01JQ%2Fother%20id/cap\""));
    assert!(feed.contains("<category term=\"exercise\"/>"));
    assert!(feed.contains("<title>EXERCISE: Mass arrival"));
    assert!(feed.contains("<summary>EXERCISE - Mass arrival"));
    assert!(feed.contains("<updated>2025-03-14T12:00:00.000Z</updated>"));
    // Newest update first, comparing instants, not strings: 11:30+03:00 is
    // 08:30 UTC, after the others' 06:12 UTC.
    let first = feed.find("01JQ%2Fother%20id").unwrap();
    let second = feed.find("/api/v1/alerts/01JQ3M4ZK8/cap").unwrap();
    assert!(first < second, "not sorted by update time:\n{feed}");
    if let Some(result) = xmllint(&["--noout", "-"], &feed) {
        assert_eq!(result, Ok(()), "feed not well-formed:\n{feed}");
    }
}

#[test]
fn cap_datetimes_have_no_fraction_and_write_utc_as_minus_zero() {
    assert_eq!(
        write::cap_datetime("2025-03-14T06:12:45.120Z"),
        "2025-03-14T06:12:45-00:00"
    );
    assert_eq!(
        write::cap_datetime("2025-03-14T08:12:45.999+02:00"),
        "2025-03-14T08:12:45+02:00"
    );
    assert_eq!(write::cap_datetime("garbage"), "1970-01-01T00:00:00-00:00");
}

#[test]
fn every_kind_has_a_valid_category_and_an_event_name() {
    for kind in AlertKind::ALL {
        assert!(
            ["Safety", "Health", "Security", "Transport", "Other"].contains(&category(*kind)),
            "{kind}"
        );
        assert!(!event_name(*kind).is_empty());
    }
    assert_eq!(cap_case("into_tanzania"), "IntoTanzania");
    assert_eq!(
        from_cap_case::<Certainty>("Observed"),
        Some(Certainty::Observed)
    );
    assert_eq!(from_cap_case::<Certainty>("observed"), None);
}

#[test]
fn the_schema_check_catches_a_broken_document() {
    // Guards the harness itself: a check that passes everything proves nothing.
    let broken =
        to_cap(&raised(), SENDER).replace("<status>Actual</status>", "<status>Real</status>");
    if let Some(result) = schema_errors(&broken) {
        let err = result.expect_err("an invalid status must fail the schema");
        assert!(err.contains("status"), "{err}");
    }
}
