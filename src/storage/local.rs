//! Local files: a file read at offsets, an upload written under a
//! temporary name and renamed into place when complete, a directory of
//! archives.

use super::{Blob, Entry, Location, StorageError, Store, Upload};
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A local file read at offsets.
pub struct FileBlob {
    file: File,
    len: u64,
}

impl FileBlob {
    pub fn open(path: &Path) -> io::Result<FileBlob> {
        let file = File::open(path)?;
        let len = file.metadata()?.len();
        Ok(FileBlob { file, len })
    }
}

impl Blob for FileBlob {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        self.file.read_exact_at(buf, offset)
    }
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

/// A file being written under a temporary name next to its final one.
pub struct FileUpload {
    tmp: PathBuf,
    path: PathBuf,
    out: Option<BufWriter<File>>,
    no_replace: bool,
}

impl FileUpload {
    /// Start writing `path` (a private temporary file until complete).
    pub fn create(path: &Path, no_replace: bool) -> io::Result<FileUpload> {
        let name = path
            .file_name()
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
        let (tmp, f) = create_temp(path, &name.to_string_lossy())?;
        if let Ok(mut list) = IN_PROGRESS.lock() {
            list.push(tmp.clone());
        }
        Ok(FileUpload {
            tmp,
            path: path.to_path_buf(),
            out: Some(BufWriter::with_capacity(1 << 20, f)),
            no_replace,
        })
    }
}

impl Write for FileUpload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.out {
            Some(w) => w.write(buf),
            None => Err(io::Error::other("the file is closed")),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.out {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Upload for FileUpload {
    fn complete(mut self: Box<Self>) -> io::Result<String> {
        let out = self
            .out
            .take()
            .ok_or_else(|| io::Error::other("the file is closed"))?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        // Make the data durable before the rename publishes it.
        file.sync_all()?;
        drop(file);
        let fin = if self.no_replace {
            rename_no_replace(&self.tmp, &self.path)?
        } else {
            std::fs::rename(&self.tmp, &self.path)?;
            self.path.clone()
        };
        forget_unfinished(&self.tmp);
        self.tmp = PathBuf::new();
        Ok(fin.display().to_string())
    }
}

impl Drop for FileUpload {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
            forget_unfinished(&self.tmp);
        }
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

/// A local directory of archives.
pub struct Dir {
    path: PathBuf,
}

impl Dir {
    pub fn new(path: &Path) -> Dir {
        Dir {
            path: path.to_path_buf(),
        }
    }

    fn err(&self, name: &str, source: io::Error) -> StorageError {
        StorageError::Local {
            location: self.path.join(name).display().to_string(),
            source,
        }
    }
}

impl Store for Dir {
    fn list(&self) -> Result<Vec<Entry>, StorageError> {
        let mut out = Vec::new();
        let rd = std::fs::read_dir(&self.path).map_err(|e| self.err("", e))?;
        for e in rd.flatten() {
            let Ok(meta) = std::fs::symlink_metadata(e.path()) else {
                continue;
            };
            if !meta.is_file() {
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_secs() as i64);
            out.push(Entry {
                name: e.file_name().to_string_lossy().into_owned(),
                size: meta.len(),
                modified,
            });
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
    fn list_under(&self, prefix: &str) -> Result<Vec<Entry>, StorageError> {
        let dir = self.path.join(prefix);
        if !dir.exists() {
            return Ok(vec![]);
        }
        Dir::new(&dir).list()
    }
    fn delete(&self, name: &str) -> Result<(), StorageError> {
        std::fs::remove_file(self.path.join(name)).map_err(|e| self.err(name, e))
    }
    fn exists(&self, name: &str) -> Result<bool, StorageError> {
        Ok(std::fs::symlink_metadata(self.path.join(name)).is_ok())
    }
    fn put_small(&self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        let path = self.path.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| self.err(name, e))?;
        }
        std::fs::write(path, data).map_err(|e| self.err(name, e))
    }
    fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        match std::fs::read(self.path.join(name)) {
            Ok(b) => Ok(Some(b)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(self.err(name, e)),
        }
    }
    fn open(&self, name: &str) -> Result<Arc<dyn Blob>, StorageError> {
        FileBlob::open(&self.path.join(name))
            .map(|b| Arc::new(b) as Arc<dyn Blob>)
            .map_err(|e| self.err(name, e))
    }
    fn location(&self, name: &str) -> Location {
        Location::Local(self.path.join(name))
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

    #[test]
    fn upload_appears_only_when_complete() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.haul");
        let mut u = Box::new(FileUpload::create(&path, true).unwrap());
        u.write_all(b"data").unwrap();
        assert!(!path.exists());
        let fin = u.complete().unwrap();
        assert_eq!(fin, path.display().to_string());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
        let mut u2 = Box::new(FileUpload::create(&path, true).unwrap());
        u2.write_all(b"more").unwrap();
        assert!(u2.complete().unwrap().ends_with("a-1.haul"));
        let u3 = FileUpload::create(&path, false).unwrap();
        drop(u3);
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 2, "a dropped upload leaves nothing");
    }
}
