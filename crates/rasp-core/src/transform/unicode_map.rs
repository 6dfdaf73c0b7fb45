//! The `%uXXXX` best-fit table `t:urlDecodeUni` uses: code page 20127
//! (US-ASCII), as loaded by `SecUnicodeMapFile unicode.mapping 20127` — the
//! configuration the CRS CI runs ModSecurity v2 with (see
//! `../shared/crs/TESTING.md`, "SecUnicodeMapFile").
//!
//! How v2 builds its table: every code point starts unmapped; four
//! IDN dot-likes (RFC 3490 §3.1: U+002E, U+3002, U+FF0E, U+FF61) are preset
//! to `.`; then the `20127` section of `unicode.mapping` (the Microsoft
//! "best fit" data for US-ASCII) fills in the rest. A `%uXXXX` whose code
//! point is mapped decodes to the mapped byte; an unmapped one falls back to
//! the low byte of the code point, with the full-width rule (see
//! [`super::url_decode`]).
//!
//! The data below is that section: 280 explicit entries (sorted, searched
//! by binary search) plus the full-width ASCII block U+FF01..U+FF5E, which
//! maps arithmetically to U+0021..U+007E. The file leaves U+FF1F (`？`) out,
//! but the low-byte fallback turns it into `?` as well, so the arithmetic
//! rule covers the whole block with the same result.

/// Mapped byte for `code` under code page 20127, `None` when unmapped.
pub(super) fn best_fit_20127(code: u16) -> Option<u8> {
    if (0xff01..=0xff5e).contains(&code) {
        // Full-width ASCII: U+FF01..U+FF5E is U+0021..U+007E shifted.
        return u8::try_from(code - 0xfee0).ok();
    }
    TABLE
        .binary_search_by_key(&code, |&(c, _)| c)
        .ok()
        .and_then(|i| TABLE.get(i))
        .map(|&(_, b)| b)
}

/// Code page 20127 best-fit entries outside U+FF01..U+FF5E, sorted by code
/// point.
#[rustfmt::skip]
static TABLE: [(u16, u8); 280] = [
    (0x002e, b'.'), (0x00a0, b' '), (0x00a1, b'!'), (0x00a2, b'c'), (0x00a4, b'$'), (0x00a5, b'Y'),
    (0x00a6, b'|'), (0x00a9, b'C'), (0x00aa, b'a'), (0x00ab, b'<'), (0x00ad, b'-'), (0x00ae, b'R'),
    (0x00b2, b'2'), (0x00b3, b'3'), (0x00b7, b'.'), (0x00b8, b','), (0x00b9, b'1'), (0x00ba, b'o'),
    (0x00bb, b'>'), (0x00c0, b'A'), (0x00c1, b'A'), (0x00c2, b'A'), (0x00c3, b'A'), (0x00c4, b'A'),
    (0x00c5, b'A'), (0x00c6, b'A'), (0x00c7, b'C'), (0x00c8, b'E'), (0x00c9, b'E'), (0x00ca, b'E'),
    (0x00cb, b'E'), (0x00cc, b'I'), (0x00cd, b'I'), (0x00ce, b'I'), (0x00cf, b'I'), (0x00d0, b'D'),
    (0x00d1, b'N'), (0x00d2, b'O'), (0x00d3, b'O'), (0x00d4, b'O'), (0x00d5, b'O'), (0x00d6, b'O'),
    (0x00d8, b'O'), (0x00d9, b'U'), (0x00da, b'U'), (0x00db, b'U'), (0x00dc, b'U'), (0x00dd, b'Y'),
    (0x00e0, b'a'), (0x00e1, b'a'), (0x00e2, b'a'), (0x00e3, b'a'), (0x00e4, b'a'), (0x00e5, b'a'),
    (0x00e6, b'a'), (0x00e7, b'c'), (0x00e8, b'e'), (0x00e9, b'e'), (0x00ea, b'e'), (0x00eb, b'e'),
    (0x00ec, b'i'), (0x00ed, b'i'), (0x00ee, b'i'), (0x00ef, b'i'), (0x00f1, b'n'), (0x00f2, b'o'),
    (0x00f3, b'o'), (0x00f4, b'o'), (0x00f5, b'o'), (0x00f6, b'o'), (0x00f8, b'o'), (0x00f9, b'u'),
    (0x00fa, b'u'), (0x00fb, b'u'), (0x00fc, b'u'), (0x00fd, b'y'), (0x00ff, b'y'), (0x0100, b'A'),
    (0x0101, b'a'), (0x0102, b'A'), (0x0103, b'a'), (0x0104, b'A'), (0x0105, b'a'), (0x0106, b'C'),
    (0x0107, b'c'), (0x0108, b'C'), (0x0109, b'c'), (0x010a, b'C'), (0x010b, b'c'), (0x010c, b'C'),
    (0x010d, b'c'), (0x010e, b'D'), (0x010f, b'd'), (0x0110, b'D'), (0x0111, b'd'), (0x0112, b'E'),
    (0x0113, b'e'), (0x0114, b'E'), (0x0115, b'e'), (0x0116, b'E'), (0x0117, b'e'), (0x0118, b'E'),
    (0x0119, b'e'), (0x011a, b'E'), (0x011b, b'e'), (0x011c, b'G'), (0x011d, b'g'), (0x011e, b'G'),
    (0x011f, b'g'), (0x0120, b'G'), (0x0121, b'g'), (0x0122, b'G'), (0x0123, b'g'), (0x0124, b'H'),
    (0x0125, b'h'), (0x0126, b'H'), (0x0127, b'h'), (0x0128, b'I'), (0x0129, b'i'), (0x012a, b'I'),
    (0x012b, b'i'), (0x012c, b'I'), (0x012d, b'i'), (0x012e, b'I'), (0x012f, b'i'), (0x0130, b'I'),
    (0x0131, b'i'), (0x0134, b'J'), (0x0135, b'j'), (0x0136, b'K'), (0x0137, b'k'), (0x0139, b'L'),
    (0x013a, b'l'), (0x013b, b'L'), (0x013c, b'l'), (0x013d, b'L'), (0x013e, b'l'), (0x0141, b'L'),
    (0x0142, b'l'), (0x0143, b'N'), (0x0144, b'n'), (0x0145, b'N'), (0x0146, b'n'), (0x0147, b'N'),
    (0x0148, b'n'), (0x014c, b'O'), (0x014d, b'o'), (0x014e, b'O'), (0x014f, b'o'), (0x0150, b'O'),
    (0x0151, b'o'), (0x0152, b'O'), (0x0153, b'o'), (0x0154, b'R'), (0x0155, b'r'), (0x0156, b'R'),
    (0x0157, b'r'), (0x0158, b'R'), (0x0159, b'r'), (0x015a, b'S'), (0x015b, b's'), (0x015c, b'S'),
    (0x015d, b's'), (0x015e, b'S'), (0x015f, b's'), (0x0160, b'S'), (0x0161, b's'), (0x0162, b'T'),
    (0x0163, b't'), (0x0164, b'T'), (0x0165, b't'), (0x0166, b'T'), (0x0167, b't'), (0x0168, b'U'),
    (0x0169, b'u'), (0x016a, b'U'), (0x016b, b'u'), (0x016c, b'U'), (0x016d, b'u'), (0x016e, b'U'),
    (0x016f, b'u'), (0x0170, b'U'), (0x0171, b'u'), (0x0172, b'U'), (0x0173, b'u'), (0x0174, b'W'),
    (0x0175, b'w'), (0x0176, b'Y'), (0x0177, b'y'), (0x0178, b'Y'), (0x0179, b'Z'), (0x017b, b'Z'),
    (0x017c, b'z'), (0x017d, b'Z'), (0x017e, b'z'), (0x0180, b'b'), (0x0189, b'D'), (0x0191, b'F'),
    (0x0192, b'f'), (0x0197, b'I'), (0x019a, b'l'), (0x019f, b'O'), (0x01a0, b'O'), (0x01a1, b'o'),
    (0x01ab, b't'), (0x01ae, b'T'), (0x01af, b'U'), (0x01b0, b'u'), (0x01b6, b'z'), (0x01cd, b'A'),
    (0x01ce, b'a'), (0x01cf, b'I'), (0x01d0, b'i'), (0x01d1, b'O'), (0x01d2, b'o'), (0x01d3, b'U'),
    (0x01d4, b'u'), (0x01d5, b'U'), (0x01d6, b'u'), (0x01d7, b'U'), (0x01d8, b'u'), (0x01d9, b'U'),
    (0x01da, b'u'), (0x01db, b'U'), (0x01dc, b'u'), (0x01de, b'A'), (0x01df, b'a'), (0x01e4, b'G'),
    (0x01e5, b'g'), (0x01e6, b'G'), (0x01e7, b'g'), (0x01e8, b'K'), (0x01e9, b'k'), (0x01ea, b'O'),
    (0x01eb, b'o'), (0x01ec, b'O'), (0x01ed, b'o'), (0x01f0, b'j'), (0x0261, b'g'), (0x02b9, b'\''),
    (0x02ba, b'"'), (0x02bc, b'\''), (0x02c4, b'^'), (0x02c6, b'^'), (0x02c8, b'\''), (0x02cb, b'`'),
    (0x02cd, b'_'), (0x02dc, b'~'), (0x0300, b'`'), (0x0302, b'^'), (0x0303, b'~'), (0x030e, b'"'),
    (0x0331, b'_'), (0x0332, b'_'), (0x2000, b' '), (0x2001, b' '), (0x2002, b' '), (0x2003, b' '),
    (0x2004, b' '), (0x2005, b' '), (0x2006, b' '), (0x2010, b'-'), (0x2011, b'-'), (0x2013, b'-'),
    (0x2014, b'-'), (0x2018, b'\''), (0x2019, b'\''), (0x201a, b','), (0x201c, b'"'), (0x201d, b'"'),
    (0x201e, b'"'), (0x2022, b'.'), (0x2026, b'.'), (0x2032, b'\''), (0x2035, b'`'), (0x2039, b'<'),
    (0x203a, b'>'), (0x2122, b'T'), (0x3002, b'.'), (0xff61, b'.'),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_ascii() {
        assert!(TABLE.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        assert!(TABLE.iter().all(|&(_, b)| b.is_ascii()));
    }

    #[test]
    fn samples() {
        assert_eq!(best_fit_20127(0x00e9), Some(b'e'));
        assert_eq!(best_fit_20127(0x2018), Some(b'\''));
        assert_eq!(best_fit_20127(0x3002), Some(b'.'));
        assert_eq!(best_fit_20127(0xff61), Some(b'.'));
        assert_eq!(best_fit_20127(0xff1c), Some(b'<'));
        assert_eq!(best_fit_20127(0xff5e), Some(b'~'));
        assert_eq!(best_fit_20127(0x0041), None);
        assert_eq!(best_fit_20127(0xff00), None);
        assert_eq!(best_fit_20127(0xff5f), None);
        assert_eq!(best_fit_20127(0x1100), None);
    }
}
