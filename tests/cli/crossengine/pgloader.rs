//! pgloader's own test databases (fixtures/cross/pgloader_my.sql, adapted
//! from its test/mysql/my.sql, and fixtures/cross/pgloader_sqlite.sql, from
//! its test/sqlite/sqlite.db) moved by `restore` and `copy`: every row equal
//! under the normalised comparison, what is lost named (exit 8), and what
//! cannot be carried stopping with the table, row and column named.

use super::*;

/// Tables compared value by value (the others are checked on their own).
fn only(
    columns: &BTreeMap<String, Vec<(String, Kind)>>,
    skip: &[&str],
) -> BTreeMap<String, Vec<(String, Kind)>> {
    columns
        .iter()
        .filter(|(t, _)| !skip.contains(&t.as_str()))
        .map(|(t, c)| (t.clone(), c.clone()))
        .collect()
}

fn same_rows(
    stage: &str,
    columns: &BTreeMap<String, Vec<(String, Kind)>>,
    start: impl Fn(&str, &[(String, Kind)]) -> TableRows,
    end: impl Fn(&str, &[(String, Kind)]) -> TableRows,
) {
    for (t, cols) in columns {
        let a = normalised(start(t, cols), cols);
        let b = normalised(end(t, cols), cols);
        assert_same(stage, t, cols, &a, &b);
    }
}

/// pgloader's MySQL fixture into PostgreSQL and SQLite, with the zero dates
/// named as NULL; its gbk column (`funny_string`) decoded to UTF-8.
#[test]
fn pgloader_mysql_fixture_moves() {
    let dir = tempdir();
    let src = my_fixture("haul_xe_pgl_my", "cross/pgloader_my.sql");
    // More gbk text than the fixture's one value (bytes A380).
    src.sql("INSERT INTO funny_string VALUES (UNHEX('C4E3BAC3')), (UNHEX('D6D0')), ('ab'), (NULL)");
    let columns = my_columns(&src);
    assert_eq!(columns.len(), 16, "{columns:?}");
    let a = dir.path().join("my.haul");
    // Two of its tables are MyISAM: the dump says they are not in the snapshot.
    let r = haul(&["dump", &src.url(), "-o", a.to_str().unwrap()]).expect(8);
    assert!(r.stderr.contains("races (MyISAM)"), "{}", r.stderr);
    // `geom` is PostGIS there (tests/cli/crossengine/spatial.rs).
    let compared = only(&columns, &["funny_string", "geom"]);

    let pg = PgDb::new("haul_xe_pgl_pg");
    let r = restore(&a, &pg.url(), &[]).expect(8);
    for said in [
        "table races, column date: 2 zero date(s) ('0000-00-00') loaded as NULL",
        "table countdata_template, column flags: default b'0' left out",
    ] {
        assert!(r.stderr.contains(said), "{said:?} not in:\n{}", r.stderr);
    }
    // Zero dates are NULL there: races.date is checked on its own.
    let mut compared = compared;
    if let Some(c) = compared.get_mut("races") {
        c.retain(|(n, _)| n != "date");
    }
    assert_eq!(
        pg.sql("SELECT \"raceId\", date FROM races ORDER BY 1"),
        "1|2009-03-29\n2|\n3|\n"
    );
    same_rows(
        "mysql -> postgres",
        &compared,
        |t, c| my_table(&src, t, c),
        |t, c| pg_table(&pg, t, c),
    );
    assert_eq!(
        pg.sql("SELECT ST_AsText(p), ST_NumPoints(l) FROM geom"),
        "POINT(1 1)|12\n"
    );
    let pg2 = PgDb::new("haul_xe_pgl_pg2");
    haul(&["copy", &src.url(), &pg2.url()]).expect(8);
    same_rows(
        "mysql -> postgres (copy)",
        &compared,
        |t, c| my_table(&src, t, c),
        |t, c| pg_table(&pg2, t, c),
    );
    // New rows go in past the restored ids.
    assert_eq!(
        pg.sql(
            "INSERT INTO countdata_template (measurement_id, flags) VALUES (3, B'1') RETURNING id"
        ),
        "3\n"
    );

    let lite = SqliteDb::new("pgl_my");
    restore(&a, &lite.url(), &[]).expect(8);
    same_rows(
        "mysql -> sqlite",
        &only(&columns, &["funny_string", "races"]),
        |t, c| my_table(&src, t, c),
        |t, c| lite_table(&lite, t, c),
    );
    let lite2 = SqliteDb::new("pgl_my_copy");
    haul(&["copy", &src.url(), &lite2.url()]).expect(8);
    same_rows(
        "mysql -> sqlite (copy)",
        &only(&columns, &["funny_string", "races"]),
        |t, c| my_table(&src, t, c),
        |t, c| lite_table(&lite2, t, c),
    );

    // funny_string, against MariaDB's own reading of it as UTF-8.
    let mut want = sorted(&src.sql(
        "SELECT COALESCE(HEX(CONVERT(s USING utf8mb4)), 'NULL') FROM funny_string \
         WHERE HEX(s) <> 'A380' OR s IS NULL",
    ));
    assert!(want.contains(&hex::encode_upper("你好")), "{want:?}");
    // A380 is in GBK's user-defined area: MariaDB reads it as '?',
    // GB18030 (encoding_rs, Python's gb18030 codec) as U+E5C5.
    assert_eq!(
        src.sql("SELECT HEX(CONVERT(s USING utf8mb4)) FROM funny_string WHERE HEX(s) = 'A380'"),
        "3F\n"
    );
    want.push(hex::encode_upper("\u{e5c5}"));
    want.sort();
    let pg_funny =
        "SELECT COALESCE(upper(encode(convert_to(s, 'UTF8'), 'hex')), 'NULL') FROM funny_string";
    let lite_funny = "SELECT CASE WHEN s IS NULL THEN 'NULL' ELSE hex(s) END FROM funny_string";
    assert_eq!(sorted(&pg.sql(pg_funny)), want, "mysql -> postgres");
    assert_eq!(sorted(&pg2.sql(pg_funny)), want, "mysql -> postgres (copy)");
    for (db, stage) in [
        (&lite, "mysql -> sqlite"),
        (&lite2, "mysql -> sqlite (copy)"),
    ] {
        let mut got = sqlite_rows(&db.conn(), lite_funny);
        got.sort();
        assert_eq!(got, want, "{stage}");
    }

    // A value that is not valid in its character set stops the load, named
    // (MariaDB takes any byte in a single-byte set; C0 is not ISO-8859-8).
    let bad = MyDb::new("haul_xe_pgl_bad");
    bad.sql("CREATE TABLE bad_text (s varchar(4) CHARACTER SET hebrew); INSERT INTO bad_text VALUES (UNHEX('E0C0'))");
    assert_eq!(bad.sql("SELECT HEX(s) FROM bad_text"), "E0C0\n");
    let pg3 = PgDb::new("haul_xe_pgl_pg3");
    let r = haul(&["copy", &bad.url(), &pg3.url()]).expect(1);
    let e = error_line(&r);
    assert!(
        e.contains("table bad_text")
            && e.contains("chunk")
            && e.contains("column s: the value is not valid hebrew text"),
        "{}",
        r.stderr
    );
}

fn sorted(lines: &str) -> Vec<String> {
    let mut v: Vec<String> = lines.lines().map(String::from).collect();
    v.sort();
    v
}

/// The comparison kind of a SQLite column, by its declared type.
fn lite_columns(db: &SqliteDb) -> BTreeMap<String, Vec<(String, Kind)>> {
    let conn = db.conn();
    let tables = sqlite_rows(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    );
    let mut out = BTreeMap::new();
    for t in tables {
        let cols = sqlite_rows(
            &conn,
            &format!("SELECT name, upper(type) FROM pragma_table_info('{t}')"),
        );
        let cols = cols
            .iter()
            .map(|l| {
                let (n, ty) = l.split_once('|').expect("name|type");
                let kind = if ty.contains("INT") {
                    Kind::Int
                } else if ty.contains("REAL") || ty.contains("DOUB") || ty.contains("FLOA") {
                    Kind::Float8
                } else if ty.contains("DATE") || ty.contains("TIME") {
                    Kind::Timestamp
                } else if ty.contains("BLOB") {
                    Kind::Binary
                } else if ty.contains("NUMERIC") || ty.contains("DECIMAL") {
                    Kind::Decimal
                } else {
                    Kind::Text
                };
                (n.to_string(), kind)
            })
            .collect();
        out.insert(t, cols);
    }
    out
}

/// pgloader's SQLite fixture into PostgreSQL and MySQL. Numbers in its
/// DATETIME columns (`stamps`) load as NULL, named; a text in an integer
/// column (`intege`) and NULLs in a primary key (`autoinc`) stop the
/// restore, naming the table and value.
#[test]
fn pgloader_sqlite_fixture_moves() {
    let dir = tempdir();
    let src = SqliteDb::new("pgl_lite");
    let sql = std::fs::read_to_string(fixtures().join("cross/pgloader_sqlite.sql"))
        .expect("read the fixture");
    src.conn().execute_batch(&sql).expect("load the fixture");
    let columns = lite_columns(&src);
    assert_eq!(columns.len(), 20, "{columns:?}");
    let a = dir.path().join("lite.haul");
    dump(&src.url(), &a);
    let keep = ["--exclude-tables", "intege,autoinc"];
    let compared = only(&columns, &["intege", "autoinc", "stamps"]);
    let stamps_said = "table stamps, column EndTime: 2 number(s) in a SQLite date column (not a date) loaded as NULL";

    let pg = PgDb::new("haul_xe_pgl_lpg");
    let r = restore(&a, &pg.url(), &keep).expect(8);
    assert!(r.stderr.contains(stamps_said), "{}", r.stderr);
    same_rows(
        "sqlite -> postgres",
        &compared,
        |t, c| lite_table(&src, t, c),
        |t, c| pg_table(&pg, t, c),
    );
    assert_eq!(
        pg.sql("SELECT \"StartTime\", \"EndTime\" FROM stamps ORDER BY 1"),
        "2014-07-30 16:18:51|\n|\n|\n"
    );
    assert_eq!(
        pg.sql("INSERT INTO \"user\" (name) VALUES ('new') RETURNING id"),
        "5\n"
    );
    let pg2 = PgDb::new("haul_xe_pgl_lpg2");
    let r = haul(&["copy", &src.url(), &pg2.url(), keep[0], keep[1]]).expect(8);
    assert!(r.stderr.contains(stamps_said), "{}", r.stderr);
    same_rows(
        "sqlite -> postgres (copy)",
        &compared,
        |t, c| lite_table(&src, t, c),
        |t, c| pg_table(&pg2, t, c),
    );

    let my = MyDb::new("haul_xe_pgl_lmy");
    let r = restore(&a, &my.url(), &keep).expect(8);
    assert!(r.stderr.contains(stamps_said), "{}", r.stderr);
    same_rows(
        "sqlite -> mysql",
        &compared,
        |t, c| lite_table(&src, t, c),
        |t, c| my_table(&my, t, c),
    );
    let my2 = MyDb::new("haul_xe_pgl_lmy2");
    haul(&["copy", &src.url(), &my2.url(), keep[0], keep[1]]).expect(8);
    same_rows(
        "sqlite -> mysql (copy)",
        &compared,
        |t, c| lite_table(&src, t, c),
        |t, c| my_table(&my2, t, c),
    );

    // What cannot go stops the load, naming the row and column.
    for (tables, said) in [
        ("intege", "table intege, data/"),
        ("intege", "\"toto\""),
        (
            "autoinc",
            "column \"id\" of relation \"autoinc\" contains null values",
        ),
    ] {
        let pg3 = PgDb::new("haul_xe_pgl_lpg3");
        let r = restore(&a, &pg3.url(), &["--tables", tables]).expect(1);
        assert!(error_line(&r).contains(said), "{tables}: {}", r.stderr);
    }
}
