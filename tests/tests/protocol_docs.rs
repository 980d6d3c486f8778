//! The protocol documentation is checked against the code: the published
//! JSON Schema must be the one the types generate, and every JSON example
//! of a frame in the docs must validate against it and parse as a frame.

use mpaka_protocol::{ClientFrame, ServerFrame};
use std::path::PathBuf;

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs")
}

#[test]
fn the_published_schema_matches_the_code() {
    let published: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(docs().join("protocol.schema.json"))
            .expect("docs/protocol.schema.json"),
    )
    .expect("valid JSON");
    assert!(
        published == mpaka_protocol::json_schema(),
        "docs/protocol.schema.json is stale: regenerate it with `cargo run -p mpaka-server -- schema > docs/protocol.schema.json`"
    );
}

/// The ```json blocks of protocol.md, and the blocks tagged ```json frame
/// in the other protocol pages: every one is a frame.
fn frame_examples() -> Vec<(String, String)> {
    let mut examples = Vec::new();
    for (page, tag) in [
        ("protocol.md", "json"),
        ("alerts.md", "json frame"),
        ("sops.md", "json frame"),
        ("flows.md", "json frame"),
    ] {
        let Ok(text) = std::fs::read_to_string(docs().join(page)) else {
            continue;
        };
        let mut block: Option<String> = None;
        for (number, line) in text.lines().enumerate() {
            match &mut block {
                None if line.trim() == format!("```{tag}") => block = Some(String::new()),
                Some(body) if line.trim() == "```" => {
                    examples.push((format!("{page}:{number}"), std::mem::take(body)));
                    block = None;
                }
                Some(body) => {
                    body.push_str(line);
                    body.push('\n');
                }
                None => {}
            }
        }
    }
    examples
}

#[test]
fn every_frame_example_in_the_docs_is_valid() {
    let schema = mpaka_protocol::json_schema();
    let validator = jsonschema::draft7::new(&schema).expect("the schema compiles");
    let examples = frame_examples();
    assert!(
        examples.len() >= 18,
        "only {} examples found",
        examples.len()
    );
    for (place, text) in examples {
        let value: serde_json::Value =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{place}: not JSON: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .map(|e| format!("{e} at {}", e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{place} does not validate:\n{}\n{text}",
            errors.join("\n")
        );
        let as_client = serde_json::from_value::<ClientFrame>(value.clone());
        let as_server = serde_json::from_value::<ServerFrame>(value);
        assert!(
            as_client.is_ok() || as_server.is_ok(),
            "{place} validates but does not parse as a frame: {as_server:?}"
        );
    }
}

#[test]
fn every_error_code_is_documented() {
    let text = std::fs::read_to_string(docs().join("protocol.md")).unwrap();
    let schema = mpaka_protocol::json_schema();
    let codes = schema["definitions"]["ErrorCode"].to_string();
    let mut count = 0;
    for code in codes.split('"').filter(|s| {
        s.chars().all(|c| c.is_ascii_lowercase() || c == '_') && s.contains('_')
            || ["forbidden", "internal", "unavailable"].contains(s)
    }) {
        assert!(
            text.contains(&format!("`{code}`")),
            "error code {code} is not in docs/protocol.md"
        );
        count += 1;
    }
    assert!(count >= 19, "found only {count} codes in the schema");
}

/// Every field error code is documented in protocol.md's table, and the
/// console has a text for every one in each of its languages.
#[test]
fn every_field_error_code_is_documented_and_translated() {
    let protocol = std::fs::read_to_string(docs().join("protocol.md")).expect("protocol.md");
    let console = docs().join("../server/console/js/lang");
    for code in mpaka_protocol::FieldCode::ALL {
        assert!(
            protocol.contains(&format!("| `{code}` |")),
            "field code `{code}` is not in docs/protocol.md"
        );
        let wire = serde_json::to_value(code).expect("serializes");
        assert_eq!(wire, serde_json::json!(code.as_str()));
        if *code == mpaka_protocol::FieldCode::Invalid {
            continue; // shown with the hub's English message
        }
        for lang in ["fr", "en", "sw", "rn"] {
            let dict =
                std::fs::read_to_string(console.join(format!("{lang}.js"))).expect("dictionary");
            assert!(
                dict.contains(&format!("\"fe.{code}\":")),
                "no text for field code `{code}` in {lang}.js"
            );
        }
    }
    // An older hub's field error (no code) and a code from a newer hub both
    // read as `invalid`.
    let old: mpaka_protocol::FieldError =
        serde_json::from_str(r#"{"field": "text", "message": "must not be empty"}"#).unwrap();
    assert_eq!(old.code, mpaka_protocol::FieldCode::Invalid);
    let newer: mpaka_protocol::FieldError = serde_json::from_str(
        r#"{"field": "text", "code": "too_cheerful", "message": "too cheerful"}"#,
    )
    .unwrap();
    assert_eq!(newer.code, mpaka_protocol::FieldCode::Invalid);
}
