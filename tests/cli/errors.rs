//! Bad input: each gets its documented exit code, one clear line naming what
//! and where, and leaves the target as it was.

use crate::common::*;
use std::path::{Path, PathBuf};

/// A small SQLite archive (Chinook) in `dir`.
fn chinook_archive(dir: &Path) -> PathBuf {
    let src = datasets().join("chinook/Chinook_Sqlite.sqlite");
    let archive = dir.join("chinook.haul");
    haul(&[
        "dump",
        &format!("sqlite://{}", src.display()),
        "-o",
        archive.to_str().unwrap(),
    ])
    .ok();
    archive
}

fn chinook_sqlite() -> String {
    format!(
        "sqlite://{}",
        datasets().join("chinook/Chinook_Sqlite.sqlite").display()
    )
}

/// Tables in a SQLite file (none if the file does not exist).
fn sqlite_tables(path: &Path) -> Vec<String> {
    if !path.exists() {
        return vec![];
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    sqlite_rows(
        &conn,
        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
    )
}

fn assert_no_archive_left(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "a failed dump left files behind: {left:?}");
}

// ------------------------------------------------------------------ connections

#[test]
fn pg_unknown_user_is_exit_3() {
    let db = PgDb::new("haul_err_user");
    db.sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let a = out.join("x.haul");
    let url = format!("postgres://no_such_role_haul@{PG_HOST}:5432/{}", db.name);
    let r = haul(&["dump", &url, "-o", a.to_str().unwrap()]).expect(3);
    let line = error_line(&r);
    assert!(line.contains("no_such_role_haul"), "{line}");
    assert!(
        line.contains(&format!("{PG_HOST}:5432/{}", db.name)),
        "{line}"
    );
    assert_no_archive_left(&out);

    // Restoring as an unknown user changes nothing either.
    let archive = chinook_archive(dir.path());
    let target = PgDb::new("haul_err_user_target");
    let url = format!(
        "postgres://no_such_role_haul@{PG_HOST}:5432/{}",
        target.name
    );
    let r = haul(&["restore", archive.to_str().unwrap(), &url]).expect(3);
    assert!(error_line(&r).contains("no_such_role_haul"), "{}", r.stderr);
    assert!(target.table_names().is_empty());
    let r = haul(&["verify", archive.to_str().unwrap(), "--against", &url]);
    assert_ne!(r.code, 0);
}

#[test]
fn pg_unreachable_host_is_exit_3() {
    let dir = tempdir();
    let a = dir.path().join("x.haul");
    let r = haul(&[
        "dump",
        "postgres://postgres@127.0.0.1:1/whatever",
        "-o",
        a.to_str().unwrap(),
    ])
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("127.0.0.1:1"), "{line}");
    assert!(line.contains("cannot connect"), "{line}");
    assert_no_archive_left(dir.path());

    let archive = chinook_archive(dir.path());
    let r = haul(&[
        "restore",
        archive.to_str().unwrap(),
        "postgres://postgres@127.0.0.1:1/whatever",
    ])
    .expect(3);
    assert!(error_line(&r).contains("127.0.0.1:1"), "{}", r.stderr);
}

#[test]
fn pg_unknown_database_is_exit_3() {
    let dir = tempdir();
    let a = dir.path().join("x.haul");
    let name = unique("haul_no_such_db");
    let url = format!("postgres://postgres@{PG_HOST}:5432/{name}");
    let r = haul(&["dump", &url, "-o", a.to_str().unwrap()]).expect(3);
    let line = error_line(&r);
    assert!(line.contains(&name), "{line}");
    assert!(line.contains("does not exist"), "{line}");
    assert_no_archive_left(dir.path());

    let archive = chinook_archive(dir.path());
    let r = haul(&["restore", archive.to_str().unwrap(), &url]).expect(3);
    assert!(error_line(&r).contains(&name), "{}", r.stderr);
    // Nothing created it.
    let exists = psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    );
    assert_eq!(exists.trim(), "0");
}

#[test]
fn sqlite_missing_file_is_exit_3() {
    let dir = tempdir();
    let missing = dir.path().join("missing.db");
    let a = dir.path().join("x.haul");
    let r = haul(&[
        "dump",
        &format!("sqlite://{}", missing.display()),
        "-o",
        a.to_str().unwrap(),
    ])
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("missing.db"), "{line}");
    assert!(!missing.exists(), "dump created the source file");
    assert!(!a.exists());
}

// ------------------------------------------------------------------ tables

#[test]
fn missing_table_in_tables_is_exit_2() {
    let dir = tempdir();
    let src = datasets().join("chinook/Chinook_Sqlite.sqlite");
    let a = dir.path().join("x.haul");
    let r = haul(&[
        "dump",
        &format!("sqlite://{}", src.display()),
        "-o",
        a.to_str().unwrap(),
        "--tables",
        "Track,NoSuchTable",
    ])
    .expect(2);
    let line = error_line(&r);
    assert!(line.contains("NoSuchTable"), "{line}");
    assert_no_archive_left(dir.path());

    let pg = pg_chinook();
    let r = haul(&[
        "dump",
        &pg.url(),
        "-o",
        a.to_str().unwrap(),
        "--tables",
        "genre,no_such_table",
    ])
    .expect(2);
    let line = error_line(&r);
    assert!(line.contains("no_such_table"), "{line}");
    assert!(line.contains(&pg.name), "{line}");
    assert_no_archive_left(dir.path());

    // Restore with a table the archive does not hold: nothing written.
    let out = tempdir();
    let archive = chinook_archive(out.path());
    let target = SqliteDb::new("t");
    let r = haul(&[
        "restore",
        archive.to_str().unwrap(),
        &target.url(),
        "--tables",
        "Genre,Nope",
    ])
    .expect(2);
    assert!(error_line(&r).contains("Nope"), "{}", r.stderr);
    assert!(sqlite_tables(&target.path).is_empty());
}

// ------------------------------------------------------------------ archives

#[test]
fn truncated_archive_is_exit_4() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let bytes = std::fs::read(&archive).unwrap();
    let (_, moff, msize) = tar_members(&archive)
        .into_iter()
        .find(|m| m.0 == "manifest.json")
        .unwrap();
    let mid_manifest = (moff + msize / 2) as usize;
    for (name, len) in [
        ("half", bytes.len() / 2),
        ("mid-manifest", mid_manifest),
        ("tiny", 100),
    ] {
        let cut = dir.path().join(format!("{name}.haul"));
        std::fs::write(&cut, &bytes[..len]).unwrap();
        let c = cut.to_str().unwrap();
        for args in [vec!["verify", c], vec!["inspect", c]] {
            let r = haul(&args).expect(4);
            let line = error_line(&r);
            assert!(line.contains(c), "{name}: {line}");
        }
        let target = SqliteDb::new("t");
        let r = haul(&["restore", c, &target.url()]).expect(4);
        assert!(error_line(&r).contains(c), "{}", r.stderr);
        assert!(
            sqlite_tables(&target.path).is_empty(),
            "{name}: restore wrote tables"
        );
    }
    // Cut inside the data: it says the archive is incomplete.
    let cut = dir.path().join("half.haul");
    let r = haul(&["verify", cut.to_str().unwrap()]).expect(4);
    assert!(error_line(&r).contains("incomplete"), "{}", r.stderr);
}

/// Flip one byte in the middle of the first chunk of `table_dir_suffix`.
fn flip_byte_in_chunk(archive: &Path, table_dir_suffix: &str) -> String {
    let (name, off, size) = tar_members(archive)
        .into_iter()
        .find(|m| m.0.contains(table_dir_suffix) && m.0.ends_with(".csv.zst"))
        .expect("chunk member");
    let mut bytes = std::fs::read(archive).unwrap();
    let at = (off + size / 2) as usize;
    bytes[at] ^= 0x20;
    std::fs::write(archive, &bytes).unwrap();
    name
}

#[test]
fn flipped_byte_in_a_chunk_is_exit_4() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let member = flip_byte_in_chunk(&archive, "-Track/");
    let a = archive.to_str().unwrap();
    let r = haul(&["verify", a]).expect(4);
    let line = error_line(&r);
    assert!(line.contains("Track"), "{line}");
    assert!(line.contains(&member), "{line}");
    assert!(line.contains("checksum"), "{line}");

    // inspect only reads the manifest: still works.
    haul(&["inspect", a]).ok();

    // restore refuses, and writes nothing.
    let target = SqliteDb::new("t");
    let r = haul(&["restore", a, &target.url()]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(error_line(&r).contains(&member), "{}", r.stderr);
    assert!(
        sqlite_tables(&target.path).is_empty(),
        "restore of a corrupt archive changed the target: {:?}",
        sqlite_tables(&target.path)
    );
    let pg = PgDb::new("haul_err_flip");
    let r = haul(&["restore", a, &pg.url()]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    // (A SQLite archive cannot go into PostgreSQL yet; whatever the reason
    // for the refusal, nothing may be written.)
    assert!(pg.table_names().is_empty(), "{:?}", pg.table_names());
}

#[test]
fn flipped_byte_in_a_pg_chunk_is_refused() {
    let src = pg_chinook();
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let member = flip_byte_in_chunk(&archive, "-track/");
    let r = haul(&["verify", a]).expect(4);
    assert!(error_line(&r).contains(&member), "{}", r.stderr);
    let target = PgDb::new("haul_err_flip_pg");
    let r = haul(&["restore", a, &target.url()]);
    assert_eq!(r.code, 4, "{}", r.stderr);
    assert!(error_line(&r).contains(&member), "{}", r.stderr);
    assert!(
        target.table_names().is_empty(),
        "restore of a corrupt archive changed the target: {:?}",
        target.table_names()
    );
}

#[test]
fn not_an_archive_is_exit_4() {
    let dir = tempdir();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("empty", vec![]),
        ("text", b"hello, I am not an archive\n".repeat(100)),
        ("zeros", vec![0u8; 10240]),
        (
            "sqlite",
            std::fs::read(datasets().join("chinook/Chinook_Sqlite.sqlite")).unwrap(),
        ),
    ];
    for (name, bytes) in cases {
        let p = dir.path().join(format!("{name}.haul"));
        std::fs::write(&p, bytes).unwrap();
        let a = p.to_str().unwrap();
        for cmd in ["inspect", "verify"] {
            let r = haul(&[cmd, a]).expect(4);
            let line = error_line(&r);
            assert!(line.contains(a), "{name}: {line}");
        }
        let target = SqliteDb::new("t");
        let r = haul(&["restore", a, &target.url()]).expect(4);
        assert!(
            error_line(&r).contains("not a haul archive") || r.stderr.contains("incomplete"),
            "{}",
            r.stderr
        );
        assert!(sqlite_tables(&target.path).is_empty());
    }
    // A real tar that is not a haul archive.
    let p = dir.path().join("other.tar");
    let mut b = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_mode(0o644);
    b.append_data(&mut h, "readme.txt", &b"hi\n"[..]).unwrap();
    std::fs::write(&p, b.into_inner().unwrap()).unwrap();
    let r = haul(&["verify", p.to_str().unwrap()]).expect(4);
    assert!(
        error_line(&r).contains("not a haul archive"),
        "{}",
        r.stderr
    );
    // A missing file is a usage error, naming it.
    let r = haul(&["verify", dir.path().join("nope.haul").to_str().unwrap()]).expect(2);
    assert!(error_line(&r).contains("nope.haul"), "{}", r.stderr);
}

/// A GNU tar header for `name` (written raw: the tar crate refuses `..`).
fn raw_header(name: &str, size: u64, kind: tar::EntryType, link: Option<&str>) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    {
        let gnu = h.as_gnu_mut().unwrap();
        gnu.name[..name.len()].copy_from_slice(name.as_bytes());
        if let Some(l) = link {
            gnu.linkname[..l.len()].copy_from_slice(l.as_bytes());
        }
    }
    h.set_size(size);
    h.set_mode(0o644);
    h.set_entry_type(kind);
    h.set_cksum();
    h
}

/// The archive's members, with `extra` inserted before the manifest.
fn with_extra_member(archive: &Path, extra: tar::Header, data: &[u8]) -> Vec<u8> {
    let bytes = std::fs::read(archive).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, off, size) in tar_members(archive) {
        if name == "manifest.json" {
            b.append(&extra, data).unwrap();
        }
        let mut h = tar::Header::new_gnu();
        h.set_size(size);
        h.set_mode(0o644);
        b.append_data(&mut h, &name, &bytes[off as usize..(off + size) as usize])
            .unwrap();
    }
    b.into_inner().unwrap()
}

#[test]
fn unsafe_member_names_are_exit_4() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    // Sanity: the rebuilt archive without extras is valid.
    let same = dir.path().join("same.haul");
    let rebuilt = {
        let bytes = std::fs::read(&archive).unwrap();
        let mut b = tar::Builder::new(Vec::new());
        for (name, off, size) in tar_members(&archive) {
            let mut h = tar::Header::new_gnu();
            h.set_size(size);
            h.set_mode(0o644);
            b.append_data(&mut h, &name, &bytes[off as usize..(off + size) as usize])
                .unwrap();
        }
        b.into_inner().unwrap()
    };
    std::fs::write(&same, rebuilt).unwrap();
    haul(&["verify", same.to_str().unwrap()]).ok();

    let evil = b"evil\n";
    let cases = vec![
        (
            "dotdot",
            raw_header("../evil", 5, tar::EntryType::Regular, None),
            "../evil",
        ),
        (
            "inner-dotdot",
            raw_header("data/../../evil", 5, tar::EntryType::Regular, None),
            "data/../../evil",
        ),
        (
            "absolute",
            raw_header("/abs", 5, tar::EntryType::Regular, None),
            "/abs",
        ),
        (
            "symlink",
            raw_header("data/link", 0, tar::EntryType::Symlink, Some("/etc/passwd")),
            "data/link",
        ),
        (
            "unexpected",
            raw_header("data/extra.csv", 5, tar::EntryType::Regular, None),
            "data/extra.csv",
        ),
    ];
    for (case, header, name) in cases {
        let data: &[u8] = if header.entry_type() == tar::EntryType::Symlink {
            b""
        } else {
            evil
        };
        let p = dir.path().join(format!("{case}.haul"));
        std::fs::write(&p, with_extra_member(&archive, header, data)).unwrap();
        let a = p.to_str().unwrap();
        for cmd in ["inspect", "verify"] {
            let r = haul(&[cmd, a]).expect(4);
            let line = error_line(&r);
            assert!(line.contains(a), "{case}: {line}");
            assert!(line.contains(name), "{case}: {line}");
        }
        let target = SqliteDb::new("t");
        let r = haul(&["restore", a, &target.url()]).expect(4);
        assert!(error_line(&r).contains(name), "{case}: {}", r.stderr);
        assert!(sqlite_tables(&target.path).is_empty(), "{case}");
    }
    assert!(!dir.path().parent().unwrap().join("evil").exists());
}

// ------------------------------------------------------------------ targets

/// A target whose table has rows: the archive's rows are merged, the
/// colliding keys stop the restore (exit 7) with the target's rows
/// untouched, `--abandon` puts the target back, `--clean` replaces it.
#[test]
fn pg_target_with_rows_stops_on_collisions_then_abandon_and_clean() {
    let src = pg_chinook();
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = PgDb::new("haul_err_nonempty");
    target.sql("CREATE TABLE genre (genre_id int PRIMARY KEY, name text); INSERT INTO genre VALUES (1, 'mine'), (2, 'also mine')");
    let p = haul(&["plan", a, &target.url()]).ok();
    assert!(
        p.stdout
            .contains("merge into existing (it has rows) table genre"),
        "{}",
        p.stdout
    );
    assert_eq!(target.table_names(), ["genre"]);

    let r = haul(&["restore", a, &target.url()]).expect(7);
    for want in [
        "table genre: primary key genre_pkey (genre_id): genre_id=\"1\": 1 pre-existing row, 1 archived row",
        "genre_id=\"2\"",
        "--on-duplicate keep-existing",
        "--resume",
    ] {
        assert!(r.stderr.contains(want), "{want}: {}", r.stderr);
    }
    assert_eq!(
        target.sql("SELECT * FROM genre ORDER BY 1"),
        "1|mine\n2|also mine\n"
    );
    // A plain re-run is refused while the journal is there.
    let again = haul(&["restore", a, &target.url(), "--clean"]).expect(5);
    assert!(error_line(&again).contains("--resume"), "{}", again.stderr);

    haul(&["restore", a, &target.url(), "--abandon"]).ok();
    assert_eq!(target.table_names(), ["genre"]);
    assert_eq!(
        target.sql("SELECT * FROM genre ORDER BY 1"),
        "1|mine\n2|also mine\n"
    );

    haul(&["restore", a, &target.url(), "--clean"]).ok();
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 11, "{}", v.stdout);
    assert_eq!(target.sql("SELECT count(*) FROM genre").trim(), "25");
}

#[test]
fn sqlite_target_with_rows_stops_on_collisions_then_abandon_and_clean() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let a = archive.to_str().unwrap();
    let target = SqliteDb::new("t");
    target
        .conn()
        .execute_batch("CREATE TABLE Genre (GenreId INTEGER PRIMARY KEY, Name TEXT); INSERT INTO Genre VALUES (1, 'mine');")
        .unwrap();
    let r = haul(&["restore", a, &target.url()]).expect(7);
    assert!(
        r.stderr.contains("table Genre: primary key")
            && r.stderr.contains("1 pre-existing row, 1 archived row"),
        "{}",
        r.stderr
    );
    assert_eq!(
        sqlite_rows(&target.conn(), "SELECT * FROM Genre"),
        ["1|mine"]
    );
    haul(&["restore", a, &target.url(), "--abandon"]).ok();
    assert_eq!(sqlite_tables(&target.path), ["Genre"]);
    assert_eq!(
        sqlite_rows(&target.conn(), "SELECT * FROM Genre"),
        ["1|mine"]
    );

    haul(&["restore", a, &target.url(), "--clean"]).ok();
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 11, "{}", v.stdout);
    assert_eq!(
        sqlite_rows(&target.conn(), "SELECT count(*) FROM Genre"),
        ["25"]
    );
}

#[test]
fn failed_dump_keeps_the_previous_archive() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let before = std::fs::read(&archive).unwrap();
    let a = archive.to_str().unwrap();
    let missing = dir.path().join("missing.db");
    haul(&["dump", &format!("sqlite://{}", missing.display()), "-o", a]).expect(3);
    haul(&["dump", &chinook_sqlite(), "-o", a, "--tables", "Nope"]).expect(2);
    assert!(
        std::fs::read(&archive).unwrap() == before,
        "a failed dump changed the archive"
    );
    haul(&["verify", a]).ok();
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["chinook.haul"], "temporary files left behind");
}

#[test]
fn usage_errors_are_exit_2() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let a = archive.to_str().unwrap();
    // -o names a directory, or a file in a missing directory.
    let r = haul(&[
        "dump",
        &chinook_sqlite(),
        "-o",
        dir.path().to_str().unwrap(),
    ])
    .expect(2);
    assert!(error_line(&r).contains("directory"), "{}", r.stderr);
    let nowhere = dir.path().join("no/such/dir/x.haul");
    let r = haul(&["dump", &chinook_sqlite(), "-o", nowhere.to_str().unwrap()]).expect(2);
    assert!(error_line(&r).contains("no/such/dir"), "{}", r.stderr);
    // verify --against a database of another engine.
    let pg = PgDb::new("haul_err_engine");
    let r = haul(&["verify", a, "--against", &pg.url()]).expect(2);
    let line = error_line(&r);
    assert!(
        line.contains("sqlite") && line.contains("postgres"),
        "{line}"
    );
    // URLs haul cannot use.
    for url in [
        "mysql:/x",
        "ftp://h/db",
        "postgres://h:99999/db",
        "postgres://h:5432/",
        "sqlite://",
    ] {
        let r = haul(&[
            "dump",
            url,
            "-o",
            dir.path().join("u.haul").to_str().unwrap(),
        ])
        .expect(2);
        assert!(
            error_line(&r).contains("invalid connection URL"),
            "{url}: {}",
            r.stderr
        );
    }
    // Unknown flags and chunk sizes: clap's usage errors, also 2.
    haul(&["dump", &chinook_sqlite(), "-o", a, "--chunk-size", "1k"]).expect(2);
    haul(&["dump", &chinook_sqlite(), "-o", a, "--no-such-flag"]).expect(2);
}

#[test]
fn verify_against_a_database_missing_a_table_is_exit_6() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let a = archive.to_str().unwrap();
    let target = SqliteDb::new("t");
    haul(&["restore", a, &target.url()]).ok();
    target
        .conn()
        .execute_batch("DROP TABLE PlaylistTrack")
        .unwrap();
    let r = haul(&["verify", a, "--against", &target.url()]).expect(6);
    assert!(error_line(&r).contains("PlaylistTrack"), "{}", r.stderr);
    // A column more in the live table is a difference too.
    let target = SqliteDb::new("t2");
    haul(&["restore", a, &target.url()]).ok();
    target
        .conn()
        .execute_batch("ALTER TABLE Genre ADD COLUMN extra TEXT")
        .unwrap();
    let r = haul(&["verify", a, "--against", &target.url()]).expect(6);
    let line = error_line(&r);
    assert!(line.contains("Genre") && line.contains("extra"), "{line}");
}

#[test]
fn sqlite_target_that_is_not_a_database_is_exit_3_and_untouched() {
    let dir = tempdir();
    let archive = chinook_archive(dir.path());
    let not_db = dir.path().join("notes.txt");
    let text = b"my notes, not a database\n".repeat(200);
    std::fs::write(&not_db, &text).unwrap();
    let r = haul(&[
        "restore",
        archive.to_str().unwrap(),
        &format!("sqlite://{}", not_db.display()),
    ])
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("notes.txt"), "{line}");
    assert!(line.contains("not a SQLite database"), "{line}");
    assert!(
        std::fs::read(&not_db).unwrap() == text,
        "the file was changed"
    );
    // Same as a dump source.
    let r = haul(&[
        "dump",
        &format!("sqlite://{}", not_db.display()),
        "-o",
        dir.path().join("n.haul").to_str().unwrap(),
    ])
    .expect(3);
    assert!(
        error_line(&r).contains("not a SQLite database"),
        "{}",
        r.stderr
    );
}

// ------------------------------------------------------------------ lying manifests

/// A copy of `archive` at `out` with member data and the manifest edited
/// (`schema_blake3` is recomputed when `schema.json` changes).
fn rewrite_archive(
    archive: &Path,
    out: &Path,
    mut member: impl FnMut(&str, &mut Vec<u8>),
    manifest: impl FnOnce(&mut serde_json::Value),
) {
    let bytes = std::fs::read(archive).unwrap();
    let mut members: Vec<(String, Vec<u8>)> = tar_members(archive)
        .into_iter()
        .map(|(name, off, size)| {
            let mut data = bytes[off as usize..(off + size) as usize].to_vec();
            member(&name, &mut data);
            (name, data)
        })
        .collect();
    let schema_hash = blake3::hash(&members[0].1).to_hex().to_string();
    let last = members.last_mut().unwrap();
    assert_eq!(last.0, "manifest.json");
    let mut m: serde_json::Value = serde_json::from_slice(&last.1).unwrap();
    m["schema_blake3"] = schema_hash.into();
    manifest(&mut m);
    last.1 = serde_json::to_vec_pretty(&m).unwrap();
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in &members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).unwrap();
    }
    std::fs::write(out, b.into_inner().unwrap()).unwrap();
}

/// The demo database's archive in `dir`.
fn demo_archive(dir: &Path) -> PathBuf {
    let archive = dir.join("demo.haul");
    let src = format!("sqlite://{}", fixtures().join("demo.db").display());
    haul(&["dump", &src, "-o", archive.to_str().unwrap(), "-q"]).ok();
    archive
}

/// Restore `archive` into a new SQLite file in `dir`: exit 4, an error line
/// containing `what`, and no table written.
fn restore_is_exit_4(dir: &Path, archive: &Path, what: &str) {
    let db = dir.join(format!("{}.db", unique("t")));
    let url = format!("sqlite://{}", db.display());
    let r = haul(&["restore", archive.to_str().unwrap(), &url, "-q"]).expect(4);
    assert!(error_line(&r).contains(what), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn manifest_listing_a_table_twice_is_exit_4() {
    let dir = tempdir();
    let archive = demo_archive(dir.path());
    let bad = dir.path().join("twice.haul");
    rewrite_archive(
        &archive,
        &bad,
        |_, _| {},
        |m| {
            let t = m["tables"][0].clone();
            m["tables"].as_array_mut().unwrap().push(t);
        },
    );
    restore_is_exit_4(dir.path(), &bad, "table author is listed twice");
    haul(&["verify", bad.to_str().unwrap()]).expect(4);
    haul(&["inspect", bad.to_str().unwrap()]).expect(4);
}

#[test]
fn manifest_that_lies_about_counts_is_exit_4() {
    let dir = tempdir();
    let archive = demo_archive(dir.path());
    // Rows that add up but are not the chunk's: found while loading.
    let rows = dir.path().join("rows.haul");
    rewrite_archive(
        &archive,
        &rows,
        |_, _| {},
        |m| {
            let n = m["tables"][0]["rows"].as_u64().unwrap() + 1;
            m["tables"][0]["rows"] = n.into();
            m["tables"][0]["chunks"][0]["rows"] = n.into();
        },
    );
    restore_is_exit_4(dir.path(), &rows, "the manifest says 5");
    haul(&["verify", rows.to_str().unwrap()]).expect(4);
    // Counts that overflow.
    let huge = dir.path().join("huge.haul");
    rewrite_archive(
        &archive,
        &huge,
        |_, _| {},
        |m| {
            m["tables"][0]["rows"] = u64::MAX.into();
            m["tables"][1]["rows"] = u64::MAX.into();
        },
    );
    restore_is_exit_4(dir.path(), &huge, "bad manifest");
    // A stored size that is not the member's.
    let size = dir.path().join("size.haul");
    rewrite_archive(
        &archive,
        &size,
        |_, _| {},
        |m| {
            let n = m["tables"][0]["chunks"][0]["stored_bytes"]
                .as_u64()
                .unwrap()
                + 1;
            m["tables"][0]["chunks"][0]["stored_bytes"] = n.into();
            m["tables"][0]["stored_bytes"] = n.into();
        },
    );
    restore_is_exit_4(dir.path(), &size, "the manifest says");
}

#[test]
fn manifest_schema_must_be_schema_json() {
    let dir = tempdir();
    let archive = demo_archive(dir.path());
    // The manifest's copy of the schema differs from schema.json.
    let copy = dir.path().join("copy.haul");
    rewrite_archive(
        &archive,
        &copy,
        |_, _| {},
        |m| {
            m["schema"]["tables"][0]["columns"][0]["native_type"] = "TEXT".into();
        },
    );
    restore_is_exit_4(dir.path(), &copy, "differs from schema.json");
    // Tables of the schema and of the manifest disagree.
    let extra = dir.path().join("extra.haul");
    let edit_schema = |v: &mut serde_json::Value| {
        let mut t = v["tables"][0].clone();
        t["name"] = "ghost".into();
        v["tables"].as_array_mut().unwrap().push(t);
    };
    rewrite_archive(
        &archive,
        &extra,
        |name, data| {
            if name == "schema.json" {
                let mut v: serde_json::Value = serde_json::from_slice(data).unwrap();
                edit_schema(&mut v);
                *data = serde_json::to_vec_pretty(&v).unwrap();
            }
        },
        |m| edit_schema(&mut m["schema"]),
    );
    restore_is_exit_4(
        dir.path(),
        &extra,
        "table ghost of schema.json is not in the manifest",
    );
    // Columns that disagree with the schema.
    let cols = dir.path().join("cols.haul");
    rewrite_archive(
        &archive,
        &cols,
        |_, _| {},
        |m| {
            m["tables"][0]["columns"].as_array_mut().unwrap().reverse();
        },
    );
    restore_is_exit_4(dir.path(), &cols, "columns differ from schema.json");
}

/// `haul verify` of `archive` with its address space limited to 512 MiB.
fn verify_in_512_mib(archive: &Path) -> Run {
    use std::os::unix::process::CommandExt;
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_haul"));
    cmd.args(["verify", archive.to_str().unwrap()]);
    // SAFETY: only setrlimit, async-signal-safe, between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 512 << 20,
                rlim_max: 512 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A copy of `archive` whose first chunk is `frame`, said to hold `raw`
/// bytes of CSV.
fn with_chunk(archive: &Path, out: &Path, frame: &[u8], raw: u64) {
    let first = manifest(archive)["tables"][0]["chunks"][0]["member"]
        .as_str()
        .unwrap()
        .to_string();
    let hash = blake3::hash(frame).to_hex().to_string();
    let (stored, raw0) = (frame.len() as u64, raw);
    rewrite_archive(
        archive,
        out,
        |name, data| {
            if name == first {
                *data = frame.to_vec();
            }
        },
        |m| {
            let t = &mut m["tables"][0];
            let c = &mut t["chunks"][0];
            let (old_raw, old_stored) = (
                c["raw_bytes"].as_u64().unwrap(),
                c["stored_bytes"].as_u64().unwrap(),
            );
            c["raw_bytes"] = raw0.into();
            c["stored_bytes"] = stored.into();
            c["blake3"] = hash.clone().into();
            t["raw_bytes"] = (t["raw_bytes"].as_u64().unwrap() - old_raw + raw0).into();
            t["stored_bytes"] = (t["stored_bytes"].as_u64().unwrap() - old_stored + stored).into();
        },
    );
}

#[test]
fn decompression_is_bounded_by_the_declared_chunk_size() {
    let dir = tempdir();
    let archive = demo_archive(dir.path());
    // A small chunk said to hold 900 MiB: no buffer of that size up front.
    let mut x = 0x9e3779b97f4a7c15u64;
    let noise: Vec<u8> = (0..64 << 10)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let frame = zstd::bulk::compress(&noise, 1).unwrap();
    let lie = dir.path().join("lie.haul");
    with_chunk(&archive, &lie, &frame, 900 << 20);
    let r = verify_in_512_mib(&lie).expect(4);
    assert!(
        error_line(&r).contains("the manifest says 943718400"),
        "{}",
        r.stderr
    );
    // A zstd bomb said to hold 1 KiB: 256 MiB of CSV lines.
    let mut enc = zstd::stream::Encoder::new(Vec::new(), 1).unwrap();
    enc.include_checksum(true).unwrap();
    let line = b"1,x\n".repeat(1 << 14);
    for _ in 0..(256 << 20) / line.len() {
        std::io::Write::write_all(&mut enc, &line).unwrap();
    }
    let bomb_frame = enc.finish().unwrap();
    assert!(bomb_frame.len() < 1 << 20);
    let bomb = dir.path().join("bomb.haul");
    with_chunk(&archive, &bomb, &bomb_frame, 1 << 10);
    let r = verify_in_512_mib(&bomb).expect(4);
    assert!(
        error_line(&r).contains("decompresses past the 1024 bytes"),
        "{}",
        r.stderr
    );
}

#[test]
fn names_with_escape_codes_never_reach_the_terminal() {
    let dir = tempdir();
    let db = dir.path().join("esc.db");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "CREATE TABLE \"a\x1b[31mb\" (id INTEGER PRIMARY KEY, \"c\x1b]0;x\x07d\" TEXT);
         INSERT INTO \"a\x1b[31mb\" VALUES (1, 'one');",
    )
    .unwrap();
    drop(conn);
    let archive = dir.path().join("esc.haul");
    let src = format!("sqlite://{}", db.display());
    let target = format!("sqlite://{}", dir.path().join("copy.db").display());
    let a = archive.to_str().unwrap();
    let runs = [
        haul(&["dump", &src, "-o", a]).ok(),
        haul(&["inspect", a]).ok(),
        haul(&["plan", a, &target]).ok(),
        haul(&["restore", a, &target]).ok(),
        haul(&["verify", a]).ok(),
        // An error naming the table: it exists now.
        haul(&["restore", a, &target]),
    ];
    let inspect = &runs[1].stdout;
    assert!(inspect.contains("a\\u{1b}[31mb"), "{inspect}");
    for r in &runs {
        assert!(
            !r.all().contains('\x1b'),
            "ESC printed:\n{}",
            r.all().escape_debug()
        );
        assert!(
            !r.all().contains('\x07'),
            "BEL printed:\n{}",
            r.all().escape_debug()
        );
    }
}
