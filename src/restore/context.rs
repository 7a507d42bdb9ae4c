//! What every phase of one restore run shares: the journal, the plan, the
//! feed and the target, progress, the chunks already in and the row counts.

use super::feed::Feed;
use super::journal::Journal;
use super::plan::{Action, Plan};
use super::{merge, Run};
use crate::convert::{ColumnConv, Conversions};
use crate::engine::{ChunkMark, Target};
use crate::model::{EngineKind, Schema, Table, TableFilter};
use crate::progress::Progress;
use crate::transform::OutColumn;
use anyhow::Result;
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

/// One restore run.
pub(super) struct Ctx<'r> {
    pub journal: Journal,
    pub resuming: bool,
    pub plan: Arc<Plan>,
    pub feed: Arc<dyn Feed>,
    pub target: Arc<dyn Target>,
    pub progress: Arc<Progress>,
    pub run: &'r Run<'r>,
    pub jobs: usize,
    /// Chunks recorded as loaded before this run.
    pub done: HashSet<ChunkMark>,
    /// Rows loaded per plan table (before this run too).
    pub loaded: Arc<Vec<AtomicU64>>,
    pub conversions: Arc<Conversions>,
    /// What the phases left out or could not do, for the report.
    pub warnings: std::sync::Mutex<Vec<String>>,
}

impl<'r> Ctx<'r> {
    /// Start a run: a new restore writes its journal, a resumed one reads
    /// the chunks already in; either way, count what each table holds.
    pub async fn open(
        journal: Journal,
        resuming: bool,
        feed: Arc<dyn Feed>,
        target: Arc<dyn Target>,
        progress: Arc<Progress>,
        run: &'r Run<'r>,
    ) -> Result<Ctx<'r>> {
        let done: HashSet<ChunkMark> = if resuming {
            target.journal_chunks().await?.into_iter().collect()
        } else {
            journal.save(target.as_ref()).await?;
            HashSet::new()
        };
        let mut cx = Ctx {
            plan: Arc::new(journal.plan.clone()),
            journal,
            resuming,
            feed,
            target,
            progress,
            run,
            jobs: run.jobs.max(1),
            done,
            loaded: Arc::new(Vec::new()),
            conversions: Arc::new(Conversions::default()),
            warnings: Default::default(),
        };
        let mut counts = Vec::new();
        for pi in 0..cx.plan.tables.len() {
            counts.push(AtomicU64::new(cx.rows_before(pi).await?));
        }
        cx.loaded = Arc::new(counts);
        Ok(cx)
    }

    /// Note warnings for the report.
    pub fn warn(&self, more: Vec<String>) {
        if let Ok(mut w) = self.warnings.lock() {
            w.extend(more);
        }
    }

    /// The archive's (or live source's) schema.
    pub fn schema(&self) -> &Schema {
        &self.feed.contents().schema
    }

    /// The engine the rows come from.
    pub fn from(&self) -> EngineKind {
        self.plan.source_engine
    }

    /// Whether plan table `pi` had rows loaded before this run. A copied
    /// table counts only once complete: its rows come from a snapshot that
    /// a resumed copy cannot read again.
    pub fn started(&self, pi: usize) -> bool {
        self.feed.started(pi, &self.done)
    }

    /// The target's schema where a resumed run may find things built.
    pub async fn built(&self) -> Result<Option<Schema>> {
        Ok(match self.resuming {
            true => Some(self.target.schema(&TableFilter::default()).await?),
            false => None,
        })
    }

    /// Rows plan table `pi` holds from before this run.
    async fn rows_before(&self, pi: usize) -> Result<u64> {
        let t = &self.plan.tables[pi];
        if let Some(n) = self.feed.rows_done(&self.plan, pi, &self.done) {
            return Ok(n);
        }
        // A copied table the marks say is complete.
        if let Some(m) = self.journal.merged.iter().find(|m| m.table == t.name) {
            // Merged already: the table holds the target's rows too.
            return Ok(m.inserted + m.archived + m.identical);
        }
        let name = match t.action {
            Action::Merge if self.journal.merges.contains(&pi) => merge::staging_name(t, pi),
            _ => t.target().to_string(),
        };
        Ok(self
            .target
            .count_rows(
                &name,
                &format!("table {}: counting the rows copied before", t.name),
            )
            .await?)
    }
}

/// The target's table carrying the archive's sequence and auto-increment
/// positions, so counters continue past the source's, not only past the
/// loaded maximum.
pub(super) fn with_source_positions(tt: &Table, archive: &Table) -> Table {
    let mut t = tt.clone();
    t.auto_increment_next = archive.auto_increment_next;
    for c in &mut t.columns {
        let src = archive
            .column(&c.name)
            .and_then(|a| a.auto_increment.as_ref())
            .and_then(|a| a.sequence.as_ref());
        if let (Some(ai), Some(src)) = (c.auto_increment.as_mut(), src) {
            match ai.sequence.as_mut() {
                Some(seq) => {
                    seq.last_value = src.last_value;
                    seq.is_called = src.is_called;
                }
                None => ai.sequence = Some(src.clone()),
            }
        }
    }
    t
}

/// Per planned table, the value conversions of each loaded column.
pub(super) fn column_conversions(
    plan: &Plan,
    schema: &Schema,
    to: EngineKind,
) -> Vec<Vec<ColumnConv>> {
    plan.tables
        .iter()
        .map(|tp| {
            let archive = &schema.tables[tp.index];
            let target = tp.target_table.as_ref().unwrap_or(archive);
            tp.columns
                .iter()
                .zip(&tp.out)
                .map(|(name, out)| {
                    let src = match out {
                        OutColumn::Archive(_) => archive.column(name),
                        OutColumn::Backfill { .. } => None,
                    };
                    match target.column(name) {
                        Some(dst) => {
                            ColumnConv::new(plan.source_engine, src, to, &dst.ty, plan.zero_dates)
                        }
                        None => ColumnConv::default(),
                    }
                })
                .collect()
        })
        .collect()
}
