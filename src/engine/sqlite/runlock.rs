//! The restore lock of a SQLite file: an exclusive `flock` on the sidecar
//! file `<db>.haul-lock`, which holds the holder's run id. SQLite's own
//! locks are `fcntl` byte ranges on the database file, which a process can
//! release from under itself; the sidecar never meets them. The kernel
//! drops the lock when its process dies.

use crate::engine::{describe_run, run_id, EngineError};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, Write};
use std::os::unix::fs::MetadataExt;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A held lock; dropping it removes the sidecar and releases the lock.
pub(super) struct RunLock {
    file: File,
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        // Removed while still held: a run that opened the old file finds
        // it is no longer at the path and tries again.
        let _ = std::fs::remove_file(&self.path);
        let _ = &self.file;
    }
}

/// The sidecar of database file `db`, beside the file its path resolves
/// to (a hard link elsewhere has its own).
fn sidecar(db: &Path) -> PathBuf {
    let db = std::fs::canonicalize(db).unwrap_or_else(|_| db.to_path_buf());
    let mut name = db.file_name().unwrap_or_default().to_os_string();
    name.push(".haul-lock");
    db.with_file_name(name)
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> EngineError {
    EngineError::Server {
        context: format!("{what} {}", path.display()),
        message: e.to_string(),
    }
}

/// `flock` without waiting: `Ok(false)` when another holds it.
fn try_flock(file: &File, how: libc::c_int) -> std::io::Result<bool> {
    // SAFETY: flock(2) on a descriptor this `File` owns.
    let r = unsafe { libc::flock(file.as_raw_fd(), how | libc::LOCK_NB) };
    if r == 0 {
        return Ok(true);
    }
    let e = std::io::Error::last_os_error();
    if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
        Ok(false)
    } else {
        Err(e)
    }
}

/// Who holds the lock, read from the sidecar.
fn read_holder(file: &mut File) -> String {
    let mut s = String::new();
    let _ = file.read_to_string(&mut s);
    match s.trim() {
        "" => "a run starting now".into(),
        run => describe_run(run),
    }
}

/// Take the lock of `db`; [`EngineError::Busy`] naming the holder if held.
pub(super) fn take(db: &Path, target: &str) -> Result<RunLock, EngineError> {
    let path = sidecar(db);
    loop {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| io_err("creating the restore lock", &path, e))?;
        if !try_flock(&file, libc::LOCK_EX).map_err(|e| io_err("locking", &path, e))? {
            return Err(EngineError::Busy {
                target: target.to_string(),
                holder: read_holder(&mut file),
            });
        }
        let held = file.metadata().map_err(|e| io_err("reading", &path, e))?;
        match std::fs::metadata(&path) {
            Ok(now) if now.dev() == held.dev() && now.ino() == held.ino() => {}
            // Removed or replaced by the run that just released it.
            _ => continue,
        }
        file.set_len(0)
            .and_then(|_| file.rewind())
            .and_then(|_| writeln!(file, "{}", run_id()))
            .map_err(|e| io_err("writing", &path, e))?;
        return Ok(RunLock { file, path });
    }
}

/// Who holds the lock of `db`, if anyone; takes nothing.
pub(super) fn holder(db: &Path) -> Result<Option<String>, EngineError> {
    let path = sidecar(db);
    let mut file = match File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err("opening", &path, e)),
    };
    if try_flock(&file, libc::LOCK_SH).map_err(|e| io_err("locking", &path, e))? {
        return Ok(None);
    }
    Ok(Some(read_holder(&mut file)))
}

/// The device and inode of database file `db`: the same file under any
/// path or hard link.
pub(super) fn identity(db: &Path, target: &str) -> Result<String, EngineError> {
    let m = std::fs::metadata(db).map_err(|e| EngineError::Connect {
        target: target.to_string(),
        reason: e.to_string(),
    })?;
    Ok(format!("sqlite:{}:{}", m.dev(), m.ino()))
}
