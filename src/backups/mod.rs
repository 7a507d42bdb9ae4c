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

/// Whether `loc` names a backup directory or bucket prefix rather than an
/// archive: a local directory, or an S3 key that is empty or ends in `/`.
pub fn is_dir(loc: &Location) -> bool {
    match loc {
        Location::Local(p) => p.is_dir(),
        Location::S3 { key, .. } => key.is_empty() || key.ends_with('/'),
        Location::Stdout => false,
    }
}

/// The archive written last in a backup directory or bucket prefix (by
/// the time the store gives, then by name): what a scheduled test restore
/// checks.
pub fn newest(dir: &Location, s3: &S3Config) -> Result<Location> {
    let store = crate::storage::store(dir, s3)?;
    let listing = store
        .list()
        .map_err(anyhow::Error::from)
        .map_err(|e| e.context(format!("cannot list {dir}")))?;
    let newest = listing
        .into_iter()
        .filter(|e| e.name.ends_with(".haul") && !e.name.starts_with('.'))
        .max_by(|a, b| (a.modified, &a.name).cmp(&(b.modified, &b.name)));
    match newest {
        Some(e) => Ok(store.location(&e.name)),
        None => Err(UsageError(format!("{dir} holds no archive (no *.haul file)")).into()),
    }
}
