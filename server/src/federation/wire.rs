//! The hub-to-hub link protocol: JSON text frames over one WebSocket, and
//! what is signed. It is internal to mpaka hubs (versioned by
//! [`VERSION`]), not part of the client protocol.
//!
//! The dialling hub (the receiver: it pulls) and the dialled hub (the
//! origin: it streams its own shared events) exchange:
//!
//! ```text
//! receiver → origin   hello     {version, hub, nonce}
//! origin   → receiver challenge {hub, nonce, sig}     sig by the origin over the transcript
//! receiver → origin   proof     {sig, from}           sig by the receiver; resume after `from`
//! origin   → receiver events    {head, pending, items: [{event, sig}]}   each item signed by the origin
//! origin   → receiver head      {head, pending}       when idle, every heartbeat
//! either   → other    refused   {reason}              then the socket closes
//! ```
//!
//! Each side signs a transcript naming its role, both hubs and both nonces,
//! so a signature can be neither replayed on another link nor reflected
//! back. An event item carries the exact JSON bytes its origin signed (as a
//! string), so the receiver checks the signature on what it received, with
//! no canonical form to agree on.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, Verifier as _, VerifyingKey};
use mpaka_protocol::{Author, ChannelId, EventData, SopAudience};
use serde::{Deserialize, Serialize};

/// The link protocol version both sides must speak.
pub const VERSION: u32 = 1;
/// Most events sent in one `events` frame.
pub const BATCH: u32 = 200;
/// Largest link frame accepted (a batch of large alert snapshots).
pub const MAX_FRAME_BYTES: usize = 16 * 1024 * 1024;

/// Domain separation: nothing signed for the link can be mistaken for a
/// log checkpoint (whose first line is an origin without spaces) or for a
/// cosignature, though the key is the log's.
const LINK_CONTEXT: &str = "mpaka federation link v1\n";
const EVENT_CONTEXT: &str = "mpaka federation event v1\n";

/// One frame on the link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    Hello {
        version: u32,
        hub: String,
        nonce: String,
    },
    Challenge {
        hub: String,
        nonce: String,
        sig: String,
    },
    Proof {
        sig: String,
        /// The receiver holds every shared event of the origin through this
        /// origin seq; the origin sends what follows.
        from: u64,
    },
    Events {
        /// The origin's highest shared seq for this receiver when sent.
        head: u64,
        /// Shared events after this frame's last, still to come.
        pending: u64,
        items: Vec<SignedEvent>,
    },
    Head {
        head: u64,
        pending: u64,
    },
    Refused {
        reason: String,
    },
}

/// An event as its origin signed it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SignedEvent {
    /// The JSON of a [`SharedEvent`], exactly as signed.
    pub event: String,
    /// Base64 Ed25519 signature by the origin.
    pub sig: String,
}

/// The shared form of one event of the origin's log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SharedEvent {
    /// The origin hub's name.
    pub origin: String,
    /// The event's seq in the origin's log.
    pub origin_seq: u64,
    pub channel: ChannelId,
    /// When the origin stored it (milliseconds since the epoch).
    pub at_ms: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<Author>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<SopAudience>,
    #[serde(flatten)]
    pub data: EventData,
}

/// A fresh random nonce, base64.
pub fn nonce() -> String {
    B64.encode(rand::random::<[u8; 32]>())
}

/// The bytes each side signs during the handshake.
pub fn transcript(role: Role, receiver: &str, origin: &str, rnonce: &str, ononce: &str) -> String {
    let role = match role {
        Role::Origin => "origin",
        Role::Receiver => "receiver",
    };
    format!("{LINK_CONTEXT}{role}\n{receiver}\n{origin}\n{rnonce}\n{ononce}\n")
}

/// Which side of a link signs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Origin,
    Receiver,
}

/// Signs `text` (base64 signature).
pub fn sign(key: &SigningKey, text: &str) -> String {
    B64.encode(key.sign(text.as_bytes()).to_bytes())
}

/// Checks a base64 signature of `text`.
pub fn verify(key: &VerifyingKey, text: &str, sig: &str) -> bool {
    let Ok(bytes) = B64.decode(sig) else {
        return false;
    };
    let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
        return false;
    };
    key.verify(text.as_bytes(), &Signature::from_bytes(&bytes))
        .is_ok()
}

/// Signs an event for the link.
///
/// # Panics
/// Never: a [`SharedEvent`] always serialises.
pub fn sign_event(key: &SigningKey, event: &SharedEvent) -> SignedEvent {
    let json = serde_json::to_string(event).expect("a shared event serialises");
    let sig = sign(key, &format!("{EVENT_CONTEXT}{json}"));
    SignedEvent { event: json, sig }
}

/// Why a received event is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EventRefusal {
    #[error("the signature does not verify")]
    BadSignature,
    #[error("the event does not parse: {0}")]
    Malformed(String),
    #[error("the event claims origin {0}")]
    WrongOrigin(String),
    #[error("channel {0} is not shared with this peer")]
    NotShared(String),
    #[error("origin seq {0} is not after the previous one")]
    OutOfOrder(u64),
}

impl EventRefusal {
    /// The label of the refusal in metrics and audit entries.
    pub fn reason(&self) -> &'static str {
        match self {
            EventRefusal::BadSignature => "bad_signature",
            EventRefusal::Malformed(_) => "malformed",
            EventRefusal::WrongOrigin(_) => "wrong_origin",
            EventRefusal::NotShared(_) => "not_shared",
            EventRefusal::OutOfOrder(_) => "out_of_order",
        }
    }

    /// Every reason label, so the counters exist at zero.
    pub const REASONS: [&'static str; 6] = [
        "bad_signature",
        "malformed",
        "wrong_origin",
        "not_shared",
        "out_of_order",
        "handshake",
    ];
}

/// Checks an item's signature by `origin_key` and parses it.
///
/// # Errors
/// [`EventRefusal::BadSignature`] or [`EventRefusal::Malformed`].
pub fn open_event(
    origin_key: &VerifyingKey,
    item: &SignedEvent,
) -> Result<SharedEvent, EventRefusal> {
    if !verify(
        origin_key,
        &format!("{EVENT_CONTEXT}{}", item.event),
        &item.sig,
    ) {
        return Err(EventRefusal::BadSignature);
    }
    serde_json::from_str(&item.event).map_err(|e| EventRefusal::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpaka_protocol::MessageBody;

    fn event() -> SharedEvent {
        SharedEvent {
            origin: "bi.mpaka".into(),
            origin_seq: 3,
            channel: "corridor:mugina-manyovu".parse().unwrap(),
            at_ms: 1,
            author: None,
            audience: None,
            data: EventData::Message(MessageBody {
                text: "hello".into(),
                lang: None,
                written_at: None,
            }),
        }
    }

    #[test]
    fn a_signed_event_opens_and_an_altered_one_does_not() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let signed = sign_event(&key, &event());
        assert_eq!(open_event(&key.verifying_key(), &signed).unwrap(), event());
        let altered = SignedEvent {
            event: signed.event.replace("hello", "hellO"),
            ..signed.clone()
        };
        assert_eq!(
            open_event(&key.verifying_key(), &altered),
            Err(EventRefusal::BadSignature)
        );
        let other = SigningKey::from_bytes(&[2; 32]);
        assert!(open_event(&other.verifying_key(), &signed).is_err());
    }

    #[test]
    fn a_handshake_signature_does_not_serve_the_other_role() {
        let key = SigningKey::from_bytes(&[1; 32]);
        let origin = transcript(Role::Origin, "tz", "bi", "n1", "n2");
        let receiver = transcript(Role::Receiver, "tz", "bi", "n1", "n2");
        let sig = sign(&key, &origin);
        assert!(verify(&key.verifying_key(), &origin, &sig));
        assert!(!verify(&key.verifying_key(), &receiver, &sig));
        assert!(!verify(&key.verifying_key(), &origin, "not base64!"));
    }
}
