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
