//! The neutral schema model: what every engine introspects into and renders
//! DDL from.
//!
//! Each object carries both a neutral description (types, column lists) that a
//! cross-engine restore maps from, and the native text it had on the source
//! engine, which a same-engine restore replays verbatim for exact fidelity.

mod constraint;
pub mod objects;
pub use constraint::Constraint;
pub use objects::{ObjectRef, Role, Section};

use serde::{Deserialize, Serialize};
use std::fmt;

/// The engines haul knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EngineKind {
    Postgres,
    Sqlite,
    Mysql,
}

impl fmt::Display for EngineKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EngineKind::Postgres => "postgres",
            EngineKind::Sqlite => "sqlite",
            EngineKind::Mysql => "mysql",
        })
    }
}

/// A whole database as dumped: its tables plus engine-level objects that
/// tables depend on (enum types, sequences) or that follow the data (views,
/// triggers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schema {
    pub tables: Vec<Table>,
    /// Named enum types (PostgreSQL `CREATE TYPE ... AS ENUM`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enums: Vec<EnumType>,
    /// Sequences not owned by a column (owned ones live on their column).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sequences: Vec<Sequence>,
    /// Every other object (types, functions, views, triggers, policies,
    /// grants, comments...), replayed same-engine only, in the order
    /// [`objects::creation_order`] gives.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extras: Vec<NativeObject>,
    /// The roles the objects name (owners, grantees, policies), with their
    /// attributes but never a password, for `restore --create-roles`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Role>,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
}

/// One table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub primary_key: Option<Key>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub uniques: Vec<Key>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub indexes: Vec<Index>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub foreign_keys: Vec<ForeignKey>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<Check>,
    /// The next value the table's auto-increment counter would hand out
    /// (MySQL `AUTO_INCREMENT=`, SQLite `sqlite_sequence` + 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment_next: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// The source's own `CREATE TABLE` statement where the engine keeps one
    /// (SQLite); a same-engine restore replays it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native_ddl: Option<String>,
    /// Engine-specific table options (MySQL engine, charset, collation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<(String, String)>,
    /// Estimated number of rows at introspection time (for progress only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub estimated_rows: Option<u64>,
    /// Tables this one inherits from (PostgreSQL `INHERITS`), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub inherits: Vec<String>,
}

impl Table {
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// Columns that carry data in the archive (generated columns do not:
    /// the target recomputes them).
    pub fn data_columns(&self) -> impl Iterator<Item = &Column> {
        self.columns.iter().filter(|c| c.generated.is_none())
    }
}

/// One column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    /// The engine-independent type.
    #[serde(rename = "type")]
    pub ty: NeutralType,
    /// The type exactly as the source engine spells it.
    pub native_type: String,
    pub nullable: bool,
    /// Default expression in the source engine's syntax.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_increment: Option<AutoIncrement>,
    /// Generation expression of a generated (computed) column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated: Option<Generated>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collation: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Comes from a parent table only (PostgreSQL inheritance): the
    /// table's own definition leaves it out, its rows carry it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub inherited: bool,
}

/// Engine-independent column types. Cross-engine restore maps through these;
/// `docs/types.md` is the table of how.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum NeutralType {
    Bool,
    Int {
        bytes: u8,
        #[serde(default, skip_serializing_if = "is_false")]
        unsigned: bool,
    },
    Decimal {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        precision: Option<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        scale: Option<u32>,
    },
    Float {
        bytes: u8,
    },
    Text {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_chars: Option<u64>,
        #[serde(default, skip_serializing_if = "is_false")]
        fixed: bool,
    },
    Binary {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_bytes: Option<u64>,
        #[serde(default, skip_serializing_if = "is_false")]
        fixed: bool,
    },
    Date,
    Time {
        #[serde(default, skip_serializing_if = "is_false")]
        tz: bool,
    },
    Timestamp {
        #[serde(default, skip_serializing_if = "is_false")]
        tz: bool,
    },
    Interval,
    Uuid,
    Json {
        #[serde(default, skip_serializing_if = "is_false")]
        binary: bool,
    },
    Enum {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        name: Option<String>,
        values: Vec<String>,
    },
    Set {
        values: Vec<String>,
    },
    Array {
        element: Box<NeutralType>,
    },
    Bits {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        length: Option<u32>,
    },
    /// SQLite's typeless column: any storage class per value.
    Any,
    /// Something haul passes through as text without understanding it
    /// (inet, geometry, ranges, ...); `native_type` says what.
    Other,
}

fn is_false(b: &bool) -> bool {
    !*b
}

impl NeutralType {
    /// Whether values of this type are stored hex-encoded in the archive.
    pub fn is_binary(&self) -> bool {
        matches!(self, NeutralType::Binary { .. })
    }
}

/// How a column gets automatic values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AutoIncrement {
    /// PostgreSQL: `serial`-style owned sequence, or an identity column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<Sequence>,
    /// PostgreSQL identity: `always` or `by default`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub identity: Option<String>,
}

/// A sequence and its position.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sequence {
    pub name: String,
    /// Native options (`AS integer INCREMENT BY 1 ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_value: Option<i64>,
    #[serde(default)]
    pub is_called: bool,
}

/// A generated column's expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Generated {
    pub expression: String,
    /// Stored (materialised) or virtual.
    pub stored: bool,
}

/// A primary key or unique constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Key {
    pub name: String,
    pub columns: Vec<String>,
    /// Native definition (`PRIMARY KEY (id)`, `UNIQUE (a, b)`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<String>,
}

/// A secondary (non-constraint) index.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub name: String,
    pub columns: Vec<String>,
    pub unique: bool,
    /// Native `CREATE INDEX` statement.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<String>,
}

/// A foreign key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_delete: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_update: Option<String>,
    /// Native definition (`FOREIGN KEY (a) REFERENCES t(b) ...`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub native: Option<String>,
}

/// A check constraint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub name: String,
    /// Native definition (`CHECK (x > 0)`).
    pub native: String,
}

/// An enum type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnumType {
    pub name: String,
    pub values: Vec<String>,
}

/// An object other than a table, replayed verbatim (one statement) on a
/// same-engine restore.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NativeObject {
    pub kind: String,
    pub name: String,
    /// The table it belongs to (triggers, policies, a table's grants): it
    /// goes with that table.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    pub ddl: String,
    /// The schema it lives in, where the engine has schemas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Before or after the data; archives without it are ordered by kind
    /// ([`objects::creation_order`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<Section>,
    /// The objects and tables it needs to exist first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends: Vec<ObjectRef>,
    /// The roles its statement names (owner, grantee, policy roles): left
    /// out, with a warning, where the target lacks one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<String>,
}

impl NativeObject {
    /// What other objects name it by in their `depends`.
    pub fn key(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.clone(),
            schema: self.schema.clone(),
            name: self.name.clone(),
            table: self.table.clone(),
        }
    }

    /// How a person names it: `kind name` (`on table` for a table's).
    pub fn describe(&self) -> String {
        match self.kind.as_str() {
            // The statement says it all.
            "grant" => return self.name.clone(),
            "owner" => return format!("owner of {}", self.name),
            "comment" | "security label" => return format!("{} {}", self.kind, self.name),
            _ => {}
        }
        match &self.table {
            Some(t) if !self.name.contains(" ON ") && !self.name.contains(" on ") => {
                format!("{} {} on {t}", self.kind, self.name)
            }
            _ => format!("{} {}", self.kind, self.name),
        }
    }
}

/// Which tables a dump or restore covers.
#[derive(Debug, Clone, Default)]
pub struct TableFilter {
    /// Only these (empty: all).
    pub include: Vec<String>,
    pub exclude: Vec<String>,
}

impl TableFilter {
    pub fn wants(&self, name: &str) -> bool {
        (self.include.is_empty() || self.include.iter().any(|t| t == name))
            && !self.exclude.iter().any(|t| t == name)
    }
}

/// A default another engine can take: a plain value or the current time.
#[derive(Debug, Clone, PartialEq)]
pub enum PortableDefault {
    /// A number, as written.
    Number(String),
    /// A string's value (not quoted).
    Text(String),
    Bool(bool),
    /// The current time (on a timestamp column).
    Now,
}

/// A column default (in the syntax of `from`) as a plain value (a number,
/// a string, a boolean) or the current time; `None` for expressions only the
/// source engine understands (they are left out, and the column gets no
/// default).
pub fn portable_default(
    default: &str,
    ty: &NeutralType,
    from: EngineKind,
) -> Option<PortableDefault> {
    let d = default.trim();
    // PostgreSQL casts: 'x'::character varying, (0)::numeric.
    let d = match d.find("::") {
        Some(i) if !d[..i].contains('\'') || d[..i].ends_with('\'') => d[..i].trim(),
        _ => d,
    };
    let d = d
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .unwrap_or(d);
    let lower = d.to_ascii_lowercase();
    if lower == "null" {
        return None;
    }
    if matches!(
        lower.as_str(),
        "current_timestamp" | "current_timestamp()" | "now()" | "localtimestamp"
    ) {
        return match ty {
            NeutralType::Timestamp { .. } => Some(PortableDefault::Now),
            _ => None,
        };
    }
    if matches!(ty, NeutralType::Bool) {
        return match lower.trim_matches('\'') {
            "1" | "true" | "t" | "b'1'" => Some(PortableDefault::Bool(true)),
            "0" | "false" | "f" | "b'0'" => Some(PortableDefault::Bool(false)),
            _ => None,
        };
    }
    let number = !d.is_empty()
        && d.trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
        && d.trim_start_matches('-')
            .chars()
            .any(|c| c.is_ascii_digit());
    if number {
        return Some(PortableDefault::Number(d.to_string()));
    }
    unquote(from, d).map(PortableDefault::Text)
}

/// The value of one string literal as `engine` writes it (`'a''b'`; MySQL
/// also reads `\` escapes), or `None` if `text` is not exactly one literal.
pub fn unquote(engine: EngineKind, text: &str) -> Option<String> {
    let body = text.strip_prefix('\'')?.strip_suffix('\'')?;
    let mut out = String::new();
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                if chars.next() != Some('\'') {
                    return None;
                }
                out.push('\'');
            }
            '\\' if engine == EngineKind::Mysql => out.push(match chars.next()? {
                '0' => '\0',
                'n' => '\n',
                'r' => '\r',
                't' => '\t',
                'b' => '\u{8}',
                'Z' => '\u{1a}',
                other => other,
            }),
            c => out.push(c),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_type_json_is_tagged() {
        let t = NeutralType::Int {
            bytes: 8,
            unsigned: true,
        };
        let j = serde_json::to_string(&t).unwrap();
        assert_eq!(j, r#"{"kind":"int","bytes":8,"unsigned":true}"#);
        let back: NeutralType = serde_json::from_str(&j).unwrap();
        assert_eq!(back, t);
    }

    #[test]
    fn filter() {
        let f = TableFilter {
            include: vec![],
            exclude: vec!["b".into()],
        };
        assert!(f.wants("a"));
        assert!(!f.wants("b"));
    }

    #[test]
    fn portable_defaults() {
        use PortableDefault::*;
        let text = NeutralType::Text {
            max_chars: None,
            fixed: false,
        };
        let pg = EngineKind::Postgres;
        let my = EngineKind::Mysql;
        let t = |s: &str| Some(Text(s.to_string()));
        assert_eq!(portable_default("''::character varying", &text, pg), t(""));
        assert_eq!(
            portable_default("'a''b'", &text, EngineKind::Sqlite),
            t("a'b")
        );
        assert_eq!(portable_default(r"'C:\temp'", &text, pg), t(r"C:\temp"));
        assert_eq!(portable_default(r"'x\'::text", &text, pg), t(r"x\"));
        assert_eq!(portable_default(r"'C:\\temp'", &text, my), t(r"C:\temp"));
        assert_eq!(portable_default("'a' || 'b'", &text, pg), None);
        assert_eq!(portable_default("NULL", &text, pg), None);
        assert_eq!(
            portable_default("nextval('t_id_seq'::regclass)", &text, pg),
            None
        );
        let int = NeutralType::Int {
            bytes: 4,
            unsigned: false,
        };
        assert_eq!(portable_default("0", &int, pg), Some(Number("0".into())));
        assert_eq!(
            portable_default("(-5)", &int, pg),
            Some(Number("-5".into()))
        );
        assert_eq!(
            portable_default("1", &NeutralType::Bool, pg),
            Some(Bool(true))
        );
        assert_eq!(
            portable_default("true", &NeutralType::Bool, my),
            Some(Bool(true))
        );
        assert_eq!(
            portable_default(
                "current_timestamp()",
                &NeutralType::Timestamp { tz: false },
                pg
            ),
            Some(Now)
        );
        assert_eq!(portable_default("uuid()", &text, pg), None);
    }
}
