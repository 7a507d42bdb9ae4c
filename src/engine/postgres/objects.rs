//! The objects a dump carries besides tables, as `NativeObject`s with
//! their section and dependencies: extensions, collations, composite and
//! range types, domains, functions, procedures, aggregates, operators and
//! casts (this file); views, triggers, rules, policies and the rest of
//! what belongs to relations (`relations.rs`); comments, security labels,
//! owners, grants and roles (`acl.rs`); and warnings for what is not
//! carried (`uncarried.rs`). Objects that belong to an extension come
//! with it and are never dumped one by one.

use super::acl;
use super::conn::{col, server_err};
use super::depend::{self, Entry, Registry};
use super::relations;
use super::uncarried;
use crate::engine::{quote_ident, quote_literal, EngineError};
use crate::model::{NativeObject, ObjectRef, Role, Schema, Section};
use tokio_postgres::Client;

/// What a dump carries besides its tables.
pub(super) struct Objects {
    pub objects: Vec<NativeObject>,
    pub roles: Vec<Role>,
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

/// Read every object of the current schema the dump carries, in archive
/// order (the restore sorts them), for the dumped tables of `schema`.
pub(super) async fn catalog(client: &Client, schema: &Schema) -> Result<Objects, EngineError> {
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
    reg.add(
        "pg_namespace",
        nsp_oid,
        Entry {
            key: ObjectRef {
                kind: "schema".into(),
                schema: None,
                name: nsp.clone(),
                table: None,
            },
            designation: format!("SCHEMA {}", quote_ident(&nsp)),
            comments: true,
            owner: Some(format!("SCHEMA {}", quote_ident(&nsp))),
            grant_on: Some(format!("SCHEMA {}", quote_ident(&nsp))),
            ..Default::default()
        },
    );
    relations::register_tables(client, &nsp, schema, &mut reg).await?;
    extensions(client, &nsp, &mut reg, &mut out).await?;
    collations(client, &nsp, &mut reg, &mut out).await?;
    types(client, &nsp, schema, &mut reg, &mut out).await?;
    domains(client, &nsp, &mut reg, &mut out).await?;
    routines(client, &nsp, &mut reg, &mut out).await?;
    aggregates(client, &nsp, &mut reg, &mut out).await?;
    operators(client, &nsp, &mut reg, &mut out).await?;
    casts(client, &nsp, &mut reg, &mut out).await?;
    relations::objects(client, &nsp, schema, &mut reg, &mut out).await?;
    depend::fill(client, &reg, &mut out).await?;
    acl::comments(client, &nsp, &reg, &mut out).await?;
    acl::labels(client, &nsp, &reg, &mut out).await?;
    acl::owners(client, &nsp, &reg, &mut out).await?;
    acl::grants(client, &nsp, &reg, &mut out).await?;
    let roles = acl::roles(client, &out).await?;
    let warnings = uncarried::warnings(client, schema).await?;
    Ok(Objects {
        objects: out,
        roles,
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
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the collation catalog";
    let sql = format!(
        "SELECT c.oid, c.collname::text, c.collprovider::text, c.collisdeterministic,
                c.collcollate::text, c.collctype::text,
                coalesce(to_jsonb(c)->>'colliculocale', to_jsonb(c)->>'colllocale'),
                to_jsonb(c)->>'collicurules'
           FROM pg_collation c
          WHERE c.collnamespace = current_schema()::regnamespace AND {}
          ORDER BY c.oid",
        not_member("pg_collation", "c.oid")
    );
    for r in client
        .query(&sql, &[])
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
        let q = quote_ident(&name);
        let ddl = format!("CREATE COLLATION {q} ({})", opts.join(", "));
        let x = object(nsp, "collation", name, Section::PreData, ddl);
        reg.object(
            "pg_collation",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("COLLATION {q}"),
                comments: true,
                owner: Some(format!("COLLATION {q}")),
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// Enum types (the model's, created before everything), composite and
/// range types.
async fn types(
    client: &Client,
    nsp: &str,
    schema: &Schema,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the type catalog";
    let type_entry = |q: &str| Entry {
        designation: format!("TYPE {q}"),
        comments: true,
        owner: Some(format!("TYPE {q}")),
        grant_on: Some(format!("TYPE {q}")),
        ..Default::default()
    };
    for r in client
        .query(
            "SELECT t.oid, t.typname::text FROM pg_type t
              WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'e'
              ORDER BY t.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        if !schema.enums.iter().any(|e| e.name == name) {
            continue;
        }
        let q = quote_ident(&name);
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
        "SELECT t.oid, t.typname::text, t.typrelid,
                coalesce(string_agg(format('%I %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                    CASE WHEN a.attcollation <> at.typcollation
                         THEN ' COLLATE ' || a.attcollation::regcollation::text ELSE '' END),
                    ', ' ORDER BY a.attnum), '')
           FROM pg_type t
           JOIN pg_class c ON c.oid = t.typrelid AND c.relkind = 'c'
           LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
           LEFT JOIN pg_type at ON at.oid = a.atttypid
          WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'c' AND {}
          GROUP BY t.oid, t.typname, t.typrelid ORDER BY t.oid",
        not_member("pg_type", "t.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let q = quote_ident(&name);
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
        "SELECT t.oid, t.typname::text, format_type(r.rngsubtype, NULL),
                CASE WHEN NOT opc.opcdefault THEN format('%I.%I', opn.nspname, opc.opcname) END,
                CASE WHEN r.rngcollation <> 0 AND r.rngcollation <> st.typcollation
                     THEN r.rngcollation::regcollation::text END,
                NULLIF(r.rngcanonical, 0)::regproc::text, NULLIF(r.rngsubdiff, 0)::regproc::text,
                mt.typname::text
           FROM pg_type t JOIN pg_range r ON r.rngtypid = t.oid
           JOIN pg_type st ON st.oid = r.rngsubtype
           JOIN pg_opclass opc ON opc.oid = r.rngsubopc
           JOIN pg_namespace opn ON opn.oid = opc.opcnamespace
           LEFT JOIN pg_type mt ON mt.oid = r.rngmultitypid
          WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'r' AND {}
          ORDER BY t.oid",
        not_member("pg_type", "t.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let q = quote_ident(&name);
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
            opts.push(format!("multirange_type_name = {}", quote_ident(&m)));
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
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the domain catalog";
    let sql = format!(
        "SELECT t.oid, t.typname::text, format_type(t.typbasetype, t.typtypmod),
                CASE WHEN t.typcollation <> bt.typcollation THEN t.typcollation::regcollation::text END,
                pg_get_expr(t.typdefaultbin, 0), t.typnotnull
           FROM pg_type t JOIN pg_type bt ON bt.oid = t.typbasetype
          WHERE t.typnamespace = current_schema()::regnamespace AND t.typtype = 'd' AND {}
          ORDER BY t.oid",
        not_member("pg_type", "t.oid")
    );
    let checks_sql =
        "SELECT c.oid, c.contypid, c.conname::text, pg_get_constraintdef(c.oid), c.convalidated
                        FROM pg_constraint c
                       WHERE c.contypid = ANY($1) AND c.contype = 'c' ORDER BY c.conname";
    let rows = client
        .query(&sql, &[])
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
        let q = quote_ident(&name);
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
            Entry {
                designation: format!("DOMAIN {q}"),
                comments: true,
                owner: Some(format!("DOMAIN {q}")),
                grant_on: Some(format!("DOMAIN {q}")),
                ..Default::default()
            },
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

/// Functions and procedures, as `pg_get_functiondef` writes them.
async fn routines(
    client: &Client,
    nsp: &str,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the function catalog";
    let sql = format!(
        "SELECT p.oid, p.oid::regprocedure::text, p.prokind::text, pg_get_functiondef(p.oid)
           FROM pg_proc p
          WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind IN ('f', 'p', 'w')
            AND {}
          ORDER BY p.oid",
        not_member("pg_proc", "p.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let sig: String = col(&r, 1, ctx)?;
        let kind = match col::<String>(&r, 2, ctx)?.as_str() {
            "p" => "procedure",
            _ => "function",
        };
        let word = kind.to_ascii_uppercase();
        let x = object(nsp, kind, sig.clone(), Section::PreData, col(&r, 3, ctx)?);
        reg.object(
            "pg_proc",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("{word} {sig}"),
                comments: true,
                owner: Some(format!("{word} {sig}")),
                grant_on: Some(format!("{word} {sig}")),
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// User-defined aggregates, from `pg_aggregate`.
async fn aggregates(
    client: &Client,
    nsp: &str,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the aggregate catalog";
    let sql = format!(
        "SELECT p.oid, p.oid::regprocedure::text, p.proname::text,
                CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_arguments(p.oid) END,
                CASE WHEN p.pronargs = 0 THEN '*' ELSE pg_get_function_identity_arguments(p.oid) END,
                a.aggkind::text, a.aggtransfn::regproc::text, format_type(a.aggtranstype, NULL),
                a.aggtransspace, NULLIF(a.aggfinalfn, 0)::regproc::text, a.aggfinalextra,
                a.aggfinalmodify::text, NULLIF(a.aggcombinefn, 0)::regproc::text,
                NULLIF(a.aggserialfn, 0)::regproc::text, NULLIF(a.aggdeserialfn, 0)::regproc::text,
                a.agginitval, NULLIF(a.aggmtransfn, 0)::regproc::text,
                NULLIF(a.aggminvtransfn, 0)::regproc::text,
                CASE WHEN a.aggmtranstype <> 0 THEN format_type(a.aggmtranstype, NULL) END,
                a.aggmtransspace, NULLIF(a.aggmfinalfn, 0)::regproc::text, a.aggmfinalextra,
                a.aggmfinalmodify::text, a.aggminitval,
                CASE WHEN a.aggsortop <> 0
                     THEN (SELECT format('OPERATOR(%I.%s)', n.nspname, o.oprname)
                             FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
                            WHERE o.oid = a.aggsortop) END,
                p.proparallel::text
           FROM pg_proc p JOIN pg_aggregate a ON a.aggfnoid = p.oid
          WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind = 'a' AND {}
          ORDER BY p.oid",
        not_member("pg_proc", "p.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let sig: String = col(&r, 1, ctx)?;
        let name: String = col(&r, 2, ctx)?;
        let args: String = col(&r, 3, ctx)?;
        let identity: String = col(&r, 4, ctx)?;
        let kind: String = col(&r, 5, ctx)?;
        let text = |i: usize| col::<Option<String>>(&r, i, ctx);
        let mut opts = vec![
            format!("SFUNC = {}", col::<String>(&r, 6, ctx)?),
            format!("STYPE = {}", col::<String>(&r, 7, ctx)?),
        ];
        let space: i32 = col(&r, 8, ctx)?;
        if space != 0 {
            opts.push(format!("SSPACE = {space}"));
        }
        let modify = |m: &str| match m {
            "s" => "SHAREABLE",
            "w" => "READ_WRITE",
            _ => "READ_ONLY",
        };
        let default_modify = if kind == "n" { "r" } else { "w" };
        if let Some(f) = text(9)? {
            opts.push(format!("FINALFUNC = {f}"));
            if col::<bool>(&r, 10, ctx)? {
                opts.push("FINALFUNC_EXTRA".into());
            }
            let m: String = col(&r, 11, ctx)?;
            if m != default_modify {
                opts.push(format!("FINALFUNC_MODIFY = {}", modify(&m)));
            }
        }
        for (i, what) in [
            (12, "COMBINEFUNC"),
            (13, "SERIALFUNC"),
            (14, "DESERIALFUNC"),
        ] {
            if let Some(f) = text(i)? {
                opts.push(format!("{what} = {f}"));
            }
        }
        if let Some(v) = text(15)? {
            opts.push(format!("INITCOND = {}", quote_literal(&v)));
        }
        if let Some(f) = text(16)? {
            opts.push(format!("MSFUNC = {f}"));
            if let Some(g) = text(17)? {
                opts.push(format!("MINVFUNC = {g}"));
            }
            if let Some(t) = text(18)? {
                opts.push(format!("MSTYPE = {t}"));
            }
            let mspace: i32 = col(&r, 19, ctx)?;
            if mspace != 0 {
                opts.push(format!("MSSPACE = {mspace}"));
            }
            if let Some(g) = text(20)? {
                opts.push(format!("MFINALFUNC = {g}"));
                if col::<bool>(&r, 21, ctx)? {
                    opts.push("MFINALFUNC_EXTRA".into());
                }
                let m: String = col(&r, 22, ctx)?;
                if m != default_modify {
                    opts.push(format!("MFINALFUNC_MODIFY = {}", modify(&m)));
                }
            }
            if let Some(v) = text(23)? {
                opts.push(format!("MINITCOND = {}", quote_literal(&v)));
            }
        }
        if let Some(op) = text(24)? {
            opts.push(format!("SORTOP = {op}"));
        }
        match col::<String>(&r, 25, ctx)?.as_str() {
            "s" => opts.push("PARALLEL = SAFE".into()),
            "r" => opts.push("PARALLEL = RESTRICTED".into()),
            _ => {}
        }
        if kind == "h" {
            opts.push("HYPOTHETICAL".into());
        }
        let q = quote_ident(&name);
        let ddl = format!(
            "CREATE OR REPLACE AGGREGATE {q}({args}) ({})",
            opts.join(", ")
        );
        let x = object(nsp, "aggregate", sig.clone(), Section::PreData, ddl);
        reg.object(
            "pg_proc",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("AGGREGATE {q}({identity})"),
                comments: true,
                owner: Some(format!("AGGREGATE {q}({identity})")),
                grant_on: Some(format!("FUNCTION {sig}")),
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// User-defined operators.
async fn operators(
    client: &Client,
    nsp: &str,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the operator catalog";
    let other = |c: &str| {
        format!(
            "CASE WHEN {c} <> 0 THEN (SELECT format('OPERATOR(%I.%s)', n.nspname, x.oprname)
               FROM pg_operator x JOIN pg_namespace n ON n.oid = x.oprnamespace WHERE x.oid = {c}) END"
        )
    };
    let sql = format!(
        "SELECT o.oid, o.oid::regoperator::text, o.oprname::text,
                CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END,
                CASE WHEN o.oprright <> 0 THEN format_type(o.oprright, NULL) END,
                o.oprcode::regprocedure::text, {}, {},
                NULLIF(o.oprrest, 0)::regproc::text, NULLIF(o.oprjoin, 0)::regproc::text,
                o.oprcanhash, o.oprcanmerge, o.oprcode::regproc::text
           FROM pg_operator o
          WHERE o.oprnamespace = current_schema()::regnamespace AND o.oprcode <> 0 AND {}
          ORDER BY o.oid",
        other("o.oprcom"),
        other("o.oprnegate"),
        not_member("pg_operator", "o.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let sig: String = col(&r, 1, ctx)?;
        let name: String = col(&r, 2, ctx)?;
        let text = |i: usize| col::<Option<String>>(&r, i, ctx);
        let mut opts = vec![format!("FUNCTION = {}", col::<String>(&r, 12, ctx)?)];
        for (i, what) in [
            (3, "LEFTARG"),
            (4, "RIGHTARG"),
            (6, "COMMUTATOR"),
            (7, "NEGATOR"),
            (8, "RESTRICT"),
            (9, "JOIN"),
        ] {
            if let Some(v) = text(i)? {
                opts.push(format!("{what} = {v}"));
            }
        }
        if col::<bool>(&r, 10, ctx)? {
            opts.push("HASHES".into());
        }
        if col::<bool>(&r, 11, ctx)? {
            opts.push("MERGES".into());
        }
        let ddl = format!("CREATE OPERATOR {name} ({})", opts.join(", "));
        let x = object(nsp, "operator", sig.clone(), Section::PreData, ddl);
        reg.object(
            "pg_operator",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("OPERATOR {sig}"),
                comments: true,
                owner: Some(format!("OPERATOR {sig}")),
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// User-defined casts (those of extensions come with them).
async fn casts(
    client: &Client,
    nsp: &str,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the cast catalog";
    let sql = format!(
        "SELECT c.oid, format_type(c.castsource, NULL), format_type(c.casttarget, NULL),
                c.castmethod::text, NULLIF(c.castfunc, 0)::regprocedure::text, c.castcontext::text
           FROM pg_cast c
          WHERE c.oid >= 16384 AND {}
          ORDER BY c.oid",
        not_member("pg_cast", "c.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name = format!(
            "({} AS {})",
            col::<String>(&r, 1, ctx)?,
            col::<String>(&r, 2, ctx)?
        );
        let how = match (
            col::<String>(&r, 3, ctx)?.as_str(),
            col::<Option<String>>(&r, 4, ctx)?,
        ) {
            ("f", Some(f)) => format!("WITH FUNCTION {f}"),
            ("i", _) => "WITH INOUT".into(),
            _ => "WITHOUT FUNCTION".into(),
        };
        let context = match col::<String>(&r, 5, ctx)?.as_str() {
            "a" => " AS ASSIGNMENT",
            "i" => " AS IMPLICIT",
            _ => "",
        };
        let ddl = format!("CREATE CAST {name} {how}{context}");
        let mut x = object(nsp, "cast", name.clone(), Section::PreData, ddl);
        x.schema = None;
        reg.object(
            "pg_cast",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("CAST {name}"),
                comments: true,
                ..Default::default()
            },
        );
    }
    Ok(())
}
