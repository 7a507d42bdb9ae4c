//! MySQL text in a character set other than UTF-8 or latin1, decoded to
//! UTF-8 with `encoding_rs` (the WHATWG encodings), without replacement: a
//! value that is not valid in its character set is an error. Where MySQL's
//! own table maps a byte of a single-byte character set to another
//! character than WHATWG's, MySQL's wins (what `CONVERT(... USING utf8mb4)`
//! reads).

use encoding_rs::Encoding;

/// A MySQL character set `encoding_rs` decodes, and MySQL's own mapping of
/// the bytes where it differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Charset {
    name: &'static str,
    enc: &'static Encoding,
    /// `(byte, code point)` pairs that override `enc` (single-byte sets).
    fixes: &'static [(u8, u32)],
    /// Bytes 0x80-0x9F are the C1 controls (ISO 8859 sets WHATWG reads as
    /// a Windows code page).
    c1: bool,
}

const NONE: &[(u8, u32)] = &[];

/// The character set of a MySQL collation or charset name (the part
/// before the first `_`), when `encoding_rs` can decode it.
pub(super) fn mysql_charset(collation: &str) -> Option<Charset> {
    use encoding_rs::*;
    let name = collation.split('_').next().unwrap_or(collation);
    let (name, enc, fixes, c1): (&'static str, &'static Encoding, &'static [(u8, u32)], bool) =
        match name {
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
    Some(Charset {
        name,
        enc,
        fixes,
        c1,
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
        assert!(mysql_charset("utf32_general_ci").is_none());
        assert!(mysql_charset("armscii8_general_ci").is_none());
    }

    #[test]
    fn malformed_is_an_error() {
        let e = utf8("gbk_chinese_ci", b"ok \xc4").unwrap_err();
        assert!(e.contains("not valid gbk text"), "{e}");
        assert!(utf8("gbk_chinese_ci", b"\xff\xff").is_err());
        assert!(utf8("hebrew_general_ci", b"\xc0").is_err());
    }
}
