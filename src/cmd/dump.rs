//! `haul dump`: a consistent snapshot into one archive.

use super::{filter, jobs, runtime, Global};
use crate::cli::DumpArgs;
use crate::conn::ConnSpec;
use crate::dump::dump;
use crate::error::UsageError;
use crate::progress::human_bytes;
use anyhow::{Context, Result};
use std::path::Path;

pub fn run(args: DumpArgs, g: &Global) -> Result<()> {
    let spec = ConnSpec::parse(&args.source, g.password_file.as_deref())?;
    let (out, lock) = match (&args.output, &args.into) {
        (_, Some(dir)) => {
            if !dir.is_dir() {
                return Err(UsageError(format!("{} is not a directory", dir.display())).into());
            }
            let name =
                crate::backups::archive_name(&args.name, &spec.database, &spec.engine.to_string())
                    .map_err(UsageError)?;
            (
                dir.join(name),
                Some(crate::backups::DirLock::take(dir, false)?),
            )
        }
        (Some(o), None) => (o.clone(), None),
        (None, None) => return Err(UsageError("give -o FILE or --into DIR".into()).into()),
    };
    if out != Path::new("-") && lock.is_none() {
        if out.is_dir() {
            return Err(UsageError(format!(
                "{} is a directory; give a file name (or --into DIR)",
                out.display()
            ))
            .into());
        }
        let parent = out
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        if !parent.is_dir() {
            return Err(
                UsageError(format!("directory {} does not exist", parent.display())).into(),
            );
        }
    }
    let jobs = jobs(args.jobs);
    let filter = filter(&args.tables);
    let rt = runtime(jobs)?;
    let mode = g.progress_mode(out == Path::new("-"));
    let summary = rt
        .block_on(async {
            tokio::select! {
                r = dump(&spec, &out, lock.is_some(), &filter, jobs, args.chunk_size, args.level, mode) => r,
                _ = interrupted() => {
                    crate::archive::writer::remove_unfinished();
                    anyhow::bail!("interrupted; no archive was written")
                }
            }
        })
        .with_context(|| format!("dump of {spec} failed"))?;
    if !summary.warnings.is_empty() {
        crate::error::warned();
    }
    let to_stdout = out == Path::new("-");
    if g.json {
        let line = serde_json::to_string(&summary)?;
        if to_stdout {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    } else if !g.quiet {
        eprintln!(
            "haul: dumped {} tables, {} rows from {} in {:.1}s: {} of CSV stored as {} ({:.1}x) in {}",
            summary.tables,
            summary.rows,
            spec,
            summary.seconds,
            human_bytes(summary.raw_bytes),
            human_bytes(summary.stored_bytes),
            summary.raw_bytes as f64 / summary.stored_bytes.max(1) as f64,
            summary.archive
        );
    }
    Ok(())
}

/// Resolves on SIGINT or SIGTERM.
async fn interrupted() {
    use tokio::signal::unix::{signal, SignalKind};
    match (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) {
        (Ok(mut i), Ok(mut t)) => {
            tokio::select! {
                _ = i.recv() => {}
                _ = t.recv() => {}
            }
        }
        _ => std::future::pending().await,
    }
}
