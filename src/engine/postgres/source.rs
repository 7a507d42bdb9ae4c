//! The dump side: [`PgSource`], a snapshot shared by workers that read
//! tables, whole or in page ranges, through `COPY ... TO STDOUT`.

use super::conn::{col, connect, identity, server_err};
use super::copy_text::{CopyTextParser, ParseError};
use super::introspect::{dumped_schemas, introspect, partitions_left_out, refuse_unsupported};
use super::largeobjects;
use super::objects;
use super::{column_list, qtable};
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::engine::{
    columns_by_table, quote_literal, EngineError, Part, Source, CHUNKS_TABLE, JOURNAL_TABLE,
};
use crate::model::{Column, EngineKind, LargeObject, Schema, Table, TableFilter};
use crate::stream::ChunkSink;
use async_trait::async_trait;
use futures_util::StreamExt;
use tokio::sync::Mutex;
use tokio_postgres::Client;

/// Tables larger than this are read in several page-range parts.
const PART_BYTES: i64 = 256 << 20;

/// A PostgreSQL snapshot: one coordinator transaction whose snapshot the
/// workers import.
pub struct PgSource {
    info: SourceInfo,
    coordinator: Client,
    workers: Mutex<Vec<Client>>,
    snapshot: String,
    target: String,
    /// What the schema read found it cannot carry.
    warnings: std::sync::Mutex<Vec<String>>,
}

impl PgSource {
    /// Open the snapshot on `spec`, with `jobs` workers joined to it.
    pub async fn open(spec: &ConnSpec, jobs: usize) -> Result<Self, EngineError> {
        let target = spec.to_string();
        let coordinator = connect(spec).await?;
        coordinator
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
        let ctx = format!("exporting the snapshot on {target}");
        let r = coordinator
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(|e| server_err(&ctx, e))?;
        let snapshot: String = col(&r, 0, &ctx)?;
        let ctx = "reading the server version";
        let r = coordinator
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| server_err(ctx, e))?;
        let version: String = col(&r, 0, ctx)?;
        let mut futs = Vec::new();
        for _ in 0..jobs.max(1) {
            futs.push(async {
                let c = connect(spec).await?;
                c.batch_execute(&format!(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}",
                    quote_literal(&snapshot)
                ))
                .await
                .map_err(|e| server_err(format!("joining the snapshot on {target}"), e))?;
                Ok::<_, EngineError>(c)
            });
        }
        let workers = futures_util::future::try_join_all(futs).await?;
        Ok(PgSource {
            info: SourceInfo {
                engine: EngineKind::Postgres,
                server_version: version,
                database: spec.database.clone(),
            },
            coordinator,
            workers: Mutex::new(workers),
            snapshot,
            target,
            warnings: Default::default(),
        })
    }
}

impl PgSource {
    /// The rows of a table without data columns (none, or only generated
    /// ones): as many empty rows as it has.
    async fn read_empty_rows(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        let sql = format!(
            "SELECT count(*) FROM ONLY {}{}",
            qtable(&table.name),
            part.filter
                .as_ref()
                .map(|f| format!(" WHERE {f}"))
                .unwrap_or_default()
        );
        let client =
            self.workers.lock().await.pop().ok_or_else(|| {
                EngineError::Unsupported("more readers than snapshot workers".into())
            })?;
        let ctx = format!("table {}: counting its rows", table.name);
        let r = client.query_one(&sql, &[]).await;
        self.workers.lock().await.push(client);
        let n: i64 = col(&r.map_err(|e| server_err(&ctx, e))?, 0, &ctx)?;
        for _ in 0..n {
            sink.end_row()?;
        }
        Ok(())
    }
}

#[async_trait]
impl Source for PgSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn warnings(&self) -> Vec<String> {
        self.warnings.lock().map(|w| w.clone()).unwrap_or_default()
    }

    fn snapshot_method(&self) -> String {
        format!(
            "postgres repeatable read, read only; workers joined with pg_export_snapshot ({})",
            self.snapshot
        )
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let named = |e| match e {
            EngineError::NoTable { table, .. } => EngineError::NoTable {
                target: self.target.clone(),
                table,
            },
            EngineError::NoSchema { schema, .. } => EngineError::NoSchema {
                target: self.target.clone(),
                schema,
            },
            e => e,
        };
        let (default, schemas) = dumped_schemas(&self.coordinator, filter)
            .await
            .map_err(named)?;
        let mut schema = introspect(&self.coordinator, filter, &default, &schemas)
            .await
            .map_err(named)?;
        refuse_unsupported(&self.coordinator, filter, &default, &schemas).await?;
        if !schema.tables.is_empty() {
            // Keep the tables from being dropped or altered under the dump.
            let names: Vec<String> = schema.tables.iter().map(|t| qtable(&t.name)).collect();
            self.coordinator
                .batch_execute(&format!(
                    "LOCK TABLE {} IN ACCESS SHARE MODE",
                    names.join(", ")
                ))
                .await
                .map_err(|e| server_err("locking the tables to dump", e))?;
        }
        schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
        let found = objects::catalog(&self.coordinator, &schema, &schemas).await?;
        schema.extras = found.objects;
        schema.roles = found.roles;
        schema.large_objects = found.large_objects;
        let mut warnings = partitions_left_out(&self.coordinator, &default, &schema).await?;
        warnings.extend(found.warnings);
        if let Ok(mut w) = self.warnings.lock() {
            *w = warnings;
        }
        Ok(schema)
    }

    async fn parts(&self, table: &Table, jobs: usize) -> Result<Vec<Part>, EngineError> {
        let whole = vec![Part { filter: None }];
        if jobs <= 1 {
            return Ok(whole);
        }
        let ctx = format!("table {}: reading its size", table.name);
        let r = self
            .coordinator
            .query_one(
                "SELECT pg_relation_size($1::text::regclass),
                        current_setting('block_size')::bigint",
                &[&qtable(&table.name)],
            )
            .await
            .map_err(|e| server_err(&ctx, e))?;
        let size: i64 = col(&r, 0, &ctx)?;
        let block: i64 = col(&r, 1, &ctx)?;
        if size < 2 * PART_BYTES {
            return Ok(whole);
        }
        let pages = size / block.max(1);
        let n = (size / PART_BYTES).clamp(2, 64);
        let step = (pages + n - 1) / n;
        Ok((0..n)
            .map(|i| {
                let lo = i * step;
                let hi = lo + step;
                let filter = if i == n - 1 {
                    format!("ctid >= '({lo},0)'::tid")
                } else {
                    format!("ctid >= '({lo},0)'::tid AND ctid < '({hi},0)'::tid")
                };
                Part {
                    filter: Some(filter),
                }
            })
            .collect())
    }

    async fn read(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        // A partitioned table's rows are its partitions', each dumped as a
        // table of its own.
        if table.is_partitioned() {
            return Ok(());
        }
        let cols: Vec<&Column> = table.data_columns().collect();
        if cols.is_empty() {
            return self.read_empty_rows(table, part, sink).await;
        }
        let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
        // COPY of a table reads its own rows only, not its children's.
        let sql = match &part.filter {
            None => format!(
                "COPY {} ({}) TO STDOUT",
                qtable(&table.name),
                column_list(&names)
            ),
            Some(f) => format!(
                "COPY (SELECT {} FROM ONLY {} WHERE {f}) TO STDOUT",
                column_list(&names),
                qtable(&table.name)
            ),
        };
        let client =
            self.workers.lock().await.pop().ok_or_else(|| {
                EngineError::Unsupported("more readers than snapshot workers".into())
            })?;
        let result = async {
            let ctx = || format!("table {}: reading rows", table.name);
            let stream = client
                .copy_out(&sql)
                .await
                .map_err(|e| server_err(ctx(), e))?;
            futures_util::pin_mut!(stream);
            let binary: Vec<bool> = cols.iter().map(|c| c.ty.is_binary()).collect();
            let mut parser = CopyTextParser::new(binary);
            while let Some(data) = stream.next().await {
                let data = data.map_err(|e| server_err(ctx(), e))?;
                parser.feed(&data, sink).map_err(|m| match m {
                    ParseError::Sink(s) => EngineError::SinkClosed(s),
                    ParseError::Shape(message) => EngineError::Server {
                        context: ctx(),
                        message,
                    },
                })?;
            }
            Ok(())
        }
        .await;
        self.workers.lock().await.push(client);
        result
    }

    async fn read_large_objects(
        &self,
        objects: &[LargeObject],
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        if objects.is_empty() {
            return Ok(());
        }
        let client =
            self.workers.lock().await.pop().ok_or_else(|| {
                EngineError::Unsupported("more readers than snapshot workers".into())
            })?;
        let r = largeobjects::read(&client, objects, sink).await;
        self.workers.lock().await.push(client);
        r
    }

    async fn identity(&self) -> Result<String, EngineError> {
        identity(&self.coordinator).await
    }

    async fn reserved_tables(&self) -> Result<Vec<(String, Vec<String>)>, EngineError> {
        let ctx = "looking for tables named like haul's restore journal";
        let rows = self
            .coordinator
            .query(
                "SELECT c.relname::text, a.attname::text
                   FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
                  WHERE c.relnamespace = current_schema()::regnamespace
                    AND c.relkind IN ('r', 'p') AND c.relname IN ($1, $2)
                    AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY c.relname, a.attnum",
                &[&JOURNAL_TABLE, &CHUNKS_TABLE],
            )
            .await
            .map_err(|e| server_err(ctx, e))?;
        let pairs = rows
            .iter()
            .map(|r| Ok((col(r, 0, ctx)?, col(r, 1, ctx)?)))
            .collect::<Result<Vec<(String, String)>, EngineError>>()?;
        Ok(columns_by_table(pairs))
    }

    async fn close(&self) -> Result<(), EngineError> {
        for w in self.workers.lock().await.iter() {
            let _ = w.batch_execute("COMMIT").await;
        }
        self.coordinator
            .batch_execute("COMMIT")
            .await
            .map_err(|e| server_err("ending the snapshot", e))
    }
}
