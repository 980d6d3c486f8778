//! Demo data for `mpaka serve --demo`: three border crossings between
//! Burundi and Tanzania and a user for every role, with random passwords
//! printed once and kept in `{data_dir}/demo-credentials.tsv` (mode 0600).

use crate::admin::{self, Actor, PostSpec, UserSpec};
use crate::store::Store;
use mpaka_protocol::{Country, Role};
use std::path::Path;

/// Name of the credentials file in the data directory.
pub const CREDENTIALS_FILE: &str = "demo-credentials.tsv";

struct DemoPost {
    slug: &'static str,
    name: &'static str,
    country: Country,
    region: &'static str,
    corridor: &'static str,
    corridor_name: &'static str,
}

const POSTS: [DemoPost; 6] = [
    DemoPost { slug: "mugina", name: "Mugina", country: Country::BI, region: "Makamba", corridor: "mugina-manyovu", corridor_name: "Mugina ⇄ Manyovu" },
    DemoPost { slug: "manyovu", name: "Manyovu", country: Country::TZ, region: "Kigoma", corridor: "mugina-manyovu", corridor_name: "Mugina ⇄ Manyovu" },
    DemoPost { slug: "gisuru", name: "Gisuru", country: Country::BI, region: "Ruyigi", corridor: "gisuru-kibondo", corridor_name: "Gisuru ⇄ Kibondo" },
    DemoPost { slug: "kibondo", name: "Kibondo", country: Country::TZ, region: "Kigoma", corridor: "gisuru-kibondo", corridor_name: "Gisuru ⇄ Kibondo" },
    DemoPost { slug: "kobero", name: "Kobero", country: Country::BI, region: "Muyinga", corridor: "kobero-kabanga", corridor_name: "Kobero ⇄ Kabanga" },
    DemoPost { slug: "kabanga", name: "Kabanga", country: Country::TZ, region: "Kagera", corridor: "kobero-kabanga", corridor_name: "Kobero ⇄ Kabanga" },
];

/// One demo account as written to the credentials file.
#[derive(Debug, Clone)]
pub struct DemoCredential {
    pub username: String,
    pub password: String,
    pub role: Role,
    pub country: Option<Country>,
    pub post: Option<String>,
}

fn demo_users() -> Vec<(String, String, Role, Option<Country>, Option<String>, Option<String>, &'static str)> {
    let mut users = Vec::new();
    for post in &POSTS {
        let language = if post.country == Country::BI { "fr" } else { "sw" };
        users.push((
            format!("{}.officer", post.slug),
            format!("Officer at {}", post.name),
            Role::Officer,
            Some(post.country),
            Some(post.slug.to_owned()),
            None,
            language,
        ));
    }
    users.push(("bi.coordinator".into(), "Burundi coordinator".into(), Role::Coordinator, Some(Country::BI), None, None, "fr"));
    users.push(("tz.coordinator".into(), "Tanzania coordinator".into(), Role::Coordinator, Some(Country::TZ), None, None, "en"));
    users.push(("unhcr.observer".into(), "UNHCR liaison".into(), Role::Observer, None, None, Some("UNHCR".into()), "en"));
    users.push(("admin".into(), "System administrator".into(), Role::Admin, None, None, None, "en"));
    users.push(("auditor".into(), "Inspector".into(), Role::Auditor, None, None, None, "fr"));
    users
}

fn random_password() -> String {
    // 18 URL-safe characters, about 108 bits.
    crate::auth::random_token().chars().take(18).collect()
}

/// Seeds the demo data unless it is already there. Returns the credentials
/// when it created them.
///
/// # Errors
/// Storage failures or an unwritable data directory.
pub async fn seed(store: &Store, data_dir: &Path) -> anyhow::Result<Option<Vec<DemoCredential>>> {
    if store.directory().await?.post("mugina").is_some() {
        return Ok(None);
    }
    for post in &POSTS {
        admin::create_post(
            store,
            Actor::Operator,
            PostSpec {
                slug: post.slug.into(),
                name: post.name.into(),
                country: post.country,
                region: post.region.into(),
                corridor: Some(post.corridor.into()),
                corridor_name: Some(post.corridor_name.into()),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let mut credentials = Vec::new();
    for (username, display_name, role, country, post, org, language) in demo_users() {
        let password = random_password();
        admin::create_user(
            store,
            Actor::Operator,
            UserSpec {
                username: username.clone(),
                display_name: Some(display_name),
                role,
                country,
                org,
                post: post.clone(),
                language: Some(language.into()),
                password: password.clone(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        credentials.push(DemoCredential {
            username,
            password,
            role,
            country,
            post,
        });
    }
    let mut file = String::from("username\tpassword\trole\tcountry\tpost\n");
    for c in &credentials {
        file.push_str(&format!(
            "{}\t{}\t{}\t{}\t{}\n",
            c.username,
            c.password,
            c.role,
            c.country.map(|c| c.to_string()).unwrap_or_default(),
            c.post.clone().unwrap_or_default()
        ));
    }
    crate::auth::write_private(&data_dir.join(CREDENTIALS_FILE), file.as_bytes())?;
    Ok(Some(credentials))
}
