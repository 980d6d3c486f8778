//! Checkpoints as C2SP signed notes (tlog-checkpoint, signed-note,
//! tlog-cosignature): the text, Ed25519 signing with the hub's key, the
//! verifier key string (`name+keyid+base64`), parsing, and checking log
//! signatures and timestamped cosignatures.
//!
//! A checkpoint's body is three lines: the origin, the tree size in
//! decimal, the root hash in standard base64. The hub signs it as the log
//! (signature type `0x01`) and adds its own timestamped cosignature (type
//! `0x04`) so the checkpoint carries a signed time without an extension
//! line; witnesses add theirs the same way.

use super::merkle::Hash;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signer as _, SigningKey, Verifier as _, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type of a plain Ed25519 note signature.
const ED25519: u8 = 0x01;
/// Signature type of a timestamped Ed25519 cosignature (tlog-cosignature).
const COSIGNATURE: u8 = 0x04;
/// Prefix of every signature line: an em dash and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Largest note accepted from outside.
pub const MAX_NOTE_BYTES: usize = 64 * 1024;

/// Why a note or checkpoint is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("malformed note: {0}")]
    Malformed(&'static str),
    #[error("malformed verifier key")]
    BadKey,
    #[error("no signature by key {0}")]
    Unsigned(String),
    #[error("the signature by {0} does not verify")]
    BadSignature(String),
    #[error("checkpoint is for origin {found}, expected {expected}")]
    WrongOrigin { expected: String, found: String },
}

/// The signed content of a checkpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

impl Checkpoint {
    /// The note text that is signed (ends with a newline).
    pub fn body(&self) -> String {
        format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            B64.encode(self.root)
        )
    }

    /// Parses a checkpoint body (extension lines after the third are
    /// allowed and ignored, as the format says).
    ///
    /// # Errors
    /// Fewer than three lines, a size that is not a decimal number, a root
    /// that is not 32 bytes of base64.
    pub fn parse_body(body: &str) -> Result<Checkpoint, NoteError> {
        let mut lines = body.split('\n');
        let origin = lines.next().filter(|l| !l.is_empty());
        let size = lines.next().and_then(|l| {
            (!l.is_empty()
                && l.bytes().all(|b| b.is_ascii_digit())
                && (l == "0" || !l.starts_with('0')))
            .then(|| l.parse::<u64>().ok())
            .flatten()
        });
        let root = lines
            .next()
            .and_then(|l| B64.decode(l).ok())
            .and_then(|r| <Hash>::try_from(r.as_slice()).ok());
        match (origin, size, root) {
            (Some(origin), Some(size), Some(root)) => Ok(Checkpoint {
                origin: origin.to_owned(),
                size,
                root,
            }),
            (None, _, _) => Err(NoteError::Malformed("missing origin line")),
            (_, None, _) => Err(NoteError::Malformed("tree size is not a decimal number")),
            (_, _, None) => Err(NoteError::Malformed("root hash is not 32 bytes of base64")),
        }
    }
}

/// A note split into its text and signature lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// The signed text, ending with a newline.
    pub text: String,
    pub signatures: Vec<SignatureLine>,
}

/// One `— name base64` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureLine {
    pub name: String,
    /// Key id (4 bytes) followed by the signature bytes.
    pub blob: Vec<u8>,
}

impl SignatureLine {
    pub fn render(&self) -> String {
        format!("{SIG_PREFIX}{} {}\n", self.name, B64.encode(&self.blob))
    }

    fn key_id(&self) -> Option<[u8; 4]> {
        self.blob.get(..4).and_then(|b| b.try_into().ok())
    }
}

impl Note {
    /// Parses a signed note.
    ///
    /// # Errors
    /// Too large, control characters, no blank line before the signatures,
    /// or a malformed signature line.
    pub fn parse(text: &str) -> Result<Note, NoteError> {
        if text.len() > MAX_NOTE_BYTES {
            return Err(NoteError::Malformed("note too large"));
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(NoteError::Malformed("control character"));
        }
        let split = text
            .rfind("\n\n")
            .ok_or(NoteError::Malformed("no blank line before the signatures"))?;
        let (body, sigs) = (&text[..=split], &text[split + 2..]);
        if !sigs.ends_with('\n') {
            return Err(NoteError::Malformed("signatures must end with a newline"));
        }
        let mut signatures = Vec::new();
        for line in sigs[..sigs.len() - 1].split('\n') {
            let rest = line
                .strip_prefix(SIG_PREFIX)
                .ok_or(NoteError::Malformed("signature line without an em dash"))?;
            let (name, b64) = rest
                .split_once(' ')
                .ok_or(NoteError::Malformed("signature line without a name"))?;
            let blob = B64
                .decode(b64)
                .map_err(|_| NoteError::Malformed("signature is not base64"))?;
            if name.is_empty() || name.contains('+') || blob.len() < 5 {
                return Err(NoteError::Malformed("bad signature line"));
            }
            signatures.push(SignatureLine {
                name: name.to_owned(),
                blob,
            });
        }
        if signatures.is_empty() {
            return Err(NoteError::Malformed("no signature"));
        }
        Ok(Note {
            text: body.to_owned(),
            signatures,
        })
    }

    pub fn render(&self) -> String {
        let mut out = self.text.clone();
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.render());
        }
        out
    }
}

/// The public half of a signer: name and Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verifier {
    pub name: String,
    pub key: VerifyingKey,
}

fn key_id(name: &str, kind: u8, key: &VerifyingKey) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', kind]);
    h.update(key.as_bytes());
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

impl Verifier {
    /// The verifier key string `name+hex(keyid)+base64(0x01||key)`, what an
    /// auditor or the other country pins.
    pub fn vkey(&self) -> String {
        let mut blob = vec![ED25519];
        blob.extend_from_slice(self.key.as_bytes());
        format!(
            "{}+{}+{}",
            self.name,
            hex::encode(key_id(&self.name, ED25519, &self.key)),
            B64.encode(blob)
        )
    }

    /// Parses a verifier key string.
    ///
    /// # Errors
    /// [`NoteError::BadKey`] for anything but a well-formed Ed25519 key
    /// whose id matches.
    pub fn parse(vkey: &str) -> Result<Verifier, NoteError> {
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(b64)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::BadKey);
        };
        let blob = B64.decode(b64).map_err(|_| NoteError::BadKey)?;
        if name.is_empty() || blob.len() != 33 || blob[0] != ED25519 {
            return Err(NoteError::BadKey);
        }
        let bytes: [u8; 32] = blob[1..].try_into().map_err(|_| NoteError::BadKey)?;
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| NoteError::BadKey)?;
        let verifier = Verifier {
            name: name.to_owned(),
            key,
        };
        if hex::encode(key_id(name, ED25519, &key)) != id {
            return Err(NoteError::BadKey);
        }
        Ok(verifier)
    }

    /// Checks the log signature (type 0x01) of this key on `note`.
    ///
    /// # Errors
    /// No signature by this key, or one that does not verify.
    pub fn verify_log(&self, note: &Note) -> Result<(), NoteError> {
        let id = key_id(&self.name, ED25519, &self.key);
        let sig = note
            .signatures
            .iter()
            .find(|s| s.name == self.name && s.key_id() == Some(id))
            .ok_or_else(|| NoteError::Unsigned(self.name.clone()))?;
        let bytes: [u8; 64] = sig.blob[4..]
            .try_into()
            .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
        self.key
            .verify(
                note.text.as_bytes(),
                &ed25519_dalek::Signature::from_bytes(&bytes),
            )
            .map_err(|_| NoteError::BadSignature(self.name.clone()))
    }

    /// Checks the timestamped cosignature (type 0x04) of this key on
    /// `note` and returns its time (Unix seconds).
    ///
    /// # Errors
    /// No cosignature by this key, or one that does not verify.
    pub fn verify_cosignature(&self, note: &Note) -> Result<u64, NoteError> {
        let id = key_id(&self.name, COSIGNATURE, &self.key);
        let sig = note
            .signatures
            .iter()
            .find(|s| s.name == self.name && s.key_id() == Some(id))
            .ok_or_else(|| NoteError::Unsigned(self.name.clone()))?;
        if sig.blob.len() != 4 + 8 + 64 {
            return Err(NoteError::BadSignature(self.name.clone()));
        }
        let time = u64::from_be_bytes(sig.blob[4..12].try_into().expect("8 bytes"));
        let bytes: [u8; 64] = sig.blob[12..].try_into().expect("64 bytes");
        self.key
            .verify(
                &cosigned_message(time, &note.text),
                &ed25519_dalek::Signature::from_bytes(&bytes),
            )
            .map_err(|_| NoteError::BadSignature(self.name.clone()))?;
        Ok(time)
    }
}

fn cosigned_message(time: u64, body: &str) -> Vec<u8> {
    format!("cosignature/v1\ntime {time}\n{body}").into_bytes()
}

/// A private key with its name.
pub struct NoteSigner {
    pub name: String,
    key: SigningKey,
}

impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl NoteSigner {
    pub fn new(name: impl Into<String>, key: SigningKey) -> NoteSigner {
        NoteSigner {
            name: name.into(),
            key,
        }
    }

    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key: self.key.verifying_key(),
        }
    }

    /// The log signature line on `text`.
    pub fn sign_log(&self, text: &str) -> SignatureLine {
        let mut blob = key_id(&self.name, ED25519, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&self.key.sign(text.as_bytes()).to_bytes());
        SignatureLine {
            name: self.name.clone(),
            blob,
        }
    }

    /// A timestamped cosignature line on `text` at `time` (Unix seconds).
    pub fn cosign(&self, text: &str, time: u64) -> SignatureLine {
        let mut blob = key_id(&self.name, COSIGNATURE, &self.key.verifying_key()).to_vec();
        blob.extend_from_slice(&time.to_be_bytes());
        blob.extend_from_slice(&self.key.sign(&cosigned_message(time, text)).to_bytes());
        SignatureLine {
            name: self.name.clone(),
            blob,
        }
    }

    /// A checkpoint note signed by the log and cosigned with a time.
    pub fn sign_checkpoint(&self, checkpoint: &Checkpoint, time: u64) -> Note {
        let text = checkpoint.body();
        Note {
            signatures: vec![self.sign_log(&text), self.cosign(&text, time)],
            text,
        }
    }
}

/// A checkpoint whose log signature has been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCheckpoint {
    pub checkpoint: Checkpoint,
    /// The log's own signed time, when it cosigned (Unix seconds).
    pub time: Option<u64>,
    pub note: Note,
}

/// Parses `text` as a checkpoint note of `verifier`'s log and checks its
/// signature.
///
/// # Errors
/// Malformed, another origin, unsigned or badly signed.
pub fn open_checkpoint(text: &str, verifier: &Verifier) -> Result<SignedCheckpoint, NoteError> {
    let note = Note::parse(text)?;
    let checkpoint = Checkpoint::parse_body(&note.text)?;
    if checkpoint.origin != verifier.name {
        return Err(NoteError::WrongOrigin {
            expected: verifier.name.clone(),
            found: checkpoint.origin,
        });
    }
    verifier.verify_log(&note)?;
    let time = verifier.verify_cosignature(&note).ok();
    Ok(SignedCheckpoint {
        checkpoint,
        time,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> NoteSigner {
        NoteSigner::new("bi.mpaka/log", SigningKey::from_bytes(&[7u8; 32]))
    }

    #[test]
    fn a_signed_checkpoint_round_trips_and_an_edit_breaks_it() {
        let s = signer();
        let cp = Checkpoint {
            origin: s.name.clone(),
            size: 42,
            root: [9u8; 32],
        };
        let text = s.sign_checkpoint(&cp, 1_700_000_000).render();
        let v = Verifier::parse(&s.verifier().vkey()).unwrap();
        let opened = open_checkpoint(&text, &v).unwrap();
        assert_eq!(opened.checkpoint, cp);
        assert_eq!(opened.time, Some(1_700_000_000));
        let edited = text.replacen("\n42\n", "\n43\n", 1);
        assert_eq!(
            open_checkpoint(&edited, &v),
            Err(NoteError::BadSignature(s.name.clone()))
        );
    }

    #[test]
    fn another_key_is_refused() {
        let s = signer();
        let other = NoteSigner::new("bi.mpaka/log", SigningKey::from_bytes(&[8u8; 32]));
        let cp = Checkpoint {
            origin: s.name.clone(),
            size: 1,
            root: [0u8; 32],
        };
        let text = other.sign_checkpoint(&cp, 1).render();
        assert!(matches!(
            open_checkpoint(&text, &s.verifier()),
            Err(NoteError::Unsigned(_))
        ));
    }
}
