//! Flow figures end to end (issue 13): posts on both sides record figures
//! over the socket and REST (some for days when they were dark, entered
//! later), headquarters sees them live and in the right totals, on SQLite
//! and PostgreSQL; the access rules for every role; corrections keep their
//! history; a synthetic surge produces exactly one suggested alert, across
//! a restart, which an officer confirms into an alert that reaches Manyovu;
//! exports parse (CSV with its HXL row, XLSX read by calamine).

use mpaka_protocol::{
    ClientFrame, ErrorCode, Event, EventData, FlowReceipt, FlowReportHistory, FlowSeries,
    FlowSurge, ServerFrame,
};
use mpaka_tests::{ch, uuid_like, Backend, Client, TestHub};
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

/// Long enough for a live event to arrive if it were going to.
const QUIET: Duration = Duration::from_millis(600);
const DAY_MS: i64 = 86_400_000;

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

// ---------------------------------------------------------------- helpers

fn now_ms() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// RFC 3339 of Unix ms (whole seconds).
fn at(ms: i64) -> String {
    let t = time::OffsetDateTime::from_unix_timestamp(ms / 1000).unwrap();
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// Midnight UTC today, in Unix ms.
fn today() -> i64 {
    now_ms() / DAY_MS * DAY_MS
}

/// A period today that has already begun: from midnight to a minute from now.
fn today_so_far() -> (String, String) {
    (at(today()), at(now_ms() + 60_000))
}

fn line(direction: &str, nationality: &str, men: u32, women: u32, boys: u32, girls: u32) -> Value {
    json!({"direction": direction, "nationality": nationality,
           "men": men, "women": women, "boys": boys, "girls": girls})
}

/// Every demo user logged in over REST.
struct Desk {
    hub: TestHub,
    tokens: BTreeMap<&'static str, String>,
}

impl Desk {
    async fn open(hub: TestHub) -> Desk {
        let mut tokens = BTreeMap::new();
        for user in EVERYONE {
            tokens.insert(user, hub.login(user).await.access_token);
        }
        Desk { hub, tokens }
    }

    async fn post(&self, user: &str, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .hub
            .http()
            .post(self.hub.url(path))
            .bearer_auth(&self.tokens[user])
            .header("Idempotency-Key", uuid_like())
            .json(body)
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, user: &str, path: &str) -> (u16, Value) {
        self.hub.get_json(&self.tokens[user], path).await
    }

    async fn record(&self, user: &str, report: Value) -> FlowReceipt {
        let (status, body) = self.post(user, "/api/v1/flows/reports", &report).await;
        assert_eq!(status, 201, "{user} records: {body}");
        serde_json::from_value(body).expect("a receipt")
    }

    async fn series(&self, user: &str, query: &str) -> FlowSeries {
        let (status, body) = self
            .get(user, &format!("/api/v1/flows/series?{query}"))
            .await;
        assert_eq!(status, 200, "{user} reads {query}: {body}");
        serde_json::from_value(body).expect("a series")
    }
}

/// A socket client that keeps events while waiting for replies.
struct Socket {
    client: Client,
    events: VecDeque<Event>,
}

impl Socket {
    async fn open(hub: &TestHub, user: &str, channels: &[&str]) -> Socket {
        let mut client = hub.connect(user).await;
        let channels: Vec<_> = channels.iter().map(|c| ch(c)).collect();
        if !channels.is_empty() {
            client.subscribe(&channels, None).await.expect("subscribes");
        }
        Socket {
            client,
            events: VecDeque::new(),
        }
    }

    async fn request(&mut self, frame: ClientFrame) -> ServerFrame {
        let id = frame.id().to_owned();
        self.client.send(&frame).await;
        loop {
            match self.client.recv().await.expect("a frame") {
                ServerFrame::Event(event) => self.events.push_back(event),
                other if other.reply_id() == Some(id.as_str()) => return other,
                _ => {}
            }
        }
    }

    /// The next event of `kind`, skipping others.
    async fn next_of(&mut self, kind: &str) -> Event {
        loop {
            let event = match self.events.pop_front() {
                Some(e) => e,
                None => self.client.next_event().await.expect("an event"),
            };
            if event.data.kind() == kind {
                return event;
            }
        }
    }

    /// Every event of `kind` that arrives within [`QUIET`].
    async fn drain(&mut self, kind: &str) -> Vec<Event> {
        let mut seen: Vec<Event> = self
            .events
            .drain(..)
            .filter(|e| e.data.kind() == kind)
            .collect();
        while let Ok(Ok(event)) = tokio::time::timeout(QUIET, self.client.next_event()).await {
            if event.data.kind() == kind {
                seen.push(event);
            }
        }
        seen
    }
}

fn recorded(event: &Event) -> &mpaka_protocol::FlowReport {
    match &event.data {
        EventData::FlowRecorded(body) | EventData::FlowCorrected(body) => &body.report,
        other => panic!("not a flow event: {other:?}"),
    }
}

// ---------------------------------------------------------------- figures

async fn both_sides_record_and_headquarters_sees_the_right_totals(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let desk = Desk::open(hub).await;
    let mut bi_hq = Socket::open(
        &desk.hub,
        "bi.coordinator",
        &["corridor:mugina-manyovu", "post:mugina"],
    )
    .await;
    let mut tz_hq = Socket::open(&desk.hub, "tz.coordinator", &["corridor:mugina-manyovu"]).await;
    let mut observer =
        Socket::open(&desk.hub, "unhcr.observer", &["corridor:mugina-manyovu"]).await;

    // Mugina records its morning over the socket (joint) ...
    let (start, end) = today_so_far();
    let mut mugina = Socket::open(&desk.hub, "mugina.officer", &[]).await;
    let reply = mugina
        .request(ClientFrame::FlowRecord {
            id: format!("rec-{}", uuid_like()),
            report: serde_json::from_value(json!({
                "period_start": start, "period_end": end, "sharing": "joint",
                "lines": [
                    line("in", "TZ", 10, 20, 5, 5),
                    {"direction": "in", "nationality": "BI", "men": 3, "women": 4,
                     "transport": "foot", "reason": "return_home",
                     "vulnerable": {"elderly": 2}},
                    line("out", "BI", 8, 2, 0, 0),
                ]
            }))
            .unwrap(),
        })
        .await;
    let ServerFrame::FlowSaved { receipt, .. } = reply else {
        panic!("saved: {reply:?}")
    };
    assert_eq!(receipt.report.total, 57);
    // ... and a national figure over REST.
    let national = desk
        .record(
            "mugina.officer",
            json!({"period_start": start, "period_end": end, "sharing": "national",
                   "lines": [line("in", "other", 1, 1, 0, 0)]}),
        )
        .await;
    // Manyovu records a paper tally for two days ago, entered now.
    let tally = desk
        .record(
            "manyovu.officer",
            json!({"period_start": at(today() - 2 * DAY_MS), "period_end": at(today() - DAY_MS),
                   "lines": [line("in", "BI", 30, 30, 10, 10)]}),
        )
        .await;
    assert_eq!(tally.report.country, mpaka_protocol::Country::TZ);

    // Headquarters sees them live: Burundi all of Mugina's; Tanzania and
    // the observer only the joint figures.
    let bi_seen: Vec<String> = [
        bi_hq.next_of("flow.recorded").await,
        bi_hq.next_of("flow.recorded").await,
        bi_hq.next_of("flow.recorded").await,
    ]
    .iter()
    .map(|e| recorded(e).id.clone())
    .collect();
    assert!(bi_seen.contains(&national.report.id));
    let tz_seen: Vec<String> = tz_hq
        .drain("flow.recorded")
        .await
        .iter()
        .map(|e| recorded(e).id.clone())
        .collect();
    assert_eq!(
        tz_seen,
        [receipt.report.id.clone(), tally.report.id.clone()]
    );
    let seen_by_observer = observer.drain("flow.recorded").await;
    assert_eq!(seen_by_observer.len(), 2);
    assert!(
        seen_by_observer
            .iter()
            .all(|e| recorded(e).recorded_by.username.is_none()),
        "observers do not see who recorded"
    );

    // Totals per corridor as each side may read them.
    let from = at(today() - 3 * DAY_MS);
    let to = at(today() + DAY_MS);
    let q = format!("scope=corridor:mugina-manyovu&from={from}&to={to}&bucket=day");
    let bi = desk.series("bi.coordinator", &q).await;
    assert_eq!(bi.totals.total, 57 + 2 + 80);
    assert_eq!(bi.totals.incoming, 47 + 2 + 80);
    assert_eq!(bi.totals.outgoing, 10);
    assert_eq!(bi.totals.vulnerable.get("elderly"), Some(&2));
    assert_eq!(bi.points.len(), 2, "two days with figures: {:?}", bi.points);
    let tz = desk.series("tz.coordinator", &q).await;
    assert_eq!(tz.totals.total, 57 + 80, "national figures stay national");
    let unhcr = desk.series("unhcr.observer", &q).await;
    assert_eq!(unhcr.totals.total, 57 + 80);
    let (status, _) = desk
        .get("admin", &format!("/api/v1/flows/series?{q}"))
        .await;
    assert_eq!(status, 403);
    // Hourly and weekly points add up to the same totals.
    for bucket in ["hour", "week"] {
        let q = format!("scope=country:BI&from={from}&to={to}&bucket={bucket}");
        let s = desk.series("bi.coordinator", &q).await;
        let sum: u64 = s.points.iter().map(|p| p.figures.total).sum();
        assert_eq!((sum, s.totals.total), (59, 59), "{bucket}");
    }
    // DTM-style change: nothing in the previous period.
    assert!(bi.change.percent.is_none());
    assert!(bi.change.daily_average > 0.0);

    // A correction keeps the history and changes the totals.
    let (status, body) = desk
        .post(
            "mugina.officer",
            &format!("/api/v1/flows/reports/{}/correct", receipt.report.id),
            &json!({"lines": [line("in", "TZ", 10, 20, 5, 5)], "reason": "the BI group and the departures were counted twice"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let corrected = tz_hq.next_of("flow.corrected").await;
    assert_eq!(recorded(&corrected).version, 2);
    let (status, body) = desk
        .get(
            "tz.coordinator",
            &format!("/api/v1/flows/reports/{}", receipt.report.id),
        )
        .await;
    assert_eq!(status, 200);
    let history: FlowReportHistory = serde_json::from_value(body).unwrap();
    assert_eq!(
        history.versions.iter().map(|v| v.total).collect::<Vec<_>>(),
        [57, 40]
    );
    assert!(history.versions[1].reason.is_some());
    let tz = desk.series("tz.coordinator", &q).await;
    assert_eq!(tz.totals.total, 40 + 80);
    // Only the recording side corrects.
    for (user, expected) in [("manyovu.officer", 403), ("kibondo.officer", 404)] {
        let (status, body) = desk
            .post(
                user,
                &format!("/api/v1/flows/reports/{}/correct", receipt.report.id),
                &json!({"lines": [], "reason": "no"}),
            )
            .await;
        assert_eq!(status, expected, "{user}: {body}");
    }
    let mut hub = desk.hub;
    hub.shutdown().await;
}

#[tokio::test]
async fn both_sides_record_and_headquarters_sees_the_right_totals_on_sqlite() {
    both_sides_record_and_headquarters_sees_the_right_totals(Backend::Sqlite).await;
}

#[tokio::test]
async fn both_sides_record_and_headquarters_sees_the_right_totals_on_postgresql() {
    both_sides_record_and_headquarters_sees_the_right_totals(Backend::Postgres).await;
}

#[tokio::test]
async fn every_role_records_and_reads_only_what_the_rules_allow() {
    let desk = Desk::open(TestHub::start().await).await;
    let (start, end) = today_so_far();
    let report = |sharing: &str| {
        json!({"post": "mugina", "period_start": start, "period_end": end, "sharing": sharing,
               "lines": [line("in", "TZ", 1, 0, 0, 0)]})
    };
    let mut recorders = Vec::new();
    for user in EVERYONE {
        let (status, _) = desk
            .post(user, "/api/v1/flows/reports", &report("joint"))
            .await;
        if status == 201 {
            recorders.push(user);
        } else {
            assert_eq!(status, 403, "{user}");
        }
    }
    assert_eq!(recorders, ["mugina.officer", "bi.coordinator"]);
    let national = desk
        .record("mugina.officer", report("national"))
        .await
        .report
        .id;
    let joint = desk
        .record("mugina.officer", report("joint"))
        .await
        .report
        .id;
    let readers = |id: String| {
        let desk = &desk;
        async move {
            let mut readers = Vec::new();
            for user in EVERYONE {
                let (status, _) = desk.get(user, &format!("/api/v1/flows/reports/{id}")).await;
                if status == 200 {
                    readers.push(user);
                } else {
                    assert_eq!(status, 404, "{user}");
                }
            }
            readers
        }
    };
    assert_eq!(
        readers(national).await,
        ["mugina.officer", "bi.coordinator"]
    );
    assert_eq!(
        readers(joint).await,
        [
            "mugina.officer",
            "manyovu.officer",
            "bi.coordinator",
            "tz.coordinator",
            "unhcr.observer"
        ]
    );
    // Bad input names its field and stores nothing.
    let (status, body) = desk
        .post(
            "mugina.officer",
            "/api/v1/flows/reports",
            &json!({"period_start": "soon", "period_end": end,
                    "lines": [{"direction": "in", "nationality": "BI", "men": 1, "reason": "shopping"}]}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let fields: Vec<&str> = body["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["lines.0.reason", "period_start"]);
    let (status, body) = desk
        .post(
            "mugina.officer",
            "/api/v1/flows/reports",
            &json!({"period_start": start, "period_end": end, "lines": [{"direction": "in", "nationality": "BI", "name": "Jean"}]}),
        )
        .await;
    assert_eq!(status, 422, "names are refused: {body}");
    let mut hub = desk.hub;
    hub.shutdown().await;
}

// ---------------------------------------------------------------- surges

#[tokio::test]
async fn a_surge_is_suggested_once_and_confirmed_into_an_alert_that_reaches_manyovu() {
    let desk = Desk::open(TestHub::start().await).await;
    // Four weeks of ordinary days at Mugina, typed in from paper.
    for d in 1..=28 {
        let day = today() - d * DAY_MS;
        let n = 90 + u32::try_from(d % 5).unwrap() * 5;
        let receipt = desk
            .record(
                "mugina.officer",
                json!({"period_start": at(day), "period_end": at(day + DAY_MS),
                       "lines": [line("in", "TZ", n / 2, n / 2, 0, 0)]}),
            )
            .await;
        assert!(receipt.surges.is_empty(), "an ordinary day is no surge");
    }
    let mut bi_hq = Socket::open(&desk.hub, "bi.coordinator", &["post:mugina"]).await;
    let tz_hq = Socket::open(&desk.hub, "tz.coordinator", &["corridor:mugina-manyovu"]).await;
    let (start, end) = today_so_far();
    let surge_day = json!({"period_start": start, "period_end": end, "lines": [
        {"direction": "in", "nationality": "BI", "men": 80, "women": 150, "boys": 90, "girls": 80,
         "vulnerable": {"unaccompanied_or_separated_children": 12, "pregnant_or_lactating_women": 9}}
    ]});
    let first = desk.record("mugina.officer", surge_day.clone()).await;
    assert_eq!(first.surges.len(), 1, "{:?}", first.surges);
    let surge = &first.surges[0];
    assert_eq!(surge.observed, 400);
    assert_eq!(
        surge.draft.vulnerable.unaccompanied_or_separated_children,
        Some(12)
    );
    assert_eq!(
        surge.draft.direction,
        mpaka_protocol::Direction::IntoBurundi
    );
    let live = bi_hq.next_of("flow.surge_suggested").await;
    let EventData::FlowSurgeSuggested(live) = live.data else {
        unreachable!()
    };
    assert_eq!(live.id, surge.id);
    // More arrivals the same day, and a restart: still one suggestion.
    let again = desk.record("mugina.officer", surge_day.clone()).await;
    assert!(again.surges.is_empty());
    let hub = desk.hub.restart().await;
    let desk = Desk::open(hub).await;
    let after = desk.record("mugina.officer", surge_day).await;
    assert!(
        after.surges.is_empty(),
        "no second suggestion after a restart"
    );
    let (status, body) = desk.get("bi.coordinator", "/api/v1/flows/surges").await;
    assert_eq!(status, 200);
    let surges: Vec<FlowSurge> = serde_json::from_value(body).unwrap();
    assert_eq!(surges.len(), 1);
    // The other side does not verify, nor see, Mugina's surges.
    let (_, body) = desk.get("tz.coordinator", "/api/v1/flows/surges").await;
    assert_eq!(body, json!([]));
    drop((bi_hq, tz_hq));

    // An officer confirms; the alert reaches Manyovu like any other.
    let mut manyovu =
        Socket::open(&desk.hub, "manyovu.officer", &["corridor:mugina-manyovu"]).await;
    let mut mugina = Socket::open(&desk.hub, "mugina.officer", &[]).await;
    let reply = mugina
        .request(ClientFrame::FlowSurgeConfirm {
            id: format!("confirm-{}", uuid_like()),
            surge_id: surge.id.clone(),
        })
        .await;
    let ServerFrame::FlowSurgeSaved { receipt, .. } = reply else {
        panic!("confirmed: {reply:?}")
    };
    let alert_id = receipt.surge.alert_id.clone().expect("an alert");
    let raised = manyovu.next_of("alert.raised").await;
    let EventData::AlertRaised(body) = raised.data else {
        unreachable!()
    };
    assert_eq!(body.alert.id, alert_id);
    assert_eq!(body.alert.headcount, mpaka_protocol::Headcount::Single(400));
    // Confirming or dismissing again is refused.
    let reply = mugina
        .request(ClientFrame::FlowSurgeDismiss {
            id: format!("dismiss-{}", uuid_like()),
            surge_id: surge.id.clone(),
            reason: "false alarm".into(),
        })
        .await;
    let ServerFrame::Error { error, .. } = reply else {
        panic!("refused: {reply:?}")
    };
    assert_eq!(error.code, ErrorCode::InvalidState);
    let (status, _) = desk
        .post(
            "bi.coordinator",
            &format!("/api/v1/flows/surges/{}/confirm", surge.id),
            &json!({}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, body) = desk.get("bi.coordinator", "/api/v1/alerts?limit=50").await;
    assert_eq!(status, 200);
    let alerts = body["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "exactly one alert: {body}");
    let mut hub = desk.hub;
    hub.shutdown().await;
}

// ---------------------------------------------------------------- exports

#[tokio::test]
async fn exports_parse_as_csv_with_hxl_and_as_xlsx() {
    let desk = Desk::open(TestHub::start().await).await;
    let (start, end) = today_so_far();
    desk.record(
        "kobero.officer",
        json!({"period_start": start, "period_end": end, "lines": [
            line("in", "TZ", 10, 12, 3, 4),
            {"direction": "out", "nationality": "BI", "men": 5, "reason": "trade", "transport": "bicycle"}
        ]}),
    )
    .await;
    let fetch = |path: &'static str| {
        let desk = &desk;
        async move {
            let response = desk
                .hub
                .http()
                .get(desk.hub.url(path))
                .bearer_auth(&desk.tokens["kabanga.officer"])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 200, "{path}");
            response.bytes().await.unwrap().to_vec()
        }
    };
    let csv_bytes = fetch("/api/v1/flows/export.csv?scope=corridor:kobero-kabanga").await;
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let headers = reader.headers().unwrap().clone();
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(&rows[0][0], "#meta+id", "the HXL row");
    assert_eq!(&rows[0][1], "#loc+code");
    assert_eq!(rows.len(), 3);
    let total = headers.iter().position(|h| h == "total").unwrap();
    let totals: Vec<&str> = rows[1..].iter().map(|r| &r[total]).collect();
    assert_eq!(totals, ["29", "5"]);

    let xlsx = fetch("/api/v1/flows/export.xlsx?scope=corridor:kobero-kabanga").await;
    use calamine::Reader as _;
    let mut book: calamine::Xlsx<_> =
        calamine::open_workbook_from_rs(std::io::Cursor::new(xlsx)).expect("an XLSX workbook");
    let sheet = book.worksheet_range("Figures").expect("a Figures sheet");
    let cells: Vec<Vec<String>> = sheet
        .rows()
        .map(|r| r.iter().map(ToString::to_string).collect())
        .collect();
    assert_eq!(cells[0][1], "post");
    assert_eq!(cells[1][1], "#loc+code");
    assert_eq!(cells.len(), 4);
    assert_eq!(cells[2][total], "29");

    // The monthly summary in DTM's shape.
    let month = &at(now_ms())[..7];
    let (status, body) = desk
        .get(
            "unhcr.observer",
            &format!("/api/v1/flows/summary?month={month}"),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["figures"]["total"], 34);
    assert_eq!(body["top_reasons"], json!([{"name": "trade", "count": 5}]));
    assert_eq!(body["posts"], json!([{"name": "kobero", "count": 34}]));
    let mut hub = desk.hub;
    hub.shutdown().await;
}

// ---------------------------------------------------------------- import

#[tokio::test]
async fn paper_tallies_import_from_csv_once_even_when_imported_twice() {
    let desk = Desk::open(TestHub::start().await).await;
    let day = today() - 3 * DAY_MS;
    let csv = format!(
        "post,period_start,period_end,direction,nationality,men,women,boys,girls,elderly\n\
         gisuru,{a},{b},in,TZ,10,12,3,4,2\n\
         gisuru,{a},{b},out,BI,5,5,0,0,\n\
         gisuru,{b},{c},in,BI,1,0,0,0,\n",
        a = at(day + 6 * 3_600_000),
        b = at(day + 14 * 3_600_000),
        c = at(day + 22 * 3_600_000),
    );
    let server = desk.hub.url("");
    let token = &desk.tokens["gisuru.officer"];
    let first = mpaka_server::cli::client_flows::import(&server, token, &csv)
        .await
        .expect("imports");
    assert_eq!(first.len(), 2);
    assert!(first.iter().all(|r| !r.duplicate));
    let again = mpaka_server::cli::client_flows::import(&server, token, &csv)
        .await
        .expect("imports again");
    assert!(again.iter().all(|r| r.duplicate), "nothing recorded twice");
    let q = format!("scope=post:gisuru&from={}&to={}", at(day), at(day + DAY_MS));
    assert_eq!(
        desk.series("bi.coordinator", &q).await.totals.total,
        29 + 10 + 1
    );
    // Another post's figures are refused with the hub's code.
    let error =
        mpaka_server::cli::client_flows::import(&server, &desk.tokens["kobero.officer"], &csv)
            .await
            .expect_err("refused");
    assert!(error.to_string().contains("forbidden"), "{error}");
    let mut hub = desk.hub;
    hub.shutdown().await;
}

// ---------------------------------------------------------------- cost

/// The cost of headquarters' queries over a year of hourly figures for 20
/// posts (docs/flows.md, "Figures"). Not a pass/fail test: run with
/// `cargo test -p mpaka-tests --test flows --release -- --ignored hq_query_cost --nocapture`.
#[tokio::test]
#[ignore = "a measurement, not a test"]
async fn hq_query_cost() {
    use mpaka_server::admin::{create_post, Actor, PostSpec};
    use mpaka_server::flows::store as flow_sql;
    let desk = Desk::open(TestHub::start().await).await;
    let store = desk.hub.state.store.clone();
    let mut posts: Vec<(String, String, mpaka_protocol::Country)> = Vec::new();
    for (slug, corridor, country) in [
        ("mugina", "mugina-manyovu", mpaka_protocol::Country::BI),
        ("manyovu", "mugina-manyovu", mpaka_protocol::Country::TZ),
        ("gisuru", "gisuru-kibondo", mpaka_protocol::Country::BI),
        ("kibondo", "gisuru-kibondo", mpaka_protocol::Country::TZ),
        ("kobero", "kobero-kabanga", mpaka_protocol::Country::BI),
        ("kabanga", "kobero-kabanga", mpaka_protocol::Country::TZ),
    ] {
        posts.push((slug.into(), corridor.into(), country));
    }
    for i in 0..14 {
        let country = if i % 2 == 0 {
            mpaka_protocol::Country::BI
        } else {
            mpaka_protocol::Country::TZ
        };
        let slug = format!("extra-{i}");
        let corridor = format!("extra-corridor-{}", i / 2);
        create_post(
            &store,
            Actor::Operator,
            PostSpec {
                slug: slug.clone(),
                name: slug.clone(),
                country,
                region: String::new(),
                corridor: Some(corridor.clone()),
                corridor_name: Some(corridor.clone()),
            },
        )
        .await
        .expect("post");
        posts.push((slug, corridor, country));
    }
    let hours = 365 * 24;
    let start = today() - 365 * DAY_MS;
    let fill = std::time::Instant::now();
    let author: mpaka_protocol::Author =
        serde_json::from_value(json!({"role": "officer"})).unwrap();
    for (slug, corridor, country) in &posts {
        let mut tx = store.write().await.unwrap();
        for h in 0..hours {
            let s = start + h * 3_600_000;
            let lines: Vec<mpaka_protocol::FlowLine> = serde_json::from_value(json!([
                line("in", "TZ", 2, 3, 1, 1),
                line("out", "BI", 1, 2, 0, 1)
            ]))
            .unwrap();
            let report = mpaka_protocol::FlowReport {
                id: format!("{slug}-{h}"),
                post: slug.clone(),
                corridor: corridor.clone(),
                country: *country,
                sharing: mpaka_protocol::FlowSharing::Joint,
                period_start: at(s),
                period_end: at(s + 3_600_000),
                lines,
                total: 11,
                version: 1,
                recorded_by: author.clone(),
                recorded_at: at(s),
                updated_at: at(s),
            };
            flow_sql::insert(tx.conn(), &report, s, s + 3_600_000, 1, s)
                .await
                .unwrap();
        }
        tx.commit().await.unwrap();
    }
    println!(
        "stored {} hourly reports for {} posts in {:.1} s",
        hours * 20,
        posts.len(),
        fill.elapsed().as_secs_f64()
    );
    // Wait for the hub to know the new posts.
    while desk.hub.state.hub.directory().posts.len() < 20 {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let from = at(start);
    let to = at(today());
    for (what, query) in [
        (
            "year, daily, all posts",
            format!("scope=all&from={from}&to={to}&bucket=day"),
        ),
        (
            "year, weekly, all posts",
            format!("scope=all&from={from}&to={to}&bucket=week"),
        ),
        (
            "year, hourly, all posts",
            format!("scope=all&from={from}&to={to}&bucket=hour"),
        ),
        (
            "year, daily, one corridor",
            format!("scope=corridor:mugina-manyovu&from={from}&to={to}&bucket=day"),
        ),
        (
            "30 days, hourly, one post",
            format!(
                "scope=post:mugina&from={}&to={to}&bucket=hour",
                at(today() - 30 * DAY_MS)
            ),
        ),
    ] {
        let mut times = Vec::new();
        let mut total = 0;
        for _ in 0..5 {
            let t = std::time::Instant::now();
            let s = desk.series("bi.coordinator", &query).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            total = s.totals.total;
        }
        times.sort_by(f64::total_cmp);
        println!(
            "{what}: median {:.0} ms (min {:.0}, max {:.0}), total {total}",
            times[2], times[0], times[4]
        );
    }
    let mut hub = desk.hub;
    hub.shutdown().await;
}

/// Unix ms of an RFC 3339 time.
fn ms_of(rfc3339: &str) -> i64 {
    let t = time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .expect("an RFC 3339 time");
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap()
}

fn add_figures(sum: &mut mpaka_protocol::FlowFigures, f: &mpaka_protocol::FlowFigures) {
    sum.total += f.total;
    sum.incoming += f.incoming;
    sum.outgoing += f.outgoing;
    sum.men += f.men;
    sum.women += f.women;
    sum.boys += f.boys;
    sum.girls += f.girls;
    for (k, n) in &f.nationality {
        *sum.nationality.entry(k.clone()).or_default() += n;
    }
    for (k, n) in &f.vulnerable {
        *sum.vulnerable.entry(k.clone()).or_default() += n;
    }
}

/// The points of `series` added up into buckets of `width` ms that begin at
/// `anchor` shifted by the viewer's offset, as the hub buckets them.
fn regroup(
    series: &FlowSeries,
    width: i64,
    anchor: i64,
    offset_ms: i64,
) -> BTreeMap<i64, mpaka_protocol::FlowFigures> {
    let mut out: BTreeMap<i64, mpaka_protocol::FlowFigures> = BTreeMap::new();
    for point in &series.points {
        let t = ms_of(&point.start);
        let shift = offset_ms - anchor;
        let bucket = (t + shift).div_euclid(width) * width - shift;
        add_figures(out.entry(bucket).or_default(), &point.figures);
    }
    // Zero figures are no figures (a bucket whose lines were corrected away).
    out.retain(|_, f| f.total > 0 || !f.nationality.is_empty());
    out
}

/// Daily and weekly figures come from a daily roll-up kept beside the lines
/// (for UTC, Burundi's and Tanzania's offsets); hourly ones from the lines
/// themselves. Whatever the zone, the bucket and the partial days at either
/// end, and after corrections, the roll-up must add up to exactly what the
/// lines say.
async fn daily_and_weekly_figures_match_the_lines_in_every_zone(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |_| {}).await else {
        return;
    };
    let desk = Desk::open(hub).await;
    let mut ids = Vec::new();
    // Reports an hour long around the local midnights of UTC+2 and UTC+3
    // (22:00 and 21:00 UTC), on both sides, joint and national.
    for day in 1..=8 {
        for (i, hour) in [20, 21, 22, 23, 0, 1].into_iter().enumerate() {
            let start = today() - day * DAY_MS + hour * 3_600_000;
            let (user, sharing) = match (day + i64::try_from(i).unwrap()) % 3 {
                0 => ("mugina.officer", "joint"),
                1 => ("manyovu.officer", "joint"),
                _ => ("mugina.officer", "national"),
            };
            let n = u32::try_from(day).unwrap() + u32::try_from(i).unwrap();
            let receipt = desk
                .record(
                    user,
                    json!({"period_start": at(start), "period_end": at(start + 3_600_000),
                           "sharing": sharing,
                           "lines": [line("in", "TZ", n, 2, 1, 0),
                                     {"direction": "out", "nationality": "BI", "men": 1,
                                      "women": n, "vulnerable": {"elderly": 1}}]}),
                )
                .await;
            ids.push((user, receipt.report.id));
        }
    }
    let from = today() - 9 * DAY_MS + 7 * 3_600_000 + 13 * 60_000;
    let to = now_ms();
    let check = |when: &'static str| {
        let desk = &desk;
        async move {
            for user in ["bi.coordinator", "tz.coordinator", "unhcr.observer"] {
                for minutes in [0_i64, 120, 180, 60] {
                    let query = |bucket: &str| {
                        format!(
                            "scope=all&from={}&to={}&bucket={bucket}&utc_offset_minutes={minutes}",
                            at(from),
                            at(to)
                        )
                    };
                    let hourly = desk.series(user, &query("hour")).await;
                    let daily = desk.series(user, &query("day")).await;
                    let weekly = desk.series(user, &query("week")).await;
                    let offset = minutes * 60_000;
                    let what = format!("{user} at UTC{minutes:+} min, {when}");
                    assert!(hourly.totals.total > 0, "{what}: some figures");
                    assert_eq!(daily.totals, hourly.totals, "{what}: daily totals");
                    assert_eq!(weekly.totals, hourly.totals, "{what}: weekly totals");
                    assert_eq!(daily.previous, hourly.previous, "{what}: previous period");
                    assert_eq!(
                        regroup(&daily, DAY_MS, 0, offset),
                        regroup(&hourly, DAY_MS, 0, offset),
                        "{what}: days"
                    );
                    assert_eq!(
                        regroup(&weekly, 7 * DAY_MS, 4 * DAY_MS, offset),
                        regroup(&hourly, 7 * DAY_MS, 4 * DAY_MS, offset),
                        "{what}: weeks"
                    );
                }
            }
        }
    };
    check("as recorded").await;
    // Corrections take lines away and add others.
    for (user, id) in ids.iter().step_by(5) {
        let (status, body) = desk
            .post(
                user,
                &format!("/api/v1/flows/reports/{id}/correct"),
                &json!({"lines": [line("in", "other", 7, 0, 0, 3)],
                        "reason": "the departures were counted at the wrong post"}),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    check("after corrections").await;
    let mut hub = desk.hub;
    hub.shutdown().await;
}

#[tokio::test]
async fn daily_and_weekly_figures_match_the_lines_in_every_zone_on_sqlite() {
    daily_and_weekly_figures_match_the_lines_in_every_zone(Backend::Sqlite).await;
}

#[tokio::test]
async fn daily_and_weekly_figures_match_the_lines_in_every_zone_on_postgresql() {
    daily_and_weekly_figures_match_the_lines_in_every_zone(Backend::Postgres).await;
}
