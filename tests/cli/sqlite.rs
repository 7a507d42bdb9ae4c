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
