//! The benchmark payload: who sent it, its sequence number and when, padded
//! to the requested size. Every target carries the same bytes, so the same
//! code measures latency, loss and duplicates for all of them.
//!
//! Layout (ASCII, no characters that JSON would escape):
//! `P{publisher:05}S{seq:010}T{sent_ns:020}|` followed by `x` padding.

use std::sync::OnceLock;
use std::time::Instant;

/// Length of the fixed header before the padding.
pub const HEADER_LEN: usize = 1 + 5 + 1 + 10 + 1 + 20 + 1;

static EPOCH: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since the first call in this process. Senders and receivers
/// live in the same process, so one monotonic clock serves both ends.
pub fn now_ns() -> u64 {
    let epoch = *EPOCH.get_or_init(Instant::now);
    u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// What the receiver learns from a payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    pub publisher: u32,
    pub seq: u64,
    pub sent_ns: u64,
}

/// Builds a payload of `size` bytes (at least [`HEADER_LEN`]) stamped now;
/// returns it with its stamp time.
pub fn build(publisher: u32, seq: u64, size: usize) -> (String, u64) {
    let sent_ns = now_ns();
    let mut s = String::with_capacity(size.max(HEADER_LEN));
    s.push_str(&format!("P{publisher:05}S{seq:010}T{sent_ns:020}|"));
    if s.len() < size {
        s.extend(std::iter::repeat_n('x', size - s.len()));
    }
    (s, sent_ns)
}

fn digits(bytes: &[u8]) -> Option<u64> {
    bytes.iter().try_fold(0u64, |acc, b| {
        b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
    })
}

/// Reads the stamp of a payload; `None` when it is not one of ours (for
/// example an observer's redacted text).
pub fn parse(bytes: &[u8]) -> Option<Stamp> {
    if bytes.len() < HEADER_LEN
        || bytes[0] != b'P'
        || bytes[6] != b'S'
        || bytes[17] != b'T'
        || bytes[38] != b'|'
    {
        return None;
    }
    Some(Stamp {
        publisher: u32::try_from(digits(&bytes[1..6])?).ok()?,
        seq: digits(&bytes[7..17])?,
        sent_ns: digits(&bytes[18..38])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_built_payload_parses_back_to_its_stamp() {
        let (p, sent_ns) = build(7, 1234, 512);
        assert_eq!(p.len(), 512);
        let stamp = parse(p.as_bytes()).unwrap();
        assert_eq!(
            (stamp.publisher, stamp.seq, stamp.sent_ns),
            (7, 1234, sent_ns)
        );
    }

    #[test]
    fn a_short_payload_keeps_its_whole_header() {
        let (p, _) = build(1, 2, 4);
        assert_eq!(p.len(), HEADER_LEN);
        assert!(parse(p.as_bytes()).is_some());
    }

    #[test]
    fn foreign_text_is_not_a_stamp() {
        assert_eq!(parse(b"[redacted]"), None);
        assert_eq!(parse(&[b'x'; 64]), None);
    }
}
