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
