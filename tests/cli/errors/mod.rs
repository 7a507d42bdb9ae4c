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

mod manifests;

// ------------------------------------------------------------------ haul's own names

/// A user table named like haul's restore journal is refused at dump (exit
/// 5, named), on every engine; an unfinished restore's own journal is left
/// out with a warning (exit 8), never silently.
#[test]
fn tables_named_like_the_journal_are_never_dropped_silently() {
    let dir = tempdir();
    let out = dir.path().join("a.haul");
    let o = out.to_str().unwrap();

    let lite = SqliteDb::new("journal_names");
    lite.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY); INSERT INTO t VALUES (1);
             CREATE TABLE haul_journal_chunks (note TEXT); INSERT INTO haul_journal_chunks VALUES ('mine');",
        )
        .unwrap();
    let r = haul(&["dump", &lite.url(), "-o", o]).expect(5);
    assert!(r.stderr.contains("haul_journal_chunks"), "{}", r.stderr);
    assert!(!out.exists(), "a refused dump wrote {o}");

    // The shape of haul's own journal: left out, and said.
    lite.conn()
        .execute_batch(
            "DROP TABLE haul_journal_chunks;
             CREATE TABLE haul_journal (id INTEGER PRIMARY KEY, written_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, body TEXT NOT NULL);
             CREATE TABLE haul_journal_chunks (tbl INTEGER NOT NULL, chunk INTEGER NOT NULL, PRIMARY KEY (tbl, chunk));",
        )
        .unwrap();
    let r = haul(&["dump", &lite.url(), "-o", o]).expect(8);
    assert!(
        r.stderr.contains("unfinished haul restore's journal"),
        "{}",
        r.stderr
    );
    // Only `t` is in it, and the manifest says what was left out.
    let i = haul(&["inspect", o]).ok();
    assert!(i.stdout.contains("tables    1,"), "{}", i.stdout);
    assert!(
        i.stdout.contains("warning   table haul_journal "),
        "{}",
        i.stdout
    );

    let pg = PgDb::new("haul_journal_names");
    pg.sql("CREATE TABLE haul_journal (id int, what text); INSERT INTO haul_journal VALUES (1, 'mine')");
    let r = haul(&["dump", &pg.url(), "-o", o]).expect(5);
    assert!(r.stderr.contains("table haul_journal "), "{}", r.stderr);

    let my = MyDb::new("haul_journal_names");
    my.sql("CREATE TABLE haul_journal_chunks (n int); INSERT INTO haul_journal_chunks VALUES (1)");
    let r = haul(&["dump", &my.url(), "-o", o]).expect(5);
    assert!(r.stderr.contains("haul_journal_chunks"), "{}", r.stderr);
}
