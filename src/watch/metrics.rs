//! `--metrics-file FILE`: a Prometheus textfile, as node_exporter's
//! textfile collector reads it. Each run updates its own series, labelled
//! `command` and `database`, and keeps every other series in the file, so
//! one file serves several jobs. The file is replaced atomically (a
//! temporary file in the same directory, renamed over it) under a `flock`
//! on `.NAME.lock` beside it, so two jobs ending at once both count.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The families haul writes, with their help text.
pub const FAMILIES: &[(&str, &str)] = &[
    (
        "haul_last_run_timestamp_seconds",
        "When the last run of the command on the database ended (Unix time).",
    ),
    (
        "haul_last_success_timestamp_seconds",
        "When the last successful run (exit 0 or 8) ended (Unix time).",
    ),
    (
        "haul_last_duration_seconds",
        "How long the last run took.",
    ),
    (
        "haul_last_exit_code",
        "The last run's exit code: 0 success, 8 success with warnings, else a failure.",
    ),
    (
        "haul_last_rows",
        "Rows in the archive of the last successful dump or verify.",
    ),
    (
        "haul_last_bytes",
        "Bytes of the last successful run: the archive's compressed data (dump, verify), or the archives removed (prune).",
    ),
    (
        "haul_last_restore_duration_seconds",
        "How long the test restore of the last successful verify --restore-into took.",
    ),
];

/// A metrics file that could not be written.
#[derive(Debug, thiserror::Error)]
#[error("--metrics-file {path}: {what}: {source}")]
pub struct MetricsError {
    pub path: String,
    pub what: &'static str,
    #[source]
    pub source: std::io::Error,
}

/// One run's values.
#[derive(Debug, Clone)]
pub struct Update<'a> {
    pub command: &'a str,
    pub database: &'a str,
    pub ended: SystemTime,
    pub seconds: f64,
    pub exit_code: i32,
    /// Exit 0 or 8: the success series and the run's sizes are updated.
    pub success: bool,
    pub rows: Option<u64>,
    pub bytes: Option<u64>,
    pub restore_seconds: Option<f64>,
}

impl Update<'_> {
    /// The (family, value) pairs this run sets.
    fn values(&self) -> Vec<(&'static str, f64)> {
        let ended = self
            .ended
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| (d.as_millis() as f64) / 1000.0);
        let mut v = vec![
            ("haul_last_run_timestamp_seconds", ended),
            ("haul_last_duration_seconds", round3(self.seconds)),
            ("haul_last_exit_code", f64::from(self.exit_code)),
        ];
        if self.success {
            v.push(("haul_last_success_timestamp_seconds", ended));
            v.extend(self.rows.map(|r| ("haul_last_rows", r as f64)));
            v.extend(self.bytes.map(|b| ("haul_last_bytes", b as f64)));
            v.extend(
                self.restore_seconds
                    .map(|s| ("haul_last_restore_duration_seconds", round3(s))),
            );
        }
        v
    }
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// A sample line: its metric name, labels, and the rest (value and
/// optional timestamp) as written.
#[derive(Debug, Clone, PartialEq)]
struct Sample {
    name: String,
    labels: Vec<(String, String)>,
    rest: String,
}

/// A metric family: its comments and samples, in file order.
#[derive(Debug, Default)]
struct Family {
    help: Option<String>,
    kind: Option<String>,
    samples: Vec<Sample>,
}

/// The file's families in order.
#[derive(Debug, Default)]
struct Text {
    order: Vec<String>,
    families: BTreeMap<String, Family>,
}

impl Text {
    fn family(&mut self, name: &str) -> &mut Family {
        if !self.families.contains_key(name) {
            self.order.push(name.to_string());
        }
        self.families.entry(name.to_string()).or_default()
    }

    /// Parse a textfile; lines that are neither comments nor samples are
    /// left out, each named in the notes.
    fn parse(text: &str, notes: &mut Vec<String>) -> Text {
        let mut t = Text::default();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            if let Some(c) = line.strip_prefix('#') {
                let mut words = c.trim_start().splitn(3, ' ');
                match (words.next(), words.next(), words.next()) {
                    (Some("HELP"), Some(name), help) => {
                        t.family(name).help = Some(help.unwrap_or("").to_string())
                    }
                    (Some("TYPE"), Some(name), Some(kind)) => {
                        t.family(name).kind = Some(kind.trim().to_string())
                    }
                    _ => {}
                }
                continue;
            }
            match parse_sample(line) {
                Some(s) => {
                    let family = t.family_of(&s.name);
                    t.family(&family).samples.push(s);
                }
                None => notes.push(format!(
                    "line {} is not a Prometheus sample; left out",
                    i + 1
                )),
            }
        }
        t
    }

    /// The family a sample belongs to: its own name, or a histogram's or
    /// summary's for `_bucket`, `_sum` and `_count` samples.
    fn family_of(&self, sample: &str) -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(base) = sample.strip_suffix(suffix) {
                if let Some(f) = self.families.get(base) {
                    if matches!(f.kind.as_deref(), Some("histogram" | "summary")) {
                        return base.to_string();
                    }
                }
            }
        }
        sample.to_string()
    }

    /// Set `name{labels}` to `value`, in place or at the end of its family.
    fn set(&mut self, name: &str, help: &str, labels: &[(String, String)], value: f64) {
        let f = self.family(name);
        f.help = Some(help.to_string());
        f.kind = Some("gauge".to_string());
        let sample = Sample {
            name: name.to_string(),
            labels: labels.to_vec(),
            rest: number(value),
        };
        match f
            .samples
            .iter_mut()
            .find(|s| same_labels(&s.labels, labels))
        {
            Some(s) => *s = sample,
            None => f.samples.push(sample),
        }
    }

    fn render(&self) -> String {
        let mut out = String::new();
        for name in &self.order {
            let Some(f) = self.families.get(name) else {
                continue;
            };
            if f.samples.is_empty() {
                continue;
            }
            if let Some(h) = &f.help {
                out.push_str(&format!("# HELP {name} {h}\n"));
            }
            if let Some(k) = &f.kind {
                out.push_str(&format!("# TYPE {name} {k}\n"));
            }
            for s in &f.samples {
                out.push_str(&s.name);
                if !s.labels.is_empty() {
                    let labels: Vec<String> = s
                        .labels
                        .iter()
                        .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                        .collect();
                    out.push_str(&format!("{{{}}}", labels.join(",")));
                }
                out.push(' ');
                out.push_str(&s.rest);
                out.push('\n');
            }
        }
        out
    }
}

fn same_labels(a: &[(String, String)], b: &[(String, String)]) -> bool {
    let mut a = a.to_vec();
    let mut b = b.to_vec();
    a.sort();
    b.sort();
    a == b
}

/// A value as Prometheus reads it: integers without a fraction.
fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

/// A label value's escapes: backslash, double quote, newline.
fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

/// `name{k="v",...} value [timestamp]`, or `None`.
fn parse_sample(line: &str) -> Option<Sample> {
    let name_end = line.find(|c: char| c == '{' || c.is_whitespace())?;
    let name = &line[..name_end];
    if !is_name(name) {
        return None;
    }
    let mut rest = &line[name_end..];
    let mut labels = Vec::new();
    if let Some(mut body) = rest.strip_prefix('{') {
        loop {
            body = body.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
            if let Some(after) = body.strip_prefix('}') {
                rest = after;
                break;
            }
            let (key, after) = body.split_once('=')?;
            let key = key.trim();
            if !is_name(key) {
                return None;
            }
            let mut chars = after.trim_start().strip_prefix('"')?.char_indices();
            let quoted = after.trim_start().len() - 1;
            let mut value = String::new();
            let end = loop {
                match chars.next()? {
                    (i, '"') => break i,
                    (_, '\\') => match chars.next()?.1 {
                        'n' => value.push('\n'),
                        other => value.push(other),
                    },
                    (_, other) => value.push(other),
                }
            };
            labels.push((key.to_string(), value));
            body = &after[after.len() - quoted + end + 1..];
        }
    }
    let rest = rest.trim();
    let mut words = rest.split_whitespace();
    let value = words.next()?;
    let ok = value.parse::<f64>().is_ok() || matches!(value, "+Inf" | "-Inf" | "NaN");
    let stamp_ok = match words.next() {
        None => true,
        Some(t) => t.parse::<i64>().is_ok() && words.next().is_none(),
    };
    (ok && stamp_ok).then(|| Sample {
        name: name.to_string(),
        labels,
        rest: rest.to_string(),
    })
}

/// Held while a run reads, updates and replaces the file.
struct FileLock {
    _file: std::fs::File,
}

fn lock(path: &Path) -> std::io::Result<FileLock> {
    let f = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
        .mode(0o644)
        .open(path)?;
    // SAFETY: flock on a file descriptor we own; blocks until the other
    // run has replaced the file.
    if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(FileLock { _file: f })
}

/// `DIR/.NAME{suffix}`: a file beside the metrics file that node_exporter
/// (which reads `*.prom`) never reads.
fn beside(path: &Path, suffix: &str) -> PathBuf {
    let mut name = std::ffi::OsString::from(".");
    name.push(path.file_name().unwrap_or_default());
    name.push(suffix);
    path.with_file_name(name)
}

/// Update the file at `path` with one run's values; the notes name lines
/// of the old file that were left out.
pub fn update(path: &Path, u: &Update) -> Result<Vec<String>, MetricsError> {
    let err = |what: &'static str| {
        let path = path.display().to_string();
        move |source| MetricsError { path, what, source }
    };
    let _lock = lock(&beside(path, ".lock")).map_err(err("cannot lock it"))?;
    let old = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(err("cannot read it")(e)),
    };
    let mut notes = Vec::new();
    let mut text = Text::parse(&old, &mut notes);
    let labels = [
        ("command".to_string(), u.command.to_string()),
        ("database".to_string(), u.database.to_string()),
    ];
    let values = u.values();
    for (name, help) in FAMILIES {
        if let Some((_, v)) = values.iter().find(|(n, _)| n == name) {
            text.set(name, help, &labels, *v);
        }
    }
    let tmp = beside(path, &format!(".tmp-{}", std::process::id()));
    let written = (|| {
        let mut f = std::fs::File::options()
            .write(true)
            .create(true)
            .truncate(true)
            .custom_flags(libc::O_NOFOLLOW)
            .mode(0o644)
            .open(&tmp)?;
        f.write_all(text.render().as_bytes())?;
        f.set_permissions(std::fs::Permissions::from_mode(0o644))?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(err("cannot write it")(e));
    }
    Ok(notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: &'static str, database: &'static str, code: i32) -> Update<'static> {
        Update {
            command,
            database,
            ended: UNIX_EPOCH + std::time::Duration::from_millis(1_764_000_000_250),
            seconds: 1.23456,
            exit_code: code,
            success: code == 0 || code == 8,
            rows: Some(412),
            bytes: Some(9000),
            restore_seconds: None,
        }
    }

    #[test]
    fn keeps_other_series_and_updates_its_own() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("haul.prom");
        update(&f, &run("dump", "app", 0)).unwrap();
        update(&f, &run("dump", "wiki \"x\"\n", 0)).unwrap();
        let mut failed = run("dump", "app", 3);
        failed.ended += std::time::Duration::from_secs(86_400);
        update(&f, &failed).unwrap();
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(text.contains(
            "haul_last_success_timestamp_seconds{command=\"dump\",database=\"app\"} 1764000000.25\n"
        ), "{text}");
        assert!(text.contains(
            "haul_last_run_timestamp_seconds{command=\"dump\",database=\"app\"} 1764086400.25\n"
        ), "{text}");
        assert!(text.contains("haul_last_exit_code{command=\"dump\",database=\"app\"} 3\n"));
        assert!(
            text.contains(
                "haul_last_exit_code{command=\"dump\",database=\"wiki \\\"x\\\"\\n\"} 0\n"
            ),
            "{text}"
        );
        assert!(
            text.contains("haul_last_duration_seconds{command=\"dump\",database=\"app\"} 1.235\n")
        );
        assert_eq!(text.matches("# TYPE haul_last_rows gauge").count(), 1);
        // Read back exactly as written.
        let mut notes = Vec::new();
        let again = Text::parse(&text, &mut notes);
        assert!(notes.is_empty(), "{notes:?}");
        assert_eq!(again.render(), text);
        // Nothing beside it but the lock.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn other_families_stay_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.prom");
        std::fs::write(
            &f,
            "# HELP other_total Something else.\n# TYPE other_total counter\nother_total{a=\"1\"} 5 1700000000000\n\
             # TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 3\nlat_sum 1.5\nlat_count 3\nthis is not a sample\n",
        )
        .unwrap();
        let notes = update(&f, &run("prune", "app", 0)).unwrap();
        assert_eq!(notes, ["line 8 is not a Prometheus sample; left out"]);
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            text.contains("# TYPE other_total counter\nother_total{a=\"1\"} 5 1700000000000\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE lat histogram\nlat_bucket{le=\"+Inf\"} 3\nlat_sum 1.5\nlat_count 3\n"
            ),
            "{text}"
        );
        assert!(!text.contains("not a sample"));
    }

    #[test]
    fn samples_parse() {
        let s = parse_sample(r#"a_b:c{x="1",y="q\"\\z", } 2.5e3"#).unwrap();
        assert_eq!(s.name, "a_b:c");
        assert_eq!(
            s.labels,
            [("x".into(), "1".into()), ("y".into(), "q\"\\z".into())]
        );
        assert_eq!(s.rest, "2.5e3");
        assert!(parse_sample("x 1 2 3").is_none());
        assert!(parse_sample("x{y=1} 1").is_none());
        assert!(parse_sample("1x 1").is_none());
        assert!(parse_sample("x{y=\"1\"").is_none());
        assert!(parse_sample("x NaN").is_some());
    }
}
