//! What the dumped tables hold besides columns and keys: row-level
//! security and policies, extended statistics, column options
//! (`SET STATISTICS`, storage, compression) and table options (replica
//! identity, `CLUSTER ON`, rule states).

use super::conn::{col, server_err};
use super::depend::{Entry, Registry};
use super::objects::{arch_sql, dumped_sql, object, rel_sql};
use super::qtable;
use super::relations::options_sql;
use crate::engine::{quote_ident, EngineError};
use crate::model::{NativeObject, ObjectRef, Section};
use tokio_postgres::Client;

/// Row-level security of the dumped tables (`ENABLE`, `FORCE`) and their
/// policies, with the roles they apply to.
pub(super) async fn policies(
    client: &Client,
    nsp: &str,
    names: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading row-level security";
    for r in client
        .query(
            &format!(
                "SELECT {rel}, c.relrowsecurity, c.relforcerowsecurity FROM pg_class c
                  WHERE {rel} = ANY($1) AND (c.relrowsecurity OR c.relforcerowsecurity)
                  ORDER BY 1",
                rel = rel_sql("c")
            ),
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
                    format!("ALTER TABLE {} {word} ROW LEVEL SECURITY", qtable(&table)),
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
            &format!(
                "SELECT p.oid, p.polname::text, {rel}, p.polcmd::text, p.polpermissive,
                        ARRAY(SELECT CASE WHEN r = 0 THEN 'PUBLIC'
                                          ELSE coalesce((SELECT a.rolname::text FROM pg_roles a WHERE a.oid = r), r::text) END
                                FROM unnest(p.polroles) r),
                        pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid)
                   FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
                  WHERE {rel} = ANY($1)
                  ORDER BY p.oid",
                rel = rel_sql("c")
            ),
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
            qtable(&table)
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
                designation: format!("POLICY {} ON {}", quote_ident(&name), qtable(&table)),
                comments: true,
                ..Default::default()
            },
        );
    }
    Ok(())
}

/// Extended statistics (`CREATE STATISTICS`) of the dumped tables, and
/// their statistics targets.
pub(super) async fn statistics(
    client: &Client,
    nsp: &str,
    names: &[String],
    reg: &mut Registry,
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading the extended statistics catalog";
    for r in client
        .query(
            &format!(
                "SELECT s.oid, {}, {rel}, pg_get_statisticsobjdef(s.oid),
                        NULLIF(to_jsonb(s)->>'stxstattarget', '-1')
                   FROM pg_statistic_ext s JOIN pg_class c ON c.oid = s.stxrelid
                  WHERE {rel} = ANY($1)
                  ORDER BY s.oid",
                arch_sql("s.stxnamespace", "s.stxname"),
                rel = rel_sql("c")
            ),
            &[&names],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 1, ctx)?;
        let table: String = col(&r, 2, ctx)?;
        let q = qtable(&name);
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
            Entry::owned(format!("STATISTICS {q}")),
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
pub(super) async fn column_options(
    client: &Client,
    nsp: &str,
    names: &[String],
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading column options";
    let sql = format!(
        "SELECT {rel}, a.attname::text, NULLIF(a.attstattarget::int, -1),
                CASE WHEN a.attstorage <> t.typstorage THEN a.attstorage::text END,
                {}, NULLIF(to_jsonb(a)->>'attcompression', '')
           FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
           JOIN pg_type t ON t.oid = a.atttypid
          WHERE {rel} = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
          ORDER BY 1, a.attnum",
        // The column options PostgreSQL defines.
        options_sql(
            "a.attoptions",
            "split_part(o, '=', 1) IN ('n_distinct', 'n_distinct_inherited')"
        ),
        rel = rel_sql("c")
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
            format!("ALTER TABLE {} {}", qtable(&table), parts.join(", ")),
        );
        x.table = Some(table.clone());
        x.depends.push(ObjectRef::table(Some(nsp), &table));
        out.push(x);
    }
    Ok(())
}

/// Replica identity and `CLUSTER ON` of the dumped tables.
pub(super) async fn table_options(
    client: &Client,
    nsp: &str,
    names: &[String],
    schemas: &[String],
    out: &mut Vec<NativeObject>,
) -> Result<(), EngineError> {
    let ctx = "reading table options";
    for r in client
        .query(
            &format!(
                "SELECT {rel}, c.relreplident::text,
                        (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                          WHERE i.indrelid = c.oid AND i.indisreplident),
                        (SELECT ic.relname::text FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
                          WHERE i.indrelid = c.oid AND i.indisclustered)
                   FROM pg_class c
                  WHERE {rel} = ANY($1) OR (c.relkind = 'm' AND {})
                  ORDER BY 1",
                dumped_sql("c.relnamespace", 2),
                rel = rel_sql("c")
            ),
            &[&names, &schemas],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let table: String = col(&r, 0, ctx)?;
        let is_table = names.contains(&table);
        let t = match is_table {
            true => format!("TABLE {}", qtable(&table)),
            false => format!("MATERIALIZED VIEW {}", qtable(&table)),
        };
        let mut push = |name: &str, ddl: String| {
            let mut x = object(nsp, "table option", name.into(), Section::PostData, ddl);
            x.table = is_table.then(|| table.clone());
            x.depends.push(if is_table {
                ObjectRef::table(Some(nsp), &table)
            } else {
                ObjectRef {
                    kind: "materialized view".into(),
                    // `s.view` is of schema `s`.
                    schema: Some(table.split_once('.').map_or(nsp, |(s, _)| s).to_string()),
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
