//! What belongs to relations: the dumped tables, their sequences,
//! constraints and indexes named for comments, owners and grants; views
//! and materialized views with their indexes; triggers (and their
//! enabled state), rules, policies and row-level security; extended
//! statistics; column options (`SET STATISTICS`, storage, compression);
//! replica identity and `CLUSTER ON`.

use super::conn::{col, server_err};
use super::depend::{Entry, Registry};
use super::objects::{not_member, object};
use crate::engine::{quote_ident, EngineError};
use crate::model::{NativeObject, ObjectRef, Schema, Section};
use tokio_postgres::Client;

/// Register the current schema's tables (dumped or not), sequences, and
/// the dumped tables' constraints and indexes.
pub(super) async fn register_tables(
    client: &Client,
    nsp: &str,
    schema: &Schema,
    reg: &mut Registry,
) -> Result<(), EngineError> {
    let ctx = "reading the table catalog";
    let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    for r in client
        .query(
            "SELECT c.oid, c.relname::text, c.relkind::text,
                    (SELECT t.relname::text FROM pg_depend d JOIN pg_class t ON t.oid = d.refobjid
                      WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                        AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
                        AND d.deptype IN ('a', 'i') LIMIT 1)
               FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p', 'S')
              ORDER BY c.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let oid: u32 = col(&r, 0, ctx)?;
        let name: String = col(&r, 1, ctx)?;
        let q = quote_ident(&name);
        if col::<String>(&r, 2, ctx)? == "S" {
            let owned_by: Option<String> = col(&r, 3, ctx)?;
            reg.add(
                "pg_class",
                oid,
                Entry {
                    key: ObjectRef {
                        kind: "sequence".into(),
                        schema: Some(nsp.to_string()),
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
                key: ObjectRef::table(Some(nsp), &name),
                designation: format!("TABLE {q}"),
                columns_of: dumped.then(|| q.clone()),
                owner: dumped.then(|| format!("TABLE {q}")),
                grant_on: dumped.then(|| format!("TABLE {q}")),
                table: Some(name),
                ..Default::default()
            },
        );
    }
    let ctx = "reading the constraint catalog";
    for r in client
        .query(
            "SELECT con.oid, con.conname::text, c.relname::text FROM pg_constraint con
               JOIN pg_class c ON c.oid = con.conrelid
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)",
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
                    quote_ident(&table)
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
            "SELECT i.indexrelid, ic.relname::text, c.relname::text FROM pg_index i
               JOIN pg_class ic ON ic.oid = i.indexrelid JOIN pg_class c ON c.oid = i.indrelid
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)
                AND c.relkind IN ('r', 'p')
                AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid
                                  AND k.conrelid = i.indrelid AND k.contype IN ('p', 'u', 'x'))",
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
                designation: format!("INDEX {}", quote_ident(&col::<String>(&r, 1, ctx)?)),
                comments: true,
                table: Some(table),
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// The objects of relations, after the data.
pub(super) async fn objects(
    client: &Client,
    nsp: &str,
    schema: &Schema,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    views(client, nsp, reg, out).await?;
    triggers(client, nsp, &names, reg, out).await?;
    rules(client, nsp, &names, reg, out).await?;
    policies(client, nsp, &names, reg, out).await?;
    statistics(client, nsp, &names, reg, out).await?;
    column_options(client, nsp, &names, out).await?;
    table_options(client, nsp, &names, out).await
}

/// SQL: a `reloptions`-style array as `name='value', ...`, with only the
/// options `keep` (SQL, of `o`) says.
fn options_sql(array: &str, keep: &str) -> String {
    format!(
        "array_to_string(ARRAY(SELECT format('%s=%L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1))
                                  FROM unnest({array}) o WHERE {keep}), ', ')"
    )
}

async fn views(
    client: &Client,
    nsp: &str,
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the view catalog";
    let sql = format!(
        "SELECT c.oid, c.relname::text, c.relkind::text, pg_get_viewdef(c.oid), c.relispopulated,
                {}, (SELECT upper(substr(o, 14)) FROM unnest(c.reloptions) o WHERE o LIKE 'check_option=%')
           FROM pg_class c
          WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('v', 'm') AND {}
          ORDER BY c.oid",
        options_sql("c.reloptions", "o NOT LIKE 'check_option=%'"),
        not_member("pg_class", "c.oid")
    );
    for r in client
        .query(&sql, &[])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let oid: u32 = col(&r, 0, ctx)?;
        let name: String = col(&r, 1, ctx)?;
        let q = quote_ident(&name);
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
        let x = object(nsp, kind, name, Section::PostData, ddl);
        reg.object(
            "pg_class",
            oid,
            out,
            x,
            Entry {
                designation: format!("{word} {q}"),
                comments: true,
                columns_of: Some(q.clone()),
                owner: Some(format!("{word} {q}")),
                grant_on: Some(format!("TABLE {q}")),
                ..Default::default()
            },
        );
    }
    let ctx = "reading the indexes of materialized views";
    for r in client
        .query(
            "SELECT i.indexrelid, ic.relname::text, pg_get_indexdef(i.indexrelid)
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
               JOIN pg_class c ON c.oid = i.indrelid
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'm'
              ORDER BY i.indexrelid",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let q = quote_ident(&name);
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
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the trigger catalog";
    for r in client
        .query(
            "SELECT t.oid, t.tgname::text, c.relname::text, c.relkind::text,
                    pg_get_triggerdef(t.oid), t.tgenabled::text
               FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
              WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
                AND (c.relname = ANY($1) OR c.relkind IN ('v', 'm'))
              ORDER BY t.oid",
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let rel: String = col(&r, 2, ctx)?;
        let on_table = matches!(col::<String>(&r, 3, ctx)?.as_str(), "r" | "p");
        let designation = format!("TRIGGER {} ON {}", quote_ident(&name), quote_ident(&rel));
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
                quote_ident(&rel),
                quote_ident(&name)
            ),
        );
        s.table = on_table.then(|| rel.clone());
        s.depends.push(key);
        out.push(s);
    }
    Ok(())
}

/// Rules of the dumped tables and of views, and the state of those not
/// simply enabled.
async fn rules(
    client: &Client,
    nsp: &str,
    names: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the rule catalog";
    for r in client
        .query(
            "SELECT r.oid, r.rulename::text, c.relname::text, c.relkind::text,
                    pg_get_ruledef(r.oid), r.ev_enabled::text
               FROM pg_rewrite r JOIN pg_class c ON c.oid = r.ev_class
              WHERE r.rulename <> '_RETURN' AND c.relnamespace = current_schema()::regnamespace
                AND (c.relname = ANY($1) OR c.relkind IN ('v', 'm'))
              ORDER BY r.oid",
            &[&names],
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
                designation: format!("RULE {} ON {}", quote_ident(&name), quote_ident(&rel)),
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
                quote_ident(&rel),
                quote_ident(&name)
            ),
        );
        s.table = on_table.then(|| rel.clone());
        s.depends.push(key);
        out.push(s);
    }
    Ok(())
}

/// Row-level security of the dumped tables (`ENABLE`, `FORCE`) and their
/// policies, with the roles they apply to.
async fn policies(
    client: &Client,
    nsp: &str,
    names: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading row-level security";
    for r in client
        .query(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)
                AND (c.relrowsecurity OR c.relforcerowsecurity)
              ORDER BY c.relname",
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let table: String = col(&r, 0, ctx)?;
        for (i, what, word) in [(1, "enabled", "ENABLE"), (2, "forced", "FORCE")] {
            if col::<bool>(&r, i, ctx)? {
                let mut x = object(
                    nsp,
                    "row security",
                    what.into(),
                    Section::PostData,
                    format!(
                        "ALTER TABLE {} {word} ROW LEVEL SECURITY",
                        quote_ident(&table)
                    ),
                );
                x.table = Some(table.clone());
                x.depends.push(ObjectRef::table(Some(nsp), &table));
                out.push(x);
            }
        }
    }
    let ctx = "reading the policy catalog";
    for r in client
        .query(
            "SELECT p.oid, p.polname::text, c.relname::text, p.polcmd::text, p.polpermissive,
                    ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC'
                                      ELSE coalesce((SELECT a.rolname::text FROM pg_roles a WHERE a.oid = r), r::text) END
                            FROM unnest(p.polroles) r),
                    pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
               FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)
              ORDER BY p.oid",
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let table: String = col(&r, 2, ctx)?;
        let roles: Vec<String> = col(&r, 5, ctx)?;
        let mut ddl = format!(
            "CREATE POLICY {} ON {}",
            quote_ident(&name),
            quote_ident(&table)
        );
        if !col::<bool>(&r, 4, ctx)? {
            ddl.push_str(" AS RESTRICTIVE");
        }
        ddl.push_str(match col::<String>(&r, 3, ctx)?.as_str() {
            "r" => " FOR SELECT",
            "a" => " FOR INSERT",
            "w" => " FOR UPDATE",
            "d" => " FOR DELETE",
            _ => "",
        });
        let to: Vec<String> = roles
            .iter()
            .map(|r| match r.as_str() {
                "PUBLIC" => "PUBLIC".to_string(),
                r => quote_ident(r),
            })
            .collect();
        ddl.push_str(&format!(" TO {}", to.join(", ")));
        if let Some(q) = col::<Option<String>>(&r, 6, ctx)? {
            ddl.push_str(&format!(" USING ({q})"));
        }
        if let Some(w) = col::<Option<String>>(&r, 7, ctx)? {
            ddl.push_str(&format!(" WITH CHECK ({w})"));
        }
        let mut x = object(nsp, "policy", name.clone(), Section::PostData, ddl);
        x.table = Some(table.clone());
        x.roles = roles.into_iter().filter(|r| r != "PUBLIC").collect();
        reg.object(
            "pg_policy",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("POLICY {} ON {}", quote_ident(&name), quote_ident(&table)),
                comments: true,
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// Extended statistics (`CREATE STATISTICS`) of the dumped tables, and
/// their statistics targets.
async fn statistics(
    client: &Client,
    nsp: &str,
    names: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the extended statistics catalog";
    for r in client
        .query(
            "SELECT s.oid, s.stxname::text, c.relname::text, pg_get_statisticsobjdef(s.oid),
                    NULLIF(to_jsonb(s)->>'stxstattarget', '-1')
               FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid
              WHERE s.stxnamespace = current_schema()::regnamespace AND c.relname = ANY($1)
              ORDER BY s.oid",
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let table: String = col(&r, 2, ctx)?;
        let q = quote_ident(&name);
        let mut x = object(
            nsp,
            "statistics",
            name.clone(),
            Section::PostData,
            col(&r, 3, ctx)?,
        );
        x.table = Some(table.clone());
        let key = x.key();
        reg.object(
            "pg_statistic_ext",
            col(&r, 0, ctx)?,
            out,
            x,
            Entry {
                designation: format!("STATISTICS {q}"),
                comments: true,
                owner: Some(format!("STATISTICS {q}")),
                ..Default::default()
            },
        );
        if let Some(n) = col::<Option<String>>(&r, 4, ctx)? {
            let n: i32 = n.parse().map_err(|_| EngineError::Server {
                context: ctx.into(),
                message: format!("statistics {name}: unreadable statistics target {n:?}"),
            })?;
            let mut t = object(
                nsp,
                "table option",
                format!("STATISTICS {name} target"),
                Section::PostData,
                format!("ALTER STATISTICS {q} SET STATISTICS {n}"),
            );
            t.table = Some(table);
            t.depends.push(key);
            out.push(t);
        }
    }
    Ok(())
}

/// Column settings of the dumped tables that differ from the defaults:
/// statistics target, storage, attribute options, compression.
async fn column_options(
    client: &Client,
    nsp: &str,
    names: &[String],
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading column options";
    let sql = format!(
        "SELECT c.relname::text, a.attname::text, NULLIF(a.attstattarget::int, -1),
                CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
                {}, NULLIF(to_jsonb(a)->>'attcompression', '')
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_type t ON t.oid = a.atttypid
          WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1)
            AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY c.relname, a.attnum",
        // The column options PostgreSQL defines.
        options_sql(
            "a.attoptions",
            "split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')"
        )
    );
    for r in client
        .query(&sql, &[&names])
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let table: String = col(&r, 0, ctx)?;
        let column: String = col(&r, 1, ctx)?;
        let c = quote_ident(&column);
        let mut parts = Vec::new();
        if let Some(n) = col::<Option<i32>>(&r, 2, ctx)? {
            parts.push(format!("ALTER COLUMN {c} SET STATISTICS {n}"));
        }
        if let Some(s) = col::<Option<String>>(&r, 3, ctx)? {
            let storage = match s.as_str() {
                "p" => "PLAIN",
                "e" => "EXTERNAL",
                "m" => "MAIN",
                _ => "EXTENDED",
            };
            parts.push(format!("ALTER COLUMN {c} SET STORAGE {storage}"));
        }
        let opts: String = col(&r, 4, ctx)?;
        if !opts.is_empty() {
            parts.push(format!("ALTER COLUMN {c} SET ({opts})"));
        }
        match col::<Option<String>>(&r, 5, ctx)?.as_deref() {
            Some("p") => parts.push(format!("ALTER COLUMN {c} SET COMPRESSION pglz")),
            Some("l") => parts.push(format!("ALTER COLUMN {c} SET COMPRESSION lz4")),
            _ => {}
        }
        if parts.is_empty() {
            continue;
        }
        let mut x = object(
            nsp,
            "column option",
            column,
            Section::PreData,
            format!("ALTER TABLE {} {}", quote_ident(&table), parts.join(", ")),
        );
        x.table = Some(table.clone());
        x.depends.push(ObjectRef::table(Some(nsp), &table));
        out.push(x);
    }
    Ok(())
}

/// Replica identity and `CLUSTER ON` of the dumped tables.
async fn table_options(
    client: &Client,
    nsp: &str,
    names: &[String],
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading table options";
    for r in client
        .query(
            "SELECT c.relname::text, c.relreplident::text,
                    (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                      WHERE i.indrelid = c.oid AND i.indisreplident),
                    (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                      WHERE i.indrelid = c.oid AND i.indisclustered)
               FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace
                AND (c.relname = ANY($1) OR c.relkind = 'm')
              ORDER BY c.relname",
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let table: String = col(&r, 0, ctx)?;
        let is_table = names.contains(&table);
        let t = match is_table {
            true => format!("TABLE {}", quote_ident(&table)),
            false => format!("MATERIALIZED VIEW {}", quote_ident(&table)),
        };
        let mut push = |name: &str, ddl: String| {
            let mut x = object(nsp, "table option", name.into(), Section::PostData, ddl);
            x.table = is_table.then(|| table.clone());
            x.depends.push(if is_table {
                ObjectRef::table(Some(nsp), &table)
            } else {
                ObjectRef {
                    kind: "materialized view".into(),
                    schema: Some(nsp.to_string()),
                    name: table.clone(),
                    table: None,
                }
            });
            out.push(x);
        };
        match (col::<String>(&r, 1, ctx)?.as_str(), col::<Option<String>>(&r, 2, ctx)?) {
            ("f", _) => push("REPLICA IDENTITY FULL", format!("ALTER {t} REPLICA IDENTITY FULL")),
            ("n", _) => push(
                "REPLICA IDENTITY NOTHING",
                format!("ALTER {t} REPLICA IDENTITY NOTHING"),
            ),
            ("i", Some(i)) => push(
                "REPLICA IDENTITY USING INDEX",
                format!("ALTER {t} REPLICA IDENTITY USING INDEX {}", quote_ident(&i)),
            ),
            _ => {}
        }
        if let Some(i) = col::<Option<String>>(&r, 3, ctx)? {
            push(
                "CLUSTER ON",
                format!("ALTER {t} CLUSTER ON {}", quote_ident(&i)),
            );
        }
    }
    Ok(())
}
