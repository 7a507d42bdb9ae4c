//! DDL a restore runs: `CREATE TABLE` (the source's own or one built from
//! the neutral model) and constraints added or dropped around the data.

use super::create::{classify, parse_create, DefKind};
use super::types::map_type;
use super::{column_list, qi};
use crate::engine::sqltext::{default_sql, literal};
use crate::engine::Constraint;
use crate::model::*;
use std::collections::HashSet;

/// A `CREATE TABLE` for `table`, and the indexes it keeps inline because its
/// auto-increment column needs them. An archive of this engine replays its
/// `SHOW CREATE TABLE` without the unique keys, indexes and foreign keys
/// added after the data; others get one built from the neutral model with
/// the `inline` primary key.
pub(super) fn create_table_sql(
    table: &Table,
    inline: &[Constraint],
    from: EngineKind,
    native_uuid: bool,
) -> (String, Vec<String>) {
    let native = table
        .native_ddl
        .as_deref()
        .filter(|_| from == EngineKind::Mysql)
        .and_then(parse_create);
    let mut kept = Vec::new();
    let sql = if let Some(mut parts) = native {
        parts.defs.retain(|d| match classify(d) {
            DefKind::Unique(name, cols) | DefKind::Index(name, cols, _) => {
                if needs_index(table, &cols) && kept.is_empty() {
                    kept.push(name);
                    true
                } else {
                    false
                }
            }
            DefKind::Foreign(_) => false,
            _ => true,
        });
        parts.render()
    } else {
        let keyed = keyed_columns(table);
        let mut defs: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let mut s = format!(
                    "{} {}",
                    qi(&c.name),
                    map_type(&c.ty, keyed.contains(&c.name), native_uuid)
                );
                if !c.nullable {
                    s.push_str(" NOT NULL");
                }
                if let Some(d) = c
                    .default
                    .as_deref()
                    .and_then(|d| crate::model::portable_default(d, &c.ty, from))
                {
                    s.push_str(&format!(" DEFAULT {}", default_sql(EngineKind::Mysql, &d)));
                }
                if c.auto_increment.is_some() && matches!(c.ty, NeutralType::Int { .. }) {
                    s.push_str(" AUTO_INCREMENT");
                }
                if let Some(cm) = &c.comment {
                    s.push_str(&format!(" COMMENT {}", literal(EngineKind::Mysql, cm)));
                }
                s
            })
            .collect();
        for c in inline {
            if let Constraint::PrimaryKey(k) = c {
                defs.push(format!("PRIMARY KEY ({})", column_list(&k.columns)));
            }
        }
        let mut s = format!(
            "CREATE TABLE {} (\n  {}\n) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
            qi(&table.name),
            defs.join(",\n  ")
        );
        if let Some(cm) = &table.comment {
            s.push_str(&format!(" COMMENT={}", literal(EngineKind::Mysql, cm)));
        }
        s
    };
    (sql, kept)
}

/// Whether the table's auto-increment column needs `index` to exist.
fn needs_index(table: &Table, cols: &[String]) -> bool {
    let Some(ai) = table.columns.iter().find(|c| c.auto_increment.is_some()) else {
        return false;
    };
    if table
        .primary_key
        .as_ref()
        .is_some_and(|pk| pk.columns.first() == Some(&ai.name))
    {
        return false;
    }
    cols.first() == Some(&ai.name)
}

/// Columns in a key, index or foreign key (they need a bounded type).
pub(super) fn keyed_columns(table: &Table) -> HashSet<&String> {
    Constraint::all_of(table)
        .iter()
        .flat_map(|c| match c {
            Constraint::PrimaryKey(k) | Constraint::Unique(k) => k.columns.clone(),
            Constraint::Index(i) => i.columns.clone(),
            Constraint::ForeignKey(f) => f.columns.clone(),
            Constraint::Check(_) => vec![],
        })
        .filter_map(|n| table.column(&n).map(|c| &c.name))
        .collect()
}

/// The statement that adds `c` to `table`: its own definition when it
/// comes from this engine.
pub(super) fn constraint_sql(table: &Table, c: &Constraint, from: EngineKind) -> String {
    let t = qi(&table.name);
    let same = from == EngineKind::Mysql;
    match c {
        Constraint::PrimaryKey(k) => {
            format!(
                "ALTER TABLE {t} ADD PRIMARY KEY ({})",
                column_list(&k.columns)
            )
        }
        Constraint::Unique(k) => match (&k.native, same) {
            (Some(n), true) => format!("ALTER TABLE {t} ADD {n}"),
            _ => format!(
                "ALTER TABLE {t} ADD CONSTRAINT {} UNIQUE ({})",
                qi(&k.name),
                column_list(&k.columns)
            ),
        },
        Constraint::Index(i) => match (&i.native, same) {
            (Some(n), true) => n.clone(),
            _ => format!(
                "ALTER TABLE {t} ADD {}INDEX {} ({})",
                if i.unique { "UNIQUE " } else { "" },
                qi(&i.name),
                column_list(&i.columns)
            ),
        },
        Constraint::ForeignKey(f) => match (&f.native, same) {
            (Some(n), true) => format!("ALTER TABLE {t} ADD {n}"),
            _ => {
                let mut s = format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {} FOREIGN KEY ({}) REFERENCES {} ({})",
                    qi(&f.name),
                    column_list(&f.columns),
                    qi(&f.ref_table),
                    column_list(&f.ref_columns)
                );
                if let Some(a) = &f.on_delete {
                    s.push_str(&format!(" ON DELETE {a}"));
                }
                if let Some(a) = &f.on_update {
                    s.push_str(&format!(" ON UPDATE {a}"));
                }
                s
            }
        },
        Constraint::Check(k) => format!(
            "ALTER TABLE {t} ADD CONSTRAINT {} {}",
            qi(&k.name),
            k.native
        ),
    }
}

/// The statement that drops `c` from `table`.
pub(super) fn drop_constraint_sql(table: &Table, c: &Constraint) -> String {
    let t = qi(&table.name);
    match c {
        Constraint::ForeignKey(f) => {
            format!("ALTER TABLE {t} DROP FOREIGN KEY {}", qi(&f.name))
        }
        Constraint::PrimaryKey(_) => format!("ALTER TABLE {t} DROP PRIMARY KEY"),
        Constraint::Check(k) => format!("ALTER TABLE {t} DROP CONSTRAINT {}", qi(&k.name)),
        other => format!("ALTER TABLE {t} DROP INDEX {}", qi(other.name())),
    }
}

/// A query counting the rows of `table` whose foreign key `f` points at no
/// row (a foreign key added while `foreign_key_checks = 0` checks nothing).
pub(super) fn orphans_sql(table: &Table, f: &ForeignKey) -> String {
    let t = qi(&table.name);
    let r = qi(&f.ref_table);
    let on: Vec<String> = f
        .columns
        .iter()
        .zip(&f.ref_columns)
        .map(|(a, b)| format!("c.{} = p.{}", qi(a), qi(b)))
        .collect();
    let not_null: Vec<String> = f
        .columns
        .iter()
        .map(|a| format!("c.{} IS NOT NULL", qi(a)))
        .collect();
    format!(
        "SELECT COUNT(*) FROM {t} c LEFT JOIN {r} p ON {} WHERE {} AND p.{} IS NULL",
        on.join(" AND "),
        not_null.join(" AND "),
        qi(f.ref_columns.first().map(String::as_str).unwrap_or("")),
    )
}
