//! The rows of an archive: its chunks, each checked against the manifest's
//! count and recorded in the journal in the load's own transaction.

use super::{
    load_chunk, load_table, Contents, Feed, LoadTo, Origin, TableContents, LARGE_OBJECTS_MARK,
};
use crate::archive::codec::ChunkDecoder;
use crate::archive::{ArchiveError, ArchiveReader};
use crate::engine::{ChunkMark, Target};
use crate::model::LARGE_OBJECTS;
use crate::restore::failpoint::failpoint;
use crate::restore::plan::Plan;
use crate::stream::ChunkRows;
use anyhow::Result;
use async_trait::async_trait;
use std::collections::HashSet;
use std::sync::Arc;

/// An archive's chunks.
pub struct ArchiveFeed {
    reader: Arc<ArchiveReader>,
    contents: Contents,
}

impl ArchiveFeed {
    /// The feed of `reader`'s archive; its contents may be adjusted
    /// (`contents_mut`) before the restore plans.
    pub fn new(reader: Arc<ArchiveReader>) -> ArchiveFeed {
        let m = reader.manifest();
        let contents = Contents {
            source: m.source.clone(),
            schema: m.schema.clone(),
            tables: m
                .tables
                .iter()
                .map(|t| TableContents {
                    name: t.name.clone(),
                    columns: t.columns.clone(),
                    rows: t.rows,
                    chunks: t.chunks.len(),
                })
                .collect(),
            app_markers: m.app_markers.clone(),
            warnings: vec![],
        };
        ArchiveFeed { reader, contents }
    }

    /// The contents, to adjust before planning (`--no-code`, sequences).
    pub fn contents_mut(&mut self) -> &mut Contents {
        &mut self.contents
    }

    pub fn reader(&self) -> &Arc<ArchiveReader> {
        &self.reader
    }
}

/// What identifies an archive for `--resume`.
pub fn archive_id(reader: &ArchiveReader) -> String {
    let m = reader.manifest();
    format!("{}@{}", m.schema_blake3, m.finished_at)
}

/// The records of a CSV chunk (`None` if it does not parse).
fn count_records(csv: &[u8], width: usize) -> Option<u64> {
    let mut dec = ChunkDecoder::new(csv, width);
    while dec.next_row().ok()? {}
    Some(dec.row_number())
}

#[async_trait]
impl Feed for ArchiveFeed {
    fn contents(&self) -> &Contents {
        &self.contents
    }

    fn origin(&self) -> Origin {
        Origin {
            name: self.reader.path().display().to_string(),
            id: archive_id(&self.reader),
            copy: false,
        }
    }

    fn exact_counts(&self) -> bool {
        true
    }

    async fn units(
        &self,
        plan: &Plan,
        pi: usize,
        done: &HashSet<ChunkMark>,
        _jobs: usize,
    ) -> Result<Vec<usize>> {
        Ok((0..plan.tables[pi].chunks)
            .filter(|&chunk| !done.contains(&ChunkMark { table: pi, chunk }))
            .collect())
    }

    async fn load(&self, to: &LoadTo<'_>, ci: usize) -> Result<()> {
        let manifest = self.reader.manifest();
        let tp = &to.plan.tables[to.pi];
        let entry = &manifest.tables[tp.index];
        let table = load_table(tp, to.pi, &self.contents.schema);
        let chunk = &entry.chunks[ci];
        let csv =
            tokio::task::block_in_place(|| self.reader.read_chunk(&entry.name, chunk, false))?;
        let mark = ChunkMark {
            table: to.pi,
            chunk: ci,
        };
        let width = entry.columns.len();
        let loaded = load_chunk(
            to,
            &table,
            &csv,
            width,
            chunk.rows,
            &chunk.member,
            Some(mark),
        )
        .await;
        let n = match loaded {
            Ok(n) => n,
            Err(e) => {
                // A count the chunk itself contradicts is the archive's fault.
                return Err(match count_records(&csv, width) {
                    Some(found) if found != chunk.rows => ArchiveError::BadChunk {
                        path: self.reader.path().to_path_buf(),
                        table: entry.name.clone(),
                        member: chunk.member.clone(),
                        reason: format!("holds {found} rows, the manifest says {}", chunk.rows),
                    }
                    .into(),
                    _ => e,
                });
            }
        };
        drop(csv);
        (to.loaded)(n, chunk.raw_bytes);
        Ok(())
    }

    async fn table_loaded(&self, _target: &dyn Target, _pi: usize) -> Result<()> {
        Ok(())
    }

    fn started(&self, pi: usize, done: &HashSet<ChunkMark>) -> bool {
        done.iter().any(|m| m.table == pi)
    }

    fn rows_done(&self, plan: &Plan, pi: usize, done: &HashSet<ChunkMark>) -> Option<u64> {
        let entry = &self.reader.manifest().tables[plan.tables[pi].index];
        Some(
            done.iter()
                .filter(|m| m.table == pi)
                .filter_map(|m| entry.chunks.get(m.chunk))
                .map(|c| c.rows)
                .sum(),
        )
    }

    async fn load_large_objects(
        &self,
        target: &dyn Target,
        only: &HashSet<u32>,
        done: &HashSet<ChunkMark>,
    ) -> Result<u64> {
        let reader = &self.reader;
        let Some(entry) = reader.manifest().stream(LARGE_OBJECTS) else {
            if self
                .contents
                .schema
                .large_objects
                .iter()
                .all(|o| o.bytes == 0)
            {
                return Ok(0);
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
                table: LARGE_OBJECTS_MARK,
                chunk: ci,
            };
            if done.contains(&mark) {
                continue;
            }
            let csv = tokio::task::block_in_place(|| reader.read_chunk(&entry.name, chunk, false))?;
            let mut rows = ChunkRows::new(&csv, entry.columns.len());
            let n = target
                .load_large_objects(&mut rows, only, &chunk.member, Some(mark))
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
        Ok(pieces)
    }

    fn bytes(&self, plan: &Plan) -> (u64, u64) {
        let m = self.reader.manifest();
        plan.tables
            .iter()
            .map(|t| &m.tables[t.index])
            .fold((0, 0), |(s, r), t| (s + t.stored_bytes, r + t.raw_bytes))
    }

    async fn close(&self) -> Result<()> {
        Ok(())
    }
}
