//! The chunk codec: rows to CSV bytes and back.
//!
//! A field is one of:
//! - `\N` (unquoted or quoted, it makes no difference): SQL NULL;
//! - text beginning with a backslash, written with one more backslash in
//!   front (`\N` as text is stored as `\\N`, `\x` as `\\x`);
//! - `\i:`, `\r:`, `\t:`, `\b:` followed by a payload: a value whose storage
//!   class differs from its column's declared type (SQLite only; integer,
//!   real, text, blob as hex);
//! - anything else: the value as is.
//!
//! Values of binary columns are lowercase hex. The convention never depends
//! on quoting, because the `csv` crate does not report it.

use thiserror::Error;

/// Errors decoding a chunk.
#[derive(Debug, Error)]
pub enum CodecError {
    #[error("row {row}: expected {expected} fields, found {found}")]
    FieldCount {
        row: u64,
        expected: usize,
        found: usize,
    },
    #[error("row {row}, column {column}: unknown escape {escape:?}")]
    BadEscape {
        row: u64,
        column: usize,
        escape: String,
    },
    #[error("malformed CSV: {0}")]
    Csv(#[from] csv::Error),
    #[error("row {row}: malformed CSV: {reason}")]
    Malformed { row: u64, reason: String },
    /// A value the target engine cannot hold (cross-engine restores),
    /// with its table, chunk, row and column.
    #[error("{0}")]
    Value(String),
}

/// Storage-class tags for values that do not match their column's type.
pub mod tag {
    pub const INTEGER: u8 = b'i';
    pub const REAL: u8 = b'r';
    pub const TEXT: u8 = b't';
    pub const BLOB: u8 = b'b';
}

/// A decoded field, borrowing from the chunk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field<'a> {
    Null,
    /// The value's text (for binary columns: its hex).
    Value(&'a [u8]),
    /// A value tagged with a storage class (see [`tag`]); blobs are hex.
    Tagged(u8, &'a [u8]),
}

/// Decode one raw CSV field.
#[inline]
pub fn decode_field(raw: &[u8]) -> Result<Field<'_>, u8> {
    if raw.first() != Some(&b'\\') {
        return Ok(Field::Value(raw));
    }
    match raw.get(1) {
        Some(b'\\') => Ok(Field::Value(&raw[1..])),
        Some(b'N') if raw.len() == 2 => Ok(Field::Null),
        Some(&t @ (tag::INTEGER | tag::REAL | tag::TEXT | tag::BLOB))
            if raw.get(2) == Some(&b':') =>
        {
            Ok(Field::Tagged(t, &raw[3..]))
        }
        Some(&c) => Err(c),
        None => Err(b' '),
    }
}

/// Writes rows as CSV into an in-memory chunk.
pub struct ChunkEncoder {
    buf: Vec<u8>,
    scratch: Vec<u8>,
    rows: u64,
    fields_in_row: usize,
    /// Where the current row starts in `buf`.
    row_start: usize,
}

/// Whether a field must be quoted (RFC 4180, as the `csv` crate writes
/// it: `\r` too, which readers take for a line end); memchr's vectorized
/// scans.
#[inline]
fn needs_quotes(v: &[u8]) -> bool {
    memchr::memchr3(b',', b'"', b'\n', v).is_some() || memchr::memchr(b'\r', v).is_some()
}

/// Append `v` as one CSV field: as it is, or quoted with its quotes doubled.
#[inline]
fn push_field(out: &mut Vec<u8>, v: &[u8]) {
    if !needs_quotes(v) {
        out.extend_from_slice(v);
        return;
    }
    out.reserve(v.len() + 2);
    out.push(b'"');
    let mut rest = v;
    while let Some(i) = memchr::memchr(b'"', rest) {
        out.extend_from_slice(&rest[..=i]);
        out.push(b'"');
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

impl ChunkEncoder {
    pub fn new(capacity: usize) -> Self {
        ChunkEncoder {
            buf: Vec::with_capacity(capacity),
            scratch: Vec::with_capacity(256),
            rows: 0,
            fields_in_row: 0,
            row_start: 0,
        }
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    #[inline]
    fn raw(&mut self, bytes: &[u8]) {
        if self.fields_in_row > 0 {
            self.buf.push(b',');
        }
        self.fields_in_row += 1;
        push_field(&mut self.buf, bytes);
    }

    /// A NULL.
    #[inline]
    pub fn null(&mut self) {
        self.raw(b"\\N");
    }

    /// A text (or numeric, date, ...) value.
    #[inline]
    pub fn text(&mut self, v: &[u8]) {
        if v.first() == Some(&b'\\') {
            let mut s = std::mem::take(&mut self.scratch);
            s.clear();
            s.push(b'\\');
            s.extend_from_slice(v);
            self.raw(&s);
            self.scratch = s;
        } else {
            self.raw(v);
        }
    }

    /// A binary value, hex-encoded.
    #[inline]
    pub fn bytes(&mut self, v: &[u8]) {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        push_hex(&mut s, v);
        self.raw(&s);
        self.scratch = s;
    }

    /// An already hex-encoded binary value.
    #[inline]
    pub fn hex(&mut self, hex: &[u8]) {
        self.raw(hex);
    }

    /// A value tagged with its storage class (see [`tag`]). Blob payloads
    /// are raw bytes and get hex-encoded here.
    pub fn tagged(&mut self, t: u8, payload: &[u8]) {
        let mut s = std::mem::take(&mut self.scratch);
        s.clear();
        s.extend_from_slice(&[b'\\', t, b':']);
        if t == tag::BLOB {
            push_hex(&mut s, payload);
        } else {
            s.extend_from_slice(payload);
        }
        self.raw(&s);
        self.scratch = s;
    }

    /// Close the current row. A row that wrote no byte (no fields, or one
    /// empty field) is written as `""`, so that it is not an empty line.
    #[inline]
    pub fn end_row(&mut self) {
        if self.buf.len() == self.row_start {
            self.buf.extend_from_slice(b"\"\"");
        }
        self.buf.push(b'\n');
        self.row_start = self.buf.len();
        self.fields_in_row = 0;
        self.rows += 1;
    }

    /// Take the finished chunk's bytes and row count, leaving an empty
    /// encoder behind.
    pub fn take(&mut self) -> (Vec<u8>, u64) {
        let cap = self.buf.capacity();
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(cap));
        self.row_start = 0;
        self.fields_in_row = 0;
        (bytes, std::mem::take(&mut self.rows))
    }
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Append `v` as lowercase hex.
#[inline]
pub fn push_hex(out: &mut Vec<u8>, v: &[u8]) {
    out.reserve(v.len() * 2);
    for &b in v {
        out.push(HEX[(b >> 4) as usize]);
        out.push(HEX[(b & 15) as usize]);
    }
}

/// Append the bytes that `hex` encodes; false if it is not valid hex.
#[inline]
pub fn unhex_into(hex: &[u8], out: &mut Vec<u8>) -> bool {
    if hex.len() % 2 != 0 {
        return false;
    }
    out.reserve(hex.len() / 2);
    for pair in hex.chunks_exact(2) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return false,
        }
    }
    true
}

#[inline]
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Where a field's bytes are: in the chunk itself, or (a quoted field with
/// doubled quotes) unescaped into the decoder's scratch buffer.
#[derive(Debug, Clone, Copy)]
enum Span {
    Chunk(usize, usize),
    Scratch(usize, usize),
}

/// Reads the rows of one decompressed chunk. Fields are borrowed from the
/// chunk; only a quoted field holding `""` is copied (into one buffer
/// reused for every row), so one value of any size is held once.
pub struct ChunkDecoder<'a> {
    csv: &'a [u8],
    pos: usize,
    spans: Vec<Span>,
    scratch: Vec<u8>,
    columns: usize,
    row: u64,
}

impl<'a> ChunkDecoder<'a> {
    pub fn new(csv: &'a [u8], columns: usize) -> Self {
        ChunkDecoder {
            csv,
            pos: 0,
            spans: Vec::with_capacity(columns),
            scratch: Vec::new(),
            columns,
            row: 0,
        }
    }

    /// Advance to the next row; false at the end of the chunk.
    pub fn next_row(&mut self) -> Result<bool, CodecError> {
        let csv = self.csv;
        if self.pos >= csv.len() {
            return Ok(false);
        }
        self.row += 1;
        self.spans.clear();
        self.scratch.clear();
        let malformed = |row: u64, what: &str| CodecError::Malformed {
            row,
            reason: what.to_string(),
        };
        loop {
            let start = self.pos;
            let end_of_field;
            if csv.get(start) == Some(&b'"') {
                // Quoted: up to the quote not followed by another.
                let mut at = start + 1;
                let mut copied: Option<usize> = None;
                loop {
                    let Some(q) = memchr::memchr(b'"', &csv[at..]).map(|q| at + q) else {
                        return Err(malformed(self.row, "a quoted field is not closed"));
                    };
                    if csv.get(q + 1) == Some(&b'"') {
                        copied.get_or_insert(self.scratch.len());
                        self.scratch.extend_from_slice(&csv[at..=q]);
                        at = q + 2;
                        continue;
                    }
                    match copied {
                        Some(from) => {
                            self.scratch.extend_from_slice(&csv[at..q]);
                            self.spans.push(Span::Scratch(from, self.scratch.len()));
                        }
                        None => self.spans.push(Span::Chunk(start + 1, q)),
                    }
                    end_of_field = q + 1;
                    break;
                }
                if !matches!(csv.get(end_of_field), None | Some(b',') | Some(b'\n')) {
                    return Err(malformed(
                        self.row,
                        "text after a quoted field's closing quote",
                    ));
                }
            } else {
                end_of_field = memchr::memchr2(b',', b'\n', &csv[start..])
                    .map(|i| start + i)
                    .unwrap_or(csv.len());
                if memchr::memchr(b'"', &csv[start..end_of_field]).is_some() {
                    return Err(malformed(self.row, "a quote inside an unquoted field"));
                }
                self.spans.push(Span::Chunk(start, end_of_field));
            }
            match csv.get(end_of_field) {
                Some(b',') => self.pos = end_of_field + 1,
                _ => {
                    self.pos = end_of_field + 1;
                    break;
                }
            }
        }
        // A row of a table without data columns: one empty field.
        let empty_row = self.columns == 0
            && self.spans.len() == 1
            && matches!(self.spans[0], Span::Chunk(a, b) if a == b);
        if empty_row {
            self.spans.clear();
        }
        if self.spans.len() != self.columns {
            return Err(CodecError::FieldCount {
                row: self.row,
                expected: self.columns,
                found: self.spans.len(),
            });
        }
        Ok(true)
    }

    /// Row number (1-based) of the current row within the chunk.
    pub fn row_number(&self) -> u64 {
        self.row
    }

    /// The raw (still escaped) field `i` of the current row.
    #[inline]
    pub fn raw(&self, i: usize) -> &[u8] {
        match self.spans.get(i) {
            Some(Span::Chunk(a, b)) => &self.csv[*a..*b],
            Some(Span::Scratch(a, b)) => &self.scratch[*a..*b],
            None => &[],
        }
    }

    /// Field `i` of the current row, decoded.
    #[inline]
    pub fn field(&self, i: usize) -> Result<Field<'_>, CodecError> {
        decode_field(self.raw(i)).map_err(|c| CodecError::BadEscape {
            row: self.row,
            column: i,
            escape: format!("\\{}", c as char),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum V {
        Null,
        Text(Vec<u8>),
        Bin(Vec<u8>),
        Tag(u8, Vec<u8>),
    }

    fn encode(rows: &[Vec<V>]) -> Vec<u8> {
        let mut e = ChunkEncoder::new(64);
        for r in rows {
            for v in r {
                match v {
                    V::Null => e.null(),
                    V::Text(t) => e.text(t),
                    V::Bin(b) => e.bytes(b),
                    V::Tag(t, p) => e.tagged(*t, p),
                }
            }
            e.end_row();
        }
        let (bytes, n) = e.take();
        assert_eq!(n, rows.len() as u64);
        bytes
    }

    fn decode(bytes: &[u8], cols: usize, kinds: &[V]) -> Vec<Vec<V>> {
        let mut d = ChunkDecoder::new(bytes, cols);
        let mut out = vec![];
        while d.next_row().unwrap() {
            let mut row = vec![];
            for (i, kind) in kinds.iter().enumerate().take(cols) {
                row.push(match d.field(i).unwrap() {
                    Field::Null => V::Null,
                    Field::Value(v) => match kind {
                        V::Bin(_) => {
                            let mut b = vec![];
                            assert!(unhex_into(v, &mut b));
                            V::Bin(b)
                        }
                        _ => V::Text(v.to_vec()),
                    },
                    Field::Tagged(t, p) => {
                        if t == tag::BLOB {
                            let mut b = vec![];
                            assert!(unhex_into(p, &mut b));
                            V::Tag(t, b)
                        } else {
                            V::Tag(t, p.to_vec())
                        }
                    }
                });
            }
            out.push(row);
        }
        out
    }

    fn same(a: &V, b: &V) -> bool {
        match (a, b) {
            (V::Null, V::Null) => true,
            (V::Text(x), V::Text(y)) | (V::Bin(x), V::Bin(y)) => x == y,
            (V::Tag(t, x), V::Tag(u, y)) => t == u && x == y,
            _ => false,
        }
    }

    #[test]
    fn hard_values() {
        let hard: Vec<&[u8]> = vec![
            b"",
            b"\\N",
            b"\\",
            b"\\\\N",
            b"a,b",
            b"\"quoted\"",
            b"tab\there",
            b"cr\rlf\n",
            b"\r\n",
            "emoji \u{1F600}".as_bytes(),
            b"latin1 \xe9\xff",
            b"NULL",
            b"\\i:1",
        ];
        for h in &hard {
            let rows = vec![vec![V::Text(h.to_vec())]];
            let back = decode(&encode(&rows), 1, &rows[0]);
            assert!(same(&back[0][0], &rows[0][0]), "{:?}", h);
            let rows = vec![vec![V::Text(h.to_vec()), V::Null, V::Text(h.to_vec())]];
            let back = decode(&encode(&rows), 3, &rows[0]);
            for i in 0..3 {
                assert!(same(&back[0][i], &rows[0][i]), "{:?}", h);
            }
        }
    }

    #[test]
    fn null_and_empty_single_column() {
        let rows = vec![
            vec![V::Null],
            vec![V::Text(vec![])],
            vec![V::Null],
            vec![V::Text(vec![])],
        ];
        let bytes = encode(&rows);
        let back = decode(&bytes, 1, &rows[0]);
        assert_eq!(back.len(), 4);
        for (a, b) in rows.iter().zip(&back) {
            assert!(same(&a[0], &b[0]), "{a:?} vs {b:?}");
        }
    }

    #[test]
    fn rows_without_fields() {
        let mut e = ChunkEncoder::new(64);
        for _ in 0..3 {
            e.end_row();
        }
        let (bytes, n) = e.take();
        assert_eq!(n, 3);
        assert_eq!(bytes, b"\"\"\n\"\"\n\"\"\n");
        let mut d = ChunkDecoder::new(&bytes, 0);
        let mut rows = 0;
        while d.next_row().unwrap() {
            rows += 1;
        }
        assert_eq!(rows, 3);
        // A field where none is expected is still an error.
        let mut d = ChunkDecoder::new(b"x\n", 0);
        assert!(matches!(d.next_row(), Err(CodecError::FieldCount { .. })));
    }

    #[test]
    fn bad_escape_is_an_error() {
        let mut d = ChunkDecoder::new(b"\\q\n", 1);
        assert!(d.next_row().unwrap());
        assert!(matches!(d.field(0), Err(CodecError::BadEscape { .. })));
    }

    #[test]
    fn field_count_checked() {
        let mut d = ChunkDecoder::new(b"a,b\n", 3);
        assert!(matches!(d.next_row(), Err(CodecError::FieldCount { .. })));
    }

    fn value() -> impl Strategy<Value = V> {
        prop_oneof![
            Just(V::Null),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(V::Text),
            proptest::collection::vec(
                prop_oneof![
                    Just(b'\\'),
                    Just(b'N'),
                    Just(b'"'),
                    Just(b','),
                    Just(b'\n'),
                    Just(b'\r'),
                    Just(b'\0')
                ],
                0..8
            )
            .prop_map(V::Text),
            proptest::collection::vec(any::<u8>(), 0..40).prop_map(V::Bin),
            (
                prop_oneof![
                    Just(tag::INTEGER),
                    Just(tag::REAL),
                    Just(tag::TEXT),
                    Just(tag::BLOB)
                ],
                proptest::collection::vec(any::<u8>(), 0..20)
            )
                .prop_map(|(t, p)| V::Tag(t, p)),
        ]
    }

    proptest! {
        /// The encoder writes what the `csv` crate writes for the same
        /// fields, byte for byte.
        #[test]
        fn writes_what_the_csv_crate_writes(
            rows in proptest::collection::vec(
                proptest::collection::vec(
                    proptest::collection::vec(
                        prop_oneof![Just(b'a'), Just(b','), Just(b'"'), Just(b'\n'), Just(b'\r'), Just(b' '), any::<u8>()],
                        0..12,
                    ),
                    0..4,
                ),
                0..20,
            )
        ) {
            let mut enc = ChunkEncoder::new(64);
            let mut w = csv::WriterBuilder::new()
                .has_headers(false)
                .flexible(true)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            for row in &rows {
                for f in row {
                    enc.raw(f);
                }
                enc.end_row();
                if row.is_empty() {
                    w.write_field(b"").map_err(|e| TestCaseError::fail(e.to_string()))?;
                    w.write_record(None::<&[u8]>).map_err(|e| TestCaseError::fail(e.to_string()))?;
                } else {
                    w.write_record(row).map_err(|e| TestCaseError::fail(e.to_string()))?;
                }
            }
            let theirs = w.into_inner().map_err(|e| TestCaseError::fail(e.to_string()))?;
            let (ours, n) = enc.take();
            prop_assert_eq!(n, rows.len() as u64);
            prop_assert_eq!(ours, theirs);
        }

        #[test]
        fn round_trip(cols in 1usize..5, seed in proptest::collection::vec(value(), 1..60)) {
            // Shape the flat values into rows of `cols` columns whose kinds
            // (binary or not) are fixed per column, as in a real table.
            let kinds: Vec<V> = (0..cols).map(|i| seed[i % seed.len()].clone()).collect();
            let mut rows = vec![];
            for chunk in seed.chunks(cols) {
                let mut row = vec![];
                for (i, kind) in kinds.iter().enumerate() {
                    let v = chunk.get(i).cloned().unwrap_or(V::Null);
                    let v = match (kind, v) {
                        (V::Bin(_), V::Text(t)) => V::Bin(t),
                        (V::Bin(_), v) => v,
                        (_, V::Bin(b)) => V::Text(b),
                        (_, v) => v,
                    };
                    row.push(v);
                }
                rows.push(row);
            }
            let bytes = encode(&rows);
            let back = decode(&bytes, cols, &kinds);
            prop_assert_eq!(back.len(), rows.len());
            for (a, b) in rows.iter().zip(&back) {
                for (x, y) in a.iter().zip(b) {
                    prop_assert!(same(x, y), "{:?} vs {:?}", x, y);
                }
            }
        }
    }
}
