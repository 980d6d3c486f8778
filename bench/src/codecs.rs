//! `mpaka-bench codecs`: bytes per event and decode time of the event
//! encodings considered for issue 18, for one benchmark message (a 512-byte
//! payload by default): today's `json` event frame, the `compact` JSON
//! array the hub writes, and the same array in MessagePack (rmp-serde) and
//! CBOR (ciborium), each decoded by the ecosystem's crate into the same
//! Rust types. Also writes the samples for the browser measurement
//! (bench/codecs-browser.sh) and prints NATS's frame for the same payload.

use anyhow::{Context, Result};
use mpaka_protocol::wire::{encode_compact, Encoding};
use mpaka_protocol::{Author, ChannelId, Event, EventData, MessageBody, Role, ServerFrame};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// The compact array with a message body, as the binary codecs carry it.
#[derive(Debug, Serialize, Deserialize, PartialEq)]
struct CompactMessage(u64, u32, i64, Option<u32>, String, MessageBody);

/// WebSocket frame header bytes for an unmasked server frame of `len`.
fn ws_header(len: usize) -> usize {
    match len {
        0..=125 => 2,
        126..=65535 => 4,
        _ => 10,
    }
}

/// Nanoseconds per call of `decode` over `rounds` calls (after a warm-up).
fn time_per_call(rounds: u32, mut decode: impl FnMut()) -> f64 {
    for _ in 0..rounds / 10 {
        decode();
    }
    let start = Instant::now();
    for _ in 0..rounds {
        decode();
    }
    start.elapsed().as_nanos() as f64 / f64::from(rounds)
}

/// Measures and prints the table; with `samples`, writes the sample
/// encodings there for the browser page.
///
/// # Errors
/// An encoding fails, or the samples cannot be written.
pub fn run(size: usize, rounds: u32, samples: Option<&Path>) -> Result<()> {
    let (text, _) = crate::payload::build(1, 123_456, size);
    let body = MessageBody {
        text,
        lang: None,
        written_at: None,
    };
    // A realistic event: a six-digit seq, an officer's full author.
    let event = Event {
        seq: 1_234_567,
        channel: ChannelId::Corridor("mugina-manyovu".into()),
        at: "2026-12-01T20:51:12.123Z".into(),
        author: Some(Author {
            id: Some(12),
            username: Some("mugina.officer".into()),
            display_name: Some("Officer Mugina".into()),
            role: Role::Officer,
            country: Some(mpaka_protocol::Country::BI),
            post: Some("mugina".into()),
        }),
        data: EventData::Message(body.clone()),
    };
    let at_ms = 1_796_158_272_123;
    let json = serde_json::to_string(&ServerFrame::Event(event.clone()))?;
    let compact = encode_compact(event.seq, 3, at_ms, Some(7), &event.data)?;
    let value = CompactMessage(event.seq, 3, at_ms, Some(7), "message".into(), body);
    let msgpack = rmp_serde::to_vec_named(&value)?;
    let mut cbor = Vec::new();
    ciborium::into_writer(&value, &mut cbor)?;
    let nats = format!("MSG bench.fanout 1 {size}\r\n").len() + size + 2;

    // Every codec decodes into the same types: the array with a message body.
    let json_ns = time_per_call(rounds, || {
        let frame: ServerFrame = serde_json::from_str(&json).expect("json");
        std::hint::black_box(frame);
    });
    let compact_ns = time_per_call(rounds, || {
        let decoded: CompactMessage = serde_json::from_str(&compact).expect("compact");
        std::hint::black_box(decoded);
    });
    let msgpack_ns = time_per_call(rounds, || {
        let decoded: CompactMessage = rmp_serde::from_slice(&msgpack).expect("msgpack");
        std::hint::black_box(decoded);
    });
    let cbor_ns = time_per_call(rounds, || {
        let decoded: CompactMessage = ciborium::from_reader(cbor.as_slice()).expect("cbor");
        std::hint::black_box(decoded);
    });

    println!("payload {size} B; bytes on the wire per event (WebSocket header included); decode ns/event in Rust");
    println!(
        "{:<28} {:>8} {:>8} {:>12}",
        "encoding", "frame", "wire", "decode ns"
    );
    for (name, len, ns) in [
        ("json (today's event)", json.len(), Some(json_ns)),
        ("compact JSON", compact.len(), Some(compact_ns)),
        ("compact MessagePack", msgpack.len(), Some(msgpack_ns)),
        ("compact CBOR", cbor.len(), Some(cbor_ns)),
        ("NATS MSG (for reference)", nats, None),
    ] {
        let ns = ns.map_or_else(|| "-".to_owned(), |ns| format!("{ns:.0}"));
        println!("{name:<28} {len:>8} {:>8} {ns:>12}", len + ws_header(len));
    }
    if let Some(dir) = samples {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("event.json"), &json)?;
        std::fs::write(dir.join("compact.json"), &compact)?;
        std::fs::write(dir.join("compact.msgpack"), &msgpack)?;
        std::fs::write(dir.join("compact.cbor"), &cbor)
            .with_context(|| format!("writing samples to {}", dir.display()))?;
    }
    debug_assert_eq!(Encoding::parse("compact"), Some(Encoding::Compact));
    Ok(())
}
