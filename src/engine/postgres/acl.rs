//! What is said about the objects a dump names: comments, security
//! labels, owners and privileges (as `GRANT`/`REVOKE` against each
//! object's default privileges, as pg_dump writes them), and the roles all
//! of these name, with their attributes (never a password).

use super::conn::{col, server_err};
use super::depend::{Entry, Registry};
use super::objects::object;
use crate::engine::{quote_ident, quote_literal, EngineError};
use crate::model::{NativeObject, Role, Section};
use tokio_postgres::Client;

/// An object saying `ddl` about `entry`.
fn about(nsp: &str, kind: &str, name: String, entry: &Entry, ddl: String) -> NativeObject {
    let mut x = object(nsp, kind, name, Section::PostData, ddl);
    x.table = entry.table.clone();
    x.depends.push(entry.key.clone());
    x
}

/// `COMMENT ON` every named object that has a comment (tables and their
/// columns have theirs in the model).
pub(super) async fn comments(
    client: &Client,
    nsp: &str,
    reg: &Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the comment catalog";
    for r in client
        .query(
            "SELECT d.classoid::regclass::text, d.objoid, d.objsubid, d.description, a.attname::text
               FROM pg_description d
               LEFT JOIN pg_attribute a ON d.classoid = 'pg_class'::regclass
                     AND a.attrelid = d.objoid AND a.attnum = d.objsubid
              WHERE d.objoid >= 16384 OR d.classoid = 'pg_namespace'::regclass
              ORDER BY 1, 2, 3",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let Some(e) = reg.get(&col::<String>(&r, 0, ctx)?, col(&r, 1, ctx)?) else {
            continue;
        };
        if !e.comments {
            continue;
        }
        let text: String = col(&r, 3, ctx)?;
        let on = match (col::<i32>(&r, 2, ctx)?, &e.columns_of) {
            (0, _) if e.designation.is_empty() => continue,
            (0, _) => e.designation.clone(),
            (_, Some(rel)) => match col::<Option<String>>(&r, 4, ctx)? {
                Some(c) => format!("COLUMN {rel}.{}", quote_ident(&c)),
                None => continue,
            },
            _ => continue,
        };
        // A new database's own.
        if e.key.kind == "schema" && e.key.name == "public" && text == "standard public schema" {
            continue;
        }
        let ddl = format!("COMMENT ON {on} IS {}", quote_literal(&text));
        out.push(about(nsp, "comment", format!("ON {on}"), e, ddl));
    }
    Ok(())
}

/// `SECURITY LABEL` on every named object (and column) that has one.
pub(super) async fn labels(
    client: &Client,
    nsp: &str,
    reg: &Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the security label catalog";
    for r in client
        .query(
            "SELECT s.classoid::regclass::text, s.objoid, s.objsubid, s.provider::text, s.label,
                    a.attname::text
               FROM pg_seclabel s
               LEFT JOIN pg_attribute a ON s.classoid = 'pg_class'::regclass
                     AND a.attrelid = s.objoid AND a.attnum = s.objsubid
              ORDER BY 1, 2, 3, 4",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let Some(e) = reg.get(&col::<String>(&r, 0, ctx)?, col(&r, 1, ctx)?) else {
            continue;
        };
        if e.designation.is_empty() {
            continue;
        }
        let on = match (col::<i32>(&r, 2, ctx)?, &e.columns_of) {
            (0, _) => e.designation.clone(),
            (_, Some(rel)) => match col::<Option<String>>(&r, 5, ctx)? {
                Some(c) => format!("COLUMN {rel}.{}", quote_ident(&c)),
                None => continue,
            },
            _ => continue,
        };
        let provider: String = col(&r, 3, ctx)?;
        let label: String = col(&r, 4, ctx)?;
        let ddl = format!(
            "SECURITY LABEL FOR {} ON {on} IS {}",
            quote_ident(&provider),
            quote_literal(&label)
        );
        out.push(about(
            nsp,
            "security label",
            format!("{provider} ON {on}"),
            e,
            ddl,
        ));
    }
    Ok(())
}

/// The catalogs whose objects have owners, and their owner column.
const OWNED: &[(&str, &str)] = &[
    ("pg_class", "relowner"),
    ("pg_proc", "proowner"),
    ("pg_type", "typowner"),
    ("pg_namespace", "nspowner"),
    ("pg_collation", "collowner"),
    ("pg_operator", "oprowner"),
    ("pg_statistic_ext", "stxowner"),
    ("pg_largeobject_metadata", "lomowner"),
];

/// `ALTER ... OWNER TO` for every named object with an owner of its own.
pub(super) async fn owners(
    client: &Client,
    nsp: &str,
    reg: &Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading object owners";
    for (class, column) in OWNED {
        let oids: Vec<u32> = reg
            .of_class(class)
            .filter(|(_, e)| e.owner.is_some())
            .map(|(o, _)| o)
            .collect();
        if oids.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT x.oid, r.rolname::text FROM {class} x JOIN pg_roles r ON r.oid = x.{column}
              WHERE x.oid = ANY($1) ORDER BY x.oid"
        );
        for r in client
            .query(&sql, &[&oids])
            .await
            .map_err(|e| server_err(ctx, e))?
        {
            let Some(e) = reg.get(class, col(&r, 0, ctx)?) else {
                continue;
            };
            let Some(what) = &e.owner else {
                continue;
            };
            let role: String = col(&r, 1, ctx)?;
            // A new database's schema belongs to its owner already.
            if *class == "pg_namespace" && role == "pg_database_owner" {
                continue;
            }
            let ddl = format!("ALTER {what} OWNER TO {}", quote_ident(&role));
            let mut x = about(nsp, "owner", what.clone(), e, ddl);
            x.roles.push(role);
            out.push(x);
        }
    }
    Ok(())
}

/// The catalogs whose objects have privileges: their acl and owner
/// columns and `acldefault`'s object type.
const GRANTED: &[(&str, &str, &str, &str)] = &[
    (
        "pg_class",
        "relacl",
        "relowner",
        "CASE x.relkind WHEN 'S' THEN 's' ELSE 'r' END",
    ),
    ("pg_proc", "proacl", "proowner", "'f'"),
    ("pg_type", "typacl", "typowner", "'T'"),
    ("pg_namespace", "nspacl", "nspowner", "'n'"),
    ("pg_largeobject_metadata", "lomacl", "lomowner", "'L'"),
];

/// `GRANT` and `REVOKE` for every named object whose privileges differ
/// from its defaults (or, for objects a new database has, from their
/// initial privileges), and for columns with privileges.
pub(super) async fn grants(
    client: &Client,
    nsp: &str,
    reg: &Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading privileges";
    for (class, acl, owner, objtype) in GRANTED {
        let oids: Vec<u32> = reg
            .of_class(class)
            .filter(|(_, e)| e.grant_on.is_some())
            .map(|(o, _)| o)
            .collect();
        if oids.is_empty() {
            continue;
        }
        let sql = format!(
            "SELECT o.oid, x.revoke,
                    coalesce((SELECT g.rolname::text FROM pg_roles g WHERE g.oid = x.grantee), 'PUBLIC'),
                    string_agg(x.privilege_type, ', ' ORDER BY x.privilege_type), x.is_grantable
               FROM (SELECT x.oid, x.{acl} AS acl,
                            coalesce((SELECT i.initprivs FROM pg_init_privs i
                                       WHERE i.objoid = x.oid AND i.classoid = '{class}'::regclass
                                         AND i.objsubid = 0),
                                     acldefault(({objtype})::\"char\", x.{owner})) AS base
                       FROM {class} x WHERE x.oid = ANY($1) AND x.{acl} IS NOT NULL) o,
                    LATERAL (
                      (SELECT false AS revoke, a.grantee, a.privilege_type, a.is_grantable
                         FROM aclexplode(o.acl) a
                       EXCEPT
                       SELECT false, d.grantee, d.privilege_type, d.is_grantable
                         FROM aclexplode(o.base) d)
                      UNION ALL
                      SELECT true, d.grantee, d.privilege_type, false FROM aclexplode(o.base) d
                       WHERE NOT EXISTS (SELECT 1 FROM aclexplode(o.acl) a
                                          WHERE a.grantee = d.grantee
                                            AND a.privilege_type = d.privilege_type)) x
              GROUP BY o.oid, x.revoke, x.grantee, x.is_grantable
              ORDER BY o.oid, x.revoke DESC, 3, x.is_grantable"
        );
        for r in client
            .query(&sql, &[&oids])
            .await
            .map_err(|e| server_err(ctx, e))?
        {
            let Some(e) = reg.get(class, col(&r, 0, ctx)?) else {
                continue;
            };
            let Some(on) = &e.grant_on else {
                continue;
            };
            let grantee: String = col(&r, 2, ctx)?;
            let privileges: String = col(&r, 3, ctx)?;
            let ddl = statement(
                col(&r, 1, ctx)?,
                &privileges,
                on,
                &grantee,
                col(&r, 4, ctx)?,
            );
            out.push(grant(nsp, e, ddl, grantee));
        }
    }
    // Columns: no privileges by default.
    let rels: Vec<u32> = reg
        .of_class("pg_class")
        .filter(|(_, e)| e.grant_on.is_some() && e.columns_of.is_some())
        .map(|(o, _)| o)
        .collect();
    for r in client
        .query(
            "SELECT a.attrelid, a.attname::text,
                    coalesce((SELECT g.rolname::text FROM pg_roles g WHERE g.oid = x.grantee), 'PUBLIC'),
                    array_agg(x.privilege_type ORDER BY x.privilege_type), x.is_grantable
               FROM pg_attribute a, LATERAL aclexplode(a.attacl) x
              WHERE a.attrelid = ANY($1) AND a.attacl IS NOT NULL AND a.attnum > 0 AND NOT a.attisdropped
              GROUP BY a.attrelid, a.attnum, a.attname, x.grantee, x.is_grantable
              ORDER BY a.attrelid, a.attnum, 3, x.is_grantable",
            &[&rels],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let Some(e) = reg.get("pg_class", col(&r, 0, ctx)?) else {
            continue;
        };
        let Some(on) = &e.grant_on else {
            continue;
        };
        let column = quote_ident(&col::<String>(&r, 1, ctx)?);
        let grantee: String = col(&r, 2, ctx)?;
        let privileges: Vec<String> = col(&r, 3, ctx)?;
        let privileges: Vec<String> = privileges
            .iter()
            .map(|p| format!("{p} ({column})"))
            .collect();
        let ddl = statement(false, &privileges.join(", "), on, &grantee, col(&r, 4, ctx)?);
        out.push(grant(nsp, e, ddl, grantee));
    }
    Ok(())
}

/// A `GRANT` (or `REVOKE`) of `privileges` on `on` to (from) `grantee`.
fn statement(revoke: bool, privileges: &str, on: &str, grantee: &str, option: bool) -> String {
    let who = match grantee {
        "PUBLIC" => "PUBLIC".to_string(),
        g => quote_ident(g),
    };
    match (revoke, option) {
        (true, _) => format!("REVOKE {privileges} ON {on} FROM {who}"),
        (false, true) => format!("GRANT {privileges} ON {on} TO {who} WITH GRANT OPTION"),
        (false, false) => format!("GRANT {privileges} ON {on} TO {who}"),
    }
}

/// The object of one `GRANT` or `REVOKE` statement about `entry`.
fn grant(nsp: &str, entry: &Entry, ddl: String, grantee: String) -> NativeObject {
    let mut x = about(nsp, "grant", ddl.clone(), entry, ddl);
    if grantee != "PUBLIC" {
        x.roles.push(grantee);
    }
    x
}

/// The roles `objects` name, and those they are members of, with their
/// attributes; predefined roles (`pg_*`) are every server's.
pub(super) async fn roles(
    client: &Client,
    objects: &[NativeObject],
) -> Result<Vec<Role>, EngineError> {
    let mut names: Vec<String> = objects
        .iter()
        .flat_map(|x| x.roles.iter().cloned())
        .collect();
    names.sort();
    names.dedup();
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let ctx = "reading the roles the objects name";
    let mut out = Vec::new();
    for r in client
        .query(
            "WITH RECURSIVE r AS (
                 SELECT oid FROM pg_roles WHERE rolname = ANY($1)
                 UNION SELECT m.roleid FROM pg_auth_members m JOIN r ON m.member = r.oid)
             SELECT a.rolname::text, a.rolsuper, a.rolinherit, a.rolcreaterole, a.rolcreatedb,
                    a.rolcanlogin, a.rolreplication, a.rolbypassrls, a.rolconnlimit,
                    ARRAY(SELECT g.rolname::text FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid
                           WHERE m.member = a.oid ORDER BY 1)
               FROM pg_roles a JOIN r ON r.oid = a.oid
              WHERE a.rolname NOT LIKE 'pg\\_%'
              ORDER BY 1",
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let flag = |i: usize| col::<bool>(&r, i, ctx);
        let mut attributes = Vec::new();
        attributes.push(if flag(5)? { "LOGIN" } else { "NOLOGIN" }.to_string());
        for (i, word) in [
            (1, "SUPERUSER"),
            (3, "CREATEROLE"),
            (4, "CREATEDB"),
            (6, "REPLICATION"),
            (7, "BYPASSRLS"),
        ] {
            if flag(i)? {
                attributes.push(word.into());
            }
        }
        if !flag(2)? {
            attributes.push("NOINHERIT".into());
        }
        let limit: i32 = col(&r, 8, ctx)?;
        if limit >= 0 {
            attributes.push(format!("CONNECTION LIMIT {limit}"));
        }
        let member_of: Vec<String> = col(&r, 9, ctx)?;
        out.push(Role {
            name: col(&r, 0, ctx)?,
            attributes,
            member_of,
        });
    }
    Ok(out)
}
