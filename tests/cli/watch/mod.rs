//! Watched runs: `--notify` pings to a health-check listener the test runs,
//! `--on-failure`, `--metrics-file`; the nightly job and the weekly test
//! restore of docs/upgrades.md run as written against an S3 server, the data
//! judged with pg_dump and COPY. `scratch`: test restores on every engine.

mod scratch;

use crate::common::*;
use crate::encryption::age_key;
use crate::moto::{Moto, KEY_ID, SECRET};
use crate::oracle::{assert_same, pg_snapshot};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

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
        body.ends_with(
            "every table and its 11 objects identical; the scratch database was dropped"
        ),
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

/// A dump whose upload fails (no such bucket; then, into a prefix,
/// credentials the store refuses): `/start` then `/fail` with the error line, `--on-failure` gets
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
        "-o",
        "s3://haul-no-such-bucket/demo.haul",
        "-q",
    ])
    .expect(2);
    let code = r.code;
    let line = error_of(&r);
    assert!(
        line.ends_with(
            "s3://haul-no-such-bucket/demo.haul: no such object or bucket (the store answered NoSuchBucket)"
        ),
        "{line}"
    );
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
