//! `--abandon`: undo an unfinished restore from its journal.

use super::journal::Journal;
use super::merge;
use super::plan::Action;
use super::relax::{add_relaxed, drop_relaxed};
use crate::engine::Target;
use crate::model::TableFilter;
use anyhow::Result;

/// Give up an unfinished restore and put the target back as far as it can
/// be: tables the restore created are dropped, tables that were empty are
/// emptied again, staging tables go, relaxed constraints come back, and the
/// journal is removed. Returns what could not be put back.
pub async fn abandon(journal: &Journal, target: &dyn Target) -> Result<Vec<String>> {
    let mut left = Vec::new();
    let plan = &journal.plan;
    // Relaxed again where already reapplied, so rows can go in any order.
    let before = target.schema(&TableFilter::default()).await?;
    drop_relaxed(&journal.relaxed, target, Some(&before)).await?;
    for (pi, t) in plan.tables.iter().enumerate() {
        match t.action {
            Action::Create => target.drop_table(t.target()).await?,
            Action::Recreate => left.push(format!(
                "table {} was dropped (--clean) and holds part of the archive's rows",
                t.name
            )),
            Action::Merge => {
                target.drop_table(&merge::staging_name(t, pi)).await?;
                target.drop_table(&merge::rejects_name(t, pi)).await?;
                if !journal.merges.contains(&pi) && t.had_rows {
                    left.push(format!(
                        "table {} already has the archive's rows merged in",
                        t.name
                    ));
                }
            }
            Action::Load | Action::Keep | Action::Fold => {}
        }
    }
    for t in plan
        .tables
        .iter()
        .filter(|t| t.action == Action::Load || (t.action == Action::Merge && !t.had_rows))
    {
        target
            .empty_table(
                &t.name,
                &format!("table {}: removing the rows the restore loaded", t.name),
            )
            .await?;
    }
    add_relaxed(&journal.relaxed, target).await?;
    if journal.pre_data {
        left.push(
            "the roles, types, functions and other objects it created before the tables stay \
             (a restore with --clean replaces them)"
                .into(),
        );
    }
    target.journal_clear().await?;
    Ok(left)
}
