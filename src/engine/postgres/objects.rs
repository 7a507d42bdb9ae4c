//! The objects a dump carries besides tables, as `NativeObject`s with
//! their section and dependencies: extensions, collations, composite and
//! range types, domains (this file); functions, procedures, aggregates,
//! operators and casts (`routines.rs`); views, triggers and rules
//! (`relations.rs`); policies, statistics, column and table options
//! (`settings.rs`); comments, security labels, owners, grants and roles
//! (`acl.rs`); dependencies (`depend.rs`); and warnings for what is not
//! carried (`uncarried.rs`). Objects that belong to an extension come
//! with it and are never dumped one by one.

use super::acl;
use super::conn::{col, server_err};
use super::depend::{self, Entry, Registry};
use super::largeobjects;
use super::qtable;
use super::relations;
use super::routines::{aggregates, casts, operators, routines};
use super::uncarried;
use crate::engine::{quote_ident, quote_literal, EngineError};
use crate::model::{LargeObject, NativeObject, ObjectRef, Role, Schema, Section};
use tokio_postgres::Client;

/// What a dump carries besides its tables.
pub(super) struct Objects {
    pub objects: Vec<NativeObject>,
    pub roles: Vec<Role>,
    /// The large objects, with their sizes.
    pub large_objects: Vec<LargeObject>,
    /// What it does not carry, named.
    pub warnings: Vec<String>,
}

/// SQL: `oid` of catalog `class` is neither an extension's member nor
/// part of another object (a range type's constructor functions).
pub(super) fn not_member(class: &str, oid: &str) -> String {
    format!(
        "NOT EXISTS (SELECT 1 FROM pg_depend e WHERE e.classid = '{class}'::regclass \
         AND e.objid = {oid} AND e.deptype IN ('e', 'i'))"
    )
}

/// SQL: how the archive names the object `name` (SQL, a `name` column) of
/// namespace `ns` (SQL, an oid): as it is in the current schema,
/// `schema.name` in another.
pub(super) fn arch_sql(ns: &str, name: &str) -> String {
    format!(
        "CASE WHEN {ns} = current_schema()::regnamespace THEN {name}::text \
         ELSE (SELECT z.nspname::text FROM pg_namespace z WHERE z.oid = {ns}) || '.' || {name}::text END"
    )
}

/// SQL: how the archive names relation `c` (an alias of `pg_class`).
pub(super) fn rel_sql(c: &str) -> String {
    arch_sql(&format!("{c}.relnamespace"), &format!("{c}.relname"))
}

/// SQL: namespace `ns` (SQL, an oid) is one of the schemas `$n` names.
pub(super) fn dumped_sql(ns: &str, n: usize) -> String {
    format!("{ns} IN (SELECT z.oid FROM pg_namespace z WHERE z.nspname = ANY(${n}))")
}

/// SQL: an object of namespace `ns` (SQL, an oid) named `name` (SQL, a
/// `name` column), quoted, schema-qualified unless of the current schema.
pub(super) fn qualified_sql(ns: &str, name: &str) -> String {
    format!(
        "CASE WHEN {ns} = current_schema()::regnamespace THEN quote_ident({name}) \
         ELSE (SELECT quote_ident(z.nspname) FROM pg_namespace z WHERE z.oid = {ns}) || '.' || quote_ident({name}) END"
    )
}

/// A new object of the current schema.
pub(super) fn object(
    schema: &str,
    kind: &str,
    name: String,
    section: Section,
    ddl: String,
) -> NativeObject {
    NativeObject {
        kind: kind.into(),
        name,
        ddl,
        schema: Some(schema.to_string()),
        section: Some(section),
        ..Default::default()
    }
}

/// Read every object the dump carries, in archive order (the restore
/// sorts them), for the dumped tables of `schema`: every kind of the
/// current schema `nsp`; of the other dumped `schemas`, the schema itself,
/// sequences, views and routines (the rest are named as not carried); the
/// large objects.
pub(super) async fn catalog(
    client: &Client,
    schema: &Schema,
    schemas: &[String],
) -> Result<Objects, EngineError> {
    let ctx = "reading the current schema";
    let row = client
        .query_one(
            "SELECT current_schema()::text, current_schema()::regnamespace::oid",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?;
    let nsp: String = col(&row, 0, ctx)?;
    let nsp_oid: u32 = col(&row, 1, ctx)?;
    let mut reg = Registry::default();
    let mut out = Vec::new();
    let entry = |name: &str| Entry {
        key: ObjectRef {
            kind: "schema".into(),
            schema: None,
            name: name.to_string(),
            table: None,
        },
        ..Entry::granted(format!("SCHEMA {}", quote_ident(name)))
    };
    // The current schema's own objects, unless it is left out.
    let here = schemas.contains(&nsp);
    if here {
        reg.add("pg_namespace", nsp_oid, entry(&nsp));
    }
    let others: Vec<&String> = schemas.iter().filter(|s| **s != nsp).collect();
    let ctx = "reading the schema catalog";
    for r in client
        .query(
            "SELECT n.oid, n.nspname::text FROM pg_namespace n WHERE n.nspname = ANY($1) ORDER BY 2",
            &[&others],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let ddl = format!("CREATE SCHEMA IF NOT EXISTS {}", quote_ident(&name));
        let mut x = object(&name, "schema", name.clone(), Section::PreData, ddl);
        x.schema = None;
        reg.object("pg_namespace", col(&r, 0, ctx)?, &mut out, x, entry(&name));
    }
    relations::register_tables(client, &nsp, schemas, schema, &mut reg).await?;
    extensions(client, &nsp, &mut reg, &mut out).await?;
    collations(client, &nsp, schemas, &mut reg, &mut out).await?;
    types(client, &nsp, schemas, schema, &mut reg, &mut out).await?;
    domains(client, &nsp, schemas, &mut reg, &mut out).await?;
    routines(client, &nsp, schemas, &mut reg, &mut out).await?;
    aggregates(client, &nsp, schemas, &mut reg, &mut out).await?;
    operators(client, &nsp, schemas, &mut reg, &mut out).await?;
    casts(client, &nsp, &mut reg, &mut out).await?;
    relations::objects(client, &nsp, schemas, schema, &mut reg, &mut out).await?;
    let large_objects = largeobjects::catalog(client, &mut reg, &mut out).await?;
    depend::fill(client, &reg, &mut out).await?;
    acl::comments(client, &nsp, &reg, &mut out).await?;
    acl::labels(client, &nsp, &reg, &mut out).await?;
    acl::owners(client, &nsp, &reg, &mut out).await?;
    acl::grants(client, &nsp, &reg, &mut out).await?;
    let roles = acl::roles(client, &out).await?;
    let warnings = uncarried::warnings(client, schema, schemas).await?;
    Ok(Objects {
        objects: out,
        roles,
        large_objects,
        warnings,
    })
}

async fn extensions(
    client: &Client,
    nsp: &str,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the extension catalog";
    for r in client
        .query(
            "SELECT e.oid, e.extname::text FROM pg_extension e
              WHERE e.extname <> 'plpgsql' ORDER BY e.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let ddl = format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(&name));
        let x = object(nsp, "extension", name, Section::PreData, ddl);
        reg.object("pg_extension", col(&r, 0, ctx)?, out, x, Entry::default());
    }
    Ok(())
}

async fn collations(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the collation catalog";
    let sql = format!(
        "SELECT c.oid, {}, c.collprovider::text, c.collisdeterministic,
                c.collcollate::text, c.collctype::text,
                coalesce(to_jsonb(c)->>'colliculocale', to_jsonb(c)->>'colllocale'),
                to_jsonb(c)->>'collicurules', c.collnamespace::regnamespace::text
           FROM pg_collation c
          WHERE {} AND {}
          ORDER BY c.oid",
        arch_sql("c.collnamespace", "c.collname"),
        dumped_sql("c.collnamespace", 1),
        not_member("pg_collation", "c.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let provider: String = col(&r, 2, ctx)?;
        let deterministic: bool = col(&r, 3, ctx)?;
        let collate: Option<String> = col(&r, 4, ctx)?;
        let ctype: Option<String> = col(&r, 5, ctx)?;
        let locale: Option<String> = col(&r, 6, ctx)?;
        let rules: Option<String> = col(&r, 7, ctx)?;
        let lit = |s: &Option<String>| quote_literal(s.as_deref().unwrap_or(""));
        let mut opts = match provider.as_str() {
            "i" => vec![
                "provider = icu".to_string(),
                format!("locale = {}", lit(&locale.or(collate))),
            ],
            "b" => vec![
                "provider = builtin".to_string(),
                format!("locale = {}", lit(&locale)),
            ],
            _ => vec![
                "provider = libc".to_string(),
                format!("lc_collate = {}", lit(&collate)),
                format!("lc_ctype = {}", lit(&ctype)),
            ],
        };
        if !deterministic {
            opts.push("deterministic = false".into());
        }
        if let Some(rules) = rules.filter(|r| !r.is_empty()) {
            opts.push(format!("rules = {}", quote_literal(&rules)));
        }
        let q = qtable(&name);
        let ddl = format!("CREATE COLLATION {q} ({})", opts.join(", "));
        let x = object(nsp, "collation", name, Section::PreData, ddl);
        reg.object(
            "pg_collation",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry::owned(format!("COLLATION {q}")),
        );
    }
    Ok(())
}

/// Enum types (the model's, created before everything), composite and
/// range types.
async fn types(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    schema: &Schema,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the type catalog";
    let type_entry = |q: &str| Entry::granted(format!("TYPE {q}"));
    for r in client
        .query(
            &format!(
                "SELECT t.oid, {} FROM pg_type t WHERE {} AND t.typtype = 'e' ORDER BY t.oid",
                arch_sql("t.typnamespace", "t.typname"),
                dumped_sql("t.typnamespace", 1)
            ),
            &[&schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        if !schema.enums.iter().any(|e| e.name == name) {
            continue;
        }
        let q = qtable(&name);
        reg.add(
            "pg_type",
            col(&r, 0, ctx)?,
            Entry {
                key: ObjectRef {
                    kind: "type".into(),
                    schema: Some(nsp.to_string()),
                    name,
                    table: None,
                },
                ..type_entry(&q)
            },
        );
    }
    let sql = format!(
        "SELECT t.oid, {}, t.typrelid,
                coalesce(string_agg(format('%I %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attcollation <> at.typcollation
                         THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END),
                    ', ' ORDER BY a.attnum), '')
           FROM pg_type t
           JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_type at ON at.oid = a.atttypid
          WHERE {} AND t.typtype = 'c' AND {}
          GROUP BY t.oid, t.typname, t.typnamespace, t.typrelid ORDER BY t.oid",
        arch_sql("t.typnamespace", "t.typname"),
        dumped_sql("t.typnamespace", 1),
        not_member("pg_type", "t.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let q = qtable(&name);
        let ddl = format!("CREATE TYPE {q} AS ({})", col::<String>(&r, 3, ctx)?);
        let x = object(nsp, "type", name, Section::PreData, ddl);
        let key = x.key();
        reg.object("pg_type", col(&r, 0, ctx)?, out, x, type_entry(&q));
        // Its attributes' comments are on its relation.
        reg.add(
            "pg_class",
            col(&r, 2, ctx)?,
            Entry {
                key,
                comments: true,
                columns_of: Some(q),
                ..Default::default()
            },
        );
    }
    let sql = format!(
        "SELECT t.oid, {}, format_type(r.rngsubtype, NULL),
                CASE WHEN NOT opc.opcdefault THEN format('%I.%I', opn.nspname, opc.opcname) END,
                CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation
                     THEN r.rngcollation::regcollation::text END,
                NULLIF(r.rngcanonical, 0)::regproc::text, NULLIF(r.rngsubdiff, 0)::regproc::text,
                {}
           FROM pg_type t JOIN pg_range r ON r.rngtypid = t.oid
           JOIN pg_type st ON st.oid = r.rngsubtype
           JOIN pg_opclass opc ON opc.oid = r.rngsubopc
           JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
           LEFT JOIN pg_type mt ON mt.oid = r.rngmultitypid
          WHERE {} AND t.typtype = 'r' AND {}
          ORDER BY t.oid",
        arch_sql("t.typnamespace", "t.typname"),
        qualified_sql("mt.typnamespace", "mt.typname"),
        dumped_sql("t.typnamespace", 1),
        not_member("pg_type", "t.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let q = qtable(&name);
        let mut opts = vec![format!("subtype = {}", col::<String>(&r, 2, ctx)?)];
        let named = [
            (3, "subtype_opclass"),
            (4, "collation"),
            (5, "canonical"),
            (6, "subtype_diff"),
        ];
        for (i, what) in named {
            if let Some(v) = col::<Option<String>>(&r, i, ctx)? {
                opts.push(format!("{what} = {v}"));
            }
        }
        if let Some(m) = col::<Option<String>>(&r, 7, ctx)? {
            opts.push(format!("multirange_type_name = {m}"));
        }
        let ddl = format!("CREATE TYPE {q} AS RANGE ({})", opts.join(", "));
        let x = object(nsp, "type", name, Section::PreData, ddl);
        reg.object("pg_type", col(&r, 0, ctx)?, out, x, type_entry(&q));
    }
    Ok(())
}

/// Domains with their collation, default, NOT NULL and checks; a check
/// marked NOT VALID is added after the data (it must not check the load).
async fn domains(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the domain catalog";
    let sql = format!(
        "SELECT t.oid, {}, format_type(t.typbasetype, t.typtypmod),
                CASE WHEN t.typcollation <> bt.typcollation THEN t.typcollation::regcollation::text END,
                pg_get_expr(t.typdefaultbin, 0), t.typnotnull
           FROM pg_type t JOIN pg_type bt ON bt.oid = t.typbasetype
          WHERE {} AND t.typtype = 'd' AND {}
          ORDER BY t.oid",
        arch_sql("t.typnamespace", "t.typname"),
        dumped_sql("t.typnamespace", 1),
        not_member("pg_type", "t.oid")
    );
    let checks_sql =
        "SELECT c.oid, c.contypid, c.conname::text, pg_get_constraintdef(c.oid), c.convalidated
                        FROM pg_constraint c
                       WHERE c.contypid = ANY($1) AND c.contype = 'c' ORDER BY c.conname";
    let rows = client
        .query(&sql, &[&schemas])
        .await
        .map_err(|e| server_err(ctx, e))?;
    let oids: Vec<u32> = rows
        .iter()
        .map(|r| col(r, 0, ctx))
        .collect::<Result<_, _>>()?;
    let checks = client
        .query(checks_sql, &[&oids])
        .await
        .map_err(|e| server_err(ctx, e))?;
    for r in rows {
        let oid: u32 = col(&r, 0, ctx)?;
        let name: String = col(&r, 1, ctx)?;
        let q = qtable(&name);
        let mut ddl = format!("CREATE DOMAIN {q} AS {}", col::<String>(&r, 2, ctx)?);
        if let Some(c) = col::<Option<String>>(&r, 3, ctx)? {
            ddl.push_str(&format!(" COLLATE {c}"));
        }
        if let Some(d) = col::<Option<String>>(&r, 4, ctx)? {
            ddl.push_str(&format!(" DEFAULT {d}"));
        }
        if col::<bool>(&r, 5, ctx)? {
            ddl.push_str(" NOT NULL");
        }
        let mut later = Vec::new();
        for c in &checks {
            if col::<u32>(c, 1, ctx)? != oid {
                continue;
            }
            let cname: String = col(c, 2, ctx)?;
            let def: String = col(c, 3, ctx)?;
            if col::<bool>(c, 4, ctx)? {
                ddl.push_str(&format!(" CONSTRAINT {} {def}", quote_ident(&cname)));
            } else {
                later.push((col::<u32>(c, 0, ctx)?, cname, def));
            }
        }
        let x = object(nsp, "domain", name.clone(), Section::PreData, ddl);
        let key = x.key();
        reg.object(
            "pg_type",
            oid,
            out,
            x,
            Entry::granted(format!("DOMAIN {q}")),
        );
        for (coid, cname, def) in later {
            let mut x = object(
                nsp,
                "domain constraint",
                format!("{cname} on {name}"),
                Section::PostData,
                format!(
                    "ALTER DOMAIN {q} ADD CONSTRAINT {} {def}",
                    quote_ident(&cname)
                ),
            );
            x.depends.push(key.clone());
            reg.object(
                "pg_constraint",
                coid,
                out,
                x,
                Entry {
                    designation: format!("CONSTRAINT {} ON DOMAIN {q}", quote_ident(&cname)),
                    comments: true,
                    ..Default::default()
                },
            );
        }
        // Comments on the checks made with the domain.
        for c in &checks {
            if col::<u32>(c, 1, ctx)? == oid && col::<bool>(c, 4, ctx)? {
                let cname: String = col(c, 2, ctx)?;
                reg.add(
                    "pg_constraint",
                    col(c, 0, ctx)?,
                    Entry {
                        key: key.clone(),
                        designation: format!("CONSTRAINT {} ON DOMAIN {q}", quote_ident(&cname)),
                        comments: true,
                        ..Default::default()
                    },
                );
            }
        }
    }
    Ok(())
}
