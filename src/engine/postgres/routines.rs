//! Functions, procedures, aggregates, operators and casts of the current
//! schema, as objects before the data.

use super::conn::{col, server_err};
use super::depend::{Entry, Registry};
use super::objects::{dumped_sql, not_member, object, qualified_sql};
use crate::engine::{quote_literal, EngineError};
use crate::model::{NativeObject, Section};
use tokio_postgres::Client;

/// Functions and procedures, as `pg_get_functiondef` writes them.
pub(super) async fn routines(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the function catalog";
    let sql = format!(
        "SELECT p.oid, p.oid::regprocedure::text, p.prokind::text, pg_get_functiondef(p.oid),
                n.nspname::text
           FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
          WHERE n.nspname = ANY($1) AND p.prokind IN ('f', 'p', 'w') AND {}
          ORDER BY p.oid",
        not_member("pg_proc", "p.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let sig: String = col(&r, 1, ctx)?;
        let kind = match col::<String>(&r, 2, ctx)?.as_str() {
            "p" => "procedure",
            _ => "function",
        };
        let word = kind.to_ascii_uppercase();
        let mut x = object(nsp, kind, sig.clone(), Section::PreData, col(&r, 3, ctx)?);
        // A routine of another schema: its signature names the schema.
        x.schema = Some(col(&r, 4, ctx)?);
        reg.object(
            "pg_proc",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry::granted(format!("{word} {sig}")),
        );
    }
    Ok(())
}

/// User-defined aggregates, from `pg_aggregate`.
pub(super) async fn aggregates(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the aggregate catalog";
    let sql = format!(
        "SELECT p.oid, p.oid::regprocedure::text, {},
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
          WHERE {} AND p.prokind = 'a' AND {}
          ORDER BY p.oid",
        qualified_sql("p.pronamespace", "p.proname"),
        dumped_sql("p.pronamespace", 1),
        not_member("pg_proc", "p.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
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
        let q = &name;
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
                grant_on: Some(format!("FUNCTION {sig}")),
                ..Entry::owned(format!("AGGREGATE {q}({identity})"))
            },
        );
    }
    Ok(())
}

/// User-defined operators.
pub(super) async fn operators(
    client: &Client,
    nsp: &str,
    schemas: &[String],
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
        "SELECT o.oid, o.oid::regoperator::text,
                CASE WHEN o.oprnamespace = current_schema()::regnamespace THEN o.oprname::text
                     ELSE (SELECT quote_ident(z.nspname) FROM pg_namespace z WHERE z.oid = o.oprnamespace) || '.' || o.oprname::text END,
                CASE WHEN o.oprleft <> 0 THEN format_type(o.oprleft, NULL) END,
                CASE WHEN o.oprright <> 0 THEN format_type(o.oprright, NULL) END,
                o.oprcode::regprocedure::text, {}, {},
                NULLIF(o.oprrest, 0)::regproc::text, NULLIF(o.oprjoin, 0)::regproc::text,
                o.oprcanhash, o.oprcanmerge, o.oprcode::regproc::text
           FROM pg_operator o
          WHERE {} AND o.oprcode <> 0 AND {}
          ORDER BY o.oid",
        other("o.oprcom"),
        other("o.oprnegate"),
        dumped_sql("o.oprnamespace", 1),
        not_member("pg_operator", "o.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
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
            Entry::owned(format!("OPERATOR {sig}")),
        );
    }
    Ok(())
}

/// User-defined casts (those of extensions come with them).
pub(super) async fn casts(
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
