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
    // Into the source itself: refused without --clean, then replaced.
    haul(&["restore", a, &src.url(), "-q"]).expect(5);
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
