//! Values crossing engines. An archive holds each value in its source
//! engine's text form; most of them load into another engine as they are,
//! and [`Converted`] rewrites, in the stream, the ones that do not: MySQL
//! text in latin1 and other character sets, booleans, zero dates, timestamps with offsets, PostgreSQL
//! arrays, and values SQLite would change silently. A same-engine restore
//! passes everything through. `docs/types.md` lists every case.

pub mod apps;
mod arrays;
mod charset;
mod charset_fixes;
pub mod spatial;

use arrays::{array_to_json, Elem};
use charset::{mysql_charset, Charset};

pub use spatial::is_mysql_geometry;

use crate::archive::codec::{CodecError, Field};
use crate::model::{Column, EngineKind, NeutralType};
use crate::stream::Rows;
use std::collections::BTreeMap;
use std::sync::Mutex;

/// What a restore into PostgreSQL does with a zero date (`0000-00-00`,
/// or a zero month or day), which PostgreSQL cannot store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroDates {
    /// Load NULL and count it per column in the report's warnings.
    #[default]
    Null,
    /// Fail the chunk, naming the row and column.
    Error,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step {
    /// MySQL latin1 (Windows-1252) bytes to UTF-8.
    Latin1,
    /// Text of a MySQL column in another character set to UTF-8.
    Decode(Charset),
    /// Text of a MySQL column in a character set `encoding_rs` cannot
    /// decode must be UTF-8.
    Utf8,
    /// `t`/`f`/`true`/`false` to `1`/`0`.
    BoolDigits,
    /// A zero date: NULL (counted) or an error.
    ZeroDate(ZeroDates),
    /// A timestamp with an offset (or a `T`) to UTC text without one.
    Utc,
    /// A PostgreSQL array literal to a JSON array.
    ArrayJson(Elem),
    /// An integer must fit SQLite's signed 64 bits.
    FitsI64,
    /// SQLite stores NaN as NULL: refused.
    NoNan,
    /// MySQL's BIT has no empty value: refused.
    NonEmptyBits,
    /// A UUID into a 32-character text column (Django's form of a UUID on
    /// MySQL and SQLite): the 32 hex digits, without dashes.
    UuidHex,
    /// A blob of an untyped SQLite column (a plain value there) into a
    /// column that is not binary: refused.
    NoBlob,
    /// MySQL's geometry bytes (hex) to PostGIS's hex EWKB.
    Ewkb,
    /// A number in a SQLite date column (`DATETIME DEFAULT 0`'s rows):
    /// NULL (counted) or an error, as zero dates.
    DateNumber(ZeroDates),
}

/// The conversions of one loaded column.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ColumnConv {
    steps: Vec<Step>,
}

impl ColumnConv {
    /// What a value of archive column `src` (from engine `from`; `None`
    /// for a computed column) needs to load into a column of type `dst` on
    /// engine `to`.
    pub fn new(
        from: EngineKind,
        src: Option<&Column>,
        to: EngineKind,
        dst: &NeutralType,
        zero_dates: ZeroDates,
    ) -> ColumnConv {
        let mut steps = Vec::new();
        if from == to {
            return ColumnConv { steps };
        }
        let src_ty = src.map(|c| &c.ty).unwrap_or(dst);
        let collation = src.and_then(|c| c.collation.as_deref());
        let latin1 = collation.is_some_and(|c| c.starts_with("latin1"));
        let textual = matches!(
            src_ty,
            NeutralType::Text { .. } | NeutralType::Enum { .. } | NeutralType::Set { .. }
        );
        let utf8 = collation.is_none_or(|c| {
            c.starts_with("utf8") || c.starts_with("ascii") || c.starts_with("binary")
        });
        if from == EngineKind::Mysql && textual {
            if latin1 {
                steps.push(Step::Latin1);
            } else if !utf8 {
                steps.push(
                    collation
                        .and_then(mysql_charset)
                        .map_or(Step::Utf8, Step::Decode),
                );
            }
        }
        if from == EngineKind::Sqlite && *src_ty == NeutralType::Any && !dst.is_binary() {
            steps.push(Step::NoBlob);
        }
        if uuid_as_hex(src_ty, dst) {
            steps.push(Step::UuidHex);
        }
        // A MySQL geometry into a PostgreSQL column of a type haul has no
        // neutral name for: a PostGIS geometry.
        if to == EngineKind::Postgres
            && *dst == NeutralType::Other
            && src.is_some_and(|c| is_mysql_geometry(c, from))
        {
            steps.push(Step::Ewkb);
        }
        match dst {
            NeutralType::Bool if to != EngineKind::Postgres => steps.push(Step::BoolDigits),
            NeutralType::Bits { .. } if to == EngineKind::Mysql => steps.push(Step::NonEmptyBits),
            NeutralType::Date | NeutralType::Timestamp { .. } => {
                if to == EngineKind::Postgres {
                    steps.push(Step::ZeroDate(zero_dates));
                }
                if from == EngineKind::Sqlite {
                    steps.push(Step::DateNumber(zero_dates));
                }
                if matches!(dst, NeutralType::Timestamp { .. }) {
                    steps.push(Step::Utc);
                }
            }
            NeutralType::Array { .. } | NeutralType::Json { .. } if to != EngineKind::Postgres => {
                if let NeutralType::Array { element } = src_ty {
                    steps.push(Step::ArrayJson(match element.as_ref() {
                        NeutralType::Int { .. }
                        | NeutralType::Decimal { .. }
                        | NeutralType::Float { .. } => Elem::Number,
                        NeutralType::Bool => Elem::Bool,
                        NeutralType::Json { .. } => Elem::Json,
                        _ => Elem::Text,
                    }));
                }
            }
            NeutralType::Int { .. } if to == EngineKind::Sqlite => steps.push(Step::FitsI64),
            NeutralType::Float { .. } | NeutralType::Decimal { .. } if to == EngineKind::Sqlite => {
                steps.push(Step::NoNan)
            }
            _ => {}
        }
        ColumnConv { steps }
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }
}

/// Lossy conversions counted over a whole restore, per table and column:
/// zero dates, and numbers in SQLite date columns.
#[derive(Debug, Default)]
pub struct Conversions {
    counts: Mutex<BTreeMap<(String, String, bool), u64>>,
}

impl Conversions {
    fn add(&self, table: &str, column: &str, number: bool, n: u64) {
        if let Ok(mut m) = self.counts.lock() {
            *m.entry((table.to_string(), column.to_string(), number))
                .or_default() += n;
        }
    }

    /// One line per column that had values converted.
    pub fn report(&self) -> Vec<String> {
        let Ok(m) = self.counts.lock() else {
            return Vec::new();
        };
        m.iter()
            .map(|((t, c, number), n)| {
                let what = if *number {
                    "number(s) in a SQLite date column (not a date)"
                } else {
                    "zero date(s) ('0000-00-00')"
                };
                format!(
                    "table {t}, column {c}: {n} {what} loaded as NULL (--zero-dates error refuses them)"
                )
            })
            .collect()
    }
}

enum Out {
    Pass,
    Null,
    Buf,
}

/// Rows with each column's conversions applied.
pub struct Converted<'a> {
    inner: &'a mut dyn Rows,
    table: &'a str,
    chunk: &'a str,
    columns: &'a [String],
    convs: &'a [ColumnConv],
    bufs: Vec<Vec<u8>>,
    out: Vec<Out>,
    zero: Vec<u64>,
    numbers: Vec<u64>,
    counts: &'a Conversions,
}

impl<'a> Converted<'a> {
    /// `columns` names the loaded columns, `convs` their conversions, in
    /// field order; `table` and `chunk` name what is loaded, for errors.
    pub fn new(
        inner: &'a mut dyn Rows,
        table: &'a str,
        chunk: &'a str,
        columns: &'a [String],
        convs: &'a [ColumnConv],
        counts: &'a Conversions,
    ) -> Self {
        Converted {
            inner,
            table,
            chunk,
            columns,
            convs,
            bufs: vec![Vec::new(); convs.len()],
            out: convs.iter().map(|_| Out::Pass).collect(),
            zero: vec![0; convs.len()],
            numbers: vec![0; convs.len()],
            counts,
        }
    }

    fn convert(&mut self, i: usize) -> Result<(), String> {
        self.out[i] = Out::Pass;
        let v = match self.inner.field(i).map_err(|e| e.to_string())? {
            Field::Value(v) => v,
            Field::Null | Field::Tagged(..) => return Ok(()),
        };
        // Values are borrowed from the chunk until a step rewrites one.
        let mut owned: Option<Vec<u8>> = None;
        for step in &self.convs[i].steps {
            let cur: &[u8] = owned.as_deref().unwrap_or(v);
            let next: Option<Vec<u8>> = match step {
                Step::Latin1 => (!cur.is_ascii()).then(|| latin1_to_utf8(cur)),
                Step::Decode(cs) => cs.decode(cur)?,
                Step::Utf8 => {
                    if std::str::from_utf8(cur).is_err() {
                        return Err(
                            "the value is not UTF-8 (its MySQL column has another character set)"
                                .into(),
                        );
                    }
                    None
                }
                Step::BoolDigits => match cur {
                    b"t" | b"true" | b"TRUE" | b"T" => Some(b"1".to_vec()),
                    b"f" | b"false" | b"FALSE" | b"F" => Some(b"0".to_vec()),
                    _ => None,
                },
                Step::ZeroDate(policy) => {
                    if is_zero_date(cur) {
                        match policy {
                            ZeroDates::Null => {
                                self.zero[i] += 1;
                                self.out[i] = Out::Null;
                                return Ok(());
                            }
                            ZeroDates::Error => {
                                return Err(format!(
                                    "zero date {:?} cannot be stored in PostgreSQL (--zero-dates null loads it as NULL)",
                                    String::from_utf8_lossy(cur)
                                ))
                            }
                        }
                    }
                    None
                }
                Step::Utc => to_utc(cur),
                Step::ArrayJson(elem) => Some(array_to_json(cur, *elem)?),
                Step::FitsI64 => {
                    let ok = std::str::from_utf8(cur).is_ok_and(|s| s.parse::<i64>().is_ok());
                    if !ok {
                        return Err(format!(
                            "{:?} does not fit SQLite's 64-bit signed integer",
                            String::from_utf8_lossy(cur)
                        ));
                    }
                    None
                }
                Step::NonEmptyBits => {
                    if cur.is_empty() {
                        return Err("an empty bit string has no MySQL BIT value".into());
                    }
                    None
                }
                Step::NoBlob => {
                    return Err(format!(
                    "a blob (x'{}') of an untyped SQLite column cannot be stored in a text column",
                    String::from_utf8_lossy(&cur[..cur.len().min(32)])
                ))
                }
                Step::Ewkb => Some(spatial::mysql_to_ewkb(cur)?),
                Step::DateNumber(policy) => {
                    if is_number(cur) {
                        match policy {
                            ZeroDates::Null => {
                                self.numbers[i] += 1;
                                self.out[i] = Out::Null;
                                return Ok(());
                            }
                            ZeroDates::Error => {
                                return Err(format!(
                                    "{:?} in a date column is a number, not a date (--zero-dates null loads it as NULL)",
                                    String::from_utf8_lossy(cur)
                                ))
                            }
                        }
                    }
                    None
                }
                Step::UuidHex => (cur.len() == 36
                    && [8, 13, 18, 23].iter().all(|&i| cur[i] == b'-'))
                .then(|| cur.iter().copied().filter(|&b| b != b'-').collect()),
                Step::NoNan => {
                    if cur.eq_ignore_ascii_case(b"nan") {
                        return Err("NaN cannot be stored in SQLite (it would become NULL)".into());
                    }
                    None
                }
            };
            if next.is_some() {
                owned = next;
            }
        }
        if let Some(n) = owned {
            self.bufs[i] = n;
            self.out[i] = Out::Buf;
        }
        Ok(())
    }
}

impl Drop for Converted<'_> {
    fn drop(&mut self) {
        for (number, counts) in [(false, &self.zero), (true, &self.numbers)] {
            for (i, n) in counts.iter().enumerate() {
                if *n > 0 {
                    let name = self.columns.get(i).map(String::as_str).unwrap_or("?");
                    self.counts.add(self.table, name, number, *n);
                }
            }
        }
    }
}

impl Rows for Converted<'_> {
    fn next_row(&mut self) -> Result<bool, CodecError> {
        if !self.inner.next_row()? {
            return Ok(false);
        }
        for i in 0..self.convs.len() {
            if self.convs[i].is_empty() {
                continue;
            }
            if let Err(message) = self.convert(i) {
                return Err(CodecError::Value(format!(
                    "table {}, {}, row {}, column {}: {message}",
                    self.table,
                    self.chunk,
                    self.inner.row_number(),
                    self.columns.get(i).map(String::as_str).unwrap_or("?"),
                )));
            }
        }
        Ok(true)
    }

    fn field(&self, i: usize) -> Result<Field<'_>, CodecError> {
        match self.out.get(i) {
            Some(Out::Null) => Ok(Field::Null),
            Some(Out::Buf) => Ok(Field::Value(&self.bufs[i])),
            _ => self.inner.field(i),
        }
    }

    fn width(&self) -> usize {
        self.inner.width()
    }

    fn row_number(&self) -> u64 {
        self.inner.row_number()
    }
    fn raw_csv(&self) -> Option<&[u8]> {
        self.convs
            .iter()
            .all(|c| c.is_empty())
            .then(|| self.inner.raw_csv())
            .flatten()
    }
    fn csv_len(&self) -> usize {
        self.inner.csv_len()
    }
}

/// A MySQL `NOT NULL` date column whose default is a zero date is created
/// nullable on PostgreSQL, as pgloader does: its zero dates load as NULL.
pub fn zero_date_not_null(c: &Column, from: EngineKind) -> bool {
    from == EngineKind::Mysql
        && !c.nullable
        && matches!(c.ty, NeutralType::Date | NeutralType::Timestamp { .. })
        && c.default
            .as_deref()
            .is_some_and(|d| d.trim_matches('\'').starts_with("0000-00-00"))
}

/// Whether a value of type `src` into a column of type `dst` is written as
/// 32 hex digits: a UUID into a text column of exactly 32 characters.
pub fn uuid_as_hex(src: &NeutralType, dst: &NeutralType) -> bool {
    matches!(
        (src, dst),
        (
            NeutralType::Uuid,
            NeutralType::Text {
                max_chars: Some(32),
                ..
            }
        )
    )
}

/// MySQL's latin1 is Windows-1252, with the five bytes that code page
/// leaves undefined mapped to the C1 controls.
const CP1252_80: [u16; 32] = [
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160, 0x2039,
    0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013, 0x2014,
    0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
];

fn latin1_to_utf8(v: &[u8]) -> Vec<u8> {
    let mut s = String::with_capacity(v.len() + v.len() / 2);
    for &b in v {
        let cp = match b {
            0x80..=0x9F => u32::from(CP1252_80[usize::from(b - 0x80)]),
            _ => u32::from(b),
        };
        s.push(char::from_u32(cp).unwrap_or('\u{FFFD}'));
    }
    s.into_bytes()
}

/// A plain number (`0`, `2024`, `-1.5`): what SQLite keeps in a date
/// column given one, never a date.
fn is_number(v: &[u8]) -> bool {
    let d = v.strip_prefix(b"-").unwrap_or(v);
    !d.is_empty()
        && d.iter().all(|c| c.is_ascii_digit() || *c == b'.')
        && d.iter().filter(|c| **c == b'.').count() <= 1
        && d.iter().any(u8::is_ascii_digit)
}

/// `YYYY-MM-DD...` with a zero month or day (MySQL's zero dates).
fn is_zero_date(v: &[u8]) -> bool {
    v.len() >= 10 && v[4] == b'-' && v[7] == b'-' && (&v[5..7] == b"00" || &v[8..10] == b"00")
}

fn digits(v: &[u8]) -> Option<i64> {
    if v.is_empty() || !v.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(v).ok()?.parse().ok()
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719468;
    let era = if z >= 0 { z } else { z - 146096 } / 146097;
    let doe = z - era * 146097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// `YYYY-MM-DD[ T]HH:MM[:SS[.f]][Z|±HH[[:]MM[[:]SS]]]` as UTC text without
/// an offset (`YYYY-MM-DD HH:MM:SS[.f]`); `None` when it already is one, or
/// is something else (infinity, BC, a year past 9999), which loads as is.
fn to_utc(v: &[u8]) -> Option<Vec<u8>> {
    if v.len() < 16 || v[4] != b'-' || v[7] != b'-' || !matches!(v[10], b' ' | b'T') {
        return None;
    }
    let (y, mo, d) = (digits(&v[0..4])?, digits(&v[5..7])?, digits(&v[8..10])?);
    let (h, mi) = (digits(&v[11..13])?, digits(&v[14..16])?);
    if v[13] != b':' {
        return None;
    }
    let mut i = 16;
    let mut s = 0;
    if v.get(i) == Some(&b':') {
        s = digits(v.get(i + 1..i + 3)?)?;
        i += 3;
    }
    let frac_start = i;
    if v.get(i) == Some(&b'.') {
        i += 1;
        while v.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
    }
    let frac = &v[frac_start..i];
    let rest = &v[i..];
    let offset: i64 = match rest {
        [] => 0,
        b"Z" | b"z" => 0,
        [sign @ (b'+' | b'-'), r @ ..] => {
            let r: Vec<u8> = r.iter().copied().filter(|&c| c != b':').collect();
            let (oh, om, os) = match r.len() {
                2 => (digits(&r)?, 0, 0),
                4 => (digits(&r[..2])?, digits(&r[2..])?, 0),
                6 => (digits(&r[..2])?, digits(&r[2..4])?, digits(&r[4..])?),
                _ => return None,
            };
            let o = oh * 3600 + om * 60 + os;
            if *sign == b'-' {
                -o
            } else {
                o
            }
        }
        _ => return None,
    };
    if rest.is_empty() && v[10] == b' ' {
        return None;
    }
    let (y, mo, d, h, mi, s) = if offset == 0 {
        (y, mo, d, h, mi, s)
    } else {
        let t = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset;
        let (y, mo, d) = civil_from_days(t.div_euclid(86400));
        let sec = t.rem_euclid(86400);
        (y, mo, d, sec / 3600, sec % 3600 / 60, sec % 60)
    };
    if !(0..=9999).contains(&y) {
        return None;
    }
    let mut out = format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}").into_bytes();
    out.extend_from_slice(frac);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> Option<String> {
        to_utc(s.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn timestamps_to_utc() {
        assert_eq!(utc("2024-01-01 12:00:00"), None);
        assert_eq!(
            utc("2024-01-01 12:00:00+00").as_deref(),
            Some("2024-01-01 12:00:00")
        );
        assert_eq!(
            utc("2024-03-01T01:30:00.25+02:00").as_deref(),
            Some("2024-02-29 23:30:00.25")
        );
        assert_eq!(
            utc("1999-12-31 23:59:59.999999-05:30").as_deref(),
            Some("2000-01-01 05:29:59.999999")
        );
        assert_eq!(
            utc("2024-01-01T00:00Z").as_deref(),
            Some("2024-01-01 00:00:00")
        );
        assert_eq!(utc("infinity"), None);
        assert_eq!(utc("0044-03-15 00:00:00 BC"), None);
        for days in [-800_000, -1, 0, 59, 19_000, 2_900_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    #[test]
    fn arrays_to_json() {
        let j = |s: &str, e| String::from_utf8(array_to_json(s.as_bytes(), e).unwrap()).unwrap();
        assert_eq!(j("{1,2,NULL}", Elem::Number), "[1,2,null]");
        assert_eq!(j("{}", Elem::Text), "[]");
        assert_eq!(
            j(r#"{{"a b","c\"d"},{NULL,"NULL"}}"#, Elem::Text),
            r#"[["a b","c\"d"],[null,"NULL"]]"#
        );
        assert_eq!(j("{t,f}", Elem::Bool), "[true,false]");
        assert_eq!(j("[0:1]={x,y}", Elem::Text), r#"["x","y"]"#);
        assert_eq!(j(r#"{"{\"a\": 1}"}"#, Elem::Json), r#"[{"a": 1}]"#);
        assert!(array_to_json(b"{NaN}", Elem::Number).is_err());
        assert!(array_to_json(b"{1,2", Elem::Number).is_err());
    }

    #[test]
    fn steps_per_direction() {
        use EngineKind::*;
        let col = |ty: NeutralType, collation: Option<&str>| Column {
            name: "c".into(),
            ty,
            native_type: String::new(),
            nullable: true,
            default: None,
            auto_increment: None,
            generated: None,
            collation: collation.map(String::from),
            comment: None,
            on_update_now: false,
            inherited: false,
        };
        let steps =
            |from, c: &Column, to| ColumnConv::new(from, Some(c), to, &c.ty, ZeroDates::Null).steps;
        let text = |coll| {
            col(
                NeutralType::Text {
                    max_chars: None,
                    fixed: false,
                },
                Some(coll),
            )
        };
        assert_eq!(steps(Mysql, &text("latin1_swedish_ci"), Mysql), vec![]);
        assert_eq!(
            steps(Mysql, &text("latin1_swedish_ci"), Postgres),
            vec![Step::Latin1]
        );
        assert_eq!(
            steps(Mysql, &text("cp1251_general_ci"), Sqlite),
            vec![Step::Decode(mysql_charset("cp1251").unwrap())]
        );
        assert_eq!(steps(Mysql, &text("gbk_chinese_ci"), Mysql), vec![]);
        assert_eq!(
            steps(Mysql, &text("utf32_general_ci"), Postgres),
            vec![Step::Utf8]
        );
        assert_eq!(steps(Mysql, &text("utf8mb4_general_ci"), Sqlite), vec![]);
        let b = col(NeutralType::Bool, None);
        assert_eq!(steps(Postgres, &b, Sqlite), vec![Step::BoolDigits]);
        assert_eq!(steps(Mysql, &b, Postgres), vec![]);
        let ts = col(NeutralType::Timestamp { tz: true }, None);
        assert_eq!(
            steps(Mysql, &ts, Postgres),
            vec![Step::ZeroDate(ZeroDates::Null), Step::Utc]
        );
        assert_eq!(steps(Postgres, &ts, Mysql), vec![Step::Utc]);
        let arr = col(
            NeutralType::Array {
                element: Box::new(NeutralType::Bool),
            },
            None,
        );
        assert_eq!(
            steps(Postgres, &arr, Mysql),
            vec![Step::ArrayJson(Elem::Bool)]
        );
        let any = col(NeutralType::Any, None);
        assert_eq!(steps(Sqlite, &any, Postgres), vec![Step::NoBlob]);
    }

    #[test]
    fn latin1_and_zero_dates() {
        assert_eq!(latin1_to_utf8(b"\xe9\x80"), "é€".as_bytes());
        assert!(is_zero_date(b"0000-00-00"));
        assert!(is_zero_date(b"2024-00-10 00:00:00"));
        assert!(!is_zero_date(b"2024-02-29"));
        assert!(is_number(b"0") && is_number(b"2024") && is_number(b"-1.5"));
        assert!(!is_number(b"2024-01-01") && !is_number(b"20:00") && !is_number(b"."));
    }
}
