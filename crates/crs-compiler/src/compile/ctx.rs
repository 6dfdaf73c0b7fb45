//! Caches shared by one compilation.
//!
//! CRS repeats itself: 318 `@rx` operators hold 294 distinct patterns, the
//! same `@pmFromFile` data files appear in several rules, and selector
//! regexes recur across rules. Compiling each once keeps load time down
//! (regex compilation dominates it) and lets rules share automata through
//! `Arc`.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use regex_automata::meta::Regex;

use crate::build;
use crate::build::regex::PatternError;
use crate::ir::operator::PhraseSet;

/// Per-compilation caches.
#[derive(Debug, Default)]
pub(crate) struct Ctx {
    /// Each pattern compiled, with its minimum match length.
    rx: HashMap<String, Result<build::regex::Measured, PatternError>>,
    names: HashMap<String, Result<Arc<Regex>, String>>,
    tags: HashMap<String, Result<Arc<Regex>, String>>,
    /// Phrase sets keyed by the sorted list of their data files.
    pub(crate) phrase_files: HashMap<Vec<PathBuf>, PhraseSet>,
}

impl Ctx {
    /// An `@rx` pattern (ModSecurity semantics, captures kept), and the
    /// fewest bytes a match spans.
    pub(crate) fn rx(&mut self, pattern: &str) -> Result<build::regex::Measured, PatternError> {
        if let Some(r) = self.rx.get(pattern) {
            return r.clone();
        }
        let r = build::regex::compile_measured(pattern);
        self.rx.insert(pattern.to_string(), r.clone());
        r
    }

    /// Pre-compiles patterns on several threads (see `prepare_rx`).
    pub(crate) fn insert_rx(
        &mut self,
        pattern: String,
        compiled: Result<build::regex::Measured, PatternError>,
    ) {
        self.rx.insert(pattern, compiled);
    }

    /// True when the pattern is already compiled.
    pub(crate) fn has_rx(&self, pattern: &str) -> bool {
        self.rx.contains_key(pattern)
    }

    /// A case-insensitive member-name pattern (selectors).
    pub(crate) fn name_pattern(&mut self, pattern: &str) -> Result<Arc<Regex>, String> {
        if let Some(r) = self.names.get(pattern) {
            return r.clone();
        }
        let r = build::regex::compile_name_pattern(pattern);
        self.names.insert(pattern.to_string(), r.clone());
        r
    }

    /// A tag or msg pattern (`SecRuleRemoveByTag`, `ctl:ruleRemoveByTag`).
    /// v2 compiles these without flags, so they are case-sensitive.
    pub(crate) fn tag_pattern(&mut self, pattern: &str) -> Result<Arc<Regex>, String> {
        if let Some(r) = self.tags.get(pattern) {
            return r.clone();
        }
        let r = build::regex::compile(pattern);
        self.tags.insert(pattern.to_string(), r.clone());
        r
    }
}
