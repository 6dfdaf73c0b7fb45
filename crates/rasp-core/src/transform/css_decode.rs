//! `t:cssDecode`: ModSecurity v2's CSS 2 escape decoding.
//!
//! - `\` and one to six hex digits is one byte: the single digit, or the
//!   last two digits. For full-width ASCII written with four digits
//!   (`\FF01`..`\FF5E`), or five/six digits padded with zeros, 0x20 is added
//!   (giving `!`..`~`). One whitespace byte right after a hex escape is part
//!   of the escape and dropped.
//! - `\` and a newline is a line continuation: both are dropped.
//! - `\` and any other byte is that byte; a trailing `\` is dropped.

use std::borrow::Cow;

use super::hex::{is_hex, pair, single};
use super::trim::is_c_space;
use super::writer::CowWriter;

/// `t:cssDecode`.
pub(super) fn css_decode(input: &[u8]) -> Cow<'_, [u8]> {
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
        i += 1;
        let rest = input.get(i..).unwrap_or_default();
        let Some(&e) = rest.first() else {
            // Trailing backslash: dropped.
            break;
        };
        let digits = rest.iter().take(6).take_while(|&&b| is_hex(b)).count();
        if digits > 0 {
            out.push(hex_escape(rest.get(..digits).unwrap_or_default()));
            let mut used = digits;
            if rest.get(digits).copied().is_some_and(is_c_space) {
                used += 1;
            }
            i += used;
        } else if e == b'\n' {
            i += 1;
        } else {
            out.push(e);
            i += 1;
        }
    }
    out.finish()
}

/// The byte for 1–6 hex digits.
fn hex_escape(d: &[u8]) -> u8 {
    let n = d.len();
    let last_two = |d: &[u8]| match d.get(n.saturating_sub(2)..) {
        Some(&[h, l]) => pair(h, l),
        _ => 0,
    };
    let (v, full_check) = match n {
        1 => (d.first().copied().map_or(0, single), false),
        2 | 3 => (last_two(d), false),
        4 => (last_two(d), true),
        5 => (last_two(d), d.first() == Some(&b'0')),
        _ => (last_two(d), d.starts_with(b"00")),
    };
    // The two digits before the last two must be "ff" (any case).
    let ff = n >= 4
        && matches!(d.get(n - 4), Some(b'f' | b'F'))
        && matches!(d.get(n - 3), Some(b'f' | b'F'));
    if full_check && ff && (0x01..0x5f).contains(&v) {
        v + 0x20
    } else {
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &[u8]) -> Vec<u8> {
        css_decode(input).into_owned()
    }

    #[test]
    fn unchanged() {
        for input in [&b""[..], b"TestCase", b"Test\0Case"] {
            assert!(matches!(css_decode(input), Cow::Borrowed(b) if b == input));
        }
    }

    #[test]
    fn v2_cases() {
        // From v2 tests/tfn/cssDecode.t.
        assert_eq!(
            dec(b"test\\a\\b\\f\\n\\r\\t\\v\\?\\'\\\"\\0\\12\\123\\1234\\12345\\123456\\ff01\\ff5e\\\n\\0  string"),
            b"test\x0a\x0b\x0fnrtv?'\"\x00\x12\x23\x34\x45\x56\x21\x7e\x00 string"
        );
        assert_eq!(dec(b"test\\"), b"test");
        assert_eq!(
            dec(b"\\1A\\1 A\\1234567\\123456 7\\1x\\1 x"),
            b"\x1A\x01A\x567\x567\x01x\x01x"
        );
    }

    #[test]
    fn full_width_with_padding() {
        assert_eq!(dec(b"\\0ff1c\\00ff1e"), b"<>");
        assert_eq!(dec(b"\\1ff1c"), b"\x1c");
        assert_eq!(dec(b"\\FF3C"), b"\\");
        assert_eq!(dec(b"\\ff00\\ff7f"), b"\x00\x7f");
    }

    #[test]
    fn one_whitespace_after_hex_is_eaten() {
        assert_eq!(dec(b"\\41\t\tB"), b"A\tB");
        assert_eq!(dec(b"\\41\x0bB"), b"AB");
        // 0xA0 is not C whitespace.
        assert_eq!(dec(b"\\41\xa0B"), b"A\xa0B");
    }
}
