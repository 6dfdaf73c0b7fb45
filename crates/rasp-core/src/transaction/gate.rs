//! Multi-pattern gates, per value: one scan of a transformed value answers
//! for every gated rule of the phase which of their patterns match it,
//! whichever transformation chain produced those bytes.

use std::cell::RefCell;
use std::collections::HashMap;

use crs_compiler::program::{GatePlan, GateRef};
use foldhash::fast::RandomState;
use regex_automata::{Input, PatternID, PatternSet};

/// Transformed value (address, length) and set → the set's patterns that
/// hit it.
type ScanResults = HashMap<(usize, usize, usize), Option<PatternSet>, RandomState>;

/// Scan results for this phase, keyed by the address and length of the
/// transformed bytes and the set. Those bytes are exchange data or copies
/// the transformation cache keeps, both unchanged until the phase ends;
/// most chains leave an ordinary value as it is, or end in the same
/// cached copy, so a value is scanned once per set, not once per chain.
/// Cleared at every phase start.
#[derive(Debug, Default)]
pub(super) struct GateCache {
    /// `None`: no pattern of the group matched (the common case, kept
    /// without allocating a set).
    results: RefCell<ScanResults>,
    /// Per group: the patterns of its set that hit any value of the
    /// group's targets after the group's transformations.
    any: RefCell<HashMap<usize, PatternSet, RandomState>>,
}

impl GateCache {
    /// A cache sized for a request phase under CRS (each value is scanned
    /// by a handful of groups), so it does not rehash while filling up.
    pub(super) fn new() -> GateCache {
        GateCache {
            results: RefCell::new(HashMap::with_capacity_and_hasher(
                256,
                RandomState::default(),
            )),
            any: RefCell::default(),
        }
    }

    pub(super) fn reset(&self) {
        self.results.borrow_mut().clear();
        self.any.borrow_mut().clear();
    }

    /// Whether the gate's pattern matches `transformed`, a value after
    /// the gate's transformations that stays put for the phase (see
    /// [`GateCache`]). The scan is exact (an overlapping search reports
    /// every pattern that matches), so this is the operator's own answer;
    /// `None` when there is no scan to ask (a set that did not compile).
    pub(super) fn pattern_matches(
        &self,
        plan: &GatePlan,
        gate: GateRef,
        transformed: &[u8],
    ) -> Option<bool> {
        let set = plan.sets.get(gate.set).and_then(|s| s.get())?;
        let pattern = PatternID::new_unchecked(gate.pattern);
        Some(self.with_scan(set, gate.set, transformed, |set| {
            set.is_some_and(|s| s.contains(pattern))
        }))
    }

    /// Runs `f` on the (cached) scan of `transformed`, which stays put for
    /// the phase, by set `index`.
    fn with_scan<R>(
        &self,
        set: &regex_automata::meta::Regex,
        index: usize,
        transformed: &[u8],
        f: impl FnOnce(Option<&PatternSet>) -> R,
    ) -> R {
        let mut results = self.results.borrow_mut();
        let key = (transformed.as_ptr() as usize, transformed.len(), index);
        let scanned = results.entry(key).or_insert_with(|| scan(set, transformed));
        f(scanned.as_ref())
    }
}

impl super::Transaction {
    /// Whether a gated rule can match at all this phase: its pattern hit
    /// at least one value of its group's targets. Scanning those values
    /// fills the per-value cache that [`GateCache::pattern_matches`] reads later.
    pub(super) fn rule_may_match(&self, gate: GateRef) -> bool {
        let plan = &self.engine.plan;
        let Some(group) = plan.groups.get(gate.group) else {
            return true;
        };
        let Some(set) = plan.sets.get(gate.set).and_then(|s| s.get()) else {
            return true;
        };
        let pattern = PatternID::new_unchecked(gate.pattern);
        if let Some(any) = self.gates.any.borrow().get(&gate.group) {
            return any.contains(pattern);
        }
        let mut any = PatternSet::new(set.pattern_len());
        let scope = self.scope(None);
        let mut values = Vec::with_capacity(32);
        for t in &group.targets {
            crate::variables::collect_target(&scope, t, &|_, _| false, &mut values);
        }
        let mut add = |set: Option<&PatternSet>| {
            for p in set.into_iter().flat_map(PatternSet::iter) {
                let _ = any.try_insert(p);
            }
        };
        for v in values {
            let key = super::rule::cache_key(&v);
            let current = self.tcache.apply(v.value, &group.transforms, key.is_some());
            match key {
                Some(_) => self.gates.with_scan(set, gate.set, &current, &mut add),
                // Values without a stable address are never gated per
                // value: count their hits here only.
                None => add(scan(set, &current).as_ref()),
            }
        }
        let hit = any.contains(pattern);
        self.gates.any.borrow_mut().insert(gate.group, any);
        hit
    }
}

/// Which patterns of `set` match `value`, `None` for none. Most values
/// match none: an earliest-match search, which stops at the first hit and
/// is cheaper per byte than an overlapping one, answers that case first.
fn scan(set: &regex_automata::meta::Regex, value: &[u8]) -> Option<PatternSet> {
    if !set.is_match(Input::new(value)) {
        return None;
    }
    let mut out = PatternSet::new(set.pattern_len());
    set.which_overlapping_matches(&Input::new(value), &mut out);
    Some(out)
}
