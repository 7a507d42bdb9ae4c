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

/// What a restore did.
#[derive(Debug, Serialize)]
pub struct Report {
    pub tables: usize,
    pub rows: u64,
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
    // prepare() creates.
    for t in plan.tables.iter().filter(|t| t.action == Action::Recreate) {
        target.drop_table(&t.name).await?;
    }
    target.prepare(schema, from).await?;
    for t in &plan.tables {
        let table = &schema.tables[t.index];
        target.create_table(table, &t.inline, from).await?;
    }

    // Load: chunks of the biggest tables first, spread over the workers.
    let mut work: Vec<(usize, usize)> = Vec::new();
    let mut order: Vec<usize> = (0..plan.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.tables[i].rows));
    for pi in order {
        let entry = &manifest.tables[plan.tables[pi].index];
        work.extend((0..entry.chunks.len()).map(|c| (pi, c)));
    }
    let queue = Arc::new(Mutex::new(VecDeque::from(work)));
    let loaded: Arc<Vec<AtomicU64>> = Arc::new(plan.tables.iter().map(|_| AtomicU64::new(0)).collect());
    let left: Arc<Vec<AtomicUsize>> = Arc::new(
        plan.tables.iter().map(|t| AtomicUsize::new(t.chunks)).collect(),
    );
    for (pi, t) in plan.tables.iter().enumerate() {
        if t.chunks == 0 {
            progress.table_done(pi);
        }
    }
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
                let Some((pi, ci)) = next else { return Ok::<(), anyhow::Error>(()) };
                let tp = &plan_tables[pi];
                let manifest = reader.manifest();
                let entry = &manifest.tables[tp.index];
                let table = &manifest.schema.tables[tp.index];
                let chunk = &entry.chunks[ci];
                let result = async {
                    let csv = tokio::task::block_in_place(|| reader.read_chunk(&entry.name, chunk))?;
                    let mut rows = ChunkRows::new(&csv, entry.columns.len());
                    let n = target.load(table, &entry.columns, &mut rows, &chunk.member).await?;
                    if n != chunk.rows {
                        anyhow::bail!(EngineError::Load {
                            table: entry.name.clone(),
                            chunk: chunk.member.clone(),
                            message: format!("the server stored {n} rows, the manifest says {}", chunk.rows),
                        });
                    }
                    progress.table(pi).add(n, chunk.raw_bytes);
                    loaded[pi].fetch_add(n, Ordering::Relaxed);
                    if left[pi].fetch_sub(1, Ordering::AcqRel) == 1 {
                        progress.table_done(pi);
                    }
                    Ok(())
                }
                .await;
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
        return Err(e.context("loading the data failed; the target holds partial tables (re-run with --clean)"));
    }

    // Constraints and indexes: tables in parallel, each table's in order,
    // foreign keys after every table has its keys.
    let mut constraints = 0;
    for fks in [false, true] {
        let mut set = tokio::task::JoinSet::new();
        let sem = Arc::new(tokio::sync::Semaphore::new(jobs.max(1)));
        for t in &plan.tables {
            let list: Vec<Constraint> = t
                .deferred
                .iter()
                .filter(|c| matches!(c, Constraint::ForeignKey(_)) == fks)
                .cloned()
                .collect();
            if list.is_empty() {
                continue;
            }
            constraints += list.len();
            let table = schema.tables[t.index].clone();
            let target = Arc::clone(&target);
            let sem = Arc::clone(&sem);
            set.spawn(async move {
                let _permit = sem.acquire_owned().await;
                for c in &list {
                    target.add_constraint(&table, c, from).await?;
                }
                Ok::<(), EngineError>(())
            });
        }
        while let Some(r) = set.join_next().await {
            r.context("a constraint worker failed")??;
        }
    }
    for t in &plan.tables {
        target.reset_sequences(&schema.tables[t.index], from).await?;
    }
    let restored = crate::schema::Schema {
        tables: plan.tables.iter().map(|t| schema.tables[t.index].clone()).collect(),
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
    Ok(Report {
        tables: plan.tables.len(),
        rows,
        constraints,
        seconds: progress.elapsed().as_secs_f64(),
        warnings: plan.warnings.clone(),
    })
}
