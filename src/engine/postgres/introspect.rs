//! Catalog reading: the dumped schemas' tables, the current schema's enum
//! types, sequences, as the neutral schema model, and what haul refuses
//! to dump. The other objects are read in `objects.rs`.
//!
//! Tables of the default schema (the session's current schema) are named
//! as they are; a table of another schema `s` is named `s.table`.

use super::conn::{col, server_err};
use super::objects::{arch_sql, dumped_sql};
use super::types::neutral_type;
use crate::engine::EngineError;
use crate::model::*;
use std::collections::{HashMap, HashSet};
use tokio_postgres::Client;

/// The user schemas a dump covers: the default schema's name (the
/// session's current schema, empty if it has none) and the covered
/// schemas, the default first; not the system schemas nor an extension's.
pub(super) async fn dumped_schemas(
    client: &Client,
    filter: &TableFilter,
) -> Result<(String, Vec<String>), EngineError> {
    let ctx = "reading the schema catalog";
    let mut default = String::new();
    let mut all = Vec::new();
    for r in client
        .query(
            "SELECT n.nspname::text, n.nspname = coalesce(current_schema(), '') FROM pg_namespace n
              WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_namespace'::regclass
                                  AND d.objid = n.oid AND d.deptype = 'e')
              ORDER BY 2 DESC, 1",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let name: String = col(&r, 0, ctx)?;
        if col::<bool>(&r, 1, ctx)? {
            default = name.clone();
        }
        all.push(name);
    }
    if let Some(s) = filter.schemas.iter().find(|s| !all.contains(s)) {
        return Err(EngineError::NoSchema {
            target: "the database".into(),
            schema: s.clone(),
        });
    }
    all.retain(|s| filter.wants_schema(s));
    Ok((default, all))
}

/// How the archive names relation `rel` of schema `nsp`: unqualified in
/// the default schema, `nsp.rel` in another.
pub(super) fn archive_name(default: &str, nsp: &str, rel: &str) -> String {
    if nsp == default {
        rel.to_string()
    } else {
        format!("{nsp}.{rel}")
    }
}

/// Read the ordinary tables of `schemas` (`default` is the current one).
pub(super) async fn introspect(
    client: &Client,
    filter: &TableFilter,
    default: &str,
    schemas: &[String],
) -> Result<Schema, EngineError> {
    let ctx = |what: &str| format!("reading the {what} catalog");
    let mut enums: Vec<EnumType> = Vec::new();
    let enum_ctx = ctx("enum");
    for r in client
        .query(
            &format!(
                "SELECT {name}, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
                   FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
                  WHERE {}
                  GROUP BY t.oid ORDER BY 1",
                dumped_sql("t.typnamespace", 1),
                name = arch_sql("t.typnamespace", "t.typname"),
            ),
            &[&schemas],
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
            "SELECT c.oid, c.relname::text, c.reltuples::float8, obj_description(c.oid, 'pg_class'),
                    c.relpersistence::text,
                    array_to_string(ARRAY(
                        SELECT format('%s=%L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1))
                          FROM unnest(c.reloptions) o
                        UNION ALL
                        SELECT format('toast.%s=%L', split_part(o, '=', 1), substr(o, strpos(o, '=') + 1))
                          FROM pg_class t, unnest(t.reloptions) o WHERE t.oid = c.reltoastrelid), ', '),
                    n.nspname::text,
                    ARRAY(SELECT pn.nspname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                            JOIN pg_namespace pn ON pn.oid = p.relnamespace
                           WHERE i.inhrelid = c.oid ORDER BY i.inhseqno),
                    ARRAY(SELECT p.relname::text FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent
                           WHERE i.inhrelid = c.oid ORDER BY i.inhseqno),
                    CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,
                    CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = ANY($1)
                AND c.relkind IN ('r', 'p')
                AND NOT (n.nspname = $2 AND c.relname IN ('haul_journal', 'haul_journal_chunks'))
                -- An extension's own tables (PostGIS's spatial_ref_sys): it makes them.
                AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass
                                   AND d.objid = c.oid AND d.deptype = 'e')
              ORDER BY n.nspname, c.relname",
            &[&schemas, &default],
        )
        .await
        .map_err(|e| server_err(&table_ctx, e))?;
    let mut tables: Vec<(u32, Table)> = Vec::new();
    for r in rows {
        let nsp: String = col(&r, 6, &table_ctx)?;
        let rel: String = col(&r, 1, &table_ctx)?;
        let name = archive_name(default, &nsp, &rel);
        if !filter.wants(&name) {
            continue;
        }
        if nsp == default && rel.contains('.') {
            return Err(EngineError::Refused(format!(
                "table {rel:?} has a '.' in its name, which haul reads as a schema's; \
                 rename it or leave it out with --exclude-tables {rel}"
            )));
        }
        let parent_nsps: Vec<String> = col(&r, 7, &table_ctx)?;
        let parent_rels: Vec<String> = col(&r, 8, &table_ctx)?;
        let inherits = parent_nsps
            .iter()
            .zip(&parent_rels)
            .map(|(n, p)| archive_name(default, n, p))
            .collect();
        let tuples: f64 = col(&r, 2, &table_ctx)?;
        let mut options = Vec::new();
        if col::<String>(&r, 4, &table_ctx)? == "u" {
            options.push(("persistence".to_string(), "unlogged".to_string()));
        }
        let with: String = col(&r, 5, &table_ctx)?;
        if !with.is_empty() {
            options.push(("with".to_string(), with));
        }
        // A partitioned table holds no rows (its partitions do); a
        // partition is created `PARTITION OF` its parent.
        if let Some(key) = col::<Option<String>>(&r, 9, &table_ctx)? {
            options.push(("partition_by".to_string(), key));
        }
        if let Some(bound) = col::<Option<String>>(&r, 10, &table_ctx)? {
            options.push(("partition".to_string(), bound));
        }
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
                options,
                estimated_rows: if tuples >= 0.0 {
                    Some(tuples as u64)
                } else {
                    None
                },
                inherits,
            },
        ));
    }
    let oids: Vec<u32> = tables.iter().map(|t| t.0).collect();
    let by_oid: HashMap<u32, usize> = oids.iter().enumerate().map(|(i, o)| (*o, i)).collect();

    let domains = domain_bases(client).await?;
    let column_ctx = ctx("column");
    let cols = client
        .query(
            &format!(
                "SELECT a.attrelid, a.attname::text, format_type(a.atttypid, a.atttypmod),
                    a.attnotnull, pg_get_expr(d.adbin, d.adrelid), a.attidentity::text,
                    a.attgenerated::text, t.typname::text, t.typtype::text, a.atttypmod,
                    col_description(a.attrelid, a.attnum),
                    CASE WHEN a.attcollation = t.typcollation THEN NULL
                         WHEN co.collnamespace IN (current_schema()::regnamespace, 'pg_catalog'::regnamespace)
                         THEN co.collname::text
                         ELSE (SELECT chr(34) || replace(z.nspname, chr(34), chr(34) || chr(34)) || chr(34)
                                 FROM pg_namespace z WHERE z.oid = co.collnamespace)
                              || '.' || chr(34) || replace(co.collname, chr(34), chr(34) || chr(34)) || chr(34) END,
                    pg_get_serial_sequence(format('%I.%I', c.relnamespace::regnamespace, c.relname), a.attname),
                    et.typname::text, et.typtype::text, a.attislocal, a.atttypid, coalesce(et.oid, 0),
                    {}, CASE WHEN et.oid IS NOT NULL THEN {} END
               FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
               LEFT JOIN pg_collation co ON co.oid = a.attcollation
              WHERE a.attrelid = ANY($1) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attrelid, a.attnum",
                arch_sql("t.typnamespace", "t.typname"),
                arch_sql("et.typnamespace", "et.typname")
            ),
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
        // Enums are known by the archive's names of their types.
        let type_key: String = col(&r, 18, &column_ctx)?;
        let elem_key: Option<String> = col(&r, 19, &column_ctx)?;
        let base = |b: &DomainBase| b.neutral(&enum_map);
        let ty = match (domains.get(&col::<u32>(&r, 16, &column_ctx)?), &elem) {
            // A domain's values are its base type's.
            (Some(b), _) => base(b),
            (None, Some(e)) => {
                // Set whenever the element's name is (the same join).
                let etype: String = col(&r, 14, &column_ctx)?;
                let element = match domains.get(&col::<u32>(&r, 17, &column_ctx)?) {
                    Some(b) => base(b),
                    None => {
                        neutral_type(e, &etype, typmod, elem_key.and_then(|k| enum_map.get(&k)))
                    }
                };
                NeutralType::Array {
                    element: Box::new(element),
                }
            }
            (None, None) => neutral_type(&typname, &typtype, typmod, enum_map.get(&type_key)),
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
            inherited: !col::<bool>(&r, 15, &column_ctx)?,
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
                        ps.last_value, ps.last_value IS NOT NULL, ps.schemaname::text, ps.sequencename::text
                   FROM pg_sequence s JOIN pg_sequences ps
                     ON s.seqrelid = format('%I.%I', ps.schemaname, ps.sequencename)::regclass
                  WHERE s.seqrelid = $1::text::regclass",
                &[&seq],
            )
            .await
            .map_err(|e| server_err(&seq_ctx, e))?;
        owned.insert(seq.clone());
        let name = archive_name(
            default,
            &col::<String>(&r, 3, &seq_ctx)?,
            &col::<String>(&r, 4, &seq_ctx)?,
        );
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
                    con.confdeltype::text, con.confupdtype::text,
                    (SELECT fn.nspname::text FROM pg_namespace fn WHERE fn.oid = fc.relnamespace)
               FROM pg_constraint con
               LEFT JOIN pg_class fc ON fc.oid = con.confrelid
              WHERE con.conrelid = ANY($1) AND con.contype IN ('p', 'u', 'f', 'c', 'x') AND con.conislocal
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
                ref_table: match col::<Option<String>>(&r, 9, &constraint_ctx)? {
                    Some(n) => archive_name(default, &n, &col::<String>(&r, 5, &constraint_ctx)?),
                    None => col(&r, 5, &constraint_ctx)?,
                },
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
                    (SELECT am.amname::text FROM pg_am am WHERE am.oid = ic.relam),
                    quote_ident(ic.relname)
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = ANY($1) AND NOT ic.relispartition
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
        let name: String = col(&r, 1, &index_ctx)?;
        let native: String = col(&r, 2, &index_ctx)?;
        // A partitioned table's index is created on its partitions too
        // (`ON ONLY` would leave it invalid until each were attached).
        let unique: bool = col(&r, 3, &index_ctx)?;
        let only = format!(
            "CREATE {}INDEX {} ON ONLY ",
            if unique { "UNIQUE " } else { "" },
            col::<String>(&r, 7, &index_ctx)?
        );
        let native = match native.strip_prefix(&only) {
            Some(rest) => format!("{} ON {rest}", &only[..only.len() - " ON ONLY ".len()]),
            None => native,
        };
        tables[ti].1.indexes.push(Index {
            name,
            native: Some(native),
            unique,
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
                    format('%I.%I', ps.schemaname, ps.sequencename), ps.schemaname::text
               FROM pg_sequences ps WHERE ps.schemaname = ANY($1)
              ORDER BY ps.schemaname, 1",
            &[&schemas],
        )
        .await
        .map_err(|e| server_err(&sequence_ctx, e))?
    {
        // Owned sequences are named as pg_get_serial_sequence() names them.
        if owned.contains(&col::<String>(&r, 4, &sequence_ctx)?) {
            continue;
        }
        sequences.push(Sequence {
            name: archive_name(
                default,
                &col::<String>(&r, 5, &sequence_ctx)?,
                &col::<String>(&r, 0, &sequence_ctx)?,
            ),
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
        ..Default::default()
    })
}

/// One warning per dumped partitioned table some of whose partitions the
/// dump leaves out (`--tables`, `--exclude-tables`, `--schemas`): their
/// rows are not in the archive.
pub(super) async fn partitions_left_out(
    client: &Client,
    default: &str,
    schema: &Schema,
) -> Result<Vec<String>, EngineError> {
    let ctx = "reading the partition catalog";
    let mut left: Vec<(String, Vec<String>)> = Vec::new();
    for r in client
        .query(
            "SELECT pn.nspname::text, p.relname::text, n.nspname::text, c.relname::text
               FROM pg_inherits i
               JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = p.relnamespace
              WHERE p.relkind = 'p'
              ORDER BY 1, 2, 3, 4",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let parent = archive_name(default, &col::<String>(&r, 0, ctx)?, &col::<String>(&r, 1, ctx)?);
        let child = archive_name(default, &col::<String>(&r, 2, ctx)?, &col::<String>(&r, 3, ctx)?);
        if schema.table(&parent).is_none() || schema.table(&child).is_some() {
            continue;
        }
        match left.iter_mut().find(|(p, _)| *p == parent) {
            Some((_, v)) => v.push(child),
            None => left.push((parent, vec![child])),
        }
    }
    Ok(left
        .into_iter()
        .map(|(p, v)| {
            format!(
                "table {p} is partitioned and its partitions {} are left out: their rows are not dumped",
                v.join(", ")
            )
        })
        .collect())
}

/// Refuse what a restore could not re-create (columns of a domain, enum,
/// composite or range type of a schema other than the current one, or of
/// a table's row type), before any archive is written; `default` and `schemas` as [`dumped_schemas`] gives them.
pub(super) async fn refuse_unsupported(
    client: &Client,
    filter: &TableFilter,
    default: &str,
    schemas: &[String],
) -> Result<(), EngineError> {
    let ctx = |what: &str| format!("reading the {what} catalog");
    let column_ctx = ctx("column");
    for r in client
        .query(
            // The dumped tables' columns first, on their own: joined in one
            // go, the planner nests a scan of every table's row type per
            // column (seconds with a thousand tables).
            "WITH cols AS MATERIALIZED (
               SELECT c.relname, a.attname, a.atttypid, a.atttypmod, cn.nspname
                 FROM pg_attribute a
                 JOIN pg_class c ON c.oid = a.attrelid
                 JOIN pg_namespace cn ON cn.oid = c.relnamespace
                WHERE cn.nspname = ANY($1) AND c.relkind IN ('r', 'p')
                  AND NOT c.relispartition AND a.attnum > 0 AND NOT a.attisdropped)
             SELECT a.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod), a.nspname::text,
                    CASE WHEN tc.relkind IS NOT NULL AND tc.relkind <> 'c'
                         THEN 'the row type of ' || tc.relname::text || ', which haul cannot restore yet'
                         ELSE CASE coalesce(et.typtype, t.typtype) WHEN 'd' THEN 'a domain'
                                   WHEN 'c' THEN 'a composite' WHEN 'e' THEN 'an enum' ELSE 'a range' END
                              || ' type of schema ' || n.nspname::text || ', which the dump leaves out' END
               FROM cols a
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_type et ON et.oid = t.typelem AND t.typcategory = 'A'
               JOIN pg_namespace n ON n.oid = coalesce(et.typnamespace, t.typnamespace)
               LEFT JOIN pg_class tc ON tc.oid = coalesce(et.typrelid, t.typrelid)
              WHERE coalesce(et.typtype, t.typtype) IN ('d', 'c', 'e', 'r', 'm')
                AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                AND (n.nspname <> ALL($1) OR (tc.relkind IS NOT NULL AND tc.relkind <> 'c'))
              ORDER BY 4, 1, 2",
            &[&schemas],
        )
        .await
        .map_err(|e| server_err(&column_ctx, e))?
    {
        let (rel, column, ty, nsp, what): (String, String, String, String, String) = (
            col(&r, 0, &column_ctx)?,
            col(&r, 1, &column_ctx)?,
            col(&r, 2, &column_ctx)?,
            col(&r, 3, &column_ctx)?,
            col(&r, 4, &column_ctx)?,
        );
        let table = archive_name(default, &nsp, &rel);
        if filter.wants(&table) {
            return Err(EngineError::Refused(format!(
                "table {table}, column {column}: type {ty} is {what}; \
                 leave the table out with --exclude-tables {table}"
            )));
        }
    }
    Ok(())
}

/// The type under a domain (through domains over domains): what its
/// values are.
struct DomainBase {
    typname: String,
    /// The archive's name of the type (an enum's key).
    key: String,
    typtype: String,
    typmod: i32,
    /// The element type's name and kind, for a domain over an array.
    element: Option<(String, String)>,
}

impl DomainBase {
    fn neutral(&self, enums: &HashMap<String, Vec<String>>) -> NeutralType {
        match &self.element {
            Some((e, t)) => NeutralType::Array {
                element: Box::new(neutral_type(e, t, self.typmod, enums.get(&self.key))),
            },
            None => neutral_type(
                &self.typname,
                &self.typtype,
                self.typmod,
                enums.get(&self.key),
            ),
        }
    }
}

/// Every domain's base type, by the domain's oid.
async fn domain_bases(client: &Client) -> Result<HashMap<u32, DomainBase>, EngineError> {
    let ctx = "reading the domain catalog";
    let mut out = HashMap::new();
    for r in client
        .query(
            &format!(
                "WITH RECURSIVE d AS (
                 SELECT t.oid AS domain, t.typbasetype AS base, t.typtypmod AS typmod
                   FROM pg_type t WHERE t.typtype = 'd'
                 UNION ALL
                 SELECT d.domain, b.typbasetype, CASE WHEN d.typmod <> -1 THEN d.typmod ELSE b.typtypmod END
                   FROM d JOIN pg_type b ON b.oid = d.base WHERE b.typtype = 'd')
             SELECT d.domain, b.typname::text, b.typtype::text, d.typmod, et.typname::text, et.typtype::text,
                    coalesce({}, {})
               FROM d JOIN pg_type b ON b.oid = d.base AND b.typtype <> 'd'
               LEFT JOIN pg_type et ON et.oid = b.typelem AND b.typcategory = 'A'",
                arch_sql("et.typnamespace", "et.typname"),
                arch_sql("b.typnamespace", "b.typname")
            ),
            &[],
        )
        .await
        .map_err(|e| server_err(ctx, e))?
    {
        let element = match col::<Option<String>>(&r, 4, ctx)? {
            Some(e) => Some((e, col::<String>(&r, 5, ctx)?)),
            None => None,
        };
        out.insert(
            col::<u32>(&r, 0, ctx)?,
            DomainBase {
                typname: col(&r, 1, ctx)?,
                key: col(&r, 6, ctx)?,
                typtype: col(&r, 2, ctx)?,
                typmod: col(&r, 3, ctx)?,
                element,
            },
        );
    }
    Ok(out)
}
