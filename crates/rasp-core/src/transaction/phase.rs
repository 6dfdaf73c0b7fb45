//! The rule loop of one phase: order, skip, skipAfter, removal, allow.

use std::sync::Arc;

use crs_compiler::ir::action::{AllowScope, EngineMode};
use crs_compiler::ir::rule::{Entry, Phase};
use crs_compiler::ir::variable::Variable;

use super::rule::RuleOutcome;
use super::Transaction;
use crate::shortcut::Decision;

impl Transaction {
    /// Runs the rules of `phase`, following ModSecurity v2's
    /// `msre_ruleset_process_phase`: markers are never evaluated, `skip`
    /// counts rules (a chain counts once), `skipAfter` resumes after the
    /// marker, and an interruption (or `allow`) ends the phase.
    pub(super) fn run_phase(&mut self, phase: Phase) {
        if self.state.mode == EngineMode::Off {
            return;
        }
        match (self.state.allow, phase) {
            (
                Some(AllowScope::Transaction),
                Phase::RequestBody | Phase::ResponseHeaders | Phase::ResponseBody,
            ) => return,
            (Some(AllowScope::Request), Phase::RequestBody) => return,
            _ => {}
        }
        if self.state.allow == Some(AllowScope::Phase) {
            // `allow:phase` only ends the phase it was used in.
            self.state.allow = None;
        }
        let rules = Arc::clone(&self.engine.rules);
        let entries = &rules.phase(phase).entries;
        self.gates.reset();
        self.tcache.clear();
        let mut skip = 0u32;
        let mut i = 0;
        while i < entries.len() {
            let Some(Entry::Rule(rule)) = entries.get(i) else {
                i += 1;
                continue;
            };
            i += 1;
            if self.state.mode == EngineMode::Off {
                // ctl:ruleEngine=Off mid-phase stops evaluation.
                return;
            }
            if skip > 0 {
                skip -= 1;
                continue;
            }
            if self.state.rule_removed(rule) {
                continue;
            }
            if let Some(slot) = self
                .reached
                .as_mut()
                .and_then(|r| r.get_mut(rule.link_index))
            {
                *slot = true;
            }
            self.matched.clear();
            let outcome = match self.shortcut(phase, i - 1) {
                Decision::NoMatch => continue,
                Decision::Continue { resume, skip: n } => {
                    match resume {
                        Some(next) => i = next,
                        None => skip = n,
                    }
                    continue;
                }
                Decision::Evaluate => self.eval_rule(rule, phase),
            };
            match outcome {
                RuleOutcome::NoMatch => {}
                RuleOutcome::Stop => return,
                RuleOutcome::Matched => {
                    if let Some(target) = &rule.actions.skip_after {
                        i = target.index.map_or(entries.len(), |m| m + 1);
                        continue;
                    }
                    skip = rule.actions.skip;
                }
            }
        }
    }

    /// What the engine's shortcut for entry `entry` decides (see
    /// `crate::shortcut`).
    fn shortcut(&self, phase: Phase, entry: usize) -> Decision {
        let shortcuts = &self.engine.shortcuts;
        if let Some(gate) = shortcuts.gate(phase.index(), entry) {
            return if self.rule_may_match(gate) {
                Decision::Evaluate
            } else {
                Decision::NoMatch
            };
        }
        match shortcuts.decide_tx(phase.index(), entry, &self.cols.tx) {
            // A runtime removal of TX targets may leave the rule nothing
            // to match: only a full evaluation knows. (CRS removes
            // REQUEST_FILENAME from its XSS rules on most requests.)
            Decision::Continue { .. }
                if self
                    .state
                    .removed_targets
                    .iter()
                    .any(|(_, ex)| ex.variable == Variable::Tx) =>
            {
                Decision::Evaluate
            }
            d => d,
        }
    }
}
