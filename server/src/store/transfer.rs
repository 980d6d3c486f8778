//! Moving and keeping data: export every durable table to a portable file,
//! import such a file into an empty database (typically SQLite to
//! PostgreSQL when a deployment scales out), and online SQLite backups.
//!
//! The export file is JSON lines: a header naming every table with its row
//! count, then one `{"table": …, "row": {column: value}}` line per row, in
//! dependency order. Rows keep their keys, so event sequence numbers and
//! the audit chain's hashes survive the move unchanged. The import runs in
//! one transaction and is verified (row counts, the audit chain) before it
//! is reported a success; on any mismatch nothing is kept.

use super::{Backend, Result, Store, StoreError};
use futures_util::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sqlx::{Column, Connection, Row, ValueRef};
use std::io::{BufRead, Write};
use std::path::Path;

/// One table moved by export and import.
#[derive(Debug, Clone, Copy)]
pub struct Table {
    pub name: &'static str,
    /// Columns giving a stable order to the rows.
    pub order_by: &'static str,
    /// A generated key column whose PostgreSQL sequence must be moved past
    /// the imported maximum.
    pub identity: Option<&'static str>,
}

impl Table {
    const fn keyed(name: &'static str, order_by: &'static str) -> Table {
        Table {
            name,
            order_by,
            identity: None,
        }
    }

    const fn generated(name: &'static str, identity: &'static str) -> Table {
        Table {
            name,
            order_by: identity,
            identity: Some(identity),
        }
    }
}

/// Every durable table, parents before children (foreign keys). A new
/// table (alerts, SOPs…) is one more line here, after the tables it refers
/// to. Not listed: `nodes` and `presence`, which are live state that every
/// running node rewrites within seconds, and PostgreSQL's `login_failures`
/// (shared login back-offs, which only slow logins down and end by
/// themselves).
pub const TABLES: &[Table] = &[
    Table::keyed("corridors", "slug"),
    Table::keyed("posts", "slug"),
    Table::generated("users", "id"),
    Table::generated("events", "seq"),
    Table::keyed("event_origins", "seq"),
    Table::keyed("idempotency", "user_id, key"),
    Table::keyed("refresh_tokens", "token_hash"),
    Table::keyed("sessions", "id"),
    Table::keyed("second_factors", "user_id"),
    Table::keyed("recovery_codes", "user_id, code_hash"),
    Table::keyed("login_challenges", "id_hash"),
    Table::generated("audit", "id"),
    Table::keyed("alerts", "id"),
    Table::keyed("alert_acks", "alert_id, user_id"),
    Table::generated("alert_history", "id"),
    Table::keyed("sops", "slug"),
    Table::keyed("sop_versions", "slug, version"),
    Table::keyed("sop_acks", "slug, version, user_id"),
    Table::keyed("flow_reports", "id"),
    Table::keyed("flow_lines", "report_id, idx"),
    Table::keyed(
        "flow_daily",
        "utc_offset_minutes, day_start, post, sharing, direction, nationality",
    ),
    Table::keyed("flow_versions", "report_id, version"),
    Table::keyed("flow_surges", "id"),
    Table::keyed("flow_sensitivity", "scope"),
    Table::keyed("log_leaves", "idx"),
    Table::keyed("log_nodes", "level, idx"),
    Table::keyed("log_redactions", "leaf"),
    Table::generated("log_checkpoints", "id"),
    Table::generated("log_cosignatures", "id"),
    Table::keyed("witness_state", "origin"),
    Table::keyed("jobs", "name"),
    Table::keyed("sms_phones", "user_id"),
    Table::keyed("sms_alert_codes", "alert_id"),
    Table::generated("sms_outbox", "id"),
    Table::generated("sms_inbound", "id"),
    Table::keyed("federation_peers", "name"),
    Table::keyed("federation_links", "peer"),
];

/// The identifier of the export format, in the header line.
pub const FORMAT: &str = "mpaka-export";
/// The version of the export format this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The first line of an export file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExportHeader {
    pub format: String,
    pub version: u32,
    /// `sqlite` or `postgres`.
    pub source: String,
    /// Unix milliseconds.
    pub exported_at: i64,
    pub tables: Vec<TableCount>,
    /// The source's log epoch, given to the target by import (files from
    /// before the epoch existed have none: the target keeps its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epoch: Option<String>,
}

/// A table and its number of rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableCount {
    pub name: String,
    pub rows: u64,
}

#[derive(Serialize, Deserialize)]
struct RowLine {
    table: String,
    row: Map<String, Value>,
}

/// Progress of an export or import: `done` of `total` rows of `table`.
#[derive(Debug, Clone, Copy)]
pub struct Progress<'a> {
    pub table: &'a str,
    pub done: u64,
    pub total: u64,
}

/// Rows between two progress reports.
const PROGRESS_EVERY: u64 = 1000;

fn backend_name(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    }
}

fn io_error(error: std::io::Error) -> StoreError {
    StoreError::Corrupt(format!("i/o error: {error}"))
}

/// Reads one column of any row as JSON.
fn column_value(row: &sqlx::any::AnyRow, index: usize) -> Result<Value> {
    use sqlx::any::AnyTypeInfoKind as Kind;
    let raw = row.try_get_raw(index)?;
    if raw.is_null() {
        return Ok(Value::Null);
    }
    let kind = raw.type_info().kind();
    Ok(match kind {
        Kind::Null => Value::Null,
        Kind::Bool => Value::Bool(row.try_get(index)?),
        Kind::SmallInt | Kind::Integer | Kind::BigInt => Value::from(row.try_get::<i64, _>(index)?),
        Kind::Real | Kind::Double => Value::from(row.try_get::<f64, _>(index)?),
        Kind::Text => Value::String(row.try_get(index)?),
        Kind::Blob => {
            return Err(StoreError::corrupt(format!(
                "column {} holds binary data, which the export format does not carry",
                row.columns()[index].name()
            )))
        }
    })
}

/// A column name from a file is used in SQL: accept plain identifiers only.
fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

impl Store {
    /// Rows per table, in [`TABLES`] order.
    ///
    /// # Errors
    /// A database failure.
    pub async fn table_counts(&self) -> Result<Vec<TableCount>> {
        let mut conn = self.reader().await?;
        let mut counts = Vec::new();
        for table in TABLES {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
                .fetch_one(&mut *conn)
                .await?;
            counts.push(TableCount {
                name: table.name.to_owned(),
                rows: rows as u64,
            });
        }
        Ok(counts)
    }

    /// Writes every table of [`TABLES`] to `out` from one consistent
    /// snapshot, so it is safe while the hub serves (what is committed
    /// after the snapshot is not in the file).
    ///
    /// # Errors
    /// A database failure, an unwritable `out`, or binary data.
    pub async fn export(
        &self,
        out: &mut (dyn Write + Send),
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ExportHeader> {
        let mut conn = self.reader().await?;
        let mut tx = conn.begin().await?;
        if self.backend() == Backend::Postgres {
            // One snapshot for every statement of the transaction.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
        }
        let mut tables = Vec::new();
        for table in TABLES {
            let rows: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {}", table.name))
                .fetch_one(&mut *tx)
                .await?;
            tables.push(TableCount {
                name: table.name.to_owned(),
                rows: rows as u64,
            });
        }
        let epoch: String = sqlx::query_scalar("SELECT epoch FROM log_epoch WHERE id = 1")
            .fetch_one(&mut *tx)
            .await?;
        let header = ExportHeader {
            format: FORMAT.to_owned(),
            version: FORMAT_VERSION,
            source: backend_name(self.backend()).to_owned(),
            exported_at: super::now_ms(),
            tables,
            epoch: Some(epoch),
        };
        serde_json::to_writer(&mut *out, &header).map_err(StoreError::corrupt)?;
        out.write_all(b"\n").map_err(io_error)?;
        for (table, count) in TABLES.iter().zip(&header.tables) {
            let sql = format!("SELECT * FROM {} ORDER BY {}", table.name, table.order_by);
            let mut rows = sqlx::query(&sql).fetch(&mut *tx);
            let mut done = 0u64;
            progress(Progress {
                table: table.name,
                done,
                total: count.rows,
            });
            while let Some(row) = rows.try_next().await? {
                let mut values = Map::new();
                for (i, column) in row.columns().iter().enumerate() {
                    values.insert(column.name().to_owned(), column_value(&row, i)?);
                }
                let line = RowLine {
                    table: table.name.to_owned(),
                    row: values,
                };
                serde_json::to_writer(&mut *out, &line).map_err(StoreError::corrupt)?;
                out.write_all(b"\n").map_err(io_error)?;
                done += 1;
                if done.is_multiple_of(PROGRESS_EVERY) || done == count.rows {
                    progress(Progress {
                        table: table.name,
                        done,
                        total: count.rows,
                    });
                }
            }
            if done != count.rows {
                return Err(StoreError::corrupt(format!(
                    "{}: counted {} rows but read {done}",
                    table.name, count.rows
                )));
            }
        }
        out.flush().map_err(io_error)?;
        drop(tx);
        Ok(header)
    }

    /// Loads an export file into this database, which must hold no rows in
    /// any of [`TABLES`]. Everything happens in one transaction that is
    /// committed only if every table's row count matches the header; then
    /// the stored counts and the audit chain are checked again.
    ///
    /// # Errors
    /// A malformed file, a non-empty target, a count mismatch, a broken
    /// audit chain, or a database failure. Nothing is kept on error.
    pub async fn import(
        &self,
        input: &mut (dyn BufRead + Send),
        progress: &mut (dyn FnMut(Progress<'_>) + Send),
    ) -> Result<ExportHeader> {
        let mut lines = input.lines();
        let first = lines
            .next()
            .ok_or_else(|| StoreError::corrupt("empty export file"))?
            .map_err(io_error)?;
        let header: ExportHeader = serde_json::from_str(&first)
            .map_err(|e| StoreError::corrupt(format!("not an mpaka export header: {e}")))?;
        if header.format != FORMAT || header.version != FORMAT_VERSION {
            return Err(StoreError::corrupt(format!(
                "unsupported export format {} version {} (this build reads {FORMAT} version {FORMAT_VERSION})",
                header.format, header.version
            )));
        }
        for listed in &header.tables {
            if !TABLES.iter().any(|t| t.name == listed.name) {
                return Err(StoreError::corrupt(format!(
                    "the export has a table {} this build does not know; upgrade mpaka first",
                    listed.name
                )));
            }
        }
        let expected = |name: &str| {
            header
                .tables
                .iter()
                .find(|t| t.name == name)
                .map_or(0, |t| t.rows)
        };
        for count in self.table_counts().await? {
            if count.rows > 0 {
                return Err(StoreError::Refused(format!(
                    "the target database is not empty (table {} has {} rows); \
                     import into a new database (another --data-dir, or a new PostgreSQL database)",
                    count.name, count.rows
                )));
            }
        }

        let mut tx = self.write().await?;
        let mut imported: Vec<(usize, u64)> = TABLES.iter().map(|_| (0, 0)).collect();
        let mut position = 0usize; // tables must arrive in TABLES order
        for (number, line) in lines.enumerate() {
            let line = line.map_err(io_error)?;
            if line.trim().is_empty() {
                continue;
            }
            let RowLine { table, row } = serde_json::from_str(&line)
                .map_err(|e| StoreError::corrupt(format!("line {}: not a row: {e}", number + 2)))?;
            let index = TABLES.iter().position(|t| t.name == table).ok_or_else(|| {
                StoreError::corrupt(format!("line {}: unknown table {table}", number + 2))
            })?;
            if index < position {
                return Err(StoreError::corrupt(format!(
                    "line {}: table {table} out of dependency order",
                    number + 2
                )));
            }
            position = index;
            insert_row(tx.conn(), TABLES[index].name, &row).await?;
            let done = &mut imported[index].1;
            *done += 1;
            let total = expected(TABLES[index].name);
            if done.is_multiple_of(PROGRESS_EVERY) || *done == total {
                progress(Progress {
                    table: TABLES[index].name,
                    done: *done,
                    total,
                });
            }
        }
        let mismatches: Vec<String> = TABLES
            .iter()
            .zip(&imported)
            .filter(|(table, (_, done))| *done != expected(table.name))
            .map(|(table, (_, done))| {
                format!(
                    "{}: header says {}, file has {done}",
                    table.name,
                    expected(table.name)
                )
            })
            .collect();
        if !mismatches.is_empty() {
            return Err(StoreError::corrupt(format!(
                "row counts do not match, nothing imported: {}",
                mismatches.join("; ")
            )));
        }
        if let Some(epoch) = &header.epoch {
            // The same log, moved: clients' sequence numbers stay valid.
            sqlx::query("UPDATE log_epoch SET epoch = $1 WHERE id = 1")
                .bind(epoch.as_str())
                .execute(tx.conn())
                .await?;
        }
        if self.backend() == Backend::Postgres {
            for table in TABLES {
                if let Some(column) = table.identity {
                    // The next generated key follows the largest imported one.
                    sqlx::query(&format!(
                        "SELECT setval(pg_get_serial_sequence('{0}', '{1}'), \
                         (SELECT COALESCE(MAX({1}), 0) + 1 FROM {0}), false)",
                        table.name, column
                    ))
                    .execute(tx.conn())
                    .await?;
                }
            }
        }
        tx.commit().await?;

        // Verify what is now stored, not what we think we wrote.
        let stored = self.table_counts().await?;
        for count in &stored {
            if count.rows != expected(&count.name) {
                return Err(StoreError::corrupt(format!(
                    "after import {} has {} rows, expected {}",
                    count.name,
                    count.rows,
                    expected(&count.name)
                )));
            }
        }
        let audit = self.verify_audit().await?;
        if !audit.intact {
            return Err(StoreError::corrupt(format!(
                "the imported audit chain does not verify (first broken entry {:?})",
                audit.first_broken_id
            )));
        }
        Ok(header)
    }

    /// Writes a consistent copy of the SQLite database to `to` while the hub
    /// keeps serving (`VACUUM INTO` reads one snapshot; writers are not
    /// blocked in WAL mode), then flushes it to disk.
    ///
    /// # Errors
    /// On PostgreSQL (use `pg_dump`), when `to` exists, or on failure.
    pub async fn backup_to(&self, to: &Path) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Err(StoreError::Refused(
                "mpaka backup copies SQLite databases; back up PostgreSQL with pg_dump or its replication".into(),
            ));
        }
        if to.exists() {
            return Err(StoreError::Duplicate(format!("{}", to.display())));
        }
        let path = to
            .to_str()
            .ok_or_else(|| StoreError::corrupt("the backup path is not UTF-8"))?;
        let mut conn = self.reader().await?;
        sqlx::query("VACUUM INTO $1")
            .bind(path)
            .execute(&mut *conn)
            .await?;
        drop(conn);
        // Restoring this copy goes back to an older point of the log:
        // it gets an epoch of its own, so clients that saw later sequence
        // numbers are told to resynchronise (docs/reliability.md).
        let mut copy = sqlx::AnyConnection::connect(&format!("sqlite:{path}")).await?;
        sqlx::query("UPDATE log_epoch SET epoch = $1 WHERE id = 1")
            .bind(super::epoch::new_epoch())
            .execute(&mut copy)
            .await?;
        copy.close().await?;
        std::fs::File::open(to)
            .and_then(|f| f.sync_all())
            .and_then(|()| crate::files::sync_dir(to))
            .map_err(io_error)?;
        Ok(())
    }
}

impl Store {
    /// SQLite's own check of every page and index (`PRAGMA integrity_check`).
    ///
    /// # Errors
    /// [`StoreError::Corrupt`] with SQLite's findings; a database failure.
    pub async fn integrity_check(&self) -> Result<()> {
        if self.backend() != Backend::Sqlite {
            return Ok(());
        }
        let mut conn = self.reader().await?;
        let findings: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&mut *conn)
            .await?;
        if findings != ["ok"] {
            return Err(StoreError::Corrupt(findings.join("; ")));
        }
        Ok(())
    }
}

/// Inserts one exported row. Column names come from the file, so only plain
/// identifiers are accepted; values are bound, and nulls written as `NULL`
/// so that their type is the column's.
async fn insert_row(
    conn: &mut sqlx::AnyConnection,
    table: &str,
    row: &Map<String, Value>,
) -> Result<()> {
    let mut columns = Vec::with_capacity(row.len());
    let mut values = Vec::with_capacity(row.len());
    let mut bound = Vec::new();
    for (column, value) in row {
        if !is_identifier(column) {
            return Err(StoreError::corrupt(format!(
                "{table}: bad column name {column:?}"
            )));
        }
        columns.push(column.as_str());
        if value.is_null() {
            values.push("NULL".to_owned());
        } else {
            bound.push(value);
            values.push(format!("${}", bound.len()));
        }
    }
    let sql = format!(
        "INSERT INTO {table} ({}) VALUES ({})",
        columns.join(", "),
        values.join(", ")
    );
    let mut query = sqlx::query(&sql);
    for value in bound {
        query = match value {
            Value::Bool(b) => query.bind(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => query.bind(i),
                None => query.bind(n.as_f64().unwrap_or_default()),
            },
            Value::String(s) => query.bind(s.clone()),
            other => {
                return Err(StoreError::corrupt(format!(
                    "{table}: unsupported value {other}"
                )))
            }
        };
    }
    query.execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_identifiers_are_columns() {
        assert!(is_identifier("token_hash"));
        assert!(!is_identifier("seq; DROP TABLE events"));
        assert!(!is_identifier("\"x\""));
        assert!(!is_identifier(""));
    }

    #[test]
    fn every_table_is_listed_once() {
        let mut names: Vec<&str> = TABLES.iter().map(|t| t.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TABLES.len());
    }
}
