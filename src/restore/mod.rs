//! Restore: plan; write the journal (the plan, what gets relaxed) into the
//! target; relax the target's unique keys, indexes and foreign keys on
//! tables it already has; create missing tables without secondary indexes;
//! bulk-load the chunks in parallel, computing backfills in the stream and
//! recording each chunk in the journal in its own transaction; add the
//! archive's constraints and indexes; merge staged rows into tables that
//! had rows; probe relaxed unique keys for duplicates and reapply them;
//! reset sequences, replay extras, check row counts against the manifest,
//! and remove the journal. `--resume` runs the same phases from the
//! journal, skipping what is done.

mod abandon;
mod context;
pub(crate) mod failpoint;
mod feed;
mod journal;
pub mod objects;
pub mod phases;
pub mod plan;
mod rejects;
mod relax;
pub mod session;
#[cfg(test)]
mod tests;

pub use abandon::abandon;
pub use feed::{archive_id, ArchiveFeed, Contents, Feed, LiveFeed, TableContents};
pub use journal::{Journal, Merged, Phase, Relaxed};
pub use phases::merge;

use crate::conn::ConnSpec;
use crate::engine::Target;
use crate::progress::Progress;
use anyhow::{Context, Result};
use context::Ctx;
use failpoint::failpoint;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// How rows whose key matches a row already in the target are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Stop before reapplying constraints and list the groups.
    Fail,
    /// The target's row stays; the archive's goes to the rejects archive.
    KeepExisting,
    /// The archive's row replaces the target's, which goes to the rejects
    /// archive.
    KeepArchived,
}

/// Duplicate keys stop a restore before constraints are reapplied.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DuplicatesError(pub String);

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tables: usize,
    /// Rows restored (archive rows minus rejected ones).
    pub rows: u64,
    /// Archive rows not inserted (`keep-existing`).
    pub rejected: u64,
    /// Target rows replaced by archive rows (`keep-archived`).
    pub replaced: u64,
    /// Where rejected and replaced rows were written.
    pub rejects: Vec<String>,
    /// Compressed bytes read from the archive.
    pub stored_bytes: u64,
    /// CSV bytes loaded.
    pub raw_bytes: u64,
    pub constraints: usize,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

/// How to run a restore.
pub struct Run<'a> {
    pub jobs: usize,
    pub policy: Policy,
    /// Where rejected rows go.
    pub rejects: std::path::PathBuf,
    /// Whom the rejects archive is encrypted to (those of an encrypted
    /// archive: the public keys of its identities).
    pub rejects_to: Option<std::sync::Arc<crate::archive::crypt::Recipients>>,
    /// The target, for reading rejected rows back out.
    pub target_spec: &'a ConnSpec,
    /// Refresh planner statistics of each loaded table.
    pub analyze: bool,
}

/// Execute a journal's plan: a new restore, or (`resuming`) the rest of one
/// that stopped. Each phase is a function of `phases`; the failpoints
/// between them are where the kill-and-resume tests stop the process.
pub async fn execute(
    journal: Journal,
    resuming: bool,
    feed: Arc<dyn Feed>,
    target: Arc<dyn Target>,
    progress: Arc<Progress>,
    run: &Run<'_>,
) -> Result<Report> {
    let mut cx = Ctx::open(journal, resuming, feed, target, progress, run).await?;
    failpoint("journal");
    if cx.journal.phase == Phase::Loading {
        phases::prepare::relax(&cx).await?;
        failpoint("relaxed");
        phases::prepare::create(&mut cx).await?;
        failpoint("created");
        let stopped =
            "the restore stopped part way; the target keeps the chunks loaded and the journal: \
             remove the cause, then finish with --resume (or undo with --abandon)";
        phases::load::load(&cx).await.context(stopped)?;
        phases::large_objects::load(&cx).await.context(stopped)?;
        cx.journal.phase = Phase::Loaded;
        cx.journal.save(cx.target.as_ref()).await?;
        failpoint("loaded");
    } else {
        for (pi, t) in cx.plan.tables.iter().enumerate() {
            if t.action != plan::Action::Keep {
                cx.progress
                    .table_skipped(pi, "loaded before the restore stopped");
            }
        }
    }
    // Staged rows into the tables that had rows, before foreign keys that
    // may reference them.
    phases::merge::resolve(&mut cx.journal, cx.target.as_ref(), &cx.progress, run).await?;
    failpoint("merged");
    phases::keys::foreign_keys(&cx).await?;
    failpoint("foreign-keys");
    phases::reapply::reapply(&cx).await?;
    failpoint("reapplied");
    phases::finish::sequences(&cx).await?;
    let warnings = phases::finish::extras(&mut cx).await?;
    failpoint("finished");
    phases::finish::check(cx, warnings).await
}
