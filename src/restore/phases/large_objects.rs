//! Large objects' bytes, once the tables' rows are in (the objects were
//! created, empty, with the objects before the tables). An archive's
//! stream is written chunk by chunk in its order, each chunk in one
//! transaction with its journal mark, so a resumed restore writes exactly
//! the chunks not in; a copy reads the source's through a channel a chunk
//! deep and is marked once all are in (a resumed copy writes every object
//! again, each emptied first). Only the objects this restore creates get
//! their bytes: none into another engine, into an existing schema, or
//! where `--clean` was not given and the target had one already (that
//! fails when it is created).

use super::super::context::Ctx;
use super::super::failpoint::failpoint;
use super::super::feed::{Feed, COMPLETE};
use crate::archive::ArchiveError;
use crate::engine::{ChunkMark, EngineError};
use crate::model::objects::LARGE_OBJECT_KIND;
use crate::model::LARGE_OBJECTS;
use crate::stream::{ChunkRows, ChunkSink, RawChunk, SinkClosed};
use anyhow::Result;
use std::collections::HashSet;
use std::sync::Arc;

/// The plan-table number of the journal marks of large objects' chunks.
pub(crate) const MARK: usize = COMPLETE - 1;

/// Write the bytes of the large objects this restore creates.
pub async fn load(cx: &Ctx<'_>) -> Result<()> {
    let schema = cx.schema();
    if schema.large_objects.is_empty() {
        return Ok(());
    }
    let only: HashSet<u32> = super::super::objects::all(&cx.plan, schema)
        .iter()
        .filter(|x| x.kind == LARGE_OBJECT_KIND)
        .filter_map(|x| x.name.parse().ok())
        .collect();
    if only.is_empty() {
        return Ok(());
    }
    let pieces = match cx.feed.as_ref() {
        Feed::Archive(reader) => {
            let Some(entry) = reader.manifest().stream(LARGE_OBJECTS) else {
                if schema.large_objects.iter().all(|o| o.bytes == 0) {
                    return Ok(());
                }
                return Err(ArchiveError::BadManifest {
                    path: reader.path().to_path_buf(),
                    reason: format!("its large objects have bytes but no {LARGE_OBJECTS} stream"),
                }
                .into());
            };
            let mut pieces = 0;
            for (ci, chunk) in entry.chunks.iter().enumerate() {
                let mark = ChunkMark {
                    table: MARK,
                    chunk: ci,
                };
                if cx.done.contains(&mark) {
                    continue;
                }
                let csv =
                    tokio::task::block_in_place(|| reader.read_chunk(&entry.name, chunk, false))?;
                let mut rows = ChunkRows::new(&csv, entry.columns.len());
                let n = cx
                    .target
                    .load_large_objects(&mut rows, &only, &chunk.member, Some(mark))
                    .await?;
                if n != chunk.rows {
                    return Err(ArchiveError::BadChunk {
                        path: reader.path().to_path_buf(),
                        table: entry.name.clone(),
                        member: chunk.member.clone(),
                        reason: format!("holds {n} rows, the manifest says {}", chunk.rows),
                    }
                    .into());
                }
                pieces += n;
                failpoint(&format!("large-objects:{}", ci + 1));
            }
            pieces
        }
        Feed::Live {
            source, chunk_size, ..
        } => {
            let complete = ChunkMark {
                table: MARK,
                chunk: COMPLETE,
            };
            if cx.done.contains(&complete) {
                return Ok(());
            }
            let objects: Vec<_> = schema
                .large_objects
                .iter()
                .filter(|o| only.contains(&o.oid))
                .cloned()
                .collect();
            let n = copy(cx, Arc::clone(source), objects, *chunk_size, &only).await?;
            cx.target.mark_chunk(complete).await?;
            n
        }
    };
    let bytes: u64 = schema
        .large_objects
        .iter()
        .filter(|o| only.contains(&o.oid))
        .map(|o| o.bytes)
        .sum();
    cx.progress.note(&format!(
        "large objects: {} written ({bytes} bytes; {pieces} pieces this run)",
        only.len()
    ));
    Ok(())
}

/// Read the large objects of a copy's source and write them as they come.
async fn copy(
    cx: &Ctx<'_>,
    source: Arc<dyn crate::engine::Source>,
    objects: Vec<crate::model::LargeObject>,
    chunk_size: usize,
    only: &HashSet<u32>,
) -> Result<u64> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<RawChunk>(1);
    let reader = tokio::spawn(async move {
        let mut sink = ChunkSink::new(
            MARK,
            chunk_size,
            Box::new(move |c| {
                tokio::task::block_in_place(|| tx.blocking_send(c)).map_err(|_| SinkClosed)
            }),
            None,
        );
        source.read_large_objects(&objects, &mut sink).await?;
        sink.finish()?;
        Ok::<(), EngineError>(())
    });
    let mut seq = 0;
    let mut pieces = 0;
    let mut failed = None;
    while let Some(raw) = rx.recv().await {
        seq += 1;
        let mut rows = ChunkRows::new(&raw.csv, 3);
        let label = format!("chunk {seq}");
        match cx
            .target
            .load_large_objects(&mut rows, only, &label, None)
            .await
        {
            Ok(n) => pieces += n,
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    drop(rx);
    let read = reader.await;
    if let Some(e) = failed {
        return Err(e.into());
    }
    match read {
        Ok(Ok(())) => Ok(pieces),
        Ok(Err(e)) => Err(anyhow::Error::new(e).context("reading large objects from the source")),
        Err(j) => Err(anyhow::anyhow!("a copy reader failed: {j}")),
    }
}
