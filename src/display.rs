//! Text from archives and databases made safe to print: a table named
//! `"a\x1b[31mb"` must not recolour, move or rewrite the user's terminal.

use std::borrow::Cow;

/// Control characters that reorder text on display (bidirectional
/// embeddings, overrides and isolates).
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

fn escape_but(s: &str, keep_newlines: bool) -> Cow<'_, str> {
    let unsafe_char =
        |c: char| (c.is_control() && !(keep_newlines && c == '\n')) || is_bidi_control(c);
    if !s.chars().any(unsafe_char) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` with every control character escaped as `\u{1b}`: for a name.
pub fn escape(s: &str) -> Cow<'_, str> {
    escape_but(s, false)
}

/// [`escape`] that keeps line feeds: for a message of several lines.
pub fn escape_lines(s: &str) -> Cow<'_, str> {
    escape_but(s, true)
}

#[cfg(test)]
mod tests {
    use super::{escape, escape_lines};

    #[test]
    fn escapes_control_characters() {
        assert_eq!(escape("album"), "album");
        assert_eq!(escape("a\x1b[31mb"), "a\\u{1b}[31mb");
        assert_eq!(escape("a\nb\r\u{7f}"), "a\\u{a}b\\u{d}\\u{7f}");
        assert_eq!(escape("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(escape_lines("a\x1b\nb"), "a\\u{1b}\nb");
        assert_eq!(escape("Ünïcode"), "Ünïcode");
    }
}
