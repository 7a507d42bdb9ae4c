//! Restore: plan, then create tables without secondary indexes, bulk-load the
//! chunks in parallel, add constraints and indexes, reset sequences, analyze,
//! and check row counts against the manifest.

pub mod plan;

use crate::archive::ArchiveReader;
use crate::engine::{Constraint, EngineError, Target};
use crate::pipeline::ChunkRows;
use crate::progress::Progress;
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
    // Drop first: dropping a table also drops the sequences it owns, which
    // `prepare` creates again.
    for t in plan.tables.iter().filter(|t| t.action == Action::Recreate) {
        target.drop_table(&t.name).await?;
    }
    target.prepare(schema, from).await?;
    for t in &plan.tables {
        let table = &schema.tables[t.index];
        target.create_table(table, &t.inline, from).await?;
    }

    // Load chunks, biggest tables first, over `jobs` workers. When a
    // table's last chunk is in, its keys and indexes go to the front of the
    // queue, so index builds overlap the loading of other tables.
    let mut work: VecDeque<Work> = VecDeque::new();
    let mut order: Vec<usize> = (0..plan.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.tables[i].rows));
    for pi in order {
        let t = &plan.tables[pi];
        if t.chunks == 0 {
            progress.table_done(pi);
            work.push_front(Work::Keys(pi));
        }
        work.extend((0..t.chunks).map(|c| Work::Chunk(pi, c)));
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
                            Ok(())
                        }
                        .await
                    }
                    Work::Chunk(pi, ci) => {
                        let tp = &plan_tables[pi];
                        let entry = &manifest.tables[tp.index];
                        let table = &manifest.schema.tables[tp.index];
                        let chunk = &entry.chunks[ci];
                        async {
                            let csv = tokio::task::block_in_place(|| {
                                reader.read_chunk(&entry.name, chunk, false)
                            })?;
                            let mut rows = ChunkRows::new(&csv, entry.columns.len());
                            let n = target
                                .load(table, &entry.columns, &mut rows, &chunk.member)
                                .await?;
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
    let constraints: usize = plan.tables.iter().map(|t| t.deferred.len()).sum();
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
    progress.note("restore: resetting sequences and analyzing");
    for t in &plan.tables {
        target
            .reset_sequences(&schema.tables[t.index], from)
            .await?;
    }
    // Views may read any table: replayed only by a restore of every table.
    // Triggers go with their table.
    let full = plan.tables.len() == manifest.tables.len();
    let mut warnings = plan.warnings.clone();
    let extras = schema
        .extras
        .iter()
        .filter(|x| match &x.table {
            Some(t) => plan.tables.iter().any(|p| &p.name == t),
            None if full => true,
            None if x.kind == "extension" || x.kind == "function" => true,
            None => {
                warnings.push(format!(
                    "{} {} not created: it may read tables this restore leaves out",
                    x.kind, x.name
                ));
                false
            }
        })
        .cloned()
        .collect();
    let restored = crate::schema::Schema {
        tables: plan
            .tables
            .iter()
            .map(|t| schema.tables[t.index].clone())
            .collect(),
        extras,
        ..schema.clone()
    };
    target.finish(&restored, from).await?;

    // Check counts against the manifest.
    let mut rows = 0;
    for (pi, t) in plan.tables.iter().enumerate() {
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
