//! Demo data for `mpaka serve --demo`: three border crossings between
//! Burundi and Tanzania and a user for every role, with random passwords
//! printed once and kept in `{data_dir}/demo-credentials.tsv` (mode 0600).

use crate::admin::{self, Actor, PostSpec, UserSpec};
use crate::store::Store;
use mpaka_protocol::{Country, Role};
use std::path::Path;

/// Name of the credentials file in the data directory; its format belongs
/// to `mpaka_client`, which reads it back.
pub use mpaka_client::CREDENTIALS_FILE;

struct DemoPost {
    slug: &'static str,
    name: &'static str,
    country: Country,
    region: &'static str,
    corridor: &'static str,
    corridor_name: &'static str,
}

const POSTS: [DemoPost; 6] = [
    DemoPost {
        slug: "mugina",
        name: "Mugina",
        country: Country::BI,
        region: "Makamba",
        corridor: "mugina-manyovu",
        corridor_name: "Mugina ⇄ Manyovu",
    },
    DemoPost {
        slug: "manyovu",
        name: "Manyovu",
        country: Country::TZ,
        region: "Kigoma",
        corridor: "mugina-manyovu",
        corridor_name: "Mugina ⇄ Manyovu",
    },
    DemoPost {
        slug: "gisuru",
        name: "Gisuru",
        country: Country::BI,
        region: "Ruyigi",
        corridor: "gisuru-kibondo",
        corridor_name: "Gisuru ⇄ Kibondo",
    },
    DemoPost {
        slug: "kibondo",
        name: "Kibondo",
        country: Country::TZ,
        region: "Kigoma",
        corridor: "gisuru-kibondo",
        corridor_name: "Gisuru ⇄ Kibondo",
    },
    DemoPost {
        slug: "kobero",
        name: "Kobero",
        country: Country::BI,
        region: "Muyinga",
        corridor: "kobero-kabanga",
        corridor_name: "Kobero ⇄ Kabanga",
    },
    DemoPost {
        slug: "kabanga",
        name: "Kabanga",
        country: Country::TZ,
        region: "Kagera",
        corridor: "kobero-kabanga",
        corridor_name: "Kobero ⇄ Kabanga",
    },
];

/// One demo account as written to the credentials file.
pub use mpaka_client::DemoAccount as DemoCredential;

/// A demo account without its password.
struct DemoUser {
    username: String,
    display_name: String,
    role: Role,
    country: Option<Country>,
    post: Option<String>,
    org: Option<String>,
    language: &'static str,
}

impl DemoUser {
    fn new(
        username: &str,
        display_name: &str,
        role: Role,
        country: Option<Country>,
        language: &'static str,
    ) -> Self {
        DemoUser {
            username: username.into(),
            display_name: display_name.into(),
            role,
            country,
            post: None,
            org: None,
            language,
        }
    }
}

fn demo_users() -> Vec<DemoUser> {
    let mut users: Vec<DemoUser> = POSTS
        .iter()
        .map(|post| DemoUser {
            post: Some(post.slug.to_owned()),
            ..DemoUser::new(
                &format!("{}.officer", post.slug),
                &format!("Officer at {}", post.name),
                Role::Officer,
                Some(post.country),
                if post.country == Country::BI {
                    "fr"
                } else {
                    "sw"
                },
            )
        })
        .collect();
    users.push(DemoUser::new(
        "bi.coordinator",
        "Burundi coordinator",
        Role::Coordinator,
        Some(Country::BI),
        "fr",
    ));
    users.push(DemoUser::new(
        "tz.coordinator",
        "Tanzania coordinator",
        Role::Coordinator,
        Some(Country::TZ),
        "en",
    ));
    users.push(DemoUser {
        org: Some("UNHCR".into()),
        ..DemoUser::new(
            "unhcr.observer",
            "UNHCR liaison",
            Role::Observer,
            None,
            "en",
        )
    });
    users.push(DemoUser::new(
        "admin",
        "System administrator",
        Role::Admin,
        None,
        "en",
    ));
    users.push(DemoUser::new(
        "auditor",
        "Inspector",
        Role::Auditor,
        None,
        "fr",
    ));
    users
}

fn random_password() -> String {
    // 18 URL-safe characters, about 108 bits.
    crate::auth::random_token().chars().take(18).collect()
}

/// Seeds the demo data unless it is already there. Returns the credentials
/// when it created (or completed) them.
///
/// Crash-safe without one big transaction: the credentials file is written
/// first, atomically (see [`crate::files`]), with every password; posts and
/// users are then created one by one, skipping those that exist. A kill or
/// power cut at any moment leaves either nothing, or a complete credentials
/// file and part of the accounts, and the next start finishes the job with
/// the same passwords. Demo data counts as present only when every demo
/// account exists and the credentials file is there.
///
/// # Errors
/// Storage failures or an unwritable data directory.
pub async fn seed(store: &Store, data_dir: &Path) -> anyhow::Result<Option<Vec<DemoCredential>>> {
    let path = data_dir.join(CREDENTIALS_FILE);
    let users = demo_users();
    let mut complete = path.exists();
    for user in &users {
        if !complete {
            break;
        }
        complete = store.user_by_name(&user.username).await?.is_some();
    }
    if complete {
        return Ok(None);
    }
    if !path.exists() && store.user_by_name(&users[0].username).await?.is_some() {
        // Created by a version that wrote the file last; the passwords
        // are lost and new ones would not match the accounts.
        tracing::warn!(
            file = %path.display(),
            "demo accounts exist but their credentials file is missing; start on an empty data directory for new demo accounts"
        );
        return Ok(None);
    }
    // Reuse the passwords of an interrupted earlier run: some accounts may
    // already have them.
    let earlier = read_passwords(&path);
    let credentials: Vec<DemoCredential> = users
        .iter()
        .map(|user| DemoCredential {
            username: user.username.clone(),
            password: earlier
                .get(&user.username)
                .cloned()
                .unwrap_or_else(random_password),
            role: user.role,
            country: user.country,
            post: user.post.clone(),
        })
        .collect();
    let file = mpaka_client::DemoCredentials::new(credentials.clone()).to_tsv();
    crate::files::write_private(&path, file.as_bytes())?;
    let directory = store.directory().await?;
    for post in &POSTS {
        if directory.post(post.slug).is_some() {
            continue;
        }
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
    for (user, credential) in users.into_iter().zip(&credentials) {
        if store.user_by_name(&user.username).await?.is_some() {
            continue;
        }
        admin::create_user(
            store,
            Actor::Operator,
            UserSpec {
                username: user.username.clone(),
                display_name: Some(user.display_name),
                role: user.role,
                country: user.country,
                org: user.org,
                post: user.post.clone(),
                language: Some(user.language.into()),
                password: credential.password.clone(),
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    Ok(Some(credentials))
}

/// Username → password from an existing credentials file (empty if none
/// or unreadable: the accounts then get new passwords).
fn read_passwords(path: &Path) -> std::collections::HashMap<String, String> {
    mpaka_client::DemoCredentials::read(path)
        .map(|file| {
            file.accounts()
                .iter()
                .map(|a| (a.username.clone(), a.password.clone()))
                .collect()
        })
        .unwrap_or_default()
}
