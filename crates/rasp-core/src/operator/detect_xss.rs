//! `@detectXSS`: libinjection's XSS detector (HTML5 tokenizer in several
//! contexts plus blacklists), via the pure-Rust `libinjectionrs` port.

/// Runs libinjection's XSS detection. On a match v2 stores the whole value
/// as `TX.0` when the rule captures.
pub fn detect_xss(value: &[u8]) -> bool {
    // libinjection flags a value only on a tag, doctype or comment token
    // (which its HTML5 tokenizer starts at a `<`) or on an attribute value
    // after a suspicious attribute name (which it starts only after an
    // `=`; the value the contexts begin in follows no name). Without either
    // byte its five tokenizer passes cannot say yes: one memchr answers
    // for the common case of prose, which costs the passes ~5 ns a byte.
    if memchr::memchr2(b'<', b'=', value).is_none() {
        return false;
    }
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

    /// The shortcut agrees with the full detector on every string of up to
    /// five bytes over characters its tokenizer treats specially (but `<`
    /// and `=`), and on attack fragments without them.
    #[test]
    fn no_lt_or_equals_is_never_xss() {
        const ALPHABET: &[u8] = b"aojS:/ \"'`>!-?&#;(\\\t\x00\x0b%";
        fn rec(buf: &mut Vec<u8>, n: &mut usize) {
            *n += 1;
            assert!(
                !libinjectionrs::detect_xss(buf).is_injection(),
                "libinjection flags {buf:?} without < or ="
            );
            if buf.len() == 5 {
                return;
            }
            for &b in ALPHABET {
                buf.push(b);
                rec(buf, n);
                buf.pop();
            }
        }
        let mut n = 0;
        rec(&mut Vec::new(), &mut n);
        assert!(n > 3_000_000);
        for fragment in [
            "javascript:alert(document.cookie)",
            "\" onmouseover alert(1) x",
            "' onerror 'alert(1)",
            "` onload `",
            "style expression(alert(1))",
            "vbscript:msgbox(1)",
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg",
            "--!> ]]> &#x3C;script&#x3E;",
        ] {
            assert!(
                !libinjectionrs::detect_xss(fragment.as_bytes()).is_injection(),
                "{fragment}"
            );
            assert!(!detect_xss(fragment.as_bytes()));
        }
    }
}
