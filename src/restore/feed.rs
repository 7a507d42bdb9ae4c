//! Where a restore's rows come from: an archive's chunks, or a live
//! source's parts (`haul copy`) read and loaded as they stream.

use super::failpoint::chunk_failpoint;
use super::merge;
use super::plan::{Action, Plan, TablePlan};
use crate::archive::{ArchiveReader, Manifest};
use crate::convert::{ColumnConv, Conversions, Converted};
use crate::engine::{ChunkMark, EngineError, Part, Source, Target};
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

    /// CSV bytes a live feed has loaded (`None` for an archive).
    pub(super) fn live_raw_bytes(&self) -> Option<u64> {
        match self {
            Feed::Live { raw_bytes, .. } => Some(raw_bytes.load(Ordering::Relaxed)),
            Feed::Archive(_) => None,
        }
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
        let width = entry.columns.len();
        match load_chunk(
            target,
            tp,
            &table,
            &raw.csv,
            width,
            raw.rows,
            &label,
            convs,
            conversions,
            None,
        )
        .await
        {
            Ok(n) => {
                progress.table(pi).add(n, raw.csv.len() as u64);
                loaded[pi].fetch_add(n, Ordering::Relaxed);
                raw_bytes.fetch_add(raw.csv.len() as u64, Ordering::Relaxed);
                chunk_failpoint();
            }
            Err(e) => {
                failed = Some(e);
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

/// Map one chunk's rows onto the target's columns (backfills computed in
/// the stream), convert values for the target engine, and bulk-load them
/// into `table` (with `mark`, recorded in the journal in the same
/// transaction); the one load path of archives and live sources. Fails
/// unless the server stored all `rows`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn load_chunk(
    target: &dyn Target,
    tp: &TablePlan,
    table: &Table,
    csv: &[u8],
    width: usize,
    rows: u64,
    label: &str,
    convs: &[ColumnConv],
    conversions: &Conversions,
    mark: Option<ChunkMark>,
) -> Result<u64> {
    let mut raw = ChunkRows::new(csv, width);
    let mut mapped = MappedRows::new(&mut raw, &tp.out);
    let mut converted = Converted::new(
        &mut mapped,
        &table.name,
        label,
        &tp.columns,
        convs,
        conversions,
    );
    let stream: &mut dyn Rows = &mut converted;
    let n = target.load(table, &tp.columns, stream, label, mark).await?;
    if n != rows {
        return Err(EngineError::Load {
            table: tp.name.clone(),
            chunk: label.to_string(),
            message: format!("the server stored {n} rows of the {rows} sent"),
        }
        .into());
    }
    Ok(n)
}
