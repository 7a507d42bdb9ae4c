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
    // Failing: the target's rows now differ from the archive's.
    target.sql("UPDATE t SET v = v || '!'");
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

/// Halves of a password that holds a character URLs reserve; neither half
/// may appear in any output.
const HALF_A: &str = "Xq7Lm";
const HALF_B: &str = "Zk9Wv";

/// A password with an unencoded `/`, `?`, `#` or `@` in the URL: every
/// command fails or works without printing any part of it.
#[test]
fn password_with_reserved_characters_is_never_shown() {
    let dir = tempdir();
    let archive = dir.path().join("demo.haul");
    let a = archive.to_str().unwrap();
    let demo = format!("sqlite://{}", fixtures().join("demo.db").display());
    haul(&["dump", &demo, "-o", a, "-q"]).ok();
    let copy_to = format!("sqlite://{}", dir.path().join("copy.db").display());
    let missing = unique("haul_secret_missing");
    let mut urls = Vec::new();
    for scheme in ["postgres", "mysql"] {
        let port = if scheme == "postgres" { 5432 } else { 3306 };
        for sep in ["/", "?", "#", "@", "@/", "/@", "?/", "#@"] {
            urls.push(format!(
                "{scheme}://root:{HALF_A}{sep}{HALF_B}@127.0.0.1:{port}/{missing}"
            ));
        }
        // Not even a port after the host, or a stray `@` in the database.
        urls.push(format!("{scheme}://root:{HALF_A}/{HALF_B}@h/x@y"));
        urls.push(format!("{scheme}://root:{HALF_A}/{HALF_B}"));
    }
    urls.push(format!("{HALF_A}:{HALF_B}@127.0.0.1/db"));
    urls.push(format!("postgres:/root:{HALF_A}@{HALF_B}/db"));
    for url in &urls {
        let out = dir.path().join("out.haul");
        let o = out.to_str().unwrap();
        let runs: [(&str, Vec<&str>); 6] = [
            ("dump", vec!["dump", url, "-o", o]),
            ("restore", vec!["restore", a, url]),
            ("plan", vec!["plan", a, url]),
            ("verify", vec!["verify", a, "--against", url]),
            ("copy from", vec!["copy", url, &copy_to]),
            ("copy into", vec!["copy", &demo, url]),
        ];
        for (what, args) in runs {
            for verbose in [false, true] {
                let mut args = args.clone();
                if verbose {
                    args.push("-v");
                }
                let r = haul(&args);
                assert_ne!(r.code, 0, "{what} {url}: {}", r.all());
                for half in [HALF_A, HALF_B] {
                    assert!(
                        !r.all().contains(half),
                        "{what} -v={verbose} with {url}: {half:?} was printed:\n{}",
                        r.all()
                    );
                }
            }
        }
    }
}

/// A config file that is not valid TOML, or holds a value of the wrong
/// type, is reported by line, column and key, never by quoting the line.
#[test]
fn config_file_errors_do_not_quote_the_line() {
    let dir = tempdir();
    let cfg = dir.path().join("haul.toml");
    let c = cfg.to_str().unwrap();
    let cases = [
        // Unterminated string.
        format!("[connections]\nprod = \"postgres://u:{SECRET}@h/db\n"),
        // A string where a number goes (serde quotes the value).
        format!("[dump]\njobs = \"postgres://u:{SECRET}@h/db\"\n"),
        // A bare word.
        format!("[connections]\nprod = postgres://u:{SECRET}@h/db\n"),
    ];
    for text in &cases {
        std::fs::write(&cfg, text).unwrap();
        let r = haul(&["--config", c, "inspect", "x.haul"]).expect(2);
        assert!(!r.all().contains(SECRET), "{text}: {}", r.all());
        assert!(r.stderr.contains("haul.toml"), "{}", r.stderr);
        assert!(r.stderr.contains("line 2"), "{}", r.stderr);
        let key = if text.contains("jobs") {
            "jobs"
        } else {
            "prod"
        };
        assert!(r.stderr.contains(key), "{}", r.stderr);
    }
}

/// A MariaDB user with a password, and a database only it may use.
struct MyUser {
    db: MyDb,
    user: String,
}

const MY_PASSWORD: &str = "Src-Pw_41";

impl MyUser {
    fn new() -> MyUser {
        let db = MyDb::new("haul_pwsrc");
        db.sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
        let user = unique("hpw");
        for host in ["%", "localhost", "127.0.0.1"] {
            mysql(
                "",
                &format!(
                    "CREATE USER '{user}'@'{host}' IDENTIFIED BY '{MY_PASSWORD}'; \
                     GRANT ALL ON `{}`.* TO '{user}'@'{host}'",
                    db.name
                ),
            );
        }
        MyUser { db, user }
    }
    fn url(&self, password: Option<&str>) -> String {
        match password {
            Some(p) => format!("mysql://{}:{p}@127.0.0.1:3306/{}", self.user, self.db.name),
            None => format!("mysql://{}@127.0.0.1:3306/{}", self.user, self.db.name),
        }
    }
}

impl Drop for MyUser {
    fn drop(&mut self) {
        for host in ["%", "localhost", "127.0.0.1"] {
            let _ = std::process::Command::new("mariadb")
                .args(["-h", "127.0.0.1", "-P", "3306", "-u", "root", "-e"])
                .arg(format!("DROP USER IF EXISTS '{}'@'{host}'", self.user))
                .output();
        }
    }
}

/// Passwords from --password-file, MYSQL_PWD and ~/.my.cnf, in that order
/// after the URL's; none is ever printed.
#[test]
fn mysql_password_sources_and_precedence() {
    let u = MyUser::new();
    let home = tempdir();
    let h = home.path().to_str().unwrap();
    let files = tempdir();
    let write = |name: &str, text: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = files.path().join(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        p.to_str().unwrap().to_string()
    };
    let right = write("right", &format!("{MY_PASSWORD}\nsecond line\n"));
    let wrong = write("wrong", "nope\n");
    let mycnf = home.path().join(".my.cnf");
    let set_mycnf = |password: &str| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(
            &mycnf,
            format!("# haul test\n[mysql]\npassword=nope\n[client]\nuser = other\npassword = \"{password}\"  # quoted\n"),
        )
        .unwrap();
        std::fs::set_permissions(&mycnf, std::fs::Permissions::from_mode(0o600)).unwrap();
    };
    let out = files.path().join("x.haul");
    let o = out.to_str().unwrap();
    let check = |what: &str, pw: Option<&str>, extra: &[&str], env: &[(&str, &str)], code: i32| {
        let url = u.url(pw);
        let mut args = vec!["dump", url.as_str(), "-o", o, "-q"];
        args.extend_from_slice(extra);
        let mut env = env.to_vec();
        env.push(("HOME", h));
        let r = haul_env(&args, &env);
        // Exit 8: dumped, warning that the user may not lock tables.
        let got = if r.code == 8 { 0 } else { r.code };
        assert_eq!(got, code, "{what}: {}", r.all());
        assert!(!r.all().contains(MY_PASSWORD), "{what}: {}", r.all());
    };
    let pwf = |p: &str| ["--password-file".to_string(), p.to_string()];
    check("no password", None, &[], &[], 3);
    check("MYSQL_PWD", None, &[], &[("MYSQL_PWD", MY_PASSWORD)], 0);
    let r = pwf(&right);
    check("--password-file", None, &[&r[0], &r[1]], &[], 0);
    check(
        "--password-file over MYSQL_PWD",
        None,
        &[&r[0], &r[1]],
        &[("MYSQL_PWD", "nope")],
        0,
    );
    let w = pwf(&wrong);
    check(
        "URL over --password-file",
        Some(MY_PASSWORD),
        &[&w[0], &w[1]],
        &[],
        0,
    );
    check(
        "a wrong URL password",
        Some("nope"),
        &[&r[0], &r[1]],
        &[],
        3,
    );
    let missing = files.path().join("missing");
    check(
        "unreadable --password-file",
        None,
        &["--password-file", missing.to_str().unwrap()],
        &[],
        2,
    );
    set_mycnf(MY_PASSWORD);
    check("~/.my.cnf", None, &[], &[], 0);
    check(
        "~/.my.cnf under --password-file",
        None,
        &[&w[0], &w[1]],
        &[],
        3,
    );
    set_mycnf("nope");
    check(
        "MYSQL_PWD over ~/.my.cnf",
        None,
        &[],
        &[("MYSQL_PWD", MY_PASSWORD)],
        0,
    );
    check("a wrong ~/.my.cnf", None, &[], &[], 3);
}

/// A ~/.pgpass (or PGPASSFILE) that others may read is ignored with a
/// warning naming the file, never its content.
#[test]
fn pgpass_with_loose_permissions_is_ignored_with_a_warning() {
    use std::os::unix::fs::PermissionsExt;
    let src = PgDb::new("haul_pgpass");
    src.sql("CREATE TABLE t (id int PRIMARY KEY)");
    let dir = tempdir();
    let pgpass = dir.path().join("pgpass");
    std::fs::write(&pgpass, format!("*:*:*:*:{SECRET}\n")).unwrap();
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = dir.path().join("x.haul");
    let url = format!("postgres://postgres@{PG_HOST}:5432/{}", src.name);
    let env = [
        ("PGPASSFILE", pgpass.to_str().unwrap()),
        ("HOME", dir.path().to_str().unwrap()),
    ];
    let r = haul_env(&["dump", &url, "-o", out.to_str().unwrap(), "-q"], &env).ok();
    assert!(r.stderr.contains("warning"), "{}", r.stderr);
    assert!(r.stderr.contains(pgpass.to_str().unwrap()), "{}", r.stderr);
    assert!(!r.all().contains(SECRET), "{}", r.all());
    std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(0o600)).unwrap();
    let r = haul_env(&["dump", &url, "-o", out.to_str().unwrap(), "-q"], &env).ok();
    assert!(!r.stderr.contains("warning"), "{}", r.stderr);
}
