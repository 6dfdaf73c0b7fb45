//! `@validateUrlEncoding`: matches when a `%` is not followed by two hex
//! digits.

/// Why a value's URL encoding is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UrlEncodingError {
    /// `%` followed by a non-hex character.
    NonHexDigits,
    /// `%` with fewer than two characters after it.
    NotEnoughCharacters,
}

impl UrlEncodingError {
    /// What is wrong, as v2's message says it before the variable name.
    pub fn reason(self) -> &'static str {
        match self {
            UrlEncodingError::NonHexDigits => "Invalid URL Encoding: Non-hexadecimal digits used",
            UrlEncodingError::NotEnoughCharacters => {
                "Invalid URL Encoding: Not enough characters at the end of input"
            }
        }
    }

    /// v2's match message for this error at `var_name`.
    pub fn message(self, var_name: &str) -> String {
        format!("{} at {var_name}.", self.reason())
    }
}

/// Checks every `%` escape, stopping at the first bad one, as v2 does.
pub fn validate(value: &[u8]) -> Result<(), UrlEncodingError> {
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if b != b'%' {
            i += 1;
            continue;
        }
        match (value.get(i + 1), value.get(i + 2)) {
            (Some(h), Some(l)) if h.is_ascii_hexdigit() && l.is_ascii_hexdigit() => i += 3,
            (Some(_), Some(_)) => return Err(UrlEncodingError::NonHexDigits),
            _ => return Err(UrlEncodingError::NotEnoughCharacters),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid() {
        assert_eq!(validate(b"a%20b%7e%7E"), Ok(()));
        assert_eq!(validate(b""), Ok(()));
        assert_eq!(validate(b"%zz"), Err(UrlEncodingError::NonHexDigits));
        assert_eq!(validate(b"%0g"), Err(UrlEncodingError::NonHexDigits));
        assert_eq!(
            validate(b"abc%4"),
            Err(UrlEncodingError::NotEnoughCharacters)
        );
        assert_eq!(validate(b"%"), Err(UrlEncodingError::NotEnoughCharacters));
        // CRS 920220-style payload: %u is not a valid %hh escape.
        assert_eq!(validate(b"/%u0041"), Err(UrlEncodingError::NonHexDigits));
        assert_eq!(
            UrlEncodingError::NonHexDigits.message("REQUEST_URI"),
            "Invalid URL Encoding: Non-hexadecimal digits used at REQUEST_URI."
        );
    }
}
