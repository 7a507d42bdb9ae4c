//! The dump side: [`SqliteSource`] reads the tables inside one read
//! transaction, each value with its storage class.

use super::types::{expected_class, reads_as_number, Class};
use super::{blocking, err, introspect, lock};
use crate::archive::codec::tag;
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::engine::{quote_ident, EngineError, Part, Source, CHUNKS_TABLE, JOURNAL_TABLE};
use crate::model::{Column, EngineKind, Schema, Table, TableFilter};
use crate::stream::ChunkSink;
use async_trait::async_trait;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::sync::Mutex;

/// A SQLite database read inside one read transaction.
pub struct SqliteSource {
    info: SourceInfo,
    conn: Mutex<Connection>,
    target: String,
    path: std::path::PathBuf,
}

impl SqliteSource {
    /// Open the file read-only and start the read transaction.
    pub fn open(spec: &ConnSpec) -> Result<Self, EngineError> {
        let target = spec.to_string();
        if !spec.path.exists() {
            return Err(EngineError::NoDatabase {
                target: target.clone(),
                database: spec.path.display().to_string(),
            });
        }
        let conn = Connection::open_with_flags(
            &spec.path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| EngineError::Connect {
            target: target.clone(),
            reason: e.to_string(),
        })?;
        // A deferred transaction takes its snapshot at the first read.
        conn.execute_batch("BEGIN; SELECT count(*) FROM sqlite_master;")
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => EngineError::Connect {
                    target: target.clone(),
                    reason: "file is not a SQLite database".into(),
                },
                _ => err(format!("starting a read transaction on {target}"), e),
            })?;
        let version: String = conn
            .query_row("SELECT sqlite_version()", [], |r| r.get(0))
            .map_err(|e| err("reading the version", e))?;
        Ok(SqliteSource {
            info: SourceInfo {
                engine: EngineKind::Sqlite,
                server_version: version,
                database: spec.database.clone(),
            },
            conn: Mutex::new(conn),
            target,
            path: spec.path.clone(),
        })
    }
}

/// Write one SQLite value into the sink, tagged if its class is unexpected.
#[inline]
fn put_value(sink: &mut ChunkSink, v: ValueRef<'_>, expect: Class, num: &mut Vec<u8>) {
    match (v, expect) {
        (ValueRef::Null, _) => sink.null(),
        (ValueRef::Integer(i), Class::Integer | Class::Numeric) => {
            use std::io::Write;
            num.clear();
            let _ = write!(num, "{i}");
            sink.text(num);
        }
        (ValueRef::Integer(i), _) => sink.tagged(tag::INTEGER, i.to_string().as_bytes()),
        (ValueRef::Real(f), Class::Real | Class::Numeric) => sink.text(format!("{f:?}").as_bytes()),
        (ValueRef::Text(t), Class::Numeric) if !reads_as_number(t) => sink.text(t),
        (ValueRef::Real(f), _) => sink.tagged(tag::REAL, format!("{f:?}").as_bytes()),
        (ValueRef::Text(t), Class::Text) => sink.text(t),
        (ValueRef::Text(t), _) => sink.tagged(tag::TEXT, t),
        (ValueRef::Blob(b), Class::Blob) => sink.bytes(b),
        (ValueRef::Blob(b), _) => sink.tagged(tag::BLOB, b),
    }
}

#[async_trait]
impl Source for SqliteSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn snapshot_method(&self) -> String {
        "sqlite read transaction".into()
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        crate::engine::refuse_schema_filter(filter, "SQLite")?;
        blocking(|| introspect::schema(&lock(&self.conn), filter, &self.target))
    }

    async fn parts(&self, _table: &Table, _jobs: usize) -> Result<Vec<Part>, EngineError> {
        Ok(vec![Part { filter: None }])
    }

    async fn read(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
            let cols: Vec<&Column> = table.data_columns().collect();
            if cols.is_empty() {
                return Ok(());
            }
            let classes: Vec<Class> = cols
                .iter()
                .map(|c| expected_class(&c.native_type))
                .collect();
            let list: Vec<String> = cols.iter().map(|c| quote_ident(&c.name)).collect();
            let mut sql = format!(
                "SELECT {} FROM {}",
                list.join(", "),
                quote_ident(&table.name)
            );
            if let Some(f) = &part.filter {
                sql.push_str(" WHERE ");
                sql.push_str(f);
            }
            let ctx = || format!("table {}: reading rows", table.name);
            let mut stmt = conn.prepare(&sql).map_err(|e| err(ctx(), e))?;
            let mut rows = stmt.query([]).map_err(|e| err(ctx(), e))?;
            let mut num = Vec::with_capacity(24);
            while let Some(r) = rows.next().map_err(|e| err(ctx(), e))? {
                for (i, class) in classes.iter().enumerate() {
                    let v = r.get_ref(i).map_err(|e| err(ctx(), e))?;
                    put_value(sink, v, *class, &mut num);
                }
                sink.end_row()?;
            }
            Ok(())
        })
    }

    async fn identity(&self) -> Result<String, EngineError> {
        super::runlock::identity(&self.path, &self.target)
    }

    async fn reserved_tables(&self) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
            let ctx = "looking for tables named like haul's restore journal";
            let mut found = Vec::new();
            for name in [JOURNAL_TABLE, CHUNKS_TABLE] {
                let mut st = conn
                    .prepare("SELECT name FROM pragma_table_info(?1) ORDER BY cid")
                    .map_err(|e| err(ctx, e))?;
                let cols = st
                    .query_map([name], |r| r.get::<_, String>(0))
                    .map_err(|e| err(ctx, e))?
                    .collect::<Result<Vec<String>, _>>()
                    .map_err(|e| err(ctx, e))?;
                if !cols.is_empty() {
                    found.push((name.to_string(), cols));
                }
            }
            Ok(found)
        })
    }

    async fn close(&self) -> Result<(), EngineError> {
        blocking(|| {
            lock(&self.conn)
                .execute_batch("COMMIT")
                .map_err(|e| err("ending the read", e))
        })
    }
}
