//! `haul dump`: a consistent snapshot into one archive.

use super::{filter, jobs, location, runtime, Global};
use crate::archive::crypt::Recipients;
use crate::archive::Dest;
use crate::cli::DumpArgs;
use crate::conn::ConnSpec;
use crate::dump::dump;
use crate::error::UsageError;
use crate::progress::human_bytes;
use crate::storage::Location;
use crate::watch::Ran;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::Arc;

pub fn run(args: DumpArgs, g: &Global, ran: &mut Ran) -> Result<()> {
    let spec = ConnSpec::parse(&args.source, g.password_file.as_deref())?;
    ran.database = Some(spec.database.clone());
    let recipients = Recipients::parse(&args.recipient, &args.recipients_file)?.map(Arc::new);
    // `lock`, on the --into directory or prefix, is held until the dump ends.
    let (out, no_replace, lock) = match (&args.output, &args.into) {
        (_, Some(dir)) => {
            let name =
                crate::backups::archive_name(&args.name, &spec.database, &spec.engine.to_string())
                    .map_err(UsageError)?;
            let (out, no_replace, lock) = crate::backups::into(&location(dir)?, &name, &g.s3)?;
            (out, no_replace, Some(lock))
        }
        (Some(o), None) => (location(o)?, false, None),
        (None, None) => return Err(UsageError("give -o FILE or --into DIR".into()).into()),
    };
    if let (Location::Local(out), None) = (&out, &lock) {
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
    let to_stdout = out == Location::Stdout;
    let dest = Dest {
        location: out.clone(),
        s3: g.s3.clone(),
        no_replace,
        recipients,
    };
    let jobs = jobs(args.jobs);
    let filter = super::with_schemas(filter(&args.tables), &args.schemas);
    let rt = runtime(jobs)?;
    let mode = g.progress_mode(to_stdout);
    let summary = rt
        .block_on(async {
            tokio::select! {
                r = dump(&spec, &dest, &filter, jobs, args.chunk_size, args.level, mode) => r,
                _ = interrupted() => {
                    crate::storage::abort_unfinished();
                    anyhow::bail!("interrupted; no archive was written")
                }
            }
        })
        .with_context(|| format!("dump of {spec} failed"))?;
    if !summary.warnings.is_empty() {
        crate::error::warned();
    }
    let line = format!(
        "dumped {} tables, {} rows from {} in {:.1}s: {} of CSV stored as {} ({:.1}x){} {} {}",
        summary.tables,
        summary.rows,
        spec,
        summary.seconds,
        human_bytes(summary.raw_bytes),
        human_bytes(summary.stored_bytes),
        summary.raw_bytes as f64 / summary.stored_bytes.max(1) as f64,
        if summary.encrypted {
            ", encrypted with age,"
        } else {
            ""
        },
        if out.is_s3() { "uploaded to" } else { "in" },
        summary.archive
    );
    if g.json {
        let json = serde_json::to_string(&summary)?;
        if to_stdout {
            eprintln!("{json}");
        } else {
            println!("{json}");
        }
    } else if !g.quiet {
        eprintln!("haul: {line}");
    }
    ran.rows = Some(summary.rows);
    ran.bytes = Some(summary.stored_bytes);
    ran.summary = Some(line);
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
