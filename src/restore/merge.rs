//! Merging archive rows into a target table that already has rows: the
//! archive's rows are loaded into a staging table, rows whose primary or
//! unique key matches a row of the target are found (in the target's
//! collation) and resolved by the `--on-duplicate` policy, losers are
//! written to a rejects archive, and the rest are inserted.

use super::plan::{Action, Plan, TablePlan};
use super::{count, failpoint, DuplicatesError, Journal, Merged, Policy, Run};
use crate::engine::Target;
use crate::model::{EngineKind, Schema, Table};
use crate::progress::Progress;
use anyhow::{Context, Result};
use std::sync::Arc;

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
    for i in tt.indexes.iter().filter(|i| i.unique) {
        if !i.columns.iter().any(|c| c.starts_with('(')) {
            push(format!("unique index {}", i.name), &i.columns);
        }
    }
    out
}

/// SQL names for one merge.
pub struct Names<'a> {
    pub target: &'a dyn Target,
    /// The target table, quoted.
    pub t: String,
    /// The staging table, quoted.
    pub s: String,
}

impl Names<'_> {
    /// `T.c1 = S.c1 AND ...`: the target's column on the left, so SQLite
    /// compares in its collation.
    fn on(&self, cols: &[String]) -> String {
        cols.iter()
            .map(|c| {
                let q = self.target.quote(c);
                format!("{}.{q} = {}.{q}", self.t, self.s)
            })
            .collect::<Vec<_>>()
            .join(" AND ")
    }

    /// A condition on rows of `outer` (T or S) that some row of the other
    /// table matches on any key.
    pub fn matches(&self, keys: &[MergeKey], outer_is_target: bool) -> String {
        let inner = if outer_is_target { &self.s } else { &self.t };
        keys.iter()
            .map(|k| {
                format!(
                    "EXISTS (SELECT 1 FROM {inner} WHERE {})",
                    self.on(&k.columns)
                )
            })
            .collect::<Vec<_>>()
            .join(" OR ")
    }

    /// Groups of a key's values held by a target row and archive rows.
    pub fn conflicts_sql(&self, key: &MergeKey, limit: usize) -> String {
        let cols: Vec<String> = key
            .columns
            .iter()
            .map(|c| format!("{}.{}", self.t, self.target.quote(c)))
            .collect();
        let shown: Vec<String> = cols.iter().map(|c| self.target.text_sql(c)).collect();
        format!(
            "SELECT {}, COUNT(*) FROM {} JOIN {} ON {} GROUP BY {} ORDER BY COUNT(*) DESC, {} LIMIT {limit}",
            shown.join(", "),
            self.t,
            self.s,
            self.on(&key.columns),
            cols.join(", "),
            cols.join(", ")
        )
    }

    /// How many target rows a key's archive rows collide with.
    pub fn conflict_count_sql(&self, key: &MergeKey) -> String {
        format!(
            "SELECT COUNT(*) FROM {} WHERE EXISTS (SELECT 1 FROM {} WHERE {})",
            self.t,
            self.s,
            self.on(&key.columns)
        )
    }

    /// Insert the staging table's rows into the target.
    pub fn insert_sql(&self, columns: &[String]) -> String {
        let cols = columns
            .iter()
            .map(|c| self.target.quote(c))
            .collect::<Vec<_>>()
            .join(", ");
        // Identity columns GENERATED ALWAYS take the archive's values too.
        let overriding = if self.target.kind() == EngineKind::Postgres {
            " OVERRIDING SYSTEM VALUE"
        } else {
            ""
        };
        format!(
            "INSERT INTO {} ({cols}){overriding} SELECT {cols} FROM {}",
            self.t, self.s
        )
    }
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
    let names = Names {
        target,
        t: target.quote(&tp.name),
        s: target.quote(staging),
    };
    let mut report = Vec::new();
    for k in keys {
        if with_existing {
            let rows = target
                .query_text(
                    &names.conflicts_sql(k, LIMIT),
                    &format!("table {}: probing for rows the target already has", tp.name),
                )
                .await?;
            let shown = rows.len() as u64;
            for (vals, n) in crate::engine::groups(rows, k.columns.len()) {
                report.push(describe_group(&tp.name, k, &vals, 1, n));
            }
            if shown == LIMIT as u64 {
                let total = count(
                    target,
                    &names.conflict_count_sql(k),
                    &format!("table {}: counting rows the target already has", tp.name),
                )
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
        for (vals, n) in target.duplicates(staging, &k.columns, LIMIT).await? {
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
pub(super) async fn resolve(
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
            let names = Names {
                target,
                t: target.quote(&tp.name),
                s: target.quote(&staging),
            };
            target.drop_table(&rejects).await?;
            target
                .execute(
                    &[format!(
                        "CREATE TABLE {} AS SELECT * FROM {} WHERE {}",
                        target.quote(&rejects),
                        if in_target { &names.t } else { &names.s },
                        names.matches(keys, in_target)
                    )],
                    &format!("table {}: collecting the rows it rejects", tp.name),
                )
                .await?;
            let n = count(
                target,
                &format!("SELECT COUNT(*) FROM {}", target.quote(&rejects)),
                &format!("table {}: counting the rows it rejects", tp.name),
            )
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
        let names = Names {
            target,
            t: target.quote(&tp.name),
            s: target.quote(&staging),
        };
        let mut sql = Vec::new();
        if run.policy != Policy::Fail && !keys.is_empty() {
            sql.push(format!(
                "DELETE FROM {} WHERE {}",
                if in_target { &names.t } else { &names.s },
                names.matches(keys, in_target)
            ));
        }
        sql.push(names.insert_sql(&tp.columns));
        sql.push(format!("DELETE FROM {}", names.s));
        // The journal moves on in the same transaction: a crash leaves
        // either nothing merged or the merge recorded.
        let staged: u64 = count(
            target,
            &format!("SELECT COUNT(*) FROM {}", names.s),
            &format!("table {}: counting its staged rows", tp.name),
        )
        .await?;
        let n = losers.iter().find(|(p, _)| p == pi).map_or(0, |(_, n)| *n);
        let mut next = journal.clone();
        next.merged.push(Merged {
            table: tp.name.clone(),
            inserted: staged - if in_target { 0 } else { n.min(staged) },
            archived: if in_target { 0 } else { n },
            existing: if in_target { n } else { 0 },
            file: if n > 0 { file.clone() } else { String::new() },
        });
        next.merges.retain(|m| m != pi);
        sql.push(format!(
            "UPDATE {} SET body = {} WHERE id = 1",
            target.quote(crate::engine::JOURNAL_TABLE),
            target.string_literal(&serde_json::to_string(&next)?)
        ));
        target
            .execute(
                &sql,
                &format!("table {}: merging the archive's rows", tp.name),
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

pub(super) fn policy_name(p: Policy) -> &'static str {
    match p {
        Policy::Fail => "fail",
        Policy::KeepExisting => "keep-existing",
        Policy::KeepArchived => "keep-archived",
    }
}

/// Write the `haul_rejects_*` tables with rows to the rejects archive, each
/// under its table's name and shape; returns the archive's path.
async fn write_rejects(
    archive: &str,
    plan: &Plan,
    losers: &[(usize, u64)],
    run: &Run<'_>,
) -> Result<String> {
    let mut tables = Vec::new();
    let mut read_from = Vec::new();
    for &(pi, n) in losers.iter().filter(|(_, n)| *n > 0) {
        let tp = &plan.tables[pi];
        let Some(tt) = &tp.target_table else { continue };
        let mut t = tt.clone();
        t.estimated_rows = Some(n);
        read_from.push((t.name.clone(), rejects_name(tp, pi)));
        tables.push(t);
    }
    let source: Arc<dyn crate::engine::Source> = Arc::from(
        crate::engine::open_source(run.target_spec, 1)
            .await
            .context("reading the rejected rows back out of the target")?,
    );
    let expected: Vec<(String, Option<u64>)> = tables
        .iter()
        .map(|t| (t.name.clone(), t.estimated_rows))
        .collect();
    let quiet = Progress::new(crate::progress::Mode::Quiet, "rejects", &expected);
    let settings = crate::dump::Settings {
        no_replace: true,
        jobs: 1,
        chunk_size: 64 << 20,
        level: 3,
        markers: false,
    };
    let schema = Schema {
        tables,
        ..Schema::default()
    };
    let (path, _) = crate::dump::write_archive(
        source,
        schema,
        &read_from,
        &run.rejects,
        &settings,
        quiet,
        crate::archive::manifest::now_rfc3339(),
        vec![match run.policy {
            Policy::KeepArchived => format!(
                "rows of {} replaced by the archive's in a restore of {archive} (--on-duplicate keep-archived)",
                run.target_spec
            ),
            _ => format!(
                "rows of {archive} not restored into {}: the target's rows with the same keys were kept (--on-duplicate keep-existing)",
                run.target_spec
            ),
        }],
    )
    .await
    .with_context(|| format!("writing the rejects archive {}", run.rejects.display()))?;
    Ok(path.display().to_string())
}
