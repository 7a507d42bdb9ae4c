//! Before any row: relax the constraints of existing tables, drop and
//! (re-)create the tables no chunk went into, create types and sequences,
//! and staging tables for tables that have rows.

use super::super::context::Ctx;
use super::super::merge::staging_name;
use super::super::plan::Action;
use super::super::relax::drop_relaxed;
use crate::model::Schema;
use anyhow::Result;

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
/// creates again.
pub async fn create(cx: &Ctx<'_>) -> Result<()> {
    let (plan, target, from) = (&cx.plan, cx.target.as_ref(), cx.from());
    let schema = cx.schema();
    let fresh: Vec<usize> = (0..plan.tables.len())
        .filter(|&pi| !cx.started(pi))
        .collect();
    for &pi in &fresh {
        let t = &plan.tables[pi];
        match t.action {
            Action::Recreate => target.drop_table(&t.name).await?,
            Action::Create if cx.resuming => target.drop_table(&t.name).await?,
            // Empty before the restore: whatever is there came from it.
            Action::Load if cx.resuming => {
                target
                    .empty_table(
                        &t.name,
                        &format!("table {}: emptying it to load it again", t.name),
                    )
                    .await?;
            }
            Action::Merge => target.drop_table(&staging_name(t, pi)).await?,
            _ => {}
        }
    }
    if plan.writes_existing() {
        // The app's own functions in an existing schema win.
        let only_extensions = Schema {
            extras: schema
                .extras
                .iter()
                .filter(|x| x.kind == "extension")
                .cloned()
                .collect(),
            ..schema.clone()
        };
        target.prepare(&only_extensions, from).await?;
    } else {
        target.prepare(schema, from).await?;
    }
    for &pi in &fresh {
        let t = &plan.tables[pi];
        match t.action {
            Action::Create | Action::Recreate => {
                let table = t.target_table.as_ref().unwrap_or(&schema.tables[t.index]);
                target.create_table(table, &t.inline, from).await?
            }
            Action::Merge => {
                let staging = staging_name(t, pi);
                target
                    .create_staging(
                        &staging,
                        &t.name,
                        &format!("table {}: creating its staging table {staging}", t.name),
                    )
                    .await?;
            }
            _ => {}
        }
    }
    Ok(())
}
