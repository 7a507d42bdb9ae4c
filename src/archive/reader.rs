//! Reads an archive: indexes its members by seeking over the tar headers,
//! parses the manifest, checks that members and manifest agree, and reads
//! chunks at their offsets (so workers can read in parallel), from a local
//! file or an S3 object (ranged GETs), through age when it is encrypted.

use super::crypt::{AgeBlob, Identities, OpenError};
use super::manifest::{ChunkEntry, Manifest, FORMAT_NAME, FORMAT_VERSION};
use super::{ArchiveError, MANIFEST_MEMBER, MAX_CHUNK_BYTES, MAX_META_BYTES, SCHEMA_MEMBER};
use crate::model::objects::LARGE_OBJECT_COLUMNS;
use crate::model::{Schema, LARGE_OBJECTS};
use crate::storage::{Blob, BlobCursor, Location, S3Config};
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Most CSV bytes one stored byte of a zstd frame can hold (a 4-byte RLE
/// block holds at most 128 KiB).
const MAX_ZSTD_RATIO: u64 = 32 << 10;
/// Buffer reserved up front for a decompressed chunk; it grows as data comes.
const INITIAL_CHUNK_BUFFER: u64 = 8 << 20;

/// How to reach and decrypt archives: the S3 settings and the
/// `--identity` keys.
#[derive(Clone, Default)]
pub struct Access {
    pub s3: S3Config,
    pub identities: Option<Arc<Identities>>,
}

/// An open, validated archive.
pub struct ArchiveReader {
    path: PathBuf,
    /// The tar bytes (decrypted, for an encrypted archive).
    blob: Arc<dyn Blob>,
    /// Size as stored.
    stored_len: u64,
    encrypted: bool,
    manifest: Manifest,
    /// member name -> (data offset, size)
    members: HashMap<String, (u64, u64)>,
}

fn is_safe(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('/')
        && !name.contains('\\')
        && name
            .split('/')
            .all(|c| !c.is_empty() && c != ".." && c != ".")
}

impl ArchiveReader {
    /// Open and validate the local, unencrypted archive at `path`.
    pub fn open(path: &Path) -> Result<Self, ArchiveError> {
        Self::open_at(&Location::Local(path.to_path_buf()), &Access::default())
    }

    /// Open and validate the archive at `loc` (a file or an S3 object,
    /// encrypted or not).
    pub fn open_at(loc: &Location, access: &Access) -> Result<Self, ArchiveError> {
        let display = PathBuf::from(loc.to_string());
        let raw: Arc<dyn Blob> = match loc {
            Location::Local(p) => {
                Arc::new(crate::storage::local::FileBlob::open(p).map_err(|source| {
                    ArchiveError::Io {
                        path: p.clone(),
                        source,
                    }
                })?)
            }
            loc => crate::storage::open(loc, &access.s3)?,
        };
        Self::open_blob(raw, &display, access.identities.as_ref())
    }

    /// Open and validate an archive from its stored bytes, decrypting
    /// them with `ids` if they are an age file.
    pub fn open_blob(
        raw: Arc<dyn Blob>,
        path: &Path,
        ids: Option<&Arc<Identities>>,
    ) -> Result<Self, ArchiveError> {
        let io = |source| ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        };
        let stored_len = raw.len();
        let sniffed = super::crypt::sniff(raw.as_ref()).map_err(io)?;
        let (blob, encrypted): (Arc<dyn Blob>, bool) = match (sniffed, ids) {
            (None, _) => (raw, false),
            (Some(false), _) => {
                return Err(ArchiveError::BadEncryption {
                    path: path.to_path_buf(),
                    reason: "it is armored (PEM-style); decrypt it with age -d first".into(),
                })
            }
            (Some(true), None) => {
                return Err(ArchiveError::NeedsIdentity {
                    path: path.to_path_buf(),
                })
            }
            (Some(true), Some(ids)) => match AgeBlob::open(raw, Arc::clone(ids)) {
                Ok(b) => (Arc::new(b), true),
                Err(OpenError::NoMatch) => {
                    return Err(ArchiveError::WrongIdentity {
                        path: path.to_path_buf(),
                    })
                }
                Err(OpenError::Damaged(reason)) => {
                    return Err(ArchiveError::BadEncryption {
                        path: path.to_path_buf(),
                        reason,
                    })
                }
            },
        };
        let len = blob.len();
        if len < 512 {
            return Err(ArchiveError::NotAnArchive {
                path: path.to_path_buf(),
                reason: "too short to be a tar file".into(),
            });
        }
        let mut members = HashMap::new();
        let mut order = Vec::new();
        let mut ar = tar::Archive::new(BlobCursor::new(Arc::clone(&blob)));
        let entries = ar
            .entries_with_seek()
            .map_err(|e| ArchiveError::NotAnArchive {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let mut scan_error = None;
        for entry in entries {
            let entry = match entry {
                Ok(e) => e,
                Err(_) => {
                    // Not the tar crate's message: it quotes the bad header's
                    // bytes, which may span lines or hold anything.
                    scan_error = Some(match order.last() {
                        None => "not a tar file".to_string(),
                        Some(last) => format!("the tar data is damaged after member {last:?}"),
                    });
                    break;
                }
            };
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            if !kind.is_file() || !is_safe(&name) {
                return Err(ArchiveError::UnsafeMember {
                    path: path.to_path_buf(),
                    name,
                });
            }
            let offset = entry.raw_file_position();
            let size = entry.size();
            if offset.saturating_add(size) > len {
                // The member's data runs past the end of the file.
                scan_error = Some(format!("member {name:?} is cut short"));
                break;
            }
            if members.insert(name.clone(), (offset, size)).is_some() {
                return Err(ArchiveError::UnexpectedMember {
                    path: path.to_path_buf(),
                    name: format!("{name} (twice)"),
                });
            }
            order.push(name);
        }
        if order.first().map(String::as_str) != Some(SCHEMA_MEMBER) {
            return Err(match scan_error {
                Some(reason) if order.is_empty() => ArchiveError::NotAnArchive {
                    path: path.to_path_buf(),
                    reason,
                },
                _ => ArchiveError::NotAnArchive {
                    path: path.to_path_buf(),
                    reason: format!("it does not begin with {SCHEMA_MEMBER}"),
                },
            });
        }
        let Some(&(moff, msize)) = members.get(MANIFEST_MEMBER) else {
            return Err(ArchiveError::Incomplete {
                path: path.to_path_buf(),
            });
        };
        let mut r = ArchiveReader {
            path: path.to_path_buf(),
            blob,
            stored_len,
            encrypted,
            manifest: empty_manifest(),
            members,
        };
        if msize > MAX_META_BYTES {
            return Err(r.bad_manifest("manifest is too large"));
        }
        let raw = r.read_at(moff, msize)?;
        let manifest: Manifest =
            serde_json::from_slice(&raw).map_err(|e| r.bad_manifest(&e.to_string()))?;
        if manifest.format != FORMAT_NAME {
            return Err(r.bad_manifest(&format!("format is {:?}", manifest.format)));
        }
        if manifest.format_version != FORMAT_VERSION {
            return Err(r.bad_manifest(&format!(
                "format version {} (this haul reads version {FORMAT_VERSION}; upgrade haul)",
                manifest.format_version
            )));
        }
        r.manifest = manifest;
        r.check_tables()?;
        r.check_members()?;
        r.check_schema()?;
        Ok(r)
    }

    fn bad_manifest(&self, reason: &str) -> ArchiveError {
        ArchiveError::BadManifest {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// The manifest's tables are consistent: unique names and members,
    /// counts that add up without overflowing, chunk sizes a dump could
    /// have written.
    fn check_tables(&self) -> Result<(), ArchiveError> {
        let bad = |reason: String| Err(self.bad_manifest(&reason));
        let mut names = HashSet::new();
        let mut members: HashSet<&str> = HashSet::from([SCHEMA_MEMBER, MANIFEST_MEMBER]);
        let mut headers = Vec::new();
        let (mut rows, mut raw, mut stored) = (0u64, 0u64, 0u64);
        let mut stream_names = HashSet::new();
        let tables = self.manifest.tables.iter().map(|t| (t, false));
        for (t, stream) in tables.chain(self.manifest.streams.iter().map(|t| (t, true))) {
            let seen = if stream {
                &mut stream_names
            } else {
                &mut names
            };
            if !seen.insert(t.name.as_str()) {
                return bad(format!("table {} is listed twice", t.name));
            }
            let mut columns = HashSet::new();
            if let Some(c) = t.columns.iter().find(|c| !columns.insert(c.as_str())) {
                return bad(format!("table {}: column {c} is listed twice", t.name));
            }
            headers.push(format!("{}/header.csv", t.dir));
            let (mut t_rows, mut t_raw, mut t_stored) = (0u64, 0u64, 0u64);
            for c in &t.chunks {
                if !members.insert(&c.member) {
                    return bad(format!(
                        "table {}: member {} is listed twice",
                        t.name, c.member
                    ));
                }
                if c.raw_bytes > MAX_CHUNK_BYTES
                    || c.rows > c.raw_bytes
                    || c.raw_bytes > c.stored_bytes.saturating_mul(MAX_ZSTD_RATIO)
                {
                    return bad(format!(
                        "table {}, chunk {}: {} rows in {} bytes of CSV stored in {} bytes is not a chunk haul writes",
                        t.name, c.member, c.rows, c.raw_bytes, c.stored_bytes
                    ));
                }
                let sums = (
                    t_rows.checked_add(c.rows),
                    t_raw.checked_add(c.raw_bytes),
                    t_stored.checked_add(c.stored_bytes),
                );
                let (Some(r), Some(w), Some(s)) = sums else {
                    return bad(format!("table {}: chunk counts overflow", t.name));
                };
                (t_rows, t_raw, t_stored) = (r, w, s);
            }
            if t_rows != t.rows {
                return bad(format!("table {}: chunk row counts do not add up", t.name));
            }
            if t_raw != t.raw_bytes || t_stored != t.stored_bytes {
                return bad(format!("table {}: chunk sizes do not add up", t.name));
            }
            let sums = (
                rows.checked_add(t.rows),
                raw.checked_add(t.raw_bytes),
                stored.checked_add(t.stored_bytes),
            );
            let (Some(r), Some(w), Some(s)) = sums else {
                return bad(format!("table {}: counts overflow", t.name));
            };
            (rows, raw, stored) = (r, w, s);
        }
        for h in &headers {
            if !members.insert(h) {
                return bad(format!("member {h} is listed twice"));
            }
        }
        Ok(())
    }

    /// Every member is expected, every expected member is present with the
    /// size the manifest says, and the schema member matches its checksum.
    fn check_members(&self) -> Result<(), ArchiveError> {
        let mut expected: HashMap<String, Option<u64>> = HashMap::new();
        expected.insert(SCHEMA_MEMBER.into(), None);
        expected.insert(MANIFEST_MEMBER.into(), None);
        for t in self.manifest.tables.iter().chain(&self.manifest.streams) {
            expected.insert(format!("{}/header.csv", t.dir), None);
            for c in &t.chunks {
                expected.insert(c.member.clone(), Some(c.stored_bytes));
            }
        }
        for name in self.members.keys() {
            if !expected.contains_key(name) {
                return Err(ArchiveError::UnexpectedMember {
                    path: self.path.clone(),
                    name: name.clone(),
                });
            }
        }
        for (name, stored) in &expected {
            let Some(&(_, size)) = self.members.get(name) else {
                return Err(ArchiveError::MissingMember {
                    path: self.path.clone(),
                    name: name.clone(),
                });
            };
            if let Some(stored) = *stored {
                if stored != size {
                    return Err(self.bad_manifest(&format!(
                        "member {name} holds {size} bytes, the manifest says {stored}"
                    )));
                }
            }
        }
        let schema = self.member(SCHEMA_MEMBER)?;
        if blake3::hash(&schema).to_hex().as_str() != self.manifest.schema_blake3 {
            return Err(ArchiveError::Checksum {
                path: self.path.clone(),
                table: "(schema)".into(),
                member: SCHEMA_MEMBER.into(),
            });
        }
        Ok(())
    }

    /// `schema.json` (checked against its BLAKE3 already) parses, the
    /// manifest's copy is the same, and its tables and columns are the
    /// manifest's, in the same order.
    fn check_schema(&mut self) -> Result<(), ArchiveError> {
        let raw = self.member(SCHEMA_MEMBER)?;
        let schema: Schema = serde_json::from_slice(&raw)
            .map_err(|e| self.bad_manifest(&format!("{SCHEMA_MEMBER}: {e}")))?;
        if schema != self.manifest.schema {
            return Err(self.bad_manifest(&format!(
                "its copy of the schema differs from {SCHEMA_MEMBER}"
            )));
        }
        let m = &self.manifest;
        for (i, t) in m.tables.iter().enumerate() {
            let Some(s) = schema.table(&t.name) else {
                return Err(
                    self.bad_manifest(&format!("table {} is not in {SCHEMA_MEMBER}", t.name))
                );
            };
            if schema.tables.get(i).map(|s| &s.name) != Some(&t.name) {
                return Err(self.bad_manifest(&format!(
                    "table {} is not in the place {SCHEMA_MEMBER} gives it",
                    t.name
                )));
            }
            if !s.data_columns().map(|c| &c.name).eq(t.columns.iter()) {
                return Err(self.bad_manifest(&format!(
                    "table {}: its columns differ from {SCHEMA_MEMBER}'s",
                    t.name
                )));
            }
        }
        if let Some(extra) = schema.tables.get(m.tables.len()) {
            return Err(self.bad_manifest(&format!(
                "table {} of {SCHEMA_MEMBER} is not in the manifest",
                extra.name
            )));
        }
        // The one stream there is: large objects, when the schema has some.
        for s in &m.streams {
            let known = s.name == LARGE_OBJECTS
                && !schema.large_objects.is_empty()
                && s.columns
                    .iter()
                    .map(String::as_str)
                    .eq(LARGE_OBJECT_COLUMNS);
            if !known {
                return Err(self.bad_manifest(&format!(
                    "stream {:?} is not one {SCHEMA_MEMBER} describes",
                    s.name
                )));
            }
        }
        self.manifest.schema = schema;
        Ok(())
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The manifest, to narrow its schema before a restore reads it.
    pub fn manifest_mut(&mut self) -> &mut Manifest {
        &mut self.manifest
    }

    /// Size of the archive as stored, in bytes.
    pub fn file_len(&self) -> u64 {
        self.stored_len
    }

    /// Whether the archive is an age stream.
    pub fn encrypted(&self) -> bool {
        self.encrypted
    }

    fn read_at(&self, offset: u64, size: u64) -> Result<Vec<u8>, ArchiveError> {
        let size = usize::try_from(size).map_err(|_| ArchiveError::NotAnArchive {
            path: self.path.clone(),
            reason: "a member is too large".into(),
        })?;
        let mut buf = vec![0u8; size];
        self.blob
            .read_at(offset, &mut buf)
            .map_err(|source| ArchiveError::Io {
                path: self.path.clone(),
                source,
            })?;
        Ok(buf)
    }

    /// A whole (small) member by name.
    pub fn member(&self, name: &str) -> Result<Vec<u8>, ArchiveError> {
        let &(off, size) = self
            .members
            .get(name)
            .ok_or_else(|| ArchiveError::MissingMember {
                path: self.path.clone(),
                name: name.into(),
            })?;
        if size > MAX_META_BYTES {
            return Err(self.bad_manifest(&format!("member {name} is too large")));
        }
        self.read_at(off, size)
    }

    /// Read every chunk of every stream (data of no table): checksum,
    /// decompression, records and row counts; the rows they hold.
    pub fn check_streams(&self) -> Result<u64, ArchiveError> {
        let mut total = 0;
        for s in &self.manifest.streams {
            for c in &s.chunks {
                let csv = self.read_chunk(&s.name, c, true)?;
                let mut dec = super::codec::ChunkDecoder::new(&csv, s.columns.len());
                let bad = |reason: String| ArchiveError::BadChunk {
                    path: self.path.clone(),
                    table: s.name.clone(),
                    member: c.member.clone(),
                    reason,
                };
                while dec.next_row().map_err(|e| bad(e.to_string()))? {}
                if dec.row_number() != c.rows {
                    return Err(bad(format!(
                        "holds {} rows, the manifest says {}",
                        dec.row_number(),
                        c.rows
                    )));
                }
                total += c.rows;
            }
        }
        Ok(total)
    }

    /// Check a chunk's size and BLAKE3 checksum without decompressing it.
    pub fn check_chunk(&self, table: &str, chunk: &ChunkEntry) -> Result<(), ArchiveError> {
        self.read_stored(table, chunk, true).map(|_| ())
    }

    /// A chunk's stored (compressed) bytes, size checked; with `full`, its
    /// BLAKE3 checksum too.
    fn read_stored(
        &self,
        table: &str,
        chunk: &ChunkEntry,
        full: bool,
    ) -> Result<Vec<u8>, ArchiveError> {
        let bad = |reason: String| ArchiveError::BadChunk {
            path: self.path.clone(),
            table: table.to_string(),
            member: chunk.member.clone(),
            reason,
        };
        let &(off, size) =
            self.members
                .get(&chunk.member)
                .ok_or_else(|| ArchiveError::MissingMember {
                    path: self.path.clone(),
                    name: chunk.member.clone(),
                })?;
        if size != chunk.stored_bytes {
            return Err(bad(format!(
                "stored size {size} differs from the manifest's {}",
                chunk.stored_bytes
            )));
        }
        if chunk.raw_bytes > MAX_CHUNK_BYTES {
            return Err(bad("chunk is larger than any haul writes".into()));
        }
        let data = self.read_at(off, size)?;
        if full && blake3::hash(&data).to_hex().as_str() != chunk.blake3 {
            return Err(ArchiveError::Checksum {
                path: self.path.clone(),
                table: table.to_string(),
                member: chunk.member.clone(),
            });
        }
        Ok(data)
    }

    /// Read a chunk and decompress it. The zstd frame's content checksum is
    /// always checked; `full` also checks the manifest's BLAKE3 of the stored
    /// bytes (a restore checks those in a pass of its own before writing).
    pub fn read_chunk(
        &self,
        table: &str,
        chunk: &ChunkEntry,
        full: bool,
    ) -> Result<Vec<u8>, ArchiveError> {
        let bad = |reason: String| ArchiveError::BadChunk {
            path: self.path.clone(),
            table: table.to_string(),
            member: chunk.member.clone(),
            reason,
        };
        let data = self.read_stored(table, chunk, full)?;
        let failed = |e: std::io::Error| {
            if e.to_string().contains("checksum") {
                ArchiveError::Checksum {
                    path: self.path.clone(),
                    table: table.to_string(),
                    member: chunk.member.clone(),
                }
            } else {
                bad(format!("cannot decompress: {e}"))
            }
        };
        let decoder = zstd::stream::read::Decoder::with_buffer(&data[..]).map_err(failed)?;
        // Grows with what the frame holds, never past the declared size + 1.
        let mut raw = Vec::with_capacity(chunk.raw_bytes.min(INITIAL_CHUNK_BUFFER) as usize);
        decoder
            .take(chunk.raw_bytes.saturating_add(1))
            .read_to_end(&mut raw)
            .map_err(failed)?;
        if raw.len() as u64 > chunk.raw_bytes {
            return Err(bad(format!(
                "decompresses past the {} bytes the manifest says",
                chunk.raw_bytes
            )));
        }
        if raw.len() as u64 != chunk.raw_bytes {
            return Err(bad(format!(
                "decompressed to {} bytes, the manifest says {}",
                raw.len(),
                chunk.raw_bytes
            )));
        }
        Ok(raw)
    }
}

fn empty_manifest() -> Manifest {
    Manifest {
        format: String::new(),
        format_version: 0,
        haul_version: String::new(),
        source: super::SourceInfo {
            engine: crate::model::EngineKind::Sqlite,
            server_version: String::new(),
            database: String::new(),
        },
        started_at: String::new(),
        finished_at: String::new(),
        snapshot: String::new(),
        app_markers: vec![],
        warnings: vec![],
        schema_blake3: String::new(),
        schema: Default::default(),
        tables: vec![],
        streams: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::is_safe;

    #[test]
    fn unsafe_names() {
        assert!(is_safe("data/0001-a/000001.csv.zst"));
        assert!(!is_safe("/etc/passwd"));
        assert!(!is_safe("data/../../x"));
        assert!(!is_safe("./x"));
        assert!(!is_safe(""));
    }
}
