//! Passwords, from the URL or PGPASSWORD, never appear in any output or in
//! the archive, whether the command succeeds or fails.

use crate::common::*;

const SECRET: &str = "Sup3rS3cret";
/// Percent-encoded in the URL; haul decodes it to `Pa55@w0rd`.
const SECRET_ENCODED: &str = "Pa55%40w0rd";
const SECRET_DECODED: &str = "Pa55@w0rd";

fn assert_hidden(run: &Run, what: &str) {
    for s in [SECRET, SECRET_ENCODED, SECRET_DECODED] {
        assert!(
            !run.all().contains(s),
            "{what}: the password {s:?} was printed:\n{}",
            run.all()
        );
    }
}

fn assert_not_in_file(path: &std::path::Path) {
    let bytes = std::fs::read(path).unwrap();
    for s in [SECRET, SECRET_ENCODED, SECRET_DECODED] {
        assert!(
            !bytes.windows(s.len()).any(|w| w == s.as_bytes()),
            "{} holds the password {s:?}",
            path.display()
        );
    }
}

/// Every command, succeeding and failing, with the password given by
/// `url(user_pass, db)` and the environment `env`.
fn run_everything(url: &dyn Fn(&str) -> String, env: &[(&str, &str)]) {
    let src = PgDb::new("haul_secret_src");
    src.sql("CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    let dir = tempdir();
    let archive = dir.path().join("s.haul");
    let a = archive.to_str().unwrap();
    let target = PgDb::new("haul_secret_dst");
    let missing = unique("haul_secret_missing");

    let mut runs: Vec<(String, Run)> = Vec::new();
    let mut go = |what: &str, args: &[&str], code: i32| {
        let r = haul_env(args, env);
        assert_eq!(r.code, code, "{what}: {}", r.all());
        runs.push((what.to_string(), r));
    };
    // Succeeding.
    go("dump", &["dump", &url(&src.name), "-o", a], 0);
    go(
        "dump --json -v",
        &["dump", "-v", "--json", &url(&src.name), "-o", a],
        0,
    );
    go("plan", &["plan", a, &url(&target.name)], 0);
    go("plan --json", &["plan", "--json", a, &url(&target.name)], 0);
    go("restore", &["restore", a, &url(&target.name)], 0);
    go("verify", &["verify", a, "--against", &url(&target.name)], 0);
    go(
        "verify --json",
        &["verify", "--json", a, "--against", &url(&src.name)],
        0,
    );
    go("inspect", &["inspect", a], 0);
    go("inspect --json", &["inspect", "--json", a], 0);
    // Failing.
    go(
        "restore into non-empty (keys collide)",
        &["restore", a, &url(&target.name)],
        7,
    );
    go(
        "restore with an unfinished restore -v",
        &["restore", "-v", a, &url(&target.name)],
        5,
    );
    go(
        "restore --abandon",
        &["restore", "--abandon", a, &url(&target.name)],
        0,
    );
    go("dump unknown db", &["dump", &url(&missing), "-o", a], 3);
    go(
        "dump unknown db -v",
        &["dump", "-v", &url(&missing), "-o", a],
        3,
    );
    go("restore unknown db", &["restore", a, &url(&missing)], 3);
    go(
        "verify unknown db",
        &["verify", a, "--against", &url(&missing)],
        3,
    );
    go(
        "dump missing table",
        &["dump", &url(&src.name), "-o", a, "--tables", "nope"],
        2,
    );
    target.sql("UPDATE t SET v = 'changed' WHERE id = 1");
    go(
        "verify differs",
        &["verify", a, "--against", &url(&target.name)],
        6,
    );
    let unreachable = url(&src.name).replace(":5432/", ":1/");
    go("dump unreachable", &["dump", &unreachable, "-o", a], 3);
    go(
        "dump unreachable -v",
        &["dump", "-v", &unreachable, "-o", a],
        3,
    );
    let bad_port = url(&src.name).replace(":5432/", ":notaport/");
    go("bad port", &["dump", &bad_port, "-o", a], 2);
    go("bad port -v", &["dump", "-v", &bad_port, "-o", a], 2);
    let bad_scheme = url(&src.name).replace("postgres://", "oracle://");
    go("bad scheme", &["dump", &bad_scheme, "-o", a], 2);
    let bad_user = url(&src.name).replace("//postgres", "//no_such_role_haul");
    go("unknown user", &["dump", &bad_user, "-o", a], 3);

    for (what, r) in &runs {
        assert_hidden(r, what);
    }
    assert_not_in_file(&archive);
    // The failing runs still said what was wrong, with the URL shown.
    let (_, r) = runs.iter().find(|(w, _)| w == "dump unknown db").unwrap();
    assert!(r.stderr.contains(&missing), "{}", r.stderr);
}

#[test]
fn password_in_url_is_never_shown() {
    run_everything(
        &|db| format!("postgres://postgres:{SECRET}@{PG_HOST}:5432/{db}"),
        &[],
    );
}

#[test]
fn percent_encoded_password_in_url_is_never_shown() {
    run_everything(
        &|db| format!("postgres://postgres:{SECRET_ENCODED}@{PG_HOST}:5432/{db}"),
        &[],
    );
}

#[test]
fn pgpassword_is_never_shown() {
    run_everything(
        &|db| format!("postgres://postgres@{PG_HOST}:5432/{db}"),
        &[("PGPASSWORD", SECRET)],
    );
}
