//! Hostile names and literals on every engine pair, and crafted archives:
//! a restore carries each value exactly (read back with the target's own
//! client) or refuses naming the object, and never touches a bystander
//! table or creates one of its own.

use crate::common::*;
use std::path::{Path, PathBuf};

/// The hostile table: quotes of every kind, a backslash, a `;`.
const TABLE: &str = "h'q\"b`\\;x";
/// A column with the same and a newline, a comment opener and unicode.
const COLUMN: &str = "c'o\"l`\\;\n--é";
/// Values of the defaults (columns d, e, f), the comment, the enum labels.
const D: &str = "C:\\temp";
const E: &str = "x\\";
const F: &str = "it's -- /* ; \\'";
const COMMENT: &str = "it's\\";
const LABELS: [&str; 2] = ["a\\", "b'c"];

fn dq(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}
fn bq(s: &str) -> String {
    format!("`{}`", s.replace('`', "``"))
}
/// A PostgreSQL / SQLite literal.
fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}
/// A MySQL literal.
fn mylit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "''"))
}
fn hex(s: &str) -> String {
    s.bytes().map(|b| format!("{b:02X}")).collect()
}

fn pg_source() -> PgDb {
    let db = PgDb::new("haul_hostile_pg");
    let t = dq(TABLE);
    db.sql(&format!(
        "CREATE TYPE {} AS ENUM ({}, {});
         CREATE TABLE {t} (
           id integer PRIMARY KEY,
           {} text,
           d text DEFAULT {}, e text DEFAULT {}, f text DEFAULT {},
           s {}, n integer,
           CONSTRAINT {} UNIQUE (n),
           CONSTRAINT {} CHECK (n > 0 OR f <> {}));
         CREATE INDEX {} ON {t} (e);
         COMMENT ON COLUMN {t}.f IS {};
         INSERT INTO {t} (id, {}, s, n) VALUES (1, {}, {}, 1);",
        dq("en'um\\"),
        lit(LABELS[0]),
        lit(LABELS[1]),
        dq(COLUMN),
        lit(D),
        lit(E),
        lit(F),
        dq("en'um\\"),
        dq("u\"q'\\"),
        dq("k'\"`\\;"),
        lit("\\"),
        dq("i'x\"y`\\;"),
        lit(COMMENT),
        dq(COLUMN),
        lit(F),
        lit(LABELS[0]),
    ));
    db
}

fn my_source() -> MyDb {
    let db = MyDb::new("haul_hostile_my");
    let t = bq(TABLE);
    db.script(
        format!(
            "CREATE TABLE {t} (
               id int PRIMARY KEY,
               {} text,
               d varchar(50) DEFAULT {}, e varchar(50) DEFAULT {},
               f varchar(50) DEFAULT {} COMMENT {},
               s enum({}, {}), n int,
               UNIQUE KEY {} (n),
               KEY {} (e),
               CONSTRAINT {} CHECK (n > 0 OR f <> {}));
             INSERT INTO {t} (id, {}, s, n) VALUES (1, {}, {}, 1);",
            bq(COLUMN),
            mylit(D),
            mylit(E),
            mylit(F),
            mylit(COMMENT),
            mylit(LABELS[0]),
            mylit(LABELS[1]),
            bq("u\"q'\\"),
            bq("i'x\"y`\\;"),
            bq("k'\"`\\;"),
            mylit("\\"),
            bq(COLUMN),
            mylit(F),
            mylit(LABELS[0]),
        )
        .as_bytes(),
    );
    db
}

fn lite_source() -> SqliteDb {
    let db = SqliteDb::new("hostile");
    let t = dq(TABLE);
    db.conn()
        .execute_batch(&format!(
            "CREATE TABLE {t} (
               id INTEGER PRIMARY KEY,
               {} TEXT,
               d TEXT DEFAULT {}, e TEXT DEFAULT {}, f TEXT DEFAULT {},
               s TEXT, n INTEGER,
               CONSTRAINT {} UNIQUE (n),
               CONSTRAINT {} CHECK (n > 0 OR f <> {}));
             CREATE INDEX {} ON {t} (e);
             INSERT INTO {t} (id, {}, s, n) VALUES (1, {}, {}, 1);",
            dq(COLUMN),
            lit(D),
            lit(E),
            lit(F),
            dq("u\"q'\\"),
            dq("k'\"`\\;"),
            lit("\\"),
            dq("i'x\"y`\\;"),
            dq(COLUMN),
            lit(F),
            lit(LABELS[0]),
        ))
        .expect("the hostile SQLite source");
    db
}

/// A restore target holding a bystander table with one row.
enum Target {
    Pg(PgDb),
    My(MyDb),
    Lite(SqliteDb),
}

impl Target {
    fn new(kind: &str) -> Target {
        let t = match kind {
            "pg" => Target::Pg(PgDb::new("haul_hostile_to")),
            "my" => Target::My(MyDb::new("haul_hostile_to")),
            _ => Target::Lite(SqliteDb::new("to")),
        };
        t.exec("CREATE TABLE bystander (a int); INSERT INTO bystander VALUES (7)");
        t
    }
    fn url(&self) -> String {
        match self {
            Target::Pg(d) => d.url(),
            Target::My(d) => d.url(),
            Target::Lite(d) => d.url(),
        }
    }
    fn exec(&self, sql: &str) {
        match self {
            Target::Pg(d) => {
                d.script(sql.as_bytes());
            }
            Target::My(d) => {
                d.script(sql.as_bytes());
            }
            Target::Lite(d) => d.conn().execute_batch(sql).expect("sqlite"),
        }
    }
    /// One text value of a query, as hex of its bytes (clients escape).
    fn value_hex(&self, expr: &str, from: &str) -> String {
        match self {
            Target::Pg(d) => d
                .sql(&format!(
                    "SELECT upper(encode(convert_to({expr}, 'UTF8'), 'hex')) FROM {from}"
                ))
                .trim()
                .to_string(),
            Target::My(d) => d
                .sql(&format!("SELECT HEX({expr}) FROM {from}"))
                .trim()
                .to_string(),
            Target::Lite(d) => d
                .conn()
                .query_row(&format!("SELECT hex({expr}) FROM {from}"), [], |r| {
                    r.get::<_, String>(0)
                })
                .expect("sqlite value"),
        }
    }
    fn tables(&self) -> Vec<String> {
        let mut v: Vec<String> = match self {
            Target::Pg(d) => d
                .sql("SELECT upper(encode(convert_to(tablename, 'UTF8'), 'hex')) FROM pg_tables WHERE schemaname = 'public'")
                .lines()
                .map(str::to_string)
                .collect(),
            Target::My(d) => d
                .sql("SELECT HEX(TABLE_NAME) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE()")
                .lines()
                .map(str::to_string)
                .collect(),
            Target::Lite(d) => {
                let c = d.conn();
                let mut st = c
                    .prepare("SELECT hex(name) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
                    .expect("sqlite");
                let names = st
                    .query_map([], |r| r.get::<_, String>(0))
                    .expect("sqlite")
                    .collect::<Result<Vec<_>, _>>()
                    .expect("sqlite");
                names
            }
        };
        v.sort();
        v
    }
    fn quote(&self, name: &str) -> String {
        match self {
            Target::My(_) => bq(name),
            _ => dq(name),
        }
    }
    /// A column as text.
    fn text(&self, col: &str) -> String {
        match self {
            Target::Pg(_) => format!("{col}::text"),
            Target::My(_) => format!("CAST({col} AS CHAR)"),
            Target::Lite(_) => format!("CAST({col} AS TEXT)"),
        }
    }
    fn lit(&self, s: &str) -> String {
        match self {
            Target::My(_) => mylit(s),
            _ => lit(s),
        }
    }
}

/// Restore `archive` (from `from`) into a fresh `to` target and check it.
fn check_pair(archive: &Path, from: &str, to: &str) {
    let target = Target::new(to);
    let run = haul(&[
        "restore",
        archive.to_str().expect("a UTF-8 path"),
        &target.url(),
        "-q",
    ]);
    let pair = format!("{from} -> {to}");
    eprintln!("{pair}: exit {}: {}", run.code, run.stderr.trim());
    let mut expected = vec![hex("bystander"), hex(TABLE)];
    expected.sort();
    let by = target.value_hex(&target.text("a"), "bystander");
    assert_eq!(by, hex("7"), "{pair}: the bystander row");
    match run.code {
        0 | 8 => {
            assert_eq!(target.tables(), expected, "{pair}: the tables");
            let t = target.quote(TABLE);
            target.exec(&format!(
                "INSERT INTO {t} (id, s) VALUES (999, {})",
                target.lit(LABELS[0])
            ));
            let row = format!("{t} WHERE id = 999");
            for (col, want) in [("d", D), ("e", E), ("f", F)] {
                assert_eq!(
                    target.value_hex(col, &row),
                    hex(want),
                    "{pair}: the default of {col}"
                );
            }
            assert_eq!(
                target.value_hex(&target.quote(COLUMN), &format!("{t} WHERE id = 1")),
                hex(F),
                "{pair}: the hostile column's value"
            );
            let comment = match &target {
                Target::My(_) if from != "lite" => Some(target.value_hex(
                    "COLUMN_COMMENT",
                    &format!(
                        "information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = {} AND COLUMN_NAME = 'f'",
                        mylit(TABLE)
                    ),
                )),
                Target::Pg(_) if from == "pg" => Some(target.value_hex(
                    &format!("col_description({}::regclass, 5)", lit(&dq(TABLE))),
                    "(SELECT 1) x",
                )),
                _ => None,
            };
            if let Some(c) = comment {
                assert_eq!(c, hex(COMMENT), "{pair}: the column comment");
            }
        }
        4 | 5 => {
            assert_eq!(target.tables(), vec![hex("bystander")], "{pair}");
            assert!(
                run.stderr.contains("table") || run.stderr.contains("view"),
                "{pair}: the refusal names no object: {}",
                run.stderr
            );
        }
        _ => panic!("{pair}: exit {}\n{}", run.code, run.all()),
    }
}

#[test]
fn hostile_names_and_literals_on_every_pair() {
    let dir = tempdir();
    let pg = pg_source();
    let my = my_source();
    let lite = lite_source();
    let mut archives: Vec<(&str, PathBuf)> = Vec::new();
    for (from, url) in [("pg", pg.url()), ("my", my.url()), ("lite", lite.url())] {
        let path = dir.path().join(format!("{from}.haul"));
        haul(&[
            "dump",
            &url,
            "-o",
            path.to_str().expect("a UTF-8 path"),
            "-q",
        ])
        .ok();
        archives.push((from, path));
    }
    std::thread::scope(|s| {
        for (from, path) in &archives {
            for to in ["pg", "my", "lite"] {
                s.spawn(move || check_pair(path, from, to));
            }
        }
    });
}

/// A change to an archive's schema.json.
type Edit = dyn Fn(&mut serde_json::Value);

/// An archive whose schema was rewritten (checksums made consistent again).
pub(crate) fn rewrite_schema(archive: &Path, out: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let file = std::fs::File::open(archive).expect("open the archive");
    let mut tar = tar::Archive::new(file);
    let mut members: Vec<(String, Vec<u8>)> = Vec::new();
    for e in tar.entries().expect("tar entries") {
        let mut e = e.expect("a tar entry");
        let name = e.path().expect("a path").to_string_lossy().into_owned();
        let mut body = Vec::new();
        std::io::Read::read_to_end(&mut e, &mut body).expect("read a member");
        members.push((name, body));
    }
    let mut schema: serde_json::Value = serde_json::from_slice(&members[0].1).expect("schema.json");
    edit(&mut schema);
    let schema_bytes = serde_json::to_vec(&schema).expect("json");
    let last = members.len() - 1;
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&members[last].1).expect("manifest.json");
    manifest["schema"] = schema;
    manifest["schema_blake3"] = blake3::hash(&schema_bytes).to_hex().to_string().into();
    members[0].1 = schema_bytes;
    members[last].1 = serde_json::to_vec(&manifest).expect("json");
    let mut b = tar::Builder::new(std::fs::File::create(out).expect("create"));
    for (name, body) in &members {
        let mut h = tar::Header::new_gnu();
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        b.append_data(&mut h, name, body.as_slice())
            .expect("append");
    }
    b.finish().expect("finish the tar");
}

#[test]
fn crafted_archives_run_no_second_statement() {
    let dir = tempdir();
    // PostgreSQL: a second statement after a default, a type, a view.
    let pg = PgDb::new("haul_crafted_pg");
    pg.sql("CREATE TABLE t (id int PRIMARY KEY, a text DEFAULT 'x', b int); INSERT INTO t VALUES (1, 'y', 2); CREATE VIEW v AS SELECT id FROM t");
    let pg_archive = dir.path().join("pg.haul");
    haul(&[
        "dump",
        &pg.url(),
        "-o",
        pg_archive.to_str().expect("utf-8"),
        "-q",
    ])
    .ok();
    let evil = "DROP TABLE bystander";
    let crafted: [(&str, Box<Edit>); 3] = [
        (
            "default",
            Box::new(move |s| {
                s["tables"][0]["columns"][1]["default"] =
                    format!("'x'); {evil}; CREATE TABLE zz (q int").into()
            }),
        ),
        (
            "type",
            Box::new(move |s| {
                s["tables"][0]["columns"][2]["native_type"] =
                    format!("int); {evil}; CREATE TABLE zz (q int").into()
            }),
        ),
        (
            "view",
            Box::new(move |s| {
                s["extras"][0]["ddl"] = format!("CREATE VIEW v AS SELECT 1; {evil}").into()
            }),
        ),
    ];
    for (what, edit) in crafted {
        let out = dir.path().join(format!("pg-{what}.haul"));
        rewrite_schema(&pg_archive, &out, edit);
        haul(&["verify", out.to_str().expect("utf-8"), "-q"]).ok();
        let to = Target::new("pg");
        let run = haul(&["restore", out.to_str().expect("utf-8"), &to.url(), "-q"]);
        assert_eq!(run.code, 4, "pg {what}: {}", run.all());
        assert_eq!(
            to.value_hex(&to.text("a"), "bystander"),
            hex("7"),
            "pg {what}"
        );
    }
    // SQLite: a view that is an ATTACH, a trigger with a second statement.
    let lite = SqliteDb::new("crafted");
    lite.conn()
        .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT); INSERT INTO t VALUES (1, 'y'); CREATE VIEW v AS SELECT id FROM t;")
        .expect("sqlite");
    let lite_archive = dir.path().join("lite.haul");
    haul(&[
        "dump",
        &lite.url(),
        "-o",
        lite_archive.to_str().expect("utf-8"),
        "-q",
    ])
    .ok();
    let attached = dir.path().join("attached.db");
    let attach = format!(
        "ATTACH DATABASE {} AS x",
        lit(&attached.display().to_string())
    );
    let crafted: [(&str, String); 3] = [
        ("attach", attach.clone()),
        ("second", format!("CREATE VIEW v AS SELECT 1; {attach}")),
        ("drop", format!("CREATE VIEW v AS SELECT 1; {evil}")),
    ];
    for (what, ddl) in crafted {
        let out = dir.path().join(format!("lite-{what}.haul"));
        rewrite_schema(&lite_archive, &out, |s| {
            s["extras"][0]["ddl"] = ddl.clone().into()
        });
        let to = Target::new("lite");
        let run = haul(&["restore", out.to_str().expect("utf-8"), &to.url(), "-q"]);
        assert_eq!(run.code, 4, "sqlite {what}: {}", run.all());
        assert!(
            run.stderr.contains("view v"),
            "sqlite {what}: {}",
            run.stderr
        );
        assert_eq!(
            to.value_hex(&to.text("a"), "bystander"),
            hex("7"),
            "sqlite {what}"
        );
        assert!(!attached.exists(), "sqlite {what}: ATTACH ran");
        // --no-code leaves the view out and restores the data.
        let to = Target::new("lite");
        let run = haul(&[
            "restore",
            out.to_str().expect("utf-8"),
            &to.url(),
            "--no-code",
        ]);
        assert_eq!(run.code, 8, "sqlite {what} --no-code: {}", run.all());
        assert!(run.all().contains("view v left out"), "{}", run.all());
        assert!(!attached.exists(), "sqlite {what}: ATTACH ran");
    }
}
