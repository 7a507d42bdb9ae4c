//! Connection URLs: parsing, the password's sources, and a display form that
//! never shows the password.

use crate::model::EngineKind;
use crate::tls::TlsOptions;
use percent_encoding::percent_decode_str;
use std::fmt;
use std::path::PathBuf;
use thiserror::Error;

/// A URL haul cannot use. The message never repeats a password.
#[derive(Debug, Error)]
#[error("invalid connection URL {shown}: {reason}")]
pub struct UrlError {
    pub shown: String,
    pub reason: String,
}

/// Where a database is.
#[derive(Clone)]
pub struct ConnSpec {
    pub engine: EngineKind,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    /// From the URL, or `PGPASSWORD` / `MYSQL_PWD`.
    pub password: Option<String>,
    pub database: String,
    /// SQLite only: the database file.
    pub path: PathBuf,
    /// From the URL's query parameters (PostgreSQL: and `PGSSL*`).
    pub tls: TlsOptions,
}

impl fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnSpec({self})")
    }
}

/// Show a URL as typed with any password replaced, for error messages about
/// URLs that did not parse.
fn redact_raw(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let authority_end = rest.find('/').unwrap_or(rest.len());
        let (authority, tail) = rest.split_at(authority_end);
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split(':').next().unwrap_or("");
            let masked = if userinfo.contains(':') {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            return format!("{scheme}://{masked}@{host}{tail}");
        }
        return url.to_string();
    }
    // Not a URL at all: could be anything, show nothing of it past 40 chars.
    url.chars().take(40).collect()
}

impl ConnSpec {
    /// Parse a connection URL; the password may also come from the
    /// environment.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let err = |reason: &str| UrlError {
            shown: redact_raw(url),
            reason: reason.to_string(),
        };
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| err("expected postgres://, mysql:// or sqlite://"))?;
        let engine = match scheme.to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" => EngineKind::Postgres,
            "mysql" | "mariadb" => EngineKind::Mysql,
            "sqlite" => EngineKind::Sqlite,
            _ => {
                return Err(err(
                    "unknown scheme; expected postgres://, mysql:// or sqlite://",
                ))
            }
        };
        let query = rest.split('#').next().unwrap_or("");
        let query = query.split_once('?').map_or("", |(_, q)| q);
        let tls = TlsOptions::from_query(engine, query).map_err(|r| err(&r))?;
        if engine == EngineKind::Sqlite {
            let path = rest.split(['?', '#']).next().unwrap_or("");
            let path = percent_decode_str(path).decode_utf8_lossy().into_owned();
            if path.is_empty() {
                return Err(err(
                    "no database file (sqlite:///abs/path.db or sqlite://rel/path.db)",
                ));
            }
            let path = PathBuf::from(path);
            let database = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            return Ok(ConnSpec {
                engine,
                host: String::new(),
                port: 0,
                user: None,
                password: None,
                database,
                path,
                tls,
            });
        }
        let rest = rest.split(['?', '#']).next().unwrap_or("");
        let (authority, db) = match rest.split_once('/') {
            Some((a, d)) => (a, d),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let decode = |s: &str| percent_decode_str(s).decode_utf8_lossy().into_owned();
        let (user, mut password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(decode(u)), Some(decode(p))),
                None => (Some(decode(u)), None),
            },
            None => (None, None),
        };
        let default_port = if engine == EngineKind::Postgres {
            5432
        } else {
            3306
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, p) = h
                .split_once(']')
                .ok_or_else(|| err("unclosed '[' in host"))?;
            (h.to_string(), p.strip_prefix(':').unwrap_or(""))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p),
                None => (hostport.to_string(), ""),
            }
        };
        let port = if port.is_empty() {
            default_port
        } else {
            port.parse().map_err(|_| err("port is not a number"))?
        };
        let host = if host.is_empty() {
            "localhost".to_string()
        } else {
            host
        };
        let database = decode(db);
        if database.is_empty() {
            return Err(err("no database name (…/DBNAME at the end)"));
        }
        if password.is_none() {
            let var = if engine == EngineKind::Postgres {
                "PGPASSWORD"
            } else {
                "MYSQL_PWD"
            };
            password = std::env::var(var).ok();
        }
        Ok(ConnSpec {
            engine,
            host,
            port,
            user,
            password,
            database,
            path: PathBuf::new(),
            tls,
        })
    }
}

/// The URL without its password: safe for every message.
impl fmt::Display for ConnSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.engine {
            EngineKind::Sqlite => write!(f, "sqlite://{}", self.path.display()),
            _ => {
                write!(f, "{}://", self.engine)?;
                if let Some(u) = &self.user {
                    write!(f, "{u}@")?;
                }
                if self.host.contains(':') {
                    write!(f, "[{}]:{}/{}", self.host, self.port, self.database)
                } else {
                    write!(f, "{}:{}/{}", self.host, self.port, self.database)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_url() {
        let c = ConnSpec::parse("postgres://bob:s%40cret@db.example:5433/app").unwrap();
        assert_eq!(c.engine, EngineKind::Postgres);
        assert_eq!(c.user.as_deref(), Some("bob"));
        assert_eq!(c.password.as_deref(), Some("s@cret"));
        assert_eq!(c.host, "db.example");
        assert_eq!(c.port, 5433);
        assert_eq!(c.database, "app");
        assert_eq!(c.to_string(), "postgres://bob@db.example:5433/app");
    }

    #[test]
    fn sqlite_urls() {
        let c = ConnSpec::parse("sqlite:///tmp/x.db").unwrap();
        assert_eq!(c.path, PathBuf::from("/tmp/x.db"));
        let c = ConnSpec::parse("sqlite://rel/x.db").unwrap();
        assert_eq!(c.path, PathBuf::from("rel/x.db"));
        assert_eq!(c.database, "x");
    }

    #[test]
    fn errors_hide_password() {
        let e = ConnSpec::parse("postgres://u:hunter2@h:notaport/db").unwrap_err();
        let s = e.to_string();
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("port"), "{s}");
        let e = ConnSpec::parse("oracle://u:hunter2@h/db").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn ipv6_and_defaults() {
        let c = ConnSpec::parse("mysql://root@[::1]/test").unwrap();
        assert_eq!(c.host, "::1");
        assert_eq!(c.port, 3306);
        assert_eq!(c.to_string(), "mysql://root@[::1]:3306/test");
    }
}
