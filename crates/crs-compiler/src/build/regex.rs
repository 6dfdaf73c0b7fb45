//! Compiling `@rx` patterns with ModSecurity's PCRE semantics.
//!
//! ModSecurity v2 (the CRS reference engine) compiles `@rx` with
//! `PCRE_DOTALL | PCRE_DOLLAR_ENDONLY` and no UTF mode. The equivalent
//! regex-automata configuration, measured against PCRE2 on every input of
//! the CRS regression suite with zero disagreements
//! (`shared/notes/waf-peers-facts.md`, part 2), is:
//!
//! - byte mode, Unicode off: `\xHH` is a byte, `\s\d\w\b` are ASCII, `(?i)`
//!   folds ASCII only (no `ſ`/`K` folding);
//! - dot matches newline (DOTALL; without it 920450/920451 disagree);
//! - `$` matches only at the very end (regex-automata's `$` without
//!   multi-line is exactly `DOLLAR_ENDONLY`);
//! - braced `\x{HH}` rewritten to `\xHH`: regex-syntax reads `\x{..}` as a
//!   code point even with Unicode off, which is an error inside a class
//!   (933180, 934120, 941310) and silently UTF-8 outside one.

use std::sync::Arc;

use regex_automata::meta::{self, Regex};
use regex_automata::util::syntax;
use regex_syntax::hir::{Capture, Class, ClassBytes, ClassBytesRange, Hir, HirKind, Repetition};

use super::required::RequiredLiterals;

/// Size limit for one compiled pattern (and for a multi-pattern set).
/// The largest CRS pattern (932220, 12 KB of alternations) needs well under
/// this; the limit exists so a hostile rule file cannot exhaust memory.
pub const REGEX_SIZE_LIMIT: usize = 64 << 20;

/// Lazy-DFA cache capacity per searcher. The CRS sets fall off a cliff
/// (95 µs → 40 ms per pass) at the 2 MiB default. The multi-pattern gates
/// (one or two sets per phase, scanned over every kind of value) still
/// thrash at 16 MiB on prose bodies: measured on a 4 KiB form
/// POST, 1.6 ms → 0.94 ms per exchange at 64 MiB, and no further gain at
/// 256 MiB. The cache only grows as states are built; the process held
/// 68 MiB in total for the full CRS under that load.
pub const HYBRID_CACHE_CAPACITY: usize = 64 << 20;

/// Rewrites `\x{H}`/`\x{HH}` (≤ 0xFF) to `\xHH` so the escape means a byte.
pub fn rewrite_braced_hex(pattern: &str) -> String {
    let b = pattern.as_bytes();
    let mut out = String::with_capacity(pattern.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            if b[i + 1] == b'x' && i + 2 < b.len() && b[i + 2] == b'{' {
                if let Some(close) = pattern[i + 3..].find('}') {
                    let hex = &pattern[i + 3..i + 3 + close];
                    if !hex.is_empty()
                        && hex.len() <= 2
                        && hex.bytes().all(|c| c.is_ascii_hexdigit())
                    {
                        out.push_str("\\x");
                        if hex.len() == 1 {
                            out.push('0');
                        }
                        out.push_str(hex);
                        i += 3 + close + 1;
                        continue;
                    }
                }
            }
            // Copy the escape and the escaped character as a unit so that
            // `\\x{41}` is left alone.
            let ch_len = pattern[i + 1..].chars().next().map_or(1, char::len_utf8);
            out.push_str(&pattern[i..i + 1 + ch_len]);
            i += 1 + ch_len;
            continue;
        }
        let ch_len = pattern[i..].chars().next().map_or(1, char::len_utf8);
        out.push_str(&pattern[i..i + ch_len]);
        i += ch_len;
    }
    out
}

/// Settings every compiled pattern shares: empty matches may split UTF-8
/// (bytes mode), and size and cache limits as documented above.
fn base_config() -> meta::Config {
    meta::Config::new()
        .utf8_empty(false)
        .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
        .hybrid_cache_capacity(HYBRID_CACHE_CAPACITY)
}

pub(crate) fn syntax_config() -> syntax::Config {
    syntax::Config::new()
        .unicode(false)
        .utf8(false)
        .dot_matches_new_line(true)
}

/// The pattern that matches a value exactly when `pattern` matches the
/// value after `t:lowercase` (ASCII): every byte class becomes the bytes
/// that lower-case into it. `None` when the pattern does not parse.
///
/// Why: a gate group whose chain ends in `t:lowercase` can then be
/// scanned on the value before that step, which its set scans anyway for
/// other chains, instead of on one more (lower-cased) copy. Word
/// boundaries and anchors do not see case, so only classes and literals
/// change.
pub fn before_lowercase(pattern: &str) -> Option<String> {
    let hir = syntax::parse_with(&rewrite_braced_hex(pattern), &syntax_config()).ok()?;
    Some(preimage(&hir)?.to_string())
}

/// Whether `pattern` matches a value exactly when it matches the value
/// after `t:lowercase`: no literal holds an ASCII letter, and every class
/// holding one holds the letter in both cases. `false` when the pattern
/// does not parse.
///
/// Why: a gate sweep may then read a value before a `t:lowercase` step
/// when the steps after it leave the value alone (see
/// `MatchGroup::lowercase_at`): CRS's 941310 lower-cases first and then
/// decodes, and its pattern has no letters.
pub fn case_invariant(pattern: &str) -> bool {
    syntax::parse_with(&rewrite_braced_hex(pattern), &syntax_config())
        .is_ok_and(|hir| hir_case_invariant(&hir))
}

/// [`case_invariant`] on a parsed pattern.
fn hir_case_invariant(hir: &Hir) -> bool {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => true,
        HirKind::Literal(lit) => !lit.0.iter().any(u8::is_ascii_alphabetic),
        HirKind::Class(Class::Bytes(c)) => {
            both_cases_or_neither(|b| c.ranges().iter().any(|r| r.start() <= b && b <= r.end()))
        }
        // What `(?i)` makes of a letter in a pattern that is valid UTF-8.
        HirKind::Class(Class::Unicode(c)) => both_cases_or_neither(|b| {
            let ch = char::from(b);
            c.ranges().iter().any(|r| r.start() <= ch && ch <= r.end())
        }),
        HirKind::Repetition(r) => hir_case_invariant(&r.sub),
        HirKind::Capture(c) => hir_case_invariant(&c.sub),
        HirKind::Concat(v) | HirKind::Alternation(v) => v.iter().all(hir_case_invariant),
    }
}

/// Whether a class (`has`) holds each ASCII letter in both cases or in
/// neither.
fn both_cases_or_neither(has: impl Fn(u8) -> bool) -> bool {
    (b'a'..=b'z').all(|b| has(b) == has(b.to_ascii_uppercase()))
}

/// [`before_lowercase`] on a parsed pattern.
fn preimage(hir: &Hir) -> Option<Hir> {
    Some(match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => hir.clone(),
        HirKind::Literal(lit) => {
            Hir::concat(lit.0.iter().map(|&b| byte_preimage(&[(b, b)])).collect())
        }
        HirKind::Class(Class::Bytes(c)) => {
            let ranges: Vec<(u8, u8)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
            byte_preimage(&ranges)
        }
        // With Unicode off every class is of bytes.
        HirKind::Class(Class::Unicode(_)) => return None,
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            sub: Box::new(preimage(&r.sub)?),
            ..r.clone()
        }),
        HirKind::Capture(c) => Hir::capture(Capture {
            sub: Box::new(preimage(&c.sub)?),
            ..c.clone()
        }),
        HirKind::Concat(v) => Hir::concat(v.iter().map(preimage).collect::<Option<_>>()?),
        HirKind::Alternation(v) => Hir::alternation(v.iter().map(preimage).collect::<Option<_>>()?),
    })
}

/// The class of bytes whose ASCII lower case is in `ranges`: upper-case
/// letters only through their lower-case letter (a lower-cased value has
/// none of its own).
fn byte_preimage(ranges: &[(u8, u8)]) -> Hir {
    let has = |b: u8| ranges.iter().any(|&(lo, hi)| lo <= b && b <= hi);
    let mut class = ClassBytes::empty();
    for b in 0..=255u8 {
        let lower = b.to_ascii_lowercase();
        if has(lower) {
            class.push(ClassBytesRange::new(b, b));
        }
    }
    Hir::class(Class::Bytes(class))
}

/// Compiles one `@rx` pattern (with capture groups, leftmost-first).
pub fn compile(pattern: &str) -> Result<Arc<Regex>, String> {
    let rewritten = rewrite_braced_hex(pattern);
    Regex::builder()
        .syntax(syntax_config())
        .configure(base_config())
        .build(&rewritten)
        .map(Arc::new)
        .map_err(|e| describe(&e))
}

/// A pattern that did not compile, with the position of the problem.
#[derive(Clone, Debug)]
pub struct PatternError {
    /// The regex compiler's message (for syntax errors, regex-syntax's
    /// own multi-line description with carets).
    pub message: String,
    /// Byte offset in the pattern as written where the problem starts,
    /// when the regex parser reported one.
    pub offset: Option<usize>,
    /// True when the pattern exceeds [`REGEX_SIZE_LIMIT`].
    pub size_limit: bool,
    /// The regex parser's error, for syntax errors (boxed: it is large and
    /// errors are rare).
    pub syntax: Option<Box<regex_syntax::Error>>,
}

/// Like [`compile`], but keeps the error position so a rule file can show
/// the line and column of a bad `@rx` pattern.
///
/// Tuned for load time, with the same matching semantics: no full DFA (the
/// lazy DFA is as fast once warm) and no literal prefilter. Extracting
/// prefilters from CRS's large alternations was two thirds of the build
/// time of the patterns, and a rule's own regex mostly runs only after its
/// multi-pattern gate hit (see `plan`), on values already known to match.
pub fn compile_detailed(pattern: &str) -> Result<Arc<Regex>, PatternError> {
    let rewritten = rewrite_braced_hex(pattern);
    Regex::builder()
        .syntax(syntax_config())
        .configure(rule_config())
        .build(&rewritten)
        .map(Arc::new)
        .map_err(|e| pattern_error(pattern, &rewritten, &e))
}

/// A rule's pattern compiled by [`compile_measured`], with what its parse
/// says about every match.
#[derive(Clone, Debug)]
pub(crate) struct Measured {
    pub(crate) regex: Arc<Regex>,
    /// The fewest bytes a match spans (0 when it has no match at all).
    pub(crate) min_len: usize,
    /// Literals one of which every match contains, when there is a short
    /// list of them.
    pub(crate) required: Option<Arc<RequiredLiterals>>,
}

/// [`compile_detailed`], and what every match of the pattern needs (see
/// [`Measured`]), all from one parse: parsing CRS's patterns a second time
/// for the length added a third to load time.
pub(crate) fn compile_measured(pattern: &str) -> Result<Measured, PatternError> {
    let rewritten = rewrite_braced_hex(pattern);
    let Ok(hir) = syntax::parse_with(&rewritten, &syntax_config()) else {
        // The error as `compile_detailed` describes it.
        return compile_detailed(pattern).map(|regex| Measured {
            regex,
            min_len: 0,
            required: None,
        });
    };
    let min_len = hir.properties().minimum_len().unwrap_or(0);
    let required = RequiredLiterals::of(&hir).map(Arc::new);
    Regex::builder()
        .configure(rule_config())
        .build_from_hir(&hir)
        .map(|regex| Measured {
            regex: Arc::new(regex),
            min_len,
            required,
        })
        .map_err(|e| pattern_error(pattern, &rewritten, &e))
}

/// A rule's own regex: no full DFA and no literal prefilter (see
/// [`compile_detailed`]).
fn rule_config() -> meta::Config {
    base_config().dfa(false).auto_prefilter(false)
}

/// [`PatternError`] for `pattern`, compiled as `rewritten`.
fn pattern_error(pattern: &str, rewritten: &str, e: &meta::BuildError) -> PatternError {
    // Offsets refer to the rewritten text; they are only exact when the
    // rewrite changed nothing.
    let offset = e.syntax_error().and_then(|se| match se {
        regex_syntax::Error::Parse(pe) => Some(pe.span().start.offset),
        regex_syntax::Error::Translate(te) => Some(te.span().start.offset),
        _ => None,
    });
    PatternError {
        message: describe(e),
        offset: if rewritten == pattern { offset } else { None },
        size_limit: e.size_limit().is_some(),
        syntax: e.syntax_error().cloned().map(Box::new),
    }
}

/// Compiles a case-insensitive name pattern (selectors like `ARGS:/^id/`,
/// `ctl:ruleRemoveByTag`).
pub fn compile_name_pattern(pattern: &str) -> Result<Arc<Regex>, String> {
    let rewritten = rewrite_braced_hex(pattern);
    Regex::builder()
        .syntax(syntax_config().case_insensitive(true))
        .configure(
            meta::Config::new()
                .utf8_empty(false)
                .nfa_size_limit(Some(REGEX_SIZE_LIMIT)),
        )
        .build(&rewritten)
        .map(Arc::new)
        .map_err(|e| describe(&e))
}

/// Compiles a multi-pattern gate set (see [`super::gate_set`]).
pub fn compile_gate_set(patterns: &[String]) -> Result<Arc<super::gate_set::GateSet>, String> {
    super::gate_set::GateSet::new(patterns).map(Arc::new)
}

fn describe(e: &meta::BuildError) -> String {
    if let Some(limit) = e.size_limit() {
        return format!("compiled regex exceeds size limit of {limit} bytes");
    }
    match e.syntax_error() {
        Some(se) => se.to_string(),
        None => e.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimum_lengths() {
        for (pattern, want) in [
            ("abc", Some(3)),
            ("a|bcd", Some(1)),
            (r"\d{2,}x", Some(3)),
            ("^.*$", Some(0)),
            (r"(?i)\bunion\b", Some(5)),
            // ModSecurity's braced hex escape is one byte.
            (r"\x{41}b", Some(2)),
        ] {
            let got = compile_measured(pattern).map(|m| m.min_len).ok();
            assert_eq!(got, want, "{pattern}");
        }
        assert!(compile_measured("(").is_err());
    }

    #[test]
    fn braced_hex_becomes_byte_escape() {
        assert_eq!(rewrite_braced_hex(r"[\x{0b}\x{c2}]"), r"[\x0b\xc2]");
        assert_eq!(rewrite_braced_hex(r"\\x{41}"), r"\\x{41}");
        assert_eq!(rewrite_braced_hex(r"\x{1F600}"), r"\x{1F600}");
        let re = compile(r"[\x{c2}]").unwrap();
        assert!(re.is_match(b"\xc2".as_slice()));
        assert!(!re.is_match("\u{c2}".as_bytes()) || "\u{c2}".as_bytes().contains(&0xc2));
    }

    #[test]
    fn patterns_said_to_match_everything_match_every_input_in_full() {
        use crate::ir::operator::CompiledRegex;
        let inputs: [&[u8]; 6] = [b"", b"a", b"Host", b"line\nbreak\n", b"\0\xff\r\n", b"\n"];
        for source in ["^.*$", "^.*", ".*$", ".*"] {
            assert!(CompiledRegex::matches_everything(source), "{source}");
            let re = compile(source).unwrap();
            for input in inputs {
                let m = re.find(input).expect("matches");
                assert_eq!((m.start(), m.end()), (0, input.len()), "{source} {input:?}");
            }
        }
        for source in ["^.+$", ".", "^.*$x", "(?-s)^.*$", "^(.*)$"] {
            assert!(!CompiledRegex::matches_everything(source), "{source}");
        }
    }

    /// Patterns of the shapes CRS writes after `t:lowercase`.
    const LOWERCASE_PATTERNS: &[&str] = &[
        r"^(?:get|head)$",
        r"\bselect\b.{0,8}from",
        r"[a-z]+=[^a-z;]*;",
        r"(?i)union\s+all",
        r"\x41b[^c]",
        r"(?:a|B|[x-z]){2,3}\d",
        r"^[^\s\x00-\x1f]*$",
        r"(?:\.\./|%2e)",
    ];

    proptest::proptest! {
        #[test]
        fn before_lowercase_matches_what_the_pattern_matches_after_it(
            input in proptest::collection::vec(
                proptest::sample::select(b"aAbBcCgGeEtTxXyYzZ019 ;=./%\x00\xc3".to_vec()), 0..14),
            which in 0..LOWERCASE_PATTERNS.len(),
        ) {
            let source = LOWERCASE_PATTERNS[which];
            let original = compile(source).unwrap();
            let rewritten = before_lowercase(source).unwrap();
            let before = compile(&rewritten).unwrap();
            proptest::prop_assert_eq!(
                before.is_match(input.as_slice()),
                original.is_match(input.to_ascii_lowercase().as_slice()),
                "{} as {}", source, rewritten
            );
        }
    }

    /// Patterns with and without case: (pattern, case invariant).
    const CASE_PATTERNS: &[(&str, bool)] = &[
        (r"\xbc[^\xbe>]*[\xbe>]|<[^\xbe]*\xbe", true),
        (r"(?i)union\s+all", true),
        (r"[0-9;=]+\.{2}", true),
        (r"^[^\s\x00-\x1f]*$", true),
        (r"[a-zA-Z_]{2}", true),
        (r"select", false),
        (r"[a-z]=", false),
        (r"\x41", false),
        (r"[^a-z]", false),
        (r"(?i)a|B", true),
        (r"a|(?i)B", false),
    ];

    proptest::proptest! {
        #[test]
        fn case_invariant_patterns_match_alike_before_and_after_lowercase(
            input in proptest::collection::vec(
                proptest::sample::select(b"aAbBlLnNsSeEcCtT_=<>;.019 \xbc\xbe\x00\x1f".to_vec()), 0..10),
            which in 0..CASE_PATTERNS.len(),
        ) {
            let (source, invariant) = CASE_PATTERNS[which];
            proptest::prop_assert_eq!(case_invariant(source), invariant, "{}", source);
            if invariant {
                let re = compile(source).unwrap();
                proptest::prop_assert_eq!(
                    re.is_match(input.as_slice()),
                    re.is_match(input.to_ascii_lowercase().as_slice()),
                    "{}", source
                );
            }
        }
    }

    #[test]
    fn pcre_semantics() {
        // DOTALL
        assert!(compile("a.b").unwrap().is_match(b"a\nb".as_slice()));
        // DOLLAR_ENDONLY
        assert!(!compile("a$").unwrap().is_match(b"a\n".as_slice()));
        // ASCII \s and bytes
        assert!(compile(r"\xac\xed")
            .unwrap()
            .is_match(b"\xac\xed".as_slice()));
        assert!(!compile(r"(?i)k").unwrap().is_match("\u{212a}".as_bytes()));
    }
}
