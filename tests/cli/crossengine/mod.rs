//! Restores across engines through archives: Chinook around the three
//! engines, and hard values from each engine into the two others
//! (fixtures/cross/). `docs/types.md` is the mapping these check.

use crate::common::*;
use std::collections::BTreeMap;
use std::path::Path;

// ------------------------------------------------------------ helpers

fn my_fixture(prefix: &str, file: &str) -> MyDb {
    let db = MyDb::new(prefix);
    let sql = std::fs::read(fixtures().join(file)).expect("read the fixture");
    db.script(&sql);
    db
}

/// Chinook from its MySQL script, without the script's own database.
fn my_chinook() -> MyDb {
    let db = MyDb::new("haul_xe_chinook");
    let sql = std::fs::read_to_string(datasets().join("chinook/Chinook_MySql.sql"))
        .expect("read Chinook_MySql.sql");
    let body: String = sql
        .lines()
        .filter(|l| {
            let u = l.trim_start().to_ascii_uppercase();
            !(u.starts_with("DROP DATABASE")
                || u.starts_with("CREATE DATABASE")
                || u.starts_with("USE "))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    db.script(body.as_bytes());
    db
}

fn dump(url: &str, archive: &Path) {
    haul(&["dump", "-q", url, "-o", archive.to_str().unwrap()]).ok();
}

fn restore(archive: &Path, url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["restore", archive.to_str().unwrap(), url];
    args.extend_from_slice(extra);
    haul(&args)
}

/// One row of a MySQL query, its fields tab-separated (batch mode escapes
/// tabs, newlines and backslashes inside values).
fn my_row(db: &MyDb, sql: &str) -> String {
    db.sql(sql).trim_end_matches('\n').to_string()
}

fn lite_row(db: &SqliteDb, sql: &str) -> String {
    sqlite_rows(&db.conn(), sql).join("\n")
}

// ------------------------------------------------ normalised comparison

/// How a column's values are compared (docs/types.md, "Normalised
/// comparison").
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Int,
    Decimal,
    Float4,
    Float8,
    Bool,
    Date,
    Timestamp,
    Text,
    Binary,
    Json,
    /// Binary digits (MySQL `BIT`), compared without leading zeros.
    Bits,
}

/// The comparison kind of a MySQL column.
fn my_kind(data_type: &str, column_type: &str) -> Kind {
    match data_type {
        "tinyint" if column_type.starts_with("tinyint(1)") => Kind::Bool,
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" | "year" => Kind::Int,
        "decimal" => Kind::Decimal,
        "float" => Kind::Float4,
        "double" => Kind::Float8,
        "date" => Kind::Date,
        "datetime" | "timestamp" => Kind::Timestamp,
        "json" => Kind::Json,
        "bit" => Kind::Bits,
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" | "geometry"
        | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" => Kind::Binary,
        _ => Kind::Text,
    }
}

/// A decimal in canonical form: no exponent, no trailing fractional zeros,
/// no `-0`.
fn canonical_decimal(v: &str) -> String {
    let v = v.trim();
    if v.contains(['e', 'E']) {
        return format!("{}", v.parse::<f64>().expect("a number"));
    }
    let (neg, digits) = match v.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, v.strip_prefix('+').unwrap_or(v)),
    };
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let int = int.trim_start_matches('0');
    let frac = frac.trim_end_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let body = if frac.is_empty() {
        int.to_string()
    } else {
        format!("{int}.{frac}")
    };
    if neg && body != "0" {
        format!("-{body}")
    } else {
        body
    }
}

/// A timestamp as UTC text `YYYY-MM-DD HH:MM:SS[.f]`, trailing fractional
/// zeros dropped (the values compared here are all UTC).
fn canonical_timestamp(v: &str) -> String {
    let mut s = v.replace('T', " ");
    for utc in ["+00:00", "+00", "Z"] {
        if let Some(x) = s.strip_suffix(utc) {
            s = x.to_string();
        }
    }
    if s.len() == 10 {
        s.push_str(" 00:00:00");
    }
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    s
}

fn normalise(kind: Kind, v: Option<String>) -> Option<String> {
    let v = v?;
    Some(match kind {
        Kind::Int => v.trim().parse::<i128>().expect("an integer").to_string(),
        Kind::Decimal => canonical_decimal(&v),
        Kind::Float4 => format!("{:?}", v.parse::<f32>().expect("a float")),
        Kind::Float8 => format!("{:?}", v.parse::<f64>().expect("a double")),
        Kind::Bool => match v.as_str() {
            "1" | "t" | "true" => "1".into(),
            "0" | "f" | "false" => "0".into(),
            other => panic!("not a boolean: {other:?}"),
        },
        Kind::Date => v,
        Kind::Timestamp => canonical_timestamp(&v),
        Kind::Text => v,
        Kind::Binary => v.to_ascii_lowercase(),
        Kind::Json => serde_json::from_str::<serde_json::Value>(&v)
            .expect("JSON")
            .to_string(),
        Kind::Bits => match v.trim_start_matches('0') {
            "" => "0".into(),
            d => d.to_string(),
        },
    })
}

type TableRows = Vec<Vec<Option<String>>>;

/// Each value as UTF-8 text (binary columns: hex), read through hex so no
/// client escaping is involved.
fn unhex_text(h: &str) -> String {
    String::from_utf8(hex::decode(h).expect("hex")).expect("UTF-8")
}

/// The columns of every base table of a MySQL database, with their kinds.
fn my_columns(db: &MyDb) -> BTreeMap<String, Vec<(String, Kind)>> {
    let mut out: BTreeMap<String, Vec<(String, Kind)>> = BTreeMap::new();
    let rows = db.sql(&format!(
        "SELECT c.TABLE_NAME, c.COLUMN_NAME, c.DATA_TYPE, c.COLUMN_TYPE
           FROM information_schema.COLUMNS c JOIN information_schema.TABLES t
             ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
          WHERE c.TABLE_SCHEMA = '{}' AND t.TABLE_TYPE = 'BASE TABLE'
          ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION",
        db.name
    ));
    for line in rows.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        out.entry(f[0].to_string())
            .or_default()
            .push((f[1].to_string(), my_kind(f[2], f[3])));
    }
    out
}

fn my_table(db: &MyDb, table: &str, cols: &[(String, Kind)]) -> TableRows {
    let exprs: Vec<String> = cols
        .iter()
        .map(|(c, k)| match k {
            Kind::Binary => format!("HEX(`{c}`)"),
            Kind::Bits => format!("HEX(BIN(`{c}`))"),
            _ => format!("HEX(CONVERT(`{c}` USING utf8mb4))"),
        })
        .collect();
    let out = db.sql(&format!("SELECT {} FROM `{table}`", exprs.join(", ")));
    out.lines()
        .map(|l| {
            l.split('\t')
                .zip(cols)
                .map(|(v, (_, k))| match (v, k) {
                    ("NULL", _) => None,
                    (v, Kind::Binary) => Some(v.to_string()),
                    (v, _) => Some(unhex_text(v)),
                })
                .collect()
        })
        .collect()
}

fn pg_table(db: &PgDb, table: &str, cols: &[(String, Kind)]) -> TableRows {
    let q = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
    let exprs: Vec<String> = cols
        .iter()
        .map(|(c, k)| match k {
            Kind::Binary => format!("encode({}, 'hex')", q(c)),
            // format() prints with the type's output function, as a dump
            // reads it (`::text` would add a netmask to an inet).
            _ => format!(
                "CASE WHEN {c} IS NOT NULL THEN encode(convert_to(format('%s', {c}), 'UTF8'), 'hex') END",
                c = q(c)
            ),
        })
        .collect();
    let out = psql_bytes(
        &db.name,
        &format!(
            "SET TimeZone = 'UTC'; COPY (SELECT {} FROM {}) TO STDOUT",
            exprs.join(", "),
            q(table)
        ),
    );
    String::from_utf8(out)
        .expect("hex is ASCII")
        .lines()
        .map(|l| {
            l.split('\t')
                .zip(cols)
                .map(|(v, (_, k))| match (v, k) {
                    ("\\N", _) => None,
                    (v, Kind::Binary) => Some(v.to_string()),
                    (v, _) => Some(unhex_text(v)),
                })
                .collect()
        })
        .collect()
}

fn lite_table(db: &SqliteDb, table: &str, cols: &[(String, Kind)]) -> TableRows {
    use rusqlite::types::ValueRef;
    let q = |c: &str| format!("\"{}\"", c.replace('"', "\"\""));
    let names: Vec<String> = cols.iter().map(|(c, _)| q(c)).collect();
    let conn = db.conn();
    let mut stmt = conn
        .prepare(&format!("SELECT {} FROM {}", names.join(", "), q(table)))
        .expect("prepare");
    let rows = stmt
        .query_map([], |r| {
            (0..cols.len())
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        ValueRef::Null => None,
                        ValueRef::Integer(v) => Some(v.to_string()),
                        ValueRef::Real(v) => Some(format!("{v:?}")),
                        ValueRef::Text(t) => Some(String::from_utf8(t.to_vec()).expect("UTF-8")),
                        ValueRef::Blob(b) => Some(hex::encode(b)),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .expect("query")
        .collect::<Result<Vec<_>, _>>()
        .expect("rows");
    rows
}

/// Normalise every value and sort the rows.
fn normalised(rows: TableRows, cols: &[(String, Kind)]) -> TableRows {
    let mut out: TableRows = rows
        .into_iter()
        .map(|r| {
            r.into_iter()
                .zip(cols)
                .map(|(v, (_, k))| normalise(*k, v))
                .collect()
        })
        .collect();
    out.sort();
    out
}

fn assert_same(stage: &str, table: &str, cols: &[(String, Kind)], a: &TableRows, b: &TableRows) {
    assert_eq!(
        a.len(),
        b.len(),
        "{stage}: table {table} has {} rows, the start {}",
        b.len(),
        a.len()
    );
    for (ra, rb) in a.iter().zip(b) {
        for ((va, vb), (c, _)) in ra.iter().zip(rb).zip(cols) {
            assert_eq!(
                va, vb,
                "{stage}: table {table}, column {c} differs from the start (rows {ra:?} / {rb:?})"
            );
        }
    }
}

// ------------------------------------------------------------ Chinook

/// MySQL -> PostgreSQL -> SQLite -> MySQL: every table equal to the start
/// at every stage, value by value, under the normalised comparison.
#[test]
fn chinook_around_the_three_engines() {
    let dir = tempdir();
    let start = my_chinook();
    let columns = my_columns(&start);
    assert_eq!(columns.len(), 11, "Chinook has 11 tables");
    let expected: BTreeMap<&String, TableRows> = columns
        .iter()
        .map(|(t, cols)| (t, normalised(my_table(&start, t, cols), cols)))
        .collect();
    assert_eq!(expected[&"Track".to_string()].len(), 3503);

    let a = dir.path().join("from-mysql.haul");
    dump(&start.url(), &a);
    let pg = PgDb::new("haul_xe_pg");
    restore(&a, &pg.url(), &[]).ok();
    for (t, cols) in &columns {
        let got = normalised(pg_table(&pg, t, cols), cols);
        assert_same("postgres", t, cols, &expected[t], &got);
    }

    let b = dir.path().join("from-pg.haul");
    dump(&pg.url(), &b);
    let lite = SqliteDb::new("chinook");
    restore(&b, &lite.url(), &[]).ok();
    for (t, cols) in &columns {
        let got = normalised(lite_table(&lite, t, cols), cols);
        assert_same("sqlite", t, cols, &expected[t], &got);
    }

    let c = dir.path().join("from-sqlite.haul");
    dump(&lite.url(), &c);
    let end = MyDb::new("haul_xe_end");
    restore(&c, &end.url(), &[]).ok();
    assert_eq!(
        my_columns(&end).keys().collect::<Vec<_>>(),
        columns.keys().collect::<Vec<_>>()
    );
    for (t, cols) in &columns {
        let got = normalised(my_table(&end, t, cols), cols);
        assert_same("mysql at the end", t, cols, &expected[t], &got);
    }
    // Keys and foreign keys came along.
    assert!(
        psql_fails(&pg.name, "INSERT INTO \"Album\" VALUES (1, 'dup', 1)"),
        "the primary key holds on PostgreSQL"
    );
    let fks = end.sql(&format!(
        "SELECT count(*) FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = '{}'",
        end.name
    ));
    assert_eq!(fks.trim(), "11");
}

// ------------------------------------------------------ hard values

mod apps;
mod copy;
mod filmrental;
mod hard_values;
mod pgloader;
mod pgschemas;
mod spatial;
