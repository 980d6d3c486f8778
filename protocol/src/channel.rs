//! Channel names. Every event belongs to exactly one channel; the server
//! decides per user which channels may be read and written.

use crate::Country;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::borrow::Cow;
use std::fmt;
use std::str::FromStr;

/// A channel, written on the wire as a string such as `corridor:mugina-manyovu`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ChannelId {
    /// `corridor:{slug}`: joint channel of both posts facing each other at one crossing.
    Corridor(String),
    /// `national:{BI|TZ}`: one country's broadcast channel to its posts.
    National(Country),
    /// `post:{slug}`: one post's own channel.
    Post(String),
    /// `coord:{BI|TZ}`: one country's coordinators.
    Coordination(Country),
    /// `coord:joint`: coordinators of both countries.
    JointCoordination,
    /// `joint`: cross-border broadcasts to everyone with joint access.
    Joint,
    /// `user:{id}`: one user's personal inbox (reminders, escalations).
    User(i64),
    /// `system`: hub-internal events (account changes); nobody subscribes.
    System,
}

/// Why a string is not a channel name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseChannelError(pub String);

impl fmt::Display for ParseChannelError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The rejected text itself is never echoed back: it could be anything.
        let _ = &self.0;
        f.write_str(
            "not a channel name (expected corridor:{slug}, post:{slug}, national:{country}, \
             coord:{country|joint}, joint, user:{id} or system)",
        )
    }
}

impl std::error::Error for ParseChannelError {}

pub(crate) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl FromStr for ChannelId {
    type Err = ParseChannelError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseChannelError(s.chars().take(80).collect());
        match s.split_once(':') {
            None if s == "joint" => Ok(ChannelId::Joint),
            None if s == "system" => Ok(ChannelId::System),
            Some(("corridor", slug)) if is_slug(slug) => Ok(ChannelId::Corridor(slug.into())),
            Some(("post", slug)) if is_slug(slug) => Ok(ChannelId::Post(slug.into())),
            Some(("national", c)) => c.parse().map(ChannelId::National).map_err(|_| bad()),
            Some(("coord", "joint")) => Ok(ChannelId::JointCoordination),
            Some(("coord", c)) => c.parse().map(ChannelId::Coordination).map_err(|_| bad()),
            Some(("user", id)) => id.parse().map(ChannelId::User).map_err(|_| bad()),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for ChannelId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ChannelId::Corridor(slug) => write!(f, "corridor:{slug}"),
            ChannelId::National(c) => write!(f, "national:{c}"),
            ChannelId::Post(slug) => write!(f, "post:{slug}"),
            ChannelId::Coordination(c) => write!(f, "coord:{c}"),
            ChannelId::JointCoordination => f.write_str("coord:joint"),
            ChannelId::Joint => f.write_str("joint"),
            ChannelId::User(id) => write!(f, "user:{id}"),
            ChannelId::System => f.write_str("system"),
        }
    }
}

impl Serialize for ChannelId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for ChannelId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = Cow::<str>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for ChannelId {
    fn schema_name() -> Cow<'static, str> {
        "ChannelId".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "corridor:{slug} | national:{BI|TZ} | post:{slug} | coord:{BI|TZ} | coord:joint | joint | user:{id} | system",
            "pattern": "^(corridor:[a-z0-9-]{1,64}|post:[a-z0-9-]{1,64}|national:(BI|TZ)|coord:(BI|TZ|joint)|joint|user:[0-9]+|system)$"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_channel_round_trips_through_its_name() {
        for name in [
            "corridor:mugina-manyovu",
            "national:BI",
            "post:kabanga",
            "coord:TZ",
            "coord:joint",
            "joint",
            "user:42",
            "system",
        ] {
            let id: ChannelId = name.parse().unwrap();
            assert_eq!(id.to_string(), name);
        }
    }

    #[test]
    fn malformed_names_are_refused() {
        for name in [
            "",
            "corridor:",
            "corridor:Upper",
            "national:KE",
            "user:x",
            "post:a b",
            "foo",
        ] {
            assert!(name.parse::<ChannelId>().is_err(), "{name} accepted");
        }
    }
}
