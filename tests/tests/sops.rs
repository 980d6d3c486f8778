//! The SOP library end to end: who may do each step, live delivery of a
//! publication to its audience only (and on resume), acknowledgements per
//! version, coverage, reminders, diffs, safe HTML, drafts kept private,
//! idempotent retries and reading in the user's language.

use mpaka_protocol::{
    ChannelId, ClientFrame, Country, Event, EventData, ServerFrame, SopDraftInput,
};
use mpaka_tests::{ch, uuid_like, Client, TestHub};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

/// Long enough for a live event to arrive if it were going to.
const QUIET: Duration = Duration::from_millis(600);

const OFFICERS: [(&str, &str); 6] = [
    ("mugina.officer", "BI"),
    ("gisuru.officer", "BI"),
    ("kobero.officer", "BI"),
    ("manyovu.officer", "TZ"),
    ("kibondo.officer", "TZ"),
    ("kabanga.officer", "TZ"),
];
const EVERYONE: [&str; 11] = [
    "mugina.officer",
    "gisuru.officer",
    "kobero.officer",
    "manyovu.officer",
    "kibondo.officer",
    "kabanga.officer",
    "bi.coordinator",
    "tz.coordinator",
    "unhcr.observer",
    "admin",
    "auditor",
];

/// A hub with every demo user logged in over REST.
struct Library {
    hub: TestHub,
    tokens: BTreeMap<&'static str, String>,
    ids: BTreeMap<&'static str, i64>,
}

impl Library {
    async fn start() -> Library {
        Library::with_hub(TestHub::start().await).await
    }

    async fn with_hub(hub: TestHub) -> Library {
        let mut tokens = BTreeMap::new();
        let mut ids = BTreeMap::new();
        for user in EVERYONE {
            let login = hub.login(user).await;
            ids.insert(user, login.user.id);
            tokens.insert(user, login.access_token);
        }
        Library { hub, tokens, ids }
    }

    /// Sends a request as `user`; returns status and JSON body.
    async fn call(
        &self,
        user: &str,
        method: &str,
        path: &str,
        body: Option<Value>,
        key: Option<&str>,
    ) -> (u16, Value) {
        let url = self.hub.url(&format!("/api/v1/sops{path}"));
        let http = self.hub.http();
        let mut request = match method {
            "GET" => http.get(url),
            "POST" => http.post(url),
            "PUT" => http.put(url),
            other => panic!("method {other}"),
        }
        .bearer_auth(&self.tokens[user]);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(key) = key {
            request = request.header("Idempotency-Key", key);
        }
        let response = request.send().await.expect("request");
        let status = response.status().as_u16();
        let text = response.text().await.expect("body");
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    async fn get(&self, user: &str, path: &str) -> (u16, Value) {
        self.call(user, "GET", path, None, None).await
    }

    async fn post(&self, user: &str, path: &str, body: Value) -> (u16, Value) {
        self.call(user, "POST", path, Some(body), None).await
    }

    /// Creates (or redrafts) and publishes an SOP as `coordinator`.
    async fn publish(&self, coordinator: &str, draft: &Value) -> Value {
        let slug = draft["slug"].as_str().expect("slug").to_owned();
        let (status, _) = self.get(coordinator, &format!("/{slug}")).await;
        let (status, saved) = if status == 200 {
            self.call(
                coordinator,
                "PUT",
                &format!("/{slug}/draft"),
                Some(draft.clone()),
                None,
            )
            .await
        } else {
            self.post(coordinator, "", draft.clone()).await
        };
        assert!(matches!(status, 200 | 201), "draft of {slug}: {saved}");
        let (status, receipt) = self
            .post(coordinator, &format!("/{slug}/publish"), json!({}))
            .await;
        assert_eq!(status, 201, "publish of {slug}: {receipt}");
        receipt
    }

    async fn connect(&self, user: &str) -> Client {
        self.hub
            .connect_with_token(&self.tokens[user])
            .await
            .expect("connects")
    }
}

/// A draft body for `POST /api/v1/sops`.
fn draft(slug: &str, owner: &str, audience: Value, bodies: &[(&str, &str, &str)]) -> Value {
    let titles: BTreeMap<&str, &str> = bodies.iter().map(|(l, t, _)| (*l, *t)).collect();
    let texts: BTreeMap<&str, &str> = bodies.iter().map(|(l, _, b)| (*l, *b)).collect();
    let value = json!({
        "slug": slug,
        "owner": owner,
        "titles": titles,
        "bodies": texts,
        "change_summary": "",
        "effective_date": "2025-03-01",
        "audience": audience,
    });
    // The body is exactly what a Rust client would send.
    serde_json::from_value::<SopDraftInput>(value.clone()).expect("a well-formed draft");
    value
}

fn simple(slug: &str, owner: &str, audience: Value) -> Value {
    draft(
        slug,
        owner,
        audience,
        &[("fr", "Procédure", "# Étapes\n\n1. Accueillir.\n")],
    )
}

/// The channels among `national:*` and `joint` that `user` may read.
fn broadcast_channels(user: &str) -> Vec<ChannelId> {
    let country = OFFICERS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, c)| *c)
        .or(match user {
            "bi.coordinator" => Some("BI"),
            "tz.coordinator" => Some("TZ"),
            _ => None,
        });
    let mut channels = vec![ch("joint")];
    if let Some(country) = country {
        channels.push(ch(&format!("national:{country}")));
    }
    channels
}

/// SOP events among `events`: (kind, slug).
fn sop_events(events: &[Event]) -> Vec<(&'static str, String)> {
    events
        .iter()
        .filter_map(|e| match &e.data {
            EventData::SopPublished(v) => Some(("sop.published", v.slug.clone())),
            EventData::SopRetired(r) => Some(("sop.retired", r.slug.clone())),
            EventData::SopReminder(r) => Some(("sop.reminder", r.slug.clone())),
            _ => None,
        })
        .collect()
}

/// Sends a request on the socket and waits for its reply, keeping events.
async fn ask(client: &mut Client, frame: ClientFrame, events: &mut Vec<Event>) -> ServerFrame {
    let id = frame.id().to_owned();
    client.send(&frame).await;
    loop {
        match client.recv().await.expect("a frame") {
            ServerFrame::Event(event) => events.push(event),
            reply if reply.reply_id() == Some(id.as_str()) => return reply,
            _ => {}
        }
    }
}

fn code(body: &Value) -> &str {
    body["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn every_step_follows_the_permission_matrix_for_every_demo_user() {
    let lib = Library::start().await;
    lib.publish("bi.coordinator", &simple("bi-only", "BI", json!({})))
        .await;
    // A pending draft (version 2) on top of the published version 1.
    let (status, _) = lib
        .call(
            "bi.coordinator",
            "PUT",
            "/bi-only/draft",
            Some(simple("bi-only", "BI", json!({}))),
            None,
        )
        .await;
    assert_eq!(status, 200);
    lib.publish("tz.coordinator", &simple("tz-only", "TZ", json!({})))
        .await;
    lib.publish("tz.coordinator", &simple("joint-all", "joint", json!({})))
        .await;
    let (status, _) = lib
        .post("bi.coordinator", "", simple("bi-draft", "BI", json!({})))
        .await;
    assert_eq!(status, 201);

    for user in EVERYONE {
        let country = OFFICERS
            .iter()
            .find(|(u, _)| *u == user)
            .map(|(_, c)| *c)
            .or(match user {
                "bi.coordinator" => Some("BI"),
                "tz.coordinator" => Some("TZ"),
                _ => None,
            });
        let staff = matches!(user, "admin" | "auditor");

        // The list: own country's SOPs, joint ones, own drafts.
        let (status, list) = lib.get(user, "").await;
        if staff {
            assert_eq!((status, code(&list)), (403, "forbidden"), "{user} list");
        } else {
            let slugs: BTreeSet<&str> = list
                .as_array()
                .expect("a list")
                .iter()
                .filter_map(|s| s["slug"].as_str())
                .collect();
            let mut expected = BTreeSet::from(["joint-all"]);
            match country {
                Some("BI") => expected.insert("bi-only"),
                Some("TZ") => expected.insert("tz-only"),
                _ => false,
            };
            if user == "bi.coordinator" {
                expected.insert("bi-draft");
            }
            assert_eq!(slugs, expected, "{user} list");
        }

        // Reading: the draft-only SOP and the pending draft are the BI
        // coordinator's alone; the other country's SOP does not exist.
        for (path, allowed) in [
            ("/bi-draft", user == "bi.coordinator"),
            ("/bi-only/versions/2", user == "bi.coordinator"),
            ("/bi-only/versions/1", country == Some("BI")),
            ("/tz-only/versions/current", country == Some("TZ")),
            ("/joint-all/versions/1", !staff),
            ("/bi-only/diff?from=1&to=2", user == "bi.coordinator"),
        ] {
            let (status, body) = lib.get(user, path).await;
            let expected = match (allowed, staff) {
                (true, _) => 200,
                (false, true) => 403,
                (false, false) => 404,
            };
            assert_eq!(status, expected, "{user} GET {path}: {body}");
        }

        // Coordination steps: only the owners' coordinators.
        let tz_owner = user == "tz.coordinator";
        let either = matches!(user, "bi.coordinator" | "tz.coordinator");
        for (path, allowed) in [
            ("/joint-all/versions/1/coverage", either),
            ("/tz-only/versions/current/coverage", tz_owner),
            ("/bi-only/versions/1/coverage", user == "bi.coordinator"),
        ] {
            let (status, body) = lib.get(user, path).await;
            let expected = if allowed { 200 } else { 403 };
            assert_eq!(status, expected, "{user} GET {path}: {body}");
        }
        if !tz_owner {
            let (status, body) = lib
                .call(
                    user,
                    "PUT",
                    "/tz-only/draft",
                    Some(simple("tz-only", "TZ", json!({}))),
                    None,
                )
                .await;
            assert_eq!(
                (status, code(&body)),
                (403, "forbidden"),
                "{user} edit tz-only"
            );
            for (path, body) in [
                ("/tz-only/publish", json!({})),
                ("/tz-only/retire", json!({"reason": "replaced"})),
                ("/tz-only/versions/1/remind", json!({})),
            ] {
                let (status, reply) = lib.post(user, path, body).await;
                assert_eq!((status, code(&reply)), (403, "forbidden"), "{user} {path}");
            }
            let (status, reply) = lib.post(user, "", simple("tz-new", "TZ", json!({}))).await;
            assert_eq!(
                (status, code(&reply)),
                (403, "forbidden"),
                "{user} create tz-new"
            );
        }
        if user != "bi.coordinator" {
            let (status, reply) = lib.post(user, "/bi-draft/publish", json!({})).await;
            assert_eq!(
                (status, code(&reply)),
                (403, "forbidden"),
                "{user} publish bi-draft"
            );
        }

        // Acknowledging: anyone in the audience who may read the SOP.
        let (status, reply) = lib.post(user, "/joint-all/versions/1/ack", json!({})).await;
        let expected = if staff { 403 } else { 201 };
        assert_eq!(status, expected, "{user} ack joint-all: {reply}");
        let (status, reply) = lib.post(user, "/bi-only/versions/1/ack", json!({})).await;
        let expected = match (country, staff) {
            (Some("BI"), _) => 201,
            (_, true) => 403,
            _ => 404,
        };
        assert_eq!(status, expected, "{user} ack bi-only: {reply}");
    }

    // What the owners may do, they can.
    let (status, _) = lib
        .post("bi.coordinator", "/bi-draft/publish", json!({}))
        .await;
    assert_eq!(status, 201);
    let (status, _) = lib
        .post(
            "tz.coordinator",
            "/tz-only/versions/current/remind",
            json!({}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, _) = lib
        .post(
            "tz.coordinator",
            "/tz-only/retire",
            json!({"reason": "replaced"}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = lib
        .post(
            "tz.coordinator",
            "/tz-only/retire",
            json!({"reason": "again"}),
        )
        .await;
    assert_eq!((status, code(&body)), (409, "invalid_state"));
    // Either country's coordinator may draft a joint SOP.
    let joint = simple("joint-all", "joint", json!({}));
    let (status, _) = lib
        .call(
            "bi.coordinator",
            "PUT",
            "/joint-all/draft",
            Some(joint),
            None,
        )
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_publication_reaches_its_audience_live_and_on_resume_and_nobody_else() {
    let lib = Library::start().await;
    let readers: Vec<&str> = EVERYONE
        .iter()
        .copied()
        .filter(|u| !matches!(*u, "admin" | "auditor"))
        .collect();
    let mut clients = Vec::new();
    for user in &readers {
        let mut client = lib.connect(user).await;
        client
            .subscribe(&broadcast_channels(user), None)
            .await
            .expect("subscribes");
        clients.push((*user, client));
    }
    let before = lib.hub.state.store.head_seq().await.expect("head");

    // A joint SOP for the officers of one corridor, and a Burundian one for everyone.
    let corridor = json!({"roles": ["officer"], "corridors": ["mugina-manyovu"]});
    lib.publish("tz.coordinator", &simple("corridor-sop", "joint", corridor))
        .await;
    lib.publish("bi.coordinator", &simple("bi-sop", "BI", json!({})))
        .await;

    let expected = |user: &str| -> Vec<(&'static str, String)> {
        let mut e = Vec::new();
        if matches!(user, "mugina.officer" | "manyovu.officer") {
            e.push(("sop.published", "corridor-sop".to_owned()));
        }
        if matches!(
            user,
            "mugina.officer" | "gisuru.officer" | "kobero.officer" | "bi.coordinator"
        ) {
            e.push(("sop.published", "bi-sop".to_owned()));
        }
        e
    };
    for (user, client) in &mut clients {
        let events = client.events_within(QUIET).await;
        assert_eq!(sop_events(&events), expected(user), "{user} live");
        if let Some(event) = events.first() {
            let EventData::SopPublished(version) = &event.data else {
                panic!("not a publication");
            };
            assert_eq!(version.state, mpaka_protocol::SopState::Published);
            assert!(version.published_at.is_some());
        }
    }

    // Officers who were offline get the same on resume, and no more.
    for (user, _) in clients.drain(..) {
        let mut client = lib.connect(user).await;
        let (replayed, _) = client
            .subscribe(&broadcast_channels(user), Some(before))
            .await
            .expect("resumes");
        assert_eq!(sop_events(&replayed), expected(user), "{user} on resume");
    }

    // Retirement goes to the same audience.
    let mut manyovu = lib.connect("manyovu.officer").await;
    manyovu
        .subscribe(&[ch("joint")], None)
        .await
        .expect("subscribes");
    let mut kabanga = lib.connect("kabanga.officer").await;
    kabanga
        .subscribe(&[ch("joint")], None)
        .await
        .expect("subscribes");
    let (status, _) = lib
        .post(
            "bi.coordinator",
            "/corridor-sop/retire",
            json!({"reason": "merged"}),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        sop_events(&manyovu.events_within(QUIET).await),
        [("sop.retired", "corridor-sop".to_owned())]
    );
    assert!(sop_events(&kabanga.events_within(QUIET).await).is_empty());
}

#[tokio::test]
async fn acknowledgements_count_per_version_and_coverage_adds_up() {
    let lib = Library::start().await;
    let sop = simple("water-points", "BI", json!({}));
    lib.publish("bi.coordinator", &sop).await;
    for user in ["mugina.officer", "gisuru.officer"] {
        let (status, receipt) = lib
            .post(user, "/water-points/versions/1/ack", json!({}))
            .await;
        assert_eq!(status, 201);
        assert_eq!(receipt["duplicate"], false);
    }
    // A second acknowledgement changes nothing and says so.
    let (status, again) = lib
        .post("mugina.officer", "/water-points/versions/1/ack", json!({}))
        .await;
    assert_eq!((status, again["duplicate"].clone()), (200, json!(true)));

    let (_, reading) = lib
        .get("mugina.officer", "/water-points/versions/current")
        .await;
    assert!(reading["acknowledged_at"].is_string());
    assert_eq!(reading["in_audience"], true);
    let (_, reading) = lib
        .get("kobero.officer", "/water-points/versions/current")
        .await;
    assert!(reading.get("acknowledged_at").is_none());

    let summary = |c: &Value, group: &str| -> Vec<(Option<String>, u64, u64, u64)> {
        c[group]
            .as_array()
            .expect("groups")
            .iter()
            .map(|g| {
                (
                    g["key"].as_str().map(str::to_owned),
                    g["total"].as_u64().unwrap(),
                    g["acknowledged"].as_u64().unwrap(),
                    g["missing"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let (status, v1) = lib
        .get("bi.coordinator", "/water-points/versions/1/coverage")
        .await;
    assert_eq!(status, 200);
    // Three Burundian officers and the Burundian coordinator.
    assert_eq!(
        (&v1["audience_total"], &v1["acknowledged"], &v1["missing"]),
        (&json!(4), &json!(2), &json!(2))
    );
    let s = |k: &str| Some(k.to_owned());
    assert_eq!(
        summary(&v1, "by_post"),
        [
            (s("gisuru"), 1, 1, 0),
            (s("kobero"), 1, 0, 1),
            (s("mugina"), 1, 1, 0),
            (None, 1, 0, 1)
        ]
    );
    assert_eq!(summary(&v1, "by_country"), [(s("BI"), 4, 2, 2)]);

    // Version 2 needs new acknowledgements; version 1 cannot be acknowledged any more.
    lib.publish("bi.coordinator", &sop).await;
    let (status, body) = lib
        .post("kobero.officer", "/water-points/versions/1/ack", json!({}))
        .await;
    assert_eq!((status, code(&body)), (409, "invalid_state"));
    let (_, v2) = lib
        .get("bi.coordinator", "/water-points/versions/current/coverage")
        .await;
    assert_eq!(
        (&v2["version"], &v2["acknowledged"]),
        (&json!(2), &json!(0))
    );
    let (status, _) = lib
        .post("kobero.officer", "/water-points/versions/2/ack", json!({}))
        .await;
    assert_eq!(status, 201);
    let (_, v2) = lib
        .get("bi.coordinator", "/water-points/versions/2/coverage")
        .await;
    assert_eq!(summary(&v2, "by_country"), [(s("BI"), 4, 1, 3)]);
    let (_, v1) = lib
        .get("bi.coordinator", "/water-points/versions/1/coverage")
        .await;
    assert_eq!(v1["acknowledged"], 2);

    // A joint SOP's coverage spans both countries; outsiders may not acknowledge.
    let corridor = json!({"roles": ["officer"], "corridors": ["mugina-manyovu"]});
    lib.publish(
        "bi.coordinator",
        &simple("joint-corridor", "joint", corridor),
    )
    .await;
    let (status, _) = lib
        .post(
            "mugina.officer",
            "/joint-corridor/versions/1/ack",
            json!({}),
        )
        .await;
    assert_eq!(status, 201);
    let (status, body) = lib
        .post(
            "kobero.officer",
            "/joint-corridor/versions/1/ack",
            json!({}),
        )
        .await;
    assert_eq!((status, code(&body)), (403, "forbidden"));
    let (_, joint) = lib
        .get("tz.coordinator", "/joint-corridor/versions/1/coverage")
        .await;
    assert_eq!(
        summary(&joint, "by_country"),
        [(s("BI"), 1, 1, 0), (s("TZ"), 1, 0, 1)]
    );
    assert_eq!(
        joint["by_post"][0]["missing_users"][0]["display_name"],
        "Officer at Manyovu"
    );
}

#[tokio::test]
async fn reminders_reach_only_the_readers_who_have_not_acknowledged() {
    let lib = Library::start().await;
    lib.publish(
        "bi.coordinator",
        &draft(
            "night-crossings",
            "BI",
            json!({"roles": ["officer"]}),
            &[
                ("fr", "Passages de nuit", "Texte"),
                ("en", "Night crossings", "Text"),
            ],
        ),
    )
    .await;
    let (status, _) = lib
        .post(
            "mugina.officer",
            "/night-crossings/versions/1/ack",
            json!({}),
        )
        .await;
    assert_eq!(status, 201);
    let mut inboxes = Vec::new();
    for user in EVERYONE {
        let mut client = lib.connect(user).await;
        let inbox = ChannelId::User(lib.ids[user]);
        client.subscribe(&[inbox], None).await.expect("subscribes");
        inboxes.push((user, client));
    }

    let (status, receipt) = lib
        .call(
            "bi.coordinator",
            "POST",
            "/night-crossings/versions/current/remind",
            Some(json!({"message": "Merci de lire avant vendredi."})),
            Some("remind-1"),
        )
        .await;
    assert_eq!(status, 201, "{receipt}");
    let recipients: BTreeSet<&str> = receipt["recipients"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["display_name"].as_str())
        .collect();
    assert_eq!(
        recipients,
        BTreeSet::from(["Officer at Gisuru", "Officer at Kobero"])
    );
    for (user, client) in &mut inboxes {
        let events = client.events_within(QUIET).await;
        let reminded = matches!(*user, "gisuru.officer" | "kobero.officer");
        assert_eq!(events.len(), usize::from(reminded), "{user}");
        if let Some(event) = events.first() {
            let EventData::SopReminder(reminder) = &event.data else {
                panic!("{user} got {event:?}");
            };
            assert_eq!(reminder.title, "Passages de nuit");
            assert_eq!(reminder.version, 1);
            assert_eq!(reminder.message, "Merci de lire avant vendredi.");
        }
    }

    // A retry of the same reminder sends nothing again.
    let (status, again) = lib
        .call(
            "bi.coordinator",
            "POST",
            "/night-crossings/versions/current/remind",
            Some(json!({"message": "Merci de lire avant vendredi."})),
            Some("remind-1"),
        )
        .await;
    assert_eq!((status, &again["duplicate"]), (200, &json!(true)));
    assert_eq!(again["recipients"], receipt["recipients"]);
    for (user, client) in &mut inboxes {
        assert!(client.events_within(QUIET / 3).await.is_empty(), "{user}");
    }
}

#[tokio::test]
async fn the_diff_between_two_versions_is_line_by_line() {
    let lib = Library::start().await;
    let v1 = draft(
        "registration",
        "TZ",
        json!({}),
        &[
            ("en", "Registration", "# Steps\nRegister.\nCount.\n"),
            ("sw", "Usajili", "# Hatua\nSajili.\n"),
        ],
    );
    let v2 = draft(
        "registration",
        "TZ",
        json!({}),
        &[(
            "en",
            "Registration",
            "# Steps\nRegister everyone.\nCount.\nReport.\n",
        )],
    );
    lib.publish("tz.coordinator", &v1).await;
    lib.publish("tz.coordinator", &v2).await;
    let (status, diff) = lib
        .get("tz.coordinator", "/registration/diff?from=1&to=2&lang=en")
        .await;
    assert_eq!(status, 200, "{diff}");
    let lines: Vec<(String, String)> = diff["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["op"].as_str().unwrap().to_owned(),
                l["text"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let l = |op: &str, text: &str| (op.to_owned(), text.to_owned());
    assert_eq!(
        lines,
        [
            l("equal", "# Steps"),
            l("delete", "Register."),
            l("insert", "Register everyone."),
            l("equal", "Count."),
            l("insert", "Report."),
        ]
    );
    assert_eq!(diff["lines"][2]["new_line"], 2);
    assert!(diff["lines"][2].get("old_line").is_none());

    // A language dropped in version 2 diffs against nothing.
    let (_, sw) = lib
        .get("manyovu.officer", "/registration/diff?from=1&to=2&lang=sw")
        .await;
    assert_eq!(sw["lang"], "sw");
    assert!(sw["lines"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["op"] == "delete"));

    let (status, text) = lib
        .get(
            "tz.coordinator",
            "/registration/diff?from=1&to=2&lang=en&format=unified",
        )
        .await;
    assert_eq!(status, 200);
    let text = text.as_str().expect("plain text");
    assert!(
        text.starts_with("--- registration@1/en\n+++ registration@2/en\n"),
        "{text}"
    );
    assert!(text.contains("-Register.\n+Register everyone.\n"), "{text}");

    let (status, body) = lib
        .get("tz.coordinator", "/registration/diff?from=1&to=9")
        .await;
    assert_eq!((status, code(&body)), (404, "not_found"));
}

#[tokio::test]
async fn markdown_injection_is_rendered_harmless() {
    let lib = Library::start().await;
    let hostile = "# Reception\n\n\
        <script>alert('x')</script>\n\n\
        <img src=\"x\" onerror=\"alert(1)\">\n\n\
        [click](javascript:alert(1)) and [data](data:text/html;base64,PHNjcmlwdD4=)\n\n\
        <iframe src=\"https://evil.example\"></iframe>\n\n\
        <a href=\"https://unhcr.org\" onclick=\"steal()\">UNHCR</a>\n\n\
        <svg onload=\"alert(2)\"></svg><style>body{display:none}</style>\n\n\
        **Keep children with their mothers.**\n";
    lib.publish(
        "bi.coordinator",
        &draft(
            "hostile",
            "joint",
            json!({}),
            &[("en", "Reception", hostile)],
        ),
    )
    .await;
    for user in ["mugina.officer", "unhcr.observer"] {
        let (status, reading) = lib.get(user, "/hostile/versions/1?format=html").await;
        assert_eq!(status, 200);
        let html = reading["html"].as_str().expect("html");
        for bad in [
            "<script",
            "alert(",
            "onerror",
            "onclick",
            "onload",
            "javascript:",
            "data:text",
            "<iframe",
            "<svg",
            "<style",
            "display:none",
        ] {
            assert!(!html.contains(bad), "{bad} survived for {user}: {html}");
        }
        assert!(html.contains("<strong>Keep children with their mothers.</strong>"));
        assert!(html.contains("href=\"https://unhcr.org\""));
        // The source is returned as written, for editors.
        assert_eq!(reading["body"], hostile);
    }
    // Without format=html there is no rendering to misuse.
    let (_, reading) = lib.get("mugina.officer", "/hostile/versions/1").await;
    assert!(reading.get("html").is_none());
}

#[tokio::test]
async fn drafts_stay_invisible_to_officers_observers_and_the_other_country() {
    let lib = Library::start().await;
    let (status, _) = lib
        .post(
            "tz.coordinator",
            "",
            simple("joint-draft", "joint", json!({})),
        )
        .await;
    assert_eq!(status, 201);
    lib.publish("bi.coordinator", &simple("bi-sop", "BI", json!({})))
        .await;
    let (status, _) = lib
        .call(
            "bi.coordinator",
            "PUT",
            "/bi-sop/draft",
            Some(simple("bi-sop", "BI", json!({}))),
            None,
        )
        .await;
    assert_eq!(status, 200);

    // A joint draft: both coordinators, nobody else.
    for user in ["bi.coordinator", "tz.coordinator"] {
        let (status, history) = lib.get(user, "/joint-draft").await;
        assert_eq!((status, &history["sop"]["latest_draft"]), (200, &json!(1)));
    }
    for user in ["mugina.officer", "manyovu.officer", "unhcr.observer"] {
        let (status, body) = lib.get(user, "/joint-draft").await;
        assert_eq!((status, code(&body)), (404, "not_found"), "{user}");
        let (status, _) = lib.get(user, "/joint-draft/versions/1").await;
        assert_eq!(status, 404, "{user}");
    }

    // A pending draft on a published SOP is hidden from its readers.
    let (_, history) = lib.get("mugina.officer", "/bi-sop").await;
    assert!(history["sop"].get("latest_draft").is_none());
    let versions: Vec<u64> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["version"].as_u64().unwrap())
        .collect();
    assert_eq!(versions, [1]);
    let (_, history) = lib.get("bi.coordinator", "/bi-sop").await;
    assert_eq!(history["versions"].as_array().unwrap().len(), 2);
    let (status, _) = lib.get("tz.coordinator", "/bi-sop").await;
    assert_eq!(status, 404);

    // Over the socket too.
    let mut events = Vec::new();
    let mut officer = lib.connect("mugina.officer").await;
    let reply = ask(
        &mut officer,
        ClientFrame::SopGet {
            id: "g1".into(),
            slug: "bi-sop".into(),
            version: Some(2),
            lang: None,
            format: None,
        },
        &mut events,
    )
    .await;
    let ServerFrame::Error { error, .. } = reply else {
        panic!("draft shown: {reply:?}");
    };
    assert_eq!(error.code, mpaka_protocol::ErrorCode::NotFound);
}

#[tokio::test]
async fn retried_steps_are_applied_once_and_answered_alike() {
    let lib = Library::start().await;
    let sop = simple("retry-sop", "BI", json!({}));
    let (first_status, first) = lib
        .call(
            "bi.coordinator",
            "POST",
            "",
            Some(sop.clone()),
            Some("k-draft"),
        )
        .await;
    let (again_status, again) = lib
        .call(
            "bi.coordinator",
            "POST",
            "",
            Some(sop.clone()),
            Some("k-draft"),
        )
        .await;
    assert_eq!((first_status, again_status), (201, 200));
    assert_eq!(
        (&first["version"], &again["duplicate"]),
        (&json!(1), &json!(true))
    );

    let publish = |key: &'static str| {
        let lib = &lib;
        async move {
            lib.call(
                "bi.coordinator",
                "POST",
                "/retry-sop/publish",
                None,
                Some(key),
            )
            .await
        }
    };
    let (s1, r1) = publish("k-pub").await;
    let (s2, r2) = publish("k-pub").await;
    assert_eq!((s1, s2), (201, 200));
    assert_eq!(r1["seq"], r2["seq"]);
    assert_eq!(r2["duplicate"], true);
    let published = lib
        .hub
        .state
        .store
        .history(&ch("national:BI"), None, 50)
        .await
        .expect("history")
        .into_iter()
        .filter(|e| matches!(e.data, EventData::SopPublished(_)))
        .count();
    assert_eq!(published, 1);

    // The same key for another request is a conflict.
    let (status, body) = lib
        .call(
            "bi.coordinator",
            "POST",
            "/retry-sop/retire",
            Some(json!({"reason": "x"})),
            Some("k-pub"),
        )
        .await;
    assert_eq!((status, code(&body)), (409, "idempotency_conflict"));

    // On the socket the request id is the key.
    let mut events = Vec::new();
    let mut officer = lib.connect("kobero.officer").await;
    let ack = ClientFrame::SopAck {
        id: "ack-retry".into(),
        slug: "retry-sop".into(),
        version: 1,
    };
    let first = ask(&mut officer, ack.clone(), &mut events).await;
    let again = ask(&mut officer, ack, &mut events).await;
    let (
        ServerFrame::SopAcknowledged { receipt: r1, .. },
        ServerFrame::SopAcknowledged { receipt: r2, .. },
    ) = (first, again)
    else {
        panic!("acknowledgement refused");
    };
    assert_eq!((r1.duplicate, r2.duplicate), (false, true));
    assert_eq!(r1.ack.at, r2.ack.at);
    let audited = lib
        .hub
        .state
        .store
        .audit_entries(0, Some("sop.acknowledged"), 100)
        .await
        .expect("audit");
    assert_eq!(audited.len(), 1);
}

#[tokio::test]
async fn bodies_in_four_languages_are_read_in_the_users_language_or_the_fallback() {
    let lib = Library::start().await;
    lib.publish(
        "bi.coordinator",
        &draft(
            "minors-reception",
            "joint",
            json!({}),
            &[
                (
                    "fr",
                    "Accueil des mineurs non accompagnés",
                    "Enregistrer l'enfant.",
                ),
                (
                    "en",
                    "Reception of unaccompanied minors",
                    "Register the child.",
                ),
                ("sw", "Mapokezi ya watoto wasio na walezi", "Sajili mtoto."),
                (
                    "rn",
                    "Kwakira abana batagira ababaherekeje",
                    "Andika umwana.",
                ),
            ],
        ),
    )
    .await;
    // Demo languages: BI officers fr, TZ officers sw, tz.coordinator en.
    for (user, lang, body) in [
        ("mugina.officer", "fr", "Enregistrer l'enfant."),
        ("manyovu.officer", "sw", "Sajili mtoto."),
        ("tz.coordinator", "en", "Register the child."),
    ] {
        let (_, reading) = lib.get(user, "/minors-reception/versions/1").await;
        assert_eq!(
            (reading["lang"].as_str(), reading["body"].as_str()),
            (Some(lang), Some(body))
        );
        assert_eq!(reading["languages"], json!(["fr", "en", "sw", "rn"]));
    }
    let (_, reading) = lib
        .get("manyovu.officer", "/minors-reception/versions/1?lang=rn")
        .await;
    assert_eq!(reading["title"], "Kwakira abana batagira ababaherekeje");
    let (status, body) = lib
        .get(
            "manyovu.officer",
            "/minors-reception/versions/1?lang=%3Cx%3E",
        )
        .await;
    assert_eq!((status, code(&body)), (422, "validation_failed"));

    // French and Swahili only: an English reader falls back to French by default.
    lib.publish(
        "bi.coordinator",
        &draft(
            "two-languages",
            "joint",
            json!({}),
            &[
                ("fr", "Deux langues", "Texte"),
                ("sw", "Lugha mbili", "Maandishi"),
            ],
        ),
    )
    .await;
    let (_, reading) = lib.get("tz.coordinator", "/two-languages/versions/1").await;
    assert_eq!(reading["lang"], "fr");
    let (_, reading) = lib
        .get("tz.coordinator", "/two-languages/versions/1?lang=rn")
        .await;
    assert_eq!(reading["lang"], "fr");

    // With Swahili first in the configured order, the same readers get Swahili.
    let hub = TestHub::start_with(|settings| {
        settings.sops.fallback_languages = vec![
            mpaka_protocol::Lang::Sw,
            mpaka_protocol::Lang::En,
            mpaka_protocol::Lang::Fr,
        ];
    })
    .await;
    let lib = Library::with_hub(hub).await;
    lib.publish(
        "tz.coordinator",
        &draft(
            "two-languages",
            "joint",
            json!({}),
            &[
                ("fr", "Deux langues", "Texte"),
                ("sw", "Lugha mbili", "Maandishi"),
            ],
        ),
    )
    .await;
    for user in ["tz.coordinator", "unhcr.observer"] {
        let (_, reading) = lib.get(user, "/two-languages/versions/current").await;
        assert_eq!(reading["lang"], "sw", "{user}");
    }
    // The observer reads it without the author's identity.
    let (_, reading) = lib.get("unhcr.observer", "/two-languages/versions/1").await;
    assert!(reading["author"].get("username").is_none());
}

#[tokio::test]
async fn every_step_works_over_the_socket() {
    every_step_over_the_socket(Library::start().await).await;
}

/// The same steps on PostgreSQL, when `MPAKA_TEST_POSTGRES_URL` names an
/// empty database (e.g. `postgres://postgres@127.0.0.1/mpaka_sops_test`).
#[tokio::test]
async fn every_step_works_over_the_socket_on_postgresql() {
    let Ok(url) = std::env::var("MPAKA_TEST_POSTGRES_URL") else {
        eprintln!("MPAKA_TEST_POSTGRES_URL is not set; skipped");
        return;
    };
    let hub = TestHub::start_with(|settings| {
        settings.database_url = Some(mpaka_server::config::Secret::new(url));
    })
    .await;
    every_step_over_the_socket(Library::with_hub(hub).await).await;
}

async fn every_step_over_the_socket(lib: Library) {
    let mut events = Vec::new();
    let mut coordinator = lib.connect("bi.coordinator").await;
    let mut officer = lib.connect("mugina.officer").await;
    officer
        .subscribe(
            &[
                ch("national:BI"),
                ChannelId::User(lib.ids["mugina.officer"]),
            ],
            None,
        )
        .await
        .expect("subscribes");
    let input: SopDraftInput =
        serde_json::from_value(simple("socket-sop", "BI", json!({"roles": ["officer"]})))
            .expect("draft");
    let id = || format!("r-{}", uuid_like());

    let reply = ask(
        &mut coordinator,
        ClientFrame::SopDraft {
            id: id(),
            draft: Box::new(input),
        },
        &mut events,
    )
    .await;
    let ServerFrame::SopDrafted { draft, .. } = reply else {
        panic!("{reply:?}");
    };
    assert_eq!((draft.version, draft.sop.latest_draft), (1, Some(1)));

    let reply = ask(
        &mut coordinator,
        ClientFrame::SopPublish {
            id: id(),
            slug: "socket-sop".into(),
            version: Some(1),
        },
        &mut events,
    )
    .await;
    let ServerFrame::SopPublished { receipt, .. } = reply else {
        panic!("{reply:?}");
    };
    let live = officer.next_event().await.expect("live event");
    assert_eq!(live.seq, receipt.seq);

    let mut officer_events = Vec::new();
    for frame in [
        ClientFrame::SopList { id: id() },
        ClientFrame::SopHistory {
            id: id(),
            slug: "socket-sop".into(),
        },
        ClientFrame::SopGet {
            id: id(),
            slug: "socket-sop".into(),
            version: None,
            lang: Some("fr".into()),
            format: Some(mpaka_protocol::SopFormat::Html),
        },
        ClientFrame::SopAck {
            id: id(),
            slug: "socket-sop".into(),
            version: 1,
        },
    ] {
        let reply = ask(&mut officer, frame, &mut officer_events).await;
        assert!(
            matches!(
                reply,
                ServerFrame::SopList { .. }
                    | ServerFrame::SopHistory { .. }
                    | ServerFrame::SopGet { .. }
                    | ServerFrame::SopAcknowledged { .. }
            ),
            "{reply:?}"
        );
        if let ServerFrame::SopGet { reading, .. } = &reply {
            assert!(reading.html.as_deref().unwrap_or("").contains("<h1>"));
        }
    }

    let reply = ask(
        &mut coordinator,
        ClientFrame::SopCoverage {
            id: id(),
            slug: "socket-sop".into(),
            version: None,
        },
        &mut events,
    )
    .await;
    let ServerFrame::SopCoverage { coverage, .. } = reply else {
        panic!("{reply:?}");
    };
    assert_eq!((coverage.audience_total, coverage.acknowledged), (3, 1));

    let reply = ask(
        &mut coordinator,
        ClientFrame::SopRemind {
            id: id(),
            slug: "socket-sop".into(),
            version: Some(1),
            message: String::new(),
        },
        &mut events,
    )
    .await;
    let ServerFrame::SopReminded { receipt, .. } = reply else {
        panic!("{reply:?}");
    };
    assert_eq!(receipt.recipients.len(), 2);

    let reply = ask(
        &mut coordinator,
        ClientFrame::SopDiff {
            id: id(),
            slug: "socket-sop".into(),
            from: 1,
            to: 1,
            lang: None,
        },
        &mut events,
    )
    .await;
    let ServerFrame::SopDiff { diff, .. } = reply else {
        panic!("{reply:?}");
    };
    assert!(diff
        .lines
        .iter()
        .all(|l| l.op == mpaka_protocol::DiffOp::Equal));

    // Errors carry the request id and a stable code.
    let reply = ask(
        &mut officer,
        ClientFrame::SopRetire {
            id: "no-retire".into(),
            slug: "socket-sop".into(),
            reason: "x".into(),
        },
        &mut officer_events,
    )
    .await;
    let ServerFrame::Error {
        id: Some(rid),
        error,
    } = reply
    else {
        panic!("{reply:?}");
    };
    assert_eq!(
        (rid.as_str(), error.code),
        ("no-retire", mpaka_protocol::ErrorCode::Forbidden)
    );

    let reply = ask(
        &mut coordinator,
        ClientFrame::SopRetire {
            id: id(),
            slug: "socket-sop".into(),
            reason: "Replaced by the joint SOP.".into(),
        },
        &mut events,
    )
    .await;
    assert!(matches!(reply, ServerFrame::SopRetired { .. }), "{reply:?}");
    // The officer received no reminder (they acknowledged) and the retirement.
    let mut seen = officer_events;
    seen.extend(officer.events_within(QUIET).await);
    assert_eq!(
        sop_events(&seen),
        [("sop.retired", "socket-sop".to_owned())]
    );
}

#[tokio::test]
async fn coordinators_of_the_owner_see_acknowledgements_live() {
    let lib = Library::start().await;
    let mut bi = lib.connect("bi.coordinator").await;
    bi.subscribe(&[ChannelId::Coordination(Country::BI)], None)
        .await
        .unwrap();
    let mut tz = lib.connect("tz.coordinator").await;
    tz.subscribe(
        &[
            ChannelId::Coordination(Country::TZ),
            ChannelId::JointCoordination,
        ],
        None,
    )
    .await
    .unwrap();
    lib.publish("bi.coordinator", &simple("fuel-log", "BI", json!({})))
        .await;
    let (status, _) = lib
        .post("mugina.officer", "/fuel-log/versions/1/ack", json!({}))
        .await;
    assert_eq!(status, 201);
    let event = bi.next_event().await.unwrap();
    let EventData::SopAcknowledged(ack) = &event.data else {
        panic!("expected sop.acknowledged, got {:?}", event.data)
    };
    assert_eq!((ack.slug.as_str(), ack.version), ("fuel-log", 1));
    assert_eq!(ack.by.username.as_deref(), Some("mugina.officer"));
    // A repeated acknowledgement announces nothing; the other country hears nothing.
    lib.post("mugina.officer", "/fuel-log/versions/1/ack", json!({}))
        .await;
    assert!(bi
        .events_within(Duration::from_millis(300))
        .await
        .is_empty());
    assert!(tz
        .events_within(Duration::from_millis(300))
        .await
        .is_empty());
}
