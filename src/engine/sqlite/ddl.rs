//! DDL for a restore: CREATE TABLE from the neutral model, indexes added
//! after the data, AUTOINCREMENT counters, views and triggers.

use super::err;
use super::types::{declared_type, labels_check};
use crate::engine::sqltext::{create_problem, default_sql};
use crate::engine::{quote_ident, Constraint, EngineError};
use crate::model::{portable_default, EngineKind, NeutralType, Schema, Table};
use rusqlite::{Connection, OptionalExtension};

/// Run `sql`, which must be exactly one statement: SQLite prepares the
/// first statement of a text, and anything after it is refused, not run.
pub(super) fn exec_one(conn: &Connection, sql: &str, context: &str) -> Result<(), EngineError> {
    let mut stmt = conn.prepare(sql).map_err(|e| err(context, e))?;
    // The text SQLite took for the statement (up to its tail).
    let first = stmt.expanded_sql().unwrap_or_default();
    let rest = sql.get(first.len()..).unwrap_or(sql);
    if !sql.starts_with(&first) || !rest.trim().is_empty() {
        return Err(EngineError::Unsafe(format!(
            "{context}: the statement is followed by more SQL ({:?}); haul runs one statement per object",
            rest.trim().chars().take(60).collect::<String>()
        )));
    }
    stmt.raw_execute().map_err(|e| err(context, e))?;
    Ok(())
}

/// Column names quoted and joined with commas.
fn column_list(v: &[String]) -> String {
    v.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The CREATE TABLE statement for `table` with the `inline` constraints; a
/// table from SQLite keeps its own statement.
pub(super) fn create_sql(table: &Table, inline: &[Constraint], from: EngineKind) -> String {
    if let (EngineKind::Sqlite, Some(ddl)) = (from, &table.native_ddl) {
        return ddl.clone();
    }
    // A single-column integer primary key with automatic values becomes
    // the rowid, AUTOINCREMENT like MySQL's and PostgreSQL's counters.
    let rowid = table
        .primary_key
        .as_ref()
        .filter(|pk| pk.columns.len() == 1)
        .and_then(|pk| table.column(&pk.columns[0]))
        .filter(|c| c.auto_increment.is_some() && matches!(c.ty, NeutralType::Int { .. }))
        .map(|c| c.name.clone());
    let mut defs: Vec<String> = table
        .columns
        .iter()
        .map(|c| {
            let mut s = format!("{} {}", quote_ident(&c.name), declared_type(table, c));
            if rowid.as_ref() == Some(&c.name) {
                s.push_str(" PRIMARY KEY AUTOINCREMENT");
            }
            if !c.nullable {
                s.push_str(" NOT NULL");
            }
            if let Some(d) = c
                .default
                .as_deref()
                .and_then(|d| portable_default(d, &c.ty, from))
            {
                s.push_str(&format!(" DEFAULT {}", default_sql(EngineKind::Sqlite, &d)));
            }
            s.push_str(&labels_check(c));
            s
        })
        .collect();
    for c in inline {
        match c {
            Constraint::PrimaryKey(_) if rowid.is_some() => {}
            Constraint::PrimaryKey(k) => {
                defs.push(format!("PRIMARY KEY ({})", column_list(&k.columns)))
            }
            Constraint::Unique(k) => defs.push(format!(
                "CONSTRAINT {} UNIQUE ({})",
                quote_ident(&k.name),
                column_list(&k.columns)
            )),
            Constraint::ForeignKey(f) => {
                // Actions were checked against the grammar's words when the
                // archive was read (engine/sqltext.rs).
                let mut s = format!(
                    "FOREIGN KEY ({}) REFERENCES {} ({})",
                    column_list(&f.columns),
                    quote_ident(&f.ref_table),
                    column_list(&f.ref_columns)
                );
                if let Some(a) = &f.on_delete {
                    s.push_str(&format!(" ON DELETE {a}"));
                }
                if let Some(a) = &f.on_update {
                    s.push_str(&format!(" ON UPDATE {a}"));
                }
                match f.deferrable {
                    Some(true) => s.push_str(" DEFERRABLE INITIALLY DEFERRED"),
                    Some(false) => s.push_str(" DEFERRABLE INITIALLY IMMEDIATE"),
                    None => {}
                }
                defs.push(s)
            }
            Constraint::Check(_) | Constraint::Index(_) => {}
        }
    }
    format!(
        "CREATE TABLE {} (\n  {}\n)",
        quote_ident(&table.name),
        defs.join(",\n  ")
    )
}

/// The statement adding constraint `c` to an existing table: SQLite can add
/// indexes only.
pub(super) fn add_constraint_sql(
    table: &Table,
    c: &Constraint,
    from: EngineKind,
) -> Result<String, EngineError> {
    match c {
        Constraint::Index(i) => Ok(match (&i.native, from) {
            (Some(n), EngineKind::Sqlite) => n.clone(),
            _ => format!(
                "CREATE {}INDEX {} ON {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                // MySQL's index names are per table, SQLite's per schema.
                quote_ident(&if from == EngineKind::Mysql {
                    format!("{}_{}", table.name, i.name)
                } else {
                    i.name.clone()
                }),
                quote_ident(&table.name),
                column_list(&i.columns)
            ),
        }),
        other => Err(EngineError::Unsupported(format!(
            "table {}: SQLite cannot add the {} {} to an existing table",
            table.name,
            other.kind(),
            other.name()
        ))),
    }
}

/// Raise `table`'s AUTOINCREMENT counter so the next automatic value is at
/// least `next` (nothing when no table has AUTOINCREMENT).
pub(super) fn set_autoincrement(
    conn: &Connection,
    table: &Table,
    next: i64,
) -> Result<(), EngineError> {
    let ctx = format!("table {}: setting its AUTOINCREMENT counter", table.name);
    let exists: bool = conn
        .query_row(
            "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence')",
            [],
            |r| r.get(0),
        )
        .map_err(|e| err(&ctx, e))?;
    if !exists {
        return Ok(());
    }
    let changed = conn
        .execute(
            "UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = ?2",
            rusqlite::params![next - 1, table.name],
        )
        .map_err(|e| err(&ctx, e))?;
    if changed == 0 {
        conn.execute(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?1, ?2)",
            rusqlite::params![table.name, next - 1],
        )
        .map_err(|e| err(&ctx, e))?;
    }
    Ok(())
}

/// Create the views and triggers of a SQLite archive, leaving those the
/// target already has with the same statement.
pub(super) fn create_extras(conn: &Connection, schema: &Schema) -> Result<(), EngineError> {
    for x in &schema.extras {
        // A trigger goes with its table: none for a table this
        // restore leaves out (--tables).
        if x.table
            .as_deref()
            .is_some_and(|t| schema.table(t).is_none())
        {
            continue;
        }
        let ctx = || format!("creating {} {}", x.kind, x.name);
        if let Some(p) = create_problem(&x.kind, &x.ddl) {
            return Err(EngineError::Unsafe(format!("{} {}: {p}", x.kind, x.name)));
        }
        let existing: Option<String> = conn
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = ?1 AND name = ?2",
                [&x.kind, &x.name],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| err(ctx(), e))?;
        match existing {
            // Left by an earlier restore (--clean drops tables, not views).
            Some(sql) if sql == x.ddl => continue,
            Some(_) => {
                return Err(EngineError::Server {
                    context: ctx(),
                    message: format!(
                        "the target already has a different {} named {}",
                        x.kind, x.name
                    ),
                })
            }
            None => exec_one(conn, &x.ddl, &ctx())?,
        }
    }
    Ok(())
}
