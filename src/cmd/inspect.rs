//! `haul inspect`: what an archive holds.

use super::{open_archive, Global};
use crate::cli::InspectArgs;
use crate::display::escape;
use crate::progress::human_bytes;
use anyhow::Result;

pub fn run(args: InspectArgs, g: &Global) -> Result<()> {
    let r = open_archive(&args.archive, &args.key, g)?;
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
                "encrypted": r.encrypted(),
                "format": m.format, "format_version": m.format_version,
                "haul_version": m.haul_version,
                "source": m.source,
                "started_at": m.started_at, "finished_at": m.finished_at,
                "snapshot": m.snapshot,
                "app_markers": m.app_markers,
                "warnings": m.warnings,
                "rows": m.total_rows(), "raw_bytes": m.raw_bytes(), "stored_bytes": m.stored_bytes(),
                "tables": tables,
                "large_objects": {
                    "count": m.schema.large_objects.len(),
                    "bytes": m.schema.large_objects.iter().map(|o| o.bytes).sum::<u64>(),
                },
                "objects": m.schema.extras.iter().map(|x| serde_json::json!({
                    "kind": x.kind, "name": x.name, "table": x.table,
                })).collect::<Vec<_>>(),
            }))?
        );
        return Ok(());
    }
    let e = |s: &str| escape(s).into_owned();
    println!(
        "archive   {} ({}{})",
        e(&args.archive.display().to_string()),
        human_bytes(r.file_len()),
        if r.encrypted() {
            ", encrypted with age"
        } else {
            ""
        }
    );
    println!(
        "format    {} v{}, written by haul {}",
        e(&m.format),
        m.format_version,
        e(&m.haul_version)
    );
    println!(
        "source    {} {}, database {}",
        m.source.engine,
        e(&m.source.server_version),
        e(&m.source.database)
    );
    println!("dumped    {} .. {}", e(&m.started_at), e(&m.finished_at));
    println!("snapshot  {}", e(&m.snapshot));
    if m.app_markers.is_empty() {
        println!("app       no app schema version found");
    }
    for a in &m.app_markers {
        println!(
            "app       {} schema version {} (table {})",
            e(&a.app),
            e(&a.version),
            e(&a.table)
        );
    }
    for w in &m.warnings {
        println!("warning   {}", e(w));
    }
    println!(
        "tables    {}, {} rows, {} of CSV stored as {} ({:.1}x)",
        m.tables.len(),
        m.total_rows(),
        human_bytes(m.raw_bytes()),
        human_bytes(m.stored_bytes()),
        m.raw_bytes() as f64 / m.stored_bytes().max(1) as f64
    );
    if !m.schema.large_objects.is_empty() {
        let lo = &m.schema.large_objects;
        let stored: u64 = m.streams.iter().map(|s| s.stored_bytes).sum();
        println!(
            "large     {} large objects, {} ({} bytes) stored as {}",
            lo.len(),
            human_bytes(lo.iter().map(|o| o.bytes).sum()),
            lo.iter().map(|o| o.bytes).sum::<u64>(),
            human_bytes(stored)
        );
    }
    // Views, routines, triggers, events: how many of each kind.
    let mut kinds: Vec<(&str, usize)> = Vec::new();
    for x in &m.schema.extras {
        match kinds.iter_mut().find(|(k, _)| *k == x.kind) {
            Some((_, n)) => *n += 1,
            None => kinds.push((&x.kind, 1)),
        }
    }
    if !kinds.is_empty() {
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {}", e(k))).collect();
        println!("objects   {}", list.join(", "));
    }
    println!();
    let names: Vec<String> = m.tables.iter().map(|t| e(&t.name)).collect();
    let w = names
        .iter()
        .map(|n| n.chars().count())
        .max()
        .unwrap_or(5)
        .max(5);
    println!(
        "{:<w$}  {:>12}  {:>10}  {:>10}  {:>6}",
        "TABLE", "ROWS", "CSV", "STORED", "CHUNKS"
    );
    for (t, name) in m.tables.iter().zip(&names) {
        println!(
            "{:<w$}  {:>12}  {:>10}  {:>10}  {:>6}",
            name,
            t.rows,
            human_bytes(t.raw_bytes),
            human_bytes(t.stored_bytes),
            t.chunks.len()
        );
    }
    Ok(())
}
