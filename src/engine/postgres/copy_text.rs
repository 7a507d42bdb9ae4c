//! The COPY text format, as `COPY ... TO STDOUT` writes it, parsed into
//! archive fields.

use crate::stream::{ChunkSink, SinkClosed};

/// Why a COPY stream could not be passed on.
pub(super) enum ParseError {
    /// The sink stopped taking rows.
    Sink(SinkClosed),
    /// The stream is not what the COPY statement asked for.
    Shape(String),
}

/// Streaming parser for COPY text format, writing fields into a sink.
pub(super) struct CopyTextParser {
    binary: Vec<bool>,
    cur: Vec<u8>,
    col: usize,
    null: bool,
    escape: bool,
}

impl CopyTextParser {
    /// A parser for rows of `binary.len()` fields; fields marked binary are
    /// `bytea` in hex form.
    pub(super) fn new(binary: Vec<bool>) -> Self {
        CopyTextParser {
            binary,
            cur: Vec::with_capacity(256),
            col: 0,
            null: false,
            escape: false,
        }
    }

    #[inline]
    fn end_field(&mut self, sink: &mut ChunkSink) -> Result<(), ParseError> {
        if self.col >= self.binary.len() {
            return Err(ParseError::Shape(format!(
                "COPY returned more than {} fields",
                self.binary.len()
            )));
        }
        if self.null {
            sink.null();
        } else if self.binary[self.col] {
            let Some(hex) = self.cur.strip_prefix(b"\\x") else {
                return Err(ParseError::Shape(format!(
                    "field {} is not bytea in hex form",
                    self.col + 1
                )));
            };
            sink.hex(hex);
        } else {
            sink.text(&self.cur);
        }
        self.cur.clear();
        self.null = false;
        self.col += 1;
        Ok(())
    }

    /// Parse the next piece of the stream, passing each row on to `sink` as
    /// its newline arrives.
    pub(super) fn feed(&mut self, mut data: &[u8], sink: &mut ChunkSink) -> Result<(), ParseError> {
        while !data.is_empty() {
            if self.escape {
                self.escape = false;
                let c = data[0];
                data = &data[1..];
                match c {
                    b'N' => self.null = true,
                    b'n' => self.cur.push(b'\n'),
                    b'r' => self.cur.push(b'\r'),
                    b't' => self.cur.push(b'\t'),
                    b'b' => self.cur.push(8),
                    b'f' => self.cur.push(12),
                    b'v' => self.cur.push(11),
                    other => self.cur.push(other),
                }
                continue;
            }
            match memchr::memchr3(b'\t', b'\n', b'\\', data) {
                None => {
                    self.cur.extend_from_slice(data);
                    return Ok(());
                }
                Some(i) => {
                    self.cur.extend_from_slice(&data[..i]);
                    let c = data[i];
                    data = &data[i + 1..];
                    match c {
                        b'\t' => self.end_field(sink)?,
                        b'\n' => {
                            self.end_field(sink)?;
                            if self.col != self.binary.len() {
                                return Err(ParseError::Shape(format!(
                                    "COPY returned {} fields, expected {}",
                                    self.col,
                                    self.binary.len()
                                )));
                            }
                            self.col = 0;
                            sink.end_row().map_err(ParseError::Sink)?;
                        }
                        _ => self.escape = true,
                    }
                }
            }
        }
        Ok(())
    }
}
