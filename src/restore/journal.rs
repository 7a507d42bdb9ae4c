//! The restore journal, kept in the target from before the first write to
//! the end: the plan, what was relaxed, what is left to merge.

use super::feed::Feed;
use super::plan::{Action, Plan};
use crate::engine::{Constraint, Target};
use crate::model::Table;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

/// Where a restore is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Relaxing, creating tables, loading chunks, building keys.
    Loading,
    /// Every chunk is in: foreign keys, merges, probe, reapply, sequences.
    Loaded,
    /// Extras replayed; only the count check and the cleanup are left.
    Finished,
}

/// The restore journal, kept in the target from before the first write to
/// the end: the plan, what was relaxed, what is left to merge. Loaded
/// chunks are recorded beside it ([`crate::engine::CHUNKS_TABLE`]) in each
/// chunk's own transaction, so `--resume` knows exactly what is in.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Journal {
    /// The archive's path, or for a copy the source.
    pub archive: String,
    /// The archive's identity (its schema checksum and finish time), or the
    /// copy's source.
    pub archive_id: String,
    /// Made by `haul copy`.
    #[serde(default)]
    pub copy: bool,
    pub started_at: String,
    pub phase: Phase,
    pub plan: Plan,
    pub relaxed: Vec<Relaxed>,
    /// Plan tables whose staged rows are not merged yet.
    pub merges: Vec<usize>,
    /// Merges done so far.
    #[serde(default)]
    pub merged: Vec<Merged>,
    /// Roles, types, functions and the other objects tables need are in
    /// (set only when there were any).
    #[serde(default)]
    pub pre_data: bool,
    /// Per merged table, archive rows left out because the target held
    /// them already, value for value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub identical: Vec<(String, u64)>,
}

/// What a merge did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Merged {
    pub table: String,
    /// Archive rows inserted.
    pub inserted: u64,
    /// Archive rows not inserted (keep-existing).
    pub archived: u64,
    /// Target rows replaced (keep-archived).
    pub existing: u64,
    /// Archive rows the target held already, value for value: not
    /// inserted again.
    #[serde(default)]
    pub identical: u64,
    pub file: String,
}

/// One relaxed constraint and the target table it belongs to.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Relaxed {
    pub table: Table,
    pub constraint: Constraint,
}

impl Journal {
    /// The journal for a new restore of `plan` from `feed`.
    pub fn new(plan: Plan, feed: &dyn Feed) -> Journal {
        let relaxed = plan
            .tables
            .iter()
            .filter_map(|t| Some((t.target_table.as_ref()?, &t.relax)))
            .flat_map(|(tt, cs)| {
                cs.iter().map(|c| Relaxed {
                    table: tt.clone(),
                    constraint: c.clone(),
                })
            })
            .chain(plan.referencing.iter().map(|(t, c)| Relaxed {
                table: t.clone(),
                constraint: c.clone(),
            }))
            .collect();
        let merges = plan
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.action == Action::Merge)
            .map(|(i, _)| i)
            .collect();
        let origin = feed.origin();
        Journal {
            archive: origin.name,
            archive_id: origin.id,
            copy: origin.copy,
            started_at: crate::archive::manifest::now_rfc3339(),
            phase: Phase::Loading,
            plan,
            relaxed,
            merges,
            merged: vec![],
            pre_data: false,
            identical: vec![],
        }
    }

    pub(super) async fn save(&self, target: &dyn Target) -> Result<()> {
        target
            .journal_write(&serde_json::to_string(self)?)
            .await
            .context("writing the restore journal")
    }

    /// The command that finishes or undoes this restore, without the target
    /// and the flag.
    pub fn again(&self) -> String {
        match self.copy {
            true => format!("haul copy {}", self.archive),
            false => format!("haul restore {}", self.archive),
        }
    }

    /// The journal in the target, if a restore left one.
    pub async fn load(target: &dyn Target) -> Result<Option<Journal>> {
        match target.journal_read().await? {
            None => Ok(None),
            Some(body) => Ok(Some(serde_json::from_str(&body).context(
                "the restore journal in the target is unreadable (written by another haul version?)",
            )?)),
        }
    }
}
