//! The archive: one tar file holding `schema.json`, per-table CSV chunks each
//! compressed as its own zstd frame, and `manifest.json` written last.
//!
//! The archive knows nothing about engines; `docs/format.md` specifies it.

pub mod codec;
pub mod crypt;
#[cfg(test)]
mod fuzz;
pub mod manifest;
pub mod reader;
pub mod writer;

pub use manifest::{Manifest, SourceInfo};
pub use reader::ArchiveReader;
pub use writer::{ArchiveWriter, Dest};

use std::path::PathBuf;
use thiserror::Error;

/// Member holding the schema, first in the archive.
pub const SCHEMA_MEMBER: &str = "schema.json";
/// Member holding the manifest, last in the archive.
pub const MANIFEST_MEMBER: &str = "manifest.json";
/// Largest decompressed chunk a reader accepts.
pub const MAX_CHUNK_BYTES: u64 = 1 << 30;
/// Largest manifest or schema member a reader accepts.
pub const MAX_META_BYTES: u64 = 256 << 20;

/// Everything that can be wrong with an archive.
#[derive(Debug, Error)]
pub enum ArchiveError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a haul archive ({reason})")]
    NotAnArchive { path: PathBuf, reason: String },
    #[error("{path}: incomplete archive: no manifest (the dump did not finish, or the file is truncated)")]
    Incomplete { path: PathBuf },
    #[error("{path}: unsafe member name {name:?} (absolute, '..', or not a plain file)")]
    UnsafeMember { path: PathBuf, name: String },
    #[error("{path}: unexpected member {name:?}")]
    UnexpectedMember { path: PathBuf, name: String },
    #[error("{path}: member {name:?} listed in the manifest is missing")]
    MissingMember { path: PathBuf, name: String },
    #[error("{path}: bad manifest: {reason}")]
    BadManifest { path: PathBuf, reason: String },
    #[error("{path}: table {table}, chunk {member}: checksum mismatch (the archive is corrupt)")]
    Checksum {
        path: PathBuf,
        table: String,
        member: String,
    },
    #[error("{path}: table {table}, chunk {member}: {reason}")]
    BadChunk {
        path: PathBuf,
        table: String,
        member: String,
        reason: String,
    },
    #[error("refusing to write archive {path}: it is a symbolic link; give the real path, or remove the link")]
    Symlink { path: PathBuf },
    #[error("cannot write archive {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is encrypted with age: give --identity FILE (or HAUL_IDENTITY) holding a key it was encrypted to")]
    NeedsIdentity { path: PathBuf },
    #[error("{path}: none of the identities given can decrypt it (it was encrypted to other recipients)")]
    WrongIdentity { path: PathBuf },
    #[error("{path}: not a readable age file: {reason}")]
    BadEncryption { path: PathBuf, reason: String },
    #[error(transparent)]
    Storage(#[from] crate::storage::StorageError),
}

impl ArchiveError {
    /// The storage error under this one, if a store failed.
    pub fn storage(&self) -> Option<&crate::storage::StorageError> {
        let io = match self {
            ArchiveError::Storage(s) => return Some(s),
            ArchiveError::Io { source, .. } | ArchiveError::Write { source, .. } => source,
            _ => return None,
        };
        io.get_ref()
            .and_then(|e| e.downcast_ref::<crate::storage::StorageError>())
    }
}

/// A safe member-name component derived from a table name.
pub fn member_dir(index: usize, table: &str) -> String {
    let mut s: String = table
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(48)
        .collect();
    if s.is_empty() {
        s.push('_');
    }
    format!("data/{:04}-{}", index + 1, s)
}

#[cfg(test)]
mod tests {
    #[test]
    fn member_dir_is_safe() {
        assert_eq!(super::member_dir(0, "album"), "data/0001-album");
        assert_eq!(
            super::member_dir(9, "../etc/passwd"),
            "data/0010-___etc_passwd"
        );
        assert_eq!(
            super::member_dir(1, "Ünïcode table"),
            "data/0002-_n_code_table"
        );
    }
}
