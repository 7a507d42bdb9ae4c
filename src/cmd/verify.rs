//! `haul verify`: re-read every chunk (checksums, counts, CSV shape); with
//! `--against`, compare row counts and an order-independent content hash per
//! table with a live database of the archive's engine, and its objects
//! (PostgreSQL and MySQL: `restore::objects::compare`); with `--restore-into`, restore into a
//! scratch database first (`scratch`), and compare with that.

use super::{jobs, open_archive, runtime, Global};
use crate::archive::{ArchiveError, ArchiveReader};
use crate::cli::VerifyArgs;
use crate::conn::ConnSpec;
use crate::display::{escape, escape_lines};
use crate::engine::{self, Part, Source};
use crate::error::{MismatchError, UsageError};
use crate::model::TableFilter;
use crate::restore::plan::Options;
use crate::restore::session::{Input, Outcome, Request};
use crate::restore::Policy;
use crate::scratch::{self, Scratch};
use crate::stream::{ChunkSink, ContentHash};
use crate::watch::Ran;
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

pub fn run(mut args: VerifyArgs, g: &Global, ran: &mut Ran) -> Result<()> {
    let against = args
        .against
        .as_deref()
        .map(|u| ConnSpec::parse(u, g.password_file.as_deref()))
        .transpose()?;
    let restore_into = args
        .restore_into
        .as_deref()
        .map(|u| scratch::parse(u, g.password_file.as_deref()))
        .transpose()?;
    // A backup directory or prefix: its newest archive.
    let loc = super::location(&args.archive)?;
    if crate::backups::is_dir(&loc) {
        args.archive = crate::backups::newest(&loc, &g.s3)?.to_string().into();
    }
    let reader = open_archive(&args.archive, &args.key, g)?;
    let m = reader.manifest();
    ran.database = Some(m.source.database.clone());
    let live_spec = against
        .clone()
        .or_else(|| restore_into.as_ref().map(|s| s.0.clone()));
    if let Some(spec) = &live_spec {
        if spec.engine != m.source.engine {
            return Err(UsageError(format!(
                "the archive comes from {}, {} is {}: {} a database of the same engine",
                m.source.engine,
                spec,
                spec.engine,
                if against.is_some() {
                    "--against compares with"
                } else {
                    "--restore-into restores into"
                }
            ))
            .into());
        }
    }
    let hashes = hash_chunks(&reader, jobs(args.jobs))?;
    reader.check_streams()?;
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
    let jobs = jobs(args.jobs);
    let mut restored = None;
    let live = match (&against, restore_into) {
        (Some(spec), _) => Some(
            runtime(jobs)?
                .block_on(hash_live(spec, &reader, jobs))
                .with_context(|| format!("cannot compare with {spec}"))?,
        ),
        (None, Some((spec, temporary))) => {
            let (live, r) = test_restore(&args, &reader, spec, temporary, jobs, g)?;
            restored = Some(r);
            Some(live)
        }
        (None, None) => None,
    };
    let compared_with = live_spec
        .as_ref()
        .map(|s| s.to_string())
        .unwrap_or_default();
    let (live, objects) = match live {
        Some((l, o)) => (Some(l), Some(o)),
        None => (None, None),
    };
    let object_diffs: Vec<String> = objects
        .map(|o| crate::restore::objects::compare(&m.schema.extras, &o, m.source.engine))
        .unwrap_or_default();
    let mut differ = object_diffs.clone();
    for (c, (rows, hash)) in checks.iter_mut().zip(live.into_iter().flatten()) {
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
    if g.json {
        let mut v = serde_json::json!({
            "archive": args.archive.display().to_string(),
            "ok": differ.is_empty(),
            "against": against.as_ref().map(|s| s.to_string()),
            "tables": checks,
            "objects": object_diffs,
        });
        if let Some(r) = &restored {
            v["restore_into"] = compared_with.clone().into();
            v["restore_seconds"] = r.seconds.into();
            v["dropped"] = r.dropped.into();
        }
        println!("{}", serde_json::to_string_pretty(&v)?);
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
    let restore_note = restored
        .as_ref()
        .map(|r| {
            format!(
                " (restored in {:.1}s; {})",
                r.seconds,
                if r.dropped {
                    "the scratch database was dropped"
                } else {
                    "the scratch database could NOT be dropped"
                }
            )
        })
        .unwrap_or_default();
    if !differ.is_empty() {
        return Err(MismatchError(format!(
            "{} differs from {compared_with}{restore_note}: {}",
            args.archive.display(),
            differ.join(", ")
        ))
        .into());
    }
    let chunks: usize = m.tables.iter().map(|t| t.chunks.len()).sum();
    let and_objects = match (m.source.engine, m.schema.extras.len()) {
        (crate::model::EngineKind::Sqlite, _) | (_, 0) => String::new(),
        (_, n) => format!(" and its {n} objects"),
    };
    let summary = match (&live_spec, &restored) {
        (Some(s), Some(r)) => format!(
            "{} verified: {chunks} chunks intact, restored into {s} in {:.1}s, every table{and_objects} identical; {}",
            args.archive.display(),
            r.seconds,
            if r.dropped {
                "the scratch database was dropped"
            } else {
                "the scratch database could NOT be dropped"
            }
        ),
        (Some(s), None) => format!(
            "{} verified: {chunks} chunks intact, every table{and_objects} identical to {s}",
            args.archive.display()
        ),
        (None, _) => format!(
            "{} verified: {chunks} chunks, {} rows, checksums and counts intact",
            args.archive.display(),
            m.total_rows()
        ),
    };
    ran.rows = Some(m.total_rows());
    ran.bytes = Some(m.stored_bytes());
    ran.restore_seconds = restored.as_ref().map(|r| r.seconds);
    if !g.quiet && !g.json {
        eprintln!("haul: {}", escape_lines(&summary));
    }
    ran.summary = Some(summary);
    Ok(())
}

/// Each archive table's row count and content hash in a live database,
/// and the live database's objects.
type LiveState = (Vec<(u64, ContentHash)>, Vec<crate::model::NativeObject>);

/// How a test restore went.
struct Restored {
    seconds: f64,
    dropped: bool,
}

/// Create the scratch database, restore the archive into it, hash its
/// tables, and drop it (also when the restore or the hashing failed).
fn test_restore(
    args: &VerifyArgs,
    reader: &ArchiveReader,
    spec: ConnSpec,
    temporary: bool,
    jobs: usize,
    g: &Global,
) -> Result<(LiveState, Restored)> {
    let scratch = Scratch::create(spec, temporary)?;
    let spec = scratch.spec().clone();
    let started = std::time::Instant::now();
    let result = (|| {
        let req = Request {
            input: Input::Archive(args.archive.clone()),
            access: super::access(&args.key, g)?,
            spec: spec.clone(),
            jobs,
            opts: Options::default(),
            policy: Policy::Fail,
            // Never written: duplicates stop a test restore (exit 7).
            rejects: std::env::temp_dir().join("haul-verify-rejects.haul"),
            analyze: false,
            resume: false,
            abandon: false,
            allow_downgrade: false,
            dry_run: false,
            mode: g.progress_mode(false),
        };
        let seconds = match crate::restore::session::run(req)? {
            Outcome::Done {
                report,
                plan_warnings,
                ..
            } => {
                // As `haul restore` reports them.
                if !report.warnings.is_empty() {
                    crate::error::warned();
                }
                if !g.quiet {
                    for w in report
                        .warnings
                        .iter()
                        .filter(|w| !plan_warnings.contains(w))
                    {
                        eprintln!("haul: warning: {}", escape_lines(w));
                    }
                }
                started.elapsed().as_secs_f64()
            }
            _ => anyhow::bail!("the restore did not run"),
        };
        crate::restore::failpoint::failpoint("verify-compare");
        let live = runtime(jobs)?
            .block_on(hash_live(&spec, reader, jobs))
            .context("cannot compare with the restored database")?;
        Ok((live, seconds))
    })();
    let dropped = scratch.drop_now();
    if scratch.interrupted() {
        anyhow::bail!("interrupted; the scratch database {spec} was dropped");
    }
    let what = if scratch.temporary() {
        "temporary file"
    } else {
        "database"
    };
    match (result, dropped) {
        (Ok((live, seconds)), Ok(())) => Ok((
            live,
            Restored {
                seconds,
                dropped: true,
            },
        )),
        (Ok((live, seconds)), Err(e)) => {
            eprintln!(
                "haul: warning: {}; drop it by hand",
                escape_lines(&crate::error::one_line(&e))
            );
            crate::error::warned();
            Ok((
                live,
                Restored {
                    seconds,
                    dropped: false,
                },
            ))
        }
        (Err(e), Ok(())) => Err(e.context(format!(
            "the test restore into {spec} failed; the scratch {what} was dropped"
        ))),
        (Err(e), Err(d)) => Err(e.context(format!(
            "the test restore into {spec} failed, and the scratch {what} could not be dropped ({}); drop it by hand",
            crate::error::one_line(&d)
        ))),
    }
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
async fn hash_live(spec: &ConnSpec, reader: &ArchiveReader, jobs: usize) -> Result<LiveState> {
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
