//! S3-compatible object storage through the `object_store` crate:
//! ranged GETs for reading, multipart uploads that appear under their key
//! only when completed (and are aborted when dropped or interrupted),
//! listing and deleting under a prefix.
//!
//! `object_store` is async; haul's archive code is not. Every call runs
//! on a small runtime of its own and the caller waits for the answer, so
//! these calls work from any thread, in or out of haul's main runtime.

use super::{Blob, Entry, Location, S3Config, StorageError, Store, Upload};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{MultipartUpload, ObjectStore, PutPayload};
use std::collections::VecDeque;
use std::future::Future;
use std::io::{self, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Size of each uploaded part but the last (S3 wants at least 5 MiB).
const PART_SIZE: usize = 8 << 20;
/// Parts uploading at once; memory is about `PART_SIZE` times one more.
const PARTS_IN_FLIGHT: usize = 2;

/// A one-line, secret-free account of what the store answered: its S3
/// error code, or the network error at the bottom of the chain.
#[derive(Debug)]
pub struct Cause(String);

impl std::fmt::Display for Cause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Cause {}

impl Cause {
    fn of(e: &object_store::Error) -> Cause {
        let mut texts = vec![e.to_string()];
        let mut s = std::error::Error::source(e);
        while let Some(x) = s {
            texts.push(x.to_string());
            s = x.source();
        }
        let all = texts.join(" ");
        let between = |a: &str, b: &str| {
            let i = all.find(a)? + a.len();
            let j = all[i..].find(b)? + i;
            Some(all[i..j].to_string())
        };
        if let Some(code) = between("<Code>", "</Code>") {
            let code: String = code.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
            return Cause(format!("the store answered {code}"));
        }
        if let Some(status) = between("status code: ", ":") {
            return Cause(format!("HTTP {}", status.trim()));
        }
        let last = texts.last().map(String::as_str).unwrap_or("");
        let line: String = last
            .lines()
            .next()
            .unwrap_or("")
            .chars()
            .take(200)
            .collect();
        Cause(line)
    }
}

/// The runtime the S3 calls run on.
fn runtime() -> Result<&'static tokio::runtime::Runtime, StorageError> {
    static RT: Mutex<Option<&'static tokio::runtime::Runtime>> = Mutex::new(None);
    let mut rt = RT
        .lock()
        .map_err(|_| StorageError::Config("the S3 runtime lock is poisoned".into()))?;
    if let Some(r) = *rt {
        return Ok(r);
    }
    let built = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("haul-s3")
        .enable_all()
        .build()
        .map_err(|e| StorageError::Config(format!("cannot start the S3 client: {e}")))?;
    let r: &'static tokio::runtime::Runtime = Box::leak(Box::new(built));
    *rt = Some(r);
    Ok(r)
}

/// Run `fut` on the S3 runtime and wait for it.
fn block<T: Send + 'static>(
    fut: impl Future<Output = T> + Send + 'static,
) -> Result<T, StorageError> {
    let rt = runtime()?;
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    rt.spawn(async move {
        let _ = tx.send(fut.await);
    });
    rx.recv()
        .map_err(|_| StorageError::Config("an S3 request was dropped".into()))
}

/// One bucket, with the settings to reach it.
#[derive(Clone)]
pub struct Bucket {
    store: Arc<AmazonS3>,
    bucket: String,
    endpoint: String,
}

impl Bucket {
    /// A client for `bucket`. Credentials must be given (environment or
    /// config file): haul does not probe instance metadata.
    pub fn open(bucket: &str, cfg: &S3Config) -> Result<Bucket, StorageError> {
        let (Some(id), Some(secret)) = (&cfg.access_key_id, &cfg.secret_access_key) else {
            return Err(StorageError::Config(format!(
                "s3://{bucket}: no S3 credentials; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or access_key_id and secret_access_key in the config file's [s3] table)"
            )));
        };
        if let Some(e) = &cfg.endpoint {
            if e.starts_with("http://") && !cfg.allow_http {
                return Err(StorageError::Config(format!(
                    "the S3 endpoint {e} is plain http; set AWS_ALLOW_HTTP=true to use it"
                )));
            }
        }
        let retry = object_store::RetryConfig {
            max_retries: 3,
            retry_timeout: Duration::from_secs(30),
            backoff: object_store::BackoffConfig::default(),
        };
        let client = object_store::ClientOptions::new()
            .with_allow_http(cfg.allow_http)
            .with_connect_timeout(Duration::from_secs(10))
            .with_timeout(Duration::from_secs(300));
        let mut b = AmazonS3Builder::new()
            .with_bucket_name(bucket)
            .with_region(cfg.region.as_deref().unwrap_or("us-east-1"))
            .with_access_key_id(id)
            .with_secret_access_key(secret)
            .with_retry(retry)
            .with_client_options(client);
        if let Some(t) = &cfg.session_token {
            b = b.with_token(t);
        }
        if let Some(e) = &cfg.endpoint {
            b = b.with_endpoint(e);
        }
        let store = b.build().map_err(|e| {
            StorageError::Config(format!(
                "s3://{bucket}: cannot use the S3 settings: {}",
                Cause::of(&e)
            ))
        })?;
        Ok(Bucket {
            store: Arc::new(store),
            bucket: bucket.to_string(),
            endpoint: cfg.endpoint_display(),
        })
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The error for `key` from what the store said.
    fn classify(&self, key: &str, e: object_store::Error) -> StorageError {
        let location = self.location(key);
        let source = Cause::of(&e);
        match e {
            object_store::Error::NotFound { .. } => StorageError::NotFound { location, source },
            object_store::Error::Precondition { .. } => StorageError::Changed { location },
            object_store::Error::PermissionDenied { .. }
            | object_store::Error::Unauthenticated { .. } => {
                StorageError::Denied { location, source }
            }
            _ => {
                let text = source.0.to_ascii_lowercase();
                if ["connect", "dns", "timed out", "error sending request"]
                    .iter()
                    .any(|w| text.contains(w))
                {
                    StorageError::Unreachable {
                        location,
                        endpoint: self.endpoint.clone(),
                        source,
                    }
                } else {
                    StorageError::Other { location, source }
                }
            }
        }
    }

    /// Run one call for `key`, classifying its error.
    fn call<T: Send + 'static>(
        &self,
        key: &str,
        f: impl FnOnce(
            Arc<AmazonS3>,
        )
            -> std::pin::Pin<Box<dyn Future<Output = object_store::Result<T>> + Send>>,
    ) -> Result<T, StorageError> {
        block(f(Arc::clone(&self.store)))?.map_err(|e| self.classify(key, e))
    }

    /// The object `key`, opened for ranged reads.
    pub fn blob(&self, key: &str) -> Result<S3Blob, StorageError> {
        let path = ObjPath::from(key);
        let p = path.clone();
        let meta = self.call(key, move |s| Box::pin(async move { s.head(&p).await }))?;
        Ok(S3Blob {
            bucket: self.clone(),
            key: key.to_string(),
            path,
            len: meta.size,
            e_tag: meta.e_tag,
        })
    }

    /// A multipart upload to `key`.
    pub fn upload(&self, key: &str) -> Result<S3Upload, StorageError> {
        if key.is_empty() || key.ends_with('/') {
            return Err(StorageError::Config(format!(
                "{}: give an object key, not a prefix (or use --into)",
                self.location(key)
            )));
        }
        let p = ObjPath::from(key);
        let upload = self.call(key, move |s| {
            Box::pin(async move { s.put_multipart(&p).await })
        })?;
        let shared = Arc::new(Mutex::new(Some(upload)));
        let id = register(Arc::clone(&shared));
        Ok(S3Upload {
            bucket: self.clone(),
            key: key.to_string(),
            upload: shared,
            id,
            part: Vec::with_capacity(PART_SIZE),
            pending: VecDeque::new(),
            parts: 0,
            done: false,
        })
    }

    /// The objects under `prefix` (a "directory": `a/b` or `a/b/`).
    pub fn prefix(&self, prefix: &str) -> Prefix {
        Prefix {
            bucket: self.clone(),
            prefix: prefix.trim_end_matches('/').to_string(),
        }
    }
}

/// An object read with ranged GETs.
pub struct S3Blob {
    bucket: Bucket,
    key: String,
    path: ObjPath,
    len: u64,
    /// The version read: every range is asked for with `If-Match`, so an
    /// object replaced while it is read is an error, not a mix.
    e_tag: Option<String>,
}

impl Blob for S3Blob {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        if buf.is_empty() {
            return Ok(());
        }
        let end = offset + buf.len() as u64;
        let p = self.path.clone();
        let opts = object_store::GetOptions {
            if_match: self.e_tag.clone(),
            range: Some(object_store::GetRange::Bounded(offset..end)),
            ..Default::default()
        };
        let got = self
            .bucket
            .call(&self.key, move |s| {
                Box::pin(async move { s.get_opts(&p, opts).await?.bytes().await })
            })
            .map_err(io::Error::other)?;
        if got.len() != buf.len() {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("the store sent {} bytes of {}", got.len(), buf.len()),
            ));
        }
        buf.copy_from_slice(&got);
        Ok(())
    }
    fn read_ahead(&self) -> usize {
        64 << 10
    }
}

type Shared = Arc<Mutex<Option<Box<dyn MultipartUpload>>>>;

/// Multipart uploads not yet completed, aborted on an interrupt.
static UPLOADS: Mutex<Vec<(u64, Shared)>> = Mutex::new(Vec::new());

fn register(u: Shared) -> u64 {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    if let Ok(mut list) = UPLOADS.lock() {
        list.push((id, u));
    }
    id
}

fn forget(id: u64) {
    if let Ok(mut list) = UPLOADS.lock() {
        list.retain(|(i, _)| *i != id);
    }
}

/// Abort one upload: nothing appears under its key.
fn abort(u: &Shared) {
    let taken = u.lock().ok().and_then(|mut g| g.take());
    if let Some(mut up) = taken {
        let _ = block(async move { up.abort().await });
    }
}

/// Abort every multipart upload still open (on an interrupt).
pub fn abort_unfinished() {
    let list: Vec<Shared> = match UPLOADS.lock() {
        Ok(mut l) => l.drain(..).map(|(_, u)| u).collect(),
        Err(_) => return,
    };
    for u in &list {
        abort(u);
    }
}

/// An object being uploaded in parts, streamed: at most
/// `PARTS_IN_FLIGHT` parts uploading while the next one fills.
pub struct S3Upload {
    bucket: Bucket,
    key: String,
    upload: Shared,
    id: u64,
    part: Vec<u8>,
    pending: VecDeque<tokio::task::JoinHandle<object_store::Result<()>>>,
    parts: usize,
    done: bool,
}

impl S3Upload {
    fn failed(&self, e: StorageError) -> io::Error {
        io::Error::other(e)
    }

    /// Send the filled part; wait for the oldest when too many are out.
    fn send_part(&mut self) -> io::Result<()> {
        let data = std::mem::replace(&mut self.part, Vec::with_capacity(PART_SIZE));
        let fut = {
            let mut g = self
                .upload
                .lock()
                .map_err(|_| io::Error::other("upload lock poisoned"))?;
            let up = g
                .as_mut()
                .ok_or_else(|| io::Error::other("the upload was aborted"))?;
            up.put_part(PutPayload::from(data))
        };
        let handle = runtime().map_err(|e| self.failed(e))?.spawn(fut);
        self.pending.push_back(handle);
        self.parts += 1;
        while self.pending.len() > PARTS_IN_FLIGHT {
            self.wait_oldest()?;
        }
        Ok(())
    }

    fn wait_oldest(&mut self) -> io::Result<()> {
        let Some(h) = self.pending.pop_front() else {
            return Ok(());
        };
        let r = block(h).map_err(|e| self.failed(e))?;
        match r {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(self.failed(self.bucket.classify(&self.key, e))),
            Err(join) => Err(io::Error::other(format!("an upload task failed: {join}"))),
        }
    }
}

impl Write for S3Upload {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let room = PART_SIZE - self.part.len();
        let n = buf.len().min(room);
        self.part.extend_from_slice(&buf[..n]);
        if self.part.len() == PART_SIZE {
            self.send_part()?;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Upload for S3Upload {
    fn complete(mut self: Box<Self>) -> io::Result<String> {
        if !self.part.is_empty() || self.parts == 0 {
            self.send_part()?;
        }
        while !self.pending.is_empty() {
            self.wait_oldest()?;
        }
        let taken = self
            .upload
            .lock()
            .map_err(|_| io::Error::other("upload lock poisoned"))?
            .take();
        let Some(mut up) = taken else {
            return Err(io::Error::other("the upload was aborted"));
        };
        let r = block(async move {
            let r = up.complete().await;
            if r.is_err() {
                let _ = up.abort().await;
            }
            r
        })
        .map_err(|e| self.failed(e))?;
        forget(self.id);
        self.done = true;
        match r {
            Ok(_) => Ok(self.bucket.location(&self.key)),
            Err(e) => Err(self.failed(self.bucket.classify(&self.key, e))),
        }
    }
}

impl Drop for S3Upload {
    fn drop(&mut self) {
        if !self.done {
            for h in self.pending.drain(..) {
                h.abort();
            }
            abort(&self.upload);
            forget(self.id);
        }
    }
}

/// A bucket prefix holding archives.
pub struct Prefix {
    bucket: Bucket,
    prefix: String,
}

impl Prefix {
    fn key(&self, name: &str) -> String {
        super::join_key(&self.prefix, name)
    }

    fn listing(&self, under: &str) -> Result<Vec<Entry>, StorageError> {
        let dir = if under.is_empty() {
            self.prefix.clone()
        } else {
            self.key(under)
        };
        let p = (!dir.is_empty()).then(|| ObjPath::from(dir.as_str()));
        let found = self.bucket.call(&dir, move |s| {
            Box::pin(async move { s.list_with_delimiter(p.as_ref()).await })
        })?;
        let strip = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut out: Vec<Entry> = found
            .objects
            .into_iter()
            .filter_map(|o| {
                let full = o.location.to_string();
                let name = full.strip_prefix(&strip)?.to_string();
                Some(Entry {
                    name,
                    size: o.size,
                    modified: Some(o.last_modified.timestamp()),
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }
}

impl Store for Prefix {
    fn list(&self) -> Result<Vec<Entry>, StorageError> {
        self.listing("")
    }
    fn list_under(&self, prefix: &str) -> Result<Vec<Entry>, StorageError> {
        self.listing(prefix)
    }
    fn delete(&self, name: &str) -> Result<(), StorageError> {
        let key = self.key(name);
        let p = ObjPath::from(key.as_str());
        self.bucket
            .call(&key, move |s| Box::pin(async move { s.delete(&p).await }))
    }
    fn exists(&self, name: &str) -> Result<bool, StorageError> {
        let key = self.key(name);
        let p = ObjPath::from(key.as_str());
        match self
            .bucket
            .call(&key, move |s| Box::pin(async move { s.head(&p).await }))
        {
            Ok(_) => Ok(true),
            Err(StorageError::NotFound { .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
    fn put_small(&self, name: &str, data: &[u8]) -> Result<(), StorageError> {
        let key = self.key(name);
        let p = ObjPath::from(key.as_str());
        let payload = PutPayload::from(data.to_vec());
        self.bucket
            .call(&key, move |s| {
                Box::pin(async move { s.put(&p, payload).await })
            })
            .map(|_| ())
    }
    fn get_small(&self, name: &str) -> Result<Option<Vec<u8>>, StorageError> {
        let key = self.key(name);
        let p = ObjPath::from(key.as_str());
        match self.bucket.call(&key, move |s| {
            Box::pin(async move { s.get(&p).await?.bytes().await })
        }) {
            Ok(b) => Ok(Some(b.to_vec())),
            Err(StorageError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }
    fn open(&self, name: &str) -> Result<Arc<dyn Blob>, StorageError> {
        Ok(Arc::new(self.bucket.blob(&self.key(name))?))
    }
    fn location(&self, name: &str) -> Location {
        Location::S3 {
            bucket: self.bucket.bucket.clone(),
            key: self.key(name),
        }
    }
}
