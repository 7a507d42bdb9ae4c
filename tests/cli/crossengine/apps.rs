//! What real apps' schemas need from a cross-engine move: MySQL enum labels
//! in any case, Laravel's `BIGINT UNSIGNED AUTO_INCREMENT` ids, JSON that
//! ORMs query (`jsonb`), and Django's set of applied migrations.

use super::*;

/// A film-rental-like MySQL table: mixed-case enum and set labels, an
/// unsigned 64-bit auto-increment id, a JSON column.
const FILM: &str = "
CREATE TABLE film (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  title VARCHAR(64) NOT NULL,
  rating ENUM('G','PG','PG-13','R','NC-17') DEFAULT 'G',
  special_features SET('Trailers','Commentaries','Deleted Scenes','Behind the Scenes'),
  meta JSON
);
INSERT INTO film (title, rating, special_features, meta) VALUES
  ('ACADEMY DINOSAUR', 'PG', 'Deleted Scenes,Behind the Scenes', '{\"b\": 1, \"a\": [true]}'),
  ('ACE GOLDFINGER', 'PG-13', 'Trailers', NULL),
  ('ADAPTATION HOLES', 'NC-17', '', '{}');
";

#[test]
fn mysql_film_into_postgres_and_sqlite_keeps_labels_and_ids() {
    let dir = tempdir();
    let src = MyDb::new("haul_xe_film");
    src.script(FILM.as_bytes());
    let a = dir.path().join("film.haul");
    dump(&src.url(), &a);

    let pg = PgDb::new("haul_xe_film_pg");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    for line in [
        "id bigint(20) unsigned -> bigint",
        "rating enum('G','PG','PG-13','R','NC-17') -> text CHECK (\"rating\" IN ('G', 'PG', 'PG-13', 'R', 'NC-17'))",
        "meta longtext -> jsonb",
    ] {
        assert!(plan.contains(line), "{line:?} not in:\n{plan}");
    }
    restore(&a, &pg.url(), &[]).ok();
    assert_eq!(
        pg.sql("SELECT id, title, rating, special_features, meta FROM film ORDER BY id"),
        "1|ACADEMY DINOSAUR|PG|Deleted Scenes,Behind the Scenes|{\"a\": [true], \"b\": 1}\n\
         2|ACE GOLDFINGER|PG-13|Trailers|\n\
         3|ADAPTATION HOLES|NC-17||{}\n"
    );
    assert_eq!(
        pg.sql(
            "SELECT format_type(atttypid, atttypmod), attidentity FROM pg_attribute
              WHERE attrelid = 'film'::regclass AND attname IN ('id', 'meta') ORDER BY attnum"
        ),
        "bigint|d\njsonb|\n"
    );
    // The app goes on: a new film gets the next id, and its labels check
    // as MySQL's did.
    assert_eq!(
        pg.sql(
            "INSERT INTO film (title, rating) VALUES ('AFFAIR PREJUDICE', 'PG-13') RETURNING id"
        ),
        "4\n"
    );
    assert!(psql_fails(
        &pg.name,
        "INSERT INTO film (title, rating) VALUES ('X', 'pg-13')"
    ));

    let lite = SqliteDb::new("film");
    restore(&a, &lite.url(), &[]).ok();
    assert_eq!(
        lite_row(
            &lite,
            "SELECT id, rating, special_features FROM film ORDER BY id"
        ),
        "1|PG|Deleted Scenes,Behind the Scenes\n2|PG-13|Trailers\n3|NC-17|"
    );
    let c = lite.conn();
    c.execute("INSERT INTO film (title, rating) VALUES ('Y', 'PG-13')", [])
        .expect("a PG-13 film inserts");
    assert_eq!(c.last_insert_rowid(), 4);
    assert!(c
        .execute("INSERT INTO film (title, rating) VALUES ('Z', 'pg-13')", [])
        .is_err());
}

const DJANGO: &str = "CREATE TABLE django_migrations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  app VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  applied DATETIME NOT NULL);";

fn django(name: &str, rows: &[(&str, &str, &str)]) -> SqliteDb {
    let db = SqliteDb::new(name);
    let c = db.conn();
    c.execute_batch(DJANGO).expect("create django_migrations");
    for (app, m, at) in rows {
        c.execute(
            "INSERT INTO django_migrations (app, name, applied) VALUES (?1, ?2, ?3)",
            [app, m, at],
        )
        .expect("insert a migration");
    }
    db
}

#[test]
fn django_migrations_compare_as_sets() {
    let dir = tempdir();
    let src = django(
        "dj_src",
        &[
            ("auth", "0001_initial", "2024-01-01 10:00:00"),
            ("blog", "0001_initial", "2024-01-01 10:00:01"),
        ],
    );
    let a = dir.path().join("dj.haul");
    dump(&src.url(), &a);
    let plan = |target: &SqliteDb| haul(&["plan", a.to_str().unwrap(), &target.url()]);

    // The same migrations applied later and in another order: not a
    // downgrade.
    let same = django(
        "dj_same",
        &[
            ("blog", "0001_initial", "2024-06-01 10:00:00"),
            ("auth", "0001_initial", "2024-06-01 10:00:02"),
        ],
    );
    let out = plan(&same).ok().stdout;
    assert!(
        out.contains("django schema 2 migrations in the archive and the target"),
        "{out}"
    );
    // A target with more migrations: an upgrade restore.
    let newer = django(
        "dj_newer",
        &[
            ("auth", "0001_initial", "2023-01-01 10:00:00"),
            ("blog", "0001_initial", "2023-01-01 10:00:00"),
            ("blog", "0002_tags", "2023-01-01 10:00:00"),
        ],
    );
    let out = plan(&newer).ok().stdout;
    assert!(out.contains("an upgrade restore"), "{out}");
    // Diverged histories are refused, saying which migrations differ.
    let other = django(
        "dj_other",
        &[
            ("auth", "0001_initial", "2030-01-01 10:00:00"),
            ("shop", "0001_initial", "2030-01-01 10:00:00"),
        ],
    );
    let r = plan(&other).expect(5);
    assert!(
        r.stderr.contains(
            "django schema in the archive and the target have diverged: the archive has \
             blog.0001_initial that the target lacks, the target shop.0001_initial"
        ),
        "{}",
        r.stderr
    );
}

/// SQLite's one 64-bit INTEGER into an app's PostgreSQL `integer` columns:
/// the plan notes what a too-large value would do, and a clean restore
/// says no warning and exits 0.
#[test]
fn sqlite_integers_into_app_made_postgres_columns_warn_of_nothing() {
    let dir = tempdir();
    let src = SqliteDb::new("ints");
    src.conn()
        .execute_batch(
            "CREATE TABLE item (id INTEGER PRIMARY KEY, qty INTEGER NOT NULL, name TEXT);
             INSERT INTO item VALUES (1, 5, 'a'), (2, 2147483647, 'b');",
        )
        .expect("fixture");
    let a = dir.path().join("ints.haul");
    dump(&src.url(), &a);
    let pg = PgDb::new("haul_xe_ints");
    pg.sql("CREATE TABLE item (id serial PRIMARY KEY, qty integer NOT NULL, name varchar(10))");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    assert!(
        plan.contains("column qty (INTEGER in the archive, integer in the target): values outside -2147483648..2147483647 stop the load"),
        "{plan}"
    );
    assert!(!plan.contains("warning"), "{plan}");
    let r = restore(&a, &pg.url(), &[]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_eq!(
        pg.sql("SELECT id, qty, name FROM item ORDER BY id"),
        "1|5|a\n2|2147483647|b\n"
    );
}

/// Into a schema the app made itself, its migration bookkeeping stays as
/// the target has it, even with --on-duplicate keep-archived: the archive's
/// rows would make the app re-run migrations.
#[test]
fn an_apps_schema_version_rows_stay_as_the_target_has_them() {
    let dir = tempdir();
    let src = django(
        "dj_keep",
        &[
            ("auth", "0001_initial", "2024-01-01 10:00:00"),
            ("blog", "0001_initial", "2024-01-01 10:00:01"),
        ],
    );
    src.conn()
        .execute_batch("CREATE TABLE post (id INTEGER PRIMARY KEY, title TEXT); INSERT INTO post VALUES (1, 'hello');")
        .expect("fixture");
    let a = dir.path().join("dj.haul");
    dump(&src.url(), &a);
    let pg = PgDb::new("haul_xe_djkeep");
    pg.sql(
        "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL,
           name varchar(255) NOT NULL, applied timestamp with time zone NOT NULL);
         INSERT INTO django_migrations (app, name, applied) VALUES
           ('auth', '0001_initial', '2025-01-01 00:00:00+00'),
           ('blog', '0001_initial', '2025-01-01 00:00:00+00'),
           ('blog', '0002_tags', '2025-01-01 00:00:00+00');
         CREATE TABLE post (id serial PRIMARY KEY, title text);",
    );
    let before = pg.sql("SELECT * FROM django_migrations ORDER BY id");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    assert!(
        plan.contains("keep the target's table django_migrations"),
        "{plan}"
    );
    restore(&a, &pg.url(), &["--on-duplicate", "keep-archived"]).ok();
    assert_eq!(
        pg.sql("SELECT * FROM django_migrations ORDER BY id"),
        before
    );
    assert_eq!(pg.sql("SELECT id, title FROM post"), "1|hello\n");
}

/// PostgreSQL UUIDs into the `char(32)` columns Django makes on MySQL and
/// SQLite: 32 hex digits, so the app's lookups by UUID find the rows.
#[test]
fn postgres_uuids_into_django_char32_columns() {
    let dir = tempdir();
    let pg = PgDb::new("haul_xe_uuid");
    pg.sql(
        "CREATE TABLE token (id uuid PRIMARY KEY, label text);
         INSERT INTO token VALUES ('0b7b3c2e-5f4a-4d8e-9c1a-2f3e4d5c6b7a', 'a'), ('ffffffff-0000-4000-8000-000000000001', 'b');",
    );
    let a = dir.path().join("uuid.haul");
    dump(&pg.url(), &a);

    let lite = SqliteDb::new("uuid");
    lite.conn()
        .execute_batch("CREATE TABLE token (id char(32) NOT NULL PRIMARY KEY, label text)")
        .expect("app schema");
    let plan = haul(&["plan", a.to_str().unwrap(), &lite.url()])
        .ok()
        .stdout;
    assert!(
        plan.contains("column id (uuid in the archive, char(32) in the target): UUIDs written as 32 hex digits without dashes"),
        "{plan}"
    );
    restore(&a, &lite.url(), &[]).ok();
    assert_eq!(
        lite_row(
            &lite,
            "SELECT label FROM token WHERE id = '0b7b3c2e5f4a4d8e9c1a2f3e4d5c6b7a'"
        ),
        "a"
    );

    let my = MyDb::new("haul_xe_uuid_my");
    my.sql("CREATE TABLE token (id char(32) NOT NULL PRIMARY KEY, label longtext)");
    restore(&a, &my.url(), &[]).ok();
    assert_eq!(
        my_row(
            &my,
            "SELECT label FROM token WHERE id = 'ffffffff000040008000000000000001'"
        ),
        "b"
    );

    // And back: 32 hex digits are a PostgreSQL uuid.
    let b = dir.path().join("back.haul");
    dump(&lite.url(), &b);
    let end = PgDb::new("haul_xe_uuid_end");
    end.sql("CREATE TABLE token (id uuid PRIMARY KEY, label text)");
    restore(&b, &end.url(), &[]).ok();
    assert_eq!(
        end.sql("SELECT id, label FROM token ORDER BY label"),
        "0b7b3c2e-5f4a-4d8e-9c1a-2f3e4d5c6b7a|a\nffffffff-0000-4000-8000-000000000001|b\n"
    );
}

/// Defaults another engine refuses are left out, each named, by `plan`
/// before any write and by `restore` (exit 8); the tables are created.
#[test]
fn defaults_the_target_refuses_are_named_and_left_out() {
    let dir = tempdir();
    let my = MyDb::new("haul_xe_defaults");
    my.script(
        b"SET SESSION sql_mode = '';
          CREATE TABLE legacy (id INT PRIMARY KEY, born DATE NOT NULL DEFAULT '0000-00-00',
                               n INT DEFAULT 7, at DATETIME DEFAULT '2020-02-02 02:02:02');
          INSERT INTO legacy (id) VALUES (1);",
    );
    let a = dir.path().join("my.haul");
    dump(&my.url(), &a);
    let pg = PgDb::new("haul_xe_defaults_pg");
    let warn = "table legacy, column born: default '0000-00-00' left out (a zero date, which PostgreSQL and strict MySQL refuse); the column has no default and it is created without NOT NULL: its zero dates load as NULL";
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    assert!(plan.contains(warn), "{plan}");
    let r = restore(&a, &pg.url(), &[]).expect(8);
    assert!(r.stderr.contains(warn), "{}", r.stderr);
    assert_eq!(
        pg.sql("INSERT INTO legacy (id, born) VALUES (2, '2024-01-01') RETURNING n, at"),
        "7|2020-02-02 02:02:02\n"
    );

    let lite = SqliteDb::new("defaults");
    lite.conn()
        .execute_batch(
            "CREATE TABLE t (id INTEGER PRIMARY KEY, created DATETIME DEFAULT 0, n INTEGER DEFAULT '\"0\"', m INTEGER DEFAULT '3');
             INSERT INTO t (id, created, n) VALUES (1, '2024-01-01 00:00:00', 5);",
        )
        .expect("fixture");
    let b = dir.path().join("lite.haul");
    dump(&lite.url(), &b);
    for target in [
        PgDb::new("haul_xe_defaults_lite").url(),
        MyDb::new("haul_xe_defaults_lite_my").url(),
    ] {
        let r = restore(&b, &target, &[]).expect(8);
        for w in [
            "table t, column created: default 0 left out (not a date, on a date or time column)",
            "table t, column n: default '\"0\"' left out (not a number, on a numeric column)",
        ] {
            assert!(r.stderr.contains(w), "{target}: {w:?} not in {}", r.stderr);
        }
        assert!(!r.stderr.contains("column m:"), "{}", r.stderr);
    }
}

/// Foreign key actions and DEFERRABLE reach SQLite; MySQL, which cannot
/// defer, is warned of by name.
#[test]
fn foreign_key_actions_and_deferrable_reach_sqlite() {
    let dir = tempdir();
    let pg = PgDb::new("haul_xe_fks");
    pg.sql(
        "CREATE TABLE author (id int PRIMARY KEY);
         CREATE TABLE book (id int PRIMARY KEY,
           author_id int REFERENCES author ON DELETE CASCADE ON UPDATE SET NULL DEFERRABLE INITIALLY DEFERRED);
         INSERT INTO author VALUES (1), (2); INSERT INTO book VALUES (10, 1), (20, 2);",
    );
    let a = dir.path().join("fks.haul");
    dump(&pg.url(), &a);
    let lite = SqliteDb::new("fks");
    restore(&a, &lite.url(), &[]).ok();
    assert_eq!(
        lite_row(
            &lite,
            "SELECT \"table\", on_update, on_delete FROM pragma_foreign_key_list('book')"
        ),
        "author|SET NULL|CASCADE"
    );
    let sql = lite_row(&lite, "SELECT sql FROM sqlite_master WHERE name = 'book'");
    assert!(sql.contains("DEFERRABLE INITIALLY DEFERRED"), "{sql}");
    let c = lite.conn();
    c.execute_batch("PRAGMA foreign_keys = ON; DELETE FROM author WHERE id = 1;")
        .expect("delete a parent");
    assert_eq!(lite_row(&lite, "SELECT id FROM book"), "20");

    let my = MyDb::new("haul_xe_fks_my");
    let r = restore(&a, &my.url(), &[]).expect(8);
    assert!(
        r.stderr.contains("table book: foreign key book_author_id_fkey is DEFERRABLE INITIALLY DEFERRED in the source; MySQL checks it at each statement"),
        "{}",
        r.stderr
    );
    assert_eq!(
        my_row(&my, "SELECT DELETE_RULE, UPDATE_RULE FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE()"),
        "CASCADE\tSET NULL"
    );
}

const PARTIAL: &str = "
CREATE TABLE app (id int PRIMARY KEY, tenant int NOT NULL, is_default boolean NOT NULL, email text NOT NULL);
CREATE UNIQUE INDEX app_one_default ON app (tenant) WHERE is_default;
CREATE UNIQUE INDEX app_email_ci ON app (lower(email));
";

/// A partial unique index is probed with its condition (two rows of one
/// tenant, one of them the default, are no duplicates); partial and
/// expression indexes going to another engine are left out, each named.
#[test]
fn partial_and_expression_indexes() {
    let dir = tempdir();
    let pg = PgDb::new("haul_xe_partial");
    pg.sql(PARTIAL);
    pg.sql("INSERT INTO app VALUES (1, 1, true, 'A@x'), (2, 1, false, 'b@x'), (3, 2, true, 'c@x')");
    let a = dir.path().join("partial.haul");
    dump(&pg.url(), &a);

    // Into the app's own empty schema: the indexes are relaxed, probed with
    // their conditions and put back.
    let same = PgDb::new("haul_xe_partial_same");
    same.sql(PARTIAL);
    restore(&a, &same.url(), &[]).ok();
    assert_eq!(same.sql("SELECT count(*) FROM app"), "3\n");
    assert!(psql_fails(
        &same.name,
        "INSERT INTO app VALUES (4, 1, true, 'd@x')"
    ));
    assert!(psql_fails(
        &same.name,
        "INSERT INTO app VALUES (4, 3, false, 'a@X')"
    ));

    // A real duplicate under the condition stops with exit 7 naming it.
    let dup = PgDb::new("haul_xe_partial_dup");
    dup.sql(PARTIAL);
    pg.sql("DROP INDEX app_one_default; INSERT INTO app VALUES (4, 2, true, 'd@x')");
    let b = dir.path().join("dup.haul");
    dump(&pg.url(), &b);
    let r = restore(&b, &dup.url(), &[]).expect(7);
    assert!(
        r.stderr
            .contains("index app_one_default (tenant): 2 rows with tenant=\"2\""),
        "{}",
        r.stderr
    );

    for (target, engine) in [
        (MyDb::new("haul_xe_partial_my").url(), "mysql"),
        (SqliteDb::new("partial").url(), "sqlite"),
    ] {
        let r = restore(&a, &target, &[]).expect(8);
        for w in [
            "table app: index app_one_default is partial (WHERE is_default), in postgres's SQL: left out on ".to_string() + engine,
            "table app: index app_email_ci is on an expression, in postgres's SQL: left out on ".to_string() + engine,
        ] {
            assert!(r.stderr.contains(&w), "{w:?} not in {}", r.stderr);
        }
    }
}

/// PostgreSQL sequence positions reach MySQL's and SQLite's counters, for
/// an owned serial and for a key drawing from a sequence it does not own
/// (the film-rental sample's style): new rows continue past them.
#[test]
fn postgres_sequence_positions_reach_mysql_and_sqlite() {
    let dir = tempdir();
    let pg = PgDb::new("haul_xe_seq");
    pg.sql(
        "CREATE SEQUENCE customer_customer_id_seq;
         CREATE TABLE customer (customer_id integer DEFAULT nextval('customer_customer_id_seq'::regclass) NOT NULL PRIMARY KEY, name text);
         INSERT INTO customer (name) VALUES ('a'), ('b');
         SELECT setval('customer_customer_id_seq', 100);
         CREATE TABLE owned (id serial PRIMARY KEY, v text);
         INSERT INTO owned (v) VALUES ('x'), ('y'), ('z');
         SELECT setval('owned_id_seq', 40);",
    );
    let a = dir.path().join("seq.haul");
    dump(&pg.url(), &a);

    let my = MyDb::new("haul_xe_seq_my");
    restore(&a, &my.url(), &[]).ok();
    my.sql("INSERT INTO customer (name) VALUES ('c'); INSERT INTO owned (v) VALUES ('w')");
    assert_eq!(my_row(&my, "SELECT max(customer_id) FROM customer"), "101");
    assert_eq!(my_row(&my, "SELECT max(id) FROM owned"), "41");

    let lite = SqliteDb::new("seq");
    restore(&a, &lite.url(), &[]).ok();
    let c = lite.conn();
    c.execute_batch(
        "INSERT INTO customer (name) VALUES ('c'); INSERT INTO owned (v) VALUES ('w');",
    )
    .expect("insert without ids");
    assert_eq!(
        lite_row(&lite, "SELECT max(customer_id) FROM customer"),
        "101"
    );
    assert_eq!(lite_row(&lite, "SELECT max(id) FROM owned"), "41");

    // copy takes the same path.
    let my2 = MyDb::new("haul_xe_seq_copy");
    haul(&["copy", "-q", &pg.url(), &my2.url()]).ok();
    my2.sql("INSERT INTO customer (name) VALUES ('c')");
    assert_eq!(my_row(&my2, "SELECT max(customer_id) FROM customer"), "101");
}

/// MySQL's ON UPDATE CURRENT_TIMESTAMP becomes a PostgreSQL trigger: an
/// update that changes the row moves the timestamp, one that sets it keeps
/// the value given.
#[test]
fn mysql_on_update_current_timestamp_becomes_a_postgres_trigger() {
    let dir = tempdir();
    let my = MyDb::new("haul_xe_onupd");
    my.sql(
        "CREATE TABLE post (id INT PRIMARY KEY, title VARCHAR(20),
           updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP ON UPDATE CURRENT_TIMESTAMP);
         INSERT INTO post VALUES (1, 'a', '2001-01-01 00:00:00'), (2, 'b', '2001-01-01 00:00:00');",
    );
    let a = dir.path().join("onupd.haul");
    dump(&my.url(), &a);
    let pg = PgDb::new("haul_xe_onupd_pg");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    assert!(
        plan.contains("updated_at timestamp -> timestamp with time zone; ON UPDATE CURRENT_TIMESTAMP kept by a trigger"),
        "{plan}"
    );
    // A restore killed once its tables exist, then abandoned, leaves no
    // trigger function behind.
    let killed = haul_env(
        &["restore", a.to_str().unwrap(), &pg.url(), "-q"],
        &[("HAUL_FAILPOINT", "created")],
    );
    assert_eq!(killed.code, -1, "{}", killed.all());
    assert!(
        pg.sql("SELECT count(*) FROM pg_proc WHERE proname LIKE 'haul_on_update%'")
            .trim()
            == "1"
    );
    haul(&["restore", a.to_str().unwrap(), &pg.url(), "--abandon", "-q"]).ok();
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_proc WHERE proname LIKE 'haul_on_update%'")
            .trim(),
        "0"
    );
    restore(&a, &pg.url(), &[]).ok();
    pg.sql("UPDATE post SET title = 'changed' WHERE id = 1");
    pg.sql("UPDATE post SET title = 'x', updated_at = '2010-01-01 00:00:00+00' WHERE id = 2");
    assert_eq!(
        pg.sql(
            "SELECT id, updated_at > now() - interval '1 hour', updated_at FROM post ORDER BY id"
        )
        .lines()
        .map(|l| l.rsplit_once('|').map(|x| x.0).unwrap_or(l).to_string())
        .collect::<Vec<_>>(),
        vec!["1|t", "2|f"]
    );
    let lite = SqliteDb::new("onupd");
    let r = restore(&a, &lite.url(), &[]).expect(8);
    assert!(
        r.stderr.contains(
            "table post, column updated_at: ON UPDATE CURRENT_TIMESTAMP is not carried into SQLite"
        ),
        "{}",
        r.stderr
    );
}

/// MySQL FULLTEXT becomes a text-search GIN index on PostgreSQL (long
/// values load and index); SPATIAL indexes and, into SQLite, FULLTEXT ones
/// are left out by name.
#[test]
fn fulltext_and_spatial_indexes_across_engines() {
    let dir = tempdir();
    let my = MyDb::new("haul_xe_ft");
    my.sql(
        "CREATE TABLE doc (id INT PRIMARY KEY, title VARCHAR(100), body TEXT,
           FULLTEXT KEY doc_ft (title, body)) ENGINE=InnoDB;
         CREATE TABLE place (id INT PRIMARY KEY, g POINT NOT NULL, SPATIAL KEY place_g (g)) ENGINE=InnoDB;
         INSERT INTO place VALUES (1, POINT(1, 2));",
    );
    my.sql(&format!(
        "INSERT INTO doc VALUES (1, 'haul moves databases', '{}'), (2, 'other', 'nothing here')",
        "word ".repeat(2000)
    ));
    let a = dir.path().join("ft.haul");
    dump(&my.url(), &a);
    let pg = PgDb::new("haul_xe_ft_pg");
    // PostGIS is there: the SPATIAL index is a GiST one, nothing is left out.
    let r = restore(&a, &pg.url(), &[]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert!(!r.stderr.contains("doc_ft"), "{}", r.stderr);
    assert_eq!(
        pg.sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'place_place_g'"),
        "CREATE INDEX place_place_g ON public.place USING gist (g)\n"
    );
    assert_eq!(pg.sql("SELECT ST_AsText(g) FROM place"), "POINT(1 2)\n");
    assert!(pg
        .sql("SELECT indexdef FROM pg_indexes WHERE indexname = 'doc_doc_ft'")
        .contains("USING gin (to_tsvector('simple'::regconfig"),);
    assert_eq!(
        pg.sql(
            "SET enable_seqscan = off; SELECT id FROM doc WHERE to_tsvector('simple'::regconfig, \
             coalesce(title::text, '') || ' ' || coalesce(body::text, '')) @@ to_tsquery('simple', 'moves')"
        ),
        "1\n"
    );
    let lite = SqliteDb::new("ft");
    let r = restore(&a, &lite.url(), &[]).expect(8);
    assert!(
        r.stderr.contains(
            "table doc: index doc_ft is a FULLTEXT index, in mysql's SQL: left out on sqlite"
        ),
        "{}",
        r.stderr
    );
    for said in [
        "table place: index place_g is a SPATIAL index, in mysql's SQL: left out on sqlite",
        "table place, column g: point is loaded as bytes (MySQL's form: a 4-byte SRID, then WKB), not as a geometry",
    ] {
        assert!(r.stderr.contains(said), "{said:?} not in:\n{}", r.stderr);
    }
}

/// A Django archive's decimals go into SQLite as numbers (NUMERIC, what
/// Django reads there) at any precision; SQLite keeps 15 significant
/// digits, so a wider value stops the load, named, instead of being
/// rounded; the same into a `decimal` column Django made.
#[test]
fn decimals_sqlite_would_round_stop_the_load() {
    let dir = tempdir();
    let pg = PgDb::new("haul_xe_round");
    pg.sql(
        "CREATE TABLE django_migrations (id serial PRIMARY KEY, app varchar(255) NOT NULL,
           name varchar(255) NOT NULL, applied timestamptz NOT NULL);
         INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0001_initial', now());
         CREATE TABLE price (id int PRIMARY KEY, amount numeric(30,10));
         INSERT INTO price VALUES (1, 12345.5), (2, 12345678901234567890.1234567890);",
    );
    let a = dir.path().join("wide.haul");
    dump(&pg.url(), &a);
    let wide = "row 2, column amount: 12345678901234567890.1234567890 has more significant digits \
                than SQLite's numbers keep (15); SQLite would store it rounded";
    let lite = SqliteDb::new("round");
    let r = restore(&a, &lite.url(), &[]).expect(1);
    assert!(r.stderr.contains(wide), "{}", r.stderr);
    let made = SqliteDb::new("round_django");
    made.conn()
        .execute_batch("CREATE TABLE price (id integer NOT NULL PRIMARY KEY, amount decimal NULL)")
        .expect("Django's table");
    let r = restore(&a, &made.url(), &[]).expect(1);
    assert!(r.stderr.contains(wide), "{}", r.stderr);

    // Without the wide value: NUMERIC, compared as numbers.
    pg.sql("DELETE FROM price WHERE id = 2");
    let b = dir.path().join("narrow.haul");
    dump(&pg.url(), &b);
    let lite = SqliteDb::new("narrow");
    let plan = haul(&["plan", b.to_str().unwrap(), &lite.url()])
        .ok()
        .stdout;
    assert!(
        plan.contains("amount numeric(30,10) -> NUMERIC(30,10)"),
        "{plan}"
    );
    restore(&b, &lite.url(), &[]).ok();
    assert_eq!(
        lite_row(&lite, "SELECT typeof(amount), amount > 100 FROM price"),
        "real|1"
    );
}
