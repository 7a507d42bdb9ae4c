//! Restore DDL: the SQL that creates types, sequences and tables, adds and
//! drops constraints, and the names it gives them.

use super::types::column_def;
use super::{column_list, qtable};
use crate::convert::spatial;
use crate::engine::{quote_ident, quote_literal, Constraint};
use crate::model::{AutoIncrement, Column, EngineKind, Schema, Table};

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

/// The statement that adds `c` to `table`.
pub(super) fn constraint_sql(table: &Table, c: &Constraint, from: EngineKind) -> String {
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
            // MySQL's FULLTEXT: a text-search index over the columns, with
            // the `simple` configuration (MySQL's parser knows no language).
            // MySQL's SPATIAL over columns the plan made PostGIS geometries.
            (_, false) if i.method.as_deref() == Some("gist") => format!(
                "CREATE INDEX {name} ON {t} USING gist ({})",
                cols(&i.columns)
            ),
            (_, false) if i.method.as_deref() == Some("fulltext") => format!(
                "CREATE INDEX {name} ON {t} USING gin (to_tsvector('simple'::regconfig, {}))",
                i.columns
                    .iter()
                    .map(|c| format!("coalesce({}::text, '')", quote_ident(c)))
                    .collect::<Vec<_>>()
                    .join(" || ' ' || ")
            ),
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

/// What in `table` has a name too long for PostgreSQL, one message each.
pub(super) fn long_names(table: &Table) -> Vec<String> {
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

/// Enum types and sequences of a PostgreSQL dump, created before anything
/// else (the other objects come in `Ddl::create_objects`).
pub(super) fn prepare_sql(schema: &Schema) -> Vec<String> {
    let mut sql = Vec::new();
    let enums = schema.enums.iter().map(|e| {
        let labels: Vec<String> = e.values.iter().map(|v| quote_literal(v)).collect();
        format!(
            "DO $haul$ BEGIN CREATE TYPE {} AS ENUM ({}); EXCEPTION WHEN duplicate_object THEN NULL; END $haul$",
            qtable(&e.name),
            labels.join(", ")
        )
    });
    let owned = schema.tables.iter().flat_map(|t| {
        t.columns.iter().filter_map(|c| {
            let ai = c.auto_increment.as_ref()?;
            if ai.identity.is_some() {
                return None;
            }
            ai.sequence.as_ref()
        })
    });
    // The schemas first: sequences and tables may be theirs.
    for x in schema.extras.iter().filter(|x| x.kind == "schema") {
        sql.push(format!(
            "CREATE SCHEMA IF NOT EXISTS {}",
            quote_ident(&x.name)
        ));
    }
    sql.extend(enums);
    for s in owned.chain(schema.sequences.iter()) {
        sql.push(format!(
            "CREATE SEQUENCE IF NOT EXISTS {} {}",
            qtable(&s.name),
            s.options.as_deref().unwrap_or("")
        ));
    }
    for s in &schema.sequences {
        if let Some(v) = s.last_value {
            sql.push(format!(
                "SELECT setval({}, {v}, {})",
                quote_literal(&qtable(&s.name)),
                s.is_called
            ));
        }
    }
    sql
}

/// CREATE TABLE for `table` with the `inline` constraints, and from
/// PostgreSQL its persistence, parents (inherited columns come from them),
/// storage options and sequence ownership; its comments from every engine.
pub(super) fn create_table_sql(
    table: &Table,
    inline: &[Constraint],
    from: EngineKind,
) -> Vec<String> {
    let same = from == EngineKind::Postgres;
    let postgis = spatial::postgis_schema(table).filter(|_| !same);
    let mut defs: Vec<String> = table
        .columns
        .iter()
        .filter(|c| !(same && c.inherited))
        .map(|c| column_def(c, from, postgis))
        .collect();
    for c in inline {
        let sql = constraint_sql(table, c, from);
        if let Some(rest) = sql.split_once(" ADD ").map(|x| x.1) {
            defs.push(rest.to_string());
        }
    }
    let option = |k: &str| {
        table
            .options
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    let mut create = format!(
        "CREATE {}TABLE {} (\n  {}\n)",
        if same && option("persistence") == Some("unlogged") {
            "UNLOGGED "
        } else {
            ""
        },
        qtable(&table.name),
        defs.join(",\n  ")
    );
    match (same, option("partition"), table.inherits.first()) {
        (true, Some(bound), Some(parent)) => {
            // A partition's columns are all its parent's: only its own
            // constraints are written.
            create = format!(
                "CREATE TABLE {} PARTITION OF {}{} {bound}",
                qtable(&table.name),
                qtable(parent),
                if defs.is_empty() {
                    String::new()
                } else {
                    format!(" (\n  {}\n)", defs.join(",\n  "))
                }
            );
        }
        (true, _, Some(_)) => {
            let parents: Vec<String> = table.inherits.iter().map(|p| qtable(p)).collect();
            create.push_str(&format!(" INHERITS ({})", parents.join(", ")));
        }
        _ => {}
    }
    if let (true, Some(key)) = (same, option("partition_by")) {
        create.push_str(&format!(" PARTITION BY {key}"));
    }
    if let (true, Some(with)) = (same, option("with")) {
        create.push_str(&format!(" WITH ({with})"));
    }
    // The plan chose PostGIS where it is installed or may be created.
    let mut sql: Vec<String> = postgis
        .map(|schema| {
            format!(
                "CREATE EXTENSION IF NOT EXISTS postgis SCHEMA {}",
                quote_ident(schema)
            )
        })
        .into_iter()
        .collect();
    sql.push(create);
    if from == EngineKind::Postgres {
        for c in &table.columns {
            if let Some(AutoIncrement {
                sequence: Some(s),
                identity: None,
            }) = &c.auto_increment
            {
                sql.push(format!(
                    "ALTER SEQUENCE {} OWNED BY {}.{}",
                    qtable(&s.name),
                    qtable(&table.name),
                    quote_ident(&c.name)
                ));
            }
        }
    }
    for c in &table.columns {
        if let Some(cm) = &c.comment {
            sql.push(format!(
                "COMMENT ON COLUMN {}.{} IS {}",
                qtable(&table.name),
                quote_ident(&c.name),
                quote_literal(cm)
            ));
        }
    }
    if let Some(cm) = &table.comment {
        sql.push(format!(
            "COMMENT ON TABLE {} IS {}",
            qtable(&table.name),
            quote_literal(cm)
        ));
    }
    if from != EngineKind::Postgres {
        sql.extend(on_update_sql(table));
    }
    sql
}

/// The statement that drops `c` from `table`, if it is there.
pub(super) fn drop_constraint_sql(table: &Table, c: &Constraint) -> String {
    match c {
        Constraint::Index(i) => format!("DROP INDEX IF EXISTS {}", quote_ident(&i.name)),
        other => format!(
            "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
            qtable(&table.name),
            quote_ident(other.name())
        ),
    }
}

/// A query moving the sequence of column `c` past both the column's largest
/// value and `$1` (the source's last value, if known).
pub(super) fn reset_sequence_sql(table: &Table, c: &Column) -> String {
    format!(
        "SELECT setval(s, v, true) FROM (
                   SELECT pg_get_serial_sequence({tl}, {cl}) AS s,
                          GREATEST((SELECT max({ci}) FROM {t})::bigint, $1::bigint) AS v) x
                  WHERE s IS NOT NULL AND v IS NOT NULL AND v >= 1",
        tl = quote_literal(&qtable(&table.name)),
        cl = quote_literal(&c.name),
        ci = quote_ident(&c.name),
        t = qtable(&table.name),
    )
}

/// MySQL's `ON UPDATE CURRENT_TIMESTAMP` as a trigger (what pgloader does):
/// an update that changes the row but leaves the column as it was sets it
/// to the current time. One function and trigger per column; the body is a
/// single-quoted literal, so no name can end it.
pub(super) fn on_update_sql(table: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for c in table.columns.iter().filter(|c| c.on_update_now) {
        let name = on_update_name(&table.name, &c.name);
        let col = quote_ident(&c.name);
        let body = format!(
            "BEGIN IF NEW IS DISTINCT FROM OLD AND NEW.{col} IS NOT DISTINCT FROM OLD.{col} \
             THEN NEW.{col} := current_timestamp; END IF; RETURN NEW; END"
        );
        out.push(format!(
            "CREATE OR REPLACE FUNCTION {}() RETURNS trigger LANGUAGE plpgsql AS {}",
            quote_ident(&name),
            quote_literal(&body)
        ));
        out.push(format!(
            "CREATE TRIGGER {} BEFORE UPDATE ON {} FOR EACH ROW EXECUTE FUNCTION {}()",
            quote_ident(&name),
            qtable(&table.name),
            quote_ident(&name)
        ));
    }
    out
}

/// The trigger functions haul made for `ON UPDATE CURRENT_TIMESTAMP`
/// columns that no trigger uses any more (their table was dropped).
pub(super) async fn orphan_on_update_functions(
    pool: &super::conn::Pool,
) -> Result<Vec<String>, crate::engine::EngineError> {
    let c = pool.get().await?;
    let r = c
        .query(
            "SELECT p.proname::text FROM pg_proc p
              WHERE p.pronamespace = current_schema()::regnamespace
                AND p.proname LIKE 'haul\\_on\\_update\\_%'
                AND p.prorettype = 'trigger'::regtype AND p.pronargs = 0
                AND NOT EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgfoid = p.oid)
              ORDER BY 1",
            &[],
        )
        .await;
    pool.put(c).await;
    let ctx = "looking for haul's ON UPDATE trigger functions left without a table";
    r.map_err(|e| super::conn::server_err(ctx, e))?
        .iter()
        .map(|row| super::conn::col(row, 0, ctx))
        .collect()
}

/// `haul_on_update_TABLE_COLUMN`, cut to PostgreSQL's name length.
pub(super) fn on_update_name(table: &str, column: &str) -> String {
    fit_ident(&format!("haul_on_update_{table}_{column}"))
}
