//! Random damage to a small valid archive: opening, verifying and planning
//! a restore of it (into an empty SQLite database) never panics, and every
//! error the reader gives is an `ArchiveError`.

use super::ArchiveReader;
use crate::archive::codec::ChunkDecoder;
use crate::conn::ConnSpec;
use crate::engine::Target;
use crate::model::TableFilter;
use crate::progress::Mode;
use crate::restore::plan;
use proptest::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// What one mutation does.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Truncate(usize),
    DuplicateMember(usize),
    SwapMembers(usize, usize),
    DropMember(usize),
    /// Set the numeric or string field `field` of table `table` (or of one
    /// of its chunks when `chunk` is set) to `value`.
    Edit {
        table: usize,
        chunk: Option<usize>,
        field: usize,
        value: u64,
    },
    DuplicateTable(usize),
    RemoveTable(usize),
    DuplicateChunk(usize, usize),
    ReverseColumns(usize),
    RenameTable(usize),
    EditSchemaCopy(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let value = prop_oneof![
        Just(0u64),
        Just(1),
        Just(u64::MAX),
        Just(u64::MAX / 2),
        Just(1 << 30),
        any::<u64>(),
        0u64..100,
    ];
    prop_oneof![
        (any::<usize>(), 1u8..=255).prop_map(|(i, x)| Mutation::Flip(i, x)),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DuplicateMember),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Mutation::SwapMembers(a, b)),
        any::<usize>().prop_map(Mutation::DropMember),
        (
            any::<usize>(),
            proptest::option::of(any::<usize>()),
            0usize..6,
            value
        )
            .prop_map(|(table, chunk, field, value)| Mutation::Edit {
                table,
                chunk,
                field,
                value
            }),
        any::<usize>().prop_map(Mutation::DuplicateTable),
        any::<usize>().prop_map(Mutation::RemoveTable),
        (any::<usize>(), any::<usize>()).prop_map(|(t, c)| Mutation::DuplicateChunk(t, c)),
        any::<usize>().prop_map(Mutation::ReverseColumns),
        any::<usize>().prop_map(Mutation::RenameTable),
        any::<usize>().prop_map(Mutation::EditSchemaCopy),
    ]
}

/// A small valid archive (two tables) and a temp
/// directory for the cases.
fn fixture() -> &'static (tempfile::TempDir, Vec<u8>) {
    static FIXTURE: OnceLock<(tempfile::TempDir, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = dir.path().join("src.db");
        let conn = rusqlite::Connection::open(&db).expect("source db");
        conn.execute_batch(
            "CREATE TABLE author (id INTEGER PRIMARY KEY, name TEXT NOT NULL);
             CREATE TABLE book (id INTEGER PRIMARY KEY, author INTEGER REFERENCES author(id),
                                title TEXT, data BLOB);
             CREATE INDEX book_author ON book(author);
             INSERT INTO author VALUES (1, 'Le Guin'), (2, 'Lem');
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40)
             INSERT INTO book SELECT i, 1 + i % 2, 'title ' || i, randomblob(8) FROM n;",
        )
        .expect("source rows");
        drop(conn);
        let out = dir.path().join("small.haul");
        let spec = ConnSpec::parse(&format!("sqlite://{}", db.display()), None).expect("spec");
        runtime()
            .block_on(crate::dump::dump(
                &spec,
                &crate::archive::Dest::local(&out, false),
                &TableFilter::default(),
                1,
                256,
                3,
                Mode::Quiet,
            ))
            .expect("dump");
        let bytes = std::fs::read(&out).expect("archive");
        (dir, bytes)
    })
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| crate::restore::session::runtime(1).expect("runtime"))
}

fn members(bytes: &[u8]) -> Option<Vec<(String, Vec<u8>)>> {
    let mut ar = tar::Archive::new(bytes);
    let mut out = Vec::new();
    for e in ar.entries().ok()? {
        let mut e = e.ok()?;
        let name = String::from_utf8_lossy(&e.path_bytes()).into_owned();
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut data).ok()?;
        out.push((name, data));
    }
    Some(out)
}

fn build(members: &[(String, Vec<u8>)]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        b.append_data(&mut h, name, &data[..]).expect("tar member");
    }
    b.into_inner().expect("tar")
}

/// Edit the manifest's JSON; `None` when the mutation does not apply.
fn edit_manifest(m: &Mutation, v: &mut serde_json::Value) -> Option<()> {
    let tables = v.get_mut("tables")?.as_array_mut()?;
    let n = tables.len().max(1);
    match m {
        Mutation::Edit {
            table,
            chunk,
            field,
            value,
        } => {
            let t = tables.get_mut(table % n)?;
            let target = match chunk {
                Some(c) => {
                    let chunks = t.get_mut("chunks")?.as_array_mut()?;
                    let k = chunks.len().max(1);
                    chunks.get_mut(c % k)?
                }
                None => t,
            };
            let names = [
                "rows",
                "raw_bytes",
                "stored_bytes",
                "member",
                "dir",
                "blake3",
            ];
            let key = names[field % names.len()];
            let new = match key {
                "member" | "dir" => serde_json::json!(format!("data/{value}")),
                "blake3" => serde_json::json!(format!("{value:064x}")),
                _ => serde_json::json!(value),
            };
            *target.get_mut(key)? = new;
        }
        Mutation::DuplicateTable(i) => {
            let t = tables.get(i % n)?.clone();
            tables.push(t);
        }
        Mutation::RemoveTable(i) => {
            if !tables.is_empty() {
                tables.remove(i % n);
            }
        }
        Mutation::DuplicateChunk(t, c) => {
            let chunks = tables.get_mut(t % n)?.get_mut("chunks")?.as_array_mut()?;
            let c = chunks.get(c % chunks.len().max(1))?.clone();
            chunks.push(c);
        }
        Mutation::ReverseColumns(i) => {
            tables
                .get_mut(i % n)?
                .get_mut("columns")?
                .as_array_mut()?
                .reverse();
        }
        Mutation::RenameTable(i) => {
            *tables.get_mut(i % n)?.get_mut("name")? = serde_json::json!("a\u{1b}[31mb");
        }
        Mutation::EditSchemaCopy(i) => {
            let st = v.get_mut("schema")?.get_mut("tables")?.as_array_mut()?;
            let k = st.len().max(1);
            *st.get_mut(i % k)?.get_mut("name")? = serde_json::json!("other");
        }
        _ => return None,
    }
    Some(())
}

fn mutate(bytes: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::Flip(i, x) => {
            let len = bytes.len();
            if len > 0 {
                bytes[i % len] ^= x;
            }
            return;
        }
        Mutation::Truncate(i) => {
            let len = bytes.len().max(1);
            bytes.truncate(i % len);
            return;
        }
        _ => {}
    }
    let Some(mut ms) = members(bytes) else {
        return;
    };
    let n = ms.len().max(1);
    match m {
        Mutation::DuplicateMember(i) => {
            if let Some(x) = ms.get(i % n).cloned() {
                ms.insert(i % n, x);
            }
        }
        Mutation::SwapMembers(a, b) => {
            if !ms.is_empty() {
                ms.swap(a % n, b % n);
            }
        }
        Mutation::DropMember(i) => {
            if !ms.is_empty() {
                ms.remove(i % n);
            }
        }
        _ => {
            let Some(entry) = ms
                .iter_mut()
                .find(|(name, _)| name == super::MANIFEST_MEMBER)
            else {
                return;
            };
            let Ok(mut v) = serde_json::from_slice::<serde_json::Value>(&entry.1) else {
                return;
            };
            if edit_manifest(m, &mut v).is_none() {
                return;
            }
            entry.1 = serde_json::to_vec_pretty(&v).expect("manifest JSON");
        }
    }
    *bytes = build(&ms);
}

/// Open, verify every chunk, and plan a restore into an empty SQLite file.
fn exercise(path: &Path, target: &dyn Target) {
    let r = match ArchiveReader::open(path) {
        Ok(r) => r,
        Err(_) => return,
    };
    let m = r.manifest();
    let _ = m.total_rows() + m.raw_bytes() + m.stored_bytes();
    for t in &m.tables {
        for c in &t.chunks {
            for full in [true, false] {
                if let Ok(csv) = r.read_chunk(&t.name, c, full) {
                    let mut dec = ChunkDecoder::new(&csv, t.columns.len());
                    while let Ok(true) = dec.next_row() {}
                }
            }
        }
    }
    let planned = runtime().block_on(async {
        let existing = target.schema(&crate::model::TableFilter::default()).await?;
        let feed = crate::restore::ArchiveFeed::new(std::sync::Arc::new(r));
        let contents = crate::restore::Feed::contents(&feed);
        plan::make(contents, target, &existing, &plan::Options::default()).await
    });
    if let Err(e) = planned {
        panic!("an archive that opens cannot be planned: {e:#}");
    }
}

fn target_path() -> PathBuf {
    fixture().0.path().join("empty.db")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn damaged_archives_never_panic(muts in proptest::collection::vec(mutation(), 1..4)) {
        let (dir, valid) = fixture();
        let mut bytes = valid.clone();
        for m in &muts {
            mutate(&mut bytes, m);
        }
        let path = dir.path().join(format!("case-{:?}.haul", std::thread::current().id()));
        std::fs::write(&path, &bytes).expect("write case");
        let spec = ConnSpec::parse(&format!("sqlite://{}", target_path().display()), None).expect("spec");
        let target = runtime()
            .block_on(crate::engine::open_target(&spec, 1))
            .expect("empty SQLite target");
        exercise(&path, target.as_ref());
    }
}

#[test]
fn the_fixture_is_valid() {
    let (dir, valid) = fixture();
    let path = dir.path().join("valid.haul");
    std::fs::write(&path, valid).expect("write");
    let r = ArchiveReader::open(&path).expect("valid archive opens");
    assert_eq!(r.manifest().tables.len(), 2);
}
