//! Test hooks for `--resume`: with the `failpoints` feature (which the test
//! suite turns on) and `HAUL_FAILPOINT=NAME`, the process kills itself with
//! SIGKILL at point NAME (docs/restore.md lists them);
//! `HAUL_FAILPOINT=NAME:sleep=SECS` (or `NAME:sleep`, 10 s) makes it sleep
//! there instead. Release builds without the feature compile them to
//! nothing.

/// Kill the process (or sleep) here when `HAUL_FAILPOINT` names this point.
#[cfg(feature = "failpoints")]
pub fn failpoint(name: &str) {
    let Ok(v) = std::env::var("HAUL_FAILPOINT") else {
        return;
    };
    match v.rsplit_once(":sleep") {
        Some((point, secs)) if point == name => {
            let secs = secs.strip_prefix('=').and_then(|s| s.parse().ok());
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.unwrap_or(10.0)));
        }
        Some(_) => {}
        None if v == name => {
            // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
            unsafe {
                libc::kill(libc::getpid(), libc::SIGKILL);
            }
        }
        None => {}
    }
}

/// Kill the process (or sleep) here when `HAUL_FAILPOINT` names this point.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn failpoint(_name: &str) {}

/// The failpoint `chunk:N`, reached when this process has loaded N chunks.
#[cfg(feature = "failpoints")]
pub fn chunk_failpoint() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static LOADED: AtomicUsize = AtomicUsize::new(0);
    if std::env::var_os("HAUL_FAILPOINT").is_some() {
        failpoint(&format!(
            "chunk:{}",
            LOADED.fetch_add(1, Ordering::AcqRel) + 1
        ));
    }
}

/// The failpoint `chunk:N`, reached when this process has loaded N chunks.
#[cfg(not(feature = "failpoints"))]
#[inline(always)]
pub fn chunk_failpoint() {}
