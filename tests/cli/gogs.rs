//! The Gogs 0.12 -> 0.13 move: old data into the new schema, with
//! access_token.sha256 backfilled, unique keys relaxed, probed and reapplied.

use crate::common::*;
use sha2::Digest;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("gogs").join(name)).expect("gogs fixture")
}

/// Gogs 0.12 dumped from PostgreSQL, and an empty 0.13 schema to restore into.
pub fn pg_setup() -> (PgDb, PgDb, tempfile::TempDir, String) {
    let old = PgDb::new("haul_gogs12");
    old.script(&fixture("pg-0.12.sql"));
    let new = PgDb::new("haul_gogs13");
    new.script(&fixture("pg-0.13.sql"));
    let dir = tempdir();
    let archive = dir.path().join("gogs-0.12.haul").display().to_string();
    haul(&["dump", &old.url(), "-o", &archive, "-q"]).ok();
    (old, new, dir, archive)
}

pub fn pg_check_moved(new: &PgDb) {
    assert_eq!(
        new.sql("SELECT count(*) FROM access_token WHERE sha256 = encode(sha256(convert_to(sha1, 'UTF8')), 'hex')")
            .trim(),
        "4",
        "every sha256 equals the 0.13 migration's formula"
    );
    assert_eq!(new.sql("SELECT count(*) FROM \"user\"").trim(), "3");
    assert_eq!(new.sql("SELECT count(*) FROM repository").trim(), "3");
    assert_eq!(new.sql("SELECT count(*) FROM star").trim(), "3");
    // The unique constraints are back, with their names and definitions.
    assert_eq!(
        new.sql(
            "SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint
              WHERE conrelid = 'access_token'::regclass AND contype = 'u' ORDER BY conname"
        )
        .trim(),
        "access_token_sha1_key UNIQUE (sha1)\naccess_token_sha256_key UNIQUE (sha256)"
    );
    assert_eq!(
        new.sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'IDX_access_token_uid'")
            .trim(),
        "CREATE INDEX \"IDX_access_token_uid\" ON public.access_token USING btree (uid)"
    );
    assert_eq!(
        new.sql("SELECT count(*) FROM pg_constraint WHERE conname IN ('UQE_repository_s', 'UQE_star_s', 'user_name_key')")
            .trim(),
        "3"
    );
    assert!(
        new.sql("SELECT to_regclass('haul_journal')")
            .trim()
            .is_empty(),
        "journal removed"
    );
    // Ids continue past the source's sequence position (10), not only the rows.
    assert_eq!(
        new.sql("SELECT nextval('access_token_id_seq')").trim(),
        "11"
    );
}

#[test]
fn pg_gogs_profile_moves_every_row() {
    let (_old, new, _dir, archive) = pg_setup();
    let plan = haul(&["plan", &archive, &new.url(), "--profile", "gogs"]).ok();
    assert!(
        plan.stdout.contains("sha256 = sha256_hex(sha1)"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("keep the target's table version"),
        "{}",
        plan.stdout
    );
    haul(&["restore", &archive, &new.url(), "--profile", "gogs"]).ok();
    pg_check_moved(&new);
    // The archive's schema version (19) did not overwrite the target's (22).
    assert_eq!(new.sql("SELECT version FROM version").trim(), "22");
}

#[test]
fn pg_gogs_rule_spelled_out() {
    let (_old, new, _dir, archive) = pg_setup();
    haul(&[
        "restore",
        &archive,
        &new.url(),
        "--backfill",
        "access_token.sha256=sha256_hex(sha1)",
        "--exclude-tables",
        "version",
        "-q",
    ])
    .ok();
    pg_check_moved(&new);
}

#[test]
fn pg_plain_restore_is_refused_naming_the_fix() {
    let (_old, new, _dir, archive) = pg_setup();
    let r = haul(&["restore", &archive, &new.url()]).expect(5);
    assert!(
        r.stderr
            .contains("column sha256 is NOT NULL without a default")
            && r.stderr.contains("--backfill 'access_token.sha256=EXPR'"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("nothing was changed"), "{}", r.stderr);
    assert_eq!(new.sql("SELECT count(*) FROM access_token").trim(), "0");
    assert_eq!(
        new.sql("SELECT count(*) FROM pg_constraint WHERE conname = 'access_token_sha256_key'")
            .trim(),
        "1"
    );
    // A rule naming a column that does not exist is refused too.
    let r = haul(&[
        "restore",
        &archive,
        &new.url(),
        "--backfill",
        "access_token.sha265=sha256_hex(sha1)",
    ])
    .expect(5);
    assert!(r.stderr.contains("sha265"), "{}", r.stderr);
    // And a rule that does not parse is a usage error.
    haul(&[
        "restore",
        &archive,
        &new.url(),
        "--backfill",
        "access_token.sha256=frob(sha1)",
    ])
    .expect(2);
}

fn sqlite_setup() -> (SqliteDb, SqliteDb, String) {
    let old = SqliteDb::new("gogs12");
    old.conn()
        .execute_batch(&String::from_utf8(fixture("sqlite-0.12.sql")).unwrap())
        .unwrap();
    let new = SqliteDb::new("gogs13");
    new.conn()
        .execute_batch(&String::from_utf8(fixture("sqlite-0.13.sql")).unwrap())
        .unwrap();
    let archive = old.dir.path().join("gogs-0.12.haul").display().to_string();
    haul(&["dump", &old.url(), "-o", &archive, "-q"]).ok();
    (old, new, archive)
}

fn sqlite_indexes(db: &SqliteDb) -> Vec<String> {
    let c = db.conn();
    let mut s = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'access_token' AND sql IS NOT NULL ORDER BY name")
        .unwrap();
    s.query_map([], |r| r.get(0))
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
}

#[test]
fn sqlite_gogs_profile_moves_every_row() {
    let (_old, new, archive) = sqlite_setup();
    haul(&["restore", &archive, &new.url(), "--profile", "gogs", "-q"]).ok();
    let c = new.conn();
    let mut s = c.prepare("SELECT sha1, sha256 FROM access_token").unwrap();
    let rows: Vec<(String, String)> = s
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(rows.len(), 4);
    for (sha1, sha256) in rows {
        assert_eq!(sha256, hex::encode(sha2::Sha256::digest(sha1.as_bytes())));
    }
    assert_eq!(
        sqlite_indexes(&new),
        [
            "IDX_access_token_uid",
            "UQE_access_token_sha1",
            "UQE_access_token_sha256"
        ]
    );
    let version: i64 = c
        .query_row("SELECT version FROM version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 22);
    let seq: i64 = c
        .query_row(
            "SELECT seq FROM sqlite_sequence WHERE name = 'access_token'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(seq, 10, "AUTOINCREMENT continues past the source's counter");
}

/// Without a rule the 0.13 default '' collides: the probe stops before the
/// unique index is reapplied, names the group, and `--resume` finishes once
/// the rows are fixed.
#[test]
fn sqlite_duplicates_stop_the_restore_and_resume_finishes_it() {
    let (_old, new, archive) = sqlite_setup();
    let r = haul(&[
        "restore",
        &archive,
        &new.url(),
        "--exclude-tables",
        "version",
    ])
    .expect(7);
    assert!(
        r.stderr
            .contains("UQE_access_token_sha256 (sha256): 4 rows with sha256=\"\"")
            && r.stderr.contains("--resume"),
        "{}",
        r.stderr
    );
    // Everything relaxed stays dropped until the restore is finished.
    assert!(sqlite_indexes(&new).is_empty());
    // The journal keeps what was relaxed; a plain re-run is refused.
    let r = haul(&[
        "restore",
        &archive,
        &new.url(),
        "--exclude-tables",
        "version",
    ])
    .expect(5);
    assert!(r.stderr.contains("did not finish"), "{}", r.stderr);
    // Still duplicates: --resume stops again without losing the journal.
    haul(&["restore", &archive, &new.url(), "--resume"]).expect(7);
    new.conn()
        .execute_batch("UPDATE access_token SET sha256 = 'token-' || id")
        .unwrap();
    haul(&["restore", &archive, &new.url(), "--resume"]).ok();
    assert_eq!(
        sqlite_indexes(&new),
        [
            "IDX_access_token_uid",
            "UQE_access_token_sha1",
            "UQE_access_token_sha256"
        ]
    );
    let journal: i64 = new
        .conn()
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name = 'haul_journal'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(journal, 0);
    haul(&["restore", &archive, &new.url(), "--resume"]).expect(2);
}

#[test]
fn profiles_are_listed() {
    let r = haul(&["restore", "--list-profiles"]).ok();
    assert!(r.stdout.starts_with("gogs"), "{}", r.stdout);
}

/// The archive records Gogs' schema version; plan and restore compare it with
/// the target's and refuse a downgrade unless asked.
#[test]
fn pg_app_schema_versions_are_compared() {
    let (_old, new, dir, archive) = pg_setup();
    let i = haul(&["inspect", &archive]).ok();
    assert!(
        i.stdout.contains("gogs schema version 19 (table version)"),
        "{}",
        i.stdout
    );
    let j = haul(&["inspect", &archive, "--json"]).ok();
    let v: serde_json::Value = serde_json::from_str(&j.stdout).unwrap();
    assert_eq!(v["app_markers"][0]["version"], "19");
    let plan = haul(&["plan", &archive, &new.url(), "--profile", "gogs"]).ok();
    assert!(
        plan.stdout.contains("gogs schema 19 in the archive, 22 in the target: an upgrade restore; profile gogs applies"),
        "{}",
        plan.stdout
    );
    // A 0.13 archive into a 0.12 server is a downgrade.
    let newer = dir.path().join("gogs-0.13.haul").display().to_string();
    haul(&["dump", &new.url(), "-o", &newer, "-q"]).ok();
    let old_schema = PgDb::new("haul_gogs12_empty");
    old_schema.script(&fixture("pg-0.12.sql"));
    old_schema.sql("TRUNCATE version, \"user\", repository, access_token, star; INSERT INTO version (version) VALUES (19)");
    let r = haul(&["restore", &newer, &old_schema.url(), "--profile", "gogs"]).expect(5);
    assert!(
        r.stderr
            .contains("gogs schema 22 in the archive is newer than the target's 19: a downgrade")
            && r.stderr.contains("--allow-downgrade"),
        "{}",
        r.stderr
    );
    // Allowed, the plan goes on to what else stands in the way.
    let r = haul(&[
        "plan",
        &newer,
        &old_schema.url(),
        "--profile",
        "gogs",
        "--allow-downgrade",
    ])
    .expect(5);
    assert!(
        r.stderr.contains("--drop-columns access_token.sha256"),
        "{}",
        r.stderr
    );
}

fn my_setup() -> (MyDb, MyDb, tempfile::TempDir, String) {
    let old = MyDb::new("haul_gogs12");
    old.script(&fixture("mysql-0.12.sql"));
    let new = MyDb::new("haul_gogs13");
    new.script(&fixture("mysql-0.13.sql"));
    let dir = tempdir();
    let archive = dir.path().join("gogs-0.12.haul").display().to_string();
    haul(&["dump", &old.url(), "-o", &archive, "-q"]).ok();
    (old, new, dir, archive)
}

#[test]
fn mysql_gogs_profile_moves_every_row() {
    let (_old, new, _dir, archive) = my_setup();
    let r = haul(&["restore", &archive, &new.url(), "--profile", "gogs"]).ok();
    assert!(
        r.stderr
            .contains("gogs schema 19 in the archive, 22 in the target"),
        "{}",
        r.stderr
    );
    assert_eq!(
        new.sql("SELECT COUNT(*) FROM access_token WHERE sha256 = SHA2(sha1, 256)")
            .trim(),
        "4",
        "every sha256 equals the 0.13 migration's formula"
    );
    assert_eq!(new.sql("SELECT COUNT(*) FROM `user`").trim(), "3");
    assert_eq!(new.sql("SELECT COUNT(*) FROM star").trim(), "3");
    assert_eq!(new.sql("SELECT version FROM version").trim(), "22");
    // The unique key is back under MySQL's name for it.
    let create = new.sql("SHOW CREATE TABLE access_token");
    assert!(
        create.contains("UNIQUE KEY `sha256` (`sha256`)"),
        "{create}"
    );
    assert!(create.contains("UNIQUE KEY `sha1` (`sha1`)"), "{create}");
    assert!(
        create.contains("KEY `IDX_access_token_uid` (`uid`)"),
        "{create}"
    );
    assert!(new
        .sql("SHOW CREATE TABLE repository")
        .contains("UNIQUE KEY `UQE_repository_s` (`owner_id`,`lower_name`)"));
    // Auto-increment continues past the source's counter (11), not only the rows.
    new.sql("INSERT INTO access_token (uid, name, sha1, sha256) VALUES (1, 'new', 'x', 'y')");
    assert_eq!(new.sql("SELECT MAX(id) FROM access_token").trim(), "11");
    assert_eq!(
        new.sql("SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'haul_journal'")
            .trim(),
        "0"
    );
}

#[test]
fn mysql_plain_restore_is_refused_naming_the_fix() {
    let (_old, new, _dir, archive) = my_setup();
    let r = haul(&["restore", &archive, &new.url()]).expect(5);
    assert!(
        r.stderr.contains("--backfill 'access_token.sha256=EXPR'"),
        "{}",
        r.stderr
    );
    assert_eq!(new.sql("SELECT COUNT(*) FROM access_token").trim(), "0");
}
