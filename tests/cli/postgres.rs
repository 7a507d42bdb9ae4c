//! PostgreSQL: dump, restore, verify against the source.

use crate::common::*;

#[test]
fn chinook_round_trips() {
    let src = pg_chinook();
    let dir = tempdir();
    let archive = dir.path().join("chinook.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "--jobs", "2"]).ok();
    let target = PgDb::new("haul_restored");
    haul(&["restore", a, &target.url()]).ok();
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 11, "{}", v.stdout);
    assert_eq!(target.sql("SELECT count(*) FROM track").trim(), "3503");
    // Keys and foreign keys came back.
    let cons = target.sql(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'album'::regclass ORDER BY conname",
    );
    assert_eq!(cons.trim(), "album_artist_id_fkey\nalbum_pkey");
}

/// A serial column's sequence survives `--clean` (dropping the table drops
/// the sequence it owns) and continues past the source's position, not just
/// past the restored maximum.
#[test]
fn clean_restore_keeps_sequence_position() {
    let src = PgDb::new("haul_seq");
    src.sql(
        "CREATE TABLE t (id serial PRIMARY KEY, v text);
         INSERT INTO t (v) VALUES ('a'), ('b');
         SELECT setval('t_id_seq', 100);",
    );
    let dir = tempdir();
    let archive = dir.path().join("seq.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    // Into the source itself, changed since: every key collides (exit 7);
    // abandoned, then replaced with --clean.
    src.sql("UPDATE t SET v = upper(v)");
    haul(&["restore", a, &src.url(), "-q"]).expect(7);
    haul(&["restore", a, &src.url(), "--abandon", "-q"]).ok();
    haul(&["restore", a, &src.url(), "--clean", "-q"]).ok();
    assert_eq!(
        src.sql("SELECT string_agg(v, ',' ORDER BY id) FROM t")
            .trim(),
        "a,b"
    );
    assert_eq!(
        src.sql("INSERT INTO t (v) VALUES ('c') RETURNING id")
            .trim(),
        "101"
    );
    let target = PgDb::new("haul_seq_t");
    haul(&["restore", a, &target.url(), "-q"]).ok();
    assert_eq!(
        target
            .sql("INSERT INTO t (v) VALUES ('c') RETURNING id")
            .trim(),
        "101"
    );
}

/// A partitioned table's rows live in its partitions: a dump must either
/// carry them or say it cannot, never succeed without them.
#[test]
fn partitioned_table_is_never_silently_left_out() {
    let src = PgDb::new("haul_partitioned");
    src.sql(
        "CREATE TABLE plain (id int PRIMARY KEY);
         INSERT INTO plain VALUES (1);
         CREATE TABLE measure (id int, at date NOT NULL, v text) PARTITION BY RANGE (at);
         CREATE TABLE measure_2024 PARTITION OF measure FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         CREATE TABLE measure_2025 PARTITION OF measure FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         INSERT INTO measure VALUES (1, '2024-05-05', 'a'), (2, '2025-05-05', 'b');",
    );
    let dir = tempdir();
    let archive = dir.path().join("p.haul");
    let a = archive.to_str().unwrap();
    let r = haul(&["dump", &src.url(), "-o", a]);
    if r.code == 0 {
        // Carried: the rows must come back.
        let target = PgDb::new("haul_partitioned_restored");
        haul(&["restore", a, &target.url()]).ok();
        assert_eq!(
            target.sql("SELECT count(*) FROM measure").trim(),
            "2",
            "{}",
            r.stderr
        );
    } else {
        let line = error_line(&r);
        assert!(line.contains("measure"), "{line}");
        assert!(line.contains("partitioned"), "{line}");
        assert!(!archive.exists());
        // Leaving it out explicitly works.
        haul(&["dump", &src.url(), "-o", a, "--exclude-tables", "measure"]).ok();
        let i = haul(&["inspect", a]).ok();
        assert!(i.stdout.contains("plain"), "{}", i.stdout);
    }
}

/// A column of a user-defined domain type: the archive must restore, or the
/// dump must refuse up front, naming the column.
#[test]
fn domain_column_restores_or_is_refused_up_front() {
    let src = PgDb::new("haul_domain");
    src.sql(
        "CREATE DOMAIN positive AS integer CHECK (VALUE > 0);
         CREATE TABLE a_first (id int PRIMARY KEY);
         CREATE TABLE b_dom (id int PRIMARY KEY, n positive);
         INSERT INTO b_dom VALUES (1, 5);",
    );
    let dir = tempdir();
    let archive = dir.path().join("d.haul");
    let a = archive.to_str().unwrap();
    let r = haul(&["dump", &src.url(), "-o", a]);
    if r.code == 0 {
        let target = PgDb::new("haul_domain_restored");
        let rr = haul(&["restore", a, &target.url()]);
        assert_eq!(
            rr.code, 0,
            "the dump succeeded but its archive does not restore: {}",
            rr.stderr
        );
        assert_eq!(target.sql("SELECT n FROM b_dom").trim(), "5");
    } else {
        let line = error_line(&r);
        assert!(line.contains("b_dom"), "{line}");
        assert!(line.contains("positive"), "{line}");
        assert!(!archive.exists());
    }
}

/// While another session moves amounts between two tables (the total stays
/// constant), every dump sees one consistent state: the restored total is
/// the constant, whichever moment each worker read its table.
#[test]
fn dump_is_one_snapshot_under_concurrent_writes() {
    let src = PgDb::new("haul_snapshot");
    src.sql(
        "CREATE TABLE acct_a (id int PRIMARY KEY, bal bigint NOT NULL);
         CREATE TABLE acct_b (id int PRIMARY KEY, bal bigint NOT NULL);
         INSERT INTO acct_a SELECT i, 1000 FROM generate_series(1, 50000) i;
         INSERT INTO acct_b SELECT i, 1000 FROM generate_series(1, 50000) i;
         CREATE PROCEDURE churn(n int) LANGUAGE plpgsql AS $$
         BEGIN
           FOR i IN 1..n LOOP
             UPDATE acct_a SET bal = bal - 7 WHERE id = 1 + (i::bigint * 7919) % 50000;
             UPDATE acct_b SET bal = bal + 7 WHERE id = 1 + (i::bigint * 104729) % 50000;
             COMMIT;
           END LOOP;
         END $$;",
    );
    let total = "SELECT (SELECT sum(bal) FROM acct_a) + (SELECT sum(bal) FROM acct_b)";
    assert_eq!(src.sql(total).trim(), "100000000");
    let mut writer = std::process::Command::new("psql")
        .args([
            "-h",
            PG_HOST,
            "-U",
            "postgres",
            "-X",
            "-q",
            "-d",
            &src.name,
            "-c",
            "CALL churn(30000)",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dir = tempdir();
    for k in 0..3 {
        let archive = dir.path().join(format!("s{k}.haul"));
        let a = archive.to_str().unwrap();
        haul(&["dump", "-q", &src.url(), "-o", a, "--jobs", "2"]).ok();
        let target = PgDb::new("haul_snapshot_restored");
        haul(&["restore", "-q", a, &target.url()]).ok();
        assert_eq!(
            target.sql(total).trim(),
            "100000000",
            "dump {k} mixed two states"
        );
    }
    assert!(writer.wait().unwrap().success());
    assert_eq!(src.sql(total).trim(), "100000000");
}

/// Extensions, functions, views, materialized views and triggers come back,
/// and triggers are created after the data (they must not fire on the load).
#[test]
fn views_functions_triggers_and_extensions_round_trip() {
    let src = PgDb::new("haul_objects");
    src.sql(
        "CREATE EXTENSION citext;
         CREATE TABLE other (x int);
         CREATE TABLE acct (id serial PRIMARY KEY, email citext UNIQUE, balance int NOT NULL, updated timestamptz);
         CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN NEW.updated := now(); RETURN NEW; END $$;
         CREATE FUNCTION total() RETURNS bigint LANGUAGE sql AS $$ SELECT sum(balance) FROM acct $$;
         CREATE TRIGGER acct_touch BEFORE INSERT OR UPDATE ON acct FOR EACH ROW EXECUTE FUNCTION touch();
         INSERT INTO acct (email, balance) VALUES ('A@x.org', 5), ('b@x.org', 7);
         UPDATE acct SET updated = '2020-01-01' WHERE true;
         ALTER TABLE acct DISABLE TRIGGER acct_touch;
         UPDATE acct SET updated = '2020-01-01';
         ALTER TABLE acct ENABLE TRIGGER acct_touch;
         CREATE VIEW rich AS SELECT email FROM acct WHERE balance > 6;
         CREATE MATERIALIZED VIEW totals AS SELECT count(*) AS n, sum(balance) AS s FROM acct;",
    );
    let dir = tempdir();
    let archive = dir.path().join("o.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = PgDb::new("haul_objects_t");
    haul(&["restore", a, &target.url(), "-q"]).ok();
    // The trigger did not fire on the load: timestamps are the source's.
    assert_eq!(
        target
            .sql("SELECT count(*) FROM acct WHERE updated = '2020-01-01'")
            .trim(),
        "2"
    );
    assert_eq!(target.sql("SELECT * FROM rich").trim(), "b@x.org");
    assert_eq!(
        target.sql("SELECT n || ',' || s FROM totals").trim(),
        "2,12"
    );
    assert_eq!(target.sql("SELECT total()").trim(), "12");
    // citext kept its case-insensitive unique key; the trigger fires now.
    assert_eq!(
        target
            .sql("SELECT id FROM acct WHERE email = 'a@X.ORG'")
            .trim(),
        "1"
    );
    target.sql("UPDATE acct SET balance = 1 WHERE id = 1");
    assert_eq!(
        target
            .sql("SELECT updated > '2021-01-01' FROM acct WHERE id = 1")
            .trim(),
        "t"
    );
    // A restore of a subset leaves out views of tables it leaves out, and says so.
    let subset = PgDb::new("haul_objects_s");
    let r = haul(&["restore", a, &subset.url(), "--tables", "other"]).expect(8);
    assert!(
        r.stderr
            .contains("view rich not created: it reads table acct"),
        "{}",
        r.stderr
    );
}

/// A target column narrower than the archive's: a change the server would
/// refuse is a plan warning and the load stops naming the value's chunk; a
/// silent one (rounding) stops the plan unless --allow-lossy.
#[test]
fn narrowing_type_changes_are_checked() {
    let src = PgDb::new("haul_narrow_src");
    src.sql(
        "CREATE TABLE price (id int PRIMARY KEY, code text, amount numeric(10,4));
         INSERT INTO price VALUES (1, 'ab', 1.2345), (2, 'abcdefgh', 2.5)",
    );
    let dir = tempdir();
    let archive = dir.path().join("n.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();

    let rounding = PgDb::new("haul_narrow_dst");
    rounding.sql("CREATE TABLE price (id int PRIMARY KEY, code text, amount numeric(10,2))");
    let r = haul(&["plan", a, &rounding.url()]).expect(5);
    assert!(
        r.stderr.contains("table price: column amount (numeric(10,4) in the archive, numeric(10,2) in the target): values are rounded from 4 to 2 decimal places; --allow-lossy"),
        "{}",
        r.stderr
    );
    haul(&["restore", a, &rounding.url()]).expect(5);
    assert_eq!(rounding.sql("SELECT count(*) FROM price").trim(), "0");
    haul(&["restore", a, &rounding.url(), "--allow-lossy", "-q"]).expect(8);
    assert_eq!(
        rounding.sql("SELECT amount FROM price ORDER BY id"),
        "1.23\n2.50\n"
    );

    let short = PgDb::new("haul_narrow_dst");
    short.sql("CREATE TABLE price (id int PRIMARY KEY, code varchar(4), amount numeric(10,4))");
    let p = haul(&["plan", a, &short.url()]).ok();
    assert!(
        p.stdout.contains("column code (text in the archive, character varying(4) in the target): values longer than 4 characters stop the load"),
        "{}",
        p.stdout
    );
    let r = haul(&["restore", a, &short.url()]).expect(1);
    assert!(
        r.stderr.contains("table price, data/")
            && r.stderr.contains("too long for type character varying(4)"),
        "{}",
        r.stderr
    );
    // Nothing half-loaded: the chunk rolled back; --abandon puts the target back.
    assert_eq!(short.sql("SELECT count(*) FROM price").trim(), "0");
    haul(&["restore", a, &short.url(), "--abandon", "-q"]).ok();
    assert_eq!(short.table_names(), ["price"]);
}

/// `--clean` re-creates a table other target tables reference: their
/// foreign keys are put back, not lost to DROP ... CASCADE.
#[test]
fn clean_keeps_foreign_keys_of_other_tables() {
    let src = PgDb::new("haul_cleanfk_src");
    src.sql("CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent VALUES (1), (2)");
    let dir = tempdir();
    let archive = dir.path().join("p.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let dst = PgDb::new("haul_cleanfk_dst");
    dst.sql(
        "CREATE TABLE parent (id int PRIMARY KEY); INSERT INTO parent VALUES (1);
         CREATE TABLE child (parent_id int REFERENCES parent (id)); INSERT INTO child VALUES (1);",
    );
    haul(&["restore", a, &dst.url(), "--clean", "-q"]).ok();
    assert_eq!(dst.sql("SELECT count(*) FROM parent").trim(), "2");
    assert_eq!(
        dst.sql("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'child_parent_id_fkey'").trim(),
        "FOREIGN KEY (parent_id) REFERENCES parent(id)"
    );
}
