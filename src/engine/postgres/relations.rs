//! What belongs to relations: the dumped tables, their sequences,
//! constraints and indexes named for comments, owners and grants; views
//! and materialized views with their indexes; triggers (and their enabled
//! state) and rules. The tables' settings (policies, statistics, options)
//! are in `settings.rs`.

use super::conn::{col, server_err};
use super::depend::{Entry, Registry};
use super::introspect::archive_name;
use super::objects::{dumped_sql, not_member, object, rel_sql};
use super::qtable;
use super::settings::{column_options, policies, statistics, table_options};
use crate::engine::{quote_ident, EngineError};
use crate::model::{NativeObject, ObjectRef, Schema, Section};
use tokio_postgres::Client;

/// Register the dumped schemas' tables (dumped or not) and sequences, and
/// the dumped tables' constraints and indexes; `nsp` is the current schema.
pub(super) async fn register_tables(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    schema: &Schema,
    reg: &mut Registry,
) -> Result<(), EngineError> {
    let ctx = "reading the table catalog";
    let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    for r in client
        .query(
            "SELECT c.oid, c.relname::text, c.relkind::text,
                    (SELECT CASE WHEN t.relnamespace = current_schema()::regnamespace THEN t.relname::text
                                 ELSE tn.nspname::text || '.' || t.relname::text END
                       FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                       JOIN pg_namespace tn ON tn.oid = t.relnamespace
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                        AND d.deptype IN ('a', 'i') LIMIT 1),
                    n.nspname::text
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'S')
              ORDER BY c.oid",
            &[&schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let oid: u32 = col(&r, 0, ctx)?;
        let rel_nsp: String = col(&r, 4, ctx)?;
        let name = archive_name(nsp, &rel_nsp, &col::<String>(&r, 1, ctx)?);
        let q = qtable(&name);
        if col::<String>(&r, 2, ctx)? == "S" {
            let owned_by: Option<String> = col(&r, 3, ctx)?;
            reg.add(
                "pg_class",
                oid,
                Entry {
                    key: ObjectRef {
                        kind: "sequence".into(),
                        schema: Some(rel_nsp),
                        name,
                        table: None,
                    },
                    designation: format!("SEQUENCE {q}"),
                    comments: true,
                    // A sequence owned by a column follows its table's owner.
                    owner: owned_by.is_none().then(|| format!("SEQUENCE {q}")),
                    grant_on: Some(format!("SEQUENCE {q}")),
                    table: owned_by,
                    ..Default::default()
                },
            );
            continue;
        }
        let dumped = names.contains(&name);
        reg.add(
            "pg_class",
            oid,
            Entry {
                key: ObjectRef::table(Some(&rel_nsp), &name),
                designation: format!("TABLE {q}"),
                columns_of: dumped.then(|| q.clone()),
                owner: dumped.then(|| format!("TABLE {q}")),
                grant_on: dumped.then(|| format!("TABLE {q}")),
                table: Some(name),
                ..Default::default()
            },
        );
    }
    let rel = rel_sql("c");
    let ctx = "reading the constraint catalog";
    for r in client
        .query(
            &format!(
                "SELECT con.oid, con.conname::text, {rel} FROM pg_constraint con
                   JOIN pg_class c ON c.oid = con.conrelid
                  WHERE {rel} = ANY($1)"
            ),
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let table: String = col(&r, 2, ctx)?;
        reg.add(
            "pg_constraint",
            col(&r, 0, ctx)?,
            Entry {
                key: ObjectRef::table(Some(nsp), &table),
                designation: format!(
                    "CONSTRAINT {} ON {}",
                    quote_ident(&col::<String>(&r, 1, ctx)?),
                    qtable(&table)
                ),
                comments: true,
                table: Some(table),
                ..Default::default()
            },
        );
    }
    let ctx = "reading the index catalog";
    for r in client
        .query(
            &format!(
                "SELECT i.indexrelid, {}, {rel} FROM pg_index i
                   JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
                  WHERE {rel} = ANY($1) AND c.relkind IN ('r', 'p')
                    AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                      AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))",
                rel_sql("ic")
            ),
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let table: String = col(&r, 2, ctx)?;
        reg.add(
            "pg_class",
            col(&r, 0, ctx)?,
            Entry {
                key: ObjectRef::table(Some(nsp), &table),
                designation: format!("INDEX {}", qtable(&col::<String>(&r, 1, ctx)?)),
                comments: true,
                table: Some(table),
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// The objects of relations of the dumped `schemas`, after the data.
pub(super) async fn objects(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    schema: &Schema,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    views(client, nsp, schemas, reg, out).await?;
    triggers(client, nsp, &names, schemas, reg, out).await?;
    rules(client, nsp, &names, schemas, reg, out).await?;
    policies(client, nsp, &names, reg, out).await?;
    statistics(client, nsp, &names, reg, out).await?;
    column_options(client, nsp, &names, out).await?;
    table_options(client, nsp, &names, schemas, out).await
}

/// SQL: a `reloptions`-style array as `name='value', ...`, with only the
/// options `keep` (SQL, of `o`) says.
pub(super) fn options_sql(array: &str, keep: &str) -> String {
    format!(
        "array_to_string(ARRAY(SELECT format('%s=%L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1))
                                  FROM unnest({array}) o WHERE {keep}), ', ')"
    )
}

async fn views(
    client: &Client,
    nsp: &str,
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the view catalog";
    let sql = format!(
        "SELECT c.oid, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid), c.relispopulated,
                {}, (SELECT upper(substr(o, 14)) FROM unnest(c.reloptions) o WHERE o LIKE 'check_option=%'),
                n.nspname::text
           FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE n.nspname = ANY($1)
            AND c.relkind IN ('v', 'm')
            AND {}
          ORDER BY c.oid",
        options_sql("c.reloptions", "o NOT LIKE 'check_option=%'"),
        not_member("pg_class", "c.oid")
    );
    for r in client
        .query(&sql, &[&schemas])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let oid: u32 = col(&r, 0, ctx)?;
        let view_nsp: String = col(&r, 7, ctx)?;
        let name = archive_name(nsp, &view_nsp, &col::<String>(&r, 1, ctx)?);
        let q = qtable(&name);
        let def: String = col(&r, 3, ctx)?;
        let def = def.trim_end().trim_end_matches(';');
        let opts: String = col(&r, 5, ctx)?;
        let with = if opts.is_empty() {
            String::new()
        } else {
            format!(" WITH ({opts})")
        };
        let (kind, word, ddl) = if col::<String>(&r, 2, ctx)? == "m" {
            let data = if col::<bool>(&r, 4, ctx)? { "" } else { " NO" };
            (
                "materialized view",
                "MATERIALIZED VIEW",
                format!(
                    "CREATE MATERIALIZED VIEW IF NOT EXISTS {q}{with} AS {def} WITH{data} DATA"
                ),
            )
        } else {
            let check = match col::<Option<String>>(&r, 6, ctx)? {
                Some(c) => format!(" WITH {c} CHECK OPTION"),
                None => String::new(),
            };
            (
                "view",
                "VIEW",
                format!("CREATE OR REPLACE VIEW {q}{with} AS {def}{check}"),
            )
        };
        let x = object(&view_nsp, kind, name, Section::PostData, ddl);
        reg.object(
            "pg_class",
            oid,
            out,
            x,
            Entry {
                columns_of: Some(q.clone()),
                grant_on: Some(format!("TABLE {q}")),
                ..Entry::owned(format!("{word} {q}"))
            },
        );
    }
    let ctx = "reading the indexes of materialized views";
    for r in client
        .query(
            &format!(
                "SELECT i.indexrelid, {}, pg_get_indexdef(i.indexrelid)
                   FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                   JOIN pg_class c ON c.oid = i.indrelid
                  WHERE {} AND c.relkind = 'm'
                  ORDER BY i.indexrelid",
                rel_sql("ic"),
                dumped_sql("c.relnamespace", 1)
            ),
            &[&schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let q = qtable(&name);
        let x = object(nsp, "index", name, Section::PostData, col(&r, 2, ctx)?);
        reg.object(
            "pg_class",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("INDEX {q}"),
                comments: true,
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// Triggers of the dumped tables and of views, and the state of those not
/// simply enabled.
async fn triggers(
    client: &Client,
    nsp: &str,
    names: &[String],
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the trigger catalog";
    for r in client
        .query(
            &format!(
                "SELECT t.oid, t.tgname::text, {rel}, c.relkind::text,
                        pg_get_triggerdef(t.oid), t.tgenabled::text
                   FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                  WHERE NOT t.tgisinternal
                    AND ({rel} = ANY($1) OR (c.relkind IN ('v', 'm') AND {}))
                  ORDER BY t.oid",
                dumped_sql("c.relnamespace", 2),
                rel = rel_sql("c"),
            ),
            &[&names, &schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let rel: String = col(&r, 2, ctx)?;
        let on_table = matches!(col::<String>(&r, 3, ctx)?.as_str(), "r" | "p");
        let designation = format!("TRIGGER {} ON {}", quote_ident(&name), qtable(&rel));
        let mut x = object(
            nsp,
            "trigger",
            name.clone(),
            Section::PostData,
            col(&r, 4, ctx)?,
        );
        x.table = on_table.then(|| rel.clone());
        let key = x.key();
        reg.object(
            "pg_trigger",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation,
                comments: true,
                ..Default::default()
            },
        );
        let state = match col::<String>(&r, 5, ctx)?.as_str() {
            "D" => "DISABLE",
            "R" => "ENABLE REPLICA",
            "A" => "ENABLE ALWAYS",
            _ => continue,
        };
        let mut s = object(
            nsp,
            "trigger state",
            format!("{state} {name}"),
            Section::PostData,
            format!(
                "ALTER TABLE {} {state} TRIGGER {}",
                qtable(&rel),
                quote_ident(&name)
            ),
        );
        s.table = on_table.then(|| rel.clone());
        s.depends.push(key);
        out.push(s);
    }
    Ok(())
}

/// Rules of the dumped tables and of views (not an extension's: they come
/// with it), and the state of those not simply enabled.
async fn rules(
    client: &Client,
    nsp: &str,
    names: &[String],
    schemas: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the rule catalog";
    for r in client
        .query(
            &format!(
                "SELECT r.oid, r.rulename::text, {rel}, c.relkind::text,
                        pg_get_ruledef(r.oid), r.ev_enabled::text
                   FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
                  WHERE r.rulename <> '_RETURN'
                    AND ({rel} = ANY($1) OR (c.relkind IN ('v', 'm') AND {}))
                    AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                     WHERE d.classid = 'pg_class'::regclass
                                       AND d.objid = c.oid AND d.deptype = 'e')
                  ORDER BY r.oid",
                dumped_sql("c.relnamespace", 2),
                rel = rel_sql("c"),
            ),
            &[&names, &schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let rel: String = col(&r, 2, ctx)?;
        let on_table = matches!(col::<String>(&r, 3, ctx)?.as_str(), "r" | "p");
        let def: String = col(&r, 4, ctx)?;
        let def = def.trim_end().trim_end_matches(';').to_string();
        let mut x = object(nsp, "rule", name.clone(), Section::PostData, def);
        x.table = on_table.then(|| rel.clone());
        let key = x.key();
        reg.object(
            "pg_rewrite",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("RULE {} ON {}", quote_ident(&name), qtable(&rel)),
                comments: true,
                ..Default::default()
            },
        );
        let state = match col::<String>(&r, 5, ctx)?.as_str() {
            "D" => "DISABLE",
            "R" => "ENABLE REPLICA",
            "A" => "ENABLE ALWAYS",
            _ => continue,
        };
        let mut s = object(
            nsp,
            "table option",
            format!("{state} RULE {name}"),
            Section::PostData,
            format!(
                "ALTER TABLE {} {state} RULE {}",
                qtable(&rel),
                quote_ident(&name)
            ),
        );
        s.table = on_table.then(|| rel.clone());
        s.depends.push(key);
        out.push(s);
    }
    Ok(())
}
