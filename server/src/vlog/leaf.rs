//! The bytes a leaf commits to: the stored row, field by field, exactly as
//! the database holds it (the JSON columns as their stored text), so that
//! any change to any column of a logged row changes its leaf hash.
//!
//! Encoding (documented in docs/audit.md): a domain line
//! (`mpaka/event/v1\n`, `mpaka/audit/v1\n`, `mpaka/redaction/v1\n`), then
//! each field in a fixed order as one tag byte and a value: `0x00` NULL;
//! `0x01` text, a 4-byte big-endian length and the UTF-8 bytes; `0x02` an
//! integer, 8 bytes big-endian two's complement.

/// Which record a leaf stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// A row of `events`, by `seq`.
    Event,
    /// A row of `audit`, by `id`.
    Audit,
    /// A tombstone: leaf `ref` was redacted (its row may no longer match).
    Redaction,
}

impl Source {
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Event => "event",
            Source::Audit => "audit",
            Source::Redaction => "redaction",
        }
    }

    pub fn parse(s: &str) -> Option<Source> {
        match s {
            "event" => Some(Source::Event),
            "audit" => Some(Source::Audit),
            "redaction" => Some(Source::Redaction),
            _ => None,
        }
    }
}

/// One field of a row.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    Null,
    Text(&'a str),
    Int(i64),
}

impl<'a> From<&'a str> for Field<'a> {
    fn from(s: &'a str) -> Self {
        Field::Text(s)
    }
}

impl<'a> From<Option<&'a str>> for Field<'a> {
    fn from(s: Option<&'a str>) -> Self {
        s.map_or(Field::Null, Field::Text)
    }
}

impl From<i64> for Field<'_> {
    fn from(v: i64) -> Self {
        Field::Int(v)
    }
}

impl From<Option<i64>> for Field<'_> {
    fn from(v: Option<i64>) -> Self {
        v.map_or(Field::Null, Field::Int)
    }
}

/// The leaf bytes of a record of `source` with these fields, in order.
pub fn encode(source: Source, fields: &[Field<'_>]) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    out.extend_from_slice(b"mpaka/");
    out.extend_from_slice(source.as_str().as_bytes());
    out.extend_from_slice(b"/v1\n");
    for field in fields {
        match field {
            Field::Null => out.push(0),
            Field::Text(s) => {
                out.push(1);
                // Rows are far below 4 GiB; saturate rather than wrap.
                let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
                out.extend_from_slice(&len.to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
            Field::Int(v) => {
                out.push(2);
                out.extend_from_slice(&v.to_be_bytes());
            }
        }
    }
    out
}

/// The columns of an `events` row, in leaf order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRow {
    pub seq: i64,
    pub channel: String,
    pub kind: String,
    pub at: i64,
    pub author_id: Option<i64>,
    pub author: Option<String>,
    pub audience: Option<String>,
    pub body: String,
}

impl EventRow {
    pub fn leaf_bytes(&self) -> Vec<u8> {
        encode(
            Source::Event,
            &[
                self.seq.into(),
                self.channel.as_str().into(),
                self.kind.as_str().into(),
                self.at.into(),
                self.author_id.into(),
                self.author.as_deref().into(),
                self.audience.as_deref().into(),
                self.body.as_str().into(),
            ],
        )
    }
}

/// The columns of an `audit` row, in leaf order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditRow {
    pub fn leaf_bytes(&self) -> Vec<u8> {
        encode(
            Source::Audit,
            &[
                self.id.into(),
                self.at.into(),
                self.actor_id.into(),
                self.actor.as_str().into(),
                self.action.as_str().into(),
                self.target.as_str().into(),
                self.detail.as_str().into(),
                self.prev_hash.as_str().into(),
                self.hash.as_str().into(),
            ],
        )
    }
}

/// A tombstone: leaf `target` was redacted by `actor` at `at` for `reason`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedactionRow {
    pub target: i64,
    pub at: i64,
    pub actor: String,
    pub reason: String,
}

impl RedactionRow {
    pub fn leaf_bytes(&self) -> Vec<u8> {
        encode(
            Source::Redaction,
            &[
                self.target.into(),
                self.at.into(),
                self.actor.as_str().into(),
                self.reason.as_str().into(),
            ],
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_empty_text_and_field_boundaries_encode_apart() {
        let a = encode(Source::Event, &[Field::Null]);
        let b = encode(Source::Event, &[Field::Text("")]);
        assert_ne!(a, b);
        let c = encode(Source::Event, &[Field::Text("ab"), Field::Text("c")]);
        let d = encode(Source::Event, &[Field::Text("a"), Field::Text("bc")]);
        assert_ne!(c, d);
        assert_ne!(
            encode(Source::Event, &[Field::Int(1)]),
            encode(Source::Audit, &[Field::Int(1)])
        );
    }
}
