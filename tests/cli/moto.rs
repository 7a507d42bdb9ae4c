//! A real S3-compatible server for one test: moto's server (PyPI
//! `moto[server]`, which scripts/services.sh installs) on a free port of
//! 127.0.0.1, stopped when the test ends. The test reads the bucket with
//! curl, not with haul.

#![allow(dead_code)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The access key haul is given; moto accepts any until auth is on.
pub const KEY_ID: &str = "AKIAHAULTEST";
/// A secret no output may show.
pub const SECRET: &str = "haul-s3-Secret-9f3b2c";

/// One moto server.
pub struct Moto {
    child: Child,
    pub port: u16,
}

impl Moto {
    /// Start a server and wait until it answers.
    pub fn start() -> Moto {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start moto's S3 server (python3 -m moto.server; run scripts/services.sh): {e}")
            });
        let mut m = Moto { child, port };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = m.child.try_wait().expect("moto_server status") {
                panic!("moto's S3 server exited at once ({status}); is moto[server] installed? run scripts/services.sh");
            }
            if m.curl(&["-o", "/dev/null", &m.url("/moto-api/data.json")])
                .0
                == 0
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "moto's S3 server did not answer on port {port} within 30 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.endpoint())
    }

    /// The environment haul needs to use this server.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), KEY_ID.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET.into()),
            ("AWS_REGION".into(), "us-east-1".into()),
            ("AWS_ENDPOINT_URL".into(), self.endpoint()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// Run curl with `args`, the request signed as haul's are: (exit
    /// code, body).
    fn curl(&self, args: &[&str]) -> (i32, Vec<u8>) {
        let out = Command::new("curl")
            .args(["-s", "-f", "--aws-sigv4", "aws:amz:us-east-1:s3", "--user"])
            .arg(format!("{KEY_ID}:{SECRET}"))
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("curl (run scripts/services.sh)");
        (out.status.code().unwrap_or(-1), out.stdout)
    }

    pub fn create_bucket(&self, bucket: &str) {
        let (code, _) = self.curl(&["-X", "PUT", &self.url(&format!("/{bucket}"))]);
        assert_eq!(code, 0, "cannot create bucket {bucket}");
    }

    /// An object's bytes, or `None` when there is none under `key`.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let (code, body) = self.curl(&[&self.url(&format!("/{bucket}/{key}"))]);
        (code == 0).then_some(body)
    }

    /// Store an object.
    pub fn put(&self, bucket: &str, key: &str, body: &[u8]) {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("body");
        std::fs::write(&f, body).unwrap();
        let (code, _) = self.curl(&[
            "-X",
            "PUT",
            "-H",
            "Content-Type: application/octet-stream",
            "--data-binary",
            &format!("@{}", f.display()),
            &self.url(&format!("/{bucket}/{key}")),
        ]);
        assert_eq!(code, 0, "cannot put {key}");
    }

    /// Every key in the bucket under `prefix`, sorted.
    pub fn keys(&self, bucket: &str, prefix: &str) -> Vec<String> {
        let (code, body) =
            self.curl(&[&self.url(&format!("/{bucket}?list-type=2&prefix={prefix}"))]);
        assert_eq!(code, 0, "cannot list bucket {bucket}");
        let mut keys = tags(&String::from_utf8_lossy(&body), "Key");
        keys.sort();
        keys
    }

    /// Keys of the multipart uploads begun and neither completed nor
    /// aborted.
    pub fn open_uploads(&self, bucket: &str) -> Vec<String> {
        let (code, body) = self.curl(&[&self.url(&format!("/{bucket}?uploads"))]);
        assert_eq!(code, 0, "cannot list the uploads of {bucket}");
        tags(&String::from_utf8_lossy(&body), "Key")
    }

    /// From now on every request must carry valid IAM credentials (none
    /// exist, so every key is wrong).
    pub fn require_auth(&self) {
        let (code, _) = self.curl(&[
            "-X",
            "POST",
            "-H",
            "Content-Type: text/plain",
            "--data-binary",
            "0",
            &self.url("/moto-api/reset-auth"),
        ]);
        assert_eq!(code, 0, "cannot turn moto's authentication on");
    }
}

/// The texts of every `<tag>...</tag>` in `xml`.
fn tags(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `haul` with this server's environment and `extra`.
pub fn haul_s3(m: &Moto, args: &[&str], extra: &[(&str, &str)]) -> crate::common::Run {
    let env = m.env();
    let mut all: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    all.extend_from_slice(extra);
    crate::common::haul_env(args, &all)
}
