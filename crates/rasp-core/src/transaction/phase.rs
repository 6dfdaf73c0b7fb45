//! The rule loop of one phase: order, skip, skipAfter, removal, allow.

use std::sync::Arc;

use crs_compiler::ir::action::{AllowScope, EngineMode};
use crs_compiler::ir::rule::{Entry, Phase};
use crs_compiler::ir::variable::Variable;

use super::rule::RuleOutcome;
use super::Transaction;
use crate::shortcut::{resume_after, Decision};

impl Transaction {
    /// Runs the rules of `phase`, following ModSecurity v2's
    /// `msre_ruleset_process_phase`: markers are never evaluated, `skip`
    /// counts rules (a chain counts once), `skipAfter` resumes after the
    /// marker, and an interruption (or `allow`) ends the phase.
    pub(super) fn run_phase(&mut self, phase: Phase) {
        // The thread's memory of the answers for values seen before, held
        // while the phase runs (see `value_memo`).
        *self.memo.get_mut() =
            super::value_memo::take(self.engine.sweep_chains.id, self.engine.config.value_memory);
        self.run_phase_rules(phase);
        super::value_memo::give(std::mem::take(self.memo.get_mut()));
    }

    fn run_phase_rules(&mut self, phase: Phase) {
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
        self.prepare_phase();
        let mut skip = 0u32;
        let mut i = 0;
        // Where a run of gated rules can be passed in one step: not while
        // `skip` counts rules, nor when each rule reached is recorded.
        let runs_apply = self.reached.is_none();
        while i < entries.len() {
            if skip == 0 && phase == Phase::RequestHeaders {
                if let Some(next) = self.replay_prelude(i) {
                    i = next;
                    continue;
                }
            }
            if skip == 0 && runs_apply {
                if let Some(rest) = self.engine.shortcuts.gated_rest(phase.index(), i) {
                    if !self.any_may_match(rest.gates) {
                        i = rest.end;
                        continue;
                    }
                }
            }
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
            // Where a match moves the rule pointer: after a marker
            // (`skipAfter`), or past `skip` rules.
            let (resume, skip_next) = match self.shortcut(phase, i - 1) {
                Decision::NoMatch => continue,
                // The head's effects are run here; a rule whose next link
                // then finds a value is evaluated in full below.
                Decision::StoresEach { unread } if self.stores_each_misses(rule, unread) => {
                    continue
                }
                Decision::Continue { resume, skip } => (resume, skip),
                Decision::Effects { resume, skip } => {
                    self.engine.shortcuts.set_matched(
                        phase.index(),
                        i - 1,
                        &self.cols.tx,
                        &mut self.matched,
                    );
                    self.run_effects(rule, rule);
                    (resume, skip)
                }
                Decision::Evaluate | Decision::StoresEach { .. } => {
                    match self.eval_rule(rule, phase) {
                        RuleOutcome::NoMatch => continue,
                        RuleOutcome::Stop => return,
                        RuleOutcome::Matched => (
                            resume_after(&rule.actions, entries.len()),
                            rule.actions.skip,
                        ),
                    }
                }
            };
            match resume {
                Some(next) => i = next,
                None => skip = skip_next,
            }
        }
    }

    /// Empties the caches of the previous phase's values.
    pub(super) fn prepare_phase(&mut self) {
        self.gates.reset();
        self.tcache.clear();
    }

    /// What the engine's shortcut for entry `entry` decides (see
    /// `crate::shortcut`).
    fn shortcut(&self, phase: Phase, entry: usize) -> Decision {
        let decision = self.engine.shortcuts.decide(
            phase.index(),
            entry,
            &self.cols.tx,
            &self.tx_positions,
            self.header_presence,
            |gate| self.rule_may_match(gate),
        );
        match decision {
            // A runtime removal of TX targets may leave the rule nothing
            // to match: only a full evaluation knows. (CRS removes
            // REQUEST_FILENAME from its XSS rules on most requests.)
            Decision::Continue { .. } | Decision::Effects { .. }
                if self.state.removes_targets_of(Variable::Tx) =>
            {
                Decision::Evaluate
            }
            d => d,
        }
    }
}
