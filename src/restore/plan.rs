//! The restore plan: what a restore will do to the target, computed from the
//! archive and the target's current schema without writing anything.
//! `haul plan` prints it; `haul restore` executes it.
//!
//! A table the target lacks is created. A table the target has, empty, is
//! loaded into: archive columns map to target columns by name, target
//! columns the archive lacks get their default or a backfill rule, and the
//! target's unique keys, indexes and foreign keys on it are relaxed during
//! the load and reapplied after a probe for duplicates. A table with rows is
//! refused unless `--clean`.

use crate::archive::Manifest;
use crate::engine::convert::ZeroDates;
use crate::engine::{Constraint, Target};
use crate::error::RefusedError;
use crate::schema::{EngineKind, Table, TableFilter};
use crate::transform::{Backfill, OutColumn};
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
    /// The target has it, empty: load into its columns.
    Load,
    /// The target's rows are kept and the archive's are not loaded (a rule).
    Keep,
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
    /// Target columns loaded, in field order.
    pub columns: Vec<String>,
    /// How each loaded column gets its value.
    #[serde(skip)]
    pub out: Vec<OutColumn>,
    /// What the mapping does, for people.
    pub mapping: Vec<String>,
    /// Target constraints dropped for the load and reapplied after.
    pub relax: Vec<Constraint>,
    /// The target's table (for `Load`).
    #[serde(skip)]
    pub target_table: Option<Table>,
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
    /// The archive's app schema versions against the target's, in words.
    pub app_versions: Vec<String>,
    /// What zero dates become in PostgreSQL (from the options).
    #[serde(skip)]
    pub zero_dates: ZeroDates,
}

/// What the user asked for.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub filter: TableFilter,
    pub clean: bool,
    /// Rules given on the command line (an unmatched one is an error).
    pub backfills: Vec<Backfill>,
    /// Rules from a profile or rules file (an unmatched one is a warning).
    pub profile_backfills: Vec<Backfill>,
    pub keep_target: Vec<String>,
    /// `table.column` archive columns the user agrees to leave out.
    pub drop_columns: Vec<String>,
    /// What zero dates become in PostgreSQL.
    pub zero_dates: ZeroDates,
}

/// Compare the archive with the target and decide. Refuses (exit 5) before
/// any write when the restore could not succeed, listing every reason.
pub async fn make(
    manifest: &Manifest,
    target: &dyn Target,
    target_name: &str,
    opts: &Options,
) -> Result<Plan> {
    let from = manifest.source.engine;
    let filter = &opts.filter;
    let existing = target.schema(&TableFilter::default()).await?;
    if let Some(missing) = filter.include.iter().find(|n| manifest.table(n).is_none()) {
        return Err(crate::error::UsageError(format!(
            "table {missing:?} is not in the archive (haul inspect lists its tables)"
        ))
        .into());
    }
    let mut tables = Vec::new();
    let mut warnings = Vec::new();
    let mut problems = Vec::new();
    let chosen: Vec<&str> = manifest
        .tables
        .iter()
        .filter(|t| filter.wants(&t.name))
        .map(|t| t.name.as_str())
        .collect();
    let rules: Vec<(&Backfill, bool)> = opts
        .backfills
        .iter()
        .map(|b| (b, true))
        .chain(opts.profile_backfills.iter().map(|b| (b, false)))
        .collect();
    for (b, explicit) in &rules {
        let known = manifest.table(&b.table).is_some()
            && existing
                .table(&b.table)
                .is_none_or(|t| t.column(&b.column).is_some());
        if !known {
            let msg = format!(
                "backfill {}: no table {} with a column {} in the archive and the target",
                b.text, b.table, b.column
            );
            if *explicit {
                problems.push(msg);
            } else {
                warnings.push(msg);
            }
        }
    }
    for (index, entry) in manifest.tables.iter().enumerate() {
        if !filter.wants(&entry.name) {
            continue;
        }
        let Some(table) = manifest.schema.table(&entry.name) else {
            anyhow::bail!("archive schema has no table {:?}", entry.name);
        };
        let mut plan = TablePlan {
            name: entry.name.clone(),
            index,
            action: Action::Create,
            rows: entry.rows,
            chunks: entry.chunks.len(),
            inline: vec![],
            deferred: vec![],
            columns: entry.columns.clone(),
            out: (0..entry.columns.len()).map(OutColumn::Archive).collect(),
            mapping: vec![],
            relax: vec![],
            target_table: None,
        };
        if let Some(tt) = existing.table(&entry.name).filter(|_| !opts.clean) {
            if opts.keep_target.contains(&entry.name) {
                plan.action = Action::Keep;
                plan.mapping
                    .push("the target's rows are kept; the archive's are not loaded".into());
                tables.push(plan);
                continue;
            }
            if target.has_rows(&entry.name).await? {
                problems.push(format!(
                    "table {} in {target_name} already has rows (use --clean to drop and re-create the archive's tables)",
                    entry.name
                ));
                continue;
            }
            plan.action = Action::Load;
            map_columns(&mut plan, &entry.columns, tt, &rules, opts, &mut problems);
            for c in Constraint::all_of(tt) {
                if matches!(c, Constraint::PrimaryKey(_) | Constraint::Check(_)) {
                    continue;
                }
                if target.can_add_later(&c) {
                    plan.relax.push(c);
                } else {
                    warnings.push(format!(
                        "table {}: {} {} cannot be relaxed on {}; a duplicate stops the load",
                        tt.name,
                        c.kind(),
                        c.name(),
                        target.kind()
                    ));
                }
            }
            plan.target_table = Some(tt.clone());
            tables.push(plan);
            continue;
        }
        if existing.table(&entry.name).is_some() {
            plan.action = Action::Recreate;
        }
        problems.extend(target.refuse_names(table));
        if from != target.kind() {
            for c in table.data_columns() {
                if let Some(ty) = target.column_type(table, c) {
                    plan.mapping
                        .push(format!("{} {} -> {ty}", c.name, c.native_type));
                }
            }
            for c in table.columns.iter().filter(|c| c.generated.is_some()) {
                warnings.push(format!(
                    "table {}: generated column {} is created as a plain column, NULL in every row \
                     (its expression is in {from}'s SQL)",
                    table.name, c.name
                ));
            }
        }
        for (b, _) in &rules {
            if b.table == entry.name {
                warnings.push(format!(
                    "backfill {}: table {} is created from the archive, the rule does not apply",
                    b.text, entry.name
                ));
            }
        }
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
                plan.deferred.push(c);
            } else {
                plan.inline.push(c);
            }
        }
        tables.push(plan);
    }
    match problems.len() {
        0 => {}
        1 => return Err(RefusedError(format!("{}; nothing was changed", problems[0])).into()),
        _ => {
            return Err(RefusedError(format!(
                "the restore cannot succeed; nothing was changed:\n  {}",
                problems.join("\n  ")
            ))
            .into())
        }
    }
    Ok(Plan {
        source_engine: from,
        source_version: manifest.source.server_version.clone(),
        target_engine: target.kind(),
        target_version: target.server_version().await?,
        tables,
        warnings,
        app_versions: vec![],
        zero_dates: opts.zero_dates,
    })
}

/// Map the archive's columns onto an existing target table by name.
fn map_columns(
    plan: &mut TablePlan,
    archive: &[String],
    tt: &Table,
    rules: &[(&Backfill, bool)],
    opts: &Options,
    problems: &mut Vec<String>,
) {
    let name = &tt.name;
    let pos = |c: &str| archive.iter().position(|a| a == c);
    plan.columns.clear();
    plan.out.clear();
    for tc in tt.data_columns() {
        let rule = rules
            .iter()
            .find(|(b, _)| &b.table == name && b.column == tc.name)
            .map(|(b, _)| *b);
        let from = pos(&tc.name);
        match (from, rule) {
            (Some(i), None) => plan.out.push(OutColumn::Archive(i)),
            (from, Some(b)) => {
                let input = match b.expr.input() {
                    Some(c) => match pos(c) {
                        Some(k) => Some(k),
                        None => {
                            problems.push(format!(
                                "backfill {}: the archive's table {name} has no column {c}",
                                b.text
                            ));
                            continue;
                        }
                    },
                    None => None,
                };
                plan.mapping.push(match from {
                    Some(_) => format!(
                        "{} = {} where the archive's value is NULL or empty",
                        tc.name,
                        b.text.split_once('=').map(|x| x.1).unwrap_or("")
                    ),
                    None => format!(
                        "{} = {} (not in the archive)",
                        tc.name,
                        b.text.split_once('=').map(|x| x.1).unwrap_or("")
                    ),
                });
                plan.out.push(OutColumn::Backfill {
                    expr: b.expr.clone(),
                    input,
                    from,
                });
            }
            (None, None) => {
                if tc.default.is_some() || tc.nullable || tc.auto_increment.is_some() {
                    plan.mapping.push(format!(
                        "{} is not in the archive: it gets its default{}",
                        tc.name,
                        tc.default
                            .as_ref()
                            .map(|d| format!(" ({d})"))
                            .unwrap_or_else(|| {
                                if tc.nullable {
                                    " (NULL)".into()
                                } else {
                                    String::new()
                                }
                            })
                    ));
                } else {
                    problems.push(format!(
                        "table {name}: column {} is NOT NULL without a default and the archive has no value for it; \
                         give a rule: --backfill '{name}.{}=EXPR' (or a --profile / --rules file that has one)",
                        tc.name, tc.name
                    ));
                }
                continue;
            }
        }
        plan.columns.push(tc.name.clone());
    }
    for a in archive {
        if tt.column(a).is_none() {
            if opts
                .drop_columns
                .iter()
                .any(|d| d == &format!("{name}.{a}"))
            {
                plan.mapping
                    .push(format!("{a} is dropped (--drop-columns)"));
            } else {
                problems.push(format!(
                    "table {name}: the archive's column {a} is not in the target; \
                     --drop-columns {name}.{a} leaves it out"
                ));
            }
        }
    }
}

impl Plan {
    /// The plan as a person reads it.
    pub fn render(&self) -> String {
        let mut s = format!(
            "restore plan: {} {} archive into {} {}\n",
            self.source_engine, self.source_version, self.target_engine, self.target_version
        );
        for a in &self.app_versions {
            s.push_str(&format!("  app: {a}\n"));
        }
        for t in &self.tables {
            let verb = match t.action {
                Action::Create => "create",
                Action::Recreate => "drop and re-create",
                Action::Load => "load into existing",
                Action::Keep => "keep the target's",
            };
            s.push_str(&format!("  {verb} table {}", t.name));
            if t.action != Action::Keep {
                s.push_str(&format!(
                    ": load {} rows in {} chunk{}",
                    t.rows,
                    t.chunks,
                    if t.chunks == 1 { "" } else { "s" }
                ));
            }
            if !t.deferred.is_empty() {
                let names: Vec<String> = t
                    .deferred
                    .iter()
                    .map(|c| format!("{} {}", c.kind(), c.name()))
                    .collect();
                s.push_str(&format!("; then add {}", names.join(", ")));
            }
            s.push('\n');
            for m in &t.mapping {
                s.push_str(&format!("      {m}\n"));
            }
            if !t.relax.is_empty() {
                let names: Vec<String> = t
                    .relax
                    .iter()
                    .map(|c| format!("{} {}", c.kind(), c.name()))
                    .collect();
                s.push_str(&format!(
                    "      relax {} during the load; probe for duplicates; reapply\n",
                    names.join(", ")
                ));
            }
        }
        for w in &self.warnings {
            s.push_str(&format!("  warning: {w}\n"));
        }
        s
    }

    /// Whether the restore writes into tables that already existed.
    pub fn writes_existing(&self) -> bool {
        self.tables
            .iter()
            .any(|t| matches!(t.action, Action::Load | Action::Keep))
    }
}
