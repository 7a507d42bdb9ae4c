//! The restore phases end to end against in-process SQLite files: an archive
//! dumped from one file, restored into another through the same session the
//! commands use, and the result read back with rusqlite (not with haul).

use super::plan::Options;
use super::session::{self, Input, Outcome, Request};
use super::{DuplicatesError, Policy};
use crate::conn::ConnSpec;
use crate::model::TableFilter;
use crate::progress::Mode;
use rusqlite::Connection;
use std::path::{Path, PathBuf};

/// A SQLite file made from `sql`.
fn db(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    let c = Connection::open(&path).expect("a new SQLite file");
    c.execute_batch(sql).expect("the fixture SQL");
    path
}

fn spec(path: &Path) -> ConnSpec {
    ConnSpec::parse(&format!("sqlite://{}", path.display()), None).expect("a SQLite URL")
}

/// Dump `source` into `dir/a.haul`.
fn dump(dir: &Path, source: &Path) -> PathBuf {
    let out = dir.join("a.haul");
    let rt = session::runtime(2).expect("a runtime");
    rt.block_on(crate::dump::dump(
        &spec(source),
        &crate::archive::Dest::local(&out, false),
        &TableFilter::default(),
        2,
        64 << 10,
        3,
        Mode::Quiet,
    ))
    .expect("the dump");
    out
}

fn request(archive: &Path, target: &Path, policy: Policy) -> Request {
    Request {
        input: Input::Archive(archive.to_path_buf()),
        access: Default::default(),
        spec: spec(target),
        jobs: 2,
        opts: Options::default(),
        policy,
        rejects: archive.with_file_name("rejects.haul"),
        analyze: true,
        resume: false,
        abandon: false,
        allow_downgrade: false,
        dry_run: false,
        mode: Mode::Quiet,
    }
}

fn query(path: &Path, sql: &str) -> Vec<String> {
    let c = Connection::open(path).expect("the target file");
    let mut st = c.prepare(sql).expect("a query");
    let rows = st
        .query_map([], |r| r.get::<_, rusqlite::types::Value>(0))
        .expect("rows");
    rows.map(|v| format!("{:?}", v.expect("a value"))).collect()
}

const SOURCE: &str = "
    CREATE TABLE author (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
    CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER REFERENCES author(id), title TEXT);
    CREATE INDEX book_title ON book(title);
    INSERT INTO author VALUES (1, 'a@x'), (2, 'b@x'), (3, 'a@x');
    INSERT INTO book VALUES (10, 1, 'one'), (11, 2, 'two'), (12, NULL, NULL);
";

#[test]
fn a_new_file_gets_tables_rows_indexes_and_no_journal() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let source = db(dir.path(), "src.db", SOURCE);
    let archive = dump(dir.path(), &source);
    let target = dir.path().join("new.db");
    let out = session::run(request(&archive, &target, Policy::Fail)).expect("the restore");
    let Outcome::Done {
        report, resumed, ..
    } = out
    else {
        panic!("not a finished restore");
    };
    assert!(!resumed);
    assert_eq!((report.tables, report.rows), (2, 6));
    assert_eq!(
        query(&target, "SELECT email FROM author ORDER BY id"),
        ["Text(\"a@x\")", "Text(\"b@x\")", "Text(\"a@x\")"]
    );
    assert_eq!(
        query(&target, "SELECT count(*) FROM book WHERE title IS NULL"),
        ["Integer(1)"]
    );
    assert_eq!(
        query(
            &target,
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'book_title'"
        ),
        ["Text(\"book_title\")"]
    );
    assert!(query(
        &target,
        "SELECT name FROM sqlite_master WHERE name LIKE 'haul_journal%'"
    )
    .is_empty());
}

#[test]
fn an_empty_existing_table_is_loaded_with_its_unique_index_relaxed_and_reapplied() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let source = db(
        dir.path(),
        "src.db",
        "CREATE TABLE author (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         INSERT INTO author VALUES (1, 'a@x'), (2, 'b@x');",
    );
    let archive = dump(dir.path(), &source);
    let target = db(
        dir.path(),
        "app.db",
        "CREATE TABLE author (id INTEGER PRIMARY KEY, email TEXT NOT NULL, nick TEXT DEFAULT 'n');
         CREATE UNIQUE INDEX author_email ON author(email);",
    );
    session::run(request(&archive, &target, Policy::Fail)).expect("the restore");
    assert_eq!(
        query(&target, "SELECT nick FROM author"),
        ["Text(\"n\")", "Text(\"n\")"]
    );
    assert_eq!(
        query(
            &target,
            "SELECT sql FROM sqlite_master WHERE name = 'author_email'"
        ),
        ["Text(\"CREATE UNIQUE INDEX author_email ON author(email)\")"]
    );
}

#[test]
fn duplicates_stop_before_reapplying_and_abandon_puts_the_target_back() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let source = db(dir.path(), "src.db", SOURCE);
    let archive = dump(dir.path(), &source);
    let target = db(
        dir.path(),
        "app.db",
        "CREATE TABLE author (id INTEGER PRIMARY KEY, email TEXT NOT NULL);
         CREATE UNIQUE INDEX author_email ON author(email);
         CREATE TABLE book (id INTEGER PRIMARY KEY, author_id INTEGER, title TEXT);",
    );
    let err = match session::run(request(&archive, &target, Policy::Fail)) {
        Ok(_) => panic!("the restore ignored duplicate keys"),
        Err(e) => e,
    };
    assert!(err.chain().any(|c| c.is::<DuplicatesError>()), "{err:#}");
    assert!(format!("{err:#}").contains("a@x"), "{err:#}");
    // The rows are in, the key is not, and the journal stays.
    assert_eq!(
        query(&target, "SELECT count(*) FROM author"),
        ["Integer(3)"]
    );
    assert!(query(
        &target,
        "SELECT name FROM sqlite_master WHERE name = 'author_email'"
    )
    .is_empty());
    assert_eq!(
        query(
            &target,
            "SELECT count(*) FROM sqlite_master WHERE name = 'haul_journal'"
        ),
        ["Integer(1)"]
    );
    let mut undo = request(&archive, &target, Policy::Fail);
    undo.abandon = true;
    let Outcome::Abandoned { left, .. } = session::run(undo).expect("abandon") else {
        panic!("not abandoned");
    };
    assert!(left.is_empty(), "{left:?}");
    assert_eq!(
        query(&target, "SELECT count(*) FROM author"),
        ["Integer(0)"]
    );
    assert_eq!(
        query(
            &target,
            "SELECT name FROM sqlite_master WHERE name = 'author_email'"
        ),
        ["Text(\"author_email\")"]
    );
    assert!(query(
        &target,
        "SELECT name FROM sqlite_master WHERE name LIKE 'haul_journal%'"
    )
    .is_empty());
}

#[test]
fn a_table_with_rows_is_merged_and_the_losers_saved() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let source = db(
        dir.path(),
        "src.db",
        "CREATE TABLE setting (id INTEGER PRIMARY KEY, name TEXT UNIQUE, value TEXT);
         INSERT INTO setting VALUES (1, 'azure', 'archived'), (2, 'github', 'archived');",
    );
    let archive = dump(dir.path(), &source);
    let target = db(
        dir.path(),
        "app.db",
        "CREATE TABLE setting (id INTEGER PRIMARY KEY, name TEXT UNIQUE, value TEXT);
         INSERT INTO setting VALUES (7, 'azure', 'seeded');",
    );
    let out = session::run(request(&archive, &target, Policy::KeepExisting)).expect("the merge");
    let Outcome::Done { report, .. } = out else {
        panic!("not a finished restore");
    };
    assert_eq!((report.rows, report.rejected), (1, 1));
    assert_eq!(
        query(&target, "SELECT value FROM setting ORDER BY name"),
        ["Text(\"seeded\")", "Text(\"archived\")"]
    );
    let rejects = crate::archive::ArchiveReader::open(Path::new(&report.rejects[0]))
        .expect("the rejects archive");
    assert_eq!(rejects.manifest().tables[0].rows, 1);
}
