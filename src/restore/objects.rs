//! Which of an archive's objects (everything but tables: types, functions,
//! views, policies, grants...) a restore creates, and when; what it leaves
//! out, each named: objects of another engine, objects that need a table
//! the restore leaves out, grants and owners of roles the target lacks,
//! owners and grants the user turned off.

use super::plan::Plan;
use crate::model::objects::{creation_order, Stage};
use crate::model::{EngineKind, NativeObject, Schema, Table};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashSet};

/// What the user asked of objects, and the roles the plan found missing.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ObjectOptions {
    /// `--no-owner`: objects belong to the restoring user.
    #[serde(default)]
    pub no_owner: bool,
    /// `--no-privileges`: no GRANT or REVOKE.
    #[serde(default)]
    pub no_privileges: bool,
    /// `--create-roles`: create the missing roles the archive records.
    #[serde(default)]
    pub create_roles: bool,
    /// `--clean`: the archive's objects the target has are dropped before
    /// they are created again.
    #[serde(default)]
    pub clean: bool,
    /// Roles the objects name that the target lacked at plan time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing_roles: Vec<String>,
}

/// What a restore does with the objects, as the plan decided.
struct Scope<'a> {
    from: EngineKind,
    to: EngineKind,
    /// Tables this restore creates or loads.
    restored: HashSet<&'a str>,
    /// Tables in the archive.
    archived: HashSet<&'a str>,
    writes_existing: bool,
    opts: &'a ObjectOptions,
}

impl<'a> Scope<'a> {
    fn of(plan: &'a Plan, schema: &'a Schema) -> Scope<'a> {
        Scope {
            from: plan.source_engine,
            to: plan.target_engine,
            restored: plan.tables.iter().map(|t| t.name.as_str()).collect(),
            archived: schema.tables.iter().map(|t| t.name.as_str()).collect(),
            writes_existing: plan.writes_existing(),
            opts: &plan.objects,
        }
    }
}

/// The objects created at `stage`, in creation order.
pub fn at_stage(plan: &Plan, schema: &Schema, stage: Stage) -> Vec<NativeObject> {
    let scope = Scope::of(plan, schema);
    decide(schema, &scope, &mut Vec::new())
        .into_iter()
        .filter(|(s, _)| *s == stage)
        .map(|(_, i)| schema.extras[i].clone())
        .collect()
}

/// Every object a restore creates, in creation order (what `--clean`
/// drops first, in the reverse order).
pub fn all(plan: &Plan, schema: &Schema) -> Vec<NativeObject> {
    let scope = Scope::of(plan, schema);
    decide(schema, &scope, &mut Vec::new())
        .into_iter()
        .map(|(_, i)| schema.extras[i].clone())
        .collect()
}

/// The plan's warnings about objects, and the roles they name that
/// `target_roles` lacks (recorded in the plan).
pub fn review(plan: &mut Plan, schema: &Schema, target_roles: &[String]) {
    let mut warnings = Vec::new();
    let mut opts = plan.objects.clone();
    opts.missing_roles.clear();
    let probe = Plan {
        objects: opts.clone(),
        ..plan.clone()
    };
    let scope = Scope::of(&probe, schema);
    let created = decide(schema, &scope, &mut Vec::new());
    let have: HashSet<&str> = target_roles.iter().map(String::as_str).collect();
    let mut missing: Vec<String> = created
        .iter()
        .flat_map(|(_, i)| schema.extras[*i].roles.iter())
        .filter(|r| r.as_str() != "PUBLIC" && !have.contains(r.as_str()))
        .cloned()
        .collect();
    missing.sort();
    missing.dedup();
    opts.missing_roles = missing.clone();
    if opts.create_roles {
        for r in &missing {
            if !schema.roles.iter().any(|x| &x.name == r) {
                warnings.push(format!(
                    "role {r} does not exist in the target and the archive does not describe it; \
                     what names it is left out"
                ));
            }
        }
        opts.missing_roles
            .retain(|r| schema.roles.iter().any(|x| &x.name == r));
    }
    plan.objects = opts;
    let scope = Scope::of(plan, schema);
    decide(schema, &scope, &mut warnings);
    warnings.extend(cross_engine_tables(schema, &scope));
    if scope.from == scope.to {
        for t in schema
            .tables
            .iter()
            .filter(|t| scope.restored.contains(t.name.as_str()))
        {
            let missing: Vec<&String> = t
                .inherits
                .iter()
                .filter(|p| !scope.restored.contains(p.as_str()))
                .collect();
            if !missing.is_empty() {
                let names: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
                warnings.push(format!(
                    "table {}: its parent {} is not restored; it is created on its own, with all its columns",
                    t.name,
                    names.join(", ")
                ));
            }
        }
    }
    plan.warnings.extend(warnings);
}

/// The objects a restore creates, with their stages, in creation order;
/// one warning for each group of objects it leaves out without being asked.
fn decide(schema: &Schema, scope: &Scope, warnings: &mut Vec<String>) -> Vec<(Stage, usize)> {
    let order = creation_order(schema, scope.from);
    let objects = &schema.extras;
    let keys: HashSet<crate::model::ObjectRef> = objects.iter().map(|x| x.key()).collect();
    if scope.from != scope.to {
        // Named once each: not what goes with a table left out, not what is
        // said about an object itself not created, and not owners (the
        // restoring user owns everything another engine creates, as with
        // --no-owner).
        let named = |x: &&NativeObject| {
            x.table
                .as_deref()
                .is_none_or(|t| scope.restored.contains(t))
                && x.kind != "owner"
                && !about_another(x, &keys)
        };
        let mut by_kind: BTreeMap<&str, Vec<String>> = BTreeMap::new();
        for x in objects.iter().filter(named) {
            by_kind.entry(&x.kind).or_default().push(x.describe());
        }
        for (kind, names) in by_kind {
            warnings.push(format!(
                "{} not created ({}'s SQL, and the target is {}): {}",
                plural(kind, names.len()),
                scope.from,
                scope.to,
                names.join(", ")
            ));
        }
        return Vec::new();
    }
    let mut skipped: HashSet<crate::model::ObjectRef> = HashSet::new();
    let mut by_role: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut existing: Vec<String> = Vec::new();
    let mut out = Vec::new();
    for (stage, i) in order {
        let x = &objects[i];
        let skip = |skipped: &mut HashSet<_>| {
            skipped.insert(x.key());
        };
        if (scope.opts.no_owner && x.kind == "owner")
            || (scope.opts.no_privileges && x.kind == "grant")
        {
            skip(&mut skipped);
            continue;
        }
        // A table's own objects go with it.
        if x.table
            .as_deref()
            .is_some_and(|t| !scope.restored.contains(t))
        {
            skip(&mut skipped);
            continue;
        }
        if scope.writes_existing && x.kind != "extension" {
            // The app's own objects in an existing schema win.
            if x.table.is_none() && !about_another(x, &keys) {
                existing.push(x.describe());
            }
            skip(&mut skipped);
            continue;
        }
        let needs_table = x
            .depends
            .iter()
            .find(|r| r.kind == "table" && !scope.restored.contains(r.name.as_str()));
        let needs_table = needs_table.map(|r| r.name.as_str()).or_else(|| {
            // Archives without dependencies: a view naming a table. A
            // MySQL routine, event or trigger (which goes with its table)
            // is created whatever its body names, as a PostgreSQL
            // function is (neither server checks bodies).
            let body_unchecked = scope.from == EngineKind::Mysql
                && matches!(
                    x.kind.as_str(),
                    "procedure" | "function" | "event" | "trigger"
                );
            if !x.depends.is_empty() || x.section.is_some() || body_unchecked {
                return None;
            }
            scope
                .archived
                .iter()
                .filter(|t| !scope.restored.contains(*t))
                .find(|t| mentions(&x.ddl, t))
                .copied()
        });
        if let Some(t) = needs_table {
            let why = if scope.archived.contains(t) {
                "which this restore leaves out"
            } else {
                "which is not in the archive"
            };
            let verb = if x.kind == "view" || x.kind == "materialized view" {
                "reads"
            } else {
                "needs"
            };
            warnings.push(format!(
                "{} not created: it {verb} table {t}, {why}",
                x.describe()
            ));
            skip(&mut skipped);
            continue;
        }
        if let Some(d) = x.depends.iter().find(|r| skipped.contains(r)) {
            if !matches!(
                x.kind.as_str(),
                "comment" | "owner" | "grant" | "security label"
            ) {
                warnings.push(format!(
                    "{} not created: it needs {} {}, which is not created",
                    x.describe(),
                    d.kind,
                    d.name
                ));
            }
            skip(&mut skipped);
            continue;
        }
        let missing: Vec<&String> = x
            .roles
            .iter()
            .filter(|r| scope.opts.missing_roles.contains(r))
            .collect();
        if !missing.is_empty() && !scope.opts.create_roles {
            for r in missing {
                by_role.entry(r).or_default().push(x.describe());
            }
            skip(&mut skipped);
            continue;
        }
        out.push((stage, i));
    }
    if !existing.is_empty() {
        warnings.push(format!(
            "not created, the target's schema already exists: {}",
            existing.join(", ")
        ));
    }
    for (role, names) in by_role {
        warnings.push(format!(
            "role {role} does not exist in the target: left out {} (restore --create-roles creates the roles the archive needs)",
            names.join(", ")
        ));
    }
    out
}

/// What differs between an archive's objects and a live database's (of
/// the same engine `engine`): one line per object present on one side
/// only or defined otherwise (its statement, or the settings it was
/// created under). Owners and MySQL definers are not compared (a restore
/// with `--no-owner`, or by another user, gives objects to the restoring
/// user). PostgreSQL and MySQL; SQLite's are not compared.
pub fn compare(archive: &[NativeObject], live: &[NativeObject], engine: EngineKind) -> Vec<String> {
    if engine == EngineKind::Sqlite {
        return Vec::new();
    }
    let compared = |x: &&NativeObject| x.kind != "owner";
    type Defined = (String, Vec<(String, String)>);
    let index = |v: &[NativeObject]| -> BTreeMap<(String, String, String), Defined> {
        v.iter()
            .filter(compared)
            .map(|x| {
                let key = (
                    x.kind.clone(),
                    x.name.clone(),
                    x.table.clone().unwrap_or_default(),
                );
                (key, (x.ddl.clone(), x.settings.clone()))
            })
            .collect()
    };
    let (a, l) = (index(archive), index(live));
    let name = |k: &(String, String, String)| {
        NativeObject {
            kind: k.0.clone(),
            name: k.1.clone(),
            table: (!k.2.is_empty()).then(|| k.2.clone()),
            ..Default::default()
        }
        .describe()
    };
    let mut out = Vec::new();
    for (k, ddl) in &a {
        match l.get(k) {
            None => out.push(format!("{}: only in the archive", name(k))),
            Some(d) if d != ddl => out.push(format!("{}: defined otherwise", name(k))),
            Some(_) => {}
        }
    }
    for k in l.keys().filter(|k| !a.contains_key(*k)) {
        out.push(format!("{}: only in the live database", name(k)));
    }
    out
}

/// `table` as a restore of the tables `restored` creates it: a child whose
/// parent is not restored is a table of its own, with all its columns.
pub fn without_missing_parents(table: &Table, restored: &[&str]) -> Table {
    let mut t = table.clone();
    if t.inherits.iter().any(|p| !restored.contains(&p.as_str())) {
        t.inherits.clear();
        for c in &mut t.columns {
            c.inherited = false;
        }
    }
    t
}

/// Whether `x` is said about another object of the archive (its comment,
/// owner, grant or label), which goes with that object.
fn about_another(x: &NativeObject, keys: &HashSet<crate::model::ObjectRef>) -> bool {
    matches!(
        x.kind.as_str(),
        "comment" | "owner" | "grant" | "security label"
    ) && x.depends.iter().any(|d| keys.contains(d))
}

/// What a cross-engine restore leaves out of the tables themselves:
/// inheritance, table options, the constraints of domain-typed columns.
fn cross_engine_tables(schema: &Schema, scope: &Scope) -> Vec<String> {
    let mut v = Vec::new();
    if scope.from == scope.to || scope.from != EngineKind::Postgres {
        return v;
    }
    let restored: Vec<&Table> = schema
        .tables
        .iter()
        .filter(|t| scope.restored.contains(t.name.as_str()))
        .collect();
    if !schema.sequences.is_empty() {
        let names: Vec<&str> = schema.sequences.iter().map(|s| s.name.as_str()).collect();
        v.push(format!(
            "sequences not carried to {} (only those of auto-increment columns): {}",
            scope.to,
            names.join(", ")
        ));
    }
    for t in restored {
        // A partitioned table and its partitions are one table there
        // (`plan::reshape`, which names them).
        let partition = |k: &str| k == "partition_by" || k == "partition";
        let folded = t.options.iter().any(|(k, _)| k == "partition")
            && t.inherits
                .iter()
                .any(|p| scope.restored.contains(p.as_str()));
        if folded {
            continue;
        }
        if !t.inherits.is_empty() {
            v.push(format!(
                "table {}: inherits from {}, which {} cannot carry; it is created on its own, with all its columns and only its own rows",
                t.name,
                t.inherits.join(", "),
                scope.to
            ));
        }
        for (k, val) in t.options.iter().filter(|(k, _)| !partition(k)) {
            v.push(format!(
                "table {}: {k} {val} not carried to {}",
                t.name, scope.to
            ));
        }
        for c in &t.columns {
            let domain = schema
                .extras
                .iter()
                .find(|x| x.kind == "domain" && same_type_name(&x.name, &c.native_type));
            if let Some(d) = domain {
                v.push(format!(
                    "table {}, column {}: created as the base type of domain {}; its constraints and default are not carried",
                    t.name, c.name, d.name
                ));
            }
        }
    }
    v
}

/// Whether a type as a column shows it names the type `name` (quoted or
/// not, with array brackets or not).
fn same_type_name(name: &str, native: &str) -> bool {
    let n = native.trim_end_matches("[]").trim_matches('"');
    n == name
}

/// `n` objects of `kind`, in words.
fn plural(kind: &str, n: usize) -> String {
    match (n, kind) {
        (1, k) => k.to_string(),
        (_, "row security") => format!("{n} row security settings"),
        (_, k) if k.ends_with('s') => format!("{n} {k}"),
        (_, k) if k.ends_with('y') => format!("{n} {}ies", &k[..k.len() - 1]),
        (_, k) if k.ends_with("ex") => format!("{n} {k}es"),
        (_, k) => format!("{n} {k}s"),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plurals() {
        assert_eq!(plural("view", 1), "view");
        assert_eq!(plural("view", 2), "2 views");
        assert_eq!(plural("policy", 3), "3 policies");
        assert_eq!(plural("index", 2), "2 indexes");
        assert_eq!(plural("statistics", 2), "2 statistics");
    }

    #[test]
    fn type_names() {
        assert!(same_type_name("positive", "positive"));
        assert!(same_type_name("My Dom", "\"My Dom\"[]"));
        assert!(!same_type_name("positive", "integer"));
    }
}
