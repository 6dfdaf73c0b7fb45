//! `@validateUtf8Encoding`: matches on the first byte sequence that is not
//! well-formed UTF-8 by v2's rules (RFC 3629: no overlong forms, no
//! surrogates, nothing above U+10FFFF).

/// What is wrong with a sequence, in v2's categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Utf8ErrorKind {
    /// The value ends inside a multi-byte sequence.
    NotEnoughBytes,
    /// A lead byte that cannot start a sequence, or a bad continuation byte.
    InvalidByte,
    /// A character encoded with more bytes than needed.
    Overlong,
    /// A surrogate (U+D800–U+DFFF) or a lead byte above U+10FFFF (0xF5+).
    Restricted,
}

/// The first invalid sequence and where it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utf8Error {
    /// What is wrong.
    pub kind: Utf8ErrorKind,
    /// Byte offset of the sequence's first byte.
    pub offset: usize,
}

impl Utf8Error {
    /// What v2 writes before the variable name: `Invalid UTF-8 encoding:
    /// overlong character detected`.
    pub fn reason(&self) -> String {
        let what = match self.kind {
            Utf8ErrorKind::NotEnoughBytes => "not enough bytes in character",
            Utf8ErrorKind::InvalidByte => "invalid byte value in character",
            Utf8ErrorKind::Overlong => "overlong character detected",
            Utf8ErrorKind::Restricted => "use of restricted character",
        };
        format!("Invalid UTF-8 encoding: {what}")
    }

    /// What v2 writes after the variable name: `[offset "3"]`.
    pub fn detail(&self) -> String {
        format!("[offset \"{}\"]", self.offset)
    }

    /// v2's whole match message at `var_name`.
    pub fn message(&self, var_name: &str) -> String {
        format!("{} at {var_name}. {}", self.reason(), self.detail())
    }
}

/// Validates `value` sequence by sequence, as v2's `detect_utf8_character`.
pub fn validate(value: &[u8]) -> Result<(), Utf8Error> {
    // UTF-8 as the standard library checks it (RFC 3629) is valid by v2's
    // rules too, which also let 0xF4 through above U+10FFFF: most values
    // are ASCII or proper UTF-8, and the standard check runs many bytes
    // per step (a 4 KiB form, CRS 920250: a sixth of its checks' time).
    if std::str::from_utf8(value).is_ok() {
        return Ok(());
    }
    validate_each(value)
}

/// [`validate`] sequence by sequence.
fn validate_each(value: &[u8]) -> Result<(), Utf8Error> {
    let mut i = 0;
    while i < value.len() {
        let rest = value.get(i..).unwrap_or_default();
        match sequence(rest) {
            Ok(len) => i += len,
            Err(kind) => return Err(Utf8Error { kind, offset: i }),
        }
    }
    Ok(())
}

/// Length of the valid sequence at the start of `s` (non-empty).
fn sequence(s: &[u8]) -> Result<usize, Utf8ErrorKind> {
    let lead = s.first().copied().unwrap_or(0);
    let (len, initial) = match lead {
        0x00..=0x7f => return Ok(1),
        _ if lead & 0xe0 == 0xc0 => (2, u32::from(lead & 0x1f)),
        _ if lead & 0xf0 == 0xe0 => (3, u32::from(lead & 0x0f)),
        _ if lead & 0xf8 == 0xf0 => {
            if lead >= 0xf5 {
                return Err(Utf8ErrorKind::Restricted);
            }
            (4, u32::from(lead & 0x07))
        }
        _ => return Err(Utf8ErrorKind::InvalidByte),
    };
    if s.len() < len {
        return Err(Utf8ErrorKind::NotEnoughBytes);
    }
    let mut cp = initial;
    for &b in s.get(1..len).unwrap_or_default() {
        if b & 0xc0 != 0x80 {
            return Err(Utf8ErrorKind::InvalidByte);
        }
        cp = cp << 6 | u32::from(b & 0x3f);
    }
    if (0xd800..=0xdfff).contains(&cp) {
        return Err(Utf8ErrorKind::Restricted);
    }
    let min = match len {
        2 => 0x80,
        3 => 0x800,
        _ => 0x1_0000,
    };
    if cp < min {
        return Err(Utf8ErrorKind::Overlong);
    }
    Ok(len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(v: &[u8]) -> Option<(Utf8ErrorKind, usize)> {
        validate(v).err().map(|e| (e.kind, e.offset))
    }

    #[test]
    fn valid_text() {
        assert_eq!(validate("plain é € 😀".as_bytes()), Ok(()));
        assert_eq!(validate(b""), Ok(()));
        assert_eq!(validate("\u{10ffff}".as_bytes()), Ok(()));
    }

    #[test]
    fn v2_error_categories() {
        use Utf8ErrorKind::*;
        assert_eq!(kind(b"ab\xc3"), Some((NotEnoughBytes, 2)));
        assert_eq!(kind(b"\xe2\x82"), Some((NotEnoughBytes, 0)));
        assert_eq!(kind(b"\x80"), Some((InvalidByte, 0)));
        assert_eq!(kind(b"\xff"), Some((InvalidByte, 0)));
        assert_eq!(kind(b"\xc3\x28"), Some((InvalidByte, 0)));
        // CRS 920250 payloads: overlong encodings of '/' and '.'.
        assert_eq!(kind(b"\xc0\xaf"), Some((Overlong, 0)));
        assert_eq!(kind(b"\xe0\x80\xaf"), Some((Overlong, 0)));
        assert_eq!(kind(b"\xf0\x80\x80\xaf"), Some((Overlong, 0)));
        assert_eq!(kind(b"\xed\xa0\x80"), Some((Restricted, 0)));
        assert_eq!(kind(b"\xf5\x80\x80\x80"), Some((Restricted, 0)));
        // Restricted is reported before the length check for 0xF5+.
        assert_eq!(kind(b"\xf7"), Some((Restricted, 0)));
        assert_eq!(kind(b"\xf8"), Some((InvalidByte, 0)));
        assert_eq!(kind(b"\xf0\x90"), Some((NotEnoughBytes, 0)));
        // v2 lets 0xF4 through up to U+13FFFF.
        assert_eq!(kind(b"\xf4\x90\x80\x80"), None);
    }

    proptest::proptest! {
        #[test]
        fn the_standard_check_answers_as_v2_rules_do(
            value in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::num::u8::ANY,
                    proptest::sample::select(vec![b'a', 0x80, 0xbf, 0xc2, 0xe0, 0xed, 0xf0, 0xf4]),
                ],
                0..12,
            ),
        ) {
            proptest::prop_assert_eq!(validate(&value), validate_each(&value));
        }
    }

    #[test]
    fn message_text() {
        let e = Utf8Error {
            kind: Utf8ErrorKind::Overlong,
            offset: 3,
        };
        assert_eq!(
            e.message("ARGS:a"),
            "Invalid UTF-8 encoding: overlong character detected at ARGS:a. [offset \"3\"]"
        );
    }
}
