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

/// v2's match message for a fingerprint.
pub fn message(fingerprint: &str) -> String {
    format!("detected SQLi using libinjection with fingerprint '{fingerprint}'")
}

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
        assert_eq!(
            message("s&sos"),
            "detected SQLi using libinjection with fingerprint 's&sos'"
        );
    }
}

#[cfg(test)]
mod libinjection_fidelity;
