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

/// The shared datasets folder: `$HAUL_DATASETS` when set (a git worktree
/// has no sibling `shared/`), else `../shared/datasets` from the repo.
pub fn datasets() -> PathBuf {
    let p = match std::env::var_os("HAUL_DATASETS") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/datasets"),
    };
    assert!(
        p.is_dir(),
        "the shared datasets are missing: expected {} (the repository's sibling shared/ folder, \
         or the folder HAUL_DATASETS names)",
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
    String::from_utf8_lossy(&run_tool_bytes(cmd, input, what)).into_owned()
}

/// Run a client program, feeding it `input`; its stdout, byte for byte.
/// Panics, naming the program, when it is not installed or fails.
pub fn run_tool_bytes(cmd: &mut Command, input: Option<&[u8]>, what: &str) -> Vec<u8> {
    use std::io::Write;
    let program = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                panic!("the `{program}` client is not installed (not on PATH); needed for {what}")
            }
            _ => panic!("cannot run {what}: {e}"),
        });
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
    out.stdout
}

// ------------------------------------------------------------------ PostgreSQL

pub const PG_HOST: &str = "127.0.0.1";

pub fn psql_cmd(db: &str) -> Command {
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

/// Whether psql refuses `sql` on database `db` (a constraint holds, say).
pub fn psql_fails(db: &str, sql: &str) -> bool {
    !psql_cmd(db)
        .arg("-c")
        .arg(sql)
        .output()
        .expect("cannot run psql")
        .status
        .success()
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

pub fn mysql_cmd(db: &str) -> Command {
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

// ------------------------------------------------------------------ more helpers

/// The raw bytes psql prints for `sql` (e.g. `COPY (...) TO STDOUT`) on `db`.
pub fn psql_bytes(db: &str, sql: &str) -> Vec<u8> {
    let out = psql_cmd(db)
        .arg("-c")
        .arg(sql)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run psql");
    assert!(
        out.status.success(),
        "psql failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

impl PgDb {
    /// `COPY (query) TO STDOUT` output, byte for byte.
    pub fn copy_out(&self, query: &str) -> Vec<u8> {
        psql_bytes(&self.name, &format!("COPY ({query}) TO STDOUT"))
    }
    /// Whether the database has no table in its public schema.
    pub fn table_names(&self) -> Vec<String> {
        self.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
            .lines()
            .map(str::to_string)
            .collect()
    }
}

/// The hard-values fixture loaded into a fresh PostgreSQL database.
pub fn pg_hard() -> PgDb {
    let db = PgDb::new("haul_hard");
    let sql = std::fs::read(fixtures().join("pg_hard.sql")).expect("read fixtures/pg_hard.sql");
    db.script(&sql);
    db
}

/// The hard-values fixture loaded into a fresh SQLite file.
pub fn sqlite_hard() -> SqliteDb {
    let db = SqliteDb::new("hard");
    let sql = std::fs::read_to_string(fixtures().join("sqlite_hard.sql"))
        .expect("read fixtures/sqlite_hard.sql");
    db.conn()
        .execute_batch(&sql)
        .expect("load fixtures/sqlite_hard.sql");
    db
}

/// A PostgreSQL database holding one table `big` of `rows` rows.
pub fn pg_big(rows: u64) -> PgDb {
    let db = PgDb::new("haul_big");
    db.sql(&format!(
        "CREATE TABLE big (id bigint PRIMARY KEY, name text NOT NULL, n numeric, at timestamptz, note text);
         INSERT INTO big SELECT i, md5(i::text), i * 1.5, '2024-01-01'::timestamptz + i * interval '1 second',
                CASE WHEN i % 7 = 0 THEN NULL WHEN i % 11 = 0 THEN '' ELSE 'row, \"' || i || E'\"\\n' END
           FROM generate_series(1, {rows}) i;
         CREATE INDEX big_name_idx ON big (name);"
    ));
    db
}

/// Run a command line with `sh -c`; returns (exit code, stdout bytes, stderr).
pub fn sh(script: &str) -> (i32, Vec<u8>, String) {
    let out = Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .output()
        .expect("cannot run sh");
    (
        out.status.code().unwrap_or(-1),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Run haul with stdout going to the file `stdout_to`; returns the run
/// (with empty stdout).
pub fn haul_to_file(args: &[&str], stdout_to: &Path) -> Run {
    let f = std::fs::File::create(stdout_to).expect("create stdout file");
    let out = Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(args)
        .env("HAUL_PROGRESS_SECONDS", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::from(f))
        .stderr(Stdio::piped())
        .output()
        .expect("cannot run the haul binary");
    to_run(out)
}

/// The members of a tar file: (name, offset of the data, size).
pub fn tar_members(path: &Path) -> Vec<(String, u64, u64)> {
    let f = std::fs::File::open(path).expect("open archive");
    let mut ar = tar::Archive::new(f);
    ar.entries()
        .expect("tar entries")
        .map(|e| {
            let e = e.expect("tar entry");
            (
                String::from_utf8_lossy(&e.path_bytes()).into_owned(),
                e.raw_file_position(),
                e.size(),
            )
        })
        .collect()
}

/// The archive's manifest.json, parsed.
pub fn manifest(path: &Path) -> serde_json::Value {
    let bytes = std::fs::read(path).expect("read archive");
    let (_, off, size) = tar_members(path)
        .into_iter()
        .find(|m| m.0 == "manifest.json")
        .expect("archive has a manifest.json");
    serde_json::from_slice(&bytes[off as usize..(off + size) as usize]).expect("manifest is JSON")
}

/// Every value of a SQLite table (generated columns included), as `typeof`,
/// `quote` and `hex` of each column, rows in rowid (or primary key) order.
pub fn sqlite_values(conn: &rusqlite::Connection, table: &str) -> Vec<Vec<Vec<u8>>> {
    let q = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let cols: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_xinfo(?1) WHERE hidden <> 1 ORDER BY cid")
        .unwrap()
        .query_map([table], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(!cols.is_empty(), "table {table} has no columns");
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| format!("typeof({c}), quote({c}), hex({c})", c = q(c)))
        .collect();
    let without_rowid: bool = conn
        .query_row(
            "SELECT sql LIKE '%WITHOUT ROWID%' FROM sqlite_master WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .unwrap();
    let order = if without_rowid { "1, 2, 3" } else { "rowid" };
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {order}",
        exprs.join(", "),
        q(table)
    );
    let mut stmt = conn.prepare(&sql).unwrap();
    let n = cols.len() * 3;
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => b"(null)".to_vec(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string().into_bytes(),
                        rusqlite::types::ValueRef::Real(v) => format!("{v:?}").into_bytes(),
                        rusqlite::types::ValueRef::Text(t) => t.to_vec(),
                        rusqlite::types::ValueRef::Blob(b) => b.to_vec(),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// One query's rows from SQLite, each row's columns joined with `|`.
pub fn sqlite_rows(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    let rows = stmt
        .query_map([], |r| {
            (0..n)
                .map(|i| {
                    Ok(match r.get_ref(i)? {
                        rusqlite::types::ValueRef::Null => "NULL".to_string(),
                        rusqlite::types::ValueRef::Integer(v) => v.to_string(),
                        rusqlite::types::ValueRef::Real(v) => format!("{v:?}"),
                        rusqlite::types::ValueRef::Text(t) => {
                            String::from_utf8_lossy(t).into_owned()
                        }
                        rusqlite::types::ValueRef::Blob(b) => format!("x'{}'", hex::encode(b)),
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(|v| v.join("|"))
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

/// The one error line haul printed: stderr, apart from timestamped progress
/// lines, must be exactly one line starting with `haul: error:`.
pub fn error_line(run: &Run) -> String {
    let is_progress = |l: &str| {
        let b = l.as_bytes();
        b.len() > 20 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[10] == b'T'
    };
    let lines: Vec<&str> = run.stderr.lines().filter(|l| !is_progress(l)).collect();
    assert_eq!(
        lines.len(),
        1,
        "expected one error line, got:\n{}",
        run.stderr
    );
    assert!(lines[0].starts_with("haul: error: "), "{}", run.stderr);
    lines[0].to_string()
}
