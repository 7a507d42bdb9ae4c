//! The scratch database of a test restore (`verify --restore-into`): a
//! database haul creates (one that must not exist; on SQLite a new file, a
//! temporary one for `sqlite:`), restores into, and drops again, also when
//! the restore or the comparison fails. SIGINT or SIGTERM while it exists
//! drops it at once (ending the restore's sessions, so the restore stops
//! with an error); a second signal ends haul without waiting.

use crate::conn::ConnSpec;
use crate::engine::{self, EngineError};
use crate::error::RefusedError;
use crate::model::EngineKind;
use anyhow::{Context, Result};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// A created scratch database.
pub struct Scratch {
    spec: ConnSpec,
    /// A temporary SQLite file haul named.
    temporary: bool,
    shared: Arc<Shared>,
}

/// What the scratch database and the signal watcher share.
struct Shared {
    /// Held while the database is dropped; true once it is gone.
    dropped: Mutex<bool>,
    /// A signal came while the database existed.
    interrupted: AtomicBool,
}

/// The `--restore-into` URL: a connection URL, or `sqlite:` (also
/// `sqlite://`) for a new file in the temporary directory.
pub fn parse(given: &str, password_file: Option<&Path>) -> Result<(ConnSpec, bool)> {
    if matches!(given, "sqlite:" | "sqlite://") {
        use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
        const PATH: &AsciiSet = &CONTROLS.add(b'%').add(b'?').add(b'#');
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let path =
            std::env::temp_dir().join(format!("haul-verify-{}-{nanos}.db", std::process::id()));
        let url = format!(
            "sqlite://{}",
            utf8_percent_encode(&path.to_string_lossy(), PATH)
        );
        return Ok((ConnSpec::parse(&url, None)?, true));
    }
    Ok((ConnSpec::parse(given, password_file)?, false))
}

/// The name [`engine::Admin`] knows the database by: a SQLite file's path.
fn name(spec: &ConnSpec) -> String {
    match spec.engine {
        EngineKind::Sqlite => spec.path.display().to_string(),
        _ => spec.database.clone(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

async fn drop_database(spec: &ConnSpec) -> Result<(), EngineError> {
    engine::open_admin(spec)
        .await?
        .drop_database(&name(spec))
        .await
}

impl Scratch {
    /// Create the database `spec` names; refused (exit 5) when it exists:
    /// haul drops only what it created.
    pub fn create(spec: ConnSpec, temporary: bool) -> Result<Scratch> {
        let shared = Arc::new(Shared {
            dropped: Mutex::new(false),
            interrupted: AtomicBool::new(false),
        });
        watch_signals(spec.clone(), Arc::clone(&shared))?;
        let created = runtime()?.block_on(async {
            engine::open_admin(&spec)
                .await?
                .create_database(&name(&spec))
                .await
        });
        match created {
            Ok(()) => Ok(Scratch {
                spec,
                temporary,
                shared,
            }),
            Err(EngineError::Exists { .. }) => {
                // Nothing of ours to drop.
                if let Ok(mut d) = shared.dropped.lock() {
                    *d = true;
                }
                Err(RefusedError(format!(
                    "{spec} exists already: --restore-into restores into a database it creates, and drops it \
                     afterwards; name one that does not exist (or drop this one, if a verify that was killed \
                     left it)"
                ))
                .into())
            }
            Err(e) => {
                if let Ok(mut d) = shared.dropped.lock() {
                    *d = true;
                }
                Err(e).with_context(|| format!("cannot create the scratch database {spec}"))
            }
        }
    }

    pub fn spec(&self) -> &ConnSpec {
        &self.spec
    }

    /// A temporary SQLite file haul named.
    pub fn temporary(&self) -> bool {
        self.temporary
    }

    /// Whether SIGINT or SIGTERM came while the database existed (it was
    /// dropped then).
    pub fn interrupted(&self) -> bool {
        self.shared.interrupted.load(Ordering::SeqCst)
    }

    /// Drop the database (once; waits for a drop a signal started).
    pub fn drop_now(&self) -> Result<()> {
        let mut dropped = self
            .shared
            .dropped
            .lock()
            .map_err(|_| anyhow::anyhow!("the scratch database's lock is poisoned"))?;
        if *dropped {
            return Ok(());
        }
        runtime()?
            .block_on(drop_database(&self.spec))
            .with_context(|| format!("cannot drop the scratch database {}", self.spec))?;
        *dropped = true;
        Ok(())
    }
}

/// A thread that waits for SIGINT and SIGTERM, listening before this
/// returns. A signal while the database exists drops it; any other signal
/// ends haul (130 for SIGINT, 143 for SIGTERM).
fn watch_signals(spec: ConnSpec, shared: Arc<Shared>) -> Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let (ready, listening) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = runtime() else { return };
        let signals = rt.block_on(async {
            Ok::<_, std::io::Error>((
                signal(SignalKind::interrupt())?,
                signal(SignalKind::terminate())?,
            ))
        });
        let (mut int, mut term) = match signals {
            Ok(s) => {
                let _ = ready.send(Ok(()));
                s
            }
            Err(e) => {
                let _ = ready.send(Err(e));
                return;
            }
        };
        let mut next = || {
            rt.block_on(async {
                tokio::select! {
                    _ = int.recv() => 130,
                    _ = term.recv() => 143,
                }
            })
        };
        let code = next();
        if let Ok(mut dropped) = shared.dropped.lock() {
            if !*dropped {
                shared.interrupted.store(true, Ordering::SeqCst);
                eprintln!("haul: interrupted: dropping the scratch database {spec}");
                match rt.block_on(drop_database(&spec)) {
                    Ok(()) => *dropped = true,
                    Err(e) => eprintln!(
                        "haul: warning: cannot drop the scratch database {spec}: {}",
                        crate::display::escape_lines(&e.to_string())
                    ),
                }
                drop(dropped);
                next();
            }
        }
        std::process::exit(code);
    });
    match listening.recv() {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => Err(e).context("cannot listen for SIGINT and SIGTERM"),
        Err(_) => anyhow::bail!("cannot listen for SIGINT and SIGTERM"),
    }
}
