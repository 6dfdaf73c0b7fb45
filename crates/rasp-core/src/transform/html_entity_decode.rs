//! `t:htmlEntityDecode`: ModSecurity v2's HTML entity decoding.
//!
//! - `&#DDD` and `&#xHHH` / `&#XHHH`, with or without the closing `;`,
//!   decode to one byte: the low 8 bits of the number (v2 parses it with
//!   `strtol`, which saturates at `i64::MAX` on overflow, so a huge number
//!   gives 0xFF).
//! - Named entities: only `quot`, `amp`, `lt`, `gt` and `nbsp` (to 0xA0),
//!   matched case-insensitively against the whole run of ASCII letters and
//!   digits after `&`, again with or without `;`. Any other name is left as
//!   is.
//! - Anything else (`&` alone, `&#` or `&#x` without digits) is copied.

use std::borrow::Cow;

use super::writer::CowWriter;

/// Named entities v2 knows.
const NAMED: [(&[u8], u8); 5] = [
    (b"quot", b'"'),
    (b"amp", b'&'),
    (b"lt", b'<'),
    (b"gt", b'>'),
    (b"nbsp", 0xa0),
];

/// `t:htmlEntityDecode`.
pub(super) fn html_entity_decode(input: &[u8]) -> Cow<'_, [u8]> {
    if memchr::memchr(b'&', input).is_none() {
        return Cow::Borrowed(input);
    }
    let mut out = CowWriter::new(input);
    let mut i = 0;
    while let Some(&c) = input.get(i) {
        if c != b'&' {
            // Everything up to the next `&` is copied as it is.
            let rest = input.get(i..).unwrap_or_default();
            let run = memchr::memchr(b'&', rest).unwrap_or(rest.len());
            out.extend(rest.get(..run).unwrap_or_default());
            i += run;
            continue;
        }
        match entity(input, i) {
            Ok((byte, next)) => {
                out.push(byte);
                i = next;
            }
            Err(raw) => {
                // Not an entity: copy the bytes v2 looked at and go on.
                let end = (i + raw).min(input.len());
                out.extend(input.get(i..end).unwrap_or_default());
                i = end;
            }
        }
    }
    out.finish()
}

/// Decodes the entity starting with the `&` at `amp`. `Ok((byte, next))` on
/// success; `Err(n)`: copy `n` raw bytes and carry on after them.
fn entity(input: &[u8], amp: usize) -> Result<(u8, usize), usize> {
    let j = amp + 1;
    let Some(&first) = input.get(j) else {
        return Err(1);
    };
    if first == b'#' {
        let Some(&marker) = input.get(j + 1) else {
            return Err(2);
        };
        let (start, radix, raw) = if marker == b'x' || marker == b'X' {
            if input.get(j + 2).is_none() {
                return Err(3);
            }
            (j + 2, 16, 3)
        } else {
            (j + 1, 10, 2)
        };
        let digits = run(input, start, |b| {
            if radix == 16 {
                b.is_ascii_hexdigit()
            } else {
                b.is_ascii_digit()
            }
        });
        if digits.is_empty() {
            return Err(raw);
        }
        let end = start + digits.len();
        Ok((strtol_low_byte(digits, radix), skip_semicolon(input, end)))
    } else {
        let name = run(input, j, |b| b.is_ascii_alphanumeric());
        if name.is_empty() {
            return Err(1);
        }
        let end = j + name.len();
        match NAMED.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)) {
            Some(&(_, byte)) => Ok((byte, skip_semicolon(input, end))),
            // Unknown name: copy `&` and the name (not the `;`).
            None => Err(1 + name.len()),
        }
    }
}

/// The longest run of bytes from `start` satisfying `pred`.
fn run(input: &[u8], start: usize, pred: impl Fn(u8) -> bool) -> &[u8] {
    let rest = input.get(start..).unwrap_or_default();
    let n = rest.iter().position(|&b| !pred(b)).unwrap_or(rest.len());
    rest.get(..n).unwrap_or_default()
}

fn skip_semicolon(input: &[u8], end: usize) -> usize {
    if input.get(end) == Some(&b';') {
        end + 1
    } else {
        end
    }
}

/// Low byte of `strtol(digits, radix)`: saturates at `i64::MAX` (low byte
/// 0xFF) like C's `strtol` on overflow.
fn strtol_low_byte(digits: &[u8], radix: u32) -> u8 {
    let mut v: i64 = 0;
    for &d in digits {
        let dv = char::from(d).to_digit(radix).map_or(0, i64::from);
        match v
            .checked_mul(i64::from(radix))
            .and_then(|x| x.checked_add(dv))
        {
            Some(x) => v = x,
            None => return 0xff,
        }
    }
    (v & 0xff) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &[u8]) -> Vec<u8> {
        html_entity_decode(input).into_owned()
    }

    #[test]
    fn unchanged() {
        for input in [&b""[..], b"TestCase", b"Test\0Case", b"a & b", b"&foo;"] {
            assert!(matches!(html_entity_decode(input), Cow::Borrowed(b) if b == input));
        }
    }

    #[test]
    fn v2_valid_cases() {
        // From v2 tests/tfn/htmlEntityDecode.t.
        assert_eq!(
            dec(b"&#x0;&#X0;&#x20;&#X20;&#0;&#32;\0&#100;&quot;&amp;&lt;&gt;&nbsp;"),
            b"\0\0\x20\x20\0\x20\0\x64\"&<>\xa0"
        );
        assert_eq!(
            dec(b"&#x0&#X0&#x20&#X20&#0&#32\0&#100&quot&amp&lt&gt&nbsp"),
            b"\0\0\x20\x20\0\x20\0\x64\"&<>\xa0"
        );
    }

    #[test]
    fn v2_invalid_cases() {
        assert_eq!(
            dec(b"&#xg;&#Xg;&#xg0;&#X2g;&#a;\0&#a2;&#3a&#a00;&#1a0;&#10a;&foo;"),
            b"&#xg;&#Xg;&#xg0;\x02g;&#a;\0&#a2;\x03a&#a00;\x01a0;\x0aa;&foo;"
        );
        assert_eq!(
            dec(b"&#xg&#Xg&#xg0&#X2g&#a\0&#a2&#3a&#a00&#1a0&#10a&foo"),
            b"&#xg&#Xg&#xg0\x02g&#a\0&#a2\x03a&#a00\x01a0\x0aa&foo"
        );
    }

    #[test]
    fn names_are_case_insensitive_and_whole() {
        assert_eq!(dec(b"&LT;&Gt&QUOT;"), b"<>\"");
        assert_eq!(dec(b"&ltx;&lt1"), b"&ltx;&lt1");
        assert_eq!(dec(b"&apos;&copy;"), b"&apos;&copy;");
    }

    #[test]
    fn truncated_forms() {
        assert_eq!(dec(b"&"), b"&");
        assert_eq!(dec(b"&#"), b"&#");
        assert_eq!(dec(b"&#x"), b"&#x");
        assert_eq!(dec(b"&&lt;"), b"&<");
        assert_eq!(dec(b"&#x41"), b"A");
        assert_eq!(dec(b"&#65"), b"A");
    }

    #[test]
    fn numbers_keep_low_byte_and_saturate() {
        assert_eq!(dec(b"&#321;"), b"A"); // 0x141
        assert_eq!(dec(b"&#x141;"), b"A");
        assert_eq!(dec(b"&#99999999999999999999999;"), b"\xff");
        assert_eq!(dec(b"&#x41414141414141414141;"), b"\xff");
    }
}
