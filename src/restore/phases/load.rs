//! Load every chunk (or, for a copy, every source part) not yet in, over
//! `jobs` workers, biggest tables first, each chunk recorded in the journal
//! in its own transaction. When a table's last chunk is in, its keys and
//! indexes go to the front of the queue, so index builds overlap the
//! loading of other tables. A partitioned table's keys and indexes, which
//! are built on its partitions too, wait until its partitions are loaded.

use super::super::context::{column_conversions, Ctx};
use super::super::failpoint::chunk_failpoint;
use super::super::feed::{Feed, LoadTo};
use super::super::plan::{Action, Plan};
use super::keys::table_keys;
use crate::convert::{ColumnConv, Conversions};
use crate::engine::Target;
use crate::model::Schema;
use crate::progress::Progress;
use anyhow::Result;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A unit of restore work.
#[derive(Debug, Clone, Copy)]
enum Work {
    /// Load unit `.1` (a chunk, a source part) of plan table `.0`.
    Unit(usize, usize),
    /// Add the keys and indexes of plan table `.0`.
    Keys(usize),
}

/// What the workers share.
struct Shared {
    plan: Arc<Plan>,
    feed: Arc<dyn Feed>,
    target: Arc<dyn Target>,
    progress: Arc<Progress>,
    loaded: Arc<Vec<AtomicU64>>,
    /// Work items left per table before its keys can be built (for a
    /// partitioned table, its partitions still loading).
    left: Vec<AtomicUsize>,
    /// The partitioned table each table is a partition of, if restored.
    parent: Vec<Option<usize>>,
    queue: Mutex<VecDeque<Work>>,
    /// What a resumed restore finds already built.
    built: Option<Schema>,
    column_convs: Vec<Vec<ColumnConv>>,
    conversions: Arc<Conversions>,
    analyze: bool,
}

/// Run the load phase.
pub async fn load(cx: &Ctx<'_>) -> Result<()> {
    let (plan, feed, done, jobs) = (&cx.plan, &cx.feed, &cx.done, cx.jobs);
    let mut order: Vec<usize> = (0..plan.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(plan.tables[i].rows));
    let mut units: Vec<Vec<usize>> = vec![Vec::new(); plan.tables.len()];
    for (pi, t) in plan.tables.iter().enumerate() {
        if t.action != Action::Keep {
            units[pi] = feed.units(plan, pi, done, jobs).await?;
        }
    }
    let todo = |pi: usize| -> &[usize] { &units[pi] };
    let parent = partition_parents(cx);
    // Partitions still to load, per partitioned table (nested ones count
    // once they wait on partitions of their own).
    let mut waiting = vec![0usize; plan.tables.len()];
    let mut pending: Vec<usize> = (0..plan.tables.len())
        .filter(|&pi| plan.tables[pi].action != Action::Keep && !todo(pi).is_empty())
        .collect();
    while let Some(pi) = pending.pop() {
        if let Some(pj) = parent[pi] {
            waiting[pj] += 1;
            if waiting[pj] == 1 && todo(pj).is_empty() {
                pending.push(pj);
            }
        }
    }
    let mut work: VecDeque<Work> = VecDeque::new();
    let mut loading: Vec<usize> = Vec::new();
    for pi in order {
        let t = &plan.tables[pi];
        if t.action == Action::Keep {
            let why = if crate::markers::is_marker_table(&t.name) {
                "kept as it is in the target (an app's schema-version table)"
            } else {
                "kept as it is in the target (a rule says so)"
            };
            cx.progress.table_skipped(pi, why);
            continue;
        }
        cx.progress
            .table(pi)
            .add(cx.loaded[pi].load(Ordering::Relaxed), 0);
        if todo(pi).is_empty() {
            if waiting[pi] == 0 {
                cx.progress.table_done(pi);
                work.push_front(Work::Keys(pi));
            }
        } else {
            loading.push(pi);
        }
    }
    // Tables in groups of `jobs`, their chunks interleaved: concurrent
    // workers load different tables (two bulk loads into one table contend
    // for it), and a group's keys build while the next group loads.
    for group in loading.chunks(jobs) {
        let lists: Vec<&[usize]> = group.iter().map(|&pi| todo(pi)).collect();
        let most = lists.iter().map(|l| l.len()).max().unwrap_or(0);
        for k in 0..most {
            for (g, &pi) in group.iter().enumerate() {
                if let Some(&c) = lists[g].get(k) {
                    work.push_back(Work::Unit(pi, c));
                }
            }
        }
    }
    let left = (0..plan.tables.len())
        .map(|pi| AtomicUsize::new(todo(pi).len() + waiting[pi]))
        .collect();
    let shared = Arc::new(Shared {
        plan: Arc::clone(plan),
        feed: Arc::clone(feed),
        target: Arc::clone(&cx.target),
        progress: Arc::clone(&cx.progress),
        loaded: Arc::clone(&cx.loaded),
        left,
        parent,
        queue: Mutex::new(work),
        built: cx.built().await?,
        column_convs: column_conversions(plan, cx.schema(), cx.target.kind()),
        conversions: Arc::clone(&cx.conversions),
        analyze: cx.run.analyze,
    });
    let tasks: Vec<_> = (0..jobs)
        .map(|_| tokio::spawn(worker(Arc::clone(&shared))))
        .collect();
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

/// Take work from the queue until it is empty; on an error, empty the
/// queue so the other workers stop too.
async fn worker(s: Arc<Shared>) -> Result<()> {
    loop {
        let next = s.queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
        let Some(item) = next else {
            return Ok(());
        };
        let result = match item {
            Work::Keys(pi) => {
                let tp = &s.plan.tables[pi];
                let table = &s.feed.contents().schema.tables[tp.index];
                let from = s.plan.source_engine;
                table_keys(
                    s.target.as_ref(),
                    tp,
                    table,
                    from,
                    s.built.as_ref(),
                    s.analyze,
                )
                .await
            }
            Work::Unit(pi, k) => unit(&s, pi, k).await,
        };
        if result.is_err() {
            if let Ok(mut q) = s.queue.lock() {
                q.clear();
            }
            return result;
        }
    }
}

/// Count one work item of table `pi` done; whether it was the last.
fn last_item(s: &Shared, pi: usize) -> bool {
    s.left[pi].fetch_sub(1, Ordering::AcqRel) == 1
}

/// Table `pi` is loaded: its keys go to the front of the queue, and so
/// do its partitioned parent's if it was the last partition loading.
fn table_loaded(s: &Shared, pi: usize) {
    s.progress.table_done(pi);
    if let Ok(mut q) = s.queue.lock() {
        q.push_front(Work::Keys(pi));
    }
    if let Some(pj) = s.parent[pi] {
        if last_item(s, pj) {
            table_loaded(s, pj);
        }
    }
}

/// For each plan table, the plan table it is a partition of, where that
/// one is restored too.
fn partition_parents(cx: &Ctx<'_>) -> Vec<Option<usize>> {
    let plan = &cx.plan;
    let tables = &cx.feed.contents().schema.tables;
    plan.tables
        .iter()
        .map(|t| {
            let name = tables.get(t.index)?.inherits.first()?;
            plan.tables.iter().position(|p| {
                p.action != Action::Keep
                    && tables
                        .get(p.index)
                        .is_some_and(|pt| &pt.name == name && pt.is_partitioned())
            })
        })
        .collect()
}

/// Load unit `k` of plan table `pi`; after its last, the table's keys.
async fn unit(s: &Shared, pi: usize, k: usize) -> Result<()> {
    let loaded = |n: u64, bytes: u64| {
        s.progress.table(pi).add(n, bytes);
        s.loaded[pi].fetch_add(n, Ordering::Relaxed);
        chunk_failpoint();
    };
    let to = LoadTo {
        target: s.target.as_ref(),
        plan: &s.plan,
        pi,
        convs: &s.column_convs[pi],
        conversions: &s.conversions,
        loaded: &loaded,
    };
    s.feed.load(&to, k).await?;
    if last_item(s, pi) {
        s.feed.table_loaded(s.target.as_ref(), pi).await?;
        table_loaded(s, pi);
    }
    Ok(())
}
