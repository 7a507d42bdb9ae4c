//! Catalog reading: the current schema's tables, types and sequences as the
//! neutral schema model, what haul refuses to dump, and the native extras.

use super::conn::{col, server_err};
use super::types::neutral_type;
use crate::engine::{quote_ident, EngineError};
use crate::model::*;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Client;

/// Read the schema of the current schema's ordinary tables.
pub(super) async fn introspect(
    client: &Client,
    filter: &TableFilter,
) -> Result<Schema, EngineError> {
    let ctx = |what: &str| format!("reading the {what} catalog");
    let mut enums: Vec<EnumType> = Vec::new();
    let enum_ctx = ctx("enum");
    for r in client
        .query(
            "SELECT t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
               FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
              WHERE t.typnamespace = current_schema()::regnamespace
              GROUP BY t.typname ORDER BY t.typname",
            &[],
        )
        .await
        .map_err(|e| server_err(&enum_ctx, e))?
    {
        enums.push(EnumType {
            name: col(&r, 0, &enum_ctx)?,
            values: col(&r, 1, &enum_ctx)?,
        });
    }
    let enum_map: HashMap<String, Vec<String>> = enums
        .iter()
        .map(|e| (e.name.clone(), e.values.clone()))
        .collect();

    let table_ctx = ctx("table");
    let rows = client
        .query(
            "SELECT c.oid, c.relname::text, c.reltuples::float8, obj_description(c.oid, 'pg_class')
               FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace
                AND c.relkind = 'r' AND NOT c.relispartition
                AND c.relname NOT IN ('haul_journal', 'haul_journal_chunks')
              ORDER BY c.relname",
            &[],
        )
        .await
        .map_err(|e| server_err(&table_ctx, e))?;
    let mut tables: Vec<(u32, Table)> = Vec::new();
    for r in rows {
        let name: String = col(&r, 1, &table_ctx)?;
        if !filter.wants(&name) {
            continue;
        }
        let tuples: f64 = col(&r, 2, &table_ctx)?;
        tables.push((
            col(&r, 0, &table_ctx)?,
            Table {
                name,
                columns: vec![],
                primary_key: None,
                uniques: vec![],
                indexes: vec![],
                foreign_keys: vec![],
                checks: vec![],
                auto_increment_next: None,
                comment: col(&r, 3, &table_ctx)?,
                native_ddl: None,
                options: vec![],
                estimated_rows: if tuples >= 0.0 {
                    Some(tuples as u64)
                } else {
                    None
                },
            },
        ));
    }
    let oids: Vec<u32> = tables.iter().map(|t| t.0).collect();
    let by_oid: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, o)| (*o, i)).collect();

    let column_ctx = ctx("column");
    let cols = client
        .query(
            "SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
                    a.attgenerated::text, t.typname::text, t.typtype::text, a.atttypmod,
                    col_description(a.attrelid, a.attnum),
                    CASE WHEN a.attcollation <> t.typcollation THEN co.collname::text END,
                    pg_get_serial_sequence(quote_ident(c.relname), a.attname),
                    et.typname::text, et.typtype::text
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               LEFT JOIN pg_collation co ON co.oid = a.attcollation
              WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attrelid, a.attnum",
            &[&oids],
        )
        .await
        .map_err(|e| server_err(&column_ctx, e))?;
    let mut seq_names: Vec<(usize, usize, String)> = Vec::new();
    for r in cols {
        let Some(&ti) = by_oid.get(&col::<u32>(&r, 0, &column_ctx)?) else {
            continue;
        };
        let typname: String = col(&r, 7, &column_ctx)?;
        let typtype: String = col(&r, 8, &column_ctx)?;
        let typmod: i32 = col(&r, 9, &column_ctx)?;
        let elem: Option<String> = col(&r, 13, &column_ctx)?;
        let ty = match &elem {
            Some(e) => {
                // Set whenever the element's name is (the same join).
                let etype: String = col(&r, 14, &column_ctx)?;
                NeutralType::Array {
                    element: Box::new(neutral_type(e, &etype, typmod, enum_map.get(e))),
                }
            }
            None => neutral_type(&typname, &typtype, typmod, enum_map.get(&typname)),
        };
        let identity: String = col(&r, 5, &column_ctx)?;
        let generated: String = col(&r, 6, &column_ctx)?;
        let default: Option<String> = col(&r, 4, &column_ctx)?;
        let serial_seq: Option<String> = col(&r, 12, &column_ctx)?;
        let is_serial_default = default
            .as_deref()
            .is_some_and(|d| d.starts_with("nextval("));
        let auto_increment = if !identity.is_empty() || (serial_seq.is_some() && is_serial_default)
        {
            Some(AutoIncrement {
                sequence: None,
                identity: match identity.as_str() {
                    "a" => Some("always".into()),
                    "d" => Some("by default".into()),
                    _ => None,
                },
            })
        } else {
            None
        };
        let column = Column {
            name: col(&r, 1, &column_ctx)?,
            ty,
            native_type: col(&r, 2, &column_ctx)?,
            nullable: !col::<bool>(&r, 3, &column_ctx)?,
            default: if generated.is_empty() {
                default.clone()
            } else {
                None
            },
            auto_increment,
            generated: if generated == "s" {
                Some(Generated {
                    expression: default.unwrap_or_default(),
                    stored: true,
                })
            } else {
                None
            },
            collation: col(&r, 11, &column_ctx)?,
            comment: col(&r, 10, &column_ctx)?,
            on_update_now: false,
        };
        let t = &mut tables[ti].1;
        if let (Some(seq), Some(_)) = (serial_seq, &column.auto_increment) {
            seq_names.push((ti, t.columns.len(), seq));
        }
        t.columns.push(column);
    }

    // Sequence definitions and positions.
    let mut owned: HashSet<String> = Default::default();
    for (ti, ci, seq) in seq_names {
        let seq_ctx = format!("reading sequence {seq}");
        let r = client
            .query_one(
                "SELECT format('AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s',
                               format_type(s.seqtypid, NULL), s.seqincrement, s.seqmin, s.seqmax,
                               s.seqstart, s.seqcache, CASE WHEN s.seqcycle THEN 'CYCLE' ELSE 'NO CYCLE' END),
                        ps.last_value, ps.last_value IS NOT NULL
                   FROM pg_sequence s JOIN pg_sequences ps
                     ON ps.schemaname = current_schema() AND s.seqrelid = format('%I.%I', ps.schemaname, ps.sequencename)::regclass
                  WHERE s.seqrelid = $1::text::regclass",
                &[&seq],
            )
            .await
            .map_err(|e| server_err(&seq_ctx, e))?;
        owned.insert(seq.clone());
        let name = seq
            .rsplit_once('.')
            .map(|(_, n)| n.trim_matches('"').to_string())
            .unwrap_or(seq);
        if let Some(ai) = tables[ti].1.columns[ci].auto_increment.as_mut() {
            ai.sequence = Some(Sequence {
                name,
                options: col(&r, 0, &seq_ctx)?,
                last_value: col(&r, 1, &seq_ctx)?,
                is_called: col(&r, 2, &seq_ctx)?,
            });
        }
    }

    let constraint_ctx = ctx("constraint");
    let cons = client
        .query(
            "SELECT con.conrelid, con.conname::text, con.contype::text, pg_get_constraintdef(con.oid),
                    ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
                    fc.relname::text,
                    ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                            JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o),
                    con.confdeltype::text, con.confupdtype::text
               FROM pg_constraint con
               LEFT JOIN pg_class fc ON fc.oid = con.confrelid
              WHERE con.conrelid = ANY($1) AND con.contype IN ('p', 'u', 'f', 'c', 'x')
              ORDER BY con.conrelid, con.conname",
            &[&oids],
        )
        .await
        .map_err(|e| server_err(&constraint_ctx, e))?;
    for r in cons {
        let Some(&ti) = by_oid.get(&col::<u32>(&r, 0, &constraint_ctx)?) else {
            continue;
        };
        let t = &mut tables[ti].1;
        let name: String = col(&r, 1, &constraint_ctx)?;
        let kind: String = col(&r, 2, &constraint_ctx)?;
        let def: String = col(&r, 3, &constraint_ctx)?;
        let columns: Vec<String> = col(&r, 4, &constraint_ctx)?;
        let action = |c: &str| -> Option<String> {
            match c {
                "r" => Some("RESTRICT".into()),
                "c" => Some("CASCADE".into()),
                "n" => Some("SET NULL".into()),
                "d" => Some("SET DEFAULT".into()),
                _ => None,
            }
        };
        match kind.as_str() {
            "p" => {
                t.primary_key = Some(Key {
                    name,
                    columns,
                    native: Some(def),
                })
            }
            "u" => t.uniques.push(Key {
                name,
                columns,
                native: Some(def),
            }),
            "f" => t.foreign_keys.push(ForeignKey {
                name,
                columns,
                ref_table: col(&r, 5, &constraint_ctx)?,
                ref_columns: col(&r, 6, &constraint_ctx)?,
                on_delete: action(&col::<String>(&r, 7, &constraint_ctx)?),
                on_update: action(&col::<String>(&r, 8, &constraint_ctx)?),
                deferrable: (def.contains(" DEFERRABLE") && !def.contains("NOT DEFERRABLE"))
                    .then(|| def.contains("INITIALLY DEFERRED")),
                native: Some(def),
            }),
            _ => t.checks.push(Check { name, native: def }),
        }
    }

    let index_ctx = ctx("index");
    let idx = client
        .query(
            "SELECT i.indrelid, ic.relname::text, pg_get_indexdef(i.indexrelid), i.indisunique,
                    ARRAY(SELECT coalesce(a.attname::text, '(expression)')
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                           ORDER BY k.o),
                    pg_get_expr(i.indpred, i.indrelid),
                    (SELECT am.amname::text FROM pg_am am WHERE am.oid = ic.relam)
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                 WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                                   AND c.contype IN ('p', 'u', 'x'))
              ORDER BY i.indrelid, ic.relname",
            &[&oids],
        )
        .await
        .map_err(|e| server_err(&index_ctx, e))?;
    for r in idx {
        let Some(&ti) = by_oid.get(&col::<u32>(&r, 0, &index_ctx)?) else {
            continue;
        };
        tables[ti].1.indexes.push(Index {
            name: col(&r, 1, &index_ctx)?,
            native: Some(col(&r, 2, &index_ctx)?),
            unique: col(&r, 3, &index_ctx)?,
            columns: col(&r, 4, &index_ctx)?,
            predicate: col(&r, 5, &index_ctx)?,
            method: col::<Option<String>>(&r, 6, &index_ctx)?.filter(|m| m != "btree"),
        });
    }

    let sequence_ctx = ctx("sequence");
    let mut sequences = Vec::new();
    for r in client
        .query(
            "SELECT ps.sequencename::text,
                    format('AS %s INCREMENT BY %s MINVALUE %s MAXVALUE %s START WITH %s CACHE %s %s',
                           ps.data_type, ps.increment_by, ps.min_value, ps.max_value, ps.start_value,
                           ps.cache_size, CASE WHEN ps.cycle THEN 'CYCLE' ELSE 'NO CYCLE' END),
                    ps.last_value, ps.last_value IS NOT NULL,
                    format('%I.%I', ps.schemaname, ps.sequencename)
               FROM pg_sequences ps WHERE ps.schemaname = current_schema()
              ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| server_err(&sequence_ctx, e))?
    {
        // Owned sequences are named as pg_get_serial_sequence() names them.
        if owned.contains(&col::<String>(&r, 4, &sequence_ctx)?) {
            continue;
        }
        sequences.push(Sequence {
            name: col(&r, 0, &sequence_ctx)?,
            options: col(&r, 1, &sequence_ctx)?,
            last_value: col(&r, 2, &sequence_ctx)?,
            is_called: col(&r, 3, &sequence_ctx)?,
        });
    }

    let mut missing: Vec<&String> = filter
        .include
        .iter()
        .filter(|n| !tables.iter().any(|(_, t)| &t.name == *n))
        .collect();
    missing.dedup();
    if let Some(m) = missing.first() {
        return Err(EngineError::NoTable {
            target: "the database".into(),
            table: m.to_string(),
        });
    }
    Ok(Schema {
        tables: tables.into_iter().map(|(_, t)| t).collect(),
        enums,
        sequences,
        extras: vec![],
    })
}

/// Refuse what a dump would leave out silently (the rows of partitioned
/// tables, which live in partitions) or what a restore could not re-create
/// (columns of user-defined domain, composite or range types), before any
/// archive is written.
pub(super) async fn refuse_unsupported(
    client: &Client,
    filter: &TableFilter,
) -> Result<(), EngineError> {
    let ctx = |what: &str| format!("reading the {what} catalog");
    let table_ctx = ctx("table");
    for r in client
        .query(
            "SELECT relname::text FROM pg_class
              WHERE relnamespace = current_schema()::regnamespace AND relkind = 'p'
              ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| server_err(&table_ctx, e))?
    {
        let name: String = col(&r, 0, &table_ctx)?;
        if filter.wants(&name) {
            return Err(EngineError::Unsupported(format!(
                "table {name} is partitioned, which haul cannot dump yet; leave it out with --exclude-tables {name}"
            )));
        }
    }
    let column_ctx = ctx("column");
    for r in client
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod),
                    CASE coalesce(et.typtype, t.typtype) WHEN 'd' THEN 'domain' WHEN 'c' THEN 'composite'
                         ELSE 'range' END
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'r'
                AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped
                AND coalesce(et.typtype, t.typtype) IN ('d', 'c', 'r', 'm')
                AND coalesce(et.typnamespace, t.typnamespace)
                    NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
              ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(|e| server_err(&column_ctx, e))?
    {
        let (table, column, ty, kind): (String, String, String, String) = (
            col(&r, 0, &column_ctx)?,
            col(&r, 1, &column_ctx)?,
            col(&r, 2, &column_ctx)?,
            col(&r, 3, &column_ctx)?,
        );
        if filter.wants(&table) {
            return Err(EngineError::Unsupported(format!(
                "table {table}, column {column}: type {ty} is a user-defined {kind} type, which haul cannot restore yet; \
                 leave the table out with --exclude-tables {table}"
            )));
        }
    }
    Ok(())
}

/// Extensions, functions, views and triggers of the current schema, in an
/// order that replays: extensions and functions before the tables, views
/// (by creation order) and triggers of the dumped tables after the data.
pub(super) async fn extras(
    client: &Client,
    schema: &Schema,
) -> Result<Vec<NativeObject>, EngineError> {
    let obj = |kind: &str, name: String, table: Option<String>, ddl: String| NativeObject {
        kind: kind.into(),
        name,
        table,
        ddl,
        ..NativeObject::default()
    };
    let mut out = Vec::new();
    let extension_ctx = "reading the extension catalog";
    for r in client
        .query(
            "SELECT e.extname::text FROM pg_extension e
              WHERE e.extname <> 'plpgsql' ORDER BY e.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(extension_ctx, e))?
    {
        let name: String = col(&r, 0, extension_ctx)?;
        let ddl = format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(&name));
        out.push(obj("extension", name, None, ddl));
    }
    // Functions that belong to an extension come with it.
    let function_ctx = "reading the function catalog";
    for r in client
        .query(
            "SELECT p.proname::text, pg_get_functiondef(p.oid) FROM pg_proc p
              WHERE p.pronamespace = current_schema()::regnamespace AND p.prokind IN ('f', 'p')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e')
              ORDER BY p.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(function_ctx, e))?
    {
        out.push(obj("function", col(&r, 0, function_ctx)?, None, col(&r, 1, function_ctx)?));
    }
    let view_ctx = "reading the view catalog";
    for r in client
        .query(
            "SELECT c.relname::text, c.relkind::text, pg_get_viewdef(c.oid) FROM pg_class c
              WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('v', 'm')
                AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                 WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
              ORDER BY c.oid",
            &[],
        )
        .await
        .map_err(|e| server_err(view_ctx, e))?
    {
        let name: String = col(&r, 0, view_ctx)?;
        let kind: String = col(&r, 1, view_ctx)?;
        let def: String = col(&r, 2, view_ctx)?;
        let def = def.trim_end().trim_end_matches(';');
        let (kind, ddl) = if kind == "m" {
            (
                "materialized view",
                format!("CREATE MATERIALIZED VIEW IF NOT EXISTS {} AS {def} WITH DATA", quote_ident(&name)),
            )
        } else {
            ("view", format!("CREATE OR REPLACE VIEW {} AS {def}", quote_ident(&name)))
        };
        out.push(obj(kind, name, None, ddl));
    }
    let names: Vec<String> = schema.tables.iter().map(|t| t.name.clone()).collect();
    let trigger_ctx = "reading the trigger catalog";
    for r in client
        .query(
            "SELECT t.tgname::text, c.relname::text, pg_get_triggerdef(t.oid) FROM pg_trigger t
               JOIN pg_class c ON c.oid = t.tgrelid
              WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace
                AND c.relname = ANY($1)
              ORDER BY t.oid",
            &[&names],
        )
        .await
        .map_err(|e| server_err(trigger_ctx, e))?
    {
        out.push(obj(
            "trigger",
            col(&r, 0, trigger_ctx)?,
            Some(col(&r, 1, trigger_ctx)?),
            col(&r, 2, trigger_ctx)?,
        ));
    }
    Ok(out)
}
