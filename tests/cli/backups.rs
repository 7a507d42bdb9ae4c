//! Scheduled backups: `dump --into DIR` and `prune DIR`.

use crate::common::*;
use std::path::Path;

fn archives(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".haul") && !n.starts_with('.'))
        .collect();
    v.sort();
    v
}

#[test]
fn dump_into_and_prune() {
    let dir = tempdir();
    let d = dir.path().to_str().unwrap();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let mut written = Vec::new();
    for _ in 0..3 {
        let r = haul(&["dump", &demo, "--into", d, "--json", "-q"]).ok();
        let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
        written.push(v["archive"].as_str().unwrap().to_string());
    }
    // Three dumps in the same second never overwrite each other.
    assert_eq!(archives(dir.path()).len(), 3, "{written:?}");
    assert!(archives(dir.path()).iter().all(|n| n.starts_with("demo-")));
    // A damaged archive and a stale unfinished dump.
    std::fs::write(dir.path().join("broken.haul"), b"not an archive").unwrap();
    let stale = dir.path().join(".demo-x.haul.tmp-1");
    std::fs::write(&stale, b"partial").unwrap();
    let ok = std::process::Command::new("touch")
        .args(["-d", "2 days ago"])
        .arg(&stale)
        .status()
        .unwrap();
    assert!(ok.success());

    // The damaged file is reported as a warning: exit 8.
    let dry = haul(&["prune", d, "--keep-last", "2", "--dry-run"]).expect(8);
    assert_eq!(dry.stdout.matches("keep ").count(), 2, "{}", dry.stdout);
    assert!(dry.stdout.contains("would remove"), "{}", dry.stdout);
    assert!(
        dry.stdout
            .contains("broken.haul: not a complete, intact archive"),
        "{}",
        dry.stdout
    );
    assert_eq!(archives(dir.path()).len(), 4, "a dry run removes nothing");
    assert!(stale.exists());

    let r = haul(&["prune", d, "--keep-last", "2", "--json"]).expect(8);
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    assert_eq!(v["kept"], 2);
    assert_eq!(v["removed"], 1);
    let left = archives(dir.path());
    // The oldest went (the first written); the damaged file stays.
    let oldest = Path::new(&written[0])
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    assert!(!left.contains(&oldest), "{left:?}");
    assert!(left.contains(&"broken.haul".to_string()));
    assert!(!stale.exists(), "stale unfinished dumps are cleaned");

    // Without a rule, prune refuses to remove everything.
    haul(&["prune", d]).expect(2);
}

/// A prune waits for no one: while a dump holds the directory, it refuses.
#[test]
fn prune_refuses_while_the_directory_is_locked() {
    let dir = tempdir();
    let lock = dir.path().join(".haul.lock");
    // The holder, killed when the test ends, however it ends.
    struct Holder(std::process::Child);
    impl Drop for Holder {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    let mut holder = Holder(
        std::process::Command::new("flock")
            .args(["-s", "--no-fork"])
            .arg(&lock)
            .args(["sleep", "120"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("flock (util-linux)"),
    );
    // Wait until the lock is observably held: an exclusive `flock -n` on the
    // file conflicts (exit 75) once the holder has its shared lock.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if let Some(status) = holder.0.try_wait().unwrap() {
            panic!("the lock holder exited before the test: {status}");
        }
        let probe = std::process::Command::new("flock")
            .args(["-n", "-x", "-E", "75"])
            .arg(&lock)
            .arg("true")
            .status()
            .expect("flock (util-linux)");
        match probe.code() {
            Some(75) => break,
            Some(0) => {}
            other => panic!("flock -n on {} failed: {other:?}", lock.display()),
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the lock holder did not take {} within 10 s",
            lock.display()
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let r = haul(&["prune", dir.path().to_str().unwrap(), "--keep-last", "1"]).expect(5);
    assert!(r.stderr.contains("is busy"), "{}", r.stderr);
    // Still held: the refusal was not a race with the holder's start or end.
    assert!(
        holder.0.try_wait().unwrap().is_none(),
        "the holder ended early"
    );
}

/// Laravel's and Logto's schema markers are recorded, shown and compared.
#[test]
fn laravel_and_logto_markers() {
    // Laravel, on SQLite.
    let src = SqliteDb::new("laravel");
    src.conn()
        .execute_batch(&std::fs::read_to_string(fixtures().join("apps/laravel.sql")).unwrap())
        .unwrap();
    let a = src.dir.path().join("laravel.haul").display().to_string();
    haul(&["dump", &src.url(), "-o", &a, "-q"]).ok();
    let i = haul(&["inspect", &a]).ok();
    assert!(
        i.stdout.contains("laravel schema version 2024_03_01_120000_create_oauth_settings_table (table migrations)"),
        "{}",
        i.stdout
    );
    // The target ran one migration more: the archive is older.
    let target = SqliteDb::new("laravel_new");
    target
        .conn()
        .execute_batch(
            "CREATE TABLE migrations (id INTEGER PRIMARY KEY AUTOINCREMENT, migration VARCHAR(255) NOT NULL, batch INTEGER NOT NULL);
             INSERT INTO migrations (migration, batch) VALUES ('2025_01_01_000000_add_scopes', 3);",
        )
        .unwrap();
    let r = haul(&["plan", &a, &target.url(), "--exclude-tables", "migrations"]).ok();
    assert!(r.stdout.contains("an upgrade restore"), "{}", r.stdout);

    // Logto, on PostgreSQL: the alteration state's timestamp.
    let pg = PgDb::new("haul_logto");
    pg.script(&std::fs::read(fixtures().join("apps/logto.sql")).unwrap());
    let dir = tempdir();
    let b = dir.path().join("logto.haul").display().to_string();
    haul(&["dump", &pg.url(), "-o", &b, "-q"]).ok();
    let j = haul(&["inspect", &b, "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["app_markers"][0]["app"], "logto");
    assert_eq!(v["app_markers"][0]["version"], "1716643968");
    // Restoring it over an older Logto's schema is a downgrade, refused.
    let older = PgDb::new("haul_logto_old");
    older.script(&std::fs::read(fixtures().join("apps/logto.sql")).unwrap());
    older.sql("UPDATE systems SET value = '{\"timestamp\": 1700000000}' WHERE key = 'alterationState'; DELETE FROM systems WHERE key <> 'alterationState'");
    let r = haul(&["restore", &b, &older.url()]).expect(5);
    assert!(
        r.stderr
            .contains("logto schema 1716643968 in the archive is newer"),
        "{}",
        r.stderr
    );
}

/// `--json=events`: JSON lines a scheduler can follow, the summary last.
#[test]
fn json_events_are_json_lines() {
    let dir = tempdir();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    let a = dir.path().join("e.haul").display().to_string();
    let r = haul(&["dump", &demo, "-o", &a, "--json=events"]).ok();
    let lines: Vec<serde_json::Value> = r
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines[0]["event"], "start");
    assert_eq!(
        lines.iter().filter(|l| l["event"] == "table_done").count(),
        2,
        "{}",
        r.stdout
    );
    let last = lines.last().unwrap();
    assert_eq!(last["command"], "dump");
    assert_eq!(last["rows"], 10);
    assert!(
        r.stderr.is_empty(),
        "events replace the log lines: {}",
        r.stderr
    );
}

/// Connections and defaults from a config file; environment variables win
/// over it, flags over both; a password in the file is never printed.
#[test]
fn config_file_env_and_flags() {
    let dir = tempdir();
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let cfg = dir.path().join("haul.toml");
    std::fs::write(
        &cfg,
        format!(
            "[connections]\ndemo = \"sqlite://{}\"\nbroken = \"postgres://postgres:Cfg5ecret@127.0.0.1:5432/haul_no_such_db\"\n\n\
             [dump]\ninto = \"{}\"\n\n[prune]\nkeep_last = 1\n",
            fixtures().join("demo.db").display(),
            backups.display()
        ),
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    for _ in 0..3 {
        haul(&["--config", c, "dump", "@demo", "-q"]).ok();
    }
    assert_eq!(archives(&backups).len(), 3);
    let b = backups.to_str().unwrap();
    // The file says keep 1; the environment says 2; a flag says 3.
    let r = haul(&["--config", c, "prune", b, "--dry-run"]).ok();
    assert_eq!(r.stdout.matches("keep ").count(), 1, "{}", r.stdout);
    let r = haul_env(
        &["--config", c, "prune", b, "--dry-run"],
        &[("HAUL_KEEP_LAST", "2")],
    )
    .ok();
    assert_eq!(r.stdout.matches("keep ").count(), 2, "{}", r.stdout);
    let r = haul_env(
        &["--config", c, "prune", b, "--dry-run", "--keep-last", "3"],
        &[("HAUL_KEEP_LAST", "2")],
    )
    .ok();
    assert_eq!(r.stdout.matches("keep ").count(), 3, "{}", r.stdout);
    // HAUL_CONFIG works like --config.
    haul_env(&["prune", b, "--keep-last", "1"], &[("HAUL_CONFIG", c)]).ok();
    assert_eq!(archives(&backups).len(), 1);
    // A named connection that fails never shows its password.
    let r = haul(&["--config", c, "dump", "@broken", "-o", "x.haul"]).expect(3);
    assert!(!r.all().contains("Cfg5ecret"), "{}", r.all());
    assert!(r.stderr.contains("haul_no_such_db"), "{}", r.stderr);
    haul(&["--config", c, "dump", "@nope", "-o", "x.haul"]).expect(2);
    // A config file that does not parse is a usage error naming it.
    std::fs::write(&cfg, "[dump]\nbogus = 1\n").unwrap();
    let r = haul(&["--config", c, "inspect", "x.haul"]).expect(2);
    assert!(r.stderr.contains("haul.toml"), "{}", r.stderr);
}

/// A damaged archive does not count towards retention: prune keeps an intact
/// one instead, and says why.
#[test]
fn prune_counts_only_intact_archives() {
    let dir = tempdir();
    let d = dir.path().to_str().unwrap();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    haul(&["dump", &demo, "--into", d, "-q"]).ok();
    let r = haul(&["dump", &demo, "--into", d, "-q", "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(r.stdout.trim()).unwrap();
    let newest = v["archive"].as_str().unwrap().to_string();
    // Flip a byte in the newest archive's first chunk.
    let mut bytes = std::fs::read(&newest).unwrap();
    let at = bytes
        .windows(14)
        .position(|w| w == b"000001.csv.zst")
        .unwrap();
    let data = (at / 512 + 1) * 512 + 20;
    bytes[data] ^= 0xff;
    std::fs::write(&newest, bytes).unwrap();
    let r = haul(&["prune", d, "--keep-last", "1"]).expect(8);
    assert!(r.stdout.contains("checksum mismatch"), "{}", r.stdout);
    let left = archives(dir.path());
    assert_eq!(
        left.len(),
        2,
        "the intact one is kept, the damaged one left for a person"
    );
}
