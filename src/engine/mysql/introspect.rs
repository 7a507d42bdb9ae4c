//! Introspection: the catalog and `SHOW CREATE TABLE` read into the neutral
//! schema model.

use super::conn::{cell, cell_s, number, query_rows};
use super::create::{classify, parse_create, take_ident, DefKind};
use super::extras::extras;
use super::qi;
use super::types::neutral_type;
use crate::engine::sqltext::literal;
use crate::engine::EngineError;
use crate::model::*;
use mysql_async::Conn;
use std::collections::HashMap;

/// A default as an SQL expression.
fn default_expr(
    raw: Option<String>,
    extra: &str,
    ty: &NeutralType,
    mariadb: bool,
) -> Option<String> {
    let raw = raw?;
    if mariadb {
        return if raw == "NULL" { None } else { Some(raw) };
    }
    if extra.to_ascii_uppercase().contains("DEFAULT_GENERATED") {
        let up = raw.to_ascii_uppercase();
        return Some(
            if up.starts_with("CURRENT_TIMESTAMP") || raw.starts_with('(') {
                raw
            } else {
                format!("({raw})")
            },
        );
    }
    Some(match ty {
        NeutralType::Int { .. } | NeutralType::Decimal { .. } | NeutralType::Float { .. } => raw,
        _ => literal(EngineKind::Mysql, &raw),
    })
}

/// Read the schema of the current database's base tables and the objects
/// that go with them; also returns warnings naming what it cannot carry.
pub(super) async fn introspect(
    conn: &mut Conn,
    filter: &TableFilter,
    mariadb: bool,
    target: &str,
) -> Result<(Schema, Vec<String>), EngineError> {
    let trows = query_rows(
        conn,
        "SELECT TABLE_NAME, ENGINE, TABLE_COLLATION, TABLE_COMMENT, TABLE_ROWS
           FROM information_schema.TABLES
          WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE'
            AND TABLE_NAME NOT IN ('haul_journal', 'haul_journal_chunks')
          ORDER BY TABLE_NAME",
        "reading the table catalog",
    )
    .await?;
    let mut tables: Vec<Table> = Vec::new();
    for r in &trows {
        let name = cell_s(r, 0);
        if !filter.wants(&name) {
            continue;
        }
        let mut options = Vec::new();
        if let Some(e) = cell(r, 1) {
            options.push(("engine".to_string(), e));
        }
        if let Some(c) = cell(r, 2) {
            let charset = c.split('_').next().unwrap_or(&c).to_string();
            options.push(("charset".to_string(), charset));
            options.push(("collation".to_string(), c));
        }
        let context = format!("table {name}: reading its catalog entry");
        tables.push(Table {
            name,
            columns: vec![],
            primary_key: None,
            uniques: vec![],
            indexes: vec![],
            foreign_keys: vec![],
            checks: vec![],
            auto_increment_next: None,
            comment: cell(r, 3).filter(|c| !c.is_empty()),
            native_ddl: None,
            options,
            estimated_rows: number(r, 4, "TABLE_ROWS", &context)?,
            inherits: vec![],
        });
    }
    let missing = filter
        .include
        .iter()
        .find(|n| !tables.iter().any(|t| &t.name == *n));
    if let Some(m) = missing {
        return Err(EngineError::NoTable {
            target: target.to_string(),
            table: m.clone(),
        });
    }
    let by_name: HashMap<String, usize> = tables
        .iter()
        .enumerate()
        .map(|(i, t)| (t.name.clone(), i))
        .collect();

    let crows = query_rows(
        conn,
        "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, COLUMN_DEFAULT,
                EXTRA, GENERATION_EXPRESSION, COLLATION_NAME, COLUMN_COMMENT,
                CHARACTER_MAXIMUM_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE
           FROM information_schema.COLUMNS
          WHERE TABLE_SCHEMA = DATABASE()
          ORDER BY TABLE_NAME, ORDINAL_POSITION",
        "reading the column catalog",
    )
    .await?;
    for r in &crows {
        let table = cell_s(r, 0);
        let Some(&ti) = by_name.get(&table) else {
            continue;
        };
        let context = format!(
            "table {table}: reading the catalog entry of column {}",
            cell_s(r, 1)
        );
        let data_type = cell_s(r, 2).to_ascii_lowercase();
        let column_type = cell_s(r, 3);
        let extra = cell_s(r, 6);
        let ty = neutral_type(
            &data_type,
            &column_type,
            number(r, 10, "CHARACTER_MAXIMUM_LENGTH", &context)?,
            number(r, 11, "NUMERIC_PRECISION", &context)?,
            number(r, 12, "NUMERIC_SCALE", &context)?,
            mariadb,
        );
        let gen = cell(r, 7).filter(|g| !g.is_empty());
        let up = extra.to_ascii_uppercase();
        let generated = gen.map(|expression| Generated {
            expression,
            stored: up.contains("STORED") || up.contains("PERSISTENT"),
        });
        let default = if generated.is_some() {
            None
        } else {
            default_expr(cell(r, 5), &extra, &ty, mariadb)
        };
        tables[ti].columns.push(Column {
            name: cell_s(r, 1),
            ty,
            native_type: column_type,
            nullable: cell_s(r, 4) == "YES",
            default,
            auto_increment: if up.contains("AUTO_INCREMENT") {
                Some(AutoIncrement {
                    sequence: None,
                    identity: None,
                })
            } else {
                None
            },
            generated,
            collation: cell(r, 8),
            comment: cell(r, 9).filter(|c| !c.is_empty()),
            on_update_now: up.contains("ON UPDATE"),
            inherited: false,
        });
    }

    for t in tables.iter_mut() {
        read_definition(conn, t).await?;
    }
    let extras = extras(conn, filter, &tables).await?;
    Ok((
        Schema {
            tables,
            extras: extras.objects,
            ..Schema::default()
        },
        extras.warnings,
    ))
}

/// Keys, indexes, foreign keys and the auto-increment counter of `t`, from
/// its `SHOW CREATE TABLE`, which is kept for a same-engine restore.
async fn read_definition(conn: &mut Conn, t: &mut Table) -> Result<(), EngineError> {
    let context = format!("table {}: reading its definition", t.name);
    let fail = |message: String| EngineError::Server {
        context: context.clone(),
        message,
    };
    let rows = query_rows(
        conn,
        &format!("SHOW CREATE TABLE {}", qi(&t.name)),
        &context,
    )
    .await?;
    let ddl = rows
        .first()
        .and_then(|r| cell(r, 1))
        .ok_or_else(|| fail("SHOW CREATE TABLE returned no statement".into()))?;
    let parts = parse_create(&ddl).ok_or_else(|| {
        fail(format!(
            "cannot read the SHOW CREATE TABLE statement: {ddl}"
        ))
    })?;
    // Partitioning is a line of its own after the table options.
    let partitioned = parts.tail.lines().skip(1).find_map(|l| {
        let l = l.trim_start();
        l.strip_prefix("/*!50100 ")
            .unwrap_or(l)
            .strip_prefix("PARTITION BY ")
    });
    if let Some(by) = partitioned {
        let by = by.trim_end().trim_end_matches("*/").trim_end();
        t.options.push(("partitioning".into(), by.to_string()));
    }
    if let Some(n) = parts.tail.find(" AUTO_INCREMENT=") {
        let digits: String = parts.tail[n + 16..]
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        t.auto_increment_next = Some(digits.parse().map_err(|_| {
            fail(format!(
                "AUTO_INCREMENT={digits:?} is not a signed 64-bit counter"
            ))
        })?);
    }
    for d in &parts.defs {
        match classify(d) {
            // MariaDB's JSON is LONGTEXT with a json_valid check.
            DefKind::Column if d.contains("CHECK (json_valid(") => {
                if let Some((name, _)) = take_ident(d) {
                    if let Some(c) = t.columns.iter_mut().find(|c| c.name == name) {
                        if matches!(c.ty, NeutralType::Text { .. }) {
                            c.ty = NeutralType::Json { binary: false };
                        }
                    }
                }
            }
            DefKind::Column => {}
            DefKind::Primary(columns) => {
                t.primary_key = Some(Key {
                    name: "PRIMARY".into(),
                    columns,
                    native: Some(d.clone()),
                })
            }
            DefKind::Unique(name, columns) => t.uniques.push(Key {
                name,
                columns,
                native: Some(d.clone()),
            }),
            DefKind::Index(name, columns, method) => t.indexes.push(Index {
                name,
                columns,
                unique: false,
                native: Some(format!("ALTER TABLE {} ADD {d}", qi(&t.name))),
                predicate: None,
                method,
            }),
            DefKind::Foreign(fk) => t.foreign_keys.push(fk),
            // Check constraints stay in the replayed DDL; the model names
            // them for what does not replay it (another engine, --no-code).
            DefKind::Check(name) => {
                let native = d.find("CHECK").map_or(d.as_str(), |at| &d[at..]);
                t.checks.push(Check {
                    name,
                    native: native.to_string(),
                });
            }
        }
    }
    t.native_ddl = Some(ddl);
    Ok(())
}
