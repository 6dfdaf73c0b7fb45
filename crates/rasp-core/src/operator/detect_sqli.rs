//! `@detectSQLi`: libinjection's SQL injection detector.
//!
//! Uses `libinjectionrs`, a pure-Rust port of libinjection (the C-binding
//! crates clone git at build time and cannot build offline). Its fidelity
//! to the C library is checked in `libinjection_fidelity` below on
//! libinjection's own test data.

/// Runs libinjection's SQLi detection; on a match returns the token
/// fingerprint (e.g. `s&sos`), which v2 stores as `TX.0` when the rule
/// captures and shows in the message.
pub fn detect_sqli(value: &[u8]) -> Option<String> {
    if one_token(value) {
        return None;
    }
    libinjection(value)
}

/// [`detect_sqli`] without the one-token shortcut (for callers that tried
/// it already).
fn libinjection(value: &[u8]) -> Option<String> {
    let result = libinjectionrs::detect_sqli(value);
    if !result.is_injection() {
        return None;
    }
    Some(
        result
            .fingerprint
            .map(|fp| fp.as_str().to_owned())
            .unwrap_or_default(),
    )
}

/// Whether libinjection reads `value` as a single token: one word (a letter
/// or `_`, then letters, digits and `_`: no byte that ends a word or starts
/// another token, no quote that would start a string), one dotted word (see
/// [`dotted_word`]) or one number (digits, or digits, a dot and digits).
/// The only one-token fingerprint on libinjection's list is `X` (an "evil"
/// token, never a word or a number), and without a quote it tries no other
/// context, so such a value is never SQLi. Most names, identifiers and
/// small numbers in requests are one token; the detector spends ~100 ns on
/// each.
fn one_token(value: &[u8]) -> bool {
    let Some(&first) = value.first() else {
        return false;
    };
    if first.is_ascii_digit() {
        let int = value
            .iter()
            .position(|b| !b.is_ascii_digit())
            .unwrap_or(value.len());
        // A decimal: libinjection's number takes digits, one dot and more
        // digits (`89.9`, the prices of JSON APIs).
        return match value.get(int..) {
            Some([]) => true,
            Some([b'.', frac @ ..]) => !frac.is_empty() && frac.iter().all(u8::is_ascii_digit),
            _ => false,
        };
    }
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return false;
    }
    let mut dots = false;
    for &b in value {
        if b == b'.' {
            dots = true;
        } else if !(b.is_ascii_alphanumeric() || b == b'_') {
            return false;
        }
    }
    !dots || dotted_word(value)
}

/// Whether libinjection reads `word` (letters, digits, `_` and dots, not
/// starting with a dot or digit) as one token. Its word token holds dots
/// (`.` ends no word): it splits a word at a dot only where the part
/// before it is a keyword of a type other than a bare word (`select.x`;
/// `dbms_lock.sleep` stays whole), so such a word whose every part before
/// a dot is not such a keyword is one token. JSON bodies name their
/// arguments with dots (`items.items.sku`), and CRS's 942100 checks every
/// name. Words as long as C's token buffer (32 bytes) or longer are left to
/// libinjection: C looks for the dots in its truncated copy of the word.
fn dotted_word(word: &[u8]) -> bool {
    use libinjectionrs::sqli::sqli_data::lookup_word_listed_bytes;
    use libinjectionrs::sqli::TokenType;
    const TOKEN_SIZE: usize = 32;
    word.len() < TOKEN_SIZE
        && word.iter().enumerate().all(|(i, &b)| {
            b != b'.'
                || word
                    .get(..i)
                    .and_then(lookup_word_listed_bytes)
                    .is_none_or(|t| t == TokenType::Bareword)
        })
}

/// v2's match message for a fingerprint.
pub fn message(fingerprint: &str) -> String {
    format!("detected SQLi using libinjection with fingerprint '{fingerprint}'")
}

pub(crate) mod memo;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_942100_payloads() {
        // From CRS 942100 regression tests (ARGS values after decoding).
        assert_eq!(detect_sqli(b"1' OR '1'='1").as_deref(), Some("s&sos"));
        assert!(detect_sqli(b"1 UNION SELECT password FROM users").is_some());
        assert!(detect_sqli(b"' or 1=1 -- ").is_some());
        assert!(detect_sqli(b"hello world").is_none());
        assert!(detect_sqli(b"").is_none());
        assert!(detect_sqli(b"1 union select 2").is_some());
        assert_eq!(
            message("s&sos"),
            "detected SQLi using libinjection with fingerprint 's&sos'"
        );
    }
}

#[cfg(test)]
mod one_token_tests {
    use super::*;
    use proptest::prelude::*;

    /// Keywords of every libinjection type a word can take (operators,
    /// unions, functions, the `X`-prefixed string starters).
    const WORDS: &[&str] = &[
        "union",
        "UNION",
        "select",
        "or",
        "and",
        "xor",
        "div",
        "mod",
        "like",
        "sleep",
        "benchmark",
        "char",
        "null",
        "true",
        "waitfor",
        "having",
        "order",
        "limit",
        "information_schema",
        "version",
        "x",
        "b",
        "e",
        "n",
        "q",
        "u",
        "N",
        "X",
        "_",
        "utl_inaddr",
        "sp_password",
        "pg_sleep",
        "load_file",
        "outfile",
    ];

    #[test]
    fn one_token_shapes() {
        let one = [
            &b"sport"[..],
            b"price_asc",
            b"_x1",
            b"44",
            b"0",
            b"Q",
            b"a1b2",
            b"a.b",
            b"items.items.sku",
            b"sys.fn_my_permissions",
            b"a..b.",
            b"89.9",
            b"0.5",
        ];
        let more = [
            &b""[..],
            b"1a",
            b"0x1f",
            b"a b",
            b"a-b",
            b"a'",
            b"1e5",
            b"\xe9t",
            // Split at the dot: the part before it is a keyword.
            b"select.x",
            b"union.all",
            b"or.b",
            // Longer than C's token buffer.
            b"abcdefghij.abcdefghij.abcdefghij",
            b"1.",
            b".5",
            b"1.2.3",
            b"1.5e3",
        ];
        for (values, want) in [(&one[..], true), (&more[..], false)] {
            for v in values {
                assert_eq!(one_token(v), want, "{}", String::from_utf8_lossy(v));
            }
        }
    }

    #[test]
    fn keywords_alone_are_not_sqli() {
        for w in WORDS {
            assert!(one_token(w.as_bytes()), "{w}");
            assert!(
                !libinjectionrs::detect_sqli(w.as_bytes()).is_injection(),
                "{w}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        /// libinjection agrees on the values the shortcut answers.
        #[test]
        fn one_word_or_number_is_never_sqli(v in "[A-Za-z_][A-Za-z0-9_]{0,40}|[0-9]{1,40}") {
            prop_assert!(one_token(v.as_bytes()));
            prop_assert!(!libinjectionrs::detect_sqli(v.as_bytes()).is_injection());
        }

        /// Nor on the dotted words and decimals it answers (words of
        /// every keyword type joined by dots or other separators, which
        /// make SQLi of some: `n&n` for `x or x`; and random ones).
        #[test]
        fn dotted_words_and_decimals_are_never_sqli(
            v in prop_oneof![
                (
                    prop::collection::vec(prop::sample::select(WORDS), 1..5),
                    prop::sample::select(&[".", " ", "'", "-", "1."][..]),
                )
                    .prop_map(|(w, sep)| w.join(sep)),
                "[A-Za-z_][A-Za-z0-9_.]{0,40}",
                "[0-9]{1,20}[.][0-9]{1,20}",
            ]
        ) {
            if one_token(v.as_bytes()) {
                prop_assert!(!libinjectionrs::detect_sqli(v.as_bytes()).is_injection(), "{}", v);
            }
        }

        /// Mixed values keep going to libinjection.
        #[test]
        fn others_go_to_libinjection(v in "[0-9][A-Za-z ]{1,20}|[A-Za-z]{1,8}[ '@-][A-Za-z0-9]{0,8}") {
            prop_assert!(!one_token(v.as_bytes()));
        }
    }
}

#[cfg(test)]
mod libinjection_fidelity;
