//! Locks on a bucket prefix, kept as restic keeps them: each run writes a
//! small lock object under `PREFIX/.haul-locks/`, then lists the others.
//! A prune needs to be alone; dumps share the prefix with each other but
//! not with a prune; a dump's lock claims the archive name it writes, so
//! two dumps in the same second never take the same key. A run that sees
//! a conflicting lock removes its own and yields: of two runs, at least
//! the later one to list sees the other (listings are strongly
//! consistent), so both can never proceed. Locks are refreshed every five
//! minutes; one not refreshed for thirty is stale (its run was killed)
//! and ignored, and removed by the next prune.

use crate::error::RefusedError;
use crate::storage::{StorageError, Store};
use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Where lock objects live under a backup prefix.
pub const LOCK_DIR: &str = ".haul-locks";
/// A lock older than this (not refreshed) is stale.
const STALE_SECS: i64 = 30 * 60;
/// How often a held lock is written again.
const REFRESH: Duration = Duration::from_secs(5 * 60);

/// What a lock object holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Body {
    /// `dump` or `prune`.
    kind: String,
    host: String,
    pid: u32,
    /// Last written, seconds since the epoch.
    time: i64,
    /// The archive name a dump writes.
    #[serde(default)]
    name: Option<String>,
}

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

/// A lock held on a bucket prefix; released (its object deleted) when
/// dropped.
pub struct BucketLock {
    store: Arc<dyn Store>,
    object: String,
    stop: Arc<(Mutex<bool>, Condvar)>,
    refresher: Option<JoinHandle<()>>,
}

/// The live locks other than `own`. A lock object that cannot be parsed
/// counts as a live prune (the safe reading).
fn others(store: &dyn Store, own: &str) -> Result<Vec<(String, Body)>, StorageError> {
    let mut out = Vec::new();
    for e in store.list_under(LOCK_DIR)? {
        let object = format!("{LOCK_DIR}/{}", e.name);
        if object == own {
            continue;
        }
        let Some(bytes) = store.get_small(&object)? else {
            continue;
        };
        let body = serde_json::from_slice::<Body>(&bytes).unwrap_or(Body {
            kind: "prune".into(),
            host: "?".into(),
            pid: 0,
            time: now(),
            name: None,
        });
        out.push((object, body));
    }
    Ok(out)
}

fn describe(b: &Body) -> String {
    format!("a {} (host {}, pid {})", b.kind, b.host, b.pid)
}

impl BucketLock {
    fn write(store: &dyn Store, object: &str, body: &Body) -> Result<(), StorageError> {
        let json = serde_json::to_vec(body).unwrap_or_default();
        store.put_small(object, &json)
    }

    fn hold(store: Arc<dyn Store>, object: String, body: Body) -> BucketLock {
        let stop = Arc::new((Mutex::new(false), Condvar::new()));
        let (s2, st2, o2) = (Arc::clone(&store), Arc::clone(&stop), object.clone());
        let refresher = std::thread::spawn(move || {
            let mut body = body;
            let (lock, cv) = &*st2;
            let Ok(mut stopped) = lock.lock() else { return };
            while !*stopped {
                let Ok((g, _)) = cv.wait_timeout(stopped, REFRESH) else {
                    return;
                };
                stopped = g;
                if *stopped {
                    return;
                }
                body.time = now();
                let _ = BucketLock::write(s2.as_ref(), &o2, &body);
            }
        });
        BucketLock {
            store,
            object,
            stop,
            refresher: Some(refresher),
        }
    }

    /// Take the prefix alone (for prune); stale locks found are removed.
    pub fn exclusive(store: Arc<dyn Store>, at: &str) -> Result<BucketLock> {
        let object = format!("{LOCK_DIR}/prune-{}.json", uuid::Uuid::new_v4().simple());
        let body = Body {
            kind: "prune".into(),
            host: host(),
            pid: std::process::id(),
            time: now(),
            name: None,
        };
        Self::write(store.as_ref(), &object, &body)?;
        let found = match others(store.as_ref(), &object) {
            Ok(f) => f,
            Err(e) => {
                let _ = store.delete(&object);
                return Err(e.into());
            }
        };
        let (stale, live): (Vec<_>, Vec<_>) = found
            .into_iter()
            .partition(|(_, b)| now() - b.time > STALE_SECS);
        if let Some((_, b)) = live.first() {
            let _ = store.delete(&object);
            return Err(RefusedError(format!(
                "{at} is busy: {} runs there now; try again when it has finished",
                describe(b)
            ))
            .into());
        }
        for (o, _) in stale {
            let _ = store.delete(&o);
        }
        Ok(Self::hold(store, object, body))
    }

    /// Take the prefix shared with other dumps, claiming an archive name:
    /// `wanted`, or `wanted` with `-1`, `-2`, ... before its extension
    /// when an archive or another dump has it. Returns the lock and the
    /// name.
    pub fn for_dump(store: Arc<dyn Store>, wanted: &str, at: &str) -> Result<(BucketLock, String)> {
        let object = format!("{LOCK_DIR}/dump-{}.json", uuid::Uuid::new_v4().simple());
        let (stem, ext) = match wanted.rsplit_once('.') {
            Some((s, e)) if !s.is_empty() => (s.to_string(), format!(".{e}")),
            _ => (wanted.to_string(), String::new()),
        };
        for n in 0..1000 {
            let name = if n == 0 {
                wanted.to_string()
            } else {
                format!("{stem}-{n}{ext}")
            };
            if store.exists(&name)? {
                continue;
            }
            let body = Body {
                kind: "dump".into(),
                host: host(),
                pid: std::process::id(),
                time: now(),
                name: Some(name.clone()),
            };
            Self::write(store.as_ref(), &object, &body)?;
            let checked = others(store.as_ref(), &object).and_then(|found| {
                let live: Vec<Body> = found
                    .into_iter()
                    .map(|(_, b)| b)
                    .filter(|b| now() - b.time <= STALE_SECS)
                    .collect();
                Ok((live, store.exists(&name)?))
            });
            let (live, taken) = match checked {
                Ok(x) => x,
                Err(e) => {
                    let _ = store.delete(&object);
                    return Err(e.into());
                }
            };
            if let Some(p) = live.iter().find(|b| b.kind != "dump") {
                let _ = store.delete(&object);
                return Err(RefusedError(format!(
                    "{at} is busy: {} runs there now; try again when it has finished",
                    describe(p)
                ))
                .into());
            }
            if taken || live.iter().any(|b| b.name.as_deref() == Some(&name)) {
                continue;
            }
            return Ok((Self::hold(store, object, body), name));
        }
        let _ = store.delete(&object);
        Err(RefusedError(format!(
            "{at}: no free archive name after {wanted} and 999 others"
        ))
        .into())
    }
}

impl Drop for BucketLock {
    fn drop(&mut self) {
        let (lock, cv) = &*self.stop;
        if let Ok(mut s) = lock.lock() {
            *s = true;
        }
        cv.notify_all();
        if let Some(h) = self.refresher.take() {
            let _ = h.join();
        }
        let _ = self.store.delete(&self.object);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::local::Dir;

    fn store(dir: &std::path::Path) -> Arc<dyn Store> {
        Arc::new(Dir::new(dir))
    }

    fn locks(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir.join(LOCK_DIR)).map_or(0, |d| d.count())
    }

    #[test]
    fn dumps_share_and_claim_names_prune_is_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let (a, name_a) = BucketLock::for_dump(Arc::clone(&s), "db.haul", "here").unwrap();
        let (b, name_b) = BucketLock::for_dump(Arc::clone(&s), "db.haul", "here").unwrap();
        assert_eq!((name_a.as_str(), name_b.as_str()), ("db.haul", "db-1.haul"));
        // A finished archive holds its name too.
        std::fs::write(dir.path().join("db-2.haul"), b"x").unwrap();
        let (c, name_c) = BucketLock::for_dump(Arc::clone(&s), "db.haul", "here").unwrap();
        assert_eq!(name_c, "db-3.haul");
        let busy = BucketLock::exclusive(Arc::clone(&s), "here").err().unwrap();
        assert!(busy.to_string().contains("here is busy: a dump"), "{busy}");
        assert_eq!(locks(dir.path()), 3, "the refused prune left no lock");
        drop((a, b, c));
        assert_eq!(locks(dir.path()), 0, "released locks are removed");
        let p = BucketLock::exclusive(Arc::clone(&s), "here").unwrap();
        let refused = BucketLock::for_dump(Arc::clone(&s), "db.haul", "here")
            .err()
            .unwrap();
        assert!(refused.to_string().contains("a prune"), "{refused}");
        assert!(BucketLock::exclusive(Arc::clone(&s), "here").is_err());
        drop(p);
        assert_eq!(locks(dir.path()), 0);
    }

    #[test]
    fn stale_locks_are_ignored_and_pruned_unreadable_ones_are_not() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let stale = Body {
            kind: "dump".into(),
            host: "h".into(),
            pid: 7,
            time: now() - STALE_SECS - 60,
            name: Some("db.haul".into()),
        };
        BucketLock::write(s.as_ref(), &format!("{LOCK_DIR}/dump-old.json"), &stale).unwrap();
        let (d, name) = BucketLock::for_dump(Arc::clone(&s), "db.haul", "here").unwrap();
        assert_eq!(name, "db.haul", "a stale claim does not count");
        drop(d);
        let p = BucketLock::exclusive(Arc::clone(&s), "here").unwrap();
        drop(p);
        assert_eq!(locks(dir.path()), 0, "prune removed the stale lock");
        s.put_small(&format!("{LOCK_DIR}/junk.json"), b"{not json")
            .unwrap();
        assert!(BucketLock::exclusive(Arc::clone(&s), "here").is_err());
    }
}
