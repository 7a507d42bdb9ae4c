//! One connection pool for the engines: idle sessions kept for reuse, more
//! opened when all are in use. An engine says how to open a session and
//! whether one can be reused; its own helpers (`exec`, `rows`) sit on top.

use super::EngineError;
use async_trait::async_trait;
use tokio::sync::Mutex;

/// How an engine opens its sessions.
#[async_trait]
pub trait Connector: Send + Sync {
    type Conn: Send;
    /// A new session, set up for its work.
    async fn open(&self) -> Result<Self::Conn, EngineError>;
    /// Whether a session given back can serve again.
    fn reusable(&self, conn: &Self::Conn) -> bool {
        let _ = conn;
        true
    }
}

/// Idle sessions of one connector.
pub struct Pool<K: Connector> {
    connector: K,
    idle: Mutex<Vec<K::Conn>>,
}

impl<K: Connector> Pool<K> {
    /// A pool holding one session, opened now so that connection errors
    /// show up before any work.
    pub async fn open(connector: K) -> Result<Self, EngineError> {
        let first = connector.open().await?;
        Ok(Self::with_first(connector, first))
    }

    /// A pool that starts with `first`.
    pub fn with_first(connector: K, first: K::Conn) -> Self {
        Pool {
            connector,
            idle: Mutex::new(vec![first]),
        }
    }

    pub fn connector(&self) -> &K {
        &self.connector
    }

    /// An idle session, or a new one.
    pub async fn get(&self) -> Result<K::Conn, EngineError> {
        if let Some(c) = self.idle.lock().await.pop() {
            return Ok(c);
        }
        self.connector.open().await
    }

    /// Give back a session for reuse, unless it cannot serve again.
    pub async fn put(&self, conn: K::Conn) {
        if self.connector.reusable(&conn) {
            self.idle.lock().await.push(conn);
        }
    }
}
