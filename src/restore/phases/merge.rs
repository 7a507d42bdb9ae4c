//! Merging archive rows into a target table that already has rows: the
//! archive's rows are loaded into a staging table, rows whose primary or
//! unique key matches a row of the target are found (in the target's
//! collation) and resolved by the `--on-duplicate` policy, losers are
//! written to a rejects archive, and the rest are inserted.

use super::super::failpoint::failpoint;
use super::super::journal::{Journal, Merged};
use super::super::plan::{Action, TablePlan};
use super::super::rejects::write_rejects;
use super::super::{DuplicatesError, Policy, Run};
use crate::engine::Target;
use crate::model::Table;
use crate::progress::Progress;
use anyhow::Result;

/// The staging table of plan table `pi`.
pub fn staging_name(t: &TablePlan, pi: usize) -> String {
    bounded("haul_stage_", &t.name, pi)
}

/// The table collecting plan table `pi`'s rejected rows.
pub fn rejects_name(t: &TablePlan, pi: usize) -> String {
    bounded("haul_rejects_", &t.name, pi)
}

/// `prefix` + name, or `prefix` + index where the name would pass
/// PostgreSQL's 63-byte identifier limit.
fn bounded(prefix: &str, name: &str, pi: usize) -> String {
    if prefix.len() + name.len() <= 63 {
        format!("{prefix}{name}")
    } else {
        format!("{prefix}{pi}")
    }
}

/// A key guarding merged rows: its description and columns.
pub struct MergeKey {
    pub label: String,
    pub columns: Vec<String>,
}

/// The target table's primary and unique keys whose columns are all loaded.
pub fn keys(tt: &Table, loaded: &[String]) -> Vec<MergeKey> {
    let mut out = Vec::new();
    let mut push = |label: String, cols: &[String]| {
        if !cols.is_empty()
            && cols.iter().all(|c| loaded.contains(c))
            && !out.iter().any(|k: &MergeKey| k.columns == cols)
        {
            out.push(MergeKey {
                label,
                columns: cols.to_vec(),
            });
        }
    };
    if let Some(pk) = &tt.primary_key {
        push(format!("primary key {}", pk.name), &pk.columns);
    }
    for u in &tt.uniques {
        push(format!("unique {}", u.name), &u.columns);
    }
    // A partial unique index guards only the rows its condition holds for:
    // matching on its columns alone would find false conflicts. A real
    // one stops the final insert, naming the index.
    for i in tt
        .indexes
        .iter()
        .filter(|i| i.unique && i.predicate.is_none())
    {
        if !i.on_expression() {
            push(format!("unique index {}", i.name), &i.columns);
        }
    }
    out
}

/// Describe one duplicate group for people.
pub fn describe_group(
    table: &str,
    key: &MergeKey,
    vals: &[String],
    existing: u64,
    archived: u64,
) -> String {
    let kv: Vec<String> = key
        .columns
        .iter()
        .zip(vals)
        .map(|(c, v)| format!("{c}={v:?}"))
        .collect();
    let rows = |n: u64, what: &str| format!("{n} {what} row{}", if n == 1 { "" } else { "s" });
    let mut sources = Vec::new();
    if existing > 0 {
        sources.push(rows(existing, "pre-existing"));
    }
    sources.push(rows(archived, "archived"));
    format!(
        "table {table}: {} ({}): {}: {}",
        key.label,
        key.columns.join(", "),
        kv.join(", "),
        sources.join(", ")
    )
}

/// Groups shown per key.
const LIMIT: usize = 5;

/// Report lines for every conflict of a merged table: archive rows matching
/// a target row, and archive rows sharing a key among themselves.
pub async fn conflicts(
    target: &dyn Target,
    tp: &TablePlan,
    staging: &str,
    keys: &[MergeKey],
    with_existing: bool,
) -> Result<Vec<String>> {
    let mut report = Vec::new();
    for k in keys {
        if with_existing {
            let groups = target
                .merge_conflicts(&tp.name, staging, &k.columns, LIMIT)
                .await?;
            let shown = groups.len() as u64;
            for (vals, n) in groups {
                report.push(describe_group(&tp.name, k, &vals, 1, n));
            }
            if shown == LIMIT as u64 {
                let total = target
                    .merge_conflict_count(&tp.name, staging, &k.columns)
                    .await?;
                if total > shown {
                    report.push(format!(
                        "table {}: {} ({}): and {} more",
                        tp.name,
                        k.label,
                        k.columns.join(", "),
                        total - shown
                    ));
                }
            }
        }
        for (vals, n) in target.duplicates(staging, &k.columns, None, LIMIT).await? {
            report.push(describe_group(&tp.name, k, &vals, 0, n));
        }
    }
    Ok(report)
}

/// Which table loses under a policy: the staging table's rows
/// (keep-existing) or the target's (keep-archived).
pub fn losers_in_target(policy: Policy) -> bool {
    policy == Policy::KeepArchived
}

/// Merge the staged tables left in the journal: under `fail`, stop on any
/// conflict; under a keep policy, write the losers to the rejects archive,
/// delete them, and insert the staged rows that remain.
pub async fn resolve(
    journal: &mut Journal,
    target: &dyn Target,
    progress: &Progress,
    run: &Run<'_>,
) -> Result<()> {
    // Staging tables of merges a stopped run finished.
    for (pi, tp) in journal.plan.tables.iter().enumerate() {
        if tp.action == Action::Merge && !journal.merges.contains(&pi) {
            target.drop_table(&staging_name(tp, pi)).await?;
            target.drop_table(&rejects_name(tp, pi)).await?;
        }
    }
    if journal.merges.is_empty() {
        return Ok(());
    }
    let plan = journal.plan.clone();
    let merges: Vec<(usize, &TablePlan, Vec<MergeKey>)> = journal
        .merges
        .iter()
        .filter_map(|&pi| {
            let tp = &plan.tables[pi];
            Some((pi, tp, keys(tp.target_table.as_ref()?, &tp.columns)))
        })
        .collect();
    progress.note(&format!(
        "{}: merging {} staged tables into tables that have rows (--on-duplicate {})",
        progress.verb(),
        merges.len(),
        policy_name(run.policy)
    ));
    for (pi, tp, keys) in &merges {
        drop_identical(journal, target, progress, &staging_name(tp, *pi), tp, keys).await?;
    }
    let mut report = Vec::new();
    for (pi, tp, keys) in &merges {
        let staging = staging_name(tp, *pi);
        report.extend(conflicts(target, tp, &staging, keys, run.policy == Policy::Fail).await?);
    }
    if !report.is_empty() {
        let advice = if run.policy == Policy::Fail {
            format!(
                "Nothing was inserted into these tables; the archive's rows wait in haul_stage_* tables and the \
                 journal stays. Finish with: {} {} --resume --on-duplicate keep-existing \
                 (or keep-archived; the losing rows go to a rejects archive), or fix the rows and --resume, \
                 or undo the restore with --abandon",
                journal.again(), run.target_spec
            )
        } else {
            format!(
                "--on-duplicate {} decides between a target row and an archive row, not between two archive rows. \
                 Fix the rows in the haul_stage_* tables, then: {} {} --resume --on-duplicate {}",
                policy_name(run.policy),
                journal.again(),
                run.target_spec,
                policy_name(run.policy)
            )
        };
        return Err(DuplicatesError(format!(
            "rows of the archive collide on keys of tables that already have rows:\n  {}\n{advice}",
            report.join("\n  ")
        ))
        .into());
    }

    // Losers into haul_rejects_* tables, then out to the rejects archive.
    let in_target = losers_in_target(run.policy);
    let mut losers: Vec<(usize, u64)> = Vec::new();
    if run.policy != Policy::Fail {
        for (pi, tp, keys) in &merges {
            if keys.is_empty() {
                continue;
            }
            let staging = staging_name(tp, *pi);
            let rejects = rejects_name(tp, *pi);
            let n = target
                .merge_collect_losers(&tp.name, &staging, &rejects, &columns_of(keys), in_target)
                .await?;
            losers.push((*pi, n));
        }
    }
    let file = if losers.iter().any(|(_, n)| *n > 0) {
        let written = write_rejects(&journal.archive, &plan, &losers, run).await?;
        progress.note(&format!(
            "{}: {} rejected rows written to {}",
            progress.verb(),
            losers.iter().map(|(_, n)| n).sum::<u64>(),
            written
        ));
        written
    } else {
        String::new()
    };
    failpoint("rejects");

    for (pi, tp, keys) in &merges {
        let staging = staging_name(tp, *pi);
        let staged = target
            .count_rows(
                &staging,
                &format!("table {}: counting its staged rows", tp.name),
            )
            .await?;
        let n = losers.iter().find(|(p, _)| p == pi).map_or(0, |(_, n)| *n);
        let identical = identical_rows(journal, &tp.name);
        // The journal moves on in the merge's own transaction: a crash
        // leaves either nothing merged or the merge recorded.
        let mut next = journal.clone();
        next.merged.push(Merged {
            table: tp.name.clone(),
            inserted: staged - if in_target { 0 } else { n.min(staged) },
            archived: if in_target { 0 } else { n },
            existing: if in_target { n } else { 0 },
            identical,
            file: if n > 0 { file.clone() } else { String::new() },
        });
        next.merges.retain(|m| m != pi);
        let key_columns = columns_of(keys);
        let delete = (run.policy != Policy::Fail && !keys.is_empty())
            .then_some((key_columns.as_slice(), in_target));
        target
            .merge_commit(
                &tp.name,
                &staging,
                delete,
                &tp.columns,
                &serde_json::to_string(&next)?,
            )
            .await?;
        *journal = next;
        failpoint("merge-committed");
        target.drop_table(&staging).await?;
        target.drop_table(&rejects_name(tp, *pi)).await?;
        if run.analyze {
            target.analyze(&tp.name).await?;
        }
    }
    Ok(())
}

/// Leave out the staged rows of `tp` that the target holds already, value
/// for value in every loaded column (an app's seeded rows the archive has
/// too), in a table with a key: they are no conflict under any policy. The
/// count goes into the journal in the same transaction.
async fn drop_identical(
    journal: &mut Journal,
    target: &dyn Target,
    progress: &Progress,
    staging: &str,
    tp: &TablePlan,
    keys: &[MergeKey],
) -> Result<()> {
    // Without a key, equal rows are rows of their own (a log's repeated
    // line): only keyed rows can be the same row.
    let Some(key) = keys.first().map(|k| k.columns.as_slice()) else {
        return Ok(());
    };
    let n = target
        .merge_same_count(&tp.name, staging, &tp.columns, key)
        .await?;
    if n == 0 {
        return Ok(());
    }
    let mut next = journal.clone();
    match next.identical.iter_mut().find(|(t, _)| t == &tp.name) {
        Some((_, m)) => *m += n,
        None => next.identical.push((tp.name.clone(), n)),
    }
    let dropped = target
        .merge_drop_same(
            &tp.name,
            staging,
            &tp.columns,
            key,
            &serde_json::to_string(&next)?,
        )
        .await?;
    if dropped != n {
        anyhow::bail!(
            "table {}: {n} archive rows matched the target's exactly, but {dropped} were left out (was the target written to during the restore?)",
            tp.name
        );
    }
    *journal = next;
    progress.note(&format!(
        "{}: table {}: {n} archive row{} the target holds already, identical: left as {}",
        progress.verb(),
        tp.name,
        if n == 1 { "" } else { "s" },
        if n == 1 { "it is" } else { "they are" }
    ));
    Ok(())
}

/// Archive rows of `table` left out as identical to the target's.
fn identical_rows(journal: &Journal, table: &str) -> u64 {
    journal
        .identical
        .iter()
        .find(|(t, _)| t == table)
        .map_or(0, |(_, n)| *n)
}

pub fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Fail => "fail",
        Policy::KeepExisting => "keep-existing",
        Policy::KeepArchived => "keep-archived",
    }
}

/// The column lists of merge keys.
fn columns_of(keys: &[MergeKey]) -> Vec<Vec<String>> {
    keys.iter().map(|k| k.columns.clone()).collect()
}
