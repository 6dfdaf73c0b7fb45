//! Multi-pattern gates, per value: one scan of a transformed value answers
//! for every rule of the phase that shares the transformation chain which
//! of their patterns can match it.

use std::cell::RefCell;
use std::collections::HashMap;

use crs_compiler::program::{CompiledRuleset, GateRef};
use foldhash::fast::RandomState;
use regex_automata::{Input, PatternID, PatternSet};

/// Scan results for this phase, keyed by the value's address and length
/// (values borrowed from the exchange data stay put during a phase) and
/// the group. Cleared at every phase start.
#[derive(Debug, Default)]
pub(super) struct GateCache {
    results: RefCell<HashMap<(usize, usize, usize), PatternSet, RandomState>>,
}

impl GateCache {
    pub(super) fn reset(&self) {
        self.results.borrow_mut().clear();
    }

    /// Whether the gate's pattern can match `transformed`, the value at
    /// `origin` (address, length) after the group's transformations.
    pub(super) fn allows(
        &self,
        rules: &CompiledRuleset,
        gate: GateRef,
        origin: (usize, usize),
        transformed: &[u8],
    ) -> bool {
        let Some(group) = rules.groups.get(gate.group) else {
            return true;
        };
        let pattern = PatternID::new_unchecked(gate.pattern);
        let key = (origin.0, origin.1, gate.group);
        if let Some(set) = self.results.borrow().get(&key) {
            return set.contains(pattern);
        }
        let mut set = PatternSet::new(group.set.pattern_len());
        group.set.which_overlapping_matches(&Input::new(transformed), &mut set);
        let hit = set.contains(pattern);
        self.results.borrow_mut().insert(key, set);
        hit
    }
}
