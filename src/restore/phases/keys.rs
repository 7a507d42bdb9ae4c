//! Keys and indexes: each table's as soon as its last chunk is in (probed
//! first where another engine's rows may collide in this one's collation),
//! and foreign keys once every table has its keys.

use super::super::context::Ctx;
use super::super::plan::{Action, TablePlan};
use super::super::relax::present;
use super::reapply::probe_unique;
use crate::engine::{Constraint, Target};
use crate::model::{EngineKind, Schema, Table};
use anyhow::{Context, Result};
use std::sync::Arc;

/// Add plan table `tp`'s deferred keys and indexes (not its foreign keys)
/// that `built` lacks, then analyze it.
pub async fn table_keys(
    target: &dyn Target,
    tp: &TablePlan,
    table: &Table,
    from: EngineKind,
    built: Option<&Schema>,
    analyze: bool,
) -> Result<()> {
    // A partition folded into its parent's table: the parent's keys.
    if tp.action == Action::Fold {
        return Ok(());
    }
    let table = created(tp, table);
    let name = tp.target();
    for c in tp.deferred.iter().filter(|c| {
        !matches!(c, Constraint::ForeignKey(_)) && built.is_none_or(|s| !present(s, name, c))
    }) {
        // Another engine may compare text differently (MySQL's
        // case-insensitive collations): probe a unique key before building it.
        if from != target.kind() {
            probe_unique(target, name, c).await?;
        }
        target.add_constraint(table, c, from).await?;
    }
    if tp.action != Action::Merge && analyze {
        target.analyze(name).await?;
    }
    Ok(())
}

/// The table plan table `tp` creates: its `target_table` where the plan
/// made one (another engine's name or types), else the archive's `table`.
fn created<'a>(tp: &'a TablePlan, table: &'a Table) -> &'a Table {
    match (tp.action, &tp.target_table) {
        (Action::Create | Action::Recreate, Some(t)) => t,
        _ => table,
    }
}

/// Add every deferred foreign key the target lacks, over `jobs` workers.
pub async fn foreign_keys(cx: &Ctx<'_>) -> Result<()> {
    let built = cx.built().await?;
    let schema = cx.schema();
    let from = cx.from();
    let fks: Vec<(Table, Constraint)> = cx
        .plan
        .tables
        .iter()
        .flat_map(|t| {
            let table = created(t, &schema.tables[t.index]);
            t.deferred
                .iter()
                .filter(|c| matches!(c, Constraint::ForeignKey(_)))
                .map(move |c| (table.clone(), c.clone()))
        })
        .filter(|(table, c)| built.as_ref().is_none_or(|s| !present(s, &table.name, c)))
        .collect();
    cx.progress.note(&format!(
        "{}: data and keys in; adding {} foreign keys",
        cx.progress.verb(),
        fks.len()
    ));
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(cx.jobs));
    for (table, c) in fks {
        let target = Arc::clone(&cx.target);
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            target.add_constraint(&table, &c, from).await
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("a constraint worker failed")??;
    }
    Ok(())
}
