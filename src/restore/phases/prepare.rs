//! Before any row: relax the constraints of existing tables, drop and
//! (re-)create the tables no chunk went into, create roles, types,
//! sequences and the other objects tables need, and staging tables for
//! tables that have rows.

use super::super::context::Ctx;
use super::super::merge::staging_name;
use super::super::objects;
use super::super::plan::Action;
use super::super::relax::drop_relaxed;
use crate::model::objects::{parents_first, Stage};
use crate::model::{Role, Table};
use anyhow::Result;
use std::sync::Arc;

/// Drop the constraints the journal relaxes (on a resume, only those the
/// target still has).
pub async fn relax(cx: &Ctx<'_>) -> Result<()> {
    let before = cx.built().await?;
    if !cx.journal.relaxed.is_empty() {
        cx.progress.note(&format!(
            "{}: relaxing {} constraints and indexes of existing tables (recorded in {})",
            cx.progress.verb(),
            cx.journal.relaxed.len(),
            crate::engine::JOURNAL_TABLE
        ));
    }
    drop_relaxed(&cx.journal.relaxed, cx.target.as_ref(), before.as_ref()).await
}

/// Tables no chunk went into are (re-)created from scratch. Dropping first:
/// dropping a table also drops the sequences it owns, which `prepare`
/// creates again. Around the tables: the roles `--create-roles` makes, the
/// objects tables need (types, functions), and those that need the tables.
pub async fn create(cx: &mut Ctx<'_>) -> Result<()> {
    let (plan, target, from) = (Arc::clone(&cx.plan), Arc::clone(&cx.target), cx.from());
    let feed = Arc::clone(&cx.feed);
    let schema = &feed.contents().schema;
    refuse_partial_fold(cx)?;
    // A table that partitions load into has rows once one of them has.
    let fresh: Vec<usize> = (0..plan.tables.len())
        .filter(|&pi| !cx.started(pi) && !folded_in(cx, pi).any(|pj| cx.started(pj)))
        .collect();
    for &pi in &fresh {
        let t = &plan.tables[pi];
        match t.action {
            Action::Recreate => target.drop_table(t.target()).await?,
            Action::Create if cx.resuming => target.drop_table(t.target()).await?,
            // Empty before the restore: whatever is there came from it.
            Action::Load if cx.resuming => {
                target
                    .empty_table(
                        t.target(),
                        &format!("table {}: emptying it to load it again", t.name),
                    )
                    .await?;
            }
            Action::Merge => target.drop_table(&staging_name(t, pi)).await?,
            _ => {}
        }
    }
    if !cx.journal.pre_data {
        let mut created = false;
        if plan.objects.create_roles {
            let roles: Vec<Role> = schema
                .roles
                .iter()
                .filter(|r| plan.objects.missing_roles.contains(&r.name))
                .cloned()
                .collect();
            if !roles.is_empty() {
                cx.warn(target.create_roles(&roles).await?);
                created = true;
            }
        }
        if plan.objects.clean {
            let all = objects::all(&plan, schema);
            cx.warn(target.drop_objects(schema, &all, from).await?);
        }
        target.prepare(schema, from).await?;
        let before = objects::at_stage(&plan, schema, Stage::BeforeTables);
        cx.warn(target.create_objects(&before, from).await?);
        // Recorded only when there is something to skip on a resume (and
        // for --abandon to name).
        if created || !before.is_empty() {
            cx.journal.pre_data = true;
            cx.journal.save(target.as_ref()).await?;
        }
    } else {
        // Sequences owned by tables dropped again above.
        target.prepare(schema, from).await?;
    }
    let creating: Vec<&Table> = fresh
        .iter()
        .map(|&pi| &plan.tables[pi])
        .filter(|t| matches!(t.action, Action::Create | Action::Recreate))
        .map(|t| &schema.tables[t.index])
        .collect();
    let restored: Vec<&str> = plan.tables.iter().map(|t| t.name.as_str()).collect();
    for table in parents_first(&creating) {
        let Some(t) = plan.tables.iter().find(|t| t.name == table.name) else {
            continue;
        };
        // The app's own types on the target where the plan chose them.
        let table = t.target_table.as_ref().unwrap_or(table);
        let table = objects::without_missing_parents(table, &restored);
        target.create_table(&table, &t.inline, from).await?;
    }
    for &pi in &fresh {
        let t = &plan.tables[pi];
        if t.action == Action::Merge {
            let staging = staging_name(t, pi);
            target
                .create_staging(
                    &staging,
                    t.target(),
                    &format!("table {}: creating its staging table {staging}", t.name),
                )
                .await?;
        }
    }
    let after = objects::at_stage(&plan, schema, Stage::AfterTables);
    cx.warn(target.create_objects(&after, from).await?);
    Ok(())
}

/// The plan tables (partitions, another engine) whose rows load into plan
/// table `pi`'s.
fn folded_in<'a>(cx: &'a Ctx<'_>, pi: usize) -> impl Iterator<Item = usize> + 'a {
    let t = &cx.plan.tables[pi];
    let fold = t.action != Action::Fold;
    cx.plan
        .tables
        .iter()
        .enumerate()
        .filter(move |(_, p)| fold && p.action == Action::Fold && p.target() == t.target())
        .map(|(pj, _)| pj)
}

/// A resumed copy cannot finish loading partitions into one table: the
/// rows of a partition copied in part are not told apart from the others'.
fn refuse_partial_fold(cx: &Ctx<'_>) -> Result<()> {
    if !cx.resuming || !cx.feed.origin().copy {
        return Ok(());
    }
    for (pi, t) in cx.plan.tables.iter().enumerate() {
        let group: Vec<usize> = std::iter::once(pi).chain(folded_in(cx, pi)).collect();
        if group.len() > 1
            && group.iter().any(|&p| cx.started(p))
            && group.iter().any(|&p| !cx.started(p))
        {
            anyhow::bail!(
                "the copy stopped while loading the partitions of {} into table {}; it cannot be resumed: undo it with --abandon and copy again",
                t.name,
                t.target()
            );
        }
    }
    Ok(())
}
