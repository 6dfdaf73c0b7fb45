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

/// The gate pattern of a planned rule: its `@rx` source (for a positive
/// rule, loosened at the start of the value: see [`super::loosen`]), its
/// `@pm` phrases as one alternation, or the bytes its
/// `@validateByteRange` forbids as one class.
pub(super) fn pattern(rule: &Rule) -> String {
    match &rule.operator.kind {
        OperatorKind::Rx(rx) if !rule.operator.negated => {
            super::loosen::loosened_start(&rx.source).unwrap_or_else(|| rx.source.clone())
        }
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
///
/// The phrases are written as a trie (`(?i:a(?:b|cd)|x)`), not as one
/// branch each: the regex parser factors a prefix out of an alternation
/// only when every branch shares it, and the compiler's own trie takes
/// plain literals only (a case-insensitive letter is a class). Flat, every
/// state of the lazy DFA carried each list's whole alternation (its
/// unanchored start), so each state a new value needed was costly to
/// build, the more so the more lists a set holds; CRS's largest lists hold
/// hundreds of phrases, and random text such as session ids keeps needing
/// new states. A phrase that another one starts with is left out: the
/// gate asks whether any phrase occurs, and the shorter one occurs
/// wherever the longer one does.
fn phrase_pattern(phrases: &[String]) -> String {
    let mut trie = PhraseTrie::default();
    for phrase in phrases {
        trie.insert(phrase.as_bytes());
    }
    trie.pattern().unwrap_or_else(|| flat_alternation(phrases))
}

/// The phrases as one branch each: the pattern for a list whose trie
/// nests too deep for the regex parser (see [`TRIE_MAX_NESTING`]).
fn flat_alternation(phrases: &[String]) -> String {
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

/// Deepest nesting of groups a trie pattern may have: the regex parser
/// refuses patterns nested deeper than 250. CRS's lists nest at most a few
/// dozen deep.
const TRIE_MAX_NESTING: usize = 200;

/// A trie of phrases by ASCII-lower-cased byte (see [`phrase_pattern`]),
/// its nodes in one vector so that neither building, writing nor dropping
/// it recurses (a phrase may be thousands of bytes long).
struct PhraseTrie {
    nodes: Vec<TrieNode>,
}

#[derive(Default)]
struct TrieNode {
    /// A phrase ends here: whatever follows cannot matter.
    ends: bool,
    /// The next bytes and their nodes, in order, so the pattern is
    /// deterministic.
    next: std::collections::BTreeMap<u8, usize>,
}

impl Default for PhraseTrie {
    fn default() -> PhraseTrie {
        PhraseTrie {
            nodes: vec![TrieNode::default()],
        }
    }
}

impl PhraseTrie {
    fn insert(&mut self, phrase: &[u8]) {
        let mut at = 0;
        for &byte in phrase {
            let fresh = self.nodes.len();
            let Some(node) = self.nodes.get_mut(at) else {
                return;
            };
            if node.ends {
                return;
            }
            at = *node.next.entry(byte.to_ascii_lowercase()).or_insert(fresh);
            if at == fresh {
                self.nodes.push(TrieNode::default());
            }
        }
        if let Some(node) = self.nodes.get_mut(at) {
            node.ends = true;
            node.next.clear();
        }
    }

    /// The pattern: a case-insensitive alternation of what may follow the
    /// root, each branch followed by the alternation of what may follow
    /// it. `None` when groups would nest deeper than
    /// [`TRIE_MAX_NESTING`].
    fn pattern(&self) -> Option<String> {
        let root = self.nodes.first()?;
        if !root.ends && root.next.is_empty() {
            // No phrase: `@pm` with an empty list matches nothing.
            return Some(String::from(NOTHING));
        }
        let mut out = String::from("(?i:");
        let mut groups = 0;
        let mut open = vec![OpenNode::enter(root, &mut out, &mut groups)];
        while let Some(node) = open.last_mut() {
            let Some((&byte, &child)) = node.branches.next() else {
                if node.group {
                    out.push(')');
                    groups -= 1;
                }
                open.pop();
                continue;
            };
            if !std::mem::take(&mut node.first) {
                out.push('|');
            }
            push_byte(&mut out, byte);
            let child = self.nodes.get(child)?;
            open.push(OpenNode::enter(child, &mut out, &mut groups));
            if groups > TRIE_MAX_NESTING {
                return None;
            }
        }
        out.push(')');
        Some(out)
    }
}

/// A node [`PhraseTrie::pattern`] is writing the branches of.
struct OpenNode<'a> {
    branches: std::collections::btree_map::Iter<'a, u8, usize>,
    /// It has more than one branch, so opened a group.
    group: bool,
    /// No branch written yet.
    first: bool,
}

impl<'a> OpenNode<'a> {
    fn enter(node: &'a TrieNode, out: &mut String, groups: &mut usize) -> OpenNode<'a> {
        let group = !node.ends && node.next.len() > 1;
        if group {
            out.push_str("(?:");
            *groups += 1;
        }
        OpenNode {
            branches: node.next.iter(),
            group,
            first: true,
        }
    }
}

/// Writes `byte` as a pattern that matches it (and, under `(?i)`, its other
/// ASCII case).
fn push_byte(out: &mut String, byte: u8) {
    if byte.is_ascii_graphic() || byte == b' ' {
        out.push_str(&regex_syntax::escape(
            char::from(byte).encode_utf8(&mut [0; 4]),
        ));
    } else {
        // A byte, not a character: the syntax is not Unicode-aware (see
        // `syntax_config`). Writing to a String cannot fail.
        let _ = std::fmt::Write::write_fmt(out, format_args!("\\x{byte:02x}"));
    }
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

    fn phrases(list: &[&str]) -> Vec<String> {
        list.iter().map(|p| p.to_string()).collect()
    }

    /// What `@pm` answers: any phrase anywhere, ASCII case folded.
    fn pm_matches(list: &[String], value: &[u8]) -> bool {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(list)
            .expect("builds")
            .is_match(value)
    }

    #[test]
    fn a_phrase_list_is_written_as_a_trie_without_phrases_that_start_with_another() {
        let list = phrases(&["abc", "ab", "aD", "Ac", "b.c", "x"]);
        assert_eq!(phrase_pattern(&list), "(?i:(?:a(?:b|c|d)|b\\.c|x))");
        assert_eq!(phrase_pattern(&phrases(&["only"])), "(?i:only)");
        assert_eq!(phrase_pattern(&[]), NOTHING);
    }

    #[test]
    fn a_phrase_gate_matches_exactly_where_the_phrase_list_does() {
        let lists = [
            phrases(&["select", "sel", "SELECT from", "union all", "union"]),
            phrases(&[
                "/etc/passwd",
                "/etc/shadow",
                ".htaccess",
                "(paren",
                "a|b",
                "[x]",
            ]),
            phrases(&[
                "caf\u{e9}",
                "cafe",
                "\u{fc}ber",
                "tab\there",
                "sp ace",
                "$var",
                "^up",
            ]),
            phrases(&["a", "ab", "abc"]),
        ];
        let values: [&[u8]; 16] = [
            b"",
            b"SeLeCt * from t",
            b"se lect",
            b"UNION ALL",
            b"unio",
            b"cat /ETC/PASSWD",
            b"/etc/pass",
            b"x (paren y",
            b"a|b",
            b"ab",
            b"[X]",
            "CAF\u{c9}".as_bytes(),
            "caf\u{e9}".as_bytes(),
            "\u{dc}ber".as_bytes(),
            b"TAB\tHERE",
            b"$VAR ^UP sp ace",
        ];
        for list in &lists {
            let set = set_of(&phrase_pattern(list));
            for value in values {
                assert_eq!(
                    set.is_match(value),
                    pm_matches(list, value),
                    "{list:?} {value:?}"
                );
            }
        }
    }

    #[test]
    fn a_phrase_list_nesting_too_deep_for_the_parser_is_written_flat() {
        // "y", "xy", "xxy", ...: every node on the path of x's branches.
        let list: Vec<String> = (0..300).map(|n| format!("{}y", "x".repeat(n))).collect();
        let pattern = phrase_pattern(&list);
        assert_eq!(pattern, flat_alternation(&list));
        let set = set_of(&pattern);
        for value in [
            format!("{}y", "x".repeat(299)),
            "x".repeat(400),
            "XXY".to_string(),
        ] {
            assert_eq!(
                set.is_match(value.as_bytes()),
                pm_matches(&list, value.as_bytes())
            );
        }
        // Shallower, the same list is a trie.
        assert_ne!(phrase_pattern(&list[..100]), flat_alternation(&list[..100]));
    }
}
