//! Storage classes and declared types: the affinity a declared type gives,
//! and the declared types neutral types map to and from.

use crate::engine::{quote_ident, quote_literal};
use crate::model::{Column, NeutralType, Table};

/// The storage class a column's affinity expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Class {
    Integer,
    Real,
    Text,
    Blob,
    Numeric,
}

/// Affinity rules of <https://www.sqlite.org/datatype3.html#determination_of_column_affinity>.
pub(super) fn expected_class(declared: &str) -> Class {
    let d = declared.to_ascii_uppercase();
    if d.contains("INT") {
        Class::Integer
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        Class::Text
    } else if d.contains("BLOB") || d.is_empty() {
        Class::Blob
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        Class::Real
    } else {
        Class::Numeric
    }
}

/// A neutral type guessed from a declared type name (also the names
/// [`map_type`] gives types SQLite has no name for).
pub(super) fn neutral_type(declared: &str) -> NeutralType {
    let d = declared.to_ascii_uppercase();
    let size = d
        .split_once('(')
        .and_then(|(_, r)| r.split([')', ',']).next())
        .and_then(|n| n.trim().parse::<u64>().ok());
    let scale = || {
        d.split_once(',')
            .and_then(|(_, r)| r.trim_end_matches(')').trim().parse().ok())
    };
    if d.starts_with("BOOL") {
        NeutralType::Bool
    } else if d.starts_with("DECIMAL TEXT") {
        NeutralType::Decimal {
            precision: size.map(|s| s as u32),
            scale: scale(),
        }
    } else if d.starts_with("JSON") {
        NeutralType::Json { binary: false }
    } else if d.starts_with("BIT TEXT") {
        NeutralType::Bits {
            length: size.map(|s| s as u32),
        }
    } else if d.contains("INT") {
        NeutralType::Int {
            bytes: 8,
            unsigned: false,
        }
    } else if d.contains("CHAR") || d.contains("CLOB") || d.contains("TEXT") {
        NeutralType::Text {
            max_chars: size,
            fixed: false,
        }
    } else if d.contains("BLOB") {
        NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        }
    } else if d.is_empty() {
        NeutralType::Any
    } else if d.contains("REAL") || d.contains("FLOA") || d.contains("DOUB") {
        NeutralType::Float { bytes: 8 }
    } else if d.starts_with("DECIMAL") || d.starts_with("NUMERIC") {
        NeutralType::Decimal {
            precision: size.map(|s| s as u32),
            scale: scale(),
        }
    } else if d.starts_with("DATETIME") || d.starts_with("TIMESTAMP") {
        NeutralType::Timestamp {
            tz: d.contains("TZ") || d.contains("TIME ZONE"),
        }
    } else if d.starts_with("DATE") {
        NeutralType::Date
    } else if d.starts_with("TIME") {
        NeutralType::Time {
            tz: d.contains("TZ") || d.contains("TIME ZONE"),
        }
    } else if d.starts_with("UUID") {
        NeutralType::Uuid
    } else {
        NeutralType::Other
    }
}

/// Doubles hold decimals of up to this many digits exactly (as text that
/// reads back to the same number); wider decimals are stored as text.
const EXACT_DIGITS: u32 = 15;

/// The declared type for a neutral type from another engine. Its affinity
/// keeps values as they came; types SQLite has no name for get one that
/// [`neutral_type`] reads back (`DECIMAL TEXT`, `JSON TEXT`, `BIT TEXT`).
pub(super) fn map_type(t: &NeutralType) -> String {
    match t {
        NeutralType::Bool => "BOOLEAN".into(),
        NeutralType::Int { .. } => "INTEGER".into(),
        NeutralType::Float { .. } => "REAL".into(),
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } if *p <= EXACT_DIGITS => format!("NUMERIC({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } => format!("DECIMAL TEXT({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal { .. } => "DECIMAL TEXT".into(),
        NeutralType::Text {
            max_chars: Some(n),
            fixed,
        } => format!("{}({n})", if *fixed { "CHAR" } else { "VARCHAR" }),
        NeutralType::Binary { .. } => "BLOB".into(),
        NeutralType::Any => String::new(),
        NeutralType::Date => "DATE".into(),
        NeutralType::Time { tz: false } => "TIME".into(),
        NeutralType::Time { tz: true } => "TIMETZ".into(),
        NeutralType::Timestamp { tz: false } => "DATETIME".into(),
        NeutralType::Timestamp { tz: true } => "TIMESTAMPTZ".into(),
        NeutralType::Uuid => "UUID".into(),
        NeutralType::Json { .. } | NeutralType::Array { .. } => "JSON TEXT".into(),
        NeutralType::Bits { length: Some(n) } => format!("BIT TEXT({n})"),
        NeutralType::Bits { length: None } => "BIT TEXT".into(),
        NeutralType::Text { .. }
        | NeutralType::Interval
        | NeutralType::Inet
        | NeutralType::Enum { .. }
        | NeutralType::Set { .. }
        | NeutralType::Other => "TEXT".into(),
    }
}

/// The declared type of column `c` of `table`, created from another
/// engine: [`map_type`], but decimals with NUMERIC affinity at any
/// precision in a table an app reads them from as numbers
/// ([`crate::convert::apps::NUMERIC_DECIMALS`]).
pub(super) fn declared_type(table: &Table, c: &Column) -> String {
    let (k, v) = crate::convert::apps::NUMERIC_DECIMALS;
    let numeric = table.options.iter().any(|(a, b)| a == k && b == v);
    match &c.ty {
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } if numeric => format!("NUMERIC({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal { .. } if numeric => "NUMERIC".into(),
        t => map_type(t),
    }
}

/// A CHECK keeping an enum's text column to its labels (empty for others).
pub(super) fn labels_check(c: &Column) -> String {
    match &c.ty {
        NeutralType::Enum { values, .. } if !values.is_empty() => {
            let labels: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
            format!(
                " CHECK ({} IN ({}))",
                quote_ident(&c.name),
                labels.join(", ")
            )
        }
        _ => String::new(),
    }
}

/// The real an untagged value of a NUMERIC column stands for: a decimal
/// literal, or `inf`, `-inf`, `NaN` as reals are written; not words such as
/// `infinity` (PostgreSQL's text in a date column), which stay text as
/// SQLite itself would keep them.
pub(super) fn numeric_real(s: &str) -> Option<f64> {
    let literal = s
        .bytes()
        .all(|b| b.is_ascii_digit() || matches!(b, b'+' | b'-' | b'.' | b'e' | b'E'));
    if literal || matches!(s, "inf" | "-inf" | "NaN") {
        s.parse().ok()
    } else {
        None
    }
}

/// Whether the real `v` SQLite stores for the decimal text `s` is the same
/// number: it reads back to the same digits (a double keeps 15 significant
/// digits, often 17; `12345678901234567890.5` does not come back).
pub(super) fn same_number(s: &str, v: f64) -> bool {
    !v.is_finite() || digits_of(s) == digits_of(&format!("{v:e}"))
}

/// A number's sign, significant digits and exponent (`-1.50e2` and
/// `-150` give the same), or `None` when it is not a decimal literal.
fn digits_of(s: &str) -> Option<(bool, String, i64)> {
    let s = s.trim();
    let (neg, s) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    let (mantissa, exp) = match s.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().ok()?),
        None => (s, 0),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    if !(int.bytes().chain(frac.bytes()).all(|b| b.is_ascii_digit())) {
        return None;
    }
    let all = format!("{int}{frac}");
    let lead = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_string();
    if digits.is_empty() {
        return Some((false, String::new(), 0));
    }
    let point = int.len() as i64 - lead as i64 + exp;
    Some((neg, digits, point))
}

/// Whether a NUMERIC column's untagged value would be read back as a number.
pub(super) fn reads_as_number(t: &[u8]) -> bool {
    std::str::from_utf8(t).is_ok_and(|s| s.parse::<i64>().is_ok() || s.parse::<f64>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affinity() {
        assert_eq!(expected_class("INTEGER"), Class::Integer);
        assert_eq!(expected_class("NVARCHAR(40)"), Class::Text);
        assert_eq!(expected_class(""), Class::Blob);
        assert_eq!(expected_class("DOUBLE PRECISION"), Class::Real);
        assert_eq!(expected_class("NUMERIC(10,2)"), Class::Numeric);
        assert_eq!(expected_class("DATETIME"), Class::Numeric);
    }

    #[test]
    fn reals_that_are_not_the_same_number_are_found() {
        let same = |s: &str| same_number(s, s.parse().unwrap());
        assert!(same("12345.1234567890"));
        assert!(same("99999999999999.9000000000"));
        assert!(same("-0.0000000001"));
        assert!(same("0.30000000000000004"));
        assert!(same("-1e-300"));
        assert!(same("0.000"));
        assert!(same("1.5E3"));
        assert!(!same("12345678901234567890.1234567890"));
        assert!(!same("0.12345678901234567890"));
        assert!(!same("9007199254740993"));
    }

    #[test]
    fn numeric_text_that_reads_as_a_number_is_tagged() {
        assert!(reads_as_number(b"12"));
        assert!(reads_as_number(b"1.5"));
        assert!(reads_as_number(b"inf"));
        assert!(!reads_as_number(b"2024-01-02"));
        assert!(!reads_as_number(b"\xff"));
    }
}
