//! Writes an archive: `schema.json` first, chunks as they come, the manifest
//! last. A file target is written under a temporary name in the same
//! directory and renamed only once the manifest is complete.

use super::manifest::{ChunkEntry, Manifest, TableEntry};
use super::{member_dir, ArchiveError, MANIFEST_MEMBER, SCHEMA_MEMBER};
use crate::model::Schema;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A compressed chunk ready to be stored.
pub struct StoredChunk {
    pub table: usize,
    pub rows: u64,
    pub raw_bytes: u64,
    pub data: Vec<u8>,
    pub blake3: String,
}

/// Temporary files of archives being written, removed if haul is
/// interrupted.
static IN_PROGRESS: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Remove the temporary files of unfinished archives (on an interrupt).
pub fn remove_unfinished() {
    if let Ok(list) = IN_PROGRESS.lock() {
        for p in list.iter() {
            let _ = std::fs::remove_file(p);
        }
    }
}

fn forget_unfinished(tmp: &Path) {
    if let Ok(mut list) = IN_PROGRESS.lock() {
        list.retain(|p| p != tmp);
    }
}

/// Where the archive goes.
enum Output {
    /// Written to `tmp` through `file`, renamed to `path` when complete.
    File {
        tmp: PathBuf,
        path: PathBuf,
        file: File,
    },
    Stdout,
}

/// Create a new file only its owner may read or write (mode 0600 whatever
/// the umask), never through a symbolic link and never over an existing
/// file.
pub fn create_private(path: &Path) -> io::Result<File> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o600)
        .open(path)?;
    f.set_permissions(std::fs::Permissions::from_mode(0o600))?;
    Ok(f)
}

/// A new private temporary file `.NAME.tmp-PID-RANDOM` next to `path`.
fn create_temp(path: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let mut last = None;
    for _ in 0..16 {
        let random = uuid::Uuid::new_v4().simple().to_string();
        let tmp = path.with_file_name(format!(
            ".{name}.tmp-{}-{}",
            std::process::id(),
            &random[..12]
        ));
        match create_private(&tmp) {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| io::Error::from(io::ErrorKind::AlreadyExists)))
}

/// Sequential tar writer for one archive.
pub struct ArchiveWriter {
    tar: tar::Builder<Box<dyn Write + Send>>,
    out: Output,
    display: PathBuf,
    mtime: u64,
    tables: Vec<TableEntry>,
    schema_blake3: String,
    committed: bool,
    no_replace: bool,
}

fn io_err(path: &Path) -> impl Fn(io::Error) -> ArchiveError + '_ {
    move |source| ArchiveError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl ArchiveWriter {
    /// Start an archive at `path` (`-` for stdout) for the given schema.
    pub fn create(path: &Path, schema: &Schema) -> Result<Self, ArchiveError> {
        let (out, sink): (Output, Box<dyn Write + Send>) = if path == Path::new("-") {
            (
                Output::Stdout,
                Box::new(BufWriter::with_capacity(1 << 20, io::stdout())),
            )
        } else {
            let name = path.file_name().ok_or_else(|| ArchiveError::Write {
                path: path.to_path_buf(),
                source: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
            })?;
            if std::fs::symlink_metadata(path).is_ok_and(|m| m.is_symlink()) {
                return Err(ArchiveError::Symlink {
                    path: path.to_path_buf(),
                });
            }
            let (tmp, f) = create_temp(path, &name.to_string_lossy()).map_err(io_err(path))?;
            if let Ok(mut list) = IN_PROGRESS.lock() {
                list.push(tmp.clone());
            }
            let file = f.try_clone().map_err(io_err(path))?;
            (
                Output::File {
                    tmp,
                    path: path.to_path_buf(),
                    file,
                },
                Box::new(BufWriter::with_capacity(1 << 20, f)),
            )
        };
        let mtime = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let mut tar = tar::Builder::new(sink);
        tar.mode(tar::HeaderMode::Deterministic);
        let schema_json = serde_json::to_vec_pretty(schema).map_err(|e| ArchiveError::Write {
            path: path.to_path_buf(),
            source: io::Error::other(e),
        })?;
        let mut w = ArchiveWriter {
            tar,
            out,
            display: path.to_path_buf(),
            mtime,
            tables: Vec::new(),
            schema_blake3: blake3::hash(&schema_json).to_hex().to_string(),
            committed: false,
            no_replace: false,
        };
        w.append(SCHEMA_MEMBER, &schema_json)?;
        for (i, t) in schema.tables.iter().enumerate() {
            let dir = member_dir(i, &t.name);
            let columns: Vec<String> = t.data_columns().map(|c| c.name.clone()).collect();
            let mut header = csv::WriterBuilder::new()
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            header
                .write_record(&columns)
                .map_err(|e| io_err(path)(io::Error::other(e)))?;
            let header = header
                .into_inner()
                .map_err(|e| io_err(path)(io::Error::other(e.to_string())))?;
            w.append(&format!("{dir}/header.csv"), &header)?;
            w.tables.push(TableEntry {
                name: t.name.clone(),
                dir,
                columns,
                rows: 0,
                raw_bytes: 0,
                stored_bytes: 0,
                chunks: Vec::new(),
            });
        }
        Ok(w)
    }

    fn append(&mut self, name: &str, data: &[u8]) -> Result<(), ArchiveError> {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_mtime(self.mtime);
        h.set_entry_type(tar::EntryType::Regular);
        self.tar
            .append_data(&mut h, name, data)
            .map_err(io_err(&self.display))
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

    /// Never replace an existing file at finish: take the name with `-1`,
    /// `-2`, ... before the extension instead.
    pub fn no_replace(&mut self) {
        self.no_replace = true;
    }

    /// Table entries so far (rows and chunks per table).
    pub fn tables(&self) -> &[TableEntry] {
        &self.tables
    }

    /// Write the manifest and make the archive visible under its name.
    /// `manifest.tables` and `schema_blake3` are filled in here.
    /// Returns the archive's final path.
    pub fn finish(mut self, mut manifest: Manifest) -> Result<PathBuf, ArchiveError> {
        manifest.tables = std::mem::take(&mut self.tables);
        manifest.schema_blake3 = self.schema_blake3.clone();
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| io_err(&self.display)(io::Error::other(e)))?;
        self.append(MANIFEST_MEMBER, &json)?;
        self.tar.finish().map_err(io_err(&self.display))?;
        let display = self.display.clone();
        let inner = std::mem::replace(
            &mut self.tar,
            tar::Builder::new(Box::new(io::sink()) as Box<dyn Write + Send>),
        );
        let mut inner = inner.into_inner().map_err(io_err(&display))?;
        inner.flush().map_err(io_err(&display))?;
        drop(inner);
        if let Output::File { tmp, path, file } = &self.out {
            // Make the data durable before the rename publishes it.
            file.sync_all().map_err(io_err(&display))?;
            let fin = if self.no_replace {
                rename_no_replace(tmp, path).map_err(io_err(&display))?
            } else {
                std::fs::rename(tmp, path).map_err(io_err(&display))?;
                path.clone()
            };
            forget_unfinished(tmp);
            self.committed = true;
            return Ok(fin);
        }
        self.committed = true;
        Ok(display)
    }
}

/// Rename `tmp` to `path`, or to `path` with `-1`, `-2`, ... before its
/// extension, never over an existing file.
fn rename_no_replace(tmp: &Path, path: &Path) -> io::Result<PathBuf> {
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    let from = CString::new(tmp.as_os_str().as_bytes())?;
    for n in 0..1000 {
        let candidate = if n == 0 {
            path.to_path_buf()
        } else {
            path.with_file_name(format!("{stem}-{n}{ext}"))
        };
        let to = CString::new(candidate.as_os_str().as_bytes())?;
        // SAFETY: two valid C strings; renameat2 with RENAME_NOREPLACE fails
        // with EEXIST rather than replacing.
        let r = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                from.as_ptr(),
                libc::AT_FDCWD,
                to.as_ptr(),
                libc::RENAME_NOREPLACE,
            )
        };
        if r == 0 {
            return Ok(candidate);
        }
        let e = io::Error::last_os_error();
        if e.kind() != io::ErrorKind::AlreadyExists {
            return Err(e);
        }
    }
    Err(io::Error::new(
        io::ErrorKind::AlreadyExists,
        "no free file name",
    ))
}

impl Drop for ArchiveWriter {
    fn drop(&mut self) {
        if !self.committed {
            if let Output::File { tmp, .. } = &self.out {
                let _ = std::fs::remove_file(tmp);
                forget_unfinished(tmp);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn private_files_never_follow_links() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(create_private(&link).is_err());
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        assert!(create_private(&dangling).is_err());
        assert!(!dir.path().join("nowhere").exists());
        assert!(create_private(&victim).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");

        let new = dir.path().join("new");
        let mut f = create_private(&new).unwrap();
        f.write_all(b"x").unwrap();
        let mode = std::fs::metadata(&new).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }

    #[test]
    fn temp_names_are_fresh_and_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.haul");
        let (t1, _f1) = create_temp(&path, "a.haul").unwrap();
        let (t2, _f2) = create_temp(&path, "a.haul").unwrap();
        assert_ne!(t1, t2);
        let name = t1.file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".a.haul.tmp-"), "{name}");
        let mode = std::fs::metadata(&t1).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}
