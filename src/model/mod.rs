//! The neutral schema model: what every engine introspects into and renders
//! DDL from.
//!
//! Each object carries both a neutral description (types, column lists) that a
//! cross-engine restore maps from, and the native text it had on the source
//! engine, which a same-engine restore replays verbatim for exact fidelity.

mod constraint;
pub mod objects;
pub use constraint::Constraint;
pub use objects::{LargeObject, ObjectRef, Role, Section, LARGE_OBJECTS};

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
    /// Large objects (bytes stored outside any table, named by number),
    /// whose bytes are the archive's [`LARGE_OBJECTS`] stream.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub large_objects: Vec<LargeObject>,
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
    /// Whether it is a partitioned table (PostgreSQL `PARTITION BY`): it
    /// holds no rows, its partitions (tables inheriting from it) do.
    pub fn is_partitioned(&self) -> bool {
        self.options.iter().any(|(k, _)| k == "partition_by")
    }

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
    /// MySQL `ON UPDATE CURRENT_TIMESTAMP`: an update that changes the row
    /// but not this column sets it to the current time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_update_now: bool,
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
    /// An IP address (PostgreSQL `inet`, MariaDB `INET4`, `INET6`).
    Inet,
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
    /// A partial index's condition, in the source engine's SQL: the index
    /// covers only the rows it holds for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub predicate: Option<String>,
    /// An index other than a plain ordered one, in lower case: MySQL's
    /// `fulltext`, `spatial`, `vector`; PostgreSQL's access method where it
    /// is not `btree` (`gin`, `gist`, `hash`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
}

impl Index {
    /// Whether the index is on an expression (a column named `(...)`).
    pub fn on_expression(&self) -> bool {
        self.columns.iter().any(|c| c.starts_with('('))
    }

    /// Why engine `to` cannot build it from another engine's archive:
    /// partial, on an expression, or of a kind it has no equivalent for
    /// (a FULLTEXT index becomes a text-search GIN index on PostgreSQL;
    /// hash and BRIN indexes become plain ones); `None` if it can.
    pub fn portability_problem(&self, to: EngineKind) -> Option<String> {
        if let Some(p) = &self.predicate {
            return Some(format!("partial (WHERE {p})"));
        }
        if self.on_expression() {
            return Some("on an expression".into());
        }
        match self.method.as_deref() {
            None | Some("btree" | "hash" | "brin") => None,
            Some("fulltext") if to == EngineKind::Postgres => None,
            Some(m) => Some(format!("a {} index", m.to_ascii_uppercase())),
        }
    }
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
    /// `DEFERRABLE`: `Some(true)` checked at commit (`INITIALLY DEFERRED`),
    /// `Some(false)` at each statement unless deferred; `None` not
    /// deferrable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deferrable: Option<bool>,
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
    /// Session settings the object was created under, which a restore
    /// creates it under again (MySQL `sql_mode`, `character_set_client`,
    /// `collation_connection`, `collation_database`, `time_zone`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub settings: Vec<(String, String)>,
    /// The account the object runs as (MySQL `user@host`, as
    /// information_schema writes it), kept out of `ddl`: a restore creates
    /// the object as the restoring user unless told to keep it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub definer: Option<String>,
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
    /// Only these schemas (empty: every user schema; PostgreSQL dumps).
    pub schemas: Vec<String>,
    /// Leave out these schemas (PostgreSQL dumps).
    pub exclude_schemas: Vec<String>,
}

impl TableFilter {
    /// Whether schema `name` is covered (`--schemas`, `--exclude-schemas`).
    pub fn wants_schema(&self, name: &str) -> bool {
        (self.schemas.is_empty() || self.schemas.iter().any(|s| s == name))
            && !self.exclude_schemas.iter().any(|s| s == name)
    }

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
/// a string, a boolean) or the current time; `None` for what another engine
/// cannot take ([`default_verdict`] says why): expressions only the source
/// engine understands and values that are not valid for the column's type.
pub fn portable_default(
    default: &str,
    ty: &NeutralType,
    from: EngineKind,
) -> Option<PortableDefault> {
    default_verdict(default, ty, from).ok().flatten()
}

/// [`portable_default`], with why a default is left out: `Ok(None)` for a
/// NULL default (nothing to carry), `Err(reason)` for one another engine
/// cannot take.
pub fn default_verdict(
    default: &str,
    ty: &NeutralType,
    from: EngineKind,
) -> Result<Option<PortableDefault>, &'static str> {
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
        return Ok(None);
    }
    if matches!(
        lower.as_str(),
        "current_timestamp" | "current_timestamp()" | "now()" | "localtimestamp"
    ) {
        return match ty {
            NeutralType::Timestamp { .. } => Ok(Some(PortableDefault::Now)),
            _ => Err("the current time, on a column that is not a timestamp"),
        };
    }
    if matches!(ty, NeutralType::Bool) {
        return match lower.trim_matches('\'') {
            "1" | "true" | "t" | "b'1'" => Ok(Some(PortableDefault::Bool(true))),
            "0" | "false" | "f" | "b'0'" => Ok(Some(PortableDefault::Bool(false))),
            _ => Err("not a boolean value"),
        };
    }
    let value = if is_number(d) {
        PortableDefault::Number(d.to_string())
    } else {
        match unquote(from, d) {
            Some(t) => PortableDefault::Text(t),
            None => return Err("an expression only the source engine understands"),
        }
    };
    checked(value, ty).map(Some)
}

/// Whether `d` is a plain decimal number.
fn is_number(d: &str) -> bool {
    let digits = d.strip_prefix('-').unwrap_or(d);
    !digits.is_empty()
        && digits.chars().all(|c| c.is_ascii_digit() || c == '.')
        && digits.chars().any(|c| c.is_ascii_digit())
        && digits.matches('.').count() <= 1
}

/// A plain default value as a value of `ty` every engine reads the same way,
/// or why it is not one (MySQL's `'0000-00-00'`, SQLite's `DATETIME DEFAULT
/// 0`, `INTEGER DEFAULT '"0"'`).
fn checked(value: PortableDefault, ty: &NeutralType) -> Result<PortableDefault, &'static str> {
    use NeutralType as T;
    let text = match &value {
        PortableDefault::Number(n) | PortableDefault::Text(n) => n.clone(),
        _ => return Ok(value),
    };
    match ty {
        T::Int { .. } | T::Decimal { .. } | T::Float { .. } => {
            let t = text.trim();
            if is_number(t) {
                Ok(PortableDefault::Number(t.to_string()))
            } else {
                Err("not a number, on a numeric column")
            }
        }
        T::Date | T::Timestamp { .. } => {
            let b = text.as_bytes();
            let date = b.len() >= 10
                && b[..10].iter().enumerate().all(|(i, c)| {
                    if i == 4 || i == 7 {
                        *c == b'-'
                    } else {
                        c.is_ascii_digit()
                    }
                });
            let zero = text.starts_with("0000-00-00") || text.get(5..10) == Some("00-00");
            match (&value, date && !zero) {
                (PortableDefault::Text(_), true) => Ok(value),
                _ if zero => Err("a zero date, which PostgreSQL and strict MySQL refuse"),
                _ => Err("not a date, on a date or time column"),
            }
        }
        T::Uuid => {
            let hex: String = text.chars().filter(|c| *c != '-').collect();
            if hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(value)
            } else {
                Err("not a UUID, on a UUID column")
            }
        }
        T::Json { .. } => match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(_) => Ok(PortableDefault::Text(text)),
            Err(_) => Err("not JSON, on a JSON column"),
        },
        _ => Ok(value),
    }
}

/// Whether a MySQL column type (`point`, `geometry`, ...) is spatial.
pub fn is_spatial_type(native: &str) -> bool {
    let n = native.to_ascii_lowercase();
    [
        "geometry",
        "point",
        "linestring",
        "polygon",
        "multipoint",
        "multilinestring",
        "multipolygon",
        "geometrycollection",
        "geomcollection",
    ]
    .iter()
    .any(|g| n.starts_with(g))
}

/// The sequence a PostgreSQL default `nextval('name'::regclass)` draws
/// from, unquoted; `None` for any other default.
pub fn nextval_sequence(default: &str) -> Option<String> {
    let inner = default
        .trim()
        .strip_prefix("nextval(")?
        .strip_suffix(')')?
        .trim();
    let inner = inner.strip_suffix("::regclass").unwrap_or(inner);
    let name = unquote(EngineKind::Postgres, inner)?;
    // A schema-qualified or quoted name: the last part, unquoted.
    let last = name.rsplit('.').next().unwrap_or(&name);
    Some(last.trim_matches('"').to_string())
}

impl Schema {
    /// For a move into another engine: a primary key column whose default
    /// draws from a sequence it does not own (`DEFAULT nextval('seq')`, every table of
    /// PostgreSQL's film-rental sample) becomes an auto-increment column at
    /// that sequence's position, as an owned `serial` would. Other engines
    /// have no free-standing sequences: their ids continue past it.
    pub fn adopt_sequence_defaults(&mut self) {
        let sequences = self.sequences.clone();
        let mut adopted: Vec<String> = Vec::new();
        for t in &mut self.tables {
            // Only a table's one-column primary key: other engines allow
            // one automatic column, and only on a key.
            let key = match &t.primary_key {
                Some(k) if k.columns.len() == 1 => k.columns[0].clone(),
                _ => continue,
            };
            for c in &mut t.columns {
                if c.name != key
                    || c.auto_increment.is_some()
                    || !matches!(c.ty, NeutralType::Int { .. })
                {
                    continue;
                }
                let Some(name) = c.default.as_deref().and_then(nextval_sequence) else {
                    continue;
                };
                let Some(seq) = sequences.iter().find(|s| s.name == name) else {
                    continue;
                };
                c.auto_increment = Some(AutoIncrement {
                    sequence: Some(seq.clone()),
                    identity: None,
                });
                c.default = None;
                adopted.push(name);
            }
        }
        // Carried as the columns' counters now.
        self.sequences.retain(|s| !adopted.contains(&s.name));
    }
}

impl Table {
    /// The next automatic value the source would have given: MySQL's and
    /// SQLite's counter, or the position of the sequence behind an
    /// auto-increment column.
    pub fn next_auto_value(&self) -> Option<i64> {
        self.auto_increment_next.or_else(|| {
            self.columns.iter().find_map(|c| {
                let s = c.auto_increment.as_ref()?.sequence.as_ref()?;
                let v = s.last_value?;
                Some(if s.is_called { v.saturating_add(1) } else { v })
            })
        })
    }
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
mod tests;
