//! `name=value&name=value` parsing (`QUERY_STRING` → `ARGS_GET`,
//! URL-encoded bodies → `ARGS_POST`) with ModSecurity v2's semantics
//! (`parse_arguments` + `urldecode_nonstrict_inplace_ex`).
//!
//! What v2 does, and so what this does:
//! - pairs are split on the separator byte, name from value on the first `=`;
//! - empty pairs are kept: `a=1&&b=2` yields `("", "")` between `a` and `b`,
//!   and `a` alone or `a=` yields `("a", "")`; a trailing separator adds nothing;
//! - names and values are decoded: `+` is a space, `%hh` a byte, and a `%`
//!   not followed by two hex digits stays as it is and flags the input
//!   (`URLENCODED_ERROR`).
//!
//! v2 reads the query string as a C string, so a caller parsing
//! `QUERY_STRING` should cut it at the first NUL byte first
//! ([`crate::body::log_escape::until_nul`]); bodies are parsed whole.

use super::Arg;

/// The arguments found and whether any `%` escape was invalid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlEncoded {
    /// `(name, value)` pairs, decoded, in input order.
    pub args: Vec<Arg>,
    /// A `%` not followed by two hex digits was seen (v2's `invalid_count`).
    pub invalid_encoding: bool,
}

/// Splits and decodes `input`; `separator` is `SecArgumentSeparator`.
pub fn parse(input: &[u8], separator: u8) -> UrlEncoded {
    parse_into(input, separator, &mut Arg::default)
}

/// [`parse`], each argument written into the buffers `buffers` hands out
/// (a finished transaction's, see `transaction::spare`).
pub(crate) fn parse_into(
    input: &[u8],
    separator: u8,
    buffers: &mut dyn FnMut() -> Arg,
) -> UrlEncoded {
    let mut out = UrlEncoded::default();
    if input.is_empty() {
        return out;
    }
    let mut rest = input;
    // Separators are found with `memchr`: a free-text field is kilobytes
    // between two of them (bench form POST: −1.4 % instructions).
    loop {
        let (pair, next) = match memchr::memchr(separator, rest) {
            Some(at) => (
                rest.get(..at).unwrap_or_default(),
                rest.get(at + 1..).unwrap_or_default(),
            ),
            None => (rest, &[][..]),
        };
        let (name, value) = match memchr::memchr(b'=', pair) {
            Some(eq) => (
                pair.get(..eq).unwrap_or_default(),
                pair.get(eq + 1..).unwrap_or_default(),
            ),
            None => (pair, &[][..]),
        };
        let (mut name_buffer, mut value_buffer) = buffers();
        decode_into(name, &mut out.invalid_encoding, &mut name_buffer);
        decode_into(value, &mut out.invalid_encoding, &mut value_buffer);
        out.args.push((name_buffer, value_buffer));
        // A separator right at the end leaves nothing after it; v2 stops
        // there without adding an empty pair. Empty pieces elsewhere count.
        if next.is_empty() {
            break;
        }
        rest = next;
    }
    out
}

/// v2's non-strict URL decoding: `+` → space, valid `%hh` → byte, anything
/// else copied. Sets `*invalid` when a `%` is not followed by two hex digits.
/// The same decoder as `t:urlDecode`.
pub fn decode(input: &[u8], invalid: &mut bool) -> Vec<u8> {
    crate::transform::url_decode_reporting(input, invalid).into_owned()
}

/// [`decode`] into `out` (empty): a decoded copy too long for `out` takes
/// its place instead of being copied.
fn decode_into(input: &[u8], invalid: &mut bool, out: &mut Vec<u8>) {
    match crate::transform::url_decode_reporting(input, invalid) {
        std::borrow::Cow::Owned(decoded) if decoded.len() > out.capacity() => *out = decoded,
        decoded => out.extend_from_slice(&decoded),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(input: &[u8]) -> Vec<(String, String)> {
        parse(input, b'&')
            .args
            .into_iter()
            .map(|(n, v)| {
                (
                    String::from_utf8_lossy(&n).into_owned(),
                    String::from_utf8_lossy(&v).into_owned(),
                )
            })
            .collect()
    }

    fn p(n: &str, v: &str) -> (String, String) {
        (n.to_owned(), v.to_owned())
    }

    #[test]
    fn basic_pairs_and_decoding() {
        assert_eq!(pairs(b"a=1&b=x+y%21"), vec![p("a", "1"), p("b", "x y!")]);
        assert_eq!(pairs(b"a%3Db=c%26d"), vec![p("a=b", "c&d")]);
    }

    #[test]
    fn empty_pieces_follow_v2() {
        assert_eq!(pairs(b""), vec![]);
        assert_eq!(pairs(b"a"), vec![p("a", "")]);
        assert_eq!(pairs(b"a="), vec![p("a", "")]);
        assert_eq!(pairs(b"="), vec![p("", "")]);
        assert_eq!(pairs(b"a=1&"), vec![p("a", "1")]);
        assert_eq!(
            pairs(b"a=1&&b=2"),
            vec![p("a", "1"), p("", ""), p("b", "2")]
        );
        assert_eq!(pairs(b"&"), vec![p("", "")]);
        assert_eq!(pairs(b"a=b=c"), vec![p("a", "b=c")]);
    }

    #[test]
    fn invalid_escapes_are_kept_and_flagged() {
        let r = parse(b"a=%zz&b=%4", b'&');
        assert!(r.invalid_encoding);
        assert_eq!(r.args[0].1, b"%zz");
        assert_eq!(r.args[1].1, b"%4");
        assert!(!parse(b"a=%41%4a", b'&').invalid_encoding);
        assert_eq!(parse(b"a=%41%4a", b'&').args[0].1, b"AJ");
    }

    #[test]
    fn custom_separator() {
        assert_eq!(
            parse(b"a=1;b=2&c", b';').args,
            vec![
                (b"a".to_vec(), b"1".to_vec()),
                (b"b".to_vec(), b"2&c".to_vec())
            ]
        );
    }

    #[test]
    fn crs_payload_decodes_like_v2() {
        // 941xxx-style payload: %uXXXX is not a valid %hh escape here.
        let r = parse(b"testarg=%5Cu0061lert", b'&');
        assert_eq!(r.args[0].1, b"\\u0061lert");
        let r = parse(b"x=%u0061", b'&');
        assert!(r.invalid_encoding);
        assert_eq!(r.args[0].1, b"%u0061");
    }
}
