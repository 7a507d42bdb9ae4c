//! Sessions: connecting with haul's settings, driver errors in one line,
//! reading result cells, and the restore side's pool of sessions.

use crate::conn::ConnSpec;
use crate::engine::pool::{self, Connector};
use crate::engine::sqltext::expr_problem;
use crate::engine::EngineError;
use crate::model::EngineKind;
use crate::tls::{TlsFiles, TlsMode};
use mysql_async::prelude::*;
use mysql_async::{ClientIdentity, Conn, DriverError, OptsBuilder, Row, SslOpts, Value};
use std::str::FromStr;
use std::time::Duration;

/// One line for a driver error.
pub(super) fn describe(e: &mysql_async::Error) -> String {
    match e {
        mysql_async::Error::Server(s) => format!("{} (error {})", s.message, s.code),
        // The innermost cause says it best ("Connection refused (os error 111)").
        other => {
            let mut last: &dyn std::error::Error = other;
            while let Some(c) = last.source() {
                last = c;
            }
            last.to_string()
        }
    }
}

/// A driver error as an [`EngineError`], with what was being done.
pub(super) fn server_err(context: impl Into<String>, e: mysql_async::Error) -> EngineError {
    EngineError::Driver {
        context: context.into(),
        message: describe(&e),
        source: Box::new(e),
    }
}

/// The server's error code, if the server reported the error.
pub(super) fn server_code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

/// Open a session with haul's settings plus `extra` statements.
pub(super) async fn connect(spec: &ConnSpec, extra: &[&str]) -> Result<Conn, EngineError> {
    open(spec, extra, true).await
}

/// Open a session like [`connect`] on which the server refuses a query
/// text holding more than one statement: archive SQL that must go as text
/// (a routine's `BEGIN ... END` body holds `;`) runs one statement a query.
pub(super) async fn connect_single(spec: &ConnSpec, extra: &[&str]) -> Result<Conn, EngineError> {
    open(spec, extra, false).await
}

async fn open(spec: &ConnSpec, extra: &[&str], multi: bool) -> Result<Conn, EngineError> {
    let target = spec.to_string();
    let user = spec.login();
    let files = spec.tls.read_files().map_err(|e| EngineError::Connect {
        target: target.clone(),
        reason: e.to_string(),
    })?;
    let opts = OptsBuilder::default()
        .ip_or_hostname(spec.host.clone())
        .tcp_port(spec.port)
        .user(Some(user))
        .pass(spec.password.clone())
        // No database: a session for creating and dropping them.
        .db_name((!spec.database.is_empty()).then(|| spec.database.clone()))
        .prefer_socket(false)
        // Accept any row the server sends; the server enforces its own limit.
        .max_allowed_packet(Some(1 << 30))
        .tcp_nodelay(true)
        .multi_statements(multi)
        .stmt_cache_size(0);
    let mut opened = match ssl_opts(spec.tls.mode, files) {
        Some(ssl) => attempt(opts.clone().ssl_opts(ssl)).await,
        None => attempt(opts.clone()).await,
    };
    let no_tls = |r: &Option<Result<Conn, mysql_async::Error>>| {
        matches!(
            r,
            Some(Err(mysql_async::Error::Driver(
                DriverError::NoClientSslFlagFromServer
            )))
        )
    };
    if spec.tls.mode == TlsMode::Prefer && no_tls(&opened) {
        opened = attempt(opts).await;
    }
    let conn = match opened {
        None => {
            return Err(EngineError::Connect {
                target,
                reason: "timed out after 15 s".into(),
            })
        }
        Some(Err(e)) => {
            return Err(match &e {
                mysql_async::Error::Server(s) if s.code == 1045 || s.code == 1044 => {
                    EngineError::Auth {
                        target,
                        reason: s.message.clone(),
                    }
                }
                mysql_async::Error::Server(s) if s.code == 1049 => EngineError::NoDatabase {
                    target,
                    database: spec.database.clone(),
                },
                mysql_async::Error::Server(_) => server_err(format!("connecting to {target}"), e),
                _ => EngineError::Connect {
                    target,
                    reason: describe(&e),
                },
            })
        }
        Some(Ok(c)) => c,
    };
    let mut conn = conn;
    let lock_wait = format!("SET SESSION lock_wait_timeout = {}", lock_wait_seconds());
    let mut setup = vec![
        "SET NAMES utf8mb4",
        "SET time_zone = '+00:00'",
        "SET SESSION net_read_timeout = 3600, SESSION net_write_timeout = 3600, SESSION wait_timeout = 86400",
        lock_wait.as_str(),
    ];
    setup.extend_from_slice(extra);
    for s in setup {
        conn.query_drop(s)
            .await
            .map_err(|e| server_err(format!("setting up a session on {target}"), e))?;
    }
    Ok(conn)
}

/// One connection attempt; `None` if it timed out.
async fn attempt(opts: OptsBuilder) -> Option<Result<Conn, mysql_async::Error>> {
    tokio::time::timeout(Duration::from_secs(15), Conn::new(opts))
        .await
        .ok()
}

/// The driver's TLS options for `mode`, `None` for plain TCP. REQUIRED and
/// PREFERRED encrypt without checking the certificate, as the mysql client
/// does; VERIFY_CA checks the chain, VERIFY_IDENTITY the host name too.
fn ssl_opts(mode: TlsMode, files: TlsFiles) -> Option<SslOpts> {
    let mut o = SslOpts::default();
    match mode {
        TlsMode::Disable => return None,
        TlsMode::Prefer | TlsMode::Require => o = o.with_danger_accept_invalid_certs(true),
        TlsMode::VerifyCa => o = o.with_danger_skip_domain_validation(true),
        TlsMode::VerifyFull => {}
    }
    if let Some(ca) = files.root_cert {
        o = o
            .with_root_certs(vec![ca.into()])
            .with_disable_built_in_roots(true);
    }
    if let (Some(cert), Some(key)) = (files.cert, files.key) {
        o = o.with_client_identity(Some(ClientIdentity::new(cert.into(), key.into())));
    }
    Some(o)
}

/// How long a session waits for a table lock held by someone else before it
/// gives up (`HAUL_LOCK_WAIT_SECONDS`, default 60).
fn lock_wait_seconds() -> u64 {
    std::env::var("HAUL_LOCK_WAIT_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or(60)
}

/// A lock wait that timed out, said plainly.
pub(super) fn lock_err(context: String, e: mysql_async::Error) -> EngineError {
    if server_code(&e) == Some(1205) {
        EngineError::Server {
            context,
            message: format!(
                "another session holds a lock on the tables; gave up after {} s ({})",
                lock_wait_seconds(),
                describe(&e)
            ),
        }
    } else {
        server_err(context, e)
    }
}

/// A result cell as text (information_schema and friends).
pub(super) fn cell(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i)? {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        Value::Int(n) => Some(n.to_string()),
        Value::UInt(n) => Some(n.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(other.as_sql(true).trim_matches('\'').to_string()),
    }
}

/// A result cell as text, empty for NULL.
pub(super) fn cell_s(row: &Row, i: usize) -> String {
    cell(row, i).unwrap_or_default()
}

/// All rows of `sql`.
pub(super) async fn query_rows(
    conn: &mut Conn,
    sql: &str,
    context: &str,
) -> Result<Vec<Row>, EngineError> {
    conn.query::<Row, _>(sql)
        .await
        .map_err(|e| server_err(context, e))
}

/// The server's version string.
pub(super) async fn version(conn: &mut Conn) -> Result<String, EngineError> {
    let context = "reading the server version";
    let rows = query_rows(conn, "SELECT VERSION()", context).await?;
    rows.first()
        .and_then(|r| cell(r, 0))
        .ok_or_else(|| EngineError::Server {
            context: context.into(),
            message: "SELECT VERSION() returned no version".into(),
        })
}

/// Whether the server is MariaDB, and its version string.
pub(super) async fn is_mariadb(conn: &mut Conn) -> Result<(bool, String), EngineError> {
    let v = version(conn).await?;
    Ok((v.to_ascii_lowercase().contains("mariadb"), v))
}

/// Cell `i` parsed as a number: `None` for NULL, an error naming `what` if
/// it holds anything else.
pub(super) fn number<T: FromStr>(
    row: &Row,
    i: usize,
    what: &str,
    context: &str,
) -> Result<Option<T>, EngineError> {
    let Some(s) = cell(row, i) else {
        return Ok(None);
    };
    s.parse().map(Some).map_err(|_| EngineError::Server {
        context: context.into(),
        message: format!("{what} is {s:?}, not a number"),
    })
}

/// Cell `i` of the first row, which must be there and hold a number.
pub(super) fn first_number<T: FromStr>(
    rows: &[Row],
    i: usize,
    what: &str,
    context: &str,
) -> Result<T, EngineError> {
    let missing = |message: String| EngineError::Server {
        context: context.into(),
        message,
    };
    let row = rows
        .first()
        .ok_or_else(|| missing(format!("the server returned no row for {what}")))?;
    number(row, i, what, context)?.ok_or_else(|| missing(format!("{what} is NULL")))
}

/// Opens sessions with the same setup statements.
pub(super) struct MyConnector {
    spec: ConnSpec,
    setup: &'static [&'static str],
}

#[async_trait::async_trait]
impl Connector for MyConnector {
    type Conn = Conn;

    async fn open(&self) -> Result<Conn, EngineError> {
        connect(&self.spec, self.setup).await
    }
}

/// Sessions opened with the same setup statements, kept for reuse.
pub(super) type Pool = pool::Pool<MyConnector>;

impl pool::Pool<MyConnector> {
    /// A pool that starts with `first`, opened with `setup`.
    pub(super) fn new(spec: &ConnSpec, setup: &'static [&'static str], first: Conn) -> Self {
        Self::with_first(
            MyConnector {
                spec: spec.clone(),
                setup,
            },
            first,
        )
    }

    /// Where the sessions connect.
    pub(super) fn spec(&self) -> &ConnSpec {
        &self.connector().spec
    }

    /// Run one statement, which returns no rows, through the prepared
    /// statement protocol: it refuses a text holding more than one (the
    /// text protocol would run them all). A statement the server cannot
    /// prepare (MySQL 8 triggers) goes as text if it has no `;`.
    pub(super) async fn exec(
        &self,
        sql: &str,
        context: impl Into<String>,
    ) -> Result<(), EngineError> {
        let mut c = self.get().await?;
        let mut r = c.exec_drop(sql, ()).await;
        let unpreparable = matches!(&r, Err(e) if server_code(e) == Some(1295));
        if unpreparable && expr_problem(EngineKind::Mysql, sql).is_none() {
            r = c.query_drop(sql).await;
        }
        match r {
            Ok(()) => {
                self.put(c).await;
                Ok(())
            }
            Err(e) => {
                if !e.is_fatal() {
                    self.put(c).await;
                }
                Err(server_err(context, e))
            }
        }
    }

    /// All rows of `sql`.
    pub(super) async fn rows(&self, sql: &str, context: &str) -> Result<Vec<Row>, EngineError> {
        let mut c = self.get().await?;
        let r = query_rows(&mut c, sql, context).await;
        self.put(c).await;
        r
    }
}

/// The server's `server_uuid` (MySQL), else its host name, port and data
/// directory (MariaDB has no uuid), and the schema.
pub(super) async fn identity(conn: &mut Conn) -> Result<String, EngineError> {
    let ctx = "reading the server's identity";
    let uuid = query_rows(conn, "SHOW GLOBAL VARIABLES LIKE 'server_uuid'", ctx).await?;
    let server = match uuid.first().and_then(|r| cell(r, 1)) {
        Some(u) => u,
        None => {
            let rows = query_rows(
                conn,
                "SELECT CONCAT_WS(':', @@hostname, @@port, @@datadir)",
                ctx,
            )
            .await?;
            rows.first().and_then(|r| cell(r, 0)).unwrap_or_default()
        }
    };
    let rows = query_rows(
        conn,
        "SELECT IF(@@lower_case_table_names > 0, LOWER(DATABASE()), DATABASE())",
        ctx,
    )
    .await?;
    let schema = rows.first().and_then(|r| cell(r, 0)).unwrap_or_default();
    Ok(format!("mysql:{server}/{schema}"))
}
