//! `t:urlEncode`: ModSecurity v2's form encoding. A space becomes `+`;
//! `*`, digits and ASCII letters stay; every other byte becomes `%hh` with
//! lowercase hex digits (so `-`, `.`, `_` and `~` are encoded too).

use std::borrow::Cow;

use super::hex::push_byte;

fn is_kept(b: u8) -> bool {
    b == b'*' || b.is_ascii_alphanumeric()
}

/// `t:urlEncode`.
pub(super) fn url_encode(input: &[u8]) -> Cow<'_, [u8]> {
    if input.iter().all(|&b| is_kept(b)) {
        return Cow::Borrowed(input);
    }
    let mut out = Vec::with_capacity(input.len() * 3);
    for &b in input {
        if b == b' ' {
            out.push(b'+');
        } else if is_kept(b) {
            out.push(b);
        } else {
            out.push(b'%');
            push_byte(&mut out, b);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unchanged() {
        assert!(matches!(url_encode(b""), Cow::Borrowed(b"")));
        assert!(matches!(url_encode(b"TestCase*09"), Cow::Borrowed(_)));
    }

    #[test]
    fn every_byte() {
        let input: Vec<u8> = std::iter::once(b' ').chain(0u8..=255).collect();
        let mut want = String::from("+");
        for b in 0u8..=255 {
            match b {
                b' ' => want.push('+'),
                b'*' | b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' => want.push(char::from(b)),
                _ => want.push_str(&format!("%{b:02x}")),
            }
        }
        assert_eq!(url_encode(&input).as_ref(), want.as_bytes());
    }

    #[test]
    fn v2_cases() {
        assert_eq!(url_encode(b"Test Case").as_ref(), b"Test+Case");
        assert_eq!(url_encode(b"% ").as_ref(), b"%25+");
        assert_eq!(url_encode(b"%0g ").as_ref(), b"%250g+");
        assert_eq!(url_encode(b"-._~").as_ref(), b"%2d%2e%5f%7e");
    }
}
