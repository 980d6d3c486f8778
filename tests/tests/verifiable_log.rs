//! The verifiable log (issue 12), end to end on SQLite and PostgreSQL:
//! every attack an insider with database access (and even the key file)
//! can make is detected against a checkpoint taken before it; proofs are
//! checked by an independent verifier written here from RFC 9162, and
//! checkpoints parsed and verified by an independent signed-note
//! implementation (the `signed_note` crate), not by the code under test.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use mpaka_protocol::{ChannelId, EventData, MessageBody};
use mpaka_server::store::{AuditEntry, NewEvent, Store};
use mpaka_server::vlog::verify::{verify, CheckpointText, ProblemKind, Report};
use mpaka_server::vlog::{Log, LogSettings};
use mpaka_tests::{ch, on_both_backends, Backend, TestDb};
use sha2::{Digest, Sha256};
use sqlx::Executor as _;

// ---------------------------------------------------------------------
// An independent RFC 9162 verifier (§2.1), written from the definitions.

type H = [u8; 32];

fn rfc_leaf(bytes: &[u8]) -> H {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(bytes)
        .finalize()
        .into()
}

fn rfc_node(l: &H, r: &H) -> H {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(l)
        .chain_update(r)
        .finalize()
        .into()
}

/// The largest power of two smaller than n.
fn rfc_k(n: u64) -> u64 {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

/// Root from PATH(m, D[n]) by its recursive definition: the last element
/// of the path belongs to the top split.
fn rfc_root_from_path(m: u64, n: u64, leaf: H, path: &[H]) -> Option<H> {
    if n == 1 {
        return path.is_empty().then_some(leaf);
    }
    let (last, rest) = path.split_last()?;
    let k = rfc_k(n);
    if m < k {
        Some(rfc_node(&rfc_root_from_path(m, k, leaf, rest)?, last))
    } else {
        Some(rfc_node(
            last,
            &rfc_root_from_path(m - k, n - k, leaf, rest)?,
        ))
    }
}

/// Old and new roots from SUBPROOF(m, D[n], b), consuming the proof from
/// its end (the outermost element is emitted last).
fn rfc_subproof(m: u64, n: u64, b: bool, proof: &mut Vec<H>, old_root: &H) -> Option<(H, H)> {
    if m == n {
        if b {
            return Some((*old_root, *old_root));
        }
        let x = proof.pop()?;
        return Some((x, x));
    }
    let k = rfc_k(n);
    if m <= k {
        let right = proof.pop()?;
        let (o, nw) = rfc_subproof(m, k, b, proof, old_root)?;
        Some((o, rfc_node(&nw, &right)))
    } else {
        let left = proof.pop()?;
        let (o, nw) = rfc_subproof(m - k, n - k, false, proof, old_root)?;
        Some((rfc_node(&left, &o), rfc_node(&left, &nw)))
    }
}

fn rfc_consistent(m: u64, n: u64, old_root: &H, new_root: &H, proof: &[H]) -> bool {
    if m == n {
        return proof.is_empty() && old_root == new_root;
    }
    let mut p = proof.to_vec();
    match rfc_subproof(m, n, true, &mut p, old_root) {
        Some((o, nw)) => p.is_empty() && &o == old_root && &nw == new_root,
        None => false,
    }
}

fn unb64(s: &str) -> H {
    B64.decode(s).unwrap().try_into().unwrap()
}

/// Checks a checkpoint's log signature with the `signed_note` crate and
/// returns (size, root).
fn interop_open(note: &str, vkey: &str) -> (u64, H) {
    let verifier = signed_note::StandardVerifier::new(vkey).expect("vkey parses in signed_note");
    let list = signed_note::VerifierList::new(vec![Box::new(verifier)]);
    let parsed = signed_note::Note::from_bytes(note.as_bytes()).expect("note parses");
    let (verified, unverified) = parsed.verify(&list).expect("signature verifies");
    assert_eq!(verified.len(), 1);
    // The hub's timestamped cosignature: a signature type this verifier
    // does not know, kept aside as the format says.
    assert_eq!(unverified.len(), 1);
    let text = std::str::from_utf8(parsed.text()).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    (lines[1].parse().unwrap(), unb64(lines[2]))
}

// ---------------------------------------------------------------------
// Fixtures: a store with a log, written through the hub's own write path.

struct Fixture {
    _db: TestDb,
    _keys: tempfile::TempDir,
    store: Store,
    log: Log,
}

fn settings() -> LogSettings {
    LogSettings {
        origin: "bi.mpaka/log".into(),
        ..LogSettings::default()
    }
}

async fn fixture(backend: Backend) -> Option<Fixture> {
    let db = TestDb::fresh(backend).await?;
    let store = Store::open(&db.url).await.expect("store opens");
    let keys = tempfile::tempdir().unwrap();
    let log = Log::open(store.clone(), settings(), keys.path())
        .await
        .unwrap();
    Some(Fixture {
        _db: db,
        _keys: keys,
        store,
        log,
    })
}

fn message(channel: &ChannelId, text: &str) -> NewEvent {
    NewEvent {
        channel: channel.clone(),
        author_id: Some(1),
        author: None,
        audience: None,
        data: EventData::Message(MessageBody {
            written_at: None,
            text: text.into(),
            lang: Some("fr".into()),
        }),
    }
}

/// Writes `n` transactions, each an event and an audit entry; returns the
/// event sequence numbers.
async fn write_some(store: &Store, n: usize, tag: &str) -> Vec<u64> {
    let mut seqs = Vec::new();
    for i in 0..n {
        let mut tx = store.write().await.unwrap();
        let e = tx
            .append(message(
                &ch("corridor:mugina-manyovu"),
                &format!("{tag} {i}: 400 people on foot"),
            ))
            .await
            .unwrap();
        tx.audit(AuditEntry::new(
            Some((1, "mugina.officer")),
            "alert.raised",
            format!("alert:{tag}{i}"),
            serde_json::json!({"headcount": 400}),
        ))
        .await
        .unwrap();
        tx.commit().await.unwrap();
        seqs.push(e.seq);
    }
    seqs
}

async fn sql(store: &Store, statement: &str) {
    let mut tx = store.write().await.unwrap();
    tx.conn().execute(statement).await.unwrap();
    tx.commit().await.unwrap();
}

async fn saved_checkpoint(f: &Fixture) -> CheckpointText {
    let cp = f.log.checkpoint().await.unwrap().unwrap();
    CheckpointText {
        from: "auditor's copy".into(),
        text: cp.note,
    }
}

async fn verify_with(f: &Fixture, saved: &CheckpointText) -> Report {
    verify(&f.store, &f.log.verifier(), std::slice::from_ref(saved))
        .await
        .unwrap()
}

fn has(report: &Report, kind: ProblemKind) -> bool {
    report.problems.iter().any(|p| p.kind == kind)
}

/// The attacker's tools: recompute every leaf hash from the rows as they
/// now are, drop the node cache and the stored checkpoints.
async fn recompute_everything(store: &Store) {
    use mpaka_server::vlog::leaf::{AuditRow, EventRow};
    use mpaka_server::vlog::merkle::leaf_hash;
    use sqlx::Row as _;
    let mut tx = store.write().await.unwrap();
    let events =
        sqlx::query("SELECT seq, channel, kind, at, author_id, author, audience, body FROM events")
            .fetch_all(tx.conn())
            .await
            .unwrap();
    for r in &events {
        let row = EventRow {
            seq: r.get("seq"),
            channel: r.get("channel"),
            kind: r.get("kind"),
            at: r.get("at"),
            author_id: r.get("author_id"),
            author: r.get("author"),
            audience: r.get("audience"),
            body: r.get("body"),
        };
        sqlx::query("UPDATE log_leaves SET hash = $1 WHERE source = 'event' AND ref = $2")
            .bind(hex::encode(leaf_hash(&row.leaf_bytes())))
            .bind(row.seq)
            .execute(tx.conn())
            .await
            .unwrap();
    }
    let audit = sqlx::query(
        "SELECT id, at, actor_id, actor, action, target, detail, prev_hash, hash FROM audit",
    )
    .fetch_all(tx.conn())
    .await
    .unwrap();
    for r in &audit {
        let row = AuditRow {
            id: r.get("id"),
            at: r.get("at"),
            actor_id: r.get("actor_id"),
            actor: r.get("actor"),
            action: r.get("action"),
            target: r.get("target"),
            detail: r.get("detail"),
            prev_hash: r.get("prev_hash"),
            hash: r.get("hash"),
        };
        sqlx::query("UPDATE log_leaves SET hash = $1 WHERE source = 'audit' AND ref = $2")
            .bind(hex::encode(leaf_hash(&row.leaf_bytes())))
            .bind(row.id)
            .execute(tx.conn())
            .await
            .unwrap();
    }
    tx.conn().execute("DELETE FROM log_nodes").await.unwrap();
    tx.conn()
        .execute("DELETE FROM log_checkpoints")
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

// ---------------------------------------------------------------------
// The attacks.

async fn an_untouched_log_verifies_against_its_checkpoints(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    write_some(&f.store, 10, "a").await;
    let first = saved_checkpoint(&f).await;
    write_some(&f.store, 7, "b").await;
    let second = saved_checkpoint(&f).await;
    let report = verify(&f.store, &f.log.verifier(), &[first, second])
        .await
        .unwrap();
    assert!(report.intact, "{report:#?}");
    assert_eq!(report.entries, 34);
    assert_eq!((report.events, report.audit_entries), (17, 17));
    assert!(report
        .checkpoints
        .iter()
        .all(|c| c.signature_ok && c.consistent));
    assert_eq!(report.first_difference, None);
}

async fn an_edited_row_is_detected_and_named(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let seqs = write_some(&f.store, 10, "a").await;
    let saved = saved_checkpoint(&f).await;
    let target = seqs[4];
    sql(
        &f.store,
        &format!(
            "UPDATE events SET body = REPLACE(body, '400 people', '4 people') WHERE seq = {target}"
        ),
    )
    .await;
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact);
    let leaf = f
        .store
        .leaf_of(mpaka_server::vlog::leaf::Source::Event, target as i64)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(report.first_leaf, Some(leaf.idx));
    assert!(has(&report, ProblemKind::RowChanged));
    assert!(has(&report, ProblemKind::CheckpointMismatch));
    assert!(report
        .first_difference
        .unwrap()
        .contains(&format!("event {target}")));
}

async fn a_deleted_middle_row_is_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let seqs = write_some(&f.store, 10, "a").await;
    let saved = saved_checkpoint(&f).await;
    sql(
        &f.store,
        &format!("DELETE FROM events WHERE seq = {}", seqs[5]),
    )
    .await;
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::RowMissing));
    // Deleting its leaf too only moves the finding.
    sql(&f.store, "DELETE FROM log_leaves WHERE idx = 11").await;
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::LeafOrder));
}

async fn swapped_rows_are_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let seqs = write_some(&f.store, 10, "a").await;
    let saved = saved_checkpoint(&f).await;
    let (a, b) = (seqs[2], seqs[3]);
    let body_of = |seq: u64| {
        let store = f.store.clone();
        async move {
            let mut tx = store.write().await.unwrap();
            let body: String = sqlx::query_scalar("SELECT body FROM events WHERE seq = $1")
                .bind(seq as i64)
                .fetch_one(tx.conn())
                .await
                .unwrap();
            body
        }
    };
    let (body_a, body_b) = (body_of(a).await, body_of(b).await);
    let mut tx = f.store.write().await.unwrap();
    for (seq, body) in [(a, &body_b), (b, &body_a)] {
        sqlx::query("UPDATE events SET body = $1 WHERE seq = $2")
            .bind(body)
            .bind(seq as i64)
            .execute(tx.conn())
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact);
    let changed: Vec<i64> = report
        .problems
        .iter()
        .filter(|p| p.kind == ProblemKind::RowChanged)
        .filter_map(|p| p.reference)
        .collect();
    assert_eq!(changed, [a as i64, b as i64]);
}

async fn a_truncated_tail_is_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let seqs = write_some(&f.store, 10, "a").await;
    let saved = saved_checkpoint(&f).await;
    // The three newest events and entries, their leaves, nodes and the
    // stored checkpoints: a clean cut.
    sql(
        &f.store,
        &format!("DELETE FROM events WHERE seq >= {}", seqs[7]),
    )
    .await;
    sql(&f.store, "DELETE FROM audit WHERE id > 7").await;
    sql(&f.store, "DELETE FROM log_leaves WHERE idx >= 14").await;
    sql(&f.store, "DELETE FROM log_nodes").await;
    sql(&f.store, "DELETE FROM log_checkpoints").await;
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact, "{report:#?}");
    assert!(has(&report, ProblemKind::LogTruncated));
    assert_eq!(report.entries, 14);
    // Without the saved checkpoint the cut is invisible: said honestly.
    let blind = verify(&f.store, &f.log.verifier(), &[]).await.unwrap();
    assert!(blind.intact);
}

async fn an_emptied_log_is_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    write_some(&f.store, 5, "a").await;
    let saved = saved_checkpoint(&f).await;
    for table in [
        "events",
        "audit",
        "log_leaves",
        "log_nodes",
        "log_checkpoints",
    ] {
        sql(&f.store, &format!("DELETE FROM {table}")).await;
    }
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::LogTruncated));
    assert_eq!(report.entries, 0);
}

async fn a_rewrite_with_recomputed_hashes_is_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let seqs = write_some(&f.store, 12, "a").await;
    let saved = saved_checkpoint(&f).await;
    write_some(&f.store, 4, "b").await;
    // The insider edits an old row, recomputes every leaf, and even signs
    // a fresh checkpoint with the hub's own key.
    sql(
        &f.store,
        &format!(
            "UPDATE events SET body = REPLACE(body, '400', '4') WHERE seq = {}",
            seqs[3]
        ),
    )
    .await;
    sql(
        &f.store,
        "UPDATE audit SET action = 'auth.logout' WHERE id = 2",
    )
    .await;
    recompute_everything(&f.store).await;
    f.log.checkpoint().await.unwrap();
    let blind = verify(&f.store, &f.log.verifier(), &[]).await.unwrap();
    assert!(
        blind.intact,
        "without an outside checkpoint a full rewrite passes"
    );
    let report = verify_with(&f, &saved).await;
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::CheckpointMismatch));
    let first = report.first_difference.unwrap();
    assert!(first.contains("0..24"), "{first}");
}

async fn a_replaced_key_is_detected(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    write_some(&f.store, 6, "a").await;
    let saved = saved_checkpoint(&f).await;
    let old_key = f.log.verifier();
    sql(
        &f.store,
        "UPDATE events SET body = REPLACE(body, '400', '4')",
    )
    .await;
    recompute_everything(&f.store).await;
    // A new key file, and a checkpoint of the rewritten log signed with it.
    let other_dir = tempfile::tempdir().unwrap();
    let forger = Log::open(f.store.clone(), settings(), other_dir.path())
        .await
        .unwrap();
    forger.checkpoint().await.unwrap();
    // Trusting the key now on disk, the auditor's old checkpoint no longer verifies.
    let report = verify(&f.store, &forger.verifier(), std::slice::from_ref(&saved))
        .await
        .unwrap();
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::BadSignature));
    // Trusting the pinned key, the forged checkpoint fails and the tree differs.
    let report = verify(&f.store, &old_key, std::slice::from_ref(&saved))
        .await
        .unwrap();
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::BadSignature));
    assert!(has(&report, ProblemKind::CheckpointMismatch));
}

async fn a_row_added_behind_the_hub_is_reported(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    write_some(&f.store, 3, "a").await;
    sql(
        &f.store,
        "INSERT INTO audit (at, actor_id, actor, action, target, detail, prev_hash, hash) \
        VALUES (1, NULL, 'system', 'auth.login', 'user:9', '{}', 'x', 'y')",
    )
    .await;
    let report = verify(&f.store, &f.log.verifier(), &[]).await.unwrap();
    assert!(!report.intact);
    assert!(has(&report, ProblemKind::RowNotLogged));
}

async fn proofs_check_with_an_independent_verifier(backend: Backend) {
    let Some(f) = fixture(backend).await else {
        return;
    };
    let seqs = write_some(&f.store, 9, "a").await;
    let vkey = f.log.verifier().vkey();
    let first = f.log.checkpoint().await.unwrap().unwrap();
    write_some(&f.store, 14, "b").await;
    let second = f.log.checkpoint().await.unwrap().unwrap();
    let (size, root) = interop_open(&second.note, &vkey);
    assert_eq!(size, 46);
    for seq in [seqs[0], seqs[4], seqs[8]] {
        let leaf = f
            .store
            .leaf_of(mpaka_server::vlog::leaf::Source::Event, seq as i64)
            .await
            .unwrap()
            .unwrap();
        let proof = mpaka_server::vlog::proof::inclusion(&f.log, &leaf, None)
            .await
            .unwrap();
        let bytes = B64.decode(&proof.leaf).unwrap();
        let path: Vec<H> = proof.proof.iter().map(|h| unb64(h)).collect();
        assert_eq!(
            rfc_root_from_path(proof.leaf_index, proof.tree_size, rfc_leaf(&bytes), &path),
            Some(root)
        );
        // One flipped byte of the row and the proof fails.
        let mut forged = bytes.clone();
        let last = forged.len() - 3;
        forged[last] ^= 1;
        assert_ne!(
            rfc_root_from_path(proof.leaf_index, proof.tree_size, rfc_leaf(&forged), &path),
            Some(root)
        );
    }
    let (old_size, old_root) = interop_open(&first.note, &vkey);
    let proof = mpaka_server::vlog::proof::consistency(&f.log, old_size, None)
        .await
        .unwrap();
    let path: Vec<H> = proof.proof.iter().map(|h| unb64(h)).collect();
    assert!(rfc_consistent(old_size, size, &old_root, &root, &path));
    assert!(!rfc_consistent(
        old_size,
        size,
        &rfc_leaf(b"x"),
        &root,
        &path
    ));
    // Every size pair, against roots this verifier computes itself.
    let mut leaves = Vec::new();
    for leaf in f.store.leaves_from(0, 1000).await.unwrap() {
        let bytes = f.store.leaf_bytes(&leaf).await.unwrap().unwrap();
        leaves.push(rfc_leaf(&bytes));
    }
    fn mth(l: &[H]) -> H {
        match l.len() {
            1 => l[0],
            n => {
                let k = rfc_k(n as u64) as usize;
                rfc_node(&mth(&l[..k]), &mth(&l[k..]))
            }
        }
    }
    assert_eq!(mth(&leaves), root);
    for m in [1u64, 2, 3, 7, 8, 13, 18, 31, 32, 45] {
        let hashes = f.store.consistency_proof(m, size).await.unwrap();
        assert!(
            rfc_consistent(m, size, &mth(&leaves[..m as usize]), &root, &hashes),
            "m={m}"
        );
        for i in [0, m / 2, m - 1] {
            let path = f.store.inclusion_proof(i, size).await.unwrap();
            assert_eq!(
                rfc_root_from_path(i, size, leaves[i as usize], &path),
                Some(root)
            );
        }
    }
}

on_both_backends!(
    an_untouched_log_verifies_against_its_checkpoints,
    an_edited_row_is_detected_and_named,
    a_deleted_middle_row_is_detected,
    swapped_rows_are_detected,
    a_truncated_tail_is_detected,
    an_emptied_log_is_detected,
    a_rewrite_with_recomputed_hashes_is_detected,
    a_replaced_key_is_detected,
    a_row_added_behind_the_hub_is_reported,
    proofs_check_with_an_independent_verifier,
);

// ---------------------------------------------------------------------
// Random logs, random single edits.

mod property {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Edit {
        EventBody,
        EventChannel,
        EventAt,
        EventAuthor,
        AuditActor,
        AuditDetail,
        AuditAt,
        DeleteEvent,
        DeleteAudit,
    }

    fn edit_strategy() -> impl Strategy<Value = Edit> {
        prop_oneof![
            Just(Edit::EventBody),
            Just(Edit::EventChannel),
            Just(Edit::EventAt),
            Just(Edit::EventAuthor),
            Just(Edit::AuditActor),
            Just(Edit::AuditDetail),
            Just(Edit::AuditAt),
            Just(Edit::DeleteEvent),
            Just(Edit::DeleteAudit),
        ]
    }

    async fn run(texts: Vec<(String, bool)>, edit: Edit, pick: usize) -> (bool, bool) {
        let f = fixture(Backend::Sqlite).await.unwrap();
        let mut events = Vec::new();
        let mut audits = 0i64;
        for (text, with_audit) in &texts {
            let mut tx = f.store.write().await.unwrap();
            events.push(
                tx.append(message(&ch("national:BI"), text))
                    .await
                    .unwrap()
                    .seq,
            );
            if *with_audit {
                tx.audit(AuditEntry::new(
                    None,
                    "auth.login",
                    "user:1",
                    serde_json::json!({"t": text}),
                ))
                .await
                .unwrap();
                audits += 1;
            }
            tx.commit().await.unwrap();
        }
        let saved = saved_checkpoint(&f).await;
        let untouched = verify_with(&f, &saved).await.intact;
        let seq = events[pick % events.len()];
        let id = if audits > 0 {
            (pick as i64 % audits) + 1
        } else {
            0
        };
        let statement = match edit {
            Edit::EventBody => format!("UPDATE events SET body = body || ' ' WHERE seq = {seq}"),
            Edit::EventChannel => {
                format!("UPDATE events SET channel = 'national:TZ' WHERE seq = {seq}")
            }
            Edit::EventAt => format!("UPDATE events SET at = at + 1 WHERE seq = {seq}"),
            Edit::EventAuthor => format!("UPDATE events SET author_id = NULL WHERE seq = {seq}"),
            Edit::AuditActor if audits > 0 => {
                format!("UPDATE audit SET actor = 'x' WHERE id = {id}")
            }
            Edit::AuditDetail if audits > 0 => {
                format!("UPDATE audit SET detail = '{{}}' WHERE id = {id}")
            }
            Edit::AuditAt if audits > 0 => format!("UPDATE audit SET at = at - 1 WHERE id = {id}"),
            Edit::DeleteAudit if audits > 0 => format!("DELETE FROM audit WHERE id = {id}"),
            _ => format!("DELETE FROM events WHERE seq = {seq}"),
        };
        sql(&f.store, &statement).await;
        let edited = verify_with(&f, &saved).await.intact;
        (untouched, edited)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]
        #[test]
        fn every_single_edit_is_detected_and_no_untouched_log_is_flagged(
            texts in proptest::collection::vec(("[a-zA-Z0-9 éà]{0,12}", any::<bool>()), 1..25),
            edit in edit_strategy(),
            pick in 0usize..1000,
        ) {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            let (untouched, edited) = rt.block_on(run(texts, edit, pick));
            prop_assert!(untouched, "false alarm on an untouched log");
            prop_assert!(!edited, "an edit went unnoticed");
        }
    }
}
