//! One restore, plan or copy from start to end: open the target, find an
//! unfinished restore's journal (resume, abandon or refuse), compare app
//! versions, plan, check every chunk, and execute. The command layer turns
//! flags into a [`Request`] and prints the [`Outcome`].

use super::plan::{self, Options, Plan};
use super::{
    abandon, archive_id, execute, ArchiveFeed, Feed, Journal, LiveFeed, Policy, Report, Run,
};
use crate::archive::ArchiveReader;
use crate::conn::ConnSpec;
use crate::engine::sqltext::strip_code;
use crate::engine::{self, Target};
use crate::error::{RefusedError, UsageError};
use crate::markers;
use crate::model::TableFilter;
use crate::progress::{Mode, Progress};
use anyhow::{Context, Result};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Where the rows come from.
pub enum Input {
    /// An archive file (`haul restore`, `haul plan`).
    Archive(PathBuf),
    /// A live database (`haul copy`), read in chunks of `chunk_size`.
    Live {
        source: ConnSpec,
        chunk_size: usize,
        /// The source schemas read (`--schemas`, `--exclude-schemas`).
        schemas: Box<(Vec<String>, Vec<String>)>,
    },
}

/// A validated restore, plan or copy.
pub struct Request {
    pub input: Input,
    /// How to reach and decrypt the archive (S3 settings, identities).
    pub access: crate::archive::reader::Access,
    pub spec: ConnSpec,
    pub jobs: usize,
    pub opts: Options,
    pub policy: Policy,
    /// Where rejected rows go.
    pub rejects: PathBuf,
    pub analyze: bool,
    pub resume: bool,
    pub abandon: bool,
    pub allow_downgrade: bool,
    /// Plan only: write nothing.
    pub dry_run: bool,
    pub mode: Mode,
}

/// What a request came to.
pub enum Outcome {
    /// The dry run's plan.
    Plan(Box<Plan>),
    /// A dry run found this unfinished restore, which `--resume` finishes.
    WouldResume(Journal),
    /// A dry run of `--abandon` found this unfinished restore.
    WouldAbandon(Journal),
    /// An unfinished restore was undone; `left` is what could not be.
    Abandoned { archive: String, left: Vec<String> },
    /// The restore ran to the end.
    Done {
        report: Report,
        resumed: bool,
        /// Warnings the plan printed already.
        plan_warnings: Vec<String>,
    },
}

/// A runtime with room for `jobs` workers plus the driver tasks.
pub fn runtime(jobs: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.max(2) + 1)
        .enable_all()
        .build()?)
}

/// Restore (or plan, or copy) as `req` says: the one path every command
/// that loads a target takes.
pub fn run(req: Request) -> Result<Outcome> {
    let Request {
        input,
        spec,
        jobs,
        opts,
        dry_run,
        ..
    } = &req;
    let (spec, jobs, dry_run) = (spec, *jobs, *dry_run);
    let mut no_code_warnings = Vec::new();
    let mut archive = match input {
        Input::Archive(path) => {
            let loc = crate::storage::Location::parse(path)?;
            let r = ArchiveReader::open_at(&loc, &req.access)?;
            let mut feed = ArchiveFeed::new(Arc::new(r));
            no_code_warnings = adjust(feed.contents_mut(), opts, spec);
            Some(feed)
        }
        Input::Live { .. } => None,
    };
    let reader = archive.as_ref().map(|a| Arc::clone(a.reader()));
    let what = match input {
        Input::Archive(path) => path.display().to_string(),
        Input::Live { source, .. } => source.to_string(),
    };
    let verb = if reader.is_some() { "restore" } else { "copy" };
    let rt = runtime(jobs)?;
    let args = &req;
    // A SQLite file this run creates is removed again if the restore stops
    // before writing anything (a refused plan must leave no trace).
    let created = spec.engine == crate::model::EngineKind::Sqlite && !spec.path.exists();
    let wrote = std::sync::atomic::AtomicBool::new(false);
    let result = rt.block_on(async {
        let target: Arc<dyn Target> = Arc::from(
            engine::open_target(spec, jobs)
                .await
                .with_context(|| format!("cannot {verb} into {spec}"))?,
        );
        // A copy refuses its own source, however the two were named.
        let source = match input {
            Input::Live { source, .. } => Some(open_live(source, jobs, spec, target.as_ref()).await?),
            Input::Archive(_) => None,
        };
        // One restore at a time: the lock is held until `target` is dropped.
        // A plan takes none, but says when a restore is running.
        if dry_run {
            if let Some(holder) = target.lock_holder().await? {
                return Err(engine::EngineError::Busy { target: spec.to_string(), holder }.into());
            }
        } else {
            take_lock(target.as_ref()).await?;
        }
        let run = Run {
            jobs,
            policy: args.policy,
            rejects: args.rejects.clone(),
            rejects_to: match (&reader, &args.access.identities) {
                (Some(r), Some(ids)) if r.encrypted() => Some(ids.recipients()),
                _ => None,
            },
            target_spec: spec,
            analyze: args.analyze,
        };
        let mut journal = Journal::load(target.as_ref()).await?;
        if journal.is_none() && args.resume {
            return Err(UsageError(format!("{spec} has no unfinished restore to resume")).into());
        }
        if journal.is_none() && args.abandon {
            return Err(UsageError(format!("{spec} has no unfinished restore to abandon")).into());
        }
        if journal.is_some() && !dry_run && (args.resume || args.abandon) {
            let progress = Progress::new(args.mode, verb, &[]);
            let waited = wait_for_earlier_run(target.as_ref(), spec, &progress).await;
            progress.finish();
            waited?;
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
                    return Ok(Outcome::WouldAbandon(j.clone()));
                }
                wrote.store(true, std::sync::atomic::Ordering::Relaxed);
                let left = abandon(j, target.as_ref())
                    .await
                    .with_context(|| format!("abandoning the restore into {spec} failed"))?;
                return Ok(Outcome::Abandoned { archive: j.archive.clone(), left });
            }
            for (flag, then, now) in [
                ("--no-code", j.plan.no_code, opts.no_code),
                ("--keep-definers", j.plan.keep_definers, opts.keep_definers),
            ] {
                if then != now {
                    return Err(UsageError(format!(
                        "the unfinished restore in {spec} was started {} {flag}; resume it the same way",
                        if then { "with" } else { "without" }
                    ))
                    .into());
                }
            }
            let same = match &reader {
                Some(r) => j.archive_id == archive_id(r),
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
                return Ok(Outcome::WouldResume(j.clone()));
            }
        }
        // A resumed copy reads the tables its journal planned, whatever the
        // flags say now.
        let filter = match &journal {
            Some(j) => TableFilter {
                include: j.plan.tables.iter().map(|t| t.name.clone()).collect(),
                exclude: vec![],
        ..Default::default()
            },
            None => opts.filter.clone(),
        };
        let feed: Arc<dyn Feed> = match (&input, archive.take()) {
            (_, Some(a)) => Arc::new(a),
            (Input::Live { chunk_size, schemas, .. }, None) => {
                let source = source.clone().ok_or_else(|| anyhow::anyhow!("a source that was not opened"))?;
                let filter = TableFilter {
                    schemas: schemas.0.clone(),
                    exclude_schemas: schemas.1.clone(),
                    ..filter.clone()
                };
                let mut feed = LiveFeed::open(source, &what, *chunk_size, &filter).await?;
                no_code_warnings = adjust(feed.contents_mut(), opts, spec);
                Arc::new(feed)
            }
            (Input::Archive(_), None) => anyhow::bail!("an archive that was not opened"),
        };
        if let (Some(j), None) = (&mut journal, &reader) {
            for t in &mut j.plan.tables {
                t.index = feed
                    .contents()
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
            let progress = Progress::new(args.mode, verb, &expected);
            progress.note(&format!(
                "{verb}: resuming the restore of {} started {}",
                j.archive, j.started_at
            ));
            wrote.store(true, std::sync::atomic::Ordering::Relaxed);
            let report = execute(j, true, feed, target, Arc::clone(&progress), &run)
                .await
                .with_context(|| format!("resuming the restore into {spec} failed"));
            progress.finish();
            return Ok(Outcome::Done { report: report?, resumed: true, plan_warnings: vec![] });
        }
        let contents = feed.contents();
        // The target's catalog, read once for the markers and the plan.
        let existing = target.schema(&TableFilter::default()).await?;
        let relations = markers::relate(
            &contents.app_markers,
            &target_markers(spec, &existing).await?,
        );
        if let Some(r) = relations.iter().find(|r| r.refused()) {
            if !args.allow_downgrade {
                return Err(RefusedError(format!(
                    "{}; nothing was changed. --allow-downgrade restores it anyway",
                    r.describe()
                ))
                .into());
            }
        }
        let mut plan = plan::make(contents, target.as_ref(), &existing, opts)
            .await
            .with_context(|| format!("cannot {verb} {what} into {spec}"))?;
        let mut app: Vec<String> = relations.iter().map(|r| r.describe()).collect();
        app.append(&mut plan.app_versions);
        plan.app_versions = app;
        plan.warnings.append(&mut no_code_warnings);
        plan.live = reader.is_none();
        if plan.live {
            // What the live snapshot warned of (a table outside it, one
            // connection instead of several, a journal left out) is said
            // like the plan's own warnings.
            plan.warnings.extend(contents.warnings.iter().cloned());
        }
        if let Some(reader) = &reader {
            // A damaged chunk found mid-load would leave partial tables
            // behind: check every checksum before anything is written.
            let streams = reader.manifest().streams.iter();
            let chunks: Vec<(&str, &crate::archive::manifest::ChunkEntry)> = plan
                .tables
                .iter()
                .map(|t| &reader.manifest().tables[t.index])
                .chain(streams)
                .flat_map(|e| e.chunks.iter().map(move |c| (e.name.as_str(), c)))
                .collect();
            tokio::task::block_in_place(|| check_chunks(reader, &chunks, jobs))?;
        }
        if dry_run {
            return Ok(Outcome::Plan(Box::new(plan)));
        }
        let expected: Vec<(String, Option<u64>)> =
            plan.tables.iter().map(|t| (t.name.clone(), Some(t.rows))).collect();
        let progress = Progress::new(args.mode, verb, &expected);
        for a in &plan.app_versions {
            progress.note(&format!("app: {a}"));
        }
        for w in &plan.warnings {
            progress.note(&format!("warning: {w}"));
        }
        wrote.store(true, std::sync::atomic::Ordering::Relaxed);
        let journal = Journal::new(plan.clone(), feed.as_ref());
        let report = execute(journal, false, Arc::clone(&feed), target, Arc::clone(&progress), &run)
            .await
            .with_context(|| format!("{verb} of {what} into {spec} failed"));
        progress.finish();
        feed.close().await?;
        Ok(Outcome::Done { report: report?, resumed: false, plan_warnings: plan.warnings.clone() })
    });
    if (result.is_err() || dry_run) && created && !wrote.load(std::sync::atomic::Ordering::Relaxed)
    {
        let _ = std::fs::remove_file(&spec.path);
    }
    result
}

/// Open a copy's source snapshot; refuse (before anything is written) when
/// it is the target itself, by the servers' identities, not the URLs.
async fn open_live(
    spec: &ConnSpec,
    jobs: usize,
    target_spec: &ConnSpec,
    target: &dyn Target,
) -> Result<Arc<dyn engine::Source>> {
    let source: Arc<dyn engine::Source> = Arc::from(
        engine::open_source(spec, jobs)
            .await
            .with_context(|| format!("cannot copy from {spec}"))?,
    );
    let same = source.identity().await? == target.identity().await?;
    if same {
        let _ = source.close().await;
        return Err(RefusedError(format!(
            "cannot copy {spec} into {target_spec}: they are the same database; nothing was changed"
        ))
        .into());
    }
    Ok(source)
}

/// Take the target's restore lock. A killed run's lock goes when its server
/// session sees the closed socket: a lock held still is tried again for a
/// moment before the run is refused.
async fn take_lock(target: &dyn Target) -> Result<(), engine::EngineError> {
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        match target.lock().await {
            Err(engine::EngineError::Busy { .. }) if Instant::now() < deadline => {
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            r => return r,
        }
    }
}

/// How long a resume waits for a killed run's statements before cancelling
/// them (`HAUL_RESUME_WAIT_SECONDS`, default 60).
fn resume_wait() -> Duration {
    let secs = std::env::var("HAUL_RESUME_WAIT_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60.0_f64)
        .max(0.0);
    Duration::from_secs_f64(secs)
}

/// Wait for the server sessions of an earlier, killed run that still run
/// statements in the target (an index build goes on after its client
/// died); cancel them after [`resume_wait`]. The journal is read again by
/// the caller's phases only after they are gone.
async fn wait_for_earlier_run(
    target: &dyn Target,
    spec: &ConnSpec,
    progress: &Progress,
) -> Result<()> {
    let found = target.lingering().await?;
    if found.is_empty() {
        return Ok(());
    }
    let wait = resume_wait();
    let list = |s: &[engine::Lingering]| {
        s.iter()
            .map(|l| {
                format!(
                    "{} ({})",
                    l.id,
                    l.statement.split_whitespace().collect::<Vec<_>>().join(" ")
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    progress.note(&format!(
        "waiting up to {:.0} s for {} server session(s) of the interrupted run to finish: {}",
        wait.as_secs_f64(),
        found.len(),
        list(&found)
    ));
    let poll = Duration::from_millis(250);
    let deadline = Instant::now() + wait;
    let mut left = found;
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(poll).await;
        left = target.lingering().await?;
    }
    if left.is_empty() {
        return Ok(());
    }
    progress.note(&format!("cancelling the statements of {}", list(&left)));
    for l in &left {
        target.cancel(l).await?;
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while !left.is_empty() && Instant::now() < deadline {
        tokio::time::sleep(poll).await;
        left = target.lingering().await?;
    }
    if left.is_empty() {
        return Ok(());
    }
    Err(RefusedError(format!(
        "server sessions of the interrupted run still run in {spec} after being cancelled: {}; end them, then --resume again",
        list(&left)
    ))
    .into())
}

/// A feed's contents as the target needs them: code left out with
/// `--no-code` (the warnings naming it), and into another engine, columns
/// whose default is a sequence's next value made auto-increment.
fn adjust(contents: &mut super::Contents, opts: &Options, spec: &ConnSpec) -> Vec<String> {
    let from = contents.source.engine;
    let warnings = match opts.no_code {
        true => strip_code(&mut contents.schema, from),
        false => Vec::new(),
    };
    if from != spec.engine {
        contents.schema.adopt_sequence_defaults();
    }
    warnings
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
    existing: &crate::model::Schema,
) -> Result<Vec<crate::archive::manifest::AppMarker>> {
    let names: Vec<String> = existing
        .tables
        .iter()
        .map(|t| t.name.clone())
        .filter(|n| markers::is_marker_table(n))
        .collect();
    if names.is_empty() {
        return Ok(vec![]);
    }
    let source = engine::open_source(spec, 1).await?;
    let filter = TableFilter {
        include: names,
        exclude: vec![],
        ..Default::default()
    };
    let schema = source.schema(&filter).await?;
    let found = markers::read_live(source.as_ref(), &schema).await;
    source.close().await?;
    Ok(found?)
}
