//! Restoring: [`MyTarget`], tables created and filled through a small pool
//! of sessions, constraints and views added after the data.

use super::conn::{
    cell, connect, first_number, identity, is_mariadb, query_rows, server_err, version, Pool,
};
use super::ddl::{
    constraint_sql, create_table_sql, drop_constraint_sql, keyed_columns, orphans_sql,
};
use super::introspect::introspect;
use super::load::PIECE;
use super::qi;
use super::replay::replay;
use super::types::{has_uuid_type, map_type};
use crate::conn::ConnSpec;
use crate::engine::{
    sqltext::literal, BulkLoad, Catalog, ChunkMark, Constraint, Ddl, Dialect, EngineError,
    JournalStore, Lingering, Merge, Sql, CHUNKS_TABLE, JOURNAL_TABLE,
};
use crate::model::*;
use crate::stream::Rows;
use async_trait::async_trait;
use mysql_async::prelude::*;
use std::collections::HashSet;

/// A MySQL/MariaDB restore target with a small pool of sessions.
pub struct MyTarget {
    pub(super) pool: Pool,
    pub(super) mariadb: bool,
    /// The server has a `UUID` type (MariaDB 10.7 and later).
    native_uuid: bool,
    /// What creating the archive's objects changed or the server noted.
    notes: std::sync::Mutex<Vec<String>>,
    /// (table, index) created with its table because auto-increment needs it.
    inline_indexes: std::sync::Mutex<HashSet<(String, String)>>,
    /// Bytes per LOAD DATA packet.
    pub(super) piece: usize,
    /// Largest chunk loaded with `unique_checks = 0` (see `load`).
    pub(super) bulk_limit: usize,
    /// Whether table names are compared ignoring case
    /// (`lower_case_table_names` != 0).
    pub(super) folds_table_case: bool,
    /// The connection holding the restore lock (`GET_LOCK`), once taken.
    lock: tokio::sync::Mutex<Option<mysql_async::Conn>>,
}

/// `sql` led by this run's marker, which the server's process list shows
/// while it runs: a resume finds a killed run's statements by it.
fn marked(sql: &str) -> String {
    format!("/* {} */ {sql}", crate::engine::session_marker())
}

/// Restore sessions. In this SQL mode zero dates and a `0` in an
/// auto-increment column load as they are; every conversion still raises a
/// warning, and warnings fail the load.
pub(super) const TARGET_SETUP: &[&str] = &[
    "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
    "SET foreign_key_checks = 0, unique_checks = 0",
];

impl MyTarget {
    /// Connect, and learn the server's kind and packet limit.
    pub async fn open(spec: &ConnSpec, _jobs: usize) -> Result<Self, EngineError> {
        let mut first = connect(spec, TARGET_SETUP).await?;
        let (mariadb, server) = is_mariadb(&mut first).await?;
        let context = "reading the server's limits";
        let rows = query_rows(
            &mut first,
            "SELECT @@max_allowed_packet, @@innodb_buffer_pool_size, @@lower_case_table_names",
            context,
        )
        .await?;
        let packet: usize = first_number(&rows, 0, "max_allowed_packet", context)?;
        let pool: usize = first_number(&rows, 1, "innodb_buffer_pool_size", context)?;
        let lower: u8 = first_number(&rows, 2, "lower_case_table_names", context)?;
        Ok(MyTarget {
            pool: Pool::new(spec, TARGET_SETUP, first),
            mariadb,
            native_uuid: has_uuid_type(&server),
            notes: std::sync::Mutex::new(Vec::new()),
            inline_indexes: std::sync::Mutex::new(HashSet::new()),
            piece: (packet / 2).clamp(512, PIECE),
            bulk_limit: (pool / 8).max(16 << 20),
            folds_table_case: lower != 0,
            lock: tokio::sync::Mutex::new(None),
        })
    }

    /// The restore lock's name: the schema's, within the server's 64
    /// characters.
    async fn lock_name(&self) -> Result<String, EngineError> {
        let ctx = "naming the restore lock";
        let rows = self
            .pool
            .rows(
                "SELECT IF(@@lower_case_table_names > 0, LOWER(DATABASE()), DATABASE())",
                ctx,
            )
            .await?;
        let schema = rows
            .first()
            .and_then(|r| cell(r, 0))
            .unwrap_or_else(|| self.pool.spec().database.clone());
        let name = format!("haul restore {schema}");
        Ok(if name.chars().count() <= 64 {
            name
        } else {
            let hash = blake3::hash(schema.as_bytes()).to_hex();
            format!("haul restore {}", &hash.as_str()[..48])
        })
    }
}

impl Dialect for MyTarget {
    fn kind(&self) -> EngineKind {
        EngineKind::Mysql
    }

    fn quote(&self, ident: &str) -> String {
        qi(ident)
    }

    fn text_sql(&self, column: &str) -> String {
        format!("CAST({column} AS CHAR)")
    }

    fn same_value_sql(&self, a: &str, b: &str) -> String {
        format!("CAST({a} AS BINARY) <=> CAST({b} AS BINARY)")
    }
}

#[async_trait]
impl Sql for MyTarget {
    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError> {
        let mut c = self.pool.get().await?;
        let r = async {
            c.query_drop("START TRANSACTION").await?;
            let mut n = Vec::new();
            for s in statements {
                c.query_drop(marked(s)).await?;
                n.push(c.affected_rows());
            }
            c.query_drop("COMMIT").await?;
            Ok::<_, mysql_async::Error>(n)
        }
        .await;
        match r {
            Ok(n) => {
                self.pool.put(c).await;
                Ok(n)
            }
            Err(e) => {
                if c.query_drop("ROLLBACK").await.is_ok() {
                    self.pool.put(c).await;
                }
                Err(server_err(context, e))
            }
        }
    }

    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let rows = self.pool.rows(sql, context).await?;
        Ok(rows
            .iter()
            .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
            .collect())
    }
}

#[async_trait]
impl Catalog for MyTarget {
    fn refuse_names(&self, table: &Table) -> Vec<String> {
        super::names::refuse_names(table)
    }

    fn refuse_tables(&self, names: &[&str]) -> Vec<String> {
        super::names::table_twins(names, self.folds_table_case)
    }

    async fn server_version(&self) -> Result<String, EngineError> {
        let mut c = self.pool.get().await?;
        let r = version(&mut c).await;
        self.pool.put(c).await;
        r
    }

    async fn identity(&self) -> Result<String, EngineError> {
        let mut c = self.pool.get().await?;
        let r = identity(&mut c).await;
        self.pool.put(c).await;
        r
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let mut c = self.pool.get().await?;
        let target = self.pool.spec().to_string();
        let r = introspect(&mut c, filter, self.mariadb, &target).await;
        self.pool.put(c).await;
        r.map(|(schema, _)| schema)
    }

    async fn current_user(&self) -> Result<Option<String>, EngineError> {
        let rows = self
            .pool
            .rows("SELECT CURRENT_USER()", "reading the restoring user")
            .await?;
        Ok(rows.first().and_then(|r| cell(r, 0)))
    }

    async fn has_rows(&self, table: &str) -> Result<bool, EngineError> {
        let rows = self
            .pool
            .rows(
                &format!("SELECT 1 FROM {} LIMIT 1", qi(table)),
                &format!("table {table}: counting rows"),
            )
            .await?;
        Ok(!rows.is_empty())
    }

    fn column_type(&self, table: &Table, column: &Column) -> Option<String> {
        Some(map_type(
            &column.ty,
            keyed_columns(table).contains(&column.name),
            self.native_uuid,
        ))
    }

    fn can_add_later(&self, c: &Constraint) -> bool {
        // InnoDB clusters rows by primary key: loading in key order into a
        // table that has it is faster than rebuilding the table afterwards.
        !matches!(c, Constraint::PrimaryKey(_) | Constraint::Check(_))
    }
}

#[async_trait]
impl Ddl for MyTarget {
    async fn prepare(&self, _schema: &Schema, _from: EngineKind) -> Result<(), EngineError> {
        Ok(())
    }

    async fn drop_table(&self, table: &str) -> Result<(), EngineError> {
        self.pool
            .exec(
                &marked(&format!("DROP TABLE IF EXISTS {}", qi(table))),
                format!("table {table}: dropping it"),
            )
            .await
    }

    async fn create_table(
        &self,
        table: &Table,
        inline: &[Constraint],
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let (sql, kept) = create_table_sql(table, inline, from, self.native_uuid);
        if let Ok(mut s) = self.inline_indexes.lock() {
            for k in kept {
                s.insert((table.name.clone(), k));
            }
        }
        self.pool
            .exec(&marked(&sql), format!("table {}: creating it", table.name))
            .await
    }

    async fn drop_constraint(&self, table: &Table, c: &Constraint) -> Result<(), EngineError> {
        self.pool
            .exec(
                &marked(&drop_constraint_sql(table, c)),
                format!("table {}: dropping {} {}", table.name, c.kind(), c.name()),
            )
            .await
    }

    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let key = (table.name.clone(), c.name().to_string());
        if self.inline_indexes.lock().is_ok_and(|s| s.contains(&key)) {
            return Ok(());
        }
        let context = format!("table {}: adding {} {}", table.name, c.kind(), c.name());
        self.pool
            .exec(&marked(&constraint_sql(table, c, from)), context.clone())
            .await?;
        if let Constraint::ForeignKey(f) = c {
            // Added without checking the rows: check them now.
            let rows = self.pool.rows(&orphans_sql(table, f), &context).await?;
            let orphans: u64 = first_number(&rows, 0, "the count of orphan rows", &context)?;
            if orphans > 0 {
                return Err(EngineError::Server {
                    context,
                    message: format!("{orphans} rows reference rows missing from {}", f.ref_table),
                });
            }
        }
        Ok(())
    }

    async fn reset_sequences(&self, table: &Table, _from: EngineKind) -> Result<(), EngineError> {
        let Some(c) = table.columns.iter().find(|c| c.auto_increment.is_some()) else {
            return Ok(());
        };
        let ctx = format!("table {}: resetting its auto-increment counter", table.name);
        let rows = self
            .pool
            .rows(
                &format!("SELECT MAX({}) FROM {}", qi(&c.name), qi(&table.name)),
                &ctx,
            )
            .await?;
        // NULL for an empty table; a float column's maximum has a fraction.
        let max: Option<i128> = match rows.first().and_then(|r| cell(r, 0)) {
            None => None,
            Some(s) => Some(s.split('.').next().unwrap_or("").parse().map_err(|_| {
                EngineError::Server {
                    context: ctx.clone(),
                    message: format!("the largest {} is {s:?}, not a number", c.name),
                }
            })?),
        };
        let next = max
            .map(|m| m + 1)
            .into_iter()
            .chain(table.next_auto_value().map(i128::from))
            .max();
        if let Some(n) = next.filter(|n| *n > 1) {
            self.pool
                .exec(
                    &marked(&format!(
                        "ALTER TABLE {} AUTO_INCREMENT = {n}",
                        qi(&table.name)
                    )),
                    ctx,
                )
                .await?;
        }
        Ok(())
    }

    fn warnings(&self) -> Vec<String> {
        self.notes.lock().map(|n| n.clone()).unwrap_or_default()
    }

    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        if from == EngineKind::Mysql {
            let notes = replay(self.pool.spec(), schema, self.mariadb).await?;
            if let Ok(mut n) = self.notes.lock() {
                n.extend(notes);
            }
        }
        if schema.tables.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = schema.tables.iter().map(|t| qi(&t.name)).collect();
        let _ = self
            .pool
            .rows(
                &marked(&format!("ANALYZE TABLE {}", names.join(", "))),
                "analyzing the restored tables",
            )
            .await?;
        Ok(())
    }
}

#[async_trait]
impl BulkLoad for MyTarget {
    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        self.load_chunk(table, columns, rows, label, mark).await
    }
}

#[async_trait]
impl JournalStore for MyTarget {
    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        let exists = self
            .pool
            .rows(
                &format!(
                    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {}",
                    literal(EngineKind::Mysql, JOURNAL_TABLE)
                ),
                "reading the restore journal",
            )
            .await?;
        if exists.is_empty() {
            return Ok(None);
        }
        let rows = self
            .pool
            .rows(
                &format!("SELECT body FROM {} WHERE id = 1", qi(JOURNAL_TABLE)),
                "reading the restore journal",
            )
            .await?;
        Ok(rows.first().and_then(|r| cell(r, 0)))
    }

    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        let t = qi(JOURNAL_TABLE);
        self.pool
            .exec(
                &format!(
                    "CREATE TABLE IF NOT EXISTS {t} (id INT PRIMARY KEY, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, body LONGTEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
                ),
                "writing the restore journal",
            )
            .await?;
        self.pool
            .exec(
                &format!(
                    "CREATE TABLE IF NOT EXISTS {} (tbl INT NOT NULL, chunk INT NOT NULL, PRIMARY KEY (tbl, chunk)) ENGINE=InnoDB",
                    qi(CHUNKS_TABLE)
                ),
                "writing the restore journal",
            )
            .await?;
        let mut c = self.pool.get().await?;
        let r = c
            .exec_drop(
                format!("REPLACE INTO {t} (id, body) VALUES (1, ?)"),
                (body,),
            )
            .await;
        self.pool.put(c).await;
        r.map_err(|e| server_err("writing the restore journal", e))
    }

    async fn journal_clear(&self) -> Result<(), EngineError> {
        self.pool
            .exec(
                &format!(
                    "DROP TABLE IF EXISTS {}, {}",
                    qi(JOURNAL_TABLE),
                    qi(CHUNKS_TABLE)
                ),
                "removing the restore journal",
            )
            .await
    }

    async fn lock(&self) -> Result<(), EngineError> {
        let mut held = self.lock.lock().await;
        if held.is_some() {
            return Ok(());
        }
        let name = self.lock_name().await?;
        // A connection of its own, idle as long as the restore runs.
        let mut c = connect(self.pool.spec(), &["SET SESSION wait_timeout = 31536000"]).await?;
        let ctx = "taking the restore lock";
        let rows = query_rows(
            &mut c,
            &format!("SELECT GET_LOCK({}, 0)", literal(EngineKind::Mysql, &name)),
            ctx,
        )
        .await?;
        if rows.first().and_then(|r| cell(r, 0)).as_deref() == Some("1") {
            *held = Some(c);
            return Ok(());
        }
        let _ = c.disconnect().await;
        let holder = self.lock_holder().await?;
        Err(EngineError::Busy {
            target: self.pool.spec().to_string(),
            holder: holder.unwrap_or_else(|| "it just ended".into()),
        })
    }

    async fn lock_holder(&self) -> Result<Option<String>, EngineError> {
        let name = literal(EngineKind::Mysql, &self.lock_name().await?);
        let rows = self
            .pool
            .rows(
                &format!(
                    "SELECT l.id, p.HOST, DATE_FORMAT(UTC_TIMESTAMP() - INTERVAL p.TIME SECOND, '%Y-%m-%dT%H:%i:%sZ')
                       FROM (SELECT IS_USED_LOCK({name}) AS id) l
                       LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.id
                      WHERE l.id IS NOT NULL"
                ),
                "looking for a running restore",
            )
            .await?;
        Ok(rows.first().map(|r| {
            let mut s = format!("server connection {}", cell_or(r, 0, "?"));
            if let Some(host) = cell(r, 1) {
                s.push_str(&format!(" from {host}"));
            }
            if let Some(since) = cell(r, 2) {
                s.push_str(&format!(", idle since {since}"));
            }
            s
        }))
    }

    async fn lingering(&self) -> Result<Vec<Lingering>, EngineError> {
        let mine = literal(
            EngineKind::Mysql,
            &format!("/* {} */%", crate::engine::session_marker()),
        );
        let ctx = "looking for sessions of an earlier run";
        let rows = self
            .pool
            .rows(
                &format!(
                    "SELECT ID, LEFT(INFO, 120) FROM information_schema.PROCESSLIST
                      WHERE DB = DATABASE() AND ID <> CONNECTION_ID() AND COMMAND <> 'Sleep'
                        AND INFO LIKE '/* haul restore %' AND INFO NOT LIKE {mine}"
                ),
                ctx,
            )
            .await?;
        rows.iter()
            .map(|r| {
                Ok(Lingering {
                    id: first_number(std::slice::from_ref(r), 0, "a connection id", ctx)?,
                    statement: cell(r, 1).unwrap_or_default(),
                })
            })
            .collect()
    }

    async fn cancel(&self, session: &Lingering) -> Result<(), EngineError> {
        let mut c = self.pool.get().await?;
        let r = c.query_drop(format!("KILL QUERY {}", session.id)).await;
        self.pool.put(c).await;
        match r {
            // 1094: the connection ended meanwhile.
            Err(e) if super::conn::server_code(&e) != Some(1094) => Err(server_err(
                format!("cancelling server connection {}", session.id),
                e,
            )),
            _ => Ok(()),
        }
    }
}

/// Cell `i` as text, `or` for NULL.
fn cell_or(row: &mysql_async::Row, i: usize, or: &str) -> String {
    cell(row, i).unwrap_or_else(|| or.to_string())
}

impl Merge for MyTarget {}
