//! Engines: everything engine-specific and nothing else. A [`Source`] is an
//! open consistent snapshot that introspects and streams rows; a [`Target`]
//! creates tables, bulk-loads chunks and applies constraints.

pub use crate::convert;
mod merge;
pub mod mysql;
pub mod postgres;
pub mod sqlite;

use crate::archive::codec::CodecError;
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::model::{Check, EngineKind, ForeignKey, Index, Key, Schema, Table, TableFilter};
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
    #[error("{target}: table {table:?} does not exist")]
    NoTable { target: String, table: String },
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

/// A constraint or index that a restore may create after the data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Constraint {
    PrimaryKey(Key),
    Unique(Key),
    Index(Index),
    ForeignKey(ForeignKey),
    Check(Check),
}

impl Constraint {
    pub fn name(&self) -> &str {
        match self {
            Constraint::PrimaryKey(k) | Constraint::Unique(k) => &k.name,
            Constraint::Index(i) => &i.name,
            Constraint::ForeignKey(f) => &f.name,
            Constraint::Check(c) => &c.name,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            Constraint::PrimaryKey(_) => "primary key",
            Constraint::Unique(_) => "unique",
            Constraint::Index(_) => "index",
            Constraint::ForeignKey(_) => "foreign key",
            Constraint::Check(_) => "check",
        }
    }

    /// Every constraint and index of a table, foreign keys last.
    pub fn all_of(table: &Table) -> Vec<Constraint> {
        let mut v = Vec::new();
        if let Some(pk) = &table.primary_key {
            v.push(Constraint::PrimaryKey(pk.clone()));
        }
        v.extend(table.uniques.iter().cloned().map(Constraint::Unique));
        v.extend(table.indexes.iter().cloned().map(Constraint::Index));
        v.extend(table.checks.iter().cloned().map(Constraint::Check));
        v.extend(
            table
                .foreign_keys
                .iter()
                .cloned()
                .map(Constraint::ForeignKey),
        );
        v
    }
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
    /// End the snapshot.
    async fn close(&self) -> Result<(), EngineError>;
}

/// A database being restored into.
#[async_trait]
pub trait Target: Send + Sync {
    fn kind(&self) -> EngineKind;
    async fn server_version(&self) -> Result<String, EngineError>;
    /// Introspect the target's existing tables.
    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError>;
    /// Whether a table holds any row.
    async fn has_rows(&self, table: &str) -> Result<bool, EngineError>;
    /// Whether this constraint can be added after the data is loaded (else
    /// it is created with the table).
    fn can_add_later(&self, c: &Constraint) -> bool;
    /// Why `table` cannot be created here under its own names (identifier
    /// limits); `plan` and `restore` refuse before writing anything.
    fn refuse_names(&self, table: &Table) -> Vec<String> {
        let _ = table;
        Vec::new()
    }
    /// The type this engine creates for a column of an archive from
    /// another engine (what `haul plan` shows).
    fn column_type(&self, table: &Table, column: &crate::model::Column) -> Option<String> {
        let _ = (table, column);
        None
    }
    /// Create what tables depend on (enum types, sequences).
    async fn prepare(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError>;
    async fn drop_table(&self, table: &str) -> Result<(), EngineError>;
    /// Create a table with only the `inline` constraints.
    async fn create_table(
        &self,
        table: &Table,
        inline: &[Constraint],
        from: EngineKind,
    ) -> Result<(), EngineError>;
    /// Bulk-load rows into `columns` of `table`, atomically; returns the
    /// number of rows the server stored. `label` names the chunk in errors.
    /// With a `mark`, the chunk is recorded in [`CHUNKS_TABLE`] in the same
    /// transaction, so a resumed restore knows exactly what is in.
    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError>;
    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError>;
    /// Move sequences / auto-increment counters past the loaded data.
    async fn reset_sequences(&self, table: &Table, from: EngineKind) -> Result<(), EngineError>;
    /// Replay extras (views, triggers) and refresh planner statistics.
    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError>;

    /// Refresh planner statistics of one loaded table (engines that do it in
    /// `finish` need nothing here).
    async fn analyze(&self, table: &str) -> Result<(), EngineError> {
        let _ = table;
        Ok(())
    }

    /// Drop a constraint or index (to relax it during a load).
    async fn drop_constraint(&self, table: &Table, c: &Constraint) -> Result<(), EngineError> {
        let _ = c;
        Err(EngineError::Unsupported(format!(
            "table {}: relaxing constraints is not supported on {} yet",
            table.name,
            self.kind()
        )))
    }

    /// Quote an identifier.
    fn quote(&self, ident: &str) -> String;

    /// SQL casting a (quoted) column to text.
    fn text_sql(&self, column: &str) -> String;

    /// A string literal.
    fn string_literal(&self, s: &str) -> String {
        quote_literal(s)
    }

    /// Run statements in one transaction (statements that commit on their
    /// own, like MySQL DDL, do not belong here); rows each one affected.
    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError>;

    /// A query's rows, every value as text.
    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError>;

    /// Groups of rows sharing a value of `columns` (NULLs excluded), in the
    /// target's collation: each group's values as text and its row count.
    async fn duplicates(
        &self,
        table: &str,
        columns: &[String],
        limit: usize,
    ) -> Result<Vec<(Vec<String>, u64)>, EngineError> {
        let cols: Vec<String> = columns.iter().map(|c| self.quote(c)).collect();
        // GROUP BY compares in the columns' collations, as the unique key does.
        let sql = duplicates_sql(&self.quote(table), &cols, |c| self.text_sql(c), limit);
        let rows = self
            .query_text(&sql, &format!("table {table}: probing for duplicates"))
            .await?;
        groups(
            rows,
            columns.len(),
            &format!("table {table}: probing for duplicates"),
        )
    }

    /// How many rows `table` holds.
    async fn count_rows(&self, table: &str, context: &str) -> Result<u64, EngineError> {
        let sql = format!("SELECT COUNT(*) FROM {}", self.quote(table));
        let rows = self.query_text(&sql, context).await?;
        parse_count(rows, context)
    }

    /// Delete every row of `table` (one transaction).
    async fn empty_table(&self, table: &str, context: &str) -> Result<(), EngineError> {
        self.execute(&[format!("DELETE FROM {}", self.quote(table))], context)
            .await
            .map(|_| ())
    }

    /// Create `name` empty, with the columns (types, collations) of `like`.
    async fn create_staging(
        &self,
        name: &str,
        like: &str,
        context: &str,
    ) -> Result<(), EngineError> {
        let sql = format!(
            "CREATE TABLE {} AS SELECT * FROM {} WHERE 1 = 0",
            self.quote(name),
            self.quote(like)
        );
        self.execute(&[sql], context).await.map(|_| ())
    }

    /// Record a chunk mark on its own (a copied table complete).
    async fn mark_chunk(&self, mark: ChunkMark) -> Result<(), EngineError> {
        self.execute(
            &[mark.insert_sql(|i| self.quote(i))],
            "recording a copied table in the restore journal",
        )
        .await
        .map(|_| ())
    }

    /// Groups of `key` values held both by a row of `table` and rows of
    /// `staging` (in the target's collation): values as text, archive rows.
    async fn merge_conflicts(
        &self,
        table: &str,
        staging: &str,
        key: &[String],
        limit: usize,
    ) -> Result<Vec<(Vec<String>, u64)>, EngineError> {
        let sql = merge::Names::new(self, table, staging).conflicts_sql(key, limit);
        let rows = self
            .query_text(
                &sql,
                &format!("table {table}: probing for rows the target already has"),
            )
            .await?;
        groups(
            rows,
            key.len(),
            &format!("table {table}: probing for rows the target already has"),
        )
    }

    /// How many rows of `table` collide with `staging` on `key`.
    async fn merge_conflict_count(
        &self,
        table: &str,
        staging: &str,
        key: &[String],
    ) -> Result<u64, EngineError> {
        let sql = merge::Names::new(self, table, staging).conflict_count_sql(key);
        let context = format!("table {table}: counting rows the target already has");
        parse_count(self.query_text(&sql, &context).await?, &context)
    }

    /// Copy into a new table `rejects` the rows of `table` (`in_target`) or
    /// of `staging` that collide with the other on any of `keys`; returns
    /// how many.
    async fn merge_collect_losers(
        &self,
        table: &str,
        staging: &str,
        rejects: &str,
        keys: &[Vec<String>],
        in_target: bool,
    ) -> Result<u64, EngineError> {
        let names = merge::Names::new(self, table, staging);
        let context = format!("table {table}: collecting the rows it rejects");
        self.drop_table(rejects).await?;
        self.execute(
            &[names.collect_sql(&self.quote(rejects), keys, in_target)],
            &context,
        )
        .await?;
        self.count_rows(
            rejects,
            &format!("table {table}: counting the rows it rejects"),
        )
        .await
    }

    /// In one transaction: delete the losers (`delete_losers`: in the target
    /// or in staging), insert the staged rows' `columns` into `table`, empty
    /// the staging table, and replace the journal with `journal`.
    async fn merge_commit(
        &self,
        table: &str,
        staging: &str,
        delete_losers: Option<(&[Vec<String>], bool)>,
        columns: &[String],
        journal: &str,
    ) -> Result<(), EngineError> {
        let names = merge::Names::new(self, table, staging);
        let mut sql = Vec::new();
        if let Some((keys, in_target)) = delete_losers {
            sql.push(names.delete_sql(keys, in_target));
        }
        sql.push(names.insert_sql(columns));
        sql.push(format!("DELETE FROM {}", names.s));
        sql.push(format!(
            "UPDATE {} SET body = {} WHERE id = 1",
            self.quote(JOURNAL_TABLE),
            self.string_literal(journal)
        ));
        self.execute(&sql, &format!("table {table}: merging the archive's rows"))
            .await
            .map(|_| ())
    }

    /// The chunks recorded as loaded by [`Target::load`] marks.
    async fn journal_chunks(&self) -> Result<Vec<ChunkMark>, EngineError> {
        let sql = format!("SELECT tbl, chunk FROM {}", self.quote(CHUNKS_TABLE));
        let rows = self.query_text(&sql, "reading the restore journal").await?;
        rows.into_iter()
            .map(|r| {
                let field = |i: usize| {
                    r.get(i)
                        .and_then(|v| v.as_ref())
                        .and_then(|v| v.parse().ok())
                };
                match (field(0), field(1)) {
                    (Some(table), Some(chunk)) => Ok(ChunkMark { table, chunk }),
                    _ => Err(EngineError::Server {
                        context: "reading the restore journal".into(),
                        message: format!("{CHUNKS_TABLE} holds an unreadable mark {r:?}"),
                    }),
                }
            })
            .collect()
    }

    /// The restore journal kept in the target, if any.
    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        Ok(None)
    }

    /// Write (replace) the restore journal, durably.
    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        let _ = body;
        Err(EngineError::Unsupported(format!(
            "a restore journal is not supported on {} yet",
            self.kind()
        )))
    }

    /// Remove the restore journal.
    async fn journal_clear(&self) -> Result<(), EngineError> {
        Ok(())
    }
}

/// Name of the table that holds a restore's journal in the target.
pub const JOURNAL_TABLE: &str = "haul_journal";

/// Name of the table that records the chunks a restore has loaded.
pub const CHUNKS_TABLE: &str = "haul_journal_chunks";

/// Whether a table is haul's own bookkeeping, never dumped or planned.
pub fn is_internal(table: &str) -> bool {
    table == JOURNAL_TABLE || table == CHUNKS_TABLE
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

/// SQL listing groups of rows that share a value of the (quoted) columns,
/// NULLs excluded, biggest first: each column as text (`as_text` wraps a
/// quoted column in the engine's cast), then the group's row count.
pub fn duplicates_sql(
    table: &str,
    columns: &[String],
    as_text: impl Fn(&str) -> String,
    limit: usize,
) -> String {
    format!(
        "SELECT {}, COUNT(*) FROM {table} WHERE {} GROUP BY {} HAVING COUNT(*) > 1 ORDER BY COUNT(*) DESC LIMIT {limit}",
        columns.iter().map(|c| as_text(c)).collect::<Vec<_>>().join(", "),
        columns.iter().map(|c| format!("{c} IS NOT NULL")).collect::<Vec<_>>().join(" AND "),
        columns.join(", "),
    )
}

/// Quote an identifier with double quotes (PostgreSQL, SQLite).
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quote a string literal with single quotes.
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
