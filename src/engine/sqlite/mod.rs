//! SQLite: one read transaction for a dump, prepared inserts in one
//! transaction per chunk for a restore.
//!
//! SQLite stores a storage class per value, not per column. Each column has
//! an expected class from its declared type's affinity (INTEGER: integer,
//! REAL: real, TEXT: text, BLOB or none: blob, NUMERIC: integer, real, or
//! text that does not read as a number); values of that class are written
//! plainly, others with a storage-class tag (`\i:`, `\r:`, `\t:`, `\b:`; see
//! the codec), so every value comes back with its class. Reals are written
//! in Rust's shortest round-trip form, which always has a `.`, an `e`, `inf`
//! or `NaN`, so a NUMERIC column's integers and reals stay apart.

mod admin;
mod ddl;
mod introspect;
mod journal;
mod load;
mod runlock;
mod source;
mod target;
mod types;

pub use admin::SqliteAdmin;
pub use source::SqliteSource;
pub use target::SqliteTarget;

use super::EngineError;
use std::sync::{Mutex, MutexGuard};

/// A driver error with what was being done.
fn err(context: impl Into<String>, e: rusqlite::Error) -> EngineError {
    EngineError::Driver {
        context: context.into(),
        message: e.to_string(),
        source: Box::new(e),
    }
}

/// Lock a mutex, going on after a panic elsewhere poisoned it.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Run blocking SQLite work without stalling the async runtime.
fn blocking<R>(f: impl FnOnce() -> R) -> R {
    tokio::task::block_in_place(f)
}
