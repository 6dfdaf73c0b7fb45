//! `t:trim`, `t:trimLeft`, `t:trimRight`: remove C whitespace from the ends.
//! The result is always a sub-slice of the input, so these never allocate.

use std::borrow::Cow;

/// C `isspace` in the "C" locale ModSecurity runs in: space, `\t`, `\n`,
/// `\v`, `\f`, `\r`. Note that NBSP (0xA0) is *not* included here; only
/// compressWhitespace/removeWhitespace add it.
#[inline]
pub(super) const fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `t:trimLeft`.
pub(super) fn trim_left(input: &[u8]) -> Cow<'_, [u8]> {
    let start = input
        .iter()
        .position(|&b| !is_c_space(b))
        .unwrap_or(input.len());
    Cow::Borrowed(input.get(start..).unwrap_or_default())
}

/// `t:trimRight`.
pub(super) fn trim_right(input: &[u8]) -> Cow<'_, [u8]> {
    let end = input
        .iter()
        .rposition(|&b| !is_c_space(b))
        .map_or(0, |p| p + 1);
    Cow::Borrowed(input.get(..end).unwrap_or_default())
}

/// `t:trim`: both ends.
pub(super) fn trim(input: &[u8]) -> Cow<'_, [u8]> {
    match trim_left(input) {
        Cow::Borrowed(left) => trim_right(left),
        // trim_left only ever borrows; keep the owned value if that changes.
        Cow::Owned(v) => Cow::Owned(trim_right(&v).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v2_trim_cases() {
        // From v2 tests/tfn/trim.t.
        for (input, want) in [
            (&b""[..], &b""[..]),
            (b"TestCase", b"TestCase"),
            (b"Test\0Case", b"Test\0Case"),
            (b"    TestCase", b"TestCase"),
            (b"TestCase    ", b"TestCase"),
            (b"    Test   Case    ", b"Test   Case"),
            (b"    Test \0 Case    ", b"Test \0 Case"),
            (b" \t   Test \0 Case \t  \t   \r\n  ", b"Test \0 Case"),
        ] {
            assert_eq!(trim(input).as_ref(), want);
        }
    }

    #[test]
    fn one_side_only() {
        assert_eq!(trim_left(b" \x0b\x0cA B \n").as_ref(), b"A B \n");
        assert_eq!(trim_right(b" \x0b\x0cA B \n").as_ref(), b" \x0b\x0cA B");
        assert_eq!(trim_left(b"   ").as_ref(), b"");
        assert_eq!(trim_right(b"   ").as_ref(), b"");
    }

    #[test]
    fn nbsp_and_nul_are_not_trimmed() {
        assert_eq!(trim(b"\xa0A\xa0").as_ref(), b"\xa0A\xa0");
        assert_eq!(trim(b"\0A\0").as_ref(), b"\0A\0");
    }
}
