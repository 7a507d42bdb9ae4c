//! The advisory lock on a backup directory: dumps share it, prune holds it
//! alone.

use anyhow::{Context, Result};
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::io::AsRawFd;
use std::path::Path;

/// Name of the lock file in a backup directory.
pub const LOCK: &str = ".haul.lock";

/// An advisory lock on a backup directory: dumps share it, prune holds it
/// alone. Released when dropped (closing the file releases the lock).
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Take the lock; `exclusive` for prune. Fails at once if taken.
    pub fn take(dir: &Path, exclusive: bool) -> Result<DirLock> {
        let path = dir.join(LOCK);
        let f = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        let op = if exclusive {
            libc::LOCK_EX
        } else {
            libc::LOCK_SH
        } | libc::LOCK_NB;
        // SAFETY: flock on a file descriptor we own.
        if unsafe { libc::flock(f.as_raw_fd(), op) } != 0 {
            return Err(crate::error::RefusedError(format!(
                "{} is busy: {} runs there now; try again when it has finished",
                dir.display(),
                if exclusive {
                    "a dump or a prune"
                } else {
                    "a prune"
                }
            ))
            .into());
        }
        Ok(DirLock { _file: f })
    }
}
