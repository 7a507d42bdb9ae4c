//! `haul restore` and `haul plan` (the same path without the writes).

use super::{filter, jobs, runtime, Global};
use crate::archive::ArchiveReader;
use crate::cli::{LoadArgs, RestoreArgs};
use crate::conn::ConnSpec;
use crate::engine::{self, Target};
use crate::error::{RefusedError, UsageError};
use crate::markers;
use crate::model::TableFilter;
use crate::progress::{human_bytes, Progress};
use crate::restore;
use crate::restore::plan::Options;
use crate::transform::{Backfill, Rules, PROFILES};
use anyhow::{Context, Result};
use std::path::PathBuf;
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
    load(Input::Archive(archive), &target_url, &args.load, g, dry_run)
}

/// Where the rows come from.
pub enum Input {
    /// An archive file (`haul restore`, `haul plan`).
    Archive(PathBuf),
    /// A live database (`haul copy`), read in chunks of `chunk_size`.
    Live { source: ConnSpec, chunk_size: usize },
}

/// Restore (or plan, or copy) into `target_url`: the one path every command
/// that loads a target takes.
pub fn load(
    input: Input,
    target_url: &str,
    args: &LoadArgs,
    g: &Global,
    dry_run: bool,
) -> Result<()> {
    let spec = ConnSpec::parse(target_url)?;
    let jobs = jobs(args.jobs);
    let opts = options(args)?;
    let reader = match &input {
        Input::Archive(path) => Some(Arc::new(ArchiveReader::open(path)?)),
        Input::Live { source, .. } => {
            if source.to_string() == spec.to_string() {
                return Err(
                    UsageError("the source and the target are the same database".into()).into(),
                );
            }
            None
        }
    };
    let what = match &input {
        Input::Archive(path) => path.display().to_string(),
        Input::Live { source, .. } => source.to_string(),
    };
    let verb = if reader.is_some() { "restore" } else { "copy" };
    let rt = runtime(jobs)?;
    // A SQLite file this run creates is removed again if the restore stops
    // before writing anything (a refused plan must leave no trace).
    let created = spec.engine == crate::model::EngineKind::Sqlite && !spec.path.exists();
    let wrote = std::sync::atomic::AtomicBool::new(false);
    let result = rt.block_on(async {
        let target: Arc<dyn Target> = Arc::from(
            engine::open_target(&spec, jobs)
                .await
                .with_context(|| format!("cannot {verb} into {spec}"))?,
        );
        let run = restore::Run {
            jobs,
            policy: args.on_duplicate.into(),
            rejects: rejects_path(args),
            target_spec: &spec,
            analyze: !args.no_analyze,
        };
        let mut journal = restore::Journal::load(target.as_ref()).await?;
        if journal.is_none() && args.resume {
            return Err(UsageError(format!("{spec} has no unfinished restore to resume")).into());
        }
        if journal.is_none() && args.abandon {
            return Err(UsageError(format!("{spec} has no unfinished restore to abandon")).into());
        }
        if let Some(j) = &journal {
            let phase = serde_json::to_string(&j.phase).unwrap_or_default();
            let phase = phase.trim_matches('"');
            if !args.resume && !args.abandon {
                return Err(RefusedError(format!(
                    "a restore of {} into {spec} started {} did not finish (phase {phase}); nothing was changed. \
                     Finish it with: {} {spec} --resume (or undo it with --abandon)",
                    j.archive,
                    j.started_at,
                    j.again()
                ))
                .into());
            }
            if args.abandon {
                if dry_run {
                    println!("abandon: the restore of {} started {} would be undone", j.archive, j.started_at);
                    return Ok(());
                }
                wrote.store(true, std::sync::atomic::Ordering::Relaxed);
                let left = restore::abandon(j, target.as_ref())
                    .await
                    .with_context(|| format!("abandoning the restore into {spec} failed"))?;
                if !g.quiet {
                    for l in &left {
                        eprintln!("haul: warning: {l}");
                    }
                    eprintln!(
                        "haul: abandoned the restore of {} into {spec}: created tables dropped, loaded tables emptied, relaxed constraints reapplied",
                        j.archive
                    );
                }
                if !left.is_empty() {
                    crate::error::warned();
                }
                return Ok(());
            }
            let same = match &reader {
                Some(r) => j.archive_id == restore::archive_id(r),
                None => j.copy && j.archive == what,
            };
            if !same {
                return Err(RefusedError(format!(
                    "the unfinished restore in {spec} is of {}, not of {what}; nothing was changed",
                    j.archive
                ))
                .into());
            }
            if dry_run {
                println!(
                    "resume: the restore of {} started {} stopped in phase {phase}; --resume finishes it",
                    j.archive, j.started_at
                );
                print!("{}", j.plan.render());
                return Ok(());
            }
        }
        // A resumed copy reads the tables its journal planned, whatever the
        // flags say now.
        let filter = match &journal {
            Some(j) => TableFilter {
                include: j.plan.tables.iter().map(|t| t.name.clone()).collect(),
                exclude: vec![],
            },
            None => opts.filter.clone(),
        };
        let feed = Arc::new(match (&input, &reader) {
            (_, Some(r)) => restore::Feed::Archive(Arc::clone(r)),
            (Input::Live { source, chunk_size }, None) => live_feed(source, jobs, *chunk_size, &filter).await?,
            (Input::Archive(_), None) => anyhow::bail!("an archive that was not opened"),
        });
        if let (Some(j), restore::Feed::Live { manifest, .. }) = (&mut journal, feed.as_ref()) {
            for t in &mut j.plan.tables {
                t.index = manifest
                    .tables
                    .iter()
                    .position(|e| e.name == t.name)
                    .ok_or_else(|| {
                        RefusedError(format!(
                            "table {} of the unfinished copy is no longer in {what}; finish or undo it with --abandon",
                            t.name
                        ))
                    })?;
            }
        }
        if let Some(j) = journal {
            let expected: Vec<(String, Option<u64>)> =
                j.plan.tables.iter().map(|t| (t.name.clone(), Some(t.rows))).collect();
            let progress = Progress::new(g.progress_mode(false), verb, &expected);
            progress.note(&format!(
                "{verb}: resuming the restore of {} started {}",
                j.archive, j.started_at
            ));
            wrote.store(true, std::sync::atomic::Ordering::Relaxed);
            let report = restore::execute(j, true, feed, target, Arc::clone(&progress), &run)
                .await
                .with_context(|| format!("resuming the restore into {spec} failed"));
            progress.finish();
            return finish_report(report?, verb, &what, &spec, g, &[], "resumed: ");
        }
        let manifest = feed.manifest();
        let relations = markers::relate(
            &manifest.app_markers,
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
        let mut plan = restore::plan::make(manifest, target.as_ref(), &opts)
            .await
            .with_context(|| format!("cannot {verb} {what} into {spec}"))?;
        plan.app_versions = relations.iter().map(|r| r.describe()).collect();
        plan.live = reader.is_none();
        if let Some(reader) = &reader {
            // A damaged chunk found mid-load would leave partial tables
            // behind: check every checksum before anything is written.
            let chunks: Vec<(&str, &crate::archive::manifest::ChunkEntry)> = plan
                .tables
                .iter()
                .flat_map(|t| {
                    let e = &reader.manifest().tables[t.index];
                    e.chunks.iter().map(move |c| (e.name.as_str(), c))
                })
                .collect();
            tokio::task::block_in_place(|| check_chunks(reader, &chunks, jobs))?;
        }
        if dry_run {
            if g.json {
                println!("{}", serde_json::to_string_pretty(&plan.to_json())?);
            } else {
                print!("{}", plan.render());
            }
            return Ok(());
        }
        let expected: Vec<(String, Option<u64>)> =
            plan.tables.iter().map(|t| (t.name.clone(), Some(t.rows))).collect();
        let progress = Progress::new(g.progress_mode(false), verb, &expected);
        for a in &plan.app_versions {
            progress.note(&format!("app: {a}"));
        }
        for w in &plan.warnings {
            progress.note(&format!("warning: {w}"));
        }
        wrote.store(true, std::sync::atomic::Ordering::Relaxed);
        let journal = restore::Journal::new(plan.clone(), &feed, &what);
        let report = restore::execute(journal, false, Arc::clone(&feed), target, Arc::clone(&progress), &run)
            .await
            .with_context(|| format!("{verb} of {what} into {spec} failed"));
        progress.finish();
        if let restore::Feed::Live { source, .. } = feed.as_ref() {
            source.close().await?;
        }
        finish_report(report?, verb, &what, &spec, g, &plan.warnings, "")
    });
    if (result.is_err() || dry_run) && created && !wrote.load(std::sync::atomic::Ordering::Relaxed)
    {
        let _ = std::fs::remove_file(&spec.path);
    }
    result
}

/// Open a live source's snapshot and describe it as a manifest without
/// chunks: what `haul copy` plans and loads from.
async fn live_feed(
    spec: &ConnSpec,
    jobs: usize,
    chunk_size: usize,
    filter: &TableFilter,
) -> Result<restore::Feed> {
    let source: Arc<dyn engine::Source> = Arc::from(
        engine::open_source(spec, jobs)
            .await
            .with_context(|| format!("cannot copy from {spec}"))?,
    );
    let schema = source.schema(filter).await?;
    let app_markers = markers::read_live(source.as_ref(), &schema).await?;
    let now = crate::archive::manifest::now_rfc3339();
    let tables = schema
        .tables
        .iter()
        .map(|t| crate::archive::manifest::TableEntry {
            name: t.name.clone(),
            dir: String::new(),
            columns: t.data_columns().map(|c| c.name.clone()).collect(),
            rows: t.estimated_rows.unwrap_or(0),
            raw_bytes: 0,
            stored_bytes: 0,
            chunks: vec![],
        })
        .collect();
    let manifest = crate::archive::Manifest {
        format: crate::archive::manifest::FORMAT_NAME.into(),
        format_version: crate::archive::manifest::FORMAT_VERSION,
        haul_version: env!("CARGO_PKG_VERSION").into(),
        source: source.info().clone(),
        started_at: now.clone(),
        finished_at: now,
        snapshot: source.snapshot_method(),
        app_markers,
        warnings: source.warnings(),
        schema_blake3: String::new(),
        schema,
        tables,
    };
    Ok(restore::Feed::Live {
        source,
        manifest: Box::new(manifest),
        chunk_size,
        raw_bytes: Default::default(),
    })
}

/// Where rejected rows go: `--rejects`, or a timestamped file in the
/// current directory.
fn rejects_path(args: &LoadArgs) -> std::path::PathBuf {
    args.rejects.clone().unwrap_or_else(|| {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(['-', ':'], "");
        std::path::PathBuf::from(format!("haul-rejects-{stamp}.haul"))
    })
}

/// Print what a restore did.
fn finish_report(
    report: restore::Report,
    verb: &str,
    from: &str,
    spec: &ConnSpec,
    g: &Global,
    plan_warnings: &[String],
    prefix: &str,
) -> Result<()> {
    if !report.warnings.is_empty() {
        crate::error::warned();
    }
    if g.json {
        let mut v = serde_json::json!({
            "command": verb,
            "target": spec.to_string(),
            "tables": report.tables,
            "rows": report.rows,
            "rejected": report.rejected,
            "replaced": report.replaced,
            "rejects": report.rejects,
            "stored_bytes": report.stored_bytes,
            "raw_bytes": report.raw_bytes,
            "constraints": report.constraints,
            "seconds": report.seconds,
            "warnings": report.warnings,
        });
        v[if verb == "copy" { "source" } else { "archive" }] = from.into();
        println!("{v}");
    } else if !g.quiet {
        for w in report
            .warnings
            .iter()
            .filter(|w| !plan_warnings.contains(w))
        {
            eprintln!("haul: warning: {w}");
        }
        let mut rejected = String::new();
        if report.rejected > 0 {
            rejected.push_str(&format!(
                "; {} archive rows rejected (the target's were kept)",
                report.rejected
            ));
        }
        if report.replaced > 0 {
            rejected.push_str(&format!(
                "; {} target rows replaced by the archive's",
                report.replaced
            ));
        }
        if !report.rejects.is_empty() {
            rejected.push_str(&format!(", written to {}", report.rejects.join(", ")));
        }
        eprintln!(
            "haul: {prefix}{} {} tables, {} rows ({}{} of CSV loaded), {} constraints and indexes into {} in {:.1}s; {}{rejected}",
            if verb == "copy" { "copied" } else { "restored" },
            report.tables,
            report.rows,
            if verb == "copy" {
                String::new()
            } else {
                format!("{} read, ", human_bytes(report.stored_bytes))
            },
            human_bytes(report.raw_bytes),
            report.constraints,
            spec,
            report.seconds,
            if verb == "copy" {
                "row counts match the source's"
            } else {
                "row counts match the manifest"
            }
        );
    }
    Ok(())
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
fn options(args: &LoadArgs) -> Result<Options> {
    let mut opts = Options {
        filter: filter(&args.tables),
        clean: args.clean,
        allow_lossy: args.allow_lossy,
        drop_columns: args
            .drop_columns
            .iter()
            .map(|s| s.trim().to_string())
            .collect(),
        zero_dates: match args.zero_dates {
            crate::cli::ZeroDatesArg::Null => crate::convert::ZeroDates::Null,
            crate::cli::ZeroDatesArg::Error => crate::convert::ZeroDates::Error,
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
