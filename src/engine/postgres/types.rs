//! Types: PostgreSQL catalog types to neutral types, and neutral types (or
//! native ones, from PostgreSQL) to column definitions.

use crate::convert::spatial;
use crate::engine::quote_ident;
use crate::engine::sqltext::{default_sql, literal};
use crate::model::{portable_default, Column, EngineKind, NeutralType};

/// A column's collation as SQL: a name, or `"schema"."name"` (a
/// collation of another schema), each part quoted again.
fn collation(coll: &str) -> String {
    let quoted = |s: &str| -> Option<(String, usize)> {
        let b = s.strip_prefix('"')?;
        let mut out = String::new();
        let mut chars = b.char_indices();
        while let Some((i, c)) = chars.next() {
            if c == '"' {
                if b[i + 1..].starts_with('"') {
                    chars.next();
                    out.push('"');
                    continue;
                }
                return Some((out, i + 2));
            }
            out.push(c);
        }
        None
    };
    let pair = quoted(coll).and_then(|(schema, at)| {
        let (name, end) = quoted(coll[at..].strip_prefix('.')?)?;
        (at + 1 + end == coll.len()).then_some((schema, name))
    });
    match pair {
        Some((schema, name)) => format!("{}.{}", quote_ident(&schema), quote_ident(&name)),
        None => quote_ident(coll),
    }
}

/// The neutral type of a catalog type (`typname`, `typtype`, `atttypmod`);
/// `enum_values` are the labels if it is an enum of the current schema.
pub(super) fn neutral_type(
    typname: &str,
    typtype: &str,
    typmod: i32,
    enum_values: Option<&Vec<String>>,
) -> NeutralType {
    let len = if typmod >= 4 {
        Some((typmod - 4) as u64)
    } else {
        None
    };
    match typname {
        "bool" => NeutralType::Bool,
        "int2" => NeutralType::Int {
            bytes: 2,
            unsigned: false,
        },
        "int4" => NeutralType::Int {
            bytes: 4,
            unsigned: false,
        },
        "int8" => NeutralType::Int {
            bytes: 8,
            unsigned: false,
        },
        "numeric" => {
            let (p, s) = if typmod >= 4 {
                let t = typmod - 4;
                (Some(((t >> 16) & 0xffff) as u32), Some((t & 0xffff) as u32))
            } else {
                (None, None)
            };
            NeutralType::Decimal {
                precision: p,
                scale: s,
            }
        }
        "float4" => NeutralType::Float { bytes: 4 },
        "float8" => NeutralType::Float { bytes: 8 },
        "text" | "name" | "citext" => NeutralType::Text {
            max_chars: None,
            fixed: false,
        },
        "varchar" => NeutralType::Text {
            max_chars: len,
            fixed: false,
        },
        "bpchar" => NeutralType::Text {
            max_chars: len,
            fixed: true,
        },
        "bytea" => NeutralType::Binary {
            max_bytes: None,
            fixed: false,
        },
        "date" => NeutralType::Date,
        "time" => NeutralType::Time { tz: false },
        "timetz" => NeutralType::Time { tz: true },
        "timestamp" => NeutralType::Timestamp { tz: false },
        "timestamptz" => NeutralType::Timestamp { tz: true },
        "interval" => NeutralType::Interval,
        "uuid" => NeutralType::Uuid,
        "inet" => NeutralType::Inet,
        "json" => NeutralType::Json { binary: false },
        "jsonb" => NeutralType::Json { binary: true },
        "bit" | "varbit" => NeutralType::Bits {
            length: if typmod > 0 {
                Some(typmod as u32)
            } else {
                None
            },
        },
        _ if typtype == "e" => NeutralType::Enum {
            name: Some(typname.to_string()),
            values: enum_values.cloned().unwrap_or_default(),
        },
        _ => NeutralType::Other,
    }
}

/// The PostgreSQL type (and label CHECK) of a column from another engine.
/// An unsigned 64-bit auto-increment column (Laravel's `id`) becomes
/// `bigint`: an identity must be an integer type, and ids never reach 2^63.
/// `postgis`: the schema of the PostGIS extension, for a table whose
/// spatial columns the plan made geometries.
pub(super) fn foreign_type(c: &Column, postgis: Option<&str>) -> String {
    if let (Some(schema), true) = (postgis, spatial::is_postgis_target(c)) {
        return spatial::postgis_type(c, schema);
    }
    let ty = match (&c.ty, &c.auto_increment) {
        (
            NeutralType::Int {
                bytes: 8,
                unsigned: true,
            },
            Some(_),
        ) => "bigint".to_string(),
        (t, _) => map_type(t),
    };
    format!("{ty}{}", labels_check(c).unwrap_or_default())
}

/// The PostgreSQL type for a neutral type from another engine.
pub(super) fn map_type(t: &NeutralType) -> String {
    match t {
        NeutralType::Bool => "boolean".into(),
        NeutralType::Int { bytes, unsigned } => match (bytes, unsigned) {
            (1 | 2, false) => "smallint".into(),
            (1, true) => "smallint".into(),
            (2 | 3, true) | (3 | 4, false) => "integer".into(),
            (4, true) | (8, false) => "bigint".into(),
            _ => "numeric(20)".into(),
        },
        NeutralType::Decimal {
            precision: Some(p),
            scale,
        } => format!("numeric({p},{})", scale.unwrap_or(0)),
        NeutralType::Decimal { .. } => "numeric".into(),
        NeutralType::Float { bytes: 4 } => "real".into(),
        NeutralType::Float { .. } => "double precision".into(),
        // MySQL's CHAR(n) too: MySQL strips its padding when read, so its
        // values are what they were written as; PostgreSQL's character(n)
        // would pad them again on every read.
        NeutralType::Text {
            max_chars: Some(n), ..
        } if *n <= 10_485_760 => format!("character varying({n})"),
        NeutralType::Text { .. } => "text".into(),
        NeutralType::Binary { .. } => "bytea".into(),
        NeutralType::Date => "date".into(),
        NeutralType::Time { tz } => if *tz { "time with time zone" } else { "time" }.into(),
        NeutralType::Timestamp { tz } => if *tz {
            "timestamp with time zone"
        } else {
            "timestamp"
        }
        .into(),
        NeutralType::Interval => "interval".into(),
        NeutralType::Uuid => "uuid".into(),
        NeutralType::Inet => "inet".into(),
        // Plain `json` only keeps key order and duplicate keys, which no app
        // relies on; `jsonb` is what ORMs expect and what queries index.
        NeutralType::Json { .. } => "jsonb".into(),
        NeutralType::Array { element } => format!("{}[]", map_type(element)),
        NeutralType::Bits { length: Some(n) } => format!("bit varying({n})"),
        NeutralType::Bits { .. } => "bit varying".into(),
        NeutralType::Enum { .. }
        | NeutralType::Set { .. }
        | NeutralType::Any
        | NeutralType::Other => "text".into(),
    }
}

/// A CHECK keeping a text column to the labels of an enum or set from
/// another engine (which has no named type for it here).
pub(super) fn labels_check(c: &Column) -> Option<String> {
    let labels = |values: &[String]| {
        values
            .iter()
            .map(|v| literal(EngineKind::Postgres, v))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let col = quote_ident(&c.name);
    match &c.ty {
        NeutralType::Enum { name: None, values } if !values.is_empty() => {
            Some(format!(" CHECK ({col} IN ({}))", labels(values)))
        }
        NeutralType::Set { values } if !values.is_empty() => Some(format!(
            " CHECK ({col} = '' OR string_to_array({col}, ',') <@ ARRAY[{}]::text[])",
            labels(values)
        )),
        _ => None,
    }
}

/// A column's definition in CREATE TABLE: the native type from PostgreSQL,
/// a mapped one (with a CHECK for enum and set labels) from other engines
/// (`postgis` as for [`foreign_type`]).
pub(super) fn column_def(c: &Column, from: EngineKind, postgis: Option<&str>) -> String {
    let same = from == EngineKind::Postgres;
    let ty = if same {
        c.native_type.clone()
    } else {
        foreign_type(c, postgis)
    };
    let mut s = format!("{} {ty}", quote_ident(&c.name));
    if let (true, Some(coll)) = (same, &c.collation) {
        s.push_str(&format!(" COLLATE {}", collation(coll)));
    }
    match (&c.generated, &c.auto_increment) {
        (Some(g), _) if same => {
            s.push_str(&format!(" GENERATED ALWAYS AS ({}) STORED", g.expression));
        }
        (_, Some(ai)) if ai.identity.is_some() || !same => {
            let kind = match ai.identity.as_deref() {
                Some("always") => "ALWAYS",
                _ => "BY DEFAULT",
            };
            s.push_str(&format!(" GENERATED {kind} AS IDENTITY"));
            if let (true, Some(opts)) =
                (same, ai.sequence.as_ref().and_then(|q| q.options.as_ref()))
            {
                s.push_str(&format!(
                    " ({})",
                    opts.trim_start_matches("AS ")
                        .split_once(' ')
                        .map(|x| x.1)
                        .unwrap_or("")
                ));
            }
        }
        _ => match (same, &c.default) {
            (true, Some(d)) => s.push_str(&format!(" DEFAULT {d}")),
            (false, Some(d)) => {
                if let Some(d) = portable_default(d, &c.ty, from) {
                    s.push_str(&format!(
                        " DEFAULT {}",
                        default_sql(EngineKind::Postgres, &d)
                    ));
                }
            }
            _ => {}
        },
    }
    if !c.nullable && !crate::convert::zero_date_not_null(c, from) {
        s.push_str(" NOT NULL");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn neutral_numeric() {
        let t = neutral_type("numeric", "b", ((10 << 16) | 2) + 4, None);
        assert_eq!(
            t,
            NeutralType::Decimal {
                precision: Some(10),
                scale: Some(2)
            }
        );
    }

    #[test]
    fn collations_of_other_schemas_are_quoted_again() {
        assert_eq!(super::collation("C"), "\"C\"");
        assert_eq!(super::collation("en_US.utf8"), "\"en_US.utf8\"");
        assert_eq!(
            super::collation("\"billing\".\"no\"\"case\""),
            "\"billing\".\"no\"\"case\""
        );
        // Anything else is one name.
        assert_eq!(
            super::collation("\"a\".\"b\"; DROP TABLE t"),
            "\"\"\"a\"\".\"\"b\"\"; DROP TABLE t\""
        );
    }
}
