//! PostgreSQL objects beyond tables (fixtures/postgres/objects.sql): every
//! kind docs/objects.md lists as carried comes back the same, as
//! `pg_dump --schema-only` with owners and privileges sees it; owners and
//! grants can be left out; a role the target lacks is named, and
//! `--create-roles` makes it.

use crate::common::*;
use crate::oracle::{assert_same, pg_schema_with, pg_snapshot, pg_snapshot_with};

/// Roles made for one test (roles are cluster-wide: each test has its own
/// prefix), dropped at its end, after its databases.
struct Roles {
    prefix: String,
    names: Vec<String>,
}

impl Roles {
    /// The fixture's roles (`haulr_*`) under a prefix of this test's.
    fn new() -> Roles {
        let prefix = format!("{}_", unique("haulr"));
        let names: Vec<String> = ["owner", "tenant_a", "tenant_b"]
            .iter()
            .map(|r| format!("{prefix}{r}"))
            .collect();
        let r = Roles { prefix, names };
        psql(
            "postgres",
            &format!(
                "CREATE ROLE \"{}\" NOLOGIN; CREATE ROLE \"{}\" NOLOGIN; CREATE ROLE \"{}\" NOLOGIN CONNECTION LIMIT 5;
                 GRANT \"{}\" TO \"{}\"",
                r.names[0], r.names[1], r.names[2], r.names[1], r.names[2]
            ),
        );
        r
    }

    /// The fixture with this test's role names.
    fn fixture(&self) -> Vec<u8> {
        std::fs::read_to_string(fixtures().join("postgres/objects.sql"))
            .expect("read fixtures/postgres/objects.sql")
            .replace("haulr_", &self.prefix)
            .into_bytes()
    }

    fn drop_role(&self, name: &str) {
        let _ = std::process::Command::new("psql")
            .args([
                "-h", PG_HOST, "-U", "postgres", "-X", "-q", "-d", "postgres", "-c",
            ])
            .arg(format!("DROP ROLE IF EXISTS \"{name}\""))
            .output();
    }
}

impl Drop for Roles {
    fn drop(&mut self) {
        for n in self.names.iter().rev() {
            self.drop_role(n);
        }
    }
}

/// The fixture loaded into a new database, and its archive.
fn dumped(roles: &Roles, dir: &tempfile::TempDir) -> (PgDb, String) {
    let src = PgDb::new("haul_pgobj");
    src.script(&roles.fixture());
    let archive = dir.path().join("objects.haul").display().to_string();
    let r = haul(&["dump", &src.url(), "-o", &archive, "--jobs", "2"]);
    assert_eq!(r.code, 0, "dump: {}", r.stderr);
    (src, archive)
}

#[test]
fn every_object_kind_round_trips_with_owners_and_privileges() {
    let roles = Roles::new();
    let dir = tempdir();
    let (src, archive) = dumped(&roles, &dir);
    let target = PgDb::new("haul_pgobj_t");
    let r = haul(&["restore", &archive, &target.url()]);
    assert_eq!(r.code, 0, "restore: {}", r.stderr);
    assert_same(
        &pg_snapshot_with(&target, true),
        &pg_snapshot_with(&src, true),
        "objects restored",
    );
    // Rows of tables without data columns, and a parent's own rows.
    assert_eq!(target.sql("SELECT count(*) FROM heartbeat").trim(), "2");
    assert_eq!(
        target
            .sql("SELECT string_agg(answer::text, ',') FROM constants")
            .trim(),
        "42,42,42"
    );
    assert_eq!(target.sql("SELECT count(*) FROM ONLY events").trim(), "2");
    assert_eq!(target.sql("SELECT count(*) FROM events").trim(), "5");
    // The manifest counts them too.
    let m = manifest(std::path::Path::new(&archive));
    let rows = |t: &str| {
        m["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["name"] == t)
            .map(|e| e["rows"].as_u64().unwrap())
    };
    assert_eq!(rows("heartbeat"), Some(2));
    assert_eq!(rows("constants"), Some(3));
    assert_eq!(rows("events"), Some(2));
    // Row-level security holds: a tenant sees its own rows only.
    let tenant_a = &roles.names[1];
    let seen = target.sql(&format!(
        "SET ROLE \"{tenant_a}\"; SELECT string_agg(title, ',' ORDER BY title) FROM documents"
    ));
    assert_eq!(seen.trim(), "plan");
    // The materialized view refreshes concurrently (its unique index came back).
    target.sql("REFRESH MATERIALIZED VIEW CONCURRENTLY document_counts");
    // The view over the user-defined aggregate answers.
    assert_eq!(
        target
            .sql("SELECT total FROM tenant_balances WHERE name = 'Globex'")
            .trim(),
        "99.99"
    );
}

#[test]
fn no_owner_and_no_privileges_leave_them_out() {
    let roles = Roles::new();
    let dir = tempdir();
    let (src, archive) = dumped(&roles, &dir);
    let target = PgDb::new("haul_pgobj_n");
    let r = haul(&[
        "restore",
        &archive,
        &target.url(),
        "--no-owner",
        "--no-privileges",
    ]);
    assert_eq!(r.code, 0, "restore: {}", r.stderr);
    assert_same(
        &pg_snapshot(&target),
        &pg_snapshot(&src),
        "objects restored",
    );
    let owned = pg_schema_with(&target, true);
    assert!(
        !owned.iter().any(
            |l| l.contains(&roles.prefix) && (l.starts_with("GRANT") || l.contains("OWNER TO"))
        ),
        "owners or grants of the archive's roles were restored:\n{}",
        owned.join("\n")
    );
    assert_eq!(
        target
            .sql("SELECT relowner::regrole FROM pg_class WHERE relname = 'documents'")
            .trim(),
        "postgres"
    );
}

#[test]
fn a_missing_role_is_named_and_create_roles_makes_it() {
    let roles = Roles::new();
    let dir = tempdir();
    let (src, archive) = dumped(&roles, &dir);
    let expected = pg_snapshot_with(&src, true);
    drop(src);
    // Tenant b's role no longer exists anywhere.
    let gone = roles.names[2].clone();
    roles.drop_role(&gone);
    let target = PgDb::new("haul_pgobj_m");
    let r = haul(&["restore", &archive, &target.url()]);
    assert_eq!(r.code, 8, "restore: {}", r.stderr);
    assert!(
        r.stderr
            .contains(&format!("role {gone} does not exist in the target"))
            && r.stderr.contains("--create-roles"),
        "{}",
        r.stderr
    );
    // Everything else is there; what names the role is not.
    assert_eq!(target.sql("SELECT count(*) FROM documents").trim(), "3");
    assert_eq!(
        target
            .sql("SELECT count(*) FROM pg_policy WHERE polname = 'tenant_b_documents'")
            .trim(),
        "0"
    );
    let plan = haul(&["plan", &archive, &PgDb::new("haul_pgobj_p").url()]);
    assert!(plan.stdout.contains(&gone), "{}", plan.stdout);
    // --create-roles makes it (with its attributes and membership), and
    // then everything is as it was.
    let again = PgDb::new("haul_pgobj_c");
    let r = haul(&["restore", &archive, &again.url(), "--create-roles"]);
    assert_eq!(r.code, 0, "restore --create-roles: {}", r.stderr);
    assert_eq!(
        psql(
            "postgres",
            &format!(
                "SELECT rolcanlogin, rolconnlimit, pg_has_role('{gone}', '{}', 'MEMBER') FROM pg_roles WHERE rolname = '{gone}'",
                roles.names[1]
            )
        )
        .trim(),
        "f|5|t"
    );
    assert_same(
        &pg_snapshot_with(&again, true),
        &expected,
        "restored with --create-roles",
    );
}
