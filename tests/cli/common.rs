//! Shared helpers: running haul, making and dropping uniquely named
//! databases, reading the shared datasets.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};

/// Result of one haul run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Panic with the output unless the exit code is `code`.
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code, code,
            "expected exit {code}, got {}\nstdout:\n{}\nstderr:\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
    pub fn ok(self) -> Run {
        self.expect(0)
    }
    /// Everything the run printed.
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// Run haul with `args`, stdin closed.
pub fn haul(args: &[&str]) -> Run {
    haul_env(args, &[])
}

/// Run haul with extra environment variables.
pub fn haul_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(args)
        .envs(env.iter().copied())
        .env("HAUL_PROGRESS_SECONDS", "1")
        .stdin(Stdio::null())
        .output()
        .expect("cannot run the haul binary");
    to_run(out)
}

fn to_run(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A name no other test run uses.
pub fn unique(prefix: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "{prefix}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// The shared datasets folder (`../shared/datasets` from the repo).
pub fn datasets() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets");
    assert!(
        p.is_dir(),
        "the shared datasets are missing: expected {} (the repository's sibling shared/ folder)",
        p.display()
    );
    p
}

pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// A temporary directory removed at the end of the test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("haul-test")
        .tempdir()
        .expect("tempdir")
}

fn run_tool(cmd: &mut Command, input: Option<&[u8]>, what: &str) -> String {
    use std::io::Write;
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    if let Some(data) = input {
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(data).expect("write to stdin");
    }
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ------------------------------------------------------------------ PostgreSQL

pub const PG_HOST: &str = "127.0.0.1";

fn psql_cmd(db: &str) -> Command {
    let mut c = Command::new("psql");
    c.args([
        "-h",
        PG_HOST,
        "-U",
        "postgres",
        "-X",
        "-q",
        "-v",
        "ON_ERROR_STOP=1",
        "-At",
        "-d",
        db,
    ]);
    c
}

/// Run SQL with psql on database `db`; returns the unaligned output.
pub fn psql(db: &str, sql: &str) -> String {
    run_tool(
        psql_cmd(db).arg("-c").arg(sql),
        None,
        "psql (is PostgreSQL running on 127.0.0.1:5432?)",
    )
}

/// Run a SQL script with psql on database `db`.
pub fn psql_script(db: &str, script: &[u8]) -> String {
    run_tool(
        &mut psql_cmd(db),
        Some(script),
        "psql (is PostgreSQL running on 127.0.0.1:5432?)",
    )
}

/// A PostgreSQL database created for one test and dropped after it.
pub struct PgDb {
    pub name: String,
}

impl PgDb {
    pub fn new(prefix: &str) -> PgDb {
        let name = unique(prefix);
        psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        PgDb { name }
    }
    pub fn url(&self) -> String {
        format!("postgres://postgres@{PG_HOST}:5432/{}", self.name)
    }
    pub fn sql(&self, sql: &str) -> String {
        psql(&self.name, sql)
    }
    pub fn script(&self, script: &[u8]) -> String {
        psql_script(&self.name, script)
    }
}

impl Drop for PgDb {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                "-h", PG_HOST, "-U", "postgres", "-X", "-q", "-d", "postgres", "-c",
            ])
            .arg(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .output();
    }
}

/// Chinook loaded into a fresh PostgreSQL database.
pub fn pg_chinook() -> PgDb {
    let db = PgDb::new("haul_chinook");
    let sql = std::fs::read_to_string(datasets().join("chinook/Chinook_PostgreSql.sql"))
        .expect("read Chinook_PostgreSql.sql");
    // The script creates and connects to its own database; skip that part.
    let body = sql.split_once("\\c chinook;").map(|x| x.1).unwrap_or(&sql);
    db.script(body.as_bytes());
    db
}

// ------------------------------------------------------------------ MariaDB

fn mysql_cmd(db: &str) -> Command {
    let mut c = Command::new("mariadb");
    c.args([
        "-h",
        "127.0.0.1",
        "-P",
        "3306",
        "-u",
        "root",
        "--batch",
        "--skip-column-names",
    ]);
    if !db.is_empty() {
        c.arg(db);
    }
    c
}

/// Run SQL with the mariadb client on database `db`.
pub fn mysql(db: &str, sql: &str) -> String {
    run_tool(
        mysql_cmd(db).arg("-e").arg(sql),
        None,
        "mariadb (is MariaDB running on 127.0.0.1:3306?)",
    )
}

/// Run a SQL script with the mariadb client on database `db`.
pub fn mysql_script(db: &str, script: &[u8]) -> String {
    run_tool(
        &mut mysql_cmd(db),
        Some(script),
        "mariadb (is MariaDB running on 127.0.0.1:3306?)",
    )
}

/// A MariaDB database created for one test and dropped after it.
pub struct MyDb {
    pub name: String,
}

impl MyDb {
    pub fn new(prefix: &str) -> MyDb {
        let name = unique(prefix);
        mysql("", &format!("CREATE DATABASE `{name}`"));
        MyDb { name }
    }
    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }
    pub fn sql(&self, sql: &str) -> String {
        mysql(&self.name, sql)
    }
    pub fn script(&self, script: &[u8]) -> String {
        mysql_script(&self.name, script)
    }
}

impl Drop for MyDb {
    fn drop(&mut self) {
        let _ = mysql_cmd("")
            .arg("-e")
            .arg(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .output();
    }
}

// ------------------------------------------------------------------ SQLite

/// A SQLite database file in a temporary directory.
pub struct SqliteDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl SqliteDb {
    pub fn new(name: &str) -> SqliteDb {
        let dir = tempdir();
        let path = dir.path().join(format!("{name}.db"));
        SqliteDb { dir, path }
    }
    /// A copy of an existing database file.
    pub fn copy_of(src: &Path) -> SqliteDb {
        let db = SqliteDb::new("copy");
        std::fs::copy(src, &db.path).expect("copy sqlite file");
        db
    }
    pub fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }
    pub fn conn(&self) -> rusqlite::Connection {
        rusqlite::Connection::open(&self.path).expect("open sqlite")
    }
}
