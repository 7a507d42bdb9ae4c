//! Objects other than tables (types, functions, views, policies, grants,
//! comments...): where each goes relative to the tables and their rows,
//! what it needs first, and the one creation order every restore follows,
//! whatever the engine: a topological sort of the dependencies, ties
//! broken by kind then name, as pg_dump's TOC does.

use super::{EngineKind, NativeObject, Schema};
use serde::{Deserialize, Serialize};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

/// Where an object belongs in a dump: before the data (types, functions:
/// what tables need) or after it (views, triggers, policies, grants: what
/// the load must not meet).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Section {
    PreData,
    PostData,
}

/// An object (or table) another object depends on.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ObjectRef {
    /// `table`, `sequence`, or a [`NativeObject`]'s kind.
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub name: String,
    /// The table the object belongs to, for objects named per table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
}

impl ObjectRef {
    /// A table of `schema`.
    pub fn table(schema: Option<&str>, name: &str) -> ObjectRef {
        ObjectRef {
            kind: "table".into(),
            schema: schema.map(str::to_string),
            name: name.to_string(),
            table: None,
        }
    }
}

/// A role the archive's objects name, with what `CREATE ROLE` needs to
/// make it again (never its password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// Role options as keywords: `LOGIN`, `NOLOGIN`, `CREATEDB`,
    /// `CREATEROLE`, `NOINHERIT`, `REPLICATION`, `BYPASSRLS`, `SUPERUSER`,
    /// `CONNECTION LIMIT n`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attributes: Vec<String>,
    /// Roles it is a member of.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub member_of: Vec<String>,
}

/// The archive stream holding large objects' bytes: rows of
/// [`LARGE_OBJECT_COLUMNS`], each a piece of one object at its offset.
pub const LARGE_OBJECTS: &str = "large objects";
/// The columns of [`LARGE_OBJECTS`]: the object's number, the piece's
/// offset in it, and the piece's bytes (hex).
pub const LARGE_OBJECT_COLUMNS: [&str; 3] = ["oid", "offset", "data"];
/// The kind of the object (in `extras`) that creates a large object.
pub const LARGE_OBJECT_KIND: &str = "large object";

/// A large object: bytes stored outside any table, named by a number
/// (PostgreSQL `pg_largeobject`); it is created, owned, granted and
/// commented as an object of kind [`LARGE_OBJECT_KIND`] named by `oid`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LargeObject {
    pub oid: u32,
    /// Its size.
    pub bytes: u64,
}

/// When a restore creates an object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Stage {
    /// Before any table (types, functions, collations).
    BeforeTables,
    /// Once the tables exist, before their rows: pre-data objects that need
    /// a table (a function returning a table's row type, column options).
    AfterTables,
    /// After the rows, keys and indexes.
    AfterData,
}

/// The rank of a kind among objects with no dependency between them
/// (pg_dump's type priority): lower first. Kinds haul does not know go
/// after the ones it does.
pub fn kind_rank(kind: &str) -> u8 {
    match kind {
        "extension" => 1,
        "collation" => 2,
        "type" => 3,
        "domain" => 4,
        "function" | "procedure" => 5,
        "aggregate" => 6,
        "operator" => 7,
        "cast" => 8,
        "large object" => 9,
        "column option" => 9,
        "table option" => 10,
        "view" => 11,
        "materialized view" => 12,
        "index" => 13,
        "rule" => 14,
        "trigger" => 15,
        "trigger state" => 16,
        "statistics" => 17,
        "row security" => 18,
        "policy" => 19,
        "comment" => 20,
        "security label" => 21,
        "owner" => 22,
        "grant" => 23,
        _ => 50,
    }
}

/// The stage an object goes in by itself. Archives older than sections
/// keep their order: PostgreSQL's extensions and functions went before the
/// tables, everything else after the data.
fn natural_stage(x: &NativeObject, from: EngineKind) -> Stage {
    match x.section {
        Some(Section::PreData) => Stage::BeforeTables,
        Some(Section::PostData) => Stage::AfterData,
        None if from == EngineKind::Postgres && (x.kind == "extension" || x.kind == "function") => {
            Stage::BeforeTables
        }
        None => Stage::AfterData,
    }
}

/// Every object of `schema` (an archive of `from`) with its stage, in the
/// order a restore creates them: by stage; within one, dependencies first,
/// ties by kind, then name. An object goes no earlier than what it depends
/// on (a pre-data function returning a table's rows comes after the
/// tables; one returning a view's, after the data). A dependency cycle is
/// broken at its first object by that order. Archives with no section on
/// any object (older ones) keep the archive's order within each stage.
pub fn creation_order(schema: &Schema, from: EngineKind) -> Vec<(Stage, usize)> {
    let objects = &schema.extras;
    let sorted = objects.iter().any(|x| x.section.is_some());
    let index: HashMap<ObjectRef, usize> = objects
        .iter()
        .enumerate()
        .map(|(i, x)| (x.key(), i))
        .collect();
    let deps: Vec<Vec<usize>> = objects
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let mut d: Vec<usize> = x
                .depends
                .iter()
                .filter_map(|r| index.get(r).copied())
                .filter(|&j| j != i)
                .collect();
            d.sort_unstable();
            d.dedup();
            d
        })
        .collect();
    let stages = stages(objects, &deps, from);
    let mut out: Vec<(Stage, usize)> = Vec::with_capacity(objects.len());
    for stage in [Stage::BeforeTables, Stage::AfterTables, Stage::AfterData] {
        let members: Vec<usize> = (0..objects.len()).filter(|&i| stages[i] == stage).collect();
        if !sorted {
            out.extend(members.into_iter().map(|i| (stage, i)));
            continue;
        }
        let key = |i: usize| {
            (
                kind_rank(&objects[i].kind),
                objects[i].name.as_str(),
                objects[i].table.as_deref().unwrap_or(""),
                i,
            )
        };
        // Kahn's algorithm, always taking the least key that is ready.
        let mut waiting: HashMap<usize, usize> = HashMap::new();
        let mut dependents: HashMap<usize, Vec<usize>> = HashMap::new();
        for &i in &members {
            let inside: Vec<usize> = deps[i]
                .iter()
                .copied()
                .filter(|&j| stages[j] == stage)
                .collect();
            waiting.insert(i, inside.len());
            for j in inside {
                dependents.entry(j).or_default().push(i);
            }
        }
        let mut ready: BinaryHeap<Reverse<(u8, &str, &str, usize)>> = members
            .iter()
            .filter(|i| waiting[i] == 0)
            .map(|&i| Reverse(key(i)))
            .collect();
        let mut done = 0;
        while done < members.len() {
            let next = match ready.pop() {
                Some(Reverse(k)) => k.3,
                // A cycle: take the least object still waiting.
                None => match members
                    .iter()
                    .filter(|i| waiting.get(i).is_some_and(|&n| n > 0))
                    .min_by_key(|&&i| key(i))
                {
                    Some(&i) => i,
                    None => break,
                },
            };
            if waiting.remove(&next).is_none() {
                continue;
            }
            done += 1;
            out.push((stage, next));
            for &d in dependents.get(&next).map(Vec::as_slice).unwrap_or(&[]) {
                if let Some(n) = waiting.get_mut(&d) {
                    *n = n.saturating_sub(1);
                    if *n == 0 {
                        ready.push(Reverse(key(d)));
                    }
                }
            }
        }
    }
    out
}

/// Each object's stage: its own, or later where something it depends on
/// comes later (a table makes a pre-data object wait for the tables).
fn stages(objects: &[NativeObject], deps: &[Vec<usize>], from: EngineKind) -> Vec<Stage> {
    fn visit(
        i: usize,
        objects: &[NativeObject],
        deps: &[Vec<usize>],
        from: EngineKind,
        memo: &mut Vec<Option<Stage>>,
        on_path: &mut Vec<bool>,
    ) -> Stage {
        if let Some(s) = memo[i] {
            return s;
        }
        let x = &objects[i];
        let mut s = natural_stage(x, from);
        if s == Stage::BeforeTables && x.depends.iter().any(|r| r.kind == "table") {
            s = Stage::AfterTables;
        }
        on_path[i] = true;
        for &j in &deps[i] {
            if !on_path[j] {
                s = s.max(visit(j, objects, deps, from, memo, on_path));
            }
        }
        on_path[i] = false;
        memo[i] = Some(s);
        s
    }
    let mut memo = vec![None; objects.len()];
    let mut on_path = vec![false; objects.len()];
    (0..objects.len())
        .map(|i| visit(i, objects, deps, from, &mut memo, &mut on_path))
        .collect()
}

/// Tables in an order that creates every parent (`inherits`) before its
/// children; otherwise as given.
pub fn parents_first<'a>(tables: &[&'a super::Table]) -> Vec<&'a super::Table> {
    let mut out: Vec<&super::Table> = Vec::with_capacity(tables.len());
    let mut left: Vec<&super::Table> = tables.to_vec();
    while !left.is_empty() {
        let before = left.len();
        left.retain(|t| {
            let ready = t
                .inherits
                .iter()
                .all(|p| out.iter().any(|o| &o.name == p) || !tables.iter().any(|o| &o.name == p));
            if ready {
                out.push(t);
            }
            !ready
        });
        if left.len() == before {
            // A cycle cannot exist in a catalog; keep the rest as given.
            out.append(&mut left);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(kind: &str, name: &str, section: Section, depends: &[(&str, &str)]) -> NativeObject {
        NativeObject {
            kind: kind.into(),
            name: name.into(),
            ddl: String::new(),
            section: Some(section),
            depends: depends
                .iter()
                .map(|(k, n)| ObjectRef {
                    kind: k.to_string(),
                    schema: None,
                    name: n.to_string(),
                    table: None,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn names(schema: &Schema) -> Vec<(Stage, String)> {
        creation_order(schema, EngineKind::Postgres)
            .into_iter()
            .map(|(s, i)| (s, schema.extras[i].name.clone()))
            .collect()
    }

    #[test]
    fn dependencies_first_then_kind_then_name() {
        use Section::*;
        let schema = Schema {
            extras: vec![
                obj("view", "b_view", PostData, &[("view", "z_view")]),
                obj(
                    "function",
                    "a_fn(app_type[])",
                    PreData,
                    &[("type", "app_type")],
                ),
                obj("view", "z_view", PostData, &[("aggregate", "agg(integer)")]),
                obj("type", "app_type", PreData, &[]),
                obj(
                    "aggregate",
                    "agg(integer)",
                    PreData,
                    &[("function", "a_fn(app_type[])")],
                ),
                obj("function", "rows()", PreData, &[("table", "customer")]),
                obj("function", "on_view()", PreData, &[("view", "b_view")]),
                obj("grant", "SELECT ON TABLE customer TO x", PostData, &[]),
            ],
            ..Default::default()
        };
        use Stage::*;
        assert_eq!(
            names(&schema),
            vec![
                (BeforeTables, "app_type".to_string()),
                (BeforeTables, "a_fn(app_type[])".into()),
                (BeforeTables, "agg(integer)".into()),
                (AfterTables, "rows()".into()),
                (AfterData, "z_view".into()),
                (AfterData, "b_view".into()),
                (AfterData, "on_view()".into()),
                (AfterData, "SELECT ON TABLE customer TO x".into()),
            ]
        );
    }

    #[test]
    fn cycles_are_broken_and_nothing_is_lost() {
        use Section::*;
        let schema = Schema {
            extras: vec![
                obj("view", "a", PostData, &[("view", "b")]),
                obj("view", "b", PostData, &[("view", "a")]),
                obj("view", "c", PostData, &[]),
            ],
            ..Default::default()
        };
        let got: Vec<String> = names(&schema).into_iter().map(|x| x.1).collect();
        assert_eq!(got, ["c", "a", "b"]);
    }

    #[test]
    fn old_archives_keep_their_order() {
        let x = |kind: &str, name: &str| NativeObject {
            kind: kind.into(),
            name: name.into(),
            ..Default::default()
        };
        let schema = Schema {
            extras: vec![x("view", "z"), x("function", "f"), x("view", "a")],
            ..Default::default()
        };
        assert_eq!(
            names(&schema),
            vec![
                (Stage::BeforeTables, "f".to_string()),
                (Stage::AfterData, "z".into()),
                (Stage::AfterData, "a".into()),
            ]
        );
    }
}
