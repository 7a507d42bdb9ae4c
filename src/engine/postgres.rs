//! PostgreSQL: snapshot dumps through `COPY ... TO STDOUT` on workers joined
//! with `pg_export_snapshot()`, restores through `COPY ... FROM STDIN`.
//!
//! Both directions use COPY's text format; this module converts between it
//! and the archive's CSV convention. Sessions pin `DateStyle`, `TimeZone`,
//! `IntervalStyle`, `extra_float_digits` and `bytea_output` so that values
//! are written and read in one canonical form.

use super::{quote_ident, quote_literal, ChunkMark, Constraint, EngineError, Part, Source, Target};
use crate::archive::codec::{tag, Field};
use crate::archive::SourceInfo;
use crate::conn::ConnSpec;
use crate::pipeline::{ChunkSink, Rows};
use crate::schema::*;
use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use std::collections::HashMap;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};

/// Settings every haul session runs with, so that text forms are canonical.
const SESSION: &str = "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; \
    SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'; \
    SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; \
    SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0;";

/// Settings of restore sessions: commits need not wait for the disk (a
/// failed restore is redone, not recovered), and index builds sort in memory.
const RESTORE_SESSION: &str = "SET synchronous_commit = off; SET maintenance_work_mem = '256MB'";

/// Tables larger than this are read in several page-range parts.
const PART_BYTES: i64 = 256 << 20;

fn server_err(context: impl Into<String>, e: tokio_postgres::Error) -> EngineError {
    EngineError::Driver {
        context: context.into(),
        message: describe(&e),
        source: Box::new(e),
    }
}

/// One line for a driver error: the server's message, detail and hint.
fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(" (");
            s.push_str(d);
            s.push(')');
        }
        if let Some(h) = db.hint() {
            s.push_str("; hint: ");
            s.push_str(h);
        }
        s
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(c) = src {
            let cs = c.to_string();
            if !s.contains(&cs) {
                s.push_str(": ");
                s.push_str(&cs);
            }
            src = c.source();
        }
        s
    }
}

async fn connect(spec: &ConnSpec) -> Result<Client, EngineError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&spec.host)
        .port(spec.port)
        .dbname(&spec.database)
        .application_name("haul")
        .connect_timeout(Duration::from_secs(15));
    let user = spec
        .user
        .clone()
        .or_else(|| std::env::var("PGUSER").ok())
        .or_else(|| std::env::var("USER").ok())
        .unwrap_or_else(|| "postgres".into());
    cfg.user(&user);
    if let Some(p) = &spec.password {
        cfg.password(p);
    }
    let target = spec.to_string();
    let (client, conn) = cfg.connect(NoTls).await.map_err(|e| match e.code() {
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            EngineError::Auth {
                target: target.clone(),
                reason: describe(&e),
            }
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => EngineError::NoDatabase {
            target: target.clone(),
            database: spec.database.clone(),
        },
        Some(_) => server_err(format!("connecting to {target}"), e),
        None => EngineError::Connect {
            target: target.clone(),
            reason: describe(&e),
        },
    })?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
        .batch_execute(SESSION)
        .await
        .map_err(|e| server_err(format!("setting up a session on {target}"), e))?;
    Ok(client)
}

/// `schema.table` quoted, for the current schema.
fn qtable(name: &str) -> String {
    quote_ident(name)
}

fn column_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

// ---------------------------------------------------------------- introspection

fn neutral_type(
    typname: &str,
    typtype: &str,
    typmod: i32,
    enum_values: Option<&Vec<String>>,
) -> NeutralType {
    let len = if typmod >= 4 {
        Some((typmod - 4) as u64)
    } else {
        None
    };
    match typname {
        "bool" => NeutralType::Bool,
        "int2" => NeutralType::Int {
            bytes: 2,
            unsigned: false,
        },
        "int4" => NeutralType::Int {
            bytes: 4,
            unsigned: false,
        },
        "int8" => NeutralType::Int {
            bytes: 8,
            unsigned: false,
        },
        "numeric" => {
            let (p, s) = if typmod >= 4 {
                let t = typmod - 4;
                (Some(((t >> 16) & 0xffff) as u32), Some((t & 0xffff) as u32))
            } else {
                (None, None)
            };
            NeutralType::Decimal {
                precision: p,
                scale: s,
            }
        }
        "float4" => NeutralType::Float { bytes: 4 },
        "float8" => NeutralType::Float { bytes: 8 },
        "text" | "name" | "citext" => NeutralType::Text {
            max_chars: None,
            fixed: false,
        },
        "varchar" => NeutralType::Text {
            max_chars: len,
            fixed: false,
        },
        "bpchar" => NeutralType::Text {
            max_chars: len,
            fixed: true,
        },
        "bytea" => NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        },
        "date" => NeutralType::Date,
        "time" => NeutralType::Time { tz: false },
        "timetz" => NeutralType::Time { tz: true },
        "timestamp" => NeutralType::Timestamp { tz: false },
        "timestamptz" => NeutralType::Timestamp { tz: true },
        "interval" => NeutralType::Interval,
        "uuid" => NeutralType::Uuid,
        "json" => NeutralType::Json { binary: false },
        "jsonb" => NeutralType::Json { binary: true },
        "bit" | "varbit" => NeutralType::Bits {
            length: if typmod > 0 {
                Some(typmod as u32)
            } else {
                None
            },
        },
        _ if typtype == "e" => NeutralType::Enum {
            name: Some(typname.to_string()),
            values: enum_values.cloned().unwrap_or_default(),
        },
        _ => NeutralType::Other,
    }
}

/// Read the schema of the current schema's ordinary tables.
async fn introspect(client: &Client, filter: &TableFilter) -> Result<Schema, EngineError> {
    let ctx = |what: &str| format!("reading the {what} catalog");
    let mut enums: Vec<EnumType> = Vec::new();
    for r in client
        .query(
            "SELECT t.typname::text, array_agg(e.enumlabel::text ORDER BY e.enumsortorder)
               FROM pg_type t JOIN pg_enum e ON e.enumtypid = t.oid
              WHERE t.typnamespace = current_schema()::regnamespace
              GROUP BY t.typname ORDER BY t.typname",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx("enum"), e))?
    {
        enums.push(EnumType {
            name: r.get(0),
            values: r.get(1),
        });
    }
    let enum_map: HashMap<String, Vec<String>> = enums
        .iter()
        .map(|e| (e.name.clone(), e.values.clone()))
        .collect();

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
        .map_err(|e| server_err(ctx("table"), e))?;
    let mut tables: Vec<(u32, Table)> = Vec::new();
    for r in rows {
        let name: String = r.get(1);
        if !filter.wants(&name) {
            continue;
        }
        let tuples: f64 = r.get(2);
        tables.push((
            r.get(0),
            Table {
                name,
                columns: vec![],
                primary_key: None,
                uniques: vec![],
                indexes: vec![],
                foreign_keys: vec![],
                checks: vec![],
                auto_increment_next: None,
                comment: r.get(3),
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
        .map_err(|e| server_err(ctx("column"), e))?;
    let mut seq_names: Vec<(usize, usize, String)> = Vec::new();
    for r in cols {
        let Some(&ti) = by_oid.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let typname: String = r.get(7);
        let typtype: String = r.get(8);
        let typmod: i32 = r.get(9);
        let elem: Option<String> = r.get(13);
        let ty = match &elem {
            Some(e) => {
                let etype: String = r.get::<_, Option<String>>(14).unwrap_or_default();
                NeutralType::Array {
                    element: Box::new(neutral_type(e, &etype, typmod, enum_map.get(e))),
                }
            }
            None => neutral_type(&typname, &typtype, typmod, enum_map.get(&typname)),
        };
        let identity: String = r.get(5);
        let generated: String = r.get(6);
        let default: Option<String> = r.get(4);
        let serial_seq: Option<String> = r.get(12);
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
        let col = Column {
            name: r.get(1),
            ty,
            native_type: r.get(2),
            nullable: !r.get::<_, bool>(3),
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
            collation: r.get(11),
            comment: r.get(10),
        };
        let t = &mut tables[ti].1;
        if let (Some(seq), Some(_)) = (serial_seq, &col.auto_increment) {
            seq_names.push((ti, t.columns.len(), seq));
        }
        t.columns.push(col);
    }

    // Sequence definitions and positions.
    let mut owned: std::collections::HashSet<String> = Default::default();
    for (ti, ci, seq) in seq_names {
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
            .map_err(|e| server_err(format!("reading sequence {seq}"), e))?;
        owned.insert(seq.clone());
        let name = seq
            .rsplit_once('.')
            .map(|(_, n)| n.trim_matches('"').to_string())
            .unwrap_or(seq);
        if let Some(ai) = tables[ti].1.columns[ci].auto_increment.as_mut() {
            ai.sequence = Some(Sequence {
                name,
                options: r.get(0),
                last_value: r.get(1),
                is_called: r.get(2),
            });
        }
    }

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
        .map_err(|e| server_err(ctx("constraint"), e))?;
    for r in cons {
        let Some(&ti) = by_oid.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        let t = &mut tables[ti].1;
        let name: String = r.get(1);
        let kind: String = r.get(2);
        let def: String = r.get(3);
        let columns: Vec<String> = r.get(4);
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
                ref_table: r.get::<_, Option<String>>(5).unwrap_or_default(),
                ref_columns: r.get(6),
                on_delete: action(&r.get::<_, String>(7)),
                on_update: action(&r.get::<_, String>(8)),
                native: Some(def),
            }),
            _ => t.checks.push(Check { name, native: def }),
        }
    }

    let idx = client
        .query(
            "SELECT i.indrelid, ic.relname::text, pg_get_indexdef(i.indexrelid), i.indisunique,
                    ARRAY(SELECT coalesce(a.attname::text, '(expression)')
                            FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o)
                            LEFT JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n
                           ORDER BY k.o)
               FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid
              WHERE i.indrelid = ANY($1)
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                                 WHERE c.conindid = i.indexrelid AND c.conrelid = i.indrelid
                                   AND c.contype IN ('p', 'u', 'x'))
              ORDER BY i.indrelid, ic.relname",
            &[&oids],
        )
        .await
        .map_err(|e| server_err(ctx("index"), e))?;
    for r in idx {
        let Some(&ti) = by_oid.get(&r.get::<_, u32>(0)) else {
            continue;
        };
        tables[ti].1.indexes.push(Index {
            name: r.get(1),
            native: Some(r.get(2)),
            unique: r.get(3),
            columns: r.get(4),
        });
    }

    let sequences = client
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
        .map_err(|e| server_err(ctx("sequence"), e))?
        .into_iter()
        // Owned sequences are named as pg_get_serial_sequence() names them.
        .filter(|r| !owned.contains(&r.get::<_, String>(4)))
        .map(|r| Sequence {
            name: r.get(0),
            options: r.get(1),
            last_value: r.get(2),
            is_called: r.get(3),
        })
        .collect();

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
async fn refuse_unsupported(client: &Client, filter: &TableFilter) -> Result<(), EngineError> {
    let ctx = |what: &str| format!("reading the {what} catalog");
    for r in client
        .query(
            "SELECT relname::text FROM pg_class
              WHERE relnamespace = current_schema()::regnamespace AND relkind = 'p'
              ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| server_err(ctx("table"), e))?
    {
        let name: String = r.get(0);
        if filter.wants(&name) {
            return Err(EngineError::Unsupported(format!(
                "table {name} is partitioned, which haul cannot dump yet; leave it out with --exclude-tables {name}"
            )));
        }
    }
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
        .map_err(|e| server_err(ctx("column"), e))?
    {
        let (table, column, ty, kind): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
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
async fn extras(client: &Client, schema: &Schema) -> Result<Vec<NativeObject>, EngineError> {
    let obj = |kind: &str, name: String, table: Option<String>, ddl: String| NativeObject {
        kind: kind.into(),
        name,
        table,
        ddl,
    };
    let mut out = Vec::new();
    for r in client
        .query(
            "SELECT e.extname::text FROM pg_extension e
              WHERE e.extname <> 'plpgsql' ORDER BY e.oid",
            &[],
        )
        .await
        .map_err(|e| server_err("reading the extension catalog", e))?
    {
        let name: String = r.get(0);
        let ddl = format!("CREATE EXTENSION IF NOT EXISTS {}", quote_ident(&name));
        out.push(obj("extension", name, None, ddl));
    }
    // Functions that belong to an extension come with it.
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
        .map_err(|e| server_err("reading the function catalog", e))?
    {
        out.push(obj("function", r.get(0), None, r.get(1)));
    }
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
        .map_err(|e| server_err("reading the view catalog", e))?
    {
        let name: String = r.get(0);
        let kind: String = r.get(1);
        let def: String = r.get(2);
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
        .map_err(|e| server_err("reading the trigger catalog", e))?
    {
        out.push(obj("trigger", r.get(0), Some(r.get(1)), r.get(2)));
    }
    Ok(out)
}

// ---------------------------------------------------------------- source

/// A PostgreSQL snapshot: one coordinator transaction whose snapshot the
/// workers import.
pub struct PgSource {
    info: SourceInfo,
    coordinator: Client,
    workers: Mutex<Vec<Client>>,
    snapshot: String,
    target: String,
}

impl PgSource {
    pub async fn open(spec: &ConnSpec, jobs: usize) -> Result<Self, EngineError> {
        let target = spec.to_string();
        let coordinator = connect(spec).await?;
        coordinator
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .await
            .map_err(|e| server_err(format!("starting the snapshot on {target}"), e))?;
        let snapshot: String = coordinator
            .query_one("SELECT pg_export_snapshot()", &[])
            .await
            .map_err(|e| server_err(format!("exporting the snapshot on {target}"), e))?
            .get(0);
        let version: String = coordinator
            .query_one("SHOW server_version", &[])
            .await
            .map_err(|e| server_err("reading the server version", e))?
            .get(0);
        let mut futs = Vec::new();
        for _ in 0..jobs.max(1) {
            futs.push(async {
                let c = connect(spec).await?;
                c.batch_execute(&format!(
                    "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; SET TRANSACTION SNAPSHOT {}",
                    quote_literal(&snapshot)
                ))
                .await
                .map_err(|e| server_err(format!("joining the snapshot on {target}"), e))?;
                Ok::<_, EngineError>(c)
            });
        }
        let workers = futures_util::future::try_join_all(futs).await?;
        Ok(PgSource {
            info: SourceInfo {
                engine: EngineKind::Postgres,
                server_version: version,
                database: spec.database.clone(),
            },
            coordinator,
            workers: Mutex::new(workers),
            snapshot,
            target,
        })
    }
}

#[async_trait]
impl Source for PgSource {
    fn info(&self) -> &SourceInfo {
        &self.info
    }

    fn snapshot_method(&self) -> String {
        format!(
            "postgres repeatable read, read only; workers joined with pg_export_snapshot ({})",
            self.snapshot
        )
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let mut schema = introspect(&self.coordinator, filter)
            .await
            .map_err(|e| match e {
                EngineError::NoTable { table, .. } => EngineError::NoTable {
                    target: self.target.clone(),
                    table,
                },
                e => e,
            })?;
        refuse_unsupported(&self.coordinator, filter).await?;
        if !schema.tables.is_empty() {
            // Keep the tables from being dropped or altered under the dump.
            let names: Vec<String> = schema.tables.iter().map(|t| qtable(&t.name)).collect();
            self.coordinator
                .batch_execute(&format!(
                    "LOCK TABLE {} IN ACCESS SHARE MODE",
                    names.join(", ")
                ))
                .await
                .map_err(|e| server_err("locking the tables to dump", e))?;
        }
        schema.tables.sort_by(|a, b| a.name.cmp(&b.name));
        schema.extras = extras(&self.coordinator, &schema).await?;
        Ok(schema)
    }

    async fn parts(&self, table: &Table, jobs: usize) -> Result<Vec<Part>, EngineError> {
        let whole = vec![Part { filter: None }];
        if jobs <= 1 {
            return Ok(whole);
        }
        let r = self
            .coordinator
            .query_one(
                "SELECT pg_relation_size($1::text::regclass),
                        current_setting('block_size')::bigint",
                &[&qtable(&table.name)],
            )
            .await
            .map_err(|e| server_err(format!("table {}: reading its size", table.name), e))?;
        let size: i64 = r.get(0);
        let block: i64 = r.get(1);
        if size < 2 * PART_BYTES {
            return Ok(whole);
        }
        let pages = size / block.max(1);
        let n = (size / PART_BYTES).clamp(2, 64);
        let step = (pages + n - 1) / n;
        Ok((0..n)
            .map(|i| {
                let lo = i * step;
                let hi = lo + step;
                let filter = if i == n - 1 {
                    format!("ctid >= '({lo},0)'::tid")
                } else {
                    format!("ctid >= '({lo},0)'::tid AND ctid < '({hi},0)'::tid")
                };
                Part {
                    filter: Some(filter),
                }
            })
            .collect())
    }

    async fn read(
        &self,
        table: &Table,
        part: &Part,
        sink: &mut ChunkSink,
    ) -> Result<(), EngineError> {
        let cols: Vec<&Column> = table.data_columns().collect();
        if cols.is_empty() {
            return Ok(());
        }
        let names: Vec<String> = cols.iter().map(|c| c.name.clone()).collect();
        let sql = match &part.filter {
            None => format!(
                "COPY {} ({}) TO STDOUT",
                qtable(&table.name),
                column_list(&names)
            ),
            Some(f) => format!(
                "COPY (SELECT {} FROM {} WHERE {f}) TO STDOUT",
                column_list(&names),
                qtable(&table.name)
            ),
        };
        let client =
            self.workers.lock().await.pop().ok_or_else(|| {
                EngineError::Unsupported("more readers than snapshot workers".into())
            })?;
        let result = async {
            let ctx = || format!("table {}: reading rows", table.name);
            let stream = client
                .copy_out(&sql)
                .await
                .map_err(|e| server_err(ctx(), e))?;
            futures_util::pin_mut!(stream);
            let binary: Vec<bool> = cols.iter().map(|c| c.ty.is_binary()).collect();
            let mut parser = CopyTextParser::new(binary);
            while let Some(data) = stream.next().await {
                let data = data.map_err(|e| server_err(ctx(), e))?;
                parser.feed(&data, sink).map_err(|m| match m {
                    ParseError::Sink(s) => EngineError::SinkClosed(s),
                    ParseError::Shape(message) => EngineError::Server {
                        context: ctx(),
                        message,
                    },
                })?;
            }
            Ok(())
        }
        .await;
        self.workers.lock().await.push(client);
        result
    }

    async fn close(&self) -> Result<(), EngineError> {
        for w in self.workers.lock().await.iter() {
            let _ = w.batch_execute("COMMIT").await;
        }
        self.coordinator
            .batch_execute("COMMIT")
            .await
            .map_err(|e| server_err("ending the snapshot", e))
    }
}

enum ParseError {
    Sink(crate::pipeline::SinkClosed),
    Shape(String),
}

/// Streaming parser for COPY text format, writing fields into a sink.
struct CopyTextParser {
    binary: Vec<bool>,
    cur: Vec<u8>,
    col: usize,
    null: bool,
    escape: bool,
}

impl CopyTextParser {
    fn new(binary: Vec<bool>) -> Self {
        CopyTextParser {
            binary,
            cur: Vec::with_capacity(256),
            col: 0,
            null: false,
            escape: false,
        }
    }

    #[inline]
    fn end_field(&mut self, sink: &mut ChunkSink) -> Result<(), ParseError> {
        if self.col >= self.binary.len() {
            return Err(ParseError::Shape(format!(
                "COPY returned more than {} fields",
                self.binary.len()
            )));
        }
        if self.null {
            sink.null();
        } else if self.binary[self.col] {
            sink.hex(self.cur.strip_prefix(b"\\x").unwrap_or(&self.cur));
        } else {
            sink.text(&self.cur);
        }
        self.cur.clear();
        self.null = false;
        self.col += 1;
        Ok(())
    }

    fn feed(&mut self, mut data: &[u8], sink: &mut ChunkSink) -> Result<(), ParseError> {
        while !data.is_empty() {
            if self.escape {
                self.escape = false;
                let c = data[0];
                data = &data[1..];
                match c {
                    b'N' => self.null = true,
                    b'n' => self.cur.push(b'\n'),
                    b'r' => self.cur.push(b'\r'),
                    b't' => self.cur.push(b'\t'),
                    b'b' => self.cur.push(8),
                    b'f' => self.cur.push(12),
                    b'v' => self.cur.push(11),
                    other => self.cur.push(other),
                }
                continue;
            }
            match memchr::memchr3(b'\t', b'\n', b'\\', data) {
                None => {
                    self.cur.extend_from_slice(data);
                    return Ok(());
                }
                Some(i) => {
                    self.cur.extend_from_slice(&data[..i]);
                    let c = data[i];
                    data = &data[i + 1..];
                    match c {
                        b'\t' => self.end_field(sink)?,
                        b'\n' => {
                            self.end_field(sink)?;
                            if self.col != self.binary.len() {
                                return Err(ParseError::Shape(format!(
                                    "COPY returned {} fields, expected {}",
                                    self.col,
                                    self.binary.len()
                                )));
                            }
                            self.col = 0;
                            sink.end_row().map_err(ParseError::Sink)?;
                        }
                        _ => self.escape = true,
                    }
                }
            }
        }
        Ok(())
    }
}

// ---------------------------------------------------------------- target

/// A PostgreSQL restore target with a small pool of sessions.
pub struct PgTarget {
    spec: ConnSpec,
    pool: Mutex<Vec<Client>>,
}

/// Whether an archive chunk reads the same in COPY's CSV mode (with `\N` as
/// NULL) as in haul's format: no field starts with a backslash other than a
/// whole `\N`. Conservative: any doubt sends it the slow way.
fn plain_csv(csv: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', csv).all(|p| {
        let prev = if p == 0 { b'\n' } else { csv[p - 1] };
        match prev {
            b'"' => false,
            b',' | b'\n' => {
                csv.get(p + 1) == Some(&b'N')
                    && matches!(csv.get(p + 2), None | Some(b',') | Some(b'\n'))
            }
            _ => true,
        }
    })
}

/// Append `v` to a COPY text buffer, escaped.
#[inline]
fn push_copy_text(out: &mut Vec<u8>, mut v: &[u8]) {
    while let Some(i) = memchr::memchr3(b'\\', b'\t', b'\n', v).or_else(|| memchr::memchr(b'\r', v))
    {
        // memchr3 may miss an earlier '\r'; take the first special byte.
        let j = memchr::memchr(b'\r', &v[..i]).unwrap_or(i);
        out.extend_from_slice(&v[..j]);
        out.extend_from_slice(match v[j] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        v = &v[j + 1..];
    }
    out.extend_from_slice(v);
}

impl PgTarget {
    pub async fn open(spec: &ConnSpec, _jobs: usize) -> Result<Self, EngineError> {
        let first = connect(spec).await?;
        first
            .batch_execute(RESTORE_SESSION)
            .await
            .map_err(|e| server_err("setting up the restore session", e))?;
        Ok(PgTarget {
            spec: spec.clone(),
            pool: Mutex::new(vec![first]),
        })
    }

    async fn get(&self) -> Result<Client, EngineError> {
        if let Some(c) = self.pool.lock().await.pop() {
            return Ok(c);
        }
        let c = connect(&self.spec).await?;
        c.batch_execute(RESTORE_SESSION)
            .await
            .map_err(|e| server_err("setting up a restore session", e))?;
        Ok(c)
    }

    async fn put(&self, c: Client) {
        if !c.is_closed() {
            self.pool.lock().await.push(c);
        }
    }

    async fn exec(&self, sql: &str, context: impl Into<String>) -> Result<(), EngineError> {
        let c = self.get().await?;
        let r = c.batch_execute(sql).await;
        self.put(c).await;
        r.map_err(|e| server_err(context, e))
    }
}

/// The PostgreSQL type for a neutral type from another engine.
fn map_type(t: &NeutralType) -> String {
    match t {
        NeutralType::Bool => "boolean".into(),
        NeutralType::Int { bytes, unsigned } => match (bytes, unsigned) {
            (1 | 2, false) => "smallint".into(),
            (1, true) => "smallint".into(),
            (2 | 3, true) | (3 | 4, false) => "integer".into(),
            (4, true) | (8, false) => "bigint".into(),
            _ => "numeric(20)".into(),
        },
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } => format!("numeric({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal { .. } => "numeric".into(),
        NeutralType::Float { bytes: 4 } => "real".into(),
        NeutralType::Float { .. } => "double precision".into(),
        NeutralType::Text {
            max_chars: Some(n),
            fixed,
        } if *n <= 10_485_760 => {
            format!(
                "{}({n})",
                if *fixed {
                    "character"
                } else {
                    "character varying"
                }
            )
        }
        NeutralType::Text { .. } => "text".into(),
        NeutralType::Binary { .. } => "bytea".into(),
        NeutralType::Date => "date".into(),
        NeutralType::Time { tz } => if *tz { "time with time zone" } else { "time" }.into(),
        NeutralType::Timestamp { tz } => if *tz {
            "timestamp with time zone"
        } else {
            "timestamp"
        }
        .into(),
        NeutralType::Interval => "interval".into(),
        NeutralType::Uuid => "uuid".into(),
        NeutralType::Json { binary } => if *binary { "jsonb" } else { "json" }.into(),
        NeutralType::Array { element } => format!("{}[]", map_type(element)),
        NeutralType::Bits { length: Some(n) } => format!("bit varying({n})"),
        NeutralType::Bits { .. } => "bit varying".into(),
        NeutralType::Enum { .. }
        | NeutralType::Set { .. }
        | NeutralType::Any
        | NeutralType::Other => "text".into(),
    }
}

/// A CHECK keeping a text column to the labels of an enum or set from
/// another engine (which has no named type for it here).
fn labels_check(c: &Column) -> Option<String> {
    let labels = |values: &[String]| {
        values
            .iter()
            .map(|v| quote_literal(v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let col = quote_ident(&c.name);
    match &c.ty {
        NeutralType::Enum { name: None, values } if !values.is_empty() => {
            Some(format!(" CHECK ({col} IN ({}))", labels(values)))
        }
        NeutralType::Set { values } if !values.is_empty() => Some(format!(
            " CHECK ({col} = '' OR string_to_array({col}, ',') <@ ARRAY[{}]::text[])",
            labels(values)
        )),
        _ => None,
    }
}

fn column_def(c: &Column, from: EngineKind) -> String {
    let same = from == EngineKind::Postgres;
    let ty = if same {
        c.native_type.clone()
    } else {
        format!("{}{}", map_type(&c.ty), labels_check(c).unwrap_or_default())
    };
    let mut s = format!("{} {ty}", quote_ident(&c.name));
    if let (true, Some(coll)) = (same, &c.collation) {
        s.push_str(&format!(" COLLATE {}", quote_ident(coll)));
    }
    match (&c.generated, &c.auto_increment) {
        (Some(g), _) if same => {
            s.push_str(&format!(" GENERATED ALWAYS AS ({}) STORED", g.expression));
        }
        (_, Some(ai)) if ai.identity.is_some() || !same => {
            let kind = match ai.identity.as_deref() {
                Some("always") => "ALWAYS",
                _ => "BY DEFAULT",
            };
            s.push_str(&format!(" GENERATED {kind} AS IDENTITY"));
            if let (true, Some(opts)) =
                (same, ai.sequence.as_ref().and_then(|q| q.options.as_ref()))
            {
                s.push_str(&format!(
                    " ({})",
                    opts.trim_start_matches("AS ")
                        .split_once(' ')
                        .map(|x| x.1)
                        .unwrap_or("")
                ));
            }
        }
        _ => match (same, &c.default) {
            (true, Some(d)) => s.push_str(&format!(" DEFAULT {d}")),
            (false, Some(d)) => {
                if let Some(d) = portable_default(d, &c.ty, EngineKind::Postgres) {
                    s.push_str(&format!(" DEFAULT {d}"));
                }
            }
            _ => {}
        },
    }
    if !c.nullable {
        s.push_str(" NOT NULL");
    }
    s
}

/// PostgreSQL's identifier limit, in bytes.
const MAX_IDENT: usize = 63;

/// `name` cut to fit [`MAX_IDENT`], with a hash of the whole name so cut
/// names stay distinct.
fn fit_ident(name: &str) -> String {
    if name.len() <= MAX_IDENT {
        return name.to_string();
    }
    let mut cut = MAX_IDENT - 9;
    while !name.is_char_boundary(cut) {
        cut -= 1;
    }
    let hash = blake3::hash(name.as_bytes()).to_hex();
    format!("{}_{}", &name[..cut], &hash[..8])
}

/// A constraint's name on PostgreSQL. Index and key names are per schema
/// there but per table on MySQL (every primary key is `PRIMARY`), so keys
/// and indexes from MySQL are prefixed with their table; primary keys from
/// other engines are `TABLE_pkey`.
fn constraint_name(table: &Table, c: &Constraint, from: EngineKind) -> String {
    match (c, from) {
        (_, EngineKind::Postgres) => c.name().to_string(),
        (Constraint::PrimaryKey(_), _) => fit_ident(&format!("{}_pkey", table.name)),
        (Constraint::Unique(_) | Constraint::Index(_), EngineKind::Mysql) => {
            fit_ident(&format!("{}_{}", table.name, c.name()))
        }
        _ => fit_ident(c.name()),
    }
}

fn constraint_sql(table: &Table, c: &Constraint, from: EngineKind) -> String {
    let t = qtable(&table.name);
    let same = from == EngineKind::Postgres;
    let cols = |v: &[String]| column_list(v);
    let name = quote_ident(&constraint_name(table, c, from));
    match c {
        Constraint::PrimaryKey(k) => format!(
            "ALTER TABLE {t} ADD CONSTRAINT {name} {}",
            match (&k.native, same) {
                (Some(n), true) => n.clone(),
                _ => format!("PRIMARY KEY ({})", cols(&k.columns)),
            }
        ),
        Constraint::Unique(k) => format!(
            "ALTER TABLE {t} ADD CONSTRAINT {name} {}",
            match (&k.native, same) {
                (Some(n), true) => n.clone(),
                _ => format!("UNIQUE ({})", cols(&k.columns)),
            }
        ),
        Constraint::Check(k) => format!("ALTER TABLE {t} ADD CONSTRAINT {name} {}", k.native),
        Constraint::Index(i) => match (&i.native, same) {
            (Some(n), true) => n.clone(),
            _ => format!(
                "CREATE {}INDEX {name} ON {t} ({})",
                if i.unique { "UNIQUE " } else { "" },
                cols(&i.columns)
            ),
        },
        Constraint::ForeignKey(f) => format!(
            "ALTER TABLE {t} ADD CONSTRAINT {name} {}",
            match (&f.native, same) {
                (Some(n), true) => n.clone(),
                _ => {
                    let mut s = format!(
                        "FOREIGN KEY ({}) REFERENCES {} ({})",
                        cols(&f.columns),
                        qtable(&f.ref_table),
                        cols(&f.ref_columns)
                    );
                    if let Some(a) = &f.on_delete {
                        s.push_str(&format!(" ON DELETE {a}"));
                    }
                    if let Some(a) = &f.on_update {
                        s.push_str(&format!(" ON UPDATE {a}"));
                    }
                    s
                }
            }
        ),
    }
}

#[async_trait]
impl Target for PgTarget {
    fn kind(&self) -> EngineKind {
        EngineKind::Postgres
    }

    async fn server_version(&self) -> Result<String, EngineError> {
        let c = self.get().await?;
        let r = c.query_one("SHOW server_version", &[]).await;
        self.put(c).await;
        Ok(r.map_err(|e| server_err("reading the server version", e))?
            .get(0))
    }

    async fn schema(&self, filter: &TableFilter) -> Result<Schema, EngineError> {
        let c = self.get().await?;
        let r = introspect(&c, filter).await;
        self.put(c).await;
        r
    }

    async fn has_rows(&self, table: &str) -> Result<bool, EngineError> {
        let c = self.get().await?;
        let r = c
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", qtable(table)),
                &[],
            )
            .await;
        self.put(c).await;
        Ok(
            r.map_err(|e| server_err(format!("table {table}: counting rows"), e))?
                .get(0),
        )
    }

    fn can_add_later(&self, _c: &Constraint) -> bool {
        true
    }

    fn column_type(&self, _table: &Table, column: &Column) -> Option<String> {
        Some(format!(
            "{}{}",
            map_type(&column.ty),
            labels_check(column).unwrap_or_default()
        ))
    }

    fn refuse_names(&self, table: &Table) -> Vec<String> {
        let long = |what: String, name: &str| {
            format!(
                "{what} {name:?} is {} bytes long; PostgreSQL names are at most {MAX_IDENT} bytes \
                 (it would cut the name silently). Rename it in the source, or restore into another engine",
                name.len()
            )
        };
        let mut v = Vec::new();
        if table.name.len() > MAX_IDENT {
            v.push(long("table".into(), &table.name));
        }
        for c in &table.columns {
            if c.name.len() > MAX_IDENT {
                v.push(long(format!("table {}: column", table.name), &c.name));
            }
        }
        v
    }

    async fn prepare(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        if from != EngineKind::Postgres {
            return Ok(());
        }
        // Function bodies may name tables that do not exist yet.
        let mut sql = String::from("SET check_function_bodies = off;\n");
        for x in schema
            .extras
            .iter()
            .filter(|x| x.kind == "extension" || x.kind == "function")
        {
            sql.push_str(&x.ddl);
            sql.push_str(";\n");
        }
        for e in &schema.enums {
            let labels: Vec<String> = e.values.iter().map(|v| quote_literal(v)).collect();
            sql.push_str(&format!(
                "DO $haul$ BEGIN CREATE TYPE {} AS ENUM ({}); EXCEPTION WHEN duplicate_object THEN NULL; END $haul$;\n",
                quote_ident(&e.name),
                labels.join(", ")
            ));
        }
        let owned = schema.tables.iter().flat_map(|t| {
            t.columns.iter().filter_map(|c| {
                let ai = c.auto_increment.as_ref()?;
                if ai.identity.is_some() {
                    return None;
                }
                ai.sequence.as_ref()
            })
        });
        for s in owned.chain(schema.sequences.iter()) {
            sql.push_str(&format!(
                "CREATE SEQUENCE IF NOT EXISTS {} {};\n",
                quote_ident(&s.name),
                s.options.as_deref().unwrap_or("")
            ));
        }
        for s in &schema.sequences {
            if let Some(v) = s.last_value {
                sql.push_str(&format!(
                    "SELECT setval({}, {v}, {});\n",
                    quote_literal(&quote_ident(&s.name)),
                    s.is_called
                ));
            }
        }
        if sql.is_empty() {
            return Ok(());
        }
        self.exec(&sql, "creating types and sequences").await
    }

    async fn drop_table(&self, table: &str) -> Result<(), EngineError> {
        self.exec(
            &format!("DROP TABLE IF EXISTS {} CASCADE", qtable(table)),
            format!("table {table}: dropping it"),
        )
        .await
    }

    async fn create_table(
        &self,
        table: &Table,
        inline: &[Constraint],
        from: EngineKind,
    ) -> Result<(), EngineError> {
        let mut defs: Vec<String> = table.columns.iter().map(|c| column_def(c, from)).collect();
        for c in inline {
            let sql = constraint_sql(table, c, from);
            if let Some(rest) = sql.split_once(" ADD ").map(|x| x.1) {
                defs.push(rest.to_string());
            }
        }
        let mut sql = format!(
            "CREATE TABLE {} (\n  {}\n);\n",
            qtable(&table.name),
            defs.join(",\n  ")
        );
        if from == EngineKind::Postgres {
            for c in &table.columns {
                if let Some(AutoIncrement {
                    sequence: Some(s),
                    identity: None,
                }) = &c.auto_increment
                {
                    sql.push_str(&format!(
                        "ALTER SEQUENCE {} OWNED BY {}.{};\n",
                        quote_ident(&s.name),
                        qtable(&table.name),
                        quote_ident(&c.name)
                    ));
                }
                if let Some(cm) = &c.comment {
                    sql.push_str(&format!(
                        "COMMENT ON COLUMN {}.{} IS {};\n",
                        qtable(&table.name),
                        quote_ident(&c.name),
                        quote_literal(cm)
                    ));
                }
            }
        }
        if let Some(cm) = &table.comment {
            sql.push_str(&format!(
                "COMMENT ON TABLE {} IS {};\n",
                qtable(&table.name),
                quote_literal(cm)
            ));
        }
        self.exec(&sql, format!("table {}: creating it", table.name))
            .await
    }

    async fn load(
        &self,
        table: &Table,
        columns: &[String],
        rows: &mut dyn Rows,
        label: &str,
        mark: Option<ChunkMark>,
    ) -> Result<u64, EngineError> {
        let binary: Vec<bool> = columns
            .iter()
            .map(|n| table.column(n).is_some_and(|c| c.ty.is_binary()))
            .collect();
        let errs = super::ChunkErrors {
            table: &table.name,
            chunk: label,
        };
        let load_err = |message: String| errs.load(message);
        let codec_err = |source| errs.codec(source);
        // A chunk of plain values goes to COPY's CSV mode as it is, without
        // decoding and re-encoding every field.
        let passthrough = (!binary.iter().any(|b| *b))
            .then(|| rows.raw_csv())
            .flatten()
            .filter(|csv| plain_csv(csv))
            .map(Bytes::copy_from_slice);
        let sql = format!(
            "COPY {} ({}) FROM STDIN{}",
            qtable(&table.name),
            column_list(columns),
            if passthrough.is_some() {
                " WITH (FORMAT csv, NULL '\\N')"
            } else {
                ""
            }
        );
        let client = self.get().await?;
        let result = async {
            if mark.is_some() {
                client
                    .batch_execute("BEGIN")
                    .await
                    .map_err(|e| load_err(describe(&e)))?;
            }
            let sink = client
                .copy_in(&sql)
                .await
                .map_err(|e| load_err(describe(&e)))?;
            futures_util::pin_mut!(sink);
            if let Some(csv) = &passthrough {
                let mut at = 0;
                while at < csv.len() {
                    let end = (at + (1 << 20)).min(csv.len());
                    sink.send(csv.slice(at..end))
                        .await
                        .map_err(|e| load_err(describe(&e)))?;
                    at = end;
                }
            }
            let mut buf: Vec<u8> =
                Vec::with_capacity(if passthrough.is_some() { 0 } else { 1 << 20 });
            let width = rows.width();
            while passthrough.is_none() && rows.next_row().map_err(codec_err)? {
                for i in 0..width {
                    if i > 0 {
                        buf.push(b'\t');
                    }
                    match rows.field(i).map_err(codec_err)? {
                        Field::Null => buf.extend_from_slice(b"\\N"),
                        Field::Value(v) if binary[i] => {
                            buf.extend_from_slice(b"\\\\x");
                            buf.extend_from_slice(v);
                        }
                        Field::Value(v) => push_copy_text(&mut buf, v),
                        Field::Tagged(tag::BLOB, hex) if binary[i] => {
                            buf.extend_from_slice(b"\\\\x");
                            buf.extend_from_slice(hex);
                        }
                        Field::Tagged(tag::BLOB, _) => {
                            return Err(load_err(format!(
                                "row {}, column {}: a binary value in a non-binary column",
                                rows.row_number(),
                                columns[i]
                            )))
                        }
                        Field::Tagged(_, v) => push_copy_text(&mut buf, v),
                    }
                }
                buf.push(b'\n');
                if buf.len() >= 1 << 20 {
                    let full = std::mem::replace(&mut buf, Vec::with_capacity(1 << 20));
                    sink.send(Bytes::from(full))
                        .await
                        .map_err(|e| load_err(describe(&e)))?;
                }
            }
            if !buf.is_empty() {
                sink.send(Bytes::from(buf))
                    .await
                    .map_err(|e| load_err(describe(&e)))?;
            }
            let n = sink
                .as_mut()
                .finish()
                .await
                .map_err(|e| load_err(describe(&e)))?;
            if let Some(m) = mark {
                client
                    .batch_execute(&format!("{}; COMMIT", m.insert_sql(qtable)))
                    .await
                    .map_err(|e| load_err(describe(&e)))?;
            }
            Ok(n)
        }
        .await;
        if result.is_ok() {
            self.put(client).await;
        }
        result
    }

    async fn add_constraint(
        &self,
        table: &Table,
        c: &Constraint,
        from: EngineKind,
    ) -> Result<(), EngineError> {
        self.exec(
            &constraint_sql(table, c, from),
            format!("table {}: adding {} {}", table.name, c.kind(), c.name()),
        )
        .await
    }

    async fn reset_sequences(&self, table: &Table, _from: EngineKind) -> Result<(), EngineError> {
        for c in &table.columns {
            let Some(ai) = &c.auto_increment else {
                continue;
            };
            let source_last = ai
                .sequence
                .as_ref()
                .filter(|s| s.is_called)
                .and_then(|s| s.last_value)
                .or(table.auto_increment_next.map(|n| n - 1));
            let sql = format!(
                "SELECT setval(s, v, true) FROM (
                   SELECT pg_get_serial_sequence({tl}, {cl}) AS s,
                          GREATEST((SELECT max({ci}) FROM {t})::bigint, $1::bigint) AS v) x
                  WHERE s IS NOT NULL AND v IS NOT NULL AND v >= 1",
                tl = quote_literal(&qtable(&table.name)),
                cl = quote_literal(&c.name),
                ci = quote_ident(&c.name),
                t = qtable(&table.name),
            );
            let client = self.get().await?;
            let r = client.query(&sql, &[&source_last]).await;
            self.put(client).await;
            r.map_err(|e| {
                server_err(
                    format!("table {}: resetting the sequence of {}", table.name, c.name),
                    e,
                )
            })?;
        }
        Ok(())
    }

    async fn drop_constraint(&self, table: &Table, c: &Constraint) -> Result<(), EngineError> {
        let sql = match c {
            Constraint::Index(i) => format!("DROP INDEX IF EXISTS {}", quote_ident(&i.name)),
            other => format!(
                "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
                qtable(&table.name),
                quote_ident(other.name())
            ),
        };
        self.exec(
            &sql,
            format!("table {}: dropping {} {}", table.name, c.kind(), c.name()),
        )
        .await
    }

    fn quote(&self, ident: &str) -> String {
        quote_ident(ident)
    }

    fn text_sql(&self, column: &str) -> String {
        format!("{column}::text")
    }

    async fn execute(&self, statements: &[String], context: &str) -> Result<Vec<u64>, EngineError> {
        let c = self.get().await?;
        let r = async {
            c.batch_execute("BEGIN").await?;
            let mut n = Vec::new();
            for s in statements {
                n.push(c.execute(s.as_str(), &[]).await?);
            }
            c.batch_execute("COMMIT").await?;
            Ok(n)
        }
        .await;
        match r {
            Ok(n) => {
                self.put(c).await;
                Ok(n)
            }
            // The connection is dropped, and its transaction with it.
            Err(e) => Err(server_err(context, e)),
        }
    }

    async fn query_text(
        &self,
        sql: &str,
        context: &str,
    ) -> Result<Vec<Vec<Option<String>>>, EngineError> {
        let c = self.get().await?;
        let r = c.simple_query(sql).await;
        self.put(c).await;
        let msgs = r.map_err(|e| server_err(context, e))?;
        Ok(msgs
            .iter()
            .filter_map(|m| match m {
                tokio_postgres::SimpleQueryMessage::Row(r) => {
                    Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                }
                _ => None,
            })
            .collect())
    }

    async fn journal_read(&self) -> Result<Option<String>, EngineError> {
        let c = self.get().await?;
        let r = c
            .query_opt(
                &format!(
                    "SELECT body FROM {} WHERE id = 1 AND to_regclass({}) IS NOT NULL",
                    qtable(super::JOURNAL_TABLE),
                    quote_literal(super::JOURNAL_TABLE)
                ),
                &[],
            )
            .await;
        self.put(c).await;
        match r {
            Ok(row) => Ok(row.map(|r| r.get(0))),
            Err(e) if e.code() == Some(&SqlState::UNDEFINED_TABLE) => Ok(None),
            Err(e) => Err(server_err("reading the restore journal", e)),
        }
    }

    async fn journal_write(&self, body: &str) -> Result<(), EngineError> {
        let c = self.get().await?;
        let t = qtable(super::JOURNAL_TABLE);
        let r = async {
            c.batch_execute(&format!(
                "CREATE TABLE IF NOT EXISTS {t} (id int PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now(), body text NOT NULL);
                 CREATE TABLE IF NOT EXISTS {} (tbl int NOT NULL, chunk int NOT NULL, PRIMARY KEY (tbl, chunk))",
                qtable(super::CHUNKS_TABLE)
            ))
            .await?;
            c.execute(
                &format!(
                    "INSERT INTO {t} (id, body) VALUES (1, $1)
                     ON CONFLICT (id) DO UPDATE SET body = EXCLUDED.body, written_at = now()"
                ),
                &[&body],
            )
            .await
        }
        .await;
        self.put(c).await;
        r.map(|_| ())
            .map_err(|e| server_err("writing the restore journal", e))
    }

    async fn journal_clear(&self) -> Result<(), EngineError> {
        self.exec(
            &format!(
                "DROP TABLE IF EXISTS {}, {}",
                qtable(super::JOURNAL_TABLE),
                qtable(super::CHUNKS_TABLE)
            ),
            "removing the restore journal",
        )
        .await
    }

    async fn finish(&self, schema: &Schema, from: EngineKind) -> Result<(), EngineError> {
        if from == EngineKind::Postgres {
            for x in schema
                .extras
                .iter()
                .filter(|x| x.kind != "extension" && x.kind != "function")
            {
                self.exec(&x.ddl, format!("creating {} {}", x.kind, x.name))
                    .await?;
            }
        }
        // Tables were analyzed one by one as their keys were built.
        Ok(())
    }

    async fn analyze(&self, table: &str) -> Result<(), EngineError> {
        self.exec(
            &format!("ANALYZE {}", qtable(table)),
            format!("table {table}: analyzing it"),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_csv_is_only_what_copy_csv_reads_alike() {
        assert!(plain_csv(b"1,abc,\\N\n2,\"a,b\",x\\y\n"));
        assert!(plain_csv(b"\\N,1\n"));
        assert!(!plain_csv(b"1,\\\\N\n"), "text starting with a backslash");
        assert!(!plain_csv(b"1,\\i:42\n"), "a tagged value");
        assert!(
            !plain_csv(b"1,\"\\x\"\n"),
            "a quoted field starting with a backslash"
        );
        assert!(!plain_csv(b"\\.\n"), "the end-of-data marker");
    }

    #[test]
    fn copy_text_escaping() {
        let mut out = Vec::new();
        push_copy_text(&mut out, b"a\\b\tc\nd\re");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re");
        let mut out = Vec::new();
        push_copy_text(&mut out, b"x\ry\\z");
        assert_eq!(out, b"x\\ry\\\\z");
    }

    #[test]
    fn neutral_numeric() {
        let t = neutral_type("numeric", "b", ((10 << 16) | 2) + 4, None);
        assert_eq!(
            t,
            NeutralType::Decimal {
                precision: Some(10),
                scale: Some(2)
            }
        );
    }
}
