//! Encryption at rest with age: the whole archive is one age stream (so
//! `age -d -i key.txt A.haul | tar -x` reads it), written to the
//! recipients given as the `age` tool takes them (`age1...`, `ssh-ed25519`,
//! `ssh-rsa`, or files of them), read at random through age's seekable
//! decryptor with identity files (age's, or unencrypted SSH private keys).
//! Key material never appears in a message: errors name files and lines.

use crate::error::UsageError;
use crate::storage::{Blob, BlobCursor};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::{Arc, Mutex};

/// The first bytes of a binary age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/v1\n";
/// The first bytes of an armored (PEM-like) age file.
pub const AGE_ARMOR: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";
/// Largest identity or recipients file read.
const MAX_KEY_FILE: u64 = 1 << 20;

/// Whom an archive is encrypted to.
pub struct Recipients(Mutex<Vec<Box<dyn age::Recipient + Send>>>);

impl Recipients {
    /// `--recipient` keys and `--recipients-file` files; `None` when
    /// neither is given (no encryption).
    pub fn parse(
        keys: &[String],
        files: &[std::path::PathBuf],
    ) -> Result<Option<Recipients>, UsageError> {
        let mut all = Vec::new();
        for k in keys {
            all.push(
                parse_recipient(k.trim())
                    .map_err(|why| UsageError(format!("--recipient {}: {why}", short(k))))?,
            );
        }
        for f in files {
            let text = read_key_file(f)?;
            let mut n = 0;
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                all.push(parse_recipient(line).map_err(|why| {
                    UsageError(format!(
                        "recipients file {}, line {}: {why}",
                        f.display(),
                        i + 1
                    ))
                })?);
                n += 1;
            }
            if n == 0 {
                return Err(UsageError(format!(
                    "recipients file {} holds no recipient",
                    f.display()
                )));
            }
        }
        Ok((!all.is_empty()).then_some(Recipients(Mutex::new(all))))
    }

    /// Start an age stream to these recipients over `out`.
    pub fn encrypt<W: Write>(&self, out: W) -> io::Result<age::stream::StreamWriter<W>> {
        let all = self
            .0
            .lock()
            .map_err(|_| io::Error::other("the recipients lock is poisoned"))?;
        let e =
            age::Encryptor::with_recipients(all.iter().map(|r| r.as_ref() as &dyn age::Recipient))
                .map_err(|e| {
                    io::Error::other(format!("cannot encrypt to these recipients: {e}"))
                })?;
        drop(all);
        e.wrap_output(out)
    }
}

/// A public key as shown in a message: its first characters.
fn short(k: &str) -> String {
    let k = k.trim();
    let head: String = k.chars().take(24).collect();
    if head.len() < k.len() {
        format!("{head}...")
    } else {
        head
    }
}

fn parse_recipient(s: &str) -> Result<Box<dyn age::Recipient + Send>, String> {
    if s.starts_with("age1") {
        return age::x25519::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|_| "not a valid age public key".to_string());
    }
    if s.starts_with("ssh-") {
        return age::ssh::Recipient::from_str(s)
            .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
            .map_err(|e| format!("not a usable SSH public key ({e:?})"));
    }
    if s.starts_with("AGE-SECRET-KEY-") {
        return Err("this is a secret key: give its public key (age-keygen -y)".into());
    }
    Err("not an age (age1...) or SSH (ssh-ed25519, ssh-rsa) public key".into())
}

fn read_key_file(path: &Path) -> Result<String, UsageError> {
    let f = std::fs::File::open(path)
        .map_err(|e| UsageError(format!("cannot read {}: {e}", path.display())))?;
    let mut text = String::new();
    f.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(|_| UsageError(format!("{} is not a text file of keys", path.display())))?;
    Ok(text)
}

/// Keys that may decrypt an archive (`--identity`), and their public
/// keys (what a restore encrypts its rejects archive to).
pub struct Identities {
    ids: Vec<Box<dyn age::Identity + Send + Sync>>,
    public: Arc<Recipients>,
}

impl Identities {
    /// Read an identity file: age's (`AGE-SECRET-KEY-1...` lines) or an
    /// unencrypted SSH private key.
    pub fn load(path: &Path) -> Result<Identities, UsageError> {
        let text = read_key_file(path)?;
        type Pair = (
            Vec<Box<dyn age::Identity + Send + Sync>>,
            Vec<Box<dyn age::Recipient + Send>>,
        );
        let (ids, public): Pair = if text.contains("-----BEGIN") {
            let read = || age::ssh::Identity::from_buffer(io::Cursor::new(text.as_bytes()), None);
            let unreadable = || {
                UsageError(format!(
                    "{} is not an SSH private key haul can read",
                    path.display()
                ))
            };
            match read().map_err(|_| unreadable())? {
                id @ age::ssh::Identity::Unencrypted(_) => {
                    let public = read()
                        .ok()
                        .and_then(|i| age::ssh::Recipient::try_from(i).ok())
                        .ok_or_else(unreadable)?;
                    (vec![Box::new(id)], vec![Box::new(public)])
                }
                age::ssh::Identity::Encrypted(_) => {
                    return Err(UsageError(format!(
                        "{} is a passphrase-protected SSH key; give an unencrypted copy or an age identity",
                        path.display()
                    )))
                }
                age::ssh::Identity::Unsupported(_) => {
                    return Err(UsageError(format!(
                        "{}: this kind of SSH key is not supported by age",
                        path.display()
                    )))
                }
            }
        } else {
            age::IdentityFile::from_buffer(io::Cursor::new(text.as_bytes()))
                .and_then(|f| {
                    let public = f.to_recipients().map_err(io::Error::other)?;
                    Ok((f.into_identities().map_err(io::Error::other)?, public))
                })
                .map_err(|e| {
                    // age's message names the line, never its content.
                    UsageError(format!("identity file {}: {e}", path.display()))
                })?
        };
        if ids.is_empty() {
            return Err(UsageError(format!(
                "identity file {} holds no identity",
                path.display()
            )));
        }
        Ok(Identities {
            ids,
            public: Arc::new(Recipients(Mutex::new(public))),
        })
    }

    fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.ids.iter().map(|i| i.as_ref() as &dyn age::Identity)
    }

    /// The public keys of these identities.
    pub fn recipients(&self) -> Arc<Recipients> {
        Arc::clone(&self.public)
    }
}

/// Why an encrypted archive cannot be opened.
#[derive(Debug)]
pub enum OpenError {
    /// None of the identities is a recipient.
    NoMatch,
    /// The age header or stream is damaged or unknown.
    Damaged(String),
}

type Plain = age::stream::StreamReader<BlobCursor>;

/// The plaintext of an age-encrypted blob, read at random: each reader
/// seeks to the 64 KiB age chunk holding an offset. Parallel reads take
/// readers from a pool (each decrypts the header once).
pub struct AgeBlob {
    inner: Arc<dyn Blob>,
    ids: Arc<Identities>,
    pool: Mutex<Vec<Plain>>,
    len: u64,
}

impl AgeBlob {
    pub fn open(inner: Arc<dyn Blob>, ids: Arc<Identities>) -> Result<AgeBlob, OpenError> {
        let mut r = Self::reader(&inner, &ids)?;
        let len = r
            .seek(SeekFrom::End(0))
            .map_err(|e| OpenError::Damaged(format!("the age stream is damaged ({e})")))?;
        Ok(AgeBlob {
            inner,
            ids,
            pool: Mutex::new(vec![r]),
            len,
        })
    }

    fn reader(inner: &Arc<dyn Blob>, ids: &Identities) -> Result<Plain, OpenError> {
        let d = age::Decryptor::new(BlobCursor::new(Arc::clone(inner)))
            .map_err(|e| OpenError::Damaged(format!("its age header is unreadable ({e})")))?;
        d.decrypt(ids.iter()).map_err(|e| match e {
            age::DecryptError::NoMatchingKeys => OpenError::NoMatch,
            e => OpenError::Damaged(format!("cannot decrypt it ({e})")),
        })
    }
}

impl Blob for AgeBlob {
    fn len(&self) -> u64 {
        self.len
    }
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        let taken = self.pool.lock().ok().and_then(|mut p| p.pop());
        let mut r = match taken {
            Some(r) => r,
            None => Self::reader(&self.inner, &self.ids).map_err(|e| match e {
                OpenError::NoMatch => io::Error::other("no identity matches"),
                OpenError::Damaged(s) => io::Error::new(io::ErrorKind::InvalidData, s),
            })?,
        };
        r.seek(SeekFrom::Start(offset))?;
        r.read_exact(buf)?;
        if let Ok(mut p) = self.pool.lock() {
            p.push(r);
        }
        Ok(())
    }
    fn read_ahead(&self) -> usize {
        self.inner.read_ahead()
    }
}

/// Whether a blob begins like an age file: `Some(true)` binary,
/// `Some(false)` armored, `None` not age.
pub fn sniff(blob: &dyn Blob) -> io::Result<Option<bool>> {
    let n = (AGE_ARMOR.len() as u64).min(blob.len()) as usize;
    let mut head = vec![0u8; n];
    blob.read_at(0, &mut head)?;
    Ok(if head.starts_with(AGE_MAGIC) {
        Some(true)
    } else if head.starts_with(AGE_ARMOR) {
        Some(false)
    } else {
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    struct Mem(Vec<u8>);
    impl Blob for Mem {
        fn len(&self) -> u64 {
            self.0.len() as u64
        }
        fn read_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
            let o = offset as usize;
            let src = self
                .0
                .get(o..o + buf.len())
                .ok_or(io::ErrorKind::UnexpectedEof)?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    #[test]
    fn random_reads_of_the_plaintext() {
        let dir = tempfile::tempdir().unwrap();
        let key = age::x25519::Identity::generate();
        let idf = dir.path().join("key.txt");
        std::fs::write(
            &idf,
            format!("# test\n{}\n", key.to_string().expose_secret()),
        )
        .unwrap();
        let r = Recipients::parse(&[key.to_public().to_string()], &[])
            .unwrap()
            .unwrap();
        let plain: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let mut w = r.encrypt(Vec::new()).unwrap();
        w.write_all(&plain).unwrap();
        let cipher = w.finish().unwrap();
        let blob: Arc<dyn Blob> = Arc::new(Mem(cipher));
        assert_eq!(sniff(blob.as_ref()).unwrap(), Some(true));
        let ids = Arc::new(Identities::load(&idf).unwrap());
        let a = AgeBlob::open(blob.clone(), ids).unwrap();
        assert_eq!(a.len(), plain.len() as u64);
        for (off, n) in [
            (0usize, 10usize),
            (65_530, 20),
            (299_990, 10),
            (100_000, 70_000),
        ] {
            let mut buf = vec![0u8; n];
            a.read_at(off as u64, &mut buf).unwrap();
            assert_eq!(buf, &plain[off..off + n]);
        }
        let other = dir.path().join("other.txt");
        let k2 = age::x25519::Identity::generate();
        std::fs::write(&other, k2.to_string().expose_secret()).unwrap();
        let ids2 = Arc::new(Identities::load(&other).unwrap());
        assert!(matches!(AgeBlob::open(blob, ids2), Err(OpenError::NoMatch)));
    }

    #[test]
    fn bad_keys_are_named_not_shown() {
        let e = Recipients::parse(&["AGE-SECRET-KEY-1QQQQ".into()], &[])
            .err()
            .unwrap();
        assert!(e.0.contains("secret key"), "{}", e.0);
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("id.txt");
        std::fs::write(&f, "AGE-SECRET-KEY-1NOTAKEYATALLHUNTER2\n").unwrap();
        let e = Identities::load(&f).err().unwrap();
        assert!(!e.0.contains("HUNTER2"), "{}", e.0);
        assert!(Recipients::parse(&[], &[]).unwrap().is_none());
    }
}
