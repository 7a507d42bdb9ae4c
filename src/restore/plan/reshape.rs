//! A PostgreSQL archive's tables as an engine without schemas or
//! partitioning makes them: a table `s.t` of another schema becomes `s_t`,
//! and a partitioned table one plain table, loaded with the rows of its
//! leaf partitions, which are not created (`Action::Fold`).

use crate::model::{EngineKind, Schema, Table};
use std::collections::{BTreeMap, HashMap};

/// The target's name of each archive table a restore creates, and the
/// plain table each restored partition's rows go into.
#[derive(Debug, Default)]
pub(super) struct Shape {
    /// A PostgreSQL archive into another engine: anything to do at all.
    active: bool,
    /// Archive name -> target name, for tables whose name changes.
    renamed: BTreeMap<String, String>,
    /// Partition (archive name) -> its topmost restored partitioned table.
    folded: HashMap<String, String>,
}

impl Shape {
    /// How `from`'s tables `chosen` of `schema` are created on `to`.
    pub(super) fn of(schema: &Schema, chosen: &[&str], from: EngineKind, to: EngineKind) -> Shape {
        let mut shape = Shape {
            active: from == EngineKind::Postgres && to != EngineKind::Postgres,
            ..Shape::default()
        };
        if !shape.active {
            return shape;
        }
        for name in chosen {
            if name.contains('.') {
                shape
                    .renamed
                    .insert(name.to_string(), name.replace('.', "_"));
            }
            let Some(t) = schema.table(name) else {
                continue;
            };
            if let Some(top) = top_parent(schema, t, chosen) {
                shape.folded.insert(name.to_string(), top);
            }
        }
        shape
    }

    /// The name table `name` of the archive has on the target.
    pub(super) fn target_name<'a>(&'a self, name: &'a str) -> &'a str {
        self.renamed.get(name).map(String::as_str).unwrap_or(name)
    }

    /// The partitioned table whose plain table partition `name`'s rows
    /// load into, if it is one whose parent is restored.
    pub(super) fn folded_into(&self, name: &str) -> Option<&str> {
        self.folded.get(name).map(String::as_str)
    }

    /// `table` as the target creates it: its name and those its foreign
    /// keys reference mapped, without partitioning or parents.
    pub(super) fn table(&self, table: &Table) -> Table {
        let mut t = table.clone();
        if !self.active {
            return t;
        }
        t.name = self.target_name(&table.name).to_string();
        for fk in &mut t.foreign_keys {
            fk.ref_table = self.target_name(&fk.ref_table).to_string();
        }
        // Constraint and index names are per schema on PostgreSQL, per
        // database there: those of another schema's table take its prefix.
        if let Some((schema, _)) = table.name.split_once('.') {
            let prefixed = |n: &mut String| *n = format!("{schema}_{n}");
            if let Some(pk) = &mut t.primary_key {
                prefixed(&mut pk.name);
            }
            t.uniques.iter_mut().for_each(|k| prefixed(&mut k.name));
            t.indexes.iter_mut().for_each(|i| prefixed(&mut i.name));
            t.foreign_keys
                .iter_mut()
                .for_each(|f| prefixed(&mut f.name));
            t.checks.iter_mut().for_each(|c| prefixed(&mut c.name));
        }
        if table.is_partitioned() || self.folded.contains_key(&table.name) {
            t.options
                .retain(|(k, _)| k != "partition_by" && k != "partition");
            t.inherits.clear();
            for c in &mut t.columns {
                c.inherited = false;
            }
        }
        t
    }

    /// What a person is told of the mapping, and the target names that two
    /// archive tables would share (refused). `to` names the target engine.
    pub(super) fn review(
        &self,
        schema: &Schema,
        chosen: &[&str],
        to: EngineKind,
    ) -> (Vec<String>, Vec<String>) {
        let (mut warnings, mut problems) = (Vec::new(), Vec::new());
        if !self.active {
            return (warnings, problems);
        }
        for (from, target) in &self.renamed {
            if self.folded.contains_key(from) {
                continue;
            }
            warnings.push(format!(
                "table {from} is created as {target}: {to} has no schemas"
            ));
        }
        let mut by_target: BTreeMap<String, Vec<&str>> = BTreeMap::new();
        for name in chosen.iter().filter(|n| !self.folded.contains_key(**n)) {
            let key = self.target_name(name);
            // MySQL and SQLite may compare table names ignoring case.
            by_target.entry(key.to_lowercase()).or_default().push(name);
        }
        for names in by_target.values().filter(|v| v.len() > 1) {
            let named: Vec<String> = names
                .iter()
                .map(|n| format!("{n} (as {})", self.target_name(n)))
                .collect();
            problems.push(format!(
                "tables {} would have the same name on {to}, which has no schemas; leave one out with --exclude-tables",
                named.join(" and ")
            ));
        }
        for t in schema
            .tables
            .iter()
            .filter(|t| t.is_partitioned() && chosen.contains(&t.name.as_str()))
            .filter(|t| !self.folded.contains_key(&t.name))
        {
            let mut parts: Vec<&str> = self
                .folded
                .iter()
                .filter(|(_, top)| **top == t.name)
                .filter(|(p, _)| schema.table(p).is_some_and(|pt| !pt.is_partitioned()))
                .map(|(p, _)| p.as_str())
                .collect();
            parts.sort_unstable();
            let by = t
                .options
                .iter()
                .find(|(k, _)| k == "partition_by")
                .map(|(_, v)| v.as_str())
                .unwrap_or("");
            let rows = match parts.is_empty() {
                true => "no partition of it is restored, so it has no rows".to_string(),
                false => format!(
                    "loaded with the rows of its partitions {}",
                    parts.join(", ")
                ),
            };
            warnings.push(format!(
                "table {} is partitioned (PARTITION BY {by}), which {to} cannot carry: it is created as one table {}, {rows}; the partitions are not created as tables",
                t.name,
                self.target_name(&t.name)
            ));
        }
        (warnings, problems)
    }
}

/// The topmost partitioned table `t` is a partition of, when `t` is a
/// partition and that table (and every one between) is restored.
fn top_parent(schema: &Schema, t: &Table, chosen: &[&str]) -> Option<String> {
    let mut at = t;
    let mut top = None;
    for _ in 0..schema.tables.len() {
        if !at.options.iter().any(|(k, _)| k == "partition") {
            break;
        }
        let parent = at.inherits.first()?;
        let p = schema.table(parent)?;
        if !p.is_partitioned() || !chosen.contains(&parent.as_str()) {
            break;
        }
        top = Some(parent.clone());
        at = p;
    }
    top
}
