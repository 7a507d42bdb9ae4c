//! One module per subcommand, each with a `run`.

pub mod copy;
pub mod dump;
pub mod inspect;
pub mod prune;
pub mod restore;
pub mod verify;

use crate::cli::config::Config;
use crate::cli::{Cli, Command, SchemaArgs, TableArgs};
use crate::display::escape_lines;
use crate::error::UsageError;
use crate::model::TableFilter;
use crate::watch::{Ran, Watch};
use anyhow::Result;

/// Options every command sees.
pub struct Global {
    pub quiet: bool,
    /// A JSON summary on stdout.
    pub json: bool,
    /// JSON-lines progress events too.
    pub events: bool,
    /// `--password-file`: the password of every connection whose URL has
    /// none.
    pub password_file: Option<std::path::PathBuf>,
    /// S3 settings: the environment's, then the config file's.
    pub s3: crate::storage::S3Config,
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

/// Run the parsed command line.
pub fn run(mut cli: Cli, matches: &clap::ArgMatches) -> Result<()> {
    let cfg = match &cli.config {
        Some(path) => Config::load(path).map_err(|e| UsageError(e.to_string()))?,
        None => Config::default(),
    };
    crate::cli::merge::apply_config(&mut cli.command, matches, &cfg)?;
    let g = Global {
        quiet: cli.quiet,
        json: cli.json.is_some(),
        events: cli.json == Some(crate::cli::JsonMode::Events),
        password_file: cli.password_file.clone(),
        s3: crate::storage::S3Config::resolve(&cfg.s3),
    };
    match cli.command {
        Command::Dump(a) => watched("dump", a.watch.clone(), |ran| dump::run(a, &g, ran)),
        Command::Restore(a) => restore::run(a, &g, false),
        Command::Plan(a) => restore::run(a, &g, true),
        Command::Copy(a) => copy::run(a, &g),
        Command::Inspect(a) => inspect::run(a, &g),
        Command::Verify(a) => watched("verify", a.watch.clone(), |ran| verify::run(a, &g, ran)),
        Command::Prune(a) => watched("prune", a.watch.clone(), |ran| prune::run(a, &g, ran)),
    }
}

/// Run a scheduled command with its reports (`--notify`, `--on-failure`,
/// `--metrics-file`): what fails in them is a warning, printed even with
/// `--quiet`.
fn watched(
    command: &'static str,
    w: crate::cli::WatchArgs,
    run: impl FnOnce(&mut Ran) -> Result<()>,
) -> Result<()> {
    let watch = Watch::new(command, &w.notify, w.on_failure, w.metrics_file)
        .map_err(|e| UsageError(e.to_string()))?;
    let warn = |warnings: Vec<String>| {
        for w in warnings {
            eprintln!("haul: warning: {}", escape_lines(&w));
            crate::error::warned();
        }
    };
    warn(watch.start());
    let mut ran = Ran::default();
    let result = run(&mut ran);
    match &result {
        Ok(()) => warn(watch.succeeded(&ran, crate::error::has_warned())),
        Err(e) => {
            let line = escape_lines(&crate::error::one_line(e)).into_owned();
            warn(watch.failed(&ran, &line, crate::error::exit_code(e) as i32));
        }
    }
    result
}

/// An archive location from the command line (exit 2 when unusable).
pub fn location(given: &std::path::Path) -> Result<crate::storage::Location> {
    crate::storage::Location::parse(given).map_err(|e| UsageError(e.to_string()).into())
}

/// Open and validate an archive, local or on S3, decrypting it with
/// `--identity` when it is encrypted.
pub fn open_archive(
    given: &std::path::Path,
    key: &crate::cli::IdentityArgs,
    g: &Global,
) -> Result<crate::archive::ArchiveReader> {
    let loc = location(given)?;
    let access = access(key, g)?;
    Ok(crate::archive::ArchiveReader::open_at(&loc, &access)?)
}

/// The S3 settings and the identities of `--identity`.
pub fn access(
    key: &crate::cli::IdentityArgs,
    g: &Global,
) -> Result<crate::archive::reader::Access> {
    let identities = match &key.identity {
        Some(p) => Some(std::sync::Arc::new(
            crate::archive::crypt::Identities::load(p)?,
        )),
        None => None,
    };
    Ok(crate::archive::reader::Access {
        s3: g.s3.clone(),
        identities,
    })
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

pub use crate::restore::session::runtime;

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
        ..Default::default()
    }
}

/// `filter` with the schemas `s` covers (dump and copy).
pub fn with_schemas(mut filter: TableFilter, s: &SchemaArgs) -> TableFilter {
    let list = |v: &[String]| -> Vec<String> {
        v.iter()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect()
    };
    filter.schemas = list(&s.schemas);
    filter.exclude_schemas = list(&s.exclude_schemas);
    filter
}
