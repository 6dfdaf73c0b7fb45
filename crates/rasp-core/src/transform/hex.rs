//! `t:hexEncode` and `t:hexDecode`, plus the hex-digit helpers the decoders
//! share.

use std::borrow::Cow;

const LOWER_HEX: &[u8; 16] = b"0123456789abcdef";

/// ASCII hex digit (`0-9a-fA-F`), ModSecurity's `VALID_HEX`.
#[inline]
pub(crate) fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Value of one digit the way ModSecurity's `x2c` computes it: without
/// validation, in wrapping byte arithmetic. For valid digits this is the
/// usual value; `t:hexDecode` feeds it anything and v2's regression tests
/// pin the garbage it produces (`"0z"` decodes to `#`).
#[inline]
fn digit_unchecked(b: u8) -> u8 {
    if b >= b'A' {
        (b & 0xdf).wrapping_sub(b'A').wrapping_add(10)
    } else {
        b.wrapping_sub(b'0')
    }
}

/// Byte for two hex digits (ModSecurity's `x2c`, same wrapping rules).
#[inline]
pub(crate) fn pair(hi: u8, lo: u8) -> u8 {
    digit_unchecked(hi)
        .wrapping_mul(16)
        .wrapping_add(digit_unchecked(lo))
}

/// Byte for a single hex digit (ModSecurity's `xsingle2c`).
#[inline]
pub(super) fn single(d: u8) -> u8 {
    digit_unchecked(d)
}

/// Appends the two lowercase hex digits of `b`.
#[inline]
pub(super) fn push_byte(out: &mut Vec<u8>, b: u8) {
    let digit = |n: u8| LOWER_HEX.get(usize::from(n)).copied().unwrap_or(b'0');
    out.push(digit(b >> 4));
    out.push(digit(b & 0x0f));
}

/// `t:hexEncode`: every byte as two lowercase hex digits.
pub(super) fn hex_encode(input: &[u8]) -> Cow<'_, [u8]> {
    let mut out = Vec::with_capacity(input.len() * 2);
    for &b in input {
        push_byte(&mut out, b);
    }
    Cow::Owned(out)
}

/// `t:hexDecode`: pairs of digits to bytes. Like v2 it does not validate:
/// a non-hex digit decodes through `x2c`'s arithmetic and an odd trailing
/// digit is dropped.
pub(super) fn hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(
        input
            .chunks_exact(2)
            .map(|p| match p {
                [hi, lo] => pair(*hi, *lo),
                _ => 0, // chunks_exact(2) yields only pairs
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode() {
        assert_eq!(hex_encode(b"").as_ref(), b"");
        assert_eq!(
            hex_encode(b"Test\0Case\xff").as_ref(),
            b"546573740043617365ff"
        );
    }

    #[test]
    fn decode_valid() {
        assert_eq!(hex_decode(b"5465737443617365").as_ref(), b"TestCase");
        assert_eq!(hex_decode(b"546573740043617365").as_ref(), b"Test\0Case");
        assert_eq!(hex_decode(b"").as_ref(), b"");
    }

    #[test]
    fn decode_invalid_follows_v2_arithmetic() {
        // v2 tests/tfn/hexDecode.t "Invalid" cases.
        assert_eq!(
            hex_decode(b"01234567890a0z01234567890a").as_ref(),
            b"\x01#Eg\x89\x0a#\x01#Eg\x89\x0a"
        );
        assert_eq!(hex_decode(b"01234567890az").as_ref(), b"\x01#Eg\x89\x0a");
        assert_eq!(hex_decode(b"01234567890a0").as_ref(), b"\x01#Eg\x89\x0a");
    }

    #[test]
    fn pair_and_single() {
        assert_eq!(pair(b'4', b'1'), 0x41);
        assert_eq!(pair(b'f', b'F'), 0xff);
        assert_eq!(single(b'a'), 10);
        assert!(is_hex(b'F') && !is_hex(b'g'));
    }
}
