use super::*;

const V2: &str = "\
# Accueil des mineurs non accompagnés

- Enregistrer l'enfant.
- Prévenir le point focal protection.
- Orienter vers le centre de transit.

Contact : coordination nationale.
";

/// Version 3: a step inserted, one reworded, the contact line removed.
const V3: &str = "\
# Accueil des mineurs non accompagnés

- Enregistrer l'enfant.
- Prévenir le point focal protection de l'enfance dans l'heure.
- Mener un entretien en présence d'un agent formé.
- Orienter vers le centre de transit.
";

fn ops(lines: &[DiffLine]) -> Vec<(DiffOp, Option<u32>, Option<u32>)> {
    lines
        .iter()
        .map(|l| (l.op, l.old_line, l.new_line))
        .collect()
}

#[test]
fn identical_texts_are_all_equal_lines() {
    let lines = line_diff(V2, V2);
    assert_eq!(lines.len(), 7);
    assert!(lines.iter().all(|l| l.op == DiffOp::Equal));
    assert_eq!(lines[6].text, "Contact : coordination nationale.");
    assert_eq!((lines[6].old_line, lines[6].new_line), (Some(7), Some(7)));
}

#[test]
fn a_realistic_revision_is_numbered_on_both_sides() {
    let lines = line_diff(V2, V3);
    use DiffOp::*;
    assert_eq!(
        ops(&lines),
        [
            (Equal, Some(1), Some(1)),
            (Equal, Some(2), Some(2)),
            (Equal, Some(3), Some(3)),
            (Delete, Some(4), None),
            (Insert, None, Some(4)),
            (Insert, None, Some(5)),
            (Equal, Some(5), Some(6)),
            (Delete, Some(6), None),
            (Delete, Some(7), None),
        ]
    );
    assert_eq!(lines[3].text, "- Prévenir le point focal protection.");
    assert_eq!(
        lines[5].text,
        "- Mener un entretien en présence d'un agent formé."
    );
    assert!(lines.iter().all(|l| !l.text.ends_with('\n')));
}

#[test]
fn the_old_and_new_texts_can_be_rebuilt_from_the_lines() {
    let lines = line_diff(V2, V3);
    let side = |keep: DiffOp| -> String {
        lines
            .iter()
            .filter(|l| l.op == DiffOp::Equal || l.op == keep)
            .map(|l| format!("{}\n", l.text))
            .collect()
    };
    assert_eq!(side(DiffOp::Delete), V2);
    assert_eq!(side(DiffOp::Insert), V3);
}

#[test]
fn line_endings_and_a_missing_final_newline_are_not_changes() {
    let crlf = V2.replace('\n', "\r\n");
    let unterminated = V2.trim_end_matches('\n');
    for other in [crlf.as_str(), unterminated] {
        assert!(line_diff(V2, other).iter().all(|l| l.op == DiffOp::Equal));
        assert_eq!(unified(V2, other, "a", "b"), "");
    }
}

#[test]
fn a_first_version_is_all_insertions() {
    let lines = line_diff("", "Hatua ya kwanza\nHatua ya pili\n");
    assert_eq!(
        ops(&lines),
        [
            (DiffOp::Insert, None, Some(1)),
            (DiffOp::Insert, None, Some(2))
        ]
    );
    assert!(line_diff("", "").is_empty());
}

#[test]
fn the_unified_diff_has_headers_hunks_and_marked_lines() {
    let text = unified(V2, V3, "minors-reception@2/fr", "minors-reception@3/fr");
    let expected = "\
--- minors-reception@2/fr
+++ minors-reception@3/fr
@@ -1,7 +1,6 @@
 # Accueil des mineurs non accompagnés
 
 - Enregistrer l'enfant.
-- Prévenir le point focal protection.
+- Prévenir le point focal protection de l'enfance dans l'heure.
+- Mener un entretien en présence d'un agent formé.
 - Orienter vers le centre de transit.
-
-Contact : coordination nationale.
";
    assert_eq!(text, expected);
}

#[test]
fn distant_edits_make_separate_hunks() {
    let old: String = (1..=30).map(|i| format!("Mstari {i}\n")).collect();
    let new = old
        .replace("Mstari 2\n", "Mstari wa pili\n")
        .replace("Mstari 28\n", "Mstari wa ishirini na nane\n");
    let text = unified(&old, &new, "a", "b");
    assert_eq!(
        text.matches("\n@@ ").count() + usize::from(text.starts_with("@@")),
        2,
        "{text}"
    );
    assert!(text.contains("@@ -1,5 +1,5 @@"), "{text}");
    assert!(text.contains("@@ -25,6 +25,6 @@"), "{text}");
}
