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
/// another token, no quote that would start a string) or one number (digits
/// only). The only one-token fingerprint on libinjection's list is `X` (an
/// "evil" token, never a word or a number), and without a quote it tries no
/// other context, so such a value is never SQLi. Most names, identifiers
/// and small numbers in requests are one token; the detector spends
/// ~100 ns on each.
fn one_token(value: &[u8]) -> bool {
    match value.split_first() {
        Some((first, rest)) if first.is_ascii_alphabetic() || *first == b'_' => {
            rest.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        }
        Some(_) => value.iter().all(u8::is_ascii_digit),
        None => false,
    }
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
        ];
        let more = [
            &b""[..],
            b"1a",
            b"0x1f",
            b"a b",
            b"a.b",
            b"a-b",
            b"a'",
            b"1e5",
            b"\xe9t",
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

        /// Mixed values keep going to libinjection.
        #[test]
        fn others_go_to_libinjection(v in "[0-9][A-Za-z ]{1,20}|[A-Za-z]{1,8}[ '.@-][A-Za-z0-9]{0,8}") {
            prop_assert!(!one_token(v.as_bytes()));
        }
    }
}

#[cfg(test)]
mod libinjection_fidelity;
