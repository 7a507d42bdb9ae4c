//! TLS settings of a server connection: the modes and files that
//! PostgreSQL's and MySQL's own clients take, parsed from URL query
//! parameters (and libpq's environment variables), and the rustls
//! configuration that carries them out.

use crate::model::EngineKind;
use percent_encoding::percent_decode_str;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

/// How much TLS a connection insists on. libpq's `sslmode` and MySQL's
/// `ssl-mode` name the same five levels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TlsMode {
    /// Plain TCP.
    Disable,
    /// TLS if the server offers it, plain otherwise; the certificate is not
    /// checked.
    #[default]
    Prefer,
    /// TLS or fail; the certificate is not checked.
    Require,
    /// TLS, the certificate chain checked against the root certificate, the
    /// host name not.
    VerifyCa,
    /// TLS, the chain and the host name checked.
    VerifyFull,
}

/// The TLS settings of one connection URL.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TlsOptions {
    pub mode: TlsMode,
    /// The CA certificates (PEM) the server's chain must lead to.
    pub root_cert: Option<PathBuf>,
    /// The client's certificate chain (PEM), for servers that ask for one.
    pub cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    pub key: Option<PathBuf>,
}

/// A TLS file haul cannot use, or a configuration rustls refuses.
#[derive(Debug, Error)]
pub enum TlsError {
    #[error("cannot read {what} {path}: {source}")]
    Read {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} {path} holds no usable PEM {kind}: {reason}")]
    Pem {
        what: &'static str,
        path: PathBuf,
        kind: &'static str,
        reason: String,
    },
    #[error("TLS configuration: {0}")]
    Rustls(#[from] rustls::Error),
}

/// The query parameter names of one engine.
struct Names {
    mode: &'static str,
    root_cert: &'static str,
    cert: &'static str,
    key: &'static str,
}

const PG: Names = Names {
    mode: "sslmode",
    root_cert: "sslrootcert",
    cert: "sslcert",
    key: "sslkey",
};

const MY: Names = Names {
    mode: "ssl-mode",
    root_cert: "ssl-ca",
    cert: "ssl-cert",
    key: "ssl-key",
};

fn names(engine: EngineKind) -> Option<&'static Names> {
    match engine {
        EngineKind::Postgres => Some(&PG),
        EngineKind::Mysql => Some(&MY),
        EngineKind::Sqlite => None,
    }
}

impl TlsMode {
    /// The mode as `engine`'s client spells it.
    pub fn name(self, engine: EngineKind) -> &'static str {
        let pg = engine == EngineKind::Postgres;
        match self {
            TlsMode::Disable if pg => "disable",
            TlsMode::Prefer if pg => "prefer",
            TlsMode::Require if pg => "require",
            TlsMode::VerifyCa if pg => "verify-ca",
            TlsMode::VerifyFull if pg => "verify-full",
            TlsMode::Disable => "DISABLED",
            TlsMode::Prefer => "PREFERRED",
            TlsMode::Require => "REQUIRED",
            TlsMode::VerifyCa => "VERIFY_CA",
            TlsMode::VerifyFull => "VERIFY_IDENTITY",
        }
    }

    fn parse(engine: EngineKind, value: &str) -> Option<TlsMode> {
        let modes = [
            TlsMode::Disable,
            TlsMode::Prefer,
            TlsMode::Require,
            TlsMode::VerifyCa,
            TlsMode::VerifyFull,
        ];
        modes.into_iter().find(|m| {
            let name = m.name(engine);
            if engine == EngineKind::Postgres {
                name == value
            } else {
                name.eq_ignore_ascii_case(value)
            }
        })
    }

    fn all(engine: EngineKind) -> String {
        [
            TlsMode::Disable,
            TlsMode::Prefer,
            TlsMode::Require,
            TlsMode::VerifyCa,
            TlsMode::VerifyFull,
        ]
        .map(|m| m.name(engine))
        .join(", ")
    }
}

impl TlsOptions {
    /// The TLS settings of a URL whose query string (after `?`, without
    /// any `#fragment`) is `query`. PostgreSQL starts from `PGSSLMODE`,
    /// `PGSSLROOTCERT`, `PGSSLCERT` and `PGSSLKEY`, which the URL overrides.
    /// A parameter the engine does not take is an error naming it.
    pub fn from_query(engine: EngineKind, query: &str) -> Result<TlsOptions, String> {
        let mut tls = TlsOptions::default();
        if engine == EngineKind::Postgres {
            for (var, name) in [
                ("PGSSLMODE", PG.mode),
                ("PGSSLROOTCERT", PG.root_cert),
                ("PGSSLCERT", PG.cert),
                ("PGSSLKEY", PG.key),
            ] {
                if let Ok(v) = std::env::var(var) {
                    tls.set(engine, name, &v)
                        .map_err(|reason| format!("{var}: {reason}"))?;
                }
            }
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode_str(k).decode_utf8_lossy();
            let v = percent_decode_str(v).decode_utf8_lossy();
            tls.set(engine, &k, &v)?;
        }
        tls.finish(engine)?;
        Ok(tls)
    }

    /// Apply one parameter.
    fn set(&mut self, engine: EngineKind, key: &str, value: &str) -> Result<(), String> {
        let Some(n) = names(engine) else {
            return Err(format!(
                "unknown parameter {key:?}: {engine}:// URLs take no parameters"
            ));
        };
        let path = || {
            if value.is_empty() {
                Err(format!("{key} needs a file name"))
            } else {
                Ok(Some(PathBuf::from(value)))
            }
        };
        if key == n.mode {
            self.mode = TlsMode::parse(engine, value)
                .ok_or_else(|| format!("{key}={value:?} is not one of {}", TlsMode::all(engine)))?;
        } else if key == n.root_cert {
            self.root_cert = path()?;
        } else if key == n.cert {
            self.cert = path()?;
        } else if key == n.key {
            self.key = path()?;
        } else {
            return Err(format!(
                "unknown parameter {key:?} ({engine}:// URLs take {}, {}, {}, {})",
                n.mode, n.root_cert, n.cert, n.key
            ));
        }
        Ok(())
    }

    /// Defaults and checks once every parameter is in.
    fn finish(&mut self, engine: EngineKind) -> Result<(), String> {
        let Some(n) = names(engine) else {
            return Ok(());
        };
        if engine == EngineKind::Postgres {
            // libpq's default files under ~/.postgresql, used when present.
            let home = std::env::var_os("HOME").map(|h| Path::new(&h).join(".postgresql"));
            let existing = |f: &str| home.as_ref().map(|h| h.join(f)).filter(|p| p.is_file());
            if self.root_cert.is_none() && self.mode != TlsMode::Disable {
                self.root_cert = existing("root.crt");
            }
            if self.cert.is_none() && self.key.is_none() {
                if let (Some(c), Some(k)) = (existing("postgresql.crt"), existing("postgresql.key"))
                {
                    self.cert = Some(c);
                    self.key = Some(k);
                }
            }
            // libpq: with a root certificate, require checks the chain too.
            if self.mode == TlsMode::Require && self.root_cert.is_some() {
                self.mode = TlsMode::VerifyCa;
            }
        }
        if matches!(self.mode, TlsMode::VerifyCa | TlsMode::VerifyFull) && self.root_cert.is_none()
        {
            return Err(format!(
                "{}={} needs {} (the CA certificate to check the server's against)",
                n.mode,
                self.mode.name(engine),
                n.root_cert
            ));
        }
        match (&self.cert, &self.key) {
            (Some(_), None) => Err(format!("{} needs {} too", n.cert, n.key)),
            (None, Some(_)) => Err(format!("{} needs {} too", n.key, n.cert)),
            _ => Ok(()),
        }
    }

    /// The rustls configuration for this mode, `None` for plain TCP.
    pub fn client_config(&self) -> Result<Option<ClientConfig>, TlsError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(provider.clone())
            .with_safe_default_protocol_versions()?;
        let builder = match self.mode {
            TlsMode::Disable => return Ok(None),
            TlsMode::Prefer | TlsMode::Require => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier {
                    roots: None,
                    provider,
                })),
            TlsMode::VerifyCa => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(Verifier {
                    roots: Some(Arc::new(self.roots()?)),
                    provider,
                })),
            TlsMode::VerifyFull => builder.with_root_certificates(self.roots()?),
        };
        let config = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => {
                builder.with_client_auth_cert(self.certs(cert)?, private_key(key)?)?
            }
            _ => builder.with_no_client_auth(),
        };
        Ok(Some(config))
    }

    /// The root certificates, for the checking modes.
    fn roots(&self) -> Result<RootCertStore, TlsError> {
        let mut roots = RootCertStore::empty();
        if let Some(path) = &self.root_cert {
            for cert in self.certs(path)? {
                roots.add(cert)?;
            }
        }
        Ok(roots)
    }

    /// Every certificate of a PEM file; at least one.
    fn certs(&self, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
        let what = if Some(path) == self.root_cert.as_deref() {
            "root certificate file"
        } else {
            "client certificate file"
        };
        let data = read(what, path)?;
        let pem = |reason: String| TlsError::Pem {
            what,
            path: path.to_path_buf(),
            kind: "certificate",
            reason,
        };
        let certs = CertificateDer::pem_slice_iter(&data)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| pem(e.to_string()))?;
        if certs.is_empty() {
            return Err(pem("no CERTIFICATE section".into()));
        }
        Ok(certs)
    }

    /// Read the PEM files this mode uses, so that a missing or unreadable
    /// one fails before connecting, naming it. Returns the root
    /// certificates, the client chain and the client key as read.
    pub fn read_files(&self) -> Result<TlsFiles, TlsError> {
        let mut files = TlsFiles::default();
        if matches!(self.mode, TlsMode::VerifyCa | TlsMode::VerifyFull) {
            if let Some(p) = &self.root_cert {
                self.certs(p)?;
                files.root_cert = Some(read("root certificate file", p)?);
            }
        }
        if let (Some(c), Some(k)) = (&self.cert, &self.key) {
            self.certs(c)?;
            private_key(k)?;
            files.cert = Some(read("client certificate file", c)?);
            files.key = Some(read("client key file", k)?);
        }
        Ok(files)
    }
}

/// The contents of the PEM files a mode uses.
#[derive(Default)]
pub struct TlsFiles {
    pub root_cert: Option<Vec<u8>>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        what,
        path: path.to_path_buf(),
        source,
    })
}

fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsError> {
    let what = "client key file";
    let data = read(what, path)?;
    PrivateKeyDer::from_pem_slice(&data).map_err(|e| TlsError::Pem {
        what,
        path: path.to_path_buf(),
        kind: "private key",
        reason: e.to_string(),
    })
}

/// Checks a server certificate's chain against `roots` without its host
/// name (verify-ca), or, with no roots, accepts any certificate (prefer,
/// require: encrypted, not authenticated). Handshake signatures are always
/// checked.
struct Verifier {
    roots: Option<Arc<RootCertStore>>,
    provider: Arc<CryptoProvider>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = if self.roots.is_some() {
            "chain only"
        } else {
            "any certificate"
        };
        write!(f, "Verifier({what})")
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if let Some(roots) = &self.roots {
            let cert = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_cert_signed_by_trust_anchor(
                &cert,
                roots,
                intermediates,
                now,
                self.provider.signature_verification_algorithms.all,
            )?;
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_params() {
        let t = TlsOptions::from_query(
            EngineKind::Postgres,
            "sslmode=verify-full&sslrootcert=%2Ftmp%2Fca.pem",
        )
        .unwrap();
        assert_eq!(t.mode, TlsMode::VerifyFull);
        assert_eq!(t.root_cert, Some(PathBuf::from("/tmp/ca.pem")));
        let e = TlsOptions::from_query(EngineKind::Postgres, "sslmod=require").unwrap_err();
        assert!(e.contains("\"sslmod\""), "{e}");
        let e = TlsOptions::from_query(EngineKind::Postgres, "sslmode=REQUIRE").unwrap_err();
        assert!(e.contains("not one of"), "{e}");
        let e = TlsOptions::from_query(EngineKind::Postgres, "sslmode=verify-ca&sslrootcert=")
            .unwrap_err();
        assert!(e.contains("sslrootcert"), "{e}");
        let e = TlsOptions::from_query(EngineKind::Postgres, "sslcert=/c.pem").unwrap_err();
        assert!(e.contains("sslkey"), "{e}");
    }

    #[test]
    fn mysql_params() {
        let t =
            TlsOptions::from_query(EngineKind::Mysql, "ssl-mode=verify_ca&ssl-ca=/ca.pem").unwrap();
        assert_eq!(t.mode, TlsMode::VerifyCa);
        let t = TlsOptions::from_query(EngineKind::Mysql, "").unwrap();
        assert_eq!(t.mode, TlsMode::Prefer);
        let t = TlsOptions::from_query(EngineKind::Mysql, "ssl-mode=Disabled").unwrap();
        assert_eq!(t.mode, TlsMode::Disable);
        let e = TlsOptions::from_query(EngineKind::Mysql, "sslmode=require").unwrap_err();
        assert!(e.contains("ssl-mode"), "{e}");
        let e = TlsOptions::from_query(EngineKind::Mysql, "ssl-mode=VERIFY_IDENTITY").unwrap_err();
        assert!(e.contains("ssl-ca"), "{e}");
    }

    #[test]
    fn sqlite_takes_none() {
        assert!(TlsOptions::from_query(EngineKind::Sqlite, "").is_ok());
        assert!(TlsOptions::from_query(EngineKind::Sqlite, "mode=ro").is_err());
    }
}
