//! PostgreSQL schemas and partitioned tables into engines that have
//! neither (fixtures/postgres/schemas.sql): `billing.invoice` becomes
//! `billing_invoice` with its foreign keys, `event_log` (range partitions,
//! a default one, a partition partitioned again) one plain table holding
//! every row of its leaf partitions. `plan` names the mappings before any
//! write; restore and copy into MariaDB, restore into SQLite; every row
//! compared with psql, mariadb and sqlite3, not with haul.

use super::{lite_row, my_row};
use crate::common::*;
use std::path::Path;

fn source() -> PgDb {
    let src = PgDb::new("haul_xe_pgsch");
    let sql = std::fs::read(fixtures().join("postgres/schemas.sql"))
        .expect("read fixtures/postgres/schemas.sql");
    src.script(&sql);
    src
}

/// The source tables and, for each, its name on the target and the
/// columns compared (each engine's SQL for the same text, per engine:
/// PostgreSQL, MariaDB, SQLite).
const TABLES: &[(&str, &str, [&str; 3])] = &[
    (
        "customer",
        "customer",
        [
            "id || ',' || name",
            "CONCAT(id, ',', name)",
            "id || ',' || name",
        ],
    ),
    (
        "invoice",
        "invoice",
        [
            "id || ',' || customer_id || ',' || (total * 100)::bigint",
            "CONCAT(id, ',', customer_id, ',', CAST(total * 100 AS SIGNED))",
            "id || ',' || customer_id || ',' || CAST(round(total * 100) AS INTEGER)",
        ],
    ),
    (
        "billing.invoice",
        "billing_invoice",
        [
            "id || ',' || customer_id || ',' || (amount * 100)::bigint || ',' || coalesce(note, '~')",
            "CONCAT(id, ',', customer_id, ',', CAST(amount * 100 AS SIGNED), ',', COALESCE(note, '~'))",
            "id || ',' || customer_id || ',' || CAST(round(amount * 100) AS INTEGER) || ',' || coalesce(note, '~')",
        ],
    ),
    (
        "billing.payment",
        "billing_payment",
        [
            "id || ',' || invoice_id || ',' || to_char(paid_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')",
            "CONCAT(id, ',', invoice_id, ',', DATE_FORMAT(paid_at, '%Y-%m-%d %H:%i:%s'))",
            "id || ',' || invoice_id || ',' || substr(paid_at, 1, 19)",
        ],
    ),
    (
        "event_log",
        "event_log",
        [
            "id || ',' || at || ',' || level || ',' || kind || ',' || coalesce(message, '~') || ',' || coalesce(customer_id::text, '~')",
            "CONCAT(id, ',', at, ',', level, ',', kind, ',', COALESCE(message, '~'), ',', COALESCE(customer_id, '~'))",
            "id || ',' || at || ',' || level || ',' || kind || ',' || coalesce(message, '~') || ',' || coalesce(customer_id, '~')",
        ],
    ),
];

fn sorted(text: &str) -> Vec<String> {
    let mut v: Vec<String> = text.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// The source's rows of each table, read by psql.
fn pg_rows(src: &PgDb, table: &str, expr: &str) -> Vec<String> {
    let rows = sorted(&src.sql(&format!("SELECT {expr} FROM {table}")));
    let count = src.sql(&format!("SELECT count(*) FROM {table}"));
    assert_eq!(rows.len().to_string(), count.trim(), "{table}");
    assert!(!rows.is_empty(), "{table} has no rows in the fixture");
    rows
}

/// Every table of the fixture on MariaDB `db`, as in the source; the
/// partitions are not tables there; the foreign keys follow the names.
fn assert_mariadb_same(src: &PgDb, db: &MyDb, what: &str) {
    for (table, target, exprs) in TABLES {
        let rows = sorted(&db.sql(&format!("SELECT {} FROM `{target}`", exprs[1])));
        let count = my_row(db, &format!("SELECT COUNT(*) FROM `{target}`"));
        assert_eq!(rows.len().to_string(), count, "{what}: {target}");
        assert_eq!(rows, pg_rows(src, table, exprs[0]), "{what}: {target}");
    }
    assert_eq!(
        db.sql(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' ORDER BY 1",
            db.name
        )),
        "billing_invoice\nbilling_payment\ncustomer\nevent_log\ninvoice\n",
        "{what}"
    );
    assert_eq!(
        db.sql(&format!(
            "SELECT TABLE_NAME, REFERENCED_TABLE_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = '{}' ORDER BY 1, 2",
            db.name
        )),
        "billing_invoice\tcustomer\nbilling_payment\tbilling_invoice\nevent_log\tcustomer\ninvoice\tcustomer\n",
        "{what}"
    );
    // The partitioned table's keys are on the plain table.
    assert_eq!(
        db.sql(&format!(
            "SELECT INDEX_NAME, GROUP_CONCAT(COLUMN_NAME ORDER BY SEQ_IN_INDEX) FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'event_log' GROUP BY INDEX_NAME ORDER BY 1",
            db.name
        )),
        "event_log_customer_id_fkey\tcustomer_id\nevent_log_level_idx\tlevel\nPRIMARY\tid,at\n",
        "{what}"
    );
}

fn restore(archive: &Path, url: &str, extra: &[&str]) -> Run {
    let mut args = vec!["restore", archive.to_str().expect("utf-8"), url];
    args.extend_from_slice(extra);
    haul(&args)
}

#[test]
fn postgres_schemas_and_partitions_into_mariadb() {
    let src = source();
    let dir = tempdir();
    let archive = dir.path().join("schemas.haul");
    haul(&[
        "dump",
        "-q",
        &src.url(),
        "-o",
        archive.to_str().expect("utf-8"),
    ])
    .ok();
    let db = MyDb::new("haul_xe_pgsch_my");
    // The plan names every mapping, and writes nothing.
    let p = haul(&["plan", archive.to_str().expect("utf-8"), &db.url()]).ok();
    for line in [
        "create table billing.invoice as billing_invoice",
        "create table billing.payment as billing_payment",
        "load partition table event_log_2025 into event_log",
        "load partition table event_log_2026_low into event_log",
        "load partition table event_log_other into event_log",
        "warning: table billing.invoice is created as billing_invoice: mysql has no schemas",
        "warning: table event_log is partitioned (PARTITION BY RANGE (at)), which mysql cannot carry: \
         it is created as one table event_log, loaded with the rows of its partitions \
         event_log_2025, event_log_2026_high, event_log_2026_low, event_log_other",
    ] {
        assert!(p.stdout.contains(line), "{line}:\n{}", p.stdout);
    }
    assert_eq!(
        db.sql(&format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}'",
            db.name
        )),
        "0\n"
    );
    let r = restore(&archive, &db.url(), &[]).expect(8);
    assert!(
        r.stderr.contains("row counts match the manifest"),
        "{}",
        r.stderr
    );
    assert_mariadb_same(&src, &db, "restore");

    // A copy does the same, reading the partitions from the live source.
    let copied = MyDb::new("haul_xe_pgsch_cp");
    let c = haul(&["copy", &src.url(), &copied.url()]).expect(8);
    assert!(
        c.stderr
            .contains("table event_log is partitioned (PARTITION BY RANGE (at))"),
        "{}",
        c.stderr
    );
    assert_mariadb_same(&src, &copied, "copy");
}

#[test]
fn postgres_schemas_and_partitions_into_sqlite() {
    let src = source();
    let dir = tempdir();
    let archive = dir.path().join("schemas.haul");
    haul(&[
        "dump",
        "-q",
        &src.url(),
        "-o",
        archive.to_str().expect("utf-8"),
    ])
    .ok();
    let lite = SqliteDb::new("pgschemas");
    restore(&archive, &lite.url(), &[]).expect(8);
    let conn = lite.conn();
    for (table, target, exprs) in TABLES {
        let rows = sorted(
            &sqlite_rows(&conn, &format!("SELECT {} FROM \"{target}\"", exprs[2])).join("\n"),
        );
        let count = lite_row(&lite, &format!("SELECT count(*) FROM \"{target}\""));
        assert_eq!(rows.len().to_string(), count, "{target}");
        assert_eq!(rows, pg_rows(&src, table, exprs[0]), "{target}");
    }
    assert_eq!(
        lite_row(
            &lite,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY 1"
        ),
        "billing_invoice\nbilling_payment\ncustomer\nevent_log\ninvoice"
    );
    for (table, refs) in [
        ("billing_invoice", "customer"),
        ("billing_payment", "billing_invoice"),
        ("event_log", "customer"),
    ] {
        assert_eq!(
            lite_row(
                &lite,
                &format!("SELECT \"table\" FROM pragma_foreign_key_list('{table}')")
            ),
            refs,
            "{table}"
        );
    }

    // --tables takes the archive's names.
    let some = SqliteDb::new("pgschemas_some");
    restore(
        &archive,
        &some.url(),
        &["--tables", "billing.invoice,customer"],
    )
    .expect(8);
    assert_eq!(
        lite_row(
            &some,
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY 1"
        ),
        "billing_invoice\ncustomer"
    );
    assert_eq!(
        lite_row(&some, "SELECT count(*) FROM billing_invoice"),
        "100"
    );
}

#[test]
fn two_tables_with_one_name_on_another_engine_are_refused() {
    let src = source();
    src.sql("CREATE TABLE billing_invoice (x int); INSERT INTO billing_invoice VALUES (1)");
    let dir = tempdir();
    let archive = dir.path().join("clash.haul");
    haul(&[
        "dump",
        "-q",
        &src.url(),
        "-o",
        archive.to_str().expect("utf-8"),
    ])
    .ok();
    let lite = SqliteDb::new("pgschemas_clash");
    let r = restore(&archive, &lite.url(), &[]).expect(5);
    assert!(
        error_line(&r).contains(
            "tables billing.invoice (as billing_invoice) and billing_invoice (as billing_invoice) would have the same name on sqlite"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(
        lite_row(
            &lite,
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ),
        "0"
    );
    // Leaving one out restores the other.
    restore(
        &archive,
        &lite.url(),
        &["--exclude-tables", "billing_invoice"],
    )
    .expect(8);
    assert_eq!(
        lite_row(&lite, "SELECT count(*) FROM billing_invoice"),
        "100"
    );
}
