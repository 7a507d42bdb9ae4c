//! The restore side: [`PgTarget`], sessions from a small pool running the
//! DDL of `ddl.rs` and the loads of `load.rs`.

use super::conn::{col, identity, open_pool, server_err, Pool};
use super::ddl::{
    constraint_sql, create_table_sql, drop_constraint_sql, long_names, prepare_sql,
    reset_sequence_sql,
};
use super::introspect::{dumped_schemas, introspect};
use super::load::{load_chunk, ColumnTypes};
use super::postgis::postgis;
use super::qtable;
use super::replay::{create_objects, create_roles, drop_objects, role_names};
use super::types::foreign_type;
use crate::conn::ConnSpec;
use crate::convert::spatial::{postgis_schema, Postgis};
use crate::engine::{
    quote_ident, quote_literal, BulkLoad, Catalog, ChunkMark, Constraint, Ddl, Dialect,
    EngineError, JournalStore, Lingering, Merge, Sql, CHUNKS_TABLE, JOURNAL_TABLE,
};
use crate::model::{Column, EngineKind, NativeObject, Role, Schema, Table, TableFilter};
use crate::stream::Rows;
use async_trait::async_trait;
use tokio_postgres::error::SqlState;

/// A PostgreSQL restore target with a small pool of sessions.
pub struct PgTarget {
    pool: Pool,
    /// The session holding the restore lock, once taken.
    lock: tokio::sync::Mutex<Option<tokio_postgres::Client>>,
    target: String,
    /// Column types of the tables loaded, for binary COPY.
    types: ColumnTypes,
}

/// The first key of the restore lock (`pg_try_advisory_lock(int, int)`):
/// "haul" in ASCII. The second is the database's oid; advisory locks are
/// per database anyway.
const LOCK_CLASS: i32 = 0x6861_756c;

impl PgTarget {
    /// Connect to `spec`; sessions beyond the first are opened as needed.
    pub async fn open(spec: &ConnSpec, _jobs: usize) -> Result<Self, EngineError> {
        Ok(PgTarget {
            pool: open_pool(spec).await?,
            lock: tokio::sync::Mutex::new(None),
            target: spec.to_string(),
            types: ColumnTypes::default(),
        })
    }

    /// The second key of the restore lock: the database's oid, in an int.
    async fn lock_key(&self, c: &tokio_postgres::Client) -> Result<i32, EngineError> {
        let ctx = "reading the database's oid";
        let row = c
            .query_one(
                "SELECT (oid::bigint & 2147483647)::int FROM pg_database WHERE datname = current_database()",
                &[],
            )
            .await
            .map_err(|e| server_err(ctx, e))?;
        col(&row, 0, ctx)
    }
}

impl Dialect for PgTarget {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    fn quote(&self, ident: &str) -> String {
        quote_ident(ident)
    }

    fn text_sql(&self, column: &str) -> String {
        format!("{column}::text")
    }

    fn same_value_sql(&self, a: &str, b: &str) -> String {
        format!("{a}::text IS NOT DISTINCT FROM {b}::text")
    }
}

#[async_trait]
impl Sql for PgTarget {
    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError> {
        let c = self.pool.get().await?;
        let r = async {
            c.batch_execute("BEGIN").await?;
            let mut n = Vec::new();
            for s in statements {
                n.push(c.execute(s.as_str(), &[]).await?);
            }
            c.batch_execute("COMMIT").await?;
            Ok(n)
        }
        .await;
        match r {
            Ok(n) => {
                self.pool.put(c).await;
                Ok(n)
            }
            // The connection is dropped, and its transaction with it.
            Err(e) => Err(server_err(context, e)),
        }
    }

    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let c = self.pool.get().await?;
        let r = c.simple_query(sql).await;
        self.pool.put(c).await;
        let msgs = r.map_err(|e| server_err(context, e))?;
        let mut rows = Vec::new();
        for m in &msgs {
            if let tokio_postgres::SimpleQueryMessage::Row(r) = m {
                let row = (0..r.len())
                    .map(|i| {
                        r.try_get(i)
                            .map(|v| v.map(str::to_string))
                            .map_err(|e| server_err(context, e))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                rows.push(row);
            }
        }
        Ok(rows)
    }
}

#[async_trait]
impl Catalog for PgTarget {
    async fn server_version(&self) -> Result<String, EngineError> {
        let c = self.pool.get().await?;
        let r = c.query_one("SHOW server_version", &[]).await;
        self.pool.put(c).await;
        let ctx = "reading the server version";
        col(&r.map_err(|e| server_err(ctx, e))?, 0, ctx)
    }

    async fn identity(&self) -> Result<String, EngineError> {
        let c = self.pool.get().await?;
        let r = identity(&c).await;
        self.pool.put(c).await;
        r
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let c = self.pool.get().await?;
        let r = async {
            let (default, schemas) = dumped_schemas(&c, filter).await?;
            introspect(&c, filter, &default, &schemas).await
        }
        .await;
        self.pool.put(c).await;
        r
    }

    async fn has_rows(&self, table: &str) -> Result<bool, EngineError> {
        let c = self.pool.get().await?;
        let r = c
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM ONLY {})", qtable(table)),
                &[],
            )
            .await;
        self.pool.put(c).await;
        let ctx = format!("table {table}: counting rows");
        col(&r.map_err(|e| server_err(&ctx, e))?, 0, &ctx)
    }

    async fn count_rows(&self, table: &str, context: &str) -> Result<u64, EngineError> {
        // A table's own rows, not its children's.
        let sql = format!("SELECT COUNT(*) FROM ONLY {}", qtable(table));
        crate::engine::parse_count(self.query_text(&sql, context).await?, context)
    }

    async fn roles(&self) -> Result<Vec<String>, EngineError> {
        role_names(&self.pool).await
    }

    fn can_add_later(&self, _c: &Constraint) -> bool {
        true
    }

    fn column_type(&self, table: &Table, column: &Column) -> Option<String> {
        Some(foreign_type(column, postgis_schema(table)))
    }

    async fn postgis(&self) -> Result<Postgis, EngineError> {
        let c = self.pool.get().await?;
        let r = postgis(&c).await;
        self.pool.put(c).await;
        r
    }

    fn refuse_names(&self, table: &Table) -> Vec<String> {
        long_names(table)
    }
}

#[async_trait]
impl Ddl for PgTarget {
    async fn prepare(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        if from != EngineKind::Postgres {
            return Ok(());
        }
        self.pool
            .exec_all(&prepare_sql(schema), "creating types and sequences")
            .await
    }

    async fn drop_table(&self, table: &str) -> Result<(), EngineError> {
        self.pool
            .exec(
                &format!("DROP TABLE IF EXISTS {} CASCADE", qtable(table)),
                format!("table {table}: dropping it"),
            )
            .await?;
        self.types.forget(table);
        // Its ON UPDATE CURRENT_TIMESTAMP triggers went with it, not their
        // functions.
        for f in super::ddl::orphan_on_update_functions(&self.pool).await? {
            self.pool
                .exec(
                    &format!("DROP FUNCTION IF EXISTS {}()", quote_ident(&f)),
                    format!("table {table}: dropping its trigger function {f}"),
                )
                .await?;
        }
        Ok(())
    }

    async fn create_table(
        &self,
        table: &Table,
        inline: &[Constraint],
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let sql = create_table_sql(table, inline, from);
        self.pool
            .exec_all(&sql, format!("table {}: creating it", table.name))
            .await
    }

    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError> {
        self.pool
            .exec(
                &constraint_sql(table, c, from),
                format!("table {}: adding {} {}", table.name, c.kind(), c.name()),
            )
            .await
    }

    async fn reset_sequences(&self, table: &Table, _from: EngineKind) -> Result<(), EngineError> {
        for c in &table.columns {
            let Some(ai) = &c.auto_increment else {
                continue;
            };
            let source_last = ai
                .sequence
                .as_ref()
                .filter(|s| s.is_called)
                .and_then(|s| s.last_value)
                .or(table.auto_increment_next.map(|n| n - 1));
            let sql = reset_sequence_sql(table, c);
            let client = self.pool.get().await?;
            let r = client.query(&sql, &[&source_last]).await;
            self.pool.put(client).await;
            r.map_err(|e| {
                server_err(
                    format!("table {}: resetting the sequence of {}", table.name, c.name),
                    e,
                )
            })?;
        }
        Ok(())
    }

    async fn drop_constraint(&self, table: &Table, c: &Constraint) -> Result<(), EngineError> {
        let sql = drop_constraint_sql(table, c);
        self.pool
            .exec(
                &sql,
                format!("table {}: dropping {} {}", table.name, c.kind(), c.name()),
            )
            .await
    }

    async fn finish(&self, _schema: &Schema, _from: EngineKind) -> Result<(), EngineError> {
        // Objects came in `create_objects`; tables were analyzed one by one
        // as their keys were built.
        Ok(())
    }

    async fn create_objects(
        &self,
        objects: &[NativeObject],
        from: EngineKind,
    ) -> Result<Vec<String>, EngineError> {
        if from != EngineKind::Postgres {
            return Ok(Vec::new());
        }
        create_objects(&self.pool, objects).await
    }

    async fn drop_objects(
        &self,
        schema: &Schema,
        objects: &[NativeObject],
        from: EngineKind,
    ) -> Result<Vec<String>, EngineError> {
        if from != EngineKind::Postgres {
            return Ok(Vec::new());
        }
        drop_objects(&self.pool, schema, objects).await
    }

    async fn create_roles(&self, roles: &[Role]) -> Result<Vec<String>, EngineError> {
        create_roles(&self.pool, roles).await
    }

    async fn empty_table(&self, table: &str, context: &str) -> Result<(), EngineError> {
        // Its own rows, not its children's.
        self.execute(&[format!("DELETE FROM ONLY {}", qtable(table))], context)
            .await
            .map(|_| ())
    }

    async fn analyze(&self, table: &str) -> Result<(), EngineError> {
        self.pool
            .exec(
                &format!("ANALYZE {}", qtable(table)),
                format!("table {table}: analyzing it"),
            )
            .await
    }
}

#[async_trait]
impl BulkLoad for PgTarget {
    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        load_chunk(&self.pool, &self.types, table, columns, rows, label, mark).await
    }

    async fn load_large_objects(
        &self,
        rows: &mut dyn Rows,
        only: &std::collections::HashSet<u32>,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        super::largeobjects::load(&self.pool, rows, only, label, mark).await
    }
}

#[async_trait]
impl JournalStore for PgTarget {
    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        let c = self.pool.get().await?;
        let r = c
            .query_opt(
                &format!(
                    "SELECT body FROM {} WHERE id = 1 AND to_regclass({}) IS NOT NULL",
                    qtable(JOURNAL_TABLE),
                    quote_literal(JOURNAL_TABLE)
                ),
                &[],
            )
            .await;
        self.pool.put(c).await;
        let ctx = "reading the restore journal";
        match r {
            Ok(Some(row)) => Ok(Some(col(&row, 0, ctx)?)),
            Ok(None) => Ok(None),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
            Err(e) => Err(server_err(ctx, e)),
        }
    }

    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        let c = self.pool.get().await?;
        let t = qtable(JOURNAL_TABLE);
        let r = async {
            c.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (id int PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL);
                 CREATE TABLE IF NOT EXISTS {} (tbl int NOT NULL, chunk int NOT NULL, PRIMARY KEY (tbl, chunk))",
                qtable(CHUNKS_TABLE)
            ))
            .await?;
            c.execute(
                &format!(
                    "INSERT INTO {t} (id, body) VALUES (1, $1)
                     ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, written_at = now()"
                ),
                &[&body],
            )
            .await
        }
        .await;
        self.pool.put(c).await;
        r.map(|_| ())
            .map_err(|e| server_err("writing the restore journal", e))
    }

    async fn journal_clear(&self) -> Result<(), EngineError> {
        self.pool
            .exec(
                &format!(
                    "DROP TABLE IF EXISTS {}, {}",
                    qtable(JOURNAL_TABLE),
                    qtable(CHUNKS_TABLE)
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
        // A session of its own, which lives as long as this target.
        let c = self.pool.connector().open_session().await?;
        let key = self.lock_key(&c).await?;
        let ctx = "taking the restore lock";
        let row = c
            .query_one("SELECT pg_try_advisory_lock($1, $2)", &[&LOCK_CLASS, &key])
            .await
            .map_err(|e| server_err(ctx, e))?;
        if col::<bool>(&row, 0, ctx)? {
            *held = Some(c);
            return Ok(());
        }
        let holder = self.lock_holder().await?;
        Err(EngineError::Busy {
            target: self.target.clone(),
            holder: holder.unwrap_or_else(|| "it just ended".into()),
        })
    }

    async fn lock_holder(&self) -> Result<Option<String>, EngineError> {
        let c = self.pool.get().await?;
        let r = async {
            let key = self.lock_key(&c).await?;
            let ctx = "looking for a running restore";
            let rows = c
                .query(
                    "SELECT l.pid, a.application_name,
                            to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')
                       FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid
                      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
                        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                        AND l.classid = $1::bigint::oid AND l.objid = $2::bigint::oid",
                    &[&i64::from(LOCK_CLASS), &i64::from(key)],
                )
                .await
                .map_err(|e| server_err(ctx, e))?;
            let Some(row) = rows.first() else {
                return Ok(None);
            };
            let pid: i32 = col(row, 0, ctx)?;
            let app: Option<String> = col(row, 1, ctx)?;
            let since: Option<String> = col(row, 2, ctx)?;
            Ok(Some(describe_holder(app.as_deref(), since.as_deref(), pid)))
        }
        .await;
        self.pool.put(c).await;
        r
    }

    async fn lingering(&self) -> Result<Vec<Lingering>, EngineError> {
        let c = self.pool.get().await?;
        let r = c
            .query(
                "SELECT pid::bigint, left(coalesce(query, ''), 120) FROM pg_stat_activity
                  WHERE datname = current_database() AND pid <> pg_backend_pid()
                    AND application_name LIKE 'haul restore %' AND application_name <> $1
                    AND state IS DISTINCT FROM 'idle'",
                &[&crate::engine::session_marker()],
            )
            .await;
        self.pool.put(c).await;
        let ctx = "looking for sessions of an earlier run";
        r.map_err(|e| server_err(ctx, e))?
            .iter()
            .map(|row| {
                let id: i64 = col(row, 0, ctx)?;
                Ok(Lingering {
                    id: id.unsigned_abs(),
                    statement: col(row, 1, ctx)?,
                })
            })
            .collect()
    }

    async fn cancel(&self, session: &Lingering) -> Result<(), EngineError> {
        let pid = i32::try_from(session.id).unwrap_or(0);
        let c = self.pool.get().await?;
        let r = c.query("SELECT pg_cancel_backend($1)", &[&pid]).await;
        self.pool.put(c).await;
        r.map(|_| ())
            .map_err(|e| server_err(format!("cancelling server session {pid}"), e))
    }
}

/// Who holds a lock, from its session's `application_name` (`haul restore
/// PID@TIME`), start and server pid.
fn describe_holder(app: Option<&str>, since: Option<&str>, server_id: i32) -> String {
    match app.and_then(|a| a.strip_prefix("haul restore ")) {
        Some(run) => crate::engine::describe_run(run),
        None => match since {
            Some(s) => format!("server session {server_id}, since {s}"),
            None => format!("server session {server_id}"),
        },
    }
}

impl Merge for PgTarget {}
