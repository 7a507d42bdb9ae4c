//! `haul inspect`: what an archive holds.

use super::Global;
use crate::archive::ArchiveReader;
use crate::cli::InspectArgs;
use crate::progress::human_bytes;
use anyhow::Result;

pub fn run(args: InspectArgs, g: &Global) -> Result<()> {
    let r = ArchiveReader::open(&args.archive)?;
    let m = r.manifest();
    if g.json {
        let tables: Vec<_> = m
            .tables
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name, "rows": t.rows, "raw_bytes": t.raw_bytes,
                    "stored_bytes": t.stored_bytes, "chunks": t.chunks.len(), "columns": t.columns,
                })
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&serde_json::json!({
                "archive": args.archive.display().to_string(),
                "bytes": r.file_len(),
                "format": m.format, "format_version": m.format_version,
                "haul_version": m.haul_version,
                "source": m.source,
                "started_at": m.started_at, "finished_at": m.finished_at,
                "snapshot": m.snapshot,
                "app_markers": m.app_markers,
                "warnings": m.warnings,
                "rows": m.total_rows(), "raw_bytes": m.raw_bytes(), "stored_bytes": m.stored_bytes(),
                "tables": tables,
            }))?
        );
        return Ok(());
    }
    println!(
        "archive   {} ({})",
        args.archive.display(),
        human_bytes(r.file_len())
    );
    println!(
        "format    {} v{}, written by haul {}",
        m.format, m.format_version, m.haul_version
    );
    println!(
        "source    {} {}, database {}",
        m.source.engine, m.source.server_version, m.source.database
    );
    println!("dumped    {} .. {}", m.started_at, m.finished_at);
    println!("snapshot  {}", m.snapshot);
    if m.app_markers.is_empty() {
        println!("app       no app schema version found");
    }
    for a in &m.app_markers {
        println!(
            "app       {} schema version {} (table {})",
            a.app, a.version, a.table
        );
    }
    for w in &m.warnings {
        println!("warning   {w}");
    }
    println!(
        "tables    {}, {} rows, {} of CSV stored as {} ({:.1}x)",
        m.tables.len(),
        m.total_rows(),
        human_bytes(m.raw_bytes()),
        human_bytes(m.stored_bytes()),
        m.raw_bytes() as f64 / m.stored_bytes().max(1) as f64
    );
    println!();
    let w = m
        .tables
        .iter()
        .map(|t| t.name.len())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<w$}  {:>12}  {:>10}  {:>10}  {:>6}",
        "TABLE", "ROWS", "CSV", "STORED", "CHUNKS"
    );
    for t in &m.tables {
        println!(
            "{:<w$}  {:>12}  {:>10}  {:>10}  {:>6}",
            t.name,
            t.rows,
            human_bytes(t.raw_bytes),
            human_bytes(t.stored_bytes),
            t.chunks.len()
        );
    }
    Ok(())
}
