//! `haul restore` and `haul plan` (the same path without the writes).

use super::{filter, jobs, runtime, Global};
use crate::archive::ArchiveReader;
use crate::cli::RestoreArgs;
use crate::conn::ConnSpec;
use crate::engine::{self, Target};
use crate::progress::{human_bytes, Mode, Progress};
use crate::restore;
use anyhow::{Context, Result};
use std::sync::Arc;

pub fn run(args: RestoreArgs, g: &Global, dry_run: bool) -> Result<()> {
    let spec = ConnSpec::parse(&args.target)?;
    let jobs = jobs(args.jobs);
    let filter = filter(&args.tables);
    let reader = Arc::new(ArchiveReader::open(&args.archive)?);
    let rt = runtime(jobs)?;
    rt.block_on(async {
        let target: Arc<dyn Target> = Arc::from(
            engine::open_target(&spec, jobs)
                .await
                .with_context(|| format!("cannot restore into {spec}"))?,
        );
        let plan = restore::plan::make(reader.manifest(), target.as_ref(), &spec.to_string(), &filter, args.clean)
            .await
            .with_context(|| format!("cannot restore {} into {spec}", args.archive.display()))?;
        if dry_run {
            if g.json {
                println!("{}", serde_json::to_string_pretty(&plan)?);
            } else {
                print!("{}", plan.render());
            }
            return Ok(());
        }
        let expected: Vec<(String, Option<u64>)> =
            plan.tables.iter().map(|t| (t.name.clone(), Some(t.rows))).collect();
        let progress = Progress::new(Mode::detect(g.quiet), "restore", &expected);
        for w in &plan.warnings {
            progress.note(&format!("warning: {w}"));
        }
        let report = restore::execute(&plan, Arc::clone(&reader), target, Arc::clone(&progress), jobs)
            .await
            .with_context(|| format!("restore of {} into {spec} failed", args.archive.display()));
        progress.finish();
        let report = report?;
        if g.json {
            println!("{}", serde_json::json!({
                "command": "restore",
                "archive": args.archive.display().to_string(),
                "target": spec.to_string(),
                "tables": report.tables,
                "rows": report.rows,
                "stored_bytes": report.stored_bytes,
                "raw_bytes": report.raw_bytes,
                "constraints": report.constraints,
                "seconds": report.seconds,
                "warnings": report.warnings,
            }));
        } else if !g.quiet {
            eprintln!(
                "haul: restored {} tables, {} rows ({} read, {} of CSV loaded), {} constraints and indexes into {} in {:.1}s; row counts match the manifest",
                report.tables,
                report.rows,
                human_bytes(report.stored_bytes),
                human_bytes(report.raw_bytes),
                report.constraints,
                spec,
                report.seconds
            );
        }
        Ok(())
    })
}
