//! [`SqliteAdmin`]: a SQLite database is a file, named by its path.

use crate::engine::{Admin, EngineError};
use async_trait::async_trait;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Creates and removes database files (and the files SQLite and haul keep
/// beside them).
pub struct SqliteAdmin;

/// The files beside database `db` that belong to it.
fn companions(db: &Path) -> Vec<PathBuf> {
    ["-wal", "-shm", "-journal", ".haul-lock"]
        .iter()
        .map(|suffix| {
            let mut name = db.file_name().unwrap_or_default().to_os_string();
            name.push(suffix);
            db.with_file_name(name)
        })
        .collect()
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> EngineError {
    EngineError::Server {
        context: format!("{what} {}", path.display()),
        message: e.to_string(),
    }
}

#[async_trait]
impl Admin for SqliteAdmin {
    /// A new empty file, mode 0600 (an empty file is an empty database).
    async fn create_database(&self, name: &str) -> Result<(), EngineError> {
        let path = Path::new(name);
        let taken = companions(path).into_iter().find(|p| p.exists());
        if let Some(p) = taken {
            return Err(EngineError::Exists {
                target: format!("sqlite://{}", path.display()),
                database: p.display().to_string(),
            });
        }
        match std::fs::File::options()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
        {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(EngineError::Exists {
                target: format!("sqlite://{}", path.display()),
                database: name.to_string(),
            }),
            Err(e) => Err(io_err("creating the database file", path, e)),
        }
    }

    async fn drop_database(&self, name: &str) -> Result<(), EngineError> {
        let path = Path::new(name);
        for p in std::iter::once(path.to_path_buf()).chain(companions(path)) {
            match std::fs::remove_file(&p) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(io_err("removing", &p, e))
                }
                _ => {}
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_once_and_removes_with_companions() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("s.db");
        let name = db.display().to_string();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        rt.block_on(async {
            SqliteAdmin.create_database(&name).await.unwrap();
            assert!(matches!(
                SqliteAdmin.create_database(&name).await,
                Err(EngineError::Exists { .. })
            ));
            std::fs::write(dir.path().join("s.db-wal"), b"x").unwrap();
            SqliteAdmin.drop_database(&name).await.unwrap();
            SqliteAdmin.drop_database(&name).await.unwrap();
        });
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
