//! Types: MySQL column types to neutral ones and back, and how each
//! column's values travel.

use crate::engine::sqltext::literal;
use crate::model::EngineKind;
use crate::model::{Column, NeutralType};

/// Values of `enum('a','b')` / `set(...)`.
pub(super) fn enum_values(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return vec![];
    };
    let body = &column_type[open + 1..];
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                '\'' if chars.peek() == Some(&'\'') => {
                    cur.push('\'');
                    chars.next();
                }
                '\'' => {
                    in_str = false;
                    out.push(std::mem::take(&mut cur));
                }
                '\\' => {
                    if let Some(n) = chars.next() {
                        cur.push(n);
                    }
                }
                c => cur.push(c),
            }
        } else if c == '\'' {
            in_str = true;
        } else if c == ')' {
            break;
        }
    }
    out
}

/// The neutral type of an information_schema column description;
/// `column_type` as the server gives it (enum and set labels keep their case).
pub(super) fn neutral_type(
    data_type: &str,
    column_type: &str,
    max_len: Option<u64>,
    precision: Option<u32>,
    scale: Option<u32>,
    mariadb: bool,
) -> NeutralType {
    let lower = column_type.to_ascii_lowercase();
    let unsigned = lower.contains("unsigned");
    let fixed = matches!(data_type, "char" | "binary");
    match data_type {
        "tinyint" if lower.starts_with("tinyint(1)") && !unsigned => NeutralType::Bool,
        "tinyint" => NeutralType::Int { bytes: 1, unsigned },
        "smallint" => NeutralType::Int { bytes: 2, unsigned },
        "mediumint" => NeutralType::Int { bytes: 3, unsigned },
        "int" | "integer" => NeutralType::Int { bytes: 4, unsigned },
        "bigint" => NeutralType::Int { bytes: 8, unsigned },
        "year" => NeutralType::Int {
            bytes: 2,
            unsigned: false,
        },
        "decimal" | "numeric" => NeutralType::Decimal { precision, scale },
        "float" => NeutralType::Float { bytes: 4 },
        "double" | "real" | "double precision" => NeutralType::Float { bytes: 8 },
        "char" | "varchar" => NeutralType::Text {
            max_chars: max_len,
            fixed,
        },
        "tinytext" | "text" | "mediumtext" | "longtext" => NeutralType::Text {
            max_chars: None,
            fixed: false,
        },
        "binary" | "varbinary" => NeutralType::Binary {
            max_bytes: max_len,
            fixed,
        },
        "tinyblob" | "blob" | "mediumblob" | "longblob" => NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        },
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        },
        "date" => NeutralType::Date,
        "time" => NeutralType::Time { tz: false },
        "datetime" => NeutralType::Timestamp { tz: false },
        "timestamp" => NeutralType::Timestamp { tz: true },
        "json" => NeutralType::Json { binary: !mariadb },
        "enum" => NeutralType::Enum {
            name: None,
            values: enum_values(column_type),
        },
        "set" => NeutralType::Set {
            values: enum_values(column_type),
        },
        "bit" => NeutralType::Bits { length: precision },
        "uuid" => NeutralType::Uuid,
        _ => NeutralType::Other,
    }
}

/// Whether `native` is a spatial type.
fn is_spatial(native: &str) -> bool {
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

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Text,
    /// Single-precision float, read as a double.
    Float,
    Binary,
    Spatial,
    Bits(u32),
    Json,
    /// TINYINT(1): also takes the `t`/`f` of other engines' booleans.
    Bool,
}

/// How `c`'s values travel.
pub(super) fn kind_of(c: &Column) -> Kind {
    match &c.ty {
        NeutralType::Binary { .. } if is_spatial(&c.native_type) => Kind::Spatial,
        NeutralType::Binary { .. } => Kind::Binary,
        NeutralType::Float { bytes: 4 } => Kind::Float,
        NeutralType::Bits { length } => Kind::Bits(length.unwrap_or(1)),
        NeutralType::Json { .. } => Kind::Json,
        NeutralType::Bool => Kind::Bool,
        _ => Kind::Text,
    }
}

/// The MySQL type for a neutral type from another engine; `keyed` columns
/// need a bounded length.
pub(super) fn map_type(t: &NeutralType, keyed: bool) -> String {
    match t {
        NeutralType::Bool => "TINYINT(1)".into(),
        NeutralType::Int { bytes, unsigned } => {
            let base = match bytes {
                1 => "TINYINT",
                2 => "SMALLINT",
                3 => "MEDIUMINT",
                4 => "INT",
                _ => "BIGINT",
            };
            if *unsigned {
                format!("{base} UNSIGNED")
            } else {
                base.into()
            }
        }
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } if *p <= 65 => format!("DECIMAL({p},{})", scale.unwrap_or(0).min(30)),
        NeutralType::Decimal { .. } => "DECIMAL(65,30)".into(),
        NeutralType::Float { bytes: 4 } => "FLOAT".into(),
        NeutralType::Float { .. } => "DOUBLE".into(),
        NeutralType::Text {
            max_chars: Some(n),
            fixed: true,
        } if *n <= 255 => format!("CHAR({n})"),
        NeutralType::Text {
            max_chars: Some(n), ..
        } if *n <= 16383 => format!("VARCHAR({n})"),
        NeutralType::Text { .. }
        | NeutralType::Any
        | NeutralType::Other
        | NeutralType::Interval => {
            if keyed {
                "VARCHAR(255)".into()
            } else {
                "LONGTEXT".into()
            }
        }
        NeutralType::Binary {
            max_bytes: Some(n),
            fixed: true,
        } if *n <= 255 => format!("BINARY({n})"),
        NeutralType::Binary {
            max_bytes: Some(n), ..
        } if *n <= 65535 => format!("VARBINARY({n})"),
        NeutralType::Binary { .. } => {
            if keyed {
                "VARBINARY(255)".into()
            } else {
                "LONGBLOB".into()
            }
        }
        NeutralType::Date => "DATE".into(),
        NeutralType::Time { .. } => "TIME(6)".into(),
        NeutralType::Timestamp { .. } => "DATETIME(6)".into(),
        NeutralType::Uuid => "CHAR(36)".into(),
        NeutralType::Json { .. } | NeutralType::Array { .. } => "JSON".into(),
        NeutralType::Enum { values, .. } => format!(
            "ENUM({})",
            values
                .iter()
                .map(|v| literal(EngineKind::Mysql, v))
                .collect::<Vec<_>>()
                .join(",")
        ),
        NeutralType::Set { values } => format!(
            "SET({})",
            values
                .iter()
                .map(|v| literal(EngineKind::Mysql, v))
                .collect::<Vec<_>>()
                .join(",")
        ),
        NeutralType::Bits { length: Some(n) } if *n <= 64 => format!("BIT({n})"),
        NeutralType::Bits { .. } => "VARCHAR(255)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_unquoted() {
        assert_eq!(enum_values("enum('a','b''c','')"), vec!["a", "b'c", ""]);
    }
}
