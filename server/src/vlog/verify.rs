//! The verifier: recomputes every leaf from the rows as they are stored
//! now, rebuilds the tree in O(log n) memory, and compares it with every
//! signed checkpoint it is given (the database's own, files, the
//! append-only directory). It names the first entry that differs.
//!
//! Without a checkpoint from outside the database, it detects rows edited,
//! deleted, swapped or added behind the hub's back (each row no longer
//! matches the leaf hash written with it), but not a rewrite that also
//! recomputes the leaves: only a checkpoint kept elsewhere (a witness, the
//! append-only directory, a file an auditor saved) catches that.

use super::leaf::Source;
use super::merkle::{self, CompactRange, Hash};
use super::note::{open_checkpoint, Verifier};
use super::store::{self as log_store, LeafRef};
use crate::store::{Result, Store};
use serde::Serialize;
use sqlx::Row;
use std::collections::{HashMap, VecDeque};

/// Rows read per query.
const PAGE: u32 = 5000;
/// Problems listed in a report at most (the count is always complete).
const MAX_LISTED: usize = 100;

/// What is wrong with one entry or checkpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The row no longer matches the leaf written with it.
    RowChanged,
    /// The leaf's row is gone.
    RowMissing,
    /// A row that has no leaf: not written by the hub.
    RowNotLogged,
    /// Leaf indexes are not contiguous, or a leaf is out of order.
    LeafOrder,
    /// The tree of the first `size` entries is not the one signed.
    CheckpointMismatch,
    /// A checkpoint covers more entries than the log holds: truncated.
    LogTruncated,
    /// A checkpoint whose signature does not verify with the trusted key.
    BadSignature,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    /// The leaf (entry) index, when one entry is concerned.
    pub leaf: Option<u64>,
    pub source: Option<Source>,
    /// `events.seq` or `audit.id`.
    pub reference: Option<i64>,
    pub detail: String,
}

/// One checkpoint compared with the recomputed tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CheckpointCheck {
    /// Where it came from: `database`, a file name, `directory`.
    pub from: String,
    pub size: u64,
    /// Signed time (Unix seconds), when the note has the log's cosignature.
    pub time: Option<u64>,
    pub signature_ok: bool,
    /// The recomputed tree of `size` entries has the signed root.
    pub consistent: bool,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    pub origin: String,
    pub entries: u64,
    pub events: u64,
    pub audit_entries: u64,
    /// Recomputed root of the whole log (hex).
    pub root: String,
    pub intact: bool,
    /// The earliest entry that differs, or the range it is in when only a
    /// checkpoint shows it (a rewrite that recomputed the leaves).
    pub first_difference: Option<String>,
    /// The lowest leaf index known to differ.
    pub first_leaf: Option<u64>,
    pub problem_count: u64,
    pub problems: Vec<Problem>,
    pub checkpoints: Vec<CheckpointCheck>,
    /// Leaves redacted through tombstones (accepted, listed).
    pub redacted: Vec<u64>,
}

/// A checkpoint to check, as text with a label.
#[derive(Debug, Clone)]
pub struct CheckpointText {
    pub from: String,
    pub text: String,
}

struct Cursor {
    source: Source,
    /// The last key fetched into `buf`.
    after: i64,
    /// The last key taken out of `buf`.
    popped: i64,
    buf: VecDeque<(i64, Vec<u8>)>,
    done: bool,
}

impl Cursor {
    fn new(source: Source) -> Cursor {
        Cursor {
            source,
            after: i64::MIN,
            popped: i64::MIN,
            buf: VecDeque::new(),
            done: false,
        }
    }

    async fn peek(&mut self, store: &Store) -> Result<Option<i64>> {
        if self.buf.is_empty() && !self.done {
            let mut conn = store.reader().await?;
            let (sql, key) = match self.source {
                Source::Event => (
                    format!(
                        "SELECT {} FROM events WHERE seq > $1 ORDER BY seq LIMIT $2",
                        log_store::EVENT_COLUMNS
                    ),
                    "seq",
                ),
                _ => (
                    format!(
                        "SELECT {} FROM audit WHERE id > $1 ORDER BY id LIMIT $2",
                        log_store::AUDIT_COLUMNS
                    ),
                    "id",
                ),
            };
            let rows = sqlx::query(&sql)
                .bind(self.after)
                .bind(i64::from(PAGE))
                .fetch_all(&mut *conn)
                .await?;
            self.done = rows.len() < PAGE as usize;
            for r in &rows {
                let key: i64 = r.try_get(key)?;
                let bytes = match self.source {
                    Source::Event => log_store::decode_event_row(r)?.leaf_bytes(),
                    _ => log_store::decode_audit_row(r)?.leaf_bytes(),
                };
                self.after = key;
                self.buf.push_back((key, bytes));
            }
        }
        Ok(self.buf.front().map(|(k, _)| *k))
    }

    fn pop(&mut self) -> Option<(i64, Vec<u8>)> {
        let item = self.buf.pop_front();
        if let Some((key, _)) = &item {
            self.popped = *key;
        }
        item
    }
}

struct Findings {
    count: u64,
    listed: Vec<Problem>,
    first_leaf: Option<u64>,
}

impl Findings {
    fn add(&mut self, p: Problem) {
        self.count += 1;
        if let Some(leaf) = p.leaf {
            self.first_leaf = Some(self.first_leaf.map_or(leaf, |f| f.min(leaf)));
        }
        if self.listed.len() < MAX_LISTED {
            self.listed.push(p);
        }
    }
}

/// Verifies the whole log against `trusted` and the checkpoints given
/// plus those stored in the database.
///
/// # Errors
/// A database failure (never a finding: those are in the report).
pub async fn verify(store: &Store, trusted: &Verifier, extra: &[CheckpointText]) -> Result<Report> {
    let mut findings = Findings {
        count: 0,
        listed: Vec::new(),
        first_leaf: None,
    };
    // Checkpoints: the database's own, then the ones given.
    let mut texts: Vec<CheckpointText> = Vec::new();
    let mut after = 0;
    loop {
        let page = store.checkpoints(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        texts.extend(page.into_iter().map(|c| CheckpointText {
            from: "database".into(),
            text: c.note,
        }));
    }
    texts.extend(extra.iter().cloned());
    let mut targets: Vec<(u64, Hash, usize)> = Vec::new();
    let mut checks: Vec<CheckpointCheck> = Vec::new();
    for t in &texts {
        match open_checkpoint(&t.text, trusted) {
            Ok(signed) => {
                targets.push((signed.checkpoint.size, signed.checkpoint.root, checks.len()));
                checks.push(CheckpointCheck {
                    from: t.from.clone(),
                    size: signed.checkpoint.size,
                    time: signed.time,
                    signature_ok: true,
                    consistent: false,
                });
            }
            Err(error) => {
                findings.add(Problem {
                    kind: ProblemKind::BadSignature,
                    leaf: None,
                    source: None,
                    reference: None,
                    detail: format!(
                        "checkpoint from {} is not valid for the trusted key {}: {error} \
                         (a replaced key or a forged checkpoint)",
                        t.from, trusted.name
                    ),
                });
                checks.push(CheckpointCheck {
                    from: t.from.clone(),
                    size: 0,
                    time: None,
                    signature_ok: false,
                    consistent: false,
                });
            }
        }
    }
    targets.sort_by_key(|t| t.0);

    // Tombstones.
    let mut tombstones: HashMap<i64, (i64, Vec<u8>)> = HashMap::new();
    {
        let mut conn = store.reader().await?;
        let rows = sqlx::query("SELECT leaf, target, at, actor, reason FROM log_redactions")
            .fetch_all(&mut *conn)
            .await?;
        for r in &rows {
            let row = log_store::decode_redaction_row(r)?;
            tombstones.insert(r.try_get("leaf")?, (row.target, row.leaf_bytes()));
        }
    }
    let redacted_targets: HashMap<i64, i64> = tombstones
        .iter()
        .map(|(leaf, (target, _))| (*target, *leaf))
        .collect();
    let mut redacted = Vec::new();

    let mut events = Cursor::new(Source::Event);
    let mut audit = Cursor::new(Source::Audit);
    let (mut n_events, mut n_audit) = (0u64, 0u64);
    let mut tree = CompactRange::default();
    let mut next_target = 0usize;
    let mut expected_idx = 0u64;
    let mut from = 0u64;
    loop {
        let page: Vec<LeafRef> = store.leaves_from(from, PAGE).await?;
        let Some(last) = page.last() else { break };
        from = last.idx + 1;
        for leaf in page {
            if leaf.idx != expected_idx {
                findings.add(Problem {
                    kind: ProblemKind::LeafOrder,
                    leaf: Some(expected_idx),
                    source: None,
                    reference: None,
                    detail: format!("leaves {expected_idx}..{} are missing", leaf.idx),
                });
            }
            expected_idx = leaf.idx + 1;
            let recomputed = match leaf.source {
                Source::Event | Source::Audit => {
                    let cursor = if leaf.source == Source::Event {
                        n_events += 1;
                        &mut events
                    } else {
                        n_audit += 1;
                        &mut audit
                    };
                    row_leaf(store, cursor, &leaf, &mut findings).await?
                }
                Source::Redaction => tombstones
                    .get(&leaf.reference)
                    .map(|(_, bytes)| merkle::leaf_hash(bytes)),
            };
            let hash = match recomputed {
                Some(h) if h == leaf.hash => h,
                _ if redacted_targets.contains_key(&(leaf.idx as i64)) => {
                    redacted.push(leaf.idx);
                    leaf.hash
                }
                Some(h) => {
                    findings.add(Problem {
                        kind: ProblemKind::RowChanged,
                        leaf: Some(leaf.idx),
                        source: Some(leaf.source),
                        reference: Some(leaf.reference),
                        detail: format!(
                            "{} {} differs from what was logged",
                            leaf.source.as_str(),
                            leaf.reference
                        ),
                    });
                    h
                }
                None => {
                    findings.add(Problem {
                        kind: ProblemKind::RowMissing,
                        leaf: Some(leaf.idx),
                        source: Some(leaf.source),
                        reference: Some(leaf.reference),
                        detail: format!("{} {} is gone", leaf.source.as_str(), leaf.reference),
                    });
                    leaf.hash
                }
            };
            tree.push(hash);
            while next_target < targets.len() && targets[next_target].0 == tree.size() {
                let (size, root, at) = targets[next_target];
                check_target(&mut checks[at], size, &root, &tree.root(), &mut findings);
                next_target += 1;
            }
        }
    }
    // Size-0 checkpoints and those beyond the end.
    for &(size, root, at) in &targets[next_target..] {
        if size == 0 {
            check_target(
                &mut checks[at],
                0,
                &root,
                &merkle::empty_root(),
                &mut findings,
            );
        } else {
            findings.add(Problem {
                kind: ProblemKind::LogTruncated,
                leaf: Some(tree.size()),
                source: None,
                reference: None,
                detail: format!(
                    "a checkpoint from {} covers {size} entries but the log holds {}",
                    checks[at].from,
                    tree.size()
                ),
            });
        }
    }
    for (cursor, what) in [(&mut events, "event"), (&mut audit, "audit")] {
        while let Some(key) = cursor.peek(store).await? {
            cursor.pop();
            findings.add(Problem {
                kind: ProblemKind::RowNotLogged,
                leaf: None,
                source: Some(cursor.source),
                reference: Some(key),
                detail: format!("{what} {key} has no leaf: it was not written by the hub"),
            });
        }
    }

    let first_difference = first_difference(&findings, &checks);
    Ok(Report {
        origin: trusted.name.clone(),
        entries: tree.size(),
        events: n_events,
        audit_entries: n_audit,
        root: hex::encode(tree.root()),
        intact: findings.count == 0,
        first_difference,
        first_leaf: findings.first_leaf,
        problem_count: findings.count,
        problems: findings.listed,
        checkpoints: checks,
        redacted,
    })
}

fn check_target(
    check: &mut CheckpointCheck,
    size: u64,
    signed: &Hash,
    recomputed: &Hash,
    findings: &mut Findings,
) {
    check.consistent = signed == recomputed;
    if !check.consistent {
        findings.add(Problem {
            kind: ProblemKind::CheckpointMismatch,
            leaf: None,
            source: None,
            reference: None,
            detail: format!(
                "the first {size} entries are not those signed in the checkpoint from {}",
                check.from
            ),
        });
    }
}

fn first_difference(findings: &Findings, checks: &[CheckpointCheck]) -> Option<String> {
    if let Some(leaf) = findings.first_leaf {
        let p = findings
            .listed
            .iter()
            .filter(|p| p.leaf == Some(leaf))
            .min_by_key(|p| p.kind == ProblemKind::LogTruncated);
        return Some(match p {
            Some(p) => format!("entry {leaf}: {}", p.detail),
            None => format!("entry {leaf}"),
        });
    }
    let bad = checks
        .iter()
        .filter(|c| c.signature_ok && !c.consistent)
        .map(|c| c.size)
        .min()?;
    let good = checks
        .iter()
        .filter(|c| c.signature_ok && c.consistent && c.size < bad)
        .map(|c| c.size)
        .max()
        .unwrap_or(0);
    Some(format!(
        "an entry in {good}..{bad}: every row still matches its leaf, so leaves were \
         recomputed; the checkpoint of {good} entries still matches, the one of {bad} does not"
    ))
}

async fn row_leaf(
    store: &Store,
    cursor: &mut Cursor,
    leaf: &LeafRef,
    findings: &mut Findings,
) -> Result<Option<Hash>> {
    if leaf.reference <= cursor.popped {
        // Behind the cursor: out of order (leaves swapped), look it up.
        findings.add(Problem {
            kind: ProblemKind::LeafOrder,
            leaf: Some(leaf.idx),
            source: Some(leaf.source),
            reference: Some(leaf.reference),
            detail: format!("leaf {} is out of order", leaf.idx),
        });
        return Ok(store.leaf_bytes(leaf).await?.map(|b| merkle::leaf_hash(&b)));
    }
    while let Some(key) = cursor.peek(store).await? {
        if key >= leaf.reference {
            break;
        }
        cursor.pop();
        findings.add(Problem {
            kind: ProblemKind::RowNotLogged,
            leaf: None,
            source: Some(cursor.source),
            reference: Some(key),
            detail: format!(
                "{} {key} has no leaf: it was not written by the hub",
                cursor.source.as_str()
            ),
        });
    }
    if cursor.peek(store).await? == Some(leaf.reference) {
        let (_, bytes) = cursor.pop().expect("peeked");
        return Ok(Some(merkle::leaf_hash(&bytes)));
    }
    Ok(None)
}
