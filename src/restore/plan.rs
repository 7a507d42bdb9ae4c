//! The restore plan: what a restore will do to the target, computed from the
//! archive and the target's current schema without writing anything.
//! `haul plan` prints it; `haul restore` executes it.

use crate::archive::Manifest;
use crate::engine::{Constraint, Target};
use crate::error::RefusedError;
use crate::schema::{EngineKind, TableFilter};
use anyhow::Result;
use serde::Serialize;

/// What happens to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The target has no such table: create it.
    Create,
    /// The target has it and `--clean` was given: drop and re-create it.
    Recreate,
}

/// The plan for one table.
#[derive(Debug, Clone, Serialize)]
pub struct TablePlan {
    pub name: String,
    /// Index into the manifest's tables (and the archive schema's).
    #[serde(skip)]
    pub index: usize,
    pub action: Action,
    pub rows: u64,
    pub chunks: usize,
    /// Created with the table (engines that cannot add them later).
    pub inline: Vec<Constraint>,
    /// Added after the data.
    pub deferred: Vec<Constraint>,
}

/// A whole restore.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    pub source_engine: EngineKind,
    pub source_version: String,
    pub target_engine: EngineKind,
    pub target_version: String,
    pub tables: Vec<TablePlan>,
    pub warnings: Vec<String>,
}

/// Compare the archive with the target and decide. Refuses (exit 5) when the
/// target holds a table the archive would overwrite and `clean` is off.
pub async fn make(
    manifest: &Manifest,
    target: &dyn Target,
    target_name: &str,
    filter: &TableFilter,
    clean: bool,
) -> Result<Plan> {
    let from = manifest.source.engine;
    let existing = target.schema(&TableFilter::default()).await?;
    if let Some(missing) = filter.include.iter().find(|n| manifest.table(n).is_none()) {
        return Err(crate::error::UsageError(format!(
            "table {missing:?} is not in the archive (haul inspect lists its tables)"
        ))
        .into());
    }
    let mut tables = Vec::new();
    let mut warnings = Vec::new();
    let chosen: Vec<&str> = manifest
        .tables
        .iter()
        .filter(|t| filter.wants(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    for (index, entry) in manifest.tables.iter().enumerate() {
        if !filter.wants(&entry.name) {
            continue;
        }
        let Some(table) = manifest.schema.table(&entry.name) else {
            anyhow::bail!("archive schema has no table {:?}", entry.name);
        };
        let action = if existing.table(&entry.name).is_some() {
            if !clean {
                let what = if target.has_rows(&entry.name).await? {
                    "already has rows"
                } else {
                    "already exists"
                };
                return Err(RefusedError(format!(
                    "table {} in {target_name} {what}; nothing was changed. \
                     Use --clean to drop and re-create the archive's tables, or restore into an empty database",
                    entry.name
                ))
                .into());
            }
            Action::Recreate
        } else {
            Action::Create
        };
        let mut inline = Vec::new();
        let mut deferred = Vec::new();
        for c in Constraint::all_of(table) {
            if let Constraint::ForeignKey(fk) = &c {
                if !chosen.contains(&fk.ref_table.as_str())
                    && existing.table(&fk.ref_table).is_none()
                {
                    warnings.push(format!(
                        "table {}: foreign key {} skipped: it references {}, which is neither restored nor in the target",
                        table.name, fk.name, fk.ref_table
                    ));
                    continue;
                }
            }
            if target.can_add_later(&c) {
                deferred.push(c);
            } else {
                inline.push(c);
            }
        }
        tables.push(TablePlan {
            name: entry.name.clone(),
            index,
            action,
            rows: entry.rows,
            chunks: entry.chunks.len(),
            inline,
            deferred,
        });
    }
    Ok(Plan {
        source_engine: from,
        source_version: manifest.source.server_version.clone(),
        target_engine: target.kind(),
        target_version: target.server_version().await?,
        tables,
        warnings,
    })
}

impl Plan {
    /// The plan as a person reads it.
    pub fn render(&self) -> String {
        let mut s = format!(
            "restore plan: {} {} archive into {} {}\n",
            self.source_engine, self.source_version, self.target_engine, self.target_version
        );
        for t in &self.tables {
            let verb = match t.action {
                Action::Create => "create",
                Action::Recreate => "drop and re-create",
            };
            s.push_str(&format!(
                "  {verb} table {}: load {} rows in {} chunk{}",
                t.name,
                t.rows,
                t.chunks,
                if t.chunks == 1 { "" } else { "s" }
            ));
            if !t.deferred.is_empty() {
                let names: Vec<String> = t
                    .deferred
                    .iter()
                    .map(|c| format!("{} {}", c.kind(), c.name()))
                    .collect();
                s.push_str(&format!("; then add {}", names.join(", ")));
            }
            s.push('\n');
        }
        for w in &self.warnings {
            s.push_str(&format!("  warning: {w}\n"));
        }
        s
    }
}
