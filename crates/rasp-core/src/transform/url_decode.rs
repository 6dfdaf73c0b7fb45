//! `t:urlDecode` and `t:urlDecodeUni`: ModSecurity v2's non-strict URL
//! decoding.
//!
//! Both decode `%HH` and turn `+` into a space. Anything that is not a valid
//! escape is copied as is: a `%` without two hex digits after it stays a `%`
//! and decoding goes on with the next byte (`%%20` → `% `).
//!
//! `urlDecodeUni` also decodes the IIS `%uHHHH` form (`u` in either case)
//! to a single byte: the code point's best-fit byte from the code page 20127
//! table ([`super::unicode_map`]) when it has one, else its low byte, plus
//! 0x20 for full-width ASCII (`%uFF01`..`%uFF5E` → `!`..`~`). A `%u` without
//! four hex digits is copied as the two bytes `%u` and decoding goes on after
//! them.

use std::borrow::Cow;

use super::hex::{is_hex, pair};
use super::unicode_map::best_fit_20127;

/// `t:urlDecode`.
pub(super) fn url_decode(input: &[u8]) -> Cow<'_, [u8]> {
    decode(input, false, &mut false)
}

/// `t:urlDecodeUni`, with the code page 20127 map.
pub(super) fn url_decode_uni(input: &[u8]) -> Cow<'_, [u8]> {
    decode(input, true, &mut false)
}

/// `t:urlDecode` that also reports, in `*invalid`, a `%` not followed by a
/// valid escape: the body processor's decoding of urlencoded arguments
/// (v2 uses the same function for both and sets `URLENCODED_ERROR`).
pub(crate) fn url_decode_reporting<'a>(input: &'a [u8], invalid: &mut bool) -> Cow<'a, [u8]> {
    decode(input, false, invalid)
}

fn decode<'a>(input: &'a [u8], uni: bool, invalid: &mut bool) -> Cow<'a, [u8]> {
    // Up to the first escape that changes a byte the output is the input:
    // most values have none (one `memchr2` says so), and a `%` that is not
    // an escape stays as it is.
    let mut from = 0;
    let first_change = loop {
        let Some(at) = input
            .get(from..)
            .and_then(|rest| memchr::memchr2(b'%', b'+', rest))
            .map(|p| from + p)
        else {
            return Cow::Borrowed(input);
        };
        match escape_at(input, at, uni) {
            Escape::Invalid(len) => {
                *invalid = true;
                from = at + len;
            }
            _ => break at,
        }
    };
    // From there on, into a buffer that is never outgrown (decoding only
    // shrinks), a run between escapes at a time rather than a writer call
    // per byte: the bench's 4 KiB form body (a `+` every few bytes) took
    // 3.2 µs byte by byte, 0.43 µs so.
    let mut out = Vec::with_capacity(input.len());
    out.extend_from_slice(input.get(..first_change).unwrap_or_default());
    let mut i = first_change;
    // Between two `%`s (rare) only `+` changes: a run is mapped in one
    // pass that the compiler vectorises, with no branch per byte.
    while let Some(rest) = input.get(i..).filter(|r| !r.is_empty()) {
        let run = memchr::memchr(b'%', rest).unwrap_or(rest.len());
        out.extend(rest.get(..run).unwrap_or_default().iter().map(|&c| {
            if c == b'+' {
                b' '
            } else {
                c
            }
        }));
        i += run;
        if i >= input.len() {
            break;
        }
        match escape_at(input, i, uni) {
            Escape::Byte(b, len) => {
                out.push(b);
                i += len;
            }
            Escape::Invalid(len) => {
                *invalid = true;
                out.extend_from_slice(input.get(i..i + len).unwrap_or_default());
                i += len;
            }
        }
    }
    Cow::Owned(out)
}

/// What the `%` or `+` at `input[i]` decodes to.
enum Escape {
    /// This byte, from this many input bytes.
    Byte(u8, usize),
    /// Not an escape: these many input bytes stay as they are (`%`, or
    /// `%u` before something other than four hex digits).
    Invalid(usize),
}

fn escape_at(input: &[u8], i: usize, uni: bool) -> Escape {
    if input.get(i) == Some(&b'+') {
        return Escape::Byte(b' ', 1);
    }
    if uni && matches!(input.get(i + 1), Some(b'u' | b'U')) {
        return match input.get(i + 2..i + 6) {
            Some(&[h1, h2, h3, h4]) if is_hex(h1) && is_hex(h2) && is_hex(h3) && is_hex(h4) => {
                Escape::Byte(unicode_byte(h1, h2, h3, h4), 6)
            }
            // Invalid or short: "%u" stays, and decoding goes on after it.
            _ => Escape::Invalid(2),
        };
    }
    match input.get(i + 1..i + 3) {
        Some(&[h1, h2]) if is_hex(h1) && is_hex(h2) => Escape::Byte(pair(h1, h2), 3),
        _ => Escape::Invalid(1),
    }
}

/// The byte `%uH1H2H3H4` decodes to (all four are valid hex digits).
fn unicode_byte(h1: u8, h2: u8, h3: u8, h4: u8) -> u8 {
    let code = u16::from_be_bytes([pair(h1, h2), pair(h3, h4)]);
    if let Some(b) = best_fit_20127(code) {
        return b;
    }
    // Unmapped: v2 keeps the low byte and shifts full-width ASCII
    // (0xFF01..0xFF5E) down to ASCII by adding 0x20 to it.
    let low = pair(h3, h4);
    let full_width = matches!(h1, b'f' | b'F') && matches!(h2, b'f' | b'F');
    if full_width && (0x01..0x5f).contains(&low) {
        low + 0x20
    } else {
        low
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_bytes_percent(prefix: &str) -> String {
        (0u16..=255).map(|b| format!("{prefix}{b:02x}")).collect()
    }

    fn all_bytes() -> Vec<u8> {
        (0u8..=255).collect()
    }

    /// v2's loop, one byte at a time: what the run-at-a-time decoder must
    /// produce.
    fn reference(input: &[u8], uni: bool) -> (Vec<u8>, bool) {
        let (mut out, mut invalid, mut i) = (Vec::new(), false, 0);
        while let Some(&c) = input.get(i) {
            let hex_at = |k: usize| input.get(k).is_some_and(|&h| is_hex(h));
            if c == b'+' {
                out.push(b' ');
                i += 1;
            } else if c != b'%' {
                out.push(c);
                i += 1;
            } else if uni && matches!(input.get(i + 1), Some(b'u' | b'U')) {
                if (i + 2..i + 6).all(hex_at) {
                    let h = &input[i + 2..i + 6];
                    out.push(unicode_byte(h[0], h[1], h[2], h[3]));
                    i += 6;
                } else {
                    invalid = true;
                    out.extend_from_slice(&input[i..i + 2]);
                    i += 2;
                }
            } else if hex_at(i + 1) && hex_at(i + 2) {
                out.push(pair(input[i + 1], input[i + 2]));
                i += 3;
            } else {
                invalid = true;
                out.push(b'%');
                i += 1;
            }
        }
        (out, invalid)
    }

    proptest::proptest! {
        #[test]
        fn decodes_as_the_byte_at_a_time_loop(
            input in proptest::collection::vec(
                proptest::sample::select(b"%+uU0aFfgG z\x00\xff".to_vec()), 0..40),
            uni in proptest::bool::ANY,
        ) {
            let mut invalid = false;
            let got = decode(&input, uni, &mut invalid);
            let (want, want_invalid) = reference(&input, uni);
            proptest::prop_assert_eq!(got.as_ref(), want.as_slice());
            proptest::prop_assert_eq!(invalid, want_invalid);
            // Borrowed only when nothing changed.
            proptest::prop_assert_eq!(matches!(got, Cow::Borrowed(_)), want == input);
        }
    }

    #[test]
    fn unchanged_borrows() {
        for input in [&b""[..], b"TestCase", b"Test\0Case"] {
            assert!(matches!(url_decode(input), Cow::Borrowed(b) if b == input));
            assert!(matches!(url_decode_uni(input), Cow::Borrowed(b) if b == input));
        }
    }

    #[test]
    fn decodes_every_byte() {
        let input = format!("+{}", all_bytes_percent("%"));
        let mut want = vec![b' '];
        want.extend(all_bytes());
        assert_eq!(url_decode(input.as_bytes()).as_ref(), want.as_slice());
        assert_eq!(url_decode_uni(input.as_bytes()).as_ref(), want.as_slice());
        assert_eq!(url_decode(b"Test+Case").as_ref(), b"Test Case");
        assert_eq!(url_decode(b"%41%4a%4A").as_ref(), b"AJJ");
    }

    #[test]
    fn partial_invalid_keeps_percent() {
        // v2 tests/tfn/urlDecode.t and urlDecodeUni.t "Partial Invalid".
        for (input, want) in [
            (&b"%+"[..], &b"% "[..]),
            (b"%%20", b"% "),
            (b"%0g%20", b"%0g "),
            (b"%0%20", b"%0 "),
            (b"%g0%20", b"%g0 "),
            (b"%g%20", b"%g "),
        ] {
            assert_eq!(url_decode(input).as_ref(), want);
            assert_eq!(url_decode_uni(input).as_ref(), want);
        }
    }

    #[test]
    fn invalid_left_alone() {
        for input in [
            &b"%0%1%2%3%4%5%6%7%8%9%0%a%b%c%d%e%f"[..],
            b"%g0%g1%g2%g3%g4%g5%g6%g7%g8%g9%g0%ga%gb%gc%gd%ge%gf",
            b"%",
            b"%0",
            b"%%",
            b"%0g",
            b"%gg",
        ] {
            assert!(matches!(url_decode(input), Cow::Borrowed(b) if b == input));
            assert!(matches!(url_decode_uni(input), Cow::Borrowed(b) if b == input));
        }
    }

    #[test]
    fn url_decode_ignores_percent_u() {
        assert_eq!(url_decode(b"%u0041").as_ref(), b"%u0041");
    }

    #[test]
    fn uni_low_byte_of_unmapped_code_points() {
        // %u0000..%u007f and %u1100..%u11ff are unmapped in 20127: low byte.
        let mut want = vec![b' '];
        want.extend(0u8..0x80);
        let input = format!(
            "+{}",
            (0u16..0x80)
                .map(|b| format!("%u{b:04x}"))
                .collect::<String>()
        );
        assert_eq!(url_decode_uni(input.as_bytes()).as_ref(), want.as_slice());
        let input: String = (0x1100u16..=0x11ff).map(|b| format!("%u{b:04x}")).collect();
        assert_eq!(
            url_decode_uni(input.as_bytes()).as_ref(),
            all_bytes().as_slice()
        );
    }

    #[test]
    fn uni_full_width_ascii() {
        let input: String = (0xff01u16..=0xff5e).map(|b| format!("%u{b:04x}")).collect();
        let want: Vec<u8> = (0x21u8..=0x7e).collect();
        assert_eq!(url_decode_uni(input.as_bytes()).as_ref(), want.as_slice());
        // Upper-case digits and marker work too.
        assert_eq!(url_decode_uni(b"%UFF1C%uFf1e").as_ref(), b"<>");
        // Outside the block: plain low byte.
        assert_eq!(
            url_decode_uni(b"%uff00%uff7f%uffff").as_ref(),
            b"\x00\x7f\xff"
        );
    }

    #[test]
    fn uni_code_page_20127_best_fit() {
        // These differ from the low-byte rule: the 20127 map decides.
        assert_eq!(url_decode_uni(b"%u00e9").as_ref(), b"e");
        assert_eq!(url_decode_uni(b"%u00a0").as_ref(), b" ");
        assert_eq!(url_decode_uni(b"%u2018%u2019%u201c").as_ref(), b"''\"");
        assert_eq!(url_decode_uni(b"%u3002%uff61").as_ref(), b"..");
        assert_eq!(url_decode_uni(b"%u02bc").as_ref(), b"'");
        // Unmapped above 0xff: low byte.
        assert_eq!(url_decode_uni(b"%u0427").as_ref(), b"'");
    }

    #[test]
    fn uni_partial_invalid() {
        // v2 tests/tfn/urlDecodeUni.t.
        for (input, want) in [
            (&b"%%u0020"[..], &b"% "[..]),
            (b"%0g%u0020", b"%0g "),
            (b"%0%u0020", b"%0 "),
            (b"%g0%u0020", b"%g0 "),
            (b"%u%u0020", b"%u "),
            (b"%u0%u0020", b"%u0 "),
            (b"%u00%u0020", b"%u00 "),
            (b"%u000%u0020", b"%u000 "),
            (b"%u000g%u0020", b"%u000g "),
            (b"%U%41", b"%UA"),
            (b"%u", b"%u"),
            (b"%u004", b"%u004"),
        ] {
            assert_eq!(url_decode_uni(input).as_ref(), want, "{input:?}");
        }
    }
}
