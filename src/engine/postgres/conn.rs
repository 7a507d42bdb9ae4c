//! Sessions: connecting with canonical settings, the pool of restore
//! sessions, and driver errors as [`EngineError`]s.

use crate::conn::ConnSpec;
use crate::engine::pool::{self, Connector};
use crate::engine::EngineError;
use crate::tls::TlsMode;
use std::time::Duration;
use tokio_postgres::config::SslMode;
use tokio_postgres::error::SqlState;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::types::FromSql;
use tokio_postgres::{Client, Config, NoTls, Row, Socket};
use tokio_postgres_rustls::MakeRustlsConnect;

/// Settings every haul session runs with, so that text forms are canonical.
const SESSION: &str = "SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; \
    SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'; \
    SET client_encoding = 'UTF8'; SET standard_conforming_strings = on; \
    SET statement_timeout = 0; SET lock_timeout = 0; SET idle_in_transaction_session_timeout = 0;";

/// Settings of restore sessions: commits need not wait for the disk (a
/// failed restore is redone, not recovered), index builds sort in memory,
/// and function bodies are not checked when created (they may name tables
/// and functions created later, as pg_dump's scripts do).
const RESTORE_SESSION: &str = "SET synchronous_commit = off; SET maintenance_work_mem = '256MB'; \
    SET check_function_bodies = off";

/// A driver error while doing `context`.
pub(super) fn server_err(context: impl Into<String>, e: tokio_postgres::Error) -> EngineError {
    EngineError::Driver {
        context: context.into(),
        message: describe(&e),
        source: Box::new(e),
    }
}

/// One line for a driver error: the server's message, detail and hint.
pub(super) fn describe(e: &tokio_postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = db.message().to_string();
        if let Some(d) = db.detail() {
            s.push_str(" (");
            s.push_str(d);
            s.push(')');
        }
        if let Some(h) = db.hint() {
            s.push_str("; hint: ");
            s.push_str(h);
        }
        s
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(c) = src {
            let cs = c.to_string();
            if !s.contains(&cs) {
                s.push_str(": ");
                s.push_str(&cs);
            }
            src = c.source();
        }
        s
    }
}

/// Column `i` of a result row of the query run for `context`; a value of
/// another type, or a NULL where none is expected, is an error.
pub(super) fn col<'a, T: FromSql<'a>>(
    row: &'a Row,
    i: usize,
    context: &str,
) -> Result<T, EngineError> {
    row.try_get(i).map_err(|e| server_err(context, e))
}

/// A new session with [`SESSION`] settings.
pub(super) async fn connect(spec: &ConnSpec) -> Result<Client, EngineError> {
    let mut cfg = tokio_postgres::Config::new();
    cfg.host(&spec.host)
        .port(spec.port)
        .dbname(&spec.database)
        .application_name("haul")
        .connect_timeout(Duration::from_secs(15));
    cfg.user(spec.login());
    if let Some(p) = &spec.password {
        cfg.password(p);
    }
    let target = spec.to_string();
    let tls = spec.tls.client_config().map_err(|e| EngineError::Connect {
        target: target.clone(),
        reason: e.to_string(),
    })?;
    cfg.ssl_mode(match spec.tls.mode {
        TlsMode::Disable => SslMode::Disable,
        TlsMode::Prefer => SslMode::Prefer,
        TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => SslMode::Require,
    });
    let opened = match tls {
        Some(config) => open(&cfg, MakeRustlsConnect::new(config)).await,
        None => open(&cfg, NoTls).await,
    };
    let client = opened.map_err(|e| match e.code() {
        Some(c)
            if *c == SqlState::INVALID_PASSWORD
                || *c == SqlState::INVALID_AUTHORIZATION_SPECIFICATION =>
        {
            EngineError::Auth {
                target: target.clone(),
                reason: describe(&e),
            }
        }
        Some(c) if *c == SqlState::INVALID_CATALOG_NAME => EngineError::NoDatabase {
            target: target.clone(),
            database: spec.database.clone(),
        },
        Some(_) => server_err(format!("connecting to {target}"), e),
        None => EngineError::Connect {
            target: target.clone(),
            reason: describe(&e),
        },
    })?;
    client
        .batch_execute(SESSION)
        .await
        .map_err(|e| server_err(format!("setting up a session on {target}"), e))?;
    Ok(client)
}

/// Connect with `tls`, and drive the connection in its own task.
async fn open<T>(cfg: &Config, tls: T) -> Result<Client, tokio_postgres::Error>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
    T::TlsConnect: Send,
    <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
{
    let (client, conn) = cfg.connect(tls).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    Ok(client)
}

/// Opens restore sessions, with [`RESTORE_SESSION`] settings.
pub(super) struct PgConnector {
    spec: ConnSpec,
}

#[async_trait::async_trait]
impl Connector for PgConnector {
    type Conn = Client;

    async fn open(&self) -> Result<Client, EngineError> {
        let c = connect(&self.spec).await?;
        // The marker lets a resume find this run's sessions after a kill.
        let marker = crate::engine::quote_literal(&crate::engine::session_marker());
        c.batch_execute(&format!(
            "{RESTORE_SESSION}; SET application_name = {marker}"
        ))
        .await
        .map_err(|e| server_err("setting up a restore session", e))?;
        Ok(c)
    }

    fn reusable(&self, c: &Client) -> bool {
        !c.is_closed()
    }
}

/// Idle restore sessions.
pub(super) type Pool = pool::Pool<PgConnector>;

/// A pool of restore sessions on `spec`, one opened now.
pub(super) async fn open_pool(spec: &ConnSpec) -> Result<Pool, EngineError> {
    Pool::open(PgConnector { spec: spec.clone() }).await
}

impl pool::Pool<PgConnector> {
    /// Run one statement on a pooled session, through the extended
    /// protocol, which refuses a text holding more than one.
    pub(super) async fn exec(
        &self,
        sql: &str,
        context: impl Into<String>,
    ) -> Result<(), EngineError> {
        let c = self.get().await?;
        let r = c.execute(sql, &[]).await;
        self.put(c).await;
        r.map(|_| ()).map_err(|e| server_err(context, e))
    }

    /// Run statements in order in one transaction on one session, each
    /// through the extended protocol.
    pub(super) async fn exec_all(
        &self,
        statements: &[String],
        context: impl Into<String>,
    ) -> Result<(), EngineError> {
        let c = self.get().await?;
        let r = async {
            c.batch_execute("BEGIN").await?;
            for s in statements {
                c.execute(s.as_str(), &[]).await?;
            }
            c.batch_execute("COMMIT").await
        }
        .await;
        match r {
            Ok(()) => {
                self.put(c).await;
                Ok(())
            }
            // Dropped with its transaction.
            Err(e) => Err(server_err(context, e)),
        }
    }
}

/// The server's `system_identifier` and the database's oid; where
/// `pg_control_system()` is not granted, the server's address and port.
/// Raises no error (it runs inside a dump's snapshot too).
pub(super) async fn identity(c: &Client) -> Result<String, EngineError> {
    const SQL: &str = "SELECT CASE WHEN has_function_privilege('pg_control_system()', 'execute') \
        THEN (SELECT system_identifier::text FROM pg_control_system()) \
        ELSE coalesce(host(inet_server_addr()), 'local') || ':' || current_setting('port') END \
        || '/' || oid::text FROM pg_database WHERE datname = current_database()";
    let ctx = "reading the server's identity";
    let row = c
        .query_one(SQL, &[])
        .await
        .map_err(|e| server_err(ctx, e))?;
    let id: String = col(&row, 0, ctx)?;
    Ok(format!("postgres:{id}"))
}

impl PgConnector {
    /// A marked restore session outside the pool.
    pub(super) async fn open_session(&self) -> Result<Client, EngineError> {
        self.open().await
    }
}
