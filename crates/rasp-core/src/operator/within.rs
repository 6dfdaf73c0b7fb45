//! `@within` against lists the engine knows at build time.
//!
//! Why: CRS checks each request header's name (920450), the method
//! (911100), the protocol (920430) and more against space-separated lists
//! in TX (`%{tx.restricted_headers_basic}`: about 180 bytes) with
//! `@within`, a substring search of the value in the list. A general
//! search (`memchr::memmem`) prepares a searcher for each needle, about
//! 600 instructions, to search a short list once: a dozen headers made
//! that about 1 % of a benign GET's instructions. The lists are set by
//! CRS's initialisation rules, which the engine plays once
//! (`transaction::prelude`): a suffix automaton of each such list, built
//! with the engine, answers in one table step per byte of the value. A
//! list changed by the transaction (a user's rule, `ctl`) no longer equals
//! the indexed text and is searched as before.

use crs_compiler::ir::macros::MacroString;
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::program::CompiledRuleset;

use crate::variables::collections::Collection;

/// Longest list indexed: the automaton has up to twice as many states as
/// the text has bytes, a row of byte classes each.
const MAX_TEXT: usize = 4096;

/// Every substring of one text, as a suffix automaton: a byte string is
/// a substring exactly when its walk from the start state never leaves
/// the automaton.
#[derive(Debug)]
pub(crate) struct SubstringIndex {
    text: Box<[u8]>,
    /// The class of each byte value; 0 for bytes the text lacks.
    classes: [u8; 256],
    /// Classes per state row (distinct bytes of the text, plus class 0).
    stride: usize,
    /// `next[state * stride + class]`: the next state, [`NONE`] for none.
    next: Box<[u32]>,
}

const NONE: u32 = u32::MAX;

impl SubstringIndex {
    /// The index of `text`; `None` for a text longer than [`MAX_TEXT`] or
    /// with more distinct bytes than classes can number.
    pub(crate) fn new(text: &[u8]) -> Option<SubstringIndex> {
        if text.len() > MAX_TEXT {
            return None;
        }
        let mut classes = [0u8; 256];
        let mut stride = 1usize;
        for &b in text {
            let class = &mut classes[usize::from(b)];
            if *class == 0 {
                *class = u8::try_from(stride).ok()?;
                stride += 1;
            }
        }
        // Blumer et al.'s online construction: state 0 is the empty string;
        // each state has the length of its longest string and a suffix link.
        let mut next: Vec<u32> = vec![NONE; stride];
        let mut len: Vec<usize> = vec![0];
        let mut link: Vec<Option<usize>> = vec![None];
        let mut last = 0usize;
        for &b in text {
            let c = usize::from(classes[usize::from(b)]);
            let cur = len.len();
            len.push(len[last] + 1);
            link.push(Some(0));
            next.extend(std::iter::repeat_n(NONE, stride));
            let mut p = Some(last);
            while let Some(s) = p.filter(|&s| next[s * stride + c] == NONE) {
                next[s * stride + c] = cur as u32;
                p = link[s];
            }
            if let Some(s) = p {
                let q = next[s * stride + c] as usize;
                if len[s] + 1 == len[q] {
                    link[cur] = Some(q);
                } else {
                    let clone = len.len();
                    len.push(len[s] + 1);
                    link.push(link[q]);
                    next.extend_from_within(q * stride..(q + 1) * stride);
                    let mut p = Some(s);
                    while let Some(s) = p.filter(|&s| next[s * stride + c] == q as u32) {
                        next[s * stride + c] = clone as u32;
                        p = link[s];
                    }
                    link[q] = Some(clone);
                    link[cur] = Some(clone);
                }
            }
            last = cur;
        }
        Some(SubstringIndex {
            text: text.into(),
            classes,
            stride,
            next: next.into(),
        })
    }

    /// The indexed text.
    pub(crate) fn text(&self) -> &[u8] {
        &self.text
    }

    /// Whether `needle` occurs in the text.
    pub(crate) fn contains(&self, needle: &[u8]) -> bool {
        let mut state = 0usize;
        for &b in needle {
            let class = usize::from(self.classes[usize::from(b)]);
            if class == 0 {
                return false;
            }
            match self.next.get(state * self.stride + class) {
                Some(&s) if s != NONE => state = s as usize,
                _ => return false,
            }
        }
        true
    }
}

/// The indexes of the TX lists that `@within` operators read whole
/// (`@within %{tx.name}`) and the engine's TX prelude sets.
#[derive(Debug, Default)]
pub(crate) struct WithinLists {
    /// (TX member name, index of its value after the prelude).
    lists: Vec<(Box<[u8]>, SubstringIndex)>,
}

impl WithinLists {
    /// Indexes the value in `tx` (TX after the prelude) of every member
    /// some `@within` of `rules` reads whole.
    pub(crate) fn build(rules: &CompiledRuleset, tx: &Collection) -> WithinLists {
        let mut lists: Vec<(Box<[u8]>, SubstringIndex)> = Vec::new();
        let links = rules
            .phases
            .iter()
            .flat_map(|program| program.entries.iter())
            .filter_map(|entry| match entry {
                crs_compiler::ir::rule::Entry::Rule(head) => Some(head),
                _ => None,
            })
            .flat_map(|head| head.links());
        for link in links {
            let OperatorKind::Within(m) = &link.operator.kind else {
                continue;
            };
            let Some(key) = m.as_tx_member() else {
                continue;
            };
            if lists.iter().any(|(k, _)| **k == *key.as_bytes()) {
                continue;
            }
            if let Some(index) = tx.get(key.as_bytes()).and_then(SubstringIndex::new) {
                lists.push((key.as_bytes().into(), index));
            }
        }
        WithinLists { lists }
    }

    /// Where the index for `@within m` is, for [`WithinLists::at`], when
    /// `m` reads one TX member whole and `list`, its value now, is the
    /// indexed text.
    pub(crate) fn position_for(&self, m: &MacroString, list: &[u8]) -> Option<usize> {
        let key = m.as_tx_member()?;
        self.lists
            .iter()
            .position(|(k, index)| **k == *key.as_bytes() && index.text() == list)
    }

    /// The index at `position` (see [`WithinLists::position_for`]).
    pub(crate) fn at(&self, position: usize) -> Option<&SubstringIndex> {
        self.lists.get(position).map(|(_, index)| index)
    }
}

#[cfg(test)]
mod tests {
    use crs_compiler::ir::macros::MacroPart;
    use crs_compiler::ir::variable::Variable;

    use super::*;

    #[test]
    fn finds_exactly_the_substrings_of_a_crs_list() {
        let list = b"/content-encoding/ /proxy/ /lock-token/ /content-range/ /if/ /x-http-method-override/";
        let index = SubstringIndex::new(list).expect("short list");
        for needle in [
            &b"/proxy/"[..],
            b"/if/",
            b"",
            b"ent-r",
            list,
            b"/x-http-method-override/",
        ] {
            assert!(index.contains(needle), "{needle:?}");
        }
        for needle in [
            &b"/host/"[..],
            b"/proxy//",
            b"/If/",
            b"/content-type/",
            b"\0",
        ] {
            assert!(!index.contains(needle), "{needle:?}");
        }
    }

    #[test]
    fn a_list_too_long_is_not_indexed() {
        assert!(SubstringIndex::new(&[b'a'; MAX_TEXT + 1]).is_none());
        assert!(SubstringIndex::new(&[b'a'; MAX_TEXT]).is_some());
    }

    /// The ids of the rules that matched `GET /?h=<value>`.
    fn matched(engine: &crate::Engine, value: &str) -> Vec<u32> {
        let mut tx = engine.transaction();
        tx.process_uri(b"GET", format!("/?h={value}").as_bytes(), b"HTTP/1.1");
        tx.add_request_header(b"Host", b"example.com");
        let _ = tx.process_request_headers();
        tx.matches().iter().map(|m| m.id).collect()
    }

    #[test]
    fn the_engine_indexes_the_prelude_lists_and_searches_a_changed_list() {
        let rules = r#"
SecAction "id:1,phase:1,pass,nolog,setvar:'tx.list=/proxy/ /if/'"
SecRule ARGS:h "@within %{tx.list}" "id:2,phase:1,pass,log"
SecRule ARGS:h "@streq /x/" "id:3,phase:1,pass,nolog,setvar:'tx.list=/x/ /y/'"
SecRule ARGS:h "@within %{tx.list}" "id:4,phase:1,pass,log"
"#;
        let compiled = crs_compiler::Compiler::new()
            .add_str("within.conf", rules)
            .compile()
            .unwrap_or_else(|e| panic!("{e}"));
        let engine = crate::Engine::new(std::sync::Arc::new(compiled));
        let lists = &engine.prelude.within;
        let list = MacroString {
            parts: vec![MacroPart::Var {
                variable: Variable::Tx,
                key: Some("list".into()),
            }],
        };
        assert!(lists
            .position_for(&list, b"/proxy/ /if/")
            .and_then(|i| lists.at(i))
            .is_some());
        assert!(lists.position_for(&list, b"/x/ /y/").is_none());
        assert_eq!(matched(&engine, "/if/"), [2, 4]);
        assert_eq!(matched(&engine, "/host/"), Vec::<u32>::new());
        // Rule 3 changes the list: rule 4 reads the new one.
        assert_eq!(matched(&engine, "/x/"), [4]);
    }

    proptest::proptest! {
        #[test]
        fn answers_as_a_substring_search_does(
            text in proptest::collection::vec(proptest::sample::select(vec![b'a', b'b', b'/', b' ', 0xff]), 0..80),
            needle in proptest::collection::vec(proptest::sample::select(vec![b'a', b'b', b'/', b'c']), 0..6),
        ) {
            let index = SubstringIndex::new(&text).expect("short text");
            let expected = needle.is_empty() || text.windows(needle.len()).any(|w| w == needle.as_slice());
            proptest::prop_assert_eq!(index.contains(&needle), expected);
            // Every substring of the text is found.
            for start in 0..text.len() {
                for end in start..=text.len().min(start + 8) {
                    proptest::prop_assert!(index.contains(&text[start..end]));
                }
            }
        }
    }
}
