//! The bytes a match of a set can start with, when there are few.
//!
//! Why: CRS's request-header set checks every header name and value for
//! line breaks (`[\n\r]`, 921140 and 921160) and a Shellshock prefix
//! (`^\(`, 932170). No match can start anywhere but at one of three bytes,
//! so a value without them cannot match, which `memchr3` tells several
//! times faster than a walk through the set's automaton.
//!
//! A pattern that can match the empty string gives no such bytes: it
//! matches every value.

use regex_syntax::hir::{Class, Hir, HirKind};

/// The first bytes a match of any of the patterns can consume: `Some` with
/// up to three bytes when that is all of them, `None` when there are more
/// or a pattern can match the empty string.
pub(crate) fn start_bytes(patterns: &[Hir]) -> Option<Vec<u8>> {
    let mut all = [false; 256];
    for hir in patterns {
        let (first, nullable) = first_bytes(hir)?;
        if nullable {
            return None;
        }
        add(&mut all, &first);
    }
    let bytes: Vec<u8> = (0..=255u8).filter(|&b| all[usize::from(b)]).collect();
    (bytes.len() <= 3).then_some(bytes)
}

/// Adds the bytes of `from` to `into`.
fn add(into: &mut [bool; 256], from: &[bool; 256]) {
    for (slot, f) in into.iter_mut().zip(from) {
        *slot |= f;
    }
}

/// The bytes a match of `hir` can start with, and whether it can match
/// the empty string; `None` for what this does not analyse (classes
/// beyond ASCII in Unicode form, which the gates' byte-oriented syntax
/// does not produce).
fn first_bytes(hir: &Hir) -> Option<([bool; 256], bool)> {
    let none = [false; 256];
    Some(match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => (none, true),
        HirKind::Literal(lit) => {
            let mut first = none;
            match lit.0.first() {
                Some(&b) => first[usize::from(b)] = true,
                None => return Some((none, true)),
            }
            (first, false)
        }
        HirKind::Class(Class::Bytes(class)) => {
            let mut first = none;
            for range in class.ranges() {
                for b in range.start()..=range.end() {
                    first[usize::from(b)] = true;
                }
            }
            (first, false)
        }
        // ASCII classes may come out as Unicode classes (an alternation of
        // single letters is folded into one): their bytes are the same.
        HirKind::Class(Class::Unicode(class)) => {
            let mut first = none;
            for range in class.ranges() {
                let (start, end) = (u32::from(range.start()), u32::from(range.end()));
                if end > 0x7f {
                    return None;
                }
                for b in start..=end {
                    first[usize::try_from(b).ok()?] = true;
                }
            }
            (first, false)
        }
        HirKind::Repetition(rep) => {
            let (first, nullable) = first_bytes(&rep.sub)?;
            (first, nullable || rep.min == 0)
        }
        HirKind::Capture(cap) => first_bytes(&cap.sub)?,
        HirKind::Concat(subs) => {
            let mut first = none;
            for sub in subs {
                let (f, nullable) = first_bytes(sub)?;
                add(&mut first, &f);
                if !nullable {
                    return Some((first, false));
                }
            }
            (first, true)
        }
        HirKind::Alternation(subs) => {
            let mut first = none;
            let mut nullable = false;
            for sub in subs {
                let (f, n) = first_bytes(sub)?;
                add(&mut first, &f);
                nullable |= n;
            }
            (first, nullable)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::build::regex::syntax_config;

    fn of(patterns: &[&str]) -> Option<Vec<u8>> {
        let hirs: Vec<Hir> = patterns
            .iter()
            .map(|p| regex_automata::util::syntax::parse_with(p, &syntax_config()).expect("parses"))
            .collect();
        start_bytes(&hirs)
    }

    #[test]
    fn few_start_bytes_are_found_and_anything_else_gives_none() {
        assert_eq!(
            of(&[r"[\n\r]", r"^\(\s*\)\s+\{", r"[\n\r]+(?:\s|location)"]),
            Some(b"\n\r(".to_vec())
        );
        assert_eq!(
            of(&[r"\bab", r"(?:x|y)?z"]),
            Some(b"axyz".to_vec()).filter(|b| b.len() <= 3)
        );
        assert_eq!(of(&[r"(?:x|y)?z"]), Some(b"xyz".to_vec()));
        assert_eq!(of(&[r"(?i)a"]), Some(b"Aa".to_vec()));
        // Too many, or the empty match.
        assert_eq!(of(&[r"[a-z]"]), None);
        assert_eq!(of(&[r"x", r"a*"]), None);
        assert_eq!(of(&[r"^$"]), None);
        assert_eq!(of(&[r"(?:)"]), None);
    }
}
