//! `t:compressWhitespace` and `t:removeWhitespace`.
//!
//! Both use v2's definition of whitespace: C `isspace` (space, `\t`, `\n`,
//! `\v`, `\f`, `\r`) plus NBSP (0xA0), so a Latin-1 non-breaking space
//! cannot split a keyword.

use std::borrow::Cow;

use super::trim::is_c_space;
use super::writer::CowWriter;

/// Whitespace for these two transformations.
#[inline]
const fn is_space(b: u8) -> bool {
    is_c_space(b) || b == 0xa0
}

/// `t:compressWhitespace`: every run of whitespace becomes one space.
pub(super) fn compress_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    // Single spaces between words (the common case) stay as they are.
    // Whitespace other than the space: `\t` `\n` `\v` `\f` `\r` and NBSP,
    // looked for with `memchr` (free text is long, and has none).
    if memchr::memchr3(b'\t', b'\n', b'\r', input).is_none()
        && memchr::memchr3(0x0b, 0x0c, 0xa0, input).is_none()
        && memchr::memmem::find(input, b"  ").is_none()
    {
        return Cow::Borrowed(input);
    }
    compress(input)
}

/// `compressWhitespace` without the shortcut.
pub(super) fn compress(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = CowWriter::new(input);
    let mut in_space = false;
    for &b in input {
        if is_space(b) {
            if !in_space {
                out.push(b' ');
            }
            in_space = true;
        } else {
            out.push(b);
            in_space = false;
        }
    }
    out.finish()
}

/// 1 for the bytes `t:removeWhitespace` keeps, 0 for whitespace.
const KEPT: [u8; 256] = {
    let mut table = [1u8; 256];
    let mut b = 0;
    while b < 256 {
        if is_space(b as u8) {
            table[b] = 0;
        }
        b += 1;
    }
    table
};

/// `t:removeWhitespace`: drops every whitespace byte.
pub(super) fn remove_whitespace(input: &[u8]) -> Cow<'_, [u8]> {
    let Some(first) = input.iter().position(|&b| is_space(b)) else {
        return Cow::Borrowed(input);
    };
    let (head, rest) = input.split_at(first);
    // Every byte is written and the end moves past the kept ones only: no
    // branch per byte (response pages and free text are long, with a
    // space every few bytes). The bytes of a chunk go through a buffer of
    // its size, indexed with a mask (a no-op: a byte's position in the
    // output never passes its position in the chunk), so that no write is
    // bounds-checked. Measured (callgrind, bench form POST): 1,486 →
    // 1,436 k instructions per exchange; chunks of 8 or 16 did less.
    const CHUNK: usize = 32;
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(head);
    let mut buffer = [0u8; CHUNK];
    for chunk in rest.chunks(CHUNK) {
        let mut end = 0;
        for &b in chunk {
            buffer[end & (CHUNK - 1)] = b;
            end += usize::from(KEPT[usize::from(b)]);
        }
        out.extend_from_slice(buffer.get(..end).unwrap_or_default());
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SENTENCE: &[u8] = b"This is a   test case with a tab \t, vtab \x0b, newline \x0a, return \x0d, formfeed \x0c, and a NUL\0 in it with a CRLF at the end.\x0d\x0a";

    #[test]
    fn compress() {
        // From v2 tests/tfn/compressWhitespace.t.
        assert!(matches!(
            compress_whitespace(b"Test Case"),
            Cow::Borrowed(_)
        ));
        assert_eq!(compress_whitespace(b"").as_ref(), b"");
        assert_eq!(compress_whitespace(b"Test\0Case").as_ref(), b"Test\0Case");
        assert_eq!(
            compress_whitespace(b"  Test  \t   Case  ").as_ref(),
            b" Test Case "
        );
        assert_eq!(
            compress_whitespace(SENTENCE).as_ref(),
            &b"This is a test case with a tab , vtab , newline , return , formfeed , and a NUL\0 in it with a CRLF at the end. "[..]
        );
        assert_eq!(compress_whitespace(b"a\xa0\xa0b\tc").as_ref(), b"a b c");
    }

    #[test]
    fn remove() {
        // From v2 tests/tfn/removeWhitespace.t.
        assert!(matches!(remove_whitespace(b"TestCase"), Cow::Borrowed(_)));
        assert_eq!(
            remove_whitespace(b"  Test  \t   Case  ").as_ref(),
            b"TestCase"
        );
        assert_eq!(
            remove_whitespace(SENTENCE).as_ref(),
            &b"Thisisatestcasewithatab,vtab,newline,return,formfeed,andaNUL\0initwithaCRLFattheend."[..]
        );
        assert_eq!(remove_whitespace(b"un\xa0ion").as_ref(), b"union");
    }

    proptest::proptest! {
        #[test]
        fn remove_keeps_exactly_the_other_bytes(
            input in proptest::collection::vec(
                proptest::prop_oneof![proptest::num::u8::ANY, proptest::sample::select(vec![b' ', b'\t', b'\n', 0x0b, 0x0c, b'\r', 0xa0])],
                0..300,
            )
        ) {
            let kept: Vec<u8> = input.iter().copied().filter(|&b| !is_space(b)).collect();
            let removed = remove_whitespace(&input);
            proptest::prop_assert_eq!(removed.as_ref(), kept.as_slice());
        }
    }
}
