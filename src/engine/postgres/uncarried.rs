//! What a PostgreSQL dump does not carry, named: one warning per kind of
//! object the database has and the archive leaves out (docs/objects.md).

use super::conn::{col, server_err};
use super::objects::{dumped_sql, not_member, rel_sql};
use crate::engine::{quote_literal, EngineError};
use crate::model::Schema;
use tokio_postgres::Client;

/// The kinds haul leaves out: what, and SQL listing the names of those the
/// database has (one text column) in the dumped `schemas`.
fn queries(schemas: &[String]) -> Vec<(&'static str, String)> {
    let list: Vec<String> = schemas.iter().map(|s| quote_literal(s)).collect();
    let here = format!(
        "ANY(ARRAY(SELECT z.oid FROM pg_namespace z WHERE z.nspname = ANY(ARRAY[{}]::text[])))",
        list.join(", ")
    );
    vec![
        (
            "event triggers",
            "SELECT evtname::text FROM pg_event_trigger ORDER BY 1".into(),
        ),
        (
            "publications",
            "SELECT pubname::text FROM pg_publication ORDER BY 1".into(),
        ),
        (
            "subscriptions",
            "SELECT subname::text FROM pg_subscription
              WHERE subdbid = (SELECT oid FROM pg_database WHERE datname = current_database())
              ORDER BY 1"
                .into(),
        ),
        (
            "foreign data wrappers",
            format!(
                "SELECT w.fdwname::text FROM pg_foreign_data_wrapper w WHERE {} ORDER BY 1",
                not_member("pg_foreign_data_wrapper", "w.oid")
            ),
        ),
        (
            "foreign servers",
            "SELECT srvname::text FROM pg_foreign_server ORDER BY 1".into(),
        ),
        (
            "foreign tables (their rows are not dumped either)",
            format!(
                "SELECT relname::text FROM pg_class WHERE relnamespace = {here} AND relkind = 'f' ORDER BY 1"
            ),
        ),
        (
            "text search configurations",
            format!(
                "SELECT c.cfgname::text FROM pg_ts_config c WHERE c.cfgnamespace = {here} AND {} ORDER BY 1",
                not_member("pg_ts_config", "c.oid")
            ),
        ),
        (
            "text search dictionaries",
            format!(
                "SELECT d.dictname::text FROM pg_ts_dict d WHERE d.dictnamespace = {here} AND {} ORDER BY 1",
                not_member("pg_ts_dict", "d.oid")
            ),
        ),
        (
            "operator classes",
            format!(
                "SELECT o.opcname::text FROM pg_opclass o WHERE o.opcnamespace = {here} AND {} ORDER BY 1",
                not_member("pg_opclass", "o.oid")
            ),
        ),
        (
            "operator families",
            format!(
                "SELECT o.opfname::text FROM pg_opfamily o WHERE o.opfnamespace = {here} AND {}
                   AND NOT EXISTS (SELECT 1 FROM pg_opclass c WHERE c.opcfamily = o.oid AND NOT {})
                 ORDER BY 1",
                not_member("pg_opfamily", "o.oid"),
                not_member("pg_opclass", "c.oid")
            ),
        ),
        (
            "conversions",
            format!(
                "SELECT c.conname::text FROM pg_conversion c WHERE c.connamespace = {here} AND {} ORDER BY 1",
                not_member("pg_conversion", "c.oid")
            ),
        ),
        (
            "base types (they need C functions)",
            format!(
                "SELECT t.typname::text FROM pg_type t WHERE t.typnamespace = {here} AND t.typtype IN ('b', 'p')
                   AND NOT EXISTS (SELECT 1 FROM pg_type e WHERE e.typarray = t.oid) AND {} ORDER BY 1",
                not_member("pg_type", "t.oid")
            ),
        ),
        (
            "range types with a canonical function (it needs C)",
            format!(
                "SELECT t.typname::text FROM pg_type t JOIN pg_range r ON r.rngtypid = t.oid
                  WHERE t.typnamespace = {here} AND r.rngcanonical <> 0 AND {} ORDER BY 1",
                not_member("pg_type", "t.oid")
            ),
        ),
        (
            "default privileges (ALTER DEFAULT PRIVILEGES)",
            "SELECT format('for role %s on %s', defaclrole::regrole, CASE defaclobjtype
                      WHEN 'r' THEN 'tables' WHEN 'S' THEN 'sequences' WHEN 'f' THEN 'functions'
                      WHEN 'T' THEN 'types' ELSE 'schemas' END) FROM pg_default_acl ORDER BY 1"
                .into(),
        ),
        (
            "procedural languages other than extensions'",
            format!(
                "SELECT l.lanname::text FROM pg_language l WHERE l.lanispl AND l.oid >= 16384 AND {} ORDER BY 1",
                not_member("pg_language", "l.oid")
            ),
        ),
        (
            "transforms",
            format!(
                "SELECT format('for %s language %s', format_type(t.trftype, NULL), l.lanname)
                   FROM pg_transform t JOIN pg_language l ON l.oid = t.trflang WHERE {} ORDER BY 1",
                not_member("pg_transform", "t.oid")
            ),
        ),
    ]
}

/// One warning per kind of object the database has and the dump leaves
/// out, naming them; and the dumped tables' tablespaces.
pub(super) async fn warnings(
    client: &Client,
    schema: &Schema,
    schemas: &[String],
) -> Result<Vec<String>, EngineError> {
    let mut out = Vec::new();
    for (what, sql) in queries(schemas) {
        let ctx = format!("looking for {what}");
        let rows = client
            .query(&sql, &[])
            .await
            .map_err(|e| server_err(&ctx, e))?;
        let names: Vec<String> = rows
            .iter()
            .map(|r| col::<String>(r, 0, &ctx))
            .collect::<Result<_, _>>()?;
        if !names.is_empty() {
            out.push(format!("{what} are not carried: {}", names.join(", ")));
        }
    }
    let ctx = "reading the tables' tablespaces";
    let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    let rows = client
        .query(
            &format!(
                "SELECT format('%s (%s)', {rel}, t.spcname) FROM pg_class c
                   JOIN pg_tablespace t ON t.oid = c.reltablespace
                  WHERE {rel} = ANY($1) OR (c.relkind IN ('m', 'i') AND {})
                  ORDER BY 1",
                dumped_sql("c.relnamespace", 2),
                rel = rel_sql("c")
            ),
            &[&names, &schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?;
    let placed: Vec<String> = rows
        .iter()
        .map(|r| col::<String>(r, 0, ctx))
        .collect::<Result<_, _>>()?;
    if !placed.is_empty() {
        out.push(format!(
            "tablespaces are not carried (the restore puts everything in the target's default): {}",
            placed.join(", ")
        ));
    }
    Ok(out)
}
