//! The restore plan: what a restore will do to the target, computed from the
//! archive and the target's current schema without writing anything.
//! `haul plan` prints it; `haul restore` executes it.
//!
//! A table the target lacks is created. A table the target has, empty, is
//! loaded into: archive columns map to target columns by name, target
//! columns the archive lacks get their default or a backfill rule, and the
//! target's unique keys, indexes and foreign keys on it are relaxed during
//! the load and reapplied after a probe for duplicates. A table with rows is
//! merged into: the archive's rows go through a staging table, and those
//! whose keys collide with the target's are resolved by `--on-duplicate`.

mod loss;
mod render;
mod reshape;

use super::feed::Contents;
use super::objects::ObjectOptions;
use crate::convert::spatial::Postgis;
use crate::convert::ZeroDates;
use crate::engine::{Constraint, Target};
use crate::error::RefusedError;
use crate::model::{EngineKind, Schema, Table, TableFilter};
use crate::transform::{Backfill, OutColumn};
use anyhow::Result;
use loss::check_types;
use serde::{Deserialize, Serialize};

/// What happens to one table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// The target has no such table: create it.
    Create,
    /// The target has it and `--clean` was given: drop and re-create it.
    Recreate,
    /// The target has it, empty: load into its columns.
    Load,
    /// The target has it, with rows: load into a staging table, resolve
    /// rows whose keys collide with the target's (`--on-duplicate`), then
    /// insert the rest.
    Merge,
    /// The target's rows are kept and the archive's are not loaded (a rule).
    Keep,
    /// A partition, into an engine without partitioning: not created; its
    /// rows load into the plain table its partitioned parent becomes
    /// (`target_table`).
    Fold,
}

/// The plan for one table.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TablePlan {
    pub name: String,
    /// Index into the manifest's tables (and the archive schema's).
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
    pub out: Vec<OutColumn>,
    /// What the mapping does, for people.
    pub mapping: Vec<String>,
    /// Target constraints dropped for the load and reapplied after.
    pub relax: Vec<Constraint>,
    /// The target's table (for `Load` and `Merge`); for `Create` and
    /// `Recreate`, the archive's table with the types an app makes on the
    /// target, where they differ from the mapping (`convert::apps`).
    pub target_table: Option<Table>,
    /// The target's table had rows before the restore.
    #[serde(default)]
    pub had_rows: bool,
}

impl TablePlan {
    /// The name of the table on the target its rows go into (a table of
    /// another PostgreSQL schema `s.t` is `s_t` on the other engines; a
    /// partition's rows go into its parent's).
    pub fn target(&self) -> &str {
        self.target_table
            .as_ref()
            .map(|t| t.name.as_str())
            .unwrap_or(&self.name)
    }
}

/// A whole restore.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    pub source_engine: EngineKind,
    pub source_version: String,
    pub target_engine: EngineKind,
    pub target_version: String,
    pub tables: Vec<TablePlan>,
    /// Foreign keys of target tables outside the restore that reference a
    /// merged table: relaxed with the rest.
    pub referencing: Vec<(Table, Constraint)>,
    pub warnings: Vec<String>,
    /// The archive's app schema versions against the target's, in words.
    pub app_versions: Vec<String>,
    /// Rows come from a live source (`haul copy`), not an archive.
    #[serde(default)]
    pub live: bool,
    /// What zero dates become in PostgreSQL (from the options).
    #[serde(default)]
    pub zero_dates: ZeroDates,
    /// `--no-code`: views, triggers, checks and expressions left out.
    #[serde(default)]
    pub no_code: bool,
    /// `--keep-definers`: objects keep the definer they had in the source.
    #[serde(default)]
    pub keep_definers: bool,
    /// Owners, grants and roles.
    #[serde(default)]
    pub objects: ObjectOptions,
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
    /// Restore even where a type change changes values silently.
    pub allow_lossy: bool,
    /// Load an app's schema-version rows into a marker table that has rows.
    pub load_markers: bool,
    /// What zero dates become in PostgreSQL.
    pub zero_dates: ZeroDates,
    /// Leave out everything in the archive that is code (`--no-code`).
    pub no_code: bool,
    /// Create objects as their source's definer, not the restoring user.
    pub keep_definers: bool,
    /// `--no-owner`, `--no-privileges`, `--create-roles`.
    pub objects: ObjectOptions,
}

/// Compare the archive with the target (whose tables are `existing`) and
/// decide. Refuses (exit 5) before any write when the restore could not
/// succeed, listing every reason.
pub async fn make(
    manifest: &Contents,
    target: &dyn Target,
    existing: &Schema,
    opts: &Options,
) -> Result<Plan> {
    let from = manifest.source.engine;
    let filter = &opts.filter;
    if let Some(missing) = filter.include.iter().find(|n| manifest.table(n).is_none()) {
        return Err(crate::error::UsageError(format!(
            "table {missing:?} is not in the archive (haul inspect lists its tables)"
        ))
        .into());
    }
    let unsafe_sql = crate::engine::sqltext::schema_problems(&manifest.schema, from, target.kind());
    if !unsafe_sql.is_empty() {
        return Err(crate::engine::EngineError::Unsafe(format!(
            "the archive holds SQL haul will not run: {}",
            unsafe_sql.join("; ")
        ))
        .into());
    }
    let mut tables: Vec<TablePlan> = Vec::new();
    let mut warnings = Vec::new();
    let mut app_notes = Vec::new();
    let mut problems = Vec::new();
    // Foreign keys of other target tables that reference a merged table.
    let mut referencing: Vec<(Table, Constraint)> = Vec::new();
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
    let postgis = postgis_choice(manifest, target, &chosen).await?;
    let to = target.kind();
    let shape = reshape::Shape::of(&manifest.schema, &chosen, from, to);
    let (shaped, clashes) = shape.review(&manifest.schema, &chosen, to);
    warnings.extend(shaped);
    problems.extend(clashes);
    // The target's names of the tables the restore creates or loads.
    let chosen_targets: Vec<&str> = chosen
        .iter()
        .filter(|n| shape.folded_into(n).is_none())
        .map(|n| shape.target_name(n))
        .collect();
    for (index, entry) in manifest.tables.iter().enumerate() {
        if !filter.wants(&entry.name) {
            continue;
        }
        let Some(table) = manifest.schema.table(&entry.name) else {
            anyhow::bail!("archive schema has no table {:?}", entry.name);
        };
        let target_name = shape.target_name(&entry.name);
        let mut plan = TablePlan {
            name: entry.name.clone(),
            index,
            action: Action::Create,
            rows: entry.rows,
            chunks: entry.chunks,
            inline: vec![],
            deferred: vec![],
            columns: entry.columns.clone(),
            out: (0..entry.columns.len()).map(OutColumn::Archive).collect(),
            mapping: vec![],
            relax: vec![],
            target_table: None,
            had_rows: false,
        };
        if let Some(top) = shape.folded_into(&entry.name) {
            let Some(parent) = manifest.schema.table(top) else {
                anyhow::bail!("archive schema has no table {top:?}");
            };
            plan.action = Action::Fold;
            plan.target_table = Some(shape.table(parent));
            plan.mapping.push(format!(
                "a partition of {}: not created, its rows load into table {} ({to} has no partitioning)",
                table.inherits.join(", "),
                shape.target_name(top)
            ));
            tables.push(plan);
            continue;
        }
        let reshaped = target_name != entry.name || (table.is_partitioned() && from != to);
        if reshaped && existing.table(target_name).is_some() && !opts.clean {
            problems.push(format!(
                "table {} is created as one table {target_name} on {to}, which the target has already; \
                 restore into an empty database, or replace it with --clean",
                entry.name
            ));
            continue;
        }
        if let Some(tt) = existing
            .table(&entry.name)
            .filter(|_| !opts.clean && !reshaped)
        {
            if opts.keep_target.contains(&entry.name) {
                plan.action = Action::Keep;
                plan.mapping
                    .push("the target's rows are kept; the archive's are not loaded".into());
                tables.push(plan);
                continue;
            }
            if crate::markers::is_marker_table(&entry.name)
                && !opts.load_markers
                && target.has_rows(&entry.name).await?
            {
                // The app's own migration bookkeeping describes the schema
                // the target has; the archive's rows would make the app
                // re-run or skip migrations.
                plan.action = Action::Keep;
                plan.mapping.push(
                    "an app's schema-version table: the target's rows are kept, the archive's are not loaded (--load-markers loads them)"
                        .into(),
                );
                tables.push(plan);
                continue;
            }
            plan.target_table = Some(tt.clone());
            map_columns(&mut plan, &entry.columns, tt, &rules, opts, &mut problems);
            for tc in tt.data_columns() {
                if let Some(ac) = table.column(&tc.name).filter(|ac| {
                    crate::convert::uuid_as_hex(&ac.ty, &tc.ty) && from != target.kind()
                }) {
                    plan.mapping.push(format!(
                        "column {} ({} in the archive, {} in the target): UUIDs written as 32 hex digits without dashes",
                        tc.name, ac.native_type, tc.native_type
                    ));
                }
            }
            if target.kind() != EngineKind::Sqlite {
                check_types(
                    table,
                    tt,
                    target.kind(),
                    opts,
                    &mut plan.mapping,
                    &mut warnings,
                    &mut problems,
                );
            }
            if target.has_rows(&entry.name).await? {
                plan.action = Action::Merge;
                plan.had_rows = true;
                // Rows arrive through a staging table and are inserted once
                // resolved, under the table's own keys. Its foreign keys, and
                // those that reference it, are relaxed: parents may load
                // later, and keep-archived deletes the target's losing rows.
                // (SQLite enforces no foreign key during a restore, and
                // cannot drop one.)
                plan.relax.extend(
                    tt.foreign_keys
                        .iter()
                        .cloned()
                        .map(Constraint::ForeignKey)
                        .filter(|c| target.can_add_later(c)),
                );
                referencing.extend(referencing_fks(existing, tt, target));
                tables.push(plan);
                continue;
            }
            plan.action = Action::Load;
            // Foreign keys of other tables on the keys relaxed here must go
            // first (PostgreSQL refuses to drop a key they depend on).
            referencing.extend(referencing_fks(existing, tt, target));
            let mut fixed = Vec::new();
            for c in Constraint::all_of(tt) {
                if matches!(c, Constraint::PrimaryKey(_) | Constraint::Check(_)) {
                    continue;
                }
                if target.can_add_later(&c) {
                    plan.relax.push(c);
                } else if !matches!(c, Constraint::ForeignKey(_)) {
                    fixed.push(format!("{} {}", c.kind(), c.name()));
                }
            }
            if !fixed.is_empty() {
                // A unique key declared inside CREATE TABLE (SQLite) cannot
                // be dropped: the rows go through a staging table, probed
                // there for duplicates before they go in.
                plan.action = Action::Merge;
                plan.relax
                    .retain(|c| matches!(c, Constraint::ForeignKey(_)));
                plan.mapping.push(format!(
                    "{} cannot be dropped on {}: rows are loaded into a staging table and probed there",
                    fixed.join(", "),
                    target.kind()
                ));
            }
            tables.push(plan);
            continue;
        }
        if let Some(old) = existing.table(target_name) {
            plan.action = Action::Recreate;
            // Dropping the table drops other tables' foreign keys on it
            // (PostgreSQL's CASCADE): they are relaxed and come back.
            referencing.extend(referencing_fks(existing, old, target));
        }
        // The app's own types on the target (Django's), where they differ
        // from the mapping, and another engine's name and shape for a
        // PostgreSQL table (`reshape`): the table is created as
        // `target_table`.
        plan.target_table = crate::convert::apps::app_table(
            table,
            &manifest.app_markers,
            from,
            target.kind(),
            &mut app_notes,
        );
        if let Some(Postgis::In(schema)) = &postgis {
            let t = plan.target_table.as_ref().unwrap_or(table);
            if let Some(t) = crate::convert::spatial::postgis_table(t, schema) {
                plan.target_table = Some(t);
            }
        }
        let base = plan.target_table.as_ref().unwrap_or(table);
        let shaped = shape.table(base);
        if shaped != *base {
            if shaped.name != entry.name {
                plan.mapping.push(format!(
                    "created as table {} ({to} has no schemas)",
                    shaped.name
                ));
            }
            plan.target_table = Some(shaped);
        }
        let table = plan.target_table.as_ref().unwrap_or(table);
        problems.extend(target.refuse_names(table));
        if table.columns.is_empty() && from != target.kind() {
            problems.push(format!(
                "table {} has no columns, which only {from} allows; leave it out with --exclude-tables {}",
                table.name, table.name
            ));
        }
        if from != target.kind() {
            for c in table.data_columns() {
                if let Some(ty) = target.column_type(table, c) {
                    let on_update = match (c.on_update_now, target.kind()) {
                        (true, EngineKind::Postgres) => {
                            "; ON UPDATE CURRENT_TIMESTAMP kept by a trigger"
                        }
                        _ => "",
                    };
                    plan.mapping
                        .push(format!("{} {} -> {ty}{on_update}", c.name, c.native_type));
                }
                if let Some(w) = geometry_warning(table, c, from, target.kind(), &postgis) {
                    warnings.push(w);
                }
                if c.on_update_now && target.kind() == EngineKind::Sqlite {
                    warnings.push(format!(
                        "table {}, column {}: ON UPDATE CURRENT_TIMESTAMP is not carried into SQLite; updates leave the column as it is",
                        table.name, c.name
                    ));
                }
            }
            for c in table
                .data_columns()
                .filter(|c| c.auto_increment.is_none() && c.generated.is_none())
            {
                let Some(d) = &c.default else { continue };
                if let Err(why) = crate::model::default_verdict(d, &c.ty, from) {
                    let nullable = if target.kind() == EngineKind::Postgres
                        && crate::convert::zero_date_not_null(c, from)
                    {
                        " and it is created without NOT NULL: its zero dates load as NULL"
                    } else {
                        ""
                    };
                    warnings.push(format!(
                        "table {}, column {}: default {d} left out ({why}); the column has no default{nullable}",
                        table.name, c.name
                    ));
                }
            }
            for fk in &table.foreign_keys {
                if fk.deferrable == Some(true) && target.kind() == EngineKind::Mysql {
                    warnings.push(format!(
                        "table {}: foreign key {} is DEFERRABLE INITIALLY DEFERRED in the source; MySQL checks it at each statement",
                        table.name, fk.name
                    ));
                }
            }
            for c in table.columns.iter().filter(|c| c.generated.is_some()) {
                warnings.push(format!(
                    "table {}: generated column {} is created as a plain column, NULL in every row \
                     (its expression is in {from}'s SQL)",
                    table.name, c.name
                ));
            }
            let commented =
                table.comment.is_some() || table.columns.iter().any(|c| c.comment.is_some());
            if commented && target.kind() == EngineKind::Sqlite {
                warnings.push(format!(
                    "table {}: its comments are not carried into sqlite, which has none",
                    table.name
                ));
            }
            for (_, p) in table.options.iter().filter(|(k, _)| k == "partitioning") {
                warnings.push(format!(
                    "table {}: its partitioning ({p}) is not carried into {}: it is created as one table",
                    table.name,
                    target.kind()
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
        for mut c in Constraint::all_of(table) {
            if let (Constraint::Index(i), true) = (&mut c, from != target.kind()) {
                // A SPATIAL index over PostGIS geometries: GiST.
                let gist = crate::convert::spatial::is_gist_spatial(table, i);
                if gist {
                    i.method = Some("gist".into());
                }
                if let Some(why) = i.portability_problem(target.kind()).filter(|_| !gist) {
                    warnings.push(format!(
                        "table {}: index {} is {why}, in {from}'s SQL: left out on {}",
                        table.name,
                        i.name,
                        target.kind()
                    ));
                    continue;
                }
            }
            if let (Constraint::Check(k), true) = (&c, from != target.kind()) {
                warnings.push(format!(
                    "table {}: check {} is not carried into {}: its expression is in {from}'s SQL",
                    table.name,
                    k.name,
                    target.kind()
                ));
                continue;
            }
            if let Constraint::ForeignKey(fk) = &c {
                if let Some(top) = manifest
                    .schema
                    .table(&fk.ref_table)
                    .and_then(|_| shape.folded_into(&fk.ref_table))
                {
                    warnings.push(format!(
                        "table {}: foreign key {} skipped: it references partition {}, which is not a table on {to} (its rows are in {})",
                        table.name, fk.name, fk.ref_table, shape.target_name(top)
                    ));
                    continue;
                }
                if !chosen_targets.contains(&fk.ref_table.as_str())
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
    let relaxed_fks: Vec<(Table, Constraint)> = referencing
        .into_iter()
        .filter(|(t, c)| {
            !tables.iter().any(|p| {
                p.name == t.name
                    && (p.action == Action::Recreate
                        || p.relax.iter().any(|r| r.name() == c.name()))
            })
        })
        .collect();
    let mut names: Vec<&str> = existing.tables.iter().map(|t| t.name.as_str()).collect();
    names.extend(
        tables
            .iter()
            .filter(|p| p.action != Action::Fold)
            .map(|p| p.target()),
    );
    names.sort_unstable();
    names.dedup();
    problems.extend(target.refuse_tables(&names));
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
    let mut plan = Plan {
        referencing: relaxed_fks,
        source_engine: from,
        source_version: manifest.source.server_version.clone(),
        target_engine: target.kind(),
        target_version: target.server_version().await?,
        tables,
        warnings,
        app_versions: app_notes,
        zero_dates: opts.zero_dates,
        no_code: opts.no_code,
        keep_definers: opts.keep_definers,
        live: false,
        objects: opts.objects.clone(),
    };
    let roles = target.roles().await?;
    super::objects::review(&mut plan, &manifest.schema, &roles);
    Ok(plan)
}

/// What MySQL geometries become on the target, asked only when a table
/// created from a MySQL archive has some and the target is PostgreSQL.
async fn postgis_choice(
    manifest: &Contents,
    target: &dyn Target,
    chosen: &[&str],
) -> Result<Option<Postgis>> {
    let spatial = manifest
        .schema
        .tables
        .iter()
        .filter(|t| chosen.contains(&t.name.as_str()))
        .flat_map(|t| &t.columns)
        .any(|c| crate::convert::is_mysql_geometry(c, manifest.source.engine));
    if !spatial || target.kind() != EngineKind::Postgres {
        return Ok(None);
    }
    Ok(Some(target.postgis().await?))
}

/// The warning naming a geometry column that is not carried as a geometry.
fn geometry_warning(
    table: &Table,
    c: &crate::model::Column,
    from: EngineKind,
    to: EngineKind,
    postgis: &Option<Postgis>,
) -> Option<String> {
    if crate::convert::spatial::is_postgis(c, from) {
        return Some(format!(
            "table {}, column {}: PostGIS {} is loaded into {to} as its text (hex EWKB), not as a geometry",
            table.name, c.name, c.native_type
        ));
    }
    if !crate::convert::is_mysql_geometry(c, from) || !c.ty.is_binary() {
        return None;
    }
    let why = match postgis {
        Some(Postgis::Unusable(why)) => format!(": {why}"),
        _ => String::new(),
    };
    Some(format!(
        "table {}, column {}: {} is loaded as bytes (MySQL's form: a 4-byte SRID, then WKB), not as a geometry{why}",
        table.name, c.name, c.native_type
    ))
}

/// Foreign keys of the target's other tables that reference `tt`, where the
/// engine can drop and add them.
fn referencing_fks(
    existing: &crate::model::Schema,
    tt: &Table,
    target: &dyn Target,
) -> Vec<(Table, Constraint)> {
    let mut out = Vec::new();
    for other in existing.tables.iter().filter(|o| o.name != tt.name) {
        for fk in other.foreign_keys.iter().filter(|f| f.ref_table == tt.name) {
            let c = Constraint::ForeignKey(fk.clone());
            if target.can_add_later(&c) {
                out.push((other.clone(), c));
            }
        }
    }
    out
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
