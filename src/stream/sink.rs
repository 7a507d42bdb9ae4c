//! [`ChunkSink`]: engines write rows into it; it cuts them into chunks of
//! about the chunk size and hands each to a handler.

use crate::archive::codec::ChunkEncoder;
use crate::progress::TableProgress;
use std::sync::Arc;

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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

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
