//! The end of a restore: sequences past the restored ids, views, triggers
//! and other extras replayed, statistics, and every table's row count
//! checked against the manifest.

use super::super::context::{with_source_positions, Ctx};
use super::super::journal::Phase;
use super::super::plan::{Action, Plan};
use super::super::Report;
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
            (Action::Keep, _) => {}
            (Action::Load | Action::Merge, Some(tt)) => {
                let merged = with_source_positions(tt, &schema.tables[t.index]);
                target.reset_sequences(&merged, target.kind()).await?
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

/// Replay the extras (views, triggers, routines, events) and refresh
/// statistics, once; returns the plan's warnings with what was left out or
/// created otherwise.
pub async fn extras(cx: &mut Ctx<'_>) -> Result<Vec<String>> {
    let mut warnings = cx.plan.warnings.clone();
    warnings.extend(cx.conversions.report());
    let manifest = cx.feed.manifest();
    let same_engine = cx.from() == cx.target.kind();
    let mut extras = extras_to_replay(&cx.plan, manifest, same_engine, &mut warnings);
    if !cx.plan.keep_definers && extras.iter().any(|x| x.definer.is_some()) {
        let me = cx.target.current_user().await?;
        warnings.extend(drop_definers(&mut extras, me.as_deref()));
    }
    if cx.journal.phase != Phase::Finished {
        let schema = cx.schema();
        let restored = Schema {
            tables: cx
                .plan
                .tables
                .iter()
                .filter(|t| t.action != Action::Keep)
                .map(|t| schema.tables[t.index].clone())
                .collect(),
            extras,
            ..schema.clone()
        };
        cx.target.finish(&restored, cx.from()).await?;
        cx.journal.phase = Phase::Finished;
        cx.journal.save(cx.target.as_ref()).await?;
    }
    warnings.extend(cx.target.warnings());
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
    let (plan, journal, live) = (&cx.plan, &cx.journal, cx.feed.live());
    let loaded = |pi: usize| cx.loaded[pi].load(Ordering::Relaxed);
    let mut rows = 0;
    for (pi, t) in plan.tables.iter().enumerate() {
        if t.action == Action::Keep {
            continue;
        }
        let n = loaded(pi);
        if n != t.rows && !live {
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
    let manifest = cx.feed.manifest();
    let chosen = || plan.tables.iter().map(|t| &manifest.tables[t.index]);
    let constraints: usize =
        plan.tables.iter().map(|t| t.deferred.len()).sum::<usize>() + journal.relaxed.len();
    Ok(Report {
        tables: plan.tables.len(),
        rows,
        rejected,
        replaced,
        rejects,
        stored_bytes: chosen().map(|t| t.stored_bytes).sum(),
        raw_bytes: match cx.feed.live_raw_bytes() {
            Some(n) => n,
            None => chosen().map(|t| t.raw_bytes).sum(),
        },
        constraints,
        seconds: cx.progress.elapsed().as_secs_f64(),
        warnings,
    })
}

/// The extras to replay: never objects over an existing schema (the app's
/// own win), nor views that name a table this restore leaves out. Triggers
/// go with their table; routines and events whatever tables they read.
/// None from another engine (the plan names them).
fn extras_to_replay(
    plan: &Plan,
    manifest: &crate::archive::Manifest,
    same_engine: bool,
    warnings: &mut Vec<String>,
) -> Vec<NativeObject> {
    if !same_engine {
        return Vec::new();
    }
    let existing = |x: &NativeObject, warnings: &mut Vec<String>| {
        warnings.push(format!(
            "{} {} not created: the target's schema already exists",
            x.kind, x.name
        ));
        false
    };
    let left_out: Vec<&str> = manifest
        .tables
        .iter()
        .filter(|e| !plan.tables.iter().any(|p| p.name == e.name))
        .map(|e| e.name.as_str())
        .collect();
    manifest
        .schema
        .extras
        .iter()
        .filter(|x| match &x.table {
            Some(t) if !plan.tables.iter().any(|p| &p.name == t) => false,
            Some(_) if plan.writes_existing() => existing(x, warnings),
            Some(_) => true,
            None if x.kind == "extension" => true,
            None if plan.writes_existing() => existing(x, warnings),
            None if matches!(x.kind.as_str(), "function" | "procedure" | "event") => true,
            None => match left_out.iter().find(|t| mentions(&x.ddl, t)) {
                Some(t) => {
                    warnings.push(format!(
                        "{} {} not created: it reads table {t}, which this restore leaves out",
                        x.kind, x.name
                    ));
                    false
                }
                None => true,
            },
        })
        .cloned()
        .collect()
}

/// Whether `sql` names `table` as a whole identifier.
fn mentions(sql: &str, table: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    sql.match_indices(table).any(|(i, _)| {
        let before = sql[..i].chars().next_back();
        let after = sql[i + table.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}
