//! Property tests: no operator panics on any value.

use proptest::prelude::*;

use super::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn operators_never_panic(value in proptest::collection::vec(any::<u8>(), 0..512),
                             word in proptest::collection::vec(any::<u8>(), 0..8),
                             spec in "[0-9, -]{0,20}") {
        let _ = detect_sqli::detect_sqli(&value);
        let _ = detect_xss::detect_xss(&value);
        let _ = contains_word::contains_word(&value, &word);
        let _ = numeric::atoi(&value);
        let _ = validate_url_encoding::validate(&value);
        let _ = validate_utf8_encoding::validate(&value);
        if let Ok(table) = validate_byte_range::parse_ranges(&spec) {
            prop_assert!(validate_byte_range::count_outside(&table, &value) <= value.len());
        }
    }

    #[test]
    fn utf8_validation_agrees_with_std_on_valid_text(s in any::<String>()) {
        // Anything Rust accepts as UTF-8 is valid for v2 as well.
        prop_assert!(validate_utf8_encoding::validate(s.as_bytes()).is_ok());
    }
}
