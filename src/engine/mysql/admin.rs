//! [`MyAdmin`]: creating and dropping databases from a session in none.

use super::conn::{connect_single, server_code, server_err};
use super::qi;
use crate::conn::ConnSpec;
use crate::engine::{Admin, EngineError};
use async_trait::async_trait;
use mysql_async::prelude::*;

/// A session on the server with no current database.
pub struct MyAdmin {
    conn: tokio::sync::Mutex<mysql_async::Conn>,
    target: ConnSpec,
}

/// `ER_DB_CREATE_EXISTS`.
const DB_EXISTS: u16 = 1007;
/// `ER_NO_SUCH_THREAD`: a session that ended before it was killed.
const NO_SUCH_THREAD: u16 = 1094;

impl MyAdmin {
    /// Connect to the server of `spec`, in no database.
    pub async fn open(spec: &ConnSpec) -> Result<Self, EngineError> {
        let mut on = spec.clone();
        on.database = String::new();
        Ok(MyAdmin {
            conn: tokio::sync::Mutex::new(connect_single(&on, &[]).await?),
            target: spec.clone(),
        })
    }

    /// The server as messages name it, with `name` as its database.
    fn shown(&self, name: &str) -> String {
        let mut s = self.target.clone();
        s.database = name.to_string();
        s.to_string()
    }
}

#[async_trait]
impl Admin for MyAdmin {
    async fn create_database(&self, name: &str) -> Result<(), EngineError> {
        let sql = format!("CREATE DATABASE {}", qi(name));
        let mut c = self.conn.lock().await;
        match c.query_drop(sql).await {
            Ok(()) => Ok(()),
            Err(e) if server_code(&e) == Some(DB_EXISTS) => Err(EngineError::Exists {
                target: self.shown(name),
                database: name.to_string(),
            }),
            Err(e) => Err(server_err(
                format!("creating database {name} on {}", self.shown(name)),
                e,
            )),
        }
    }

    async fn drop_database(&self, name: &str) -> Result<(), EngineError> {
        let ctx = format!("dropping database {name} on {}", self.shown(name));
        let mut c = self.conn.lock().await;
        // DROP DATABASE waits for the locks of sessions still in it (a
        // restore stopped by a signal): end them first.
        let ids: Vec<u64> = c
            .exec(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID()",
                (name,),
            )
            .await
            .map_err(|e| server_err(&ctx, e))?;
        for id in ids {
            match c.query_drop(format!("KILL CONNECTION {id}")).await {
                Err(e) if server_code(&e) != Some(NO_SUCH_THREAD) => {
                    return Err(server_err(&ctx, e))
                }
                _ => {}
            }
        }
        c.query_drop(format!("DROP DATABASE IF EXISTS {}", qi(name)))
            .await
            .map_err(|e| server_err(&ctx, e))
    }
}
