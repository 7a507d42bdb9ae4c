//! The streaming pipeline between engines and the archive: engines write rows
//! into a [`ChunkSink`], which cuts them into bounded chunks and hands each to
//! a handler (the compressor pool for a dump, a hasher for `verify`). On the
//! way back, decoded chunks reach engines as [`Rows`].

mod compress;
mod hash;
mod rows;
mod sink;

pub use compress::Compressors;
pub use hash::ContentHash;
pub use rows::{ChunkRows, Rows};
pub use sink::{ChunkHandler, ChunkSink, RawChunk, SinkClosed};
