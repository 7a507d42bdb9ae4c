//! PostgreSQL array literals as JSON arrays (for MySQL and SQLite).

/// How an array element becomes JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Elem {
    Number,
    Bool,
    Json,
    Text,
}

/// A PostgreSQL array literal (`{1,2}`, `{{"a b",NULL}}`, `[0:1]={x,y}`)
/// as a JSON array.
pub(super) fn array_to_json(v: &[u8], elem: Elem) -> Result<Vec<u8>, String> {
    let bad = || {
        format!(
            "{:?} is not an array literal",
            String::from_utf8_lossy(&v[..v.len().min(80)])
        )
    };
    let body = if v.first() == Some(&b'[') {
        let eq = memchr::memchr(b'=', v).ok_or_else(bad)?;
        &v[eq + 1..]
    } else {
        v
    };
    let mut p = ArrayParser { b: body, i: 0 };
    let mut out = Vec::with_capacity(v.len() + 8);
    p.array(elem, &mut out).ok_or_else(bad)??;
    if p.i != body.len() {
        return Err(bad());
    }
    Ok(out)
}

struct ArrayParser<'a> {
    b: &'a [u8],
    i: usize,
}

impl ArrayParser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while self.peek().is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    /// `None`: malformed; `Some(Err)`: an element JSON cannot hold.
    fn array(&mut self, elem: Elem, out: &mut Vec<u8>) -> Option<Result<(), String>> {
        if self.peek()? != b'{' {
            return None;
        }
        self.i += 1;
        out.push(b'[');
        self.skip_ws();
        if self.peek()? == b'}' {
            self.i += 1;
            out.push(b']');
            return Some(Ok(()));
        }
        loop {
            self.skip_ws();
            match self.peek()? {
                b'{' => {
                    if let Err(e) = self.array(elem, out)? {
                        return Some(Err(e));
                    }
                }
                b'"' => {
                    self.i += 1;
                    let mut s = Vec::new();
                    loop {
                        match self.peek()? {
                            b'"' => break,
                            b'\\' => {
                                self.i += 1;
                                s.push(self.peek()?);
                            }
                            c => s.push(c),
                        }
                        self.i += 1;
                    }
                    self.i += 1;
                    if let Err(e) = emit(&s, elem, out) {
                        return Some(Err(e));
                    }
                }
                _ => {
                    let start = self.i;
                    while !matches!(self.peek()?, b',' | b'}') {
                        self.i += 1;
                    }
                    let raw = self.b[start..self.i].trim_ascii();
                    if raw.eq_ignore_ascii_case(b"NULL") {
                        out.extend_from_slice(b"null");
                    } else if let Err(e) = emit(raw, elem, out) {
                        return Some(Err(e));
                    }
                }
            }
            self.skip_ws();
            match self.peek()? {
                b',' => {
                    self.i += 1;
                    out.push(b',');
                }
                b'}' => {
                    self.i += 1;
                    out.push(b']');
                    return Some(Ok(()));
                }
                _ => return None,
            }
        }
    }
}

fn emit(s: &[u8], elem: Elem, out: &mut Vec<u8>) -> Result<(), String> {
    let text = std::str::from_utf8(s).map_err(|_| "an array element is not UTF-8".to_string())?;
    match elem {
        Elem::Number => {
            if serde_json::from_str::<serde_json::Number>(text).is_err() {
                return Err(format!("array element {text:?} is not a JSON number"));
            }
            out.extend_from_slice(s);
        }
        Elem::Bool => out.extend_from_slice(match text {
            "t" | "true" => b"true",
            "f" | "false" => b"false",
            _ => return Err(format!("array element {text:?} is not a boolean")),
        }),
        Elem::Json => {
            if serde_json::from_str::<serde_json::Value>(text).is_err() {
                return Err(format!("array element {text:?} is not JSON"));
            }
            out.extend_from_slice(s);
        }
        Elem::Text => {
            serde_json::to_writer(&mut *out, text).map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}
