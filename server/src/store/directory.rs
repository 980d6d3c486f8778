//! Corridors and posts: the hub's geography, read whole into a [`Directory`].

use super::{now_ms, Result, Store, StoreError, WriteTx};
use mpaka_protocol::Country;
use serde::Serialize;
use sqlx::Row;
use std::collections::{BTreeMap, BTreeSet};

/// A border post.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Post {
    pub slug: String,
    pub name: String,
    pub country: Country,
    pub region: String,
    /// The corridor (border crossing) this post belongs to, if any.
    pub corridor: Option<String>,
    pub last_seen_at: Option<i64>,
}

/// A border crossing: the posts facing each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Corridor {
    pub slug: String,
    pub name: String,
    /// Slugs of its posts.
    pub posts: Vec<String>,
}

/// Every corridor and post, for access decisions and channel names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    pub posts: BTreeMap<String, Post>,
    pub corridors: BTreeMap<String, Corridor>,
    /// Every account's id, so that `user:{id}` of an account that does not
    /// exist is an unknown channel rather than a forbidden one.
    pub users: BTreeSet<i64>,
}

impl Directory {
    pub fn post(&self, slug: &str) -> Option<&Post> {
        self.posts.get(slug)
    }

    pub fn corridor(&self, slug: &str) -> Option<&Corridor> {
        self.corridors.get(slug)
    }

    /// Countries with a post in the corridor.
    pub fn corridor_countries(&self, slug: &str) -> Vec<Country> {
        let mut countries: Vec<Country> = self
            .corridor(slug)
            .map(|c| {
                c.posts
                    .iter()
                    .filter_map(|p| self.post(p).map(|p| p.country))
                    .collect()
            })
            .unwrap_or_default();
        countries.sort();
        countries.dedup();
        countries
    }
}

impl Store {
    /// Reads every corridor and post.
    ///
    /// # Errors
    /// A database failure or an undecodable row.
    pub async fn directory(&self) -> Result<Directory> {
        let mut conn = self.reader().await?;
        let corridor_rows = sqlx::query("SELECT slug, name FROM corridors ORDER BY slug")
            .fetch_all(&mut *conn)
            .await?;
        let post_rows = sqlx::query(
            "SELECT slug, name, country, region, corridor, last_seen_at FROM posts ORDER BY slug",
        )
        .fetch_all(&mut *conn)
        .await?;
        let user_rows = sqlx::query("SELECT id FROM users")
            .fetch_all(&mut *conn)
            .await?;
        let mut directory = Directory::default();
        for row in &user_rows {
            directory.users.insert(row.try_get("id")?);
        }
        for row in &corridor_rows {
            let slug: String = row.try_get("slug")?;
            directory.corridors.insert(
                slug.clone(),
                Corridor {
                    slug,
                    name: row.try_get("name")?,
                    posts: Vec::new(),
                },
            );
        }
        for row in &post_rows {
            let country: String = row.try_get("country")?;
            let post = Post {
                slug: row.try_get("slug")?,
                name: row.try_get("name")?,
                country: country.parse().map_err(StoreError::corrupt)?,
                region: row.try_get("region")?,
                corridor: row.try_get("corridor")?,
                last_seen_at: row.try_get("last_seen_at")?,
            };
            if let Some(corridor) = post
                .corridor
                .as_ref()
                .and_then(|c| directory.corridors.get_mut(c))
            {
                corridor.posts.push(post.slug.clone());
            }
            directory.posts.insert(post.slug.clone(), post);
        }
        Ok(directory)
    }
}

impl WriteTx {
    /// Adds a corridor unless one with this slug exists; true if added.
    ///
    /// # Errors
    /// A database failure.
    pub async fn ensure_corridor(&mut self, slug: &str, name: &str) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO corridors (slug, name, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT (slug) DO NOTHING",
        )
        .bind(slug)
        .bind(name)
        .bind(now_ms())
        .execute(self.conn())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Adds a post.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the slug is taken.
    pub async fn insert_post(&mut self, post: &Post) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO posts (slug, name, country, region, corridor, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (slug) DO NOTHING",
        )
        .bind(&post.slug)
        .bind(&post.name)
        .bind(post.country.as_str())
        .bind(&post.region)
        .bind(post.corridor.as_deref())
        .bind(now_ms())
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Duplicate(format!("post {}", post.slug)));
        }
        Ok(())
    }
}
