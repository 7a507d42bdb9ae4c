//! User-facing errors and the documented exit codes.

use crate::archive::ArchiveError;
use crate::conn::{ConnError, UrlError};
use crate::engine::EngineError;
use crate::storage::StorageError;
use thiserror::Error;

/// Exit codes (README.md "Exit codes" lists them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Failure = 1,
    Usage = 2,
    Connection = 3,
    BadArchive = 4,
    Refused = 5,
    Mismatch = 6,
    Duplicates = 7,
    /// The work completed, with warnings the user should read; also when a
    /// report about it (a `--notify` ping, `--on-failure`, `--metrics-file`)
    /// failed: the work is done, so never a failure code.
    Warnings = 8,
}

static WARNED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Record that the command completed with warnings (exit 8).
pub fn warned() {
    WARNED.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Whether a warning was recorded.
pub fn has_warned() -> bool {
    WARNED.load(std::sync::atomic::Ordering::Relaxed)
}

/// Bad arguments found while validating them into a plan.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// The target is not in a state the restore may write to.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct RefusedError(pub String);

/// `verify` found a difference.
#[derive(Debug, Error)]
#[error("{0}")]
pub struct MismatchError(pub String);

/// The exit code for an error: the first classified cause in its chain.
pub fn exit_code(err: &anyhow::Error) -> Exit {
    for cause in err.chain() {
        if cause.is::<UsageError>() || cause.is::<UrlError>() || cause.is::<ConnError>() {
            return Exit::Usage;
        }
        if cause.is::<RefusedError>() {
            return Exit::Refused;
        }
        if cause.is::<MismatchError>() {
            return Exit::Mismatch;
        }
        if cause.is::<crate::restore::DuplicatesError>() {
            return Exit::Duplicates;
        }
        if let Some(s) = cause.downcast_ref::<StorageError>() {
            return storage_exit(s);
        }
        if let Some(a) = cause.downcast_ref::<ArchiveError>() {
            if let Some(s) = a.storage() {
                return storage_exit(s);
            }
            return match a {
                ArchiveError::Write { .. } => Exit::Failure,
                ArchiveError::Symlink { .. } => Exit::Refused,
                ArchiveError::Io { source, .. }
                    if source.kind() == std::io::ErrorKind::NotFound =>
                {
                    Exit::Usage
                }
                _ => Exit::BadArchive,
            };
        }
        if let Some(e) = cause.downcast_ref::<EngineError>() {
            return match e {
                EngineError::Connect { .. }
                | EngineError::Auth { .. }
                | EngineError::NoDatabase { .. } => Exit::Connection,
                EngineError::NoTable { .. }
                | EngineError::NoSchema { .. }
                | EngineError::NoSchemas { .. } => Exit::Usage,
                EngineError::Unsafe(_) => Exit::BadArchive,
                EngineError::Busy { .. }
                | EngineError::Reserved { .. }
                | EngineError::Exists { .. }
                | EngineError::Refused(_) => Exit::Refused,
                _ => Exit::Failure,
            };
        }
    }
    Exit::Failure
}

/// The exit code for a store's error: 3 when it cannot be reached or
/// refuses the credentials, 2 for a missing object or unusable settings.
fn storage_exit(s: &StorageError) -> Exit {
    match s {
        StorageError::Denied { .. } | StorageError::Unreachable { .. } => Exit::Connection,
        StorageError::NotFound { .. } | StorageError::Config(_) => Exit::Usage,
        StorageError::Other { .. } | StorageError::Changed { .. } => Exit::Failure,
        StorageError::Local { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            Exit::Usage
        }
        StorageError::Local { .. } => Exit::Failure,
    }
}

/// The one line shown without `-v`: the command's context and the most
/// specific cause that says something new. Going up from the root, a cause
/// its parent already quotes gives way to the parent, and so does a
/// driver's error to the engine error that describes it.
pub fn one_line(err: &anyhow::Error) -> String {
    let chain: Vec<&(dyn std::error::Error + 'static)> = err.chain().collect();
    let top = err.to_string();
    let mut i = chain.len() - 1;
    while i > 1 {
        let parent = chain[i - 1];
        let quoted = parent.to_string().contains(&chain[i].to_string());
        let described = matches!(
            parent.downcast_ref::<EngineError>(),
            Some(EngineError::Driver { .. })
        );
        if quoted || described {
            i -= 1;
        } else {
            break;
        }
    }
    let detail = chain[i].to_string();
    if i == 0 || top.contains(&detail) {
        top
    } else {
        format!("{top}: {detail}")
    }
}
