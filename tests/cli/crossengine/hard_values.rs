//! Hard values from each engine into the two others.

use super::*;

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
         j jsonb, bl bytea\n"
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
        "id int(11), flag tinyint(1), big decimal(30,10), tz datetime(6), u uuid, m enum('sad','ok','happy'), bits bit(8)"
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
        "[1, 2, null]|[\"a b\", \"c,d\", null, \"NULL\", \"q\\\"uote\"]\n"
    );
}

// ------------------------------------------------------ haul copy
