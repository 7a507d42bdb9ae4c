//! Command-line interface. The doc comments here are the help text.

pub mod config;
pub mod merge;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Move relational databases: consistent dumps into one archive, restores
/// into new servers.
///
/// Connection URLs: postgres://user:pass@host:port/db, mysql://…,
/// sqlite:///abs/path.db or sqlite://rel/path.db. A password in a URL is
/// visible to other local users (ps); without one, it comes from
/// --password-file, PGPASSWORD / MYSQL_PWD, ~/.pgpass (PGPASSFILE) or the
/// [client] section of ~/.my.cnf. Passwords are never printed.
///
/// Archives and backup directories may be s3://BUCKET/KEY (any S3-compatible
/// store): AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION,
/// AWS_ENDPOINT_URL and AWS_ALLOW_HTTP=true configure it, or the config
/// file's [s3] table.
#[derive(Debug, Parser)]
#[command(name = "haul", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// Show the whole chain of causes when something fails.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// No progress output.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// Print the result as one JSON object on stdout; `--json=events` also
    /// prints progress as JSON lines before it (for schedulers).
    #[arg(
        long,
        global = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "summary",
        value_name = "summary|events"
    )]
    pub json: Option<JsonMode>,
    /// Config file: named connections (@name) and defaults for dump,
    /// restore, prune and verify (flags and HAUL_* variables win).
    #[arg(long, global = true, env = "HAUL_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Read the password of every connection whose URL has none from the
    /// first line of FILE (before PGPASSWORD / MYSQL_PWD, ~/.pgpass,
    /// ~/.my.cnf).
    #[arg(long, global = true, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

/// What `--json` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JsonMode {
    /// One summary object at the end.
    Summary,
    /// JSON lines: progress events, then the summary object.
    Events,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Dump a database (or chosen tables) into one archive file.
    Dump(DumpArgs),
    /// Replay an archive into a target database.
    Restore(RestoreArgs),
    /// Show what a restore would do, without writing anything.
    Plan(RestoreArgs),
    /// Copy a live database into another (any engine to any engine),
    /// streaming rows with no archive on disk.
    Copy(CopyArgs),
    /// Show what an archive holds.
    Inspect(InspectArgs),
    /// Check every chunk of an archive; optionally compare with a live database.
    Verify(VerifyArgs),
    /// Remove old archives from a backup directory by a retention policy.
    Prune(PruneArgs),
}

/// Retention (restic's semantics: a snapshot kept by any rule stays).
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Directory of archives (as written by `haul dump --into`), or
    /// s3://BUCKET/PREFIX/.
    pub dir: PathBuf,
    #[command(flatten)]
    pub key: IdentityArgs,
    /// Keep the N newest archives.
    #[arg(long, default_value_t = 0, value_name = "N", env = "HAUL_KEEP_LAST")]
    pub keep_last: usize,
    /// Keep the newest archive of each of the last N hours that have one.
    #[arg(long, default_value_t = 0, value_name = "N", env = "HAUL_KEEP_HOURLY")]
    pub keep_hourly: usize,
    /// Keep the newest archive of each of the last N days that have one.
    #[arg(long, default_value_t = 0, value_name = "N", env = "HAUL_KEEP_DAILY")]
    pub keep_daily: usize,
    /// Keep the newest archive of each of the last N ISO weeks that have one.
    #[arg(long, default_value_t = 0, value_name = "N", env = "HAUL_KEEP_WEEKLY")]
    pub keep_weekly: usize,
    /// Keep the newest archive of each of the last N months that have one.
    #[arg(long, default_value_t = 0, value_name = "N", env = "HAUL_KEEP_MONTHLY")]
    pub keep_monthly: usize,
    /// Keep the newest archive of each of the last N years that have one.
    #[arg(long, default_value_t = 0, value_name = "N", env = "HAUL_KEEP_YEARLY")]
    pub keep_yearly: usize,
    /// Keep every archive within this long of the newest (e.g. 2d12h).
    #[arg(long, value_name = "DURATION", env = "HAUL_KEEP_WITHIN")]
    pub keep_within: Option<humantime::Duration>,
    /// Show what would be kept and removed, and why; remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Count complete archives without checking their chunks' checksums
    /// (faster on large backups; by default every chunk is checked).
    #[arg(long)]
    pub no_verify: bool,
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// What a scheduled run reports besides its exit code (docs/upgrades.md).
#[derive(Debug, Args, Clone, Default)]
pub struct WatchArgs {
    /// Ping URL when the run starts (URL/start), succeeds (URL) and fails
    /// (URL/fail), as healthchecks.io takes them: a POST whose body is the
    /// summary or error line. A ping that fails is a warning (exit 8 if the
    /// run succeeded). Repeatable.
    #[arg(long, value_name = "URL")]
    pub notify: Vec<String>,
    /// Run CMD with sh -c when the run fails, with HAUL_ERROR (the error
    /// line), HAUL_COMMAND and HAUL_EXIT_CODE in its environment.
    #[arg(long, value_name = "CMD")]
    pub on_failure: Option<String>,
    /// Update this Prometheus textfile (node_exporter's textfile collector)
    /// with the run's time, duration, size, rows and exit code, labelled by
    /// command and database; other series in it are kept.
    #[arg(long, value_name = "FILE")]
    pub metrics_file: Option<PathBuf>,
}

/// The key that opens encrypted archives.
#[derive(Debug, Args, Clone, Default)]
pub struct IdentityArgs {
    /// age identity file (AGE-SECRET-KEY-1... lines, as age-keygen writes)
    /// or unencrypted SSH private key, for archives encrypted with
    /// --recipient.
    #[arg(long, value_name = "FILE", env = "HAUL_IDENTITY")]
    pub identity: Option<PathBuf>,
}

/// Which tables to work on.
#[derive(Debug, Args, Clone, Default)]
pub struct TableArgs {
    /// Only these tables (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "T1,T2")]
    pub tables: Vec<String>,
    /// Leave out these tables (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "T1,T2")]
    pub exclude_tables: Vec<String>,
}

/// Which PostgreSQL schemas a dump or copy reads (default: every user schema).
#[derive(Debug, Args, Clone, Default)]
pub struct SchemaArgs {
    /// Only these schemas (comma-separated; PostgreSQL sources).
    #[arg(long, value_delimiter = ',', value_name = "S1,S2")]
    pub schemas: Vec<String>,
    /// Leave out these schemas (comma-separated; PostgreSQL sources).
    #[arg(long, value_delimiter = ',', value_name = "S1,S2")]
    pub exclude_schemas: Vec<String>,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Database to dump (connection URL, or @name from the config file).
    pub source: String,
    /// Archive file to write, or s3://BUCKET/KEY; `-` writes to stdout.
    #[arg(short, long, value_name = "FILE", conflicts_with = "into")]
    pub output: Option<PathBuf>,
    /// Write a new, timestamped archive into this directory (or
    /// s3://BUCKET/PREFIX/) instead, never over another (for scheduled
    /// backups; see `haul prune`).
    #[arg(long, value_name = "DIR")]
    pub into: Option<PathBuf>,
    /// Encrypt the archive with age to this public key (age1...,
    /// ssh-ed25519 ..., ssh-rsa ...). Repeatable.
    #[arg(short, long, value_name = "RECIPIENT")]
    pub recipient: Vec<String>,
    /// Encrypt to every public key in FILE (one a line, # comments), as
    /// age -R. Repeatable.
    #[arg(short = 'R', long, value_name = "FILE")]
    pub recipients_file: Vec<PathBuf>,
    /// File name pattern for --into: {database}, {engine}, {timestamp}
    /// (UTC, e.g. 20261122T164000Z).
    #[arg(long, default_value = "{database}-{timestamp}.haul")]
    pub name: String,
    #[command(flatten)]
    pub tables: TableArgs,
    #[command(flatten)]
    pub schemas: SchemaArgs,
    /// Parallel workers (default: number of cores).
    #[arg(short, long, env = "HAUL_JOBS")]
    pub jobs: Option<usize>,
    /// Uncompressed size at which a chunk is cut (e.g. 4MiB).
    #[arg(long, default_value = "4MiB", value_parser = parse_size)]
    pub chunk_size: usize,
    /// zstd compression level (1-19).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(i32).range(1..=19))]
    pub level: i32,
    #[command(flatten)]
    pub watch: WatchArgs,
}

#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Archive file (or s3://BUCKET/KEY) to restore.
    #[arg(required_unless_present = "list_profiles")]
    pub archive: Option<PathBuf>,
    #[command(flatten)]
    pub key: IdentityArgs,
    /// Target database (connection URL, or @name from the config file);
    /// SQLite files are created if missing.
    #[arg(required_unless_present = "list_profiles")]
    pub target: Option<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    /// List the shipped profiles and exit.
    #[arg(long)]
    pub list_profiles: bool,
}

/// Copy a live database into another, with no archive in between.
#[derive(Debug, Args)]
pub struct CopyArgs {
    /// Source database (connection URL, or @name from the config file).
    pub source: String,
    /// Target database (connection URL, or @name from the config file);
    /// SQLite files are created if missing.
    pub target: String,
    #[command(flatten)]
    pub schemas: SchemaArgs,
    /// Uncompressed size at which a chunk is cut (e.g. 4MiB).
    #[arg(long, default_value = "4MiB", value_parser = parse_size)]
    pub chunk_size: usize,
    /// Print the plan (tables, type mapping, what gets relaxed) and write
    /// nothing, as `haul plan` does for an archive.
    #[arg(long)]
    pub dry_run: bool,
    #[command(flatten)]
    pub load: LoadArgs,
}

/// How rows are loaded into a target (restore, plan and copy).
#[derive(Debug, Args)]
pub struct LoadArgs {
    #[command(flatten)]
    pub tables: TableArgs,
    /// Parallel workers (default: number of cores).
    #[arg(short, long, env = "HAUL_JOBS")]
    pub jobs: Option<usize>,
    /// Drop the archive's tables from the target first, if they exist.
    #[arg(long)]
    pub clean: bool,
    /// Fill a target column the archive lacks (or has NULL/empty):
    /// TABLE.COLUMN=EXPR, EXPR one of sha256_hex(col), sha1_hex(col),
    /// md5_hex(col), lower(col), upper(col), uuid(), now(), 'literal', a
    /// number, or another column. Repeatable.
    #[arg(long, value_name = "TABLE.COLUMN=EXPR")]
    pub backfill: Vec<String>,
    /// Rules for a known app (see --list-profiles), e.g. gogs.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,
    /// Rules from a TOML file (docs/restore.md describes the format).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Archive columns the target lacks that may be left out: TABLE.COLUMN,...
    #[arg(long, value_delimiter = ',', value_name = "T.C")]
    pub drop_columns: Vec<String>,
    /// Restore even where a target column's type changes values silently
    /// (fewer decimal places, single precision, dropped UTC offsets).
    #[arg(long)]
    pub allow_lossy: bool,
    /// Restore an app's data into an older schema version of that app than
    /// the archive's (refused by default).
    #[arg(long)]
    pub allow_downgrade: bool,
    /// Load the archive's rows into an app's schema-version table (Django's
    /// django_migrations, Laravel's migrations, ...) that already has rows
    /// in the target. By default the target's are kept: they describe the
    /// schema the target has.
    #[arg(long)]
    pub load_markers: bool,
    /// Finish a restore that stopped: killed at any phase, or stopped by
    /// duplicate keys (exit 7). The plan comes from the journal in the
    /// target; only the chunks not yet loaded are loaded.
    #[arg(long, conflicts_with = "abandon")]
    pub resume: bool,
    /// Give up a restore that stopped and put the target back as it was:
    /// drop the tables it created, empty the ones it loaded, reapply what it
    /// relaxed, and remove its journal.
    #[arg(long)]
    pub abandon: bool,
    /// Rows whose unique or primary key matches a row already in the target:
    /// fail (stop before reapplying constraints and list them),
    /// keep-existing (the target's row stays, the archive's is rejected) or
    /// keep-archived (the archive's row replaces the target's). Rejected
    /// rows are written to the --rejects archive.
    #[arg(long, value_enum, default_value_t = OnDuplicate::Fail)]
    pub on_duplicate: OnDuplicate,
    /// Leave planner statistics to the server's autovacuum instead of
    /// analyzing each table once it is loaded (as pg_restore does).
    #[arg(long)]
    pub no_analyze: bool,
    /// Where rejected rows go (an archive like any other; default
    /// haul-rejects-TIMESTAMP.haul in the current directory).
    #[arg(long, value_name = "FILE")]
    pub rejects: Option<PathBuf>,
    /// MySQL zero dates (`0000-00-00`) restored into PostgreSQL: `null`
    /// loads NULL and reports a warning per column (exit 8), `error` fails.
    #[arg(long, value_enum, default_value = "null", value_name = "POLICY")]
    pub zero_dates: ZeroDatesArg,
    /// For archives of unknown origin: restore data, tables, keys and
    /// indexes only. No views, functions, triggers, checks or generated
    /// columns, and defaults only where they are plain values (each left
    /// out is a warning, exit 8). docs/security.md says why.
    #[arg(long)]
    pub no_code: bool,
    /// MySQL views, routines, triggers and events keep the DEFINER they had
    /// in the source (the restoring user needs the privilege to name
    /// another). By default the restoring user becomes their definer, and
    /// each one whose definer changes is a warning (exit 8).
    #[arg(long)]
    pub keep_definers: bool,
    /// Do not give objects their owners (as pg_restore's --no-owner): they
    /// belong to the restoring user.
    #[arg(long)]
    pub no_owner: bool,
    /// Leave out GRANT and REVOKE (as pg_restore's --no-privileges).
    #[arg(long)]
    pub no_privileges: bool,
    /// Create the roles the archive's owners, grants and policies name
    /// that the target lacks, with their recorded attributes (LOGIN,
    /// CREATEDB, memberships...), never a password or SUPERUSER. Without
    /// it, what names a missing role is left out with a warning.
    #[arg(long)]
    pub create_roles: bool,
}

/// What zero dates become where they cannot be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ZeroDatesArg {
    Null,
    Error,
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Archive file, or s3://BUCKET/KEY.
    pub archive: PathBuf,
    #[command(flatten)]
    pub key: IdentityArgs,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Archive file, or s3://BUCKET/KEY; a backup directory or
    /// s3://BUCKET/PREFIX/ verifies the archive written there last.
    pub archive: PathBuf,
    #[command(flatten)]
    pub key: IdentityArgs,
    /// Also compare row counts and content with this live database.
    #[arg(long, value_name = "URL", conflicts_with = "restore_into")]
    pub against: Option<String>,
    /// Test restore: create this database (it must not exist; `sqlite:`
    /// alone for a temporary file), restore the archive into it, compare
    /// it as --against does, and drop it, also when something fails.
    #[arg(long, value_name = "URL")]
    pub restore_into: Option<String>,
    /// Parallel workers (default: number of cores).
    #[arg(short, long, env = "HAUL_JOBS")]
    pub jobs: Option<usize>,
    #[command(flatten)]
    pub watch: WatchArgs,
}

/// Parse sizes like `8MiB`, `512k`, `1G`, `1000000`.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: usize = num.parse().map_err(|_| format!("not a size: {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        u => return Err(format!("unknown unit {u:?}")),
    };
    let v = n.checked_mul(mult).ok_or("too large")?;
    if !(64 << 10..=(512 << 20)).contains(&v) {
        return Err("chunk size must be between 64KiB and 512MiB".into());
    }
    Ok(v)
}

/// `--on-duplicate`: how rows whose key matches a target row are resolved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OnDuplicate {
    /// Stop before reapplying constraints and list the groups.
    Fail,
    /// The target's row stays; the archive's goes to the rejects archive.
    KeepExisting,
    /// The archive's row replaces the target's, which goes to the rejects
    /// archive.
    KeepArchived,
}

impl From<OnDuplicate> for crate::restore::Policy {
    fn from(o: OnDuplicate) -> Self {
        match o {
            OnDuplicate::Fail => Self::Fail,
            OnDuplicate::KeepExisting => Self::KeepExisting,
            OnDuplicate::KeepArchived => Self::KeepArchived,
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes() {
        assert_eq!(super::parse_size("8MiB").unwrap(), 8 << 20);
        assert_eq!(super::parse_size("512k").unwrap(), 512 << 10);
        assert!(super::parse_size("1").is_err());
        assert!(super::parse_size("x").is_err());
    }

    #[test]
    fn cli_is_consistent() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
