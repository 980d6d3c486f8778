//! Several real `mpaka serve` processes on one PostgreSQL database behave
//! as one hub: cross-node delivery, presence and idempotency across nodes,
//! gap-free streams under concurrent publishers on two nodes, and a node
//! killed with SIGKILL under load losing nothing.
//!
//! These tests live in the server package so that Cargo builds the binary
//! first and hands its path over as `CARGO_BIN_EXE_mpaka`. They need
//! PostgreSQL (see `mpaka_tests::db`); without it they are skipped, except
//! under `CI=true`. Latencies are printed (run with `--nocapture`), never
//! asserted.

use mpaka_protocol::{ChannelId, ClientFrame, ServerFrame};
use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::{ch, uuid_like, Backend, Client, TestDb};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Cluster {
    nodes: Vec<Node>,
    accounts: Arc<Accounts>,
    db: TestDb,
    _dir: tempfile::TempDir,
}

/// `n` nodes on a fresh PostgreSQL database; `None` when skipped.
async fn cluster(n: usize) -> Option<Cluster> {
    cluster_with(n, &[]).await
}

/// `n` nodes with extra `MPAKA_…` settings.
async fn cluster_with(n: usize, env: &[(&str, &str)]) -> Option<Cluster> {
    let db = TestDb::fresh(Backend::Postgres).await?;
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_mpaka").into(),
        database_url: db.url.clone(),
        data_dir: dir.path().to_owned(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    let mut nodes = Vec::new();
    for i in 0..n {
        // The first node creates the demo data; the others find it there.
        let node = Node::start(&spec, &format!("node-{}", (b'a' + i as u8) as char), i == 0)
            .await
            .expect("node starts");
        nodes.push(node);
    }
    Some(Cluster {
        nodes,
        accounts: Arc::new(Accounts::from_data_dir(dir.path())),
        db,
        _dir: dir,
    })
}

fn joint() -> ChannelId {
    ch("corridor:mugina-manyovu")
}

fn assert_exactly(stream: &[u64], acked: &BTreeSet<u64>, who: &str) {
    let duplicates = stream.windows(2).filter(|w| w[0] >= w[1]).count();
    assert_eq!(duplicates, 0, "{who}: out of order or duplicated");
    let got: BTreeSet<u64> = stream.iter().copied().collect();
    let missing: Vec<&u64> = acked.difference(&got).collect();
    let extra: Vec<&u64> = got.difference(acked).collect();
    assert!(
        missing.is_empty(),
        "{who}: missing acknowledged {missing:?}"
    );
    assert!(extra.is_empty(), "{who}: unexpected {extra:?}");
}

/// The next event's seq and when it arrived, in microseconds since `sent`.
async fn timed(client: &mut Client, sent: Instant) -> (u64, u128) {
    let event = client.next_event().await.unwrap();
    (event.seq, sent.elapsed().as_micros())
}

fn summary(label: &str, mut micros: Vec<u128>) {
    micros.sort_unstable();
    let at = |q: f64| micros[((micros.len() - 1) as f64 * q).round() as usize] as f64 / 1000.0;
    println!(
        "{label}: n={} min={:.2}ms median={:.2}ms p90={:.2}ms max={:.2}ms",
        micros.len(),
        at(0.0),
        at(0.5),
        at(0.9),
        at(1.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_published_on_one_node_reaches_a_subscriber_on_another() {
    let Some(cluster) = cluster(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let accounts = &cluster.accounts;
    let mut on_b = accounts.connect(b, "manyovu.officer").await.unwrap();
    on_b.subscribe(&[joint()], None).await.unwrap();
    let mut same_node = accounts.connect(a, "tz.coordinator").await.unwrap();
    same_node.subscribe(&[joint()], None).await.unwrap();
    let mut mugina = accounts.connect(a, "mugina.officer").await.unwrap();

    let (mut cross, mut local, mut acks) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..40 {
        let sent = Instant::now();
        // Each side records when its copy arrives, independently.
        let ((seq, acked), (on_b_seq, b_at), (on_a_seq, a_at)) = tokio::join!(
            async {
                let seq = mugina
                    .publish(&joint(), &format!("wave {i}"))
                    .await
                    .unwrap();
                (seq, sent.elapsed().as_micros())
            },
            timed(&mut on_b, sent),
            timed(&mut same_node, sent)
        );
        assert_eq!((on_b_seq, on_a_seq), (seq, seq));
        acks.push(acked);
        cross.push(b_at);
        local.push(a_at);
    }
    summary("publish acknowledged on node A", acks);
    summary("delivered on node A (same node)", local);
    summary("delivered on node B (LISTEN/NOTIFY)", cross);

    // An idempotent retry landing on the other node is stored once.
    let first = mugina
        .publish_with_id("retry-across", &joint(), "Abantu 400 baraje")
        .await
        .unwrap();
    let mut retry = accounts.connect(b, "mugina.officer").await.unwrap();
    let again = retry
        .publish_with_id("retry-across", &joint(), "Abantu 400 baraje")
        .await
        .unwrap();
    assert_eq!(again, (first.0, true));
    let extra = on_b.events_within(Duration::from_millis(500)).await;
    assert_eq!(
        extra.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [first.0],
        "stored and delivered once"
    );

    // Presence across nodes: a Kobero officer on node A is seen from node B.
    let mut coordinator = accounts.connect(b, "bi.coordinator").await.unwrap();
    let kobero_online = |frame: ServerFrame| match frame {
        ServerFrame::Presence { posts, .. } => posts.iter().any(|p| {
            p.post == "kobero" && p.online && p.users.iter().any(|u| u.username == "kobero.officer")
        }),
        other => panic!("unexpected {other:?}"),
    };
    let kobero = accounts.connect(a, "kobero.officer").await.unwrap();
    let mut seen_online = false;
    for _ in 0..100 {
        let reply = coordinator
            .request(&ClientFrame::Presence { id: uuid_like() })
            .await;
        if kobero_online(reply) {
            seen_online = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen_online, "node B sees who is connected to node A");
    kobero.close().await;
    let mut seen_offline = false;
    for _ in 0..100 {
        let reply = coordinator
            .request(&ClientFrame::Presence { id: uuid_like() })
            .await;
        if !kobero_online(reply) {
            seen_offline = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(seen_offline, "node B sees the Kobero officer leave node A");
}

/// A publisher that publishes `count` messages through `node`, retrying a
/// failed request with the same id on `fallback`; returns acknowledged seqs.
async fn publisher(
    accounts: Arc<Accounts>,
    node: SocketAddr,
    fallback: SocketAddr,
    user: &'static str,
    label: String,
    count: usize,
    pause: Duration,
) -> Vec<u64> {
    let mut client = connect_either(&accounts, node, fallback, user).await;
    let mut acked = Vec::new();
    for i in 0..count {
        let id = format!("{label}-{i}");
        let text = format!("{label} message {i}");
        let mut attempt = client.try_publish_with_id(&id, &joint(), &text).await;
        let mut tries = 0;
        while attempt.is_err() {
            // The node died under us: the load balancer sends us elsewhere.
            tries += 1;
            assert!(tries < 50, "{label}: cannot publish anywhere");
            tokio::time::sleep(Duration::from_millis(100)).await;
            client = connect_either(&accounts, fallback, fallback, user).await;
            attempt = client.try_publish_with_id(&id, &joint(), &text).await;
        }
        let (seq, duplicate) = attempt.unwrap().expect("publish accepted");
        if tries > 0 {
            println!("{label}: {id} retried on another node: seq {seq}, duplicate {duplicate}");
        }
        acked.push(seq);
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
    }
    acked
}

/// A connection to `node`, or to `fallback` when `node` is down.
async fn connect_either(
    accounts: &Accounts,
    node: SocketAddr,
    fallback: SocketAddr,
    user: &str,
) -> Client {
    for _ in 0..50 {
        for addr in [node, fallback] {
            if let Ok(client) = accounts.connect(addr, user).await {
                return client;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{user} cannot connect to any node");
}

/// A subscriber that keeps reading from `nodes[0]`, and on a broken
/// connection (or every `hop` when set) resumes on the next node with the
/// last seq it saw, until `done` and it has seen `target` (read from `last`).
async fn subscriber(
    accounts: Arc<Accounts>,
    nodes: Vec<SocketAddr>,
    user: &'static str,
    start: u64,
    hop: Option<Duration>,
    done: Arc<AtomicBool>,
    target: Arc<std::sync::atomic::AtomicU64>,
) -> Vec<u64> {
    let mut seen: Vec<u64> = Vec::new();
    let mut turn = 0;
    loop {
        let node = nodes[turn % nodes.len()];
        turn += 1;
        let Ok(mut client) = accounts.connect(node, user).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let since = seen.last().copied().unwrap_or(start);
        let Ok((replayed, _)) = client.subscribe(&[joint()], Some(since)).await else {
            continue;
        };
        seen.extend(replayed.iter().map(|e| e.seq));
        let window = hop.unwrap_or(Duration::from_secs(3600));
        let until = tokio::time::Instant::now() + window;
        loop {
            if done.load(Ordering::SeqCst)
                && seen.last().copied().unwrap_or(0) >= target.load(Ordering::SeqCst)
            {
                return seen;
            }
            // Wake up now and then to notice `done`.
            let wake = until.min(tokio::time::Instant::now() + Duration::from_millis(100));
            match tokio::time::timeout_at(wake, client.next_event()).await {
                Ok(Ok(event)) => seen.push(event.seq),
                Ok(Err(_)) => break, // the node went away: resume elsewhere
                Err(_) if tokio::time::Instant::now() >= until => break, // time to hop
                Err(_) => {}
            }
        }
        client.close().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_on_two_nodes_leave_no_gap_in_any_stream() {
    let Some(cluster) = cluster(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let start = cluster
        .accounts
        .connect(a, "tz.coordinator")
        .await
        .unwrap()
        .subscribe(&[joint()], None)
        .await
        .unwrap()
        .1;
    let done = Arc::new(AtomicBool::new(false));
    let target = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let mut subscribers = Vec::new();
    for (nodes, user, hop) in [
        (vec![a], "manyovu.officer", None),
        (vec![b], "manyovu.officer", None),
        (vec![b], "tz.coordinator", None),
        (
            vec![a, b],
            "bi.coordinator",
            Some(Duration::from_millis(120)),
        ),
        (
            vec![b, a],
            "unhcr.observer",
            Some(Duration::from_millis(75)),
        ),
    ] {
        subscribers.push(tokio::spawn(subscriber(
            cluster.accounts.clone(),
            nodes,
            user,
            start,
            hop,
            done.clone(),
            target.clone(),
        )));
    }
    let started = Instant::now();
    let mut publishers = Vec::new();
    for p in 0..8 {
        let (node, user) = if p % 2 == 0 {
            (a, "mugina.officer")
        } else {
            (b, "manyovu.officer")
        };
        publishers.push(tokio::spawn(publisher(
            cluster.accounts.clone(),
            node,
            node,
            user,
            format!("p{p}"),
            40,
            Duration::ZERO,
        )));
    }
    let mut acked = BTreeSet::new();
    for p in publishers {
        acked.extend(p.await.unwrap());
    }
    let elapsed = started.elapsed();
    target.store(*acked.last().unwrap(), Ordering::SeqCst);
    done.store(true, Ordering::SeqCst);
    println!(
        "{} publishes on two nodes in {:.2}s ({:.0}/s)",
        acked.len(),
        elapsed.as_secs_f64(),
        acked.len() as f64 / elapsed.as_secs_f64()
    );
    assert_eq!(acked.len(), 320);
    for (i, s) in subscribers.into_iter().enumerate() {
        let stream = tokio::time::timeout(Duration::from_secs(60), s)
            .await
            .expect("subscriber caught up")
            .unwrap();
        assert_exactly(&stream, &acked, &format!("subscriber {i}"));
    }
    // Every acknowledged seq is in the log once, and nothing else was stored.
    let mut conn = sqlx_connect(&cluster.db.url).await;
    let stored: Vec<i64> =
        sqlx::query_scalar("SELECT seq FROM events WHERE channel = $1 ORDER BY seq")
            .bind(joint().to_string())
            .fetch_all(&mut conn)
            .await
            .unwrap();
    let stored: BTreeSet<u64> = stored.into_iter().map(|s| s as u64).collect();
    assert_eq!(stored, acked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_under_load_loses_and_duplicates_nothing() {
    let Some(mut cluster) = cluster(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let start = cluster
        .accounts
        .connect(b, "tz.coordinator")
        .await
        .unwrap()
        .subscribe(&[joint()], None)
        .await
        .unwrap()
        .1;
    let done = Arc::new(AtomicBool::new(false));
    let target = Arc::new(std::sync::atomic::AtomicU64::new(u64::MAX));
    let mut subscribers = Vec::new();
    // Clients of node A; when it dies they go to B and resume.
    for user in ["manyovu.officer", "bi.coordinator", "unhcr.observer"] {
        subscribers.push(tokio::spawn(subscriber(
            cluster.accounts.clone(),
            vec![a, b],
            user,
            start,
            None,
            done.clone(),
            target.clone(),
        )));
    }
    // One steady subscriber on B.
    subscribers.push(tokio::spawn(subscriber(
        cluster.accounts.clone(),
        vec![b],
        "tz.coordinator",
        start,
        None,
        done.clone(),
        target.clone(),
    )));
    let mut publishers = Vec::new();
    for p in 0..6 {
        let (node, fallback, user) = if p % 2 == 0 {
            (a, b, "mugina.officer")
        } else {
            (b, b, "manyovu.officer")
        };
        publishers.push(tokio::spawn(publisher(
            cluster.accounts.clone(),
            node,
            fallback,
            user,
            format!("k{p}"),
            60,
            Duration::from_millis(10),
        )));
    }
    tokio::time::sleep(Duration::from_millis(400)).await;
    let killed_at = Instant::now();
    cluster.nodes[0].kill().await;
    println!("node A killed with SIGKILL under load");
    let mut acked = BTreeSet::new();
    for p in publishers {
        acked.extend(p.await.unwrap());
    }
    target.store(*acked.last().unwrap(), Ordering::SeqCst);
    done.store(true, Ordering::SeqCst);
    assert_eq!(acked.len(), 360, "every publish acknowledged once");
    for (i, s) in subscribers.into_iter().enumerate() {
        let stream = tokio::time::timeout(Duration::from_secs(60), s)
            .await
            .expect("subscriber caught up")
            .unwrap();
        assert_exactly(&stream, &acked, &format!("subscriber {i}"));
    }
    println!(
        "all clients resumed on node B; {:.2}s after the kill everything was delivered",
        killed_at.elapsed().as_secs_f64()
    );
    // Each message text is stored exactly once, even those retried on B
    // after node A died with their reply in flight.
    let mut conn = sqlx_connect(&cluster.db.url).await;
    let (rows, distinct): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), COUNT(DISTINCT body) FROM events WHERE channel = $1")
            .bind(joint().to_string())
            .fetch_one(&mut conn)
            .await
            .unwrap();
    assert_eq!((rows, distinct), (360, 360));
    // The surviving node stops cleanly.
    assert!(
        cluster.nodes[1].terminate().await,
        "node B exits 0 on SIGTERM"
    );
}

async fn sqlx_connect(url: &str) -> sqlx::PgConnection {
    use sqlx::Connection;
    sqlx::PgConnection::connect(url).await.expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escalations_happen_once_across_three_nodes_even_when_one_dies() {
    let Some(mut cluster) = cluster_with(
        3,
        &[
            ("MPAKA_ALERTS__SEVERE_ESCALATION_MS", "800"),
            ("MPAKA_ALERTS__EXTREME_ESCALATION_MS", "400"),
            ("MPAKA_ALERTS__SECOND_LEVEL_MS", "600"),
            ("MPAKA_ALERTS__CHECK_INTERVAL_MS", "50"),
        ],
    )
    .await
    else {
        return;
    };
    let (a, b) = (cluster.nodes[0].addr, cluster.nodes[1].addr);
    let mut coordinators = cluster.accounts.connect(b, "bi.coordinator").await.unwrap();
    coordinators
        .subscribe(&[ch("coord:joint")], None)
        .await
        .unwrap();
    let officer = cluster.accounts.login(a, "mugina.officer").await.unwrap();
    let http = reqwest::Client::new();
    let mut raised = BTreeSet::new();
    for i in 0..5 {
        let response = http
            .post(format!("http://{a}/api/v1/alerts"))
            .bearer_auth(&officer.access_token)
            .header("Idempotency-Key", format!("raise-{i}"))
            .json(&serde_json::json!({
                "kind": "mass_arrival", "direction": "into_burundi", "headcount": 100 + i,
                "needs": ["water"], "severity": "severe", "urgency": "immediate",
                "certainty": "observed", "status": "actual",
                "text": {"text": "Abantu baraje n'amaguru", "lang": "rn"}
            }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        raised.insert(body["alert"]["id"].as_str().unwrap().to_owned());
    }
    // The node that raised them dies before any deadline.
    cluster.nodes[0].kill().await;
    let mut levels = Vec::new();
    while levels.len() < 10 {
        let event = coordinators.next_event().await.unwrap();
        if let mpaka_protocol::EventData::AlertEscalated(body) = &event.data {
            levels.push((body.alert.id.clone(), u64::from(body.level)));
        }
    }
    // Nothing more from any surviving node.
    let late = coordinators
        .events_within(Duration::from_millis(1500))
        .await;
    assert!(
        late.iter().all(|e| e.data.kind() != "alert.escalated"),
        "{late:?}"
    );
    levels.sort();
    let expected: Vec<(String, u64)> = raised
        .iter()
        .flat_map(|id| [(id.clone(), 1), (id.clone(), 2)])
        .collect();
    assert_eq!(levels, expected, "each level of each alert exactly once");
    let mut conn = sqlx_connect(&cluster.db.url).await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM alert_history WHERE step = $1")
        .bind(mpaka_protocol::AlertStep::Escalated.as_str())
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(stored, 10);
}

/// One surge, recorded at the same moment through two nodes by two people
/// (the post's officer and a coordinator typing in the same tally), gives
/// exactly one suggested alert: the detector runs in the write transaction
/// and a surge is unique per post, day and direction on the shared database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_surge_recorded_through_two_nodes_at_once_is_suggested_exactly_once() {
    let Some(cluster) = cluster(2).await else {
        return;
    };
    let (a, b) = (&cluster.nodes[0], &cluster.nodes[1]);
    let accounts = &cluster.accounts;
    let officer = accounts.login(a.addr, "mugina.officer").await.unwrap();
    let coordinator = accounts.login(b.addr, "bi.coordinator").await.unwrap();
    let http = reqwest::Client::new();
    let day_ms: i64 = 86_400_000;
    let now = time::OffsetDateTime::now_utc();
    let today = now.unix_timestamp() / 86_400 * day_ms;
    let at = |ms: i64| {
        time::OffsetDateTime::from_unix_timestamp(ms / 1000)
            .unwrap()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap()
    };
    let record = |node: &Node, token: &str, report: serde_json::Value| {
        http.post(format!("{}/api/v1/flows/reports", node.url()))
            .bearer_auth(token.to_owned())
            .header("Idempotency-Key", uuid_like())
            .json(&report)
            .send()
    };
    let surges_in = |body: &serde_json::Value| body["surges"].as_array().map_or(0, Vec::len);
    // Four weeks of ordinary days, through node A.
    for d in 1..=28 {
        let start = today - d * day_ms;
        let report = serde_json::json!({
            "post": "mugina", "period_start": at(start), "period_end": at(start + day_ms),
            "lines": [{"direction": "in", "nationality": "TZ", "men": 45, "women": 45}]});
        let response = record(a, &officer.access_token, report).await.unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        assert_eq!(surges_in(&body), 0, "an ordinary day is no surge");
    }
    let mut hq = accounts.connect(a.addr, "bi.coordinator").await.unwrap();
    hq.subscribe(&[ch("post:mugina")], None).await.unwrap();
    // Four copies of today's surge, two through each node, all at once.
    let surge_day = serde_json::json!({
        "post": "mugina", "period_start": at(today), "period_end": at(now.unix_timestamp() * 1000 + 60_000),
        "lines": [{"direction": "in", "nationality": "BI", "men": 100, "women": 150,
                   "boys": 80, "girls": 70}]});
    let (r1, r2, r3, r4) = tokio::join!(
        record(a, &officer.access_token, surge_day.clone()),
        record(b, &coordinator.access_token, surge_day.clone()),
        record(a, &officer.access_token, surge_day.clone()),
        record(b, &coordinator.access_token, surge_day.clone()),
    );
    let mut suggested = 0;
    for response in [r1, r2, r3, r4] {
        let response = response.unwrap();
        assert_eq!(response.status(), 201);
        let body: serde_json::Value = response.json().await.unwrap();
        suggested += surges_in(&body);
    }
    assert_eq!(suggested, 1, "one suggestion among the four receipts");
    // Both nodes list the same single surge.
    let mut ids = Vec::new();
    for (node, token) in [(a, &officer.access_token), (b, &coordinator.access_token)] {
        let body: serde_json::Value = http
            .get(format!("{}/api/v1/flows/surges", node.url()))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let list = body.as_array().expect("surges");
        assert_eq!(list.len(), 1, "{body}");
        ids.push(list[0]["id"].clone());
    }
    assert_eq!(ids[0], ids[1]);
    // Headquarters' socket on node A hears of it once.
    let mut heard = 0;
    while let Ok(Ok(event)) = tokio::time::timeout(Duration::from_secs(2), hq.next_event()).await {
        if event.data.kind() == "flow.surge_suggested" {
            heard += 1;
        }
    }
    assert_eq!(heard, 1);
}

/// When a node's LISTEN connection is cut (here by a proxy between the node
/// and PostgreSQL resetting every connection), the node logs the loss with
/// its likely cause, keeps delivering by polling, and logs when LISTEN is
/// back, so that an operator reading the log knows both (issue 16).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_listen_connection_is_logged_with_its_cause_and_its_return() {
    let Some(db) = TestDb::fresh(Backend::Postgres).await else {
        return;
    };
    let url = reqwest::Url::parse(&db.url).expect("a database URL");
    let upstream = format!(
        "{}:{}",
        url.host_str().expect("a host"),
        url.port().unwrap_or(5432)
    );
    let proxy = mpaka_tests::proxy::LinkProxy::start(upstream.parse().expect("an address")).await;
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("node.log");
    let spec = ClusterSpec {
        binary: env!("CARGO_BIN_EXE_mpaka").into(),
        database_url: proxy.rewrite_url(&db.url, &upstream),
        data_dir: dir.path().to_owned(),
        jwt_secret: "a shared signing key of at least thirty-two bytes".into(),
        env: Vec::new(),
    };
    let node = Node::start_logged(&spec, "behind-proxy", true, Some(&log))
        .await
        .expect("node starts");
    let accounts = Accounts::from_data_dir(dir.path());
    let mut mugina = accounts.connect(node.addr, "mugina.officer").await.unwrap();
    mugina
        .publish(&joint(), "before the cut")
        .await
        .expect("published");

    proxy.reset();
    // Publish until the node writes again and its LISTEN connection is
    // back (a notification of its own commits shows it).
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.contains("re-established") {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "LISTEN was not said to be back within 30 s; log:\n{text}"
        );
        if mugina.publish(&joint(), "after the cut").await.is_err() {
            // The socket's own link may have gone with the reset: reconnect.
            if let Ok(client) = accounts.connect(node.addr, "mugina.officer").await {
                mugina = client;
            }
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    let lost = text
        .lines()
        .find(|l| l.contains("LISTEN connection lost") || l.contains("LISTEN connection failed"))
        .unwrap_or_else(|| panic!("the loss is logged; log:\n{text}"));
    assert!(lost.contains("cause"), "the loss names its cause: {lost}");
}
