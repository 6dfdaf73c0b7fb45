//! The string → number conversion v2's numeric operators (`@eq`, `@ge`,
//! `@gt`, `@le`, `@lt`) apply to both the value and the argument.
//!
//! v2 calls C `atoi` and compares `int`s. With glibc that is `strtol`
//! narrowed to 32 bits: leading whitespace and one sign are accepted, digits
//! are read up to the first non-digit, no digits gives 0, a value outside
//! the `long` range saturates and the result then wraps to 32 bits.
//! The value is copied as a C string first, so a NUL byte ends it.

use crs_compiler::ir::macros::MacroString;
use crs_compiler::ir::operator::OperatorKind;

/// C `atoi` as glibc on a 64-bit system computes it.
// Inlined with its short cases into the TX comparisons of the rule loop
// (about 165 per benign GET), the general walk out of line.
#[inline]
pub fn atoi(value: &[u8]) -> i32 {
    // Most values compared are one or two plain digits (CRS's paranoia
    // levels, flags and scores, about 175 comparisons per request): the
    // general walk below took about 29 instructions for each.
    match *value {
        [d @ b'0'..=b'9'] => return i32::from(d - b'0'),
        [t @ b'0'..=b'9', d @ b'0'..=b'9'] => {
            return i32::from(t - b'0') * 10 + i32::from(d - b'0');
        }
        _ => {}
    }
    atoi_walk(value)
}

/// [`atoi`]'s general case.
#[inline(never)]
fn atoi_walk(value: &[u8]) -> i32 {
    let mut bytes = value.iter().copied().take_while(|&b| b != 0).peekable();
    while bytes
        .next_if(|&b| matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
        .is_some()
    {}
    let negative = match bytes.next_if(|&b| b == b'+' || b == b'-') {
        Some(sign) => sign == b'-',
        None => false,
    };
    // Accumulate as a negative number so i64::MIN stays representable,
    // like strtol does.
    let mut n: i64 = 0;
    let mut overflow = false;
    while let Some(d) = bytes.next_if(u8::is_ascii_digit) {
        let digit = i64::from(d - b'0');
        match n.checked_mul(10).and_then(|m| m.checked_sub(digit)) {
            Some(m) => n = m,
            None => overflow = true,
        }
    }
    let long = if overflow {
        if negative {
            i64::MIN
        } else {
            i64::MAX
        }
    } else if negative {
        n
    } else {
        n.checked_neg().unwrap_or(i64::MAX)
    };
    // The narrowing to int keeps the low 32 bits.
    long as i32
}

/// One of v2's numeric comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `@eq`.
    Eq,
    /// `@ge`.
    Ge,
    /// `@gt`.
    Gt,
    /// `@le`.
    Le,
    /// `@lt`.
    Lt,
}

impl Comparison {
    /// The comparison of a numeric operator (`@eq` … `@lt`) and its
    /// argument; `None` for any other operator.
    pub fn of(kind: &OperatorKind) -> Option<(Comparison, &MacroString)> {
        match kind {
            OperatorKind::Eq(m) => Some((Comparison::Eq, m)),
            OperatorKind::Ge(m) => Some((Comparison::Ge, m)),
            OperatorKind::Gt(m) => Some((Comparison::Gt, m)),
            OperatorKind::Le(m) => Some((Comparison::Le, m)),
            OperatorKind::Lt(m) => Some((Comparison::Lt, m)),
            _ => None,
        }
    }

    /// Compares `atoi(value)` with `atoi(argument)`.
    pub fn matches(self, value: &[u8], argument: &[u8]) -> bool {
        self.holds(atoi(value), atoi(argument))
    }

    /// Compares two numbers already converted.
    pub fn holds(self, left: i32, right: i32) -> bool {
        match self {
            Comparison::Eq => left == right,
            Comparison::Ge => left >= right,
            Comparison::Gt => left > right,
            Comparison::Le => left <= right,
            Comparison::Lt => left < right,
        }
    }

    /// The name v2's messages use (`GE`).
    pub fn name(self) -> &'static str {
        match self {
            Comparison::Eq => "EQ",
            Comparison::Ge => "GE",
            Comparison::Gt => "GT",
            Comparison::Le => "LE",
            Comparison::Lt => "LT",
        }
    }

    /// v2's match message, e.g. `Operator GE matched 5 at ARGS:x.`
    pub fn message(self, argument: &[u8], var_name: &str) -> String {
        format!(
            "Operator {} matched {} at {var_name}.",
            self.name(),
            atoi(argument)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_like_c() {
        assert_eq!(atoi(b"42"), 42);
        assert_eq!(atoi(b"  \t\n-17xyz"), -17);
        assert_eq!(atoi(b"+5"), 5);
        assert_eq!(atoi(b""), 0);
        assert_eq!(atoi(b"abc"), 0);
        assert_eq!(atoi(b"- 5"), 0);
        assert_eq!(atoi(b"--5"), 0);
        assert_eq!(atoi(b"1.9"), 1);
        assert_eq!(atoi(b"12\x0034"), 12);
        assert_eq!(atoi(b"007"), 7);
    }

    #[test]
    fn atoi_of_short_digit_strings_is_the_general_walks() {
        for n in 0..100 {
            for text in [format!("{n}"), format!("{n:02}")] {
                assert_eq!(atoi(text.as_bytes()), atoi_walk(text.as_bytes()), "{text}");
                assert_eq!(atoi(text.as_bytes()), n);
            }
        }
        for text in [
            &b"-1"[..],
            b"+1",
            b" 1",
            b"1 ",
            b"1x",
            b"x1",
            b"\x001",
            b"1\x00",
        ] {
            assert_eq!(atoi(text), atoi_walk(text), "{text:?}");
        }
    }

    #[test]
    fn atoi_wraps_like_glibc() {
        assert_eq!(atoi(b"2147483647"), i32::MAX);
        assert_eq!(atoi(b"2147483648"), i32::MIN);
        assert_eq!(atoi(b"4294967296"), 0);
        // Past the long range strtol saturates, then the low bits remain.
        assert_eq!(atoi(b"99999999999999999999"), -1);
        assert_eq!(atoi(b"-99999999999999999999"), 0);
    }

    #[test]
    fn comparisons() {
        assert!(Comparison::Ge.matches(b"1000", b"1000"));
        assert!(!Comparison::Gt.matches(b"1000", b"1000"));
        assert!(Comparison::Eq.matches(b"", b"0"));
        assert!(Comparison::Lt.matches(b"-1", b"0"));
        assert!(Comparison::Le.matches(b"x", b"0"));
        assert_eq!(
            Comparison::Eq.message(b"0", "REQBODY_ERROR"),
            "Operator EQ matched 0 at REQBODY_ERROR."
        );
    }
}
