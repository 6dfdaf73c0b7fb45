//! Gate patterns loosened at the start of a value.
//!
//! A long value is walked in pieces side by side, and a piece's lane stops
//! once it is in the state the lane of the next piece had at the same
//! byte (`GateSet::walk_pieces`). A pattern anchored at the start of the
//! value that goes on with a repetition of almost any byte (CRS's 921200,
//! `^[^!&\(\):<>\|~]*\)…`, or 942511, `^(?:[^']*'|…)…`) keeps a thread
//! alive from the first byte to the first byte it excludes, which in
//! prose may never come: no later lane can have that thread, so the first
//! lane walked the whole value alone, and the 4 KiB form's text took
//! 12.5 µs instead of 3.1 µs in eight pieces.
//!
//! A positive rule's gate only needs to match wherever the rule's pattern
//! does: its own operator decides on the values the gate lets through. So
//! the gate takes the pattern without the anchor and that repetition: a
//! match of `^[^)]*\)x` holds a match of `\)x`, which the gate finds
//! wherever it is. A negated rule's gate must match exactly (a hit is its
//! miss), and keeps its pattern as written.

use regex_syntax::hir::{Class, Hir, HirKind, Look};

use crate::build::regex::{rewrite_braced_hex, syntax_config};

/// A repetition of a class of at least this many bytes is "almost any
/// byte": a thread in it outlives ordinary text. (`\w*` or `\s*` end at
/// the next space or word.)
const BROAD_CLASS: usize = 128;

/// `pattern` without its start anchor and the broad repetition right
/// after it (see the module documentation), when it has them: a pattern
/// that matches wherever `pattern` does. `None` to keep `pattern` as it
/// is: no such start, it does not parse, or what is left would match
/// every value.
pub(super) fn loosened_start(pattern: &str) -> Option<String> {
    let hir =
        regex_automata::util::syntax::parse_with(&rewrite_braced_hex(pattern), &syntax_config())
            .ok()?;
    let loose = without_anchored_repetition(&hir)?;
    if loose.properties().minimum_len().is_none_or(|len| len == 0) {
        return None;
    }
    Some(loose.to_string())
}

/// `hir` without a start anchor followed by a broad repetition, in any of
/// its top-level branches; `None` when no branch starts so.
fn without_anchored_repetition(hir: &Hir) -> Option<Hir> {
    match hir.kind() {
        HirKind::Alternation(branches) => each_branch(branches, without_anchored_repetition),
        // The gate keeps no capture groups.
        HirKind::Capture(c) => without_anchored_repetition(&c.sub),
        HirKind::Concat(parts) => {
            let (anchor, rest) = parts.split_first()?;
            if !matches!(anchor.kind(), HirKind::Look(Look::Start)) {
                return None;
            }
            head_replaced(rest, without_leading_repetition)
        }
        _ => None,
    }
}

/// `hir` without the broad repetition it starts with, in each branch that
/// starts with one (the others are kept, no longer anchored); `None` when
/// none does.
fn without_leading_repetition(hir: &Hir) -> Option<Hir> {
    match hir.kind() {
        HirKind::Repetition(r) if r.max.is_none() && broad(&r.sub) => Some(Hir::empty()),
        HirKind::Capture(c) => without_leading_repetition(&c.sub),
        HirKind::Concat(parts) => head_replaced(parts, without_leading_repetition),
        HirKind::Alternation(branches) => each_branch(branches, without_leading_repetition),
        _ => None,
    }
}

/// The alternation of `branches`, each as `loosen` makes it (or as it
/// is); `None` when `loosen` changes none.
fn each_branch(branches: &[Hir], loosen: fn(&Hir) -> Option<Hir>) -> Option<Hir> {
    let loose: Vec<Option<Hir>> = branches.iter().map(loosen).collect();
    if loose.iter().all(Option::is_none) {
        return None;
    }
    let branches = loose
        .into_iter()
        .zip(branches)
        .map(|(l, b)| l.unwrap_or_else(|| b.clone()));
    Some(Hir::alternation(branches.collect()))
}

/// The concatenation of `parts` with the first as `loosen` makes it;
/// `None` when it does not change it.
fn head_replaced(parts: &[Hir], loosen: fn(&Hir) -> Option<Hir>) -> Option<Hir> {
    let (head, tail) = parts.split_first()?;
    let head = loosen(head)?;
    Some(Hir::concat(
        std::iter::once(head).chain(tail.iter().cloned()).collect(),
    ))
}

/// Whether `hir` is a class of at least [`BROAD_CLASS`] bytes.
fn broad(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Class(Class::Bytes(c)) => {
            let bytes: usize = c
                .ranges()
                .iter()
                .map(|r| usize::from(r.end() - r.start()) + 1)
                .sum();
            bytes >= BROAD_CLASS
        }
        // With Unicode off every class is of bytes.
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use regex_automata::meta::Regex;

    fn regex(pattern: &str) -> Regex {
        Regex::builder()
            .syntax(syntax_config())
            .build(&rewrite_braced_hex(pattern))
            .expect("compiles")
    }

    /// Shapes of CRS's anchored patterns (921200, 942511) and others.
    const ANCHORED: [&str; 4] = [
        r"^[^!&\(\):<>\|~]*\)[\s\x0b]*(?:\(|[!&\|])",
        r"^(?:[^']*'|[^\x22]*\x22|[^`]*`)[\s\x0b]*;",
        r"^(?:.*x|ab)c",
        r"(?:^[^y]+y=|z{2})",
    ];

    #[test]
    fn anchored_broad_repetitions_are_taken_off() {
        let loose: Vec<Regex> = ANCHORED
            .iter()
            .map(|p| regex(&loosened_start(p).unwrap_or_else(|| panic!("{p} is kept"))))
            .collect();
        // Found wherever the rest of the pattern is, not only after a
        // first run without the excluded bytes.
        assert!(!regex(ANCHORED[0]).is_match("a (b) | c"));
        assert!(loose[0].is_match("a (b) | c"));
        assert!(!loose[0].is_match("no closing parenthesis ( | !"));
        assert!(!regex(ANCHORED[1]).is_match("a'b' ;"));
        assert!(loose[1].is_match("a'b' ;"));
        assert!(!loose[1].is_match("'x; `y;"));
        // A branch without a repetition keeps its bytes, not its anchor.
        assert!(loose[2].is_match("zzabc"));
        assert!(loose[3].is_match("b&y=1"));
    }

    #[test]
    fn other_patterns_are_kept() {
        for pattern in [
            // Not anchored, a narrow repetition, a bounded one, or an
            // anchor that is not the start of the value.
            r"[^)]*\)x",
            r"^\s*x",
            r"^\w+=",
            r"^.{0,40}x",
            r"(?m)^.*x",
            r"x^.*y",
            // Nothing would be left: every value would match.
            r"^.*",
            r"^[^x]*(?:y)?",
            // Does not parse.
            r"^(.*",
        ] {
            assert_eq!(loosened_start(pattern), None, "{pattern}");
        }
    }

    proptest! {
        #[test]
        fn a_loosened_pattern_matches_wherever_the_pattern_does(
            haystack in proptest::collection::vec(
                proptest::sample::select(b"ab xyz=;'\"`()!&|~\n".to_vec()), 0..40),
        ) {
            for pattern in ANCHORED {
                let loose = loosened_start(pattern).expect("loosened");
                if regex(pattern).is_match(&haystack) {
                    prop_assert!(regex(&loose).is_match(&haystack), "{} on {:?}", pattern, haystack);
                }
            }
        }
    }
}
