//! Presence across nodes: each node periodically replaces its own snapshot
//! of who is connected and refreshes its heartbeat; readers count only nodes
//! whose heartbeat is fresh, so a node that died stops counting by itself.

use super::{now_ms, Result, Store, WriteTx};
use sqlx::Row;

/// One user connected to one node (or, read back, to any node).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PresenceRow {
    pub user_id: i64,
    pub username: String,
    pub display_name: String,
    pub post: Option<String>,
    pub sessions: i64,
}

impl WriteTx {
    /// Replaces this node's presence snapshot, refreshes its heartbeat and
    /// records when posts were last seen: now for those with someone online,
    /// and the given times for posts whose users came and went.
    ///
    /// # Errors
    /// A database failure.
    pub async fn replace_presence(
        &mut self,
        node_id: &str,
        rows: &[(i64, Option<String>, i64)],
        seen: &[(String, i64)],
    ) -> Result<()> {
        let now = now_ms();
        sqlx::query(
            "INSERT INTO nodes (node_id, started_at, heartbeat_at) VALUES ($1, $2, $2) \
             ON CONFLICT (node_id) DO UPDATE SET heartbeat_at = $2",
        )
        .bind(node_id)
        .bind(now)
        .execute(self.conn())
        .await?;
        sqlx::query("DELETE FROM presence WHERE node_id = $1")
            .bind(node_id)
            .execute(self.conn())
            .await?;
        for (user_id, post, sessions) in rows {
            sqlx::query(
                "INSERT INTO presence (node_id, user_id, post, sessions) VALUES ($1, $2, $3, $4)",
            )
            .bind(node_id)
            .bind(user_id)
            .bind(post.as_deref())
            .bind(sessions)
            .execute(self.conn())
            .await?;
        }
        let online = rows
            .iter()
            .filter_map(|(_, post, _)| post.clone().map(|p| (p, now)));
        for (post, at) in seen.iter().cloned().chain(online) {
            sqlx::query(
                "UPDATE posts SET last_seen_at = $1 WHERE slug = $2 AND (last_seen_at IS NULL OR last_seen_at < $1)",
            )
            .bind(at)
            .bind(post)
            .execute(self.conn())
            .await?;
        }
        Ok(())
    }

    /// Removes a node and its presence (clean shutdown).
    ///
    /// # Errors
    /// A database failure.
    pub async fn remove_node(&mut self, node_id: &str) -> Result<()> {
        sqlx::query("DELETE FROM presence WHERE node_id = $1")
            .bind(node_id)
            .execute(self.conn())
            .await?;
        sqlx::query("DELETE FROM nodes WHERE node_id = $1")
            .bind(node_id)
            .execute(self.conn())
            .await?;
        Ok(())
    }
}

impl Store {
    /// Sockets `user_id` has open on the other nodes (those whose heartbeat
    /// is younger than `fresh_ms`), as their last presence snapshots say.
    ///
    /// # Errors
    /// A database failure.
    pub async fn sockets_elsewhere(
        &self,
        user_id: i64,
        node_id: &str,
        fresh_ms: i64,
    ) -> Result<i64> {
        let mut conn = self.reader().await?;
        let n: i64 = sqlx::query_scalar(
            "SELECT CAST(COALESCE(SUM(p.sessions), 0) AS BIGINT) FROM presence p \
             JOIN nodes n ON n.node_id = p.node_id \
             WHERE p.user_id = $1 AND p.node_id <> $2 AND n.heartbeat_at >= $3",
        )
        .bind(user_id)
        .bind(node_id)
        .bind(now_ms() - fresh_ms)
        .fetch_one(&mut *conn)
        .await?;
        Ok(n)
    }

    /// Who is connected to any node whose heartbeat is younger than `fresh_ms`.
    ///
    /// # Errors
    /// A database failure.
    pub async fn presence(&self, fresh_ms: i64) -> Result<Vec<PresenceRow>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(
            "SELECT p.user_id, u.username, u.display_name, p.post, CAST(SUM(p.sessions) AS BIGINT) AS sessions \
             FROM presence p JOIN nodes n ON n.node_id = p.node_id JOIN users u ON u.id = p.user_id \
             WHERE n.heartbeat_at >= $1 \
             GROUP BY p.user_id, u.username, u.display_name, p.post ORDER BY u.username",
        )
        .bind(now_ms() - fresh_ms)
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PresenceRow {
                    user_id: row.try_get("user_id")?,
                    username: row.try_get("username")?,
                    display_name: row.try_get("display_name")?,
                    post: row.try_get("post")?,
                    sessions: row.try_get("sessions")?,
                })
            })
            .collect()
    }
}

/// When someone was last connected at a post, for the metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostSeen {
    pub post: String,
    pub country: String,
    /// Last seen (Unix ms); the post's creation when never seen.
    pub seen_at_ms: i64,
}

impl Store {
    /// Every post with when it was last seen (its creation if never).
    ///
    /// # Errors
    /// A database failure.
    pub async fn posts_last_seen(&self) -> Result<Vec<PostSeen>> {
        let mut conn = self.reader().await?;
        let rows = sqlx::query(
            "SELECT slug, country, COALESCE(last_seen_at, created_at) AS seen FROM posts ORDER BY slug",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PostSeen {
                    post: row.try_get("slug")?,
                    country: row.try_get("country")?,
                    seen_at_ms: row.try_get("seen")?,
                })
            })
            .collect()
    }
}
