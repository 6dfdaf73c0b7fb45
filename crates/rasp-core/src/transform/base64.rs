//! `t:base64Decode`, `t:base64DecodeExt`, `t:base64Encode`.
//!
//! The two decoders are ModSecurity v2's, which differ:
//!
//! - `base64Decode` is APR's `apr_base64_decode`: it decodes the longest
//!   prefix made of the standard alphabet (`A-Z a-z 0-9 + /`) and stops at
//!   the first other byte — `=` padding, whitespace, NUL, anything. A final
//!   group of two or three characters yields one or two bytes; a single
//!   leftover character yields nothing. It never fails.
//! - `base64DecodeExt` (v2's `decode_base64_ext`) skips every byte outside
//!   the alphabet instead of stopping, stops at a NUL byte, and gives an
//!   empty result when a `=` follows exactly one character of a group and is
//!   not itself followed by another `=`.

use std::borrow::Cow;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks a byte outside the standard alphabet in [`SEXTETS`].
const INVALID: u8 = 0x80;

/// The value of each standard-alphabet byte, [`INVALID`] for the others:
/// one load per byte where a `match` took a chain of range tests (the
/// decoder runs on every argument of CRS's 934100 chain, `t:base64Decode`
/// after `t:removeWhitespace`, most of a JSON POST's text).
const SEXTETS: [u8; 256] = {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < ALPHABET.len() {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Value of a standard-alphabet character.
#[inline]
fn sextet(b: u8) -> Option<u8> {
    let v = SEXTETS[usize::from(b)];
    (v != INVALID).then_some(v)
}

/// Packs up to four sextets into bytes, appending `n - 1` bytes for `n`
/// sextets (nothing for a lone sextet).
fn push_group(out: &mut Vec<u8>, s: &[u8]) {
    match *s {
        [a, b, c, d] => out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2, c << 6 | d]),
        [a, b, c] => out.extend_from_slice(&[a << 2 | b >> 4, b << 4 | c >> 2]),
        [a, b] => out.push(a << 2 | b >> 4),
        _ => {}
    }
}

/// How many first bytes of `input` `base64Decode` decodes: up to the first
/// byte outside the standard alphabet.
fn valid_prefix_len(input: &[u8]) -> usize {
    input
        .iter()
        .position(|&b| sextet(b).is_none())
        .unwrap_or(input.len())
}

/// The length of `base64_decode(input)`, without decoding: three bytes
/// per full group of its valid prefix, and one less than the characters
/// of a final partial group.
pub(super) fn base64_decoded_len(input: &[u8]) -> usize {
    let valid = valid_prefix_len(input);
    valid / 4 * 3 + (valid % 4).saturating_sub(1)
}

/// `t:base64Decode` (APR semantics, see the module docs), in one pass:
/// whole groups of four valid characters while there are any, then what
/// is valid of the group that ends the prefix.
pub(super) fn base64_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let groups = input.chunks_exact(4);
    let mut last: &[u8] = groups.remainder();
    for chunk in groups {
        let &[a, b, c, d] = chunk else { break };
        let s = [a, b, c, d].map(|byte| SEXTETS[usize::from(byte)]);
        if (s[0] | s[1] | s[2] | s[3]) & INVALID != 0 {
            last = chunk;
            break;
        }
        push_group(&mut out, &s);
    }
    let valid = valid_prefix_len(last);
    let mut group = [0u8; 4];
    for (slot, &c) in group.iter_mut().zip(last.get(..valid).unwrap_or_default()) {
        *slot = SEXTETS[usize::from(c)];
    }
    push_group(&mut out, group.get(..valid).unwrap_or_default());
    Cow::Owned(out)
}

/// `t:base64DecodeExt` (v2's lenient decoder, see the module docs).
pub(super) fn base64_decode_ext(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() / 4 * 3 + 2);
    let mut group = [0u8; 4];
    let mut n = 0usize;
    for (i, &b) in input.iter().enumerate() {
        if b == 0 {
            break;
        }
        if b == b'=' {
            // v2 looks at the next byte (its NUL terminator at the end).
            let next = input.get(i + 1).copied().unwrap_or(0);
            if next != b'=' && n == 1 {
                return Cow::Owned(Vec::new());
            }
            continue;
        }
        let Some(v) = sextet(b) else { continue };
        if let Some(slot) = group.get_mut(n) {
            *slot = v;
        }
        n += 1;
        if n == 4 {
            push_group(&mut out, &group);
            n = 0;
        }
    }
    // A partial group yields only its complete bytes.
    push_group(&mut out, group.get(..n).unwrap_or_default());
    Cow::Owned(out)
}

/// `t:base64Encode`: standard alphabet with `=` padding.
pub(super) fn base64_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len().div_ceil(3) * 4);
    let sym = |v: u8| ALPHABET.get(usize::from(v & 0x3f)).copied().unwrap_or(b'=');
    for chunk in input.chunks(3) {
        let (a, b, c) = match *chunk {
            [a, b, c] => (a, b, c),
            [a, b] => (a, b, 0),
            [a] => (a, 0, 0),
            _ => continue,
        };
        out.push(sym(a >> 2));
        out.push(sym(a << 4 | b >> 4));
        out.push(if chunk.len() > 1 {
            sym(b << 2 | c >> 6)
        } else {
            b'='
        });
        out.push(if chunk.len() > 2 { sym(c) } else { b'=' });
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn decoded_len_is_the_decoded_length(
            input in proptest::collection::vec(
                proptest::sample::select(b"aZ09+/=_ -\x00".to_vec()), 0..24),
        ) {
            proptest::prop_assert_eq!(base64_decoded_len(&input), base64_decode(&input).len());
        }
    }

    /// The decoder as APR writes it: the valid prefix first, then its
    /// groups of four.
    fn reference_decode(input: &[u8]) -> Vec<u8> {
        let valid = input
            .iter()
            .position(|&b| !ALPHABET.contains(&b))
            .unwrap_or(input.len());
        let value = |c: u8| ALPHABET.iter().position(|&a| a == c).map_or(0, |v| v as u8);
        let mut out = Vec::new();
        for chunk in input.get(..valid).unwrap_or_default().chunks(4) {
            let s: Vec<u8> = chunk.iter().map(|&c| value(c)).collect();
            push_group(&mut out, &s);
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn decode_is_the_reference_decoding(
            input in proptest::collection::vec(
                proptest::sample::select(b"aZ09+/=_ -\x00\xff".to_vec()), 0..40),
        ) {
            proptest::prop_assert_eq!(base64_decode(&input).into_owned(), reference_decode(&input));
        }

        #[test]
        fn decode_is_the_reference_decoding_on_any_bytes(
            input in proptest::collection::vec(proptest::num::u8::ANY, 0..40),
        ) {
            proptest::prop_assert_eq!(base64_decode(&input).into_owned(), reference_decode(&input));
        }
    }

    fn dec(input: &[u8]) -> Vec<u8> {
        base64_decode(input).into_owned()
    }

    fn ext(input: &[u8]) -> Vec<u8> {
        base64_decode_ext(input).into_owned()
    }

    #[test]
    fn decode_v2_cases() {
        // From v2 tests/tfn/base64Decode.t.
        assert_eq!(dec(b""), b"");
        assert_eq!(dec(b"VGVzdENhc2U="), b"TestCase");
        assert_eq!(dec(b"VGVzdENhc2Ux"), b"TestCase1");
        assert_eq!(dec(b"VGVzdENhc2UxMg=="), b"TestCase12");
        assert_eq!(dec(b"VGVzdABDYXNl"), b"Test\0Case");
        assert_eq!(dec(b"VGVzdENhc2U=\0VGVzdENhc2U="), b"TestCase");
    }

    #[test]
    fn decode_stops_at_first_non_alphabet_byte() {
        assert_eq!(dec(b"VGVz dENhc2U="), b"Tes");
        assert_eq!(dec(b"!VGVz"), b"");
        assert_eq!(dec(b"VGVzd"), b"Tes");
        assert_eq!(dec(b"VGVzdA"), b"Test");
        // URL-safe characters are not in APR's alphabet.
        assert_eq!(dec(b"YQ-_"), b"a");
    }

    #[test]
    fn decode_ext_skips_junk() {
        assert_eq!(ext(b"VGVz dENh\nc2U="), b"TestCase");
        assert_eq!(ext(b"VG!Vz*dENhc2U"), b"TestCase");
        assert_eq!(ext(b"VGVzdENhc2UxMg=="), b"TestCase12");
        assert_eq!(ext(b"VGVz\0dENhc2U="), b"Tes");
        assert_eq!(ext(b""), b"");
    }

    #[test]
    fn decode_ext_rejects_padding_after_one_char() {
        assert_eq!(ext(b"VGVzd="), b"");
        assert_eq!(ext(b"VGVzd=A"), b"");
        // The second `=` is followed by the end, not by `=`: still rejected.
        assert_eq!(ext(b"VGVzd=="), b"");
        assert_eq!(ext(b"VGVzdA=="), b"Test");
    }

    #[test]
    fn encode() {
        // From v2 tests/tfn/base64Encode.t.
        assert_eq!(base64_encode(b"").as_ref(), b"");
        assert_eq!(base64_encode(b"TestCase").as_ref(), b"VGVzdENhc2U=");
        assert_eq!(base64_encode(b"TestCase1").as_ref(), b"VGVzdENhc2Ux");
        assert_eq!(base64_encode(b"TestCase12").as_ref(), b"VGVzdENhc2UxMg==");
        assert_eq!(base64_encode(b"Test\0Case").as_ref(), b"VGVzdABDYXNl");
    }

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0u8..=255).collect();
        for n in 0..data.len() {
            let slice = data.get(..n).unwrap_or_default();
            let enc = base64_encode(slice);
            assert_eq!(base64_decode(&enc).as_ref(), slice);
            assert_eq!(base64_decode_ext(&enc).as_ref(), slice);
        }
    }
}
