//! Literal searches that spare a sweep the walk of a long value.
//!
//! A set's automaton walks every byte of every distinct copy its readers
//! read, however few patterns read a given copy. The bench's 4 KiB form
//! POST has its free text walked eight times per exchange (two sets, four
//! copies each), and three of those walks are for one to six patterns:
//! CRS's 931110 alone reads the `t:urlDecodeUni` copy in its set, 933200
//! alone another, and 920260, 921110 and 944100–944130 the untransformed
//! text in theirs. Each of those patterns cannot match without one of a
//! few literals (`CompiledRegex::required`, or an `@pm`'s own phrases).
//! When every pattern reading a long copy has such literals and the copy
//! holds none of them, the copy is a miss for all its readers, and a
//! packed (SIMD, Teddy) search of a lower-cased copy for the readers'
//! literals says so without the walk. Measured (callgrind, PL1): the form
//! POST 842 k → 750 k instructions per exchange; the other cases have no
//! such long copies. Searching with each pattern's own case-insensitive
//! Aho-Corasick automaton instead cost more than the walks it saved
//! (1,546 k).

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::packed::Searcher;
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::program::{CompiledRuleset, GatePlan};

/// Copies shorter than this are walked whatever their readers: the batch
/// walk and the thread's memo of values answer them cheaply.
pub(super) const MIN_LEN: usize = 256;

/// Readers whose patterns need more literals than this are not filtered:
/// each 64 literals take one more search.
const MAX_LITERALS: usize = 128;

/// A packed searcher takes at most this many literals (Teddy's limit).
const PER_SEARCH: usize = 64;

/// The searches for the literals some reader's patterns need (one per
/// [`PER_SEARCH`] literals), shared by the readers with the same patterns.
type Searches = Arc<[Searcher]>;

/// By set, target of the set and reader of the target (as
/// `GatePlan::set_targets`): searches for the literals the reader's
/// patterns need, when every one of them needs some.
#[derive(Debug, Default)]
pub(crate) struct SweepLiterals {
    readers: Vec<Vec<Vec<Option<Searches>>>>,
    /// By `link_index`, for the links of `multiMatch` groups: the search
    /// for the literals the link's pattern needs (see
    /// [`SweepLiterals::link_rules_out`]).
    multi_match: Vec<Option<Searches>>,
}

impl SweepLiterals {
    pub(crate) fn build(plan: &GatePlan, rules: &CompiledRuleset) -> SweepLiterals {
        // What each rule link's pattern needs, lower-cased, by `link_index`.
        let mut by_link: Vec<Option<Vec<Vec<u8>>>> = Vec::new();
        by_link.resize_with(rules.link_count, || None);
        for link in rules.rules().flat_map(|rule| rule.links()) {
            if link.operator.negated {
                continue;
            }
            let needed: Option<Vec<Vec<u8>>> = match &link.operator.kind {
                OperatorKind::Rx(rx) => rx.required.as_ref().map(|r| r.literals().to_vec()),
                OperatorKind::Pm(set) => Some(
                    set.phrases
                        .iter()
                        .map(|p| p.as_bytes().to_ascii_lowercase())
                        .collect(),
                ),
                _ => None,
            };
            // An empty literal is in every value.
            let needed = needed.filter(|n| !n.is_empty() && n.iter().all(|l| !l.is_empty()));
            if let (Some(needed), Some(slot)) = (needed, by_link.get_mut(link.link_index)) {
                *slot = Some(needed);
            }
        }
        // The link of each pattern, by set.
        let mut links: Vec<Vec<Option<usize>>> = plan
            .sets
            .iter()
            .map(|set| vec![None; set.get().map_or(0, |s| s.pattern_len())])
            .collect();
        for group in &plan.groups {
            for (i, &link) in group.members.iter().enumerate() {
                let slot = links
                    .get_mut(group.set)
                    .and_then(|set| set.get_mut(group.first_pattern + i));
                if let Some(slot) = slot {
                    *slot = Some(link);
                }
            }
        }
        let searches = |set: usize, patterns: &[usize]| -> Option<Searches> {
            let mut literals: Vec<&[u8]> = Vec::new();
            for &p in patterns {
                let link = (*links.get(set)?.get(p)?)?;
                literals.extend(by_link.get(link)?.as_ref()?.iter().map(Vec::as_slice));
            }
            search_for(literals.into_iter())
        };
        // The readers of one set's targets with the same patterns (the
        // same chain on `ARGS`, `ARGS_NAMES`, `REQUEST_COOKIES`…) share
        // their searches.
        let mut built: HashMap<(usize, &[usize]), Option<Searches>> = HashMap::new();
        let readers = plan
            .set_targets
            .iter()
            .enumerate()
            .map(|(set, targets)| {
                targets
                    .iter()
                    .map(|target| {
                        target
                            .readers
                            .iter()
                            .map(|reader| {
                                built
                                    .entry((set, reader.patterns.as_slice()))
                                    .or_insert_with(|| searches(set, &reader.patterns))
                                    .clone()
                            })
                            .collect()
                    })
                    .collect()
            })
            .collect();
        let mut multi_match: Vec<Option<Searches>> = Vec::new();
        multi_match.resize_with(rules.link_count, || None);
        for group in plan.groups.iter().filter(|g| g.multi_match) {
            for &link in &group.members {
                let search = by_link
                    .get(link)
                    .and_then(Option::as_ref)
                    .and_then(|literals| search_for(literals.iter().map(Vec::as_slice)));
                if let Some(slot) = multi_match.get_mut(link) {
                    *slot = search;
                }
            }
        }
        SweepLiterals {
            readers,
            multi_match,
        }
    }

    /// Whether the pattern of `multiMatch` link `link` can be ruled out on
    /// its literals ([`SweepLiterals::link_rules_out`]).
    pub(super) fn filters_link(&self, link: usize) -> bool {
        self.link_searches(link).is_some()
    }

    /// Whether the pattern of `multiMatch` link `link` cannot match bytes
    /// whose ASCII-lower-cased form is `lowered`: none of its literals is
    /// there. A long step result that no other chain's scan covered was
    /// walked by the link's whole set: CRS's 934100 after
    /// `t:removeWhitespace` on the bench's 4 KiB form, 48 k instructions
    /// against 6 k for lower-casing and this search.
    pub(super) fn link_rules_out(&self, link: usize, lowered: &[u8]) -> bool {
        self.link_searches(link)
            .is_some_and(|searches| none_found(searches, lowered))
    }

    /// Whether reader `reader` of target `target` of set `set` is filtered.
    pub(super) fn filters(&self, set: usize, target: usize, reader: usize) -> bool {
        self.searches(set, target, reader).is_some()
    }

    /// Whether none of the patterns of reader `reader` of target `target`
    /// of set `set` can match bytes whose ASCII-lower-cased form is
    /// `lowered`: `false` when they may, or when the reader is not
    /// filtered.
    pub(super) fn rules_out(
        &self,
        set: usize,
        target: usize,
        reader: usize,
        lowered: &[u8],
    ) -> bool {
        self.searches(set, target, reader)
            .is_some_and(|searches| none_found(searches, lowered))
    }

    fn searches(&self, set: usize, target: usize, reader: usize) -> Option<&[Searcher]> {
        self.readers.get(set)?.get(target)?.get(reader)?.as_deref()
    }

    fn link_searches(&self, link: usize) -> Option<&[Searcher]> {
        self.multi_match.get(link)?.as_deref()
    }
}

/// Whether none of `searches` finds its literals in `lowered`.
fn none_found(searches: &[Searcher], lowered: &[u8]) -> bool {
    searches.iter().all(|s| s.find(lowered).is_none())
}

/// The searches for `literals` (lower-cased), one per [`PER_SEARCH`] of
/// them: `None` for none or too many, or where no packed searcher can be
/// built (a CPU without the vector instructions Teddy needs).
fn search_for<'l>(literals: impl Iterator<Item = &'l [u8]>) -> Option<Searches> {
    let mut literals: Vec<&[u8]> = literals.collect();
    literals.sort_unstable();
    literals.dedup();
    if literals.is_empty() || literals.len() > MAX_LITERALS {
        return None;
    }
    literals
        .chunks(PER_SEARCH)
        .map(|chunk| Searcher::new(chunk.iter().copied()))
        .collect()
}
