//! `haul prune DIR`: retention for scheduled backups (see `retention`).

use super::Global;
use crate::archive::ArchiveReader;
use crate::backups::retention::{apply, Policy};
use crate::backups::DirLock;
use crate::cli::PruneArgs;
use crate::display::escape;
use crate::error::UsageError;
use crate::progress::human_bytes;
use anyhow::{Context, Result};
use std::path::PathBuf;
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

pub fn run(args: PruneArgs, g: &Global) -> Result<()> {
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
    if !args.dir.is_dir() {
        return Err(UsageError(format!("{} is not a directory", args.dir.display())).into());
    }
    let _lock = DirLock::take(&args.dir, true)?;
    let mut found: Vec<(PathBuf, i64, u64, String)> = Vec::new();
    let mut notes = Vec::new();
    let day_ago = SystemTime::now() - Duration::from_secs(86_400);
    let mut listing: Vec<PathBuf> = std::fs::read_dir(&args.dir)
        .with_context(|| format!("cannot list {}", args.dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    listing.sort();
    for path in listing {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let meta = match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_file() => m,
            _ => continue,
        };
        if name.starts_with('.') && name.contains(".haul.tmp-") {
            // A dump that never finished.
            if meta.modified().map(|t| t < day_ago).unwrap_or(false) {
                if !args.dry_run {
                    std::fs::remove_file(&path)
                        .with_context(|| format!("cannot remove {}", path.display()))?;
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
        let opened = ArchiveReader::open(&path).and_then(|r| {
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
                let started = r.manifest().started_at.clone();
                let secs = humantime::parse_rfc3339_weak(&started)
                    .ok()
                    .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                    .map(|d| d.as_micros() as i64);
                match secs {
                    Some(s) => found.push((path.clone(), s, meta.len(), started)),
                    None => {
                        crate::error::warned();
                        notes.push(format!(
                            "{name}: manifest time {started:?} unreadable; kept, not counted"
                        ))
                    }
                }
            }
            Err(e) => {
                crate::error::warned();
                notes.push(format!(
                    "{name}: not a complete, intact archive ({e}); kept, not counted"
                ))
            }
        }
    }
    let times: Vec<i64> = found.iter().map(|f| f.1).collect();
    let reasons = apply(&policy, &times);
    let mut entries: Vec<Entry> = found
        .iter()
        .zip(reasons)
        .map(|((p, _, bytes, started), reasons)| Entry {
            file: p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
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
            let p = args.dir.join(&e.file);
            std::fs::remove_file(&p).with_context(|| format!("cannot remove {}", p.display()))?;
        }
        freed += e.bytes;
    }
    let kept = entries.iter().filter(|e| e.keep).count();
    let removed = entries.len() - kept;
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
        eprintln!(
            "haul: {}kept {kept}, {} {removed} ({}){}",
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
    }
    Ok(())
}
