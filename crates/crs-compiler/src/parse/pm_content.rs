//! Phrase content of `@pm` arguments and `@pmFromFile` data-file lines, as
//! v2's `parse_pm_content` (`msc_util.c`) reads it:
//!
//! - leading blanks are skipped; a value wrapped in `"…"` loses the quotes;
//! - `\\`, `\"`, `\:` and `\;` stand for the escaped character;
//! - `|41 42|` is binary content: pairs of hex digits become bytes.
//!
//! Two cases differ from v2 on purpose, both where v2 produces garbage:
//! - any other escape (`\n` in `php-errors.data`) makes v2 give up and use
//!   the raw text, backslash included; we do the same;
//! - a `|…|` section that is not well-formed hex (`string|int|float` in
//!   `php-errors.data`) is silently mangled by v2 (non-hex characters
//!   dropped, stale bytes left behind); we keep such text literally, which
//!   is what the data file means.
//!
//! The result may contain arbitrary bytes, so it is returned as bytes and
//! the caller decides how to store it.

/// Decodes one phrase content string.
pub(crate) fn decode(text: &str) -> Vec<u8> {
    let trimmed = text.trim_start();
    let inner = match trimmed.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
        Some(i) if trimmed.len() >= 2 => i,
        _ => trimmed,
    };
    match decode_escapes_and_hex(inner) {
        Some(bytes) => bytes,
        None => text.as_bytes().to_vec(),
    }
}

/// `None` when an unsupported escape makes v2 fall back to the raw text.
fn decode_escapes_and_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => {
                let next = *b.get(i + 1)?;
                if matches!(next, b':' | b';' | b'\\' | b'"') {
                    out.push(next);
                    i += 2;
                } else {
                    return None;
                }
            }
            b'|' => match hex_section(b, i + 1) {
                Some((bytes, end)) => {
                    out.extend(bytes);
                    i = end + 1;
                }
                None => {
                    out.push(b'|');
                    i += 1;
                }
            },
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(out)
}

/// Reads `41 42|` starting at `start`; returns the bytes and the index of
/// the closing `|`, or `None` when the section is not well-formed hex.
fn hex_section(b: &[u8], start: usize) -> Option<(Vec<u8>, usize)> {
    let mut bytes = Vec::new();
    let mut pending: Option<u8> = None;
    let mut i = start;
    loop {
        let c = *b.get(i)?;
        match c {
            b'|' => {
                if pending.is_some() || bytes.is_empty() {
                    return None;
                }
                return Some((bytes, i));
            }
            b' ' => {}
            _ => {
                let v = (c as char).to_digit(16)? as u8;
                match pending.take() {
                    Some(hi) => bytes.push(hi << 4 | v),
                    None => pending = Some(v),
                }
            }
        }
        i += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_content_forms() {
        assert_eq!(decode("FFI\\\\CData"), b"FFI\\CData");
        assert_eq!(decode("a\\:b\\;c\\\"d"), b"a:b;c\"d");
        assert_eq!(decode("  \"quoted\""), b"quoted");
        assert_eq!(decode("|41 42|C"), b"ABC");
        assert_eq!(decode("encountered\\ntrying"), b"encountered\\ntrying");
        assert_eq!(decode("string|int|float"), b"string|int|float");
        assert_eq!(decode("a|4|b"), b"a|4|b");
        assert_eq!(decode("\""), b"\"");
    }
}
