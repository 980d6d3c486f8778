//! User accounts.

use super::{now_ms, Result, Store, StoreError, WriteTx};
use mpaka_protocol::{Country, Role, UserInfo};
use sqlx::Row;

/// A stored account.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    /// argon2id PHC string; never logged (see the `Debug` impl).
    pub password_hash: String,
    pub role: Role,
    pub country: Option<Country>,
    pub org: Option<String>,
    pub post: Option<String>,
    pub language: String,
    pub disabled: bool,
    /// Bumped on every disable, enable or role change; tokens carry it, so
    /// older tokens stop working.
    pub token_version: i64,
    /// An administrator reset the password: login is refused with
    /// `password_change_required` until the user sets a new one.
    pub must_change_password: bool,
}

impl std::fmt::Debug for User {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("role", &self.role)
            .field("country", &self.country)
            .field("post", &self.post)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

impl User {
    pub fn info(&self) -> UserInfo {
        UserInfo {
            id: self.id,
            username: self.username.clone(),
            display_name: self.display_name.clone(),
            role: self.role,
            country: self.country,
            org: self.org.clone(),
            post: self.post.clone(),
            language: self.language.clone(),
        }
    }
}

/// An account to create.
#[derive(Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub password_hash: String,
    pub role: Role,
    pub country: Option<Country>,
    pub org: Option<String>,
    pub post: Option<String>,
    pub language: String,
}

const COLUMNS: &str =
    "id, username, display_name, password_hash, role, country, org, post, language, disabled, token_version, must_change_password";

fn decode(row: &sqlx::any::AnyRow) -> Result<User> {
    let role: String = row.try_get("role")?;
    let country: Option<String> = row.try_get("country")?;
    Ok(User {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        password_hash: row.try_get("password_hash")?,
        role: role.parse().map_err(StoreError::corrupt)?,
        country: country
            .map(|c| c.parse())
            .transpose()
            .map_err(StoreError::corrupt)?,
        org: row.try_get("org")?,
        post: row.try_get("post")?,
        language: row.try_get("language")?,
        disabled: row.try_get::<i64, _>("disabled")? != 0,
        token_version: row.try_get("token_version")?,
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
    })
}

impl Store {
    /// # Errors
    /// A database failure.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<User>> {
        let mut conn = self.reader().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// # Errors
    /// A database failure.
    pub async fn user_by_id(&self, id: i64) -> Result<Option<User>> {
        let mut conn = self.reader().await?;
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(&mut *conn)
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every account, by username.
    ///
    /// # Errors
    /// A database failure.
    pub async fn users(&self) -> Result<Vec<User>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username"))
            .fetch_all(&mut *conn)
            .await?;
        rows.iter().map(decode).collect()
    }
}

impl WriteTx {
    /// Creates an account and returns its id.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when the username is taken.
    pub async fn insert_user(&mut self, user: &NewUser) -> Result<i64> {
        let id: Option<i64> = sqlx::query_scalar(
            "INSERT INTO users (username, display_name, password_hash, role, country, org, post, language, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (username) DO NOTHING RETURNING id",
        )
        .bind(&user.username)
        .bind(&user.display_name)
        .bind(&user.password_hash)
        .bind(user.role.as_str())
        .bind(user.country.map(Country::as_str))
        .bind(user.org.as_deref())
        .bind(user.post.as_deref())
        .bind(&user.language)
        .bind(now_ms())
        .fetch_optional(self.conn())
        .await?;
        id.ok_or_else(|| StoreError::Duplicate(format!("user {}", user.username)))
    }

    /// Replaces an account's password hash; `must_change` forces a change at
    /// the next login (an administrator's reset).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn set_user_password(
        &mut self,
        id: i64,
        hash: &str,
        must_change: bool,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2 WHERE id = $3",
        )
        .bind(hash)
        .bind(i64::from(must_change))
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        Ok(())
    }

    /// Disables or re-enables an account, invalidating its tokens.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn set_user_disabled(&mut self, id: i64, disabled: bool) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET disabled = $1, token_version = token_version + 1 WHERE id = $2",
        )
        .bind(i64::from(disabled))
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE user_id = $1")
            .bind(id)
            .execute(self.conn())
            .await?;
        Ok(())
    }

    /// Changes an account's role (and post, country), invalidating its tokens.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown id.
    pub async fn set_user_role(
        &mut self,
        id: i64,
        role: Role,
        country: Option<Country>,
        post: Option<&str>,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET role = $1, country = $2, post = $3, token_version = token_version + 1 WHERE id = $4",
        )
        .bind(role.as_str())
        .bind(country.map(Country::as_str))
        .bind(post)
        .bind(id)
        .execute(self.conn())
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {id}")));
        }
        Ok(())
    }
}
