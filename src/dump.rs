//! The dump pipeline: a source snapshot's parts read by `jobs` workers into
//! chunk sinks, compressed by a pool of zstd threads, written by one archive
//! writer thread; bounded channels between them keep memory to a few chunks
//! per worker.

use crate::archive::manifest::{now_rfc3339, FORMAT_NAME, FORMAT_VERSION};
use crate::archive::writer::StoredChunk;
use crate::archive::{ArchiveWriter, Dest, Manifest};
use crate::conn::ConnSpec;
use crate::engine::{self, EngineError, Part, Source};
use crate::progress::{Mode, Progress};
use crate::stream::{ChunkSink, Compressors, RawChunk, SinkClosed};
use anyhow::Result;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

/// What a dump did.
#[derive(Debug, serde::Serialize)]
pub struct DumpSummary {
    pub command: &'static str,
    pub archive: String,
    pub tables: usize,
    pub rows: u64,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
    /// Encrypted with age.
    pub encrypted: bool,
    pub seconds: f64,
    pub warnings: Vec<String>,
}

#[allow(clippy::too_many_arguments)]
pub async fn dump(
    spec: &ConnSpec,
    out: &Dest,
    filter: &crate::model::TableFilter,
    jobs: usize,
    chunk_size: usize,
    level: i32,
    mode: Mode,
) -> Result<DumpSummary> {
    let started_at = now_rfc3339();
    let source: Arc<dyn Source> = Arc::from(engine::open_source(spec, jobs).await?);
    let schema = source.schema(filter).await?;
    let mut warnings = source.warnings();
    let reserved = source.reserved_tables().await?;
    warnings.extend(engine::reserved_verdict(&reserved, &spec.to_string())?);
    let expected: Vec<(String, Option<u64>)> = schema
        .tables
        .iter()
        .map(|t| (t.name.clone(), t.estimated_rows))
        .collect();
    let progress = Progress::new(mode, "dump", &expected);
    for w in &warnings {
        progress.note(&format!("warning: {w}"));
    }
    let settings = Settings {
        jobs,
        chunk_size,
        level,
        markers: true,
    };
    let written = write_archive(
        Arc::clone(&source),
        schema,
        &[],
        out,
        &settings,
        Arc::clone(&progress),
        started_at,
        warnings.clone(),
    )
    .await;
    progress.finish();
    let (path, tables) = written?;
    Ok(DumpSummary {
        command: "dump",
        archive: path.display().to_string(),
        tables: tables.len(),
        rows: tables.iter().map(|t| t.rows).sum(),
        raw_bytes: tables.iter().map(|t| t.raw_bytes).sum(),
        stored_bytes: tables.iter().map(|t| t.stored_bytes).sum(),
        encrypted: out.recipients.is_some(),
        seconds: progress.elapsed().as_secs_f64(),
        warnings,
    })
}

/// How an archive is written.
pub struct Settings {
    pub jobs: usize,
    pub chunk_size: usize,
    pub level: i32,
    /// Read app schema markers into the manifest.
    pub markers: bool,
}

/// Stream `schema`'s tables from an open snapshot into an archive at `out`;
/// `read_from` names, per table, a different table to read the rows from
/// (the archive keeps the schema's name). Closes the snapshot. Returns the
/// archive's path and its tables.
#[allow(clippy::too_many_arguments)]
pub async fn write_archive(
    source: Arc<dyn Source>,
    schema: crate::model::Schema,
    read_from: &[(String, String)],
    out: &Dest,
    settings: &Settings,
    progress: Arc<Progress>,
    started_at: String,
    warnings: Vec<String>,
) -> Result<(
    std::path::PathBuf,
    Vec<crate::archive::manifest::TableEntry>,
)> {
    let jobs = settings.jobs;
    let chunk_size = settings.chunk_size;
    let read_tables: Vec<crate::model::Table> = schema
        .tables
        .iter()
        .map(|t| {
            let mut r = t.clone();
            if let Some((_, from)) = read_from.iter().find(|(n, _)| n == &t.name) {
                r.name = from.clone();
            }
            r
        })
        .collect();

    // Work list: every part of every table, largest tables first.
    let mut work: Vec<(usize, Part)> = Vec::new();
    let remaining: Arc<Vec<AtomicUsize>> =
        Arc::new(schema.tables.iter().map(|_| AtomicUsize::new(0)).collect());
    let mut order: Vec<usize> = (0..schema.tables.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(schema.tables[i].estimated_rows.unwrap_or(0)));
    for i in order {
        let parts = source.parts(&read_tables[i], jobs).await?;
        remaining[i].store(parts.len(), Ordering::Relaxed);
        work.extend(parts.into_iter().map(|p| (i, p)));
    }
    let queue = Arc::new(Mutex::new(VecDeque::from(work)));

    let mut writer = ArchiveWriter::create(out, &schema)?;
    // Large objects: one more work item, read after the tables.
    let large_objects = Arc::new(schema.large_objects.clone());
    if !large_objects.is_empty() {
        let columns = crate::model::objects::LARGE_OBJECT_COLUMNS.map(String::from);
        let i = writer.add_stream(crate::model::LARGE_OBJECTS, columns.to_vec())?;
        if let Ok(mut q) = queue.lock() {
            q.push_back((i, Part { filter: None }));
        }
    }
    let (raw_tx, raw_rx) = sync_channel::<RawChunk>(jobs);
    let (stored_tx, stored_rx) = sync_channel::<StoredChunk>(jobs);
    let compressors = Compressors::start(jobs, settings.level, raw_rx, stored_tx);
    let writer_thread = std::thread::spawn(move || {
        let mut writer = writer;
        for chunk in stored_rx {
            writer.add_chunk(chunk)?;
        }
        Ok::<_, crate::archive::ArchiveError>(writer)
    });

    let read_tables = Arc::new(read_tables);
    let mut tasks = Vec::new();
    for _ in 0..jobs {
        let large_objects = Arc::clone(&large_objects);
        let queue = Arc::clone(&queue);
        let source = Arc::clone(&source);
        let read_tables = Arc::clone(&read_tables);
        let raw_tx = raw_tx.clone();
        let progress = Arc::clone(&progress);
        let remaining = Arc::clone(&remaining);
        tasks.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().map(|mut q| q.pop_front()).unwrap_or(None);
                let Some((i, part)) = next else { return Ok(()) };
                let tx = raw_tx.clone();
                let handler = Box::new(move |c| tx.send(c).map_err(|_| SinkClosed));
                let table = read_tables.get(i);
                let mut sink =
                    ChunkSink::new(i, chunk_size, handler, table.map(|_| progress.table(i)));
                let r = match table {
                    Some(table) => source.read(table, &part, &mut sink).await,
                    None => source.read_large_objects(&large_objects, &mut sink).await,
                };
                if let Err(e) = r {
                    if let Ok(mut q) = queue.lock() {
                        q.clear();
                    }
                    return Err(e);
                }
                sink.finish()?;
                if remaining
                    .get(i)
                    .is_some_and(|r| r.fetch_sub(1, Ordering::AcqRel) == 1)
                {
                    progress.table_done(i);
                }
            }
        }));
    }
    drop(raw_tx);
    let mut first_err: Option<EngineError> = None;
    for t in tasks {
        match t.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                // A closed sink means the writer failed: its error says why.
                if first_err.is_none() || matches!(first_err, Some(EngineError::SinkClosed(_))) {
                    first_err = Some(e);
                }
            }
            Err(join) => anyhow::bail!("a dump worker failed: {join}"),
        }
    }
    compressors.join();
    let writer = writer_thread
        .join()
        .map_err(|_| anyhow::anyhow!("the archive writer panicked"))?;
    let writer = match (writer, first_err) {
        (Err(e), _) => return Err(e.into()),
        (Ok(_), Some(e)) => return Err(e.into()),
        (Ok(w), None) => w,
    };
    let app_markers = if settings.markers {
        crate::markers::read_live(source.as_ref(), &schema).await?
    } else {
        vec![]
    };
    source.close().await?;
    let tables = writer.tables().to_vec();
    let manifest = Manifest {
        format: FORMAT_NAME.into(),
        format_version: FORMAT_VERSION,
        haul_version: env!("CARGO_PKG_VERSION").into(),
        source: source.info().clone(),
        started_at,
        finished_at: now_rfc3339(),
        snapshot: source.snapshot_method(),
        app_markers,
        warnings,
        schema_blake3: String::new(),
        schema,
        tables: vec![],
        streams: vec![],
    };
    // Test hook: killed here, an upload is open and nothing is published.
    // (On a blocking thread, so that a sleeping hook still lets an
    // interrupt through.)
    let _ = tokio::task::spawn_blocking(|| {
        crate::restore::failpoint::failpoint("archive-finish");
    })
    .await;
    let written = writer.finish(manifest)?;
    Ok((written, tables))
}
