//! Watched runs: `--notify` pings to a health-check listener the test runs,
//! `--on-failure`, `--metrics-file`; the nightly job and the weekly test
//! restore of docs/upgrades.md run as written against an S3 server; and
//! `verify --restore-into`, whose scratch database is gone afterwards on
//! every engine, judged with the engines' own clients.

use crate::common::*;
use crate::encryption::age_key;
use crate::moto::{Moto, KEY_ID, SECRET};
use crate::oracle::{assert_same, pg_snapshot};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One request a [`Pings`] listener got.
#[derive(Debug, Clone)]
struct Got {
    method: String,
    path: String,
    body: String,
}

/// A health-check endpoint for one test on a free port: records every
/// request and answers it with `status`.
struct Pings {
    port: u16,
    got: Arc<Mutex<Vec<Got>>>,
}

impl Pings {
    fn start(status: u16) -> Pings {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().unwrap().port();
        let got = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&got);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                if let Some(g) = read_request(&mut stream) {
                    log.lock().unwrap().push(g);
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nOK"
                );
            }
        });
        Pings { port, got }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// (path, body) of every request so far, each checked to be a POST.
    fn got(&self) -> Vec<(String, String)> {
        self.got
            .lock()
            .unwrap()
            .iter()
            .map(|g| {
                assert_eq!(g.method, "POST", "{g:?}");
                (g.path.clone(), g.body.clone())
            })
            .collect()
    }

    fn paths(&self) -> Vec<String> {
        self.got().into_iter().map(|g| g.0).collect()
    }
}

fn read_request(stream: &mut std::net::TcpStream) -> Option<Got> {
    let mut r = BufReader::new(stream);
    let mut line = String::new();
    r.read_line(&mut line).ok()?;
    let mut words = line.split_whitespace();
    let (method, path) = (words.next()?.to_string(), words.next()?.to_string());
    let mut length = 0;
    loop {
        let mut h = String::new();
        r.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.eq_ignore_ascii_case("content-length") {
                length = v.trim().parse().ok()?;
            }
        }
    }
    let mut body = vec![0; length];
    r.read_exact(&mut body).ok()?;
    Some(Got {
        method,
        path,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The value of `name{labels}` in a metrics file.
fn metric(file: &Path, name: &str, labels: &str) -> Option<f64> {
    let text = std::fs::read_to_string(file).expect("the metrics file");
    let head = format!("{name}{{{labels}}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&head))
        .map(|v| v.parse().expect("a number"))
}

fn labels(command: &str, database: &str) -> String {
    format!("command=\"{command}\",database=\"{database}\"")
}

/// The error line without its `haul: error: ` prefix (what a ping and the
/// hook are given).
fn error_of(r: &Run) -> String {
    error_line(r)
        .strip_prefix("haul: error: ")
        .unwrap()
        .to_string()
}

/// The shell script of docs/upgrades.md whose second line is `# {name}...`,
/// with each `(from, to)` replaced (every `from` must be in it).
fn doc_script(name: &str, replace: &[(&str, &str)]) -> String {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/upgrades.md"))
            .expect("docs/upgrades.md");
    let start = doc
        .find(&format!("```sh\n#!/bin/sh\n# {name}"))
        .unwrap_or_else(|| panic!("docs/upgrades.md has no script {name}"));
    let body = &doc[start + "```sh\n".len()..];
    let mut script = body[..body.find("```").unwrap()].to_string();
    for (from, to) in replace {
        assert!(
            script.contains(from),
            "the script {name} no longer has {from}"
        );
        script = script.replace(from, to);
    }
    script
}

/// Run a script with `sh`, this build's haul first on PATH; (exit code,
/// stderr).
fn run_script(script: &str) -> (i32, String) {
    let bin = Path::new(env!("CARGO_BIN_EXE_haul")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .env("PATH", path)
        .stdin(Stdio::null())
        .output()
        .expect("sh");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The config file of the docs' jobs: the source as `@gogs`, the S3
/// server, and `extra`.
fn config(m: &Moto, dir: &Path, source: &str, extra: &str) -> String {
    let conf = dir.join("gogs.toml");
    std::fs::write(
        &conf,
        format!(
            "[connections]\ngogs = \"{source}\"\n\n[s3]\nendpoint_url = \"{}\"\nallow_http = true\n\
             region = \"us-east-1\"\naccess_key_id = \"{KEY_ID}\"\nsecret_access_key = \"{SECRET}\"\n\n{extra}",
            m.endpoint()
        ),
    )
    .unwrap();
    conf.display().to_string()
}

fn pg_exists(name: &str) -> bool {
    psql(
        "postgres",
        &format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
    )
    .trim()
        == "1"
}

fn my_exists(name: &str) -> bool {
    mysql(
        "",
        &format!("SELECT count(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"),
    )
    .trim()
        == "1"
}

/// The issue's end to end, from docs/upgrades.md: two nights of the
/// watched nightly job (an encrypted dump into a bucket, pinged, with
/// metrics; a prune there), then the weekly test restore of the newest
/// archive into a scratch database, which is gone afterwards.
#[test]
fn nightly_job_and_test_restore_from_the_docs() {
    let m = Moto::start();
    m.create_bucket("haul-watch");
    let dir = tempdir();
    let d = dir.path();
    let (key, public) = age_key(d, "backup.key");
    let recipients = d.join("recipients.txt");
    std::fs::write(&recipients, format!("{public}\n")).unwrap();
    let src = pg_chinook();
    let pings = Pings::start(200);
    let prom = d.join("haul.prom");
    // Another job's series, which every run keeps.
    std::fs::write(
        &prom,
        "# TYPE haul_last_exit_code gauge\nhaul_last_exit_code{command=\"dump\",database=\"wiki\"} 0\n",
    )
    .unwrap();
    let conf = config(&m, d, &src.url(), "[prune]\nkeep_last = 1\n");
    let scratch = unique("haul_test_restore");
    let scratch_url = format!("postgres://postgres@127.0.0.1:5432/{scratch}");
    let (prom_s, rec_s) = (prom.display().to_string(), recipients.display().to_string());
    let (dump_check, restore_check) = (pings.url("/dump-check"), pings.url("/restore-check"));
    let nightly = doc_script(
        "/usr/local/bin/haul-nightly-s3",
        &[
            ("/etc/haul/gogs.toml", &conf),
            ("s3://backups/gogs/", "s3://haul-watch/gogs/"),
            ("/var/lib/node_exporter/textfile/haul.prom", &prom_s),
            ("/etc/haul/recipients.txt", &rec_s),
            ("https://hc-ping.com/your-dump-check", &dump_check),
            ("/etc/haul/backup.key", &key),
        ],
    );
    let weekly = doc_script(
        "/usr/local/bin/haul-test-restore",
        &[
            ("/etc/haul/gogs.toml", &conf),
            ("s3://backups/gogs/", "s3://haul-watch/gogs/"),
            ("/etc/haul/backup.key", &key),
            ("postgres://haul@127.0.0.1/gogs_test_restore", &scratch_url),
            ("https://hc-ping.com/your-restore-check", &restore_check),
            ("/var/lib/node_exporter/textfile/haul.prom", &prom_s),
        ],
    );

    for night in 1..=2 {
        let (code, err) = run_script(&nightly);
        assert_eq!(code, 0, "night {night}: {err}");
        assert!(err.is_empty(), "night {night} printed: {err}");
    }
    let archives: Vec<String> = m
        .keys("haul-watch", "gogs/")
        .into_iter()
        .filter(|k| k.ends_with(".haul"))
        .collect();
    assert_eq!(archives.len(), 1, "prune keeps the newest: {archives:?}");
    let newest = format!("s3://haul-watch/{}", archives[0]);
    let object = m.get("haul-watch", &archives[0]).unwrap();
    assert!(object.starts_with(b"age-encryption.org/v1"));

    // Pings: start and success each night; the summary is the body.
    let got = pings.got();
    let paths: Vec<&str> = got.iter().map(|g| g.0.as_str()).collect();
    assert_eq!(
        paths,
        [
            "/dump-check/start",
            "/dump-check",
            "/dump-check/start",
            "/dump-check"
        ]
    );
    assert_eq!(got[0].1, "haul dump started");
    let summary = &got[3].1;
    assert!(summary.starts_with("dumped 11 tables, "), "{summary}");
    assert!(
        summary.contains("encrypted with age, uploaded to s3://haul-watch/gogs/"),
        "{summary}"
    );
    assert!(summary.ends_with(&archives[0]), "{summary}");

    // Metrics: the dump's and the prune's series, and the other job's.
    let rows: f64 = src
        .table_names()
        .iter()
        .map(|t| {
            src.sql(&format!("SELECT count(*) FROM \"{t}\""))
                .trim()
                .parse::<f64>()
                .unwrap()
        })
        .sum();
    let db = &src.name;
    let dump = labels("dump", db);
    assert_eq!(metric(&prom, "haul_last_exit_code", &dump), Some(0.0));
    assert_eq!(metric(&prom, "haul_last_rows", &dump), Some(rows));
    let bytes = metric(&prom, "haul_last_bytes", &dump).unwrap();
    assert!(
        bytes > 0.0 && bytes < object.len() as f64,
        "{bytes} {}",
        object.len()
    );
    let ran = metric(&prom, "haul_last_run_timestamp_seconds", &dump).unwrap();
    assert_eq!(
        metric(&prom, "haul_last_success_timestamp_seconds", &dump),
        Some(ran)
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(ran <= now && ran > now - 600.0, "{ran} {now}");
    let prune = labels("prune", db);
    assert_eq!(metric(&prom, "haul_last_exit_code", &prune), Some(0.0));
    assert!(metric(&prom, "haul_last_bytes", &prune).unwrap() > 0.0);
    assert_eq!(
        metric(&prom, "haul_last_exit_code", &labels("dump", "wiki")),
        Some(0.0)
    );

    // The weekly test restore: the newest archive, restored, identical,
    // and the scratch database gone.
    let (code, err) = run_script(&weekly);
    assert_eq!(code, 0, "{err}");
    assert!(
        !pg_exists(&scratch),
        "the scratch database {scratch} is left"
    );
    let got = pings.got();
    assert_eq!(
        got[4],
        ("/restore-check/start".into(), "haul verify started".into())
    );
    assert_eq!(got[5].0, "/restore-check");
    let body = &got[5].1;
    assert!(body.starts_with(&format!("{newest} verified: ")), "{body}");
    assert!(
        body.contains(&format!("restored into {scratch_url} in ")),
        "{body}"
    );
    assert!(
        body.ends_with("every table identical; the scratch database was dropped"),
        "{body}"
    );
    let verify = labels("verify", db);
    assert_eq!(metric(&prom, "haul_last_exit_code", &verify), Some(0.0));
    assert_eq!(metric(&prom, "haul_last_rows", &verify), Some(rows));
    assert_eq!(metric(&prom, "haul_last_bytes", &verify), Some(bytes));
    assert!(metric(&prom, "haul_last_restore_duration_seconds", &verify).unwrap() > 0.0);
    assert_eq!(metric(&prom, "haul_last_exit_code", &dump), Some(0.0));
    for (path, body) in pings.got() {
        assert!(!body.contains(SECRET), "{path}: {body}");
    }
    assert!(!std::fs::read_to_string(&prom).unwrap().contains(SECRET));

    // The data in the bucket, judged by pg_dump and COPY.
    let target = PgDb::new("haul_watch_target");
    crate::moto::haul_s3(
        &m,
        &["restore", &newest, &target.url(), "--identity", &key, "-q"],
        &[],
    )
    .ok();
    assert_same(
        &pg_snapshot(&target),
        &pg_snapshot(&src),
        "the newest archive in the bucket",
    );
}

/// A dump whose upload fails (no such bucket; then credentials the store
/// refuses): `/start` then `/fail` with the error line, `--on-failure` gets
/// it, the metrics record the exit code and keep the last success; the
/// settings come from the config file.
#[test]
fn failed_upload_pings_fail_and_runs_the_hook() {
    let m = Moto::start();
    m.create_bucket("haul-watch-fail");
    let dir = tempdir();
    let d = dir.path();
    let pings = Pings::start(200);
    let prom = d.join("haul.prom");
    let hook = d.join("hook.txt");
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let conf = config(
        &m,
        d,
        &demo,
        &format!(
            "[dump]\nnotify = [\"{}\"]\nmetrics_file = \"{}\"\non_failure = \"printf '%s|%s|%s' \\\"$HAUL_COMMAND\\\" \\\"$HAUL_EXIT_CODE\\\" \\\"$HAUL_ERROR\\\" > {}\"\n",
            pings.url("/c"),
            prom.display(),
            hook.display()
        ),
    );
    let demo_series = labels("dump", "demo");
    haul(&[
        "--config",
        &conf,
        "dump",
        "@gogs",
        "--into",
        "s3://haul-watch-fail/demo/",
        "-q",
    ])
    .ok();
    let success = metric(&prom, "haul_last_success_timestamp_seconds", &demo_series).unwrap();
    assert!(!hook.exists(), "the hook ran for a success");

    std::thread::sleep(Duration::from_millis(50));
    let r = haul(&[
        "--config",
        &conf,
        "dump",
        "@gogs",
        "--into",
        "s3://haul-no-such-bucket/demo/",
        "-q",
    ]);
    let code = r.code;
    assert!(code == 2 || code == 3, "{}", r.stderr);
    let line = error_of(&r);
    assert!(line.contains("haul-no-such-bucket"), "{line}");
    assert_eq!(
        pings.got()[2..],
        [
            ("/c/start".to_string(), "haul dump started".to_string()),
            ("/c/fail".to_string(), line.clone())
        ]
    );
    assert_eq!(
        std::fs::read_to_string(&hook).unwrap(),
        format!("dump|{code}|{line}")
    );
    assert_eq!(
        metric(&prom, "haul_last_exit_code", &demo_series),
        Some(code as f64)
    );
    assert_eq!(
        metric(&prom, "haul_last_success_timestamp_seconds", &demo_series),
        Some(success)
    );
    assert!(metric(&prom, "haul_last_run_timestamp_seconds", &demo_series).unwrap() > success);

    m.require_auth();
    let r = haul(&[
        "--config",
        &conf,
        "dump",
        "@gogs",
        "--into",
        "s3://haul-watch-fail/demo/",
        "-q",
    ])
    .expect(3);
    let line = error_of(&r);
    assert!(line.contains("access denied"), "{line}");
    assert_eq!(
        pings.paths()[4..],
        ["/c/start".to_string(), "/c/fail".to_string()]
    );
    assert_eq!(pings.got()[5].1, line);
    let told = std::fs::read_to_string(&hook).unwrap();
    assert_eq!(told, format!("dump|3|{line}"));
    for text in [
        r.all(),
        told,
        std::fs::read_to_string(&prom).unwrap(),
        format!("{:?}", pings.got()),
    ] {
        assert!(!text.contains(SECRET), "{text}");
    }
    assert_eq!(
        metric(&prom, "haul_last_exit_code", &demo_series),
        Some(3.0)
    );
}

/// A ping the endpoint refuses, and a metrics file that cannot be written:
/// warnings naming no key, three attempts each, and exit 8, the archive
/// written all the same.
#[test]
fn failed_ping_and_metrics_are_warnings() {
    let pings = Pings::start(500);
    let dir = tempdir();
    let out = dir.path().join("demo.haul");
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let url = pings.url("/ping/Key-9f3c");
    let r = haul(&[
        "dump",
        &demo,
        "-o",
        out.to_str().unwrap(),
        "-q",
        "--notify",
        &url.replace("http://", "http://user:Pass-77@"),
        "--metrics-file",
        "/nonexistent-dir/haul.prom",
    ])
    .expect(8);
    assert!(out.exists());
    let shown = format!("http://127.0.0.1:{}/…", pings.port);
    for ping in ["start", "success"] {
        assert!(
            r.stderr.contains(&format!(
                "haul: warning: --notify {shown}: the {ping} ping failed: the server answered 500 Internal Server Error (3 attempts)"
            )),
            "{}",
            r.stderr
        );
    }
    assert!(
        r.stderr
            .contains("haul: warning: --metrics-file /nonexistent-dir/haul.prom: cannot lock it"),
        "{}",
        r.stderr
    );
    assert!(!r.all().contains("Key-9f3c") && !r.all().contains("Pass-77"));
    assert_eq!(
        pings.paths(),
        [
            "/ping/Key-9f3c/start",
            "/ping/Key-9f3c/start",
            "/ping/Key-9f3c/start",
            "/ping/Key-9f3c",
            "/ping/Key-9f3c",
            "/ping/Key-9f3c"
        ]
    );
    // A URL that is not http(s) is refused before anything runs.
    let r = haul(&[
        "dump",
        &demo,
        "-o",
        "x.haul",
        "--notify",
        "ftp://u:Pass-77@h/k",
    ])
    .expect(2);
    let line = error_line(&r);
    assert!(
        line.contains("--notify ftp://h/…") && !line.contains("Pass-77"),
        "{line}"
    );
}

/// Wait until `ready` holds (polled every 50 ms, at most 60 s).
fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// haul started in the background.
fn spawn_haul(args: &[&str], env: &[(&str, &str)]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the haul binary")
}

fn finish(child: std::process::Child) -> Run {
    let out = child.wait_with_output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `verify --restore-into` on one engine: identical and dropped; then, a
/// row deleted from the scratch database while haul waits before the
/// comparison (`verify-compare:sleep`), a difference (exit 6), and dropped
/// all the same. `done` says when the restore has finished (the table is
/// full and the journal gone); `delete` removes a row.
fn scratch_is_dropped(
    archive: &str,
    url: &str,
    exists: &dyn Fn() -> bool,
    done: &dyn Fn() -> bool,
    delete: &dyn Fn(),
) {
    let r = haul(&["verify", archive, "--restore-into", url]).ok();
    assert!(r.stdout.contains("identical t "), "{}", r.stdout);
    assert!(
        r.stderr.contains(&format!("restored into {url} in ")),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("every table identical; the scratch database was dropped"),
        "{}",
        r.stderr
    );
    assert!(!exists(), "{url} is left after a test restore");

    let child = spawn_haul(
        &["verify", archive, "--restore-into", url, "-q"],
        &[("HAUL_FAILPOINT", "verify-compare:sleep=4")],
    );
    wait_for("the test restore to finish", done);
    delete();
    let r = finish(child).expect(6);
    let line = error_line(&r);
    assert!(
        line.contains(&format!("differs from {url}"))
            && line.contains("the scratch database was dropped")
            && line.contains("t (archive 200 rows, live 199 rows)"),
        "{line}"
    );
    assert!(!exists(), "{url} is left after a comparison that failed");
}

#[test]
fn test_restore_scratch_is_dropped_postgres() {
    let src = PgDb::new("haul_tr_src");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY, s text);
         INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 200) i;
         CREATE VIEW v AS SELECT id FROM t WHERE id > 100;",
    );
    let dir = tempdir();
    let archive = dir.path().join("pg.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = unique("haul_tr_scratch");
    let url = format!("postgres://postgres@127.0.0.1:5432/{scratch}");
    let q = |sql: &str| {
        let out = psql_cmd(&scratch).arg("-c").arg(sql).output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    scratch_is_dropped(
        a,
        &url,
        &|| pg_exists(&scratch),
        &|| {
            q("SELECT count(*) FROM t WHERE to_regclass('haul_journal') IS NULL").as_deref()
                == Some("200")
        },
        &|| {
            q("DELETE FROM t WHERE id = 7").unwrap();
        },
    );
    // A database that exists is refused and left as it was.
    let r = haul(&["verify", a, "--restore-into", &src.url()]).expect(5);
    assert!(error_line(&r).contains("exists already"), "{}", r.stderr);
    assert_eq!(src.sql("SELECT count(*) FROM t").trim(), "200");
    assert!(src.table_names().contains(&"t".to_string()));
}

#[test]
fn test_restore_scratch_is_dropped_mariadb() {
    let src = MyDb::new("haul_tr_src");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY, s text);
         INSERT INTO t SELECT seq, md5(seq) FROM seq_1_to_200;
         CREATE VIEW v AS SELECT id FROM t WHERE id > 100;",
    );
    let dir = tempdir();
    let archive = dir.path().join("my.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = unique("haul_tr_scratch");
    let url = format!("mysql://root@127.0.0.1:3306/{scratch}");
    let q = |sql: &str| {
        let out = mysql_cmd(&scratch).arg("-e").arg(sql).output().unwrap();
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    scratch_is_dropped(
        a,
        &url,
        &|| my_exists(&scratch),
        &|| {
            q(&format!(
                "SELECT COUNT(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM information_schema.TABLES \
                 WHERE TABLE_SCHEMA = '{scratch}' AND TABLE_NAME = 'haul_journal')"
            ))
            .as_deref()
                == Some("200")
        },
        &|| {
            q("DELETE FROM t WHERE id = 7").unwrap();
        },
    );
    let r = haul(&["verify", a, "--restore-into", &src.url()]).expect(5);
    assert!(error_line(&r).contains("exists already"), "{}", r.stderr);
    assert_eq!(src.sql("SELECT COUNT(*) FROM t").trim(), "200");
}

#[test]
fn test_restore_scratch_is_dropped_sqlite() {
    let src = SqliteDb::new("src");
    src.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, s TEXT);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
             INSERT INTO t SELECT i, hex(randomblob(8)) FROM n;",
        )
        .unwrap();
    let dir = tempdir();
    let archive = dir.path().join("lite.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = dir.path().join("scratch.db");
    let url = format!("sqlite://{}", scratch.display());
    let left = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .any(|n| n.starts_with("scratch.db"))
    };
    scratch_is_dropped(
        a,
        &url,
        &left,
        &|| {
            let Ok(c) = rusqlite::Connection::open_with_flags(
                &scratch,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            ) else {
                return false;
            };
            c.query_row(
                "SELECT count(*) FROM t WHERE NOT EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'haul_journal')",
                [],
                |r| r.get::<_, i64>(0),
            )
            .is_ok_and(|n| n == 200)
        },
        &|| {
            let c = rusqlite::Connection::open(&scratch).unwrap();
            c.execute("DELETE FROM t WHERE id = 7", []).unwrap();
        },
    );
    // `sqlite:` alone: a temporary file, gone afterwards.
    let r = haul(&["verify", a, "--restore-into", "sqlite:"]).ok();
    let tmp = r
        .stderr
        .split("restored into sqlite://")
        .nth(1)
        .and_then(|s| s.split(" in ").next())
        .expect("the temporary file named")
        .to_string();
    assert!(tmp.contains("haul-verify-"), "{tmp}");
    assert!(!Path::new(&tmp).exists(), "{tmp} is left");
    // A file that exists is refused and left as it was.
    let r = haul(&["verify", a, "--restore-into", &src.url()]).expect(5);
    assert!(error_line(&r).contains("exists already"), "{}", r.stderr);
    let n: i64 = src
        .conn()
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .unwrap();
    assert_eq!(n, 200);
}

/// SIGINT during a test restore drops the scratch database at once; the run
/// fails (exit 1) with its `/fail` ping.
#[test]
fn interrupted_test_restore_drops_the_scratch_database() {
    let src = PgDb::new("haul_tr_int");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY, s text);
         INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 200) i;",
    );
    let dir = tempdir();
    let archive = dir.path().join("pg.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "-q"]).ok();
    let scratch = unique("haul_tr_int_scratch");
    let url = format!("postgres://postgres@127.0.0.1:5432/{scratch}");
    let pings = Pings::start(200);
    let check = pings.url("/c");
    let child = spawn_haul(
        &[
            "verify",
            a,
            "--restore-into",
            &url,
            "-q",
            "--notify",
            &check,
        ],
        &[("HAUL_FAILPOINT", "chunk:1:sleep=4")],
    );
    let pid = child.id() as i32;
    wait_for("the scratch table", || {
        psql_cmd(&scratch)
            .arg("-c")
            .arg("SELECT 1 FROM t LIMIT 0")
            .output()
            .unwrap()
            .status
            .success()
    });
    // SAFETY: kill(2) on a child this test started.
    unsafe {
        libc::kill(pid, libc::SIGINT);
    }
    let r = finish(child).expect(1);
    assert!(
        r.stderr.contains(&format!(
            "haul: interrupted: dropping the scratch database {url}"
        )),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains(&format!(
            "haul: error: interrupted; the scratch database {url} was dropped"
        )),
        "{}",
        r.stderr
    );
    assert!(!pg_exists(&scratch), "{scratch} is left after SIGINT");
    let got = pings.got();
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(got[1].0, "/c/fail");
    assert!(got[1].1.starts_with("interrupted; "), "{}", got[1].1);
}
