//! The restore side: [`SqliteTarget`] and its [`Target`] implementation,
//! which hands the larger jobs to `ddl`, `load` and `journal`.

use super::types::{declared_type, labels_check};
use super::{blocking, ddl, err, introspect, journal, lock, runlock};
use crate::conn::ConnSpec;
use crate::engine::{
    case_twins, quote_ident, BulkLoad, Catalog, ChunkMark, Constraint, Ddl, Dialect, EngineError,
    JournalStore, Merge, Sql,
};
use crate::model::{Column, EngineKind, Schema, Table, TableFilter};
use crate::stream::Rows;
use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Mutex;

/// Pragmas set on the target's connection. `synchronous` is a setting of
/// the connection, not of the file: FULL makes every committed chunk and its
/// journal mark survive a crash of the machine, not only of haul.
const PRAGMAS: [&str; 2] = ["PRAGMA foreign_keys = OFF", "PRAGMA synchronous = FULL"];

/// A SQLite database file being restored into (created if missing).
pub struct SqliteTarget {
    pub(super) conn: Mutex<Connection>,
    /// Declared column types of the tables created from another engine's
    /// archive, whose model still holds the source's native types.
    pub(super) declared: Mutex<HashMap<String, HashMap<String, String>>>,
    /// The target as given (`sqlite://path`), for errors.
    pub(super) target: String,
    path: std::path::PathBuf,
    /// The restore lock, once taken.
    run_lock: Mutex<Option<runlock::RunLock>>,
}

impl SqliteTarget {
    /// Open (or create) the file, without foreign key checks.
    pub fn open(spec: &ConnSpec) -> Result<Self, EngineError> {
        let target = spec.to_string();
        let conn = Connection::open(&spec.path).map_err(|e| EngineError::Connect {
            target: target.clone(),
            reason: e.to_string(),
        })?;
        for pragma in PRAGMAS {
            conn.execute_batch(pragma)
                .map_err(|e| match e.sqlite_error_code() {
                    Some(rusqlite::ErrorCode::NotADatabase) => EngineError::Connect {
                        target: target.clone(),
                        reason: "file is not a SQLite database".into(),
                    },
                    _ => err(format!("opening {target}: {pragma}"), e),
                })?;
        }
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| EngineError::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        Ok(SqliteTarget {
            conn: Mutex::new(conn),
            declared: Mutex::new(HashMap::new()),
            target,
            path: spec.path.clone(),
            run_lock: Mutex::new(None),
        })
    }
}

impl Dialect for SqliteTarget {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    fn quote(&self, ident: &str) -> String {
        quote_ident(ident)
    }

    fn text_sql(&self, column: &str) -> String {
        format!("CAST({column} AS TEXT)")
    }

    fn same_value_sql(&self, a: &str, b: &str) -> String {
        format!("{a} IS {b} COLLATE BINARY")
    }
}

#[async_trait]
impl Sql for SqliteTarget {
    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError> {
        blocking(|| execute(&mut lock(&self.conn), statements, context))
    }

    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        blocking(|| query_text(&lock(&self.conn), sql, context))
    }
}

#[async_trait]
impl Catalog for SqliteTarget {
    async fn server_version(&self) -> Result<String, EngineError> {
        blocking(|| {
            lock(&self.conn)
                .query_row("SELECT sqlite_version()", [], |r| r.get(0))
                .map_err(|e| err("reading the version", e))
        })
    }

    async fn identity(&self) -> Result<String, EngineError> {
        runlock::identity(&self.path, &self.target)
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        blocking(|| introspect::schema(&lock(&self.conn), filter, "the target"))
    }

    async fn has_rows(&self, table: &str) -> Result<bool, EngineError> {
        blocking(|| {
            lock(&self.conn)
                .query_row(
                    &format!("SELECT EXISTS (SELECT 1 FROM {})", quote_ident(table)),
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| err(format!("table {table}: counting rows"), e))
        })
    }

    fn can_add_later(&self, c: &Constraint) -> bool {
        matches!(c, Constraint::Index(_))
    }

    fn column_type(&self, table: &Table, column: &Column) -> Option<String> {
        Some(format!(
            "{}{}",
            declared_type(table, column),
            labels_check(column)
        ))
    }

    fn refuse_names(&self, table: &Table) -> Vec<String> {
        let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
        case_twins(&columns, |n| n.to_ascii_lowercase())
            .into_iter()
            .map(|(a, b)| {
                format!(
                    "table {}: columns {a:?} and {b:?} differ only by case, and SQLite names \
                     ignore case. Rename one in the source, or restore into another engine",
                    table.name
                )
            })
            .collect()
    }

    fn refuse_tables(&self, names: &[&str]) -> Vec<String> {
        case_twins(names, |n| n.to_ascii_lowercase())
            .into_iter()
            .map(|(a, b)| {
                format!(
                    "tables {a:?} and {b:?} differ only by case, and SQLite names ignore case. \
                     Restore one of them (--tables / --exclude-tables), or rename it in the source"
                )
            })
            .collect()
    }
}

#[async_trait]
impl Ddl for SqliteTarget {
    async fn prepare(&self, _schema: &Schema, _from: EngineKind) -> Result<(), EngineError> {
        Ok(())
    }

    async fn drop_table(&self, table: &str) -> Result<(), EngineError> {
        blocking(|| {
            lock(&self.conn)
                .execute_batch(&format!("DROP TABLE IF EXISTS {}", quote_ident(table)))
                .map_err(|e| err(format!("table {table}: dropping it"), e))
        })
    }

    async fn create_table(
        &self,
        table: &Table,
        inline: &[Constraint],
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let sql = ddl::create_sql(table, inline, from);
        self.remember_declared(table, from);
        blocking(|| {
            ddl::exec_one(
                &lock(&self.conn),
                &sql,
                &format!("table {}: creating it", table.name),
            )
        })
    }

    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let sql = ddl::add_constraint_sql(table, c, from)?;
        blocking(|| {
            ddl::exec_one(
                &lock(&self.conn),
                &sql,
                &format!("table {}: adding {} {}", table.name, c.kind(), c.name()),
            )
        })
    }

    async fn reset_sequences(&self, table: &Table, _from: EngineKind) -> Result<(), EngineError> {
        let Some(next) = table.next_auto_value() else {
            return Ok(());
        };
        blocking(|| ddl::set_autoincrement(&lock(&self.conn), table, next))
    }

    async fn drop_constraint(&self, table: &Table, c: &Constraint) -> Result<(), EngineError> {
        let Constraint::Index(i) = c else {
            return Err(EngineError::Unsupported(format!(
                "table {}: SQLite cannot drop the {} {} without rebuilding the table",
                table.name,
                c.kind(),
                c.name()
            )));
        };
        blocking(|| {
            lock(&self.conn)
                .execute_batch(&format!("DROP INDEX IF EXISTS {}", quote_ident(&i.name)))
                .map_err(|e| {
                    err(
                        format!("table {}: dropping index {}", table.name, i.name),
                        e,
                    )
                })
        })
    }

    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
            if from == EngineKind::Sqlite {
                ddl::create_extras(&conn, schema)?;
            }
            conn.execute_batch("ANALYZE")
                .map_err(|e| err("analyzing the restored tables", e))
        })
    }
}

#[async_trait]
impl BulkLoad for SqliteTarget {
    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        self.load_chunk(table, columns, rows, label, mark)
    }
}

#[async_trait]
impl JournalStore for SqliteTarget {
    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        blocking(|| journal::read(&lock(&self.conn)))
    }

    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        blocking(|| journal::write(&lock(&self.conn), body))
    }

    async fn journal_clear(&self) -> Result<(), EngineError> {
        blocking(|| journal::clear(&lock(&self.conn)))
    }

    async fn lock(&self) -> Result<(), EngineError> {
        let mut held = lock(&self.run_lock);
        if held.is_none() {
            *held = Some(runlock::take(&self.path, &self.target)?);
        }
        Ok(())
    }

    async fn lock_holder(&self) -> Result<Option<String>, EngineError> {
        runlock::holder(&self.path)
    }
}

impl Merge for SqliteTarget {}

/// Run `statements` in one transaction; the rows each changed.
fn execute(
    conn: &mut Connection,
    statements: &[String],
    context: &str,
) -> Result<Vec<u64>, EngineError> {
    let tx = conn.transaction().map_err(|e| err(context, e))?;
    let mut n = Vec::new();
    for s in statements {
        n.push(tx.execute(s, []).map_err(|e| err(context, e))? as u64);
    }
    tx.commit().map_err(|e| err(context, e))?;
    Ok(n)
}

/// The rows of a query, every value as text (`None` for NULL).
fn query_text(
    conn: &Connection,
    sql: &str,
    context: &str,
) -> Result<Vec<Vec<Option<String>>>, EngineError> {
    let mut stmt = conn.prepare(sql).map_err(|e| err(context, e))?;
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Integer(v) => Some(v.to_string()),
                        ValueRef::Real(v) => Some(v.to_string()),
                        ValueRef::Text(t) | ValueRef::Blob(t) => {
                            Some(String::from_utf8_lossy(t).into_owned())
                        }
                    })
                })
                .collect::<Result<Vec<_>, rusqlite::Error>>()
        })
        .map_err(|e| err(context, e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| err(context, e))?;
    Ok(rows)
}
