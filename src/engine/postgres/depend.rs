//! The registry of what a dump names (tables, sequences, constraints,
//! indexes and every object it carries) by catalog and oid, and the
//! dependencies between objects read from `pg_depend`, with the catalog
//! rows objects hide behind (a view's rewrite rule, a table's row type, an
//! array type, a domain's constraint) followed to the object they belong to.

use super::conn::{col, server_err};
use crate::engine::EngineError;
use crate::model::{NativeObject, ObjectRef};
use std::collections::HashMap;
use tokio_postgres::Client;

/// One thing a dump names.
#[derive(Debug, Clone, Default)]
pub(super) struct Entry {
    pub key: ObjectRef,
    /// How `COMMENT ON`, `SECURITY LABEL` and `ALTER ... OWNER` name it
    /// (`FUNCTION f(integer)`, `CONSTRAINT c ON t`).
    pub designation: String,
    /// The table the object goes with.
    pub table: Option<String>,
    /// Its comments become objects (not for tables: the model has them).
    pub comments: bool,
    /// `COMMENT ON COLUMN` names its columns after this (views, composite
    /// types); `None` where the model has them or there are none.
    pub columns_of: Option<String>,
    /// `ALTER <this> OWNER TO`, for objects with an owner of their own.
    pub owner: Option<String>,
    /// `GRANT ... ON <this>`, for objects with privileges.
    pub grant_on: Option<String>,
    /// Its index among the dumped objects, if it is one.
    pub object: Option<usize>,
}

impl Entry {
    /// An object with comments and an owner of its own, which `COMMENT ON`
    /// and `ALTER ... OWNER` both name `designation`.
    pub fn owned(designation: String) -> Entry {
        Entry {
            owner: Some(designation.clone()),
            designation,
            comments: true,
            ..Default::default()
        }
    }

    /// [`Entry::owned`], with privileges granted on the same name.
    pub fn granted(designation: String) -> Entry {
        Entry {
            grant_on: Some(designation.clone()),
            ..Entry::owned(designation)
        }
    }
}

/// What a dump names, by (catalog, oid).
#[derive(Default)]
pub(super) struct Registry {
    pub entries: Vec<Entry>,
    by: HashMap<(String, u32), usize>,
}

impl Registry {
    /// Name `(class, oid)`.
    pub fn add(&mut self, class: &str, oid: u32, entry: Entry) -> usize {
        let i = self.entries.len();
        self.entries.push(entry);
        self.by.insert((class.to_string(), oid), i);
        i
    }

    /// Name `(class, oid)` as the object `out[index]`, which is pushed.
    pub fn object(
        &mut self,
        class: &str,
        oid: u32,
        out: &mut Vec<NativeObject>,
        x: NativeObject,
        entry: Entry,
    ) {
        let entry = Entry {
            key: x.key(),
            table: x.table.clone(),
            object: Some(out.len()),
            ..entry
        };
        out.push(x);
        self.add(class, oid, entry);
    }

    pub fn get(&self, class: &str, oid: u32) -> Option<&Entry> {
        self.by
            .get(&(class.to_string(), oid))
            .map(|&i| &self.entries[i])
    }

    /// Every entry of catalog `class`, with its oid.
    pub fn of_class<'a>(&'a self, class: &'a str) -> impl Iterator<Item = (u32, &'a Entry)> + 'a {
        self.by
            .iter()
            .filter(move |((c, _), _)| c == class)
            .map(|((_, oid), &i)| (*oid, &self.entries[i]))
    }
}

/// Catalog rows that stand for another row: followed to it.
const REDIRECTS: &str = "
    SELECT 'pg_rewrite', r.oid, 'pg_class', r.ev_class FROM pg_rewrite r WHERE r.oid >= 16384
    UNION ALL SELECT 'pg_attrdef', d.oid, 'pg_class', d.adrelid FROM pg_attrdef d WHERE d.oid >= 16384
    UNION ALL SELECT 'pg_constraint', c.oid,
                     CASE WHEN c.conrelid <> 0 THEN 'pg_class' ELSE 'pg_type' END,
                     CASE WHEN c.conrelid <> 0 THEN c.conrelid ELSE c.contypid END
                FROM pg_constraint c WHERE c.oid >= 16384
    UNION ALL SELECT 'pg_type', t.oid, 'pg_class', t.typrelid FROM pg_type t
               WHERE t.typrelid <> 0 AND t.oid >= 16384
    UNION ALL SELECT 'pg_class', c.oid, 'pg_type', c.reltype FROM pg_class c
               WHERE c.relkind = 'c' AND c.oid >= 16384
    UNION ALL SELECT 'pg_type', a.oid, 'pg_type', e.oid FROM pg_type e JOIN pg_type a ON a.oid = e.typarray
               WHERE e.oid >= 16384
    UNION ALL SELECT 'pg_type', r.rngmultitypid, 'pg_type', r.rngtypid FROM pg_range r
               WHERE r.rngtypid >= 16384
    UNION ALL SELECT 'pg_class', i.indexrelid, 'pg_class', i.indrelid FROM pg_index i
               WHERE i.indexrelid >= 16384";

/// Fill each object's `depends` from `pg_depend`: every registered thing
/// it depends on (normally or automatically), once.
pub(super) async fn fill(
    client: &Client,
    reg: &Registry,
    out: &mut [NativeObject],
) -> Result<(), EngineError> {
    let ctx = "reading the dependency catalog";
    let mut redirect: HashMap<(String, u32), (String, u32)> = HashMap::new();
    for r in client
        .query(REDIRECTS, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let from: (String, u32) = (col(&r, 0, ctx)?, col(&r, 1, ctx)?);
        let to: (String, u32) = (col(&r, 2, ctx)?, col(&r, 3, ctx)?);
        if to.1 != 0 {
            redirect.insert(from, to);
        }
    }
    let resolve = |class: String, oid: u32| -> Option<&Entry> {
        let mut at = (class, oid);
        for _ in 0..8 {
            if let Some(e) = reg.get(&at.0, at.1) {
                return Some(e);
            }
            at = redirect.get(&at)?.clone();
        }
        None
    };
    for r in client
        .query(
            "SELECT classid::regclass::text, objid, refclassid::regclass::text, refobjid
               FROM pg_depend
              WHERE deptype IN ('n', 'a') AND objid >= 16384 AND refobjid >= 16384
              ORDER BY 1, 2, 3, 4",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let Some(from) = resolve(col(&r, 0, ctx)?, col(&r, 1, ctx)?) else {
            continue;
        };
        let Some(i) = from.object else {
            continue;
        };
        let Some(to) = resolve(col(&r, 2, ctx)?, col(&r, 3, ctx)?) else {
            continue;
        };
        if to.key != from.key && !out[i].depends.contains(&to.key) {
            out[i].depends.push(to.key.clone());
        }
    }
    Ok(())
}
