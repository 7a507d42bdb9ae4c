//! SQLite: dump, restore, verify against the source.

use crate::common::*;

#[test]
fn chinook_round_trips() {
    let src = datasets().join("chinook/Chinook_Sqlite.sqlite");
    let dir = tempdir();
    let archive = dir.path().join("chinook.haul");
    let a = archive.to_str().unwrap();
    let src_url = format!("sqlite://{}", src.display());
    haul(&["dump", &src_url, "-o", a]).ok();
    let target = SqliteDb::new("restored");
    haul(&["restore", a, &target.url()]).ok();
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 11, "{}", v.stdout);
    let n: i64 = target
        .conn()
        .query_row("SELECT count(*) FROM Track", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3503);
}

/// A refused restore into a SQLite file that did not exist leaves no file.
#[test]
fn refused_restore_leaves_no_new_file() {
    let dir = tempdir();
    let archive = dir.path().join("demo.haul");
    let a = archive.to_str().unwrap();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    haul(&["dump", &demo, "-o", a, "-q"]).ok();
    let target = dir.path().join("new.db");
    let url = format!("sqlite://{}", target.display());
    haul(&["restore", a, &url, "--tables", "nope"]).expect(2);
    assert!(
        !target.exists(),
        "the refused restore created {}",
        target.display()
    );
    haul(&["restore", a, &url, "--backfill", "nosuch.col=lower(x)"]).expect(5);
    assert!(!target.exists());
    haul(&["restore", a, &url, "-q"]).ok();
    assert!(target.exists());
}

/// SQLite cannot drop a UNIQUE declared inside CREATE TABLE: the rows go
/// through a staging table, duplicates are found there and listed (exit 7)
/// with the target untouched; fixed in the staging table, --resume finishes.
#[test]
fn inline_unique_is_probed_through_a_staging_table() {
    let src = SqliteDb::new("src");
    src.conn()
        .execute_batch(
            "CREATE TABLE member (id INTEGER PRIMARY KEY, email TEXT);
             INSERT INTO member VALUES (1, 'a@example.com'), (2, 'b@example.com'), (3, 'a@example.com');",
        )
        .unwrap();
    let dir = tempdir();
    let archive = dir.path().join("m.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let target = SqliteDb::new("dst");
    let ddl = "CREATE TABLE member (id INTEGER PRIMARY KEY, email TEXT NOT NULL UNIQUE)";
    target.conn().execute_batch(ddl).unwrap();

    let p = haul(&["plan", a, &target.url()]).ok();
    assert!(
        p.stdout
            .contains("load through a staging table into existing table member"),
        "{}",
        p.stdout
    );
    let r = haul(&["restore", a, &target.url()]).expect(7);
    assert!(
        r.stderr
            .contains("(email): email=\"a@example.com\": 2 archived rows"),
        "{}",
        r.stderr
    );
    assert_eq!(
        sqlite_rows(&target.conn(), "SELECT count(*) FROM member"),
        ["0"]
    );
    target
        .conn()
        .execute_batch("DELETE FROM haul_stage_member WHERE id = 3")
        .unwrap();
    // The row removed by hand is said to be missing (exit 8: warnings).
    let done = haul(&["restore", a, &target.url(), "--resume"]).expect(8);
    assert!(
        done.stderr.contains("restored 1 tables, 2 rows")
            && done
                .stderr
                .contains("the archive holds 3 rows, 2 were inserted and 0 rejected"),
        "{}",
        done.stderr
    );
    assert_eq!(
        sqlite_rows(&target.conn(), "SELECT id, email FROM member ORDER BY id"),
        ["1|a@example.com", "2|b@example.com"]
    );
    assert_eq!(
        sqlite_rows(
            &target.conn(),
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        ),
        [ddl]
    );
}
