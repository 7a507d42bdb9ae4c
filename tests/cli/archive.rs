//! The archive format and bad archives.

use crate::common::*;

#[test]
fn tar_lists_the_archive() {
    let src = datasets().join("chinook/Chinook_Sqlite.sqlite");
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &format!("sqlite://{}", src.display()), "-o", a]).ok();
    let out = std::process::Command::new("tar")
        .args(["-tf", a])
        .output()
        .unwrap();
    let list = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = list.lines().collect();
    assert_eq!(lines.first(), Some(&"schema.json"));
    assert_eq!(lines.last(), Some(&"manifest.json"));
    assert!(lines.contains(&"data/0011-Track/000001.csv.zst"), "{list}");
}

/// docs/format.md's recipe: tar and zstd alone give the table back as CSV.
#[test]
fn format_recipe_gets_rows_back() {
    let dir = tempdir();
    let archive = dir.path().join("demo.haul");
    let a = archive.to_str().unwrap();
    let demo = fixtures().join("demo.db");
    haul(&[
        "dump",
        &format!("sqlite://{}", demo.display()),
        "-o",
        a,
        "-q",
    ])
    .ok();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let script = format!(
        "set -e; tar -xf {a} -C {o}; cat {o}/data/0002-book/header.csv; zstd -dcq {o}/data/0002-book/*.csv.zst",
        o = out.display()
    );
    let r = std::process::Command::new("sh")
        .args(["-c", &script])
        .output()
        .unwrap();
    assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    let mut rdr = csv::ReaderBuilder::new().from_reader(&r.stdout[..]);
    let headers = rdr.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        ["id", "author_id", "title", "price", "cover", "notes"]
    );
    let rows: Vec<csv::StringRecord> = rdr.records().map(|r| r.unwrap()).collect();
    assert_eq!(rows.len(), 6);
    assert_eq!(&rows[0][2], "The Dispossessed");
    assert_eq!(&rows[0][3], "9.99");
    assert_eq!(&rows[0][4], "89504e470d0a1a0a00", "binary values are hex");
    assert_eq!(&rows[0][5], "first \"ambiguous\" utopia");
    assert_eq!(&rows[1][4], "\\N", "NULL is \\N");
    assert_eq!(&rows[1][5], "", "the empty string stays empty");
    assert_eq!(&rows[3][5], "tabs\tand\nnewlines");
    assert_eq!(
        &rows[4][5], "\\\\N is not NULL",
        "text starting with a backslash gets one more"
    );
}

/// Chinook row counts per table (SQLite names).
const CHINOOK: [(&str, u64); 11] = [
    ("Album", 347),
    ("Artist", 275),
    ("Customer", 59),
    ("Employee", 8),
    ("Genre", 25),
    ("Invoice", 412),
    ("InvoiceLine", 2240),
    ("MediaType", 5),
    ("Playlist", 18),
    ("PlaylistTrack", 8715),
    ("Track", 3503),
];

fn chinook_sqlite_url() -> String {
    format!(
        "sqlite://{}",
        datasets().join("chinook/Chinook_Sqlite.sqlite").display()
    )
}

fn is_timestamped(line: &str) -> bool {
    let b = line.as_bytes();
    b.len() > 21
        && b[..4].iter().all(u8::is_ascii_digit)
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b'T'
        && line[..25].contains('Z')
}

/// docs/format.md: a table comes back as plain CSV with `tar` and `zstd`.
#[test]
fn tar_and_zstd_alone_get_a_table_back() {
    let src = pg_chinook();
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let x = dir.path().join("x");
    std::fs::create_dir(&x).unwrap();
    let recipe = |table: &str| {
        let (code, out, err) = sh(&format!(
            "tar -xf '{a}' -C '{x}' && cat '{x}'/data/[0-9][0-9][0-9][0-9]-{table}/header.csv && zstd -dc '{x}'/data/[0-9][0-9][0-9][0-9]-{table}/*.csv.zst",
            x = x.display()
        ));
        assert_eq!(code, 0, "{err}");
        out
    };

    // genre: 25 rows, the header first, the same rows as the source.
    let out = String::from_utf8(recipe("genre")).unwrap();
    let mut lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "genre_id,name");
    assert_eq!(lines.len(), 26, "{out}");
    assert!(lines.contains(&"1,Rock"), "{out}");
    assert!(lines.contains(&"25,Opera"), "{out}");
    assert!(lines.contains(&"14,R&B/Soul"), "{out}");
    let mut expected: Vec<String> = String::from_utf8(psql_bytes(
        &src.name,
        "COPY genre TO STDOUT WITH (FORMAT csv)",
    ))
    .unwrap()
    .lines()
    .map(str::to_string)
    .collect();
    let mut got: Vec<String> = lines.split_off(1).into_iter().map(str::to_string).collect();
    expected.sort();
    got.sort();
    assert_eq!(got, expected);

    // track: any CSV reader gets the rows back; NULL is \N.
    let out = recipe("track");
    let mut r = csv::ReaderBuilder::new().from_reader(&out[..]);
    let headers = r.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "track_id",
            "name",
            "album_id",
            "media_type_id",
            "genre_id",
            "composer",
            "milliseconds",
            "bytes",
            "unit_price"
        ]
    );
    let records: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    assert_eq!(records.len(), 3503);
    let nulls = records.iter().filter(|r| &r[5] == "\\N").count();
    assert_eq!(
        nulls.to_string(),
        src.sql("SELECT count(*) FROM track WHERE composer IS NULL")
            .trim()
    );
    let with_comma = records.iter().find(|r| r[0] == *"1").unwrap();
    assert_eq!(
        &with_comma[5],
        src.sql("SELECT composer FROM track WHERE track_id = 1")
            .trim_end_matches('\n')
    );
    assert!(with_comma[5].contains(','), "{:?}", with_comma);
}

/// `-o -` writes a complete archive to stdout, and nothing else.
#[test]
fn dump_to_stdout_is_a_valid_archive() {
    let dir = tempdir();
    let out = dir.path().join("stdout.haul");
    let r = haul_to_file(&["dump", &chinook_sqlite_url(), "-o", "-"], &out);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let o = out.to_str().unwrap();
    haul(&["verify", o]).ok();
    let v = haul(&["verify", o, "--against", &chinook_sqlite_url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 11, "{}", v.stdout);
    let names: Vec<String> = tar_members(&out).into_iter().map(|m| m.0).collect();
    assert_eq!(names.first().map(String::as_str), Some("schema.json"));
    assert_eq!(names.last().map(String::as_str), Some("manifest.json"));
    // No temporary file was left next to anything, and --json keeps stdout clean.
    let out2 = dir.path().join("stdout2.haul");
    let r = haul_to_file(&["dump", "--json", &chinook_sqlite_url(), "-o", "-"], &out2);
    assert_eq!(r.code, 0, "{}", r.stderr);
    haul(&["verify", out2.to_str().unwrap()]).ok();
    let summary = r
        .stderr
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("JSON summary on stderr");
    let j: serde_json::Value = serde_json::from_str(summary).unwrap();
    assert_eq!(j["rows"], 15607);
    // Restore from it.
    let target = SqliteDb::new("from_stdout");
    haul(&["restore", o, &target.url()]).ok();
    let n: i64 = target
        .conn()
        .query_row("SELECT count(*) FROM Track", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 3503);
}

#[test]
fn json_outputs_parse_and_count_right() {
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    let d = haul(&["dump", "--json", &chinook_sqlite_url(), "-o", a]).ok();
    let dj: serde_json::Value =
        serde_json::from_str(d.stdout.trim()).expect("dump --json is one JSON object");
    assert_eq!(dj["command"], "dump");
    assert_eq!(dj["tables"], 11);
    assert_eq!(dj["rows"], 15607);

    let i = haul(&["inspect", "--json", a]).ok();
    let ij: serde_json::Value = serde_json::from_str(&i.stdout).expect("inspect --json is JSON");
    assert_eq!(ij["format"], "haul-archive");
    assert_eq!(ij["source"]["engine"], "sqlite");
    assert_eq!(ij["rows"], 15607);
    assert_eq!(ij["stored_bytes"], dj["stored_bytes"]);
    assert_eq!(ij["raw_bytes"], dj["raw_bytes"]);
    assert_eq!(
        ij["bytes"].as_u64().unwrap(),
        std::fs::metadata(&archive).unwrap().len()
    );
    let tables = ij["tables"].as_array().unwrap();
    let got: Vec<(String, u64)> = tables
        .iter()
        .map(|t| {
            (
                t["name"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
            )
        })
        .collect();
    let want: Vec<(String, u64)> = CHINOOK.iter().map(|(n, r)| (n.to_string(), *r)).collect();
    assert_eq!(got, want);
    for t in tables {
        assert_eq!(t["chunks"], 1, "{t}");
    }
    let m = manifest(&archive);
    assert_eq!(m["tables"].as_array().unwrap().len(), 11);

    let target = SqliteDb::new("json");
    let r = haul(&["restore", "--json", a, &target.url()]).ok();
    let rj: serde_json::Value =
        serde_json::from_str(r.stdout.trim()).expect("restore --json is one JSON object");
    assert_eq!(rj["command"], "restore");
    assert_eq!(rj["tables"], 11);
    assert_eq!(rj["rows"], 15607);

    let v = haul(&["verify", "--json", a, "--against", &target.url()]).ok();
    let vj: serde_json::Value = serde_json::from_str(&v.stdout).expect("verify --json is JSON");
    assert_eq!(vj["ok"], true);
    assert_eq!(vj["tables"].as_array().unwrap().len(), 11);
    assert!(
        vj["tables"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["same"] == true),
        "{vj}"
    );
}

#[test]
fn progress_is_timestamped_lines_without_a_terminal() {
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    let d = haul(&["dump", &chinook_sqlite_url(), "-o", a]).ok();
    let target = SqliteDb::new("progress");
    let r = haul(&["restore", a, &target.url()]).ok();
    for (verb, run) in [("dump", &d), ("restore", &r)] {
        for (t, rows) in CHINOOK {
            let want = format!(" haul {verb}: table {t} done: {rows} rows");
            let line = run
                .stderr
                .lines()
                .find(|l| l.contains(&want))
                .unwrap_or_else(|| panic!("no {want:?} line in:\n{}", run.stderr));
            assert!(is_timestamped(line), "{line}");
        }
        // Nothing drawn for a terminal.
        assert!(
            !run.stderr.contains('\r') && !run.stderr.contains('\x1b'),
            "{}",
            run.stderr
        );
        // Every line is a timestamped progress line or the final summary.
        for l in run.stderr.lines() {
            let summary = if verb == "dump" {
                "haul: dumped "
            } else {
                "haul: restored "
            };
            assert!(is_timestamped(l) || l.starts_with(summary), "{l}");
        }
    }
    assert!(
        d.stderr.contains("haul: dumped 11 tables, 15607 rows"),
        "{}",
        d.stderr
    );
    assert!(
        r.stderr.contains("haul: restored 11 tables, 15607 rows"),
        "{}",
        r.stderr
    );
}

#[test]
fn quiet_prints_nothing_on_stderr() {
    let dir = tempdir();
    let archive = dir.path().join("c.haul");
    let a = archive.to_str().unwrap();
    let target = SqliteDb::new("quiet");
    for args in [
        vec!["dump", "--quiet", &chinook_sqlite_url(), "-o", a],
        vec!["-q", "restore", a, &target.url()],
        vec!["verify", "-q", a],
        vec!["verify", "-q", a, "--against", &target.url()],
        vec!["inspect", "-q", a],
    ] {
        let r = haul(&args).ok();
        assert_eq!(r.stderr, "", "{args:?}");
    }
    let pg = pg_chinook();
    let r = haul(&["dump", "-q", &pg.url(), "-o", a, "--jobs", "2"]).ok();
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout, "");
    let t = PgDb::new("haul_quiet");
    let r = haul(&["restore", "-q", a, &t.url()]).ok();
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout, "");
}

fn assert_many_small_chunks(archive: &std::path::Path, table: &str, rows: u64) {
    let m = manifest(archive);
    let t = m["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == table)
        .expect("table in manifest");
    let chunks = t["chunks"].as_array().unwrap();
    assert!(chunks.len() >= 50, "only {} chunks", chunks.len());
    let sum: u64 = chunks.iter().map(|c| c["rows"].as_u64().unwrap()).sum();
    assert_eq!(sum, rows);
    assert_eq!(t["rows"], rows);
    for c in chunks {
        let raw = c["raw_bytes"].as_u64().unwrap();
        // Cut at 64 KiB as counted by the encoder, which does not see the
        // csv writer's 8 KiB buffer: bounded, with that much slack.
        assert!(
            raw <= (64 << 10) + (8 << 10) + 1024,
            "chunk of {raw} bytes: {c}"
        );
        assert!(c["rows"].as_u64().unwrap() > 0, "{c}");
    }
    // Each chunk is its own zstd frame that zstd alone decompresses.
    let members = tar_members(archive);
    let bytes = std::fs::read(archive).unwrap();
    let first = &chunks[chunks.len() / 2];
    let (_, off, size) = members.iter().find(|m| m.0 == first["member"]).unwrap();
    let csv = zstd::stream::decode_all(&bytes[*off as usize..(*off + *size) as usize]).unwrap();
    assert_eq!(csv.len() as u64, first["raw_bytes"].as_u64().unwrap());
    assert!(csv.iter().filter(|&&b| b == b'\n').count() as u64 >= first["rows"].as_u64().unwrap());
}

#[test]
fn pg_large_table_in_many_chunks_restores_in_parallel() {
    let src = pg_big(200_000);
    let dir = tempdir();
    let archive = dir.path().join("big.haul");
    let a = archive.to_str().unwrap();
    haul(&[
        "dump",
        &src.url(),
        "-o",
        a,
        "--chunk-size",
        "64KiB",
        "--jobs",
        "2",
    ])
    .ok();
    assert_many_small_chunks(&archive, "big", 200_000);
    let target = PgDb::new("haul_big_restored");
    haul(&["restore", a, &target.url(), "--jobs", "2"]).ok();
    let digest = "SELECT count(*), md5(string_agg(b::text, E'\\n' ORDER BY id)) FROM big b";
    assert_eq!(target.sql(digest), src.sql(digest));
    assert_eq!(
        target.copy_out("SELECT * FROM big ORDER BY id"),
        src.copy_out("SELECT * FROM big ORDER BY id")
    );
    assert_eq!(
        target.sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'big' ORDER BY 1"),
        src.sql("SELECT indexdef FROM pg_indexes WHERE tablename = 'big' ORDER BY 1")
    );
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert!(v.stdout.contains("identical big "), "{}", v.stdout);
}

#[test]
fn sqlite_large_table_in_many_chunks_restores_in_parallel() {
    let src = SqliteDb::new("big");
    src.conn()
        .execute_batch(
            "CREATE TABLE big (id INTEGER PRIMARY KEY, name TEXT NOT NULL, r REAL, b BLOB, u);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200000)
             INSERT INTO big SELECT i, 'name ' || i || ', \"q\"', i / 7.0, CASE WHEN i % 5 = 0 THEN NULL ELSE randomblob(8) END,
                    CASE i % 4 WHEN 0 THEN i WHEN 1 THEN 'text' || i WHEN 2 THEN i * 0.5 ELSE x'00' END FROM n;
             CREATE INDEX big_name ON big (name);",
        )
        .unwrap();
    let dir = tempdir();
    let archive = dir.path().join("big.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "--chunk-size", "64KiB"]).ok();
    assert_many_small_chunks(&archive, "big", 200_000);
    let target = SqliteDb::new("big_restored");
    haul(&["restore", a, &target.url(), "--jobs", "2"]).ok();
    let (sv, tv) = (
        sqlite_values(&src.conn(), "big"),
        sqlite_values(&target.conn(), "big"),
    );
    assert_eq!(sv.len(), 200_000);
    assert!(sv == tv, "content differs after a chunked restore");
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert!(v.stdout.contains("identical big "), "{}", v.stdout);
}

/// An archive holds a whole database: only its owner may read it, whatever
/// the umask.
#[test]
fn archive_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let out = dir.path().join("demo.haul");
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    haul(&["dump", &demo, "-o", out.to_str().unwrap(), "-q"]).ok();
    let mode = std::fs::metadata(&out).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "archive mode {mode:o}");
    let into = dir.path().join("backups");
    std::fs::create_dir(&into).unwrap();
    haul(&["dump", &demo, "--into", into.to_str().unwrap(), "-q"]).ok();
    for e in std::fs::read_dir(&into).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "haul") {
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{} mode {mode:o}", p.display());
        }
    }
}

/// `-o` naming a symbolic link is refused before anything is written: the
/// link and the file it points to stay as they were.
#[test]
fn output_symlink_is_refused() {
    let dir = tempdir();
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "precious").unwrap();
    let link = dir.path().join("out.haul");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    let dangling = dir.path().join("dangling.haul");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    for l in [&link, &dangling] {
        let r = haul(&["dump", &demo, "-o", l.to_str().unwrap(), "-q"]).expect(5);
        assert!(r.stderr.contains("symbolic link"), "{}", r.stderr);
        assert!(std::fs::symlink_metadata(l).unwrap().is_symlink());
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    assert!(!dir.path().join("nowhere").exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}
