//! RFC 9162 Merkle tree arithmetic, with no I/O: leaf and node hashing,
//! which perfect subtrees make up any range, and the inclusion and
//! consistency proofs (building them from a hash lookup, checking them).
//!
//! A tree over `n` leaves is the RFC's MTH: the left child of a range of
//! `n > 1` leaves covers the largest power of two smaller than `n`. Every
//! range that appears in a tree or a proof starts at a multiple of its
//! largest part, so it is a short list of *perfect* subtrees (level `k`,
//! index `i` covers leaves `[i·2^k, (i+1)·2^k)`): the store keeps those as
//! its node cache and a proof costs O(log n) lookups.

use sha2::{Digest, Sha256};

/// A SHA-256 hash.
pub type Hash = [u8; 32];

/// `SHA-256(0x00 || bytes)`.
pub fn leaf_hash(bytes: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(bytes);
    h.finalize().into()
}

/// `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The hash of the empty tree, `SHA-256()`.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// A perfect subtree: `level` 0 is a leaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Perfect {
    pub level: u32,
    pub index: u64,
}

/// The largest power of two strictly smaller than `n` (`n >= 2`).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1 << (63 - (n - 1).leading_zeros())
}

/// The perfect subtrees whose hashes, folded right to left with
/// [`node_hash`], give the MTH of leaves `[start, end)`; left to right.
///
/// `start` must be a multiple of the largest part (true of every range in
/// a tree or a proof).
pub fn parts(start: u64, end: u64) -> Vec<Perfect> {
    let mut out = Vec::new();
    let mut at = start;
    let mut left = end - start;
    while left > 0 {
        let level = 63 - left.leading_zeros();
        let size = 1u64 << level;
        out.push(Perfect {
            level,
            index: at >> level,
        });
        at += size;
        left -= size;
    }
    out
}

/// Folds the hashes of [`parts`] into the range's MTH.
pub fn fold(hashes: &[Hash]) -> Hash {
    let mut iter = hashes.iter().rev();
    let Some(last) = iter.next() else {
        return empty_root();
    };
    let mut acc = *last;
    for h in iter {
        acc = node_hash(h, &acc);
    }
    acc
}

/// The ranges `[start, end)` whose MTHs form the inclusion proof of leaf
/// `index` in a tree of `size` leaves, bottom first (RFC 9162 §2.1.3.1).
pub fn inclusion_ranges(index: u64, size: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let (mut lo, mut hi) = (0u64, size);
    while hi - lo > 1 {
        let k = split(hi - lo);
        if index < lo + k {
            out.push((lo + k, hi));
            hi = lo + k;
        } else {
            out.push((lo, lo + k));
            lo += k;
        }
    }
    out.reverse();
    out
}

/// The ranges whose MTHs form the consistency proof from a tree of `old`
/// leaves to one of `new` leaves (RFC 9162 §2.1.4.1), in proof order.
pub fn consistency_ranges(old: u64, new: u64) -> Vec<(u64, u64)> {
    if old == 0 || old >= new {
        return Vec::new();
    }
    let mut out = Vec::new();
    subproof(old, 0, new, true, &mut out);
    out
}

fn subproof(m: u64, lo: u64, hi: u64, complete: bool, out: &mut Vec<(u64, u64)>) {
    let n = hi - lo;
    if m == n {
        if !complete {
            out.push((lo, hi));
        }
        return;
    }
    let k = split(n);
    if m <= k {
        subproof(m, lo, lo + k, complete, out);
        out.push((lo + k, hi));
    } else {
        subproof(m - k, lo + k, hi, false, out);
        out.push((lo, lo + k));
    }
}

/// Why a proof does not check.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProofError {
    #[error("leaf index {index} is not below tree size {size}")]
    OutOfRange { index: u64, size: u64 },
    #[error("the proof has the wrong number of hashes")]
    WrongLength,
    #[error("the proof leads to another root hash")]
    RootMismatch,
}

/// Checks an inclusion proof (RFC 9162 §2.1.3.2).
///
/// # Errors
/// The index is out of range, the proof is too long or short, or it leads
/// to another root.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), ProofError> {
    if index >= size {
        return Err(ProofError::OutOfRange { index, size });
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if s == 0 {
            return Err(ProofError::WrongLength);
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    if s != 0 {
        return Err(ProofError::WrongLength);
    }
    if &r == root {
        Ok(())
    } else {
        Err(ProofError::RootMismatch)
    }
}

/// Checks a consistency proof (RFC 9162 §2.1.4.2).
///
/// # Errors
/// The sizes are not ordered, the proof has the wrong length, or either
/// root does not match.
pub fn verify_consistency(
    old: u64,
    new: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<(), ProofError> {
    if old > new {
        return Err(ProofError::OutOfRange {
            index: old,
            size: new,
        });
    }
    if old == new {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else if !proof.is_empty() {
            Err(ProofError::WrongLength)
        } else {
            Err(ProofError::RootMismatch)
        };
    }
    if old == 0 {
        return if proof.is_empty() {
            Ok(())
        } else {
            Err(ProofError::WrongLength)
        };
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        path.insert(0, *old_root);
    }
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let mut iter = path.iter();
    let first = iter.next().ok_or(ProofError::WrongLength)?;
    let (mut fr, mut sr) = (*first, *first);
    for c in iter {
        if sn == 0 {
            return Err(ProofError::WrongLength);
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(ProofError::WrongLength);
    }
    if &fr != old_root || &sr != new_root {
        return Err(ProofError::RootMismatch);
    }
    Ok(())
}

/// The MTH of a list of leaf hashes, level by level in memory; what the
/// verifier uses when it recomputes a whole tree from the rows.
pub fn root_of(leaves: &[Hash]) -> Hash {
    if leaves.is_empty() {
        return empty_root();
    }
    // A compact range: at most one perfect subtree per level.
    let mut stack = CompactRange::default();
    for leaf in leaves {
        stack.push(*leaf);
    }
    stack.root()
}

/// The right edge of a growing tree: the roots of its perfect subtrees,
/// largest first. Pushing a leaf merges equal-sized neighbours, so memory
/// stays O(log n) however many leaves pass through.
#[derive(Debug, Clone, Default)]
pub struct CompactRange {
    size: u64,
    stack: Vec<Hash>,
}

impl CompactRange {
    pub fn push(&mut self, leaf: Hash) {
        let mut h = leaf;
        let mut size = self.size;
        while size & 1 == 1 {
            let left = self.stack.pop().expect("one root per set bit");
            h = node_hash(&left, &h);
            size >>= 1;
        }
        self.stack.push(h);
        self.size += 1;
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The MTH of every leaf pushed so far.
    pub fn root(&self) -> Hash {
        fold(&self.stack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: u64) -> Vec<Hash> {
        (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
    }

    /// MTH straight from the RFC's recursive definition.
    fn mth(l: &[Hash]) -> Hash {
        match l.len() {
            0 => empty_root(),
            1 => l[0],
            n => {
                let k = split(n as u64) as usize;
                node_hash(&mth(&l[..k]), &mth(&l[k..]))
            }
        }
    }

    fn range_hash(l: &[Hash], (a, b): (u64, u64)) -> Hash {
        let hashes: Vec<Hash> = parts(a, b)
            .iter()
            .map(|p| mth(&l[(p.index << p.level) as usize..((p.index + 1) << p.level) as usize]))
            .collect();
        fold(&hashes)
    }

    #[test]
    fn compact_range_and_parts_agree_with_the_recursive_definition() {
        for n in 0..70u64 {
            let l = leaves(n);
            assert_eq!(root_of(&l), mth(&l), "n={n}");
            if n > 0 {
                assert_eq!(range_hash(&l, (0, n)), mth(&l), "n={n}");
            }
        }
    }

    #[test]
    fn every_inclusion_proof_checks_and_a_wrong_leaf_does_not() {
        for n in 1..40u64 {
            let l = leaves(n);
            let root = mth(&l);
            for i in 0..n {
                let proof: Vec<Hash> = inclusion_ranges(i, n)
                    .into_iter()
                    .map(|r| range_hash(&l, r))
                    .collect();
                verify_inclusion(i, n, &l[i as usize], &proof, &root).unwrap();
                let wrong = leaf_hash(b"other");
                assert!(verify_inclusion(i, n, &wrong, &proof, &root).is_err());
            }
        }
    }

    #[test]
    fn every_consistency_proof_checks_and_a_changed_prefix_does_not() {
        for n in 1..34u64 {
            let l = leaves(n);
            for m in 1..=n {
                let proof: Vec<Hash> = consistency_ranges(m, n)
                    .into_iter()
                    .map(|r| range_hash(&l, r))
                    .collect();
                verify_consistency(m, n, &mth(&l[..m as usize]), &mth(&l), &proof).unwrap();
                let mut changed = l.clone();
                changed[0] = leaf_hash(b"x");
                assert!(
                    verify_consistency(m, n, &mth(&changed[..m as usize]), &mth(&l), &proof)
                        .is_err()
                );
            }
        }
    }
}
