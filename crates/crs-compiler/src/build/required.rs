//! Literals a pattern cannot match without: one of them occurs in every
//! match. A value holding none of them cannot match, which a literal
//! search answers far faster than the pattern's own automaton on a value it
//! has not seen (CRS's `multiMatch` rules run their pattern on every
//! intermediate result: 934100 on the garbage `t:base64Decode` makes of
//! ordinary text, which contains none of `eval`, `process`, `require`…).
//!
//! Found on the parsed pattern, with ASCII case folded: a byte class that
//! is one letter in both cases (how `(?i)` reads in byte mode) counts as
//! that letter, and the search ignores ASCII case, so the literals are a
//! necessary condition for case-sensitive patterns too.

use aho_corasick::{AhoCorasick, AhoCorasickKind, MatchKind};
use regex_syntax::hir::{Class, Hir, HirKind};

/// At most this many literals: a longer list is a worse filter than the
/// pattern's own automaton.
const MAX_LITERALS: usize = 64;

/// The literals are used only when each is at least this long: a one-byte
/// literal occurs in most values.
const MIN_LITERAL_LEN: usize = 2;

/// The literal search's automaton for lists shorter than [`DFA_LITERALS`].
/// Measured on the loaded CRS (PL1, 169 patterns with literals): full DFAs
/// for all held 1.8 MiB more heap than the
/// contiguous NFAs, and a fresh engine's first exchange of unusual prose
/// took 5.10 ms against 5.06 ms; the searches mostly run aho-corasick's
/// own prefilter either way.
const SEARCH_KIND: AhoCorasickKind = AhoCorasickKind::ContiguousNFA;

/// Lists of this many literals or more are searched with a full DFA
/// instead. CRS's 934100 (Node.js injection, `multiMatch` through
/// `t:base64Decode`) searches its list in every intermediate result of
/// every argument, which its gate cannot answer for: with its list a
/// contiguous NFA took about 40 instructions per byte, 5 % of a 1 KiB
/// JSON POST. Measured at PL1: at 16 the JSON POST took 2.4 % fewer
/// instructions and the loaded rules 1.1 MiB more heap (28.7 -> 29.8 MiB);
/// at 24 or 32 the heap grew less and nothing got faster.
const DFA_LITERALS: usize = 16;

/// A repetition adds at most this many copies to a literal.
const MAX_REPEAT: u32 = 16;

/// Literals one of which occurs (ignoring ASCII case) in every match of a
/// pattern; see the module documentation.
#[derive(Debug)]
pub struct RequiredLiterals {
    /// Lower-cased, distinct.
    literals: Vec<Vec<u8>>,
    /// A byte (lower-cased) every literal holds: see
    /// [`RequiredLiterals::common_byte`].
    common_byte: Option<u8>,
    /// Built with the pattern (on the loading threads): built on first
    /// use, the searches took a third of a fresh engine's first exchange
    /// with unusual input.
    searcher: AhoCorasick,
}

impl RequiredLiterals {
    /// The literals of `hir`, when it has a short list of long enough ones.
    pub(crate) fn of(hir: &Hir) -> Option<RequiredLiterals> {
        let literals = minimal(factors(hir)?);
        let useful =
            literals.len() <= MAX_LITERALS && literals.iter().all(|l| l.len() >= MIN_LITERAL_LEN);
        if !useful {
            return None;
        }
        let searcher = AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .kind(Some(if literals.len() >= DFA_LITERALS {
                AhoCorasickKind::DFA
            } else {
                SEARCH_KIND
            }))
            .build(&literals)
            .ok()?;
        let common_byte = common_byte(&literals);
        Some(RequiredLiterals {
            literals,
            common_byte,
            searcher,
        })
    }

    /// A byte (lower-cased; a letter stands for both its cases) that every
    /// literal holds, so every match holds it too: `.` for CRS's path
    /// traversal pattern (930110, whose literals all hold `..`). A value
    /// without it cannot match, nor can any result of steps that add no
    /// byte to a value (`t:cmdLine`, `t:lowercase`); a `memchr` tells.
    pub fn common_byte(&self) -> Option<u8> {
        self.common_byte
    }

    /// The literals, lower-cased.
    pub fn literals(&self) -> &[Vec<u8>] {
        &self.literals
    }

    /// Whether `haystack` holds one of the literals (ignoring ASCII case):
    /// when it does not, the pattern cannot match it.
    pub fn may_match(&self, haystack: &[u8]) -> bool {
        self.searcher.is_match(haystack)
    }
}

/// A byte all of `literals` (lower-cased) hold, preferring one that is not
/// a letter (rarer in text, and one `memchr` needle instead of two); not
/// a space or NUL, which some steps put in place of others.
fn common_byte(literals: &[Vec<u8>]) -> Option<u8> {
    let (first, rest) = literals.split_first()?;
    let shared =
        |b: &&u8| !b.is_ascii_whitespace() && **b != 0 && rest.iter().all(|l| l.contains(b));
    let mut letter = None;
    for &b in first.iter().filter(shared) {
        if !b.is_ascii_alphabetic() {
            return Some(b);
        }
        letter.get_or_insert(b);
    }
    letter
}

/// Which of two factor sets [`factors`] keeps.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefer {
    /// The longer shortest literal, then fewer literals: the better filter.
    Long,
    /// Fewer literals (each at least [`MIN_LITERAL_LEN`] long), then the
    /// longer shortest: for the branches of an alternation whose best sets
    /// together hold more than [`MAX_LITERALS`].
    Few,
}

/// A set of literals one of which every match of `hir` contains, or `None`
/// when no such set was found.
fn factors(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    factors_preferring(hir, Prefer::Long)
}

fn factors_preferring(hir: &Hir, prefer: Prefer) -> Option<Vec<Vec<u8>>> {
    match hir.kind() {
        HirKind::Empty | HirKind::Look(_) => None,
        HirKind::Literal(lit) => Some(vec![lit.0.to_ascii_lowercase()]),
        HirKind::Class(_) => class_literals(hir),
        HirKind::Capture(c) => factors_preferring(&c.sub, prefer),
        HirKind::Repetition(r) if r.min >= 1 => factors_preferring(&r.sub, prefer),
        HirKind::Repetition(_) => None,
        HirKind::Alternation(subs) => {
            let union = |prefer| {
                let mut all: Vec<Vec<u8>> = Vec::new();
                for sub in subs {
                    add_distinct(&mut all, factors_preferring(sub, prefer)?)?;
                }
                Some(all)
            };
            // The branches' best sets may be too many together (CRS's
            // 934100: `require` followed by 36 spellings of `["main"]`
            // and `.cache`); their smallest may not.
            union(prefer).or_else(|| match prefer {
                Prefer::Long => union(Prefer::Few),
                Prefer::Few => None,
            })
        }
        HirKind::Concat(subs) => {
            // Each run of parts that spell one of a few strings gives the
            // strings a run spells (all combinations); so does any factor
            // set of any part. The best is kept.
            let mut best: Option<Vec<Vec<u8>>> = None;
            let mut consider = |candidate: Option<Vec<Vec<u8>>>| {
                let candidate = candidate.filter(|c| c.iter().all(|l| !l.is_empty()));
                if let Some(c) = candidate.map(minimal) {
                    if best.as_ref().is_none_or(|b| better(&c, b, prefer)) {
                        best = Some(c);
                    }
                }
            };
            let mut run: Vec<Vec<u8>> = vec![Vec::new()];
            for sub in subs {
                match run_part(sub) {
                    Some((part, goes_on)) => {
                        if part.len() > 1 {
                            // The run before it multiplies: fewer literals.
                            consider(Some(run.clone()));
                        }
                        run = match followed_by(&run, &part) {
                            Some(longer) => longer,
                            // Too many combinations: a new run starts.
                            None => {
                                consider(Some(std::mem::take(&mut run)));
                                part
                            }
                        };
                        if !goes_on {
                            consider(Some(std::mem::replace(&mut run, vec![Vec::new()])));
                            // The part's own factors may be better than
                            // the start it gave the run.
                            consider(factors_preferring(sub, prefer));
                        }
                    }
                    None => {
                        consider(Some(std::mem::replace(&mut run, vec![Vec::new()])));
                        consider(factors_preferring(sub, prefer));
                    }
                }
            }
            consider(Some(run));
            best
        }
    }
}

/// Adds the literals of `more` that `all` lacks; `None` once `all` holds
/// more than [`MAX_LITERALS`].
fn add_distinct(all: &mut Vec<Vec<u8>>, more: Vec<Vec<u8>>) -> Option<()> {
    for l in more {
        if !all.contains(&l) {
            all.push(l);
        }
    }
    (all.len() <= MAX_LITERALS).then_some(())
}

/// A small byte class as one-byte literals (see [`class_bytes`]).
fn class_literals(hir: &Hir) -> Option<Vec<Vec<u8>>> {
    Some(class_bytes(hir)?.into_iter().map(|b| vec![b]).collect())
}

/// `set` without the literals that hold another one of it: a value with
/// `abcdef` has `def`.
fn minimal(mut set: Vec<Vec<u8>>) -> Vec<Vec<u8>> {
    set.sort_by_key(Vec::len);
    let mut kept: Vec<Vec<u8>> = Vec::with_capacity(set.len());
    for l in set {
        let holds = |k: &Vec<u8>| l.windows(k.len()).any(|w| w == k.as_slice());
        if !kept.iter().any(holds) {
            kept.push(l);
        }
    }
    kept
}

/// Every string of `run` followed by every string of `part`, unless that
/// makes more than [`MAX_LITERALS`].
fn followed_by(run: &[Vec<u8>], part: &[Vec<u8>]) -> Option<Vec<Vec<u8>>> {
    if run.len().saturating_mul(part.len()) > MAX_LITERALS {
        return None;
    }
    Some(
        run.iter()
            .flat_map(|r| part.iter().map(move |p| [r.as_slice(), p].concat()))
            .collect(),
    )
}

/// Whether factor set `a` is better than `b` (see [`Prefer`]).
fn better(a: &[Vec<u8>], b: &[Vec<u8>], prefer: Prefer) -> bool {
    let shortest = |s: &[Vec<u8>]| s.iter().map(Vec::len).min().unwrap_or(0);
    match prefer {
        Prefer::Long => {
            (shortest(a), std::cmp::Reverse(a.len())) > (shortest(b), std::cmp::Reverse(b.len()))
        }
        Prefer::Few => {
            let usable = |s: &[Vec<u8>]| shortest(s) >= MIN_LITERAL_LEN;
            (usable(a), std::cmp::Reverse(a.len()), shortest(a))
                > (usable(b), std::cmp::Reverse(b.len()), shortest(b))
        }
    }
}

/// What `hir` adds to a run inside a concatenation: the few strings
/// (lower-cased) one of which every match of it spells, and whether the
/// run goes on after it (`false` after a repetition that may spell more,
/// or a part that spells one of the strings and then something else).
/// `None` when it is not such a part.
fn run_part(hir: &Hir) -> Option<(Vec<Vec<u8>>, bool)> {
    match hir.kind() {
        HirKind::Literal(lit) => Some((vec![lit.0.to_ascii_lowercase()], true)),
        HirKind::Class(_) => Some((class_literals(hir)?, true)),
        // Spells nothing: what comes before and after stays adjacent.
        HirKind::Empty | HirKind::Look(_) => Some((vec![Vec::new()], true)),
        HirKind::Capture(c) => run_part(&c.sub),
        HirKind::Alternation(subs) => {
            // Each branch spells one of its strings; the run goes on only
            // if it does after every branch.
            let mut all: Vec<Vec<u8>> = Vec::new();
            let mut all_go_on = true;
            for sub in subs {
                let (part, goes_on) = run_part(sub)?;
                all_go_on &= goes_on;
                add_distinct(&mut all, part)?;
            }
            Some((all, all_go_on))
        }
        HirKind::Concat(subs) => {
            // The strings its first parts spell, up to the first part that
            // is not such a part or ends the run (CRS's 942550: `["'`]`
            // then `[\[\{]` then a repetition).
            let mut run: Vec<Vec<u8>> = vec![Vec::new()];
            for sub in subs {
                let Some((part, goes_on)) = run_part(sub) else {
                    return Some((run, false));
                };
                run = followed_by(&run, &part)?;
                if !goes_on {
                    return Some((run, false));
                }
            }
            Some((run, true))
        }
        HirKind::Repetition(r) if r.min >= 1 => {
            let (part, goes_on) = run_part(&r.sub)?;
            if !goes_on {
                // Only the first copy's strings are known to be adjacent.
                return Some((part, false));
            }
            // Enough of a long repetition for a literal; the run ends there.
            let mut run: Vec<Vec<u8>> = vec![Vec::new()];
            for _ in 0..r.min.min(MAX_REPEAT) {
                run = followed_by(&run, &part)?;
            }
            let exact = r.max == Some(r.min) && r.min <= MAX_REPEAT;
            Some((run, exact))
        }
        HirKind::Repetition(r) => {
            // `x?` spells nothing or one of `x`'s strings; a longer
            // optional repetition ends the run.
            if r.max == Some(1) {
                if let Some((part, true)) = run_part(&r.sub) {
                    let mut optional = vec![Vec::new()];
                    optional.extend(part.into_iter().filter(|p| !p.is_empty()));
                    return Some((optional, true));
                }
            }
            Some((vec![Vec::new()], false))
        }
    }
}

/// The lower-cased bytes of a small byte class (a letter in both cases is
/// one), or `None` for a larger class: more than four alternatives make a
/// poor literal.
fn class_bytes(hir: &Hir) -> Option<Vec<u8>> {
    let HirKind::Class(Class::Bytes(class)) = hir.kind() else {
        return None;
    };
    let mut bytes: Vec<u8> = Vec::new();
    for range in class.ranges() {
        if usize::from(range.end() - range.start()) >= 8 {
            return None;
        }
        for b in range.start()..=range.end() {
            let b = b.to_ascii_lowercase();
            if !bytes.contains(&b) {
                bytes.push(b);
            }
        }
        if bytes.len() > 4 {
            return None;
        }
    }
    Some(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(pattern: &str) -> Hir {
        regex_automata::util::syntax::parse_with(pattern, &crate::build::regex::syntax_config())
            .expect("parses")
    }

    fn literals(pattern: &str) -> Option<Vec<String>> {
        RequiredLiterals::of(&parse(pattern)).map(|r| {
            let mut v: Vec<String> = r
                .literals()
                .iter()
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect();
            v.sort();
            v
        })
    }

    #[test]
    fn a_byte_every_literal_holds_is_found() {
        let common = |pattern: &str| RequiredLiterals::of(&parse(pattern))?.common_byte();
        // 930110's two halves both need the dots.
        assert_eq!(
            common(r"(?:^|[\x5c/;])\.{2,3}[\x5c/;]|[\x5c/;]\.{2,3}(?:[\x5c/;]|$)"),
            Some(b'.')
        );
        // A letter when no other byte is shared, lower-cased (the first
        // of the first literal's: `e`, `v`, `a` and `l` are all shared).
        assert_eq!(common(r"(?i)EVAL\(|VALUES"), Some(b'e'));
        // Not a letter when there is one.
        assert_eq!(common(r"ab\.cd|xy\.z"), Some(b'.'));
        // Nothing shared.
        assert_eq!(common(r"eval|function"), None);
        // Space is left out: steps put it in place of other bytes.
        assert_eq!(common(r"a b|c d"), None);
    }

    #[test]
    fn literals_of_crs_shapes() {
        // 930110: the dots, repeated at least twice.
        assert_eq!(
            literals(r"(?:^|[/;\x5c])\.{2,3}[/;\x5c]"),
            Some(vec!["..".into()])
        );
        assert_eq!(
            literals(r"(?:\beval|new[\s\x0b]+Function[\s\x0b]*)\("),
            Some(vec!["eval".into(), "function".into()])
        );
        // `(?i)` reads as byte classes in both cases.
        assert_eq!(literals(r"(?i)union.*?select"), Some(vec!["select".into()]));
        assert_eq!(
            literals(r"ab|c"),
            None,
            "a one-byte literal filters nothing"
        );
        assert_eq!(literals(r"[a-z]+="), None);
        assert_eq!(literals(r"x*"), None);
        assert_eq!(literals(r"(?:abc)?def"), Some(vec!["def".into()]));
        // A few alternatives next to a literal combine with it.
        assert_eq!(
            literals(r"\b(?:env|main(?:Module)?)\["),
            Some(vec!["env[".into(), "main[".into(), "mainmodule[".into()])
        );
    }

    /// Asserts that each pattern has literals and that its input, which it
    /// matches, holds one.
    fn assert_matches_hold_literals(cases: &[(&str, &[u8])]) {
        for &(pattern, input) in cases {
            let required = RequiredLiterals::of(&parse(pattern)).expect("literals");
            assert!(
                required.may_match(input),
                "{pattern}: {:?}",
                required.literals()
            );
        }
    }

    #[test]
    fn a_repetition_ends_the_run_it_may_lengthen() {
        assert_matches_hold_literals(&[
            ("ba+b", b"baab"),
            (r"c(?:ab){1,2}d", b"cababd"),
            (r"x\.{2,3}y", b"x...y"),
            (r"(?i)Ab{2}C", b"aBBc"),
        ]);
        // An exact repetition keeps the run going.
        assert_eq!(literals(r"xa{2}y"), Some(vec!["xaay".into()]));
    }

    #[test]
    fn a_part_that_ends_its_run_gives_its_start() {
        // 942550: a quote, then a bracket, then anything.
        assert_eq!(
            literals(r#"(?i)["'`][\[\{][^#\]\}]*[\]\}]+["'`]|\bjson_extract\b[^\(]*\("#),
            Some(
                ["\"[", "\"{", "'[", "'{", "`[", "`{", "json_extract"]
                    .map(String::from)
                    .to_vec()
            )
        );
        // A word boundary or an empty branch spells nothing.
        assert_eq!(
            literals(r"\bab\b(?:|c)d"),
            Some(vec!["abcd".into(), "abd".into()])
        );
        // Only the first copy of a repeated part that ends its run is
        // known to be whole: `ab` then anything, twice, holds `ab` but
        // not `abab`.
        assert_matches_hold_literals(&[
            (r"(?:ab.*){2}", b"ab_ab"),
            (r"x(?:ab.){2,3}", b"xab_ab_"),
            (r"(?:a(?:b|c.*)){2}", b"ac_ab"),
        ]);
    }

    #[test]
    fn branches_whose_best_literals_are_too_many_together_take_fewer() {
        // Each branch alone spells 32 strings of seven bytes; three are 96,
        // more than a search takes: each then gives its two-byte start.
        let branch = "[cd][ef][gh][ij][kl]";
        assert_eq!(
            literals(&format!("ab{branch}|xy{branch}|zw{branch}")),
            Some(vec!["ab".into(), "xy".into(), "zw".into()])
        );
        assert_eq!(
            literals(&format!("ab{branch}|xy{branch}")).map(|l| l.len()),
            Some(64)
        );
    }

    #[test]
    fn no_literal_no_match() {
        let r = RequiredLiterals::of(&parse(r"process\.(?:env|argv)")).expect("literals");
        assert!(r.may_match(b"x PROCESS.Env y"));
        assert!(!r.may_match(b"process.y"));
        assert!(!r.may_match(b"proces.env"));
    }

    /// Pattern pieces over a small alphabet, so that matches are common;
    /// the ones that do not parse together are skipped.
    const PIECES: &[&str] = &[
        "a",
        "b",
        "A",
        "B",
        "ab",
        "ba",
        ".",
        r"\.",
        "[ab]",
        "[aA]",
        "[aAbB]",
        r"\.{2,3}",
        "(?i)",
        "(?:ab|ba)",
        "(?:a|b.)",
        "(?:ab)",
        "(?:ab.*)",
        "(?:|a)",
        "(",
        ")",
        "|",
        "+",
        "+",
        "*",
        "?",
        "{2}",
        "{1,3}",
        "^",
        "$",
        r"\b",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20000))]

        /// Wherever a pattern matches, its literals are found: over
        /// patterns and inputs from a small alphabet, where matches are
        /// common.
        #[test]
        fn a_match_always_holds_a_literal(
            pieces in proptest::collection::vec(proptest::sample::select(PIECES), 1..10),
            input in "[abAB. ]{0,24}",
        ) {
            let pattern = pieces.concat();
            let Ok(hir) = regex_automata::util::syntax::parse_with(&pattern, &crate::build::regex::syntax_config()) else {
                return Ok(());
            };
            let Some(required) = RequiredLiterals::of(&hir) else {
                return Ok(());
            };
            let regex = regex_automata::meta::Regex::builder()
                .syntax(crate::build::regex::syntax_config())
                .build(&pattern);
            let Ok(regex) = regex else {
                return Ok(());
            };
            if regex.is_match(input.as_bytes()) {
                prop_assert!(required.may_match(input.as_bytes()), "{pattern} on {input:?}");
            }
        }
    }
}
