//! MySQL text in a character set other than UTF-8 or latin1, decoded to
//! UTF-8 with `encoding_rs` (the WHATWG encodings), without replacement: a
//! value that is not valid in its character set is an error. Where MySQL's
//! own tables map a sequence to another character than WHATWG's, MySQL's
//! wins (what `CONVERT(... USING utf8mb4)` reads).

use super::charset_fixes as fixes2;
use encoding_rs::Encoding;

/// How a multi-byte set's sequences start, to find MySQL's own mappings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lead {
    /// A single-byte set.
    None,
    /// Shift_JIS: a lead byte 0x81-0x9F or 0xE0-0xFC, two bytes.
    Sjis,
    /// EUC-JP: 0x8F three bytes, 0x8E and 0xA1-0xFE two.
    EucJp,
    /// Big5, GB2312: a lead byte 0x81-0xFE, two bytes.
    High,
}

/// A MySQL character set `encoding_rs` decodes, and MySQL's own mapping of
/// the sequences where it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Charset {
    name: &'static str,
    enc: &'static Encoding,
    /// `(byte, code point)` pairs that override `enc` (single-byte sets).
    fixes: &'static [(u8, u32)],
    /// Bytes 0x80-0x9F are the C1 controls (ISO 8859 sets WHATWG reads as
    /// a Windows code page).
    c1: bool,
    lead: Lead,
    /// `(two bytes, code point)` pairs that override `enc`, sorted.
    pairs: &'static [(u16, u32)],
    /// EUC-JP's user-defined rows 0xF5-0xFE are the private use area from
    /// U+E000, as MySQL maps them (WHATWG has IBM extensions there).
    pua: bool,
}

const NONE: &[(u8, u32)] = &[];
const NONE2: &[(u16, u32)] = &[];

/// The character set of a MySQL collation or charset name (the part
/// before the first `_`), when `encoding_rs` can decode it.
pub(super) fn mysql_charset(collation: &str) -> Option<Charset> {
    use encoding_rs::*;
    let name = collation.split('_').next().unwrap_or(collation);
    type Entry = (&'static str, &'static Encoding, &'static [(u8, u32)], bool);
    let (name, enc, fixes, c1): Entry = match name {
        // GB18030's decoder, a superset of GBK and GB2312.
        "gbk" => ("gbk", GBK, NONE, false),
        "gb2312" => ("gb2312", GBK, NONE, false),
        "gb18030" => ("gb18030", GB18030, NONE, false),
        "big5" => ("big5", BIG5, NONE, false),
        // WHATWG's Shift_JIS is Windows-31J (cp932), a superset of sjis.
        "sjis" => ("sjis", SHIFT_JIS, NONE, false),
        "cp932" => ("cp932", SHIFT_JIS, NONE, false),
        "ujis" => ("ujis", EUC_JP, NONE, false),
        "eucjpms" => ("eucjpms", EUC_JP, NONE, false),
        "euckr" => ("euckr", EUC_KR, NONE, false),
        "cp1250" => ("cp1250", WINDOWS_1250, NONE, false),
        "cp1251" => ("cp1251", WINDOWS_1251, NONE, false),
        "cp1256" => ("cp1256", WINDOWS_1256, NONE, false),
        "cp1257" => ("cp1257", WINDOWS_1257, NONE, false),
        "koi8r" => ("koi8r", KOI8_R, NONE, false),
        "koi8u" => (
            "koi8u",
            KOI8_U,
            &[(0x95, 0x2022), (0xAE, 0x255D), (0xBE, 0x256C)],
            false,
        ),
        "greek" => (
            "greek",
            ISO_8859_7,
            &[(0xA1, 0x02BD), (0xA2, 0x02BC)],
            false,
        ),
        "hebrew" => ("hebrew", ISO_8859_8, &[(0xAF, 0x203E)], false),
        "latin2" => ("latin2", ISO_8859_2, NONE, false),
        "latin5" => ("latin5", WINDOWS_1254, NONE, true),
        "latin7" => ("latin7", ISO_8859_13, NONE, false),
        "cp866" => ("cp866", IBM866, &[(0xFC, 0x207F), (0xFD, 0x00B2)], false),
        "macroman" => ("macroman", MACINTOSH, NONE, false),
        "tis620" => ("tis620", WINDOWS_874, &[(0xA0, 0xFFFD)], true),
        "ucs2" => ("ucs2", UTF_16BE, NONE, false),
        "utf16" => ("utf16", UTF_16BE, NONE, false),
        "utf16le" => ("utf16le", UTF_16LE, NONE, false),
        _ => return None,
    };
    let (lead, pairs, pua) = match name {
        "sjis" => (Lead::Sjis, fixes2::SJIS, false),
        "ujis" => (Lead::EucJp, fixes2::UJIS, true),
        "eucjpms" => (Lead::EucJp, NONE2, true),
        "gb2312" => (Lead::High, fixes2::GB2312, false),
        "big5" => (Lead::High, fixes2::BIG5, false),
        _ => (Lead::None, NONE2, false),
    };
    Some(Charset {
        name,
        enc,
        fixes,
        c1,
        lead,
        pairs,
        pua,
    })
}

impl Charset {
    /// `v` as UTF-8; `None` when it already is (ASCII in an ASCII-based set).
    pub(super) fn decode(&self, v: &[u8]) -> Result<Option<Vec<u8>>, String> {
        if self.enc.is_ascii_compatible() && v.is_ascii() {
            return Ok(None);
        }
        let bad = || {
            format!(
                "the value is not valid {} text (its MySQL column's character set)",
                self.name
            )
        };
        if self.lead != Lead::None {
            return self.decode_multi(v).map(Some).ok_or_else(bad);
        }
        if self.fixes.is_empty() && !self.c1 {
            return match self
                .enc
                .decode_without_bom_handling_and_without_replacement(v)
            {
                Some(s) => Ok(Some(s.into_owned().into_bytes())),
                None => Err(bad()),
            };
        }
        // Single-byte sets with MySQL's own mappings: byte by byte.
        let mut s = String::with_capacity(v.len() + v.len() / 2);
        for &b in v {
            let fixed = self
                .fixes
                .iter()
                .find(|(f, _)| *f == b)
                .map(|(_, cp)| *cp)
                .or_else(|| (self.c1 && (0x80..=0x9F).contains(&b)).then_some(u32::from(b)));
            match fixed {
                Some(cp) => s.push(char::from_u32(cp).ok_or_else(bad)?),
                None => s.push_str(
                    &self
                        .enc
                        .decode_without_bom_handling_and_without_replacement(&[b])
                        .ok_or_else(bad)?,
                ),
            }
        }
        Ok(Some(s.into_bytes()))
    }

    /// MySQL's own character for the two bytes `seq`, where it differs.
    fn pair(&self, seq: [u8; 2]) -> Option<u32> {
        if self.pua && (0xF5..=0xFE).contains(&seq[0]) && (0xA1..=0xFE).contains(&seq[1]) {
            return Some(0xE000 + u32::from(seq[0] - 0xF5) * 94 + u32::from(seq[1] - 0xA1));
        }
        let key = u16::from_be_bytes(seq);
        let i = self.pairs.binary_search_by_key(&key, |p| p.0).ok()?;
        Some(self.pairs[i].1)
    }

    /// A multi-byte value: runs between MySQL's own sequences go to
    /// `encoding_rs` whole. `None` when it is not valid.
    fn decode_multi(&self, v: &[u8]) -> Option<Vec<u8>> {
        let mut s = String::with_capacity(v.len() * 3 / 2);
        let span = |s: &mut String, run: &[u8]| -> Option<()> {
            if !run.is_empty() {
                s.push_str(
                    &self
                        .enc
                        .decode_without_bom_handling_and_without_replacement(run)?,
                );
            }
            Some(())
        };
        let (mut start, mut i) = (0, 0);
        while i < v.len() {
            let b = v[i];
            let len = match self.lead {
                Lead::Sjis if matches!(b, 0x81..=0x9F | 0xE0..=0xFC) => 2,
                Lead::EucJp if b == 0x8F => 3,
                Lead::EucJp if b == 0x8E || b >= 0xA1 => 2,
                Lead::High if (0x81..=0xFE).contains(&b) => 2,
                _ => 1,
            };
            if len == 2 {
                if let Some(cp) = v.get(i + 1).and_then(|&t| self.pair([b, t])) {
                    span(&mut s, &v[start..i])?;
                    s.push(char::from_u32(cp)?);
                    i += 2;
                    start = i;
                    continue;
                }
            }
            i += len;
        }
        span(&mut s, &v[start..])?;
        Some(s.into_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utf8(collation: &str, v: &[u8]) -> Result<String, String> {
        let cs = mysql_charset(collation).ok_or("no charset")?;
        let out = cs.decode(v)?.unwrap_or_else(|| v.to_vec());
        String::from_utf8(out).map_err(|e| e.to_string())
    }

    #[test]
    fn decodes_mysql_charsets() {
        assert_eq!(utf8("gbk_chinese_ci", b"\xc4\xe3\xba\xc3").unwrap(), "你好");
        assert_eq!(
            utf8("big5_chinese_ci", b"\xa4\xa4\xa4\xe5").unwrap(),
            "中文"
        );
        assert_eq!(
            utf8("sjis_japanese_ci", b"\x93\xfa\x96\x7b\x8c\xea").unwrap(),
            "日本語"
        );
        assert_eq!(
            utf8("cp1251_general_ci", b"\xcf\xf0\xe8\xe2\xe5\xf2").unwrap(),
            "Привет"
        );
        assert_eq!(utf8("utf16le_general_ci", b"a\0").unwrap(), "a");
        assert_eq!(utf8("ucs2_general_ci", b"\x04\x1f").unwrap(), "П");
        // MySQL's own mappings where WHATWG's differ.
        assert_eq!(utf8("latin5_turkish_ci", b"\x80\xfd").unwrap(), "\u{80}ı");
        assert_eq!(utf8("koi8u_general_ci", b"\x95").unwrap(), "\u{2022}");
        assert_eq!(utf8("gbk_bin", b"plain").unwrap(), "plain");
        assert_eq!(utf8("sjis_bin", b"a\x81\x5f\x93\xfa").unwrap(), "a\\日");
        assert_eq!(utf8("cp932_bin", b"\x81\x5f").unwrap(), "＼");
        assert_eq!(utf8("ujis_bin", b"\xa4\xa2\xf5\xa1").unwrap(), "あ\u{e000}");
        assert_eq!(utf8("big5_bin", b"\xc7\x40\xa4\xa4").unwrap(), "エ中");
        assert!(mysql_charset("utf32_general_ci").is_none());
        assert!(mysql_charset("armscii8_general_ci").is_none());
    }

    #[test]
    fn malformed_is_an_error() {
        let e = utf8("gbk_chinese_ci", b"ok \xc4").unwrap_err();
        assert!(e.contains("not valid gbk text"), "{e}");
        assert!(utf8("gbk_chinese_ci", b"\xff\xff").is_err());
        assert!(utf8("hebrew_general_ci", b"\xc0").is_err());
        assert!(utf8("sjis_bin", b"\x81\x5f\x81").is_err());
    }
}
