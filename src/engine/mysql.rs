//! MySQL and MariaDB: consistent dumps through the text protocol on workers
//! that share one snapshot, restores through `LOAD DATA LOCAL INFILE` fed from
//! memory.
//!
//! Snapshot: with more than one job, a brief `FLUSH TABLES WITH READ LOCK`
//! while every worker runs `START TRANSACTION WITH CONSISTENT SNAPSHOT`; a
//! single job, or a user without the privilege, reads through one snapshot
//! connection.
//!
//! Values: sessions pin `time_zone = '+00:00'` and read with
//! `character_set_results = binary`, so text arrives as the bytes stored in
//! its column's character set (latin1 stays latin1) and is loaded back with
//! `CHARACTER SET binary`. FLOAT columns are read as `col + 0e0`, whose text
//! form round-trips the stored single-precision value exactly. BIT(n) is
//! stored as a string of `n` binary digits; binary, blob and spatial columns
//! as hex.
//!
//! DDL: a same-engine restore replays the source's `SHOW CREATE TABLE` with
//! its unique keys, secondary indexes and foreign keys removed (the primary
//! key and check constraints stay inline); those are added back from their
//! own `SHOW CREATE TABLE` lines after the data. An index that an
//! auto-increment column needs stays inline. Views and triggers are replayed
//! after the data, without their `DEFINER`. Archives from other engines get
//! a `CREATE TABLE` built from the neutral model.
//!
//! Loading: each chunk is one `LOAD DATA LOCAL INFILE` in its own
//! transaction, streamed from memory in packets well under the server's
//! `max_allowed_packet`; any warning the server reports fails and rolls back
//! the chunk (with `LOCAL`, the server downgrades bad values and duplicate
//! keys to warnings).

use super::{quote_literal, ChunkMark, Constraint, EngineError, Part, Source, Target};
use crate::archive::codec::{tag, unhex_into, Field};
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::pipeline::{ChunkSink, Rows};
use crate::schema::*;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::StreamExt;
use mysql_async::prelude::*;
use mysql_async::{Conn, OptsBuilder, Row, Value};
use std::collections::{HashMap, HashSet};
use std::time::Duration;
use tokio::sync::{Mutex, Semaphore};

/// Tables larger than twice this are read in primary-key ranges of about
/// this size (`HAUL_MYSQL_PART_BYTES` overrides it, for tests).
const PART_BYTES: i64 = 256 << 20;

fn part_bytes() -> i64 {
    std::env::var("HAUL_MYSQL_PART_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(PART_BYTES)
}

/// Bytes handed to the driver per LOAD DATA packet, at most (and at most half
/// the server's `max_allowed_packet`).
const PIECE: usize = 1 << 20;

/// Engines whose tables the snapshot does not cover.
const NON_TRANSACTIONAL: &[&str] = &["myisam", "aria", "memory", "csv", "archive", "mrg_myisam"];

/// `name` quoted with backticks.
pub fn qi(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

fn column_list(cols: &[String]) -> String {
    cols.iter().map(|c| qi(c)).collect::<Vec<_>>().join(", ")
}

/// One line for a driver error.
fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{} (error {})", s.message, s.code),
        // The innermost cause says it best ("Connection refused (os error 111)").
        other => {
            let mut last: &dyn std::error::Error = other;
            while let Some(c) = last.source() {
                last = c;
            }
            last.to_string()
        }
    }
}

fn server_err(context: impl Into<String>, e: mysql_async::Error) -> EngineError {
    EngineError::Driver {
        context: context.into(),
        message: describe(&e),
        source: Box::new(e),
    }
}

fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// Open a session with haul's settings plus `extra` statements.
async fn connect(spec: &ConnSpec, extra: &[&str]) -> Result<Conn, EngineError> {
    let target = spec.to_string();
    let user = spec
        .user
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "root".into());
    let opts = OptsBuilder::default()
        .ip_or_hostname(spec.host.clone())
        .tcp_port(spec.port)
        .user(Some(user))
        .pass(spec.password.clone())
        .db_name(Some(spec.database.clone()))
        .prefer_socket(false)
        // Accept any row the server sends; the server enforces its own limit.
        .max_allowed_packet(Some(1 << 30))
        .tcp_nodelay(true)
        .stmt_cache_size(0);
    let conn = match tokio::time::timeout(Duration::from_secs(15), Conn::new(opts)).await {
        Err(_) => {
            return Err(EngineError::Connect {
                target,
                reason: "timed out after 15 s".into(),
            })
        }
        Ok(Err(e)) => {
            return Err(match &e {
                mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1044 => {
                    EngineError::Auth {
                        target,
                        reason: s.message.clone(),
                    }
                }
                mysql_async::Error::Server(s) if s.code == 1049 => EngineError::NoDatabase {
                    target,
                    database: spec.database.clone(),
                },
                mysql_async::Error::Server(_) => server_err(format!("connecting to {target}"), e),
                _ => EngineError::Connect {
                    target,
                    reason: describe(&e),
                },
            })
        }
        Ok(Ok(c)) => c,
    };
    let mut conn = conn;
    let lock_wait = format!("SET SESSION lock_wait_timeout = {}", lock_wait_seconds());
    let mut setup = vec![
        "SET NAMES utf8mb4",
        "SET time_zone = '+00:00'",
        "SET SESSION net_read_timeout = 3600, SESSION net_write_timeout = 3600, SESSION wait_timeout = 86400",
        lock_wait.as_str(),
    ];
    setup.extend_from_slice(extra);
    for s in setup {
        conn.query_drop(s)
            .await
            .map_err(|e| server_err(format!("setting up a session on {target}"), e))?;
    }
    Ok(conn)
}

/// How long a session waits for a table lock held by someone else before it
/// gives up (`HAUL_LOCK_WAIT_SECONDS`, default 60).
fn lock_wait_seconds() -> u64 {
    std::env::var("HAUL_LOCK_WAIT_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(60)
}

/// A lock wait that timed out, said plainly.
fn lock_err(context: String, e: mysql_async::Error) -> EngineError {
    if server_code(&e) == Some(1205) {
        EngineError::Server {
            context,
            message: format!(
                "another session holds a lock on the tables; gave up after {} s ({})",
                lock_wait_seconds(),
                describe(&e)
            ),
        }
    } else {
        server_err(context, e)
    }
}

/// A result cell as text (information_schema and friends).
fn cell(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i)? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

fn cell_s(row: &Row, i: usize) -> String {
    cell(row, i).unwrap_or_default()
}

async fn query_rows(conn: &mut Conn, sql: &str, context: &str) -> Result<Vec<Row>, EngineError> {
    conn.query::<Row, _>(sql)
        .await
        .map_err(|e| server_err(context, e))
}

async fn is_mariadb(conn: &mut Conn) -> Result<(bool, String), EngineError> {
    let rows = query_rows(conn, "SELECT VERSION()", "reading the server version").await?;
    let v = rows.first().map(|r| cell_s(r, 0)).unwrap_or_default();
    Ok((v.to_ascii_lowercase().contains("mariadb"), v))
}

// ---------------------------------------------------------------- SHOW CREATE TABLE

/// A `SHOW CREATE TABLE` statement cut into its definitions.
#[derive(Debug, Clone, PartialEq)]
struct CreateParts {
    /// `CREATE TABLE `t` (`
    head: String,
    /// Column and key definitions, without separating commas.
    defs: Vec<String>,
    /// `) ENGINE=... ` and anything after.
    tail: String,
}

/// Starts of definitions that are not columns.
const DEF_STARTS: &[&str] = &[
    "PRIMARY KEY",
    "UNIQUE KEY",
    "UNIQUE INDEX",
    "KEY ",
    "INDEX ",
    "FULLTEXT ",
    "SPATIAL ",
    "VECTOR ",
    "CONSTRAINT ",
    "CHECK ",
    "PERIOD FOR",
];

fn parse_create(ddl: &str) -> Option<CreateParts> {
    let mut lines = ddl.lines();
    let head = lines.next()?.to_string();
    if !head.trim_end().ends_with('(') {
        return None;
    }
    let rest: Vec<&str> = lines.collect();
    // The tail starts at the last line that begins with ')'.
    let tail_at = rest.iter().rposition(|l| l.starts_with(')'))?;
    let mut defs: Vec<String> = Vec::new();
    for l in &rest[..tail_at] {
        let t = l.trim_start();
        let new_def = l.starts_with("  ")
            && (t.starts_with('`') || DEF_STARTS.iter().any(|s| t.starts_with(s)));
        if new_def || defs.is_empty() {
            defs.push(t.to_string());
        } else if let Some(last) = defs.last_mut() {
            last.push('\n');
            last.push_str(l);
        }
    }
    for d in defs.iter_mut() {
        if d.ends_with(',') {
            d.pop();
        }
    }
    Some(CreateParts {
        head,
        defs,
        tail: rest[tail_at..].join("\n"),
    })
}

impl CreateParts {
    fn render(&self) -> String {
        format!(
            "{}\n  {}\n{}",
            self.head,
            self.defs.join(",\n  "),
            self.tail
        )
    }
}

/// Read a backquoted identifier at the start of `s`; returns it and the rest.
fn take_ident(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let body = s.strip_prefix('`')?;
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if let Some(&(_, '`')) = chars.peek() {
                out.push('`');
                chars.next();
                continue;
            }
            return Some((out, &body[i + 1..]));
        }
        out.push(c);
    }
    None
}

/// The identifiers at the top level of the first parenthesised list in `s`,
/// and the rest after it.
fn ident_list(s: &str) -> (Vec<String>, &str) {
    let Some(open) = s.find('(') else {
        return (vec![], s);
    };
    let mut out = Vec::new();
    let mut depth = 0;
    let mut i = open;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (out, &s[i + 1..]);
                }
            }
            b'`' => match take_ident(&s[i..]) {
                Some((id, after)) => {
                    if depth == 1 {
                        out.push(id);
                    }
                    i = s.len() - after.len();
                    continue;
                }
                None => return (out, ""),
            },
            b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (out, "")
}

/// What a `SHOW CREATE TABLE` definition is.
#[derive(Debug, PartialEq)]
enum DefKind {
    Column,
    Primary(Vec<String>),
    Unique(String, Vec<String>),
    Index(String, Vec<String>),
    Foreign(ForeignKey),
    Check(String),
}

fn classify(def: &str) -> DefKind {
    if def.starts_with('`') {
        return DefKind::Column;
    }
    if let Some(r) = def.strip_prefix("PRIMARY KEY") {
        return DefKind::Primary(ident_list(r).0);
    }
    for p in ["UNIQUE KEY", "UNIQUE INDEX"] {
        if let Some(r) = def.strip_prefix(p) {
            let (name, r) = take_ident(r).unwrap_or_default();
            return DefKind::Unique(name, ident_list(r).0);
        }
    }
    for p in [
        "KEY",
        "INDEX",
        "FULLTEXT KEY",
        "FULLTEXT INDEX",
        "SPATIAL KEY",
        "SPATIAL INDEX",
        "VECTOR KEY",
        "VECTOR INDEX",
    ] {
        if let Some(r) = def.strip_prefix(p) {
            if r.starts_with(' ') {
                let (name, r) = take_ident(r).unwrap_or_default();
                return DefKind::Index(name, ident_list(r).0);
            }
        }
    }
    if let Some(r) = def.strip_prefix("CONSTRAINT") {
        if let Some((name, r)) = take_ident(r) {
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix("FOREIGN KEY") {
                let (columns, r) = ident_list(r);
                let r = r.trim_start().strip_prefix("REFERENCES").unwrap_or(r);
                // `db`.`t` or `t`
                let mut ref_table = String::new();
                let mut r2 = r;
                while let Some((id, after)) = take_ident(r2) {
                    ref_table = id;
                    r2 = after.strip_prefix('.').unwrap_or(after);
                    if !after.starts_with('.') {
                        break;
                    }
                }
                let (ref_columns, actions) = ident_list(r2);
                let action = |kw: &str| -> Option<String> {
                    let at = actions.find(kw)? + kw.len();
                    let a = actions[at..].trim_start();
                    [
                        "SET NULL",
                        "SET DEFAULT",
                        "NO ACTION",
                        "CASCADE",
                        "RESTRICT",
                    ]
                    .iter()
                    .find(|x| a.starts_with(*x))
                    .map(|x| x.to_string())
                };
                return DefKind::Foreign(ForeignKey {
                    name,
                    columns,
                    ref_table,
                    ref_columns,
                    on_delete: action("ON DELETE"),
                    on_update: action("ON UPDATE"),
                    native: Some(def.to_string()),
                });
            }
            return DefKind::Check(name);
        }
    }
    if def.starts_with("CHECK") {
        return DefKind::Check(String::new());
    }
    DefKind::Column
}

/// Whether the table's auto-increment column needs `index` to exist.
fn needs_index(table: &Table, cols: &[String]) -> bool {
    let Some(ai) = table.columns.iter().find(|c| c.auto_increment.is_some()) else {
        return false;
    };
    if table
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.first() == Some(&ai.name))
    {
        return false;
    }
    cols.first() == Some(&ai.name)
}

// ---------------------------------------------------------------- introspection

/// Values of `enum('a','b')` / `set(...)`.
fn enum_values(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return vec![];
    };
    let body = &column_type[open + 1..];
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    cur.push('\'');
                    chars.next();
                }
                '\'' => {
                    in_str = false;
                    out.push(std::mem::take(&mut cur));
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                c => cur.push(c),
            }
        } else if c == '\'' {
            in_str = true;
        } else if c == ')' {
            break;
        }
    }
    out
}

fn neutral_type(
    data_type: &str,
    column_type: &str,
    max_len: Option<u64>,
    precision: Option<u32>,
    scale: Option<u32>,
    mariadb: bool,
) -> NeutralType {
    let unsigned = column_type.contains("unsigned");
    let fixed = matches!(data_type, "char" | "binary");
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") && !unsigned => NeutralType::Bool,
        "tinyint" => NeutralType::Int { bytes: 1, unsigned },
        "smallint" => NeutralType::Int { bytes: 2, unsigned },
        "mediumint" => NeutralType::Int { bytes: 3, unsigned },
        "int" | "integer" => NeutralType::Int { bytes: 4, unsigned },
        "bigint" => NeutralType::Int { bytes: 8, unsigned },
        "year" => NeutralType::Int {
            bytes: 2,
            unsigned: false,
        },
        "decimal" | "numeric" => NeutralType::Decimal { precision, scale },
        "float" => NeutralType::Float { bytes: 4 },
        "double" | "real" | "double precision" => NeutralType::Float { bytes: 8 },
        "char" | "varchar" => NeutralType::Text {
            max_chars: max_len,
            fixed,
        },
        "tinytext" | "text" | "mediumtext" | "longtext" => NeutralType::Text {
            max_chars: None,
            fixed: false,
        },
        "binary" | "varbinary" => NeutralType::Binary {
            max_bytes: max_len,
            fixed,
        },
        "tinyblob" | "blob" | "mediumblob" | "longblob" => NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        },
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        },
        "date" => NeutralType::Date,
        "time" => NeutralType::Time { tz: false },
        "datetime" => NeutralType::Timestamp { tz: false },
        "timestamp" => NeutralType::Timestamp { tz: true },
        "json" => NeutralType::Json { binary: !mariadb },
        "enum" => NeutralType::Enum {
            name: None,
            values: enum_values(column_type),
        },
        "set" => NeutralType::Set {
            values: enum_values(column_type),
        },
        "bit" => NeutralType::Bits { length: precision },
        "uuid" => NeutralType::Uuid,
        _ => NeutralType::Other,
    }
}

fn is_spatial(native: &str) -> bool {
    let n = native.to_ascii_lowercase();
    [
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
        "geomcollection",
    ]
    .iter()
    .any(|g| n.starts_with(g))
}

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Text,
    /// Single-precision float, read as a double.
    Float,
    Binary,
    Spatial,
    Bits(u32),
    Json,
    /// TINYINT(1): also takes the `t`/`f` of other engines' booleans.
    Bool,
}

fn kind_of(c: &Column) -> Kind {
    match &c.ty {
        NeutralType::Binary { .. } if is_spatial(&c.native_type) => Kind::Spatial,
        NeutralType::Binary { .. } => Kind::Binary,
        NeutralType::Float { bytes: 4 } => Kind::Float,
        NeutralType::Bits { length } => Kind::Bits(length.unwrap_or(1)),
        NeutralType::Json { .. } => Kind::Json,
        NeutralType::Bool => Kind::Bool,
        _ => Kind::Text,
    }
}

/// A default as an SQL expression.
fn default_expr(
    raw: Option<String>,
    extra: &str,
    ty: &NeutralType,
    mariadb: bool,
) -> Option<String> {
    let raw = raw?;
    if mariadb {
        return if raw == "NULL" { None } else { Some(raw) };
    }
    if extra.to_ascii_uppercase().contains("DEFAULT_GENERATED") {
        let up = raw.to_ascii_uppercase();
        return Some(
            if up.starts_with("CURRENT_TIMESTAMP") || raw.starts_with('(') {
                raw
            } else {
                format!("({raw})")
            },
        );
    }
    Some(match ty {
        NeutralType::Int { .. } | NeutralType::Decimal { .. } | NeutralType::Float { .. } => raw,
        _ => quote_literal(&raw),
    })
}

/// Read the schema of the current database's base tables.
async fn introspect(
    conn: &mut Conn,
    filter: &TableFilter,
    mariadb: bool,
    target: &str,
) -> Result<Schema, EngineError> {
    let trows = query_rows(
        conn,
        "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, TABLE_COMMENT, TABLE_ROWS
           FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
            AND TABLE_NAME NOT IN ('haul_journal', 'haul_journal_chunks')
          ORDER BY TABLE_NAME",
        "reading the table catalog",
    )
    .await?;
    let mut tables: Vec<Table> = Vec::new();
    for r in &trows {
        let name = cell_s(r, 0);
        if !filter.wants(&name) {
            continue;
        }
        let mut options = Vec::new();
        if let Some(e) = cell(r, 1) {
            options.push(("engine".to_string(), e));
        }
        if let Some(c) = cell(r, 2) {
            let charset = c.split('_').next().unwrap_or(&c).to_string();
            options.push(("charset".to_string(), charset));
            options.push(("collation".to_string(), c));
        }
        tables.push(Table {
            name,
            columns: vec![],
            primary_key: None,
            uniques: vec![],
            indexes: vec![],
            foreign_keys: vec![],
            checks: vec![],
            auto_increment_next: None,
            comment: cell(r, 3).filter(|c| !c.is_empty()),
            native_ddl: None,
            options,
            estimated_rows: cell(r, 4).and_then(|n| n.parse().ok()),
        });
    }
    let missing = filter
        .include
        .iter()
        .find(|n| !tables.iter().any(|t| &t.name == *n));
    if let Some(m) = missing {
        return Err(EngineError::NoTable {
            target: target.to_string(),
            table: m.clone(),
        });
    }
    let by_name: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();

    let crows = query_rows(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
                EXTRA, GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT,
                CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE
           FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE()
          ORDER BY TABLE_NAME, ORDINAL_POSITION",
        "reading the column catalog",
    )
    .await?;
    for r in &crows {
        let Some(&ti) = by_name.get(&cell_s(r, 0)) else {
            continue;
        };
        let data_type = cell_s(r, 2).to_ascii_lowercase();
        let column_type = cell_s(r, 3);
        let extra = cell_s(r, 6);
        let ty = neutral_type(
            &data_type,
            &column_type.to_ascii_lowercase(),
            cell(r, 10).and_then(|v| v.parse().ok()),
            cell(r, 11).and_then(|v| v.parse().ok()),
            cell(r, 12).and_then(|v| v.parse().ok()),
            mariadb,
        );
        let gen = cell(r, 7).filter(|g| !g.is_empty());
        let up = extra.to_ascii_uppercase();
        let generated = gen.map(|expression| Generated {
            expression,
            stored: up.contains("STORED") || up.contains("PERSISTENT"),
        });
        let default = if generated.is_some() {
            None
        } else {
            default_expr(cell(r, 5), &extra, &ty, mariadb)
        };
        tables[ti].columns.push(Column {
            name: cell_s(r, 1),
            ty,
            native_type: column_type,
            nullable: cell_s(r, 4) == "YES",
            default,
            auto_increment: if up.contains("AUTO_INCREMENT") {
                Some(AutoIncrement {
                    sequence: None,
                    identity: None,
                })
            } else {
                None
            },
            generated,
            collation: cell(r, 8),
            comment: cell(r, 9).filter(|c| !c.is_empty()),
        });
    }

    for t in tables.iter_mut() {
        let rows = query_rows(
            conn,
            &format!("SHOW CREATE TABLE {}", qi(&t.name)),
            &format!("table {}: reading its definition", t.name),
        )
        .await?;
        let Some(ddl) = rows.first().and_then(|r| cell(r, 1)) else {
            continue;
        };
        if let Some(parts) = parse_create(&ddl) {
            if let Some(n) = parts.tail.find(" AUTO_INCREMENT=") {
                let digits: String = parts.tail[n + 16..]
                    .chars()
                    .take_while(|c| c.is_ascii_digit())
                    .collect();
                t.auto_increment_next = digits.parse().ok();
            }
            for d in &parts.defs {
                match classify(d) {
                    // MariaDB's JSON is LONGTEXT with a json_valid check.
                    DefKind::Column if d.contains("CHECK (json_valid(") => {
                        if let Some((name, _)) = take_ident(d) {
                            if let Some(c) = t.columns.iter_mut().find(|c| c.name == name) {
                                if matches!(c.ty, NeutralType::Text { .. }) {
                                    c.ty = NeutralType::Json { binary: false };
                                }
                            }
                        }
                    }
                    DefKind::Column => {}
                    DefKind::Primary(columns) => {
                        t.primary_key = Some(Key {
                            name: "PRIMARY".into(),
                            columns,
                            native: Some(d.clone()),
                        })
                    }
                    DefKind::Unique(name, columns) => t.uniques.push(Key {
                        name,
                        columns,
                        native: Some(d.clone()),
                    }),
                    DefKind::Index(name, columns) => t.indexes.push(Index {
                        name,
                        columns,
                        unique: false,
                        native: Some(format!("ALTER TABLE {} ADD {d}", qi(&t.name))),
                    }),
                    DefKind::Foreign(fk) => t.foreign_keys.push(fk),
                    // Check constraints stay in the replayed DDL.
                    DefKind::Check(_) => {}
                }
            }
        }
        t.native_ddl = Some(ddl);
    }
    let extras = extras(conn, filter, &tables).await?;
    Ok(Schema {
        tables,
        extras,
        ..Schema::default()
    })
}

/// `DEFINER=`user`@`host` ` removed, so that the object can be created by
/// whoever restores it.
fn strip_definer(ddl: &str) -> String {
    let Some(at) = ddl.find("DEFINER=") else {
        return ddl.to_string();
    };
    let rest = &ddl[at + "DEFINER=".len()..];
    // `user`@`host` (either part may be quoted with backticks or quotes).
    let mut end = 0;
    let bytes = rest.as_bytes();
    let mut quote: Option<u8> = None;
    while end < bytes.len() {
        let c = bytes[end];
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if c == b'`' || c == b'\'' => quote = Some(c),
            None if c == b' ' => break,
            None => {}
        }
        end += 1;
    }
    format!("{}{}", &ddl[..at], rest[end..].trim_start())
}

/// The table a `CREATE TRIGGER` statement is on.
fn trigger_table(ddl: &str) -> Option<String> {
    let up = ddl.to_ascii_uppercase();
    let from = up.find(" TRIGGER ")?;
    let at = up[from..].find(" ON ")? + from + 4;
    let rest = ddl[at..].trim_start();
    if rest.starts_with('`') {
        return take_ident(rest).map(|(n, _)| n);
    }
    let name: String = rest.chars().take_while(|c| !c.is_whitespace()).collect();
    // `db`.`t` or db.t: the last part.
    Some(name.rsplit('.').next().unwrap_or(&name).to_string())
}

/// Views (whole-database dumps only) and the triggers of the dumped tables,
/// replayed after the data on a same-engine restore.
async fn extras(
    conn: &mut Conn,
    filter: &TableFilter,
    tables: &[Table],
) -> Result<Vec<NativeObject>, EngineError> {
    let mut out = Vec::new();
    if filter.include.is_empty() {
        let views = query_rows(
            conn,
            "SELECT TABLE_NAME FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE() ORDER BY TABLE_NAME",
            "reading the view catalog",
        )
        .await?;
        for v in views.iter().map(|r| cell_s(r, 0)) {
            if !filter.wants(&v) {
                continue;
            }
            let ctx = format!("view {v}: reading its definition");
            let rows = query_rows(conn, &format!("SHOW CREATE VIEW {}", qi(&v)), &ctx).await?;
            if let Some(ddl) = rows.first().and_then(|r| cell(r, 1)) {
                out.push(NativeObject {
                    kind: "view".into(),
                    name: v,
                    table: None,
                    ddl: strip_definer(&ddl),
                });
            }
        }
    }
    let triggers = query_rows(
        conn,
        "SELECT TRIGGER_NAME, EVENT_OBJECT_TABLE FROM information_schema.TRIGGERS
          WHERE TRIGGER_SCHEMA = DATABASE() ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER",
        "reading the trigger catalog",
    )
    .await?;
    for r in &triggers {
        let (name, table) = (cell_s(r, 0), cell_s(r, 1));
        if !tables.iter().any(|t| t.name == table) {
            continue;
        }
        let ctx = format!("trigger {name}: reading its definition");
        let rows = query_rows(conn, &format!("SHOW CREATE TRIGGER {}", qi(&name)), &ctx).await?;
        if let Some(ddl) = rows.first().and_then(|r| cell(r, 2)) {
            out.push(NativeObject {
                kind: "trigger".into(),
                name,
                table: Some(table.clone()),
                ddl: strip_definer(&ddl),
            });
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------- source

/// A MySQL/MariaDB snapshot: worker sessions that share one consistent view.
pub struct MySource {
    info: SourceInfo,
    coordinator: Mutex<Conn>,
    workers: Mutex<Vec<Conn>>,
    free: Semaphore,
    method: String,
    warnings: std::sync::Mutex<Vec<String>>,
    mariadb: bool,
    target: String,
}

const SNAPSHOT: &str = "START TRANSACTION WITH CONSISTENT SNAPSHOT";
const WORKER_SETUP: &[&str] = &[
    "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
    "SET character_set_results = binary",
    "SET sql_mode = ''",
];

impl MySource {
    pub async fn open(spec: &ConnSpec, jobs: usize) -> Result<Self, EngineError> {
        let target = spec.to_string();
        let mut coordinator = connect(spec, &["SET sql_mode = ''"]).await?;
        let (mariadb, version) = is_mariadb(&mut coordinator).await?;
        let mut warnings = Vec::new();
        let jobs = jobs.max(1);
        let mut workers = Vec::new();
        let method;
        if jobs > 1 {
            for _ in 0..jobs {
                workers.push(connect(spec, WORKER_SETUP).await?);
            }
            match coordinator.query_drop("FLUSH TABLES WITH READ LOCK").await {
                Ok(()) => {
                    let mut started = Ok(());
                    for w in workers.iter_mut() {
                        if let Err(e) = w.query_drop(SNAPSHOT).await {
                            started = Err(e);
                            break;
                        }
                    }
                    let unlocked = coordinator.query_drop("UNLOCK TABLES").await;
                    started
                        .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
                    unlocked.map_err(|e| server_err(format!("unlocking tables on {target}"), e))?;
                    method = format!(
                        "mysql: {jobs} workers in START TRANSACTION WITH CONSISTENT SNAPSHOT under FLUSH TABLES WITH READ LOCK"
                    );
                }
                Err(e) if matches!(server_code(&e), Some(1227 | 1044 | 1045 | 1142)) => {
                    warnings.push(format!(
                        "FLUSH TABLES WITH READ LOCK is not allowed ({}); dumping through one snapshot connection instead of {jobs}",
                        describe(&e)
                    ));
                    workers.truncate(1);
                    workers[0]
                        .query_drop(SNAPSHOT)
                        .await
                        .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
                    method = "mysql: one connection in START TRANSACTION WITH CONSISTENT SNAPSHOT (no privilege for FLUSH TABLES WITH READ LOCK)".into();
                }
                Err(e) => return Err(lock_err(format!("locking tables on {target}"), e)),
            }
        } else {
            let mut w = connect(spec, WORKER_SETUP).await?;
            w.query_drop(SNAPSHOT)
                .await
                .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
            workers.push(w);
            method = "mysql: one connection in START TRANSACTION WITH CONSISTENT SNAPSHOT".into();
        }
        let n = workers.len();
        Ok(MySource {
            info: SourceInfo {
                engine: EngineKind::Mysql,
                server_version: version,
                database: spec.database.clone(),
            },
            coordinator: Mutex::new(coordinator),
            workers: Mutex::new(workers),
            free: Semaphore::new(n),
            method,
            warnings: std::sync::Mutex::new(warnings),
            mariadb,
            target,
        })
    }
}

/// `bytes` (a BIT value, big-endian) as `n` binary digits.
fn bit_string(bytes: &[u8], n: u32, out: &mut Vec<u8>) {
    out.clear();
    if bytes.is_empty() {
        out.push(b'0');
        return;
    }
    let total = bytes.len() * 8;
    let n = (n as usize).min(total).max(1);
    for i in total - n..total {
        let b = bytes[i / 8] >> (7 - (i % 8)) & 1;
        out.push(b'0' + b);
    }
}

/// Binary digits back to the big-endian bytes of a BIT value; false if
/// `digits` holds anything else.
fn bits_to_bytes(digits: &[u8], out: &mut Vec<u8>) -> bool {
    let n = digits.len();
    let len = n.div_ceil(8).max(1);
    out.clear();
    out.resize(len, 0);
    for (j, &d) in digits.iter().enumerate() {
        let bit = match d {
            b'0' => 0,
            b'1' => 1,
            _ => return false,
        };
        // Position from the least significant end.
        let p = n - 1 - j;
        out[len - 1 - p / 8] |= bit << (p % 8);
    }
    true
}

#[async_trait]
impl Source for MySource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn snapshot_method(&self) -> String {
        self.method.clone()
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let mut conn = self.coordinator.lock().await;
        let mut schema = introspect(&mut conn, filter, self.mariadb, &self.target).await?;
        schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
        let loose: Vec<String> = schema
            .tables
            .iter()
            .filter_map(|t| {
                let e = t.options.iter().find(|(k, _)| k == "engine")?;
                NON_TRANSACTIONAL
                    .contains(&e.1.to_ascii_lowercase().as_str())
                    .then(|| format!("{} ({})", t.name, e.1))
            })
            .collect();
        if !loose.is_empty() {
            if let Ok(mut w) = self.warnings.lock() {
                w.push(format!(
                    "non-transactional tables are not covered by the snapshot and may change during the dump: {}",
                    loose.join(", ")
                ));
            }
        }
        Ok(schema)
    }

    async fn parts(&self, table: &Table, jobs: usize) -> Result<Vec<Part>, EngineError> {
        let whole = vec![Part { filter: None }];
        if jobs <= 1 {
            return Ok(whole);
        }
        let Some(pk) = &table.primary_key else {
            return Ok(whole);
        };
        if pk.columns.len() != 1 {
            return Ok(whole);
        }
        let Some(col) = table.column(&pk.columns[0]) else {
            return Ok(whole);
        };
        if !matches!(col.ty, NeutralType::Int { .. }) {
            return Ok(whole);
        }
        let mut conn = self.coordinator.lock().await;
        let ctx = format!("table {}: reading its size", table.name);
        let rows = query_rows(
            &mut conn,
            &format!(
                "SELECT DATA_LENGTH FROM information_schema.TABLES
                  WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {}",
                quote_literal(&table.name)
            ),
            &ctx,
        )
        .await?;
        let size: i64 = rows
            .first()
            .and_then(|r| cell(r, 0))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let part_bytes = part_bytes();
        if size < 2 * part_bytes {
            return Ok(whole);
        }
        let c = qi(&col.name);
        let rows = query_rows(
            &mut conn,
            &format!("SELECT MIN({c}), MAX({c}) FROM {}", qi(&table.name)),
            &ctx,
        )
        .await?;
        let (Some(lo), Some(hi)) = (
            rows.first()
                .and_then(|r| cell(r, 0))
                .and_then(|s| s.parse::<i128>().ok()),
            rows.first()
                .and_then(|r| cell(r, 1))
                .and_then(|s| s.parse::<i128>().ok()),
        ) else {
            return Ok(whole);
        };
        let n = ((size / part_bytes) as i128).clamp(2, 64);
        let step = ((hi - lo) / n).max(1);
        let bounds: Vec<i128> = (1..n).map(|i| lo + i * step).filter(|b| *b <= hi).collect();
        if bounds.is_empty() {
            return Ok(whole);
        }
        let mut parts = Vec::new();
        parts.push(Part {
            filter: Some(format!("{c} < {}", bounds[0])),
        });
        for w in bounds.windows(2) {
            parts.push(Part {
                filter: Some(format!("{c} >= {} AND {c} < {}", w[0], w[1])),
            });
        }
        parts.push(Part {
            filter: Some(format!("{c} >= {}", bounds[bounds.len() - 1])),
        });
        Ok(parts)
    }

    async fn read(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        let cols: Vec<&Column> = table.data_columns().collect();
        if cols.is_empty() {
            return Ok(());
        }
        let kinds: Vec<Kind> = cols.iter().map(|c| kind_of(c)).collect();
        let select: Vec<String> = cols
            .iter()
            .zip(&kinds)
            .map(|(c, k)| match k {
                Kind::Float => format!("({} + 0e0)", qi(&c.name)),
                _ => qi(&c.name),
            })
            .collect();
        let mut sql = format!("SELECT {} FROM {}", select.join(", "), qi(&table.name));
        if let Some(f) = &part.filter {
            sql.push_str(" WHERE ");
            sql.push_str(f);
        }
        let _permit = self
            .free
            .acquire()
            .await
            .map_err(|_| EngineError::Unsupported("the snapshot is closed".into()))?;
        let mut conn = self
            .workers
            .lock()
            .await
            .pop()
            .ok_or_else(|| EngineError::Unsupported("no snapshot connection left".into()))?;
        let ctx = || format!("table {}: reading rows", table.name);
        let result = async {
            let mut res = conn.query_iter(sql).await.map_err(|e| lock_err(ctx(), e))?;
            let mut scratch = Vec::with_capacity(64);
            while let Some(row) = res.next().await.map_err(|e| server_err(ctx(), e))? {
                for (i, k) in kinds.iter().enumerate() {
                    match row.as_ref(i) {
                        None | Some(Value::NULL) => sink.null(),
                        Some(Value::Bytes(b)) => match k {
                            Kind::Binary | Kind::Spatial => sink.bytes(b),
                            Kind::Bits(n) => {
                                bit_string(b, *n, &mut scratch);
                                sink.text(&scratch);
                            }
                            _ => sink.text(b),
                        },
                        Some(other) => {
                            let s = other.as_sql(true);
                            sink.text(s.trim_matches('\'').as_bytes())
                        }
                    }
                }
                sink.end_row()?;
            }
            Ok(())
        }
        .await;
        if result.is_ok() {
            self.workers.lock().await.push(conn);
        }
        result
    }

    async fn close(&self) -> Result<(), EngineError> {
        let mut workers = self.workers.lock().await;
        for mut w in workers.drain(..) {
            let _ = w.query_drop("COMMIT").await;
            let _ = w.disconnect().await;
        }
        self.free.close();
        Ok(())
    }
}

// ---------------------------------------------------------------- target

/// A MySQL/MariaDB restore target with a small pool of sessions.
pub struct MyTarget {
    spec: ConnSpec,
    pool: Mutex<Vec<Conn>>,
    mariadb: bool,
    /// (table, index) created with its table because auto-increment needs it.
    inline_indexes: std::sync::Mutex<HashSet<(String, String)>>,
    /// Bytes per LOAD DATA packet.
    piece: usize,
}

/// Restore sessions. In this SQL mode zero dates and a `0` in an
/// auto-increment column load as they are; every conversion still raises a
/// warning, and warnings fail the load.
const TARGET_SETUP: &[&str] = &[
    "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'",
    "SET foreign_key_checks = 0, unique_checks = 0",
];

impl MyTarget {
    pub async fn open(spec: &ConnSpec, _jobs: usize) -> Result<Self, EngineError> {
        let mut first = connect(spec, TARGET_SETUP).await?;
        let (mariadb, _) = is_mariadb(&mut first).await?;
        let packet: usize = query_rows(
            &mut first,
            "SELECT @@max_allowed_packet",
            "reading max_allowed_packet",
        )
        .await?
        .first()
        .and_then(|r| cell(r, 0))
        .and_then(|v| v.parse().ok())
        .unwrap_or(PIECE);
        Ok(MyTarget {
            spec: spec.clone(),
            pool: Mutex::new(vec![first]),
            mariadb,
            inline_indexes: std::sync::Mutex::new(HashSet::new()),
            piece: (packet / 2).clamp(512, PIECE),
        })
    }

    async fn get(&self) -> Result<Conn, EngineError> {
        if let Some(c) = self.pool.lock().await.pop() {
            return Ok(c);
        }
        connect(&self.spec, TARGET_SETUP).await
    }

    async fn put(&self, c: Conn) {
        self.pool.lock().await.push(c);
    }

    async fn exec(&self, sql: &str, context: impl Into<String>) -> Result<(), EngineError> {
        let mut c = self.get().await?;
        let r = c.query_drop(sql).await;
        match r {
            Ok(()) => {
                self.put(c).await;
                Ok(())
            }
            Err(e) => {
                if !e.is_fatal() {
                    self.put(c).await;
                }
                Err(server_err(context, e))
            }
        }
    }

    async fn rows(&self, sql: &str, context: &str) -> Result<Vec<Row>, EngineError> {
        let mut c = self.get().await?;
        let r = query_rows(&mut c, sql, context).await;
        self.put(c).await;
        r
    }
}

/// The MySQL type for a neutral type from another engine; `keyed` columns
/// need a bounded length.
fn map_type(t: &NeutralType, keyed: bool) -> String {
    match t {
        NeutralType::Bool => "TINYINT(1)".into(),
        NeutralType::Int { bytes, unsigned } => {
            let base = match bytes {
                1 => "TINYINT",
                2 => "SMALLINT",
                3 => "MEDIUMINT",
                4 => "INT",
                _ => "BIGINT",
            };
            if *unsigned {
                format!("{base} UNSIGNED")
            } else {
                base.into()
            }
        }
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } if *p <= 65 => format!("DECIMAL({p},{})", scale.unwrap_or(0).min(30)),
        NeutralType::Decimal { .. } => "DECIMAL(65,30)".into(),
        NeutralType::Float { bytes: 4 } => "FLOAT".into(),
        NeutralType::Float { .. } => "DOUBLE".into(),
        NeutralType::Text {
            max_chars: Some(n),
            fixed: true,
        } if *n <= 255 => format!("CHAR({n})"),
        NeutralType::Text {
            max_chars: Some(n), ..
        } if *n <= 16383 => format!("VARCHAR({n})"),
        NeutralType::Text { .. }
        | NeutralType::Any
        | NeutralType::Other
        | NeutralType::Interval => {
            if keyed {
                "VARCHAR(255)".into()
            } else {
                "LONGTEXT".into()
            }
        }
        NeutralType::Binary {
            max_bytes: Some(n),
            fixed: true,
        } if *n <= 255 => format!("BINARY({n})"),
        NeutralType::Binary {
            max_bytes: Some(n), ..
        } if *n <= 65535 => format!("VARBINARY({n})"),
        NeutralType::Binary { .. } => {
            if keyed {
                "VARBINARY(255)".into()
            } else {
                "LONGBLOB".into()
            }
        }
        NeutralType::Date => "DATE".into(),
        NeutralType::Time { .. } => "TIME(6)".into(),
        NeutralType::Timestamp { .. } => "DATETIME(6)".into(),
        NeutralType::Uuid => "CHAR(36)".into(),
        NeutralType::Json { .. } | NeutralType::Array { .. } => "JSON".into(),
        NeutralType::Enum { values, .. } => format!(
            "ENUM({})",
            values
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(",")
        ),
        NeutralType::Set { values } => format!(
            "SET({})",
            values
                .iter()
                .map(|v| quote_literal(v))
                .collect::<Vec<_>>()
                .join(",")
        ),
        NeutralType::Bits { length: Some(n) } if *n <= 64 => format!("BIT({n})"),
        NeutralType::Bits { .. } => "VARCHAR(255)".into(),
    }
}

/// Columns in a key, index or foreign key (they need a bounded type).
fn keyed_columns(table: &Table) -> HashSet<&String> {
    Constraint::all_of(table)
        .iter()
        .flat_map(|c| match c {
            Constraint::PrimaryKey(k) | Constraint::Unique(k) => k.columns.clone(),
            Constraint::Index(i) => i.columns.clone(),
            Constraint::ForeignKey(f) => f.columns.clone(),
            Constraint::Check(_) => vec![],
        })
        .filter_map(|n| table.column(&n).map(|c| &c.name))
        .collect()
}

fn constraint_sql(table: &Table, c: &Constraint, from: EngineKind) -> String {
    let t = qi(&table.name);
    let same = from == EngineKind::Mysql;
    match c {
        Constraint::PrimaryKey(k) => {
            format!(
                "ALTER TABLE {t} ADD PRIMARY KEY ({})",
                column_list(&k.columns)
            )
        }
        Constraint::Unique(k) => match (&k.native, same) {
            (Some(n), true) => format!("ALTER TABLE {t} ADD {n}"),
            _ => format!(
                "ALTER TABLE {t} ADD CONSTRAINT {} UNIQUE ({})",
                qi(&k.name),
                column_list(&k.columns)
            ),
        },
        Constraint::Index(i) => match (&i.native, same) {
            (Some(n), true) => n.clone(),
            _ => format!(
                "ALTER TABLE {t} ADD {}INDEX {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                qi(&i.name),
                column_list(&i.columns)
            ),
        },
        Constraint::ForeignKey(f) => match (&f.native, same) {
            (Some(n), true) => format!("ALTER TABLE {t} ADD {n}"),
            _ => {
                let mut s = format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                    qi(&f.name),
                    column_list(&f.columns),
                    qi(&f.ref_table),
                    column_list(&f.ref_columns)
                );
                if let Some(a) = &f.on_delete {
                    s.push_str(&format!(" ON DELETE {a}"));
                }
                if let Some(a) = &f.on_update {
                    s.push_str(&format!(" ON UPDATE {a}"));
                }
                s
            }
        },
        Constraint::Check(k) => format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} {}",
            qi(&k.name),
            k.native
        ),
    }
}

/// Send `data` to the LOAD DATA stream in packets of at most `piece` bytes;
/// false once the stream is gone.
async fn send_pieces(
    tx: &tokio::sync::mpsc::Sender<std::io::Result<Bytes>>,
    data: Bytes,
    piece: usize,
) -> bool {
    let mut off = 0;
    while off < data.len() {
        let end = (off + piece).min(data.len());
        if tx.send(Ok(data.slice(off..end))).await.is_err() {
            return false;
        }
        off = end;
    }
    true
}

/// Append `v` escaped for `LOAD DATA ... ESCAPED BY '\\'`.
#[inline]
fn push_escaped(out: &mut Vec<u8>, mut v: &[u8]) {
    loop {
        let i = match (
            memchr::memchr3(b'\\', b'\t', b'\n', v),
            memchr::memchr2(0, b'\r', v),
        ) {
            (Some(a), Some(b)) => a.min(b),
            (Some(a), None) | (None, Some(a)) => a,
            (None, None) => break,
        };
        out.extend_from_slice(&v[..i]);
        out.extend_from_slice(match v[i] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            _ => b"\\0",
        });
        v = &v[i + 1..];
    }
    out.extend_from_slice(v);
}

#[async_trait]
impl Target for MyTarget {
    fn kind(&self) -> EngineKind {
        EngineKind::Mysql
    }

    async fn server_version(&self) -> Result<String, EngineError> {
        let rows = self
            .rows("SELECT VERSION()", "reading the server version")
            .await?;
        Ok(rows.first().map(|r| cell_s(r, 0)).unwrap_or_default())
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let mut c = self.get().await?;
        let r = introspect(&mut c, filter, self.mariadb, &self.spec.to_string()).await;
        self.put(c).await;
        r
    }

    async fn has_rows(&self, table: &str) -> Result<bool, EngineError> {
        let rows = self
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
        ))
    }

    fn can_add_later(&self, c: &Constraint) -> bool {
        // InnoDB clusters rows by primary key: loading in key order into a
        // table that has it is faster than rebuilding the table afterwards.
        !matches!(c, Constraint::PrimaryKey(_) | Constraint::Check(_))
    }

    async fn prepare(&self, _schema: &Schema, _from: EngineKind) -> Result<(), EngineError> {
        Ok(())
    }

    async fn drop_table(&self, table: &str) -> Result<(), EngineError> {
        self.exec(
            &format!("DROP TABLE IF EXISTS {}", qi(table)),
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
        let native = table
            .native_ddl
            .as_deref()
            .filter(|_| from == EngineKind::Mysql)
            .and_then(parse_create);
        let sql = if let Some(mut parts) = native {
            let mut kept = Vec::new();
            parts.defs.retain(|d| match classify(d) {
                DefKind::Unique(name, cols) | DefKind::Index(name, cols) => {
                    if needs_index(table, &cols) && kept.is_empty() {
                        kept.push(name);
                        true
                    } else {
                        false
                    }
                }
                DefKind::Foreign(_) => false,
                _ => true,
            });
            if let Ok(mut s) = self.inline_indexes.lock() {
                for k in kept {
                    s.insert((table.name.clone(), k));
                }
            }
            parts.render()
        } else {
            let keyed = keyed_columns(table);
            let mut defs: Vec<String> =
                table
                    .columns
                    .iter()
                    .map(|c| {
                        let mut s = format!(
                            "{} {}",
                            qi(&c.name),
                            map_type(&c.ty, keyed.contains(&c.name))
                        );
                        if !c.nullable {
                            s.push_str(" NOT NULL");
                        }
                        if let Some(d) = c.default.as_deref().and_then(|d| {
                            crate::schema::portable_default(d, &c.ty, EngineKind::Mysql)
                        }) {
                            s.push_str(&format!(" DEFAULT {d}"));
                        }
                        if c.auto_increment.is_some() && matches!(c.ty, NeutralType::Int { .. }) {
                            s.push_str(" AUTO_INCREMENT");
                        }
                        if let Some(cm) = &c.comment {
                            s.push_str(&format!(" COMMENT {}", quote_literal(cm)));
                        }
                        s
                    })
                    .collect();
            for c in inline {
                if let Constraint::PrimaryKey(k) = c {
                    defs.push(format!("PRIMARY KEY ({})", column_list(&k.columns)));
                }
            }
            let mut s = format!(
                "CREATE TABLE {} (\n  {}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
                qi(&table.name),
                defs.join(",\n  ")
            );
            if let Some(cm) = &table.comment {
                s.push_str(&format!(" COMMENT={}", quote_literal(cm)));
            }
            s
        };
        self.exec(&sql, format!("table {}: creating it", table.name))
            .await
    }

    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        let errs = super::ChunkErrors {
            table: &table.name,
            chunk: label,
        };
        let load_err = |message: String| errs.load(message);
        let codec_err = |source| errs.codec(source);
        let kinds: Vec<Kind> = columns
            .iter()
            .map(|n| table.column(n).map(kind_of).unwrap_or(Kind::Text))
            .collect();
        let mut targets = Vec::new();
        let mut sets = Vec::new();
        // MariaDB ignores NO_AUTO_VALUE_ON_ZERO in a LOAD DATA with a SET
        // clause, so columns go straight in wherever the server accepts it;
        // MySQL takes JSON and spatial values only through a conversion.
        for (i, (name, k)) in columns.iter().zip(&kinds).enumerate() {
            match k {
                Kind::Spatial if !self.mariadb => {
                    targets.push(format!("@v{i}"));
                    sets.push(format!("{} = @v{i}", qi(name)));
                }
                Kind::Json if !self.mariadb => {
                    targets.push(format!("@v{i}"));
                    sets.push(format!("{} = CONVERT(@v{i} USING utf8mb4)", qi(name)));
                }
                _ => targets.push(qi(name)),
            }
        }
        let mut sql = format!(
            "LOAD DATA LOCAL INFILE 'haul' INTO TABLE {} CHARACTER SET binary \
             FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({})",
            qi(&table.name),
            targets.join(", ")
        );
        if !sets.is_empty() {
            sql.push_str(" SET ");
            sql.push_str(&sets.join(", "));
        }

        let mut conn = self.get().await?;
        conn.query_drop("START TRANSACTION")
            .await
            .map_err(|e| load_err(describe(&e)))?;
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(4);
        conn.set_infile_handler(async move {
            let stream = futures_util::stream::unfold(rx, |mut rx| async move {
                rx.recv().await.map(|b| (b, rx))
            });
            Ok(stream.boxed())
        });
        let produce = async move {
            let piece = self.piece;
            let mut buf: Vec<u8> = Vec::with_capacity(PIECE + PIECE / 4);
            let mut raw: Vec<u8> = Vec::new();
            let width = rows.width();
            let r: Result<(), EngineError> = async {
                while rows.next_row().map_err(codec_err)? {
                    for i in 0..width {
                        if i > 0 {
                            buf.push(b'\t');
                        }
                        let bin = matches!(kinds[i], Kind::Binary | Kind::Spatial);
                        match rows.field(i).map_err(codec_err)? {
                            Field::Null => buf.extend_from_slice(b"\\N"),
                            Field::Value(v) | Field::Tagged(tag::BLOB, v) if bin => {
                                raw.clear();
                                if !unhex_into(v, &mut raw) {
                                    return Err(load_err(format!(
                                        "row {}, column {}: invalid hex in a binary value",
                                        rows.row_number(),
                                        columns[i]
                                    )));
                                }
                                push_escaped(&mut buf, &raw);
                            }
                            Field::Value(v) if kinds[i] == Kind::Bool => {
                                let v: &[u8] = match v {
                                    b"t" | b"true" | b"TRUE" => b"1",
                                    b"f" | b"false" | b"FALSE" => b"0",
                                    other => other,
                                };
                                push_escaped(&mut buf, v);
                            }
                            Field::Value(v) if matches!(kinds[i], Kind::Bits(_)) => {
                                raw.clear();
                                if !bits_to_bytes(v, &mut raw) {
                                    return Err(load_err(format!(
                                        "row {}, column {}: {:?} is not a string of binary digits",
                                        rows.row_number(),
                                        columns[i],
                                        String::from_utf8_lossy(v)
                                    )));
                                }
                                push_escaped(&mut buf, &raw);
                            }
                            Field::Tagged(tag::BLOB, _) => {
                                return Err(load_err(format!(
                                    "row {}, column {}: a binary value in a non-binary column",
                                    rows.row_number(),
                                    columns[i]
                                )))
                            }
                            Field::Value(v) | Field::Tagged(_, v) => push_escaped(&mut buf, v),
                        }
                    }
                    buf.push(b'\n');
                    if buf.len() >= piece {
                        let full =
                            std::mem::replace(&mut buf, Vec::with_capacity(PIECE + PIECE / 4));
                        if !send_pieces(&tx, Bytes::from(full), piece).await {
                            return Ok(());
                        }
                    }
                }
                if !buf.is_empty() {
                    send_pieces(&tx, Bytes::from(buf), piece).await;
                }
                Ok(())
            }
            .await;
            if r.is_err() {
                // Abort the transfer: the server rolls the statement back.
                let _ = tx
                    .send(Err(std::io::Error::other("the chunk could not be decoded")))
                    .await;
            }
            r
        };
        let query = async {
            let r = conn.query_drop(&sql).await;
            // Drop the handler (and its receiver) if the server never asked.
            conn.set_infile_handler(async {
                Err(mysql_async::LocalInfileError::OtherError("no chunk to send".into()).into())
            });
            r
        };
        let (q, p) = tokio::join!(query, produce);
        let outcome: Result<u64, EngineError> = match (q, p) {
            (_, Err(e)) => Err(e),
            (Err(e), Ok(())) => Err(load_err(match server_code(&e) {
                Some(1148 | 3948) => format!(
                    "{}; the server must allow LOAD DATA LOCAL (SET GLOBAL local_infile = 1)",
                    describe(&e)
                ),
                _ => describe(&e),
            })),
            (Ok(()), Ok(())) => {
                let n = conn.affected_rows();
                let warnings = conn.get_warnings();
                if warnings > 0 {
                    let w = query_rows(&mut conn, "SHOW WARNINGS LIMIT 3", "reading warnings")
                        .await
                        .unwrap_or_default();
                    let msgs: Vec<String> = w
                        .iter()
                        .map(|r| format!("{} {}: {}", cell_s(r, 0), cell_s(r, 1), cell_s(r, 2)))
                        .collect();
                    Err(load_err(format!(
                        "the server reported {} warning(s) loading the chunk, so it was rolled back: {}",
                        warnings,
                        msgs.join("; ")
                    )))
                } else {
                    Ok(n)
                }
            }
        };
        let outcome = match (outcome, mark) {
            (Ok(n), Some(m)) => conn
                .query_drop(m.insert_sql(qi))
                .await
                .map(|()| n)
                .map_err(|e| load_err(format!("recording the chunk: {}", describe(&e)))),
            (o, _) => o,
        };
        match outcome {
            Ok(n) => {
                conn.query_drop("COMMIT")
                    .await
                    .map_err(|e| load_err(format!("committing: {}", describe(&e))))?;
                self.put(conn).await;
                Ok(n)
            }
            Err(e) => {
                if conn.query_drop("ROLLBACK").await.is_ok() {
                    self.put(conn).await;
                }
                Err(e)
            }
        }
    }

    async fn drop_constraint(&self, table: &Table, c: &Constraint) -> Result<(), EngineError> {
        let t = qi(&table.name);
        let sql = match c {
            Constraint::ForeignKey(f) => {
                format!("ALTER TABLE {t} DROP FOREIGN KEY {}", qi(&f.name))
            }
            Constraint::PrimaryKey(_) => format!("ALTER TABLE {t} DROP PRIMARY KEY"),
            Constraint::Check(k) => format!("ALTER TABLE {t} DROP CONSTRAINT {}", qi(&k.name)),
            other => format!("ALTER TABLE {t} DROP INDEX {}", qi(other.name())),
        };
        self.exec(
            &sql,
            format!("table {}: dropping {} {}", table.name, c.kind(), c.name()),
        )
        .await
    }

    fn quote(&self, ident: &str) -> String {
        qi(ident)
    }

    fn text_sql(&self, column: &str) -> String {
        format!("CAST({column} AS CHAR)")
    }

    fn string_literal(&self, s: &str) -> String {
        // Backslashes escape in MySQL strings unless NO_BACKSLASH_ESCAPES.
        quote_literal(&s.replace('\\', "\\\\"))
    }

    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError> {
        let mut c = self.get().await?;
        let r = async {
            c.query_drop("START TRANSACTION").await?;
            let mut n = Vec::new();
            for s in statements {
                c.query_drop(s.as_str()).await?;
                n.push(c.affected_rows());
            }
            c.query_drop("COMMIT").await?;
            Ok::<_, mysql_async::Error>(n)
        }
        .await;
        match r {
            Ok(n) => {
                self.put(c).await;
                Ok(n)
            }
            Err(e) => {
                if c.query_drop("ROLLBACK").await.is_ok() {
                    self.put(c).await;
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
        let rows = self.rows(sql, context).await?;
        Ok(rows
            .iter()
            .map(|r| (0..r.len()).map(|i| cell(r, i)).collect())
            .collect())
    }

    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        let exists = self
            .rows(
                &format!(
                    "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {}",
                    quote_literal(super::JOURNAL_TABLE)
                ),
                "reading the restore journal",
            )
            .await?;
        if exists.is_empty() {
            return Ok(None);
        }
        let rows = self
            .rows(
                &format!("SELECT body FROM {} WHERE id = 1", qi(super::JOURNAL_TABLE)),
                "reading the restore journal",
            )
            .await?;
        Ok(rows.first().and_then(|r| cell(r, 0)))
    }

    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        let t = qi(super::JOURNAL_TABLE);
        self.exec(
            &format!(
                "CREATE TABLE IF NOT EXISTS {t} (id INT PRIMARY KEY, written_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, body LONGTEXT NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
            ),
            "writing the restore journal",
        )
        .await?;
        self.exec(
            &format!(
                "CREATE TABLE IF NOT EXISTS {} (tbl INT NOT NULL, chunk INT NOT NULL, PRIMARY KEY (tbl, chunk)) ENGINE=InnoDB",
                qi(super::CHUNKS_TABLE)
            ),
            "writing the restore journal",
        )
        .await?;
        let mut c = self.get().await?;
        let r = c
            .exec_drop(
                format!("REPLACE INTO {t} (id, body) VALUES (1, ?)"),
                (body,),
            )
            .await;
        self.put(c).await;
        r.map_err(|e| server_err("writing the restore journal", e))
    }

    async fn journal_clear(&self) -> Result<(), EngineError> {
        self.exec(
            &format!(
                "DROP TABLE IF EXISTS {}, {}",
                qi(super::JOURNAL_TABLE),
                qi(super::CHUNKS_TABLE)
            ),
            "removing the restore journal",
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
        self.exec(&constraint_sql(table, c, from), context.clone())
            .await?;
        if let Constraint::ForeignKey(f) = c {
            // Added without checking the rows: check them now.
            let t = qi(&table.name);
            let r = qi(&f.ref_table);
            let on: Vec<String> = f
                .columns
                .iter()
                .zip(&f.ref_columns)
                .map(|(a, b)| format!("c.{} = p.{}", qi(a), qi(b)))
                .collect();
            let not_null: Vec<String> = f
                .columns
                .iter()
                .map(|a| format!("c.{} IS NOT NULL", qi(a)))
                .collect();
            let sql = format!(
                "SELECT COUNT(*) FROM {t} c LEFT JOIN {r} p ON {} WHERE {} AND p.{} IS NULL",
                on.join(" AND "),
                not_null.join(" AND "),
                qi(f.ref_columns.first().map(String::as_str).unwrap_or("")),
            );
            let rows = self.rows(&sql, &context).await?;
            let orphans: u64 = rows
                .first()
                .and_then(|r| cell(r, 0))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
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
            .rows(
                &format!("SELECT MAX({}) FROM {}", qi(&c.name), qi(&table.name)),
                &ctx,
            )
            .await?;
        let max: Option<i128> = rows
            .first()
            .and_then(|r| cell(r, 0))
            .and_then(|s| s.split('.').next().and_then(|s| s.parse().ok()));
        let next = max
            .map(|m| m + 1)
            .into_iter()
            .chain(table.auto_increment_next.map(i128::from))
            .max();
        if let Some(n) = next.filter(|n| *n > 1) {
            self.exec(
                &format!("ALTER TABLE {} AUTO_INCREMENT = {n}", qi(&table.name)),
                ctx,
            )
            .await?;
        }
        Ok(())
    }

    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        if from == EngineKind::Mysql {
            // Views may use views: create them in passes until none is left
            // or a pass makes no progress.
            let restored: HashSet<&str> = schema.tables.iter().map(|t| t.name.as_str()).collect();
            let mut views: Vec<&NativeObject> =
                schema.extras.iter().filter(|x| x.kind == "view").collect();
            while !views.is_empty() {
                let mut failed = Vec::new();
                let mut last_err = None;
                for v in &views {
                    let ddl = v.ddl.replacen("CREATE ", "CREATE OR REPLACE ", 1);
                    if let Err(e) = self
                        .exec(&ddl, format!("view {}: creating it", v.name))
                        .await
                    {
                        failed.push(*v);
                        last_err = Some(e);
                    }
                }
                if failed.len() == views.len() {
                    if let Some(e) = last_err {
                        return Err(e);
                    }
                }
                views = failed;
            }
            for t in schema.extras.iter().filter(|x| x.kind == "trigger") {
                // Only the triggers of tables this restore created.
                let on_restored =
                    trigger_table(&t.ddl).is_some_and(|n| restored.contains(n.as_str()));
                if on_restored {
                    self.exec(&t.ddl, format!("trigger {}: creating it", t.name))
                        .await?;
                }
            }
        }
        if schema.tables.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = schema.tables.iter().map(|t| qi(&t.name)).collect();
        let _ = self
            .rows(
                &format!("ANALYZE TABLE {}", names.join(", ")),
                "analyzing the restored tables",
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDL: &str = "CREATE TABLE `t` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `a` varchar(10) DEFAULT 'x,y',
  `p` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `a_u` (`a`(5),`p`),
  KEY `p_i` (`p`) COMMENT 'c',
  CONSTRAINT `fk``1` FOREIGN KEY (`p`) REFERENCES `o`.`par` (`id`) ON DELETE CASCADE,
  CONSTRAINT `chk` CHECK (`p` > 0)
) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4";

    #[test]
    fn parses_show_create() {
        let p = parse_create(DDL).unwrap();
        assert_eq!(p.defs.len(), 8);
        assert_eq!(p.render(), DDL);
        assert_eq!(classify(&p.defs[0]), DefKind::Column);
        assert_eq!(classify(&p.defs[3]), DefKind::Primary(vec!["id".into()]));
        assert_eq!(
            classify(&p.defs[4]),
            DefKind::Unique("a_u".into(), vec!["a".into(), "p".into()])
        );
        assert_eq!(
            classify(&p.defs[5]),
            DefKind::Index("p_i".into(), vec!["p".into()])
        );
        match classify(&p.defs[6]) {
            DefKind::Foreign(f) => {
                assert_eq!(f.name, "fk`1");
                assert_eq!(f.columns, vec!["p"]);
                assert_eq!(f.ref_table, "par");
                assert_eq!(f.ref_columns, vec!["id"]);
                assert_eq!(f.on_delete.as_deref(), Some("CASCADE"));
                assert_eq!(f.on_update, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(classify(&p.defs[7]), DefKind::Check("chk".into()));
    }

    #[test]
    fn escapes_for_load_data() {
        let mut out = Vec::new();
        push_escaped(&mut out, b"a\\b\tc\nd\re\0f");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re\\0f");
    }

    #[test]
    fn bits_and_enums() {
        let mut out = Vec::new();
        bit_string(&[0x02, 0xAA], 10, &mut out);
        assert_eq!(out, b"1010101010");
        let mut raw = Vec::new();
        assert!(bits_to_bytes(b"1010101010", &mut raw));
        assert_eq!(raw, [0x02, 0xAA]);
        assert!(bits_to_bytes(b"1", &mut raw));
        assert_eq!(raw, [1]);
        assert!(!bits_to_bytes(b"12", &mut raw));
        assert_eq!(enum_values("enum('a','b''c','')"), vec!["a", "b'c", ""]);
        assert_eq!(
            trigger_table(
                "CREATE DEFINER=`a`@`b` trigger x before insert on hard for each row set new.i = 1"
            )
            .as_deref(),
            Some("hard")
        );
        assert_eq!(
            strip_definer("CREATE ALGORITHM=UNDEFINED DEFINER=`root`@`local host` SQL SECURITY DEFINER VIEW `v` AS select 1"),
            "CREATE ALGORITHM=UNDEFINED SQL SECURITY DEFINER VIEW `v` AS select 1"
        );
    }
}
