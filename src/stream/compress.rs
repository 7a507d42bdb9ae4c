//! The zstd compressor pool of a dump: raw chunks in, independent frames out.

use super::RawChunk;
use crate::archive::writer::StoredChunk;
use std::sync::mpsc::{Receiver, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

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
