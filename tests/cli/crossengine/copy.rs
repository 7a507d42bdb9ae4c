//! `haul copy` between engines: Chinook around the three, sbtest killed and
//! resumed, the Gogs move, collation probes.

use super::*;

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
