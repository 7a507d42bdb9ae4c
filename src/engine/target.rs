//! A restore target by role: [`Dialect`] (quoting), [`Catalog`] (reading),
//! [`Ddl`] (schema changes), [`BulkLoad`], [`JournalStore`], [`Merge`], and
//! [`Sql`], the raw statements the engines' own default operations use.
//! [`Target`] is all of them; restore code names operations, never SQL.
//! [`Admin`] creates and drops whole databases on a server.

use super::{
    duplicates_sql, groups, merge, parse_count, ChunkMark, Constraint, EngineError, Lingering,
    Rows, CHUNKS_TABLE, JOURNAL_TABLE,
};
use crate::model::{Column, EngineKind, NativeObject, Role, Schema, Table, TableFilter};
use async_trait::async_trait;

/// How an engine writes SQL: its kind, identifier and literal quoting, casts.
pub trait Dialect: Send + Sync {
    fn kind(&self) -> EngineKind;

    /// Quote an identifier.
    fn quote(&self, ident: &str) -> String;

    /// SQL casting a (quoted) column to text.
    fn text_sql(&self, column: &str) -> String;

    /// SQL true when two (quoted) values are exactly the same: NULL is the
    /// same as NULL, and text compares byte for byte, whatever collation.
    fn same_value_sql(&self, a: &str, b: &str) -> String;

    /// A string literal (the engine's one literal function).
    fn string_literal(&self, s: &str) -> String {
        super::sqltext::literal(self.kind(), s)
    }
}

/// Raw statements, for the engine's own operations only: nothing outside
/// `engine/` builds SQL.
#[async_trait]
pub trait Sql: Send + Sync {
    /// Run statements in one transaction (statements that commit on their
    /// own, like MySQL DDL, do not belong here); rows each one affected.
    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError>;

    /// A query's rows, every value as text.
    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError>;
}

/// Reading a target's catalog: tables, rows, what it can create.
#[async_trait]
pub trait Catalog: Dialect + Sql {
    async fn server_version(&self) -> Result<String, EngineError>;

    /// What identifies this database however it was reached: the server's
    /// own identity and the database on it (a SQLite file's device and
    /// inode). Equal to a [`crate::engine::Source::identity`] when both
    /// are the same database.
    async fn identity(&self) -> Result<String, EngineError>;

    /// Introspect the target's existing tables.
    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError>;

    /// Whether a table holds any row.
    async fn has_rows(&self, table: &str) -> Result<bool, EngineError>;

    /// The account objects created here run as when no definer is given,
    /// in the form the engine's catalog names definers (MySQL
    /// `user@host`); `None` where the engine has no definers.
    async fn current_user(&self) -> Result<Option<String>, EngineError> {
        Ok(None)
    }

    /// The roles (users and groups) the server has, where it has them.
    async fn roles(&self) -> Result<Vec<String>, EngineError> {
        Ok(Vec::new())
    }

    /// Whether this constraint can be added after the data is loaded (else
    /// it is created with the table).
    fn can_add_later(&self, c: &Constraint) -> bool;

    /// Why `table` cannot be created here under its own names (identifier
    /// limits); `plan` and `restore` refuse before writing anything.
    fn refuse_names(&self, table: &Table) -> Vec<String> {
        let _ = table;
        Vec::new()
    }

    /// Why the tables `names` (every table a restore leaves in the target)
    /// cannot live side by side here (names the engine takes for one another).
    fn refuse_tables(&self, names: &[&str]) -> Vec<String> {
        let _ = names;
        Vec::new()
    }

    /// The type this engine creates for a column of an archive from
    /// another engine (what `haul plan` shows).
    fn column_type(&self, table: &Table, column: &Column) -> Option<String> {
        let _ = (table, column);
        None
    }

    /// Whether MySQL geometries can be PostGIS geometries here (PostgreSQL
    /// with the extension installed, or one the restoring user may create).
    async fn postgis(&self) -> Result<crate::convert::spatial::Postgis, EngineError> {
        Ok(crate::convert::spatial::Postgis::Unusable(format!(
            "{} has no PostGIS",
            self.kind()
        )))
    }

    /// Groups of rows sharing a value of `columns` (NULLs excluded; only
    /// rows meeting `predicate`, a partial index's condition in this
    /// engine's SQL, checked by `engine::sqltext` when read from an archive),
    /// in the target's collation: each group's values as text and its row
    /// count.
    async fn duplicates(
        &self,
        table: &str,
        columns: &[String],
        predicate: Option<&str>,
        limit: usize,
    ) -> Result<Vec<(Vec<String>, u64)>, EngineError> {
        let cols: Vec<String> = columns.iter().map(|c| self.quote(c)).collect();
        // GROUP BY compares in the columns' collations, as the unique key does.
        let sql = duplicates_sql(
            &self.quote(table),
            &cols,
            predicate,
            |c| self.text_sql(c),
            limit,
        );
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
}

/// Changing a target's schema: tables, constraints, sequences, extras.
#[async_trait]
pub trait Ddl: Dialect + Sql {
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

    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError>;

    /// Move sequences / auto-increment counters past the loaded data.
    async fn reset_sequences(&self, table: &Table, from: EngineKind) -> Result<(), EngineError>;

    /// Replay extras (views, triggers) and refresh planner statistics.
    /// Engines that create objects in [`Ddl::create_objects`] ignore the
    /// extras here.
    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError>;

    /// What the user should know about how [`Ddl::finish`] created the
    /// extras: what it changed, what the server noted.
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }

    /// Create `objects` (of an archive of `from`, already in creation
    /// order) in one transaction; what could not be done without failing
    /// the restore (an owner or grant refused) comes back as warnings.
    /// Engines that replay their objects in [`Ddl::finish`] keep this
    /// default, which does nothing.
    async fn create_objects(
        &self,
        objects: &[NativeObject],
        from: EngineKind,
    ) -> Result<Vec<String>, EngineError> {
        let _ = (objects, from);
        Ok(Vec::new())
    }

    /// Drop those of `objects` (in creation order; dropped in reverse) and
    /// of `schema`'s types the target has, for `--clean`: what other
    /// objects of the target still need is kept, with a warning. Engines
    /// whose objects go with their tables keep this default.
    async fn drop_objects(
        &self,
        schema: &Schema,
        objects: &[NativeObject],
        from: EngineKind,
    ) -> Result<Vec<String>, EngineError> {
        let _ = (schema, objects, from);
        Ok(Vec::new())
    }

    /// Create `roles` (missing ones the archive describes); warnings for
    /// what is not carried (passwords, superuser).
    async fn create_roles(&self, roles: &[Role]) -> Result<Vec<String>, EngineError> {
        let _ = roles;
        Ok(Vec::new())
    }

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
}

/// Loading rows in bulk.
#[async_trait]
pub trait BulkLoad: Send + Sync {
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

    /// Write one chunk of large-object pieces (rows of
    /// [`crate::model::objects::LARGE_OBJECT_COLUMNS`]) at their offsets,
    /// atomically, with `mark` as [`BulkLoad::load`] does; pieces of
    /// objects not in `only` are read and skipped. A piece at offset 0
    /// empties its object first, so an object written again never keeps
    /// bytes of before. Returns the rows read.
    async fn load_large_objects(
        &self,
        rows: &mut dyn Rows,
        only: &std::collections::HashSet<u32>,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        let _ = (rows, only, label, mark);
        Err(EngineError::Unsupported(
            "large objects cannot be written to this engine".into(),
        ))
    }
}

/// The restore journal kept in the target, and the chunks it has loaded.
#[async_trait]
pub trait JournalStore: Dialect + Sql {
    /// Record a chunk mark on its own (a copied table complete).
    async fn mark_chunk(&self, mark: ChunkMark) -> Result<(), EngineError> {
        self.execute(
            &[mark.insert_sql(|i| self.quote(i))],
            "recording a copied table in the restore journal",
        )
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

    /// Take the target's restore lock, held until this target is dropped
    /// (or its process dies); [`EngineError::Busy`] when another run holds it.
    async fn lock(&self) -> Result<(), EngineError>;

    /// Who holds the restore lock, if anyone (read only: `haul plan`).
    async fn lock_holder(&self) -> Result<Option<String>, EngineError>;

    /// Sessions of other haul runs still running statements in this
    /// target: a killed run's DDL goes on on the server until it ends.
    async fn lingering(&self) -> Result<Vec<Lingering>, EngineError> {
        Ok(Vec::new())
    }

    /// Cancel the statement a lingering session runs.
    async fn cancel(&self, session: &Lingering) -> Result<(), EngineError> {
        let _ = session;
        Ok(())
    }
}

/// Merging staged rows into a table that has rows (conflicts found with
/// joins in the target's collation).
#[async_trait]
pub trait Merge: Catalog + Ddl {
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

    /// How many rows of `staging` a row of `table` holds exactly, in every
    /// one of `columns` (`key`: a key of `table` to find them by).
    async fn merge_same_count(
        &self,
        table: &str,
        staging: &str,
        columns: &[String],
        key: &[String],
    ) -> Result<u64, EngineError> {
        let sql = merge::Names::new(self, table, staging).same_count_sql(columns, key);
        let context = format!("table {table}: counting archive rows the target already holds");
        parse_count(self.query_text(&sql, &context).await?, &context)
    }

    /// In one transaction: delete the rows of `staging` that `table` already
    /// holds exactly, and replace the journal with `journal`; how many.
    async fn merge_drop_same(
        &self,
        table: &str,
        staging: &str,
        columns: &[String],
        key: &[String],
        journal: &str,
    ) -> Result<u64, EngineError> {
        let names = merge::Names::new(self, table, staging);
        let sql = vec![
            names.same_delete_sql(columns, key),
            format!(
                "UPDATE {} SET body = {} WHERE id = 1",
                self.quote(JOURNAL_TABLE),
                self.string_literal(journal)
            ),
        ];
        let done = self
            .execute(
                &sql,
                &format!("table {table}: leaving out archive rows the target already holds"),
            )
            .await?;
        Ok(done.first().copied().unwrap_or(0))
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
}

/// Creating and dropping whole databases, from a session that is in none
/// of them: the scratch database of `verify --restore-into`.
#[async_trait]
pub trait Admin: Send + Sync {
    /// Create database `name`, empty; [`EngineError::Exists`] when the
    /// server has one of that name.
    async fn create_database(&self, name: &str) -> Result<(), EngineError>;

    /// Drop database `name` if it exists, ending the sessions still in it.
    async fn drop_database(&self, name: &str) -> Result<(), EngineError>;
}

/// A database being restored into: every role together.
pub trait Target: Catalog + Ddl + BulkLoad + JournalStore + Merge {}

impl<T: Catalog + Ddl + BulkLoad + JournalStore + Merge> Target for T {}
