//! Archives on S3: a moto server per test (tests/cli/moto.rs), the bucket
//! read back with curl, the data judged by the engines' own clients.

use crate::common::*;
use crate::moto::{haul_s3, Moto, SECRET};
use crate::oracle::{assert_same, pg_snapshot};

/// Spawning with stdout and stderr captured.
trait SpawnCaptured {
    fn output_spawn(&mut self) -> std::process::Child;
}

impl SpawnCaptured for std::process::Command {
    fn output_spawn(&mut self) -> std::process::Child {
        self.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("cannot run the haul binary")
    }
}

fn assert_no_secret(r: &Run, what: &str) {
    assert!(
        !r.all().contains(SECRET),
        "{what} printed the secret:\n{}",
        r.all()
    );
}

/// Chinook dumped into a bucket, then restored, verified and inspected
/// from it with ranged reads, two chunks at a time.
#[test]
fn s3_dump_and_restore_in_parallel() {
    let m = Moto::start();
    m.create_bucket("haul-s3");
    let src = pg_chinook();
    let url = "s3://haul-s3/nightly/chinook.haul";
    let r = haul_s3(
        &m,
        &[
            "dump",
            &src.url(),
            "-o",
            url,
            "-j",
            "2",
            "--chunk-size",
            "64KiB",
        ],
        &[],
    )
    .ok();
    assert!(
        r.stderr.contains(&format!("uploaded to {url}")),
        "{}",
        r.stderr
    );
    assert_no_secret(&r, "dump");
    assert_eq!(m.keys("haul-s3", ""), ["nightly/chinook.haul"]);
    assert!(m.open_uploads("haul-s3").is_empty());

    let target = PgDb::new("haul_s3_target");
    let r = haul_s3(&m, &["restore", url, &target.url(), "--jobs", "2"], &[]).ok();
    assert_no_secret(&r, "restore");
    assert_same(&pg_snapshot(&target), &pg_snapshot(&src), "restore from S3");

    let r = haul_s3(
        &m,
        &["verify", url, "--against", &src.url(), "-j", "2"],
        &[],
    )
    .ok();
    assert!(r.stdout.contains("identical"), "{}", r.stdout);
    let r = haul_s3(&m, &["inspect", url, "--json"], &[]).ok();
    let v: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(v["tables"].as_array().unwrap().len(), 11);
    let plan = haul_s3(&m, &["plan", url, &PgDb::new("haul_s3_plan").url()], &[]).ok();
    assert!(plan.stdout.contains("create"), "{}", plan.stdout);

    // The object is the archive byte for byte: tar lists it.
    let bytes = m.get("haul-s3", "nightly/chinook.haul").unwrap();
    let dir = tempdir();
    let f = dir.path().join("c.haul");
    std::fs::write(&f, bytes).unwrap();
    assert!(tar_members(&f).iter().any(|m| m.0 == "manifest.json"));
}

/// `dump --into s3://.../` never overwrites, one dump after another or
/// three at once; `prune` on the prefix keeps by the manifests' times, under a
/// lock object that a running dump's lock blocks and a stale one does not.
#[test]
fn s3_dump_into_and_prune() {
    let m = Moto::start();
    m.create_bucket("haul-backups");
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let prefix = "s3://haul-backups/demo/";
    // One after the other under one name: the later take -1, -2.
    let mut written = Vec::new();
    for _ in 0..3 {
        let r = haul_s3(
            &m,
            &[
                "dump",
                &demo,
                "--into",
                prefix,
                "--name",
                "{database}.haul",
                "--json",
                "-q",
            ],
            &[],
        )
        .ok();
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        written.push(v["archive"].as_str().unwrap().to_string());
    }
    assert_eq!(
        written,
        [
            "s3://haul-backups/demo/demo.haul",
            "s3://haul-backups/demo/demo-1.haul",
            "s3://haul-backups/demo/demo-2.haul"
        ]
    );
    // Three at once under one name still get three names.
    let env = m.env();
    let children: Vec<_> = (0..3)
        .map(|_| {
            std::process::Command::new(env!("CARGO_BIN_EXE_haul"))
                .args([
                    "dump",
                    &demo,
                    "--into",
                    "s3://haul-backups/race/",
                    "--name",
                    "x.haul",
                    "-q",
                ])
                .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .stdin(std::process::Stdio::null())
                .output_spawn()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let raced = m.keys("haul-backups", "race/");
    assert_eq!(raced.len(), 3, "{raced:?}");
    assert!(raced
        .iter()
        .all(|k| k.starts_with("race/x") && k.ends_with(".haul")));
    let keys = m.keys("haul-backups", "demo/");
    assert_eq!(keys.len(), 3, "{keys:?}");
    // Something that is not an archive stays, and is said.
    m.put("haul-backups", "demo/broken.haul", b"not an archive");

    // A dump running now (its lock fresh) keeps prune out: exit 5.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let running =
        format!(r#"{{"kind":"dump","host":"other","pid":1,"time":{now},"name":"x.haul"}}"#);
    m.put(
        "haul-backups",
        "demo/.haul-locks/dump-running.json",
        running.as_bytes(),
    );
    let r = haul_s3(&m, &["prune", prefix, "--keep-last", "2"], &[]).expect(5);
    assert!(
        r.stderr.contains("is busy: a dump (host other, pid 1)"),
        "{}",
        r.stderr
    );
    assert_eq!(m.keys("haul-backups", "demo/").len(), 5, "nothing removed");
    // The same lock, stale (a killed dump): ignored and cleaned up.
    let stale = running.replace(&now.to_string(), &(now - 3600).to_string());
    m.put(
        "haul-backups",
        "demo/.haul-locks/dump-running.json",
        stale.as_bytes(),
    );

    let dry = haul_s3(&m, &["prune", prefix, "--keep-last", "2", "--dry-run"], &[]).expect(8);
    assert!(dry.stdout.contains("would remove"), "{}", dry.stdout);
    assert_eq!(m.keys("haul-backups", "demo/").len(), 4);
    let r = haul_s3(&m, &["prune", prefix, "--keep-last", "2", "--json"], &[]).expect(8);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(
        (v["kept"].as_u64(), v["removed"].as_u64()),
        (Some(2), Some(1))
    );
    assert!(
        r.stdout
            .contains("broken.haul: not a complete, intact archive"),
        "{}",
        r.stdout
    );
    let oldest = written[0].trim_start_matches("s3://haul-backups/");
    let left = m.keys("haul-backups", "demo/");
    assert!(!left.iter().any(|k| k == oldest), "{left:?}");
    assert!(left.contains(&"demo/broken.haul".to_string()));
    assert_eq!(left.len(), 3, "no lock object is left behind: {left:?}");
}

/// A dump killed with SIGKILL while its upload is open leaves nothing
/// under the key; one stopped with SIGTERM also aborts its upload.
#[test]
fn s3_killed_upload_leaves_nothing() {
    let m = Moto::start();
    m.create_bucket("haul-kill");
    // About 24 MiB of hex: more than one 8 MiB part is uploaded first.
    let db = SqliteDb::new("big");
    db.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, b BLOB);
             WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2000)
             INSERT INTO t SELECT x, randomblob(6000) FROM c;",
        )
        .unwrap();
    let url = "s3://haul-kill/big.haul";
    let r = haul_s3(
        &m,
        &["dump", &db.url(), "-o", url, "-q"],
        &[("HAUL_FAILPOINT", "archive-finish")],
    );
    assert_eq!(r.code, -1, "killed by its own SIGKILL: {}", r.all());
    assert!(
        m.get("haul-kill", "big.haul").is_none(),
        "nothing under the key"
    );
    assert!(m.keys("haul-kill", "").is_empty());
    assert_eq!(
        m.open_uploads("haul-kill"),
        ["big.haul"],
        "the upload was under way"
    );

    // SIGTERM: the upload is aborted as well.
    let env = m.env();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(["dump", &db.url(), "-o", "s3://haul-kill/term.haul", "-q"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("HAUL_FAILPOINT", "archive-finish:sleep=60")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !m
        .open_uploads("haul-kill")
        .contains(&"term.haul".to_string())
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the upload never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    // SAFETY: kill(2) on a child we started.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGTERM);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("interrupted; no archive was written"));
    assert_eq!(
        m.open_uploads("haul-kill"),
        ["big.haul"],
        "term.haul's upload was aborted"
    );
    assert!(m.keys("haul-kill", "").is_empty());
}

/// Wrong credentials: one line, exit 3, no secret; an endpoint that does
/// not answer: one line, exit 3.
#[test]
fn s3_bad_credentials_and_unreachable_endpoint() {
    let m = Moto::start();
    m.create_bucket("haul-auth");
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let url = "s3://haul-auth/demo.haul";
    haul_s3(&m, &["dump", &demo, "-o", url, "-q"], &[]).ok();
    m.require_auth();
    for args in [
        vec!["dump", &demo, "-o", "s3://haul-auth/new.haul"],
        vec!["inspect", url],
        vec!["restore", url, "sqlite:///nonexistent-dir/x.db"],
        vec!["prune", "s3://haul-auth/", "--keep-last", "1"],
    ] {
        let r = haul_s3(&m, &args, &[]).expect(3);
        let line = error_line(&r);
        assert!(line.contains("access denied"), "{args:?}: {line}");
        assert_no_secret(&r, args[0]);
    }
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let endpoint = format!("http://127.0.0.1:{port}");
    let r = haul_s3(&m, &["inspect", url], &[("AWS_ENDPOINT_URL", &endpoint)]).expect(3);
    let line = error_line(&r);
    assert!(
        line.contains(&format!("cannot reach the object store at {endpoint}")),
        "{line}"
    );
    // Plain http without AWS_ALLOW_HTTP is refused before any request.
    let r = haul_s3(&m, &["inspect", url], &[("AWS_ALLOW_HTTP", "false")]).expect(2);
    assert!(
        error_line(&r).contains("AWS_ALLOW_HTTP=true"),
        "{}",
        r.stderr
    );
}

/// The `[s3]` table of the config file reaches the store when the `AWS_*`
/// variables are unset; the secret in it is never printed.
#[test]
fn s3_settings_from_the_config_file() {
    let m = Moto::start();
    m.create_bucket("haul-conf");
    let dir = tempdir();
    let conf = dir.path().join("haul.toml");
    std::fs::write(
        &conf,
        format!(
            "[s3]\nendpoint_url = \"{}\"\nallow_http = true\naccess_key_id = \"{}\"\nsecret_access_key = \"{SECRET}\"\n\n[dump]\ninto = \"s3://haul-conf/nightly/\"\n",
            m.endpoint(),
            crate::moto::KEY_ID
        ),
    )
    .unwrap();
    let c = conf.to_str().unwrap();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let r = haul(&["--config", c, "dump", &demo, "--json", "-q"]).ok();
    assert_no_secret(&r, "dump");
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let archive = v["archive"].as_str().unwrap().to_string();
    assert!(
        archive.starts_with("s3://haul-conf/nightly/demo-"),
        "{archive}"
    );
    let r = haul(&["--config", c, "inspect", &archive]).ok();
    assert!(r.stdout.contains("database demo"), "{}", r.stdout);
    // Without the file, no credentials: exit 2, one line.
    let r = haul(&["inspect", &archive]).expect(2);
    assert!(error_line(&r).contains("no S3 credentials"), "{}", r.stderr);
}

/// An object replaced while a restore reads it stops the restore rather
/// than mixing two archives (every range is read with `If-Match`).
#[test]
fn s3_object_replaced_during_a_restore() {
    let m = Moto::start();
    m.create_bucket("haul-swap");
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let url = "s3://haul-swap/demo.haul";
    haul_s3(&m, &["dump", &demo, "-o", url, "-q"], &[]).ok();
    let target = SqliteDb::new("swap");
    let env = m.env();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(["restore", url, &target.url(), "-j", "1", "-q"])
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .env("HAUL_FAILPOINT", "chunk:1:sleep=6")
        .stdin(std::process::Stdio::null())
        .output_spawn();
    // Once its first chunk is in (and it sleeps), the object is replaced.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let loaded: i64 = rusqlite::Connection::open(&target.path)
            .and_then(|c| c.query_row("SELECT count(*) FROM haul_journal_chunks", [], |r| r.get(0)))
            .unwrap_or(0);
        if loaded > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the restore never loaded a chunk"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    haul_s3(&m, &["dump", &demo, "-o", url, "-q"], &[]).ok();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("was replaced while haul read it"),
        "{stderr}"
    );
}
