//! Federation between real hubs: two `mpaka serve` processes, each with
//! its own SQLite database and key, linked through TCP proxies the test can
//! cut. Shared events reach the other hub live and catch up by themselves
//! after a cut, exactly once and in origin order; national events never
//! reach the other database (read directly); a peer with the wrong key, an
//! altered event and an event claiming a national channel are refused,
//! counted and audited (the last two sent by a fake peer hub in this test,
//! which signs what it wants with the keys it wants).

use ed25519_dalek::SigningKey;
use futures_util::{SinkExt as _, StreamExt as _};
use mpaka_server::federation::wire::{self, Frame, Role, SharedEvent};
use mpaka_server::vlog::note::NoteSigner;
use mpaka_tests::ch;
use mpaka_tests::nodes::{Accounts, ClusterSpec, Node};
use mpaka_tests::proxy::{LinkMode, LinkProxy};
use sqlx::Row;
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long replication may take in these tests before they fail.
const PATIENCE: Duration = Duration::from_secs(30);
const CORRIDOR: &str = "corridor:mugina-manyovu";

/// One federating hub: a process, its data directory and database.
struct Hub {
    name: &'static str,
    node: Node,
    dir: tempfile::TempDir,
    url: String,
    accounts: Accounts,
    key: String,
}

fn federating_env(name: &str) -> Vec<(String, String)> {
    [
        ("MPAKA_FEDERATION__NAME", name.to_owned()),
        ("MPAKA_FEDERATION__ALLOW_PLAIN_LINKS", "true".to_owned()),
        ("MPAKA_FEDERATION__RETRY_MAX_MS", "1000".to_owned()),
        ("MPAKA_FEDERATION__HEARTBEAT_MS", "500".to_owned()),
        ("MPAKA_LOG__ORIGIN", format!("{name}/log")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// `mpaka peer …` against a hub's data directory.
fn peer_cli(hub_name: &str, dir: &std::path::Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_mpaka"))
        .arg("peer")
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("MPAKA_CONFIG")
        .envs(federating_env(hub_name))
        .output()
        .expect("mpaka peer runs");
    assert!(
        output.status.success(),
        "mpaka peer {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

impl Hub {
    async fn start(name: &'static str) -> Hub {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("mpaka.db").display());
        let spec = ClusterSpec {
            binary: env!("CARGO_BIN_EXE_mpaka").into(),
            database_url: url.clone(),
            data_dir: dir.path().to_owned(),
            jwt_secret: format!("the signing key of {name}, at least thirty-two bytes"),
            env: federating_env(name),
        };
        let node = Node::start(&spec, name, true).await.expect("hub starts");
        let identity = peer_cli(name, dir.path(), &["identity"]);
        let key = identity
            .lines()
            .find_map(|l| l.strip_prefix("key\t"))
            .expect("identity prints the key")
            .to_owned();
        Hub {
            name,
            accounts: Accounts::from_data_dir(dir.path()),
            node,
            dir,
            url,
            key,
        }
    }

    /// Makes `other`, reached at `at`, a peer of this hub.
    fn add_peer(&self, other: &str, key: &str, at: std::net::SocketAddr) {
        peer_cli(
            self.name,
            self.dir.path(),
            &[
                "add",
                other,
                "--url",
                &format!("http://{at}"),
                "--key",
                key,
                "--corridor",
                "mugina-manyovu",
            ],
        );
    }

    async fn db(&self) -> sqlx::SqlitePool {
        sqlx::SqlitePool::connect(&self.url)
            .await
            .expect("database opens")
    }

    async fn metric(&self, series: &str) -> f64 {
        let text = reqwest::get(format!("{}/metrics", self.node.url()))
            .await
            .expect("metrics")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.trim().parse().ok())
            .unwrap_or(0.0)
    }
}

/// Two hubs, BI and TZ, each a peer of the other through its own proxy.
async fn pair() -> (Hub, Hub, LinkProxy, LinkProxy) {
    let (bi, tz) = tokio::join!(Hub::start("bi.mpaka"), Hub::start("tz.mpaka"));
    let to_tz = LinkProxy::start(tz.node.addr).await;
    let to_bi = LinkProxy::start(bi.node.addr).await;
    bi.add_peer("tz.mpaka", &tz.key, to_tz.addr);
    tz.add_peer("bi.mpaka", &bi.key, to_bi.addr);
    (bi, tz, to_tz, to_bi)
}

/// The text of message events, in order.
fn text_of(event: &mpaka_protocol::Event) -> Option<String> {
    match &event.data {
        mpaka_protocol::EventData::Message(m) => Some(m.text.clone()),
        _ => None,
    }
}

/// Waits until `query` (one integer) on `hub`'s database reaches `want`.
async fn wait_for_count(hub: &Hub, query: &str, want: i64) -> i64 {
    let db = hub.db().await;
    let deadline = Instant::now() + PATIENCE;
    loop {
        let n: i64 = sqlx::query_scalar(query)
            .fetch_one(&db)
            .await
            .expect("query");
        if n >= want || Instant::now() > deadline {
            return n;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_corridor_message_reaches_the_other_hub_live_both_ways_and_national_ones_never_do() {
    let (bi, tz, _to_tz, _to_bi) = pair().await;
    let corridor = ch(CORRIDOR);
    let mut manyovu = tz
        .accounts
        .connect(tz.node.addr, "manyovu.officer")
        .await
        .unwrap();
    manyovu
        .subscribe(std::slice::from_ref(&corridor), None)
        .await
        .unwrap();
    let mut mugina = bi
        .accounts
        .connect(bi.node.addr, "mugina.officer")
        .await
        .unwrap();
    mugina
        .subscribe(std::slice::from_ref(&corridor), None)
        .await
        .unwrap();
    let mut bi_coordinator = bi
        .accounts
        .connect(bi.node.addr, "bi.coordinator")
        .await
        .unwrap();
    bi_coordinator
        .publish(
            &ch("national:BI"),
            "national only: plan for the Makamba camps",
        )
        .await
        .unwrap();

    mugina
        .publish(&corridor, "400 people arriving on foot")
        .await
        .unwrap();
    let seen = tokio::time::timeout(PATIENCE, async {
        loop {
            let event = manyovu.next_event().await.unwrap();
            if text_of(&event).as_deref() == Some("400 people arriving on foot") {
                return event;
            }
        }
    })
    .await
    .expect("the Mugina message reaches Manyovu on the other hub");
    let author = seen.author.expect("an author");
    assert!(author.display_name.is_some());
    assert_eq!(author.username, None, "account names stay home");
    assert_eq!(author.post.as_deref(), Some("mugina"));

    manyovu
        .publish(&corridor, "received, sending a team")
        .await
        .unwrap();
    tokio::time::timeout(PATIENCE, async {
        loop {
            let event = mugina.next_event().await.unwrap();
            if text_of(&event).as_deref() == Some("received, sending a team") {
                return;
            }
        }
    })
    .await
    .expect("the Manyovu answer reaches Mugina on the other hub");

    // TZ's database, read directly: the corridor message is there once,
    // marked with its origin; nothing national of Burundi is.
    let db = tz.db().await;
    let crossed: Vec<(String, Option<String>)> = sqlx::query(
        "SELECT e.channel, o.origin FROM events e LEFT JOIN event_origins o ON o.seq = e.seq \
             WHERE e.body LIKE '%400 people%'",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        crossed,
        vec![(CORRIDOR.to_owned(), Some("bi.mpaka".to_owned()))]
    );
    let national: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE body LIKE '%Makamba camps%' OR channel = 'national:BI'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(national, 0, "national content reached the other hub");
    let foreign_non_shared: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events e JOIN event_origins o ON o.seq = e.seq \
         WHERE e.channel NOT IN ('joint', 'coord:joint', 'corridor:mugina-manyovu')",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(foreign_non_shared, 0);
    assert!(
        bi.metric("mpaka_federation_link_up{peer=\"tz.mpaka\"}")
            .await
            >= 1.0
    );
    let status = peer_cli("tz.mpaka", tz.dir.path(), &["status"]);
    assert!(status.contains("bi.mpaka"), "{status}");
}

/// The origin seqs of events `hub` received from `origin`, in its log order.
async fn received_from(hub: &Hub, origin: &str) -> Vec<i64> {
    sqlx::query_scalar("SELECT origin_seq FROM event_origins WHERE origin = $1 ORDER BY seq")
        .bind(origin)
        .fetch_all(&hub.db().await)
        .await
        .unwrap()
}

/// The seqs of `hub`'s own shared events (what a peer must end up with).
async fn own_shared(hub: &Hub) -> Vec<i64> {
    sqlx::query_scalar(
        "SELECT seq FROM events WHERE seq NOT IN (SELECT seq FROM event_origins) \
         AND channel IN ('joint', 'coord:joint', 'corridor:mugina-manyovu') ORDER BY seq",
    )
    .fetch_all(&hub.db().await)
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_cut_each_hub_holds_every_shared_event_of_the_other_once_in_order_without_new_traffic(
) {
    let (bi, tz, to_tz, to_bi) = pair().await;
    let corridor = ch(CORRIDOR);
    let mut mugina = bi
        .accounts
        .connect(bi.node.addr, "mugina.officer")
        .await
        .unwrap();
    let mut manyovu = tz
        .accounts
        .connect(tz.node.addr, "manyovu.officer")
        .await
        .unwrap();
    mugina.publish(&corridor, "before the cut").await.unwrap();
    assert_eq!(
        wait_for_count(
            &tz,
            "SELECT COUNT(*) FROM event_origins WHERE origin = 'bi.mpaka'",
            1
        )
        .await,
        1,
        "the link works before the cut"
    );

    // The link goes dark: nothing moves, open connections die.
    for proxy in [&to_tz, &to_bi] {
        proxy.set(LinkMode::Stall);
        proxy.reset();
    }
    for i in 0..25 {
        mugina
            .publish(&corridor, &format!("bi during the cut {i}"))
            .await
            .unwrap();
        manyovu
            .publish(&corridor, &format!("tz during the cut {i}"))
            .await
            .unwrap();
    }
    let mut coordinator = tz
        .accounts
        .connect(tz.node.addr, "tz.coordinator")
        .await
        .unwrap();
    coordinator
        .publish(&ch("coord:joint"), "joint coordination during the cut")
        .await
        .unwrap();
    coordinator
        .publish(&ch("coord:TZ"), "Tanzanian coordinators only")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        received_from(&tz, "bi.mpaka").await.len() < 26,
        "the cut let events through"
    );

    // Restored; nobody publishes anything from here on.
    for proxy in [&to_tz, &to_bi] {
        proxy.set(LinkMode::Pass);
    }
    for (receiver, origin) in [(&tz, &bi), (&bi, &tz)] {
        let want = own_shared(origin).await;
        let deadline = Instant::now() + PATIENCE;
        let mut got = received_from(receiver, origin.name).await;
        while got.len() < want.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            got = received_from(receiver, origin.name).await;
        }
        assert_eq!(
            got, want,
            "{} holds {}'s shared events once each, in origin order",
            receiver.name, origin.name
        );
    }
    let national: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE channel = 'coord:TZ' OR body LIKE '%Tanzanian coordinators only%'",
    )
    .fetch_one(&bi.db().await)
    .await
    .unwrap();
    assert_eq!(national, 0);
}

/// A fake peer hub named `bi.mpaka`: it answers one link at a time with
/// `script`, signing its challenge with `key`.
struct FakePeer {
    addr: std::net::SocketAddr,
    /// The `from` of each proof it received.
    proofs: tokio::sync::mpsc::UnboundedReceiver<u64>,
}

fn vkey(key: &SigningKey, name: &str) -> String {
    NoteSigner::new(format!("{name}/log"), key.clone())
        .verifier()
        .vkey()
}

fn shared(seq: u64, channel: &str, text: &str) -> SharedEvent {
    SharedEvent {
        origin: "bi.mpaka".into(),
        origin_seq: seq,
        channel: ch(channel),
        at_ms: 1_700_000_000_000,
        author: None,
        audience: None,
        data: mpaka_protocol::EventData::Message(mpaka_protocol::MessageBody {
            text: text.into(),
            lang: None,
            written_at: None,
        }),
    }
}

impl FakePeer {
    /// Serves links forever: a challenge signed by `key`, then, after the
    /// proof, the frames `script(from)` returns, then silence.
    async fn start(
        key: SigningKey,
        script: impl Fn(u64) -> Vec<Frame> + Send + Sync + 'static,
    ) -> FakePeer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, proofs) = tokio::sync::mpsc::unbounded_channel();
        let script = std::sync::Arc::new(script);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (key, tx, script) = (key.clone(), tx.clone(), script.clone());
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(stream).await else {
                        return;
                    };
                    let Some(Ok(Message::Text(hello))) = ws.next().await else {
                        return;
                    };
                    let Ok(Frame::Hello { hub, nonce, .. }) = serde_json::from_str(hello.as_str())
                    else {
                        return;
                    };
                    let ours = wire::nonce();
                    let says = wire::transcript(Role::Origin, &hub, "bi.mpaka", &nonce, &ours);
                    let challenge = Frame::Challenge {
                        hub: "bi.mpaka".into(),
                        nonce: ours,
                        sig: wire::sign(&key, &says),
                    };
                    let text = serde_json::to_string(&challenge).unwrap();
                    if ws.send(Message::text(text)).await.is_err() {
                        return;
                    }
                    let Some(Ok(Message::Text(proof))) = ws.next().await else {
                        return;
                    };
                    let Ok(Frame::Proof { from, .. }) = serde_json::from_str(proof.as_str()) else {
                        return;
                    };
                    let _ = tx.send(from);
                    for frame in script(from) {
                        let text = serde_json::to_string(&frame).unwrap();
                        if ws.send(Message::text(text)).await.is_err() {
                            return;
                        }
                    }
                    // Keep the link open (heartbeats are not needed for the test).
                    while let Some(Ok(_)) = ws.next().await {}
                });
            }
        });
        FakePeer { addr, proofs }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_with_the_wrong_key_an_altered_event_and_a_national_one_are_refused_and_counted() {
    let tz = Hub::start("tz.mpaka").await;
    let pinned = SigningKey::from_bytes(&[11; 32]);
    let impostor = SigningKey::from_bytes(&[12; 32]);

    // 1. An impostor at the peer's address signs with another key.
    let mut fake = FakePeer::start(impostor, |_| Vec::new()).await;
    tz.add_peer("bi.mpaka", &vkey(&pinned, "bi.mpaka"), fake.addr);
    let refused = "mpaka_federation_refused_items_total{peer=\"bi.mpaka\",reason=\"handshake\"}";
    let deadline = Instant::now() + PATIENCE;
    while tz.metric(refused).await < 1.0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        tz.metric(refused).await >= 1.0,
        "the impostor was not refused"
    );
    assert!(
        fake.proofs.try_recv().is_err(),
        "tz.mpaka proved itself to a hub that failed the pinned key"
    );

    // 2. The right key: one good event, one claiming a national channel,
    // one more good one; then an event altered after signing.
    let script = {
        let key = pinned.clone();
        move |from: u64| {
            let mut items: Vec<wire::SignedEvent> = [
                shared(1, CORRIDOR, "good one"),
                shared(2, "national:BI", "national secret"),
                shared(3, "joint", "good two"),
            ]
            .iter()
            .filter(|e| e.origin_seq > from)
            .map(|e| wire::sign_event(&key, e))
            .collect();
            let mut altered = wire::sign_event(&key, &shared(4, CORRIDOR, "genuine text"));
            altered.event = altered.event.replace("genuine text", "forged text!");
            if from < 4 {
                items.push(altered);
            }
            vec![Frame::Events {
                head: 4,
                pending: 0,
                items,
            }]
        }
    };
    let mut honest = FakePeer::start(pinned.clone(), script).await;
    tz.add_peer("bi.mpaka", &vkey(&pinned, "bi.mpaka"), honest.addr);
    assert_eq!(
        wait_for_count(
            &tz,
            "SELECT COUNT(*) FROM event_origins WHERE origin = 'bi.mpaka'",
            2
        )
        .await,
        2
    );
    // After the altered event the link is dropped; the next one resumes
    // after the national event (refused for good), not before it.
    let mut froms = Vec::new();
    let deadline = Instant::now() + PATIENCE;
    while froms.len() < 2 && Instant::now() < deadline {
        if let Ok(Some(from)) =
            tokio::time::timeout(Duration::from_secs(1), honest.proofs.recv()).await
        {
            froms.push(from);
        }
    }
    assert_eq!(froms, vec![0, 3], "resume points of the two links");
    let db = tz.db().await;
    let stored: Vec<(i64, String)> = sqlx::query(
        "SELECT o.origin_seq, e.channel FROM event_origins o JOIN events e ON e.seq = o.seq \
         WHERE o.origin = 'bi.mpaka' ORDER BY o.seq",
    )
    .fetch_all(&db)
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1)))
    .collect();
    assert_eq!(
        stored,
        vec![(1, CORRIDOR.to_owned()), (3, "joint".to_owned())]
    );
    let leaked: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events WHERE body LIKE '%national secret%' OR body LIKE '%forged%'",
    )
    .fetch_one(&db)
    .await
    .unwrap();
    assert_eq!(leaked, 0);
    for reason in ["not_shared", "bad_signature"] {
        let series = format!(
            "mpaka_federation_refused_items_total{{peer=\"bi.mpaka\",reason=\"{reason}\"}}"
        );
        assert!(tz.metric(&series).await >= 1.0, "{series} not counted");
    }
    let audited: Vec<String> =
        sqlx::query_scalar("SELECT action FROM audit WHERE action LIKE 'federation.%' ORDER BY id")
            .fetch_all(&db)
            .await
            .unwrap();
    for action in ["federation.refused", "federation.event_refused"] {
        assert!(
            audited.iter().any(|a| a == action),
            "{action} not audited: {audited:?}"
        );
    }
    drop(fake);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_is_no_peer_or_fails_the_pinned_key_gets_nothing_and_a_peer_down_leaves_readyz_alone(
) {
    let tz = Hub::start("tz.mpaka").await;
    let pinned = SigningKey::from_bytes(&[21; 32]);
    tz.add_peer(
        "bi.mpaka",
        &vkey(&pinned, "bi.mpaka"),
        "127.0.0.1:9".parse().unwrap(),
    );
    // Wait until the running hub has read the new peer (and failed to
    // reach it): a peer down leaves the hub ready for its own users.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let ready = reqwest::get(format!("{}/readyz", tz.node.url()))
        .await
        .unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    let link = format!("ws://{}/api/v1/federation/link", tz.node.addr);
    for (name, key) in [
        ("ke.mpaka", SigningKey::from_bytes(&[22; 32])),
        ("bi.mpaka", SigningKey::from_bytes(&[23; 32])),
    ] {
        let (mut ws, _) = tokio_tungstenite::connect_async(link.as_str())
            .await
            .unwrap();
        let nonce = wire::nonce();
        let hello = Frame::Hello {
            version: wire::VERSION,
            hub: name.into(),
            nonce: nonce.clone(),
        };
        ws.send(Message::text(serde_json::to_string(&hello).unwrap()))
            .await
            .unwrap();
        let Some(Ok(Message::Text(answer))) = ws.next().await else {
            panic!("{name}: no answer")
        };
        let answer: Frame = serde_json::from_str(answer.as_str()).unwrap();
        let theirs = match answer {
            Frame::Refused { .. } if name == "ke.mpaka" => continue,
            Frame::Challenge { nonce, .. } => nonce,
            other => panic!("{name}: {other:?}"),
        };
        let says = wire::transcript(Role::Receiver, name, "tz.mpaka", &nonce, &theirs);
        let proof = Frame::Proof {
            sig: wire::sign(&key, &says),
            from: 0,
        };
        ws.send(Message::text(serde_json::to_string(&proof).unwrap()))
            .await
            .unwrap();
        let Some(Ok(Message::Text(answer))) = ws.next().await else {
            panic!("{name}: no answer to the proof")
        };
        assert!(
            matches!(
                serde_json::from_str(answer.as_str()).unwrap(),
                Frame::Refused { .. }
            ),
            "{name}: {answer}"
        );
    }
    assert!(
        tz.metric("mpaka_federation_refused_items_total{peer=\"unknown\",reason=\"handshake\"}")
            .await
            >= 1.0
    );
    assert!(
        tz.metric("mpaka_federation_refused_items_total{peer=\"bi.mpaka\",reason=\"handshake\"}")
            .await
            >= 1.0
    );
}
