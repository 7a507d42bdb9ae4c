//! TLS to both servers. `scripts/services.sh` gives them a certificate from
//! a test CA in /var/lib/haul-test-tls (for 127.0.0.1 and
//! haul-test-server, not localhost) and a role `haul_tls` that may only log
//! in over TLS (PostgreSQL: a hostssl-only pg_hba rule; MariaDB: REQUIRE
//! SSL). A run as `haul_tls` that succeeds was encrypted end to end.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

const TLS_DIR: &str = "/var/lib/haul-test-tls";

/// The test CA's certificate.
fn ca() -> String {
    let p = Path::new(TLS_DIR).join("ca.pem");
    assert!(
        p.is_file(),
        "{} is missing: run scripts/services.sh",
        p.display()
    );
    p.display().to_string()
}

/// A CA of its own in `dir`, which signed nothing the servers hold.
fn other_ca(dir: &Path) -> PathBuf {
    let (key, cert) = (dir.join("other.key"), dir.join("other.pem"));
    let out = Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        ])
        .args(["-subj", "/CN=not the haul test CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("cannot run openssl");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    cert
}

/// A PostgreSQL database with one small table that `haul_tls` can read.
fn pg_source() -> PgDb {
    let db = PgDb::new("haul_tls_src");
    db.sql(
        "CREATE TABLE item (id int PRIMARY KEY, name text); \
         INSERT INTO item SELECT g, 'n' || g FROM generate_series(1, 500) g",
    );
    db
}

fn pg_url(host: &str, db: &str, query: &str) -> String {
    format!("postgres://haul_tls@{host}:5432/{db}?{query}")
}

fn my_url(host: &str, db: &str, query: &str) -> String {
    format!("mysql://haul_tls@{host}:3306/{db}?{query}")
}

fn dump(url: &str, dir: &Path) -> Run {
    let a = dir.join(format!("{}.haul", unique("tls")));
    haul(&["dump", url, "-o", a.to_str().unwrap(), "--jobs", "3", "-q"])
}

#[test]
fn pg_verify_full_dump_restore_verify_all_encrypted() {
    let src = pg_source();
    let dir = tempdir();
    let q = format!("sslmode=verify-full&sslrootcert={}", ca());
    let a = dir.path().join("a.haul");
    let url = pg_url(PG_HOST, &src.name, &q);
    haul(&["dump", &url, "-o", a.to_str().unwrap(), "--jobs", "3", "-q"]).ok();

    // A target haul_tls owns: the restore pool connects over TLS too. (The
    // source's tables belong to postgres, which haul_tls cannot give them
    // to: --no-owner, as with pg_restore.)
    let dst = PgDb::new("haul_tls_dst");
    psql(
        "postgres",
        &format!("ALTER DATABASE \"{}\" OWNER TO haul_tls", dst.name),
    );
    let dst_url = pg_url(PG_HOST, &dst.name, &q);
    haul(&[
        "restore",
        a.to_str().unwrap(),
        &dst_url,
        "--jobs",
        "3",
        "--no-owner",
        "-q",
    ])
    .ok();
    assert_eq!(dst.sql("SELECT count(*) FROM item").trim(), "500");
    haul(&["verify", a.to_str().unwrap(), "--against", &dst_url, "-q"]).ok();

    // The same through PGSSLMODE / PGSSLROOTCERT instead of the URL.
    let bare = format!("postgres://haul_tls@{PG_HOST}:5432/{}", src.name);
    let b = dir.path().join("b.haul");
    haul_env(
        &["dump", &bare, "-o", b.to_str().unwrap(), "-q"],
        &[("PGSSLMODE", "verify-full"), ("PGSSLROOTCERT", &ca())],
    )
    .ok();
}

#[test]
fn mysql_verify_identity_copy_and_verify_all_encrypted() {
    let src = pg_source();
    let dst = MyDb::new("haul_tls_my");
    let pq = format!("sslmode=verify-full&sslrootcert={}", ca());
    let mq = format!("ssl-mode=verify_identity&ssl-ca={}", ca());
    let src_url = pg_url(PG_HOST, &src.name, &pq);
    let dst_url = my_url("127.0.0.1", &dst.name, &mq);
    haul(&["copy", &src_url, &dst_url, "--jobs", "3", "-q"]).ok();
    assert_eq!(dst.sql("SELECT COUNT(*) FROM item").trim(), "500");

    // MariaDB as the source: dump workers over TLS, then verify against it.
    let dir = tempdir();
    let a = dir.path().join("my.haul");
    haul(&[
        "dump",
        &dst_url,
        "-o",
        a.to_str().unwrap(),
        "--jobs",
        "3",
        "-q",
    ])
    .ok();
    haul(&["verify", a.to_str().unwrap(), "--against", &dst_url, "-q"]).ok();
}

#[test]
fn require_and_the_default_prefer_encrypt_without_a_ca() {
    let src = pg_source();
    let my = MyDb::new("haul_tls_req");
    my.sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1), (2)");
    let dir = tempdir();
    dump(&pg_url(PG_HOST, &src.name, "sslmode=require"), dir.path()).ok();
    dump(&pg_url(PG_HOST, &src.name, ""), dir.path()).ok();
    dump(
        &my_url("127.0.0.1", &my.name, "ssl-mode=REQUIRED"),
        dir.path(),
    )
    .ok();
    dump(&my_url("127.0.0.1", &my.name, ""), dir.path()).ok();
}

#[test]
fn verify_ca_skips_the_host_name_verify_full_checks_it() {
    // The certificate names 127.0.0.1 and haul-test-server, not localhost.
    let src = pg_source();
    let my = MyDb::new("haul_tls_name");
    my.sql("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1)");
    let dir = tempdir();
    let ca = ca();

    dump(
        &pg_url(
            "localhost",
            &src.name,
            &format!("sslmode=verify-ca&sslrootcert={ca}"),
        ),
        dir.path(),
    )
    .ok();
    let r = dump(
        &pg_url(
            "localhost",
            &src.name,
            &format!("sslmode=verify-full&sslrootcert={ca}"),
        ),
        dir.path(),
    )
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("not valid for name"), "{line}");

    dump(
        &my_url(
            "localhost",
            &my.name,
            &format!("ssl-mode=VERIFY_CA&ssl-ca={ca}"),
        ),
        dir.path(),
    )
    .ok();
    let r = dump(
        &my_url(
            "localhost",
            &my.name,
            &format!("ssl-mode=VERIFY_IDENTITY&ssl-ca={ca}"),
        ),
        dir.path(),
    )
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("not valid for name"), "{line}");
}

#[test]
fn a_wrong_ca_fails_in_one_line_with_exit_3() {
    let src = pg_source();
    let my = MyDb::new("haul_tls_wrong");
    let dir = tempdir();
    let other = other_ca(dir.path());
    let other = other.display();
    let r = dump(
        &pg_url(
            PG_HOST,
            &src.name,
            &format!("sslmode=verify-full&sslrootcert={other}"),
        ),
        dir.path(),
    )
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("UnknownIssuer"), "{line}");
    let r = dump(
        &my_url(
            "127.0.0.1",
            &my.name,
            &format!("ssl-mode=VERIFY_CA&ssl-ca={other}"),
        ),
        dir.path(),
    )
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("UnknownIssuer"), "{line}");

    // A root certificate file that is not there is named.
    let r = dump(
        &pg_url(
            PG_HOST,
            &src.name,
            "sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
        ),
        dir.path(),
    )
    .expect(3);
    let line = error_line(&r);
    assert!(line.contains("/nonexistent/ca.pem"), "{line}");
}

#[test]
fn disable_is_refused_by_a_tls_only_role() {
    let src = pg_source();
    let my = MyDb::new("haul_tls_off");
    let dir = tempdir();
    let r = dump(&pg_url(PG_HOST, &src.name, "sslmode=disable"), dir.path()).expect(3);
    let line = error_line(&r);
    assert!(line.contains("no encryption"), "{line}");
    let bare = format!("postgres://haul_tls@{PG_HOST}:5432/{}", src.name);
    let a = dir.path().join("env.haul");
    haul_env(
        &["dump", &bare, "-o", a.to_str().unwrap(), "-q"],
        &[("PGSSLMODE", "disable")],
    )
    .expect(3);
    let r = dump(
        &my_url("127.0.0.1", &my.name, "ssl-mode=disabled"),
        dir.path(),
    )
    .expect(3);
    error_line(&r);
}

#[test]
fn an_unknown_parameter_is_exit_2_naming_it() {
    let dir = tempdir();
    let r = dump(
        &format!("postgres://postgres@{PG_HOST}:5432/postgres?sslmod=require"),
        dir.path(),
    )
    .expect(2);
    let line = error_line(&r);
    assert!(line.contains("\"sslmod\""), "{line}");
    let r = dump(
        "mysql://root@127.0.0.1:3306/mysql?sslmode=REQUIRED",
        dir.path(),
    )
    .expect(2);
    let line = error_line(&r);
    assert!(
        line.contains("\"sslmode\"") && line.contains("ssl-mode"),
        "{line}"
    );
    let r = dump(
        "postgres://postgres@127.0.0.1/postgres?sslmode=verify-everything",
        dir.path(),
    )
    .expect(2);
    let line = error_line(&r);
    assert!(line.contains("verify-everything"), "{line}");
}
