//! `t:removeNulls` and `t:replaceNulls`.

use std::borrow::Cow;

/// `t:removeNulls`: drops every NUL byte.
pub(super) fn remove_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(0, input).is_none() {
        return Cow::Borrowed(input);
    }
    Cow::Owned(input.iter().copied().filter(|&b| b != 0).collect())
}

/// `t:replaceNulls`: every NUL byte becomes a space.
pub(super) fn replace_nulls(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(0, input).is_none() {
        return Cow::Borrowed(input);
    }
    Cow::Owned(
        input
            .iter()
            .map(|&b| if b == 0 { b' ' } else { b })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove() {
        assert!(matches!(remove_nulls(b"TestCase"), Cow::Borrowed(_)));
        assert_eq!(remove_nulls(b"\0Test\0\0Case\0").as_ref(), b"TestCase");
        assert_eq!(remove_nulls(b"\0\0").as_ref(), b"");
    }

    #[test]
    fn replace() {
        assert!(matches!(replace_nulls(b"TestCase"), Cow::Borrowed(_)));
        assert_eq!(replace_nulls(b"\0Test\0\0Case\0").as_ref(), b" Test  Case ");
    }
}
