//! `@validateByteRange`: matches when the value holds a byte outside the
//! allowed set.

/// Parses v2's argument syntax (`"1-255"`, `"9,10,13,32-126"`) into an
/// allow table. v2 reads each piece with `atoi`, so `" 32 - 126"` works and
/// junk reads as 0; a value outside 0–255 or a reversed range is an error.
pub fn parse_ranges(spec: &str) -> Result<[bool; 256], String> {
    let mut table = [false; 256];
    for piece in spec.split(',').filter(|p| !p.is_empty()) {
        let (start, end) = match piece.split_once('-') {
            Some((a, b)) => (
                super::numeric::atoi(a.as_bytes()),
                super::numeric::atoi(b.as_bytes()),
            ),
            None => {
                let x = super::numeric::atoi(piece.as_bytes());
                (x, x)
            }
        };
        let start =
            u8::try_from(start).map_err(|_| format!("Invalid range start value: {start}"))?;
        let end = u8::try_from(end).map_err(|_| format!("Invalid range end value: {end}"))?;
        if start > end {
            return Err(format!("Invalid range: {start}-{end}"));
        }
        for b in start..=end {
            if let Some(slot) = table.get_mut(usize::from(b)) {
                *slot = true;
            }
        }
    }
    Ok(table)
}

/// The table of `1-255`.
const ALL_BUT_NUL: [bool; 256] = {
    let mut table = [true; 256];
    table[0] = false;
    table
};

/// How many bytes of `value` the table does not allow (0 = no match).
pub fn count_outside(allowed: &[bool; 256], value: &[u8]) -> usize {
    // CRS's 920270 (`1-255`, every request value at paranoia level 1)
    // forbids NUL alone: `memchr` counts those at vector speed, where the
    // table costs a lookup per byte.
    if allowed == &ALL_BUT_NUL {
        return memchr::memchr_iter(0, value).count();
    }
    count_by_table(allowed, value)
}

/// [`count_outside`] a byte at a time.
fn count_by_table(allowed: &[bool; 256], value: &[u8]) -> usize {
    value
        .iter()
        .filter(|&&b| !allowed.get(usize::from(b)).copied().unwrap_or(false))
        .count()
}

/// v2's match message.
pub fn message(count: usize, var_name: &str, spec: &str) -> String {
    format!("Found {count} byte(s) in {var_name} outside range: {spec}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_920270_range() {
        // CRS 920270 (PL1): @validateByteRange 1-255 — only NUL is outside.
        let t = parse_ranges("1-255").unwrap_or([false; 256]);
        assert_eq!(count_outside(&t, b"abc\xff"), 0);
        assert_eq!(count_outside(&t, b"a\x00b\x00"), 2);
    }

    proptest::proptest! {
        #[test]
        fn the_nul_search_counts_as_the_table_does(
            value in proptest::collection::vec(
                proptest::prop_oneof![proptest::num::u8::ANY, proptest::strategy::Just(0u8)],
                0..100,
            ),
        ) {
            proptest::prop_assert_eq!(
                count_outside(&ALL_BUT_NUL, &value),
                count_by_table(&ALL_BUT_NUL, &value)
            );
            proptest::prop_assert_eq!(
                count_outside(&ALL_BUT_NUL, &value),
                value.iter().filter(|&&b| b == 0).count()
            );
        }
    }

    #[test]
    fn crs_920272_list_of_ranges() {
        // CRS 920272 (PL3): 32-36,38-126.
        let t = parse_ranges("32-36,38-126").unwrap_or([false; 256]);
        assert_eq!(count_outside(&t, b"a b~"), 0);
        assert_eq!(count_outside(&t, b"a%b"), 1);
        assert_eq!(count_outside(&t, b"\x7f\x1f"), 2);
        assert_eq!(
            message(1, "ARGS:x", "32-36,38-126"),
            "Found 1 byte(s) in ARGS:x outside range: 32-36,38-126."
        );
    }

    #[test]
    fn single_values_and_errors() {
        let t = parse_ranges("9,10, 13 ,32-126").unwrap_or([false; 256]);
        assert!(t[9] && t[10] && t[13] && t[32] && t[126]);
        assert!(!t[11] && !t[127]);
        assert!(parse_ranges("300").is_err());
        assert!(parse_ranges("10-5").is_err());
        assert!(parse_ranges("-1").is_ok()); // atoi("") = 0 .. atoi("1") = 1
    }
}
