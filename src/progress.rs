//! Progress: indicatif bars per table on a terminal, timestamped log lines
//! otherwise, nothing with `--quiet`. Everything goes to stderr.

use crate::display::{escape, escape_lines};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Quiet,
    /// JSON lines (`--json=events`), on stdout unless `stderr`.
    Events {
        stderr: bool,
    },
}

impl Mode {
    /// Bars on a terminal, lines otherwise, nothing when quiet.
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

/// Counters for one table.
pub struct TableProgress {
    pub name: String,
    rows: AtomicU64,
    bytes: AtomicU64,
    bar: Option<ProgressBar>,
}

impl TableProgress {
    /// Count rows and (uncompressed) bytes done.
    pub fn add(&self, rows: u64, bytes: u64) {
        self.rows.fetch_add(rows, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.inc(rows);
            b.set_message(human_bytes(self.bytes.load(Ordering::Relaxed)));
        }
    }

    pub fn rows(&self) -> u64 {
        self.rows.load(Ordering::Relaxed)
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// Progress of one command over many tables.
pub struct Progress {
    mode: Mode,
    verb: &'static str,
    multi: Option<MultiProgress>,
    tables: Vec<Arc<TableProgress>>,
    start: Instant,
    stop: Arc<AtomicBool>,
    ticker: Mutex<Option<JoinHandle<()>>>,
}

impl Progress {
    /// Track `tables` (name, expected rows) for a command named `verb`.
    pub fn new(mode: Mode, verb: &'static str, tables: &[(String, Option<u64>)]) -> Arc<Self> {
        let multi = (mode == Mode::Bars)
            .then(|| MultiProgress::with_draw_target(ProgressDrawTarget::stderr_with_hz(4)));
        let style = ProgressStyle::with_template(
            "{prefix:>24.bold} [{bar:28}] {human_pos:>10}/{human_len:<10} rows {msg:>10} {elapsed:>4} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        let tables: Vec<Arc<TableProgress>> = tables
            .iter()
            .map(|(name, expected)| {
                let bar = multi.as_ref().map(|m| {
                    let b = m.add(ProgressBar::new(expected.unwrap_or(0)));
                    b.set_style(style.clone());
                    b.set_prefix(truncate(&escape(name), 24));
                    b
                });
                Arc::new(TableProgress {
                    name: name.clone(),
                    rows: AtomicU64::new(0),
                    bytes: AtomicU64::new(0),
                    bar,
                })
            })
            .collect();
        let p = Arc::new(Progress {
            mode,
            verb,
            multi,
            tables,
            start: Instant::now(),
            stop: Arc::new(AtomicBool::new(false)),
            ticker: Mutex::new(None),
        });
        p.event(&serde_json::json!({"event": "start", "command": verb, "tables": p.tables.len()}));
        if matches!(mode, Mode::Lines | Mode::Events { .. }) {
            let weak = Arc::downgrade(&p);
            let stop = Arc::clone(&p.stop);
            let every = std::env::var("HAUL_PROGRESS_SECONDS")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(10u64);
            let handle = std::thread::spawn(move || {
                let mut last = Instant::now();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::park_timeout(Duration::from_millis(500));
                    if last.elapsed() >= Duration::from_secs(every) {
                        last = Instant::now();
                        match weak.upgrade() {
                            Some(p) => p.line_summary(),
                            None => return,
                        }
                    }
                }
            });
            if let Ok(mut t) = p.ticker.lock() {
                *t = Some(handle);
            }
        }
        p
    }

    pub fn table(&self, i: usize) -> Arc<TableProgress> {
        Arc::clone(&self.tables[i])
    }

    /// One JSON line, in events mode.
    fn event(&self, v: &serde_json::Value) {
        match self.mode {
            Mode::Events { stderr: true } => eprintln!("{v}"),
            Mode::Events { stderr: false } => println!("{v}"),
            _ => {}
        }
    }

    fn line_summary(&self) {
        let rows: u64 = self.tables.iter().map(|t| t.rows()).sum();
        let bytes: u64 = self.tables.iter().map(|t| t.bytes()).sum();
        let secs = self.start.elapsed().as_secs_f64();
        if let Mode::Events { .. } = self.mode {
            self.event(&serde_json::json!({
                "event": "progress", "command": self.verb, "rows": rows, "bytes": bytes, "seconds": secs,
            }));
            return;
        }
        log_line(&format!(
            "{}: {} rows, {} in {:.0}s ({}/s)",
            self.verb,
            rows,
            human_bytes(bytes),
            secs,
            human_bytes((bytes as f64 / secs.max(0.001)) as u64)
        ));
    }

    /// A table is complete.
    pub fn table_done(&self, i: usize) {
        let t = &self.tables[i];
        match self.mode {
            Mode::Bars => {
                if let Some(b) = &t.bar {
                    b.set_length(t.rows());
                    b.finish();
                }
            }
            Mode::Lines => log_line(&format!(
                "{}: table {} done: {} rows, {}",
                self.verb,
                t.name,
                t.rows(),
                human_bytes(t.bytes())
            )),
            Mode::Events { .. } => self.event(&serde_json::json!({
                "event": "table_done", "command": self.verb, "table": t.name,
                "rows": t.rows(), "bytes": t.bytes(),
            })),
            Mode::Quiet => {}
        }
    }

    /// A table that is left as it is (its bar closes; the reason is said).
    pub fn table_skipped(&self, i: usize, why: &str) {
        let t = &self.tables[i];
        if let Some(b) = &t.bar {
            b.set_length(0);
            b.finish_with_message("kept");
        }
        self.note(&format!("{}: table {} {why}", self.verb, t.name));
    }

    /// A message for the user, above the bars.
    pub fn note(&self, msg: &str) {
        match (self.mode, &self.multi) {
            (Mode::Quiet, _) => {}
            (Mode::Events { .. }, _) => self.event(&serde_json::json!({
                "event": "note", "command": self.verb, "message": msg,
            })),
            (Mode::Bars, Some(m)) => {
                let _ = m.println(format!("haul: {}", escape_lines(msg)));
            }
            _ => log_line(msg),
        }
    }

    /// The command this tracks (`restore`, `copy`, ...).
    pub fn verb(&self) -> &'static str {
        self.verb
    }

    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Stop the ticker and clear the bars.
    pub fn finish(&self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Ok(mut t) = self.ticker.lock() {
            if let Some(h) = t.take() {
                h.thread().unpark();
                let _ = h.join();
            }
        }
        if let Some(m) = &self.multi {
            let _ = m.clear();
        }
    }
}

/// A timestamped log line on stderr.
pub fn log_line(msg: &str) {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
    eprintln!("{now} haul {}", escape_lines(msg));
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Bytes in binary units (`1.5 MiB`).
pub fn human_bytes(b: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = b as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{b} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bytes() {
        assert_eq!(super::human_bytes(10), "10 B");
        assert_eq!(super::human_bytes(1536), "1.5 KiB");
        assert_eq!(super::human_bytes(3 << 30), "3.0 GiB");
    }
}
