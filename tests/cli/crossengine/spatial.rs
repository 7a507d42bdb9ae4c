//! MySQL geometries into PostgreSQL (fixtures/cross/spatial.sql): PostGIS
//! geometries where the target has PostGIS or the restoring user may create
//! it, the SPATIAL index a GiST one; bytes and a named warning where not,
//! which `plan` says before any write. Judged by the two servers' own
//! clients: `ST_AsText`, `ST_SRID` and `ST_AsBinary` of every value.

use super::*;

/// The fixture's geometry columns and the PostGIS type each becomes.
const GEOMETRIES: &[(&str, &str)] = &[
    ("pt", "geometry(Point)"),
    ("line", "geometry(LineString)"),
    ("area", "geometry(Polygon)"),
    ("pts", "geometry(MultiPoint)"),
    ("paths", "geometry(MultiLineString)"),
    ("areas", "geometry(MultiPolygon)"),
    ("bag", "geometry(GeometryCollection)"),
    ("anything", "geometry"),
];

/// PostGIS writes a MULTIPOINT's points in parentheses, MySQL does not:
/// `MULTIPOINT((1 1),(2 2))` is `MULTIPOINT(1 1,2 2)`.
fn same_wkt(v: &str) -> String {
    match v.strip_prefix("MULTIPOINT(") {
        Some(rest) => format!("MULTIPOINT({})", rest.replace(['(', ')'], "")),
        None => v.to_string(),
    }
}

/// Each row (by `id`): per geometry column its WKT, SRID and WKB in hex,
/// `|`-separated.
fn my_geometries(db: &MyDb, table: &str, cols: &[&str]) -> Vec<String> {
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            format!("IFNULL(CONCAT_WS('|', ST_AsText(`{c}`), ST_SRID(`{c}`), HEX(ST_AsBinary(`{c}`))), 'NULL')")
        })
        .collect();
    let out = db.sql(&format!(
        "SELECT CONCAT_WS('|', id, {}) FROM `{table}` ORDER BY id",
        exprs.join(", ")
    ));
    out.lines()
        .map(|l| l.split('|').map(same_wkt).collect::<Vec<_>>().join("|"))
        .collect()
}

fn pg_geometries(db: &PgDb, table: &str, cols: &[&str]) -> Vec<String> {
    let exprs: Vec<String> = cols
        .iter()
        .map(|c| {
            format!("COALESCE(concat_ws('|', ST_AsText(\"{c}\"), ST_SRID(\"{c}\"), upper(encode(ST_AsBinary(\"{c}\"), 'hex'))), 'NULL')")
        })
        .collect();
    let out = db.sql(&format!(
        "SELECT concat_ws('|', id, {}) FROM \"{table}\" ORDER BY id",
        exprs.join(", ")
    ));
    out.lines()
        .map(|l| l.split('|').map(same_wkt).collect::<Vec<_>>().join("|"))
        .collect()
}

/// Every column of `place` is a PostGIS geometry of its type, the SPATIAL
/// index is GiST, and every value is the MySQL one.
fn assert_postgis(stage: &str, src: &MyDb, pg: &PgDb) {
    for (c, ty) in GEOMETRIES {
        assert_eq!(
            pg.sql(&format!(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'place'::regclass AND attname = '{c}'"
            ))
            .trim(),
            *ty,
            "{stage}: column {c}"
        );
    }
    assert_eq!(
        pg.sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'place' AND indexdef LIKE '%gist%'"
        )
        .trim(),
        "CREATE INDEX place_place_pt ON public.place USING gist (pt)",
        "{stage}: the SPATIAL index"
    );
    let cols: Vec<&str> = GEOMETRIES.iter().map(|(c, _)| *c).collect();
    let want = my_geometries(src, "place", &cols);
    assert_eq!(want.len(), 3);
    assert!(
        want[1].contains("POINT(4.8356995 45.764043)|4326|"),
        "{want:?}"
    );
    assert_eq!(pg_geometries(pg, "place", &cols), want, "{stage}");
}

#[test]
fn mysql_geometries_become_postgis() {
    let dir = tempdir();
    let src = my_fixture("haul_xe_gis_src", "cross/spatial.sql");
    let a = dir.path().join("gis.haul");
    dump(&src.url(), &a);

    // A superuser may create the extension: plan says what restore does.
    let pg = PgDb::new("haul_xe_gis_pg");
    let plan = haul(&["plan", a.to_str().unwrap(), &pg.url()]).ok().stdout;
    assert!(
        plan.contains("pt point -> \"public\".geometry(Point)"),
        "{plan}"
    );
    assert!(!plan.contains("loaded as bytes"), "{plan}");
    assert!(!plan.contains("SPATIAL"), "{plan}");
    assert_eq!(
        pg.sql("SELECT count(*) FROM pg_extension WHERE extname = 'postgis'"),
        "0\n",
        "plan wrote nothing"
    );
    let r = restore(&a, &pg.url(), &[]).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
    assert_postgis("restore", &src, &pg);

    // copy takes the same path, into a database that has PostGIS already.
    let pg2 = PgDb::new("haul_xe_gis_copy");
    pg2.sql("CREATE EXTENSION postgis");
    haul(&["copy", &src.url(), &pg2.url()]).ok();
    assert_postgis("copy", &src, &pg2);
    // The geometries work as PostGIS ones.
    assert_eq!(
        pg2.sql(
            "SELECT name FROM place WHERE ST_Contains(area, ST_SetSRID(ST_MakePoint(5, 5), 0))"
        ),
        "lyon\n"
    );
}

/// A role that may log in and owns a test database, dropped after it.
struct PlainRole(String);

impl PlainRole {
    fn new() -> PlainRole {
        let name = unique("haul_gis_role");
        psql(
            "postgres",
            &format!("CREATE ROLE \"{name}\" LOGIN NOSUPERUSER"),
        );
        PlainRole(name)
    }
    fn url(&self, db: &PgDb) -> String {
        format!("postgres://{}@{PG_HOST}:5432/{}", self.0, db.name)
    }
}

impl Drop for PlainRole {
    fn drop(&mut self) {
        let _ = psql_cmd("postgres")
            .arg("-c")
            .arg(format!("DROP ROLE IF EXISTS \"{}\"", self.0))
            .output();
    }
}

/// A user who may not create PostGIS gets bytes and a warning naming each
/// column and why, in `plan` before any write and in `restore` (exit 8);
/// once a superuser has installed PostGIS, the same user gets geometries.
#[test]
fn geometries_as_bytes_where_postgis_cannot_be_created() {
    let dir = tempdir();
    let src = my_fixture("haul_xe_gis_plain", "cross/spatial.sql");
    let a = dir.path().join("gis.haul");
    dump(&src.url(), &a);
    let role = PlainRole::new();
    let pg = PgDb::new("haul_xe_gis_plain");
    pg.sql(&format!(
        "ALTER DATABASE \"{}\" OWNER TO \"{}\"",
        pg.name, role.0
    ));
    let why = "and the restoring user may not create it";
    let plan = haul(&["plan", a.to_str().unwrap(), &role.url(&pg)])
        .ok()
        .stdout;
    for (c, _) in GEOMETRIES {
        assert!(
            plan.contains(&format!("table place, column {c}: ")) && plan.contains(why),
            "{c}: {plan}"
        );
    }
    assert!(plan.contains("pt point -> bytea"), "{plan}");
    assert!(plan.contains("index place_pt is a SPATIAL index"), "{plan}");
    let r = restore(&a, &role.url(&pg), &[]).expect(8);
    assert!(r.stderr.contains("loaded as bytes"), "{}", r.stderr);
    assert_eq!(
        pg.sql("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = 'place'::regclass AND attname = 'pt'"),
        "bytea\n"
    );
    // MySQL's own bytes: the SRID, then the WKB.
    assert_eq!(
        pg.sql("SELECT upper(encode(pt, 'hex')) FROM place WHERE id = 2"),
        src.sql("SELECT HEX(pt) FROM place WHERE id = 2")
    );

    // Installed by a superuser: the same user now gets geometries.
    let pg2 = PgDb::new("haul_xe_gis_plain2");
    pg2.sql(&format!(
        "ALTER DATABASE \"{}\" OWNER TO \"{}\"",
        pg2.name, role.0
    ));
    pg2.sql("CREATE EXTENSION postgis");
    haul(&["copy", &src.url(), &role.url(&pg2)]).ok();
    assert_postgis("copy by a plain user", &src, &pg2);
}

/// A PostgreSQL database with PostGIS dumps its own tables, not the
/// extension's (`spatial_ref_sys`, which the extension makes on the
/// target), and restores into a new database with every geometry.
#[test]
fn postgis_database_round_trip() {
    let dir = tempdir();
    let src = PgDb::new("haul_xe_gis_pgsrc");
    src.sql(
        "CREATE EXTENSION postgis;
         CREATE TABLE site (id int PRIMARY KEY, at geometry(Point, 4326), area geometry);
         CREATE INDEX site_at ON site USING gist (at);
         INSERT INTO site VALUES (1, 'SRID=4326;POINT(4.8 45.7)', 'POLYGON((0 0,1 0,1 1,0 0))'), (2, NULL, NULL);",
    );
    let a = dir.path().join("pg.haul");
    dump(&src.url(), &a);
    let m = manifest(&a);
    let tables: Vec<&str> = m["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(tables, ["site"], "{m}");
    let pg = PgDb::new("haul_xe_gis_pgdst");
    // Nothing of the extension's own (its tables, its views' rules) is
    // dumped or warned about: the restore is clean.
    restore(&a, &pg.url(), &[]).ok();
    let q = "SELECT id, ST_AsEWKT(at), ST_AsText(area), format_type(atttypid, atttypmod)
               FROM site, pg_attribute WHERE attrelid = 'site'::regclass AND attname = 'at' ORDER BY id";
    assert_eq!(pg.sql(q), src.sql(q));
    assert!(pg.sql(q).starts_with(
        "1|SRID=4326;POINT(4.8 45.7)|POLYGON((0 0,1 0,1 1,0 0))|geometry(Point,4326)\n"
    ));
}
