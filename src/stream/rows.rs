//! [`Rows`]: what loaders read, one row at a time; [`ChunkRows`] decodes an
//! archive chunk.

use crate::archive::codec::{ChunkDecoder, CodecError, Field};

/// The rows of one chunk as an engine's bulk loader reads them.
pub trait Rows: Send {
    /// Advance; false at the end.
    fn next_row(&mut self) -> Result<bool, CodecError>;
    /// Field `i` of the current row.
    fn field(&self, i: usize) -> Result<Field<'_>, CodecError>;
    /// Number of fields per row.
    fn width(&self) -> usize;
    /// 1-based row number within the chunk, for error messages.
    fn row_number(&self) -> u64;
    /// The whole chunk's CSV, where every row would come out exactly as
    /// stored (no mapping, no conversion) and none has been read yet: a
    /// loader may send it as is.
    fn raw_csv(&self) -> Option<&[u8]> {
        None
    }
    /// Bytes of CSV the whole chunk holds (0 when unknown).
    fn csv_len(&self) -> usize {
        0
    }
}

/// [`Rows`] straight from a decoded chunk.
pub struct ChunkRows<'a> {
    dec: ChunkDecoder<'a>,
    width: usize,
    csv: &'a [u8],
}

impl<'a> ChunkRows<'a> {
    pub fn new(csv: &'a [u8], width: usize) -> Self {
        ChunkRows {
            dec: ChunkDecoder::new(csv, width),
            width,
            csv,
        }
    }
}

impl Rows for ChunkRows<'_> {
    fn next_row(&mut self) -> Result<bool, CodecError> {
        self.dec.next_row()
    }
    #[inline]
    fn field(&self, i: usize) -> Result<Field<'_>, CodecError> {
        self.dec.field(i)
    }
    fn width(&self) -> usize {
        self.width
    }
    fn row_number(&self) -> u64 {
        self.dec.row_number()
    }
    fn raw_csv(&self) -> Option<&[u8]> {
        (self.dec.row_number() == 0).then_some(self.csv)
    }
    fn csv_len(&self) -> usize {
        self.csv.len()
    }
}
