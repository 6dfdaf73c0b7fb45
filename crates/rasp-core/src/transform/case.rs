//! `t:lowercase` and `t:uppercase`: ASCII only, as C `tolower`/`toupper` in
//! the "C" locale (bytes above 0x7F are left alone).

use std::borrow::Cow;

/// `t:lowercase`.
pub(super) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if !has_ascii_uppercase(input) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.to_ascii_lowercase())
}

/// `t:uppercase` (a v3 addition; v2 has no such transformation).
pub(super) fn uppercase(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(u8::is_ascii_lowercase) {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.to_ascii_uppercase())
}

/// Whether `bytes` hold an ASCII capital, eight bytes a step. Asked of
/// every TX key a lookup misses (before folding its case) and of every
/// value `t:lowercase` may leave alone: a byte loop that stops at the
/// first capital took ~3 instructions a byte, 1 % of a benign GET.
pub(crate) fn has_ascii_uppercase(bytes: &[u8]) -> bool {
    const LOW7: u64 = u64::from_ne_bytes([0x7f; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    // Per byte, without carries between bytes (each is at most 0x7f before
    // the additions): the high bit of `y + 0x3f` says `y >= b'A'`, that of
    // `y + 0x25` says `y > b'Z'`; `!x` keeps the bytes that were ASCII.
    const FROM_A: u64 = u64::from_ne_bytes([0x80 - b'A'; 8]);
    const PAST_Z: u64 = u64::from_ne_bytes([0x80 - b'Z' - 1; 8]);
    let mut chunks = bytes.chunks_exact(8);
    for chunk in &mut chunks {
        let x = <[u8; 8]>::try_from(chunk).map_or(0, u64::from_ne_bytes);
        let y = x & LOW7;
        if (y + FROM_A) & !(y + PAST_Z) & !x & HIGH != 0 {
            return true;
        }
    }
    chunks.remainder().iter().any(u8::is_ascii_uppercase)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// The eight-byte test answers as the byte loop, for bytes around
        /// both ends of the capitals and beyond ASCII.
        #[test]
        fn capitals_are_found_as_byte_by_byte(
            bytes in proptest::collection::vec(proptest::sample::select(vec![
                0u8, b'@', b'A', b'B', b'Y', b'Z', b'[', b'`', b'a', b'z', b'{', 0x7f, 0x80, 0xc1, 0xda, 0xdb, 0xff,
            ]), 0..40),
            at in 0usize..40,
            lead in 0usize..9,
        ) {
            let mut bytes = bytes;
            // Capitals are rare in the mix: also try exactly one.
            let plain: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
            let mut one = plain.clone();
            if let Some(b) = one.get_mut(at) {
                *b = b'Q';
            }
            let lead = lead.min(bytes.len());
            bytes.rotate_left(lead);
            for input in [&bytes, &plain, &one] {
                proptest::prop_assert_eq!(
                    has_ascii_uppercase(input),
                    input.iter().any(u8::is_ascii_uppercase),
                    "{:?}", input
                );
            }
        }
    }

    #[test]
    fn lower() {
        // From v2 tests/tfn/lowercase.t.
        assert!(matches!(lowercase(b"test\0case"), Cow::Borrowed(_)));
        assert_eq!(lowercase(b"TestCase").as_ref(), b"testcase");
        assert_eq!(lowercase(b"Test\0Case").as_ref(), b"test\0case");
        assert_eq!(lowercase(b"\xc9A").as_ref(), b"\xc9a");
    }

    #[test]
    fn upper() {
        assert!(matches!(uppercase(b"TEST\0"), Cow::Borrowed(_)));
        assert_eq!(uppercase(b"TestCase\xe9").as_ref(), b"TESTCASE\xe9");
    }
}
