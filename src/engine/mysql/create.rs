//! Reading `SHOW CREATE TABLE` output: its definitions, and what each one is.

use crate::model::ForeignKey;

/// A `SHOW CREATE TABLE` statement cut into its definitions.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct CreateParts {
    /// `CREATE TABLE `t` (`
    pub(super) head: String,
    /// Column and key definitions, without separating commas.
    pub(super) defs: Vec<String>,
    /// `) ENGINE=... ` and anything after.
    pub(super) tail: String,
}

/// Starts of definitions that are not columns.
const DEF_STARTS: &[&str] = &[
    "PRIMARY KEY",
    "UNIQUE KEY",
    "UNIQUE INDEX",
    "KEY ",
    "INDEX ",
    "FULLTEXT ",
    "SPATIAL ",
    "VECTOR ",
    "CONSTRAINT ",
    "CHECK ",
    "PERIOD FOR",
];

/// Cut a `SHOW CREATE TABLE` statement into its definitions; `None` if it
/// does not have the expected shape.
pub(super) fn parse_create(ddl: &str) -> Option<CreateParts> {
    let mut lines = ddl.lines();
    let head = lines.next()?.to_string();
    if !head.trim_end().ends_with('(') {
        return None;
    }
    let rest: Vec<&str> = lines.collect();
    // The tail starts at the last line that begins with ')'.
    let tail_at = rest.iter().rposition(|l| l.starts_with(')'))?;
    let mut defs: Vec<String> = Vec::new();
    for l in &rest[..tail_at] {
        let t = l.trim_start();
        let new_def = l.starts_with("  ")
            && (t.starts_with('`') || DEF_STARTS.iter().any(|s| t.starts_with(s)));
        if new_def || defs.is_empty() {
            defs.push(t.to_string());
        } else if let Some(last) = defs.last_mut() {
            last.push('\n');
            last.push_str(l);
        }
    }
    for d in defs.iter_mut() {
        if d.ends_with(',') {
            d.pop();
        }
    }
    Some(CreateParts {
        head,
        defs,
        tail: rest[tail_at..].join("\n"),
    })
}

impl CreateParts {
    /// The statement again, with the definitions as they are now.
    pub(super) fn render(&self) -> String {
        format!(
            "{}\n  {}\n{}",
            self.head,
            self.defs.join(",\n  "),
            self.tail
        )
    }
}

/// Read a backquoted identifier at the start of `s`; returns it and the rest.
pub(super) fn take_ident(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let body = s.strip_prefix('`')?;
    let mut out = String::new();
    let mut chars = body.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '`' {
            if let Some(&(_, '`')) = chars.peek() {
                out.push('`');
                chars.next();
                continue;
            }
            return Some((out, &body[i + 1..]));
        }
        out.push(c);
    }
    None
}

/// The identifiers at the top level of the first parenthesised list in `s`,
/// and the rest after it.
fn ident_list(s: &str) -> (Vec<String>, &str) {
    let Some(open) = s.find('(') else {
        return (vec![], s);
    };
    let mut out = Vec::new();
    let mut depth = 0;
    let mut i = open;
    let bytes = s.as_bytes();
    while i < bytes.len() {
        match bytes[i] {
            b'(' => depth += 1,
            b')' => {
                depth -= 1;
                if depth == 0 {
                    return (out, &s[i + 1..]);
                }
            }
            b'`' => match take_ident(&s[i..]) {
                Some((id, after)) => {
                    if depth == 1 {
                        out.push(id);
                    }
                    i = s.len() - after.len();
                    continue;
                }
                None => return (out, ""),
            },
            b'\'' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'\'' {
                    i += 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    (out, "")
}

/// What a `SHOW CREATE TABLE` definition is.
#[derive(Debug, PartialEq)]
pub(super) enum DefKind {
    Column,
    Primary(Vec<String>),
    Unique(String, Vec<String>),
    /// Name, columns, and `fulltext`/`spatial`/`vector` for those kinds.
    Index(String, Vec<String>, Option<String>),
    Foreign(ForeignKey),
    Check(String),
}

/// What `def`, one definition of a `SHOW CREATE TABLE`, is.
pub(super) fn classify(def: &str) -> DefKind {
    if def.starts_with('`') {
        return DefKind::Column;
    }
    if let Some(r) = def.strip_prefix("PRIMARY KEY") {
        return DefKind::Primary(ident_list(r).0);
    }
    for p in ["UNIQUE KEY", "UNIQUE INDEX"] {
        if let Some(r) = def.strip_prefix(p) {
            let (name, r) = take_ident(r).unwrap_or_default();
            return DefKind::Unique(name, ident_list(r).0);
        }
    }
    for p in [
        "KEY",
        "INDEX",
        "FULLTEXT KEY",
        "FULLTEXT INDEX",
        "SPATIAL KEY",
        "SPATIAL INDEX",
        "VECTOR KEY",
        "VECTOR INDEX",
    ] {
        if let Some(r) = def.strip_prefix(p) {
            if r.starts_with(' ') {
                let (name, r) = take_ident(r).unwrap_or_default();
                let method = p.split_once(' ').map(|(kind, _)| kind.to_ascii_lowercase());
                return DefKind::Index(name, ident_list(r).0, method);
            }
        }
    }
    if let Some(r) = def.strip_prefix("CONSTRAINT") {
        if let Some((name, r)) = take_ident(r) {
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix("FOREIGN KEY") {
                let (columns, r) = ident_list(r);
                let r = r.trim_start().strip_prefix("REFERENCES").unwrap_or(r);
                // `db`.`t` or `t`
                let mut ref_table = String::new();
                let mut r2 = r;
                while let Some((id, after)) = take_ident(r2) {
                    ref_table = id;
                    r2 = after.strip_prefix('.').unwrap_or(after);
                    if !after.starts_with('.') {
                        break;
                    }
                }
                let (ref_columns, actions) = ident_list(r2);
                let action = |kw: &str| -> Option<String> {
                    let at = actions.find(kw)? + kw.len();
                    let a = actions[at..].trim_start();
                    [
                        "SET NULL",
                        "SET DEFAULT",
                        "NO ACTION",
                        "CASCADE",
                        "RESTRICT",
                    ]
                    .iter()
                    .find(|x| a.starts_with(*x))
                    .map(|x| x.to_string())
                };
                return DefKind::Foreign(ForeignKey {
                    name,
                    columns,
                    ref_table,
                    ref_columns,
                    on_delete: action("ON DELETE"),
                    on_update: action("ON UPDATE"),
                    deferrable: None,
                    native: Some(def.to_string()),
                });
            }
            return DefKind::Check(name);
        }
    }
    if def.starts_with("CHECK") {
        return DefKind::Check(String::new());
    }
    DefKind::Column
}

#[cfg(test)]
mod tests {
    use super::*;

    const DDL: &str = "CREATE TABLE `t` (
  `id` int(11) NOT NULL AUTO_INCREMENT,
  `a` varchar(10) DEFAULT 'x,y',
  `p` int(11) DEFAULT NULL,
  PRIMARY KEY (`id`),
  UNIQUE KEY `a_u` (`a`(5),`p`),
  KEY `p_i` (`p`) COMMENT 'c',
  CONSTRAINT `fk``1` FOREIGN KEY (`p`) REFERENCES `o`.`par` (`id`) ON DELETE CASCADE,
  CONSTRAINT `chk` CHECK (`p` > 0)
) ENGINE=InnoDB AUTO_INCREMENT=42 DEFAULT CHARSET=utf8mb4";

    #[test]
    fn parses_show_create() {
        let p = parse_create(DDL).unwrap();
        assert_eq!(p.defs.len(), 8);
        assert_eq!(p.render(), DDL);
        assert_eq!(classify(&p.defs[0]), DefKind::Column);
        assert_eq!(classify(&p.defs[3]), DefKind::Primary(vec!["id".into()]));
        assert_eq!(
            classify(&p.defs[4]),
            DefKind::Unique("a_u".into(), vec!["a".into(), "p".into()])
        );
        assert_eq!(
            classify(&p.defs[5]),
            DefKind::Index("p_i".into(), vec!["p".into()], None)
        );
        match classify(&p.defs[6]) {
            DefKind::Foreign(f) => {
                assert_eq!(f.name, "fk`1");
                assert_eq!(f.columns, vec!["p"]);
                assert_eq!(f.ref_table, "par");
                assert_eq!(f.ref_columns, vec!["id"]);
                assert_eq!(f.on_delete.as_deref(), Some("CASCADE"));
                assert_eq!(f.on_update, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(classify(&p.defs[7]), DefKind::Check("chk".into()));
    }
}
