//! `t:utf8toUnicode`: ModSecurity v2's conversion of UTF-8 sequences to
//! `%uHHHH` text, so that patterns written for `%u` escapes also see UTF-8.
//!
//! What v2 does, byte for byte (it is lenient and lossy in specific ways,
//! and CRS results depend on them):
//!
//! - An ASCII byte is copied, except NUL, which is dropped.
//! - A lead byte (`110xxxxx`, `1110xxxx`, `11110xxx`) followed by the right
//!   number of continuation bytes (`10xxxxxx`) becomes `%u` and the code
//!   point in lowercase hex, zero-padded to at least four digits (a 4-byte
//!   sequence can need five or six: `%u1f600`). Overlong forms and
//!   surrogates are not rejected: after the `%u` text v2 appends the lead
//!   byte once for an overlong form and once for a surrogate.
//! - A 4-byte lead byte from 0xF5 to 0xF7 (beyond U+10FFFF) is first copied
//!   as is, then decoded like any other 4-byte lead.
//! - A lead byte whose continuation bytes are missing or wrong is *dropped*;
//!   decoding resumes at the next byte.
//! - A stray continuation byte (0x80..0xBF) or 0xF8..0xFF is copied as is.
//!
//! v2 reports a change only when it converted at least one sequence; a
//! dropped NUL or lead byte alone does not count ([`super::apply_tracked`]).

use std::borrow::Cow;

use super::writer::CowWriter;

/// `t:utf8toUnicode`. The flag is v2's "changed" report.
pub(super) fn utf8_to_unicode(input: &[u8]) -> (Cow<'_, [u8]>, bool) {
    // Plain ASCII without NUL (the common case) is returned untouched.
    if input.is_ascii() && memchr::memchr(0, input).is_none() {
        return (Cow::Borrowed(input), false);
    }
    let mut out = CowWriter::new(input);
    let mut changed = false;
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        let len = match c {
            0x00 => 0,
            0x01..=0x7f => {
                out.push(c);
                0
            }
            0xc0..=0xdf => 2,
            0xe0..=0xef => 3,
            0xf0..=0xf7 => {
                if c >= 0xf5 {
                    out.push(c);
                }
                4
            }
            _ => {
                out.push(c);
                0
            }
        };
        if len == 0 {
            i += 1;
            continue;
        }
        match sequence(input, i, len) {
            Some(code) => {
                changed = true;
                push_code(&mut out, code);
                if (0xd800..=0xdfff).contains(&code) {
                    out.push(c);
                }
                let overlong = match len {
                    2 => code < 0x80,
                    3 => code < 0x800,
                    _ => code < 0x1_0000,
                };
                if overlong {
                    out.push(c);
                }
                i += len;
            }
            // v2 drops a lead byte that does not start a full sequence.
            None => i += 1,
        }
    }
    (out.finish(), changed)
}

/// Code point of the `len`-byte sequence at `i`, if every continuation byte
/// is there and well-formed.
fn sequence(input: &[u8], i: usize, len: usize) -> Option<u32> {
    let bytes = input.get(i..i + len)?;
    let (&lead, rest) = bytes.split_first()?;
    let lead_bits = match len {
        2 => lead & 0x1f,
        3 => lead & 0x0f,
        _ => lead & 0x07,
    };
    rest.iter().try_fold(u32::from(lead_bits), |acc, &b| {
        (b & 0xc0 == 0x80).then_some((acc << 6) | u32::from(b & 0x3f))
    })
}

/// Appends `%u` and the code point in lowercase hex, at least 4 digits.
fn push_code(out: &mut CowWriter<'_>, code: u32) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    out.push(b'%');
    out.push(b'u');
    // At most 21 bits: six hex digits.
    let digits = (1..=6)
        .rev()
        .find(|&n| code >> (4 * (n - 1)) != 0)
        .unwrap_or(1);
    for n in (0..digits.max(4)).rev() {
        let nibble = (code >> (4 * n)) & 0xf;
        out.push(HEX.get(nibble as usize).copied().unwrap_or(b'0'));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(input: &[u8]) -> Vec<u8> {
        utf8_to_unicode(input).0.into_owned()
    }

    #[test]
    fn ascii_unchanged() {
        let (out, changed) = utf8_to_unicode(b"TestCase 123");
        assert!(matches!(out, Cow::Borrowed(_)));
        assert!(!changed);
    }

    #[test]
    fn two_and_three_byte_sequences() {
        // Samples from v2 tests/tfn/utf8toUnicode.t.
        assert_eq!(conv("Ā ā ſ".as_bytes()), b"%u0100 %u0101 %u017f");
        assert_eq!(conv("Ѐ Я ״".as_bytes()), b"%u0400 %u042f %u05f4");
        assert_eq!(conv("■ ◿".as_bytes()), b"%u25a0 %u25ff");
        assert_eq!(conv(" ✁ ➿".as_bytes()), b" %u2701 %u27bf");
        assert_eq!(conv("é".as_bytes()), b"%u00e9");
        assert_eq!(conv("＜".as_bytes()), b"%uff1c");
        assert!(utf8_to_unicode("é".as_bytes()).1);
    }

    #[test]
    fn four_byte_sequences_print_all_digits() {
        assert_eq!(conv("😀".as_bytes()), b"%u1f600");
        assert_eq!(conv("\u{10ffff}".as_bytes()), b"%u10ffff");
        // Beyond U+10FFFF: lead byte copied first, then decoded.
        assert_eq!(conv(b"\xf5\x80\x80\x80"), b"\xf5%u140000");
    }

    #[test]
    fn nul_is_dropped_without_change() {
        let (out, changed) = utf8_to_unicode(b"a\0b");
        assert_eq!(out.as_ref(), b"ab");
        assert!(!changed);
    }

    #[test]
    fn broken_lead_bytes_are_dropped() {
        assert_eq!(conv(b"\xc3A"), b"A");
        assert_eq!(conv(b"a\xc3"), b"a");
        // The lead byte goes; the continuation bytes after it are then
        // stray bytes and copied.
        assert_eq!(conv(b"\xe2\x82"), b"\x82");
        assert_eq!(conv(b"\xe2\x82A"), b"\x82A");
        assert_eq!(conv(b"\xf0\x9f\x98"), b"\x9f\x98");
        assert!(!utf8_to_unicode(b"\xc3A").1);
    }

    #[test]
    fn stray_bytes_are_copied() {
        assert_eq!(conv(b"\x80\xbf\xf8\xff"), b"\x80\xbf\xf8\xff");
    }

    #[test]
    fn overlong_and_surrogates_append_lead_byte() {
        assert_eq!(conv(b"\xc0\xaf"), b"%u002f\xc0");
        assert_eq!(conv(b"\xc0\x80"), b"%u0000\xc0");
        assert_eq!(conv(b"\xe0\x80\xaf"), b"%u002f\xe0");
        assert_eq!(conv(b"\xed\xa0\x80"), b"%ud800\xed");
        assert_eq!(conv(b"\xf0\x80\x80\xaf"), b"%u002f\xf0");
        // Overlong and surrogate at once: the lead byte twice.
        assert_eq!(conv(b"\xf0\x8d\xa0\x80"), b"%ud800\xf0\xf0");
    }
}
