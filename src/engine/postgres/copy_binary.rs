//! COPY's binary format, written from archive fields for tables whose every
//! loaded column has a type this encoder knows (integers and character
//! types): the server parses it with less CPU than text, and a restore is
//! bound by the server's CPU. Any other table goes as COPY text.

use std::collections::HashMap;

/// The binary COPY header: signature, flags, no extension.
pub(super) const HEADER: &[u8] = b"PGCOPY\n\xff\r\n\0\0\0\0\0\0\0\0\0";
/// The end of binary COPY data: a tuple with -1 fields.
pub(super) const TRAILER: &[u8] = &[0xff, 0xff];
/// A NULL field: length -1.
pub(super) const NULL: &[u8] = &[0xff, 0xff, 0xff, 0xff];

/// How one column's values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BinKind {
    Int2,
    Int4,
    Int8,
    /// `text`, `varchar`, `char`: the value's bytes as they are (the server
    /// checks the encoding and, for `char(n)`, pads as text input does).
    Text,
}

impl BinKind {
    /// The kind for a column type's oid, if this encoder knows it.
    pub(super) fn from_oid(oid: u32) -> Option<BinKind> {
        match oid {
            21 => Some(BinKind::Int2),
            23 => Some(BinKind::Int4),
            20 => Some(BinKind::Int8),
            25 | 1042 | 1043 => Some(BinKind::Text),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            BinKind::Int2 => "smallint",
            BinKind::Int4 => "integer",
            BinKind::Int8 => "bigint",
            BinKind::Text => "text",
        }
    }
}

/// The kinds of `columns` given a table's column types (name to type oid),
/// or `None` when one of them has a type the encoder does not know.
pub(super) fn kinds(columns: &[String], types: &HashMap<String, u32>) -> Option<Vec<BinKind>> {
    columns
        .iter()
        .map(|c| types.get(c).copied().and_then(BinKind::from_oid))
        .collect()
}

/// Read a decimal integer as PostgreSQL's integer input does: surrounding
/// white space and a sign allowed.
fn parse_int(v: &[u8]) -> Option<i64> {
    let t = v.trim_ascii();
    let (neg, digits) = match t.first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    if digits.is_empty() {
        return None;
    }
    // Accumulated negative, so that the lowest value fits.
    let mut n: i64 = 0;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_sub(i64::from(d - b'0'))?;
    }
    if neg {
        Some(n)
    } else {
        n.checked_neg()
    }
}

/// Append one integer field (length and value) of `kind`; the reason when
/// `v` is not an integer that fits.
pub(super) fn push_int(out: &mut Vec<u8>, kind: BinKind, v: &[u8]) -> Result<(), String> {
    let bad = || {
        format!(
            "{:?} is not a value of type {}",
            String::from_utf8_lossy(&v[..v.len().min(64)]),
            kind.name()
        )
    };
    let n = parse_int(v).ok_or_else(bad)?;
    match kind {
        BinKind::Int2 => {
            let n = i16::try_from(n).map_err(|_| bad())?;
            out.extend_from_slice(&2i32.to_be_bytes());
            out.extend_from_slice(&n.to_be_bytes());
        }
        BinKind::Int4 => {
            let n = i32::try_from(n).map_err(|_| bad())?;
            out.extend_from_slice(&4i32.to_be_bytes());
            out.extend_from_slice(&n.to_be_bytes());
        }
        BinKind::Int8 => {
            out.extend_from_slice(&8i32.to_be_bytes());
            out.extend_from_slice(&n.to_be_bytes());
        }
        BinKind::Text => return Err("not an integer column".into()),
    }
    Ok(())
}

/// The length word of a field of `len` bytes; the reason when it is over
/// what a field can hold.
pub(super) fn length(len: usize) -> Result<[u8; 4], String> {
    i32::try_from(len)
        .map(i32::to_be_bytes)
        .map_err(|_| format!("a value of {len} bytes is over PostgreSQL's 1 GB field limit"))
}

/// The field count word of a row of `width` fields.
pub(super) fn row_start(width: usize) -> Result<[u8; 2], String> {
    i16::try_from(width)
        .map(i16::to_be_bytes)
        .map_err(|_| format!("{width} columns are more than COPY can take"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_read_as_postgres_reads_them() {
        assert_eq!(parse_int(b"0"), Some(0));
        assert_eq!(parse_int(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_int(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_int(b"9223372036854775808"), None);
        assert_eq!(parse_int(b" +42 "), Some(42));
        for bad in [&b""[..], b"-", b"1.0", b"1e3", b"0x10", b"12a", b"1 2"] {
            assert_eq!(parse_int(bad), None, "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn integer_fields_are_sized_by_type() {
        let mut out = Vec::new();
        push_int(&mut out, BinKind::Int2, b"-2").unwrap();
        push_int(&mut out, BinKind::Int4, b"2147483647").unwrap();
        push_int(&mut out, BinKind::Int8, b"-1").unwrap();
        assert_eq!(
            out,
            [
                &[0, 0, 0, 2, 0xff, 0xfe][..],
                &[0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff],
                &[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            ]
            .concat()
        );
        let e = push_int(&mut out, BinKind::Int2, b"40000").unwrap_err();
        assert!(e.contains("smallint"), "{e}");
        assert!(push_int(&mut out, BinKind::Int4, b"2147483648").is_err());
    }

    #[test]
    fn only_known_types_are_binary() {
        let types: HashMap<String, u32> =
            [("a".into(), 23), ("b".into(), 1043), ("c".into(), 1700)].into();
        assert_eq!(
            kinds(&["b".into(), "a".into()], &types),
            Some(vec![BinKind::Text, BinKind::Int4])
        );
        assert_eq!(kinds(&["a".into(), "c".into()], &types), None, "numeric");
        assert_eq!(kinds(&["z".into()], &types), None, "unknown column");
    }
}
