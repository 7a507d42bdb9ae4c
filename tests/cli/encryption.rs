//! Archives encrypted with age: the `age`, `tar` and `zstd` tools get every
//! row back without haul; haul reads them with `--identity`, refuses
//! without the right one (exit 4, nothing written), and never prints a
//! key. With S3: encrypted dumps into a bucket, pruned and restored there.

use crate::common::*;
use crate::moto::{haul_s3, Moto};
use crate::oracle::{assert_same, pg_snapshot};
use std::path::Path;
use std::process::Command;

/// A fresh age key pair made by age-keygen: (identity file, public key).
pub fn age_key(dir: &Path, name: &str) -> (String, String) {
    let file = dir.join(name);
    run_tool_bytes(
        Command::new("age-keygen").arg("-o").arg(&file),
        None,
        "age-keygen (run scripts/services.sh)",
    );
    let public = run_tool_bytes(
        Command::new("age-keygen").arg("-y").arg(&file),
        None,
        "age-keygen -y",
    );
    (
        file.display().to_string(),
        String::from_utf8(public).unwrap().trim().to_string(),
    )
}

/// The secret key lines of an identity file (to check none is printed).
fn secrets(identity: &str) -> Vec<String> {
    std::fs::read_to_string(identity)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("AGE-SECRET-KEY-"))
        .map(str::to_string)
        .collect()
}

/// The rows of `table` got back with `age -d | tar -x` and `zstd -d`,
/// parsed as CSV and sorted.
fn recipe_rows(archive: &Path, identity: &str, table: &str) -> Vec<Vec<String>> {
    let dir = tempdir();
    let o = dir.path().display();
    let script = format!(
        "set -e; age -d -i {identity} {a} | tar -x -C {o}; d=$(ls -d {o}/data/*-{table}); \
         cat $d/header.csv; zstd -dcq $d/*.csv.zst",
        a = archive.display()
    );
    let (code, out, err) = sh(&script);
    assert_eq!(code, 0, "the age | tar | zstd recipe failed: {err}");
    let mut rdr = csv::ReaderBuilder::new().from_reader(&out[..]);
    let mut rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    rows.sort();
    rows
}

/// The same table as PostgreSQL's COPY writes it (NULL as `\N`), sorted.
fn pg_rows(db: &PgDb, table: &str) -> Vec<Vec<String>> {
    let out = psql_bytes(
        &db.name,
        &format!("COPY (SELECT * FROM {table}) TO STDOUT WITH (FORMAT csv, NULL '\\N')"),
    );
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(&out[..]);
    let mut rows: Vec<Vec<String>> = rdr
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect();
    rows.sort();
    rows
}

#[test]
fn encrypted_archive_reads_back_with_age_and_haul() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let (key, public) = age_key(dir.path(), "key.txt");
    let (other, _) = age_key(dir.path(), "other.txt");
    // An SSH key as the second recipient, in a recipients file.
    let ssh = dir.path().join("id_ed25519");
    run_tool_bytes(
        Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&ssh),
        None,
        "ssh-keygen (openssh-client)",
    );
    let recipients = dir.path().join("recipients.txt");
    let ssh_pub = std::fs::read_to_string(ssh.with_extension("pub")).unwrap();
    std::fs::write(&recipients, format!("# backup keys\n{ssh_pub}\n")).unwrap();

    let src = pg_chinook();
    let archive = dir.path().join("enc.haul");
    let a = archive.to_str().unwrap();
    let r = haul(&[
        "dump",
        &src.url(),
        "-o",
        a,
        "--recipient",
        &public,
        "-R",
        recipients.to_str().unwrap(),
        "--chunk-size",
        "64KiB",
    ])
    .ok();
    assert!(r.stderr.contains("encrypted with age"), "{}", r.stderr);
    let mode = std::fs::metadata(&archive).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "archive mode {mode:o}");
    let head = std::fs::read(&archive).unwrap();
    assert!(head.starts_with(b"age-encryption.org/v1\n"));

    // Without haul: age, tar and zstd get the rows PostgreSQL holds.
    for table in ["album", "track", "invoice"] {
        assert_eq!(
            recipe_rows(&archive, &key, table),
            pg_rows(&src, table),
            "{table}"
        );
    }

    // Without the identity, or with the wrong one: one line, exit 4, the
    // target untouched.
    let target = PgDb::new("haul_enc_target");
    let r = haul(&["restore", a, &target.url()]).expect(4);
    assert!(
        error_line(&r).contains("is encrypted with age: give --identity"),
        "{}",
        r.stderr
    );
    let r = haul(&["restore", a, &target.url(), "--identity", &other]).expect(4);
    assert!(
        error_line(&r).contains("none of the identities"),
        "{}",
        r.stderr
    );
    haul(&["plan", a, &target.url()]).expect(4);
    haul(&["inspect", a]).expect(4);
    haul(&["verify", a, "--identity", &other]).expect(4);
    assert!(target.table_names().is_empty(), "nothing was written");
    let sqlite_target = dir.path().join("t.db");
    haul(&[
        "restore",
        a,
        &format!("sqlite://{}", sqlite_target.display()),
    ])
    .expect(4);
    assert!(!sqlite_target.exists(), "no SQLite file was created");

    // With either key.
    let mut runs = vec![haul(&[
        "restore",
        a,
        &target.url(),
        "--identity",
        ssh.to_str().unwrap(),
        "-j",
        "2",
    ])
    .ok()];
    assert_same(
        &pg_snapshot(&target),
        &pg_snapshot(&src),
        "encrypted restore",
    );
    runs.push(
        haul_env(
            &["verify", a, "--against", &src.url()],
            &[("HAUL_IDENTITY", &key)],
        )
        .ok(),
    );
    runs.push(haul(&["inspect", a, "--identity", &key]).ok());
    assert!(
        runs[2].stdout.contains("encrypted with age"),
        "{}",
        runs[2].stdout
    );
    for r in &runs {
        for s in secrets(&key) {
            assert!(
                !r.all().contains(&s),
                "a secret key was printed:\n{}",
                r.all()
            );
        }
    }
    // A bad identity file is named by its line, never shown.
    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "AGE-SECRET-KEY-1NOTAKEYHUNTER2\n").unwrap();
    let r = haul(&["inspect", a, "--identity", bad.to_str().unwrap()]).expect(2);
    assert!(!r.all().contains("HUNTER2"), "{}", r.all());
    assert!(error_line(&r).contains("line 1"), "{}", r.stderr);
}

/// The issue's end to end: encrypted nightly dumps into a bucket, pruned
/// on the bucket, restored from it; the downloaded object read with age,
/// tar and zstd.
#[test]
fn encrypted_backups_in_a_bucket() {
    let m = Moto::start();
    m.create_bucket("haul-enc");
    let dir = tempdir();
    let (key, public) = age_key(dir.path(), "key.txt");
    let src = pg_chinook();
    let prefix = "s3://haul-enc/chinook/";
    let mut written = Vec::new();
    for _ in 0..3 {
        let r = haul_s3(
            &m,
            &[
                "dump",
                &src.url(),
                "--into",
                prefix,
                "-r",
                &public,
                "--json",
                "-q",
            ],
            &[],
        )
        .ok();
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        assert_eq!(v["encrypted"], true);
        written.push(v["archive"].as_str().unwrap().to_string());
    }
    assert_eq!(m.keys("haul-enc", "chinook/").len(), 3);

    // Without the key prune cannot read them: it keeps all and says so.
    let r = haul_s3(&m, &["prune", prefix, "--keep-last", "2"], &[]).expect(8);
    assert!(
        r.stdout
            .contains("encrypted with age, and no --identity given opens it"),
        "{}",
        r.stdout
    );
    assert_eq!(m.keys("haul-enc", "chinook/").len(), 3);
    haul_s3(
        &m,
        &["prune", prefix, "--keep-last", "2", "--identity", &key],
        &[],
    )
    .ok();
    let left = m.keys("haul-enc", "chinook/");
    assert_eq!(left.len(), 2, "{left:?}");
    let oldest = written[0].trim_start_matches("s3://haul-enc/");
    assert!(!left.iter().any(|k| k == oldest), "{left:?}");

    let newest = written[2].clone();
    let target = PgDb::new("haul_enc_s3_target");
    haul_s3(
        &m,
        &[
            "restore",
            &newest,
            &target.url(),
            "--jobs",
            "2",
            "--identity",
            &key,
        ],
        &[],
    )
    .ok();
    assert_same(
        &pg_snapshot(&target),
        &pg_snapshot(&src),
        "encrypted restore from S3",
    );

    let object = m
        .get("haul-enc", newest.trim_start_matches("s3://haul-enc/"))
        .expect("the newest archive is in the bucket");
    let local = dir.path().join("downloaded.haul");
    std::fs::write(&local, object).unwrap();
    for table in ["artist", "playlist_track"] {
        assert_eq!(
            recipe_rows(&local, &key, table),
            pg_rows(&src, table),
            "{table}"
        );
    }
}

/// Rows a restore of an encrypted archive did not keep go to a rejects
/// archive encrypted to the same keys, mode 0600; `-o -` and `--into`
/// encrypt too.
#[test]
fn rejects_of_an_encrypted_archive_are_encrypted() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    let (key, public) = age_key(dir.path(), "key.txt");
    let src = SqliteDb::new("src");
    src.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
             INSERT INTO t VALUES (1, 'archived one'), (2, 'archived two');",
        )
        .unwrap();
    let archive = dir.path().join("t.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-r", &public, "-q"]).ok();
    let target = SqliteDb::new("target");
    target
        .conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);
             INSERT INTO t VALUES (1, 'already here');",
        )
        .unwrap();
    let rejects = dir.path().join("rejects.haul");
    let r = rejects.to_str().unwrap();
    haul(&[
        "restore",
        a,
        &target.url(),
        "--identity",
        &key,
        "--on-duplicate",
        "keep-existing",
        "--rejects",
        r,
        "-q",
    ])
    .ok();
    assert_eq!(
        sqlite_rows(&target.conn(), "SELECT id, v FROM t ORDER BY id"),
        ["1|already here", "2|archived two"]
    );
    let mode = std::fs::metadata(&rejects).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "rejects mode {mode:o}");
    assert!(std::fs::read(&rejects)
        .unwrap()
        .starts_with(b"age-encryption.org/v1\n"));
    haul(&["inspect", r]).expect(4);
    // Encrypted to stdout too.
    let piped = dir.path().join("piped.haul");
    haul_to_file(
        &["dump", &src.url(), "-o", "-", "-r", &public, "-q"],
        &piped,
    )
    .ok();
    assert!(std::fs::read(&piped)
        .unwrap()
        .starts_with(b"age-encryption.org/v1\n"));
    haul(&["verify", piped.to_str().unwrap(), "--identity", &key]).ok();
    // And into a backup directory: mode 0600, no temporary file left.
    let nightly = dir.path().join("nightly");
    std::fs::create_dir(&nightly).unwrap();
    let n = nightly.to_str().unwrap();
    haul(&["dump", &src.url(), "--into", n, "-r", &public, "-q"]).ok();
    let files: Vec<_> = std::fs::read_dir(&nightly)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "haul"))
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "--into archive mode {mode:o}");
    assert!(std::fs::read_dir(&nightly).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .contains(".tmp-")));
    let back = SqliteDb::new("back");
    haul(&["restore", r, &back.url(), "--identity", &key, "-q"]).ok();
    assert_eq!(
        sqlite_rows(&back.conn(), "SELECT id, v FROM t"),
        ["1|archived one"]
    );
}
