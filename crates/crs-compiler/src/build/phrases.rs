//! Phrase lists for `@pm` / `@pmFromFile`, built into Aho-Corasick automata.

use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};

use crate::ir::operator::PhraseSet;

/// Builds a case-insensitive phrase set. ModSecurity's `@pm` is
/// case-insensitive (ASCII) and matches anywhere in the value.
fn build(phrases: Vec<String>) -> Result<PhraseSet, String> {
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::DFA))
        .build(&phrases)
        .or_else(|_| {
            // A very large list may not fit a full DFA; the contiguous NFA
            // is the next fastest.
            AhoCorasick::builder()
                .ascii_case_insensitive(true)
                .match_kind(MatchKind::LeftmostFirst)
                .build(&phrases)
        })
        .map_err(|e| e.to_string())?;
    Ok(PhraseSet {
        phrases: Arc::new(phrases),
        automaton: Arc::new(automaton),
    })
}

/// Phrase lists up to this size get a full DFA; longer ones a contiguous
/// NFA (the same cut-off aho-corasick's own automatic choice uses).
/// Measured on CRS: the DFA of the 1,833-phrase list of 944 (Java classes)
/// takes ~45 ms and tens of MiB to build, the NFA a few ms, and both scan
/// a request value in well under a microsecond.
pub const DFA_MAX_PHRASES: usize = 100;

/// Builds a phrase set, picking the automaton by list size (see
/// [`DFA_MAX_PHRASES`]) so big data files do not dominate load time.
pub fn build_sized(phrases: Vec<String>) -> Result<PhraseSet, String> {
    if phrases.len() <= DFA_MAX_PHRASES {
        return build(phrases);
    }
    let automaton = AhoCorasick::builder()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostFirst)
        .kind(Some(AhoCorasickKind::ContiguousNFA))
        .build(&phrases)
        .map_err(|e| e.to_string())?;
    Ok(PhraseSet {
        phrases: Arc::new(phrases),
        automaton: Arc::new(automaton),
    })
}
