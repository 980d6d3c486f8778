//! Who a user is on the wire: role, country and post.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A user's role. It decides, with country and post, what the user may read
/// and write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Immigration, police or customs officer at one post.
    Officer,
    /// National or joint coordination staff (headquarters included).
    Coordinator,
    /// Partner agency: reads joint content only, with personal data redacted.
    Observer,
    /// System administrator: manages users and posts, sees no operational content.
    Admin,
    /// Inspector: reads the audit trail.
    Auditor,
}

impl Role {
    pub const ALL: [Role; 5] = [
        Role::Officer,
        Role::Coordinator,
        Role::Observer,
        Role::Admin,
        Role::Auditor,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Coordinator => "coordinator",
            Role::Observer => "observer",
            Role::Admin => "admin",
            Role::Auditor => "auditor",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str() == s)
            .ok_or_else(|| format!("unknown role `{s}` (expected officer, coordinator, observer, admin or auditor)"))
    }
}

/// The two countries the hub serves, by ISO 3166-1 alpha-2 code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum Country {
    /// Burundi.
    BI,
    /// Tanzania.
    TZ,
}

impl Country {
    pub const ALL: [Country; 2] = [Country::BI, Country::TZ];

    pub fn as_str(self) -> &'static str {
        match self {
            Country::BI => "BI",
            Country::TZ => "TZ",
        }
    }

    /// The country across the border.
    pub fn other(self) -> Country {
        match self {
            Country::BI => Country::TZ,
            Country::TZ => Country::BI,
        }
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.as_str())
    }
}

impl FromStr for Country {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "BI" | "bi" => Ok(Country::BI),
            "TZ" | "tz" => Ok(Country::TZ),
            _ => Err(format!("unknown country `{s}` (expected BI or TZ)")),
        }
    }
}

/// A user as the hub describes them to clients.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct UserInfo {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// Absent for partner-organisation users (observers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    /// Partner organisation, for observers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// Slug of the officer's post.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// Preferred language for content and interface: `fr`, `en`, `sw` or `rn`.
    pub language: String,
}
