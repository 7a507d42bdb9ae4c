//! Kill and resume: a restore killed with SIGKILL at each of its phases
//! (`HAUL_FAILPOINT`) refuses a plain re-run, and `--resume` finishes it with
//! the same result as an uninterrupted run, nothing relaxed left dropped and
//! nothing of haul's left behind.

use crate::common::*;

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
    for point in CREATE_POINTS {
        let target = PgDb::new("haul_resume");
        kill_then_resume(a, &target.url(), &[], point);
        assert_identical(a, &target.url(), point);
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
    for point in CREATE_POINTS {
        let target = MyDb::new("haul_resume");
        kill_then_resume(a, &target.url(), &[], point);
        assert_identical(a, &target.url(), point);
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
    for point in CREATE_POINTS {
        let target = SqliteDb::new("resume");
        kill_then_resume(a, &target.url(), &[], point);
        assert_identical(a, &target.url(), point);
        assert_eq!(schema(&target.path), schema(&src), "{point}");
    }
}

/// The Gogs move (relaxed unique keys on existing tables, backfills).
#[test]
fn pg_gogs_killed_at_every_phase_resumes() {
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
        crate::gogs::pg_check_moved(&new);
    }
}

/// The Coolify merge (staging tables, keep-archived, rejects archive).
#[test]
fn pg_merge_killed_at_every_phase_resumes() {
    for point in [
        "created",
        "chunk:1",
        "loaded",
        "rejects",
        "merged",
        "reapplied",
    ] {
        let old = PgDb::new("haul_cool_old");
        old.script(&std::fs::read(fixtures().join("coolify/pg-old.sql")).unwrap());
        let new = PgDb::new("haul_cool_new");
        new.script(&std::fs::read(fixtures().join("coolify/pg-new.sql")).unwrap());
        let dir = tempdir();
        let archive = dir.path().join("coolify.haul");
        let a = archive.to_str().unwrap();
        haul(&["dump", &old.url(), "-o", a, "-q"]).ok();
        let rejects = dir.path().join("rejects.haul");
        let mut args = vec![
            "restore",
            a,
            new.url().leak(),
            "-q",
            "--on-duplicate",
            "keep-archived",
            "--rejects",
            rejects.to_str().unwrap(),
        ];
        let killed = haul_env(&args, &[("HAUL_FAILPOINT", point)]);
        assert_eq!(killed.code, -1, "{point}: {}", killed.all());
        args.push("--resume");
        haul(&args).ok();
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
        assert!(rejects.exists(), "{point}: rejects archive");
    }
}
