//! Where a restore's rows come from, behind one trait: an archive's chunks
//! ([`ArchiveFeed`]) or a live source's parts read as they stream
//! ([`LiveFeed`], `haul copy`). Both load through [`load_chunk`].

mod archive;
mod live;

pub use archive::{archive_id, ArchiveFeed};
pub use live::LiveFeed;

use super::merge;
use super::plan::{Action, Plan, TablePlan};
use crate::archive::manifest::{AppMarker, SourceInfo};
use crate::convert::{ColumnConv, Conversions, Converted};
use crate::engine::{ChunkMark, EngineError, Target};
use crate::model::{Schema, Table};
use crate::stream::{ChunkRows, Rows};
use crate::transform::MappedRows;
use anyhow::Result;
use async_trait::async_trait;
use std::collections::HashSet;

/// The plan-table number of the journal marks of large objects' chunks.
pub(crate) const LARGE_OBJECTS_MARK: usize = live::COMPLETE - 1;

/// What a feed holds, as a restore plans it: the source, its schema and,
/// per table, the columns its rows carry and how many there are.
#[derive(Debug, Clone)]
pub struct Contents {
    pub source: SourceInfo,
    pub schema: Schema,
    /// One per table of `schema`, in the same order.
    pub tables: Vec<TableContents>,
    /// App schema versions found in the data.
    pub app_markers: Vec<AppMarker>,
    /// What the source warned of when it was read (a live snapshot's).
    pub warnings: Vec<String>,
}

/// One table's rows in a feed.
#[derive(Debug, Clone)]
pub struct TableContents {
    pub name: String,
    /// Data columns in field order.
    pub columns: Vec<String>,
    /// Rows: exact for an archive, the source's estimate for a live feed.
    pub rows: u64,
    /// The chunks an archive stores them in (none for a live feed, read
    /// in parts decided at load time).
    pub chunks: usize,
}

impl Contents {
    /// The table named `name`.
    pub fn table(&self, name: &str) -> Option<&TableContents> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// Where the rows of a restore come from, as its journal records it.
pub struct Origin {
    /// The archive's path, or a copy's source.
    pub name: String,
    /// What a resume checks it is given the same rows by.
    pub id: String,
    /// A live source (`haul copy`).
    pub copy: bool,
}

/// How one unit's rows reach the target: the plan table, the table loaded
/// into, the value conversions, and what to call after each chunk.
pub struct LoadTo<'a> {
    pub target: &'a dyn Target,
    pub plan: &'a Plan,
    pub pi: usize,
    pub convs: &'a [ColumnConv],
    pub conversions: &'a Conversions,
    /// Called after each chunk the target stored, with its rows and CSV
    /// bytes.
    pub loaded: &'a (dyn Fn(u64, u64) + Send + Sync),
}

/// A source of rows for a restore, loaded in units (an archive's chunks, a
/// live table's parts) over the load phase's workers.
#[async_trait]
pub trait Feed: Send + Sync {
    /// What the feed holds.
    fn contents(&self) -> &Contents;
    /// What the journal records of where the rows come from.
    fn origin(&self) -> Origin;
    /// Whether the row counts of [`Contents`] are exact, so a restore
    /// checks what it loaded against them.
    fn exact_counts(&self) -> bool;
    /// The units of plan table `pi` this run loads, given the marks of
    /// units loaded before (`done`).
    async fn units(
        &self,
        plan: &Plan,
        pi: usize,
        done: &HashSet<ChunkMark>,
        jobs: usize,
    ) -> Result<Vec<usize>>;
    /// Load unit `unit` of the plan table `to.pi`.
    async fn load(&self, to: &LoadTo<'_>, unit: usize) -> Result<()>;
    /// Called once the last unit of plan table `pi` is in.
    async fn table_loaded(&self, target: &dyn Target, pi: usize) -> Result<()>;
    /// Whether plan table `pi` had rows loaded before this run.
    fn started(&self, pi: usize, done: &HashSet<ChunkMark>) -> bool;
    /// The rows plan table `pi` holds from the units in `done`, where the
    /// marks tell (`None`: count the table).
    fn rows_done(&self, plan: &Plan, pi: usize, done: &HashSet<ChunkMark>) -> Option<u64>;
    /// Write the bytes of the large objects `only` (created empty before
    /// the tables) into `target`, skipping what the marks in `done` say is
    /// in; the pieces written this run.
    async fn load_large_objects(
        &self,
        target: &dyn Target,
        only: &HashSet<u32>,
        done: &HashSet<ChunkMark>,
    ) -> Result<u64>;
    /// Compressed and CSV bytes of what was loaded, for the report.
    fn bytes(&self, plan: &Plan) -> (u64, u64);
    /// Release the source.
    async fn close(&self) -> Result<()>;
}

/// The table rows of plan table `pi` are loaded into: the target's (a
/// staging table for a merge) or the feed's.
pub(super) fn load_table(tp: &TablePlan, pi: usize, schema: &Schema) -> Table {
    let mut table = tp
        .target_table
        .clone()
        .unwrap_or_else(|| schema.tables[tp.index].clone());
    if tp.action == Action::Merge {
        table.name = merge::staging_name(tp, pi);
    }
    table
}

/// Map one chunk's rows onto the target's columns (backfills computed in
/// the stream), convert values for the target engine, and bulk-load them
/// into `table` (with `mark`, recorded in the journal in the same
/// transaction); the one load path of every feed. Fails unless the server
/// stored all `rows`.
#[allow(clippy::too_many_arguments)]
pub(super) async fn load_chunk(
    to: &LoadTo<'_>,
    table: &Table,
    csv: &[u8],
    width: usize,
    rows: u64,
    label: &str,
    mark: Option<ChunkMark>,
) -> Result<u64> {
    let tp = &to.plan.tables[to.pi];
    let mut raw = ChunkRows::new(csv, width);
    let mut mapped = MappedRows::new(&mut raw, &tp.out);
    let mut converted = Converted::new(
        &mut mapped,
        &table.name,
        label,
        &tp.columns,
        to.convs,
        to.conversions,
    );
    let stream: &mut dyn Rows = &mut converted;
    let n = to
        .target
        .load(table, &tp.columns, stream, label, mark)
        .await?;
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
