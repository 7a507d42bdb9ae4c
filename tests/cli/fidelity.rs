//! Fidelity: the hard-values fixtures round-trip exactly, value for value,
//! and `verify --against` notices any difference.

use crate::common::*;

/// Catalog facts about a PostgreSQL database that a restore must reproduce.
fn pg_catalog(db: &PgDb) -> Vec<(&'static str, String)> {
    vec![
        (
            "columns",
            db.sql(
                "SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                        a.attidentity, a.attgenerated, pg_get_expr(d.adbin, d.adrelid),
                        col_description(a.attrelid, a.attnum)
                   FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                   LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
                  WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'
                    AND a.attnum > 0 AND NOT a.attisdropped
                  ORDER BY 1, 2",
            ),
        ),
        (
            "constraints",
            db.sql(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint
                  WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
            ),
        ),
        (
            "indexes",
            db.sql("SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2"),
        ),
        (
            "enum",
            db.sql("SELECT enum_range(NULL::mood)"),
        ),
        (
            "comments",
            db.sql(
                "SELECT relname, obj_description(oid, 'pg_class') FROM pg_class
                  WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' ORDER BY 1",
            ),
        ),
        (
            "sequences",
            db.sql(
                "SELECT sequencename, data_type, start_value, min_value, max_value, increment_by, last_value
                   FROM pg_sequences WHERE schemaname = 'public' ORDER BY 1",
            ),
        ),
    ]
}

#[test]
fn pg_hard_values_round_trip() {
    let src = pg_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a, "--jobs", "2"]).ok();
    let target = PgDb::new("haul_hard_restored");
    haul(&["restore", a, &target.url()]).ok();

    // verify --against both sides: identical.
    for db in [&src, &target] {
        let v = haul(&["verify", a, "--against", &db.url()]).ok();
        assert!(v.stdout.contains("identical hard "), "{}", v.stdout);
        assert!(v.stdout.contains("identical category "), "{}", v.stdout);
        assert!(v.stdout.contains("identical empty "), "{}", v.stdout);
        assert_eq!(v.stdout.matches("identical").count(), 4, "{}", v.stdout);
    }

    // Every value, byte for byte, as COPY prints it (generated column included).
    for q in [
        "SELECT * FROM hard ORDER BY id",
        "SELECT * FROM category ORDER BY id",
        "SELECT * FROM \"Odd \"\"Name\"\", with spaces\" ORDER BY 1",
    ] {
        let (s, t) = (src.copy_out(q), target.copy_out(q));
        assert!(!s.is_empty());
        if s != t {
            let (s, t) = (String::from_utf8_lossy(&s), String::from_utf8_lossy(&t));
            for (ls, lt) in s.lines().zip(t.lines()) {
                assert_eq!(
                    ls.chars().take(2000).collect::<String>(),
                    lt.chars().take(2000).collect::<String>(),
                    "{q}"
                );
            }
            panic!("{q}: COPY output differs");
        }
    }
    // Plain chunks passed to COPY as CSV (`HAUL_PG_COPY=csv`, the path
    // the default COPY text replaced) restore the same values.
    let csv_target = PgDb::new("haul_hard_csv");
    haul_env(
        &["restore", a, &csv_target.url(), "-q"],
        &[("HAUL_PG_COPY", "csv")],
    )
    .ok();
    for q in [
        "SELECT * FROM hard ORDER BY id",
        "SELECT * FROM category ORDER BY id",
    ] {
        assert!(
            src.copy_out(q) == csv_target.copy_out(q),
            "{q}: COPY output differs"
        );
    }
    // Binary-exact checks that do not depend on COPY's text form.
    let digest = "SELECT id, md5(txt), md5(bin), octet_length(txt), octet_length(bin), txt IS NULL,
                          f4::text, f8::text, num::text, ts::text, tstz::text, iv::text, jb::text, ta::text
                     FROM hard ORDER BY id";
    assert_eq!(src.sql(digest), target.sql(digest));

    // Spot checks of the hard values themselves in the target.
    let one = |label: &str, expr: &str| {
        target.sql(&format!("SELECT {expr} FROM hard WHERE label = '{label}'"))
    };
    assert_eq!(one("text 1", "txt IS NULL"), "t\n");
    assert_eq!(one("text 2", "txt = '' AND txt IS NOT NULL"), "t\n");
    assert_eq!(one("text 3", "txt = '\\N'"), "t\n");
    assert_eq!(one("text 5", "txt = '\\\\N'"), "t\n");
    assert_eq!(one("text 14", "txt = E'\\r\\n'"), "t\n");
    assert_eq!(one("text 16", "txt"), "😀🦀 4-byte UTF-8\n");
    assert_eq!(one("text 17", "txt"), "NULL\n");
    assert_eq!(
        one("text 1", "bin = (SELECT string_agg(set_byte('\\x00'::bytea, 0, b), ''::bytea ORDER BY b) FROM generate_series(0, 255) b)"),
        "t\n"
    );
    assert_eq!(one("multi-megabyte", "octet_length(txt)"), "3900000\n");
    assert_eq!(one("multi-megabyte", "octet_length(bin)"), "2000000\n");
    assert_eq!(one("specials", "f8::text || ' ' || num::text"), "NaN NaN\n");
    assert_eq!(
        one("negative zero", "f8::text || ' ' || f4::text"),
        "-0 -0\n"
    );
    assert_eq!(one("tiny", "f8::text"), "1e-300\n");
    assert_eq!(
        one("maximums", "num::text"),
        "1234567890123456789012345678901234567890\n"
    );
    assert_eq!(
        one("minimums", "num::text"),
        "0.000000000000000000000000000001\n"
    );
    assert_eq!(
        one("minimums", "jb IS NOT NULL AND jb = 'null'::jsonb"),
        "t\n"
    );
    assert_eq!(
        one("microseconds", "ts::text"),
        "2024-02-29 12:34:56.000001\n"
    );
    assert_eq!(one("bc", "ts::text"), "0044-03-15 12:00:00 BC\n");
    assert_eq!(one("maximums", "m::text"), "it's \"complicated\", really\n");
    assert_eq!(one("specials", "ia::text"), "{1,NULL,3}\n");

    // Schema: columns, types, identity/generated, defaults, comments,
    // constraints, indexes, the enum, sequences.
    let (s, t) = (pg_catalog(&src), pg_catalog(&target));
    for ((what, sv), (_, tv)) in s.iter().zip(&t) {
        assert_eq!(sv, tv, "{what} differ");
    }
    assert!(s[1].1.contains("hard_i4_not_42"), "{}", s[1].1);
    assert!(s[2].1.contains("hard_lower_vc_idx"), "{}", s[2].1);
    assert_eq!(
        target.sql("SELECT col_description('hard'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'hard'::regclass AND attname = 'txt'))"),
        src.sql("SELECT col_description('hard'::regclass, (SELECT attnum FROM pg_attribute WHERE attrelid = 'hard'::regclass AND attname = 'txt'))"),
    );

    // Sequences continue where the source's would: the serial was set ahead
    // of max(id), the identity too.
    let next = "SELECT nextval('hard_id_seq'), nextval(pg_get_serial_sequence('hard', 'ident')),
                       nextval(pg_get_serial_sequence('category', 'id'))";
    assert_eq!(target.sql(next), "1001|5001|4\n");
    assert_eq!(src.sql(next), "1001|5001|4\n");
    // A sequence no column owns, used by a default, keeps its position.
    let odd =
        "INSERT INTO \"Odd \"\"Name\"\", with spaces\" (\"Id\") VALUES (3) RETURNING \"Ticket\"";
    assert_eq!(src.sql(odd), "140\n");
    assert_eq!(target.sql(odd), "140\n");
    assert_eq!(target.sql("SELECT count(*) FROM empty"), "0\n");
    // New rows get fresh keys; the generated column is computed; the check
    // and the foreign key are enforced.
    assert_eq!(
        target.sql("INSERT INTO category (name) VALUES ('delta') RETURNING id"),
        "5\n"
    );
    assert_eq!(
        target.sql(
            "INSERT INTO hard (label, txt) VALUES ('new', 'abc') RETURNING id, ident, txt_len"
        ),
        "1002|5002|3\n"
    );
    assert!(
        psql_fails(
            &target.name,
            "INSERT INTO hard (label, i4) VALUES ('violates the check', 42)"
        ),
        "the check constraint was not restored"
    );
    assert!(
        psql_fails(
            &target.name,
            "INSERT INTO hard (label, category_id) VALUES ('violates the fk', 999)"
        ),
        "the foreign key was not restored"
    );
}

/// Tables of integers, floats, booleans, character types, bytea, uuid and
/// json go to COPY in its binary format: extremes, escapes, padding, NaN
/// and infinities, NULLs, empty values and values over the send buffer
/// arrive as they were, the same as through COPY text.
#[test]
fn pg_binary_copy_round_trips() {
    let src = PgDb::new("haul_bin_src");
    src.sql(
        "CREATE TABLE plain (id int PRIMARY KEY, s smallint, b bigint, t text, v varchar(50), c char(10),
                             ok boolean, r real, d double precision, bin bytea,
                             u uuid, j json, jb jsonb);
         INSERT INTO plain VALUES
           (1, -32768, -9223372036854775808, E'tab\\there\\nnew\\rline \\\\ back', 'ünïcödé 😀', 'pad',
            true, 3.4028235e38, 1.7976931348623157e308, '\\x00ff5c',
            'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{ \"a\" : [1, 2.50, \"\\u00e9\\t\"] }', '{\"b\": {\"c\": null}, \"a\": 1.50}'),
           (2, 32767, 9223372036854775807, '', '', '', false, '-0', '-0', '',
            '00000000-0000-0000-0000-000000000000', '\"\"', '[]'),
           (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
           (4, 0, 0, '\\N', 'NULL', 'x         ', true, 'NaN', 'NaN', '\\x5c4e',
            'ffffffff-ffff-ffff-ffff-ffffffffffff', 'null', '\"\\\\N\"'),
           (5, 1, 1, repeat('long value ', 200000), 'v', 'c', false, 'Infinity', '-Infinity',
            decode(repeat('00ff10', 400000), 'hex'), NULL, '123', '{\"k\": \"😀\"}'),
           (6, 2, 2, 'x', 'y', 'z', true, 1e-45, 4.9e-324, '\\x', NULL, NULL, NULL),
           (7, 3, 3, 'x', 'y', 'z', false, 1.17549435e-38, 0.1, 'plain', NULL, NULL, NULL);
         INSERT INTO plain SELECT g, g % 30000, g::bigint * 1000003, 'row ' || g, md5(g::text), left(md5(g::text), 10),
                                  g % 2 = 0, g / 7.0, g / 3.0, decode(md5(g::text), 'hex'),
                                  md5(g::text)::uuid, json_build_object('g', g), jsonb_build_object('g', g)
           FROM generate_series(8, 20000) g;",
    );
    let dir = tempdir();
    let archive = dir.path().join("bin.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let q = "SELECT * FROM plain ORDER BY id";
    let want = src.copy_out(q);
    for wire in ["binary", "text"] {
        let target = PgDb::new("haul_bin_dst");
        haul_env(
            &["restore", a, &target.url(), "-q"],
            &[("HAUL_PG_COPY", wire)],
        )
        .ok();
        assert!(target.copy_out(q) == want, "COPY {wire}: the rows differ");
        assert_eq!(
            target.sql("SELECT octet_length(c), c = 'pad' FROM plain WHERE id = 1"),
            "10|t\n",
            "char(10) padded ({wire})"
        );
    }
}

#[test]
fn sqlite_hard_values_round_trip() {
    let src = sqlite_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = SqliteDb::new("restored");
    haul(&["restore", a, &target.url()]).ok();

    let tables = [
        "blobs",
        "classes",
        "refs",
        "seq",
        "texts",
        "gen",
        "kv",
        "Odd \"Name\", with spaces",
        "empty",
    ];
    for url in [src.url(), target.url()] {
        let v = haul(&["verify", a, "--against", &url]).ok();
        for t in tables {
            assert!(
                v.stdout.contains(&format!("identical {t} ")),
                "{}",
                v.stdout
            );
        }
    }

    let (sc, tc) = (src.conn(), target.conn());
    for t in tables {
        let (sv, tv) = (sqlite_values(&sc, t), sqlite_values(&tc, t));
        assert!(!sv.is_empty() || t == "empty", "{t} is empty in the source");
        assert_eq!(sv.len(), tv.len(), "{t}: row counts differ");
        for (i, (rs, rt)) in sv.iter().zip(&tv).enumerate() {
            assert_eq!(rs, rt, "{t}, row {}: typeof/quote/hex differ", i + 1);
        }
    }

    // Generated columns are computed again; WITHOUT ROWID stays so.
    assert_eq!(
        sqlite_rows(&tc, "SELECT id, a, twice, label FROM gen ORDER BY id"),
        ["1|1|2|a=1", "2|NULL|NULL|NULL", "3|-5|-10|a=-5"]
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT k, typeof(v), quote(v) FROM kv ORDER BY k"),
        ["|blob|X'00'", "a|text|'one'", "b|integer|2"]
    );
    assert_eq!(
        sqlite_rows(
            &tc,
            "SELECT \"Id\", \"Mixed Case\" FROM \"Odd \"\"Name\"\", with spaces\" ORDER BY 1"
        ),
        ["1|one", "2|NULL"]
    );

    // Spot checks of storage classes in the target.
    let classes = sqlite_rows(
        &tc,
        "SELECT typeof(u), quote(u) FROM classes ORDER BY id LIMIT 6",
    );
    assert_eq!(
        classes,
        [
            "integer|1",
            "text|'1'",
            "real|1.5",
            "blob|X'00FF'",
            "null|NULL",
            "text|''"
        ]
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT hex(t), typeof(t) FROM classes WHERE id = 14"),
        ["C328FF00FE|text"]
    );
    assert_eq!(
        sqlite_rows(
            &tc,
            "SELECT quote(i), quote(n), quote(r) FROM classes WHERE id IN (2, 3) ORDER BY id"
        ),
        [
            "9223372036854775807|9223372036854775807|1.0e+308",
            "-9223372036854775808|-9223372036854775808|-1.0e+308"
        ]
    );
    assert_eq!(
        sqlite_rows(
            &tc,
            "SELECT typeof(i), typeof(r), typeof(n) FROM classes WHERE id = 9"
        ),
        ["text|text|text"]
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT typeof(i), hex(i) FROM classes WHERE id = 10"),
        ["blob|0001"]
    );
    assert_eq!(
        sqlite_rows(
            &tc,
            "SELECT quote(t), quote(u) FROM texts WHERE id IN (1, 2, 3, 5) ORDER BY id"
        ),
        ["NULL|NULL", "''|''", "'\\N'|'\\N'", "'\\\\N'|'\\\\N'"]
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT hex(t), typeof(u) FROM texts WHERE id = 14"),
        ["0D0A|text"]
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT length(b), hex(substr(b, 1, 4)) FROM blobs WHERE id IN (1, 5, 6, 7) ORDER BY id"),
        sqlite_rows(&sc, "SELECT length(b), hex(substr(b, 1, 4)) FROM blobs WHERE id IN (1, 5, 6, 7) ORDER BY id"),
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT length(b) FROM blobs WHERE id = 6"),
        ["3145728"]
    );

    // The AUTOINCREMENT counter stays ahead of max(id).
    assert_eq!(
        sqlite_rows(&tc, "SELECT name, seq FROM sqlite_sequence ORDER BY name"),
        sqlite_rows(&sc, "SELECT name, seq FROM sqlite_sequence ORDER BY name"),
    );
    assert_eq!(
        sqlite_rows(&tc, "SELECT seq FROM sqlite_sequence WHERE name = 'seq'"),
        ["100"]
    );
    tc.execute("INSERT INTO seq (v) VALUES ('next')", [])
        .unwrap();
    assert_eq!(sqlite_rows(&tc, "SELECT max(id) FROM seq"), ["101"]);

    // Schema objects: every table, index, view and trigger, with its SQL.
    let objects = "SELECT type, name, tbl_name, sql FROM sqlite_master
                    WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name";
    assert_eq!(sqlite_rows(&tc, objects), sqlite_rows(&sc, objects));
    assert_eq!(
        sqlite_rows(&tc, "SELECT type, name FROM sqlite_master WHERE type IN ('view', 'trigger', 'index') ORDER BY name"),
        [
            "trigger|seq_touch",
            "index|sqlite_autoindex_refs_1",
            "index|sqlite_autoindex_texts_1",
            "view|text_names",
            "index|texts_t_idx"
        ]
    );
    // The view answers and the trigger fires.
    assert_eq!(sqlite_rows(&tc, "SELECT count(*) FROM text_names"), ["22"]);
    tc.execute("UPDATE seq SET v = 'uno' WHERE id = 1", [])
        .unwrap();
    assert_eq!(
        sqlite_rows(&tc, "SELECT changed FROM seq WHERE id = 1"),
        ["1"]
    );
    // The unique constraint holds.
    assert!(tc
        .execute("INSERT INTO texts (name) VALUES ('emoji')", [])
        .is_err());
}

#[test]
fn pg_verify_detects_a_changed_value() {
    let src = pg_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = PgDb::new("haul_hard_changed");
    haul(&["restore", a, &target.url()]).ok();
    haul(&["verify", a, "--against", &target.url()]).ok();

    // One value: '\N' as text becomes NULL. Same row count.
    target.sql("UPDATE hard SET txt = NULL WHERE label = 'text 3'");
    let v = haul(&["verify", a, "--against", &target.url()]).expect(6);
    let line = error_line(&v);
    assert!(line.contains("hard"), "{line}");
    assert!(line.contains("content differs"), "{line}");
    assert!(!line.contains("category"), "{line}");
    assert!(v.stdout.contains("DIFFERS   hard "), "{}", v.stdout);
    assert!(v.stdout.contains("identical category "), "{}", v.stdout);

    // One byte of a bytea.
    target.sql("UPDATE hard SET txt = '\\N' WHERE label = 'text 3'");
    haul(&["verify", a, "--against", &target.url()]).ok();
    target.sql("UPDATE hard SET bin = set_byte(bin, 100, 0) WHERE label = 'text 1'");
    let v = haul(&["verify", a, "--against", &target.url()]).expect(6);
    assert!(error_line(&v).contains("hard"), "{}", v.stderr);

    // A missing row.
    target.sql("DELETE FROM category WHERE id = 3");
    let v = haul(&["verify", a, "--against", &target.url()]).expect(6);
    let line = error_line(&v);
    assert!(
        line.contains("category (archive 3 rows, live 2 rows)"),
        "{line}"
    );
}

#[test]
fn sqlite_verify_detects_a_changed_value_or_storage_class() {
    let src = sqlite_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = SqliteDb::new("changed");
    haul(&["restore", a, &target.url()]).ok();
    haul(&["verify", a, "--against", &target.url()]).ok();

    // Same value, other storage class: text '1' becomes integer 1.
    target
        .conn()
        .execute("UPDATE classes SET u = 1 WHERE id = 2", [])
        .unwrap();
    let v = haul(&["verify", a, "--against", &target.url()]).expect(6);
    let line = error_line(&v);
    assert!(line.contains("classes"), "{line}");
    assert!(line.contains("content differs"), "{line}");
    assert!(v.stdout.contains("DIFFERS   classes "), "{}", v.stdout);
    assert!(v.stdout.contains("identical texts "), "{}", v.stdout);

    // Restore it, then change one text value.
    target
        .conn()
        .execute("UPDATE classes SET u = '1' WHERE id = 2", [])
        .unwrap();
    haul(&["verify", a, "--against", &target.url()]).ok();
    target
        .conn()
        .execute("UPDATE texts SET t = '\\\\N' WHERE id = 3", [])
        .unwrap();
    let v = haul(&["verify", a, "--against", &target.url()]).expect(6);
    let line = error_line(&v);
    assert!(line.contains("texts"), "{line}");
    assert!(!line.contains("classes"), "{line}");
}

/// `--clean` over a previous restore of the same archive: drops and
/// re-creates everything, sequences and enum included, and ends identical.
#[test]
fn pg_clean_restore_over_a_previous_restore() {
    let src = pg_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = PgDb::new("haul_hard_clean");
    haul(&["restore", a, &target.url()]).ok();
    target.sql("UPDATE hard SET txt = 'changed' WHERE label = 'text 3'");
    let r = haul(&["restore", a, &target.url(), "--clean"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 4, "{}", v.stdout);
    let q = "SELECT * FROM hard ORDER BY id";
    assert!(
        src.copy_out(q) == target.copy_out(q),
        "content differs after --clean"
    );
    let next = "SELECT nextval('hard_id_seq'), nextval(pg_get_serial_sequence('hard', 'ident'))";
    assert_eq!(target.sql(next), src.sql(next));
}

/// `restore --tables` restores just those; a foreign key to a table left
/// out is skipped with a warning.
#[test]
fn pg_restore_a_subset_of_tables() {
    let src = pg_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = PgDb::new("haul_hard_subset");
    // A foreign key to a table left out is skipped with a warning: exit 8.
    let r = haul(&["restore", a, &target.url(), "--tables", "hard"]).expect(8);
    assert!(r.stderr.contains("hard_category_id_fkey"), "{}", r.stderr);
    assert_eq!(target.table_names(), ["hard"]);
    let q = "SELECT * FROM hard ORDER BY id";
    assert!(src.copy_out(q) == target.copy_out(q), "content differs");
}

#[test]
fn sqlite_clean_restore_over_a_previous_restore() {
    let src = sqlite_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = SqliteDb::new("clean");
    haul(&["restore", a, &target.url()]).ok();
    target
        .conn()
        .execute("UPDATE texts SET t = 'changed' WHERE id = 3", [])
        .unwrap();
    let r = haul(&["restore", a, &target.url(), "--clean"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let v = haul(&["verify", a, "--against", &target.url()]).ok();
    assert_eq!(v.stdout.matches("identical").count(), 9, "{}", v.stdout);
    let objects = "SELECT type, name, tbl_name, sql FROM sqlite_master
                    WHERE name NOT LIKE 'sqlite_stat%' ORDER BY type, name";
    assert_eq!(
        sqlite_rows(&target.conn(), objects),
        sqlite_rows(&src.conn(), objects)
    );
}

/// `restore --tables` into SQLite: the chosen tables, their indexes and
/// triggers; triggers of tables left out are not created.
#[test]
fn sqlite_restore_a_subset_of_tables() {
    let src = sqlite_hard();
    let dir = tempdir();
    let archive = dir.path().join("hard.haul");
    let a = archive.to_str().unwrap();
    haul(&["dump", &src.url(), "-o", a]).ok();
    let target = SqliteDb::new("subset");
    let r = haul(&["restore", a, &target.url(), "--tables", "texts"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let tc = target.conn();
    assert_eq!(
        sqlite_values(&tc, "texts"),
        sqlite_values(&src.conn(), "texts")
    );
    assert_eq!(
        sqlite_rows(
            &tc,
            "SELECT type, name FROM sqlite_master WHERE name NOT LIKE 'sqlite_stat%' ORDER BY name"
        ),
        [
            "index|sqlite_autoindex_texts_1",
            "view|text_names",
            "table|texts",
            "index|texts_t_idx"
        ]
    );
}
