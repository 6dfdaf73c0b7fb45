//! Multi-pattern gates: one scan of each value decides which rules of a
//! group can match at all.

use crs_compiler::program::{CompiledRuleset, GateRef};
use regex_automata::{Input, PatternSet};

use super::Transaction;
use crate::variables::{collect_target, Value};

/// Per-phase results of the gates, computed lazily at the first rule of
/// each group. Values do not change within a phase for gated targets (the
/// compiler never gates TX, MATCHED_VAR and other mutable variables).
#[derive(Debug)]
pub(super) struct GateCache {
    results: Vec<Option<PatternSet>>,
}

impl GateCache {
    pub(super) fn new(groups: usize) -> GateCache {
        GateCache { results: (0..groups).map(|_| None).collect() }
    }

    pub(super) fn reset(&mut self) {
        for r in &mut self.results {
            *r = None;
        }
    }
}

impl Transaction {
    /// True when the gate says the rule may match.
    pub(super) fn gate_allows(&mut self, rules: &CompiledRuleset, gate: GateRef) -> bool {
        let Some(group) = rules.groups.get(gate.group) else {
            return true;
        };
        if self.gates.results.get(gate.group).is_some_and(Option::is_none) {
            let set = {
                let scope = self.scope_without_rule();
                let excluded = |var, name: &[u8]| {
                    group.exclusions.iter().any(|e| e.variable == var && e.selector.matches(name))
                };
                let mut values: Vec<Value<'_>> = Vec::new();
                for t in &group.targets {
                    collect_target(&scope, t, &excluded, &mut values);
                }
                let mut set = PatternSet::new(group.set.pattern_len());
                for v in values {
                    let stable = super::rule::value_is_stable(&v.name);
                    let current = self.tcache.apply(v.value, &group.transforms, stable);
                    group.set.which_overlapping_matches(&Input::new(&*current), &mut set);
                    if set.is_full() {
                        break;
                    }
                }
                set
            };
            if let Some(slot) = self.gates.results.get_mut(gate.group) {
                *slot = Some(set);
            }
        }
        match self.gates.results.get(gate.group) {
            Some(Some(set)) => set.contains(regex_automata::PatternID::new_unchecked(gate.pattern)),
            _ => true,
        }
    }

    fn scope_without_rule(&self) -> crate::variables::Scope<'_> {
        crate::variables::Scope {
            ex: &self.ex,
            cols: &self.cols,
            matched: &self.matched,
            rule: None,
            highest_severity: self.highest_severity,
            started_us: self.started_us,
        }
    }
}
