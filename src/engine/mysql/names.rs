//! Names MySQL/MariaDB cannot create as given: longer than 64 characters,
//! or equal to another name but for case.

use crate::engine::{case_twins, Constraint};
use crate::model::Table;

/// Longest table, column, index or constraint name, in characters.
const MAX_NAME: usize = 64;

/// What in `table` MySQL cannot create under its own name, one message each:
/// names over 64 characters, and columns (always compared ignoring case) or
/// indexes that differ only by case.
pub(super) fn refuse_names(table: &Table) -> Vec<String> {
    let mut v = Vec::new();
    let long = |what: &str, name: &str| {
        format!(
            "{what} {name:?} is {} characters long; MySQL names are at most {MAX_NAME}. \
             Rename it in the source, or restore into another engine",
            name.chars().count()
        )
    };
    if table.name.chars().count() > MAX_NAME {
        v.push(long("table", &table.name));
    }
    let t = &table.name;
    for c in &table.columns {
        if c.name.chars().count() > MAX_NAME {
            v.push(long(&format!("table {t}: column"), &c.name));
        }
    }
    let mut indexes = Vec::new();
    for c in Constraint::all_of(table) {
        let name = c.name();
        match c {
            Constraint::PrimaryKey(_) | Constraint::Check(_) => continue,
            Constraint::Unique(_) | Constraint::Index(_) => indexes.push(name.to_string()),
            Constraint::ForeignKey(_) => {}
        }
        if name.chars().count() > MAX_NAME {
            v.push(long(&format!("table {t}: {}", c.kind()), name));
        }
    }
    let columns: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    for (a, b) in case_twins(&columns, fold) {
        v.push(format!(
            "table {t}: columns {a:?} and {b:?} differ only by case, and MySQL column names \
             ignore case. Rename one in the source, or restore into another engine"
        ));
    }
    let indexes: Vec<&str> = indexes.iter().map(String::as_str).collect();
    for (a, b) in case_twins(&indexes, fold) {
        v.push(format!(
            "table {t}: indexes {a:?} and {b:?} differ only by case, and MySQL index names \
             ignore case. Rename one in the source, or restore into another engine"
        ));
    }
    v
}

/// Tables among `names` (every table the restore leaves in the target) that
/// the server would take for one another (`lower_case_table_names` set).
pub(super) fn table_twins(names: &[&str], lower_case_table_names: bool) -> Vec<String> {
    if !lower_case_table_names {
        return Vec::new();
    }
    case_twins(names, fold)
        .into_iter()
        .map(|(a, b)| {
            format!(
                "tables {a:?} and {b:?} differ only by case, and this server compares table \
                 names ignoring case (lower_case_table_names). Restore one of them \
                 (--tables / --exclude-tables), or rename it in the source"
            )
        })
        .collect()
}

/// MySQL's comparison of names that ignore case (near enough: Unicode
/// lowercase).
fn fold(name: &str) -> String {
    name.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twins_by_case() {
        assert_eq!(
            case_twins(&["Foo", "bar", "foo", "Foo", "FOO"], fold),
            [("Foo", "foo"), ("Foo", "FOO")]
        );
        assert_eq!(case_twins(&["Äb", "äb"], fold), [("Äb", "äb")]);
        assert!(table_twins(&["Foo", "foo"], false).is_empty());
        assert_eq!(table_twins(&["Foo", "foo"], true).len(), 1);
    }
}
