//! `t:escapeSeqDecode`: ModSecurity v2's ANSI C escape decoding.
//!
//! - `\a \b \f \n \r \t \v \\ \? \' \"` are the C characters.
//! - `\xHH` or `\XHH` (two hex digits) is one byte.
//! - `\` and one to three octal digits is one byte; unlike jsDecode all three
//!   digits are always used and the value is cut to 8 bits (`\666` → 0xB6).
//! - Any other escaped byte stands for itself (the backslash is dropped),
//!   also an `x` without two hex digits; a lone trailing `\` is kept.

use std::borrow::Cow;

use super::hex::pair;
use super::js_decode::{control_escape, is_octal, octal_escape};
use super::writer::CowWriter;

/// `t:escapeSeqDecode`.
pub(super) fn escape_seq_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'\\', input).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = CowWriter::new(input);
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        let Some(&e) = input.get(i + 1).filter(|_| c == b'\\') else {
            out.push(c);
            i += 1;
            continue;
        };
        if let Some(b) = control_escape(e) {
            out.push(b);
            i += 2;
        } else if matches!(e, b'\\' | b'?' | b'\'' | b'"') {
            out.push(e);
            i += 2;
        } else if matches!(e, b'x' | b'X') {
            match input.get(i + 2..i + 4) {
                Some(&[h1, h2]) if h1.is_ascii_hexdigit() && h2.is_ascii_hexdigit() => {
                    out.push(pair(h1, h2));
                    i += 4;
                }
                _ => {
                    out.push(e);
                    i += 2;
                }
            }
        } else if is_octal(e) {
            let (byte, used) = octal_escape(input.get(i + 1..).unwrap_or_default(), false);
            out.push(byte);
            i += 1 + used;
        } else {
            out.push(e);
            i += 2;
        }
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &[u8]) -> Vec<u8> {
        escape_seq_decode(input).into_owned()
    }

    #[test]
    fn unchanged() {
        for input in [&b""[..], b"TestCase", b"Test\0Case"] {
            assert!(matches!(escape_seq_decode(input), Cow::Borrowed(b) if b == input));
        }
    }

    #[test]
    fn v2_valid() {
        // From v2 tests/tfn/escapeSeqDecode.t.
        assert_eq!(
            dec(b"\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff"),
            b"\x07\x08\x0c\x0a\x0d\t\x0b?'\"\x00\x0a\x53\x00\xff"
        );
        assert_eq!(
            dec(b"\\a\\b\\f\\n\\r\\t\\v\0\\?\\'\\\"\\0\\12\\123\\x00\\xff"),
            b"\x07\x08\x0c\x0a\x0d\t\x0b\0?'\"\x00\x0a\x53\x00\xff"
        );
    }

    #[test]
    fn v2_invalid() {
        assert_eq!(dec(b"\\8\\9\\666\\xag\\xga\\0123"), b"89\xb6xagxga\x0a3");
        assert_eq!(dec(b"\\x"), b"x");
        assert_eq!(dec(b"\\x\\x0"), b"xx0");
        assert_eq!(dec(b"\\x\\x0\0"), b"xx0\0");
        assert_eq!(dec(b"\\0"), b"\x00");
        assert_eq!(dec(b"\\01"), b"\x01");
        assert_eq!(dec(b"\\012"), b"\x0a");
        assert_eq!(dec(b"\\"), b"\\");
        assert_eq!(dec(b"\\\0"), b"\0");
    }

    #[test]
    fn upper_x_and_backslash() {
        assert_eq!(dec(b"\\X41\\\\"), b"A\\");
        assert_eq!(dec(b"\\u0041"), b"u0041");
    }
}
