//! `Cookie` header parsing (`REQUEST_COOKIES`, `REQUEST_COOKIES_NAMES`) with
//! ModSecurity v2's two formats (`SecCookieFormat 0` and `1`).
//!
//! Version 0 (the default, and what CRS CI uses) is deliberately loose:
//! - the separator is `;`, unless the header has no `;` and its first `,` is
//!   followed by a space, then `,` (v2 guesses "comma-separated");
//!   `SecCookieV0Separator` overrides the guess;
//! - empty pieces are skipped; whitespace before a name is dropped, but
//!   nothing else is trimmed (`a = b` gives the name `"a "` and value `" b"`);
//! - a piece without `=` is a cookie with an empty value; an empty name drops
//!   the cookie; values are not URL-decoded.
//!
//! v2 copies the header as a C string, so everything after a NUL byte is
//! ignored.

use super::log_escape::until_nul;
use super::Arg;

/// Parses one `Cookie` header as `SecCookieFormat 0` does. `separator` is
/// `SecCookieV0Separator` when configured; `None` lets v2's guess decide.
pub fn parse_v0(header: &[u8], separator: Option<u8>) -> Vec<Arg> {
    let mut out = Vec::new();
    parse_v0_into(header, separator, &mut Arg::default, &mut out);
    out
}

/// [`parse_v0`], appending to `out`, each cookie written into the buffers
/// `buffers` hands out (a finished transaction's, see
/// `transaction::spare`).
pub(crate) fn parse_v0_into(
    header: &[u8],
    separator: Option<u8>,
    buffers: &mut dyn FnMut() -> Arg,
    out: &mut Vec<Arg>,
) {
    let header = until_nul(header);
    let separator = separator.unwrap_or_else(|| v0_separator(header));
    // apr_strtok: consecutive separators produce no empty tokens.
    for piece in header.split(|&b| b == separator).filter(|p| !p.is_empty()) {
        let start = piece
            .iter()
            .position(|&b| !is_c_space(b))
            .unwrap_or(piece.len());
        let piece = piece.get(start..).unwrap_or_default();
        let (name, value) = match piece.iter().position(|&b| b == b'=') {
            Some(eq) => (
                piece.get(..eq).unwrap_or_default(),
                piece.get(eq + 1..).unwrap_or_default(),
            ),
            None => (piece, &[][..]),
        };
        if !name.is_empty() {
            let (mut name_buffer, mut value_buffer) = buffers();
            name_buffer.extend_from_slice(name);
            value_buffer.extend_from_slice(value);
            out.push((name_buffer, value_buffer));
        }
    }
}

/// v2's separator guess for version 0 cookies.
fn v0_separator(header: &[u8]) -> u8 {
    if header.contains(&b';') {
        return b';';
    }
    match header.iter().position(|&b| b == b',') {
        Some(comma) if header.get(comma + 1) == Some(&b' ') => b',',
        _ => b';',
    }
}

/// Parses one `Cookie` header as `SecCookieFormat 1` (RFC 2109 style) does:
/// `;` and `,` both separate, names and unquoted values are trimmed, a
/// quoted value ends at the next `"`, and `$Path`-style attributes become
/// `$<previous cookie>_Path`.
pub fn parse_v1(header: &[u8]) -> Vec<Arg> {
    let s = until_nul(header);
    let at = |i: usize| s.get(i).copied().unwrap_or(0);
    let mut out: Vec<Arg> = Vec::new();
    let mut prev_name: Option<Vec<u8>> = None;
    let mut p = 0;
    while p < s.len() {
        while p < s.len() && is_c_space(at(p)) {
            p += 1;
        }
        let name_start = p;
        while p < s.len() && !matches!(at(p), b'=' | b';' | b',') {
            p += 1;
        }
        let mut name = s.get(name_start..p).unwrap_or_default().to_vec();
        let mut value: Option<Vec<u8>> = None;
        if p < s.len() {
            let sep = at(p);
            p += 1;
            if sep == b'=' {
                while p < s.len() && is_c_space(at(p)) {
                    p += 1;
                }
                if p < s.len() {
                    if at(p) == b'"' {
                        p += 1;
                        if p < s.len() {
                            let v_start = p;
                            while p < s.len() && at(p) != b'"' {
                                p += 1;
                            }
                            value = Some(s.get(v_start..p).unwrap_or_default().to_vec());
                            if p < s.len() {
                                p += 1;
                            }
                        }
                    } else {
                        let v_start = p;
                        while p < s.len() && !matches!(at(p), b',' | b';') {
                            p += 1;
                        }
                        let mut v = s.get(v_start..p).unwrap_or_default().to_vec();
                        if p < s.len() {
                            p += 1;
                        }
                        trim_end_c_space(&mut v);
                        value = Some(v);
                    }
                }
            }
        }
        trim_end_c_space(&mut name);
        if !name.is_empty() {
            if name.first() == Some(&b'$') {
                if let Some(prev) = &prev_name {
                    let mut renamed = Vec::with_capacity(prev.len() + name.len() + 1);
                    renamed.push(b'$');
                    renamed.extend_from_slice(prev);
                    renamed.push(b'_');
                    renamed.extend_from_slice(name.get(1..).unwrap_or_default());
                    name = renamed;
                }
            }
            if name.first() != Some(&b'$') {
                prev_name = Some(name.clone());
            }
            out.push((name, value.unwrap_or_default()));
        }
        while p < s.len() && (matches!(at(p), b',' | b';') || is_c_space(at(p))) {
            p += 1;
        }
    }
    out
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

fn trim_end_c_space(v: &mut Vec<u8>) {
    while v.last().is_some_and(|&b| is_c_space(b)) {
        v.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: Vec<Arg>) -> Vec<(String, String)> {
        v.into_iter()
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
    fn v0_basic() {
        assert_eq!(
            s(parse_v0(b"a=1; b=2;c", None)),
            vec![p("a", "1"), p("b", "2"), p("c", "")]
        );
    }

    #[test]
    fn v0_keeps_inner_whitespace_and_skips_empty() {
        assert_eq!(
            s(parse_v0(b" a = 1 ;; ;=x; d==e", None)),
            vec![p("a ", " 1 "), p("d", "=e")]
        );
    }

    #[test]
    fn v0_comma_guess() {
        assert_eq!(
            s(parse_v0(b"a=1, b=2", None)),
            vec![p("a", "1"), p("b", "2")]
        );
        // No space after the comma: still one cookie.
        assert_eq!(s(parse_v0(b"a=1,b=2", None)), vec![p("a", "1,b=2")]);
        // A semicolon anywhere wins.
        assert_eq!(
            s(parse_v0(b"a=1, b=2; c", None)),
            vec![p("a", "1, b=2"), p("c", "")]
        );
        assert_eq!(
            s(parse_v0(b"a=1|b=2", Some(b'|'))),
            vec![p("a", "1"), p("b", "2")]
        );
    }

    #[test]
    fn v0_stops_at_nul() {
        assert_eq!(s(parse_v0(b"a=1\0; b=2", None)), vec![p("a", "1")]);
    }

    #[test]
    fn v1_quotes_trimming_and_attributes() {
        assert_eq!(
            s(parse_v1(b"$Version=1; a = \"x; y\" ; $Path=/; b=2 , c")),
            vec![
                p("$Version", "1"),
                p("a", "x; y"),
                p("$a_Path", "/"),
                p("b", "2"),
                p("c", "")
            ]
        );
    }
}
