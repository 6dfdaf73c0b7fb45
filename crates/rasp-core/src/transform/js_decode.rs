//! `t:jsDecode`: ModSecurity v2's JavaScript escape decoding.
//!
//! - `\uHHHH` (lowercase `u`, four hex digits) keeps the low byte; for
//!   full-width ASCII (`\uFF01`..`\uFF5E`) 0x20 is added, giving `!`..`~`.
//! - `\xHH` (lowercase `x`) is one byte.
//! - `\` followed by octal digits takes up to three of them, but only two
//!   when three would exceed one byte (first digit above `3`): `\666` is
//!   `\66` then `6`.
//! - `\a \b \f \n \r \t \v` are the C control characters; any other escaped
//!   byte stands for itself (the backslash is dropped), including a `u` or
//!   `x` that is not followed by enough hex digits.
//! - A lone `\` at the very end is kept.

use std::borrow::Cow;

use super::hex::{is_hex, pair};
use super::writer::CowWriter;

/// `t:jsDecode`.
pub(super) fn js_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'\\', input).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = CowWriter::new(input);
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = input.get(i + 1) else {
            // Trailing backslash: copied.
            out.push(c);
            i += 1;
            continue;
        };
        if let (b'u', Some(&[h1, h2, h3, h4])) = (e, input.get(i + 2..i + 6)) {
            if is_hex(h1) && is_hex(h2) && is_hex(h3) && is_hex(h4) {
                let low = pair(h3, h4);
                let full_width = matches!(h1, b'f' | b'F') && matches!(h2, b'f' | b'F');
                out.push(if full_width && (0x01..0x5f).contains(&low) {
                    low + 0x20
                } else {
                    low
                });
                i += 6;
                continue;
            }
        }
        if let (b'x', Some(&[h1, h2])) = (e, input.get(i + 2..i + 4)) {
            if is_hex(h1) && is_hex(h2) {
                out.push(pair(h1, h2));
                i += 4;
                continue;
            }
        }
        if is_octal(e) {
            let (byte, used) = octal_escape(input.get(i + 1..).unwrap_or_default(), true);
            out.push(byte);
            i += 1 + used;
            continue;
        }
        out.push(control_escape(e).unwrap_or(e));
        i += 2;
    }
    out.finish()
}

/// `0`..`7`.
pub(super) fn is_octal(b: u8) -> bool {
    matches!(b, b'0'..=b'7')
}

/// Decodes up to three octal digits at the start of `digits` (the first is
/// known to be octal). With `one_byte`, three digits are used only when the
/// first is `0`..`3` (jsDecode); without it the value is truncated to a
/// byte (escapeSeqDecode). Returns the byte and the digits consumed.
pub(super) fn octal_escape(digits: &[u8], one_byte: bool) -> (u8, usize) {
    let mut n = digits.iter().take(3).take_while(|&&b| is_octal(b)).count();
    if one_byte && n == 3 && digits.first().is_some_and(|&b| b > b'3') {
        n = 2;
    }
    let value = digits
        .iter()
        .take(n)
        .fold(0u32, |acc, &d| acc * 8 + u32::from(d - b'0'));
    ((value & 0xff) as u8, n)
}

/// The C escapes both jsDecode and escapeSeqDecode know.
pub(super) fn control_escape(e: u8) -> Option<u8> {
    Some(match e {
        b'a' => 0x07,
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'v' => 0x0b,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &[u8]) -> Vec<u8> {
        js_decode(input).into_owned()
    }

    #[test]
    fn unchanged() {
        for input in [&b""[..], b"TestCase", b"Test\0Case"] {
            assert!(matches!(js_decode(input), Cow::Borrowed(b) if b == input));
        }
    }

    #[test]
    fn v2_valid() {
        // From v2 tests/tfn/jsDecode.t.
        assert_eq!(
            dec(b"\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\x00\\xff\\u0021\\uff01"),
            b"\x07\x08\x0c\x0a\x0d\t\x0b?'\"\x00\x0a\x53\x00\xff\x21\x21"
        );
        assert_eq!(
            dec(b"\\a\\b\\f\\n\\r\\t\\v\0\\?\\'\\\"\\0\\12\\123\\x00\\xff\\u0021\\uff01"),
            b"\x07\x08\x0c\x0a\x0d\t\x0b\0?'\"\x00\x0a\x53\x00\xff\x21\x21"
        );
    }

    #[test]
    fn v2_invalid() {
        assert_eq!(
            dec(b"\\8\\9\\666\\u00ag\\u00ga\\u0zaa\\uz0aa\\xag\\xga\\0123\\u00a"),
            b"89\x366u00agu00gau0zaauz0aaxagxga\x0a3u00a"
        );
        assert_eq!(dec(b"\\x"), b"x");
        assert_eq!(dec(b"\\x\\x0"), b"xx0");
        assert_eq!(dec(b"\\x\\x0\0"), b"xx0\0");
        assert_eq!(dec(b"\\u"), b"u");
        assert_eq!(dec(b"\\u\\u0\\u01\\u012"), b"uu0u01u012");
        assert_eq!(dec(b"\\u\\u0\\u01\\u012\0"), b"uu0u01u012\0");
        assert_eq!(dec(b"\\"), b"\\");
        assert_eq!(dec(b"\\\0"), b"\0");
    }

    #[test]
    fn upper_case_markers_are_not_escapes() {
        assert_eq!(dec(b"\\X41\\U0041"), b"X41U0041");
    }

    #[test]
    fn unicode_low_byte() {
        assert_eq!(dec(b"\\u0141\\uFF1C\\uff00"), b"A<\x00");
    }
}
