//! `haul verify`: re-read every chunk (checksums, counts, CSV shape); with
//! `--against`, compare row counts and an order-independent content hash per
//! table with a live database of the archive's engine, and its objects
//! (`restore::objects::compare`).

use super::{jobs, open_archive, runtime, Global};
use crate::archive::{ArchiveError, ArchiveReader};
use crate::cli::VerifyArgs;
use crate::conn::ConnSpec;
use crate::display::escape;
use crate::engine::{self, Part, Source};
use crate::error::{MismatchError, UsageError};
use crate::model::TableFilter;
use crate::stream::{ChunkSink, ContentHash};
use anyhow::{Context, Result};
use std::sync::{Arc, Mutex};

/// One table's comparison.
#[derive(Debug, serde::Serialize)]
struct TableCheck {
    name: String,
    archive_rows: u64,
    archive_hash: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_rows: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_hash: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    same: Option<bool>,
}

pub fn run(args: VerifyArgs, g: &Global) -> Result<()> {
    let against = args
        .against
        .as_deref()
        .map(|u| ConnSpec::parse(u, g.password_file.as_deref()))
        .transpose()?;
    let reader = open_archive(&args.archive, &args.key, g)?;
    let m = reader.manifest();
    if let Some(spec) = &against {
        if spec.engine != m.source.engine {
            return Err(UsageError(format!(
                "the archive comes from {}, {} is {}: --against compares with a database of the same engine",
                m.source.engine, spec, spec.engine
            ))
            .into());
        }
    }
    let hashes = hash_chunks(&reader, jobs(args.jobs))?;
    let mut checks = Vec::new();
    for (t, hash) in m.tables.iter().zip(hashes) {
        if hash.rows != t.rows {
            return Err(ArchiveError::BadChunk {
                path: args.archive.clone(),
                table: t.name.clone(),
                member: t.dir.clone(),
                reason: format!("holds {} rows, the manifest says {}", hash.rows, t.rows),
            }
            .into());
        }
        checks.push(TableCheck {
            name: t.name.clone(),
            archive_rows: hash.rows,
            archive_hash: hash.hex(),
            live_rows: None,
            live_hash: None,
            same: None,
        });
    }
    let mut differ = Vec::new();
    let mut object_diffs: Vec<String> = Vec::new();
    if let Some(spec) = &against {
        let jobs = jobs(args.jobs);
        let rt = runtime(jobs)?;
        let (live, objects) = rt
            .block_on(hash_live(spec, &reader, jobs))
            .with_context(|| format!("cannot compare with {spec}"))?;
        object_diffs =
            crate::restore::objects::compare(&m.schema.extras, &objects, m.source.engine);
        differ.extend(object_diffs.iter().cloned());
        for (c, (rows, hash)) in checks.iter_mut().zip(live) {
            c.same = Some(rows == c.archive_rows && hash.hex() == c.archive_hash);
            if c.same == Some(false) {
                differ.push(format!(
                    "{} (archive {} rows, live {} rows{})",
                    c.name,
                    c.archive_rows,
                    rows,
                    if rows == c.archive_rows {
                        ", content differs"
                    } else {
                        ""
                    }
                ));
            }
            c.live_rows = Some(rows);
            c.live_hash = Some(hash.hex());
        }
    }
    if g.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "archive": args.archive.display().to_string(),
                "ok": differ.is_empty(),
                "against": against.as_ref().map(|s| s.to_string()),
                "tables": checks,
                "objects": object_diffs,
            }))?
        );
    } else {
        for c in &checks {
            let name = escape(&c.name);
            match c.same {
                None => println!("ok        {:<30} {:>12} rows", name, c.archive_rows),
                Some(true) => println!("identical {:<30} {:>12} rows", name, c.archive_rows),
                Some(false) => println!(
                    "DIFFERS   {:<30} {:>12} rows in the archive, {} live",
                    name,
                    c.archive_rows,
                    c.live_rows.unwrap_or(0)
                ),
            }
        }
        for d in &object_diffs {
            println!("DIFFERS   {}", escape(d));
        }
    }
    if !differ.is_empty() {
        return Err(MismatchError(format!(
            "{} differs from {}: {}",
            args.archive.display(),
            against.map(|s| s.to_string()).unwrap_or_default(),
            differ.join(", ")
        ))
        .into());
    }
    if !g.quiet && !g.json {
        let chunks: usize = m.tables.iter().map(|t| t.chunks.len()).sum();
        match &against {
            Some(s) => eprintln!(
                "haul: {} verified: {} chunks intact, every table{} identical to {s}",
                args.archive.display(),
                chunks,
                match (m.source.engine, m.schema.extras.len()) {
                    (crate::model::EngineKind::Postgres, n) if n > 0 =>
                        format!(" and its {n} objects"),
                    _ => String::new(),
                }
            ),
            None => eprintln!(
                "haul: {} verified: {} chunks, {} rows, checksums and counts intact",
                args.archive.display(),
                chunks,
                m.total_rows()
            ),
        }
    }
    Ok(())
}

/// Each table's content hash, every chunk read (checksum checked) and
/// parsed on `jobs` threads; the first bad chunk in archive order is the
/// error.
fn hash_chunks(reader: &ArchiveReader, jobs: usize) -> Result<Vec<ContentHash>, ArchiveError> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let m = reader.manifest();
    let work: Vec<(usize, &crate::archive::manifest::ChunkEntry)> = m
        .tables
        .iter()
        .enumerate()
        .flat_map(|(i, t)| t.chunks.iter().map(move |c| (i, c)))
        .collect();
    let hashes: Vec<Mutex<ContentHash>> = m.tables.iter().map(|_| Mutex::default()).collect();
    let next = AtomicUsize::new(0);
    let errors = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..jobs.max(1) {
            s.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(i, c)) = work.get(k) else { return };
                let t = &m.tables[i];
                let mut part = ContentHash::default();
                let r = reader.read_chunk(&t.name, c, true).and_then(|csv| {
                    part.add_chunk(&csv, t.columns.len())
                        .map_err(|e| ArchiveError::BadChunk {
                            path: reader.path().to_path_buf(),
                            table: t.name.clone(),
                            member: c.member.clone(),
                            reason: e.to_string(),
                        })
                });
                match r {
                    Ok(()) => {
                        if let Ok(mut h) = hashes[i].lock() {
                            h.merge(&part);
                        }
                    }
                    Err(e) => {
                        if let Ok(mut v) = errors.lock() {
                            v.push((k, e));
                        }
                        next.store(work.len(), Ordering::Relaxed);
                        return;
                    }
                }
            });
        }
    });
    let mut errors = errors.into_inner().unwrap_or_default();
    errors.sort_by_key(|e| e.0);
    if let Some((_, e)) = errors.into_iter().next() {
        return Err(e);
    }
    Ok(hashes
        .into_iter()
        .map(|h| h.into_inner().unwrap_or_default())
        .collect())
}

/// Row count and content hash of each archive table, read from the live
/// database in one snapshot, and the live database's objects.
async fn hash_live(
    spec: &ConnSpec,
    reader: &ArchiveReader,
    jobs: usize,
) -> Result<(Vec<(u64, ContentHash)>, Vec<crate::model::NativeObject>)> {
    let m = reader.manifest();
    let source: Arc<dyn Source> = Arc::from(engine::open_source(spec, jobs).await?);
    let filter = TableFilter {
        include: m.tables.iter().map(|t| t.name.clone()).collect(),
        exclude: vec![],
        ..Default::default()
    };
    let schema = match source.schema(&filter).await {
        // A table of the archive that the live database lacks is a
        // difference (exit 6), not a usage error.
        Err(engine::EngineError::NoTable { table, .. }) => {
            return Err(MismatchError(format!("table {table} is missing from {spec}")).into())
        }
        r => r?,
    };
    let mut out = Vec::new();
    for t in &m.tables {
        let Some(live) = schema.table(&t.name) else {
            return Err(MismatchError(format!("table {} is missing from {spec}", t.name)).into());
        };
        let cols: Vec<String> = live.data_columns().map(|c| c.name.clone()).collect();
        if cols != t.columns {
            return Err(MismatchError(format!(
                "table {}: columns differ (archive: {}; live: {})",
                t.name,
                t.columns.join(", "),
                cols.join(", ")
            ))
            .into());
        }
        let hash = Arc::new(Mutex::new(ContentHash::default()));
        let h = Arc::clone(&hash);
        let width = cols.len();
        let failed = Arc::new(Mutex::new(None));
        let f = Arc::clone(&failed);
        let mut sink = ChunkSink::new(
            0,
            4 << 20,
            Box::new(move |c| {
                let mut part = ContentHash::default();
                if let Err(e) = part.add_chunk(&c.csv, width) {
                    if let Ok(mut f) = f.lock() {
                        *f = Some(e.to_string());
                    }
                }
                if let Ok(mut h) = h.lock() {
                    h.merge(&part);
                }
                Ok(())
            }),
            None,
        );
        source.read(live, &Part { filter: None }, &mut sink).await?;
        sink.finish()?;
        if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
            anyhow::bail!("table {}: {e}", t.name);
        }
        let h = *hash
            .lock()
            .map_err(|_| anyhow::anyhow!("hash lock poisoned"))?;
        out.push((h.rows, h));
    }
    source.close().await?;
    Ok((out, schema.extras))
}
