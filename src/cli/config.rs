//! The config file (`--config FILE` or `HAUL_CONFIG`): named connections and
//! defaults for dump, restore, prune and verify. Command-line flags win over
//! environment variables (`HAUL_JOBS`, `HAUL_KEEP_DAILY`, ...), which win
//! over the file.
//!
//! ```toml
//! [connections]
//! gogs = "postgres://gogs@127.0.0.1/gogs"   # use as @gogs
//!
//! [dump]
//! jobs = 2
//! into = "/var/backups/gogs"
//!
//! [prune]
//! keep_daily = 7
//! keep_weekly = 5
//!
//! [verify]                                  # also in [dump] and [prune]
//! notify = ["https://hc-ping.com/..."]
//! metrics_file = "/var/lib/node_exporter/textfile/haul.prom"
//! on_failure = "mail -s 'haul failed' root"
//!
//! [s3]                                      # the AWS_* variables win
//! endpoint_url = "https://s3.example.net"
//! access_key_id = "..."
//! secret_access_key = "..."
//! ```

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A config file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("config file {path}: {reason}")]
pub struct ConfigError {
    pub path: String,
    pub reason: String,
}

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Named connection URLs, used as `@name`.
    #[serde(default)]
    pub connections: BTreeMap<String, String>,
    #[serde(default)]
    pub dump: DumpDefaults,
    #[serde(default)]
    pub restore: RestoreDefaults,
    #[serde(default)]
    pub prune: PruneDefaults,
    #[serde(default)]
    pub verify: VerifyDefaults,
    /// S3 settings for what the `AWS_*` variables leave unset.
    #[serde(default)]
    pub s3: crate::storage::config::S3File,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpDefaults {
    pub jobs: Option<usize>,
    pub level: Option<i32>,
    pub chunk_size: Option<String>,
    pub into: Option<PathBuf>,
    pub name: Option<String>,
    /// age public keys to encrypt to (`--recipient`).
    pub recipients: Option<Vec<String>>,
    /// Files of age public keys (`--recipients-file`).
    pub recipients_file: Option<PathBuf>,
    pub notify: Option<Vec<String>>,
    pub on_failure: Option<String>,
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreDefaults {
    pub jobs: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PruneDefaults {
    pub keep_last: Option<usize>,
    pub keep_hourly: Option<usize>,
    pub keep_daily: Option<usize>,
    pub keep_weekly: Option<usize>,
    pub keep_monthly: Option<usize>,
    pub keep_yearly: Option<usize>,
    pub keep_within: Option<String>,
    pub notify: Option<Vec<String>>,
    pub on_failure: Option<String>,
    pub metrics_file: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyDefaults {
    pub notify: Option<Vec<String>>,
    pub on_failure: Option<String>,
    pub metrics_file: Option<PathBuf>,
}

impl Config {
    /// Read a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |reason: String| ConfigError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| err(describe(&text, &e)))
    }

    /// A URL as given, or the named connection for `@name`.
    pub fn url(&self, given: &str) -> Result<String, crate::error::UsageError> {
        match given.strip_prefix('@') {
            None => Ok(given.to_string()),
            Some(name) => self.connections.get(name).cloned().ok_or_else(|| {
                crate::error::UsageError(format!(
                    "no connection named {name} in the config file (its [connections] table)"
                ))
            }),
        }
    }
}

/// A TOML error by line, column and key, without the line's text or the
/// value (either may hold a password).
fn describe(text: &str, e: &toml::de::Error) -> String {
    let msg = e.message();
    let expected = msg
        .rsplit_once(", expected ")
        .map(|(_, x)| format!("; expected {x}"))
        .unwrap_or_default();
    let what = if msg.starts_with("unknown field") {
        format!("unknown key{expected}")
    } else if msg.starts_with("missing field") || msg.starts_with("duplicate key") {
        // Only names of keys, which haul's structs or the file define.
        msg.to_string()
    } else if msg.starts_with("invalid ") && msg.contains(", expected ") {
        format!("wrong type or value{expected}")
    } else {
        "not valid TOML".to_string()
    };
    let Some(span) = e.span() else {
        return what;
    };
    let before = text.get(..span.start).unwrap_or(text);
    let line_no = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    let line = text[line_start..].lines().next().unwrap_or("");
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(['[', ']', ' ']).to_string());
    let key = key_of(line).map(|k| match &table {
        Some(t) => format!("{t}.{k}"),
        None => k.to_string(),
    });
    match key {
        Some(k) => format!("line {line_no}, column {column}, key {k}: {what}"),
        None => format!("line {line_no}, column {column}: {what}"),
    }
}

/// The key of a `key = value` line, if it looks like one.
fn key_of(line: &str) -> Option<&str> {
    let (key, _) = line.split_once('=')?;
    let key = key.trim();
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
    (!key.is_empty() && key.chars().all(bare)).then_some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_resolves_names() {
        let c: Config = toml::from_str(
            r#"
            [connections]
            gogs = "postgres://gogs@db/gogs"
            [prune]
            keep_daily = 7
            "#,
        )
        .unwrap();
        assert_eq!(c.url("@gogs").unwrap(), "postgres://gogs@db/gogs");
        assert_eq!(c.url("sqlite://x.db").unwrap(), "sqlite://x.db");
        assert!(c.url("@nope").is_err());
        assert_eq!(c.prune.keep_daily, Some(7));
        assert!(toml::from_str::<Config>("[dump]\nbogus = 1").is_err());
        let c: Config = toml::from_str(
            r#"
            [dump]
            into = "s3://backups/gogs/"
            recipients = ["age1example"]
            [s3]
            endpoint_url = "http://127.0.0.1:9000"
            allow_http = true
            secret_access_key = "hunter2"
            "#,
        )
        .unwrap();
        assert_eq!(c.s3.allow_http, Some(true));
        assert_eq!(
            c.dump.recipients.as_deref(),
            Some(&["age1example".to_string()][..])
        );
        assert!(toml::from_str::<Config>("[s3]\nendpoint = 1").is_err());
        let c: Config = toml::from_str(
            r#"
            [dump]
            notify = ["https://hc-ping.com/a"]
            metrics_file = "/var/lib/node_exporter/textfile/haul.prom"
            [verify]
            notify = ["https://hc-ping.com/b"]
            on_failure = "logger haul"
            "#,
        )
        .unwrap();
        assert_eq!(c.verify.notify.unwrap(), ["https://hc-ping.com/b"]);
        assert_eq!(c.verify.on_failure.as_deref(), Some("logger haul"));
        assert!(c.dump.metrics_file.is_some() && c.prune.notify.is_none());
        assert!(toml::from_str::<Config>("[verify]\nagainst = \"x\"").is_err());
    }

    #[test]
    fn errors_name_line_and_key_only() {
        let d = |text: &str| {
            let e = toml::from_str::<Config>(text).unwrap_err();
            describe(text, &e)
        };
        let s = d("[connections]\nprod = \"postgres://u:hunter2@h/db\n");
        assert!(s.starts_with("line 2, column "), "{s}");
        assert!(s.contains("key connections.prod"), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
        let s = d("[dump]\njobs = \"hunter2\"\n");
        assert!(s.contains("line 2") && s.contains("key dump.jobs"), "{s}");
        assert!(s.contains("expected usize"), "{s}");
        assert!(!s.contains("hunter2"), "{s}");
        let s = d("[dump]\nbogus = 1\n");
        assert!(s.contains("key dump.bogus: unknown key; expected"), "{s}");
    }
}
