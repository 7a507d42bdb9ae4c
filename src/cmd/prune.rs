//! `haul prune DIR`: retention for scheduled backups (see `retention`), in
//! a local directory or under an S3 prefix.

use super::Global;
use crate::archive::{ArchiveError, ArchiveReader};
use crate::backups::retention::{apply, Policy};
use crate::backups::{BucketLock, DirLock, Held};
use crate::cli::PruneArgs;
use crate::display::escape;
use crate::error::UsageError;
use crate::progress::human_bytes;
use crate::storage::{Location, Store};
use crate::watch::Ran;
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// One archive found in the directory.
#[derive(Debug, serde::Serialize)]
struct Entry {
    file: String,
    started_at: String,
    bytes: u64,
    keep: bool,
    reasons: Vec<String>,
}

pub fn run(args: PruneArgs, g: &Global, ran: &mut Ran) -> Result<()> {
    let policy = Policy {
        last: args.keep_last,
        hourly: args.keep_hourly,
        daily: args.keep_daily,
        weekly: args.keep_weekly,
        monthly: args.keep_monthly,
        yearly: args.keep_yearly,
        within: args.keep_within.map(Duration::from),
    };
    if policy.is_empty() {
        return Err(UsageError(
            "give at least one --keep-* option (prune never removes every archive)".into(),
        )
        .into());
    }
    let dir = super::location(&args.dir)?;
    let access = super::access(&args.key, g)?;
    let store: Arc<dyn Store> = Arc::from(crate::storage::store(&dir, &g.s3)?);
    let _lock = match &dir {
        Location::Local(d) => {
            if !d.is_dir() {
                return Err(UsageError(format!("{} is not a directory", d.display())).into());
            }
            Held::Dir(DirLock::take(d, true)?)
        }
        _ => Held::Bucket(BucketLock::exclusive(Arc::clone(&store), &dir.to_string())?),
    };
    let mut found: Vec<(String, i64, u64, String)> = Vec::new();
    // The databases the archives hold (the metrics' label).
    let mut databases = std::collections::BTreeSet::new();
    let mut notes = Vec::new();
    let day_ago = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
        - 86_400;
    let listing = store.list().with_context(|| format!("cannot list {dir}"))?;
    for entry in listing {
        let name = entry.name.clone();
        if name.starts_with('.') && name.contains(".haul.tmp-") {
            // A dump that never finished.
            if entry.modified.is_some_and(|m| m < day_ago) {
                if !args.dry_run {
                    store
                        .delete(&name)
                        .with_context(|| format!("cannot remove {}", store.location(&name)))?;
                }
                notes.push(format!(
                    "{} the unfinished dump {name} (over a day old)",
                    if args.dry_run {
                        "would remove"
                    } else {
                        "removed"
                    }
                ));
            }
            continue;
        }
        if !name.ends_with(".haul") || name.starts_with('.') {
            continue;
        }
        let display = PathBuf::from(store.location(&name).to_string());
        let opened = store
            .open(&name)
            .map_err(ArchiveError::from)
            .and_then(|blob| ArchiveReader::open_blob(blob, &display, access.identities.as_ref()))
            .and_then(|r| {
                if !args.no_verify {
                    for t in &r.manifest().tables {
                        for c in &t.chunks {
                            r.check_chunk(&t.name, c)?;
                        }
                    }
                }
                Ok(r)
            });
        match opened {
            Ok(r) => {
                databases.insert(r.manifest().source.database.clone());
                let started = r.manifest().started_at.clone();
                let secs = humantime::parse_rfc3339_weak(&started)
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_micros() as i64);
                match secs {
                    Some(s) => found.push((name.clone(), s, entry.size, started)),
                    None => {
                        crate::error::warned();
                        notes.push(format!(
                            "{name}: manifest time {started:?} unreadable; kept, not counted"
                        ))
                    }
                }
            }
            Err(e) => {
                // A store that cannot be reached or refuses us is no
                // verdict on the archive.
                if e.storage().is_some_and(|s| s.is_connection()) {
                    return Err(e).with_context(|| format!("cannot read {}", display.display()));
                }
                crate::error::warned();
                notes.push(match e {
                    ArchiveError::NeedsIdentity { .. } | ArchiveError::WrongIdentity { .. } => {
                        format!("{name}: encrypted with age, and no --identity given opens it; kept, not counted")
                    }
                    e => format!("{name}: not a complete, intact archive ({e}); kept, not counted"),
                })
            }
        }
    }
    let times: Vec<i64> = found.iter().map(|f| f.1).collect();
    let reasons = apply(&policy, &times);
    let mut entries: Vec<Entry> = found
        .iter()
        .zip(reasons)
        .map(|((name, _, bytes, started), reasons)| Entry {
            file: name.clone(),
            started_at: started.clone(),
            bytes: *bytes,
            keep: !reasons.is_empty(),
            reasons,
        })
        .collect();
    entries.sort_by(|a, b| b.started_at.cmp(&a.started_at));
    let mut freed = 0;
    for e in entries.iter().filter(|e| !e.keep) {
        if !args.dry_run {
            store
                .delete(&e.file)
                .with_context(|| format!("cannot remove {}", store.location(&e.file)))?;
        }
        freed += e.bytes;
    }
    let kept = entries.iter().filter(|e| e.keep).count();
    let removed = entries.len() - kept;
    let summary = format!(
        "{}kept {kept}, {} {removed} ({}){}",
        if args.dry_run { "dry run: " } else { "" },
        if args.dry_run {
            "would remove"
        } else {
            "removed"
        },
        human_bytes(freed),
        if args.dry_run {
            "; nothing was removed"
        } else {
            ""
        }
    );
    ran.database = Some(databases.into_iter().collect::<Vec<_>>().join(","));
    ran.bytes = Some(if args.dry_run { 0 } else { freed });
    ran.summary = Some(summary.clone());
    if g.json {
        println!(
            "{}",
            serde_json::json!({
                "command": "prune", "dir": args.dir.display().to_string(), "dry_run": args.dry_run,
                "kept": kept, "removed": removed, "freed_bytes": freed, "archives": entries, "notes": notes,
            })
        );
        return Ok(());
    }
    for e in &entries {
        println!(
            "{:<7} {:<48} {}  {}",
            if e.keep {
                "keep"
            } else if args.dry_run {
                "would remove"
            } else {
                "remove"
            },
            escape(&e.file),
            escape(&e.started_at),
            e.reasons.join(", ")
        );
    }
    for n in &notes {
        println!("note    {}", escape(n));
    }
    if !g.quiet {
        eprintln!("haul: {}", escape(&summary));
    }
    Ok(())
}
