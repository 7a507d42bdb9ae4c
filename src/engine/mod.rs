//! Engines: everything engine-specific and nothing else. A [`Source`] is an
//! open consistent snapshot that introspects and streams rows; a [`Target`]
//! creates tables, bulk-loads chunks and applies constraints.

mod merge;
pub mod pool;
mod said;
pub mod sqltext;
mod target;

pub use target::{Admin, BulkLoad, Catalog, Ddl, Dialect, JournalStore, Merge, Sql, Target};
pub mod mysql;
pub mod postgres;
pub mod sqlite;

use crate::archive::codec::CodecError;
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
pub use crate::model::Constraint;
use crate::model::{EngineKind, Schema, Table, TableFilter};
use crate::stream::{ChunkSink, Rows, SinkClosed};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Errors from an engine, with the context of what was being done.
#[derive(Debug, Error)]
pub enum EngineError {
    #[error("cannot connect to {target}: {reason}")]
    Connect { target: String, reason: String },
    #[error("{target}: authentication failed: {reason}")]
    Auth { target: String, reason: String },
    #[error("{target}: database {database:?} does not exist")]
    NoDatabase { target: String, database: String },
    /// A database haul was to create is there already (exit 5).
    #[error("{target}: database {database:?} exists already")]
    Exists { target: String, database: String },
    #[error("{target}: table {table:?} does not exist")]
    NoTable { target: String, table: String },
    #[error("{target}: schema {schema:?} does not exist")]
    NoSchema { target: String, schema: String },
    /// `--schemas` or `--exclude-schemas` on an engine without schemas.
    #[error("--schemas and --exclude-schemas are for PostgreSQL sources; {engine} has no schemas (the database is the one the URL names)")]
    NoSchemas { engine: String },
    #[error("{context}: {message}")]
    Server { context: String, message: String },
    /// A driver or server error: `message` is its one-line form, `source`
    /// the driver's error itself (shown with `-v`).
    #[error("{context}: {message}")]
    Driver {
        context: String,
        message: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    #[error("table {table}, {chunk}: {message}")]
    Load {
        table: String,
        chunk: String,
        message: String,
    },
    #[error("table {table}, {chunk}: {source}")]
    Codec {
        table: String,
        chunk: String,
        #[source]
        source: CodecError,
    },
    #[error(transparent)]
    SinkClosed(#[from] SinkClosed),
    #[error("{0}")]
    Unsupported(String),
    /// What haul will not dump or restore, said before anything is
    /// written (exit 5).
    #[error("{0}")]
    Refused(String),
    /// The archive holds SQL text haul will not run (exit 4).
    #[error("{0}")]
    Unsafe(String),
    /// A user table bears the name of haul's restore journal (exit 5).
    #[error("{target}: table {table} has the name haul gives its restore journal, so haul cannot carry it; rename it (nothing was written)")]
    Reserved { target: String, table: String },
    /// Another haul restore holds the target's lock; `holder` says which.
    #[error("another haul restore is running into {target} ({holder})")]
    Busy { target: String, holder: String },
}

/// Errors of one chunk's load, naming its table and chunk.
pub struct ChunkErrors<'a> {
    pub table: &'a str,
    pub chunk: &'a str,
}

impl ChunkErrors<'_> {
    pub fn load(&self, message: String) -> EngineError {
        EngineError::Load {
            table: self.table.to_string(),
            chunk: self.chunk.to_string(),
            message,
        }
    }

    pub fn codec(&self, source: CodecError) -> EngineError {
        EngineError::Codec {
            table: self.table.to_string(),
            chunk: self.chunk.to_string(),
            source,
        }
    }
}

/// A slice of a table that one worker reads (a page range, a key range).
#[derive(Debug, Clone)]
pub struct Part {
    /// Engine-specific row filter (SQL), `None` for the whole table.
    pub filter: Option<String>,
}

/// An open, consistent snapshot of a source database.
#[async_trait]
pub trait Source: Send + Sync {
    fn info(&self) -> &SourceInfo;
    /// How consistency is achieved, for the manifest.
    fn snapshot_method(&self) -> String;
    /// Things the user should know about this snapshot.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
    /// Introspect the tables the filter selects.
    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError>;
    /// Split a table into parts readable in parallel.
    async fn parts(&self, table: &Table, jobs: usize) -> Result<Vec<Part>, EngineError>;
    /// Stream a part's rows (data columns, in order) into `sink`.
    async fn read(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError>;
    /// Stream the bytes of `objects` (the schema's large objects) into
    /// `sink` as rows of [`crate::model::objects::LARGE_OBJECT_COLUMNS`],
    /// in pieces of bounded size, each object's in order.
    async fn read_large_objects(
        &self,
        objects: &[crate::model::LargeObject],
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        let _ = sink;
        match objects.is_empty() {
            true => Ok(()),
            false => Err(EngineError::Unsupported(
                "large objects cannot be read from this engine".into(),
            )),
        }
    }
    /// What identifies the database read: the server and the database on
    /// it, however it was reached (see [`Catalog::identity`]).
    async fn identity(&self) -> Result<String, EngineError>;
    /// Tables of the database read that bear the names of haul's own
    /// restore journal ([`JOURNAL_TABLE`], [`CHUNKS_TABLE`]), with their
    /// columns in order; introspection never lists them.
    async fn reserved_tables(&self) -> Result<Vec<(String, Vec<String>)>, EngineError>;
    /// End the snapshot.
    async fn close(&self) -> Result<(), EngineError>;
}

/// A server session of an earlier haul run still running a statement in
/// the target (its client was killed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lingering {
    /// The server's id of the session (PostgreSQL pid, MySQL connection id).
    pub id: u64,
    /// The start of the statement it runs.
    pub statement: String,
}

/// This process's run id: its pid and start time, which marks its sessions
/// in a target (`haul restore RUN`).
pub fn run_id() -> &'static str {
    static ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    ID.get_or_init(|| {
        let now = crate::archive::manifest::now_rfc3339();
        let secs = now.split('.').next().unwrap_or(&now).trim_end_matches('Z');
        format!("{}@{secs}Z", std::process::id())
    })
}

/// A run id (`PID@TIME`) said for a user.
pub(crate) fn describe_run(run: &str) -> String {
    match run.split_once('@') {
        Some((pid, at)) => format!("haul pid {pid}, since {at}"),
        None => format!("haul run {run}"),
    }
}

/// The marker a haul run's target sessions carry (PostgreSQL
/// `application_name`, a comment leading MySQL DDL).
pub fn session_marker() -> String {
    format!("haul restore {}", run_id())
}

// The role traits of a restore target are in `target.rs`.

/// Name of the table that holds a restore's journal in the target.
pub const JOURNAL_TABLE: &str = "haul_journal";

/// Name of the table that records the chunks a restore has loaded.
pub const CHUNKS_TABLE: &str = "haul_journal_chunks";

/// The columns of haul's own journal tables, in order.
const JOURNAL_COLUMNS: &[&str] = &["id", "written_at", "body"];
const CHUNKS_COLUMNS: &[&str] = &["tbl", "chunk"];

/// (table, column) pairs in catalog order, grouped by table.
pub fn columns_by_table(pairs: Vec<(String, String)>) -> Vec<(String, Vec<String>)> {
    let mut found: Vec<(String, Vec<String>)> = Vec::new();
    for (table, column) in pairs {
        match found.last_mut() {
            Some((t, cols)) if *t == table => cols.push(column),
            _ => found.push((table, vec![column])),
        }
    }
    found
}

/// What to do with tables named like haul's journal in a source: an
/// unfinished restore's own journal is left out with a warning (returned);
/// a user's table of that name cannot be carried (its name is haul's in
/// every target), so the dump is refused, naming it.
pub fn reserved_verdict(
    found: &[(String, Vec<String>)],
    target: &str,
) -> Result<Vec<String>, EngineError> {
    let mut warnings = Vec::new();
    for (name, columns) in found {
        let shape = if name == JOURNAL_TABLE {
            JOURNAL_COLUMNS
        } else {
            CHUNKS_COLUMNS
        };
        if columns.iter().map(String::as_str).eq(shape.iter().copied()) {
            warnings.push(format!(
                "table {name} is an unfinished haul restore's journal in {target}: not dumped \
                 (finish that restore with --resume or undo it with --abandon)"
            ));
        } else {
            return Err(EngineError::Reserved {
                target: target.to_string(),
                table: name.clone(),
            });
        }
    }
    Ok(warnings)
}

/// Whether a table is haul's own bookkeeping, never dumped or planned.
pub fn is_internal(table: &str) -> bool {
    table == JOURNAL_TABLE || table == CHUNKS_TABLE
}

/// Pairs of distinct `names` equal under `fold`, each pair once, in the
/// order of `names`.
pub fn case_twins<'a>(names: &[&'a str], fold: impl Fn(&str) -> String) -> Vec<(&'a str, &'a str)> {
    let mut first: std::collections::HashMap<String, &'a str> = Default::default();
    let mut twins = Vec::new();
    for &n in names {
        match first.get(&fold(n)) {
            Some(&m) if m != n => twins.push((m, n)),
            Some(_) => {}
            None => {
                first.insert(fold(n), n);
            }
        }
    }
    twins
}

/// A loaded chunk: plan table `table`, its chunk `chunk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkMark {
    pub table: usize,
    pub chunk: usize,
}

impl ChunkMark {
    /// The statement recording this mark (`quote` quotes an identifier).
    pub fn insert_sql(&self, quote: impl Fn(&str) -> String) -> String {
        format!(
            "INSERT INTO {} (tbl, chunk) VALUES ({}, {})",
            quote(CHUNKS_TABLE),
            self.table,
            self.chunk
        )
    }
}

/// Duplicate groups from rows of (values..., count); a count that does not
/// parse is an error naming `context`.
pub fn groups(
    rows: Vec<Vec<Option<String>>>,
    width: usize,
    context: &str,
) -> Result<Vec<(Vec<String>, u64)>, EngineError> {
    rows.into_iter()
        .map(|r| {
            let vals = r
                .iter()
                .take(width)
                .map(|v| v.clone().unwrap_or_default())
                .collect();
            let n = r
                .get(width)
                .and_then(|v| v.as_ref())
                .and_then(|v| v.parse().ok())
                .ok_or_else(|| EngineError::Server {
                    context: context.to_string(),
                    message: format!("the server returned no count in {r:?}"),
                })?;
            Ok((vals, n))
        })
        .collect()
}

/// The number a `SELECT COUNT(*)` returned; anything else is an error.
pub fn parse_count(rows: Vec<Vec<Option<String>>>, context: &str) -> Result<u64, EngineError> {
    rows.first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| EngineError::Server {
            context: context.to_string(),
            message: format!("the server returned no count ({rows:?})"),
        })
}

/// Open a snapshot for dumping.
pub async fn open_source(spec: &ConnSpec, jobs: usize) -> Result<Box<dyn Source>, EngineError> {
    match spec.engine {
        EngineKind::Postgres => Ok(Box::new(postgres::PgSource::open(spec, jobs).await?)),
        EngineKind::Sqlite => Ok(Box::new(sqlite::SqliteSource::open(spec)?)),
        EngineKind::Mysql => Ok(Box::new(mysql::MySource::open(spec, jobs).await?)),
    }
}

/// Connect to a restore target.
pub async fn open_target(spec: &ConnSpec, jobs: usize) -> Result<Box<dyn Target>, EngineError> {
    match spec.engine {
        EngineKind::Postgres => Ok(Box::new(postgres::PgTarget::open(spec, jobs).await?)),
        EngineKind::Sqlite => Ok(Box::new(sqlite::SqliteTarget::open(spec)?)),
        EngineKind::Mysql => Ok(Box::new(mysql::MyTarget::open(spec, jobs).await?)),
    }
}

/// Connect to the server of `spec` to create and drop whole databases
/// (from a session on another database: PostgreSQL's `postgres`, none on
/// MySQL); on SQLite, database names are file paths.
pub async fn open_admin(spec: &ConnSpec) -> Result<Box<dyn Admin>, EngineError> {
    match spec.engine {
        EngineKind::Postgres => Ok(Box::new(postgres::PgAdmin::open(spec).await?)),
        EngineKind::Sqlite => Ok(Box::new(sqlite::SqliteAdmin)),
        EngineKind::Mysql => Ok(Box::new(mysql::MyAdmin::open(spec).await?)),
    }
}

/// SQL listing groups of rows that share a value of the (quoted) columns,
/// NULLs excluded, biggest first: each column as text (`as_text` wraps a
/// quoted column in the engine's cast), then the group's row count.
pub fn duplicates_sql(
    table: &str,
    columns: &[String],
    predicate: Option<&str>,
    as_text: impl Fn(&str) -> String,
    limit: usize,
) -> String {
    let mut conditions: Vec<String> = columns.iter().map(|c| format!("{c} IS NOT NULL")).collect();
    // A partial index's condition: only the rows it covers can collide.
    conditions.extend(predicate.map(|p| format!("({p})")));
    format!(
        "SELECT {}, COUNT(*) FROM {table} WHERE {} GROUP BY {} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT {limit}",
        columns.iter().map(|c| as_text(c)).collect::<Vec<_>>().join(", "),
        conditions.join(" AND "),
        columns.join(", "),
    )
}

/// Refuse `--schemas`/`--exclude-schemas` on a source of `engine`, which
/// has no schemas.
pub fn refuse_schema_filter(filter: &TableFilter, engine: &str) -> Result<(), EngineError> {
    if filter.schemas.is_empty() && filter.exclude_schemas.is_empty() {
        return Ok(());
    }
    Err(EngineError::NoSchemas {
        engine: engine.to_string(),
    })
}

/// Quote an identifier with double quotes (PostgreSQL, SQLite).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A PostgreSQL or SQLite string literal (MySQL's is
/// [`sqltext::literal`], which also escapes backslashes).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
