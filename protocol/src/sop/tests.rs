use super::*;
use serde_json::json;

fn minors_v3_input() -> SopDraftInput {
    let mut titles = BTreeMap::new();
    let mut bodies = BTreeMap::new();
    for (lang, title, body) in [
        (
            "fr",
            "Accueil des mineurs non accompagnés",
            "# Étapes\n\n1. Enregistrer l'enfant.",
        ),
        (
            "en",
            "Reception of unaccompanied minors",
            "# Steps\n\n1. Register the child.",
        ),
        (
            "sw",
            "Mapokezi ya watoto wasio na walezi",
            "# Hatua\n\n1. Sajili mtoto.",
        ),
        (
            "rn",
            "Kwakira abana batagira ababaherekeje",
            "# Intambwe\n\n1. Andika umwana.",
        ),
    ] {
        titles.insert(lang.to_string(), title.to_string());
        bodies.insert(lang.to_string(), body.to_string());
    }
    SopDraftInput {
        slug: "minors-reception".into(),
        owner: SopOwner::Joint,
        titles,
        bodies,
        change_summary: "Adds the child-protection referral step.".into(),
        effective_date: "2025-03-01".into(),
        audience: SopAudience {
            roles: vec![Role::Officer],
            corridors: vec!["mugina-manyovu".into()],
            ..SopAudience::default()
        },
    }
}

fn fields(input: &SopDraftInput) -> Vec<String> {
    input.validate().into_iter().map(|e| e.field).collect()
}

#[test]
fn a_complete_four_language_draft_is_valid() {
    assert_eq!(minors_v3_input().validate(), vec![]);
}

#[test]
fn malformed_slugs_are_refused() {
    for slug in [
        "",
        "ab",
        "Minors",
        "minors_reception",
        "-minors",
        "minors-",
        "a--b",
        "1minors",
        "mineurs-accompagnés",
    ] {
        let input = SopDraftInput {
            slug: slug.into(),
            ..minors_v3_input()
        };
        assert_eq!(fields(&input), ["slug"], "{slug:?}");
    }
    assert!(is_sop_slug("minors-reception-v2"));
}

#[test]
fn a_draft_without_any_body_is_refused() {
    let input = SopDraftInput {
        bodies: BTreeMap::new(),
        titles: BTreeMap::new(),
        ..minors_v3_input()
    };
    assert_eq!(fields(&input), ["bodies"]);
}

#[test]
fn unknown_language_codes_are_refused_by_field() {
    let mut input = minors_v3_input();
    input.bodies.insert("ln".into(), "Lingala".into());
    input.titles.insert("ln".into(), "Lingala".into());
    input.bodies.insert("FR".into(), "Majuscules".into());
    input.titles.insert("FR".into(), "Majuscules".into());
    assert_eq!(
        fields(&input),
        ["bodies.FR", "bodies.ln", "titles.FR", "titles.ln"]
    );
}

#[test]
fn a_body_over_the_size_limit_is_refused_and_one_at_the_limit_is_not() {
    let mut input = minors_v3_input();
    input.bodies.insert("sw".into(), "a".repeat(MAX_BODY_BYTES));
    assert_eq!(fields(&input), Vec::<String>::new());
    // Multi-byte characters count in bytes: 'é' is two.
    input
        .bodies
        .insert("sw".into(), "é".repeat(MAX_BODY_BYTES / 2 + 1));
    assert_eq!(fields(&input), ["bodies.sw"]);
}

#[test]
fn blank_bodies_nul_bytes_and_missing_titles_are_refused() {
    let mut input = minors_v3_input();
    input.bodies.insert("en".into(), "  \n\t".into());
    input.bodies.insert("fr".into(), "Texte\0caché".into());
    input.titles.remove("rn");
    input.titles.insert("sw".into(), "Kichwa\ncha pili".into());
    assert_eq!(
        fields(&input),
        ["bodies.en", "bodies.fr", "titles.rn", "titles.sw"]
    );
}

#[test]
fn a_title_without_a_body_is_refused() {
    let mut input = minors_v3_input();
    input.bodies.remove("rn");
    assert_eq!(fields(&input), ["titles.rn"]);
}

#[test]
fn effective_dates_must_be_real_calendar_days() {
    for ok in ["2025-03-01", "2024-02-29", "2000-02-29", "1970-01-01"] {
        assert!(is_iso_date(ok), "{ok}");
    }
    for bad in [
        "",
        "2025-3-01",
        "2025/03/01",
        "2025-02-29",
        "1900-02-29",
        "2025-13-01",
        "2025-04-31",
        "2025-00-10",
        "2025-01-00",
        "１２３４-01-01",
        "2025-03-01T00:00:00Z",
    ] {
        assert!(!is_iso_date(bad), "{bad}");
        let input = SopDraftInput {
            effective_date: bad.into(),
            ..minors_v3_input()
        };
        assert_eq!(fields(&input), ["effective_date"], "{bad}");
    }
}

#[test]
fn audience_entries_must_be_well_formed() {
    let mut input = minors_v3_input();
    input.audience = SopAudience {
        countries: vec![Country::BI, Country::BI],
        roles: vec![],
        posts: vec!["mugina".into(), "Kobero".into(), "".into()],
        corridors: vec!["mugina-manyovu".into(), "mugina-manyovu".into()],
    };
    assert_eq!(
        fields(&input),
        [
            "audience.countries",
            "audience.posts[1]",
            "audience.posts[2]",
            "audience.corridors"
        ]
    );
    input.audience = SopAudience {
        posts: vec!["p".into(); MAX_AUDIENCE_ENTRIES + 1],
        ..SopAudience::default()
    };
    assert_eq!(fields(&input), ["audience.posts"]);
}

#[test]
fn a_national_sop_cannot_address_the_other_country() {
    let mut input = minors_v3_input();
    input.owner = SopOwner::Burundi;
    input.audience.countries = vec![Country::TZ];
    assert_eq!(fields(&input), ["audience.countries"]);
    input.audience.countries = vec![Country::BI];
    assert_eq!(fields(&input), Vec::<String>::new());
}

#[test]
fn an_empty_audience_admits_everyone() {
    let all = SopAudience::everyone();
    assert!(all.admits(
        Role::Officer,
        Some(Country::TZ),
        Some("manyovu"),
        Some("mugina-manyovu")
    ));
    assert!(all.admits(Role::Coordinator, Some(Country::BI), None, None));
    assert!(all.admits(Role::Observer, None, None, None));
}

#[test]
fn audience_axes_combine_with_and_and_posts_or_corridors() {
    let audience = SopAudience {
        countries: vec![Country::BI],
        roles: vec![Role::Officer],
        posts: vec!["kobero".into()],
        corridors: vec!["mugina-manyovu".into()],
    };
    // Listed post, or a post in a listed corridor.
    assert!(audience.admits(
        Role::Officer,
        Some(Country::BI),
        Some("kobero"),
        Some("kobero-kabanga")
    ));
    assert!(audience.admits(
        Role::Officer,
        Some(Country::BI),
        Some("mugina"),
        Some("mugina-manyovu")
    ));
    // Wrong place, country or role.
    assert!(!audience.admits(
        Role::Officer,
        Some(Country::BI),
        Some("gisuru"),
        Some("gisuru-kibondo")
    ));
    assert!(!audience.admits(
        Role::Officer,
        Some(Country::TZ),
        Some("manyovu"),
        Some("mugina-manyovu")
    ));
    assert!(!audience.admits(Role::Coordinator, Some(Country::BI), Some("kobero"), None));
    // No value on a restricted axis: not admitted.
    assert!(!audience.admits(Role::Officer, None, Some("kobero"), None));
    assert!(!audience.admits(Role::Officer, Some(Country::BI), None, None));
}

#[test]
fn a_role_only_audience_admits_coordinators_without_a_post() {
    let audience = SopAudience {
        roles: vec![Role::Coordinator],
        ..SopAudience::default()
    };
    assert!(audience.admits(Role::Coordinator, Some(Country::TZ), None, None));
    assert!(!audience.admits(Role::Officer, Some(Country::TZ), Some("manyovu"), None));
}

#[test]
fn drafts_are_visible_only_to_the_owning_countrys_coordinators() {
    assert!(SopOwner::Burundi.drafts_visible_to(Role::Coordinator, Some(Country::BI)));
    assert!(!SopOwner::Burundi.drafts_visible_to(Role::Coordinator, Some(Country::TZ)));
    assert!(!SopOwner::Burundi.drafts_visible_to(Role::Officer, Some(Country::BI)));
    assert!(SopOwner::Joint.drafts_visible_to(Role::Coordinator, Some(Country::TZ)));
    assert!(SopOwner::Joint.drafts_visible_to(Role::Coordinator, Some(Country::BI)));
    assert!(!SopOwner::Joint.drafts_visible_to(Role::Observer, None));
    assert!(!SopOwner::Joint.drafts_visible_to(Role::Admin, Some(Country::BI)));
}

#[test]
fn languages_parse_only_from_their_lowercase_codes() {
    for lang in Lang::ALL {
        assert_eq!(lang.as_str().parse::<Lang>(), Ok(lang));
        assert_eq!(serde_json::to_value(lang).unwrap(), json!(lang.as_str()));
    }
    assert!("FR".parse::<Lang>().is_err());
    assert!("fr-BI".parse::<Lang>().is_err());
}

#[test]
fn owners_and_states_serialize_as_documented() {
    assert_eq!(
        serde_json::to_value(SopOwner::Burundi).unwrap(),
        json!("BI")
    );
    assert_eq!(
        serde_json::to_value(SopOwner::Tanzania).unwrap(),
        json!("TZ")
    );
    assert_eq!(
        serde_json::to_value(SopOwner::Joint).unwrap(),
        json!("joint")
    );
    assert_eq!(SopOwner::from(Country::TZ), SopOwner::Tanzania);
    assert_eq!(
        serde_json::to_value(SopState::Superseded).unwrap(),
        json!("superseded")
    );
}

#[test]
fn a_draft_input_reads_from_client_json_with_defaults() {
    let input: SopDraftInput = serde_json::from_value(json!({
        "slug": "minors-reception",
        "owner": "BI",
        "titles": { "fr": "Accueil des mineurs" },
        "bodies": { "fr": "Texte" },
        "effective_date": "2025-03-01"
    }))
    .unwrap();
    assert_eq!(input.audience, SopAudience::everyone());
    assert_eq!(input.change_summary, "");
    assert_eq!(input.validate(), vec![]);
}

pub(super) fn author() -> Author {
    Author {
        id: Some(7),
        username: Some("ndayishimiye".into()),
        display_name: Some("Aline Ndayishimiye".into()),
        role: Role::Coordinator,
        country: Some(Country::BI),
        post: None,
    }
}

#[test]
fn a_published_version_round_trips_with_language_keyed_maps() {
    let version = SopVersion {
        slug: "minors-reception".into(),
        version: 3,
        owner: SopOwner::Joint,
        titles: BTreeMap::from([
            (Lang::Rn, "Kwakira abana".into()),
            (Lang::Fr, "Accueil des mineurs".into()),
        ]),
        bodies: BTreeMap::from([(Lang::Rn, "Umwana".into()), (Lang::Fr, "L'enfant".into())]),
        change_summary: String::new(),
        effective_date: "2025-03-01".into(),
        audience: SopAudience::everyone(),
        author: author(),
        published_at: Some("2025-02-20T08:00:00.000Z".into()),
        state: SopState::Published,
    };
    let value = serde_json::to_value(&version).unwrap();
    assert_eq!(
        value["titles"],
        json!({ "fr": "Accueil des mineurs", "rn": "Kwakira abana" })
    );
    assert_eq!(value["audience"], json!({}));
    assert_eq!(value["state"], json!("published"));
    let text = serde_json::to_string(&version).unwrap();
    // Languages are listed fr, en, sw, rn.
    assert!(text.find("\"fr\"").unwrap() < text.find("\"rn\"").unwrap());
    assert_eq!(
        serde_json::from_value::<SopVersion>(value).unwrap(),
        version
    );
    assert_eq!(version.redacted().author.username, None);
}

#[test]
fn a_stored_version_with_an_unknown_language_is_refused() {
    let err = serde_json::from_value::<BTreeMap<Lang, String>>(json!({ "de": "Text" }));
    assert!(err.is_err());
}

#[test]
fn diff_lines_serialize_without_absent_line_numbers() {
    let diff = SopDiff {
        slug: "minors-reception".into(),
        from: 2,
        to: 3,
        lang: Lang::Sw,
        lines: vec![
            DiffLine {
                op: DiffOp::Equal,
                old_line: Some(1),
                new_line: Some(1),
                text: "# Hatua".into(),
            },
            DiffLine {
                op: DiffOp::Insert,
                old_line: None,
                new_line: Some(2),
                text: "Mpya".into(),
            },
        ],
    };
    assert_eq!(
        serde_json::to_value(&diff).unwrap(),
        json!({
            "slug": "minors-reception", "from": 2, "to": 3, "lang": "sw",
            "lines": [
                { "op": "equal", "old_line": 1, "new_line": 1, "text": "# Hatua" },
                { "op": "insert", "new_line": 2, "text": "Mpya" }
            ]
        })
    );
}

#[test]
fn sop_events_carry_kind_and_body_and_observers_do_not_see_the_author() {
    let version = SopVersion {
        slug: "minors-reception".into(),
        version: 3,
        owner: SopOwner::Joint,
        titles: BTreeMap::from([(Lang::En, "Reception of unaccompanied minors".into())]),
        bodies: BTreeMap::from([(Lang::En, "# Steps".into())]),
        change_summary: "Referral step".into(),
        effective_date: "2025-03-01".into(),
        audience: SopAudience::everyone(),
        author: author(),
        published_at: Some("2025-02-20T08:00:00.000Z".into()),
        state: SopState::Published,
    };
    let event = crate::Event {
        seq: 41,
        channel: "joint".parse().unwrap(),
        at: "2025-02-20T08:00:00.000Z".into(),
        author: Some(author()),
        data: crate::EventData::SopPublished(Box::new(version)),
    };
    let value = serde_json::to_value(&event).unwrap();
    assert_eq!(value["kind"], json!("sop.published"));
    assert_eq!(value["body"]["version"], json!(3));
    assert_eq!(value["body"]["author"]["username"], json!("ndayishimiye"));
    assert_eq!(
        serde_json::from_value::<crate::Event>(value).unwrap(),
        event
    );
    assert_eq!(event.data.kind(), "sop.published");
    let crate::EventData::SopPublished(seen) = event.data.redacted() else {
        panic!("kind changed by redaction");
    };
    assert_eq!(seen.author.display_name, None);
    assert_eq!(seen.author.country, Some(Country::BI));

    let retired = crate::EventData::SopRetired(SopRetired {
        slug: "minors-reception".into(),
        reason: "Replaced by the joint child-protection SOP".into(),
    });
    assert_eq!(
        serde_json::to_value(&retired).unwrap(),
        json!({ "kind": "sop.retired", "body": { "slug": "minors-reception", "reason": "Replaced by the joint child-protection SOP" } })
    );
    let reminder: crate::EventData = serde_json::from_value(json!({
        "kind": "sop.reminder",
        "body": { "slug": "minors-reception", "version": 3, "title": "Mapokezi ya watoto" }
    }))
    .unwrap();
    assert_eq!(reminder.kind(), "sop.reminder");
    assert_eq!(reminder.redacted(), reminder);
}

#[test]
fn the_protocol_schema_includes_the_sop_types() {
    let mut generator = schemars::generate::SchemaSettings::draft07().into_generator();
    generator.subschema_for::<crate::EventData>();
    generator.subschema_for::<SopDraftInput>();
    generator.subschema_for::<SopCoverage>();
    generator.subschema_for::<SopDiff>();
    let defs = generator.take_definitions(true);
    for name in [
        "SopVersion",
        "SopAudience",
        "Lang",
        "SopOwner",
        "SopReminder",
        "SopDraftInput",
        "CoverageGroup",
        "DiffLine",
    ] {
        assert!(defs.contains_key(name), "{name} missing from schema");
    }
}
