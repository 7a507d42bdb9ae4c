//! MySQL's film-rental sample (in the shape of Sakila: fixtures/cross/
//! filmrental.sql) out of MySQL into PostgreSQL and SQLite, with `restore`
//! and with `copy`: every row equal under the normalised comparison, every
//! object it cannot carry named, and the app going on (new rows insert
//! past the restored ids).

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
    "index idx_location is a SPATIAL index",
    "table address, column location: geometry is loaded as bytes",
];

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
    let r = restore(&a, &pg.url(), &[]).expect(8);
    for w in LEFT_OUT {
        assert!(r.stderr.contains(w), "{w:?} not named:\n{}", r.stderr);
    }
    check_rows("mysql -> postgres", &src, &columns, |t, cols| {
        pg_table(&pg, t, cols)
    });
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
    for w in LEFT_OUT.iter().filter(|w| !w.starts_with("index")) {
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
    check_rows("mysql -> postgres (copy)", &src, &columns, |t, cols| {
        pg_table(&pg2, t, cols)
    });
}
