//! Where archives live: a local path or an object in an S3-compatible
//! bucket, behind one small interface in the manner of restic's backends:
//! a [`Blob`] read at offsets (ranged GETs), an [`Upload`] that appears
//! under its name only when complete (put-once), and a [`Store`] (a
//! directory or a bucket prefix) that lists, reads, writes and deletes
//! small objects. `local` and `s3` implement it; nothing here knows an
//! engine or the archive format.

pub mod config;
mod cursor;
pub mod local;
pub mod s3;

pub use config::S3Config;
pub use cursor::BlobCursor;

use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// What went wrong talking to a store. Never holds a secret: the messages
/// name the location and the kind of failure only.
#[derive(Debug, Error)]
pub enum StorageError {
    /// The store refused the credentials (exit 3).
    #[error("{location}: access denied ({source}); check AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the [s3] keys of the config file)")]
    Denied {
        location: String,
        #[source]
        source: s3::Cause,
    },
    /// The endpoint did not answer (exit 3).
    #[error("{location}: cannot reach the object store at {endpoint} ({source})")]
    Unreachable {
        location: String,
        endpoint: String,
        #[source]
        source: s3::Cause,
    },
    /// No such object or bucket (exit 2).
    #[error("{location}: no such object or bucket ({source})")]
    NotFound {
        location: String,
        #[source]
        source: s3::Cause,
    },
    /// The object was replaced while it was read.
    #[error("{location} was replaced while haul read it; run again")]
    Changed { location: String },
    /// Anything else the store said.
    #[error("{location}: {source}")]
    Other {
        location: String,
        #[source]
        source: s3::Cause,
    },
    /// A location or setting that cannot be used (exit 2).
    #[error("{0}")]
    Config(String),
    /// A local file or directory could not be read or written.
    #[error("{location}: {source}")]
    Local {
        location: String,
        #[source]
        source: io::Error,
    },
}

impl StorageError {
    /// Whether the store could not be reached or refused the credentials.
    pub fn is_connection(&self) -> bool {
        matches!(
            self,
            StorageError::Denied { .. } | StorageError::Unreachable { .. }
        )
    }
}

/// An archive location as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// `-`: standard output (writing only).
    Stdout,
    /// A path on the local file system.
    Local(PathBuf),
    /// `s3://bucket/key`.
    S3 { bucket: String, key: String },
}

impl Location {
    /// Parse `s3://bucket/key`, `-` or a local path.
    pub fn parse(given: &Path) -> Result<Location, StorageError> {
        let Some(s) = given.to_str() else {
            return Ok(Location::Local(given.to_path_buf()));
        };
        if s == "-" {
            return Ok(Location::Stdout);
        }
        let Some(rest) = s.strip_prefix("s3://") else {
            if s.contains("://") {
                return Err(StorageError::Config(format!(
                    "{s}: unknown scheme; haul reads and writes local paths and s3://bucket/key"
                )));
            }
            return Ok(Location::Local(given.to_path_buf()));
        };
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(StorageError::Config(format!("{s}: no bucket name")));
        }
        if key.split('/').any(|c| c == ".." || c == ".") || key.starts_with('/') {
            return Err(StorageError::Config(format!(
                "{s}: a key with '.', '..' or '//' is not allowed"
            )));
        }
        Ok(Location::S3 {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    pub fn is_s3(&self) -> bool {
        matches!(self, Location::S3 { .. })
    }

    /// The location with `name` appended (a directory's or a prefix's
    /// member).
    pub fn join(&self, name: &str) -> Location {
        match self {
            Location::Stdout => Location::Stdout,
            Location::Local(p) => Location::Local(p.join(name)),
            Location::S3 { bucket, key } => Location::S3 {
                bucket: bucket.clone(),
                key: join_key(key, name),
            },
        }
    }
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Stdout => f.write_str("-"),
            Location::Local(p) => write!(f, "{}", p.display()),
            Location::S3 { bucket, key } => write!(f, "s3://{bucket}/{key}"),
        }
    }
}

/// `prefix` and `name` joined with one `/`.
pub fn join_key(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", prefix.trim_end_matches('/'))
    }
}

/// Bytes read at offsets: a local file, an object (ranged GETs), or the
/// plaintext of an encrypted archive. Reads may run in parallel.
pub trait Blob: Send + Sync {
    /// Total size in bytes.
    fn len(&self) -> u64;
    /// Fill `buf` from `offset`; an error if the blob ends first.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()>;
    /// Bytes a cursor fetches at once after a seek: small for files, more
    /// for objects, where each fetch is a request.
    fn read_ahead(&self) -> usize {
        8 << 10
    }
    /// Whether the blob is empty.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// An archive being written: bytes in order, then `complete`, which makes
/// it appear under its name, whole. Dropped without `complete`, it leaves
/// nothing behind (a temporary file removed, a multipart upload aborted).
pub trait Upload: Write + Send {
    /// Publish the object; returns where it now is (a local `--into`
    /// may take a name with `-1`, `-2`, ...).
    fn complete(self: Box<Self>) -> io::Result<String>;
}

/// One object in a [`Store`] listing.
#[derive(Debug, Clone)]
pub struct Entry {
    pub name: String,
    pub size: u64,
    /// Seconds since the epoch, when the store says.
    pub modified: Option<i64>,
}

/// A directory or a bucket prefix holding archives (for `dump --into`
/// and `prune`).
pub trait Store: Send + Sync {
    /// The objects directly in it (not in sub-directories or below a
    /// further `/`).
    fn list(&self) -> Result<Vec<Entry>, StorageError>;
    /// The objects whose names start with `prefix/` (a sub-directory).
    fn list_under(&self, prefix: &str) -> Result<Vec<Entry>, StorageError>;
    fn delete(&self, name: &str) -> Result<(), StorageError>;
    fn exists(&self, name: &str) -> Result<bool, StorageError>;
    /// Write a small object, replacing it.
    fn put_small(&self, name: &str, data: &[u8]) -> Result<(), StorageError>;
    /// Read a small object (`None`: it is gone).
    fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError>;
    /// Open a member for reading.
    fn open(&self, name: &str) -> Result<Arc<dyn Blob>, StorageError>;
    /// Where a member is, for messages.
    fn location(&self, name: &str) -> Location;
}

/// Open an archive location for reading.
pub fn open(loc: &Location, cfg: &S3Config) -> Result<Arc<dyn Blob>, StorageError> {
    match loc {
        Location::Stdout => Err(StorageError::Config(
            "an archive cannot be read from '-'; give a file or s3://bucket/key".into(),
        )),
        Location::Local(p) => local::FileBlob::open(p)
            .map(|b| Arc::new(b) as Arc<dyn Blob>)
            .map_err(|source| StorageError::Local {
                location: p.display().to_string(),
                source,
            }),
        Location::S3 { bucket, key } => {
            let store = s3::Bucket::open(bucket, cfg)?;
            Ok(Arc::new(store.blob(key)?))
        }
    }
}

/// Start writing an archive at `loc` (not stdout). `no_replace`: never
/// over an existing local file (the name gets `-1`, `-2`, ...).
pub fn create(
    loc: &Location,
    cfg: &S3Config,
    no_replace: bool,
) -> Result<Box<dyn Upload>, StorageError> {
    match loc {
        Location::Stdout => Err(StorageError::Config("stdout is not an upload".into())),
        Location::Local(p) => local::FileUpload::create(p, no_replace)
            .map(|u| Box::new(u) as Box<dyn Upload>)
            .map_err(|source| StorageError::Local {
                location: p.display().to_string(),
                source,
            }),
        Location::S3 { bucket, key } => {
            let store = s3::Bucket::open(bucket, cfg)?;
            Ok(Box::new(store.upload(key)?))
        }
    }
}

/// The store for a backup directory or bucket prefix.
pub fn store(loc: &Location, cfg: &S3Config) -> Result<Box<dyn Store>, StorageError> {
    match loc {
        Location::Stdout => Err(StorageError::Config(
            "'-' is not a directory or bucket prefix".into(),
        )),
        Location::Local(p) => Ok(Box::new(local::Dir::new(p))),
        Location::S3 { bucket, key } => Ok(Box::new(s3::Bucket::open(bucket, cfg)?.prefix(key))),
    }
}

/// Remove or abort every archive still being written (on an interrupt):
/// temporary files and multipart uploads.
pub fn abort_unfinished() {
    local::remove_unfinished();
    s3::abort_unfinished();
}

/// Standard output as a sink (for `dump -o -`).
pub fn stdout() -> Box<dyn Write + Send> {
    Box::new(io::BufWriter::with_capacity(1 << 20, io::stdout()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations() {
        assert_eq!(Location::parse(Path::new("-")).unwrap(), Location::Stdout);
        assert_eq!(
            Location::parse(Path::new("a/b.haul")).unwrap(),
            Location::Local("a/b.haul".into())
        );
        let l = Location::parse(Path::new("s3://bk/nightly/x.haul")).unwrap();
        assert_eq!(
            l,
            Location::S3 {
                bucket: "bk".into(),
                key: "nightly/x.haul".into()
            }
        );
        assert_eq!(l.to_string(), "s3://bk/nightly/x.haul");
        let d = Location::parse(Path::new("s3://bk/nightly/")).unwrap();
        assert_eq!(d.join("y.haul").to_string(), "s3://bk/nightly/y.haul");
        let root = Location::parse(Path::new("s3://bk")).unwrap();
        assert_eq!(root.join("y.haul").to_string(), "s3://bk/y.haul");
        assert!(Location::parse(Path::new("s3:///x")).is_err());
        assert!(Location::parse(Path::new("s3://b/../x")).is_err());
        assert!(Location::parse(Path::new("gs://b/x")).is_err());
    }
}
