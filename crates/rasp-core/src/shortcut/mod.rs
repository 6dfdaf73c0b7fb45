//! Per-rule shortcuts: what can be decided about a rule from a few
//! bytes kept side by side, before the rule itself is touched.
//!
//! Why: a benign request under CRS evaluates about 390 rules, and about
//! 170 of them only compare one TX variable with a number (initialisation,
//! paranoia-level skips, anomaly thresholds) while about 120 more are
//! decided by a multi-pattern gate. A rule is a large structure spread over
//! the heap (targets, operator, actions, chain); reaching the one field
//! that decides it costs several cache misses, more than the decision. The
//! table holds, per phase entry, exactly what that decision needs, built
//! once per engine.

mod headers;
mod unread;

use std::cell::RefCell;

use crs_compiler::ir::action::{Actions, Disruptive, Effect, SetVarOp};
use crs_compiler::ir::macros::{MacroPart, MacroString};
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::{Entry, Phase, Rule};
use crs_compiler::ir::variable::{Selector, Variable};
use crs_compiler::program::{GatePlan, GateRef};
use crs_compiler::CompiledRuleset;

pub(crate) use headers::{HeaderNeeds, HeaderPresence, HeaderSide, HeaderWatch};
pub(crate) use unread::{prefix_read, stored_prefixes, UnreadStores};

use crate::operator::numeric::{atoi, Comparison};
use crate::variables::collections::Collection;
use crate::variables::MatchedState;

/// Where a match of a rule with actions `a` resumes the phase's loop
/// (`skipAfter`: after its marker, or past the last of `entries` entries
/// when the marker is missing); `None` without `skipAfter`.
pub(crate) fn resume_after(a: &Actions, entries: usize) -> Option<usize> {
    a.skip_after
        .as_ref()
        .map(|t| t.index.map_or(entries, |m| m + 1))
}

/// What a shortcut says about a rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Decision {
    /// The rule cannot match now.
    NoMatch,
    /// The rule matches and its match has no effect besides moving the
    /// rule pointer: continue at entry `resume`, or skip `skip` rules.
    Continue {
        /// The entry to continue at (a resolved `skipAfter`).
        resume: Option<usize>,
        /// `skip:N`.
        skip: u32,
    },
    /// The rule matches and its match only runs the rule's own actions
    /// (`setvar` and the like; no log, no disruption): set the matched
    /// variable ([`Shortcuts::set_matched`]), run them, then continue as
    /// for [`Decision::Continue`].
    Effects {
        /// The entry to continue at (a resolved `skipAfter`).
        resume: Option<usize>,
        /// `skip:N`.
        skip: u32,
    },
    /// The rule's head matches every value and only stores each (see
    /// [`stores_each`]): run the head's effects, and evaluate the rule in
    /// full only when its next link finds a value.
    StoresEach {
        /// When some stores may be left out (see [`unread`]): who else
        /// reads them, in [`Shortcuts::unread_stores`].
        unread: Option<u32>,
    },
    /// The rule must be evaluated.
    Evaluate,
}

/// The shortcut of one phase entry.
#[derive(Clone, Copy, Debug)]
enum Shortcut {
    /// Evaluate the rule.
    Evaluate,
    /// A positive gated rule: no match unless its pattern hit one of its
    /// values this phase.
    Gate(GateRef),
    /// The head compares one TX variable (or its count) with a number.
    TxNumber(TxNumber),
    /// See [`Decision::StoresEach`].
    StoresEach {
        /// See [`Decision::StoresEach`].
        unread: Option<u32>,
    },
    /// No match unless the exchange has the watched headers it needs (see
    /// [`HeaderWatch::needed_by`]).
    NeedsHeaders(HeaderNeeds),
}

/// A member key in [`Shortcuts::keys`]; `slot` numbers the distinct keys
/// (see [`TxPositions`]).
#[derive(Clone, Copy, Debug)]
struct KeyRef {
    start: u32,
    len: u32,
    slot: u32,
}

/// Where the TX members the shortcuts read are, per key slot: the TX
/// collection's generation when looked up and the position found. CRS
/// reads `TX:detection_paranoia_level` about 120 times per request, and
/// its position only changes when a member is added or removed. One per
/// transaction (see `transaction::spare`).
#[derive(Debug, Default)]
pub(crate) struct TxPositions(Vec<Option<(u64, Option<usize>)>>);

impl TxPositions {
    /// Forgets every position (a new transaction).
    pub(crate) fn clear(&mut self) {
        self.0.clear();
    }
}

/// `TX:key "@lt 2"`, `&TX:key "@eq 0"`, `TX:a "@ge %{tx.b}"`.
#[derive(Clone, Copy, Debug)]
struct TxNumber {
    key: KeyRef,
    /// `&TX:key`: the value is the number of such members (0 or 1).
    count: bool,
    comparison: Comparison,
    negated: bool,
    argument: Argument,
    /// What a match does: `None` when it must be evaluated in full (it
    /// sets variables, logs or disrupts).
    on_match: Option<Decision>,
    /// Whether the rule's actions may read `MATCHED_VAR*`, which
    /// [`Shortcuts::set_matched`] then sets for them.
    effects_read_matched: bool,
}

/// The right-hand side of a numeric comparison.
#[derive(Clone, Copy, Debug)]
enum Argument {
    /// A literal, already converted as v2 converts it (`atoi`).
    Number(i32),
    /// `%{tx.key}`: the member's value, or empty when absent.
    Tx(KeyRef),
}

/// Consecutive entries of a phase that are all positive gated rules (CRS's
/// attack files are mostly such rules, one after another).
#[derive(Debug)]
struct GateRun {
    /// The first entry of the run.
    start: usize,
    /// The entry after the run.
    end: usize,
    /// Each entry's gate, in entry order.
    gates: Box<[GateRef]>,
}

/// The rest of a [`GateRun`] from some entry on: none of these rules can
/// match unless the pattern of one of `gates` hit a value of its rule this
/// phase.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GatedRest<'a> {
    /// The entry after the run.
    pub(crate) end: usize,
    /// The gates of the entries left, in order.
    pub(crate) gates: &'a [GateRef],
}

/// Runs shorter than this are decided rule by rule.
const MIN_RUN: usize = 2;

/// The shortcuts of every phase, aligned with the phases' entries.
#[derive(Debug, Default)]
pub(crate) struct Shortcuts {
    phases: [Vec<Shortcut>; 5],
    /// Per phase, the [`GateRun`]s, and per entry the index of the run it
    /// is in (`u32::MAX`: none). A rule loop at an entry of a run whose
    /// rest has no hit passes the rest in one step: a benign request
    /// reaches about 230 gated rules that cannot match, and deciding each
    /// on its own costs more than testing its pattern.
    runs: [Vec<GateRun>; 5],
    run_of: [Vec<u32>; 5],
    /// TX member names the shortcuts read, lower-cased, back to back.
    keys: Vec<u8>,
    /// Each distinct key once, by slot.
    distinct: Vec<KeyRef>,
    /// Who else reads the stores of the [`Shortcut::StoresEach`] heads
    /// whose stores may be left out, by their `unread` index.
    unread: Vec<UnreadStores>,
    /// The headers the [`Shortcut::NeedsHeaders`] rules read.
    headers: HeaderWatch,
}

impl Shortcuts {
    /// Who else reads the stores of a `stores_each` head (its
    /// [`Decision::StoresEach`] index).
    pub(crate) fn unread_stores(&self, index: u32) -> Option<&UnreadStores> {
        self.unread.get(index as usize)
    }

    /// The headers (and multipart lists) the shortcuts watch: a
    /// transaction works out which it has with these (see
    /// [`HeaderWatch::learn`]).
    pub(crate) fn header_watch(&self) -> &HeaderWatch {
        &self.headers
    }

    /// The shortcuts of `rules` under `plan`'s gates.
    pub(crate) fn build(rules: &CompiledRuleset, plan: &GatePlan) -> Shortcuts {
        let mut out = Shortcuts::default();
        for phase in Phase::ALL {
            let entries = &rules.phase(phase).entries;
            let table: Vec<Shortcut> = entries
                .iter()
                .map(|e| match e {
                    Entry::Rule(rule) => out.shortcut(rule, rules, plan, entries.len()),
                    _ => Shortcut::Evaluate,
                })
                .collect();
            let (runs, run_of) = gate_runs(&table, entries);
            if let (Some(slot), Some(r), Some(o)) = (
                out.phases.get_mut(phase.index()),
                out.runs.get_mut(phase.index()),
                out.run_of.get_mut(phase.index()),
            ) {
                *slot = table;
                *r = runs;
                *o = run_of;
            }
        }
        out
    }

    /// The rest of the gate run entry `entry` of phase `phase` (0–4) is
    /// in, from that entry on.
    pub(crate) fn gated_rest(&self, phase: usize, entry: usize) -> Option<GatedRest<'_>> {
        let run = *self.run_of.get(phase)?.get(entry)?;
        let run = self.runs.get(phase)?.get(run as usize)?;
        Some(GatedRest {
            end: run.end,
            gates: run.gates.get(entry.checked_sub(run.start)?..)?,
        })
    }

    fn shortcut(
        &mut self,
        rule: &Rule,
        rules: &CompiledRuleset,
        plan: &GatePlan,
        entries: usize,
    ) -> Shortcut {
        if let Some(Some(gate)) = plan.gates.get(rule.link_index) {
            // A negated rule matches the values its pattern misses, so only
            // a positive one can be ruled out for the whole phase; and the
            // sweep leaves some `multiMatch` groups out.
            let swept = plan.groups.get(gate.group).is_some_and(|g| g.swept());
            return if rule.operator.negated || !swept {
                Shortcut::Evaluate
            } else {
                Shortcut::Gate(*gate)
            };
        }
        if stores_each(rule) {
            let unread = unread::stores_unread(rule, rules).and_then(|readers| {
                let index = u32::try_from(self.unread.len()).ok()?;
                self.unread.push(readers);
                Some(index)
            });
            return Shortcut::StoresEach { unread };
        }
        if let Some(t) = self.tx_number(rule, entries) {
            return Shortcut::TxNumber(t);
        }
        self.headers
            .needed_by(rule)
            .map_or(Shortcut::Evaluate, Shortcut::NeedsHeaders)
    }

    fn tx_number(&mut self, rule: &Rule, entries: usize) -> Option<TxNumber> {
        let [target] = rule.targets.as_slice() else {
            return None;
        };
        let Selector::Key(key) = &target.selector else {
            return None;
        };
        if rule.is_action
            || target.variable != Variable::Tx
            || !rule.exclusions.is_empty()
            || !rule.transforms.is_empty()
        {
            return None;
        }
        let (comparison, argument) = Comparison::of(&rule.operator.kind)?;
        let argument = self.argument(argument)?;
        let a = &rule.actions;
        // A match that leaves no record and does not disrupt only runs
        // the rule's actions and moves the rule pointer (see
        // `Transaction::conclude`). A numeric operator captures nothing.
        let unlogged = rule.chain.is_none()
            && !a.log
            && !a.auditlog
            && a.severity.is_none()
            && matches!(a.disruptive, None | Some(Disruptive::Pass));
        let resume = resume_after(a, entries);
        let on_match = match (unlogged, a.effects.is_empty()) {
            (false, _) => None,
            (true, true) => Some(Decision::Continue {
                resume,
                skip: a.skip,
            }),
            (true, false) => Some(Decision::Effects {
                resume,
                skip: a.skip,
            }),
        };
        Some(TxNumber {
            key: self.key(key),
            count: target.count,
            comparison,
            negated: rule.operator.negated,
            argument,
            on_match,
            effects_read_matched: effects_read_matched(a),
        })
    }

    fn argument(&mut self, m: &MacroString) -> Option<Argument> {
        if let Some(text) = m.as_literal() {
            return Some(Argument::Number(atoi(text.as_bytes())));
        }
        m.as_tx_member().map(|key| Argument::Tx(self.key(key)))
    }

    fn key(&mut self, key: &str) -> KeyRef {
        let lower = key.to_ascii_lowercase();
        if let Some(known) = self
            .distinct
            .iter()
            .find(|k| self.key_bytes(**k) == lower.as_bytes())
        {
            return *known;
        }
        let start = self.keys.len();
        self.keys.extend_from_slice(lower.as_bytes());
        let key = KeyRef {
            start: u32::try_from(start).unwrap_or(u32::MAX),
            len: u32::try_from(lower.len()).unwrap_or(0),
            slot: u32::try_from(self.distinct.len()).unwrap_or(u32::MAX),
        };
        self.distinct.push(key);
        key
    }

    /// The value of TX member `key`, from the position found before when
    /// no member was added or removed since.
    #[inline]
    fn tx_value<'t>(
        &self,
        key: KeyRef,
        tx: &'t Collection,
        positions: &mut TxPositions,
    ) -> Option<&'t [u8]> {
        let position = match positions.0.get(key.slot as usize) {
            Some(&Some((g, position))) if g == tx.generation() => position,
            _ => self.find_tx_position(key, tx, positions),
        };
        position.and_then(|i| tx.value_at(i))
    }

    /// [`Shortcuts::tx_value`]'s lookup where the position found before
    /// may have moved. Apart so that the reads of known positions (about
    /// 190 per request, most of them) stay a few instructions.
    #[inline(never)]
    fn find_tx_position(
        &self,
        key: KeyRef,
        tx: &Collection,
        positions: &mut TxPositions,
    ) -> Option<usize> {
        let slot = key.slot as usize;
        let position = tx.position_of(self.key_bytes(key));
        // Slots are numbered densely from 0 at build time.
        if positions.0.len() <= slot && slot < self.distinct.len() {
            positions.0.resize(slot + 1, None);
        }
        if let Some(memo) = positions.0.get_mut(slot) {
            *memo = Some((tx.generation(), position));
        }
        position
    }

    fn key_bytes(&self, key: KeyRef) -> &[u8] {
        let start = key.start as usize;
        self.keys
            .get(start..start + key.len as usize)
            .unwrap_or_default()
    }

    fn entry(&self, phase: usize, entry: usize) -> Option<&Shortcut> {
        self.phases.get(phase)?.get(entry)
    }

    /// What the shortcut of entry `entry` of phase `phase` (0–4) decides,
    /// given the transaction's TX collection and which watched headers
    /// it is known to have (`headers`, see [`Shortcuts::header_watch`]);
    /// `may_match` answers for a gated rule whether its pattern hit a
    /// value this phase.
    ///
    /// Inlined into the rule loop, TX comparisons (and `atoi`'s short
    /// cases) included, with `positions` borrowed only for those: the loop
    /// asks about 390 times per benign GET, 140 of them TX comparisons,
    /// and the calls' prologues and the borrow were most of each answer
    /// (GET 282 → 275 k instructions per exchange; 261.5 → 258.8 k with
    /// the comparisons inlined too).
    #[inline]
    pub(crate) fn decide(
        &self,
        phase: usize,
        entry: usize,
        tx: &Collection,
        positions: &RefCell<TxPositions>,
        headers: HeaderPresence,
        may_match: impl FnOnce(GateRef) -> bool,
    ) -> Decision {
        match self.entry(phase, entry) {
            Some(Shortcut::Gate(gate)) if !may_match(*gate) => Decision::NoMatch,
            Some(Shortcut::NeedsHeaders(needs)) if needs.ruled_out(headers) => Decision::NoMatch,
            Some(Shortcut::TxNumber(t)) => self.decide_tx(t, tx, &mut positions.borrow_mut()),
            Some(Shortcut::StoresEach { unread }) => Decision::StoresEach { unread: *unread },
            _ => Decision::Evaluate,
        }
    }

    /// Sets `MATCHED_VAR` and `MATCHED_VAR_NAME` as the full evaluation of
    /// entry `entry`'s matching TX comparison would (`&TX:x` and its count,
    /// or `TX:x` and its value), for [`Decision::Effects`]; nothing when
    /// the rule's actions cannot read them (they are cleared before the
    /// next rule). CRS's anomaly-score sums (949052 and the like) only add
    /// TX members: building the name and finding the value again cost
    /// about 400 instructions per match, eight matches per benign GET.
    pub(crate) fn set_matched(
        &self,
        phase: usize,
        entry: usize,
        tx: &Collection,
        matched: &mut MatchedState,
    ) {
        let Some(Shortcut::TxNumber(t)) = self.entry(phase, entry) else {
            return;
        };
        if !t.effects_read_matched {
            return;
        }
        let key = self.key_bytes(t.key);
        let member = tx.get(key);
        matched.var_name.clear();
        if t.count {
            matched.var_name.push('&');
        }
        matched.var_name.push_str(Variable::Tx.name());
        matched.var_name.push(':');
        // Keys come from the rules' text: ASCII but for rare exceptions.
        match std::str::from_utf8(key) {
            Ok(key) => matched.var_name.push_str(key),
            Err(_) => matched.var_name.push_str(&String::from_utf8_lossy(key)),
        }
        matched.var.clear();
        match (t.count, member) {
            (true, m) => matched.var.push(if m.is_some() { b'1' } else { b'0' }),
            (false, m) => matched.var.extend_from_slice(m.unwrap_or_default()),
        }
    }

    /// What TX comparison `t` decides on the transaction's TX collection.
    #[inline]
    fn decide_tx(&self, t: &TxNumber, tx: &Collection, positions: &mut TxPositions) -> Decision {
        let member = self.tx_value(t.key, tx, positions);
        let left = match (t.count, member) {
            (true, m) => i32::from(m.is_some()),
            (false, Some(v)) => atoi(v),
            // No value: nothing for the operator to match, negated or not.
            (false, None) => return Decision::NoMatch,
        };
        let right = match t.argument {
            Argument::Number(n) => n,
            Argument::Tx(k) => atoi(self.tx_value(k, tx, positions).unwrap_or_default()),
        };
        if t.comparison.holds(left, right) == t.negated {
            return Decision::NoMatch;
        }
        t.on_match.unwrap_or(Decision::Evaluate)
    }
}

/// Whether `v` is one of the variables a match sets (`MATCHED_VAR` and
/// the like).
fn is_matched_variable(v: Variable) -> bool {
    matches!(
        v,
        Variable::MatchedVar
            | Variable::MatchedVarName
            | Variable::MatchedVars
            | Variable::MatchedVarsNames
    )
}

/// Whether `m` reads one of the variables a match sets.
fn reads_matched(m: &MacroString) -> bool {
    m.parts
        .iter()
        .any(|p| matches!(p, MacroPart::Var { variable, .. } if is_matched_variable(*variable)))
}

/// Whether actions `a` may read the variables a match sets: anything but
/// `setvar`s whose key and value do not.
fn effects_read_matched(a: &Actions) -> bool {
    a.effects.iter().any(|e| match e {
        Effect::SetVar { key, op, .. } => {
            reads_matched(key)
                || match op {
                    SetVarOp::Set(m) | SetVarOp::Add(m) | SetVarOp::Sub(m) => reads_matched(m),
                    SetVarOp::Unset => false,
                    #[allow(unreachable_patterns)]
                    _ => true,
                }
        }
        _ => true,
    })
}

/// Whether `part` is `%{TX.0}`, what `capture` sets to the whole match.
pub(crate) fn is_capture(part: &MacroPart) -> bool {
    matches!(
        part,
        MacroPart::Var {
            variable: Variable::Tx,
            key: Some(key),
        } if key == "0"
    )
}

/// Whether `rule` is a chain whose head matches every value of its
/// targets (a pattern such as `^.*$`, see `CompiledRegex::matches_everything`)
/// and whose only work on each is to capture it and set TX members from the
/// capture, the same members every time it runs. CRS's 920450 is one: each
/// request header name, lower-cased, becomes `TX:header_name_920450_<name>`,
/// which its chained `@within` then checks against the restricted headers.
///
/// Why: every header is a hit of such a head, and a hit's full evaluation
/// (the operator, the hit's record with its rendered name, the matched
/// variables) cost 920450 about 3,900 instructions per header, 13 % of a
/// benign GET, where the effects themselves are a tenth of that. The
/// engine runs the head's effects directly ([`Decision::StoresEach`]) and
/// the rest of the chain as usual; when that finds a value (a restricted
/// header), the rule is evaluated again in full, which sets the same
/// members to the same values and records the match.
///
/// What that needs, so that the direct run is the full one's:
/// - the head's operator is a positive pattern that matches every value,
///   with `capture` and without `multiMatch`, and the head has no target
///   exclusions (the engine also checks that no `ctl` removed one of its
///   targets' variables);
/// - each of its effects is a plain `setvar` of a TX member whose key and
///   value are built from literal text and `%{TX.0}` only: running it
///   twice leaves what running it once leaves;
/// - the next link reads no `MATCHED_VAR*` variable (the direct run does
///   not set them), as a target or in its operator's argument.
pub(crate) fn stores_each(rule: &Rule) -> bool {
    let Some(next) = rule.chain.as_deref() else {
        return false;
    };
    let a = &rule.actions;
    let everything = matches!(&rule.operator.kind, OperatorKind::Rx(rx) if rx.matches_everything);
    if rule.is_action
        || !everything
        || rule.operator.negated
        || !a.capture
        || a.multi_match
        || !rule.exclusions.is_empty()
        || a.effects.is_empty()
    {
        return false;
    }
    let from_capture = |m: &MacroString| {
        m.parts
            .iter()
            .all(|p| matches!(p, MacroPart::Literal(_)) || is_capture(p))
    };
    let plain_tx_sets = a.effects.iter().all(|e| match e {
        Effect::SetVar {
            collection,
            key,
            op: SetVarOp::Set(value),
        } => collection == "tx" && from_capture(key) && from_capture(value),
        _ => false,
    });
    let argument = match &next.operator.kind {
        OperatorKind::RxMacro(m) => Some(m),
        kind => kind.macro_argument(),
    };
    let next_reads_matched = next.targets.iter().any(|t| is_matched_variable(t.variable))
        || argument.is_some_and(reads_matched);
    plain_tx_sets && !next_reads_matched
}

/// The [`GateRun`]s of one phase's shortcut table, and each entry's run.
fn gate_runs(table: &[Shortcut], entries: &[Entry]) -> (Vec<GateRun>, Vec<u32>) {
    let gate_at = |i: usize| match (table.get(i), entries.get(i)) {
        (Some(Shortcut::Gate(g)), Some(Entry::Rule(_))) => Some(*g),
        _ => None,
    };
    let mut runs = Vec::new();
    let mut run_of = vec![u32::MAX; table.len()];
    let mut i = 0;
    while i < table.len() {
        let Some(first) = gate_at(i) else {
            i += 1;
            continue;
        };
        let mut gates = vec![first];
        let mut end = i + 1;
        while let Some(g) = gate_at(end) {
            gates.push(g);
            end += 1;
        }
        if end - i >= MIN_RUN {
            let index = u32::try_from(runs.len()).unwrap_or(u32::MAX);
            for slot in run_of.get_mut(i..end).unwrap_or_default() {
                *slot = index;
            }
            runs.push(GateRun {
                start: i,
                end,
                gates: gates.into(),
            });
        }
        i = end;
    }
    (runs, run_of)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crs_compiler::ir::rule::{Entry, Phase, Rule};

    use crate::Engine;

    /// The ids of the phase-1 rules of `text` that `keep` takes.
    fn phase_1_ids(text: &str, keep: impl Fn(&Rule) -> bool) -> Vec<u32> {
        let rules = crs_compiler::Compiler::new()
            .add_str("inline.conf", text)
            .compile()
            .unwrap_or_else(|e| panic!("{e}"));
        rules
            .phase(Phase::RequestHeaders)
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Rule(r) => Some(r),
                _ => None,
            })
            .filter(|r| keep(r))
            .map(|r| r.id)
            .collect()
    }

    #[test]
    fn a_comparison_sets_the_matched_variables_only_for_actions_that_read_them() {
        let reading = phase_1_ids(
            r#"
SecRule TX:a "@eq 1" "id:1,phase:1,pass,nolog,setvar:tx.sum=+%{tx.b},setvar:tx.c=2,setvar:!tx.d"
SecRule TX:a "@eq 1" "id:2,phase:1,pass,nolog,setvar:'tx.copy=%{MATCHED_VAR}'"
SecRule TX:a "@eq 1" "id:3,phase:1,pass,nolog,setvar:'tx.%{MATCHED_VAR_NAME}=1'"
SecRule TX:a "@eq 1" "id:4,phase:1,pass,nolog,setvar:'tx.sum=+%{MATCHED_VARS}'"
SecRule TX:a "@eq 1" "id:5,phase:1,pass,nolog,setenv:x=1"
"#,
            |r| super::effects_read_matched(&r.actions),
        );
        // Any action but a `setvar` counts as reading them.
        assert_eq!(reading, vec![2, 3, 4, 5]);
    }

    #[test]
    fn stores_each_takes_only_heads_whose_stores_repeat_alike() {
        // Rule 1 is CRS 920450's shape; each other one differs in one way
        // that makes a second run of its head differ from the first, or
        // its chain read what the direct run does not set.
        let taken = phase_1_ids(
            r#"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:1,phase:1,pass,capture,t:lowercase,setvar:'tx.h_%{tx.0}=/%{tx.0}/',chain"
    SecRule TX:/^h_/ "@within %{tx.list}" "setvar:tx.score=+5"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:2,phase:1,pass,capture,setvar:'tx.n=+1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:3,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=%{tx.n}',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:4,phase:1,pass,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "@rx ^a" "id:5,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:6,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule MATCHED_VARS "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:7,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@streq %{MATCHED_VAR}"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:8,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=1'"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:9,phase:1,pass,capture,multiMatch,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "!@rx ^.*$" "id:10,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES|!REQUEST_HEADERS_NAMES:host "@rx ^.*$" "id:11,phase:1,pass,capture,setvar:'tx.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:12,phase:1,pass,capture,setvar:'ip.h_%{tx.0}=1',chain"
    SecRule TX:/^h_/ "@within %{tx.list}"
"#,
            super::stores_each,
        );
        assert_eq!(taken, vec![1]);
    }

    #[test]
    fn gate_runs_cover_consecutive_gated_rules_only() {
        // Entries of phase 2: 1, 2, 3 gated; 4 a TX comparison; 5 gated;
        // a marker; 6, 7 gated; 8 negated (evaluated).
        let rules = crs_compiler::Compiler::new()
            .add_str(
                "inline.conf",
                r#"
SecRule ARGS "@rx alpha" "id:1,phase:2,pass,log"
SecRule ARGS "@rx beta" "id:2,phase:2,pass,log"
SecRule ARGS "@rx gamma" "id:3,phase:2,pass,log"
SecRule TX:x "@eq 1" "id:4,phase:2,pass,nolog"
SecRule ARGS "@rx delta" "id:5,phase:2,pass,log"
SecMarker END
SecRule ARGS "@rx epsilon" "id:6,phase:2,pass,log"
SecRule ARGS "@rx zeta" "id:7,phase:2,pass,log"
SecRule ARGS "!@rx eta" "id:8,phase:2,pass,log"
"#,
            )
            .compile()
            .unwrap_or_else(|e| panic!("{e}"));
        let engine = Engine::new(Arc::new(rules));
        let phase = crs_compiler::ir::rule::Phase::RequestBody.index();
        let rest = |entry| {
            engine
                .shortcuts
                .gated_rest(phase, entry)
                .map(|r| (r.end, r.gates.len()))
        };
        assert_eq!(rest(0), Some((3, 3)));
        assert_eq!(rest(1), Some((3, 2)));
        assert_eq!(rest(2), Some((3, 1)));
        assert_eq!(rest(3), None);
        // A run of one is decided rule by rule; a marker ends a run.
        assert_eq!(rest(4), None);
        assert_eq!(rest(5), None);
        assert_eq!(rest(6), Some((8, 2)));
        assert_eq!(rest(8), None);
    }
}
