//! Introspection: sqlite_master and the table pragmas read into the neutral
//! schema model.

use super::err;
use super::types::neutral_type;
use crate::engine::{is_internal, quote_ident, EngineError};
use crate::model::*;
use rusqlite::{Connection, OptionalExtension};

/// The schema of the tables `filter` wants, with views and triggers as
/// native extras; `target` names the database in errors.
pub(super) fn schema(
    conn: &Connection,
    filter: &TableFilter,
    target: &str,
) -> Result<Schema, EngineError> {
    let ctx = "reading sqlite_master";
    let mut stmt = conn
        .prepare("SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY rowid")
        .map_err(|e| err(ctx, e))?;
    let objects: Vec<(String, String, String, Option<String>)> = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .map_err(|e| err(ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(ctx, e))?;
    let has_sequence = objects.iter().any(|o| o.1 == "sqlite_sequence");
    let mut tables = Vec::new();
    let mut extras = Vec::new();
    for (kind, name, tbl, sql) in &objects {
        if name.starts_with("sqlite_") || is_internal(name) {
            continue;
        }
        match kind.as_str() {
            "table" if filter.wants(name) => {
                let sql = sql.clone().unwrap_or_default();
                if sql.to_ascii_uppercase().starts_with("CREATE VIRTUAL TABLE") {
                    continue;
                }
                tables.push(table(conn, name, sql, has_sequence, &objects)?);
            }
            "view" => extras.push(NativeObject {
                kind: "view".into(),
                name: name.clone(),
                table: None,
                ddl: sql.clone().unwrap_or_default(),
                ..NativeObject::default()
            }),
            "trigger" if filter.wants(tbl) => extras.push(NativeObject {
                kind: "trigger".into(),
                name: name.clone(),
                table: Some(tbl.clone()),
                ddl: sql.clone().unwrap_or_default(),
                ..NativeObject::default()
            }),
            _ => {}
        }
    }
    if let Some(m) = filter
        .include
        .iter()
        .find(|n| !tables.iter().any(|t: &Table| &&t.name == n))
    {
        return Err(EngineError::NoTable {
            target: target.to_string(),
            table: m.clone(),
        });
    }
    Ok(Schema {
        tables,
        enums: vec![],
        sequences: vec![],
        extras,
        roles: vec![],
        large_objects: vec![],
    })
}

/// The rows of sqlite_master: type, name, tbl_name, sql.
type Objects = [(String, String, String, Option<String>)];

/// One table from its pragmas; `sql` is its CREATE TABLE statement.
fn table(
    conn: &Connection,
    name: &str,
    sql: String,
    has_sequence: bool,
    objects: &Objects,
) -> Result<Table, EngineError> {
    let ctx = format!("table {name}: reading its schema");
    let q = quote_ident(name);
    let mut stmt = conn
        .prepare(&format!("PRAGMA table_xinfo({q})"))
        .map_err(|e| err(&ctx, e))?;
    let cols: Vec<(String, String, bool, Option<String>, i64, i64)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(|e| err(&ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&ctx, e))?;
    let upper = sql.to_ascii_uppercase();
    let autoincrement = upper.contains("AUTOINCREMENT");
    let mut pk: Vec<(i64, String)> = cols
        .iter()
        .filter(|c| c.4 > 0)
        .map(|c| (c.4, c.0.clone()))
        .collect();
    pk.sort();
    let rowid_alias = pk.len() == 1
        && cols
            .iter()
            .any(|c| c.0 == pk[0].1 && c.1.eq_ignore_ascii_case("INTEGER"));
    // Checks from the statement: `JSON_VALID(col)` ones make `col` a JSON
    // column (as MariaDB's JSON is a text column with such a check); the
    // others are kept as checks, by name.
    let mut checks = Vec::new();
    let mut json_columns = Vec::new();
    let mut labels: Vec<(String, Vec<String>)> = Vec::new();
    let text_column = |col: &str| {
        cols.iter()
            .any(|c| c.0 == col && matches!(neutral_type(&c.1), NeutralType::Text { .. }))
    };
    for (i, (cname, expr)) in checks_of(&sql).into_iter().enumerate() {
        if let Some((col, values)) = labels_of(&expr).filter(|(c, _)| text_column(c)) {
            labels.push((col, values));
            continue;
        }
        match json_valid_column(&expr) {
            Some(col) if cols.iter().any(|c| c.0 == col) => json_columns.push(col),
            _ => checks.push(Check {
                name: cname.unwrap_or_else(|| format!("{name}_check{}", i + 1)),
                native: format!("CHECK ({expr})"),
            }),
        }
    }
    let columns = cols
        .iter()
        .filter(|c| c.5 != 1)
        .map(|(cname, decl, notnull, dflt, pkpos, hidden)| Column {
            name: cname.clone(),
            ty: match neutral_type(decl) {
                NeutralType::Text { .. } | NeutralType::Any if json_columns.contains(cname) => {
                    NeutralType::Json { binary: false }
                }
                NeutralType::Text { .. } if labels.iter().any(|l| &l.0 == cname) => {
                    NeutralType::Enum {
                        name: None,
                        values: labels
                            .iter()
                            .find(|l| &l.0 == cname)
                            .map(|l| l.1.clone())
                            .unwrap_or_default(),
                    }
                }
                t => t,
            },
            native_type: decl.clone(),
            nullable: !notnull,
            default: dflt.clone(),
            auto_increment: if rowid_alias && *pkpos == 1 {
                Some(AutoIncrement {
                    sequence: None,
                    identity: None,
                })
            } else {
                None
            },
            generated: if *hidden == 2 || *hidden == 3 {
                Some(Generated {
                    expression: String::new(),
                    stored: *hidden == 3,
                })
            } else {
                None
            },
            collation: None,
            comment: None,
            on_update_now: false,
            inherited: false,
        })
        .collect();
    let primary_key = if pk.is_empty() {
        None
    } else {
        Some(Key {
            name: format!("{name}_pkey"),
            columns: pk.into_iter().map(|p| p.1).collect(),
            native: None,
        })
    };
    let mut uniques = Vec::new();
    let mut indexes = Vec::new();
    let mut stmt = conn
        .prepare(&format!("PRAGMA index_list({q})"))
        .map_err(|e| err(&ctx, e))?;
    let list: Vec<(String, bool, String, bool)> = stmt
        .query_map([], |r| Ok((r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(|e| err(&ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&ctx, e))?;
    for (iname, unique, origin, partial) in list.into_iter().rev() {
        let mut stmt = conn
            .prepare(&format!("PRAGMA index_info({})", quote_ident(&iname)))
            .map_err(|e| err(&ctx, e))?;
        let icols: Vec<String> = stmt
            .query_map([], |r| {
                Ok(r.get::<_, Option<String>>(2)?
                    .unwrap_or_else(|| "(expression)".into()))
            })
            .map_err(|e| err(&ctx, e))?
            .collect::<Result<_, _>>()
            .map_err(|e| err(&ctx, e))?;
        match origin.as_str() {
            "u" => uniques.push(Key {
                name: iname,
                columns: icols,
                native: None,
            }),
            "c" => {
                let native = objects
                    .iter()
                    .find(|o| o.0 == "index" && o.1 == iname)
                    .and_then(|o| o.3.clone());
                let predicate = if partial {
                    let p = native.as_deref().and_then(index_predicate);
                    if p.is_none() {
                        return Err(EngineError::Server {
                            context: ctx.clone(),
                            message: format!(
                                "partial index {iname}: its WHERE clause could not be read from its SQL"
                            ),
                        });
                    }
                    p
                } else {
                    None
                };
                indexes.push(Index {
                    name: iname,
                    columns: icols,
                    unique,
                    native,
                    predicate,
                    method: None,
                })
            }
            _ => {}
        }
    }
    let mut stmt = conn
        .prepare(&format!("PRAGMA foreign_key_list({q})"))
        .map_err(|e| err(&ctx, e))?;
    let fks: Vec<(i64, String, String, Option<String>, String, String)> = stmt
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
            ))
        })
        .map_err(|e| err(&ctx, e))?
        .collect::<Result<_, _>>()
        .map_err(|e| err(&ctx, e))?;
    let mut foreign_keys: Vec<ForeignKey> = Vec::new();
    for (id, rt, from, to, on_update, on_delete) in fks {
        let fk_name = format!("{name}_fk{id}");
        let action = |a: String| if a == "NO ACTION" { None } else { Some(a) };
        match foreign_keys.iter_mut().find(|f| f.name == fk_name) {
            Some(f) => {
                f.columns.push(from);
                f.ref_columns.extend(to);
            }
            None => foreign_keys.push(ForeignKey {
                name: fk_name,
                columns: vec![from],
                ref_table: rt,
                ref_columns: to.into_iter().collect(),
                on_delete: action(on_delete),
                on_update: action(on_update),
                deferrable: None,
                native: None,
            }),
        }
    }
    // No row: the table has had no insert yet.
    let auto_increment_next = if autoincrement && has_sequence {
        conn.query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = ?1",
            [name],
            |r| r.get::<_, i64>(0),
        )
        .optional()
        .map_err(|e| {
            err(
                format!("table {name}: reading its AUTOINCREMENT counter in sqlite_sequence"),
                e,
            )
        })?
        .map(|s| s + 1)
    } else {
        None
    };
    // Only an estimate: none for a WITHOUT ROWID table.
    let estimated_rows = conn
        .query_row(&format!("SELECT max(rowid) FROM {q}"), [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .ok()
        .flatten()
        .map(|n| n.max(0) as u64);
    Ok(Table {
        name: name.to_string(),
        columns,
        primary_key,
        uniques,
        indexes,
        foreign_keys,
        checks,
        auto_increment_next,
        comment: None,
        native_ddl: Some(sql),
        options: vec![],
        estimated_rows,
        inherits: vec![],
    })
}

/// The condition of a partial index, from its `CREATE INDEX` text: what
/// follows `WHERE` after the column list's closing parenthesis.
fn index_predicate(sql: &str) -> Option<String> {
    let open = sql.find('(')?;
    let (mut depth, mut quote) = (0usize, None::<char>);
    for (i, c) in sql[open..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`' | '[') => quote = Some(if c == '[' { ']' } else { c }),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    let rest = sql[open + i + 1..].trim_start();
                    let head = rest.get(..5)?;
                    return head
                        .eq_ignore_ascii_case("where")
                        .then(|| rest[5..].trim().to_string())
                        .filter(|p| !p.is_empty());
                }
            }
            _ => {}
        }
    }
    None
}

/// The CHECK constraints of a `CREATE TABLE` statement, column and table
/// ones alike: each one's `CONSTRAINT` name if it has one, and its
/// expression (without the outer parentheses).
fn checks_of(sql: &str) -> Vec<(Option<String>, String)> {
    let words = tokens(sql);
    let mut out = Vec::new();
    for (i, w) in words.iter().enumerate() {
        if !w.0.eq_ignore_ascii_case("check") {
            continue;
        }
        let Some(open) = words.get(i + 1).filter(|n| n.0 == "(") else {
            continue;
        };
        let mut depth = 0usize;
        let close = words[i + 1..].iter().find(|t| {
            match t.0.as_str() {
                "(" => depth += 1,
                ")" => depth -= 1,
                _ => {}
            }
            depth == 0
        });
        let Some(close) = close else { continue };
        let name = (i >= 2 && words[i - 2].0.eq_ignore_ascii_case("constraint"))
            .then(|| unquote_ident(&words[i - 1].0));
        out.push((name, sql[open.1 + 1..close.1].trim().to_string()));
    }
    out
}

/// The statement's tokens outside comments, each with its byte offset:
/// words, quoted names and strings whole, punctuation one character each.
fn tokens(sql: &str) -> Vec<(String, usize)> {
    let b = sql.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let start = i;
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'-' && b.get(i + 1) == Some(&b'-') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i = sql[i + 2..].find("*/").map_or(b.len(), |e| i + 2 + e + 2);
            continue;
        }
        let close = match c {
            b'\'' | b'"' | b'`' => Some(c),
            b'[' => Some(b']'),
            _ => None,
        };
        if let Some(q) = close {
            i += 1;
            while i < b.len() {
                if b[i] == q && !(q != b']' && b.get(i + 1) == Some(&q)) {
                    break;
                }
                i += if q != b']' && b[i] == q { 2 } else { 1 };
            }
            i = (i + 1).min(b.len());
        } else if c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80 {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] >= 0x80) {
                i += 1;
            }
        } else {
            i += 1;
        }
        out.push((sql[start..i].to_string(), start));
    }
    out
}

/// A name as written, without its quotes.
fn unquote_ident(t: &str) -> String {
    let inner = |q: char| t.strip_prefix(q).and_then(|x| x.strip_suffix(q));
    match (
        inner('"'),
        inner('`'),
        t.strip_prefix('[').and_then(|x| x.strip_suffix(']')),
    ) {
        (Some(x), _, _) => x.replace("\"\"", "\""),
        (_, Some(x), _) => x.replace("``", "`"),
        (_, _, Some(x)) => x.to_string(),
        _ => t.to_string(),
    }
}

/// The column and labels of `col IN ('a', 'b', ...)`: the check haul gives
/// an enum's text column, read back as the enum.
fn labels_of(expr: &str) -> Option<(String, Vec<String>)> {
    let t: Vec<String> = tokens(expr).into_iter().map(|t| t.0).collect();
    let mut t: &[String] = &t;
    while t.first().map(String::as_str) == Some("(") && t.last().map(String::as_str) == Some(")") {
        t = &t[1..t.len() - 1];
    }
    if t.len() < 5 || !t[1].eq_ignore_ascii_case("in") || t[2] != "(" || t[t.len() - 1] != ")" {
        return None;
    }
    let mut values = Vec::new();
    for (i, v) in t[3..t.len() - 1].iter().enumerate() {
        match (i % 2, v.as_str()) {
            (0, v) => values.push(crate::model::unquote(EngineKind::Sqlite, v)?),
            (_, ",") => {}
            _ => return None,
        }
    }
    Some((unquote_ident(&t[0]), values))
}

/// The column a check holds to valid JSON: `JSON_VALID(col)`, optionally
/// `OR col IS NULL` (Django's JSONField on SQLite), in parentheses or not.
fn json_valid_column(expr: &str) -> Option<String> {
    let t: Vec<String> = tokens(expr).into_iter().map(|t| t.0).collect();
    let mut t: &[String] = &t;
    while t.first().map(String::as_str) == Some("(") && t.last().map(String::as_str) == Some(")") {
        t = &t[1..t.len() - 1];
    }
    let is = |i: usize, w: &str| t.get(i).is_some_and(|x| x.eq_ignore_ascii_case(w));
    if !(is(0, "json_valid") && is(1, "(") && is(3, ")")) {
        return None;
    }
    let col = unquote_ident(&t[2]);
    let rest = &t[4..];
    let null_ok = rest.len() == 4
        && rest[0].eq_ignore_ascii_case("or")
        && unquote_ident(&rest[1]) == col
        && rest[2].eq_ignore_ascii_case("is")
        && rest[3].eq_ignore_ascii_case("null");
    (rest.is_empty() || null_ok).then_some(col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_are_read_from_the_statement() {
        let sql = r#"CREATE TABLE "b" ("id" integer NOT NULL PRIMARY KEY AUTOINCREMENT,
            "edition" integer unsigned NOT NULL CHECK ("edition" >= 0), -- a comment (CHECK (x))
            "meta" text NOT NULL CHECK ((JSON_VALID("meta") OR "meta" IS NULL)),
            note text DEFAULT 'CHECK (1)', CONSTRAINT "positive id" CHECK (id > (0)))"#;
        let found = checks_of(sql);
        assert_eq!(
            found,
            vec![
                (None, r#""edition" >= 0"#.to_string()),
                (
                    None,
                    r#"(JSON_VALID("meta") OR "meta" IS NULL)"#.to_string()
                ),
                (Some("positive id".to_string()), "id > (0)".to_string()),
            ]
        );
        assert_eq!(json_valid_column(&found[1].1).as_deref(), Some("meta"));
        assert_eq!(json_valid_column("json_valid(doc)").as_deref(), Some("doc"));
        assert_eq!(json_valid_column(&found[0].1), None);
        assert_eq!(json_valid_column(r#"JSON_VALID("a") OR "b" IS NULL"#), None);
        assert_eq!(
            labels_of(r#""m" IN ('sad', 'o''k', 'happy')"#),
            Some(("m".into(), vec!["sad".into(), "o'k".into(), "happy".into()]))
        );
        assert_eq!(labels_of("m IN ('a', b)"), None);
    }
}
