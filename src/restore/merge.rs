//! Merging archive rows into a target table that already has rows: the
//! archive's rows are loaded into a staging table, rows whose primary or
//! unique key matches a row of the target are found (in the target's
//! collation) and resolved by the `--on-duplicate` policy, losers are
//! written to a rejects archive, and the rest are inserted.

use super::plan::TablePlan;
use super::Policy;
use crate::engine::Target;
use crate::schema::{EngineKind, Table};
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
            let shown = rows.len();
            for (vals, n) in crate::engine::groups(rows, k.columns.len()) {
                report.push(describe_group(&tp.name, k, &vals, 1, n));
            }
            if shown == LIMIT {
                let total: usize = target
                    .query_text(
                        &names.conflict_count_sql(k),
                        &format!("table {}: counting rows the target already has", tp.name),
                    )
                    .await?
                    .first()
                    .and_then(|r| r.first().cloned().flatten())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
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
