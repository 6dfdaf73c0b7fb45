//! ModSecurity v2's escaping of untrusted bytes inside log and error texts.
//!
//! v2 embeds attacker data in messages such as
//! `Multipart: Invalid part header (colon missing): …`; it escapes control
//! bytes, bytes ≥ 0x7f and backslashes so the text stays on one line. Rules can
//! match these messages (`REQBODY_ERROR_MSG`), so the escaping must be the same.

/// Escapes like v2's `log_escape_nq_ex`: `\n \r \t \v \b \\` by name, other
/// bytes below 0x20 or from 0x7f up as `\xhh` (lower-case hex), quotes kept.
pub fn log_escape_nq(input: &[u8]) -> String {
    escape(input, false)
}

/// Escapes like v2's `log_escape_ex`: as [`log_escape_nq`] and `"` becomes `\"`.
pub fn log_escape(input: &[u8]) -> String {
    escape(input, true)
}

/// v2's `log_escape_nq` on a C string: the text ends at the first NUL byte.
pub fn log_escape_nq_cstr(input: &[u8]) -> String {
    log_escape_nq(until_nul(input))
}

/// The part of `input` a C string function would see: up to the first NUL.
/// Searched with `memchr`: the multipart parser asks it of every line, and
/// a file's lines are long (the bench's 64 KiB upload: 1,192 → 1,061 k
/// instructions per exchange).
pub fn until_nul(input: &[u8]) -> &[u8] {
    match memchr::memchr(0, input) {
        Some(end) => input.get(..end).unwrap_or(input),
        None => input,
    }
}

fn escape(input: &[u8], quotes: bool) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(input.len());
    for &b in input {
        match b {
            b'"' if quotes => out.push_str("\\\""),
            0x08 => out.push_str("\\b"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x0b => out.push_str("\\v"),
            b'\\' => out.push_str("\\\\"),
            0..=0x1f | 0x7f..=0xff => {
                out.push_str("\\x");
                out.push(char::from(HEX[usize::from(b >> 4)]));
                out.push(char::from(HEX[usize::from(b & 0x0f)]));
            }
            _ => out.push(char::from(b)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_controls_and_high_bytes() {
        assert_eq!(
            log_escape_nq(b"a\r\n\t\\\"\x00\xff"),
            "a\\r\\n\\t\\\\\"\\x00\\xff"
        );
        assert_eq!(log_escape(b"\"q\""), "\\\"q\\\"");
        assert_eq!(log_escape_nq_cstr(b"ab\x00cd"), "ab");
    }

    #[test]
    fn a_c_string_ends_at_its_first_nul() {
        assert_eq!(until_nul(b""), b"");
        assert_eq!(until_nul(b"\0"), b"");
        assert_eq!(until_nul(b"line\r\n"), b"line\r\n");
        // Past memchr's vector width, and the first of several NULs.
        let long = [&[b'x'; 100][..], b"\0y\0"].concat();
        assert_eq!(until_nul(&long), &[b'x'; 100][..]);
    }
}
