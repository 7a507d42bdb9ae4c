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
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob" => Kind::Binary,
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

#[test]
fn mysql_hard_values_into_postgres_and_sqlite() {
    let dir = tempdir();
    let src = my_fixture("haul_xe_my", "cross/mysql.sql");
    let a = dir.path().join("my.haul");
    dump(&src.url(), &a);

    // PostgreSQL: the plan shows each column's type; zero dates load as
    // NULL, counted per column (exit 8).
    let pg = PgDb::new("haul_xe_my_pg");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    for line in [
        "id int(10) unsigned -> bigint",
        "flag tinyint(1) -> boolean",
        "e enum('small','medium','large') -> text CHECK (\"e\" IN ('small', 'medium', 'large'))",
        "ts timestamp(6) -> timestamp with time zone",
        "big bigint(20) unsigned -> numeric(20)",
    ] {
        assert!(plan.contains(line), "{line:?} not in:\n{plan}");
    }
    let r = restore(&a, &pg.url(), &["--exclude-tables", "wide"]).expect(8);
    assert!(
        r.stderr
            .contains("table user, column dt: 1 zero date(s) ('0000-00-00') loaded as NULL"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("table user, column dtm: 1 zero date"),
        "{}",
        r.stderr
    );
    let generated =
        "table user: generated column twice is created as a plain column, NULL in every row";
    assert!(r.stderr.contains(generated), "{}", r.stderr);
    assert_eq!(
        pg.sql(
            "SELECT id, \"order\", \"Mixed Case\", \"index\", small, medium, flag, price, money, f, d, b, e, s,
                    dt, dtm, ts, j, encode(bl, 'hex'), lat FROM \"user\" ORDER BY id"
        ),
        "1|10|Ünïcode ✓|255|65535|16777215|t|12345678901234.123456|1.10|1.5|0.1|1010101010|medium|a,c|\
         2024-02-29|2024-02-29 23:59:59.5|2038-01-19 03:14:07.999999+00|{\"k\": [1, 2.5, \"é\"], \"n\": null}|00ff5c0a0d|café€\n\
         2||second|0|0|0|f|-0.000001|-99999999.99|-2.25|-1e+300|0000000001|small||||1970-01-01 00:00:01+00|[]||plain\n\
         3|||||||||||||||||||\n"
    );
    assert_eq!(
        pg.sql("SELECT txt = E'tab\\there\\nnewline \\\\ \"q\"' FROM \"user\" WHERE id = 1"),
        "t\n"
    );
    assert_eq!(
        pg.sql(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
               FROM pg_attribute WHERE attrelid = '\"user\"'::regclass AND attnum > 0
                AND attname IN ('id', 'index', 'small', 'medium', 'flag', 'price', 'f', 'b', 'e', 'dtm', 'ts', 'j', 'bl')"
        ),
        "id bigint, index smallint, small integer, medium integer, flag boolean, price numeric(20,6), \
         f real, b bit varying(10), e text, dtm timestamp without time zone, ts timestamp with time zone, \
         j json, bl bytea\n"
    );
    // Enum and set labels are checked; AUTO_INCREMENT became an identity
    // that continues past the loaded ids.
    assert_eq!(
        pg.sql("INSERT INTO \"user\" (e, s) VALUES ('large', 'b,c') RETURNING id"),
        "4\n"
    );
    assert!(psql_fails(
        &pg.name,
        "INSERT INTO \"user\" (e) VALUES ('huge')"
    ));
    assert!(psql_fails(
        &pg.name,
        "INSERT INTO \"user\" (s) VALUES ('a,x')"
    ));
    // Index names are per table on MySQL, per schema here.
    assert_eq!(
        pg.sql("SELECT string_agg(indexname, ',' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public'"),
        "order_order,order_pkey,user_Mixed Case,user_order,user_pkey\n"
    );
    assert!(psql_fails(&pg.name, "INSERT INTO \"order\" VALUES (9, 99)"));

    // BIGINT UNSIGNED fits NUMERIC(20) on PostgreSQL, not SQLite's INTEGER.
    let pg_wide = PgDb::new("haul_xe_my_pgw");
    restore(&a, &pg_wide.url(), &["--tables", "wide"]).ok();
    assert_eq!(
        pg_wide.sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'wide'::regclass AND attname = 'big'"),
        "numeric(20,0)\n"
    );
    assert_eq!(
        pg_wide.sql("SELECT big FROM wide ORDER BY id"),
        "9223372036854775807\n18446744073709551615\n"
    );

    // --zero-dates error refuses them, naming table, chunk and column.
    let pg_strict = PgDb::new("haul_xe_my_pgs");
    let r = restore(
        &a,
        &pg_strict.url(),
        &["--tables", "user", "--zero-dates", "error"],
    )
    .expect(1);
    let line = error_line(&r);
    assert!(
        line.contains("table user, data/") && line.contains("row 2, column dt: zero date"),
        "{line}"
    );

    // SQLite keeps zero dates (it stores dates as text) and exact decimals.
    let lite = SqliteDb::new("from_mysql");
    let r = restore(&a, &lite.url(), &["--exclude-tables", "wide"]).expect(8);
    assert!(r.stderr.contains(generated), "{}", r.stderr);
    assert_eq!(
        lite_row(
            &lite,
            "SELECT id, \"order\", \"Mixed Case\", \"index\", flag, price, typeof(price), money, f, d, b, e, s,
                    dt, dtm, ts, j, bl, lat FROM \"user\" ORDER BY id"
        ),
        "1|10|Ünïcode ✓|255|1|12345678901234.123456|text|1.1|1.5|0.1|1010101010|medium|a,c|\
         2024-02-29|2024-02-29 23:59:59.500000|2038-01-19 03:14:07.999999|{\"k\": [1, 2.5, \"é\"], \"n\": null}|x'00ff5c0a0d'|café€\n\
         2|NULL|second|0|0|-0.000001|text|-99999999.99|-2.25|-1e300|0000000001|small||\
         0000-00-00|0000-00-00 00:00:00.000000|1970-01-01 00:00:01.000000|[]|x''|plain\n\
         3|NULL|NULL|NULL|NULL|NULL|null|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL"
    );
    let conn = lite.conn();
    assert!(conn
        .execute("INSERT INTO \"user\" (e) VALUES ('huge')", [])
        .is_err());
    conn.execute("INSERT INTO \"user\" (e) VALUES ('large')", [])
        .unwrap();
    assert_eq!(conn.last_insert_rowid(), 4);
    assert_eq!(
        lite_row(&lite, "SELECT group_concat(name) FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name)"),
        "order_order,user_order"
    );

    let lite_wide = SqliteDb::new("wide");
    let r = restore(&a, &lite_wide.url(), &["--tables", "wide"]).expect(1);
    let line = error_line(&r);
    assert!(
        line.contains("table wide, data/")
            && line.contains("row 2, column big: \"18446744073709551615\" does not fit SQLite's 64-bit signed integer"),
        "{line}"
    );

    // A name longer than PostgreSQL's 63 bytes is refused before any write.
    let long = MyDb::new("haul_xe_long");
    let name = "t".repeat(64);
    long.sql(&format!("CREATE TABLE `{name}` (id INT PRIMARY KEY)"));
    let l = dir.path().join("long.haul");
    dump(&long.url(), &l);
    let pg_long = PgDb::new("haul_xe_long_pg");
    let r = haul(&["plan", l.to_str().unwrap(), &pg_long.url()]).expect(5);
    assert!(
        r.stderr.contains(&format!(
            "table \"{name}\" is 64 bytes long; PostgreSQL names are at most 63 bytes"
        )),
        "{}",
        r.stderr
    );
    restore(&l, &pg_long.url(), &[]).expect(5);
    assert_eq!(
        pg_long.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        "0\n"
    );
}

#[test]
fn postgres_hard_values_into_mysql_and_sqlite() {
    let dir = tempdir();
    let src = PgDb::new("haul_xe_pg");
    src.script(&std::fs::read(fixtures().join("cross/pg.sql")).expect("read the fixture"));
    let a = dir.path().join("pg.haul");
    dump(&src.url(), &a);

    let my = MyDb::new("haul_xe_pg_my");
    restore(&a, &my.url(), &["--exclude-tables", "edge"]).ok();
    assert_eq!(
        my_row(
            &my,
            "SELECT id, `order`, `Mixed Case`, `index`, flag, n, big, r, dp, ts, tz, d, t, iv, u, ip, j, jb,
                    HEX(`by`), m, arr, JSON_LENGTH(tarr), JSON_VALUE(tarr, '$[1]'), JSON_VALUE(tarr, '$[4]'),
                    BIN(bits) FROM `user` ORDER BY id"
        ),
        "1\t10\tÜnïcode ✓\t7\t1\t12345678.1234\t12345678901234567890.0123456789\t1.5\t0.1\t\
         2024-02-29 23:59:59.500000\t2024-06-01 10:00:00.000000\t2024-02-29\t23:59:59.999999\t1 day 02:03:04\t\
         a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t192.168.0.1/24\t{\"a\": 1, \"b\": [true, null]}\t\
         {\"a\": \"x\", \"b\": [1, 2]}\t00FF5C0A0D\thappy\t[1,2,null]\t5\tc,d\tq\"uote\t101\n\
         2\tNULL\t\t-32768\t0\t-0.0001\t0.0000000000\t-2.25\t-1e300\t1970-01-01 00:00:00.000000\t\
         2000-01-01 05:00:00.000000\t0001-01-01\t00:00:00.000000\t-3 mons\t00000000-0000-0000-0000-000000000000\t\
         ::1\t[]\t{}\t\tsad\t[]\t0\tNULL\tNULL\t0\n\
         3\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL"
    );
    assert_eq!(
        my_row(
            &my,
            "SELECT vc = 'tab\\tand \\\\ backslash' FROM `user` WHERE id = 1"
        ),
        "1"
    );
    assert_eq!(
        my_row(
            &my,
            &format!(
                "SELECT GROUP_CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE ORDER BY ORDINAL_POSITION SEPARATOR ', ')
                   FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'user'
                    AND COLUMN_NAME IN ('id', 'flag', 'big', 'tz', 'u', 'm', 'bits')",
                my.name
            )
        ),
        "id int(11), flag tinyint(1), big decimal(30,10), tz datetime(6), u char(36), m enum('sad','ok','happy'), bits bit(8)"
    );
    my.sql("INSERT INTO `user` (vc) VALUES ('next')");
    assert_eq!(my_row(&my, "SELECT MAX(id) FROM `user`"), "4");
    assert_eq!(
        my_row(&my, "SELECT COUNT(*) FROM `order` WHERE user_id = 1"),
        "2"
    );

    // 'infinity' has no MySQL DATETIME: the chunk fails, naming it.
    let my_edge = MyDb::new("haul_xe_pg_mye");
    let r = restore(&a, &my_edge.url(), &["--tables", "edge"]).expect(1);
    let line = error_line(&r);
    assert!(
        line.contains("table edge, data/") && line.contains("column 'ts' at row 2"),
        "{line}"
    );

    let lite = SqliteDb::new("from_pg");
    restore(&a, &lite.url(), &["--exclude-tables", "edge"]).ok();
    assert_eq!(
        lite_row(
            &lite,
            "SELECT id, \"order\", \"Mixed Case\", \"index\", flag, n, big, typeof(big), r, dp, ts, tz, d, t, iv, u, ip,
                    j, jb, \"by\", m, arr, tarr, bits FROM \"user\" ORDER BY id"
        ),
        "1|10|Ünïcode ✓|7|1|12345678.1234|12345678901234567890.0123456789|text|1.5|0.1|\
         2024-02-29 23:59:59.5|2024-06-01 10:00:00|2024-02-29|23:59:59.999999|1 day 02:03:04|\
         a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|192.168.0.1/24|{\"a\": 1, \"b\": [true, null]}|{\"a\": \"x\", \"b\": [1, 2]}|\
         x'00ff5c0a0d'|happy|[1,2,null]|[\"a b\",\"c,d\",null,\"NULL\",\"q\\\"uote\"]|101\n\
         2|NULL||-32768|0|-0.0001|0.0000000000|text|-2.25|-1e300|1970-01-01 00:00:00|2000-01-01 05:00:00|0001-01-01|\
         00:00:00|-3 mons|00000000-0000-0000-0000-000000000000|::1|[]|{}|x''|sad|[]|[]|0\n\
         3|NULL|NULL|NULL|NULL|NULL|NULL|null|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL"
    );
    let conn = lite.conn();
    assert!(conn
        .execute("INSERT INTO \"user\" (m) VALUES ('angry')", [])
        .is_err());
    conn.execute("INSERT INTO \"user\" (m) VALUES ('ok')", [])
        .unwrap();
    assert_eq!(conn.last_insert_rowid(), 4);
}

#[test]
fn sqlite_hard_values_into_postgres_and_mysql() {
    let dir = tempdir();
    let src = SqliteDb::new("hard");
    let sql =
        std::fs::read_to_string(fixtures().join("cross/sqlite.sql")).expect("read the fixture");
    src.conn().execute_batch(&sql).expect("load the fixture");
    let a = dir.path().join("lite.haul");
    dump(&src.url(), &a);

    let pg = PgDb::new("haul_xe_lite_pg");
    restore(&a, &pg.url(), &["--exclude-tables", "odd"]).ok();
    assert_eq!(
        pg.sql(
            "SELECT id, \"order\", \"Mixed Case\", \"index\", flag, price, r, born, seen, doc, encode(data, 'hex'),
                    anything FROM \"user\" ORDER BY id"
        ),
        "1|10|Ünïcode ✓|7|t|1.10|1.5|2024-02-29|2024-02-29 23:30:00|{\"a\": [1, 2.5]}|00ff5c0a0d|42\n\
         2|||-1|f|-99999999.99|-2.25|1970-01-01|1999-12-31 23:59:59.5|[]||text\n\
         3|||||||||||\n\
         9007199254740993||max|||||||||1.25\n"
    );
    assert_eq!(
        pg.sql("SELECT note = E'tab\\tand \\\\ backslash' FROM \"user\" WHERE id = 1"),
        "t\n"
    );
    assert_eq!(
        pg.sql("SELECT \"select\", \"user id\", \"two words\" FROM \"Mixed Case\" ORDER BY 1"),
        "1|1|one\n2||\n"
    );
    assert!(psql_fails(
        &pg.name,
        "INSERT INTO \"Mixed Case\" VALUES (3, 5, 'no such user')"
    ));
    assert_eq!(
        pg.sql("INSERT INTO \"user\" (note) VALUES ('next') RETURNING id"),
        "9007199254740994\n"
    );

    let my = MyDb::new("haul_xe_lite_my");
    restore(&a, &my.url(), &["--exclude-tables", "odd"]).ok();
    assert_eq!(
        my_row(
            &my,
            "SELECT id, `order`, `Mixed Case`, `index`, flag, price, r, born, seen, doc, HEX(data), anything
               FROM `user` ORDER BY id"
        ),
        "1\t10\tÜnïcode ✓\t7\t1\t1.10\t1.5\t2024-02-29\t2024-02-29 23:30:00.000000\t{\"a\": [1, 2.5]}\t00FF5C0A0D\t42\n\
         2\tNULL\t\t-1\t0\t-99999999.99\t-2.25\t1970-01-01\t1999-12-31 23:59:59.500000\t[]\t\ttext\n\
         3\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\n\
         9007199254740993\tNULL\tmax\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\tNULL\t1.25"
    );
    assert_eq!(
        my_row(
            &my,
            "SELECT `select`, `user id`, `two words` FROM `Mixed Case` ORDER BY 1"
        ),
        "1\t1\tone\n2\tNULL\tNULL"
    );
    my.sql("INSERT INTO `user` (note) VALUES ('next')");
    assert_eq!(
        my_row(&my, "SELECT MAX(id) FROM `user`"),
        "9007199254740994"
    );

    // A blob in an untyped column has no text form on either engine.
    let (pg_odd, my_odd) = (PgDb::new("haul_xe_lite_pgo"), MyDb::new("haul_xe_lite_myo"));
    for (target, url) in [("pg", pg_odd.url()), ("my", my_odd.url())] {
        let r = restore(&a, &url, &["--tables", "odd"]).expect(1);
        let line = error_line(&r);
        assert!(
            line.contains("table odd, data/")
                && line.contains(
                    "row 1, column anything: a blob (x'00ff') of an untyped SQLite column"
                ),
            "{target}: {line}"
        );
    }
}

// ------------------------------------------------ into SQLite and back

/// The comparison kind of a PostgreSQL column (arrays are left out: they
/// come back as JSON).
fn pg_columns(db: &PgDb) -> BTreeMap<String, Vec<(String, Kind)>> {
    let mut out: BTreeMap<String, Vec<(String, Kind)>> = BTreeMap::new();
    let rows = db.sql(
        "SELECT table_name, column_name, data_type FROM information_schema.columns
          WHERE table_schema = 'public' ORDER BY table_name, ordinal_position",
    );
    for line in rows.lines() {
        let f: Vec<&str> = line.split('|').collect();
        let kind = match f[2] {
            "smallint" | "integer" | "bigint" => Kind::Int,
            "numeric" => Kind::Decimal,
            "real" => Kind::Float4,
            "double precision" => Kind::Float8,
            "boolean" => Kind::Bool,
            "date" => Kind::Date,
            "timestamp without time zone" | "timestamp with time zone" => Kind::Timestamp,
            "json" | "jsonb" => Kind::Json,
            "bytea" => Kind::Binary,
            "ARRAY" => continue,
            _ => Kind::Text,
        };
        out.entry(f[0].to_string())
            .or_default()
            .push((f[1].to_string(), kind));
    }
    out
}

/// MySQL's and PostgreSQL's hard values restored into SQLite and from
/// there into a new database of their own engine are equal to the start.
#[test]
fn hard_values_into_sqlite_and_back() {
    let dir = tempdir();

    let my = my_fixture("haul_xe_back_my", "cross/mysql.sql");
    let mut columns = my_columns(&my);
    columns.remove("wide");
    for cols in columns.values_mut() {
        // Generated: recomputed on MySQL, a plain column through SQLite.
        cols.retain(|(c, _)| c != "twice");
    }
    let a = dir.path().join("my.haul");
    dump(&my.url(), &a);
    let lite = SqliteDb::new("my_back");
    restore(&a, &lite.url(), &["--exclude-tables", "wide"]).expect(8);
    let b = dir.path().join("my-lite.haul");
    dump(&lite.url(), &b);
    let end = MyDb::new("haul_xe_back_my_end");
    restore(&b, &end.url(), &[]).ok();
    for (t, cols) in &columns {
        let start = normalised(my_table(&my, t, cols), cols);
        let got = normalised(my_table(&end, t, cols), cols);
        assert_same("mysql -> sqlite -> mysql", t, cols, &start, &got);
    }

    let pg = PgDb::new("haul_xe_back_pg");
    pg.script(&std::fs::read(fixtures().join("cross/pg.sql")).expect("read the fixture"));
    let columns = pg_columns(&pg);
    let a = dir.path().join("pg.haul");
    dump(&pg.url(), &a);
    let lite = SqliteDb::new("pg_back");
    restore(&a, &lite.url(), &[]).ok();
    let b = dir.path().join("pg-lite.haul");
    dump(&lite.url(), &b);
    let end = PgDb::new("haul_xe_back_pg_end");
    restore(&b, &end.url(), &[]).ok();
    for (t, cols) in &columns {
        let start = normalised(pg_table(&pg, t, cols), cols);
        let got = normalised(pg_table(&end, t, cols), cols);
        assert_same("postgres -> sqlite -> postgres", t, cols, &start, &got);
    }
    assert_eq!(
        end.sql("SELECT arr, tarr FROM \"user\" WHERE id = 1"),
        "[1,2,null]|[\"a b\",\"c,d\",null,\"NULL\",\"q\\\"uote\"]\n"
    );
}

// ------------------------------------------------------ haul copy

/// The same journey as `chinook_around_the_three_engines`, server to server
/// with `haul copy` (no archive on disk).
#[test]
fn chinook_copied_around_the_three_engines() {
    let start = my_chinook();
    let columns = my_columns(&start);
    let expected: BTreeMap<&String, TableRows> = columns
        .iter()
        .map(|(t, cols)| (t, normalised(my_table(&start, t, cols), cols)))
        .collect();
    let pg = PgDb::new("haul_xc_pg");
    haul(&["copy", &start.url(), &pg.url(), "-q"]).ok();
    for (t, cols) in &columns {
        let got = normalised(pg_table(&pg, t, cols), cols);
        assert_same("copied to postgres", t, cols, &expected[t], &got);
    }
    let lite = SqliteDb::new("chinook");
    haul(&["copy", &pg.url(), &lite.url(), "-q"]).ok();
    for (t, cols) in &columns {
        let got = normalised(lite_table(&lite, t, cols), cols);
        assert_same("copied to sqlite", t, cols, &expected[t], &got);
    }
    let end = MyDb::new("haul_xc_end");
    let r = haul(&["copy", &lite.url(), &end.url(), "--json"]).ok();
    let report: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("json report");
    assert_eq!(report["command"], "copy", "{report}");
    assert_eq!(report["rows"], 15607, "{report}");
    for (t, cols) in &columns {
        let got = normalised(my_table(&end, t, cols), cols);
        assert_same("copied back to mysql", t, cols, &expected[t], &got);
    }
}

/// A sysbench-shaped table (`sbtest`), MariaDB to PostgreSQL through
/// `haul copy`: every row, the key and the index; killed mid-copy, the
/// target refuses a plain re-run and `--resume` finishes with the same rows.
#[test]
fn sbtest_mysql_to_postgres_by_copy_and_resume() {
    let src = MyDb::new("haul_sb");
    src.sql(
        "CREATE TABLE sbtest1 (id INT NOT NULL AUTO_INCREMENT, k INT NOT NULL DEFAULT 0,
           c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '',
           PRIMARY KEY (id), KEY k_1 (k)) ENGINE=InnoDB;
         INSERT INTO sbtest1 (k, c, pad)
           SELECT seq % 997, CONCAT(seq, '-', REPEAT(MD5(seq), 3)), MD5(seq * 7) FROM seq_1_to_20000;",
    );
    let fingerprint_my = src.sql(
        "SET SESSION group_concat_max_len = 1 << 30; SELECT COUNT(*), SUM(k), MD5(GROUP_CONCAT(CONCAT(id, c, pad) ORDER BY id SEPARATOR '|')) FROM sbtest1",
    );
    let fingerprint_pg = |db: &PgDb| {
        db.sql(
            "SELECT COUNT(*) || E'\\t' || SUM(k) || E'\\t' || MD5(STRING_AGG(id || c || pad, '|' ORDER BY id)) FROM sbtest1",
        )
    };
    let direct = PgDb::new("haul_sb_pg");
    haul(&[
        "copy",
        &src.url(),
        &direct.url(),
        "--jobs",
        "2",
        "--chunk-size",
        "256KiB",
        "-q",
    ])
    .ok();
    assert_eq!(fingerprint_pg(&direct), fingerprint_my, "copied rows");
    assert_eq!(
        direct.sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'sbtest1' ORDER BY indexname"),
        "CREATE INDEX sbtest1_k_1 ON public.sbtest1 USING btree (k)\nCREATE UNIQUE INDEX sbtest1_pkey ON public.sbtest1 USING btree (id)\n"
    );
    // Defaults came along; the identity continues where MariaDB's counter was.
    let next = src.sql(&format!(
        "SELECT AUTO_INCREMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'sbtest1'",
        src.name
    ));
    assert_eq!(
        direct
            .sql("INSERT INTO sbtest1 (k) VALUES (1) RETURNING id || ':' || c || ':' || pad")
            .trim(),
        format!("{}::", next.trim()),
    );

    let resumed = PgDb::new("haul_sb_pg");
    let args = [
        "copy",
        &src.url(),
        &resumed.url(),
        "--jobs",
        "2",
        "--chunk-size",
        "256KiB",
        "-q",
    ];
    let killed = haul_env(&args, &[("HAUL_FAILPOINT", "chunk:3")]);
    assert_eq!(killed.code, -1, "not killed: {}", killed.all());
    let again = haul(&args).expect(5);
    assert!(
        again.stderr.contains("haul copy") && again.stderr.contains("--resume"),
        "{}",
        again.stderr
    );
    let mut resume = args.to_vec();
    resume.push("--resume");
    haul(&resume).ok();
    assert_eq!(fingerprint_pg(&resumed), fingerprint_my, "resumed copy");
    assert_eq!(resumed.table_names(), ["sbtest1"]);
}

/// The Gogs 0.12 -> 0.13 move across engines, server to server: MariaDB's
/// 0.12 data copied into PostgreSQL's 0.13 schema with the profile. Relax,
/// backfill, probe and reapply work the same as within one engine.
#[test]
fn gogs_moved_from_mariadb_to_postgres_by_copy() {
    let old = MyDb::new("haul_xg12");
    old.script(&std::fs::read(fixtures().join("gogs/mysql-0.12.sql")).unwrap());
    let new = PgDb::new("haul_xg13");
    new.script(&std::fs::read(fixtures().join("gogs/pg-0.13.sql")).unwrap());
    let dir = tempdir();
    let lite = dir.path().join("never.db");
    let dry = haul(&[
        "copy",
        &old.url(),
        &format!("sqlite://{}", lite.display()),
        "--dry-run",
    ])
    .ok();
    assert!(dry.stdout.starts_with("copy plan: mysql"), "{}", dry.stdout);
    assert!(!lite.exists(), "a dry run leaves no SQLite file behind");
    let r = haul(&["copy", &old.url(), &new.url(), "--profile", "gogs"]).ok();
    assert!(
        r.stderr
            .contains("gogs schema 19 in the archive, 22 in the target"),
        "{}",
        r.stderr
    );
    crate::gogs::pg_check_moved(&new);
    assert_eq!(new.sql("SELECT version FROM version").trim(), "22");
}

/// Text unique on PostgreSQL can collide in MariaDB's case-insensitive
/// collation: the key is probed before it is built, the groups are listed
/// (exit 7), and once the rows are fixed `--resume` builds it.
#[test]
fn unique_text_colliding_in_mariadb_collation_is_probed() {
    let src = PgDb::new("haul_xci");
    src.sql(
        "CREATE TABLE provider (id int PRIMARY KEY, name varchar(40) NOT NULL UNIQUE);
         INSERT INTO provider VALUES (1, 'Azure'), (2, 'azure'), (3, 'github')",
    );
    let dst = MyDb::new("haul_xci");
    let r = haul(&["copy", &src.url(), &dst.url()]).expect(7);
    assert!(
        r.stderr
            .contains("table provider: unique provider_name_key (name): 2 rows with name=")
            && r.stderr.contains("--resume"),
        "{}",
        r.stderr
    );
    dst.sql("UPDATE provider SET name = 'azure-2' WHERE id = 2");
    haul(&["copy", &src.url(), &dst.url(), "--resume", "-q"]).ok();
    assert!(
        dst.sql("SHOW CREATE TABLE provider")
            .contains("UNIQUE KEY `provider_name_key` (`name`)"),
        "{}",
        dst.sql("SHOW CREATE TABLE provider")
    );
    assert_eq!(
        dst.sql("SELECT name FROM provider ORDER BY id"),
        "Azure\nazure-2\ngithub\n"
    );
}
