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
    for c in tp.deferred.iter().filter(|c| {
        !matches!(c, Constraint::ForeignKey(_)) && built.is_none_or(|s| !present(s, &tp.name, c))
    }) {
        // Another engine may compare text differently (MySQL's
        // case-insensitive collations): probe a unique key before building it.
        if from != target.kind() {
            probe_unique(target, &tp.name, c).await?;
        }
        target.add_constraint(table, c, from).await?;
    }
    if tp.action != Action::Merge && analyze {
        target.analyze(&tp.name).await?;
    }
    Ok(())
}

/// Add every deferred foreign key the target lacks, over `jobs` workers.
pub async fn foreign_keys(cx: &Ctx<'_>) -> Result<()> {
    let built = cx.built().await?;
    let schema = cx.schema();
    let from = cx.from();
    let fks: Vec<(usize, Constraint)> = cx
        .plan
        .tables
        .iter()
        .flat_map(|t| {
            t.deferred
                .iter()
                .filter(|c| matches!(c, Constraint::ForeignKey(_)))
                .map(move |c| (t.index, c.clone()))
        })
        .filter(|(ti, c)| {
            built
                .as_ref()
                .is_none_or(|s| !present(s, &schema.tables[*ti].name, c))
        })
        .collect();
    cx.progress.note(&format!(
        "{}: data and keys in; adding {} foreign keys",
        cx.progress.verb(),
        fks.len()
    ));
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(cx.jobs));
    for (ti, c) in fks {
        let table = schema.tables[ti].clone();
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
