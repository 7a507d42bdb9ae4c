//! Fields of a text-protocol result row read in place from the packet the
//! server sent: a length-encoded string per column, or `0xFB` for NULL. No
//! value is copied or allocated on the way to the chunk sink.

/// Fields of one row packet, in column order: `Some(bytes)` or `None` for
/// NULL; an error where the packet ends early or holds more.
pub(super) struct RawFields<'a> {
    buf: &'a [u8],
}

impl<'a> RawFields<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        RawFields { buf }
    }

    /// The next field (`Ok(None)` for NULL).
    #[inline]
    pub(super) fn next_field(&mut self) -> Result<Option<&'a [u8]>, &'static str> {
        let (&first, rest) = self
            .buf
            .split_first()
            .ok_or("the row ends before its last column")?;
        let (len, rest) = match first {
            0xFB => {
                self.buf = rest;
                return Ok(None);
            }
            0xFC => int(rest, 2)?,
            0xFD => int(rest, 3)?,
            0xFE => int(rest, 8)?,
            0xFF => return Err("a field with an invalid length prefix"),
            n => (u64::from(n), rest),
        };
        let len = usize::try_from(len).map_err(|_| "a field longer than memory")?;
        if rest.len() < len {
            return Err("a field runs past the end of the row");
        }
        let (field, rest) = rest.split_at(len);
        self.buf = rest;
        Ok(Some(field))
    }

    /// Whether every byte of the packet was read.
    pub(super) fn is_done(&self) -> bool {
        self.buf.is_empty()
    }
}

/// A little-endian integer of `n` bytes, and what follows it.
#[inline]
fn int(buf: &[u8], n: usize) -> Result<(u64, &[u8]), &'static str> {
    if buf.len() < n {
        return Err("a field length runs past the end of the row");
    }
    let (head, rest) = buf.split_at(n);
    let v = head
        .iter()
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Ok((v, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lenenc(out: &mut Vec<u8>, v: &[u8]) {
        let n = v.len() as u64;
        match n {
            0..=250 => out.push(n as u8),
            251..=0xFFFF => {
                out.push(0xFC);
                out.extend_from_slice(&(n as u16).to_le_bytes());
            }
            0x1_0000..=0xFF_FFFF => {
                out.push(0xFD);
                out.extend_from_slice(&(n as u32).to_le_bytes()[..3]);
            }
            _ => {
                out.push(0xFE);
                out.extend_from_slice(&n.to_le_bytes());
            }
        }
        out.extend_from_slice(v);
    }

    #[test]
    fn fields_of_every_length_prefix_and_null() {
        let values: Vec<Option<Vec<u8>>> = vec![
            Some(b"".to_vec()),
            None,
            Some(b"abc".to_vec()),
            Some(vec![b'x'; 250]),
            Some(vec![b'y'; 251]),
            Some(vec![b'z'; 70_000]),
        ];
        let mut packet = Vec::new();
        for v in &values {
            match v {
                Some(v) => lenenc(&mut packet, v),
                None => packet.push(0xFB),
            }
        }
        let mut f = RawFields::new(&packet);
        for v in &values {
            assert_eq!(f.next_field().map(|o| o.map(<[u8]>::to_vec)), Ok(v.clone()));
        }
        assert!(f.is_done());
        assert!(f.next_field().is_err());
    }

    #[test]
    fn a_truncated_packet_is_an_error() {
        let mut packet = Vec::new();
        lenenc(&mut packet, &[b'a'; 300]);
        for cut in [0, 1, 2, 3, 200] {
            assert!(
                RawFields::new(&packet[..cut]).next_field().is_err(),
                "cut at {cut}"
            );
        }
        assert!(RawFields::new(&[0xFF]).next_field().is_err());
    }
}
