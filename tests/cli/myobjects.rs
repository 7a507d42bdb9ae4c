//! MySQL/MariaDB objects besides tables (fixtures/mysql/objects.sql):
//! procedures, functions, views, triggers and events come back as
//! `mysqldump --routines --events --triggers` sees them, each under the
//! sql_mode and character sets it was created under; definers are named or
//! kept; UUID, INET4 and INET6 load; other engines name what they leave out.

use crate::common::*;
use crate::oracle::{assert_same, assert_same_objects, my_objects, my_snapshot};
use std::path::Path;

/// The objects fixture loaded into a fresh database.
fn objects_db() -> MyDb {
    let db = MyDb::new("haul_myobj");
    let sql = std::fs::read(fixtures().join("mysql/objects.sql"))
        .expect("read fixtures/mysql/objects.sql");
    db.script(&sql);
    db
}

fn dump(url: &str, archive: &Path) {
    haul(&["dump", "-q", url, "-o", archive.to_str().expect("utf-8")]).ok();
}

/// The kinds and names the fixture holds besides tables.
const OBJECTS: &[&str] = &[
    "procedure add_order",
    "procedure ansi_names",
    "procedure customer_count",
    "function greeting",
    "function order_count",
    "function with_tax",
    "view big_customers",
    "view customer_summary",
    "view paid_orders",
    "trigger customer_audit",
    "trigger customer_lower",
    "trigger customer_touch",
    "trigger order_audit",
    "event one_shot",
    "event purge_audit",
];

/// Whether one line of `stderr` says `why` and names `object` (alone, or
/// in a list of them).
fn named(stderr: &str, object: &str, why: &str) -> bool {
    stderr.lines().any(|l| {
        l.contains(why)
            && l.split([':', ',']).any(|part| {
                let part = part.trim();
                part == object || part.starts_with(&format!("{object} on "))
            })
    })
}

#[test]
fn mysql_objects_round_trip() {
    let src = objects_db();
    let dir = tempdir();
    let archive = dir.path().join("objects.haul");
    dump(&src.url(), &archive);
    let i = haul(&["inspect", archive.to_str().expect("utf-8")]).ok();
    assert!(
        i.stdout
            .contains("objects   3 procedure, 3 function, 3 view, 4 trigger, 2 event"),
        "{}",
        i.stdout
    );
    let target = MyDb::new("haul_myobj_restored");
    haul(&["restore", archive.to_str().expect("utf-8"), &target.url()]).ok();
    assert_same_objects(&my_objects(&target), &my_objects(&src), "restore");
    assert_same(&my_snapshot(&target), &my_snapshot(&src), "restore");

    // The triggers did not fire on the load, and run under their own
    // sql_mode now: the strict one refuses a too-long audit message (the
    // session's mode is not strict), the other one cuts it.
    assert_eq!(
        target.sql("SELECT msg FROM audit ORDER BY id"),
        src.sql("SELECT msg FROM audit ORDER BY id")
    );
    let refused = mysql_cmd(&target.name)
        .arg("-e")
        .arg("SET sql_mode = ''; INSERT INTO customer (email, name) VALUES ('dan@example.org', 'Daniel With A Long Name')")
        .output()
        .expect("run mariadb");
    assert!(!refused.status.success(), "the strict trigger let it in");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("Data too long for column 'msg'"),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    target.sql(
        "SET sql_mode = 'STRICT_ALL_TABLES'; INSERT INTO customer (email, name) VALUES ('EVE@Example.org', 'Eve')",
    );
    assert_eq!(
        target.sql("SELECT email FROM customer WHERE name = 'Eve'"),
        "eve@example.org\n"
    );
    target.sql("SET sql_mode = 'STRICT_ALL_TABLES'; INSERT INTO orders (customer_id, total) VALUES (2, 1.00)");
    assert_eq!(
        target.sql("SELECT msg FROM audit ORDER BY id DESC LIMIT 2"),
        "order 4 of customer \nc:Eve\n"
    );
    // Routines and views work; events keep their status.
    assert_eq!(
        target.sql("CALL add_order(1, 2.50, @id); SELECT @id, with_tax(10), greeting('you')"),
        "5\t12.00\thello you\n"
    );
    assert_eq!(
        target.sql("SELECT id, name FROM big_customers ORDER BY id"),
        "1\tAnn\n2\tBob\n"
    );
    assert_eq!(
        target.sql(&format!(
            "SELECT EVENT_NAME, STATUS FROM information_schema.EVENTS WHERE EVENT_SCHEMA = '{}' ORDER BY 1",
            target.name
        )),
        "one_shot\tDISABLED\npurge_audit\tENABLED\n"
    );

    // A copy creates the same, and --no-code names every object it leaves out.
    let copied = MyDb::new("haul_myobj_copied");
    haul(&["copy", &src.url(), &copied.url(), "-q"]).ok();
    assert_same_objects(&my_objects(&copied), &my_objects(&src), "copy");
    let bare = MyDb::new("haul_myobj_bare");
    let r = haul(&[
        "restore",
        archive.to_str().expect("utf-8"),
        &bare.url(),
        "--no-code",
    ])
    .expect(8);
    for o in OBJECTS {
        assert!(
            named(&r.stderr, o, "left out (--no-code)"),
            "{o}: {}",
            r.stderr
        );
    }
    assert_eq!(
        bare.sql(&format!(
            "SELECT COUNT(*) FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{}'",
            bare.name
        )),
        "0\n"
    );
}

/// A throwaway account, dropped at the end of the test however it ends.
struct Account(String);

impl Account {
    fn new() -> Account {
        let name = unique("hd");
        mysql(
            "",
            &format!("CREATE USER '{name}'@'%' IDENTIFIED BY 'Definer-pw-1'"),
        );
        Account(name)
    }
    fn definer(&self) -> String {
        format!("`{}`@`%`", self.0)
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        let _ = mysql_cmd("")
            .arg("-e")
            .arg(format!("DROP USER IF EXISTS '{}'@'%'", self.0))
            .output();
    }
}

#[test]
fn mysql_definers_are_named_or_kept() {
    let account = Account::new();
    let d = account.definer();
    // The account may read and write every database of this test (MariaDB
    // writes a view whose definer may not read its tables differently).
    mysql(
        "",
        &format!("GRANT ALL ON `haul\\_definer%`.* TO '{}'@'%'", account.0),
    );
    let src = MyDb::new("haul_definer");
    src.sql(&format!(
        "CREATE TABLE t (id INT PRIMARY KEY, n INT);
         INSERT INTO t VALUES (1, 1);
         CREATE DEFINER={d} SQL SECURITY DEFINER VIEW v AS SELECT id FROM t;
         CREATE DEFINER={d} PROCEDURE p() SELECT COUNT(*) FROM t;
         CREATE DEFINER={d} TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.n = NEW.id * 2;
         CREATE DEFINER={d} EVENT e ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01' DISABLE DO DELETE FROM t WHERE id < 0;
         CREATE FUNCTION mine() RETURNS INT DETERMINISTIC RETURN 1;"
    ));
    let dir = tempdir();
    let archive = dir.path().join("definers.haul");
    dump(&src.url(), &archive);
    let a = archive.to_str().expect("utf-8");

    // By default the restoring user becomes every definer; each object whose
    // definer changed is named (the function's did not: no warning).
    let target = MyDb::new("haul_definer_restored");
    let r = haul(&["restore", a, &target.url()]).expect(8);
    for o in ["view v", "procedure p", "trigger tr", "event e"] {
        let said = format!(
            "{o}: its definer is now the restoring user root@127.0.0.1, not {}@%",
            account.0
        );
        assert!(r.stderr.contains(&said), "{said:?} not in:\n{}", r.stderr);
    }
    assert!(!r.stderr.contains("function mine"), "{}", r.stderr);
    let objects = my_objects(&target).join("\n");
    assert!(!objects.contains(&d), "{objects}");
    assert!(objects.contains("DEFINER=`root`@`127.0.0.1`"), "{objects}");

    // --keep-definers keeps them, on restore and on copy: as the source.
    let kept = MyDb::new("haul_definer_kept");
    haul(&["restore", a, &kept.url(), "--keep-definers", "-q"]).ok();
    assert_same_objects(&my_objects(&kept), &my_objects(&src), "--keep-definers");
    assert!(my_objects(&kept).join("\n").contains(&d));
    let copied = MyDb::new("haul_definer_copied");
    haul(&["copy", &src.url(), &copied.url(), "--keep-definers", "-q"]).ok();
    assert_same_objects(
        &my_objects(&copied),
        &my_objects(&src),
        "copy --keep-definers",
    );
    // A restore killed before its objects is resumed with the same flag.
    let resumed = MyDb::new("haul_definer_resumed");
    let killed = haul_env(
        &["restore", a, &resumed.url(), "--keep-definers", "-q"],
        &[("HAUL_FAILPOINT", "reapplied")],
    );
    assert_ne!(killed.code, 0, "{}", killed.all());
    let r = haul(&["restore", a, &resumed.url(), "--resume"]).expect(2);
    assert!(
        r.stderr
            .contains("was started with --keep-definers; resume it the same way"),
        "{}",
        r.stderr
    );
    haul(&[
        "restore",
        a,
        &resumed.url(),
        "--resume",
        "--keep-definers",
        "-q",
    ])
    .ok();
    assert_same_objects(&my_objects(&resumed), &my_objects(&src), "resumed");
    // The trigger runs as its definer, as it did.
    kept.sql("INSERT INTO t (id) VALUES (5)");
    assert_eq!(kept.sql("SELECT n FROM t WHERE id = 5"), "10\n");
}

#[test]
fn mysql_objects_into_other_engines_are_named() {
    let src = objects_db();
    let dir = tempdir();
    let archive = dir.path().join("objects.haul");
    dump(&src.url(), &archive);
    let a = archive.to_str().expect("utf-8");
    let pg = PgDb::new("haul_myobj_pg");
    let plan = haul(&["plan", a, &pg.url()]).ok();
    assert!(plan.stdout.contains("uid uuid -> uuid"), "{}", plan.stdout);
    assert!(plan.stdout.contains("v4 inet4 -> inet"), "{}", plan.stdout);
    assert!(plan.stdout.contains("v6 inet6 -> inet"), "{}", plan.stdout);
    let r = haul(&["restore", a, &pg.url()]).expect(8);
    for o in OBJECTS {
        let said = "not created (mysql's SQL, and the target is postgres)";
        assert!(
            named(&r.stderr, o, said),
            "{o}: {said:?} not in:\n{}",
            r.stderr
        );
    }
    for said in [
        "table log: its partitioning (RANGE (year(`at`))) is not carried into postgres",
        "table customer: check email_has_at is not carried into postgres",
        "table customer: generated column label is created as a plain column",
    ] {
        assert!(r.stderr.contains(said), "{said:?} not in:\n{}", r.stderr);
    }
    // Comments are carried.
    assert_eq!(
        pg.sql("SELECT obj_description('customer'::regclass), col_description('customer'::regclass, 3)"),
        "people who buy|display name\n"
    );
    assert_eq!(
        pg.sql("SELECT id, uid, v4, v6 FROM device ORDER BY id"),
        "1|550e8400-e29b-41d4-a716-446655440000|192.168.0.1|2001:db8::1\n\
         2|d8f39489-edf5-11f1-87c5-02fc00000001|10.0.0.255|::ffff:1.2.3.4\n\
         3|||\n"
    );
    assert_eq!(
        pg.sql(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod), ', ' ORDER BY attnum)
               FROM pg_attribute WHERE attrelid = 'device'::regclass AND attnum > 0"
        ),
        "id integer, uid uuid, v4 inet, v6 inet\n"
    );
    // Nothing but the tables (and PostGIS, for the geometry column): no
    // function, view or trigger came along.
    assert_eq!(
        pg.sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'place'::regclass AND attname = 'pos'"),
        "geometry(Point)\n"
    );
    assert_eq!(
        pg.sql(
            "SELECT (SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'
                        AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e'))
                  + (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'v'
                        AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = c.oid AND d.deptype = 'e'))
                  + (SELECT count(*) FROM pg_trigger WHERE NOT tgisinternal)"
        ),
        "0\n"
    );

    // SQLite: the same objects named, and comments (it has none).
    let lite = SqliteDb::new("myobj");
    let r = haul(&["restore", a, &lite.url()]).expect(8);
    for o in OBJECTS {
        let said = "not created (mysql's SQL, and the target is sqlite)";
        assert!(
            named(&r.stderr, o, said),
            "{o}: {said:?} not in:\n{}",
            r.stderr
        );
    }
    assert!(
        r.stderr
            .contains("table customer: its comments are not carried into sqlite, which has none"),
        "{}",
        r.stderr
    );
    assert_eq!(
        sqlite_rows(
            &lite.conn(),
            "SELECT id, uid, v4, v6 FROM device ORDER BY id"
        ),
        [
            "1|550e8400-e29b-41d4-a716-446655440000|192.168.0.1|2001:db8::1",
            "2|d8f39489-edf5-11f1-87c5-02fc00000001|10.0.0.255|::ffff:1.2.3.4",
            "3|NULL|NULL|NULL"
        ]
    );
    assert_eq!(
        sqlite_rows(
            &lite.conn(),
            "SELECT count(*) FROM sqlite_master WHERE type IN ('view', 'trigger')"
        ),
        ["0"]
    );
}

#[test]
fn uuid_and_inet_round_trip_and_postgres_uuid_into_mariadb() {
    // MariaDB -> MariaDB: every value, NULLs and an auto-increment 0
    // beside the converted columns.
    let src = MyDb::new("haul_uuid");
    src.sql(
        "SET sql_mode = 'NO_AUTO_VALUE_ON_ZERO';
         CREATE TABLE d (id INT AUTO_INCREMENT PRIMARY KEY, u UUID, a INET4, b INET6 NOT NULL);
         INSERT INTO d VALUES (0, '00000000-0000-0000-0000-000000000000', '0.0.0.0', '::'),
           (1, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'),
           (2, NULL, NULL, '::1'), (3, UUID(), '127.0.0.1', '::ffff:127.0.0.1')",
    );
    let dir = tempdir();
    let archive = dir.path().join("d.haul");
    dump(&src.url(), &archive);
    let target = MyDb::new("haul_uuid_restored");
    haul(&[
        "restore",
        archive.to_str().expect("utf-8"),
        &target.url(),
        "-q",
    ])
    .ok();
    assert_same(&my_snapshot(&target), &my_snapshot(&src), "uuid and inet");

    // PostgreSQL uuid -> MariaDB 10.7+: a UUID column.
    let pg = PgDb::new("haul_uuid_pg");
    pg.sql(
        "CREATE TABLE k (id int PRIMARY KEY, u uuid UNIQUE, ip inet);
         INSERT INTO k VALUES (1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '10.1.2.3'),
           (2, NULL, '2001:db8::/32'), (3, '00000000-0000-0000-0000-000000000000', NULL)",
    );
    let my = MyDb::new("haul_uuid_from_pg");
    haul(&["copy", &pg.url(), &my.url(), "-q"]).ok();
    assert_eq!(
        my.sql(&format!(
            "SELECT COLUMN_NAME, COLUMN_TYPE FROM information_schema.COLUMNS
              WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'k' ORDER BY ORDINAL_POSITION",
            my.name
        )),
        "id\tint(11)\nu\tuuid\nip\tvarchar(49)\n"
    );
    assert_eq!(
        my.sql("SELECT id, u, ip FROM k ORDER BY id"),
        "1\ta0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\t10.1.2.3\n\
         2\tNULL\t2001:db8::/32\n\
         3\t00000000-0000-0000-0000-000000000000\tNULL\n"
    );
}

#[test]
fn crafted_mysql_routines_run_no_second_statement() {
    let src = MyDb::new("haul_crafted_my");
    src.sql(
        "CREATE TABLE t (id INT PRIMARY KEY);
         CREATE PROCEDURE p() SELECT 1;",
    );
    let dir = tempdir();
    let archive = dir.path().join("p.haul");
    dump(&src.url(), &archive);
    let extra = |edit: &dyn Fn(&mut serde_json::Value)| {
        let out = dir.path().join(format!("{}.haul", unique("crafted")));
        crate::hostile::rewrite_schema(&archive, &out, edit);
        out
    };
    // A second statement after a body: the session refuses the text.
    let out = extra(&|s| {
        s["extras"][0]["ddl"] =
            "CREATE PROCEDURE p()\nBEGIN\n  SELECT 1;\nEND; DROP TABLE bystander".into()
    });
    let target = MyDb::new("haul_crafted_my_t");
    target.sql("CREATE TABLE bystander (id INT)");
    let r = haul(&["restore", out.to_str().expect("utf-8"), &target.url(), "-q"]);
    assert_ne!(r.code, 0, "{}", r.all());
    assert!(
        r.stderr.contains("procedure p: creating it"),
        "{}",
        r.stderr
    );
    assert_eq!(
        target.sql(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'bystander'",
            target.name
        )),
        "1\n"
    );
    // A setting haul does not set: refused before anything is written.
    let out = extra(&|s| {
        s["extras"][0]["settings"] = serde_json::json!([["init_connect", "DROP TABLE bystander"]])
    });
    let target = MyDb::new("haul_crafted_my_s");
    let r = haul(&["restore", out.to_str().expect("utf-8"), &target.url(), "-q"]).expect(4);
    assert!(
        r.stderr
            .contains("procedure p: haul does not set \"init_connect\""),
        "{}",
        r.stderr
    );
}

#[test]
fn objects_keep_their_database_collation_and_settings_the_target_lacks_are_named() {
    // Objects of a latin1 database restored into a utf8mb4 one: each is
    // created under latin1's collation, and the target's own comes back.
    let src = MyDb::new("haul_dbcoll");
    mysql(
        "",
        &format!(
            "ALTER DATABASE `{}` CHARACTER SET latin1 COLLATE latin1_swedish_ci",
            src.name
        ),
    );
    src.sql(
        "CREATE TABLE t (id INT PRIMARY KEY, s VARCHAR(10));
         CREATE FUNCTION f(x VARCHAR(10)) RETURNS VARCHAR(20) DETERMINISTIC RETURN CONCAT(x, '!');
         CREATE TRIGGER tr BEFORE INSERT ON t FOR EACH ROW SET NEW.s = f(NEW.s);",
    );
    let dir = tempdir();
    let archive = dir.path().join("coll.haul");
    dump(&src.url(), &archive);
    let target = MyDb::new("haul_dbcoll_restored");
    mysql(
        "",
        &format!(
            "ALTER DATABASE `{}` CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci",
            target.name
        ),
    );
    haul(&[
        "restore",
        archive.to_str().expect("utf-8"),
        &target.url(),
        "-q",
    ])
    .ok();
    let collations = |db: &MyDb| {
        db.sql(&format!(
            "SELECT DATABASE_COLLATION FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = '{0}'
              UNION ALL
             SELECT DATABASE_COLLATION FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = '{0}'
              UNION ALL
             SELECT DEFAULT_COLLATION_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{0}'",
            db.name
        ))
    };
    assert_eq!(
        collations(&target),
        "latin1_swedish_ci\nlatin1_swedish_ci\nutf8mb4_general_ci\n"
    );
    target.sql("INSERT INTO t VALUES (1, 'a')");
    assert_eq!(target.sql("SELECT s FROM t"), "a!\n");

    // A collation this server does not have (MySQL 8's): the object is
    // created under the session's, and that is said.
    let crafted = dir.path().join("crafted.haul");
    crate::hostile::rewrite_schema(&archive, &crafted, |s| {
        s["extras"][0]["settings"] = serde_json::json!([
            ["sql_mode", "STRICT_TRANS_TABLES"],
            ["character_set_client", "utf8mb4"],
            ["collation_connection", "utf8mb4_0900_ai_ci"]
        ])
    });
    let other = MyDb::new("haul_dbcoll_other");
    let r = haul(&["restore", crafted.to_str().expect("utf-8"), &other.url()]).expect(8);
    assert!(
        r.stderr.contains("function f: collation_connection stays")
            && r.stderr.contains("not utf8mb4_0900_ai_ci"),
        "{}",
        r.stderr
    );
    assert_eq!(other.sql("SELECT f('b')"), "b!\n");
}

/// The names of the objects of `kind` (`ROUTINES`, `VIEWS`, `TRIGGERS`,
/// `EVENTS`) in `db`, from information_schema: the oracle.
fn object_names(db: &MyDb, kind: &str) -> Vec<String> {
    let (name, schema) = match kind {
        "ROUTINES" => ("ROUTINE_NAME", "ROUTINE_SCHEMA"),
        "VIEWS" => ("TABLE_NAME", "TABLE_SCHEMA"),
        "TRIGGERS" => ("TRIGGER_NAME", "TRIGGER_SCHEMA"),
        _ => ("EVENT_NAME", "EVENT_SCHEMA"),
    };
    db.sql(&format!(
        "SELECT {name} FROM information_schema.{kind} WHERE {schema} = '{}' ORDER BY 1",
        db.name
    ))
    .lines()
    .map(str::to_string)
    .collect()
}

#[test]
fn verify_against_compares_mysql_objects() {
    let src = objects_db();
    let dir = tempdir();
    let archive = dir.path().join("objects.haul");
    dump(&src.url(), &archive);
    let a = archive.to_str().expect("utf-8");
    let target = MyDb::new("haul_myobj_verify");
    haul(&["restore", a, &target.url(), "-q"]).ok();
    let r = haul(&["verify", a, "--against", &target.url()]).ok();
    assert!(
        r.stderr
            .contains("every table and its 15 objects identical"),
        "{}",
        r.stderr
    );
    // Dropped, defined otherwise, and added on the target: each named.
    target.sql("DROP PROCEDURE customer_count");
    target.sql(
        "DROP TRIGGER customer_touch; CREATE TRIGGER customer_touch BEFORE UPDATE ON customer \
         FOR EACH ROW SET NEW.name = LOWER(NEW.name)",
    );
    target.sql(
        "CREATE EVENT extra_job ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 00:00:00' DISABLE \
         DO DELETE FROM audit",
    );
    let r = haul(&["verify", a, "--against", &target.url()]).expect(6);
    for line in [
        "DIFFERS   procedure customer_count: only in the archive",
        "DIFFERS   trigger customer_touch on customer: defined otherwise",
        "DIFFERS   event extra_job: only in the live database",
    ] {
        assert!(r.stdout.contains(line), "{line}:\n{}", r.stdout);
    }
    assert!(!r.stdout.contains("DIFFERS   view"), "{}", r.stdout);
    let j = haul(&["verify", a, "--against", &target.url(), "--json"]).expect(6);
    let v: serde_json::Value = serde_json::from_str(&j.stdout).expect("verify --json");
    assert_eq!(v["ok"], false);
    assert_eq!(
        v["objects"].as_array().map(Vec::len),
        Some(3),
        "{}",
        j.stdout
    );
}

#[test]
fn a_mysql_table_subset_keeps_the_objects_it_can_and_names_the_rest() {
    let src = objects_db();
    let dir = tempdir();
    // A dump of chosen tables keeps the database's routines, events and
    // views, and the triggers of those tables, as a PostgreSQL one does.
    let archive = dir.path().join("subset.haul");
    let a = archive.to_str().expect("utf-8");
    haul(&[
        "dump",
        "-q",
        &src.url(),
        "--tables",
        "customer,audit",
        "-o",
        a,
    ])
    .ok();
    let i = haul(&["inspect", a]).ok();
    assert!(
        i.stdout
            .contains("objects   3 procedure, 3 function, 3 view, 3 trigger, 2 event"),
        "{}",
        i.stdout
    );
    let target = MyDb::new("haul_myobj_subset");
    let r = haul(&["restore", a, &target.url()]).expect(8);
    assert!(
        r.stderr.contains(
            "view paid_orders not created: it reads table orders, which is not in the archive"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        object_names(&target, "ROUTINES"),
        object_names(&src, "ROUTINES")
    );
    assert_eq!(object_names(&target, "EVENTS"), ["one_shot", "purge_audit"]);
    assert_eq!(
        object_names(&target, "TRIGGERS"),
        ["customer_audit", "customer_lower", "customer_touch"]
    );
    // A view reading only the chosen tables (through another view) is there.
    assert_eq!(
        object_names(&target, "VIEWS"),
        ["big_customers", "customer_summary"]
    );
    // verify does not call the restore identical: the view is missing.
    let v = haul(&["verify", a, "--against", &target.url()]).expect(6);
    assert!(
        v.stdout
            .contains("DIFFERS   view paid_orders: only in the archive"),
        "{}",
        v.stdout
    );

    // restore --tables of a whole archive: the same, said in --json too.
    let whole = dir.path().join("whole.haul");
    dump(&src.url(), &whole);
    let part = MyDb::new("haul_myobj_part");
    let r = haul(&[
        "restore",
        whole.to_str().expect("utf-8"),
        &part.url(),
        "--tables",
        "orders,audit",
        "--json",
    ])
    .expect(8);
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("restore --json");
    let warnings: Vec<&str> = v["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    for w in [
        "view customer_summary not created: it reads table customer, which this restore leaves out",
        "view big_customers not created: it needs view customer_summary, which is not created",
    ] {
        assert!(warnings.contains(&w), "{w}: {warnings:?}");
    }
    assert_eq!(object_names(&part, "VIEWS"), ["paid_orders"]);
    assert_eq!(object_names(&part, "TRIGGERS"), ["order_audit"]);
    assert_eq!(
        object_names(&part, "ROUTINES"),
        object_names(&src, "ROUTINES")
    );
    assert_eq!(object_names(&part, "EVENTS"), ["one_shot", "purge_audit"]);
}
