//! COPY's binary format, written from archive fields for tables whose every
//! loaded column has a type this encoder knows (integers, floats, booleans,
//! character types, bytea, uuid, json): the server parses it with less CPU than text,
//! and a restore is bound by the server's CPU. Any other table goes as COPY
//! text. Values are read as PostgreSQL's own input functions read them; a
//! value they would refuse is refused here, naming it.

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
    Bool,
    Float4,
    Float8,
    /// `text`, `varchar`, `char`: the value's bytes as they are (the server
    /// checks the encoding and, for `char(n)`, pads as text input does).
    Text,
    /// `bytea`, from the archive's hex.
    Bytea,
    Uuid,
    /// `json`: its text, which the server checks.
    Json,
    /// `jsonb`: a version byte, then its text.
    Jsonb,
}

impl BinKind {
    /// The kind for a column type's oid, if this encoder knows it.
    pub(super) fn from_oid(oid: u32) -> Option<BinKind> {
        match oid {
            21 => Some(BinKind::Int2),
            23 => Some(BinKind::Int4),
            20 => Some(BinKind::Int8),
            16 => Some(BinKind::Bool),
            700 => Some(BinKind::Float4),
            701 => Some(BinKind::Float8),
            25 | 1042 | 1043 => Some(BinKind::Text),
            17 => Some(BinKind::Bytea),
            2950 => Some(BinKind::Uuid),
            114 => Some(BinKind::Json),
            3802 => Some(BinKind::Jsonb),
            _ => None,
        }
    }

    fn name(self) -> &'static str {
        match self {
            BinKind::Int2 => "smallint",
            BinKind::Int4 => "integer",
            BinKind::Int8 => "bigint",
            BinKind::Bool => "boolean",
            BinKind::Float4 => "real",
            BinKind::Float8 => "double precision",
            BinKind::Text => "text",
            BinKind::Bytea => "bytea",
            BinKind::Uuid => "uuid",
            BinKind::Json => "json",
            BinKind::Jsonb => "jsonb",
        }
    }
}

/// The kinds of `columns` given a table's column types (name to type oid)
/// and which columns the archive holds as hex, or `None` when one of them
/// has a type the encoder does not know (or is a `bytea` the archive does
/// not hold as hex).
pub(super) fn kinds(
    columns: &[String],
    types: &HashMap<String, u32>,
    hex: &[bool],
) -> Option<Vec<BinKind>> {
    columns
        .iter()
        .zip(hex)
        .map(|(c, &hex)| {
            types
                .get(c)
                .copied()
                .and_then(BinKind::from_oid)
                .filter(|k| (*k == BinKind::Bytea) == hex)
        })
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

/// Read a boolean as PostgreSQL's `boolin` does: `t`/`f`, `true`/`false`,
/// `yes`/`no` or a prefix of one, `on`/`off`, `1`/`0`, any case, white
/// space around.
fn parse_bool(v: &[u8]) -> Option<bool> {
    let t = v.trim_ascii().to_ascii_lowercase();
    let prefix = |word: &[u8]| !t.is_empty() && word.starts_with(&t);
    match t.first()? {
        b't' if prefix(b"true") => Some(true),
        b'f' if prefix(b"false") => Some(false),
        b'y' if prefix(b"yes") => Some(true),
        b'n' if prefix(b"no") => Some(false),
        b'o' if t.len() >= 2 && prefix(b"on") => Some(true),
        b'o' if t.len() >= 2 && prefix(b"off") => Some(false),
        b'1' if t.len() == 1 => Some(true),
        b'0' if t.len() == 1 => Some(false),
        _ => None,
    }
}

/// Read a float as PostgreSQL's `float4in`/`float8in` do: white space
/// around, `NaN` and `Infinity` spelled any case, and a value out of the
/// type's range refused (never rounded to zero or infinity).
fn parse_float<F: std::str::FromStr + Copy + PartialEq + Default>(
    v: &[u8],
    infinite: impl Fn(F) -> bool,
) -> Option<F> {
    let t = std::str::from_utf8(v.trim_ascii()).ok()?;
    let f: F = t.parse().ok()?;
    let unsigned = t.trim_start_matches(['+', '-']).to_ascii_lowercase();
    let spelled_inf = unsigned == "inf" || unsigned == "infinity";
    if infinite(f) && !spelled_inf {
        return None;
    }
    let mantissa = unsigned.split('e').next().unwrap_or("");
    if f == F::default() && mantissa.bytes().any(|b| matches!(b, b'1'..=b'9')) {
        return None;
    }
    Some(f)
}

/// Read a uuid as PostgreSQL's `uuid_in` does: 32 hex digits, a hyphen
/// allowed after any group of four but the last, braces around allowed.
fn parse_uuid(v: &[u8]) -> Option<[u8; 16]> {
    let mut src = match v {
        [b'{', inner @ .., b'}'] => inner,
        _ => v,
    };
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        let (h, l) = match src {
            [h, l, ..] => (*h, *l),
            _ => return None,
        };
        let hex = |c: u8| (c as char).to_digit(16);
        *byte = (hex(h)? << 4 | hex(l)?) as u8;
        src = &src[2..];
        if src.first() == Some(&b'-') && i % 2 == 1 && i < 15 {
            src = &src[1..];
        }
    }
    src.is_empty().then_some(out)
}

/// Append the bytes of a `bytea` in PostgreSQL's escape format (what
/// `byteain` reads, text starting with `\x` being hex): `\\` is a
/// backslash, `\ooo` an octal byte; false for any other backslash.
pub(super) fn unescape_bytea(v: &[u8], out: &mut Vec<u8>) -> bool {
    if let Some(hex) = v.strip_prefix(b"\\x") {
        return crate::archive::codec::unhex_into(hex, out);
    }
    let mut i = 0;
    while i < v.len() {
        if v[i] != b'\\' {
            out.push(v[i]);
            i += 1;
        } else if v.get(i + 1) == Some(&b'\\') {
            out.push(b'\\');
            i += 2;
        } else {
            match v.get(i + 1..i + 4) {
                Some([a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7']) => {
                    out.push(((a - b'0') << 6) | ((b - b'0') << 3) | (c - b'0'));
                    i += 4;
                }
                _ => return false,
            }
        }
    }
    true
}

/// Append one fixed-size field (length and value) of `kind` (an integer,
/// float or boolean); the reason when `v` is not a value of that type.
pub(super) fn push_fixed(out: &mut Vec<u8>, kind: BinKind, v: &[u8]) -> Result<(), String> {
    let bad = || {
        format!(
            "{:?} is not a value of type {}",
            String::from_utf8_lossy(&v[..v.len().min(64)]),
            kind.name()
        )
    };
    match kind {
        BinKind::Bool => {
            let b = parse_bool(v).ok_or_else(bad)?;
            out.extend_from_slice(&1i32.to_be_bytes());
            out.push(u8::from(b));
        }
        BinKind::Float4 => {
            let f = parse_float::<f32>(v, f32::is_infinite).ok_or_else(bad)?;
            out.extend_from_slice(&4i32.to_be_bytes());
            out.extend_from_slice(&f.to_be_bytes());
        }
        BinKind::Float8 => {
            let f = parse_float::<f64>(v, f64::is_infinite).ok_or_else(bad)?;
            out.extend_from_slice(&8i32.to_be_bytes());
            out.extend_from_slice(&f.to_be_bytes());
        }
        BinKind::Uuid => {
            let u = parse_uuid(v).ok_or_else(bad)?;
            out.extend_from_slice(&16i32.to_be_bytes());
            out.extend_from_slice(&u);
        }
        _ => return push_int(out, kind, v),
    }
    Ok(())
}

/// Append one integer field (length and value) of `kind`; the reason when
/// `v` is not an integer that fits.
fn push_int(out: &mut Vec<u8>, kind: BinKind, v: &[u8]) -> Result<(), String> {
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
        _ => return Err(format!("{} is not an integer type", kind.name())),
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
        push_fixed(&mut out, BinKind::Int2, b"-2").unwrap();
        push_fixed(&mut out, BinKind::Int4, b"2147483647").unwrap();
        push_fixed(&mut out, BinKind::Int8, b"-1").unwrap();
        assert_eq!(
            out,
            [
                &[0, 0, 0, 2, 0xff, 0xfe][..],
                &[0, 0, 0, 4, 0x7f, 0xff, 0xff, 0xff],
                &[0, 0, 0, 8, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
            ]
            .concat()
        );
        let e = push_fixed(&mut out, BinKind::Int2, b"40000").unwrap_err();
        assert!(e.contains("smallint"), "{e}");
        assert!(push_fixed(&mut out, BinKind::Int4, b"2147483648").is_err());
        out.clear();
        push_fixed(&mut out, BinKind::Bool, b"t").unwrap();
        push_fixed(&mut out, BinKind::Float8, b"1").unwrap();
        assert_eq!(
            out,
            [&[0, 0, 0, 1, 1][..], &[0, 0, 0, 8], &1f64.to_be_bytes()].concat()
        );
    }

    #[test]
    fn only_known_types_are_binary() {
        let types: HashMap<String, u32> = [
            ("a".into(), 23),
            ("b".into(), 1043),
            ("c".into(), 1700),
            ("d".into(), 17),
        ]
        .into();
        let (no, yes) = (false, true);
        assert_eq!(
            kinds(
                &["b".into(), "a".into(), "d".into()],
                &types,
                &[no, no, yes]
            ),
            Some(vec![BinKind::Text, BinKind::Int4, BinKind::Bytea])
        );
        assert_eq!(
            kinds(&["a".into(), "c".into()], &types, &[no, no]),
            None,
            "numeric"
        );
        assert_eq!(kinds(&["z".into()], &types, &[no]), None, "unknown column");
        assert_eq!(
            kinds(&["d".into()], &types, &[no]),
            None,
            "bytea not as hex"
        );
        assert_eq!(kinds(&["b".into()], &types, &[yes]), None, "hex into text");
    }

    #[test]
    fn booleans_read_as_boolin_reads_them() {
        for t in ["t", "TRUE", " tr ", "y", "yes", "on", "ON", "1"] {
            assert_eq!(parse_bool(t.as_bytes()), Some(true), "{t}");
        }
        for f in ["f", "False", "n", "no", "of", "off", "0"] {
            assert_eq!(parse_bool(f.as_bytes()), Some(false), "{f}");
        }
        for bad in ["", "o", "2", "10", "truex", "yess", "onn", "nah"] {
            assert_eq!(parse_bool(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn floats_read_as_float8in_reads_them() {
        let f8 = |v: &str| parse_float::<f64>(v.as_bytes(), f64::is_infinite);
        assert_eq!(f8("0.1"), Some(0.1));
        assert_eq!(f8(" -0 ").map(f64::to_bits), Some((-0.0f64).to_bits()));
        assert_eq!(f8("1.7976931348623157e308"), Some(f64::MAX));
        assert_eq!(f8("4.9e-324"), Some(4.9e-324), "subnormal");
        assert_eq!(f8("-Infinity"), Some(f64::NEG_INFINITY));
        assert!(f8("NaN").is_some_and(f64::is_nan));
        assert_eq!(f8("1e400"), None, "overflow");
        assert_eq!(f8("1e-400"), None, "underflow");
        assert_eq!(f8("0e-400"), Some(0.0));
        assert_eq!(f8("1,5"), None);
        let f4 = |v: &str| parse_float::<f32>(v.as_bytes(), f32::is_infinite);
        assert_eq!(f4("3.4028235e38"), Some(f32::MAX));
        assert_eq!(f4("1e39"), None, "over real's range");
        assert_eq!(f4("0.1"), Some(0.1f32), "read as a real, not rounded twice");
    }

    #[test]
    fn uuids_read_as_uuid_in_reads_them() {
        let want = [
            0xa0, 0xee, 0xbc, 0x99, 0x9c, 0x0b, 0x4e, 0xf8, 0xbb, 0x6d, 0x6b, 0xb9, 0xbd, 0x38,
            0x0a, 0x11,
        ];
        for ok in [
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11}",
            "a0eebc999c0b4ef8bb6d6bb9bd380a11",
            "a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11",
        ] {
            assert_eq!(parse_uuid(ok.as_bytes()), Some(want), "{ok}");
        }
        for bad in [
            "",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11-",
            "a0eebc9-99c0b-4ef8-bb6d-6bb9bd380a11",
            " a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
            "g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
        ] {
            assert_eq!(parse_uuid(bad.as_bytes()), None, "{bad}");
        }
    }

    #[test]
    fn bytea_escape_format() {
        let mut out = Vec::new();
        assert!(unescape_bytea(b"a\\\\b\\000\\377", &mut out));
        assert_eq!(out, b"a\\b\0\xff");
        out.clear();
        assert!(unescape_bytea(b"\\x4142", &mut out));
        assert_eq!(out, b"AB");
        for bad in [&b"\\"[..], b"\\x4", b"\\400", b"\\12"] {
            assert!(!unescape_bytea(bad, &mut Vec::new()), "{bad:?}");
        }
    }
}
