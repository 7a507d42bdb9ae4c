//! The manifest: what an archive holds, written last.

use crate::model::{EngineKind, Schema};
use serde::{Deserialize, Serialize};

/// Identifies the format in `manifest.json`.
pub const FORMAT_NAME: &str = "haul-archive";
/// The format version this build writes and reads.
pub const FORMAT_VERSION: u32 = 1;

/// The archive's table of contents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub format_version: u32,
    pub haul_version: String,
    pub source: SourceInfo,
    /// RFC 3339 UTC.
    pub started_at: String,
    pub finished_at: String,
    /// How the snapshot was made consistent.
    pub snapshot: String,
    /// App schema versions found in the data (Gogs `version`, Laravel
    /// `migrations`, ...).
    #[serde(default)]
    pub app_markers: Vec<AppMarker>,
    #[serde(default)]
    pub warnings: Vec<String>,
    /// BLAKE3 of the `schema.json` member, lowercase hex.
    pub schema_blake3: String,
    pub schema: Schema,
    pub tables: Vec<TableEntry>,
    /// Data that belongs to no table, chunked as a table's rows are; each
    /// named by what the schema calls it (`schema.json` says what it is).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub streams: Vec<TableEntry>,
}

/// Where a dump came from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceInfo {
    pub engine: EngineKind,
    pub server_version: String,
    pub database: String,
}

/// An app schema version marker.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppMarker {
    pub app: String,
    pub table: String,
    pub version: String,
    /// For apps whose migrations are a set, not a sequence (Django): every
    /// applied migration, sorted; `version` then says how many.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied: Vec<String>,
}

/// One table's data (or a stream's) in the archive.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableEntry {
    pub name: String,
    /// Member directory holding `header.csv` and the chunks.
    pub dir: String,
    /// Data columns in chunk field order.
    pub columns: Vec<String>,
    pub rows: u64,
    /// CSV bytes before compression.
    pub raw_bytes: u64,
    /// Compressed bytes stored.
    pub stored_bytes: u64,
    pub chunks: Vec<ChunkEntry>,
}

/// One chunk: an independent zstd frame of CSV rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ChunkEntry {
    pub member: String,
    pub rows: u64,
    pub raw_bytes: u64,
    pub stored_bytes: u64,
    /// BLAKE3 of the stored (compressed) bytes, lowercase hex (`b3sum`).
    pub blake3: String,
}

impl Manifest {
    pub fn total_rows(&self) -> u64 {
        self.tables.iter().map(|t| t.rows).sum()
    }
    pub fn raw_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.raw_bytes).sum()
    }
    pub fn stored_bytes(&self) -> u64 {
        self.tables.iter().map(|t| t.stored_bytes).sum()
    }
    pub fn table(&self, name: &str) -> Option<&TableEntry> {
        self.tables.iter().find(|t| t.name == name)
    }
    pub fn stream(&self, name: &str) -> Option<&TableEntry> {
        self.streams.iter().find(|t| t.name == name)
    }
}

/// Current time as RFC 3339 UTC with microseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}
