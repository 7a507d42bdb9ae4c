//! haul: move relational databases. See README.md and docs/architecture.md.
//!
//! The binary (`src/main.rs`) parses the command line and calls [`cmd::run`];
//! everything else is this library, in layers: `cli` (clap types, the config
//! file), `cmd` (one thin file per command), and below them `model` (the
//! neutral schema), `archive` (the format, no engine words), `stream` (chunks
//! and row streams), `engine` (one folder per database), `convert` (values
//! across engines), `transform` (backfills, rules, profiles), `restore` (the
//! phases), `backups` (naming, retention, locks).

pub mod archive;
pub mod backups;
pub mod cli;
pub mod cmd;
pub mod conn;
pub mod convert;
pub mod display;
pub mod dump;
pub mod engine;
pub mod error;
pub mod markers;
pub mod model;
pub mod progress;
pub mod restore;
pub mod scratch;
pub mod storage;
pub mod stream;
pub mod tls;
pub mod transform;
pub mod watch;
