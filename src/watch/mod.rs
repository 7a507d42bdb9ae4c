//! A watched run: what a scheduled `dump`, `verify` or `prune` reports
//! besides its exit code. Pings to health-check URLs at its start, success
//! and failure (`notify`), a command run when it fails (`hook`), and a
//! Prometheus textfile (`metrics`). Each one's own failure is a warning:
//! it never turns a run that did its work into a failed one.

pub mod hook;
pub mod metrics;
pub mod notify;

use notify::{Endpoint, Notifier, NotifyUrlError, Ping};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

/// What a command learned about its run, for the reports.
#[derive(Debug, Default, Clone)]
pub struct Ran {
    /// The database the run was about (the metrics' `database` label).
    pub database: Option<String>,
    /// What it did, in one line (the success ping's body).
    pub summary: Option<String>,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
    /// `verify --restore-into`: how long the test restore took.
    pub restore_seconds: Option<f64>,
}

/// The reports one run makes.
pub struct Watch {
    command: &'static str,
    notifier: Notifier,
    on_failure: Option<String>,
    metrics: Option<PathBuf>,
    started: Instant,
}

impl Watch {
    /// Check the `--notify` URLs; the clock starts now.
    pub fn new(
        command: &'static str,
        notify: &[String],
        on_failure: Option<String>,
        metrics: Option<PathBuf>,
    ) -> Result<Watch, NotifyUrlError> {
        let endpoints = notify
            .iter()
            .map(|u| Endpoint::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Watch {
            command,
            notifier: Notifier::new(endpoints),
            on_failure: on_failure.filter(|c| !c.trim().is_empty()),
            metrics,
            started: Instant::now(),
        })
    }

    /// The start ping; warnings for pings that failed.
    pub fn start(&self) -> Vec<String> {
        self.notifier
            .ping(Ping::Start, &format!("haul {} started", self.command))
    }

    /// The success ping, then the metrics (with exit 8 when `warned` or a
    /// ping failed); warnings for what failed.
    pub fn succeeded(&self, ran: &Ran, warned: bool) -> Vec<String> {
        let summary = ran
            .summary
            .clone()
            .unwrap_or_else(|| format!("haul {} succeeded", self.command));
        let mut warnings = self.notifier.ping(Ping::Success, &summary);
        let code = if warned || !warnings.is_empty() { 8 } else { 0 };
        warnings.extend(self.metrics(ran, code));
        warnings
    }

    /// The failure ping with `error` (the line haul prints), the
    /// `--on-failure` command, then the metrics; warnings for what failed.
    pub fn failed(&self, ran: &Ran, error: &str, code: i32) -> Vec<String> {
        let mut warnings = self.notifier.ping(Ping::Fail, error);
        if let Some(cmd) = &self.on_failure {
            warnings.extend(hook::on_failure(cmd, self.command, error, code));
        }
        warnings.extend(self.metrics(ran, code));
        warnings
    }

    fn metrics(&self, ran: &Ran, code: i32) -> Vec<String> {
        let Some(path) = &self.metrics else {
            return Vec::new();
        };
        let u = metrics::Update {
            command: self.command,
            database: ran.database.as_deref().unwrap_or(""),
            ended: SystemTime::now(),
            seconds: self.started.elapsed().as_secs_f64(),
            exit_code: code,
            success: code == 0 || code == 8,
            rows: ran.rows,
            bytes: ran.bytes,
            restore_seconds: ran.restore_seconds,
        };
        match metrics::update(path, &u) {
            Ok(notes) => notes
                .into_iter()
                .map(|n| format!("--metrics-file {}: {n}", path.display()))
                .collect(),
            Err(e) => vec![e.to_string()],
        }
    }
}
