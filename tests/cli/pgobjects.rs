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

/// The large objects of `db` as psql shows them: number, size, MD5 of the
/// bytes, comment, and (when `owned`) owner and privileges (in grantee
/// order: the order of grants is not kept).
fn large_objects(db: &PgDb, owned: bool) -> String {
    let who = if owned {
        ", m.lomowner::regrole, (SELECT array_agg(a::text ORDER BY a::text) FROM unnest(m.lomacl) a)"
    } else {
        ""
    };
    db.sql(&format!(
        "SELECT m.oid, length(lo_get(m.oid)), md5(lo_get(m.oid)), obj_description(m.oid, 'pg_largeobject'){who}
           FROM pg_largeobject_metadata m ORDER BY 1"
    ))
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
    // Large objects: the same numbers (the oid column refers to them),
    // bytes, comments, owners and grants.
    let los = large_objects(&src, true);
    assert_eq!(los.lines().count(), 5, "{los}");
    assert!(
        los.contains("|1120000|") && los.contains("a greeting"),
        "{los}"
    );
    assert_eq!(large_objects(&target, true), los);
    let inspect = haul(&["inspect", &archive]);
    assert!(
        inspect.stdout.contains("5 large objects, ") && inspect.stdout.contains("(1120038 bytes)"),
        "{}",
        inspect.stdout
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
    // verify --against compares the objects too.
    let v = haul(&["verify", &archive, "--against", &target.url()]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(v.stderr.contains("objects identical"), "{}", v.stderr);
    target
        .sql("DROP POLICY tenant_b_documents ON documents; REVOKE SELECT ON documents FROM PUBLIC");
    target.sql("ALTER TABLE documents NO FORCE ROW LEVEL SECURITY");
    let v = haul(&["verify", &archive, "--against", &target.url()]);
    assert_eq!(v.code, 6, "{}{}", v.stdout, v.stderr);
    for named in [
        "policy tenant_b_documents on documents: only in the archive",
        "row security forced on documents: only in the archive",
    ] {
        assert!(v.stdout.contains(named), "{named}: {}", v.stdout);
    }
    // Rolled back over itself: --clean replaces the objects too.
    target.sql("INSERT INTO tenants (name, code) VALUES ('Later', 'LTR')");
    let r = haul(&["restore", &archive, &target.url(), "--clean"]);
    assert_eq!(r.code, 0, "restore --clean: {}", r.stderr);
    assert_same(
        &pg_snapshot_with(&target, true),
        &pg_snapshot_with(&src, true),
        "objects restored again with --clean",
    );
    assert_eq!(large_objects(&target, true), los);
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
    // Large objects too: their bytes and comments, no owner, no grant.
    assert_eq!(large_objects(&target, false), large_objects(&src, false));
    assert_eq!(
        target
            .sql("SELECT count(*) FROM pg_largeobject_metadata WHERE lomowner <> 'postgres'::regrole OR lomacl IS NOT NULL")
            .trim(),
        "0"
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

#[test]
fn a_restore_killed_between_objects_resumes_to_the_same_schema() {
    let roles = Roles::new();
    let dir = tempdir();
    let (src, archive) = dumped(&roles, &dir);
    let expected = pg_snapshot_with(&src, true);
    // Killed once the tables and what needs them are in, before the
    // objects after the data, and once those are in.
    for point in ["created", "reapplied", "finished"] {
        let target = PgDb::new("haul_pgobj_r");
        let args = ["restore", &archive, &target.url(), "-q"];
        let killed = haul_env(&args, &[("HAUL_FAILPOINT", point)]);
        assert_eq!(killed.code, -1, "{point}: {}", killed.all());
        let r = haul(&[&args[..], &["--resume"]].concat());
        assert_eq!(r.code, 0, "{point}: resume: {}", r.stderr);
        assert_same(&pg_snapshot_with(&target, true), &expected, point);
        assert_eq!(large_objects(&target, true), large_objects(&src, true));
    }
}

#[test]
fn large_objects_resume_mid_way_and_copy() {
    let roles = Roles::new();
    let src = PgDb::new("haul_pglo");
    src.script(&roles.fixture());
    let expected = large_objects(&src, true);
    let dir = tempdir();
    // Small chunks: the large objects' bytes span several.
    let archive = dir.path().join("lo.haul").display().to_string();
    let r = haul(&["dump", &src.url(), "-o", &archive, "--chunk-size", "300000"]);
    assert_eq!(r.code, 0, "dump: {}", r.stderr);
    let m = manifest(std::path::Path::new(&archive));
    let stream = &m["streams"][0];
    assert_eq!(stream["name"], "large objects", "{m}");
    assert!(stream["chunks"].as_array().unwrap().len() >= 4, "{stream}");
    // verify reads them (a damaged chunk of theirs would fail it).
    let v = haul(&["verify", &archive]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    // Killed after the second chunk of large objects is in (the big one is
    // half written), then resumed: every object whole, none twice.
    let target = PgDb::new("haul_pglo_r");
    let args = ["restore", &archive, &target.url(), "-q"];
    let killed = haul_env(&args, &[("HAUL_FAILPOINT", "large-objects:2")]);
    assert_eq!(killed.code, -1, "{}", killed.all());
    let partial = large_objects(&target, true);
    assert_ne!(partial, expected, "killed before the bytes were all in");
    let r = haul(&[&args[..], &["--resume"]].concat());
    assert_eq!(r.code, 0, "resume: {}", r.stderr);
    assert_eq!(large_objects(&target, true), expected);
    assert_same(
        &pg_snapshot_with(&target, true),
        &pg_snapshot_with(&src, true),
        "resumed",
    );
    // A copy carries them the same way.
    let copied = PgDb::new("haul_pglo_c");
    let r = haul(&["copy", &src.url(), &copied.url(), "--chunk-size", "300000"]);
    assert_eq!(r.code, 0, "copy: {}", r.stderr);
    assert_eq!(large_objects(&copied, true), expected);
    // Into another engine they are named, not carried.
    let lite = SqliteDb::new("pglo");
    let r = haul(&[
        "restore",
        &archive,
        &lite.url(),
        "--exclude-tables",
        "heartbeat",
    ]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let first = expected.split('|').next().unwrap_or_default().trim();
    assert!(
        r.stderr.contains("5 large objects not created")
            && r.stderr.contains(&format!("large object {first}")),
        "{}",
        r.stderr
    );
}

#[test]
fn a_subset_names_the_objects_it_leaves_out() {
    let roles = Roles::new();
    let dir = tempdir();
    let (_src, archive) = dumped(&roles, &dir);
    let target = PgDb::new("haul_pgobj_s");
    let r = haul(&[
        "restore",
        &archive,
        &target.url(),
        "--tables",
        "tenants,audit_log",
    ]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    for named in [
        "view tenant_balances not created: it reads table accounts, which this restore leaves out",
        "function tenant_documents(integer) not created: it needs table documents",
        "materialized view document_counts not created: it reads table documents",
    ] {
        assert!(r.stderr.contains(named), "{named}:\n{}", r.stderr);
    }
    // A child restored without its parent is a table of its own.
    let child = PgDb::new("haul_pgobj_k");
    let r = haul(&[
        "restore",
        &archive,
        &child.url(),
        "--tables",
        "click_events",
    ]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("table click_events: its parent events is not restored"),
        "{}",
        r.stderr
    );
    assert_eq!(
        child.sql("SELECT string_agg(id || ':' || kind || ':' || x, ',' ORDER BY id) FROM click_events").trim(),
        "3:click:10,4:click:11,5:click:12"
    );
    // What goes with the restored tables is there; a function that needs
    // only them too.
    assert_eq!(target.sql("SELECT tenant_count()").trim(), "3");
    assert_eq!(
        target
            .sql("SELECT count(*) FROM pg_rewrite WHERE rulename = 'tenants_rename'")
            .trim(),
        "1"
    );
}

#[test]
fn another_engine_is_told_what_it_does_not_get() {
    let roles = Roles::new();
    let dir = tempdir();
    let (_src, archive) = dumped(&roles, &dir);
    let lite = SqliteDb::new("pgobj");
    // A table without columns cannot exist there: refused, nothing written.
    let r = haul(&["restore", &archive, &lite.url()]);
    assert_eq!(r.code, 5, "{}", r.stderr);
    assert!(
        error_line(&r).contains("table heartbeat has no columns"),
        "{}",
        r.stderr
    );
    let r = haul(&[
        "restore",
        &archive,
        &lite.url(),
        "--exclude-tables",
        "heartbeat",
    ]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    for named in [
        "4 policies not created",
        "policy tenant_a_documents on documents",
        "GRANT SELECT ON TABLE \"documents\" TO",
        "REVOKE USAGE ON TYPE \"application_type\" FROM PUBLIC",
        "function is_machine(application_type)",
        "table click_events: inherits from events",
        "table accounts, column email: created as the base type of domain email",
        "table sessions: persistence unlogged not carried",
    ] {
        assert!(r.stderr.contains(named), "{named}:\n{}", r.stderr);
    }
    let conn = lite.conn();
    assert_eq!(sqlite_rows(&conn, "SELECT count(*) FROM constants"), ["3"]);
    assert_eq!(sqlite_rows(&conn, "SELECT count(*) FROM events"), ["2"]);
    assert_eq!(
        sqlite_rows(&conn, "SELECT count(*) FROM click_events"),
        ["3"]
    );
}

#[test]
fn a_dump_names_what_it_does_not_carry() {
    let src = PgDb::new("haul_pgobj_u");
    src.sql(
        "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);
         CREATE TEXT SEARCH CONFIGURATION plain_english (COPY = english);
         ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO PUBLIC;",
    );
    let dir = tempdir();
    let archive = dir.path().join("u.haul").display().to_string();
    let r = haul(&["dump", &src.url(), "-o", &archive, "--json"]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    let summary: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON summary");
    let warnings = summary["warnings"].to_string();
    for named in [
        "text search configurations are not carried: plain_english",
        "default privileges (ALTER DEFAULT PRIVILEGES) are not carried",
    ] {
        assert!(warnings.contains(named), "{named}: {warnings}");
    }
}

#[test]
fn a_restoring_user_who_may_not_give_owners_is_told_once_per_role() {
    let mut roles = Roles::new();
    let app = format!("{}app", roles.prefix);
    psql("postgres", &format!("CREATE ROLE \"{app}\" LOGIN"));
    roles.names.push(app.clone());
    let dir = tempdir();
    let (_src, archive) = dumped(&roles, &dir);
    let as_app = |db: &PgDb| {
        psql(
            "postgres",
            &format!("ALTER DATABASE \"{}\" OWNER TO \"{app}\"", db.name),
        );
        format!("postgres://{app}@{PG_HOST}:5432/{}", db.name)
    };
    let target = PgDb::new("haul_pgobj_o");
    let r = haul(&["restore", &archive, &as_app(&target)]);
    assert_eq!(r.code, 8, "{}", r.stderr);
    // One warning per role it may not give objects to: the archive's
    // owner role and postgres.
    assert_eq!(
        r.stderr
            .matches("--no-owner leaves objects to the restoring user")
            .count(),
        2,
        "{}",
        r.stderr
    );
    // Everything else came: grants, policies, comments.
    assert_eq!(
        target
            .sql("SELECT count(*) FROM pg_policy WHERE polrelid = 'documents'::regclass")
            .trim(),
        "3"
    );
    let again = PgDb::new("haul_pgobj_o2");
    let r = haul(&["restore", &archive, &as_app(&again), "--no-owner"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
