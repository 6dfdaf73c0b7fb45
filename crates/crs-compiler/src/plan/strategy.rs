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

/// The gate pattern of a planned rule: its `@rx` source, or its `@pm`
/// phrases as one alternation.
pub(super) fn pattern(rule: &Rule) -> String {
    match &rule.operator.kind {
        OperatorKind::Rx(rx) => rx.source.clone(),
        OperatorKind::Pm(set) => phrase_pattern(&set.phrases),
        // Planning only admits constant @rx and @pm rules; this matches
        // nothing.
        _ => String::from("[^\\x00-\\xff]"),
    }
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
