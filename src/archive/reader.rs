//! Reads an archive: indexes its members by seeking over the tar headers,
//! parses the manifest, checks that members and manifest agree, and reads
//! chunks at their offsets (so workers can read in parallel).

use super::manifest::{ChunkEntry, Manifest, FORMAT_NAME, FORMAT_VERSION};
use super::{ArchiveError, MANIFEST_MEMBER, MAX_CHUNK_BYTES, MAX_META_BYTES, SCHEMA_MEMBER};
use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// An open, validated archive.
pub struct ArchiveReader {
    path: PathBuf,
    file: File,
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
    /// Open and validate the archive at `path`.
    pub fn open(path: &Path) -> Result<Self, ArchiveError> {
        let io = |source| ArchiveError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io)?;
        let len = file.metadata().map_err(io)?.len();
        if len < 512 {
            return Err(ArchiveError::NotAnArchive {
                path: path.to_path_buf(),
                reason: "too short to be a tar file".into(),
            });
        }
        let mut members = HashMap::new();
        let mut order = Vec::new();
        let mut ar = tar::Archive::new(file.try_clone().map_err(io)?);
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
            file,
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
        r.check_members()?;
        Ok(r)
    }

    fn bad_manifest(&self, reason: &str) -> ArchiveError {
        ArchiveError::BadManifest {
            path: self.path.clone(),
            reason: reason.to_string(),
        }
    }

    /// Every member is expected, every expected member is present, and the
    /// schema member matches its checksum.
    fn check_members(&self) -> Result<(), ArchiveError> {
        let mut expected: HashSet<&str> = HashSet::new();
        expected.insert(SCHEMA_MEMBER);
        expected.insert(MANIFEST_MEMBER);
        let mut headers = Vec::new();
        for t in &self.manifest.tables {
            headers.push(format!("{}/header.csv", t.dir));
            if t.columns.is_empty() && !t.chunks.is_empty() {
                return Err(self.bad_manifest(&format!("table {} has no columns", t.name)));
            }
            if t.chunks.iter().map(|c| c.rows).sum::<u64>() != t.rows {
                return Err(
                    self.bad_manifest(&format!("table {}: chunk row counts do not add up", t.name))
                );
            }
            for c in &t.chunks {
                expected.insert(&c.member);
            }
        }
        for h in &headers {
            expected.insert(h);
        }
        for name in self.members.keys() {
            if !expected.contains(name.as_str()) {
                return Err(ArchiveError::UnexpectedMember {
                    path: self.path.clone(),
                    name: name.clone(),
                });
            }
        }
        for name in &expected {
            if !self.members.contains_key(*name) {
                return Err(ArchiveError::MissingMember {
                    path: self.path.clone(),
                    name: name.to_string(),
                });
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

    /// Size of the archive file in bytes.
    pub fn file_len(&self) -> u64 {
        self.file.metadata().map(|m| m.len()).unwrap_or(0)
    }

    fn read_at(&self, offset: u64, size: u64) -> Result<Vec<u8>, ArchiveError> {
        let mut buf = vec![0u8; size as usize];
        self.file
            .read_exact_at(&mut buf, offset)
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
        let raw = zstd::bulk::decompress(&data, chunk.raw_bytes as usize).map_err(|e| {
            if e.to_string().contains("checksum") {
                ArchiveError::Checksum {
                    path: self.path.clone(),
                    table: table.to_string(),
                    member: chunk.member.clone(),
                }
            } else {
                bad(format!("cannot decompress: {e}"))
            }
        })?;
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
