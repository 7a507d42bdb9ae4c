//! Restore: plan; write the journal (the plan, what gets relaxed) into the
//! target; relax the target's unique keys, indexes and foreign keys on
//! tables it already has; create missing tables without secondary indexes;
//! bulk-load the chunks in parallel, computing backfills in the stream and
//! recording each chunk in the journal in its own transaction; add the
//! archive's constraints and indexes; merge staged rows into tables that
//! had rows (`merge`); probe relaxed unique keys for duplicates and reapply
//! them; reset sequences, analyze, check row counts against the manifest,
//! and remove the journal. `--resume` runs the same steps from the journal,
//! skipping what is done.

mod feed;
pub mod merge;
pub mod plan;

pub use feed::Feed;
use feed::{copy_part, load_table, COMPLETE};

use crate::archive::ArchiveReader;
use crate::conn::ConnSpec;
use crate::convert::{ColumnConv, Conversions, Converted};
use crate::engine::{ChunkMark, Constraint, EngineError, Part, Target};
use crate::model::{Schema, Table, TableFilter};
use crate::progress::Progress;
use crate::stream::{ChunkRows, Rows};
use crate::transform::{MappedRows, OutColumn};
use anyhow::{Context, Result};
use plan::{Action, Plan};
use serde::{Deserialize, Serialize};
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A unit of restore work.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// Load chunk `.1` of plan table `.0`.
    Chunk(usize, usize),
    /// Copy part `.1` of plan table `.0`'s source table (a live feed).
    Part(usize, usize),
    /// Add the keys and indexes of plan table `.0`.
    Keys(usize),
}

/// How rows whose key matches a row already in the target are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Policy {
    /// Stop before reapplying constraints and list the groups.
    Fail,
    /// The target's row stays; the archive's goes to the rejects archive.
    KeepExisting,
    /// The archive's row replaces the target's, which goes to the rejects
    /// archive.
    KeepArchived,
}

/// Where a restore is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Relaxing, creating tables, loading chunks, building keys.
    Loading,
    /// Every chunk is in: foreign keys, merges, probe, reapply, sequences.
    Loaded,
    /// Extras replayed; only the count check and the cleanup are left.
    Finished,
}

/// The restore journal, kept in the target from before the first write to
/// the end: the plan, what was relaxed, what is left to merge. Loaded
/// chunks are recorded beside it ([`crate::engine::CHUNKS_TABLE`]) in each
/// chunk's own transaction, so `--resume` knows exactly what is in.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Journal {
    /// The archive's path, or for a copy the source.
    pub archive: String,
    /// The archive's identity (its schema checksum and finish time), or the
    /// copy's source.
    pub archive_id: String,
    /// Made by `haul copy`.
    #[serde(default)]
    pub copy: bool,
    pub started_at: String,
    pub phase: Phase,
    pub plan: Plan,
    pub relaxed: Vec<Relaxed>,
    /// Plan tables whose staged rows are not merged yet.
    pub merges: Vec<usize>,
    /// Merges done so far.
    #[serde(default)]
    pub merged: Vec<Merged>,
}

/// What a merge did.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Merged {
    pub table: String,
    /// Archive rows inserted.
    pub inserted: u64,
    /// Archive rows not inserted (keep-existing).
    pub archived: u64,
    /// Target rows replaced (keep-archived).
    pub existing: u64,
    pub file: String,
}

/// One relaxed constraint and the target table it belongs to.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Relaxed {
    pub table: Table,
    pub constraint: Constraint,
}

impl Journal {
    /// The journal for a new restore of `plan` from `feed` (`source` names
    /// a live feed's source).
    pub fn new(plan: Plan, feed: &Feed, source: &str) -> Journal {
        let relaxed = plan
            .tables
            .iter()
            .filter_map(|t| Some((t.target_table.as_ref()?, &t.relax)))
            .flat_map(|(tt, cs)| {
                cs.iter().map(|c| Relaxed {
                    table: tt.clone(),
                    constraint: c.clone(),
                })
            })
            .chain(plan.referencing.iter().map(|(t, c)| Relaxed {
                table: t.clone(),
                constraint: c.clone(),
            }))
            .collect();
        let merges = plan
            .tables
            .iter()
            .enumerate()
            .filter(|(_, t)| t.action == Action::Merge)
            .map(|(i, _)| i)
            .collect();
        let (archive, archive_id) = match feed {
            Feed::Archive(r) => (reader_path(r), archive_id(r)),
            Feed::Live { .. } => (source.to_string(), format!("copy from {source}")),
        };
        Journal {
            archive,
            archive_id,
            copy: feed.live(),
            started_at: crate::archive::manifest::now_rfc3339(),
            phase: Phase::Loading,
            plan,
            relaxed,
            merges,
            merged: vec![],
        }
    }

    async fn save(&self, target: &dyn Target) -> Result<()> {
        target
            .journal_write(&serde_json::to_string(self)?)
            .await
            .context("writing the restore journal")
    }

    /// The command that finishes or undoes this restore, without the target
    /// and the flag.
    pub fn again(&self) -> String {
        match self.copy {
            true => format!("haul copy {}", self.archive),
            false => format!("haul restore {}", self.archive),
        }
    }

    /// The journal in the target, if a restore left one.
    pub async fn load(target: &dyn Target) -> Result<Option<Journal>> {
        match target.journal_read().await? {
            None => Ok(None),
            Some(body) => Ok(Some(serde_json::from_str(&body).context(
                "the restore journal in the target is unreadable (written by another haul version?)",
            )?)),
        }
    }
}

/// What identifies an archive for `--resume`.
pub fn archive_id(reader: &ArchiveReader) -> String {
    let m = reader.manifest();
    format!("{}@{}", m.schema_blake3, m.finished_at)
}

/// Test hook: with `HAUL_FAILPOINT=NAME` the process kills itself with
/// SIGKILL at point NAME, to test `--resume` (docs/restore.md lists them).
pub(super) fn failpoint(name: &str) {
    if std::env::var("HAUL_FAILPOINT").is_ok_and(|v| v == name) {
        // SAFETY: kill(2) on our own pid has no memory-safety preconditions.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGKILL);
        }
    }
}

/// The number a `SELECT COUNT(*) ...` query returns.
pub(super) async fn count(target: &dyn Target, sql: &str, context: &str) -> Result<u64> {
    Ok(target
        .query_text(sql, context)
        .await?
        .first()
        .and_then(|r| r.first().cloned().flatten())
        .and_then(|v| v.parse().ok())
        .unwrap_or(0))
}

/// The failpoint `chunk:N`, reached when this process has loaded N chunks.
pub(super) fn chunk_failpoint() {
    static LOADED: AtomicUsize = AtomicUsize::new(0);
    if std::env::var_os("HAUL_FAILPOINT").is_some() {
        failpoint(&format!(
            "chunk:{}",
            LOADED.fetch_add(1, Ordering::AcqRel) + 1
        ));
    }
}

/// Whether the target (as introspected) has constraint `c` on `table`.
fn present(s: &Schema, table: &str, c: &Constraint) -> bool {
    let Some(t) = s.table(table) else {
        return false;
    };
    // By name, or by shape: another engine's names are rewritten on the
    // way (MySQL's per-table index names become table-prefixed).
    let index = |n: &str, cols: &[String], unique: bool| {
        t.indexes
            .iter()
            .any(|i| i.name == n || (i.columns == cols && i.unique == unique))
            || t.uniques
                .iter()
                .any(|u| u.name == n || (unique && u.columns == cols))
    };
    match c {
        Constraint::PrimaryKey(_) => t.primary_key.is_some(),
        Constraint::Unique(k) => index(&k.name, &k.columns, true),
        Constraint::Index(i) => index(&i.name, &i.columns, i.unique),
        Constraint::ForeignKey(f) => t
            .foreign_keys
            .iter()
            .any(|x| x.name == f.name || (x.columns == f.columns && x.ref_table == f.ref_table)),
        Constraint::Check(k) => t.checks.iter().any(|x| x.name == k.name),
    }
}

/// The target's table carrying the archive's sequence and auto-increment
/// positions, so counters continue past the source's, not only past the
/// loaded maximum.
fn with_source_positions(tt: &Table, archive: &Table) -> Table {
    let mut t = tt.clone();
    t.auto_increment_next = archive.auto_increment_next;
    for c in &mut t.columns {
        let src = archive
            .column(&c.name)
            .and_then(|a| a.auto_increment.as_ref())
            .and_then(|a| a.sequence.as_ref());
        if let (Some(ai), Some(src)) = (c.auto_increment.as_mut(), src) {
            match ai.sequence.as_mut() {
                Some(seq) => {
                    seq.last_value = src.last_value;
                    seq.is_called = src.is_called;
                }
                None => ai.sequence = Some(src.clone()),
            }
        }
    }
    t
}

/// Per planned table, the value conversions of each loaded column.
fn column_conversions(
    plan: &Plan,
    schema: &crate::model::Schema,
    to: crate::model::EngineKind,
) -> Vec<Vec<ColumnConv>> {
    plan.tables
        .iter()
        .map(|tp| {
            let archive = &schema.tables[tp.index];
            let target = tp.target_table.as_ref().unwrap_or(archive);
            tp.columns
                .iter()
                .zip(&tp.out)
                .map(|(name, out)| {
                    let src = match out {
                        OutColumn::Archive(_) => archive.column(name),
                        OutColumn::Backfill { .. } => None,
                    };
                    match target.column(name) {
                        Some(dst) => {
                            ColumnConv::new(plan.source_engine, src, to, &dst.ty, plan.zero_dates)
                        }
                        None => ColumnConv::default(),
                    }
                })
                .collect()
        })
        .collect()
}

/// Whether `sql` names `table` as a whole identifier.
fn mentions(sql: &str, table: &str) -> bool {
    let ident = |c: char| c.is_alphanumeric() || c == '_' || c == '$';
    sql.match_indices(table).any(|(i, _)| {
        let before = sql[..i].chars().next_back();
        let after = sql[i + table.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

fn reader_path(r: &ArchiveReader) -> String {
    r.path().display().to_string()
}

/// Duplicate keys stop a restore before constraints are reapplied.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DuplicatesError(pub String);

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tables: usize,
    /// Rows restored (archive rows minus rejected ones).
    pub rows: u64,
    /// Archive rows not inserted (`keep-existing`).
    pub rejected: u64,
    /// Target rows replaced by archive rows (`keep-archived`).
    pub replaced: u64,
    /// Where rejected and replaced rows were written.
    pub rejects: Vec<String>,
    /// Compressed bytes read from the archive.
    pub stored_bytes: u64,
    /// CSV bytes loaded.
    pub raw_bytes: u64,
    pub constraints: usize,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

/// How to run a restore.
pub struct Run<'a> {
    pub jobs: usize,
    pub policy: Policy,
    /// Where rejected rows go.
    pub rejects: std::path::PathBuf,
    /// The target, for reading rejected rows back out.
    pub target_spec: &'a ConnSpec,
    /// Refresh planner statistics of each loaded table.
    pub analyze: bool,
}

/// Execute a journal's plan: a new restore, or (`resuming`) the rest of one
/// that stopped.
pub async fn execute(
    mut journal: Journal,
    resuming: bool,
    feed: Arc<Feed>,
    target: Arc<dyn Target>,
    progress: Arc<Progress>,
    run: &Run<'_>,
) -> Result<Report> {
    let plan = Arc::new(journal.plan.clone());
    let jobs = run.jobs.max(1);
    let manifest = feed.manifest();
    let live = feed.live();
    let schema = &manifest.schema;
    let from = plan.source_engine;
    let done: HashSet<ChunkMark> = if resuming {
        target.journal_chunks().await?.into_iter().collect()
    } else {
        journal.save(target.as_ref()).await?;
        HashSet::new()
    };
    failpoint("journal");
    // A copied table is started only once complete: its rows come from a
    // snapshot that a resumed copy cannot read again.
    let complete = |pi: usize| ChunkMark {
        table: pi,
        chunk: COMPLETE,
    };
    let started = |pi: usize| match live {
        true => done.contains(&complete(pi)),
        false => done.iter().any(|m| m.table == pi),
    };
    let mut counts = Vec::new();
    for (pi, t) in plan.tables.iter().enumerate() {
        let entry = &manifest.tables[t.index];
        let merged = journal.merged.iter().find(|m| m.table == t.name);
        let n = if let (true, Some(m)) = (live && started(pi), merged) {
            // Merged already: the table holds the target's rows too.
            m.inserted + m.archived
        } else if live && started(pi) {
            let name = match t.action {
                Action::Merge if journal.merges.contains(&pi) => merge::staging_name(t, pi),
                _ => t.name.clone(),
            };
            count(
                target.as_ref(),
                &format!("SELECT COUNT(*) FROM {}", target.quote(&name)),
                &format!("table {}: counting the rows copied before", t.name),
            )
            .await?
        } else {
            done.iter()
                .filter(|m| m.table == pi)
                .filter_map(|m| entry.chunks.get(m.chunk))
                .map(|c| c.rows)
                .sum()
        };
        counts.push(AtomicU64::new(n));
    }
    let loaded: Arc<Vec<AtomicU64>> = Arc::new(counts);
    let conversions = Arc::new(Conversions::default());

    if journal.phase == Phase::Loading {
        // Relax (on a resume, only what is still there).
        let before = match resuming {
            true => Some(target.schema(&TableFilter::default()).await?),
            false => None,
        };
        if !journal.relaxed.is_empty() {
            progress.note(&format!(
                "{}: relaxing {} constraints and indexes of existing tables (recorded in {})",
                progress.verb(),
                journal.relaxed.len(),
                crate::engine::JOURNAL_TABLE
            ));
        }
        drop_relaxed(&journal.relaxed, target.as_ref(), before.as_ref()).await?;
        failpoint("relaxed");

        // Tables no chunk went into are (re-)created from scratch. Dropping
        // first: dropping a table also drops the sequences it owns, which
        // `prepare` creates again.
        let fresh: Vec<usize> = (0..plan.tables.len()).filter(|&pi| !started(pi)).collect();
        for &pi in &fresh {
            let t = &plan.tables[pi];
            match t.action {
                Action::Recreate => target.drop_table(&t.name).await?,
                Action::Create if resuming => target.drop_table(&t.name).await?,
                // Empty before the restore: whatever is there came from it.
                Action::Load if resuming => {
                    target
                        .execute(
                            &[format!("DELETE FROM {}", target.quote(&t.name))],
                            &format!("table {}: emptying it to load it again", t.name),
                        )
                        .await?;
                }
                Action::Merge => target.drop_table(&merge::staging_name(t, pi)).await?,
                _ => {}
            }
        }
        if plan.writes_existing() {
            // The app's own functions in an existing schema win.
            let only_extensions = crate::model::Schema {
                extras: schema
                    .extras
                    .iter()
                    .filter(|x| x.kind == "extension")
                    .cloned()
                    .collect(),
                ..schema.clone()
            };
            target.prepare(&only_extensions, from).await?;
        } else {
            target.prepare(schema, from).await?;
        }
        for &pi in &fresh {
            let t = &plan.tables[pi];
            match t.action {
                Action::Create | Action::Recreate => {
                    target
                        .create_table(&schema.tables[t.index], &t.inline, from)
                        .await?
                }
                Action::Merge => {
                    let staging = merge::staging_name(t, pi);
                    target
                        .execute(
                            &[format!(
                                "CREATE TABLE {} AS SELECT * FROM {} WHERE 1 = 0",
                                target.quote(&staging),
                                target.quote(&t.name)
                            )],
                            &format!("table {}: creating its staging table {staging}", t.name),
                        )
                        .await?;
                }
                _ => {}
            }
        }
        failpoint("created");
        // What a resumed restore finds already built.
        let built = Arc::new(match resuming {
            true => Some(target.schema(&TableFilter::default()).await?),
            false => None,
        });
        load(
            &plan,
            &done,
            Arc::clone(&feed),
            Arc::clone(&target),
            Arc::clone(&progress),
            jobs,
            Arc::clone(&loaded),
            built,
            Arc::clone(&conversions),
            run.analyze,
        )
        .await
        .context("the restore stopped part way; the target keeps the chunks loaded and the journal: remove the cause, then finish with --resume (or undo with --abandon)")?;
        journal.phase = Phase::Loaded;
        journal.save(target.as_ref()).await?;
        failpoint("loaded");
    } else {
        for (pi, t) in plan.tables.iter().enumerate() {
            if t.action != Action::Keep {
                progress.table_skipped(pi, "loaded before the restore stopped");
            }
        }
    }

    // Staged rows into the tables that had rows, before foreign keys that
    // may reference them.
    merge::resolve(&mut journal, target.as_ref(), &progress, run).await?;
    failpoint("merged");

    // Foreign keys once every table has its keys.
    let built = match resuming {
        true => Some(target.schema(&TableFilter::default()).await?),
        false => None,
    };
    let fks: Vec<(usize, Constraint)> = plan
        .tables
        .iter()
        .flat_map(|t| {
            t.deferred
                .iter()
                .filter(|c| matches!(c, Constraint::ForeignKey(_)))
                .map(move |c| (t.index, c.clone()))
        })
        .filter(|(ti, c)| {
            built
                .as_ref()
                .is_none_or(|s| !present(s, &schema.tables[*ti].name, c))
        })
        .collect();
    let constraints: usize =
        plan.tables.iter().map(|t| t.deferred.len()).sum::<usize>() + journal.relaxed.len();
    progress.note(&format!(
        "{}: data and keys in; adding {} foreign keys",
        progress.verb(),
        fks.len()
    ));
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs));
    for (ti, c) in fks {
        let table = schema.tables[ti].clone();
        let target = Arc::clone(&target);
        let sem = Arc::clone(&sem);
        set.spawn(async move {
            let _permit = sem.acquire_owned().await;
            target.add_constraint(&table, &c, from).await
        });
    }
    while let Some(r) = set.join_next().await {
        r.context("a constraint worker failed")??;
    }
    failpoint("foreign-keys");

    reapply(&journal, target.as_ref(), &progress).await?;
    failpoint("reapplied");

    progress.note(&format!(
        "{}: resetting sequences and analyzing",
        progress.verb()
    ));
    for t in &plan.tables {
        match (t.action, &t.target_table) {
            (Action::Keep, _) => {}
            (Action::Load | Action::Merge, Some(tt)) => {
                let merged = with_source_positions(tt, &schema.tables[t.index]);
                target.reset_sequences(&merged, target.kind()).await?
            }
            _ => {
                target
                    .reset_sequences(&schema.tables[t.index], from)
                    .await?
            }
        }
    }
    let mut warnings = plan.warnings.clone();
    warnings.extend(conversions.report());
    let extras = extras_to_replay(&plan, manifest, &mut warnings);
    if journal.phase != Phase::Finished {
        let restored = crate::model::Schema {
            tables: plan
                .tables
                .iter()
                .filter(|t| t.action != Action::Keep)
                .map(|t| schema.tables[t.index].clone())
                .collect(),
            extras,
            ..schema.clone()
        };
        target.finish(&restored, from).await?;
        journal.phase = Phase::Finished;
        journal.save(target.as_ref()).await?;
    }
    failpoint("finished");

    // Check counts against the manifest: archive rows = restored + rejected.
    let mut rows = 0;
    for (pi, t) in plan.tables.iter().enumerate() {
        if t.action == Action::Keep {
            continue;
        }
        let n = loaded[pi].load(Ordering::Relaxed);
        if n != t.rows && !live {
            anyhow::bail!(
                "table {}: loaded {n} rows but the archive holds {}",
                t.name,
                t.rows
            );
        }
        if t.action != Action::Merge {
            rows += n;
        }
    }
    for m in &journal.merged {
        rows += m.inserted;
        let Some(t) = plan.tables.iter().find(|t| t.name == m.table) else {
            continue;
        };
        if m.inserted + m.archived
            != loaded[plan
                .tables
                .iter()
                .position(|p| p.name == m.table)
                .unwrap_or(0)]
            .load(Ordering::Relaxed)
        {
            warnings.push(format!(
                "table {}: the archive holds {} rows, {} were inserted and {} rejected; the rest were removed from its staging table before the merge",
                t.name, t.rows, m.inserted, m.archived
            ));
        }
    }
    let rejected: u64 = journal.merged.iter().map(|r| r.archived).sum();
    let replaced: u64 = journal.merged.iter().map(|r| r.existing).sum();
    let mut rejects: Vec<String> = journal
        .merged
        .iter()
        .filter(|r| !r.file.is_empty())
        .map(|r| r.file.clone())
        .collect();
    rejects.dedup();
    target.journal_clear().await?;
    let chosen = || plan.tables.iter().map(|t| &manifest.tables[t.index]);
    Ok(Report {
        tables: plan.tables.len(),
        rows,
        rejected,
        replaced,
        rejects,
        stored_bytes: chosen().map(|t| t.stored_bytes).sum(),
        raw_bytes: match feed.as_ref() {
            Feed::Live { raw_bytes, .. } => raw_bytes.load(Ordering::Relaxed),
            Feed::Archive(_) => chosen().map(|t| t.raw_bytes).sum(),
        },
        constraints,
        seconds: progress.elapsed().as_secs_f64(),
        warnings,
    })
}

/// Load every chunk not yet in, biggest tables first, over `jobs` workers,
/// each chunk recorded in the journal in its own transaction. When a
/// table's last chunk is in, its keys and indexes go to the front of the
/// queue, so index builds overlap the loading of other tables.
#[allow(clippy::too_many_arguments)]
async fn load(
    plan: &Arc<Plan>,
    done: &HashSet<ChunkMark>,
    feed: Arc<Feed>,
    target: Arc<dyn Target>,
    progress: Arc<Progress>,
    jobs: usize,
    loaded: Arc<Vec<AtomicU64>>,
    built: Arc<Option<Schema>>,
    conversions: Arc<Conversions>,
    analyze: bool,
) -> Result<()> {
    let from = plan.source_engine;
    let mut work: VecDeque<Work> = VecDeque::new();
    let mut order: Vec<usize> = (0..plan.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.tables[i].rows));
    // The parts of each source table a live feed reads.
    let mut parts: Vec<Vec<Part>> = vec![Vec::new(); plan.tables.len()];
    if let Feed::Live {
        source, manifest, ..
    } = feed.as_ref()
    {
        for (pi, t) in plan.tables.iter().enumerate() {
            let complete = done.contains(&ChunkMark {
                table: pi,
                chunk: COMPLETE,
            });
            if t.action != Action::Keep && !complete {
                parts[pi] = source.parts(&manifest.schema.tables[t.index], jobs).await?;
            }
        }
    }
    let parts = Arc::new(parts);
    let todo = |pi: usize| -> Vec<usize> {
        if feed.live() {
            return (0..parts[pi].len()).collect();
        }
        (0..plan.tables[pi].chunks)
            .filter(|&c| {
                !done.contains(&ChunkMark {
                    table: pi,
                    chunk: c,
                })
            })
            .collect()
    };
    let mut loading: Vec<usize> = Vec::new();
    for pi in order {
        let t = &plan.tables[pi];
        let left = todo(pi).len();
        if t.action == Action::Keep {
            progress.table_skipped(pi, "kept as it is in the target (a rule says so)");
        } else if left == 0 {
            progress
                .table(pi)
                .add(loaded[pi].load(Ordering::Relaxed), 0);
            progress.table_done(pi);
            work.push_front(Work::Keys(pi));
        } else {
            progress
                .table(pi)
                .add(loaded[pi].load(Ordering::Relaxed), 0);
            loading.push(pi);
        }
    }
    // Tables in groups of `jobs`, their chunks interleaved: concurrent
    // workers load different tables (two bulk loads into one table contend
    // for it), and a group's keys build while the next group loads.
    for group in loading.chunks(jobs) {
        let lists: Vec<Vec<usize>> = group.iter().map(|&pi| todo(pi)).collect();
        let most = lists.iter().map(Vec::len).max().unwrap_or(0);
        for k in 0..most {
            for (g, &pi) in group.iter().enumerate() {
                if let Some(&c) = lists[g].get(k) {
                    work.push_back(match feed.live() {
                        true => Work::Part(pi, c),
                        false => Work::Chunk(pi, c),
                    });
                }
            }
        }
    }
    let left: Arc<Vec<AtomicUsize>> = Arc::new(
        (0..plan.tables.len())
            .map(|pi| AtomicUsize::new(todo(pi).len()))
            .collect(),
    );
    let queue = Arc::new(Mutex::new(work));
    let column_convs = Arc::new(column_conversions(
        plan,
        &feed.manifest().schema,
        target.kind(),
    ));
    let mut tasks = Vec::new();
    for _ in 0..jobs {
        let (queue, feed, target, progress, loaded, left, plan, built, parts) = (
            Arc::clone(&queue),
            Arc::clone(&feed),
            Arc::clone(&target),
            Arc::clone(&progress),
            Arc::clone(&loaded),
            Arc::clone(&left),
            Arc::clone(plan),
            Arc::clone(&built),
            Arc::clone(&parts),
        );
        let (column_convs, conversions) = (Arc::clone(&column_convs), Arc::clone(&conversions));
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(item) = next else {
                    return Ok::<(), anyhow::Error>(());
                };
                let manifest = feed.manifest();
                let result = match item {
                    Work::Keys(pi) => {
                        let tp = &plan.tables[pi];
                        let table = &manifest.schema.tables[tp.index];
                        async {
                            for c in tp.deferred.iter().filter(|c| {
                                !matches!(c, Constraint::ForeignKey(_))
                                    && built
                                        .as_ref()
                                        .as_ref()
                                        .is_none_or(|s| !present(s, &tp.name, c))
                            }) {
                                // Another engine may compare text differently
                                // (MySQL's case-insensitive collations): probe
                                // a unique key before building it.
                                if from != target.kind() {
                                    probe_unique(target.as_ref(), &tp.name, c).await?;
                                }
                                target.add_constraint(table, c, from).await?;
                            }
                            if tp.action != Action::Merge && analyze {
                                target.analyze(&tp.name).await?;
                            }
                            Ok(())
                        }
                        .await
                    }
                    Work::Part(pi, k) => {
                        let Feed::Live {
                            source,
                            chunk_size,
                            raw_bytes,
                            ..
                        } = feed.as_ref()
                        else {
                            return Err(anyhow::anyhow!(
                                "a part of a table to copy without a source"
                            ));
                        };
                        copy_part(
                            &plan,
                            pi,
                            &parts[pi][k],
                            k,
                            Arc::clone(source),
                            *chunk_size,
                            manifest,
                            target.as_ref(),
                            &progress,
                            &loaded,
                            raw_bytes,
                            &column_convs[pi],
                            &conversions,
                        )
                        .await?;
                        if left[pi].fetch_sub(1, Ordering::AcqRel) == 1 {
                            let mark = ChunkMark {
                                table: pi,
                                chunk: COMPLETE,
                            };
                            target
                                .execute(
                                    &[mark.insert_sql(|i| target.quote(i))],
                                    "recording a copied table in the restore journal",
                                )
                                .await?;
                            progress.table_done(pi);
                            if let Ok(mut q) = queue.lock() {
                                q.push_front(Work::Keys(pi));
                            }
                        }
                        Ok(())
                    }
                    Work::Chunk(pi, ci) => {
                        let Feed::Archive(reader) = feed.as_ref() else {
                            return Err(anyhow::anyhow!("a chunk to load without an archive"));
                        };
                        let tp = &plan.tables[pi];
                        let entry = &manifest.tables[tp.index];
                        let table = load_table(tp, pi, manifest);
                        let chunk = &entry.chunks[ci];
                        let convs = &column_convs[pi];
                        async {
                            let csv = tokio::task::block_in_place(|| {
                                reader.read_chunk(&entry.name, chunk, false)
                            })?;
                            let mut raw = ChunkRows::new(&csv, entry.columns.len());
                            let mut mapped = MappedRows::new(&mut raw, &tp.out);
                            let mut converted = Converted::new(
                                &mut mapped,
                                &table.name,
                                &chunk.member,
                                &tp.columns,
                                convs,
                                &conversions,
                            );
                            let rows: &mut dyn Rows = &mut converted;
                            let mark = ChunkMark {
                                table: pi,
                                chunk: ci,
                            };
                            let n = target
                                .load(&table, &tp.columns, rows, &chunk.member, Some(mark))
                                .await?;
                            drop(converted);
                            drop(csv);
                            if n != chunk.rows {
                                anyhow::bail!(EngineError::Load {
                                    table: entry.name.clone(),
                                    chunk: chunk.member.clone(),
                                    message: format!(
                                        "the server stored {n} rows, the manifest says {}",
                                        chunk.rows
                                    ),
                                });
                            }
                            chunk_failpoint();
                            progress.table(pi).add(n, chunk.raw_bytes);
                            loaded[pi].fetch_add(n, Ordering::Relaxed);
                            if left[pi].fetch_sub(1, Ordering::AcqRel) == 1 {
                                progress.table_done(pi);
                                if let Ok(mut q) = queue.lock() {
                                    q.push_front(Work::Keys(pi));
                                }
                            }
                            Ok(())
                        }
                        .await
                    }
                };
                if result.is_err() {
                    if let Ok(mut q) = queue.lock() {
                        q.clear();
                    }
                    return result;
                }
            }
        }));
    }
    let mut first_err = None;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(j) => anyhow::bail!("a restore worker failed: {j}"),
        }
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Give up an unfinished restore and put the target back as far as it can
/// be: tables the restore created are dropped, tables that were empty are
/// emptied again, staging tables go, relaxed constraints come back, and the
/// journal is removed. Returns what could not be put back.
pub async fn abandon(journal: &Journal, target: &dyn Target) -> Result<Vec<String>> {
    let mut left = Vec::new();
    let plan = &journal.plan;
    // Relaxed again where already reapplied, so rows can go in any order.
    let before = target.schema(&TableFilter::default()).await?;
    drop_relaxed(&journal.relaxed, target, Some(&before)).await?;
    for (pi, t) in plan.tables.iter().enumerate() {
        match t.action {
            Action::Create => target.drop_table(&t.name).await?,
            Action::Recreate => left.push(format!(
                "table {} was dropped (--clean) and holds part of the archive's rows",
                t.name
            )),
            Action::Merge => {
                target.drop_table(&merge::staging_name(t, pi)).await?;
                target.drop_table(&merge::rejects_name(t, pi)).await?;
                if !journal.merges.contains(&pi) && t.had_rows {
                    left.push(format!(
                        "table {} already has the archive's rows merged in",
                        t.name
                    ));
                }
            }
            Action::Load | Action::Keep => {}
        }
    }
    for t in plan
        .tables
        .iter()
        .filter(|t| t.action == Action::Load || (t.action == Action::Merge && !t.had_rows))
    {
        target
            .execute(
                &[format!("DELETE FROM {}", target.quote(&t.name))],
                &format!("table {}: removing the rows the restore loaded", t.name),
            )
            .await?;
    }
    add_relaxed(&journal.relaxed, target).await?;
    target.journal_clear().await?;
    Ok(left)
}

/// Drop the relaxed constraints the target has (`None`: all of them),
/// foreign keys first: a key they depend on cannot go before them.
async fn drop_relaxed(
    relaxed: &[Relaxed],
    target: &dyn Target,
    has: Option<&Schema>,
) -> Result<()> {
    let mut order: Vec<&Relaxed> = relaxed.iter().collect();
    order.sort_by_key(|r| !matches!(r.constraint, Constraint::ForeignKey(_)));
    for r in order {
        if has.is_none_or(|s| present(s, &r.table.name, &r.constraint)) {
            target.drop_constraint(&r.table, &r.constraint).await?;
        }
    }
    Ok(())
}

/// Add back every relaxed constraint the target lacks, keys before the
/// foreign keys that may need them.
async fn add_relaxed(relaxed: &[Relaxed], target: &dyn Target) -> Result<()> {
    let now = target.schema(&TableFilter::default()).await?;
    let mut order: Vec<&Relaxed> = relaxed.iter().collect();
    order.sort_by_key(|r| matches!(r.constraint, Constraint::ForeignKey(_)));
    for r in order {
        if !present(&now, &r.table.name, &r.constraint) {
            target
                .add_constraint(&r.table, &r.constraint, target.kind())
                .await?;
        }
    }
    Ok(())
}

/// The columns of a unique key or plain unique index.
fn unique_columns(c: &Constraint) -> Option<&[String]> {
    match c {
        Constraint::Unique(k) => Some(&k.columns),
        Constraint::Index(i) if i.unique && !i.columns.iter().any(|c| c.starts_with('(')) => {
            Some(&i.columns)
        }
        _ => None,
    }
}

/// One line per duplicate group of a unique key in `table`.
async fn duplicate_lines(target: &dyn Target, table: &str, c: &Constraint) -> Result<Vec<String>> {
    let Some(cols) = unique_columns(c) else {
        return Ok(vec![]);
    };
    let groups = target.duplicates(table, cols, 5).await?;
    Ok(groups
        .into_iter()
        .map(|(vals, n)| {
            let key: Vec<String> = cols
                .iter()
                .zip(&vals)
                .map(|(c, v)| format!("{c}={v:?}"))
                .collect();
            format!(
                "table {table}: {} {} ({}): {n} rows with {}",
                c.kind(),
                c.name(),
                cols.join(", "),
                key.join(", ")
            )
        })
        .collect())
}

/// Stop (exit 7) if a unique key about to be built on a table created from
/// another engine's rows has duplicates in the target's collation.
async fn probe_unique(target: &dyn Target, table: &str, c: &Constraint) -> Result<()> {
    let lines = duplicate_lines(target, table, c).await?;
    if lines.is_empty() {
        return Ok(());
    }
    Err(DuplicatesError(format!(
        "duplicate keys in {}'s collation: the unique key cannot be built:\n  {}\n\
         The rows are loaded and the key is not built. Fix the rows, then finish with --resume \
         (or undo the restore with --abandon)",
        target.kind(),
        lines.join("\n  ")
    ))
    .into())
}

/// Probe every relaxed unique key, then reapply everything relaxed that the
/// target does not have.
async fn reapply(journal: &Journal, target: &dyn Target, progress: &Progress) -> Result<()> {
    if journal.relaxed.is_empty() {
        return Ok(());
    }
    progress.note(&format!(
        "{}: probing relaxed unique keys for duplicates",
        progress.verb()
    ));
    let mut report = Vec::new();
    for r in &journal.relaxed {
        report.extend(duplicate_lines(target, &r.table.name, &r.constraint).await?);
    }
    if !report.is_empty() {
        return Err(DuplicatesError(format!(
            "duplicate keys: the relaxed constraints cannot be reapplied:\n  {}\n\
             The data is loaded and the constraints stay dropped, recorded in the target's {} table. \
             Fix the rows (or re-run from scratch with a --backfill rule for the column), then finish with: \
             {} TARGET --resume",
            report.join("\n  "),
            crate::engine::JOURNAL_TABLE,
            journal.again()
        ))
        .into());
    }
    progress.note(&format!(
        "{}: no duplicates; reapplying {} relaxed constraints and indexes",
        progress.verb(),
        journal.relaxed.len()
    ));
    add_relaxed(&journal.relaxed, target).await
}

/// The extras to replay: never views over an existing schema (the app's
/// own win), nor ones that name a table this restore leaves out. Triggers
/// go with their table.
fn extras_to_replay(
    plan: &Plan,
    manifest: &crate::archive::Manifest,
    warnings: &mut Vec<String>,
) -> Vec<crate::model::NativeObject> {
    let left_out: Vec<&str> = manifest
        .tables
        .iter()
        .filter(|e| !plan.tables.iter().any(|p| p.name == e.name))
        .map(|e| e.name.as_str())
        .collect();
    manifest
        .schema
        .extras
        .iter()
        .filter(|x| match &x.table {
            Some(_) if plan.writes_existing() => false,
            Some(t) => plan.tables.iter().any(|p| &p.name == t),
            None if x.kind == "extension" || x.kind == "function" => true,
            None if plan.writes_existing() => {
                warnings.push(format!(
                    "{} {} not created: the target's schema already exists",
                    x.kind, x.name
                ));
                false
            }
            None => match left_out.iter().find(|t| mentions(&x.ddl, t)) {
                Some(t) => {
                    warnings.push(format!(
                        "{} {} not created: it reads table {t}, which this restore leaves out",
                        x.kind, x.name
                    ));
                    false
                }
                None => true,
            },
        })
        .cloned()
        .collect()
}
