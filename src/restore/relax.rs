//! Relaxing constraints for a load and adding them back: what the target
//! has (by name, or by shape across engines), dropped foreign keys first,
//! added keys first.

use super::journal::Relaxed;
use crate::engine::{Constraint, Target};
use crate::model::{Schema, TableFilter};
use anyhow::Result;

/// Whether the target (as introspected) has constraint `c` on `table`.
pub(super) fn present(s: &Schema, table: &str, c: &Constraint) -> bool {
    let Some(t) = s.table(table) else {
        return false;
    };
    // By name, or by shape: another engine's names are rewritten on the
    // way (MySQL's per-table index names become table-prefixed).
    let index = |n: &str, cols: &[String], unique: bool| {
        t.indexes
            .iter()
            .any(|i| i.name == n || (i.columns == cols && i.unique == unique))
            || t.uniques
                .iter()
                .any(|u| u.name == n || (unique && u.columns == cols))
    };
    match c {
        Constraint::PrimaryKey(_) => t.primary_key.is_some(),
        Constraint::Unique(k) => index(&k.name, &k.columns, true),
        Constraint::Index(i) => index(&i.name, &i.columns, i.unique),
        Constraint::ForeignKey(f) => t
            .foreign_keys
            .iter()
            .any(|x| x.name == f.name || (x.columns == f.columns && x.ref_table == f.ref_table)),
        Constraint::Check(k) => t.checks.iter().any(|x| x.name == k.name),
    }
}

/// Drop the relaxed constraints the target has (`None`: all of them),
/// foreign keys first: a key they depend on cannot go before them.
pub(super) async fn drop_relaxed(
    relaxed: &[Relaxed],
    target: &dyn Target,
    has: Option<&Schema>,
) -> Result<()> {
    let mut order: Vec<&Relaxed> = relaxed.iter().collect();
    order.sort_by_key(|r| !matches!(r.constraint, Constraint::ForeignKey(_)));
    for r in order {
        if has.is_none_or(|s| present(s, &r.table.name, &r.constraint)) {
            target.drop_constraint(&r.table, &r.constraint).await?;
        }
    }
    Ok(())
}

/// Add back every relaxed constraint the target lacks, keys before the
/// foreign keys that may need them.
pub(super) async fn add_relaxed(relaxed: &[Relaxed], target: &dyn Target) -> Result<()> {
    let now = target.schema(&TableFilter::default()).await?;
    let mut order: Vec<&Relaxed> = relaxed.iter().collect();
    order.sort_by_key(|r| matches!(r.constraint, Constraint::ForeignKey(_)));
    for r in order {
        if !present(&now, &r.table.name, &r.constraint) {
            target
                .add_constraint(&r.table, &r.constraint, target.kind())
                .await?;
        }
    }
    Ok(())
}
