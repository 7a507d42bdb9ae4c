//! An oracle that is not haul: a database's schema and every table's rows as
//! the engines' own clients show them (`psql` and `pg_dump`, `mariadb`, the
//! `sqlite3` shell), so a bug shared by haul's restore and its `verify`
//! cannot hide.
//!
//! A [`Snapshot`] holds the schema as normalised text and each table's rows
//! as sorted lines; [`assert_same`] compares two of them and says where they
//! differ. A missing client fails the test, naming it.

#![allow(dead_code)]

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// A database as its engine's own client sees it.
#[derive(Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The schema: normalised lines, in the client's order.
    pub schema: Vec<String>,
    /// Each table's rows (and, on PostgreSQL, each sequence's position), one
    /// line a row, sorted.
    pub tables: BTreeMap<String, Vec<String>>,
}

/// Starts a section of a client's output: `MARK` then the section's number.
const MARK: &str = "--haul-oracle-section-- ";

/// Split a client's output into the sections `MARK` lines start, by the
/// text after the mark.
fn sections(out: &[u8]) -> BTreeMap<String, Vec<String>> {
    let mut all: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in out.split(|&b| b == b'\n') {
        let line = match std::str::from_utf8(line) {
            Ok(s) => s.to_string(),
            // Kept exact: two different byte strings never compare equal.
            Err(_) => format!("(bytes) {}", hex::encode(line)),
        };
        if let Some(key) = line.strip_prefix(MARK) {
            all.entry(key.to_string()).or_default();
            current = Some(key.to_string());
        } else if let Some(key) = &current {
            all.get_mut(key).unwrap().push(line);
        } else {
            assert!(line.is_empty(), "oracle: output before any section: {line}");
        }
    }
    // Each section's text ended with a newline.
    for lines in all.values_mut() {
        if lines.last().is_some_and(|l| l.is_empty()) {
            lines.pop();
        }
    }
    all
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

// ------------------------------------------------------------------ PostgreSQL

/// `pg_dump --schema-only` without what varies between databases: comments,
/// blank lines, session settings, `\restrict` keys.
fn pg_schema(db: &PgDb) -> Vec<String> {
    pg_schema_with(db, false)
}

/// [`pg_schema`], with owners and privileges (`ALTER ... OWNER TO`,
/// `GRANT`, `REVOKE`) when `owned`.
pub fn pg_schema_with(db: &PgDb, owned: bool) -> Vec<String> {
    let mut args = vec!["-h", PG_HOST, "-U", "postgres", "--schema-only"];
    if !owned {
        args.extend(["--no-owner", "--no-privileges"]);
    }
    args.extend(["-d", &db.name]);
    let out = run_tool_bytes(
        Command::new("pg_dump").args(&args),
        None,
        "the oracle's schema of a PostgreSQL database (pg_dump)",
    );
    String::from_utf8_lossy(&out)
        .lines()
        .map(str::trim_end)
        .filter(|l| {
            !(l.is_empty()
                || l.starts_with("--")
                || l.starts_with("SET ")
                || l.starts_with("SELECT pg_catalog.set_config(")
                || l.starts_with("\\restrict")
                || l.starts_with("\\unrestrict"))
        })
        .map(str::to_string)
        .collect()
}

/// Every table's rows as `COPY ... TO STDOUT` prints them, sorted, every
/// sequence's position, and the `pg_dump --schema-only` text.
pub fn pg_snapshot(db: &PgDb) -> Snapshot {
    pg_snapshot_with(db, false)
}

/// [`pg_snapshot`], its schema with owners and privileges when `owned`.
/// A table's rows are its own (`ONLY`), not its children's too.
pub fn pg_snapshot_with(db: &PgDb, owned: bool) -> Snapshot {
    // One psql lists the tables and sequences outside the catalogs and, with
    // `\gexec`, prints each one's section mark and then its rows.
    let script = format!(
        "SELECT format('SELECT %L', '{MARK}' || label),
                CASE WHEN relkind = 'S' THEN format('SELECT last_value, is_called FROM %s', name)
                     ELSE format('COPY (SELECT * FROM ONLY %s) TO STDOUT', name) END
           FROM (SELECT c.relkind,
                        format('%I.%I', n.nspname, c.relname) AS name,
                        CASE WHEN c.relkind = 'S' THEN 'sequence ' ELSE '' END
                          || format('%I.%I', n.nspname, c.relname) AS label
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE c.relkind IN ('r', 'p', 'S')
                    AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    AND n.nspname NOT LIKE 'pg_toast%'
                    AND NOT c.relispartition) x
          ORDER BY label
        \\gexec\n"
    );
    // pg_dump meanwhile.
    let (out, schema) = std::thread::scope(|s| {
        let schema = s.spawn(|| pg_schema_with(db, owned));
        let out = run_tool_bytes(
            &mut psql_cmd(&db.name),
            Some(script.as_bytes()),
            "the oracle's rows of a PostgreSQL database (psql)",
        );
        (
            out,
            schema
                .join()
                .unwrap_or_else(|e| std::panic::resume_unwind(e)),
        )
    });
    let tables = sections(&out)
        .into_iter()
        .map(|(t, rows)| (t, sorted(rows)))
        .collect();
    Snapshot { schema, tables }
}

// ------------------------------------------------------------------ MariaDB

/// `mysqldump` of the whole database, one `INSERT` a row: each table's
/// `INSERT` lines, sorted, and the rest (the `CREATE TABLE`s) as the schema,
/// without session settings and each table's `AUTO_INCREMENT=N`, which
/// follows the server's own bookkeeping rather than the rows.
pub fn my_snapshot(db: &MyDb) -> Snapshot {
    let out = run_tool_bytes(
        Command::new("mysqldump").args([
            "-h",
            "127.0.0.1",
            "-P",
            "3306",
            "-u",
            "root",
            "--compact",
            "--skip-extended-insert",
            "--hex-blob",
            "--skip-dump-date",
            "--single-transaction",
            &db.name,
        ]),
        None,
        "the oracle's dump of a MariaDB database (mysqldump)",
    );
    let mut schema = Vec::new();
    let mut tables: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in sections(&[format!("{MARK}0\n").as_bytes(), &out].concat())
        .remove("0")
        .unwrap_or_default()
    {
        if let Some(rest) = line.strip_prefix("INSERT INTO `") {
            let (table, _) = rest.split_once("` VALUES (").expect("an INSERT line");
            tables.entry(table.to_string()).or_default().push(line);
            continue;
        }
        if let Some(rest) = line.strip_prefix("CREATE TABLE `") {
            let (table, _) = rest.split_once("` (").expect("a CREATE TABLE line");
            tables.entry(table.to_string()).or_default();
        }
        // `/*!40101 SET @saved_cs_client = ... */;` and the like.
        let setting = line.strip_prefix("/*!").is_some_and(|r| {
            r.trim_start_matches(|c: char| c.is_ascii_digit())
                .trim_start()
                .starts_with("SET ")
        });
        if setting || line.is_empty() {
            continue;
        }
        let line = match line.find(" AUTO_INCREMENT=") {
            Some(at) if line.starts_with(") ") => {
                let rest = &line[at + " AUTO_INCREMENT=".len()..];
                let digits = rest.chars().take_while(char::is_ascii_digit).count();
                format!("{}{}", &line[..at], &rest[digits..])
            }
            _ => line,
        };
        schema.push(line);
    }
    let tables = tables.into_iter().map(|(t, r)| (t, sorted(r))).collect();
    Snapshot { schema, tables }
}

/// `mysqldump --no-data --routines --events --triggers` of a database: every
/// table, view, routine, trigger and event with the session settings and
/// definer each was created with, one line each, without what varies
/// between two databases of the same schema: the database's name, each
/// table's `AUTO_INCREMENT=N`.
pub fn my_objects(db: &MyDb) -> Vec<String> {
    let out = run_tool_bytes(
        Command::new("mysqldump").args([
            "-h",
            "127.0.0.1",
            "-P",
            "3306",
            "-u",
            "root",
            "--no-data",
            "--routines",
            "--events",
            "--triggers",
            "--skip-dump-date",
            "--skip-comments",
            &db.name,
        ]),
        None,
        "the oracle's schema of a MariaDB database (mysqldump --routines --events --triggers)",
    );
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| {
            let l = l.replace(&format!("`{}`", db.name), "`DB`");
            match l.find(" AUTO_INCREMENT=") {
                Some(at) if l.starts_with(") ") => {
                    let rest = &l[at + " AUTO_INCREMENT=".len()..];
                    let digits = rest.chars().take_while(char::is_ascii_digit).count();
                    format!("{}{}", &l[..at], &rest[digits..])
                }
                _ => l,
            }
        })
        .collect()
}

/// Panic, showing the first lines that differ, unless two object listings
/// ([`my_objects`]) are the same.
pub fn assert_same_objects(actual: &[String], expected: &[String], what: &str) {
    if actual == expected {
        return;
    }
    let at = actual
        .iter()
        .zip(expected)
        .position(|(a, e)| a != e)
        .unwrap_or(actual.len().min(expected.len()));
    let show = |l: &[String]| {
        l.iter()
            .skip(at)
            .take(6)
            .map(|x| format!("      {x}\n"))
            .collect::<String>()
    };
    panic!(
        "{what}: mysqldump shows other objects from line {} on:\n    the target:\n{}    expected:\n{}",
        at + 1,
        show(actual),
        show(expected)
    );
}

// ------------------------------------------------------------------ SQLite

/// Run single-column SELECTs on a SQLite file with the `sqlite3` shell (or,
/// where it is not installed, the SQLite linked into the tests); their rows
/// in order, one a line, `sections[i]` behind its section mark.
fn sqlite_selects(path: &Path, selects: &[String]) -> Vec<u8> {
    let which = Command::new("sh")
        .args(["-c", "command -v sqlite3"])
        .output()
        .expect("cannot run sh");
    if which.status.success() {
        let mut script = String::from(".bail on\n");
        for (i, s) in selects.iter().enumerate() {
            script.push_str(&format!("SELECT '{MARK}{i}';\n{s};\n"));
        }
        return run_tool_bytes(
            Command::new("sqlite3")
                .args(["-batch", "-noheader", "-list", "-readonly"])
                .arg(path),
            Some(script.as_bytes()),
            "the oracle's rows of a SQLite file (sqlite3)",
        );
    }
    eprintln!("oracle: no sqlite3 shell installed; reading SQLite files with rusqlite");
    let conn =
        rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .expect("oracle: open the SQLite file");
    let mut out = Vec::new();
    for (i, s) in selects.iter().enumerate() {
        out.extend_from_slice(format!("{MARK}{i}\n").as_bytes());
        let mut stmt = conn.prepare(s).expect("oracle: prepare");
        let mut rows = stmt.query([]).expect("oracle: query");
        while let Some(r) = rows.next().expect("oracle: row") {
            match r.get_ref(0).expect("oracle: column") {
                rusqlite::types::ValueRef::Text(t) => out.extend_from_slice(t),
                v => panic!("oracle: expected text, got {v:?}"),
            }
            out.push(b'\n');
        }
    }
    out
}

/// Every table's rows (each value as `quote()` gives it, so storage classes
/// count; newlines in text as `\n`), sorted, and `sqlite_master`.
pub fn sqlite_snapshot(path: &Path) -> Snapshot {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let listing = sqlite_selects(
        path,
        &[String::from(
            "SELECT m.name || char(9) || p.name FROM sqlite_master m, pragma_table_xinfo(m.name) p
              WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND p.hidden <> 1
              ORDER BY m.name, p.cid",
        )],
    );
    let mut columns: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for l in sections(&listing).remove("0").unwrap_or_default() {
        let (t, c) = l.split_once('\t').expect("table and column");
        columns
            .entry(t.to_string())
            .or_default()
            .push(c.to_string());
    }
    let names: Vec<&String> = columns.keys().collect();
    let mut selects = vec![String::from(
        "SELECT type || ' ' || name || ' ' || tbl_name || ': ' || coalesce(sql, '')
           FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
    )];
    for t in &names {
        let exprs: Vec<String> = columns[*t]
            .iter()
            .map(|c| {
                format!(
                    "CASE typeof({c}) WHEN 'text' THEN quote(replace(replace({c}, '\\', '\\\\'), char(10), '\\n')) ELSE quote({c}) END",
                    c = q(c)
                )
            })
            .collect();
        selects.push(format!(
            "SELECT {} FROM {}",
            exprs.join(" || ',' || "),
            q(t)
        ));
    }
    let mut parts = sections(&sqlite_selects(path, &selects));
    let schema = parts.remove("0").unwrap_or_default();
    let tables = names
        .iter()
        .enumerate()
        .map(|(i, t)| {
            (
                t.to_string(),
                sorted(parts.remove(&(i + 1).to_string()).unwrap_or_default()),
            )
        })
        .collect();
    Snapshot { schema, tables }
}

// ------------------------------------------------------------------ comparing

/// What is in `a` and not in `b`, both sorted (a multiset difference).
fn only_in<'a>(a: &'a [String], b: &[String]) -> Vec<&'a String> {
    let mut out = Vec::new();
    let mut j = 0;
    for x in a {
        while j < b.len() && b[j] < *x {
            j += 1;
        }
        if j < b.len() && b[j] == *x {
            j += 1;
        } else {
            out.push(x);
        }
    }
    out
}

fn show(lines: &[&String]) -> String {
    let mut s: String = lines
        .iter()
        .take(5)
        .map(|l| format!("      {l}\n"))
        .collect();
    if lines.len() > 5 {
        s.push_str(&format!("      ... and {} more\n", lines.len() - 5));
    }
    s
}

/// Panic, saying where, unless `actual` and `expected` hold the same schema
/// and the same rows.
pub fn assert_same(actual: &Snapshot, expected: &Snapshot, what: &str) {
    if actual == expected {
        return;
    }
    let mut report = String::new();
    if actual.schema != expected.schema {
        let mut a = actual.schema.clone();
        let mut e = expected.schema.clone();
        a.sort();
        e.sort();
        let extra = only_in(&a, &e);
        let missing = only_in(&e, &a);
        report.push_str("  the schema differs");
        if extra.is_empty() && missing.is_empty() {
            report.push_str(" (same lines, another order)\n");
        } else {
            report.push_str(&format!(
                ":\n    only in the target:\n{}    only in the expected:\n{}",
                show(&extra),
                show(&missing)
            ));
        }
    }
    for (t, rows) in &actual.tables {
        match expected.tables.get(t) {
            None => report.push_str(&format!("  table {t}: not expected\n")),
            Some(want) if want != rows => report.push_str(&format!(
                "  table {t}: {} rows, expected {}\n    only in the target:\n{}    only in the expected:\n{}",
                rows.len(),
                want.len(),
                show(&only_in(rows, want)),
                show(&only_in(want, rows))
            )),
            Some(_) => {}
        }
    }
    for t in expected.tables.keys() {
        if !actual.tables.contains_key(t) {
            report.push_str(&format!("  table {t}: missing\n"));
        }
    }
    panic!("{what}: the oracle (the engine's own client) sees a difference:\n{report}");
}
