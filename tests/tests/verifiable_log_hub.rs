//! The verifiable log through a running hub: checkpoints, proofs and the
//! verifier over REST (SQLite and PostgreSQL), periodic and shutdown
//! checkpoints with their append-only copies, and two hubs witnessing each
//! other. Proofs are checked with the independent code of this file.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use mpaka_server::vlog::note::{Checkpoint, NoteSigner};
use mpaka_server::vlog::WitnessPeer;
use mpaka_tests::{ch, on_both_backends, Backend, TestHub, PATIENCE};
use sha2::{Digest, Sha256};
use sqlx::Executor as _;

type H = [u8; 32];

fn leaf(bytes: &[u8]) -> H {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(bytes)
        .finalize()
        .into()
}

fn node(l: &H, r: &H) -> H {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(l)
        .chain_update(r)
        .finalize()
        .into()
}

/// Root from an RFC 9162 audit path, by the recursive definition.
fn root_from_path(m: u64, n: u64, h: H, path: &[H]) -> Option<H> {
    if n == 1 {
        return path.is_empty().then_some(h);
    }
    let (last, rest) = path.split_last()?;
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    if m < k {
        Some(node(&root_from_path(m, k, h, rest)?, last))
    } else {
        Some(node(last, &root_from_path(m - k, n - k, h, rest)?))
    }
}

fn unb64(s: &str) -> H {
    B64.decode(s).unwrap().try_into().unwrap()
}

async fn get_text(hub: &TestHub, token: &str, path: &str) -> (u16, String) {
    let r = hub
        .http()
        .get(hub.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Size and root of a checkpoint, its signature checked by `signed_note`.
fn open(note: &str, vkey: &str) -> (u64, H) {
    let verifier = signed_note::StandardVerifier::new(vkey.trim()).unwrap();
    let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    let parsed = signed_note::Note::from_bytes(note.as_bytes()).unwrap();
    parsed.verify(&list).expect("signed by the log's key");
    let text = String::from_utf8(parsed.text().to_vec()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    (lines[1].parse().unwrap(), unb64(lines[2]))
}

async fn the_hub_serves_checkpoints_proofs_and_verdicts(backend: Backend) {
    let Some(hub) = TestHub::start_on(backend, |s| s.log.origin = "bi.mpaka/log".into()).await
    else {
        return;
    };
    let officer = hub.login("mugina.officer").await;
    let mut client = hub.connect("mugina.officer").await;
    let national = client
        .publish(&ch("post:mugina"), "400 people on foot at Mugina")
        .await
        .unwrap();
    let joint = client
        .publish(&ch("corridor:mugina-manyovu"), "tents needed")
        .await
        .unwrap();
    let (status, vkey) = get_text(&hub, &officer.access_token, "/api/v1/log/key").await;
    assert_eq!(status, 200);
    assert!(vkey.starts_with("bi.mpaka/log+"));

    // A proof of the national event, checked here with only key and proof.
    let (status, proof) = hub
        .get_json(
            &officer.access_token,
            &format!("/api/v1/log/proof/inclusion?event={national}"),
        )
        .await;
    assert_eq!(status, 200, "{proof}");
    let (size, root) = open(proof["checkpoint"].as_str().unwrap(), &vkey);
    assert_eq!(proof["tree_size"], size);
    let bytes = B64.decode(proof["leaf"].as_str().unwrap()).unwrap();
    assert!(String::from_utf8_lossy(&bytes).contains("400 people on foot"));
    let path: Vec<H> = proof["proof"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| unb64(h.as_str().unwrap()))
        .collect();
    let idx = proof["leaf_index"].as_u64().unwrap();
    assert_eq!(root_from_path(idx, size, leaf(&bytes), &path), Some(root));

    // The other country cannot obtain a proof of national content; the
    // answer is the same as for an event that does not exist.
    let tz = hub.login("manyovu.officer").await;
    let (status, body) = hub
        .get_json(
            &tz.access_token,
            &format!("/api/v1/log/proof/inclusion?event={national}"),
        )
        .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = hub
        .get_json(
            &tz.access_token,
            &format!("/api/v1/log/proof/inclusion?event={joint}"),
        )
        .await;
    assert_eq!(status, 200);
    let (status, body) = hub
        .get_json(&tz.access_token, "/api/v1/log/proof/inclusion?audit=1")
        .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, body) = hub
        .get_json(&tz.access_token, "/api/v1/log/proof/inclusion")
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed"))
    );

    // A consistency proof between two checkpoints.
    let (_, first) = get_text(&hub, &officer.access_token, "/api/v1/log/checkpoint").await;
    let (old_size, _) = open(&first, &vkey);
    client
        .publish(&ch("post:mugina"), "update: 420")
        .await
        .unwrap();
    hub.state.log.checkpoint().await.unwrap();
    let (status, c) = hub
        .get_json(
            &officer.access_token,
            &format!("/api/v1/log/proof/consistency?from={old_size}"),
        )
        .await;
    assert_eq!(status, 200, "{c}");
    let p: mpaka_server::vlog::proof::ConsistencyProof = serde_json::from_value(c).unwrap();
    assert!(p.to > p.from);
    mpaka_server::vlog::proof::check_consistency(
        &p,
        &mpaka_server::vlog::note::Verifier::parse(&vkey).unwrap(),
    )
    .unwrap();
    let (status, body) = hub
        .get_json(
            &officer.access_token,
            "/api/v1/log/proof/consistency?from=999999",
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("validation_failed"))
    );

    // The auditor's verdicts, before and after an edit behind the hub's back.
    let auditor = hub.login("auditor").await;
    let (status, _) = hub
        .get_json(&officer.access_token, "/api/v1/log/verify")
        .await;
    assert_eq!(status, 403);
    let (_, report) = hub
        .get_json(&auditor.access_token, "/api/v1/log/verify")
        .await;
    assert_eq!(report["intact"], true, "{report}");
    let (_, verdict) = hub
        .get_json(&auditor.access_token, "/api/v1/audit/verify")
        .await;
    assert_eq!(verdict["intact"], true);
    let mut tx = hub.state.store.write().await.unwrap();
    tx.conn()
        .execute(
            format!("UPDATE events SET body = REPLACE(body, '400', '4') WHERE seq = {national}")
                .as_str(),
        )
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let (_, report) = hub
        .get_json(&auditor.access_token, "/api/v1/log/verify")
        .await;
    assert_eq!(report["intact"], false);
    assert!(report["first_difference"]
        .as_str()
        .unwrap()
        .contains(&format!("event {national}")));
    let (_, verdict) = hub
        .get_json(&auditor.access_token, "/api/v1/audit/verify")
        .await;
    assert_eq!(verdict["intact"], false);
    assert_eq!(verdict["log"]["intact"], false);
}

on_both_backends!(the_hub_serves_checkpoints_proofs_and_verdicts);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_come_every_n_entries_and_at_shutdown_with_append_only_copies() {
    let copies = tempfile::tempdir().unwrap();
    let dir = copies.path().join("checkpoints");
    let dir2 = dir.clone();
    let mut hub = TestHub::start_with(move |s| {
        s.log.checkpoint_every = 5;
        s.log.checkpoint_secs = 3600;
        s.log.checkpoint_dir = Some(dir2);
    })
    .await;
    let mut client = hub.connect("mugina.officer").await;
    for i in 0..6 {
        client
            .publish(&ch("post:mugina"), &format!("m{i}"))
            .await
            .unwrap();
    }
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while hub.state.store.latest_checkpoint().await.unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no checkpoint after 5 entries"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    client
        .publish(&ch("post:mugina"), "last words")
        .await
        .unwrap();
    let store = hub.state.store.clone();
    let url = hub.database_url();
    client.close().await;
    hub.shutdown().await;
    drop(store);
    // Reopened: the last checkpoint covers every entry, and each
    // checkpoint has its own file that was never rewritten.
    let store = mpaka_server::store::Store::open(&url).await.unwrap();
    let latest = store.latest_checkpoint().await.unwrap().unwrap();
    assert_eq!(latest.size, store.log_size().await.unwrap());
    let all = store.checkpoints(0, 100).await.unwrap();
    assert!(all.len() >= 2);
    for c in &all {
        let file = dir.join(format!("{:020}.checkpoint", c.size));
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            c.note,
            "{}",
            file.display()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hubs_witness_each_other_and_refuse_a_fork() {
    // Keys first, so each hub can pin the other's.
    let (bi_dir, tz_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let bi_key = mpaka_server::vlog::key::load_or_create(&bi_dir.path().join("log.key")).unwrap();
    let tz_key = mpaka_server::vlog::key::load_or_create(&tz_dir.path().join("log.key")).unwrap();
    let bi_signer = NoteSigner::new("bi.mpaka/log", bi_key);
    let tz_vkey = NoteSigner::new("tz.mpaka/log", tz_key).verifier().vkey();
    let bi_vkey = bi_signer.verifier().vkey();
    let tz = TestHub::start_in(tz_dir.path(), |s| {
        s.log.origin = "tz.mpaka/log".into();
        s.log.witness_for = vec![bi_vkey.clone()];
    })
    .await;
    let tz_url = tz.url("/api/v1/log/witness");
    let bi = TestHub::start_in(bi_dir.path(), |s| {
        s.log.origin = "bi.mpaka/log".into();
        s.log.witnesses = vec![WitnessPeer {
            url: tz_url.clone(),
            vkey: tz_vkey.clone(),
        }];
    })
    .await;
    let mut client = bi.connect("mugina.officer").await;
    client.publish(&ch("post:mugina"), "first").await.unwrap();
    bi.state.log.checkpoint().await.unwrap();
    client.publish(&ch("post:mugina"), "second").await.unwrap();
    let second = bi.state.log.checkpoint().await.unwrap().unwrap();
    // Both were cosigned by the Tanzanian hub, and the cosignature verifies.
    let cosigned = bi.state.store.cosignatures(10).await.unwrap();
    assert_eq!(cosigned.len(), 2, "{cosigned:?}");
    let (size, witness, note) = &cosigned[0];
    assert_eq!((size, witness.as_str()), (&second.size, "tz.mpaka/log"));
    let parsed = mpaka_server::vlog::note::Note::parse(note).unwrap();
    mpaka_server::vlog::note::Verifier::parse(&tz_vkey)
        .unwrap()
        .verify_cosignature(&parsed)
        .unwrap();

    // A fork: a checkpoint signed with the BI key (stolen) whose tree does
    // not extend what the witness holds. Refused, whatever the proof.
    let post = |body: String| {
        let http = tz.http().clone();
        let url = format!("{tz_url}/add-checkpoint");
        async move {
            let r = http.post(url).body(body).send().await.unwrap();
            (r.status().as_u16(), r.text().await.unwrap())
        }
    };
    let fork = bi_signer
        .sign_checkpoint(
            &Checkpoint {
                origin: "bi.mpaka/log".into(),
                size: second.size + 3,
                root: [7u8; 32],
            },
            1,
        )
        .render();
    let bogus = B64.encode([1u8; 32]);
    let (status, body) = post(format!("old {}\n{bogus}\n\n{fork}", second.size)).await;
    assert_eq!(status, 422, "{body}");
    // The same with a stale old size: told the size the witness holds.
    let (status, body) = post(format!("old 1\n\n{fork}")).await;
    assert_eq!(
        (status, body.trim()),
        (409, second.size.to_string().as_str())
    );
    // Signed by another key, or for a log it does not witness.
    let other = NoteSigner::new(
        "bi.mpaka/log",
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    );
    let forged = other
        .sign_checkpoint(
            &Checkpoint {
                origin: "bi.mpaka/log".into(),
                size: 1,
                root: [0u8; 32],
            },
            1,
        )
        .render();
    let (status, _) = post(format!("old {}\n\n{forged}", second.size)).await;
    assert_eq!(status, 403);
    let stranger = NoteSigner::new(
        "ke.mpaka/log",
        ed25519_dalek::SigningKey::from_bytes(&[9u8; 32]),
    );
    let unknown = stranger
        .sign_checkpoint(
            &Checkpoint {
                origin: "ke.mpaka/log".into(),
                size: 1,
                root: [0u8; 32],
            },
            1,
        )
        .render();
    let (status, _) = post(format!("old 0\n\n{unknown}")).await;
    assert_eq!(status, 404);
    let (status, body) = post("nonsense".into()).await;
    assert_eq!(status, 400, "{body}");
}
