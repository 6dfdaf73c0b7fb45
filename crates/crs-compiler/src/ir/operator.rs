//! Operators (`@rx`, `@pm`, `@lt`, …) with their compiled arguments.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use regex_automata::meta::Regex;

use super::macros::MacroString;
use crate::build::required::RequiredLiterals;

/// An operator with its argument, compiled at load time.
#[derive(Clone, Debug)]
pub struct Operator {
    /// What the operator does, with its compiled argument.
    pub kind: OperatorKind,
    /// `!@op`: the rule matches when the operator does not.
    pub negated: bool,
    /// The operator name as written (`rx`, `pmFromFile`), without `@`.
    pub name: String,
    /// The argument exactly as written, for logs and reports.
    pub argument: String,
}

/// A compiled `@rx` pattern.
#[derive(Clone, Debug)]
pub struct CompiledRegex {
    /// The pattern as written in the rule.
    pub source: String,
    /// The pattern compiled with ModSecurity's semantics (bytes, dot-all,
    /// ASCII classes, `$` = end of input). Capture groups are kept so
    /// `capture` can fill `TX.0`–`TX.9`.
    pub regex: Arc<Regex>,
    /// The pattern matches every value, and group 0 is the whole value
    /// (`^.*$`, `.*` and the like under dot-all): the engine needs no
    /// search. CRS's 920450 captures every header name this way.
    pub matches_everything: bool,
    /// The fewest bytes a match spans (0 when unknown): a shorter value
    /// cannot match. A `multiMatch` rule whose later steps never lengthen
    /// a value stops at a step result shorter than this (CRS's 934160
    /// needs 8 bytes; `t:base64Decode` makes most short values shorter).
    pub min_len: usize,
    /// Literals one of which (ignoring ASCII case) every match contains,
    /// when the pattern has a short list of them: a value without any
    /// cannot match. CRS's `multiMatch` rules run their pattern on every
    /// step result; 934100's on `t:base64Decode` garbage.
    pub required: Option<Arc<RequiredLiterals>>,
    /// ModSecurity's description of a match, made once here rather than
    /// by every matching rule (a CRS pattern runs to thousands of
    /// characters): see [`CompiledRegex::match_message`].
    pub match_message: String,
}

/// Characters of a pattern shown in its match description.
const SHOWN_CHARS: usize = 252;

impl CompiledRegex {
    /// `Pattern match "…"` with the first 252 characters of `source`,
    /// followed by ` ...` when there are more.
    pub fn match_message(source: &str) -> String {
        let cut = source
            .char_indices()
            .nth(SHOWN_CHARS)
            .map_or(source.len(), |(at, _)| at);
        let more = if cut < source.len() { " ..." } else { "" };
        format!("Pattern match \"{}{more}\"", &source[..cut])
    }

    /// Whether `source` matches every input with group 0 spanning all of
    /// it under ModSecurity's semantics (dot-all, `$` only at the end):
    /// a greedy `.*` from the start, optionally anchored at either end.
    pub fn matches_everything(source: &str) -> bool {
        matches!(source, "^.*$" | "^.*" | ".*$" | ".*")
    }
}

/// A compiled phrase list for `@pm`, `@pmFromFile`.
#[derive(Clone, Debug)]
pub struct PhraseSet {
    /// The phrases (lower-cased source text), in file order.
    pub phrases: Arc<Vec<String>>,
    /// ASCII case-insensitive Aho-Corasick automaton over `phrases`.
    pub automaton: Arc<AhoCorasick>,
}

/// A network for `@ipMatch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IpNet {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length in bits (32 or 128 for a single address).
    pub prefix: u8,
}

impl IpNet {
    /// True when `ip` lies inside this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let bits = u32::from(self.prefix.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                (u32::from(net) & mask) == (u32::from(ip) & mask)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let bits = u32::from(self.prefix.min(128));
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                (u128::from(net) & mask) == (u128::from(ip) & mask)
            }
            _ => false,
        }
    }
}

/// The operator and its compiled argument.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum OperatorKind {
    /// `@rx` with a constant pattern.
    Rx(CompiledRegex),
    /// `@rx` whose pattern contains macros: compiled per transaction.
    RxMacro(MacroString),
    /// `@pm`, `@pmf`, `@pmFromFile`.
    Pm(PhraseSet),
    /// `@strmatch`: a single literal, case-sensitive.
    StrMatch(String),
    /// `@streq`.
    StrEq(MacroString),
    /// `@contains`.
    Contains(MacroString),
    /// `@containsWord`.
    ContainsWord(MacroString),
    /// `@beginsWith`.
    BeginsWith(MacroString),
    /// `@endsWith`.
    EndsWith(MacroString),
    /// `@within`: the value is a substring of the argument.
    Within(MacroString),
    /// `@eq` (numeric).
    Eq(MacroString),
    /// `@ge`.
    Ge(MacroString),
    /// `@gt`.
    Gt(MacroString),
    /// `@le`.
    Le(MacroString),
    /// `@lt`.
    Lt(MacroString),
    /// `@ipMatch`, `@ipMatchF`, `@ipMatchFromFile`.
    IpMatch(Arc<Vec<IpNet>>),
    /// `@detectSQLi` (libinjection).
    DetectSqli,
    /// `@detectXSS` (libinjection).
    DetectXss,
    /// `@validateByteRange`: a 256-entry table of allowed bytes.
    ValidateByteRange(Arc<[bool; 256]>),
    /// `@validateUrlEncoding`.
    ValidateUrlEncoding,
    /// `@validateUtf8Encoding`.
    ValidateUtf8Encoding,
    /// `@unconditionalMatch`.
    UnconditionalMatch,
    /// `@noMatch`.
    NoMatch,
}

impl OperatorKind {
    /// True for operators that never look at the value (SecAction,
    /// `@unconditionalMatch`, `@noMatch`).
    pub fn ignores_value(&self) -> bool {
        matches!(
            self,
            OperatorKind::UnconditionalMatch | OperatorKind::NoMatch
        )
    }

    /// The argument of the string and numeric operators, which may hold
    /// macros (`@streq`, `@contains`, `@within`, `@eq`, …); `None` for the
    /// others, whose argument is compiled (`@rx`, `@pm`, …) or absent.
    /// (`@rx` with macros is [`OperatorKind::RxMacro`].)
    pub fn macro_argument(&self) -> Option<&MacroString> {
        use OperatorKind as K;
        match self {
            K::StrEq(m)
            | K::Contains(m)
            | K::ContainsWord(m)
            | K::BeginsWith(m)
            | K::EndsWith(m)
            | K::Within(m)
            | K::Eq(m)
            | K::Ge(m)
            | K::Gt(m)
            | K::Le(m)
            | K::Lt(m) => Some(m),
            _ => None,
        }
    }
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let neg = if self.negated { "!" } else { "" };
        write!(f, "{neg}@{} {}", self.name, self.argument)
    }
}

#[cfg(test)]
mod tests {
    use super::CompiledRegex;

    #[test]
    fn a_match_message_shows_the_first_252_characters_of_the_pattern() {
        assert_eq!(CompiledRegex::match_message("a+"), "Pattern match \"a+\"");
        let exactly = "x".repeat(252);
        assert_eq!(
            CompiledRegex::match_message(&exactly),
            format!("Pattern match \"{exactly}\"")
        );
        // Characters, not bytes: a two-byte character is never split.
        let long = "é".repeat(300);
        assert_eq!(
            CompiledRegex::match_message(&long),
            format!("Pattern match \"{} ...\"", "é".repeat(252))
        );
    }
}
