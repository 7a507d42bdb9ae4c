//! The rows of a live source (`haul copy`): each table read in parts over
//! the source's snapshot, each part's chunks loaded as they stream, a
//! channel one chunk deep between the reader and the loader. A table is
//! marked in the journal once all its parts are in: a resumed copy cannot
//! read the same snapshot again, so it reloads unfinished tables whole.

use super::{
    load_chunk, load_table, Contents, Feed, LoadTo, Origin, TableContents, LARGE_OBJECTS_MARK,
};
use crate::engine::{self, ChunkMark, EngineError, Part, Source, Target};
use crate::markers;
use crate::model::TableFilter;
use crate::restore::plan::Plan;
use crate::stream::{ChunkRows, ChunkSink, RawChunk, SinkClosed};
use anyhow::Result;
use async_trait::async_trait;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The chunk number of the mark that says a copied table is complete.
pub(crate) const COMPLETE: usize = 1 << 30;

/// A live source's snapshot.
pub struct LiveFeed {
    source: Arc<dyn Source>,
    /// What the source was reached as, for the journal.
    name: String,
    contents: Contents,
    chunk_size: usize,
    /// The parts of each plan table this run reads.
    parts: Mutex<HashMap<usize, Vec<Part>>>,
    /// CSV bytes loaded so far.
    raw_bytes: AtomicU64,
}

impl LiveFeed {
    /// Read the schema `filter` selects from `source` (named `name`), with
    /// its app markers and warnings.
    pub async fn open(
        source: Arc<dyn Source>,
        name: &str,
        chunk_size: usize,
        filter: &TableFilter,
    ) -> Result<LiveFeed> {
        let schema = source.schema(filter).await?;
        let reserved = source.reserved_tables().await?;
        let mut warnings = source.warnings();
        warnings.extend(engine::reserved_verdict(
            &reserved,
            &format!("database {}", source.info().database),
        )?);
        let app_markers = markers::read_live(source.as_ref(), &schema).await?;
        let tables = schema
            .tables
            .iter()
            .map(|t| TableContents {
                name: t.name.clone(),
                columns: t.data_columns().map(|c| c.name.clone()).collect(),
                rows: t.estimated_rows.unwrap_or(0),
                chunks: 0,
            })
            .collect();
        let contents = Contents {
            source: source.info().clone(),
            schema,
            tables,
            app_markers,
            warnings,
        };
        Ok(LiveFeed {
            source,
            name: name.to_string(),
            contents,
            chunk_size,
            parts: Mutex::new(HashMap::new()),
            raw_bytes: AtomicU64::new(0),
        })
    }

    /// The contents, to adjust before planning (`--no-code`, sequences).
    pub fn contents_mut(&mut self) -> &mut Contents {
        &mut self.contents
    }

    fn part(&self, pi: usize, k: usize) -> Result<Part> {
        let parts = self
            .parts
            .lock()
            .map_err(|_| anyhow::anyhow!("a copy worker failed"))?;
        parts
            .get(&pi)
            .and_then(|p| p.get(k))
            .cloned()
            .ok_or_else(|| {
                anyhow::anyhow!("part {} of a table to copy that was not planned", k + 1)
            })
    }
}

#[async_trait]
impl Feed for LiveFeed {
    fn contents(&self) -> &Contents {
        &self.contents
    }

    fn origin(&self) -> Origin {
        Origin {
            name: self.name.clone(),
            id: format!("copy from {}", self.name),
            copy: true,
        }
    }

    fn exact_counts(&self) -> bool {
        false
    }

    async fn units(
        &self,
        plan: &Plan,
        pi: usize,
        done: &HashSet<ChunkMark>,
        jobs: usize,
    ) -> Result<Vec<usize>> {
        if self.started(pi, done) {
            return Ok(vec![]);
        }
        let table = &self.contents.schema.tables[plan.tables[pi].index];
        let parts = self.source.parts(table, jobs).await?;
        let n = parts.len();
        self.parts
            .lock()
            .map_err(|_| anyhow::anyhow!("a copy worker failed"))?
            .insert(pi, parts);
        Ok((0..n).collect())
    }

    /// Read part `k` of the source table and load its chunks as they come:
    /// the reader and the loader overlap, one chunk apart.
    async fn load(&self, to: &LoadTo<'_>, k: usize) -> Result<()> {
        let tp = &to.plan.tables[to.pi];
        let entry = &self.contents.tables[tp.index];
        let table = load_table(tp, to.pi, &self.contents.schema);
        let part = self.part(to.pi, k)?;
        let read_table = self.contents.schema.tables[tp.index].clone();
        let source = Arc::clone(&self.source);
        let mut stream = Streamed::spawn(to.pi, self.chunk_size, move |mut sink| async move {
            source.read(&read_table, &part, &mut sink).await?;
            sink.finish()?;
            Ok(())
        });
        let mut seq = 0;
        let mut failed = None;
        let width = entry.columns.len();
        while let Some(raw) = stream.rx.recv().await {
            seq += 1;
            let label = format!("part {}, chunk {seq}", k + 1);
            match load_chunk(to, &table, &raw.csv, width, raw.rows, &label, None).await {
                Ok(n) => {
                    let bytes = raw.csv.len() as u64;
                    self.raw_bytes.fetch_add(bytes, Ordering::Relaxed);
                    (to.loaded)(n, bytes);
                }
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        let what = format!("table {}: reading it from the source", entry.name);
        stream.finish(failed, &what).await
    }

    async fn table_loaded(&self, target: &dyn Target, pi: usize) -> Result<()> {
        target
            .mark_chunk(ChunkMark {
                table: pi,
                chunk: COMPLETE,
            })
            .await?;
        Ok(())
    }

    fn started(&self, pi: usize, done: &HashSet<ChunkMark>) -> bool {
        done.contains(&ChunkMark {
            table: pi,
            chunk: COMPLETE,
        })
    }

    fn rows_done(&self, _plan: &Plan, pi: usize, done: &HashSet<ChunkMark>) -> Option<u64> {
        match self.started(pi, done) {
            true => None,
            false => Some(0),
        }
    }

    /// The source's large objects are read through a channel a chunk deep
    /// and written as they come; marked once all are in (a resumed copy
    /// writes every object again, each emptied first).
    async fn load_large_objects(
        &self,
        target: &dyn Target,
        only: &HashSet<u32>,
        done: &HashSet<ChunkMark>,
    ) -> Result<u64> {
        let complete = ChunkMark {
            table: LARGE_OBJECTS_MARK,
            chunk: COMPLETE,
        };
        if done.contains(&complete) {
            return Ok(0);
        }
        let objects: Vec<_> = self
            .contents
            .schema
            .large_objects
            .iter()
            .filter(|o| only.contains(&o.oid))
            .cloned()
            .collect();
        let source = Arc::clone(&self.source);
        let mut stream = Streamed::spawn(
            LARGE_OBJECTS_MARK,
            self.chunk_size,
            move |mut sink| async move {
                source.read_large_objects(&objects, &mut sink).await?;
                sink.finish()?;
                Ok(())
            },
        );
        let mut seq = 0;
        let mut pieces = 0;
        let mut failed = None;
        while let Some(raw) = stream.rx.recv().await {
            seq += 1;
            let mut rows = ChunkRows::new(&raw.csv, 3);
            let label = format!("chunk {seq}");
            match target
                .load_large_objects(&mut rows, only, &label, None)
                .await
            {
                Ok(n) => pieces += n,
                Err(e) => {
                    failed = Some(e.into());
                    break;
                }
            }
        }
        stream
            .finish(failed, "reading large objects from the source")
            .await?;
        target.mark_chunk(complete).await?;
        Ok(pieces)
    }

    fn bytes(&self, _plan: &Plan) -> (u64, u64) {
        (0, self.raw_bytes.load(Ordering::Relaxed))
    }

    async fn close(&self) -> Result<()> {
        Ok(self.source.close().await?)
    }
}

/// A task reading into a [`ChunkSink`] whose chunks come out of a channel
/// a chunk deep, so reading and loading overlap and memory stays a chunk.
struct Streamed {
    rx: tokio::sync::mpsc::Receiver<RawChunk>,
    reader: tokio::task::JoinHandle<Result<(), EngineError>>,
}

impl Streamed {
    /// Start `read` on a sink of chunks of `chunk_size` for table `table`.
    fn spawn<F, Fut>(table: usize, chunk_size: usize, read: F) -> Streamed
    where
        F: FnOnce(ChunkSink) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), EngineError>> + Send,
    {
        let (tx, rx) = tokio::sync::mpsc::channel::<RawChunk>(1);
        let reader = tokio::spawn(async move {
            let sink = ChunkSink::new(
                table,
                chunk_size,
                Box::new(move |c| {
                    tokio::task::block_in_place(|| tx.blocking_send(c)).map_err(|_| SinkClosed)
                }),
                None,
            );
            read(sink).await
        });
        Streamed { rx, reader }
    }

    /// Stop taking chunks and wait for the reader: the loader's error
    /// (`failed`) first, else the reader's, said as reading `what`.
    async fn finish(self, failed: Option<anyhow::Error>, what: &str) -> Result<()> {
        drop(self.rx);
        let read = self.reader.await;
        if let Some(e) = failed {
            return Err(e);
        }
        match read {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(anyhow::Error::new(e).context(what.to_string())),
            Err(j) => Err(anyhow::anyhow!("a copy reader failed: {j}")),
        }
    }
}
