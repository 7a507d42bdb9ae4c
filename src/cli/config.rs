//! The config file (`--config FILE` or `HAUL_CONFIG`): named connections and
//! defaults for dump, restore and prune. Command-line flags win over
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
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DumpDefaults {
    pub jobs: Option<usize>,
    pub level: Option<i32>,
    pub chunk_size: Option<String>,
    pub into: Option<PathBuf>,
    pub name: Option<String>,
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
}

impl Config {
    /// Read a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let err = |reason: String| ConfigError {
            path: path.display().to_string(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        toml::from_str(&text).map_err(|e| err(e.to_string()))
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
    }
}
