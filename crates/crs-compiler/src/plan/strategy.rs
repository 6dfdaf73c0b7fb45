//! Building the gate automata.
//!
//! Each set becomes one [`crate::build::gate_set::GateSet`]: a forward NFA
//! with `MatchKind::All` and no capture slots, searched by a lazy DFA.
//! Sets are independent, so they are compiled on all available cores:
//! set compilation is, after the single patterns, the biggest part of the
//! load time (a CRS phase set holds 40-100 patterns).

use crate::build::pool;
use crate::ir::operator::OperatorKind;
use crate::ir::rule::Rule;
use crate::program::LazySet;

/// The gate pattern of a planned rule: its `@rx` source, its `@pm`
/// phrases as one alternation, or the bytes its `@validateByteRange`
/// forbids as one class.
pub(super) fn pattern(rule: &Rule) -> String {
    match &rule.operator.kind {
        OperatorKind::Rx(rx) => rx.source.clone(),
        OperatorKind::Pm(set) => phrase_pattern(&set.phrases),
        OperatorKind::ValidateByteRange(allowed) => forbidden_byte_pattern(allowed),
        // Planning admits no other operator; this matches nothing.
        _ => String::from(NOTHING),
    }
}

/// A pattern that matches no value.
const NOTHING: &str = "[^\\x00-\\xff]";

/// The pattern of a `@validateByteRange` table: any one byte the table
/// does not allow, which is exactly when the operator matches (it counts
/// those bytes). CRS's 920270 (`1-255`, every request value at paranoia
/// level 1, after `t:urlDecodeUni`) then costs a class in the sweep of its
/// phase instead of its own pass over each value and its transformation.
fn forbidden_byte_pattern(allowed: &[bool; 256]) -> String {
    use std::fmt::Write;
    let mut class = String::new();
    for (byte, _) in allowed.iter().enumerate().filter(|(_, &ok)| !ok) {
        // Writing to a String cannot fail.
        let _ = write!(class, "\\x{byte:02x}");
    }
    if class.is_empty() {
        return String::from(NOTHING);
    }
    format!("[{class}]")
}

/// Builds every set of `sets` not built yet, on all cores.
pub(crate) fn build_all(sets: &[&LazySet]) {
    let mut order: Vec<usize> = (0..sets.len()).filter(|&i| !sets[i].is_built()).collect();
    // Biggest groups first so no worker is left with all the large ones.
    order.sort_by_key(|&i| std::cmp::Reverse(sets[i].source_len()));
    pool::run(order.len(), |k| {
        if let Some(set) = order.get(k).and_then(|&i| sets.get(i)) {
            set.get();
        }
    });
}

/// The pattern of an `@pm` phrase list: any phrase, ASCII
/// case-insensitive (what `@pm` matches, as the compiled regexes fold ASCII
/// only). Its gate then answers exactly whether the phrase list matches, in
/// the same pass as the group's `@rx` patterns, instead of one
/// Aho-Corasick pass per rule over every value.
fn phrase_pattern(phrases: &[String]) -> String {
    let mut out = String::from("(?i:");
    for (i, p) in phrases.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(&regex_syntax::escape(p));
    }
    out.push(')');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set_of(pattern: &str) -> crate::build::gate_set::GateSet {
        crate::build::gate_set::GateSet::new(&[pattern.to_string()]).expect("compiles")
    }

    #[test]
    fn a_byte_range_gate_matches_exactly_the_values_with_a_forbidden_byte() {
        // 920270's `1-255` forbids NUL only; 920272's `32-36,38-126`
        // forbids controls, `%` and the high half.
        let mut nul_only = [true; 256];
        nul_only[0] = false;
        assert_eq!(forbidden_byte_pattern(&nul_only), "[\\x00]");
        let mut printable = [false; 256];
        for b in (32..=36).chain(38..=126) {
            printable[b] = true;
        }
        for allowed in [nul_only, printable, [true; 256], [false; 256]] {
            let set = set_of(&forbidden_byte_pattern(&allowed));
            for value in [
                &b""[..],
                b"plain text",
                b"a\x00b",
                b"100%",
                b"caf\xc3\xa9",
                b"tab\there",
                b"\x7f",
                b"~",
            ] {
                let want = value.iter().any(|&b| !allowed[usize::from(b)]);
                assert_eq!(set.is_match(value), want, "{allowed:?} {value:?}");
            }
        }
    }
}
