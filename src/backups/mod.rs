//! Scheduled backups: archive names under `dump --into`, retention for
//! `prune` (restic's semantics), and the lock both take: `flock` on a
//! local directory, lock objects on a bucket prefix.

pub mod bucket;
mod lock;
mod naming;
pub mod retention;

pub use bucket::BucketLock;
pub use lock::{DirLock, LOCK};
pub use naming::archive_name;

use crate::error::UsageError;
use crate::storage::{Location, S3Config};
use anyhow::Result;
use std::sync::Arc;

/// The lock a run holds on a backup directory or prefix.
pub enum Held {
    Dir(DirLock),
    Bucket(BucketLock),
}

/// Where `dump --into DIR` writes an archive named `name`: the location,
/// whether a local rename must not replace (it takes `-1`, `-2`, ...),
/// and the lock held until the dump ends.
pub fn into(dir: &Location, name: &str, s3: &S3Config) -> Result<(Location, bool, Held)> {
    match dir {
        Location::Local(d) => {
            if !d.is_dir() {
                return Err(UsageError(format!("{} is not a directory", d.display())).into());
            }
            let lock = DirLock::take(d, false)?;
            Ok((dir.join(name), true, Held::Dir(lock)))
        }
        Location::S3 { .. } => {
            let store: Arc<dyn crate::storage::Store> = Arc::from(crate::storage::store(dir, s3)?);
            let (lock, got) = BucketLock::for_dump(store, name, &dir.to_string())?;
            Ok((dir.join(&got), false, Held::Bucket(lock)))
        }
        Location::Stdout => {
            Err(UsageError("--into takes a directory or s3://BUCKET/PREFIX/".into()).into())
        }
    }
}
