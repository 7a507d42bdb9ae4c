//! Where a restore's rows come from: an archive's chunks, or a live
//! source's parts (`haul copy`) read and loaded as they stream.

use super::plan::{Action, Plan, TablePlan};
use super::{chunk_failpoint, merge};
use crate::archive::{ArchiveReader, Manifest};
use crate::convert::{ColumnConv, Conversions, Converted};
use crate::engine::{EngineError, Part, Source, Target};
use crate::model::Table;
use crate::progress::Progress;
use crate::stream::{ChunkRows, ChunkSink, RawChunk, Rows, SinkClosed};
use crate::transform::MappedRows;
use anyhow::Result;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Where a restore's rows come from.
pub enum Feed {
    /// The chunks of an archive.
    Archive(Arc<ArchiveReader>),
    /// A live source snapshot (`haul copy`): its parts are read and loaded
    /// as they stream, through a channel a chunk deep.
    Live {
        source: Arc<dyn Source>,
        /// What an archive's manifest would say, without chunks or counts.
        manifest: Box<Manifest>,
        chunk_size: usize,
        /// CSV bytes loaded so far.
        raw_bytes: AtomicU64,
    },
}

impl Feed {
    pub fn manifest(&self) -> &Manifest {
        match self {
            Feed::Archive(r) => r.manifest(),
            Feed::Live { manifest, .. } => manifest,
        }
    }

    pub(super) fn live(&self) -> bool {
        matches!(self, Feed::Live { .. })
    }
}

/// The chunk number of the mark that says a copied table is complete.
pub(super) const COMPLETE: usize = 1 << 30;

/// The table rows of plan table `pi` are loaded into: the target's (a
/// staging table for a merge) or the archive's.
pub(super) fn load_table(tp: &TablePlan, pi: usize, manifest: &Manifest) -> Table {
    let mut table = tp
        .target_table
        .clone()
        .unwrap_or_else(|| manifest.schema.tables[tp.index].clone());
    if tp.action == Action::Merge {
        table.name = merge::staging_name(tp, pi);
    }
    table
}

/// Read part `part` of a source table and load its chunks as they come: the
/// reader and the loader overlap, one chunk apart.
#[allow(clippy::too_many_arguments)]
pub(super) async fn copy_part(
    plan: &Plan,
    pi: usize,
    part: &Part,
    k: usize,
    source: Arc<dyn Source>,
    chunk_size: usize,
    manifest: &Manifest,
    target: &dyn Target,
    progress: &Progress,
    loaded: &[AtomicU64],
    raw_bytes: &AtomicU64,
    convs: &[ColumnConv],
    conversions: &Conversions,
) -> Result<()> {
    let tp = &plan.tables[pi];
    let entry = &manifest.tables[tp.index];
    let table = load_table(tp, pi, manifest);
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RawChunk>(1);
    let read_table = manifest.schema.tables[tp.index].clone();
    let part = part.clone();
    let reader = tokio::spawn(async move {
        let mut sink = ChunkSink::new(
            pi,
            chunk_size,
            Box::new(move |c| {
                tokio::task::block_in_place(|| tx.blocking_send(c)).map_err(|_| SinkClosed)
            }),
            None,
        );
        source.read(&read_table, &part, &mut sink).await?;
        sink.finish()?;
        Ok::<(), EngineError>(())
    });
    let mut seq = 0;
    let mut failed = None;
    while let Some(raw) = rx.recv().await {
        seq += 1;
        let label = format!("part {}, chunk {seq}", k + 1);
        let mut rows_in = ChunkRows::new(&raw.csv, entry.columns.len());
        let mut mapped = MappedRows::new(&mut rows_in, &tp.out);
        let mut converted = Converted::new(
            &mut mapped,
            &table.name,
            &label,
            &tp.columns,
            convs,
            conversions,
        );
        let rows: &mut dyn Rows = &mut converted;
        let loaded_n = target.load(&table, &tp.columns, rows, &label, None).await;
        drop(converted);
        match loaded_n {
            Ok(n) if n == raw.rows => {
                progress.table(pi).add(n, raw.csv.len() as u64);
                loaded[pi].fetch_add(n, Ordering::Relaxed);
                raw_bytes.fetch_add(raw.csv.len() as u64, Ordering::Relaxed);
                chunk_failpoint();
            }
            Ok(n) => {
                failed = Some(anyhow::Error::new(EngineError::Load {
                    table: entry.name.clone(),
                    chunk: label,
                    message: format!("the server stored {n} rows of the {} sent", raw.rows),
                }));
                break;
            }
            Err(e) => {
                failed = Some(e.into());
                break;
            }
        }
    }
    drop(rx);
    let read = reader.await;
    if let Some(e) = failed {
        return Err(e);
    }
    match read {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(anyhow::Error::new(e)
            .context(format!("table {}: reading it from the source", entry.name))),
        Err(j) => Err(anyhow::anyhow!("a copy reader failed: {j}")),
    }
}
