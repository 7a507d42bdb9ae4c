//! The streaming pipeline between engines and the archive: engines write rows
//! into a [`ChunkSink`], which cuts them into bounded chunks and hands each to
//! a handler (the compressor pool for a dump, a hasher for `verify`). On the
//! way back, decoded chunks reach engines as [`Rows`].

use crate::archive::codec::{ChunkDecoder, ChunkEncoder, CodecError, Field};
use crate::archive::writer::StoredChunk;
use crate::progress::TableProgress;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// A chunk of CSV rows before compression.
pub struct RawChunk {
    pub table: usize,
    pub rows: u64,
    pub csv: Vec<u8>,
}

/// The consumer of a sink's chunks went away (the dump is failing elsewhere).
#[derive(Debug, thiserror::Error)]
#[error("the archive writer stopped")]
pub struct SinkClosed;

/// What happens to each full chunk.
pub type ChunkHandler = Box<dyn FnMut(RawChunk) -> Result<(), SinkClosed> + Send>;

/// Where an engine writes the rows of one table (part).
pub struct ChunkSink {
    enc: ChunkEncoder,
    table: usize,
    limit: usize,
    handler: ChunkHandler,
    progress: Option<Arc<TableProgress>>,
}

impl ChunkSink {
    /// A sink for table number `table`, cutting chunks at about `limit` bytes.
    pub fn new(
        table: usize,
        limit: usize,
        handler: ChunkHandler,
        progress: Option<Arc<TableProgress>>,
    ) -> Self {
        ChunkSink {
            enc: ChunkEncoder::new(limit + limit / 8),
            table,
            limit,
            handler,
            progress,
        }
    }

    #[inline]
    pub fn null(&mut self) {
        self.enc.null()
    }
    #[inline]
    pub fn text(&mut self, v: &[u8]) {
        self.enc.text(v)
    }
    #[inline]
    pub fn bytes(&mut self, v: &[u8]) {
        self.enc.bytes(v)
    }
    #[inline]
    pub fn hex(&mut self, v: &[u8]) {
        self.enc.hex(v)
    }
    #[inline]
    pub fn tagged(&mut self, tag: u8, v: &[u8]) {
        self.enc.tagged(tag, v)
    }

    /// Close the row; hands off the chunk when it is full.
    #[inline]
    pub fn end_row(&mut self) -> Result<(), SinkClosed> {
        self.enc.end_row();
        if self.enc.len() >= self.limit {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkClosed> {
        if self.enc.is_empty() {
            return Ok(());
        }
        let (csv, rows) = self.enc.take();
        if let Some(p) = &self.progress {
            p.add(rows, csv.len() as u64);
        }
        (self.handler)(RawChunk {
            table: self.table,
            rows,
            csv,
        })
    }

    /// Hand off the last, partial chunk.
    pub fn finish(mut self) -> Result<(), SinkClosed> {
        self.flush()
    }
}

/// Threads compressing raw chunks into stored ones.
pub struct Compressors {
    handles: Vec<JoinHandle<()>>,
}

impl Compressors {
    /// Start `n` threads reading `input` and sending to `output`.
    pub fn start(
        n: usize,
        level: i32,
        input: Receiver<RawChunk>,
        output: SyncSender<StoredChunk>,
    ) -> Self {
        let input = Arc::new(Mutex::new(input));
        let handles = (0..n.max(1))
            .map(|_| {
                let input = Arc::clone(&input);
                let output = output.clone();
                std::thread::spawn(move || {
                    // Each frame carries zstd's own content checksum, so a
                    // restore detects corruption without re-hashing.
                    let mut cctx = zstd::bulk::Compressor::new(level).ok().and_then(|mut c| {
                        c.set_parameter(zstd::stream::raw::CParameter::ChecksumFlag(true))
                            .ok()?;
                        Some(c)
                    });
                    loop {
                        let next = match input.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        let Ok(raw) = next else { return };
                        let data = match cctx.as_mut().map(|c| c.compress(&raw.csv)) {
                            // compress() reserves the worst case; keep only what is used.
                            Some(Ok(mut d)) => {
                                d.shrink_to_fit();
                                d
                            }
                            // Out of memory in zstd: stop, the writer reports it.
                            _ => return,
                        };
                        let blake3 = blake3::hash(&data).to_hex().to_string();
                        let stored = StoredChunk {
                            table: raw.table,
                            rows: raw.rows,
                            raw_bytes: raw.csv.len() as u64,
                            data,
                            blake3,
                        };
                        if output.send(stored).is_err() {
                            return;
                        }
                    }
                })
            })
            .collect();
        Compressors { handles }
    }

    pub fn join(self) {
        for h in self.handles {
            let _ = h.join();
        }
    }
}

/// The rows of one chunk as an engine's bulk loader reads them.
pub trait Rows: Send {
    /// Advance; false at the end.
    fn next_row(&mut self) -> Result<bool, CodecError>;
    /// Field `i` of the current row.
    fn field(&self, i: usize) -> Result<Field<'_>, CodecError>;
    /// Number of fields per row.
    fn width(&self) -> usize;
    /// 1-based row number within the chunk, for error messages.
    fn row_number(&self) -> u64;
    /// The whole chunk's CSV, where every row would come out exactly as
    /// stored (no mapping, no conversion) and none has been read yet: a
    /// loader may send it as is.
    fn raw_csv(&self) -> Option<&[u8]> {
        None
    }
}

/// [`Rows`] straight from a decoded chunk.
pub struct ChunkRows<'a> {
    dec: ChunkDecoder<'a>,
    width: usize,
    csv: &'a [u8],
}

impl<'a> ChunkRows<'a> {
    pub fn new(csv: &'a [u8], width: usize) -> Self {
        ChunkRows {
            dec: ChunkDecoder::new(csv, width),
            width,
            csv,
        }
    }
}

impl Rows for ChunkRows<'_> {
    fn next_row(&mut self) -> Result<bool, CodecError> {
        self.dec.next_row()
    }
    #[inline]
    fn field(&self, i: usize) -> Result<Field<'_>, CodecError> {
        self.dec.field(i)
    }
    fn width(&self) -> usize {
        self.width
    }
    fn row_number(&self) -> u64 {
        self.dec.row_number()
    }
    fn raw_csv(&self) -> Option<&[u8]> {
        (self.dec.row_number() == 0).then_some(self.csv)
    }
}

/// An order-independent hash of a table's rows: the sum of per-row BLAKE3
/// prefixes over the encoded fields, plus the row count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ContentHash {
    pub rows: u64,
    pub sum: u128,
}

impl ContentHash {
    /// Add every row of a raw CSV chunk.
    pub fn add_chunk(&mut self, csv: &[u8], width: usize) -> Result<(), CodecError> {
        let mut dec = ChunkDecoder::new(csv, width);
        let mut h = blake3::Hasher::new();
        while dec.next_row()? {
            for i in 0..width {
                let f = dec.raw(i);
                h.update(&(f.len() as u64).to_le_bytes());
                h.update(f);
            }
            let d = h.finalize();
            h.reset();
            let mut prefix = [0u8; 16];
            prefix.copy_from_slice(&d.as_bytes()[..16]);
            self.sum = self.sum.wrapping_add(u128::from_le_bytes(prefix));
            self.rows += 1;
        }
        Ok(())
    }

    pub fn merge(&mut self, other: &ContentHash) {
        self.rows += other.rows;
        self.sum = self.sum.wrapping_add(other.sum);
    }

    pub fn hex(&self) -> String {
        format!("{:032x}", self.sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(rows: &[&[&[u8]]]) -> Vec<u8> {
        let mut e = ChunkEncoder::new(16);
        for r in rows {
            for f in *r {
                e.text(f);
            }
            e.end_row();
        }
        e.take().0
    }

    #[test]
    fn hash_is_order_independent_and_content_sensitive() {
        let a = chunk(&[&[b"1", b"x"], &[b"2", b"y"]]);
        let b = chunk(&[&[b"2", b"y"], &[b"1", b"x"]]);
        let c = chunk(&[&[b"2", b"y"], &[b"1", b"z"]]);
        let d = chunk(&[&[b"2", b"y,1"], &[b"x"]]);
        let h = |c: &[u8]| {
            let mut h = ContentHash::default();
            let _ = h.add_chunk(c, 2);
            h
        };
        assert_eq!(h(&a), h(&b));
        assert_ne!(h(&a), h(&c));
        assert_ne!(h(&a).sum, h(&d).sum);
    }

    #[test]
    fn sink_cuts_chunks() {
        let got = Arc::new(Mutex::new(Vec::new()));
        let g = Arc::clone(&got);
        let mut s = ChunkSink::new(
            3,
            1000,
            Box::new(move |c: RawChunk| {
                g.lock().unwrap().push((c.table, c.rows, c.csv.len()));
                Ok(())
            }),
            None,
        );
        for _ in 0..20000 {
            s.text(b"0123456789");
            s.end_row().unwrap();
        }
        s.finish().unwrap();
        let got = got.lock().unwrap();
        assert!(got.len() > 5);
        assert_eq!(got.iter().map(|c| c.1).sum::<u64>(), 20000);
        assert!(got.iter().all(|c| c.0 == 3));
    }
}
