//! One module per subcommand, each with a `run`.

pub mod copy;
pub mod dump;
pub mod inspect;
pub mod prune;
pub mod restore;
pub mod verify;

use crate::cli::{Cli, Command, TableArgs};
use crate::config::Config;
use crate::error::UsageError;
use crate::schema::TableFilter;
use anyhow::Result;

/// Options every command sees.
pub struct Global {
    pub quiet: bool,
    /// A JSON summary on stdout.
    pub json: bool,
    /// JSON-lines progress events too.
    pub events: bool,
}

impl Global {
    /// The progress mode for this run; `stderr` when stdout carries data.
    pub fn progress_mode(&self, stderr: bool) -> crate::progress::Mode {
        if self.events {
            crate::progress::Mode::Events { stderr }
        } else {
            crate::progress::Mode::detect(self.quiet)
        }
    }
}

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
fn apply_config(command: &mut Command, m: &clap::ArgMatches, cfg: &Config) -> Result<()> {
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
        }
        Command::Inspect(_) => {}
    }
    Ok(())
}

/// Run the parsed command line.
pub fn run(mut cli: Cli, matches: &clap::ArgMatches) -> Result<()> {
    let cfg = match &cli.config {
        Some(path) => Config::load(path).map_err(|e| UsageError(e.to_string()))?,
        None => Config::default(),
    };
    apply_config(&mut cli.command, matches, &cfg)?;
    let g = Global {
        quiet: cli.quiet,
        json: cli.json.is_some(),
        events: cli.json == Some(crate::cli::JsonMode::Events),
    };
    match cli.command {
        Command::Dump(a) => dump::run(a, &g),
        Command::Restore(a) => restore::run(a, &g, false),
        Command::Plan(a) => restore::run(a, &g, true),
        Command::Copy(a) => copy::run(a, &g),
        Command::Inspect(a) => inspect::run(a, &g),
        Command::Verify(a) => verify::run(a, &g),
        Command::Prune(a) => prune::run(a, &g),
    }
}

/// Worker count: the flag, or the number of cores.
pub fn jobs(flag: Option<usize>) -> usize {
    flag.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2)
    })
    .clamp(1, 64)
}

/// A runtime with room for `jobs` workers plus the driver tasks.
pub fn runtime(jobs: usize) -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(jobs.max(2) + 1)
        .enable_all()
        .build()?)
}

pub fn filter(t: &TableArgs) -> TableFilter {
    TableFilter {
        include: t
            .tables
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
        exclude: t
            .exclude_tables
            .iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect(),
    }
}

/// Current time as RFC 3339 UTC with microseconds.
pub fn now_rfc3339() -> String {
    humantime::format_rfc3339_micros(std::time::SystemTime::now()).to_string()
}
