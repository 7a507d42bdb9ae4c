//! SQLite: one read transaction for a dump, prepared inserts in one
//! transaction per chunk for a restore.
//!
//! SQLite stores a storage class per value, not per column. Each column has
//! an expected class from its declared type's affinity (INTEGER: integer,
//! REAL: real, TEXT: text, BLOB or none: blob, NUMERIC: integer, real, or
//! text that does not read as a number); values of that class are written
//! plainly, others with a storage-class tag (`\i:`, `\r:`, `\t:`, `\b:`; see
//! the codec), so every value comes back with its class. Reals are written
//! in Rust's shortest round-trip form, which always has a `.`, an `e`, `inf`
//! or `NaN`, so a NUMERIC column's integers and reals stay apart.

use super::{quote_ident, quote_literal, Constraint, EngineError, Part, Source, Target};
use crate::archive::codec::{tag, unhex_into, Field};
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::pipeline::{ChunkSink, Rows};
use crate::schema::*;
use async_trait::async_trait;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use std::collections::HashMap;
use std::sync::Mutex;

/// The storage class a column's affinity expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Integer,
    Real,
    Text,
    Blob,
    Numeric,
}

/// Affinity rules of <https://www.sqlite.org/datatype3.html#determination_of_column_affinity>.
fn expected_class(declared: &str) -> Class {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        Class::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Class::Text
    } else if d.contains("BLOB") || d.is_empty() {
        Class::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Class::Real
    } else {
        Class::Numeric
    }
}

/// A neutral type guessed from a declared type name (also the names
/// [`map_type`] gives types SQLite has no name for).
fn neutral_type(declared: &str) -> NeutralType {
    let d = declared.to_ascii_uppercase();
    let size = d
        .split_once('(')
        .and_then(|(_, r)| r.split([')', ',']).next())
        .and_then(|n| n.trim().parse::<u64>().ok());
    let scale = || {
        d.split_once(',')
            .and_then(|(_, r)| r.trim_end_matches(')').trim().parse().ok())
    };
    if d.starts_with("BOOL") {
        NeutralType::Bool
    } else if d.starts_with("DECIMAL TEXT") {
        NeutralType::Decimal {
            precision: size.map(|s| s as u32),
            scale: scale(),
        }
    } else if d.starts_with("JSON") {
        NeutralType::Json { binary: false }
    } else if d.starts_with("BIT TEXT") {
        NeutralType::Bits {
            length: size.map(|s| s as u32),
        }
    } else if d.contains("INT") {
        NeutralType::Int {
            bytes: 8,
            unsigned: false,
        }
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        NeutralType::Text {
            max_chars: size,
            fixed: false,
        }
    } else if d.contains("BLOB") {
        NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        }
    } else if d.is_empty() {
        NeutralType::Any
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        NeutralType::Float { bytes: 8 }
    } else if d.starts_with("DECIMAL") || d.starts_with("NUMERIC") {
        NeutralType::Decimal {
            precision: size.map(|s| s as u32),
            scale: scale(),
        }
    } else if d.starts_with("DATETIME") || d.starts_with("TIMESTAMP") {
        NeutralType::Timestamp {
            tz: d.contains("TZ") || d.contains("TIME ZONE"),
        }
    } else if d.starts_with("DATE") {
        NeutralType::Date
    } else if d.starts_with("TIME") {
        NeutralType::Time {
            tz: d.contains("TZ") || d.contains("TIME ZONE"),
        }
    } else if d.starts_with("UUID") {
        NeutralType::Uuid
    } else {
        NeutralType::Other
    }
}

fn err(context: impl Into<String>, e: rusqlite::Error) -> EngineError {
    EngineError::Driver {
        context: context.into(),
        message: e.to_string(),
        source: Box::new(e),
    }
}

fn lock(m: &Mutex<Connection>) -> std::sync::MutexGuard<'_, Connection> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run blocking SQLite work without stalling the async runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}

fn introspect(
    conn: &Connection,
    filter: &TableFilter,
    target: &str,
) -> Result<Schema, EngineError> {
    let ctx = "reading sqlite_master";
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
        .map_err(|e| err(ctx, e))?;
    let objects: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(|e| err(ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(ctx, e))?;
    let has_sequence = objects.iter().any(|o| o.1 == "sqlite_sequence");
    let mut tables = Vec::new();
    let mut extras = Vec::new();
    for (kind, name, tbl, sql) in &objects {
        if name.starts_with("sqlite_") || super::is_internal(name) {
            continue;
        }
        match kind.as_str() {
            "table" if filter.wants(name) => {
                let sql = sql.clone().unwrap_or_default();
                if sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE") {
                    continue;
                }
                tables.push(table(conn, name, sql, has_sequence, &objects)?);
            }
            "view" => extras.push(NativeObject {
                kind: "view".into(),
                name: name.clone(),
                table: None,
                ddl: sql.clone().unwrap_or_default(),
            }),
            "trigger" if filter.wants(tbl) => extras.push(NativeObject {
                kind: "trigger".into(),
                name: name.clone(),
                table: Some(tbl.clone()),
                ddl: sql.clone().unwrap_or_default(),
            }),
            _ => {}
        }
    }
    if let Some(m) = filter
        .include
        .iter()
        .find(|n| !tables.iter().any(|t: &Table| &&t.name == n))
    {
        return Err(EngineError::NoTable {
            target: target.to_string(),
            table: m.clone(),
        });
    }
    Ok(Schema {
        tables,
        enums: vec![],
        sequences: vec![],
        extras,
    })
}

type Objects = [(String, String, String, Option<String>)];

fn table(
    conn: &Connection,
    name: &str,
    sql: String,
    has_sequence: bool,
    objects: &Objects,
) -> Result<Table, EngineError> {
    let ctx = format!("table {name}: reading its schema");
    let q = quote_ident(name);
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_xinfo({q})"))
        .map_err(|e| err(&ctx, e))?;
    let cols: Vec<(String, String, bool, Option<String>, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(|e| err(&ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&ctx, e))?;
    let upper = sql.to_ascii_uppercase();
    let autoincrement = upper.contains("AUTOINCREMENT");
    let mut pk: Vec<(i64, String)> = cols
        .iter()
        .filter(|c| c.4 > 0)
        .map(|c| (c.4, c.0.clone()))
        .collect();
    pk.sort();
    let rowid_alias = pk.len() == 1
        && cols
            .iter()
            .any(|c| c.0 == pk[0].1 && c.1.eq_ignore_ascii_case("INTEGER"));
    let columns = cols
        .iter()
        .filter(|c| c.5 != 1)
        .map(|(cname, decl, notnull, dflt, pkpos, hidden)| Column {
            name: cname.clone(),
            ty: neutral_type(decl),
            native_type: decl.clone(),
            nullable: !notnull,
            default: dflt.clone(),
            auto_increment: if rowid_alias && *pkpos == 1 {
                Some(AutoIncrement {
                    sequence: None,
                    identity: None,
                })
            } else {
                None
            },
            generated: if *hidden == 2 || *hidden == 3 {
                Some(Generated {
                    expression: String::new(),
                    stored: *hidden == 3,
                })
            } else {
                None
            },
            collation: None,
            comment: None,
        })
        .collect();
    let primary_key = if pk.is_empty() {
        None
    } else {
        Some(Key {
            name: format!("{name}_pkey"),
            columns: pk.into_iter().map(|p| p.1).collect(),
            native: None,
        })
    };
    let mut uniques = Vec::new();
    let mut indexes = Vec::new();
    let mut stmt = conn
        .prepare(&format!("PRAGMA index_list({q})"))
        .map_err(|e| err(&ctx, e))?;
    let list: Vec<(String, bool, String)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(|e| err(&ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&ctx, e))?;
    for (iname, unique, origin) in list.into_iter().rev() {
        let mut stmt = conn
            .prepare(&format!("PRAGMA index_info({})", quote_ident(&iname)))
            .map_err(|e| err(&ctx, e))?;
        let icols: Vec<String> = stmt
            .query_map([], |r| {
                Ok(r.get::<_, Option<String>>(2)?
                    .unwrap_or_else(|| "(expression)".into()))
            })
            .map_err(|e| err(&ctx, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| err(&ctx, e))?;
        match origin.as_str() {
            "u" => uniques.push(Key {
                name: iname,
                columns: icols,
                native: None,
            }),
            "c" => {
                let native = objects
                    .iter()
                    .find(|o| o.0 == "index" && o.1 == iname)
                    .and_then(|o| o.3.clone());
                indexes.push(Index {
                    name: iname,
                    columns: icols,
                    unique,
                    native,
                })
            }
            _ => {}
        }
    }
    let mut stmt = conn
        .prepare(&format!("PRAGMA foreign_key_list({q})"))
        .map_err(|e| err(&ctx, e))?;
    let fks: Vec<(i64, String, String, Option<String>, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(|e| err(&ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&ctx, e))?;
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    for (id, rt, from, to, on_update, on_delete) in fks {
        let fk_name = format!("{name}_fk{id}");
        let action = |a: String| if a == "NO ACTION" { None } else { Some(a) };
        match foreign_keys.iter_mut().find(|f| f.name == fk_name) {
            Some(f) => {
                f.columns.push(from);
                f.ref_columns.extend(to);
            }
            None => foreign_keys.push(ForeignKey {
                name: fk_name,
                columns: vec![from],
                ref_table: rt,
                ref_columns: to.into_iter().collect(),
                on_delete: action(on_delete),
                on_update: action(on_update),
                native: None,
            }),
        }
    }
    let auto_increment_next = if autoincrement && has_sequence {
        conn.query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .ok()
        .map(|s| s + 1)
    } else {
        None
    };
    let estimated_rows = conn
        .query_row(&format!("SELECT max(rowid) FROM {q}"), [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
        .map(|n| n.max(0) as u64);
    Ok(Table {
        name: name.to_string(),
        columns,
        primary_key,
        uniques,
        indexes,
        foreign_keys,
        checks: vec![],
        auto_increment_next,
        comment: None,
        native_ddl: Some(sql),
        options: vec![],
        estimated_rows,
    })
}

// ---------------------------------------------------------------- source

/// A SQLite database read inside one read transaction.
pub struct SqliteSource {
    info: SourceInfo,
    conn: Mutex<Connection>,
    target: String,
}

impl SqliteSource {
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

/// The real an untagged value of a NUMERIC column stands for: a decimal
/// literal, or `inf`, `-inf`, `NaN` as reals are written; not words such as
/// `infinity` (PostgreSQL's text in a date column), which stay text as
/// SQLite itself would keep them.
fn numeric_real(s: &str) -> Option<f64> {
    let literal = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if literal || matches!(s, "inf" | "-inf" | "NaN") {
        s.parse().ok()
    } else {
        None
    }
}

/// Whether a NUMERIC column's untagged value would be read back as a number.
fn reads_as_number(t: &[u8]) -> bool {
    std::str::from_utf8(t).is_ok_and(|s| s.parse::<i64>().is_ok() || s.parse::<f64>().is_ok())
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
        blocking(|| introspect(&lock(&self.conn), filter, &self.target))
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

    async fn close(&self) -> Result<(), EngineError> {
        blocking(|| {
            lock(&self.conn)
                .execute_batch("COMMIT")
                .map_err(|e| err("ending the read", e))
        })
    }
}

// ---------------------------------------------------------------- target

/// A SQLite database file being restored into (created if missing).
pub struct SqliteTarget {
    conn: Mutex<Connection>,
    /// Declared column types of the tables created from another engine's
    /// archive, whose model still holds the source's native types.
    declared: Mutex<HashMap<String, HashMap<String, String>>>,
}

impl SqliteTarget {
    pub fn open(spec: &ConnSpec) -> Result<Self, EngineError> {
        let target = spec.to_string();
        let conn = Connection::open(&spec.path).map_err(|e| EngineError::Connect {
            target: target.clone(),
            reason: e.to_string(),
        })?;
        conn.execute_batch("PRAGMA foreign_keys = OFF; PRAGMA synchronous = OFF;")
            .map_err(|e| match e.sqlite_error_code() {
                Some(rusqlite::ErrorCode::NotADatabase) => EngineError::Connect {
                    target: target.clone(),
                    reason: "file is not a SQLite database".into(),
                },
                _ => err(format!("opening {target}"), e),
            })?;
        conn.query_row("SELECT count(*) FROM sqlite_master", [], |_| Ok(()))
            .map_err(|e| EngineError::Connect {
                target: target.clone(),
                reason: e.to_string(),
            })?;
        Ok(SqliteTarget {
            conn: Mutex::new(conn),
            declared: Mutex::new(HashMap::new()),
        })
    }
}

/// Doubles hold decimals of up to this many digits exactly (as text that
/// reads back to the same number); wider decimals are stored as text.
const EXACT_DIGITS: u32 = 15;

/// The declared type for a neutral type from another engine. Its affinity
/// keeps values as they came; types SQLite has no name for get one that
/// [`neutral_type`] reads back (`DECIMAL TEXT`, `JSON TEXT`, `BIT TEXT`).
fn map_type(t: &NeutralType) -> String {
    match t {
        NeutralType::Bool => "BOOLEAN".into(),
        NeutralType::Int { .. } => "INTEGER".into(),
        NeutralType::Float { .. } => "REAL".into(),
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } if *p <= EXACT_DIGITS => format!("NUMERIC({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } => format!("DECIMAL TEXT({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal { .. } => "DECIMAL TEXT".into(),
        NeutralType::Text {
            max_chars: Some(n),
            fixed,
        } => format!("{}({n})", if *fixed { "CHAR" } else { "VARCHAR" }),
        NeutralType::Binary { .. } => "BLOB".into(),
        NeutralType::Any => String::new(),
        NeutralType::Date => "DATE".into(),
        NeutralType::Time { tz: false } => "TIME".into(),
        NeutralType::Time { tz: true } => "TIMETZ".into(),
        NeutralType::Timestamp { tz: false } => "DATETIME".into(),
        NeutralType::Timestamp { tz: true } => "TIMESTAMPTZ".into(),
        NeutralType::Uuid => "UUID".into(),
        NeutralType::Json { .. } | NeutralType::Array { .. } => "JSON TEXT".into(),
        NeutralType::Bits { length: Some(n) } => format!("BIT TEXT({n})"),
        NeutralType::Bits { length: None } => "BIT TEXT".into(),
        NeutralType::Text { .. }
        | NeutralType::Interval
        | NeutralType::Enum { .. }
        | NeutralType::Set { .. }
        | NeutralType::Other => "TEXT".into(),
    }
}

/// A CHECK keeping an enum's text column to its labels (empty for others).
fn labels_check(c: &Column) -> String {
    match &c.ty {
        NeutralType::Enum { values, .. } if !values.is_empty() => {
            let labels: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
            format!(
                " CHECK ({} IN ({}))",
                quote_ident(&c.name),
                labels.join(", ")
            )
        }
        _ => String::new(),
    }
}

fn create_sql(table: &Table, inline: &[Constraint], from: EngineKind) -> String {
    if let (EngineKind::Sqlite, Some(ddl)) = (from, &table.native_ddl) {
        return ddl.clone();
    }
    let cols = |v: &[String]| {
        v.iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ")
    };
    // A single-column integer primary key with automatic values becomes
    // the rowid, AUTOINCREMENT like MySQL's and PostgreSQL's counters.
    let rowid = table
        .primary_key
        .as_ref()
        .filter(|pk| pk.columns.len() == 1)
        .and_then(|pk| table.column(&pk.columns[0]))
        .filter(|c| c.auto_increment.is_some() && matches!(c.ty, NeutralType::Int { .. }))
        .map(|c| c.name.clone());
    let mut defs: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut s = format!("{} {}", quote_ident(&c.name), map_type(&c.ty));
            if rowid.as_ref() == Some(&c.name) {
                s.push_str(" PRIMARY KEY AUTOINCREMENT");
            }
            if !c.nullable {
                s.push_str(" NOT NULL");
            }
            if let Some(d) = c
                .default
                .as_deref()
                .and_then(|d| crate::schema::portable_default(d, &c.ty, EngineKind::Sqlite))
            {
                s.push_str(&format!(" DEFAULT {d}"));
            }
            s.push_str(&labels_check(c));
            s
        })
        .collect();
    for c in inline {
        match c {
            Constraint::PrimaryKey(_) if rowid.is_some() => {}
            Constraint::PrimaryKey(k) => defs.push(format!("PRIMARY KEY ({})", cols(&k.columns))),
            Constraint::Unique(k) => defs.push(format!(
                "CONSTRAINT {} UNIQUE ({})",
                quote_ident(&k.name),
                cols(&k.columns)
            )),
            Constraint::ForeignKey(f) => defs.push(format!(
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                cols(&f.columns),
                quote_ident(&f.ref_table),
                cols(&f.ref_columns)
            )),
            Constraint::Check(_) | Constraint::Index(_) => {}
        }
    }
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        quote_ident(&table.name),
        defs.join(",\n  ")
    )
}

#[async_trait]
impl Target for SqliteTarget {
    fn kind(&self) -> EngineKind {
        EngineKind::Sqlite
    }

    async fn server_version(&self) -> Result<String, EngineError> {
        blocking(|| {
            lock(&self.conn)
                .query_row("SELECT sqlite_version()", [], |r| r.get(0))
                .map_err(|e| err("reading the version", e))
        })
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        blocking(|| introspect(&lock(&self.conn), filter, "the target"))
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

    fn column_type(&self, _table: &Table, column: &Column) -> Option<String> {
        Some(format!("{}{}", map_type(&column.ty), labels_check(column)))
    }

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
        let sql = create_sql(table, inline, from);
        if from != EngineKind::Sqlite {
            if let Ok(mut d) = self.declared.lock() {
                d.insert(
                    table.name.clone(),
                    table
                        .columns
                        .iter()
                        .map(|c| (c.name.clone(), map_type(&c.ty)))
                        .collect(),
                );
            }
        }
        blocking(|| {
            lock(&self.conn)
                .execute_batch(&sql)
                .map_err(|e| err(format!("table {}: creating it", table.name), e))
        })
    }

    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<super::ChunkMark>,
    ) -> Result<u64, EngineError> {
        let mapped = self
            .declared
            .lock()
            .ok()
            .and_then(|d| d.get(&table.name).cloned());
        // Not created by this process (a resumed restore, an existing or
        // staging table): the types the table has in the file decide.
        let declared = match mapped {
            Some(d) => Some(d),
            None => blocking(|| {
                let conn = lock(&self.conn);
                let mut stmt = conn
                    .prepare("SELECT name, type FROM pragma_table_info(?1)")
                    .ok()?;
                let rows = stmt
                    .query_map([&table.name], |r| {
                        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
                    })
                    .ok()?;
                let found: HashMap<String, String> = rows.filter_map(Result::ok).collect();
                (!found.is_empty()).then_some(found)
            }),
        };
        let classes: Vec<(Class, bool)> = columns
            .iter()
            .map(|n| {
                table
                    .column(n)
                    .map(|c| {
                        let decl = declared
                            .as_ref()
                            .and_then(|d| d.get(n))
                            .unwrap_or(&c.native_type);
                        (expected_class(decl), c.ty.is_binary())
                    })
                    .unwrap_or((Class::Text, false))
            })
            .collect();
        let errs = super::ChunkErrors {
            table: &table.name,
            chunk: label,
        };
        let load_err = |message: String| errs.load(message);
        let codec_err = |source| errs.codec(source);
        let sql = format!(
            "INSERT INTO {} ({}) VALUES ({})",
            quote_ident(&table.name),
            columns
                .iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", "),
            vec!["?"; columns.len()].join(", ")
        );
        blocking(|| {
            let mut conn = lock(&self.conn);
            let tx = conn.transaction().map_err(|e| load_err(e.to_string()))?;
            let mut n = 0u64;
            {
                let mut stmt = tx
                    .prepare_cached(&sql)
                    .map_err(|e| load_err(e.to_string()))?;
                let mut blob: Vec<u8> = Vec::new();
                while rows.next_row().map_err(codec_err)? {
                    for (i, &(expect, binary)) in classes.iter().enumerate() {
                        let bind_err = |e: rusqlite::Error| {
                            load_err(format!(
                                "row {}, column {}: {e}",
                                rows.row_number(),
                                columns[i]
                            ))
                        };
                        let (class, raw): (Class, &[u8]) = match rows.field(i).map_err(codec_err)? {
                            Field::Null => {
                                stmt.raw_bind_parameter(i + 1, rusqlite::types::Null)
                                    .map_err(bind_err)?;
                                continue;
                            }
                            Field::Value(v) => (if binary { Class::Blob } else { expect }, v),
                            Field::Tagged(tag::INTEGER, v) => (Class::Integer, v),
                            Field::Tagged(tag::REAL, v) => (Class::Real, v),
                            Field::Tagged(tag::BLOB, v) => (Class::Blob, v),
                            Field::Tagged(_, v) => (Class::Text, v),
                        };
                        let parsed = std::str::from_utf8(raw).ok();
                        match class {
                            Class::Integer => match parsed.and_then(|s| s.parse::<i64>().ok()) {
                                Some(v) => stmt.raw_bind_parameter(i + 1, v),
                                // Not an integer (a decimal from another engine):
                                // the column's affinity decides.
                                None => stmt.raw_bind_parameter(
                                    i + 1,
                                    ToSqlOutput::Borrowed(ValueRef::Text(raw)),
                                ),
                            },
                            Class::Real => match parsed.and_then(|s| s.parse::<f64>().ok()) {
                                Some(v) => stmt.raw_bind_parameter(i + 1, v),
                                None => stmt.raw_bind_parameter(
                                    i + 1,
                                    ToSqlOutput::Borrowed(ValueRef::Text(raw)),
                                ),
                            },
                            Class::Numeric => {
                                if let Some(v) = parsed.and_then(|s| s.parse::<i64>().ok()) {
                                    stmt.raw_bind_parameter(i + 1, v)
                                } else if let Some(v) = parsed.and_then(numeric_real) {
                                    stmt.raw_bind_parameter(i + 1, v)
                                } else {
                                    stmt.raw_bind_parameter(
                                        i + 1,
                                        ToSqlOutput::Borrowed(ValueRef::Text(raw)),
                                    )
                                }
                            }
                            Class::Text => stmt.raw_bind_parameter(
                                i + 1,
                                ToSqlOutput::Borrowed(ValueRef::Text(raw)),
                            ),
                            Class::Blob => {
                                blob.clear();
                                if !unhex_into(raw, &mut blob) {
                                    return Err(load_err(format!(
                                        "row {}, column {}: invalid hex in a binary value",
                                        rows.row_number(),
                                        columns[i]
                                    )));
                                }
                                stmt.raw_bind_parameter(
                                    i + 1,
                                    ToSqlOutput::Borrowed(ValueRef::Blob(&blob)),
                                )
                            }
                        }
                        .map_err(bind_err)?;
                    }
                    stmt.raw_execute()
                        .map_err(|e| load_err(format!("row {}: {e}", rows.row_number())))?;
                    n += 1;
                }
            }
            if let Some(m) = mark {
                tx.execute(&m.insert_sql(quote_ident), [])
                    .map_err(|e| load_err(format!("recording the chunk: {e}")))?;
            }
            tx.commit().map_err(|e| load_err(e.to_string()))?;
            Ok(n)
        })
    }

    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let cols = |v: &[String]| {
            v.iter()
                .map(|c| quote_ident(c))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let sql = match c {
            Constraint::Index(i) => match (&i.native, from) {
                (Some(n), EngineKind::Sqlite) => n.clone(),
                _ => format!(
                    "CREATE {}INDEX {} ON {} ({})",
                    if i.unique { "UNIQUE " } else { "" },
                    // MySQL's index names are per table, SQLite's per schema.
                    quote_ident(&if from == EngineKind::Mysql {
                        format!("{}_{}", table.name, i.name)
                    } else {
                        i.name.clone()
                    }),
                    quote_ident(&table.name),
                    cols(&i.columns)
                ),
            },
            other => {
                return Err(EngineError::Unsupported(format!(
                    "table {}: SQLite cannot add the {} {} to an existing table",
                    table.name,
                    other.kind(),
                    other.name()
                )))
            }
        };
        blocking(|| {
            lock(&self.conn).execute_batch(&sql).map_err(|e| {
                err(
                    format!("table {}: adding {} {}", table.name, c.kind(), c.name()),
                    e,
                )
            })
        })
    }

    async fn reset_sequences(&self, table: &Table, _from: EngineKind) -> Result<(), EngineError> {
        let Some(next) = table.auto_increment_next else {
            return Ok(());
        };
        blocking(|| {
            let conn = lock(&self.conn);
            let ctx = format!("table {}: setting its AUTOINCREMENT counter", table.name);
            let exists: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
                    [],
                    |r| r.get(0),
                )
                .map_err(|e| err(&ctx, e))?;
            if !exists {
                return Ok(());
            }
            let changed = conn
                .execute(
                    "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2",
                    rusqlite::params![next - 1, table.name],
                )
                .map_err(|e| err(&ctx, e))?;
            if changed == 0 {
                conn.execute(
                    "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
                    rusqlite::params![table.name, next - 1],
                )
                .map_err(|e| err(&ctx, e))?;
            }
            Ok(())
        })
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

    fn quote(&self, ident: &str) -> String {
        quote_ident(ident)
    }

    fn text_sql(&self, column: &str) -> String {
        format!("CAST({column} AS TEXT)")
    }

    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError> {
        blocking(|| {
            let mut conn = lock(&self.conn);
            let tx = conn.transaction().map_err(|e| err(context, e))?;
            let mut n = Vec::new();
            for s in statements {
                n.push(tx.execute(s, []).map_err(|e| err(context, e))? as u64);
            }
            tx.commit().map_err(|e| err(context, e))?;
            Ok(n)
        })
    }

    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
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
        })
    }

    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
            let exists: bool = conn
                .query_row(
                    "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?1)",
                    [super::JOURNAL_TABLE],
                    |r| r.get(0),
                )
                .map_err(|e| err("reading the restore journal", e))?;
            if !exists {
                return Ok(None);
            }
            conn.query_row(
                &format!(
                    "SELECT body FROM {} WHERE id = 1",
                    quote_ident(super::JOURNAL_TABLE)
                ),
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| err("reading the restore journal", e))
        })
    }

    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
            let t = quote_ident(super::JOURNAL_TABLE);
            conn.execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (id INTEGER PRIMARY KEY, written_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, body TEXT NOT NULL);
                 CREATE TABLE IF NOT EXISTS {} (tbl INTEGER NOT NULL, chunk INTEGER NOT NULL, PRIMARY KEY (tbl, chunk))",
                quote_ident(super::CHUNKS_TABLE)
            ))
            .and_then(|_| {
                conn.execute(
                    &format!("INSERT OR REPLACE INTO {t} (id, body) VALUES (1, ?1)"),
                    [body],
                )
            })
            .map(|_| ())
            .map_err(|e| err("writing the restore journal", e))
        })
    }

    async fn journal_clear(&self) -> Result<(), EngineError> {
        blocking(|| {
            lock(&self.conn)
                .execute_batch(&format!(
                    "DROP TABLE IF EXISTS {}; DROP TABLE IF EXISTS {}",
                    quote_ident(super::JOURNAL_TABLE),
                    quote_ident(super::CHUNKS_TABLE)
                ))
                .map_err(|e| err("removing the restore journal", e))
        })
    }

    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        blocking(|| {
            let conn = lock(&self.conn);
            if from == EngineKind::Sqlite {
                for x in &schema.extras {
                    // A trigger goes with its table: none for a table this
                    // restore leaves out (--tables).
                    if x.table
                        .as_deref()
                        .is_some_and(|t| schema.table(t).is_none())
                    {
                        continue;
                    }
                    let ctx = || format!("creating {} {}", x.kind, x.name);
                    let existing: Option<String> = conn
                        .query_row(
                            "SELECT sql FROM sqlite_master WHERE type = ?1 AND name = ?2",
                            [&x.kind, &x.name],
                            |r| r.get(0),
                        )
                        .optional()
                        .map_err(|e| err(ctx(), e))?;
                    match existing {
                        // Left by an earlier restore (--clean drops tables, not views).
                        Some(sql) if sql == x.ddl => continue,
                        Some(_) => {
                            return Err(EngineError::Server {
                                context: ctx(),
                                message: format!(
                                    "the target already has a different {} named {}",
                                    x.kind, x.name
                                ),
                            })
                        }
                        None => conn.execute_batch(&x.ddl).map_err(|e| err(ctx(), e))?,
                    }
                }
            }
            conn.execute_batch("ANALYZE")
                .map_err(|e| err("analyzing the restored tables", e))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity() {
        assert_eq!(expected_class("INTEGER"), Class::Integer);
        assert_eq!(expected_class("NVARCHAR(40)"), Class::Text);
        assert_eq!(expected_class(""), Class::Blob);
        assert_eq!(expected_class("DOUBLE PRECISION"), Class::Real);
        assert_eq!(expected_class("NUMERIC(10,2)"), Class::Numeric);
        assert_eq!(expected_class("DATETIME"), Class::Numeric);
    }

    #[test]
    fn numeric_text_that_reads_as_a_number_is_tagged() {
        assert!(reads_as_number(b"12"));
        assert!(reads_as_number(b"1.5"));
        assert!(reads_as_number(b"inf"));
        assert!(!reads_as_number(b"2024-01-02"));
        assert!(!reads_as_number(b"\xff"));
    }
}
