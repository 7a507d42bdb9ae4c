//! Archives whose manifest lies: tables listed twice, counts that do not add
//! up, a schema copy that is not schema.json, chunks that decompress past
//! their declared size, names with terminal escape codes.

use super::*;

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
