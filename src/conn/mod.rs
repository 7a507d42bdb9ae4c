//! Connection URLs: parsing, the password's sources (`password`), and a
//! display form that never shows the password.

mod password;

pub use password::PasswordFileError;

use crate::model::EngineKind;
use crate::tls::TlsOptions;
use percent_encoding::percent_decode_str;
use std::fmt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A URL haul cannot use. The message never repeats a password.
#[derive(Debug, Error)]
#[error("invalid connection URL {shown}: {reason}")]
pub struct UrlError {
    pub shown: String,
    pub reason: String,
}

/// A connection haul cannot set up: a bad URL, or an unreadable
/// `--password-file`.
#[derive(Debug, Error)]
pub enum ConnError {
    #[error(transparent)]
    Url(#[from] UrlError),
    #[error(transparent)]
    PasswordFile(#[from] PasswordFileError),
}

/// Where a database is.
#[derive(Clone)]
pub struct ConnSpec {
    pub engine: EngineKind,
    pub host: String,
    pub port: u16,
    pub user: Option<String>,
    /// Resolved from the URL or the other sources (`password`).
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

/// A URL as typed, for messages about URLs that did not parse: nothing
/// between `://` and the last `@` is shown but a plain user name, and
/// `scheme://***` stands for anything that does not look like a URL.
fn redact_raw(url: &str) -> String {
    let plain = |s: &str| !s.contains(['/', '?', '#', ':', '@']);
    let Some((scheme, rest)) = url.split_once("://") else {
        // Not a URL: show it only if it cannot hold a password.
        if !url.contains('@') {
            return url.chars().take(40).collect();
        }
        return "***".to_string();
    };
    let scheme_ok = !scheme.is_empty()
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    if !scheme_ok {
        return "***".to_string();
    }
    match rest.rsplit_once('@') {
        // No user: the authority is `host[:port]`, or a password typed
        // without its `@host`.
        None if host_port(&rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())]) => {
            url.to_string()
        }
        None => format!("{scheme}://***"),
        Some((userinfo, after)) => {
            let (user, has_password) = match userinfo.split_once(':') {
                Some((u, _)) => (u, true),
                None => (userinfo, false),
            };
            if !plain(user) {
                return format!("{scheme}://***");
            }
            let masked = if has_password {
                format!("{user}:***")
            } else {
                user.to_string()
            };
            format!("{scheme}://{masked}@{after}")
        }
    }
}

/// Whether `authority` is a host with an optional numeric port.
fn host_port(authority: &str) -> bool {
    let port = match authority.strip_prefix('[') {
        Some(v6) => match v6.split_once(']') {
            Some((_, after)) => after,
            None => return false,
        },
        None => match authority.split_once(':') {
            Some((_, p)) => p,
            None => "",
        },
    };
    let port = port.strip_prefix(':').unwrap_or(port);
    port.chars().all(|c| c.is_ascii_digit())
}

impl ConnSpec {
    /// Parse a connection URL and resolve its password: the URL's, or
    /// `--password-file`'s, or one of the environment and client files
    /// (`password`).
    pub fn parse(url: &str, password_file: Option<&Path>) -> Result<Self, ConnError> {
        let mut spec = Self::parse_url(url)?;
        if spec.password.is_none() && spec.engine != EngineKind::Sqlite {
            let user = spec.login();
            let key = password::Lookup {
                engine: spec.engine,
                host: &spec.host,
                port: spec.port,
                database: &spec.database,
                user: &user,
            };
            spec.password = password::resolve(&key, password_file, &|v| std::env::var(v).ok())?;
        }
        Ok(spec)
    }

    /// The user name to log in as: the URL's, or the engine client's
    /// default (`PGUSER` for PostgreSQL, then `USER`).
    pub fn login(&self) -> String {
        let (env_user, fallback) = match self.engine {
            EngineKind::Postgres => (std::env::var("PGUSER").ok(), "postgres"),
            _ => (None, "root"),
        };
        self.user
            .clone()
            .or(env_user)
            .or_else(|| std::env::var("USER").ok())
            .unwrap_or_else(|| fallback.into())
    }

    /// Parse a connection URL; the password only from the URL.
    fn parse_url(url: &str) -> Result<Self, UrlError> {
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
        if engine == EngineKind::Sqlite {
            let query = rest.split('#').next().unwrap_or("");
            let query = query.split_once('?').map_or("", |(_, q)| q);
            let tls = TlsOptions::from_query(engine, query).map_err(|r| err(&r))?;
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
        let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        if rest[authority_end..].contains('@') {
            // A password with an unencoded `/`, `?` or `#`: where it ends
            // is a guess, so nothing of it is shown.
            return Err(UrlError {
                shown: format!("{scheme}://***"),
                reason: "'@' after the host: percent-encode '/', '?', '#' and '@' in the \
                         user name, password and database name (%2F, %3F, %23, %40)"
                    .into(),
            });
        }
        let query = rest.split('#').next().unwrap_or("");
        let query = query.split_once('?').map_or("", |(_, q)| q);
        let tls = TlsOptions::from_query(engine, query).map_err(|r| err(&r))?;
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
        let (user, password) = match userinfo {
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
        let c = ConnSpec::parse_url("postgres://bob:s%40cret@db.example:5433/app").unwrap();
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
        let c = ConnSpec::parse_url("sqlite:///tmp/x.db").unwrap();
        assert_eq!(c.path, PathBuf::from("/tmp/x.db"));
        let c = ConnSpec::parse_url("sqlite://rel/x.db").unwrap();
        assert_eq!(c.path, PathBuf::from("rel/x.db"));
        assert_eq!(c.database, "x");
    }

    #[test]
    fn errors_hide_password() {
        let e = ConnSpec::parse_url("postgres://u:hunter2@h:notaport/db").unwrap_err();
        let s = e.to_string();
        assert!(!s.contains("hunter2"), "{s}");
        assert!(s.contains("port"), "{s}");
        let e = ConnSpec::parse_url("oracle://u:hunter2@h/db").unwrap_err();
        assert!(!e.to_string().contains("hunter2"));
    }

    #[test]
    fn reserved_characters_in_the_password_are_never_shown() {
        for sep in ["/", "?", "#", "@/", "/@", "?/", "#@", "@?"] {
            for url in [
                format!("postgres://u:Xq7{sep}Zk9@h:5432/db"),
                format!("mysql://u:Xq7{sep}Zk9@h/db"),
                format!("oracle://u:Xq7{sep}Zk9@h/db"),
                format!("postgres://Xq7{sep}Zk9@h:x/db"),
                format!("Xq7{sep}Zk9@h/db"),
            ] {
                let s = match ConnSpec::parse_url(&url) {
                    Err(e) => e.to_string(),
                    Ok(c) => c.to_string(),
                };
                assert!(!s.contains("Xq7") && !s.contains("Zk9"), "{url}: {s}");
            }
        }
        assert_eq!(
            redact_raw("postgres://u:p/w@h:1/db"),
            "postgres://u:***@h:1/db"
        );
        assert_eq!(redact_raw("postgres://u/x:p@h/db"), "postgres://***");
        assert_eq!(redact_raw("ora:cle://u:p@h/db"), "***");
        assert_eq!(redact_raw("pg://h:x/db"), "pg://***");
        assert_eq!(redact_raw("pg://h:5/db?x"), "pg://h:5/db?x");
        assert_eq!(redact_raw("pg://[::1]:5/db"), "pg://[::1]:5/db");
        assert_eq!(redact_raw("pg://u:Xq7/Zk9"), "pg://***");
        let e = ConnSpec::parse_url("postgres://u:p/w@h/db").unwrap_err();
        assert!(e.to_string().contains("percent-encode"), "{e}");
    }

    #[test]
    fn ipv6_and_defaults() {
        let c = ConnSpec::parse_url("mysql://root@[::1]/test").unwrap();
        assert_eq!(c.host, "::1");
        assert_eq!(c.port, 3306);
        assert_eq!(c.to_string(), "mysql://root@[::1]:3306/test");
    }
}
