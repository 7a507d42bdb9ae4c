//! S3 settings, as every S3 tool takes them: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION` (or
//! `AWS_DEFAULT_REGION`), `AWS_ENDPOINT_URL` (MinIO, Ceph, R2, ...) and
//! `AWS_ALLOW_HTTP=true`; the config file's `[s3]` keys fill what the
//! environment leaves unset.

/// Where and how to reach S3. The secret is never printed: `Debug`
/// hides it.
#[derive(Clone, Default)]
pub struct S3Config {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
    pub allow_http: bool,
}

impl std::fmt::Debug for S3Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Config")
            .field("access_key_id", &self.access_key_id)
            .field(
                "secret_access_key",
                &self.secret_access_key.as_ref().map(|_| "(hidden)"),
            )
            .field("region", &self.region)
            .field("endpoint", &self.endpoint)
            .field("allow_http", &self.allow_http)
            .finish()
    }
}

/// The `[s3]` table of the config file.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct S3File {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    pub allow_http: Option<bool>,
}

impl S3Config {
    /// The environment's settings, then the file's for what it leaves
    /// unset.
    pub fn resolve(file: &S3File) -> S3Config {
        Self::resolve_with(file, |k| std::env::var(k).ok().filter(|v| !v.is_empty()))
    }

    fn resolve_with(file: &S3File, env: impl Fn(&str) -> Option<String>) -> S3Config {
        let pick = |keys: &[&str], f: &Option<String>| {
            keys.iter().find_map(|k| env(k)).or_else(|| f.clone())
        };
        let allow_http = match env("AWS_ALLOW_HTTP") {
            Some(v) => matches!(v.to_ascii_lowercase().as_str(), "true" | "1" | "yes"),
            None => file.allow_http.unwrap_or(false),
        };
        S3Config {
            access_key_id: pick(&["AWS_ACCESS_KEY_ID"], &file.access_key_id),
            secret_access_key: pick(&["AWS_SECRET_ACCESS_KEY"], &file.secret_access_key),
            session_token: pick(&["AWS_SESSION_TOKEN"], &file.session_token),
            region: pick(&["AWS_REGION", "AWS_DEFAULT_REGION"], &file.region),
            endpoint: pick(&["AWS_ENDPOINT_URL", "AWS_ENDPOINT"], &file.endpoint_url),
            allow_http,
        }
    }

    /// The endpoint for messages (no credentials are ever in it).
    pub fn endpoint_display(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| "AWS S3".to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_wins_and_secret_is_hidden() {
        let file = S3File {
            access_key_id: Some("file-id".into()),
            secret_access_key: Some("file-secret".into()),
            region: Some("eu-west-1".into()),
            allow_http: Some(true),
            ..S3File::default()
        };
        let c = S3Config::resolve_with(&file, |k| match k {
            "AWS_ACCESS_KEY_ID" => Some("env-id".into()),
            "AWS_DEFAULT_REGION" => Some("us-east-2".into()),
            _ => None,
        });
        assert_eq!(c.access_key_id.as_deref(), Some("env-id"));
        assert_eq!(c.secret_access_key.as_deref(), Some("file-secret"));
        assert_eq!(c.region.as_deref(), Some("us-east-2"));
        assert!(c.allow_http);
        assert!(!format!("{c:?}").contains("file-secret"));
        let c = S3Config::resolve_with(&file, |k| {
            (k == "AWS_ALLOW_HTTP").then(|| "false".to_string())
        });
        assert!(!c.allow_http);
    }
}
