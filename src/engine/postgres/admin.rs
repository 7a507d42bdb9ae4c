//! [`PgAdmin`]: creating and dropping databases from a session on the
//! server's maintenance database.

use super::conn::{col, connect, describe, server_err};
use crate::conn::ConnSpec;
use crate::engine::{quote_ident, Admin, EngineError};
use async_trait::async_trait;
use tokio_postgres::error::SqlState;

/// A session on `postgres` (or `template1`, where `postgres` is gone).
pub struct PgAdmin {
    client: tokio_postgres::Client,
    /// `server_version_num`.
    version: i32,
    target: ConnSpec,
}

impl PgAdmin {
    /// Connect to the server of `spec`, on its maintenance database.
    pub async fn open(spec: &ConnSpec) -> Result<Self, EngineError> {
        let mut on = spec.clone();
        on.database = "postgres".into();
        let client = match connect(&on).await {
            Err(EngineError::NoDatabase { .. }) => {
                on.database = "template1".into();
                connect(&on).await?
            }
            r => r?,
        };
        let ctx = "reading the server version";
        let row = client
            .query_one("SELECT current_setting('server_version_num')::int", &[])
            .await
            .map_err(|e| server_err(ctx, e))?;
        Ok(PgAdmin {
            version: col(&row, 0, ctx)?,
            client,
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
impl Admin for PgAdmin {
    async fn create_database(&self, name: &str) -> Result<(), EngineError> {
        // template0, as pg_restore's documentation advises: nothing a site
        // added to template1 comes in beside the archive's objects.
        let sql = format!("CREATE DATABASE {} TEMPLATE template0", quote_ident(name));
        match self.client.execute(sql.as_str(), &[]).await {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some(&SqlState::DUPLICATE_DATABASE) => Err(EngineError::Exists {
                target: self.shown(name),
                database: name.to_string(),
            }),
            Err(e) => Err(EngineError::Driver {
                context: format!("creating database {name} on {}", self.shown(name)),
                message: describe(&e),
                source: Box::new(e),
            }),
        }
    }

    async fn drop_database(&self, name: &str) -> Result<(), EngineError> {
        let ctx = format!("dropping database {name} on {}", self.shown(name));
        let quoted = quote_ident(name);
        if self.version >= 130_000 {
            let sql = format!("DROP DATABASE IF EXISTS {quoted} WITH (FORCE)");
            self.client
                .execute(sql.as_str(), &[])
                .await
                .map_err(|e| server_err(&ctx, e))?;
            return Ok(());
        }
        self.client
            .execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = $1 AND pid <> pg_backend_pid()",
                &[&name],
            )
            .await
            .map_err(|e| server_err(&ctx, e))?;
        let sql = format!("DROP DATABASE IF EXISTS {quoted}");
        self.client
            .execute(sql.as_str(), &[])
            .await
            .map_err(|e| server_err(&ctx, e))?;
        Ok(())
    }
}
