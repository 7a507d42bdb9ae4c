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
        "inet4" | "inet6" => NeutralType::Inet,
        _ => NeutralType::Other,
    }
}

/// Whether `native` is a spatial type.
fn is_spatial(native: &str) -> bool {
    crate::model::is_spatial_type(native)
}

/// How a column's values travel.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Kind {
    Text,
    /// Text a MariaDB column takes only as characters, never as the bytes
    /// `LOAD DATA ... CHARACTER SET binary` hands it (`UUID`, `INET4`,
    /// `INET6` read binary input as their 16- or 4-byte form).
    Chars,
    /// Single-precision float, read as a double.
    Float,
    Binary,
    Spatial,
    Bits(u32),
    Json,
    /// TINYINT(1): also takes the `t`/`f` of other engines' booleans.
    Bool,
}

/// Whether `native` is a MariaDB type that reads binary input as its own
/// binary form rather than as text.
fn is_binary_form(native: &str) -> bool {
    let n = native.trim().to_ascii_lowercase();
    ["uuid", "inet4", "inet6"].contains(&n.as_str())
}

/// How `c`'s values travel.
pub(super) fn kind_of(c: &Column) -> Kind {
    match &c.ty {
        NeutralType::Uuid | NeutralType::Inet => Kind::Chars,
        _ if is_binary_form(&c.native_type) => Kind::Chars,
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
/// need a bounded length; `native_uuid`: the server has a `UUID` type
/// (MariaDB 10.7 and later).
pub(super) fn map_type(t: &NeutralType, keyed: bool, native_uuid: bool) -> String {
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
        NeutralType::Uuid if native_uuid => "UUID".into(),
        NeutralType::Uuid => "CHAR(36)".into(),
        // An address with a prefix length at most (`ffff:...:255.255.255.255/128`).
        NeutralType::Inet => "VARCHAR(49)".into(),
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

/// Whether a server version string is MariaDB 10.7 or later (a `UUID`
/// type).
pub(super) fn has_uuid_type(version: &str) -> bool {
    let v = version.to_ascii_lowercase();
    if !v.contains("mariadb") {
        return false;
    }
    let mut nums = v
        .split(|c: char| !c.is_ascii_digit())
        .filter(|p| !p.is_empty())
        .map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
    (major, minor) >= (10, 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_type_from_version() {
        assert!(has_uuid_type("10.11.19-MariaDB-0+deb12u1"));
        assert!(has_uuid_type("11.4.2-MariaDB"));
        assert!(!has_uuid_type("10.6.18-MariaDB"));
        assert!(!has_uuid_type("8.0.36"));
    }

    #[test]
    fn enum_values_unquoted() {
        assert_eq!(enum_values("enum('a','b''c','')"), vec!["a", "b'c", ""]);
    }
}
