//! Standard operating procedures (SOPs) on the wire: the procedure, its
//! versions in several languages, who must read it (its audience), read
//! acknowledgements, read coverage and version diffs.
//!
//! An SOP is identified by its slug (`minors-reception`) and owned by one
//! country's service or by both jointly. Every change is a new numbered
//! version, written as a draft and then published; the published version is
//! the one in force until a newer one replaces it or the SOP is retired.

mod audience;
mod lang;
mod replies;
mod validate;

pub use audience::SopAudience;
pub use lang::{Lang, ParseLangError};
pub use replies::{
    SopAckReceipt, SopDraftSaved, SopFormat, SopHistory, SopPublishRequest, SopReading, SopReceipt,
    SopRemindReceipt, SopRemindRequest, SopRetireRequest, SopVersionInfo,
};
pub use validate::{
    is_iso_date, is_sop_slug, MAX_AUDIENCE_ENTRIES, MAX_BODY_BYTES, MAX_SUMMARY_CHARS,
    MAX_TITLE_CHARS,
};

use crate::{Author, Country, FieldError, Role};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// CommonMark source text (tables and strikethrough allowed). Clients get it
/// as written; the hub renders it to sanitized HTML on request.
pub type Markdown = String;

/// Who owns an SOP and may write it: one country's service, or both jointly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SopOwner {
    /// Burundi's service only; the SOP never reaches Tanzanian users.
    #[serde(rename = "BI")]
    Burundi,
    /// Tanzania's service only; the SOP never reaches Burundian users.
    #[serde(rename = "TZ")]
    Tanzania,
    /// Both services: a cross-border (joint) procedure.
    Joint,
}

impl SopOwner {
    /// The owning country, or `None` for a joint SOP.
    pub fn country(self) -> Option<Country> {
        match self {
            SopOwner::Burundi => Some(Country::BI),
            SopOwner::Tanzania => Some(Country::TZ),
            SopOwner::Joint => None,
        }
    }

    /// Whether `country` is (one of) the owner(s).
    pub fn includes(self, country: Country) -> bool {
        self.country().is_none_or(|owner| owner == country)
    }

    /// Whether a user may see this SOP's drafts: only coordinators of the
    /// owning country, of either country for a joint SOP.
    pub fn drafts_visible_to(self, role: Role, country: Option<Country>) -> bool {
        role == Role::Coordinator && country.is_some_and(|c| self.includes(c))
    }
}

impl From<Country> for SopOwner {
    fn from(country: Country) -> Self {
        match country {
            Country::BI => SopOwner::Burundi,
            Country::TZ => SopOwner::Tanzania,
        }
    }
}

/// Where an SOP or one of its versions stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SopState {
    /// Being written; visible only to the owners' coordinators.
    Draft,
    /// In force (for a version: the one in force).
    Published,
    /// A version that was in force and has been replaced by a newer one.
    /// Only versions take this state.
    Superseded,
    /// Withdrawn: no longer in force, kept for the record.
    Retired,
}

/// An SOP as listed: its identity and which versions exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Sop {
    /// Lowercase letters, digits and single hyphens, 3–64 characters.
    pub slug: String,
    pub owner: SopOwner,
    /// Title in each language it exists in.
    pub titles: BTreeMap<Lang, String>,
    pub state: SopState,
    /// The version in force; absent until the first publication.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_version: Option<u32>,
    /// The newest unpublished draft; absent when there is none. Only sent to
    /// users who may see drafts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latest_draft: Option<u32>,
    pub created_by: Author,
    /// RFC 3339 in UTC with milliseconds.
    pub updated_at: String,
}

/// One version of an SOP, in every language it was written in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopVersion {
    pub slug: String,
    /// 1 for the first version, then one more per new draft.
    pub version: u32,
    pub owner: SopOwner,
    /// Title in each language that has a body.
    pub titles: BTreeMap<Lang, String>,
    /// The procedure text in each language, CommonMark.
    pub bodies: BTreeMap<Lang, Markdown>,
    /// What changed since the previous version (free text, may be empty).
    #[serde(default)]
    pub change_summary: String,
    /// The day the version takes effect, `YYYY-MM-DD`.
    pub effective_date: String,
    pub audience: SopAudience,
    /// Who wrote the version.
    pub author: Author,
    /// When it was published, RFC 3339 in UTC; absent for a draft.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    pub state: SopState,
}

impl SopVersion {
    /// The version as an observer may see it: the author is not named.
    pub fn redacted(&self) -> SopVersion {
        SopVersion {
            author: self.author.redacted(),
            ..self.clone()
        }
    }
}

/// What creating or editing a draft takes.
///
/// Languages are plain strings here so that an unknown code is reported by
/// [`SopDraftInput::validate`] as a field error rather than refused as a
/// malformed frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopDraftInput {
    /// Lowercase letters, digits and single hyphens, 3–64 characters,
    /// starting with a letter, e.g. `minors-reception`.
    pub slug: String,
    pub owner: SopOwner,
    /// Title per language code; exactly the languages that have a body.
    pub titles: BTreeMap<String, String>,
    /// Body per language code (`fr`, `en`, `sw`, `rn`), CommonMark, at most
    /// [`MAX_BODY_BYTES`] bytes each; at least one.
    pub bodies: BTreeMap<String, Markdown>,
    #[serde(default)]
    pub change_summary: String,
    /// `YYYY-MM-DD`.
    pub effective_date: String,
    #[serde(default)]
    pub audience: SopAudience,
}

impl SopDraftInput {
    /// Every problem with this input; empty when it is valid.
    pub fn validate(&self) -> Vec<FieldError> {
        validate::draft_input(self)
    }
}

/// One user's acknowledgement that they read one version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct SopAck {
    pub slug: String,
    pub version: u32,
    pub by: Author,
    /// RFC 3339 in UTC with milliseconds.
    pub at: String,
}

/// One member of a version's audience, as listed in its coverage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopReader {
    pub user_id: i64,
    pub display_name: String,
    pub role: Role,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<Country>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub post: Option<String>,
    /// When they acknowledged this version; absent if they have not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acknowledged_at: Option<String>,
}

/// Read coverage of one group of the audience (one post, or one country).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct CoverageGroup {
    /// The post slug or country code; absent for members without one
    /// (coordinators have no post).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    pub total: u32,
    pub acknowledged: u32,
    pub missing: u32,
    /// Members who acknowledged, earliest first.
    pub acknowledged_by: Vec<SopReader>,
    /// Members who have not acknowledged yet.
    pub missing_users: Vec<SopReader>,
}

/// Who in a version's audience has acknowledged it, and who has not yet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopCoverage {
    pub slug: String,
    pub version: u32,
    /// Active users the audience admits at the time of the request.
    pub audience_total: u32,
    pub acknowledged: u32,
    /// `audience_total - acknowledged`.
    pub missing: u32,
    /// One group per post, by post slug.
    pub by_post: Vec<CoverageGroup>,
    /// One group per country, by country code.
    pub by_country: Vec<CoverageGroup>,
}

/// What a line of a diff is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DiffOp {
    /// In both versions.
    Equal,
    /// Only in the newer version.
    Insert,
    /// Only in the older version.
    Delete,
}

/// One line of a line-level diff.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DiffLine {
    pub op: DiffOp,
    /// 1-based line number in the older text; absent for inserted lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_line: Option<u32>,
    /// 1-based line number in the newer text; absent for deleted lines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_line: Option<u32>,
    /// The line without its line ending.
    pub text: String,
}

/// The line-level difference between two versions' bodies in one language.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopDiff {
    pub slug: String,
    pub from: u32,
    pub to: u32,
    pub lang: Lang,
    pub lines: Vec<DiffLine>,
}

/// The body of a `sop.retired` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopRetired {
    pub slug: String,
    /// Why it was withdrawn.
    pub reason: String,
}

/// The body of a `sop.reminder` event, sent to one user's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SopReminder {
    pub slug: String,
    pub version: u32,
    /// The title in the recipient's language (or the nearest available).
    pub title: String,
    /// The coordinator's message; may be empty.
    #[serde(default)]
    pub message: String,
}

#[cfg(test)]
mod tests;
