//! Probe every relaxed unique key for duplicates (in the target's
//! collation), then add back everything relaxed that the target lacks.

use super::super::context::Ctx;
use super::super::relax::add_relaxed;
use super::super::DuplicatesError;
use crate::engine::{Constraint, Target};
use anyhow::Result;

/// The columns of a unique key or plain unique index, and a partial
/// index's condition.
fn unique_columns(c: &Constraint) -> Option<(&[String], Option<&str>)> {
    match c {
        Constraint::Unique(k) => Some((&k.columns, None)),
        Constraint::Index(i) if i.unique && !i.on_expression() => {
            Some((&i.columns, i.predicate.as_deref()))
        }
        _ => None,
    }
}

/// One line per duplicate group of a unique key in `table`.
pub(super) async fn duplicate_lines(
    target: &dyn Target,
    table: &str,
    c: &Constraint,
) -> Result<Vec<String>> {
    let Some((cols, predicate)) = unique_columns(c) else {
        return Ok(vec![]);
    };
    let groups = target.duplicates(table, cols, predicate, 5).await?;
    Ok(groups
        .into_iter()
        .map(|(vals, n)| {
            let key: Vec<String> = cols
                .iter()
                .zip(&vals)
                .map(|(c, v)| format!("{c}={v:?}"))
                .collect();
            format!(
                "table {table}: {} {} ({}): {n} rows with {}",
                c.kind(),
                c.name(),
                cols.join(", "),
                key.join(", ")
            )
        })
        .collect())
}

/// Stop (exit 7) if a unique key about to be built on a table created from
/// another engine's rows has duplicates in the target's collation.
pub(super) async fn probe_unique(target: &dyn Target, table: &str, c: &Constraint) -> Result<()> {
    let lines = duplicate_lines(target, table, c).await?;
    if lines.is_empty() {
        return Ok(());
    }
    Err(DuplicatesError(format!(
        "duplicate keys in {}'s collation: the unique key cannot be built:\n  {}\n\
         The rows are loaded and the key is not built. Fix the rows, then finish with --resume \
         (or undo the restore with --abandon)",
        target.kind(),
        lines.join("\n  ")
    ))
    .into())
}

/// Probe every relaxed unique key, then reapply everything relaxed that the
/// target does not have.
pub async fn reapply(cx: &Ctx<'_>) -> Result<()> {
    let (journal, target, progress) = (&cx.journal, cx.target.as_ref(), &cx.progress);
    if journal.relaxed.is_empty() {
        return Ok(());
    }
    progress.note(&format!(
        "{}: probing relaxed unique keys for duplicates",
        progress.verb()
    ));
    let mut report = Vec::new();
    for r in &journal.relaxed {
        report.extend(duplicate_lines(target, &r.table.name, &r.constraint).await?);
    }
    if !report.is_empty() {
        return Err(DuplicatesError(format!(
            "duplicate keys: the relaxed constraints cannot be reapplied:\n  {}\n\
             The data is loaded and the constraints stay dropped, recorded in the target's {} table. \
             Fix the rows (or re-run from scratch with a --backfill rule for the column), then finish with: \
             {} TARGET --resume",
            report.join("\n  "),
            crate::engine::JOURNAL_TABLE,
            journal.again()
        ))
        .into());
    }
    progress.note(&format!(
        "{}: no duplicates; reapplying {} relaxed constraints and indexes",
        progress.verb(),
        journal.relaxed.len()
    ));
    add_relaxed(&journal.relaxed, target).await
}
