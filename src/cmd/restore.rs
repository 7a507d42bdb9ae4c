//! `haul restore` and `haul plan` (the same path without the writes).

use super::{filter, jobs, runtime, Global};
use crate::archive::ArchiveReader;
use crate::cli::RestoreArgs;
use crate::conn::ConnSpec;
use crate::engine::{self, Target};
use crate::error::{RefusedError, UsageError};
use crate::markers;
use crate::progress::{human_bytes, Progress};
use crate::restore;
use crate::restore::plan::Options;
use crate::schema::TableFilter;
use crate::transform::{Backfill, Rules, PROFILES};
use anyhow::{Context, Result};
use std::sync::Arc;

pub fn run(args: RestoreArgs, g: &Global, dry_run: bool) -> Result<()> {
    if args.list_profiles {
        for (name, text) in PROFILES {
            let r = Rules::parse(name, text)?;
            println!("{name:<12} {}", r.description);
        }
        return Ok(());
    }
    let (Some(archive), Some(target_url)) = (args.archive.clone(), args.target.clone()) else {
        return Err(UsageError("give an ARCHIVE and a TARGET".into()).into());
    };
    let spec = ConnSpec::parse(&target_url)?;
    let jobs = jobs(args.jobs);
    let opts = options(&args)?;
    let reader = Arc::new(ArchiveReader::open(&archive)?);
    let rt = runtime(jobs)?;
    // A SQLite file this run creates is removed again if the restore stops
    // before writing anything (a refused plan must leave no trace).
    let created = spec.engine == crate::schema::EngineKind::Sqlite && !spec.path.exists();
    let wrote = std::sync::atomic::AtomicBool::new(false);
    let result = rt.block_on(async {
        let target: Arc<dyn Target> = Arc::from(
            engine::open_target(&spec, jobs)
                .await
                .with_context(|| format!("cannot restore into {spec}"))?,
        );
        match (restore::Journal::load(target.as_ref()).await?, args.resume) {
            (Some(j), false) => {
                return Err(RefusedError(format!(
                    "a restore of {} into {spec} started {} did not finish ({} constraints relaxed, phase {}); \
                     nothing was changed. Finish it with --resume",
                    j.archive, j.started_at, j.relaxed.len(), j.phase
                ))
                .into())
            }
            (None, true) => {
                return Err(UsageError(format!("{spec} has no unfinished restore to resume")).into())
            }
            (Some(j), true) if j.phase != "loaded" => {
                return Err(RefusedError(format!(
                    "the restore of {} into {spec} stopped while loading: its tables hold part of the data. \
                     Empty the tables it was loading, then run the restore again with --resume to put back \
                     the {} relaxed constraints first (they are listed in the {} table)",
                    j.archive,
                    j.relaxed.len(),
                    engine::JOURNAL_TABLE
                ))
                .into())
            }
            (Some(j), true) => {
                if dry_run {
                    println!(
                        "resume: probe {} relaxed constraints for duplicates and reapply them",
                        j.relaxed.len()
                    );
                    return Ok(());
                }
                let progress = Progress::new(g.progress_mode(false), "restore", &[]);
                let r = restore::reapply(&j, target.as_ref(), &progress).await;
                progress.finish();
                r.with_context(|| format!("resuming the restore into {spec} failed"))?;
                if !g.quiet {
                    eprintln!(
                        "haul: resumed: {} relaxed constraints reapplied in {spec}; the restore is complete",
                        j.relaxed.len()
                    );
                }
                return Ok(());
            }
            (None, false) => {}
        }
        let relations = markers::relate(
            &reader.manifest().app_markers,
            &target_markers(&spec, target.as_ref()).await?,
        );
        if let Some(r) = relations
            .iter()
            .find(|r| matches!(r, markers::Relation::Newer { .. }))
        {
            if !args.allow_downgrade {
                return Err(RefusedError(format!(
                    "{}; nothing was changed. --allow-downgrade restores it anyway",
                    r.describe()
                ))
                .into());
            }
        }
        let mut plan = restore::plan::make(reader.manifest(), target.as_ref(), &spec.to_string(), &opts)
            .await
            .with_context(|| format!("cannot restore {} into {spec}", archive.display()))?;
        plan.app_versions = relations.iter().map(|r| r.describe()).collect();
        // A damaged chunk found mid-load would leave partial tables behind:
        // check every checksum before anything is written.
        let chunks: Vec<(&str, &crate::archive::manifest::ChunkEntry)> = plan
            .tables
            .iter()
            .flat_map(|t| {
                let e = &reader.manifest().tables[t.index];
                e.chunks.iter().map(move |c| (e.name.as_str(), c))
            })
            .collect();
        tokio::task::block_in_place(|| check_chunks(&reader, &chunks, jobs))?;
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
        let progress = Progress::new(g.progress_mode(false), "restore", &expected);
        for a in &plan.app_versions {
            progress.note(&format!("app: {a}"));
        }
        for w in &plan.warnings {
            progress.note(&format!("warning: {w}"));
        }
        wrote.store(true, std::sync::atomic::Ordering::Relaxed);
        let report = restore::execute(&plan, Arc::clone(&reader), target, Arc::clone(&progress), jobs)
            .await
            .with_context(|| format!("restore of {} into {spec} failed", archive.display()));
        progress.finish();
        let report = report?;
        if !report.warnings.is_empty() {
            crate::error::warned();
        }
        if g.json {
            println!("{}", serde_json::json!({
                "command": "restore",
                "archive": archive.display().to_string(),
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
            for w in report.warnings.iter().filter(|w| !plan.warnings.contains(w)) {
                eprintln!("haul: warning: {w}");
            }
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
    });
    if result.is_err() && created && !wrote.load(std::sync::atomic::Ordering::Relaxed) {
        let _ = std::fs::remove_file(&spec.path);
    }
    result
}

/// Check the checksums of `chunks` on `jobs` threads; the first bad one is
/// the error.
fn check_chunks(
    reader: &ArchiveReader,
    chunks: &[(&str, &crate::archive::manifest::ChunkEntry)],
    jobs: usize,
) -> Result<(), crate::archive::ArchiveError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let next = AtomicUsize::new(0);
    let errors = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(table, chunk)) = chunks.get(i) else {
                    return;
                };
                if let Err(e) = reader.check_chunk(table, chunk) {
                    if let Ok(mut v) = errors.lock() {
                        v.push((i, e));
                    }
                    next.store(chunks.len(), Ordering::Relaxed);
                    return;
                }
            });
        }
    });
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort_by_key(|e| e.0);
    match errors.into_iter().next() {
        Some((_, e)) => Err(e),
        None => Ok(()),
    }
}

/// The app schema markers the target holds now. Only marker tables are
/// opened, and the snapshot is closed before anything is written.
async fn target_markers(
    spec: &ConnSpec,
    target: &dyn Target,
) -> Result<Vec<crate::archive::manifest::AppMarker>> {
    let names: Vec<String> = target
        .schema(&TableFilter::default())
        .await?
        .tables
        .into_iter()
        .map(|t| t.name)
        .filter(|n| markers::is_marker_table(n))
        .collect();
    if names.is_empty() {
        return Ok(vec![]);
    }
    let source = engine::open_source(spec, 1).await?;
    let filter = TableFilter {
        include: names,
        exclude: vec![],
    };
    let schema = source.schema(&filter).await?;
    let found = markers::read_live(source.as_ref(), &schema).await;
    source.close().await?;
    Ok(found?)
}

/// Validate the rule flags into plan options (before any connection).
fn options(args: &RestoreArgs) -> Result<Options> {
    let mut opts = Options {
        filter: filter(&args.tables),
        clean: args.clean,
        drop_columns: args
            .drop_columns
            .iter()
            .map(|s| s.trim().to_string())
            .collect(),
        zero_dates: match args.zero_dates {
            crate::cli::ZeroDatesArg::Null => crate::engine::convert::ZeroDates::Null,
            crate::cli::ZeroDatesArg::Error => crate::engine::convert::ZeroDates::Error,
        },
        ..Options::default()
    };
    for b in &args.backfill {
        opts.backfills
            .push(Backfill::parse(b).map_err(|e| UsageError(e.to_string()))?);
    }
    let mut rules = Vec::new();
    if let Some(p) = &args.profile {
        rules.push(Rules::profile(p).map_err(|e| UsageError(e.to_string()))?);
    }
    if let Some(path) = &args.rules {
        let text = std::fs::read_to_string(path)
            .map_err(|e| UsageError(format!("cannot read rules file {}: {e}", path.display())))?;
        rules.push(
            Rules::parse(&path.display().to_string(), &text)
                .map_err(|e| UsageError(e.to_string()))?,
        );
    }
    for r in rules {
        opts.profile_backfills
            .extend(r.backfills().map_err(|e| UsageError(e.to_string()))?);
        opts.keep_target.extend(r.keep_target);
    }
    Ok(opts)
}
