//! Where a password comes from when the URL has none, first found wins:
//! `--password-file` (its first line), `PGPASSWORD` / `MYSQL_PWD`, then the
//! password file of the engine's own clients: `~/.pgpass` or `PGPASSFILE`
//! (libpq's format and rules) for PostgreSQL, the `[client]` section of
//! `~/.my.cnf` for MySQL/MariaDB.

use crate::model::EngineKind;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use thiserror::Error;

/// A `--password-file` that cannot be read. Never shows the file's content.
#[derive(Debug, Error)]
#[error("cannot read the password file {path}: {source}")]
pub struct PasswordFileError {
    pub path: PathBuf,
    #[source]
    pub source: std::io::Error,
}

/// What a password is looked up for.
pub struct Lookup<'a> {
    pub engine: EngineKind,
    pub host: &'a str,
    pub port: u16,
    pub database: &'a str,
    pub user: &'a str,
}

/// The password from the first source that has one, reading the
/// environment through `env`. Files that others may read or write are
/// skipped with a warning on stderr, as libpq and the MySQL client do.
pub fn resolve(
    key: &Lookup<'_>,
    password_file: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Option<String>, PasswordFileError> {
    if let Some(path) = password_file {
        return first_line(path).map(Some);
    }
    let var = match key.engine {
        EngineKind::Postgres => "PGPASSWORD",
        EngineKind::Mysql => "MYSQL_PWD",
        EngineKind::Sqlite => return Ok(None),
    };
    if let Some(p) = env(var) {
        return Ok(Some(p));
    }
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let found = match key.engine {
        EngineKind::Postgres => {
            let path = env("PGPASSFILE")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from)
                .or_else(|| home.map(|h| h.join(".pgpass")));
            path.and_then(|p| read_private(&p, Rule::Pgpass))
                .and_then(|text| pgpass_lookup(&text, key))
        }
        _ => home
            .map(|h| h.join(".my.cnf"))
            .and_then(|p| read_private(&p, Rule::MyCnf))
            .and_then(|text| mycnf_password(&text)),
    };
    Ok(found)
}

/// The first line of `path`, without its line ending.
fn first_line(path: &Path) -> Result<String, PasswordFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| PasswordFileError {
        path: path.to_path_buf(),
        source,
    })?;
    let line = text.split('\n').next().unwrap_or("");
    Ok(line.strip_suffix('\r').unwrap_or(line).to_string())
}

/// Which permissions a client's password file must have.
#[derive(Clone, Copy)]
enum Rule {
    /// libpq: a plain file with no group or world permission bits.
    Pgpass,
    /// The MySQL client: not world-writable.
    MyCnf,
}

/// The text of a password file, or `None` if it is missing, unreadable, or
/// ignored for its permissions (with a warning).
fn read_private(path: &Path, rule: Rule) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    let mode = meta.permissions().mode();
    let problem = match rule {
        Rule::Pgpass if !meta.is_file() => Some("is not a plain file"),
        Rule::Pgpass if mode & 0o077 != 0 => {
            Some("has group or world access; permissions should be u=rw (0600) or less")
        }
        Rule::MyCnf if mode & 0o002 != 0 => Some("is world-writable"),
        _ => None,
    };
    if let Some(problem) = problem {
        eprintln!(
            "haul: warning: password file {} {problem}; ignoring it",
            path.display()
        );
        return None;
    }
    std::fs::read_to_string(path).ok()
}

/// The password of the first `hostname:port:database:username:password`
/// line matching `key` (libpq's rules: `*` matches anything, `\` escapes
/// `:` and `\`, `#` starts a comment line).
pub fn pgpass_lookup(text: &str, key: &Lookup<'_>) -> Option<String> {
    let port = key.port.to_string();
    let wanted = [key.host, port.as_str(), key.database, key.user];
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut rest = line;
        let mut matched = true;
        for want in wanted {
            match match_field(rest, want) {
                Some(r) => rest = r,
                None => {
                    matched = false;
                    break;
                }
            }
        }
        if matched {
            return Some(unescape_until_colon(rest));
        }
    }
    None
}

/// If the field at the start of `line` is `*` or equals `want` (after
/// unescaping), the text after its `:`.
fn match_field<'a>(line: &'a str, want: &str) -> Option<&'a str> {
    if let Some(rest) = line.strip_prefix("*:") {
        return Some(rest);
    }
    let mut field = String::new();
    let mut chars = line.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, e)) => field.push(e),
                None => return None,
            },
            ':' => return (field == want).then(|| &line[i + 1..]),
            c => field.push(c),
        }
    }
    None
}

/// The password field: up to the first unescaped `:`, escapes removed.
fn unescape_until_colon(s: &str) -> String {
    let mut out = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) => out.push(e),
                None => out.push('\\'),
            },
            ':' => break,
            c => out.push(c),
        }
    }
    out
}

/// The last `password` of the `[client]` section of a MySQL option file
/// (the MySQL client's rules: `#` and `;` comment lines, `#` outside quotes
/// ends a value, optional quotes, backslash escapes).
pub fn mycnf_password(text: &str) -> Option<String> {
    let mut in_client = false;
    let mut found = None;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            let group = group.split(']').next().unwrap_or("").trim();
            in_client = group.eq_ignore_ascii_case("client")
                || group.eq_ignore_ascii_case("client-mariadb");
            continue;
        }
        if !in_client || line.starts_with('!') {
            continue;
        }
        let line = strip_end_comment(line);
        let (name, value) = match line.split_once('=') {
            Some((n, v)) => (n.trim(), Some(v.trim())),
            None => (line.trim(), None),
        };
        if name.replace('_', "-") != "password" {
            continue;
        }
        // A bare `password` asks the client to prompt: no password here.
        found = value.map(mycnf_value);
    }
    found
}

/// `line` up to a `#` outside quotes.
fn strip_end_comment(line: &str) -> &str {
    let mut quote = None;
    let mut escape = false;
    for (i, c) in line.char_indices() {
        if (c == '\'' || c == '"') && !escape {
            match quote {
                None => quote = Some(c),
                Some(q) if q == c => quote = None,
                _ => {}
            }
        }
        if quote.is_none() && c == '#' {
            return &line[..i];
        }
        escape = quote.is_some() && c == '\\' && !escape;
    }
    line
}

/// A value without its surrounding quotes, escapes decoded.
fn mycnf_value(v: &str) -> String {
    let v = v.trim();
    let unquoted = ['\'', '"']
        .iter()
        .find_map(|q| {
            v.strip_prefix(*q)
                .and_then(|s| s.strip_suffix(*q))
                .filter(|_| v.len() >= 2)
        })
        .unwrap_or(v);
    let mut out = String::new();
    let mut chars = unquoted.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' || chars.peek().is_none() {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some(e @ ('"' | '\'' | '\\')) => out.push(e),
            Some(e) => {
                out.push('\\');
                out.push(e);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key<'a>(host: &'a str, db: &'a str, user: &'a str) -> Lookup<'a> {
        Lookup {
            engine: EngineKind::Postgres,
            host,
            port: 5432,
            database: db,
            user,
        }
    }

    #[test]
    fn pgpass_rules() {
        let text = "# comment\n\
                    db1:5432:app:bob:first\n\
                    *:5433:*:*:other-port\n\
                    *:*:app:bob:second\n\
                    h\\:x:*:*:*:esc\\:aped\\\\pw:ignored\n\
                    *:*:*:*:fallback\n";
        let p = |h, d, u| pgpass_lookup(text, &key(h, d, u));
        assert_eq!(p("db1", "app", "bob").as_deref(), Some("first"));
        assert_eq!(p("db2", "app", "bob").as_deref(), Some("second"));
        assert_eq!(p("h:x", "z", "z").as_deref(), Some("esc:aped\\pw"));
        assert_eq!(p("db1", "app", "alice").as_deref(), Some("fallback"));
        assert_eq!(
            pgpass_lookup("db1:5432:app:bob:x\n", &key("db1", "a", "bob")),
            None
        );
        assert_eq!(
            pgpass_lookup("db1:5432:app", &key("db1", "app", "bob")),
            None
        );
    }

    #[test]
    fn mycnf_rules() {
        let m = |t: &str| mycnf_password(t);
        assert_eq!(m("[client]\npassword=abc\n").as_deref(), Some("abc"));
        assert_eq!(m("[mysql]\npassword=abc\n"), None);
        assert_eq!(
            m("[client]\nuser=x\npassword = \"a#b c\" # note\n").as_deref(),
            Some("a#b c")
        );
        assert_eq!(m("[client]\npassword=ab # note\n").as_deref(), Some("ab"));
        assert_eq!(
            m("[client]\npassword='a\\'b\\\\c'\n").as_deref(),
            Some("a'b\\c")
        );
        assert_eq!(
            m("[client]\npassword=one\n[mysqldump]\npassword=no\n[CLIENT]\npassword=two\n")
                .as_deref(),
            Some("two")
        );
        assert_eq!(m("[client]\npassword\n"), None);
        assert_eq!(m("; c\n[client]\n# password=no\n"), None);
    }

    #[test]
    fn precedence_and_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_str().unwrap().to_string();
        let pgpass = dir.path().join(".pgpass");
        std::fs::write(&pgpass, "*:*:*:*:from-pgpass\n").unwrap();
        let set_mode =
            |m| std::fs::set_permissions(&pgpass, std::fs::Permissions::from_mode(m)).unwrap();
        let pwfile = dir.path().join("pw");
        std::fs::write(&pwfile, "from-file\r\nsecond\n").unwrap();
        let k = key("h", "d", "u");
        let no_env = |v: &str| (v == "HOME").then(|| home.clone());
        let with_env = |v: &str| match v {
            "HOME" => Some(home.clone()),
            "PGPASSWORD" => Some("from-env".into()),
            _ => None,
        };
        set_mode(0o600);
        let r = |f: Option<&Path>, e: &dyn Fn(&str) -> Option<String>| resolve(&k, f, e).unwrap();
        assert_eq!(r(Some(&pwfile), &with_env).as_deref(), Some("from-file"));
        assert_eq!(r(None, &with_env).as_deref(), Some("from-env"));
        assert_eq!(r(None, &no_env).as_deref(), Some("from-pgpass"));
        set_mode(0o640);
        assert_eq!(r(None, &no_env), None);
        set_mode(0o604);
        assert_eq!(r(None, &no_env), None);
        let missing = dir.path().join("missing");
        assert!(resolve(&k, Some(&missing), &no_env).is_err());
        // PGPASSFILE replaces ~/.pgpass.
        let other = dir.path().join("other");
        std::fs::write(&other, "*:*:*:*:from-pgpassfile\n").unwrap();
        std::fs::set_permissions(&other, std::fs::Permissions::from_mode(0o600)).unwrap();
        let other_s = other.to_str().unwrap().to_string();
        let pgpassfile = |v: &str| match v {
            "HOME" => Some(home.clone()),
            "PGPASSFILE" => Some(other_s.clone()),
            _ => None,
        };
        assert_eq!(r(None, &pgpassfile).as_deref(), Some("from-pgpassfile"));
    }
}
