//! `@detectXSS`: libinjection's XSS detector (HTML5 tokenizer in several
//! contexts plus blacklists), via the pure-Rust `libinjectionrs` port.

/// Runs libinjection's XSS detection. On a match v2 stores the whole value
/// as `TX.0` when the rule captures.
pub fn detect_xss(value: &[u8]) -> bool {
    libinjectionrs::detect_xss(value).is_injection()
}

/// v2's match message.
pub const MESSAGE: &str = "detected XSS using libinjection.";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_941100_payloads() {
        assert!(detect_xss(b"<script>alert(1)</script>"));
        assert!(detect_xss(b"<img src=x onerror=alert(1)>"));
        assert!(detect_xss(b"\"><svg/onload=alert(1)>"));
        assert!(!detect_xss(b"hello world"));
        assert!(!detect_xss(b"a < b and c > d"));
        assert!(!detect_xss(b""));
    }
}
