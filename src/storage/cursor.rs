//! `Read + Seek` over a [`Blob`], fetching ahead: a read after a seek
//! fetches the blob's read-ahead size, and each sequential fetch after it
//! twice the last, up to 4 MiB, so scanning tar headers costs one small
//! read (one request, on S3) each and reading a long run costs few.

use super::Blob;
use std::io::{self, Read, Seek, SeekFrom};
use std::sync::Arc;

/// Largest single fetch.
const MAX_FETCH: usize = 4 << 20;

/// A reading position in a blob, with what was fetched around it.
pub struct BlobCursor {
    blob: Arc<dyn Blob>,
    len: u64,
    pos: u64,
    buf: Vec<u8>,
    buf_start: u64,
    next_fetch: usize,
}

impl BlobCursor {
    pub fn new(blob: Arc<dyn Blob>) -> BlobCursor {
        let len = blob.len();
        let next_fetch = blob.read_ahead();
        BlobCursor {
            blob,
            len,
            pos: 0,
            buf: Vec::new(),
            buf_start: 0,
            next_fetch,
        }
    }
}

impl Read for BlobCursor {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() || self.pos >= self.len {
            return Ok(0);
        }
        let buf_end = self.buf_start + self.buf.len() as u64;
        if self.pos < self.buf_start || self.pos >= buf_end {
            let sequential = self.pos == buf_end && !self.buf.is_empty();
            self.next_fetch = if sequential {
                (self.next_fetch * 2).min(MAX_FETCH)
            } else {
                self.blob.read_ahead()
            };
            let want = self.next_fetch.max(out.len().min(MAX_FETCH)) as u64;
            let n = want.min(self.len - self.pos) as usize;
            self.buf.resize(n, 0);
            self.blob.read_at(self.pos, &mut self.buf)?;
            self.buf_start = self.pos;
        }
        let at = (self.pos - self.buf_start) as usize;
        let n = out.len().min(self.buf.len() - at);
        out[..n].copy_from_slice(&self.buf[at..at + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for BlobCursor {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        match new {
            Some(n) => {
                self.pos = n;
                Ok(n)
            }
            None => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Mem(Vec<u8>, std::sync::atomic::AtomicUsize);
    impl Blob for Mem {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            self.1.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let o = offset as usize;
            let src = self
                .0
                .get(o..o + buf.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    #[test]
    fn reads_and_seeks() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let blob = Arc::new(Mem(data.clone(), Default::default()));
        let mut c = BlobCursor::new(blob.clone());
        let mut all = Vec::new();
        c.read_to_end(&mut all).unwrap();
        assert_eq!(all, data);
        // 8 KiB, 16, 32, 64: four fetches.
        assert_eq!(blob.1.load(std::sync::atomic::Ordering::Relaxed), 4);
        c.seek(SeekFrom::Start(99_990)).unwrap();
        let mut tail = Vec::new();
        c.read_to_end(&mut tail).unwrap();
        assert_eq!(tail, &data[99_990..]);
        c.seek(SeekFrom::End(-5)).unwrap();
        let mut five = [0u8; 5];
        c.read_exact(&mut five).unwrap();
        assert_eq!(five, data[99_995..]);
        assert!(c.seek(SeekFrom::Current(-200_000)).is_err());
    }
}
