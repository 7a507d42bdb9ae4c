//! Memory stays bounded by a chunk, whatever one value's size: a restore of
//! a table holding a 48 MiB bytea and a 48 MiB text value is measured by its
//! peak resident size (the kernel's count for the child, `wait4`).

use crate::common::*;
use std::process::{Command, Stdio};

/// Run haul, returning its exit code and peak resident size in MiB.
fn haul_peak_mib(args: &[&str]) -> (i32, u64, String) {
    let child = Command::new(env!("CARGO_BIN_EXE_haul"))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run the haul binary");
    let mut stderr = String::new();
    let mut child = child;
    if let Some(mut e) = child.stderr.take() {
        use std::io::Read;
        e.read_to_string(&mut stderr).expect("read stderr");
    }
    let mut status = 0;
    // SAFETY: rusage is plain data the kernel fills; the pid is our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = child.id() as libc::pid_t;
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(r, pid, "wait4 failed");
    let code = if libc::WIFEXITED(status) {
        libc::WEXITSTATUS(status)
    } else {
        -1
    };
    (code, usage.ru_maxrss as u64 / 1024, stderr)
}

#[test]
fn a_big_value_is_held_about_once_on_restore() {
    let dir = tempdir();
    let pg = PgDb::new("haul_mem");
    pg.sql(
        "CREATE TABLE b (id int PRIMARY KEY, v bytea, t text);
         INSERT INTO b SELECT 1, decode(repeat('ab', 48 * 1024 * 1024), 'hex'), NULL;
         INSERT INTO b VALUES (2, NULL, repeat('x', 48 * 1024 * 1024));",
    );
    let a = dir.path().join("big.haul");
    haul(&["dump", "-q", &pg.url(), "-o", a.to_str().unwrap()]).ok();
    // The bytea is 96 MiB of hex in its chunk: held once, plus the binary
    // value where the driver needs it (SQLite copies a bound blob again),
    // plus buffers. Before chunks were read in place it was 5 to 7 times
    // the chunk.
    let limit = 96 * 3 + 32;
    let pg2 = PgDb::new("haul_mem_pg");
    let lite = SqliteDb::new("mem");
    let my = MyDb::new("haul_mem_my");
    for target in [pg2.url(), lite.url(), my.url()] {
        let (code, peak, err) =
            haul_peak_mib(&["restore", "-q", "--jobs", "1", a.to_str().unwrap(), &target]);
        assert_eq!(code, 0, "{target}: {err}");
        assert!(
            peak < limit,
            "{target}: restoring a 48 MiB value peaked at {peak} MiB (limit {limit})"
        );
    }
    assert_eq!(
        pg2.sql("SELECT id, md5(v), md5(t) FROM b ORDER BY id"),
        pg.sql("SELECT id, md5(v), md5(t) FROM b ORDER BY id")
    );
}
