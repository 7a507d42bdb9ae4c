//! The end of a restore: sequences past the restored ids, the objects
//! after the data (views, triggers, policies, grants...), statistics, and
//! every table's row count checked against the manifest.

use super::super::context::{with_source_positions, Ctx};
use super::super::journal::Phase;
use super::super::objects;
use super::super::plan::Action;
use super::super::Report;
use crate::model::objects::Stage;
use crate::model::{NativeObject, Schema};
use anyhow::Result;
use std::sync::atomic::Ordering;

/// Move sequences and auto-increment counters past both the source's
/// position and the loaded maximum.
pub async fn sequences(cx: &Ctx<'_>) -> Result<()> {
    cx.progress.note(&format!(
        "{}: resetting sequences and analyzing",
        cx.progress.verb()
    ));
    let (target, schema) = (cx.target.as_ref(), cx.schema());
    for t in &cx.plan.tables {
        match (t.action, &t.target_table) {
            (Action::Keep | Action::Fold, _) => {}
            (Action::Load | Action::Merge, Some(tt)) => {
                let merged = with_source_positions(tt, &schema.tables[t.index]);
                target.reset_sequences(&merged, target.kind()).await?
            }
            // Another engine's name or types (`plan::reshape`, `convert::apps`).
            (Action::Create | Action::Recreate, Some(tt)) => {
                target.reset_sequences(tt, cx.from()).await?
            }
            _ => {
                target
                    .reset_sequences(&schema.tables[t.index], cx.from())
                    .await?
            }
        }
    }
    Ok(())
}

/// Create the objects that follow the data (views, triggers, policies,
/// grants...) and refresh statistics, once; returns the plan's warnings
/// with what was left out.
pub async fn extras(cx: &mut Ctx<'_>) -> Result<Vec<String>> {
    let mut warnings = cx.plan.warnings.clone();
    warnings.extend(cx.conversions.report());
    if cx.journal.phase != Phase::Finished {
        let schema = cx.schema();
        let mut after = objects::at_stage(&cx.plan, schema, Stage::AfterData);
        if !cx.plan.keep_definers && after.iter().any(|x| x.definer.is_some()) {
            let me = cx.target.current_user().await?;
            cx.warn(drop_definers(&mut after, me.as_deref()));
        }
        let more = cx.target.create_objects(&after, cx.from()).await?;
        cx.warn(more);
        let restored = Schema {
            tables: cx
                .plan
                .tables
                .iter()
                .filter(|t| !matches!(t.action, Action::Keep | Action::Fold))
                .map(|t| match (t.action, &t.target_table) {
                    (Action::Create | Action::Recreate, Some(tt)) => tt.clone(),
                    _ => schema.tables[t.index].clone(),
                })
                .collect(),
            extras: after,
            ..schema.clone()
        };
        cx.target.finish(&restored, cx.from()).await?;
        cx.journal.phase = Phase::Finished;
        cx.journal.save(cx.target.as_ref()).await?;
    }
    warnings.extend(cx.target.warnings());
    if let Ok(mut w) = cx.warnings.lock() {
        warnings.append(&mut w);
    }
    Ok(warnings)
}

/// Objects are created as the restoring user (`me`) unless
/// `--keep-definers`: their definers are dropped, and each one that was
/// another account is named.
fn drop_definers(extras: &mut [NativeObject], me: Option<&str>) -> Vec<String> {
    let mut warnings = Vec::new();
    for x in extras {
        let Some(d) = x.definer.take() else {
            continue;
        };
        if me != Some(d.as_str()) {
            warnings.push(format!(
                "{} {}: its definer is now the restoring user {}, not {d} (--keep-definers keeps it)",
                x.kind,
                x.name,
                me.unwrap_or("(unknown)")
            ));
        }
    }
    warnings
}

/// Check counts against the manifest (archive rows = restored + rejected),
/// remove the journal, and report.
pub async fn check(cx: Ctx<'_>, mut warnings: Vec<String>) -> Result<Report> {
    let (plan, journal, exact) = (&cx.plan, &cx.journal, cx.feed.exact_counts());
    let loaded = |pi: usize| cx.loaded[pi].load(Ordering::Relaxed);
    let mut rows = 0;
    for (pi, t) in plan.tables.iter().enumerate() {
        if t.action == Action::Keep {
            continue;
        }
        let n = loaded(pi);
        if n != t.rows && exact {
            anyhow::bail!(
                "table {}: loaded {n} rows but the archive holds {}",
                t.name,
                t.rows
            );
        }
        if t.action != Action::Merge {
            rows += n;
        }
    }
    for m in &journal.merged {
        rows += m.inserted;
        let Some(pi) = plan.tables.iter().position(|p| p.name == m.table) else {
            continue;
        };
        if m.inserted + m.archived + m.identical != loaded(pi) {
            let identical = match m.identical {
                0 => String::new(),
                n => format!(", {n} already in the target"),
            };
            warnings.push(format!(
                "table {}: the archive holds {} rows, {} were inserted{identical} and {} rejected; the rest were removed from its staging table before the merge",
                m.table, plan.tables[pi].rows, m.inserted, m.archived
            ));
        }
    }
    let rejected: u64 = journal.merged.iter().map(|r| r.archived).sum();
    let replaced: u64 = journal.merged.iter().map(|r| r.existing).sum();
    let mut rejects: Vec<String> = journal
        .merged
        .iter()
        .filter(|r| !r.file.is_empty())
        .map(|r| r.file.clone())
        .collect();
    rejects.dedup();
    cx.target.journal_clear().await?;
    let (stored_bytes, raw_bytes) = cx.feed.bytes(plan);
    let constraints: usize =
        plan.tables.iter().map(|t| t.deferred.len()).sum::<usize>() + journal.relaxed.len();
    Ok(Report {
        tables: plan.tables.len(),
        rows,
        rejected,
        replaced,
        rejects,
        stored_bytes,
        raw_bytes,
        constraints,
        seconds: cx.progress.elapsed().as_secs_f64(),
        warnings,
    })
}
