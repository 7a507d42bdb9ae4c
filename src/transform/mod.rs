//! Backfill rules: values computed in the row stream for target columns the
//! archive has no (or an empty) value for. Engine-independent.
//!
//! A rule is `table.column=EXPR`, EXPR one of `sha256_hex(col)`,
//! `sha1_hex(col)`, `md5_hex(col)`, `lower(col)`, `upper(col)`, `uuid()`,
//! `now()`, a quoted literal (`'text'`), a number, or another column's name.
//! A rule fills a column that the archive lacks, and, where the archive has
//! the column, each value that is NULL or empty.

use crate::archive::codec::{CodecError, Field};
use crate::stream::Rows;
use serde::Deserialize;
use sha2::Digest;
use std::collections::BTreeMap;
use thiserror::Error;

/// A rule or rules file that does not parse.
#[derive(Debug, Error)]
#[error("backfill rule {rule:?}: {reason}")]
pub struct RuleError {
    pub rule: String,
    pub reason: String,
}

/// A backfill expression.
#[derive(Debug, Clone, PartialEq, serde::Serialize, Deserialize)]
pub enum Expr {
    Sha256Hex(String),
    Sha1Hex(String),
    Md5Hex(String),
    Lower(String),
    Upper(String),
    Uuid,
    Now,
    Literal(String),
    Column(String),
}

impl Expr {
    /// Parse an expression.
    pub fn parse(s: &str) -> Result<Expr, String> {
        let s = s.trim();
        if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            return Ok(Expr::Literal(inner.replace("''", "'")));
        }
        if !s.is_empty() && s.parse::<f64>().is_ok() {
            return Ok(Expr::Literal(s.to_string()));
        }
        if let Some((func, rest)) = s.split_once('(') {
            let arg = rest
                .strip_suffix(')')
                .ok_or("missing ')'")?
                .trim()
                .to_string();
            let need_arg = |e: fn(String) -> Expr| {
                if arg.is_empty() || !is_ident(&arg) {
                    Err(format!("{func}() takes a column name"))
                } else {
                    Ok(e(arg.clone()))
                }
            };
            return match func.trim().to_ascii_lowercase().as_str() {
                "sha256_hex" => need_arg(Expr::Sha256Hex),
                "sha1_hex" => need_arg(Expr::Sha1Hex),
                "md5_hex" => need_arg(Expr::Md5Hex),
                "lower" => need_arg(Expr::Lower),
                "upper" => need_arg(Expr::Upper),
                "uuid" if arg.is_empty() => Ok(Expr::Uuid),
                "now" if arg.is_empty() => Ok(Expr::Now),
                f => Err(format!(
                    "unknown function {f}(); known: sha256_hex, sha1_hex, md5_hex, lower, upper, uuid, now"
                )),
            };
        }
        if is_ident(s) {
            return Ok(Expr::Column(s.to_string()));
        }
        Err("expected a function, a 'quoted literal', a number or a column name".into())
    }

    /// The archive column this expression reads, if any.
    pub fn input(&self) -> Option<&str> {
        match self {
            Expr::Sha256Hex(c)
            | Expr::Sha1Hex(c)
            | Expr::Md5Hex(c)
            | Expr::Lower(c)
            | Expr::Upper(c)
            | Expr::Column(c) => Some(c),
            _ => None,
        }
    }

    /// Compute into `out`; `input` is the value of [`Expr::input`]'s column.
    /// Returns false for NULL (a NULL input gives NULL).
    pub fn eval(&self, input: Option<&[u8]>, out: &mut Vec<u8>) -> bool {
        out.clear();
        let hex = |out: &mut Vec<u8>, d: &[u8]| crate::archive::codec::push_hex(out, d);
        match self {
            Expr::Literal(s) => out.extend_from_slice(s.as_bytes()),
            Expr::Uuid => out.extend_from_slice(uuid::Uuid::new_v4().to_string().as_bytes()),
            Expr::Now => out.extend_from_slice(
                humantime::format_rfc3339_seconds(std::time::SystemTime::now())
                    .to_string()
                    .replace('T', " ")
                    .trim_end_matches('Z')
                    .as_bytes(),
            ),
            other => {
                let Some(v) = input else { return false };
                match other {
                    Expr::Sha256Hex(_) => hex(out, &sha2::Sha256::digest(v)),
                    Expr::Sha1Hex(_) => hex(out, &sha1::Sha1::digest(v)),
                    Expr::Md5Hex(_) => hex(out, &md5::Md5::digest(v)),
                    Expr::Lower(_) => out.extend_from_slice(&v.to_ascii_lowercase()),
                    Expr::Upper(_) => out.extend_from_slice(&v.to_ascii_uppercase()),
                    _ => out.extend_from_slice(v),
                }
            }
        }
        true
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// One rule: fill `table.column` with `expr`.
#[derive(Debug, Clone, PartialEq)]
pub struct Backfill {
    pub table: String,
    pub column: String,
    pub expr: Expr,
    /// The rule as written, for messages.
    pub text: String,
}

impl Backfill {
    /// Parse `table.column=EXPR`.
    pub fn parse(rule: &str) -> Result<Backfill, RuleError> {
        let err = |reason: &str| RuleError {
            rule: rule.to_string(),
            reason: reason.to_string(),
        };
        let (target, expr) = rule
            .split_once('=')
            .ok_or_else(|| err("expected table.column=EXPR"))?;
        let (table, column) = target
            .trim()
            .rsplit_once('.')
            .ok_or_else(|| err("expected table.column before '='"))?;
        let expr = Expr::parse(expr).map_err(|r| err(&r))?;
        Ok(Backfill {
            table: table.to_string(),
            column: column.to_string(),
            expr,
            text: rule.to_string(),
        })
    }
}

/// A rules file or shipped profile (TOML).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rules {
    /// What the rules are for.
    #[serde(default)]
    pub description: String,
    /// `"table.column" = "EXPR"`.
    #[serde(default)]
    pub backfill: BTreeMap<String, String>,
    /// Tables whose target rows are kept and whose archived rows are not
    /// loaded (an app's own schema-version table, for example).
    #[serde(default)]
    pub keep_target: Vec<String>,
}

/// Profiles for known apps, shipped inside haul.
pub const PROFILES: &[(&str, &str)] = &[("gogs", include_str!("../../profiles/gogs.toml"))];

impl Rules {
    /// Parse a rules file's text; `name` is for messages.
    pub fn parse(name: &str, text: &str) -> Result<Rules, RuleError> {
        let rules: Rules = toml::from_str(text).map_err(|e| RuleError {
            rule: name.to_string(),
            reason: e.to_string(),
        })?;
        rules.backfills()?;
        Ok(rules)
    }

    /// A shipped profile by name.
    pub fn profile(name: &str) -> Result<Rules, RuleError> {
        let (_, text) = PROFILES
            .iter()
            .find(|(n, _)| *n == name)
            .ok_or_else(|| RuleError {
                rule: format!("--profile {name}"),
                reason: format!(
                    "no such profile; known: {}",
                    PROFILES.iter().map(|p| p.0).collect::<Vec<_>>().join(", ")
                ),
            })?;
        Rules::parse(name, text)
    }

    pub fn backfills(&self) -> Result<Vec<Backfill>, RuleError> {
        self.backfill
            .iter()
            .map(|(k, v)| Backfill::parse(&format!("{k}={v}")))
            .collect()
    }
}

/// How one loaded column gets its value.
#[derive(Debug, Clone, serde::Serialize, Deserialize)]
pub enum OutColumn {
    /// Archive field `.0`, as is.
    Archive(usize),
    /// Computed; where `from` names an archive field, only when that value is
    /// NULL or empty.
    Backfill {
        expr: Expr,
        input: Option<usize>,
        from: Option<usize>,
    },
}

/// Archive rows mapped onto the target's columns, with backfills computed.
pub struct MappedRows<'a> {
    inner: &'a mut dyn Rows,
    cols: &'a [OutColumn],
    bufs: Vec<Vec<u8>>,
    /// Per output column: computed for this row (else taken from the archive),
    /// and whether the computed value is NULL.
    computed: Vec<(bool, bool)>,
}

impl<'a> MappedRows<'a> {
    pub fn new(inner: &'a mut dyn Rows, cols: &'a [OutColumn]) -> Self {
        MappedRows {
            inner,
            cols,
            bufs: vec![Vec::new(); cols.len()],
            computed: vec![(false, false); cols.len()],
        }
    }
}

fn value<'f>(f: Field<'f>) -> Option<&'f [u8]> {
    match f {
        Field::Null => None,
        Field::Value(v) | Field::Tagged(_, v) => Some(v),
    }
}

impl Rows for MappedRows<'_> {
    fn next_row(&mut self) -> Result<bool, CodecError> {
        if !self.inner.next_row()? {
            return Ok(false);
        }
        for (i, c) in self.cols.iter().enumerate() {
            if let OutColumn::Backfill { expr, input, from } = c {
                let missing = match from {
                    None => true,
                    Some(f) => value(self.inner.field(*f)?).is_none_or(|v| v.is_empty()),
                };
                if missing {
                    let arg = match input {
                        Some(k) => value(self.inner.field(*k)?),
                        None => None,
                    };
                    let not_null = expr.eval(arg, &mut self.bufs[i]);
                    self.computed[i] = (true, !not_null);
                } else {
                    self.computed[i] = (false, false);
                }
            }
        }
        Ok(true)
    }

    fn field(&self, i: usize) -> Result<Field<'_>, CodecError> {
        match &self.cols[i] {
            OutColumn::Archive(k) => self.inner.field(*k),
            OutColumn::Backfill { from, .. } => match self.computed[i] {
                (true, true) => Ok(Field::Null),
                (true, false) => Ok(Field::Value(&self.bufs[i])),
                (false, _) => self.inner.field(from.unwrap_or(0)),
            },
        }
    }

    fn width(&self) -> usize {
        self.cols.len()
    }

    fn row_number(&self) -> u64 {
        self.inner.row_number()
    }
    fn raw_csv(&self) -> Option<&[u8]> {
        let identity = self
            .cols
            .iter()
            .enumerate()
            .all(|(i, c)| matches!(c, OutColumn::Archive(k) if *k == i));
        let csv = self.inner.raw_csv()?;
        (identity && self.cols.len() == self.inner.width()).then_some(csv)
    }
    fn csv_len(&self) -> usize {
        self.inner.csv_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::codec::ChunkEncoder;
    use crate::stream::ChunkRows;

    #[test]
    fn parses_rules() {
        let b = Backfill::parse("access_token.sha256=sha256_hex(sha1)").unwrap();
        assert_eq!(b.table, "access_token");
        assert_eq!(b.column, "sha256");
        assert_eq!(b.expr, Expr::Sha256Hex("sha1".into()));
        assert_eq!(
            Expr::parse("'it''s'").unwrap(),
            Expr::Literal("it's".into())
        );
        assert_eq!(Expr::parse("42").unwrap(), Expr::Literal("42".into()));
        assert_eq!(Expr::parse("name").unwrap(), Expr::Column("name".into()));
        assert_eq!(Expr::parse("uuid()").unwrap(), Expr::Uuid);
        assert!(Backfill::parse("nodot=lower(x)").is_err());
        assert!(Expr::parse("frobnicate(x)").is_err());
        assert!(Expr::parse("sha256_hex()").is_err());
    }

    #[test]
    fn gogs_formula() {
        // lower hex of SHA-256 over the sha1 column's text, as Gogs 0.13's
        // migration computes it.
        let mut out = Vec::new();
        assert!(Expr::Sha256Hex("sha1".into()).eval(Some(b"abc"), &mut out));
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let mut out = Vec::new();
        assert!(
            !Expr::Md5Hex("x".into()).eval(None, &mut out),
            "NULL in, NULL out"
        );
    }

    #[test]
    fn shipped_profiles_parse() {
        for (name, _) in PROFILES {
            let r = Rules::profile(name).unwrap();
            assert!(!r.backfill.is_empty() || !r.keep_target.is_empty());
        }
    }

    #[test]
    fn mapped_rows_fill_missing_and_empty() {
        let mut e = ChunkEncoder::new(64);
        for (id, sha1, sha256) in [("1", "abc", None), ("2", "def", Some("kept"))] {
            e.text(id.as_bytes());
            e.text(sha1.as_bytes());
            match sha256 {
                Some(v) => e.text(v.as_bytes()),
                None => e.text(b""),
            }
            e.end_row();
        }
        let (csv, _) = e.take();
        let mut inner = ChunkRows::new(&csv, 3);
        let cols = vec![
            OutColumn::Archive(0),
            OutColumn::Backfill {
                expr: Expr::Upper("sha1".into()),
                input: Some(1),
                from: Some(2),
            },
        ];
        let mut m = MappedRows::new(&mut inner, &cols);
        assert!(m.next_row().unwrap());
        assert_eq!(m.field(1).unwrap(), Field::Value(b"ABC"));
        assert!(m.next_row().unwrap());
        assert_eq!(m.field(1).unwrap(), Field::Value(b"kept"));
        assert_eq!(m.field(0).unwrap(), Field::Value(b"2"));
        assert!(!m.next_row().unwrap());
    }
}
