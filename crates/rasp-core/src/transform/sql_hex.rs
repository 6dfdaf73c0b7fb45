//! `t:sqlHexDecode`: decodes SQL hex literals (`0x414243` → `ABC`).
//!
//! ModSecurity v2 works on a C string here, which shows in the result:
//!
//! - the input ends at its first NUL byte, and the output at the first NUL
//!   it decodes (`0x410042` → `A`);
//! - `0x`/`0X` needs at least two hex digits after it, otherwise it is
//!   copied; then digits are decoded in pairs while two are available, and
//!   the byte after the run is copied without being examined (so in
//!   `0x410x42` the second literal is not decoded: `A0x42`).

use std::borrow::Cow;

use super::hex::{is_hex, pair};
use super::writer::CowWriter;

/// `t:sqlHexDecode`.
pub(super) fn sql_hex_decode(input: &[u8]) -> Cow<'_, [u8]> {
    let s = match input.iter().position(|&b| b == 0) {
        Some(nul) => input.get(..nul).unwrap_or_default(),
        None => input,
    };
    let mut out = CowWriter::new(s);
    let hex_at = |k: usize| s.get(k).copied().is_some_and(is_hex);
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        let literal = c == b'0' && matches!(s.get(i + 1), Some(b'x' | b'X'));
        if !(literal && hex_at(i + 2) && hex_at(i + 3)) {
            out.push(c);
            i += 1;
            continue;
        }
        let mut j = i + 2;
        while let (Some(&h), Some(&l)) = (s.get(j), s.get(j + 1)) {
            if !(is_hex(h) && is_hex(l)) {
                break;
            }
            let b = pair(h, l);
            if b == 0 {
                // v2's result is a C string: it ends here.
                return out.finish();
            }
            out.push(b);
            j += 2;
        }
        // v2 copies the byte after the run unexamined.
        if let Some(&next) = s.get(j) {
            out.push(next);
        }
        i = j + 1;
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dec(input: &[u8]) -> Vec<u8> {
        sql_hex_decode(input).into_owned()
    }

    #[test]
    fn unchanged() {
        assert!(matches!(
            sql_hex_decode(b"select 1"),
            Cow::Borrowed(b"select 1")
        ));
        assert_eq!(dec(b"0x"), b"0x");
        assert_eq!(dec(b"0x4"), b"0x4");
        assert_eq!(dec(b"0xg1"), b"0xg1");
        assert_eq!(dec(b"00"), b"00");
    }

    #[test]
    fn decodes_literals() {
        assert_eq!(dec(b"0x414243"), b"ABC");
        assert_eq!(dec(b"SELECT 0X41, 0x6162"), b"SELECT A, ab");
        assert_eq!(dec(b"00x41"), b"0A");
        assert_eq!(dec(b"0x414"), b"A4");
    }

    #[test]
    fn byte_after_run_is_not_examined() {
        assert_eq!(dec(b"0x410x42"), b"A0x42");
        assert_eq!(dec(b"0x41 0x42"), b"A B");
    }

    #[test]
    fn c_string_semantics() {
        assert_eq!(dec(b"0x410042"), b"A");
        assert_eq!(dec(b"ab\0cd0x41"), b"ab");
    }
}
