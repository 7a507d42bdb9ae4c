//! Restore: plan; relax the target's unique keys, indexes and foreign keys on
//! tables it already has (recorded first in a journal in the target); create
//! missing tables without secondary indexes; bulk-load the chunks in
//! parallel, computing backfills in the stream; add the archive's
//! constraints and indexes; probe relaxed unique keys for duplicates and
//! reapply them; reset sequences, analyze, and check row counts against the
//! manifest.

pub mod plan;

use crate::archive::ArchiveReader;
use crate::engine::convert::{ColumnConv, Conversions, Converted};
use crate::engine::{Constraint, EngineError, Target};
use crate::pipeline::{ChunkRows, Rows};
use crate::progress::Progress;
use crate::schema::Table;
use crate::transform::{MappedRows, OutColumn};
use anyhow::{Context, Result};
use plan::{Action, Plan};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A unit of restore work.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// Load chunk `.1` of plan table `.0`.
    Chunk(usize, usize),
    /// Add the keys and indexes of plan table `.0`.
    Keys(usize),
}

/// The restore journal, kept in the target while constraints are relaxed:
/// nothing relaxed is forgotten if the restore stops.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Journal {
    pub archive: String,
    pub started_at: String,
    /// `loading` until every chunk is in, then `loaded`.
    pub phase: String,
    pub relaxed: Vec<Relaxed>,
}

/// One relaxed constraint and the target table it belongs to.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Relaxed {
    pub table: Table,
    pub constraint: Constraint,
}

impl Journal {
    async fn save(&self, target: &dyn Target) -> Result<()> {
        target
            .journal_write(&serde_json::to_string(self)?)
            .await
            .context("writing the restore journal")
    }

    /// The journal in the target, if a restore left one.
    pub async fn load(target: &dyn Target) -> Result<Option<Journal>> {
        match target.journal_read().await? {
            None => Ok(None),
            Some(body) => Ok(Some(
                serde_json::from_str(&body)
                    .context("the restore journal in the target is unreadable")?,
            )),
        }
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
    schema: &crate::schema::Schema,
    to: crate::schema::EngineKind,
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

/// Probe every relaxed unique key, then reapply everything relaxed and
/// remove the journal.
pub async fn reapply(journal: &Journal, target: &dyn Target, progress: &Progress) -> Result<()> {
    let mut report = Vec::new();
    for r in &journal.relaxed {
        let cols = match &r.constraint {
            Constraint::Unique(k) => &k.columns,
            Constraint::Index(i) if i.unique && !i.columns.iter().any(|c| c.starts_with('(')) => {
                &i.columns
            }
            _ => continue,
        };
        let groups = target.duplicates(&r.table.name, cols, 5).await?;
        for (vals, n) in groups {
            let key: Vec<String> = cols
                .iter()
                .zip(&vals)
                .map(|(c, v)| format!("{c}={v:?}"))
                .collect();
            report.push(format!(
                "table {}: {} {} ({}): {n} rows with {}",
                r.table.name,
                r.constraint.kind(),
                r.constraint.name(),
                cols.join(", "),
                key.join(", ")
            ));
        }
    }
    if !report.is_empty() {
        return Err(DuplicatesError(format!(
            "duplicate keys: the relaxed constraints cannot be reapplied:\n  {}\n\
             The data is loaded and the constraints stay dropped, recorded in the target's {} table. \
             Fix the rows (or re-run from scratch with a --backfill rule for the column), then finish with: \
             haul restore {} TARGET --resume",
            report.join("\n  "),
            crate::engine::JOURNAL_TABLE,
            journal.archive
        ))
        .into());
    }
    progress.note(&format!(
        "restore: no duplicates; reapplying {} relaxed constraints and indexes",
        journal.relaxed.len()
    ));
    // Keys before the foreign keys that may need them.
    let mut order: Vec<&Relaxed> = journal.relaxed.iter().collect();
    order.sort_by_key(|r| matches!(r.constraint, Constraint::ForeignKey(_)));
    for r in order {
        target
            .add_constraint(&r.table, &r.constraint, target.kind())
            .await?;
    }
    target.journal_clear().await?;
    Ok(())
}

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tables: usize,
    pub rows: u64,
    /// Compressed bytes read from the archive.
    pub stored_bytes: u64,
    /// CSV bytes loaded.
    pub raw_bytes: u64,
    pub constraints: usize,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

/// Execute a plan.
pub async fn execute(
    plan: &Plan,
    reader: Arc<ArchiveReader>,
    target: Arc<dyn Target>,
    progress: Arc<Progress>,
    jobs: usize,
) -> Result<Report> {
    let manifest = reader.manifest();
    let schema = &manifest.schema;
    let from = plan.source_engine;

    // Relax: journal first, then drop.
    let mut journal = Journal {
        archive: reader_path(&reader),
        started_at: crate::cmd::now_rfc3339(),
        phase: "loading".into(),
        relaxed: plan
            .tables
            .iter()
            .filter_map(|t| Some((t.target_table.as_ref()?, &t.relax)))
            .flat_map(|(tt, cs)| {
                cs.iter().map(|c| Relaxed {
                    table: tt.clone(),
                    constraint: c.clone(),
                })
            })
            .collect(),
    };
    if !journal.relaxed.is_empty() {
        journal.save(target.as_ref()).await?;
        progress.note(&format!(
            "restore: relaxing {} constraints and indexes of existing tables (recorded in {})",
            journal.relaxed.len(),
            crate::engine::JOURNAL_TABLE
        ));
        // Foreign keys first: a key they depend on cannot go before them.
        let mut order: Vec<&Relaxed> = journal.relaxed.iter().collect();
        order.sort_by_key(|r| !matches!(r.constraint, Constraint::ForeignKey(_)));
        for r in order {
            target.drop_constraint(&r.table, &r.constraint).await?;
        }
    }

    // Drop first: dropping a table also drops the sequences it owns, which
    // `prepare` creates again.
    for t in plan.tables.iter().filter(|t| t.action == Action::Recreate) {
        target.drop_table(&t.name).await?;
    }
    if plan.writes_existing() {
        // The app's own functions in an existing schema win.
        let only_extensions = crate::schema::Schema {
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
    for t in plan
        .tables
        .iter()
        .filter(|t| matches!(t.action, Action::Create | Action::Recreate))
    {
        let table = &schema.tables[t.index];
        target.create_table(table, &t.inline, from).await?;
    }

    // Load chunks, biggest tables first, over `jobs` workers. When a
    // table's last chunk is in, its keys and indexes go to the front of the
    // queue, so index builds overlap the loading of other tables.
    let mut work: VecDeque<Work> = VecDeque::new();
    let mut order: Vec<usize> = (0..plan.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.tables[i].rows));
    let mut loading: Vec<usize> = Vec::new();
    for pi in order {
        let t = &plan.tables[pi];
        if t.action == Action::Keep {
            progress.table_skipped(pi, "kept as it is in the target (a rule says so)");
        } else if t.chunks == 0 {
            progress.table_done(pi);
            work.push_front(Work::Keys(pi));
        } else {
            loading.push(pi);
        }
    }
    // Tables in groups of `jobs`, their chunks interleaved: concurrent
    // workers load different tables (two bulk loads into one table contend
    // for it), and a group's keys build while the next group loads.
    for group in loading.chunks(jobs.max(1)) {
        let most = group
            .iter()
            .map(|&pi| plan.tables[pi].chunks)
            .max()
            .unwrap_or(0);
        for c in 0..most {
            for &pi in group {
                if c < plan.tables[pi].chunks {
                    work.push_back(Work::Chunk(pi, c));
                }
            }
        }
    }
    let queue = Arc::new(Mutex::new(work));
    let loaded: Arc<Vec<AtomicU64>> =
        Arc::new(plan.tables.iter().map(|_| AtomicU64::new(0)).collect());
    let left: Arc<Vec<AtomicUsize>> = Arc::new(
        plan.tables
            .iter()
            .map(|t| AtomicUsize::new(t.chunks))
            .collect(),
    );
    let plan_tables = Arc::new(plan.tables.clone());
    let column_convs = Arc::new(column_conversions(plan, schema, target.kind()));
    let conversions = Arc::new(Conversions::default());
    let mut tasks = Vec::new();
    for _ in 0..jobs {
        let (queue, reader, target, progress, loaded, left, plan_tables) = (
            Arc::clone(&queue),
            Arc::clone(&reader),
            Arc::clone(&target),
            Arc::clone(&progress),
            Arc::clone(&loaded),
            Arc::clone(&left),
            Arc::clone(&plan_tables),
        );
        let (column_convs, conversions) = (Arc::clone(&column_convs), Arc::clone(&conversions));
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some(item) = next else {
                    return Ok::<(), anyhow::Error>(());
                };
                let manifest = reader.manifest();
                let result = match item {
                    Work::Keys(pi) => {
                        let tp = &plan_tables[pi];
                        let table = &manifest.schema.tables[tp.index];
                        async {
                            for c in tp
                                .deferred
                                .iter()
                                .filter(|c| !matches!(c, Constraint::ForeignKey(_)))
                            {
                                target.add_constraint(table, c, from).await?;
                            }
                            target.analyze(&tp.name).await?;
                            Ok(())
                        }
                        .await
                    }
                    Work::Chunk(pi, ci) => {
                        let tp = &plan_tables[pi];
                        let entry = &manifest.tables[tp.index];
                        let table = tp
                            .target_table
                            .as_ref()
                            .unwrap_or(&manifest.schema.tables[tp.index]);
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
                            let n = target.load(table, &tp.columns, rows, &chunk.member).await?;
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
    if let Some(e) = first_err {
        return Err(e.context(
            "the restore stopped part way; the target holds partial tables (re-run with --clean)",
        ));
    }

    // Foreign keys once every table has its keys.
    let fks: Vec<(usize, Constraint)> = plan
        .tables
        .iter()
        .flat_map(|t| {
            t.deferred
                .iter()
                .filter(|c| matches!(c, Constraint::ForeignKey(_)))
                .map(move |c| (t.index, c.clone()))
        })
        .collect();
    let constraints: usize =
        plan.tables.iter().map(|t| t.deferred.len()).sum::<usize>() + journal.relaxed.len();
    progress.note(&format!(
        "restore: data and keys in; adding {} foreign keys",
        fks.len()
    ));
    let mut set = tokio::task::JoinSet::new();
    let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
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
    if !journal.relaxed.is_empty() {
        journal.phase = "loaded".into();
        journal.save(target.as_ref()).await?;
        progress.note("restore: data loaded; probing relaxed unique keys for duplicates");
        reapply(&journal, target.as_ref(), &progress).await?;
    }
    progress.note("restore: resetting sequences and analyzing");
    for t in &plan.tables {
        match (t.action, &t.target_table) {
            (Action::Keep, _) => {}
            (Action::Load, Some(tt)) => {
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
    // Views are never replayed over an existing schema (the app's own win),
    // nor when they name a table this restore leaves out. Triggers go with
    // their table.
    let left_out: Vec<&str> = manifest
        .tables
        .iter()
        .filter(|e| !plan.tables.iter().any(|p| p.name == e.name))
        .map(|e| e.name.as_str())
        .collect();
    let mut warnings = plan.warnings.clone();
    warnings.extend(conversions.report());
    let extras = schema
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
        .collect();
    let restored = crate::schema::Schema {
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

    // Check counts against the manifest.
    let mut rows = 0;
    for (pi, t) in plan.tables.iter().enumerate() {
        if t.action == Action::Keep {
            continue;
        }
        let n = loaded[pi].load(Ordering::Relaxed);
        if n != t.rows {
            anyhow::bail!(
                "table {}: restored {n} rows but the archive holds {}",
                t.name,
                t.rows
            );
        }
        rows += n;
    }
    let chosen = || plan.tables.iter().map(|t| &manifest.tables[t.index]);
    Ok(Report {
        tables: plan.tables.len(),
        rows,
        stored_bytes: chosen().map(|t| t.stored_bytes).sum(),
        raw_bytes: chosen().map(|t| t.raw_bytes).sum(),
        constraints,
        seconds: progress.elapsed().as_secs_f64(),
        warnings,
    })
}
