//! Multi-pattern gates, per value: one scan of a transformed value answers
//! for every rule of the phase that shares the transformation chain which
//! of their patterns can match it.

use std::cell::RefCell;
use std::collections::HashMap;

use crs_compiler::program::{GatePlan, GateRef};
use foldhash::fast::RandomState;
use regex_automata::{Input, PatternID, PatternSet};

/// Value (address, length) and group → the group's patterns that hit it.
type ScanResults = HashMap<(usize, usize, usize), Option<PatternSet>, RandomState>;

/// Scan results for this phase, keyed by the value's address and length
/// (values borrowed from the exchange data stay put during a phase) and
/// the group. Cleared at every phase start.
#[derive(Debug, Default)]
pub(super) struct GateCache {
    /// `None`: no pattern of the group matched (the common case, kept
    /// without allocating a set).
    results: RefCell<ScanResults>,
    /// Per group: the patterns that hit any value of the group's targets.
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

    /// Whether the gate's pattern matches `transformed`, the value at
    /// `origin` (address, length) after the group's transformations. The
    /// scan is exact (an overlapping search reports every pattern that
    /// matches), so this is the operator's own answer; `None` when there
    /// is no scan to ask (a set that did not compile).
    pub(super) fn pattern_matches(
        &self,
        plan: &GatePlan,
        gate: GateRef,
        origin: (usize, usize),
        transformed: &[u8],
    ) -> Option<bool> {
        let set = plan.groups.get(gate.group).and_then(|g| g.set.get())?;
        let pattern = PatternID::new_unchecked(gate.pattern);
        Some(self.with_scan(set, gate.group, origin, transformed, |set| {
            set.is_some_and(|s| s.contains(pattern))
        }))
    }

    /// Runs `f` on the (cached) scan of `transformed` by group `index`.
    fn with_scan<R>(
        &self,
        set: &regex_automata::meta::Regex,
        index: usize,
        origin: (usize, usize),
        transformed: &[u8],
        f: impl FnOnce(Option<&PatternSet>) -> R,
    ) -> R {
        let mut results = self.results.borrow_mut();
        let scanned = results
            .entry((origin.0, origin.1, index))
            .or_insert_with(|| scan(set, transformed));
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
        let Some(set) = group.set.get() else {
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
                Some(key) => self
                    .gates
                    .with_scan(set, gate.group, key, &current, &mut add),
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
