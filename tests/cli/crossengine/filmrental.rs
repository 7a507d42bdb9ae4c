//! MySQL's film-rental sample (in the shape of Sakila: fixtures/cross/
//! filmrental.sql) out of MySQL into PostgreSQL and SQLite, with `restore`
//! and with `copy`: every row equal under the normalised comparison, every
//! object it cannot carry named, the geometry column a PostGIS geometry on
//! PostgreSQL, and the app going on (new rows insert past the restored ids).

use super::*;

/// Objects of the sample that the other engines do not get, each of which
/// must be named.
const LEFT_OUT: &[&str] = &[
    "view film_list",
    "view customer_list",
    "trigger ins_film",
    "trigger customer_create_date",
    "function inventory_in_stock",
    "procedure film_in_stock",
];

/// What SQLite, without geometries, names besides.
const AS_BYTES: &str = "table address, column location: geometry is loaded as bytes";

/// `address.location` on PostgreSQL: a PostGIS geometry with a GiST index,
/// each value's `ST_AsText` MariaDB's.
fn check_location(stage: &str, src: &MyDb, pg: &PgDb) {
    assert_eq!(
        pg.sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'address'::regclass AND attname = 'location'"),
        "geometry\n",
        "{stage}"
    );
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_indexes WHERE tablename = 'address' AND indexdef LIKE '%USING gist (location)'"),
        "1\n",
        "{stage}: the SPATIAL index is a GiST one"
    );
    let want = src.sql("SELECT address_id, ST_AsText(location) FROM address ORDER BY 1");
    assert_eq!(want.lines().count(), 3, "{want}");
    assert_eq!(
        pg.sql("SELECT address_id || E'\\t' || ST_AsText(location) FROM address ORDER BY 1"),
        want,
        "{stage}"
    );
}

/// The columns compared value by value on PostgreSQL, where `location` is
/// a geometry (compared by `check_location`).
fn without_location(
    columns: &BTreeMap<String, Vec<(String, Kind)>>,
) -> BTreeMap<String, Vec<(String, Kind)>> {
    let mut c = columns.clone();
    if let Some(cols) = c.get_mut("address") {
        cols.retain(|(n, _)| n != "location");
    }
    c
}

fn check_rows(
    stage: &str,
    src: &MyDb,
    columns: &BTreeMap<String, Vec<(String, Kind)>>,
    got: impl Fn(&str, &[(String, Kind)]) -> TableRows,
) {
    for (t, cols) in columns {
        let start = normalised(my_table(src, t, cols), cols);
        let end = normalised(got(t, cols), cols);
        assert_same(stage, t, cols, &start, &end);
    }
}

#[test]
fn film_rental_out_of_mysql() {
    let dir = tempdir();
    let src = my_fixture("haul_xe_film_src", "cross/filmrental.sql");
    let columns = my_columns(&src);
    assert_eq!(columns.len(), 16, "the sample has 16 tables");
    let a = dir.path().join("film.haul");
    dump(&src.url(), &a);

    let pg = PgDb::new("haul_xe_film_pg");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    for w in LEFT_OUT {
        assert!(plan.contains(w), "{w:?} not in the plan:\n{plan}");
    }
    assert!(
        plan.contains("location geometry -> \"public\".geometry"),
        "{plan}"
    );
    let r = restore(&a, &pg.url(), &[]).expect(8);
    for w in LEFT_OUT {
        assert!(r.stderr.contains(w), "{w:?} not named:\n{}", r.stderr);
    }
    assert!(!r.stderr.contains("location"), "{}", r.stderr);
    let pg_columns = without_location(&columns);
    check_rows("mysql -> postgres", &src, &pg_columns, |t, cols| {
        pg_table(&pg, t, cols)
    });
    check_location("mysql -> postgres", &src, &pg);
    // The app goes on: new rows get ids past the restored ones, enum labels
    // check as MySQL's, the text-search index is there.
    assert_eq!(
        pg.sql("INSERT INTO film (title, language_id, rating) VALUES ('NEW FILM', 1, 'PG-13') RETURNING film_id"),
        "5\n"
    );
    assert_eq!(
        pg.sql("INSERT INTO actor (first_name, last_name) VALUES ('A', 'B') RETURNING actor_id"),
        "4\n"
    );
    assert!(psql_fails(
        &pg.name,
        "INSERT INTO film (title, language_id, rating) VALUES ('X', 1, 'pg-13')"
    ));
    pg.sql("UPDATE actor SET first_name = 'PENNY' WHERE actor_id = 1");
    assert_eq!(
        pg.sql("SELECT last_update > '2020-01-01' FROM actor WHERE actor_id = 1"),
        "t\n",
        "ON UPDATE CURRENT_TIMESTAMP kept by a trigger"
    );

    let lite = SqliteDb::new("film");
    let r = restore(&a, &lite.url(), &[]).expect(8);
    for w in LEFT_OUT.iter().chain([&AS_BYTES]) {
        assert!(r.stderr.contains(w), "{w:?} not named:\n{}", r.stderr);
    }
    check_rows("mysql -> sqlite", &src, &columns, |t, cols| {
        lite_table(&lite, t, cols)
    });
    let c = lite.conn();
    c.execute(
        "INSERT INTO film (title, language_id, rating) VALUES ('NEW', 1, 'NC-17')",
        [],
    )
    .expect("a new film");
    assert_eq!(c.last_insert_rowid(), 5);

    // copy takes the same path.
    let pg2 = PgDb::new("haul_xe_film_copy");
    let r = haul(&["copy", &src.url(), &pg2.url()]).expect(8);
    for w in LEFT_OUT {
        assert!(r.stderr.contains(w), "copy: {w:?} not named:\n{}", r.stderr);
    }
    check_rows("mysql -> postgres (copy)", &src, &pg_columns, |t, cols| {
        pg_table(&pg2, t, cols)
    });
    check_location("mysql -> postgres (copy)", &src, &pg2);
}
