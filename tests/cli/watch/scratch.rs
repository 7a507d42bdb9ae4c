//! `verify --restore-into`: the scratch database is gone afterwards on
//! every engine, after a success, a difference, or SIGINT; a name that
//! exists is refused and left as it was.

use super::{my_exists, pg_exists, Pings};
use crate::common::*;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Wait until `ready` holds (polled every 50 ms, at most 60 s).
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// haul started in the background.
fn spawn_haul(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the haul binary")
}

fn finish(child: std::process::Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `verify --restore-into` on one engine: identical and dropped; then, a
/// row deleted from the scratch database while haul waits before the
/// comparison (`verify-compare:sleep`), a difference (exit 6), and dropped
/// all the same. `done` says when the restore has finished (the table is
/// full and the journal gone); `delete` removes a row.
fn scratch_is_dropped(
    archive: &str,
    url: &str,
    exists: &dyn Fn() -> bool,
    done: &dyn Fn() -> bool,
    delete: &dyn Fn(),
) {
    let r = haul(&["verify", archive, "--restore-into", url]).ok();
    assert!(r.stdout.contains("identical t "), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!("restored into {url} in ")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("identical; the scratch database was dropped"),
        "{}",
        r.stderr
    );
    assert!(!exists(), "{url} is left after a test restore");

    let child = spawn_haul(
        &["verify", archive, "--restore-into", url, "-q"],
        &[("HAUL_FAILPOINT", "verify-compare:sleep=4")],
    );
    wait_for("the test restore to finish", done);
    delete();
    let r = finish(child).expect(6);
    let line = error_line(&r);
    assert!(
        line.contains(&format!("differs from {url}"))
            && line.contains("the scratch database was dropped")
            && line.contains("t (archive 200 rows, live 199 rows)"),
        "{line}"
    );
    assert!(!exists(), "{url} is left after a comparison that failed");
}

#[test]
fn test_restore_scratch_is_dropped_postgres() {
    let src = PgDb::new("haul_tr_src");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY, s text);
         INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 200) i;
         CREATE VIEW v AS SELECT id FROM t WHERE id > 100;",
    );
    let dir = tempdir();
    let archive = dir.path().join("pg.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = unique("haul_tr_scratch");
    let url = format!("postgres://postgres@127.0.0.1:5432/{scratch}");
    let q = |sql: &str| {
        let out = psql_cmd(&scratch).arg("-c").arg(sql).output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    scratch_is_dropped(
        a,
        &url,
        &|| pg_exists(&scratch),
        &|| {
            q("SELECT count(*) FROM t WHERE to_regclass('haul_journal') IS NULL").as_deref()
                == Some("200")
        },
        &|| {
            q("DELETE FROM t WHERE id = 7").unwrap();
        },
    );
    // A database that exists is refused and left as it was.
    let r = haul(&["verify", a, "--restore-into", &src.url()]).expect(5);
    assert!(error_line(&r).contains("exists already"), "{}", r.stderr);
    assert_eq!(src.sql("SELECT count(*) FROM t").trim(), "200");
    assert!(src.table_names().contains(&"t".to_string()));
}

#[test]
fn test_restore_scratch_is_dropped_mariadb() {
    let src = MyDb::new("haul_tr_src");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY, s text);
         INSERT INTO t SELECT seq, md5(seq) FROM seq_1_to_200;
         CREATE VIEW v AS SELECT id FROM t WHERE id > 100;",
    );
    let dir = tempdir();
    let archive = dir.path().join("my.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = unique("haul_tr_scratch");
    let url = format!("mysql://root@127.0.0.1:3306/{scratch}");
    let q = |sql: &str| {
        let out = mysql_cmd(&scratch).arg("-e").arg(sql).output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    scratch_is_dropped(
        a,
        &url,
        &|| my_exists(&scratch),
        &|| {
            q(&format!(
                "SELECT COUNT(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = '{scratch}' AND TABLE_NAME = 'haul_journal')"
            ))
            .as_deref()
                == Some("200")
        },
        &|| {
            q("DELETE FROM t WHERE id = 7").unwrap();
        },
    );
    let r = haul(&["verify", a, "--restore-into", &src.url()]).expect(5);
    assert!(error_line(&r).contains("exists already"), "{}", r.stderr);
    assert_eq!(src.sql("SELECT COUNT(*) FROM t").trim(), "200");
}

#[test]
fn test_restore_scratch_is_dropped_sqlite() {
    let src = SqliteDb::new("src");
    src.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
             INSERT INTO t SELECT i, hex(randomblob(8)) FROM n;",
        )
        .unwrap();
    let dir = tempdir();
    let archive = dir.path().join("lite.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = dir.path().join("scratch.db");
    let url = format!("sqlite://{}", scratch.display());
    let left = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .any(|n| n.starts_with("scratch.db"))
    };
    scratch_is_dropped(
        a,
        &url,
        &left,
        &|| {
            let Ok(c) = rusqlite::Connection::open_with_flags(
                &scratch,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            ) else {
                return false;
            };
            c.query_row(
                "SELECT count(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'haul_journal')",
                [],
                |r| r.get::<_, i64>(0),
            )
            .is_ok_and(|n| n == 200)
        },
        &|| {
            let c = rusqlite::Connection::open(&scratch).unwrap();
            c.execute("DELETE FROM t WHERE id = 7", []).unwrap();
        },
    );
    // `sqlite:` alone: a temporary file, gone afterwards.
    let r = haul(&["verify", a, "--restore-into", "sqlite:"]).ok();
    let tmp = r
        .stderr
        .split("restored into sqlite://")
        .nth(1)
        .and_then(|s| s.split(" in ").next())
        .expect("the temporary file named")
        .to_string();
    assert!(tmp.contains("haul-verify-"), "{tmp}");
    assert!(!Path::new(&tmp).exists(), "{tmp} is left");
    // A file that exists is refused and left as it was.
    let r = haul(&["verify", a, "--restore-into", &src.url()]).expect(5);
    assert!(error_line(&r).contains("exists already"), "{}", r.stderr);
    let n: i64 = src
        .conn()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 200);
}

/// SIGINT during a test restore drops the scratch database at once; the run
/// fails (exit 1) with its `/fail` ping.
#[test]
fn interrupted_test_restore_drops_the_scratch_database() {
    let src = PgDb::new("haul_tr_int");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY, s text);
         INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 200) i;",
    );
    let dir = tempdir();
    let archive = dir.path().join("pg.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = unique("haul_tr_int_scratch");
    let url = format!("postgres://postgres@127.0.0.1:5432/{scratch}");
    let pings = Pings::start(200);
    let check = pings.url("/c");
    let child = spawn_haul(
        &[
            "verify",
            a,
            "--restore-into",
            &url,
            "-q",
            "--notify",
            &check,
        ],
        &[("HAUL_FAILPOINT", "chunk:1:sleep=4")],
    );
    let pid = child.id() as i32;
    wait_for("the scratch table", || {
        psql_cmd(&scratch)
            .arg("-c")
            .arg("SELECT 1 FROM t LIMIT 0")
            .output()
            .unwrap()
            .status
            .success()
    });
    // SAFETY: kill(2) on a child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let r = finish(child).expect(1);
    assert!(
        r.stderr.contains(&format!(
            "haul: interrupted: dropping the scratch database {url}"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "haul: error: interrupted; the scratch database {url} was dropped"
        )),
        "{}",
        r.stderr
    );
    assert!(!pg_exists(&scratch), "{scratch} is left after SIGINT");
    let got = pings.got();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].0, "/c/fail");
    assert!(got[1].1.starts_with("interrupted; "), "{}", got[1].1);
}
