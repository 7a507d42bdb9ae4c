//! Health-check pings, in the healthchecks.io convention: `URL/start` when a
//! run starts, `URL` when it succeeds, `URL/fail` when it fails, each a POST
//! whose body is one line (the summary, or the error). A ping that cannot be
//! delivered is tried twice more, then reported; it never fails the run.

use std::time::Duration;

/// How long one attempt may take.
const TIMEOUT: Duration = Duration::from_secs(10);
/// Pauses before the second and third attempts.
const RETRY_AFTER: [Duration; 2] = [Duration::from_secs(1), Duration::from_secs(2)];
/// The longest body sent (healthchecks.io keeps 100 KB).
const MAX_BODY: usize = 10_000;

/// Which moment of a run a ping reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ping {
    Start,
    Success,
    Fail,
}

/// A `--notify` URL too malformed to ping.
#[derive(Debug, thiserror::Error)]
#[error("--notify {shown}: {reason}")]
pub struct NotifyUrlError {
    pub shown: String,
    pub reason: String,
}

/// One URL to ping.
#[derive(Clone)]
pub struct Endpoint {
    url: reqwest::Url,
    /// Scheme, host and port only: the path of a ping URL is its key, and
    /// the user information a password.
    shown: String,
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Endpoint({})", self.shown)
    }
}

impl Endpoint {
    /// An `http://` or `https://` URL.
    pub fn parse(given: &str) -> Result<Endpoint, NotifyUrlError> {
        let err = |shown: String, reason: &str| NotifyUrlError {
            shown,
            reason: reason.into(),
        };
        let url = reqwest::Url::parse(given)
            .map_err(|e| err("(a URL that does not parse)".into(), &e.to_string()))?;
        let shown = shown(&url);
        if !matches!(url.scheme(), "http" | "https") {
            return Err(err(shown, "only http:// and https:// URLs are pinged"));
        }
        if url.cannot_be_a_base() || url.host_str().is_none() {
            return Err(err(shown, "no host"));
        }
        Ok(Endpoint { url, shown })
    }

    /// The URL as messages show it.
    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// The URL pinged for `ping`: `/start` and `/fail` appended to its path.
    pub fn url_for(&self, ping: Ping) -> reqwest::Url {
        let mut url = self.url.clone();
        let suffix = match ping {
            Ping::Start => "start",
            Ping::Success => return url,
            Ping::Fail => "fail",
        };
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().push(suffix);
        }
        url
    }
}

/// `scheme://host[:port]/…`: what may be printed of a ping URL.
fn shown(url: &reqwest::Url) -> String {
    let host = url.host_str().unwrap_or("");
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = if url.path().trim_matches('/').is_empty() && url.query().is_none() {
        ""
    } else {
        "/…"
    };
    format!("{}://{host}{port}{path}", url.scheme())
}

/// The endpoints of one run, pinged in turn.
pub struct Notifier {
    endpoints: Vec<Endpoint>,
}

impl Notifier {
    pub fn new(endpoints: Vec<Endpoint>) -> Notifier {
        Notifier { endpoints }
    }

    pub fn is_empty(&self) -> bool {
        self.endpoints.is_empty()
    }

    /// Ping every endpoint with `body`; one warning per endpoint that could
    /// not be reached or refused the ping.
    pub fn ping(&self, ping: Ping, body: &str) -> Vec<String> {
        if self.endpoints.is_empty() {
            return Vec::new();
        }
        let rt = match tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        {
            Ok(rt) => rt,
            Err(e) => return vec![format!("cannot ping the --notify URLs: {e}")],
        };
        let client = match reqwest::Client::builder()
            .timeout(TIMEOUT)
            .connect_timeout(TIMEOUT)
            .user_agent(concat!("haul/", env!("CARGO_PKG_VERSION")))
            .build()
        {
            Ok(c) => c,
            Err(e) => return vec![format!("cannot ping the --notify URLs: {}", describe(e))],
        };
        let body = truncate(body);
        let mut warnings = Vec::new();
        for e in &self.endpoints {
            if let Err(why) = rt.block_on(send(&client, e.url_for(ping), &body)) {
                let what = match ping {
                    Ping::Start => "start",
                    Ping::Success => "success",
                    Ping::Fail => "failure",
                };
                warnings.push(format!(
                    "--notify {}: the {what} ping failed: {why}",
                    e.shown
                ));
            }
        }
        warnings
    }
}

/// POST `body` to `url`, three attempts for a failure that may pass (no
/// answer, a 5xx or 429 answer).
async fn send(client: &reqwest::Client, url: reqwest::Url, body: &str) -> Result<(), String> {
    let mut attempt = 0;
    loop {
        let r = client
            .post(url.clone())
            .header("content-type", "text/plain; charset=utf-8")
            .body(body.to_string())
            .send()
            .await;
        let (why, again) = match r {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) => {
                let s = resp.status();
                (
                    format!("the server answered {s}"),
                    s.is_server_error() || s == reqwest::StatusCode::TOO_MANY_REQUESTS,
                )
            }
            Err(e) => (describe(e), true),
        };
        match RETRY_AFTER.get(attempt) {
            Some(pause) if again => tokio::time::sleep(*pause).await,
            _ => {
                return Err(if attempt > 0 {
                    format!("{why} ({} attempts)", attempt + 1)
                } else {
                    why
                })
            }
        }
        attempt += 1;
    }
}

/// A client error in one line, without the URL (it may hold a key).
fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        return format!("no answer within {} s", TIMEOUT.as_secs());
    }
    let e = e.without_url();
    let mut last: &dyn std::error::Error = &e;
    while let Some(c) = last.source() {
        last = c;
    }
    let inner = last.to_string();
    if e.is_connect() {
        format!("cannot connect: {inner}")
    } else {
        inner
    }
}

/// At most [`MAX_BODY`] bytes, cut at a character boundary.
fn truncate(body: &str) -> String {
    if body.len() <= MAX_BODY {
        return body.to_string();
    }
    let mut end = MAX_BODY;
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &body[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_for_each_ping_and_what_is_shown() {
        let e = Endpoint::parse("https://hc-ping.com/0f3c-uuid").unwrap();
        assert_eq!(e.shown(), "https://hc-ping.com/…");
        assert_eq!(
            e.url_for(Ping::Start).as_str(),
            "https://hc-ping.com/0f3c-uuid/start"
        );
        assert_eq!(
            e.url_for(Ping::Success).as_str(),
            "https://hc-ping.com/0f3c-uuid"
        );
        assert_eq!(
            e.url_for(Ping::Fail).as_str(),
            "https://hc-ping.com/0f3c-uuid/fail"
        );
        let e = Endpoint::parse("http://user:hunter2@127.0.0.1:8000/ping/abc/?x=1").unwrap();
        assert_eq!(e.shown(), "http://127.0.0.1:8000/…");
        assert_eq!(
            e.url_for(Ping::Fail).as_str(),
            "http://user:hunter2@127.0.0.1:8000/ping/abc/fail?x=1"
        );
        for bad in ["ftp://h/x", "hc-ping.com/x", "mailto:a@b"] {
            let err = Endpoint::parse(bad).unwrap_err().to_string();
            assert!(!err.contains("hunter2"), "{err}");
        }
        let err = Endpoint::parse("ftp://u:hunter2@h/x")
            .unwrap_err()
            .to_string();
        assert!(
            !err.contains("hunter2") && err.contains("ftp://h/…"),
            "{err}"
        );
    }

    #[test]
    fn long_bodies_are_cut_at_a_character() {
        let s = "é".repeat(MAX_BODY);
        let t = truncate(&s);
        assert!(t.len() <= MAX_BODY + "…".len());
        assert!(t.ends_with('…'));
        assert_eq!(truncate("short"), "short");
    }
}
