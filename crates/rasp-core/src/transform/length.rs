//! `t:length`: the value's length in bytes, as decimal text.

use std::borrow::Cow;

/// `t:length`.
pub(super) fn length(input: &[u8]) -> Cow<'_, [u8]> {
    Cow::Owned(input.len().to_string().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_length() {
        assert_eq!(length(b"").as_ref(), b"0");
        assert_eq!(length(b"Test\0Case").as_ref(), b"9");
        assert_eq!(length(&[b'x'; 1234]).as_ref(), b"1234");
    }
}
