//! haul: move relational databases. See README.md and docs/architecture.md.
//!
//! The binary (`src/main.rs`) parses the command line and calls [`cmd::run`];
//! everything else is this library.

pub mod archive;
pub mod cli;
pub mod cmd;
pub mod config;
pub mod conn;
pub mod engine;
pub mod error;
pub mod markers;
pub mod pipeline;
pub mod progress;
pub mod restore;
pub mod retention;
pub mod schema;
pub mod transform;
