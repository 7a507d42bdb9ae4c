//! Kill and resume: a restore killed with SIGKILL at each of its phases
//! (`HAUL_FAILPOINT`) refuses a plain re-run, and `--resume` finishes it with
//! the same result as an uninterrupted run, nothing relaxed left dropped and
//! nothing of haul's left behind.
//!
//! Besides haul's own `verify --against`, every resumed result is compared
//! by an oracle that is not haul (`crate::oracle`: the engines' own clients)
//! with the source or with an uninterrupted run.

use crate::common::*;
use crate::oracle::*;

/// Every point a restore of new tables passes.
const CREATE_POINTS: &[&str] = &[
    "journal",
    "relaxed",
    "created",
    "chunk:1",
    "chunk:6",
    "loaded",
    "merged",
    "foreign-keys",
    "reapplied",
    "finished",
];

/// Restore `archive` into `target` killed at `point`, check a plain re-run
/// is refused, then resume.
fn kill_then_resume(archive: &str, target: &str, extra: &[&str], point: &str) {
    let mut args = vec!["restore", archive, target, "-q", "--jobs", "2"];
    args.extend_from_slice(extra);
    let killed = haul_env(&args, &[("HAUL_FAILPOINT", point)]);
    assert_eq!(
        killed.code,
        -1,
        "{point}: the restore was not killed\n{}",
        killed.all()
    );
    let again = haul(&args).expect(5);
    assert!(
        again.stderr.contains("did not finish") && again.stderr.contains("--resume"),
        "{point}: {}",
        again.stderr
    );
    haul(&["restore", archive, target, "--resume", "-q"]).expect(0);
}

fn assert_identical(archive: &str, target: &str, point: &str) {
    let v = haul(&["verify", archive, "--against", target]).ok();
    assert_eq!(
        v.stdout.matches("identical").count(),
        11,
        "{point}: {}",
        v.stdout
    );
}

#[test]
fn pg_chinook_killed_at_every_phase_resumes() {
    let src = pg_chinook();
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "--chunk-size", "64KiB", "-q"]).ok();
    let want = pg_snapshot(&src);
    for point in CREATE_POINTS {
        let target = PgDb::new("haul_resume");
        kill_then_resume(a, &target.url(), &[], point);
        assert_identical(a, &target.url(), point);
        assert_same(&pg_snapshot(&target), &want, point);
        assert_eq!(target.table_names(), src.table_names(), "{point}");
        assert_eq!(
            target
                .sql("SELECT count(*) FROM pg_constraint WHERE contype = 'f'")
                .trim(),
            "11",
            "{point}: foreign keys"
        );
        assert_eq!(
            target.sql("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"),
            src.sql("SELECT count(*) FROM pg_indexes WHERE schemaname = 'public'"),
            "{point}: indexes"
        );
    }
}

#[test]
fn mysql_chinook_killed_at_every_phase_resumes() {
    let src = crate::mysql::my_chinook();
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "--chunk-size", "64KiB", "-q"]).ok();
    let shape = |db: &MyDb| {
        db.sql(&format!(
            "SELECT TABLE_NAME, CONSTRAINT_NAME, CONSTRAINT_TYPE FROM information_schema.TABLE_CONSTRAINTS
              WHERE TABLE_SCHEMA = '{}' ORDER BY 1, 2",
            db.name
        ))
    };
    let want = my_snapshot(&src);
    for point in CREATE_POINTS {
        let target = MyDb::new("haul_resume");
        kill_then_resume(a, &target.url(), &[], point);
        assert_identical(a, &target.url(), point);
        assert_same(&my_snapshot(&target), &want, point);
        assert_eq!(shape(&target), shape(&src), "{point}");
    }
}

#[test]
fn sqlite_chinook_killed_at_every_phase_resumes() {
    let src = datasets().join("chinook/Chinook_Sqlite.sqlite");
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&[
        "dump",
        &format!("sqlite://{}", src.display()),
        "-o",
        a,
        "--chunk-size",
        "64KiB",
        "-q",
    ])
    .ok();
    let schema = |path: &std::path::Path| {
        sqlite_rows(
            &rusqlite::Connection::open(path).unwrap(),
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name",
        )
    };
    let want = sqlite_snapshot(&src);
    for point in CREATE_POINTS {
        let target = SqliteDb::new("resume");
        kill_then_resume(a, &target.url(), &[], point);
        assert_identical(a, &target.url(), point);
        assert_same(&sqlite_snapshot(&target.path), &want, point);
        assert_eq!(schema(&target.path), schema(&src), "{point}");
    }
}

/// The Gogs move (relaxed unique keys on existing tables, backfills).
#[test]
fn pg_gogs_killed_at_every_phase_resumes() {
    // The oracle's reference: the same move, uninterrupted.
    let (_old, reference, _dir, archive) = crate::gogs::pg_setup();
    haul(&[
        "restore",
        &archive,
        &reference.url(),
        "-q",
        "--profile",
        "gogs",
    ])
    .ok();
    let want = pg_snapshot(&reference);
    for point in [
        "relaxed",
        "created",
        "chunk:2",
        "loaded",
        "foreign-keys",
        "reapplied",
        "finished",
    ] {
        let (_old, new, _dir, archive) = crate::gogs::pg_setup();
        kill_then_resume(&archive, &new.url(), &["--profile", "gogs"], point);
        // Before pg_check_moved, which takes an id from the sequence.
        assert_same(&pg_snapshot(&new), &want, point);
        crate::gogs::pg_check_moved(&new);
    }
}

/// The Coolify merge (staging tables, keep-archived, rejects archive).
#[test]
fn pg_merge_killed_at_every_phase_resumes() {
    // The old server's archive and a new server to merge it into.
    let setup = || {
        let old = PgDb::new("haul_cool_old");
        old.script(&std::fs::read(fixtures().join("coolify/pg-old.sql")).unwrap());
        let new = PgDb::new("haul_cool_new");
        new.script(&std::fs::read(fixtures().join("coolify/pg-new.sql")).unwrap());
        let dir = tempdir();
        let archive = dir.path().join("coolify.haul");
        haul(&["dump", &old.url(), "-o", archive.to_str().unwrap(), "-q"]).ok();
        (old, new, dir, archive)
    };
    let args = |archive: &std::path::Path, new: &PgDb, dir: &std::path::Path| -> Vec<String> {
        [
            "restore",
            archive.to_str().unwrap(),
            &new.url(),
            "-q",
            "--on-duplicate",
            "keep-archived",
            "--rejects",
            dir.join("rejects.haul").to_str().unwrap(),
        ]
        .map(String::from)
        .to_vec()
    };
    // The oracle's reference: the same merge, uninterrupted.
    let (_old, reference, dir, archive) = setup();
    let args_ref = args(&archive, &reference, dir.path());
    haul(&args_ref.iter().map(String::as_str).collect::<Vec<_>>()).ok();
    let want = pg_snapshot(&reference);
    for point in [
        "created",
        "chunk:1",
        "loaded",
        "rejects",
        "merged",
        "reapplied",
    ] {
        let (_old, new, dir, archive) = setup();
        let mut args = args(&archive, &new, dir.path());
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let killed = haul_env(&a, &[("HAUL_FAILPOINT", point)]);
        assert_eq!(killed.code, -1, "{point}: {}", killed.all());
        args.push("--resume".into());
        haul(&args.iter().map(String::as_str).collect::<Vec<_>>()).ok();
        assert_eq!(
            new.sql("SELECT id, provider, client_id FROM oauth_settings ORDER BY id"),
            "1|azure|old-azure-client\n2|bitbucket|\n3|github|old-gh-client\n4|gitlab|\n5|google|\n6|authentik|\n",
            "{point}"
        );
        assert_eq!(
            new.table_names(),
            ["instance_settings", "oauth_settings", "users"],
            "{point}"
        );
        assert_eq!(new.sql("SELECT count(*) FROM users").trim(), "2", "{point}");
        assert!(
            dir.path().join("rejects.haul").exists(),
            "{point}: rejects archive"
        );
        assert_same(&pg_snapshot(&new), &want, point);
    }
}

/// Another engine's archive: index names are rewritten on the way (MySQL's
/// per-table names become table-prefixed on PostgreSQL), and the column
/// types of a created SQLite table come from the file on resume.
#[test]
fn cross_engine_restores_killed_mid_load_resume() {
    let src = crate::mysql::my_chinook();
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "--chunk-size", "64KiB", "-q"]).ok();
    let fingerprint = |db: &PgDb| -> Vec<String> {
        db.table_names()
            .iter()
            .map(|t| db.sql(&format!("SELECT '{t}', count(*), md5(string_agg(x::text, ',' ORDER BY x::text)) FROM \"{t}\" x")))
            .collect()
    };
    let reference = PgDb::new("haul_xresume_ref");
    haul(&["restore", a, &reference.url(), "-q"]).ok();
    let want = pg_snapshot(&reference);
    for point in ["chunk:3", "loaded", "foreign-keys"] {
        let pg = PgDb::new("haul_xresume");
        kill_then_resume(a, &pg.url(), &[], point);
        assert_eq!(fingerprint(&pg), fingerprint(&reference), "{point}");
        let indexes = "SELECT indexname FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1";
        assert_eq!(
            pg.sql(indexes),
            reference.sql(indexes),
            "{point}: every index once"
        );
        assert_same(&pg_snapshot(&pg), &want, point);
    }

    let exact = PgDb::new("haul_xresume_num");
    exact.sql(
        "CREATE TABLE amount (id int PRIMARY KEY, v numeric(30,10), doc jsonb);
         INSERT INTO amount SELECT g, 12345678901234567890.1234567890 + g, '{\"a\": 1}' FROM generate_series(1, 6000) g",
    );
    let b = dir.path().join("n.haul");
    let b = b.to_str().unwrap();
    haul(&["dump", &exact.url(), "-o", b, "--chunk-size", "64KiB", "-q"]).ok();
    let lite = SqliteDb::new("num");
    kill_then_resume(b, &lite.url(), &[], "chunk:1");
    let lite_ref = SqliteDb::new("num_ref");
    haul(&["restore", b, &lite_ref.url(), "-q"]).ok();
    assert_same(
        &sqlite_snapshot(&lite.path),
        &sqlite_snapshot(&lite_ref.path),
        "into SQLite, chunk:1",
    );
    assert_eq!(
        sqlite_rows(&lite.conn(), "SELECT count(*) FROM amount WHERE v = CAST(12345678901234567890.1234567890 + 0 AS TEXT) OR typeof(v) <> 'text'"),
        ["0"],
        "every value kept as exact text"
    );
    assert_eq!(
        sqlite_rows(&lite.conn(), "SELECT v FROM amount WHERE id = 6000"),
        ["12345678901234573890.1234567890"]
    );
}

/// A resumed copy copies the tables its journal planned, even when the
/// flags or the source's tables changed since.
#[test]
fn resumed_copy_keeps_its_tables() {
    let src = PgDb::new("haul_copy_keep");
    src.sql(
        "CREATE TABLE b (id int PRIMARY KEY, v text);
         CREATE TABLE c (id int PRIMARY KEY, v text);
         INSERT INTO b SELECT g, 'b' || g FROM generate_series(1, 3000) g;
         INSERT INTO c SELECT g, 'c' || g FROM generate_series(1, 3000) g;",
    );
    let lite = SqliteDb::new("keep");
    let killed = haul_env(
        &[
            "copy",
            &src.url(),
            &lite.url(),
            "--tables",
            "c",
            "--chunk-size",
            "64KiB",
            "-q",
        ],
        &[("HAUL_FAILPOINT", "chunk:1")],
    );
    assert_eq!(killed.code, -1, "{}", killed.all());
    src.sql("CREATE TABLE a (id int PRIMARY KEY); INSERT INTO a VALUES (1)");
    haul(&["copy", &src.url(), &lite.url(), "--resume", "-q"]).ok();
    let reference = SqliteDb::new("keep_ref");
    haul(&["copy", &src.url(), &reference.url(), "--tables", "c", "-q"]).ok();
    assert_same(
        &sqlite_snapshot(&lite.path),
        &sqlite_snapshot(&reference.path),
        "resumed copy",
    );
    assert_eq!(
        sqlite_rows(&lite.conn(), "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"),
        ["c"]
    );
    assert_eq!(
        sqlite_rows(&lite.conn(), "SELECT count(*), min(v), max(id) FROM c"),
        ["3000|c1|3000"]
    );
}

/// The target's other tables keep their foreign keys on a relaxed key, and
/// `--abandon` works once constraints are back.
#[test]
fn foreign_keys_on_relaxed_keys_and_abandon_after_reapply() {
    let src = PgDb::new("haul_fkrelax_src");
    src.sql(
        "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE);
         INSERT INTO users VALUES (1, 'a@x'), (2, 'b@x');",
    );
    let dir = tempdir();
    let archive = dir.path().join("u.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let dst = PgDb::new("haul_fkrelax_dst");
    dst.sql(
        "CREATE TABLE users (id int PRIMARY KEY, email text UNIQUE);
         CREATE TABLE profiles (email text REFERENCES users (email));",
    );
    haul(&["restore", a, &dst.url(), "-q"]).ok();
    assert_eq!(
        dst.sql("SELECT count(*) FROM pg_constraint WHERE conname IN ('users_email_key', 'profiles_email_fkey')").trim(),
        "2"
    );

    // Killed once everything was reapplied, then abandoned: the rows go
    // whatever the order of the tables' foreign keys.
    let books = PgDb::new("haul_fkrelax_src");
    books.sql(
        "CREATE TABLE author (id int PRIMARY KEY, name text);
         CREATE TABLE book (id int PRIMARY KEY, author_id int REFERENCES author (id));
         INSERT INTO author VALUES (1, 'a'); INSERT INTO book VALUES (1, 1);",
    );
    let b = dir.path().join("b.haul");
    let b = b.to_str().unwrap();
    haul(&["dump", &books.url(), "-o", b, "-q"]).ok();
    let again = PgDb::new("haul_fkrelax_dst");
    again.sql(
        "CREATE TABLE author (id int PRIMARY KEY, name text);
         CREATE TABLE book (id int PRIMARY KEY, author_id int REFERENCES author (id));",
    );
    let killed = haul_env(
        &["restore", b, &again.url(), "-q"],
        &[("HAUL_FAILPOINT", "reapplied")],
    );
    assert_eq!(killed.code, -1, "{}", killed.all());
    haul(&["restore", b, &again.url(), "--abandon", "-q"]).ok();
    assert_eq!(
        again
            .sql("SELECT (SELECT count(*) FROM author) + (SELECT count(*) FROM book)")
            .trim(),
        "0"
    );
    assert_eq!(
        again
            .sql("SELECT count(*) FROM pg_constraint WHERE conname = 'book_author_id_fkey'")
            .trim(),
        "1"
    );
    assert_eq!(again.table_names(), ["author", "book"]);
}
