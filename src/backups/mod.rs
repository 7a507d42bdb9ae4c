//! Scheduled backups: archive names under `dump --into`, retention for
//! `prune` (restic's semantics), and the directory lock both take.

mod lock;
mod naming;
pub mod retention;

pub use lock::{DirLock, LOCK};
pub use naming::archive_name;
