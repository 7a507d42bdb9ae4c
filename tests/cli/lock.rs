//! One restore at a time: a copy refuses its own source (by server
//! identity, not URL), a second restore into a target that one is running
//! into is refused (exit 5) and the first completes, and a resume waits for
//! the server sessions a killed run left running.

use crate::common::*;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Start haul in the background with extra environment variables.
fn haul_spawn(args: &[&str], env: &[(&str, &str)]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the haul binary")
}

fn wait_child(child: Child) -> Run {
    let out = child.wait_with_output().expect("wait for haul");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Poll `ready` for up to 60 s.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ------------------------------------------------------------------ copy into itself

#[test]
fn copy_into_its_own_source_under_another_name_is_refused() {
    let my = MyDb::new("haul_self");
    my.sql("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)");
    let other = format!("mysql://root@localhost:3306/{}", my.name);
    let r = haul(&["copy", &my.url(), &other, "--clean", "-q"]).expect(5);
    assert!(error_line(&r).contains("same database"), "{}", r.stderr);
    assert_eq!(my.sql("SELECT COUNT(*) FROM t").trim(), "3");

    let pg = PgDb::new("haul_self");
    pg.sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)");
    let other = format!("postgres://postgres@localhost:5432/{}", pg.name);
    let start = Instant::now();
    let r = haul(&["copy", &pg.url(), &other, "--clean", "-q"]).expect(5);
    assert!(error_line(&r).contains("same database"), "{}", r.stderr);
    assert!(start.elapsed() < Duration::from_secs(30));
    assert_eq!(pg.sql("SELECT count(*) FROM t").trim(), "3");

    // A hard link is the same file under another name.
    let lite = SqliteDb::new("self");
    lite.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1), (2), (3)",
        )
        .unwrap();
    let link = lite.dir.path().join("link.db");
    std::fs::hard_link(&lite.path, &link).unwrap();
    let r = haul(&[
        "copy",
        &lite.url(),
        &format!("sqlite://{}", link.display()),
        "--clean",
        "-q",
    ])
    .expect(5);
    assert!(error_line(&r).contains("same database"), "{}", r.stderr);
    let (_, out, _) = sh(&format!(
        "sqlite3 '{}' 'SELECT count(*) FROM t'",
        lite.path.display()
    ));
    assert_eq!(String::from_utf8_lossy(&out).trim(), "3");
}

#[test]
fn copy_into_another_database_of_the_same_server_works() {
    let src = MyDb::new("haul_self_src");
    src.sql("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1), (2)");
    let dst = MyDb::new("haul_self_dst");
    haul(&["copy", &src.url(), &dst.url(), "-q"]).ok();
    assert_eq!(dst.sql("SELECT COUNT(*) FROM t").trim(), "2");
}

// ------------------------------------------------------------------ two restores at once

/// Restore `archive` into `target` slowed at the journal, then run a second
/// restore, a `--resume`, an `--abandon` and a `plan` while it runs: each is
/// refused with one line; the first completes.
fn second_restore_refused(archive: &str, target: &str, journal_written: impl Fn() -> bool) {
    let first = haul_spawn(
        &["restore", archive, target, "-q"],
        &[("HAUL_FAILPOINT", "journal:sleep=25")],
    );
    wait_until("the first restore's journal", &journal_written);
    for extra in [&[][..], &["--resume"][..], &["--abandon"][..]] {
        let mut args = vec!["restore", archive, target, "-q"];
        args.extend_from_slice(extra);
        let r = haul(&args).expect(5);
        assert!(
            error_line(&r).contains("another haul restore is running into"),
            "{extra:?}: {}",
            r.stderr
        );
    }
    let r = haul(&["plan", archive, target]).expect(5);
    assert!(
        error_line(&r).contains("another haul restore is running into"),
        "{}",
        r.stderr
    );
    wait_child(first).ok();
}

#[test]
fn sqlite_second_restore_is_refused_while_one_runs() {
    let src = SqliteDb::new("src");
    src.conn()
        .execute_batch(
            "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 500)
             INSERT INTO a SELECT i, 'v' || i FROM n;",
        )
        .unwrap();
    let dir = tempdir();
    let archive = dir.path().join("a.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = SqliteDb::new("target");
    let t = target.url();
    let path = target.path.clone();
    second_restore_refused(a, &t, || {
        let (_, out, _) = sh(&format!(
            "sqlite3 '{}' \"SELECT count(*) FROM sqlite_master WHERE name = 'haul_journal'\" 2>/dev/null",
            path.display()
        ));
        String::from_utf8_lossy(&out).trim() == "1"
    });
    let (code, out, err) = sh(&format!(
        "sqlite3 '{}' \"SELECT count(*) FROM a; SELECT count(*) FROM sqlite_master WHERE name LIKE 'haul%'\"",
        target.path.display()
    ));
    assert_eq!(code, 0, "{err}");
    assert_eq!(String::from_utf8_lossy(&out), "500\n0\n");
    // The next restore finds the target free again.
    let r = haul(&["restore", a, &t, "--clean", "-q"]);
    r.ok();
}

#[test]
fn pg_second_restore_is_refused_while_one_runs() {
    let src = PgDb::new("haul_lock_src");
    src.sql("CREATE TABLE a (id int PRIMARY KEY, v text); INSERT INTO a SELECT i, 'v' || i FROM generate_series(1, 500) i");
    let dir = tempdir();
    let archive = dir.path().join("a.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = PgDb::new("haul_lock_dst");
    let name = target.name.clone();
    second_restore_refused(a, &target.url(), || {
        psql(&name, "SELECT to_regclass('haul_journal') IS NOT NULL").trim() == "t"
    });
    assert_eq!(target.sql("SELECT count(*) FROM a").trim(), "500");
    assert_eq!(haul_tables_left(&target), "0");
}

#[test]
fn mysql_second_restore_is_refused_while_one_runs() {
    let src = MyDb::new("haul_lock_src");
    src.sql("CREATE TABLE a (id INT PRIMARY KEY, v TEXT); INSERT INTO a SELECT seq, CONCAT('v', seq) FROM seq_1_to_500");
    let dir = tempdir();
    let archive = dir.path().join("a.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = MyDb::new("haul_lock_dst");
    let name = target.name.clone();
    second_restore_refused(a, &target.url(), || {
        mysql(
            "",
            &format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{name}' AND TABLE_NAME = 'haul_journal'"
            ),
        )
        .trim()
            == "1"
    });
    assert_eq!(target.sql("SELECT COUNT(*) FROM a").trim(), "500");
    assert_eq!(target.sql("SHOW TABLES LIKE 'haul%'").trim(), "");
}

// ------------------------------------------------------------------ sessions of a killed run

/// The marker a killed run's sessions carry.
const EARLIER_RUN: &str = "haul restore 1@2020-01-01T00:00:00Z";

#[test]
fn pg_resume_waits_for_the_killed_runs_foreign_key_build() {
    let src = PgDb::new("haul_linger_src");
    src.sql(
        "CREATE TABLE parent (id int PRIMARY KEY);
         CREATE TABLE child (id int PRIMARY KEY, pid int REFERENCES parent (id));
         INSERT INTO parent SELECT generate_series(1, 100);
         INSERT INTO child SELECT i, 1 + i % 100 FROM generate_series(1, 1000) i;",
    );
    let fk = src.sql("SELECT conname FROM pg_constraint WHERE contype = 'f'");
    let fk = fk.trim();
    let dir = tempdir();
    let archive = dir.path().join("a.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = PgDb::new("haul_linger");
    let killed = haul_env(
        &["restore", a, &target.url(), "-q"],
        &[("HAUL_FAILPOINT", "merged")],
    );
    assert_eq!(killed.code, -1, "{}", killed.all());
    // The killed run's session, still adding the foreign key on the server.
    let lingering = psql_cmd(&target.name)
        .env("PGAPPNAME", EARLIER_RUN)
        .arg("-c")
        .arg(format!(
            "BEGIN; ALTER TABLE child ADD CONSTRAINT \"{fk}\" FOREIGN KEY (pid) REFERENCES parent (id); \
             SELECT pg_sleep(4); COMMIT;"
        ))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run psql");
    let name = target.name.clone();
    wait_until("the lingering session", || {
        psql(
            &name,
            &format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{EARLIER_RUN}' AND state = 'active'"),
        )
        .trim()
            == "1"
    });
    let r = haul(&["restore", a, &target.url(), "--resume"]).ok();
    assert!(r.stderr.contains("waiting up to"), "{}", r.stderr);
    let out = lingering.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        target
            .sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
            .trim(),
        "1"
    );
    assert_eq!(target.sql("SELECT count(*) FROM child").trim(), "1000");
    assert_eq!(haul_tables_left(&target), "0");
}

#[test]
fn pg_resume_cancels_a_killed_runs_statement_after_the_wait() {
    let src = PgDb::new("haul_linger_src");
    src.sql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a SELECT generate_series(1, 100)");
    let dir = tempdir();
    let archive = dir.path().join("a.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = PgDb::new("haul_linger");
    let killed = haul_env(
        &["restore", a, &target.url(), "-q"],
        &[("HAUL_FAILPOINT", "created")],
    );
    assert_eq!(killed.code, -1, "{}", killed.all());
    // A statement of the killed run that holds the table for a long time.
    let lingering = psql_cmd(&target.name)
        .env("PGAPPNAME", EARLIER_RUN)
        .arg("-c")
        .arg("BEGIN; LOCK TABLE a IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(300); COMMIT;")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run psql");
    let name = target.name.clone();
    wait_until("the lingering session", || {
        psql(
            &name,
            &format!("SELECT count(*) FROM pg_stat_activity WHERE application_name = '{EARLIER_RUN}' AND state = 'active'"),
        )
        .trim()
            == "1"
    });
    let start = Instant::now();
    let r = haul_env(
        &["restore", a, &target.url(), "--resume"],
        &[("HAUL_RESUME_WAIT_SECONDS", "2")],
    )
    .ok();
    assert!(
        r.stderr.contains("cancelling the statements of"),
        "{}",
        r.stderr
    );
    assert!(start.elapsed() < Duration::from_secs(60));
    let out = lingering.wait_with_output().unwrap();
    assert!(
        !out.status.success(),
        "the lingering statement was not cancelled"
    );
    assert_eq!(target.sql("SELECT count(*) FROM a").trim(), "100");
}

#[test]
fn mysql_resume_waits_for_the_killed_runs_statement() {
    let src = MyDb::new("haul_linger_src");
    src.sql("CREATE TABLE a (id INT PRIMARY KEY, v INT); INSERT INTO a SELECT seq, seq FROM seq_1_to_100");
    let dir = tempdir();
    let archive = dir.path().join("a.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = MyDb::new("haul_linger");
    let killed = haul_env(
        &["restore", a, &target.url(), "-q"],
        &[("HAUL_FAILPOINT", "loaded")],
    );
    assert_eq!(killed.code, -1, "{}", killed.all());
    // A statement of the killed run, marked as haul marks its DDL.
    let lingering = mysql_cmd(&target.name)
        .arg("--comments")
        .arg("-e")
        .arg(format!("/* {EARLIER_RUN} */ SELECT SLEEP(4)"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run mariadb");
    let name = target.name.clone();
    wait_until("the lingering session", || {
        mysql(
            "",
            &format!(
                "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE DB = '{name}' AND INFO LIKE '/* haul restore%'"
            ),
        )
        .trim()
            == "1"
    });
    let start = Instant::now();
    let r = haul(&["restore", a, &target.url(), "--resume"]).ok();
    assert!(r.stderr.contains("waiting up to"), "{}", r.stderr);
    assert!(start.elapsed() >= Duration::from_secs(2), "did not wait");
    lingering.wait_with_output().unwrap();
    assert_eq!(target.sql("SELECT COUNT(*) FROM a").trim(), "100");
}

/// How many `haul%` tables (journal, staging) a PostgreSQL target still has.
fn haul_tables_left(target: &PgDb) -> String {
    target
        .sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'haul%'")
        .trim()
        .to_string()
}
