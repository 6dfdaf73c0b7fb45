//! `t:lowercase` and `t:uppercase`: ASCII only, as C `tolower`/`toupper` in
//! the "C" locale (bytes above 0x7F are left alone).

use std::borrow::Cow;

/// `t:lowercase`.
pub(super) fn lowercase(input: &[u8]) -> Cow<'_, [u8]> {
    if !input.iter().any(u8::is_ascii_uppercase) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
