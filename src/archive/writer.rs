//! Writes an archive: `schema.json` first, chunks as they come, the manifest
//! last, through a storage upload that appears under its name only once
//! complete (a local temporary file renamed, an S3 multipart upload
//! completed), optionally as one age stream.

use super::crypt::Recipients;
use super::manifest::{ChunkEntry, Manifest, TableEntry};
use super::{member_dir, ArchiveError, MANIFEST_MEMBER, SCHEMA_MEMBER};
use crate::model::Schema;
use crate::storage::{Location, S3Config, StorageError, Upload};
use age::stream::StreamWriter;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A compressed chunk ready to be stored.
pub struct StoredChunk {
    pub table: usize,
    pub rows: u64,
    pub raw_bytes: u64,
    pub data: Vec<u8>,
    pub blake3: String,
}

/// Where an archive goes and how: a location, the S3 settings to reach
/// it, whether an existing local file may be replaced, and the age
/// recipients to encrypt to.
#[derive(Clone)]
pub struct Dest {
    pub location: Location,
    pub s3: S3Config,
    /// Never replace an existing local file: take the name with `-1`,
    /// `-2`, ... before the extension instead.
    pub no_replace: bool,
    pub recipients: Option<Arc<Recipients>>,
}

impl Dest {
    /// A local file, not encrypted.
    pub fn local(path: &Path, no_replace: bool) -> Dest {
        Dest {
            location: if path == Path::new("-") {
                Location::Stdout
            } else {
                Location::Local(path.to_path_buf())
            },
            s3: S3Config::default(),
            no_replace,
            recipients: None,
        }
    }
}

/// The byte stream under the tar writer.
enum Sink {
    Stdout(Box<dyn Write + Send>),
    Plain(Box<dyn Upload>),
    AgeStdout(StreamWriter<Box<dyn Write + Send>>),
    Age(StreamWriter<Box<dyn Upload>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Stdout(w) => w.write(buf),
            Sink::Plain(w) => w.write(buf),
            Sink::AgeStdout(w) => w.write(buf),
            Sink::Age(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Stdout(w) => w.flush(),
            Sink::Plain(w) => w.flush(),
            Sink::AgeStdout(w) => w.flush(),
            Sink::Age(w) => w.flush(),
        }
    }
}

impl Sink {
    /// End the stream (the age stream's last chunk) and publish it;
    /// returns where it is.
    fn finish(self, display: &str) -> io::Result<String> {
        let upload = match self {
            Sink::Stdout(mut w) => {
                w.flush()?;
                return Ok(display.to_string());
            }
            Sink::AgeStdout(w) => {
                w.finish()?.flush()?;
                return Ok(display.to_string());
            }
            Sink::Plain(u) => u,
            Sink::Age(w) => w.finish()?,
        };
        upload.complete()
    }
}

/// Sequential tar writer for one archive.
pub struct ArchiveWriter {
    tar: Option<tar::Builder<Sink>>,
    display: PathBuf,
    mtime: u64,
    /// The schema's tables, then the streams.
    tables: Vec<TableEntry>,
    /// How many of `tables` are tables.
    n_tables: usize,
    schema_blake3: String,
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl ArchiveWriter {
    /// Start an archive at `dest` for the given schema.
    pub fn create(dest: &Dest, schema: &Schema) -> Result<Self, ArchiveError> {
        let path = PathBuf::from(dest.location.to_string());
        let path = path.as_path();
        let out: Either = match &dest.location {
            Location::Stdout => Either::Stdout(crate::storage::stdout()),
            loc => {
                if let Location::Local(p) = loc {
                    if std::fs::symlink_metadata(p).is_ok_and(|m| m.is_symlink()) {
                        return Err(ArchiveError::Symlink { path: p.clone() });
                    }
                }
                let up = crate::storage::create(loc, &dest.s3, dest.no_replace).map_err(
                    |e| match e {
                        StorageError::Local { source, .. } => ArchiveError::Write {
                            path: path.to_path_buf(),
                            source,
                        },
                        e => ArchiveError::Storage(e),
                    },
                )?;
                Either::Upload(up)
            }
        };
        let sink = match (out, &dest.recipients) {
            (Either::Stdout(w), None) => Sink::Stdout(w),
            (Either::Upload(u), None) => Sink::Plain(u),
            (Either::Stdout(w), Some(r)) => Sink::AgeStdout(r.encrypt(w).map_err(io_err(path))?),
            (Either::Upload(u), Some(r)) => Sink::Age(r.encrypt(u).map_err(io_err(path))?),
        };
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut tar = tar::Builder::new(sink);
        tar.mode(tar::HeaderMode::Deterministic);
        let tar = Some(tar);
        let schema_json = serde_json::to_vec_pretty(schema).map_err(|e| ArchiveError::Write {
            path: path.to_path_buf(),
            source: io::Error::other(e),
        })?;
        let mut w = ArchiveWriter {
            tar,
            display: path.to_path_buf(),
            mtime,
            tables: Vec::new(),
            n_tables: schema.tables.len(),
            schema_blake3: blake3::hash(&schema_json).to_hex().to_string(),
        };
        w.append(SCHEMA_MEMBER, &schema_json)?;
        for t in &schema.tables {
            let columns: Vec<String> = t.data_columns().map(|c| c.name.clone()).collect();
            w.add_entry(&t.name, columns)?;
        }
        Ok(w)
    }

    /// Start a table's (or stream's) directory with its header.
    fn add_entry(&mut self, name: &str, columns: Vec<String>) -> Result<usize, ArchiveError> {
        let i = self.tables.len();
        let dir = member_dir(i, name);
        let path = self.display.clone();
        let mut header = csv::WriterBuilder::new()
            .terminator(csv::Terminator::Any(b'\n'))
            .from_writer(Vec::new());
        header
            .write_record(&columns)
            .map_err(|e| io_err(&path)(io::Error::other(e)))?;
        let header = header
            .into_inner()
            .map_err(|e| io_err(&path)(io::Error::other(e.to_string())))?;
        self.append(&format!("{dir}/header.csv"), &header)?;
        self.tables.push(TableEntry {
            name: name.to_string(),
            dir,
            columns,
            rows: 0,
            raw_bytes: 0,
            stored_bytes: 0,
            chunks: Vec::new(),
        });
        Ok(i)
    }

    /// Add a stream (data of no table) with `columns`; its chunks are
    /// [`StoredChunk`]s of the number returned. Call before any chunk.
    pub fn add_stream(&mut self, name: &str, columns: Vec<String>) -> Result<usize, ArchiveError> {
        self.add_entry(name, columns)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), ArchiveError> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        let display = &self.display;
        let tar = self
            .tar
            .as_mut()
            .ok_or_else(|| io_err(display)(io::Error::other("closed")))?;
        tar.append_data(&mut h, name, data).map_err(io_err(display))
    }

    /// Store one compressed chunk.
    pub fn add_chunk(&mut self, chunk: StoredChunk) -> Result<(), ArchiveError> {
        let t = &self.tables[chunk.table];
        let member = format!("{}/{:06}.csv.zst", t.dir, t.chunks.len() + 1);
        self.append(&member, &chunk.data)?;
        let t = &mut self.tables[chunk.table];
        t.rows += chunk.rows;
        t.raw_bytes += chunk.raw_bytes;
        t.stored_bytes += chunk.data.len() as u64;
        t.chunks.push(ChunkEntry {
            member,
            rows: chunk.rows,
            raw_bytes: chunk.raw_bytes,
            stored_bytes: chunk.data.len() as u64,
            blake3: chunk.blake3,
        });
        Ok(())
    }

    /// Table entries so far (rows and chunks per table).
    pub fn tables(&self) -> &[TableEntry] {
        &self.tables[..self.n_tables.min(self.tables.len())]
    }

    /// Write the manifest and make the archive visible under its name.
    /// `manifest.tables` and `schema_blake3` are filled in here.
    /// Returns the archive's final path.
    pub fn finish(mut self, mut manifest: Manifest) -> Result<PathBuf, ArchiveError> {
        let mut tables = std::mem::take(&mut self.tables);
        manifest.streams = tables.split_off(self.n_tables.min(tables.len()));
        manifest.tables = tables;
        manifest.schema_blake3 = self.schema_blake3.clone();
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| io_err(&self.display)(io::Error::other(e)))?;
        self.append(MANIFEST_MEMBER, &json)?;
        let display = self.display.clone();
        let mut tar = self
            .tar
            .take()
            .ok_or_else(|| io_err(&display)(io::Error::other("closed")))?;
        tar.finish().map_err(io_err(&display))?;
        let sink = tar.into_inner().map_err(io_err(&display))?;
        let fin = sink
            .finish(&display.display().to_string())
            .map_err(io_err(&display))?;
        Ok(PathBuf::from(fin))
    }
}

/// Where the bytes go before any encryption.
enum Either {
    Stdout(Box<dyn Write + Send>),
    Upload(Box<dyn Upload>),
}
