//! The Coolify case: a newer app's seeder already filled some tables
//! (`oauth_settings`, `instance_settings`) when the old app's archive comes
//! in. The default stops on the colliding keys (exit 7) naming each group
//! and its source; `--on-duplicate keep-existing|keep-archived` resolves
//! them and writes every losing row to a rejects archive.

use crate::common::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixtures().join("coolify").join(name)).expect("coolify fixture")
}

/// The rows of a rejects archive's table, read back through a SQLite restore.
fn rejected_rows(rejects: &std::path::Path, sql: &str) -> Vec<String> {
    assert!(
        rejects.exists(),
        "no rejects archive at {}",
        rejects.display()
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(rejects).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "rejects archive mode {mode:o}");
    let inspect = haul(&["inspect", rejects.to_str().unwrap()]).ok();
    assert!(
        inspect.stdout.contains("oauth_settings"),
        "{}",
        inspect.stdout
    );
    let db = SqliteDb::new("rejects");
    haul(&["restore", rejects.to_str().unwrap(), &db.url(), "-q"]).ok();
    sqlite_rows(&db.conn(), sql)
}

const OLD_ROWS: &str = "1|azure|t|old-azure-client|contoso\n2|bitbucket|f||\n3|github|t|old-gh-client|\n4|gitlab|f||\n5|google|f||\n6|authentik|f||\n";

#[test]
fn pg_seeded_target_stops_then_keep_archived() {
    let old = PgDb::new("haul_cool_old");
    old.script(&fixture("pg-old.sql"));
    let new = PgDb::new("haul_cool_new");
    new.script(&fixture("pg-new.sql"));
    let dir = tempdir();
    let archive = dir.path().join("coolify.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &old.url(), "-o", a, "-q"]).ok();

    let r = haul(&["restore", a, &new.url()]).expect(7);
    for want in [
        "table oauth_settings: unique oauth_settings_provider_unique (provider): provider=\"azure\": 1 pre-existing row, 1 archived row",
        "table instance_settings: primary key instance_settings_pkey (id): id=\"0\": 1 pre-existing row, 1 archived row",
        "--resume --on-duplicate keep-existing",
    ] {
        assert!(r.stderr.contains(want), "{want}\n{}", r.stderr);
    }
    // The seeded rows are untouched.
    assert_eq!(
        new.sql("SELECT count(*) FROM oauth_settings WHERE client_id IS NULL")
            .trim(),
        "6"
    );

    let rejects = dir.path().join("rejects.haul");
    let done = haul(&[
        "restore",
        a,
        &new.url(),
        "--resume",
        "--on-duplicate",
        "keep-archived",
        "--rejects",
        rejects.to_str().unwrap(),
        "--json",
    ])
    .ok();
    let report: serde_json::Value = serde_json::from_str(done.stdout.trim()).expect("json report");
    // bitbucket, gitlab and google are seeded as the archive has them:
    // left as they are, neither inserted again nor replaced.
    assert_eq!(report["rows"], 5, "{report}");
    assert_eq!(report["replaced"], 3, "{report}");
    assert_eq!(report["rejected"], 0, "{report}");
    assert_eq!(
        new.sql("SELECT id, provider, enabled, client_id, tenant FROM oauth_settings ORDER BY id"),
        OLD_ROWS
    );
    assert_eq!(
        new.sql("SELECT fqdn, is_registration_enabled FROM instance_settings")
            .trim(),
        "https://coolify.example.com|f"
    );
    assert_eq!(new.sql("SELECT count(*) FROM users").trim(), "2");
    // Keys in place, nothing of haul's left, ids continue past the rows.
    assert_eq!(
        new.sql("SELECT count(*) FROM pg_constraint WHERE conname IN ('oauth_settings_provider_unique', 'users_email_unique')").trim(),
        "2"
    );
    assert_eq!(
        new.table_names(),
        ["instance_settings", "oauth_settings", "users"]
    );
    assert_eq!(
        new.sql("SELECT nextval('oauth_settings_id_seq')").trim(),
        "7"
    );
    assert_eq!(new.sql("SELECT nextval('users_id_seq')").trim(), "3");
    // The seeded rows the archive replaced are in the rejects archive.
    assert_eq!(
        rejected_rows(
            &rejects,
            "SELECT id, provider, IFNULL(client_id, '') FROM oauth_settings ORDER BY id"
        ),
        ["1|azure|", "3|github|"]
    );
}

#[test]
fn mysql_seeded_target_collides_in_collation_then_keep_existing() {
    let old = MyDb::new("haul_cool_old");
    old.script(&fixture("mysql-old.sql"));
    let new = MyDb::new("haul_cool_new");
    new.script(&fixture("mysql-new.sql"));
    let dir = tempdir();
    let archive = dir.path().join("coolify.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &old.url(), "-o", a, "-q"]).ok();

    // 'azure' and the seeded 'Azure' are one key in utf8mb4_unicode_ci.
    let r = haul(&["restore", a, &new.url()]).expect(7);
    assert!(
        r.stderr.contains("unique oauth_settings_provider_unique (provider): provider=\"Azure\": 1 pre-existing row, 1 archived row"),
        "{}",
        r.stderr
    );
    let rejects = dir.path().join("rejects.haul");
    let done = haul(&[
        "restore",
        a,
        &new.url(),
        "--resume",
        "--on-duplicate",
        "keep-existing",
        "--rejects",
        rejects.to_str().unwrap(),
    ])
    .ok();
    assert!(
        done.stderr
            .contains("3 archive rows rejected (the target's were kept)"),
        "{}",
        done.stderr
    );
    // The target's seeded rows stayed; the archive's users came in.
    assert_eq!(
        new.sql("SELECT id, provider, enabled, IFNULL(client_id, '-') FROM oauth_settings ORDER BY id"),
        "1\tAzure\t0\t-\n2\tbitbucket\t0\t-\n3\tgithub\t0\t-\n4\tgitlab\t0\t-\n5\tgoogle\t0\t-\n6\tauthentik\t0\t-\n"
    );
    assert_eq!(
        new.sql("SELECT id, email FROM users ORDER BY id"),
        "1\troot@example.com\n2\tops@example.com\n"
    );
    assert_eq!(
        new.sql("SHOW TABLES"),
        "instance_settings\noauth_settings\nusers\n"
    );
    assert!(
        new.sql("SHOW CREATE TABLE users")
            .contains("UNIQUE KEY `users_email_unique` (`email`)"),
        "unique key reapplied"
    );
    // Every archive row the target did not take is in the rejects archive;
    // those the target holds as they are (bitbucket, gitlab, google) are
    // no conflict.
    assert_eq!(
        rejected_rows(
            &rejects,
            "SELECT id, provider, IFNULL(client_id, '') FROM oauth_settings ORDER BY id"
        ),
        ["1|azure|old-azure-client", "3|github|old-gh-client"]
    );
}

#[test]
fn sqlite_seeded_target_keep_archived_in_one_go() {
    let old = SqliteDb::new("old");
    old.conn()
        .execute_batch(std::str::from_utf8(&fixture("sqlite-old.sql")).unwrap())
        .unwrap();
    let new = SqliteDb::new("new");
    new.conn()
        .execute_batch(std::str::from_utf8(&fixture("sqlite-new.sql")).unwrap())
        .unwrap();
    let dir = tempdir();
    let archive = dir.path().join("coolify.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &old.url(), "-o", a, "-q"]).ok();
    let rejects = dir.path().join("rejects.haul");
    haul(&[
        "restore",
        a,
        &new.url(),
        "--on-duplicate",
        "keep-archived",
        "--rejects",
        rejects.to_str().unwrap(),
        "-q",
    ])
    .ok();
    assert_eq!(
        sqlite_rows(
            &new.conn(),
            "SELECT id, provider, CASE enabled WHEN 1 THEN 't' ELSE 'f' END, IFNULL(client_id, ''), IFNULL(tenant, '') FROM oauth_settings ORDER BY id"
        )
        .join("\n")
            + "\n",
        OLD_ROWS
    );
    assert_eq!(
        sqlite_rows(
            &new.conn(),
            "SELECT name FROM sqlite_master WHERE name LIKE 'haul%'"
        ),
        Vec::<String>::new()
    );
    // Three of the seeded rows are the archive's, value for value: they
    // stay as they are, and only the two that differ are replaced.
    assert_eq!(
        rejected_rows(&rejects, "SELECT count(*) FROM oauth_settings"),
        ["2"]
    );
}
