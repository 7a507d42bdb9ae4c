//! Merging the config file into the parsed command line: what flags and
//! `HAUL_*` variables left unset comes from the file, and `@name`
//! connections are resolved.

use super::config::Config;
use super::Command;
use crate::error::UsageError;
use anyhow::Result;

/// Whether a value was not given on the command line or in the
/// environment (so the config file may supply it).
fn unset(m: &clap::ArgMatches, id: &str) -> bool {
    !matches!(
        m.value_source(id),
        Some(clap::parser::ValueSource::CommandLine | clap::parser::ValueSource::EnvVariable)
    )
}

/// Fill what the command line and environment left unset from the config
/// file, and resolve `@name` connections.
pub fn apply_config(command: &mut Command, m: &clap::ArgMatches, cfg: &Config) -> Result<()> {
    let sub = m.subcommand().map(|s| s.1);
    let sub = match sub {
        Some(s) => s,
        None => return Ok(()),
    };
    match command {
        Command::Dump(a) => {
            a.source = cfg.url(&a.source)?;
            let d = &cfg.dump;
            if unset(sub, "jobs") && a.jobs.is_none() {
                a.jobs = d.jobs;
            }
            if unset(sub, "level") {
                if let Some(l) = d.level {
                    a.level = l;
                }
            }
            if unset(sub, "chunk_size") {
                if let Some(c) = &d.chunk_size {
                    a.chunk_size = crate::cli::parse_size(c)
                        .map_err(|e| UsageError(format!("config file [dump] chunk_size: {e}")))?;
                }
            }
            if a.output.is_none() && a.into.is_none() {
                a.into = d.into.clone();
            }
            if unset(sub, "name") {
                if let Some(n) = &d.name {
                    a.name = n.clone();
                }
            }
            if a.recipient.is_empty() && a.recipients_file.is_empty() {
                a.recipient = d.recipients.clone().unwrap_or_default();
                a.recipients_file = d.recipients_file.iter().cloned().collect();
            }
            watch(&mut a.watch, &d.notify, &d.on_failure, &d.metrics_file);
        }
        Command::Restore(a) | Command::Plan(a) => {
            if let Some(t) = &a.target {
                a.target = Some(cfg.url(t)?);
            }
            if unset(sub, "jobs") && a.load.jobs.is_none() {
                a.load.jobs = cfg.restore.jobs;
            }
        }
        Command::Copy(a) => {
            a.source = cfg.url(&a.source)?;
            a.target = cfg.url(&a.target)?;
            if unset(sub, "jobs") && a.load.jobs.is_none() {
                a.load.jobs = cfg.restore.jobs;
            }
        }
        Command::Verify(a) => {
            if let Some(t) = &a.against {
                a.against = Some(cfg.url(t)?);
            }
            if let Some(t) = &a.restore_into {
                a.restore_into = Some(cfg.url(t)?);
            }
            let v = &cfg.verify;
            watch(&mut a.watch, &v.notify, &v.on_failure, &v.metrics_file);
        }
        Command::Prune(a) => {
            let p = &cfg.prune;
            for (id, field, value) in [
                ("keep_last", &mut a.keep_last, p.keep_last),
                ("keep_hourly", &mut a.keep_hourly, p.keep_hourly),
                ("keep_daily", &mut a.keep_daily, p.keep_daily),
                ("keep_weekly", &mut a.keep_weekly, p.keep_weekly),
                ("keep_monthly", &mut a.keep_monthly, p.keep_monthly),
                ("keep_yearly", &mut a.keep_yearly, p.keep_yearly),
            ] {
                if let (true, Some(v)) = (unset(sub, id), value) {
                    *field = v;
                }
            }
            if let (true, Some(w)) = (unset(sub, "keep_within"), &p.keep_within) {
                a.keep_within = Some(w.parse().map_err(|e| {
                    UsageError(format!("config file [prune] keep_within {w:?}: {e}"))
                })?);
            }
            watch(&mut a.watch, &p.notify, &p.on_failure, &p.metrics_file);
        }
        Command::Inspect(_) => {}
    }
    Ok(())
}

/// The config file's `notify`, `on_failure` and `metrics_file`, each where
/// the command line gave none.
fn watch(
    a: &mut super::WatchArgs,
    notify: &Option<Vec<String>>,
    on_failure: &Option<String>,
    metrics_file: &Option<std::path::PathBuf>,
) {
    if a.notify.is_empty() {
        a.notify = notify.clone().unwrap_or_default();
    }
    if a.on_failure.is_none() {
        a.on_failure = on_failure.clone();
    }
    if a.metrics_file.is_none() {
        a.metrics_file = metrics_file.clone();
    }
}
