//! Evaluating one rule (a chain of links) the way ModSecurity v2 does.
//!
//! For each link: resolve the targets (minus exclusions), transform each
//! value, run the operator. Every matching value updates `MATCHED_VAR(S)`,
//! runs the link's own non-disruptive actions (so a chain head's `setvar`
//! runs even if a later link fails — CRS relies on putting score updates
//! on the last link), and, on the last link, logs and applies the chain
//! head's disruptive action.

use std::borrow::Cow;
use std::ops::Range;
use std::sync::Arc;

use crs_compiler::ir::action::{Disruptive, EngineMode};
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::{Phase, Rule};
use crs_compiler::ir::variable::Variable;

use super::value_memo::Question;
use super::Transaction;
use crate::eval::macros::{expand, expand_string};
use crate::eval::operator::{self, OpOutcome};
use crate::record::{Intervention, InterventionKind, MatchRecord};
use crate::transform::ByteClasses;
use crate::variables::{collect_target, Excluded, Scope, Value};

/// How a rule ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum RuleOutcome {
    NoMatch,
    Matched,
    /// The phase must stop (interruption or `allow`).
    Stop,
}

/// One matching value of a link. Its name and value live in
/// [`HitScratch::names`] and [`HitScratch::text`], reused from rule to
/// rule: CRS matches ~150 rules on a benign request (flow control, TX
/// initialisation), and two allocations per match were a tenth of the
/// request time.
struct Hit {
    /// Range of `HitScratch::names`.
    name: Range<usize>,
    value: Range<usize>,
    /// Ranges of `HitScratch::captures`.
    captures: Range<usize>,
    message: String,
}

/// The hits of the link being evaluated and the bytes they refer to.
#[derive(Debug, Default)]
pub(super) struct HitScratch {
    /// The hits' names, text already: they are read as text for
    /// `MATCHED_VAR_NAME` after each hit, and checking their bytes for
    /// UTF-8 at each read was about 0.4 % of a benign GET's instructions.
    names: String,
    pub(super) text: Vec<u8>,
    hits: Vec<Hit>,
    /// Captured values (`TX.0`–`TX.9`) of the hits, as ranges of `text`.
    pub(super) captures: Vec<Range<usize>>,
}

impl std::fmt::Debug for Hit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hit").finish_non_exhaustive()
    }
}

impl HitScratch {
    /// Whether the link evaluated last found a value.
    pub(super) fn has_hits(&self) -> bool {
        !self.hits.is_empty()
    }

    pub(super) fn clear(&mut self) {
        self.names.clear();
        self.text.clear();
        self.hits.clear();
        self.captures.clear();
    }

    /// Empties the buffers for another transaction, keeping up to `bytes`
    /// of text (see `spare`).
    pub(super) fn recycle(&mut self, bytes: usize) {
        self.clear();
        self.names.shrink_to(bytes);
        self.text.shrink_to(bytes);
        self.hits.shrink_to(64);
        self.captures.shrink_to(64);
    }

    fn name(&self, hit: &Hit) -> &str {
        self.names.get(hit.name.clone()).unwrap_or_default()
    }

    fn value(&self, hit: &Hit) -> &[u8] {
        self.text.get(hit.value.clone()).unwrap_or_default()
    }

    fn captures<'a>(&'a self, hit: &Hit) -> impl Iterator<Item = &'a [u8]> {
        self.captures
            .get(hit.captures.clone())
            .unwrap_or_default()
            .iter()
            .map(|r| self.text.get(r.clone()).unwrap_or_default())
    }
}

/// Records a hit of `link` on `value`: its name and value in the scratch
/// text, the description when wanted (`op` is the operator's outcome,
/// unused for negated operators and absent when a gate decided).
fn push_hit(
    link: &Rule,
    name: &crate::variables::ValueName<'_>,
    value: &[u8],
    op: Option<&OpOutcome>,
    describe: bool,
    out: &mut HitScratch,
) {
    let (op_message, op_detail) = op.map_or(("", ""), |o| (o.message.as_str(), o.detail.as_str()));
    let start = out.names.len();
    name.render_into(&mut out.names);
    let name_range = start..out.names.len();
    let message = if !describe {
        String::new()
    } else {
        let name = out.names.get(name_range.clone()).unwrap_or_default();
        if link.operator.negated {
            format!(
                "Match of \"{} {}\" against \"{}\" required.",
                link.operator.name, link.operator.argument, name
            )
        } else {
            // Pushed rather than formatted: a pattern's description runs to
            // 270 characters, and every logged match makes one.
            let mut m = String::with_capacity(op_message.len() + name.len() + op_detail.len() + 6);
            m.push_str(op_message);
            if !name.is_empty() {
                m.push_str(" at ");
                m.push_str(name);
            }
            m.push('.');
            if !name.is_empty() && !op_detail.is_empty() {
                m.push(' ');
                m.push_str(op_detail);
            }
            m
        }
    };
    let value_start = out.text.len();
    out.text.extend_from_slice(value);
    let value_range = value_start..out.text.len();
    let first_capture = out.captures.len();
    for c in op.into_iter().flat_map(|o| o.captures.values(value)) {
        let start = out.text.len();
        out.text.extend_from_slice(c);
        out.captures.push(start..out.text.len());
    }
    out.hits.push(Hit {
        name: name_range,
        value: value_range,
        captures: first_capture..out.captures.len(),
        message,
    });
}

/// The first [`EXCERPT`] characters of `value` (lossy UTF-8), in one copy.
fn excerpt(value: &[u8]) -> String {
    let text = String::from_utf8_lossy(value);
    // Fewer bytes than that are fewer characters too: no walk.
    let cut = if text.len() <= EXCERPT {
        text.len()
    } else {
        text.char_indices()
            .nth(EXCERPT)
            .map_or(text.len(), |(at, _)| at)
    };
    match text {
        Cow::Owned(mut s) => {
            s.truncate(cut);
            s
        }
        Cow::Borrowed(s) => s.get(..cut).unwrap_or(s).to_owned(),
    }
}

/// Whether the rule's disruptive action does anything (`pass` and none do
/// not).
fn disrupts(a: &crs_compiler::ir::action::Actions) -> bool {
    !matches!(a.disruptive, Some(Disruptive::Pass) | None)
}

/// A reusable buffer whose items borrow the transaction (target values,
/// transformed bytes): kept empty, and re-typed for the next borrow. `T`
/// and `U` differ only in a lifetime; for any other pair the allocation
/// would not be kept.
pub(super) fn recycle<T, U>(mut items: Vec<T>) -> Vec<U> {
    items.clear();
    // An empty vector of a type with the same layout: the standard
    // library collects it in place, keeping the allocation.
    items
        .into_iter()
        .map(|_| unreachable!("the vector is empty"))
        .collect()
}

/// Whether the thread's memory may keep the values `link` finds nothing
/// in: its hits on a value depend on the value's bytes alone (its
/// operator's argument is constant, it reads no other state), and it can
/// miss at all. A pattern that matches every value never misses, and
/// asking the memory about each value cost a lookup for nothing (920450
/// asked about each header name on every exchange: GET −0.6 % without).
/// Cheap operators on untransformed values are remembered too: their full
/// evaluation (collecting, checking, recording) costs more than a lookup
/// (leaving them out made the GET 0.8 % slower).
fn answers_by_value(link: &Rule) -> bool {
    use OperatorKind as K;
    if link.is_action {
        return false;
    }
    let kind = &link.operator.kind;
    if let K::Rx(rx) = kind {
        if rx.matches_everything {
            return false;
        }
    }
    if let Some(argument) = kind.macro_argument() {
        return !argument.has_macros();
    }
    matches!(
        kind,
        K::Rx(_)
            | K::Pm(_)
            | K::StrMatch(_)
            | K::IpMatch(_)
            | K::DetectSqli
            | K::DetectXss
            | K::ValidateByteRange(_)
            | K::ValidateUrlEncoding
            | K::ValidateUtf8Encoding
    )
}

/// Whether `v` is borrowed from the exchange data, whose bytes stay put for
/// the whole phase: transformation results and gate scans are cached under
/// their address. Not so for values that may move or change (TX, counts,
/// computed numbers).
pub(super) fn stays_put(v: &Value<'_>) -> bool {
    matches!(v.value, Cow::Borrowed(_)) && value_is_stable(&v.name)
}

fn value_is_stable(name: &crate::variables::ValueName<'_>) -> bool {
    use crate::variables::ValueName;
    let var = match name {
        ValueName::Scalar(v) | ValueName::Member(v, _) => *v,
        ValueName::Count(..) => return false,
    };
    !matches!(
        var,
        Variable::Tx
            | Variable::Env
            | Variable::Ip
            | Variable::Global
            | Variable::Session
            | Variable::User
            | Variable::Resource
            | Variable::MatchedVar
            | Variable::MatchedVarName
            | Variable::MatchedVars
            | Variable::MatchedVarsNames
            | Variable::Rule
            | Variable::HighestSeverity
            | Variable::Duration
    )
}

/// Values longer than this take a `multiMatch` link's steps through the
/// transformation cache (see `Transaction::multi_match_shared`); on shorter
/// ones the cache's hashing costs more than the steps and checks it saves.
const SHARED_STEPS_MIN_LEN: usize = 256;

/// A byte every match of a `multiMatch` link's pattern holds, and the step
/// from which no remaining step adds a byte to a value: a result before
/// that step without the byte ends the value's checks, as no later result
/// can match. CRS's 930110 (path traversal: every match holds `..`) takes
/// every request header through `t:removeNulls,t:cmdLine` after its
/// decoders; many hold no dot.
#[derive(Clone, Copy, Debug)]
struct NeededByte {
    byte: u8,
    from: usize,
}

impl NeededByte {
    /// For a positive `@rx` whose required literals share a byte, and
    /// whose last steps add none.
    fn of(link: &Rule) -> Option<NeededByte> {
        let OperatorKind::Rx(rx) = &link.operator.kind else {
            return None;
        };
        if link.operator.negated {
            return None;
        }
        let byte = rx.required.as_ref()?.common_byte()?;
        let from = link
            .transforms
            .iter()
            .rposition(|t| !crate::transform::never_adds_bytes(*t))
            .map_or(0, |last| last + 1);
        (from < link.transforms.len()).then_some(NeededByte { byte, from })
    }

    /// Whether no result of step `k` or a later one can match, given the
    /// value before step `k`.
    fn rules_out(&self, k: usize, value: &[u8]) -> bool {
        if k != self.from {
            return false;
        }
        // The literals are found ignoring ASCII case.
        let upper = self.byte.to_ascii_uppercase();
        if upper == self.byte {
            memchr::memchr(self.byte, value).is_none()
        } else {
            memchr::memchr2(self.byte, upper, value).is_none()
        }
    }
}

/// Longest value excerpt kept in a match record.
const EXCERPT: usize = 512;

impl Transaction {
    pub(crate) fn scope_for<'a>(&'a self, head: &'a Rule) -> Scope<'a> {
        self.scope(Some(head))
    }

    /// What targets and macros can read now; `rule` is the chain head
    /// (`RULE.*`), or none for scans not made on behalf of one rule.
    pub(super) fn scope<'a>(&'a self, rule: Option<&'a Rule>) -> Scope<'a> {
        Scope {
            ex: &self.ex,
            cols: &self.cols,
            matched: &self.matched,
            rule,
            highest_severity: self.highest_severity,
            started_us: self.started_us,
            sqli: &self.sqli_memo,
            within: &self.engine.prelude.within,
        }
    }

    pub(super) fn eval_rule(&mut self, head: &Arc<Rule>, phase: Phase) -> RuleOutcome {
        let mut scratch = self.hit_scratch.take().unwrap_or_default();
        let outcome = self.eval_links(head, phase, &mut scratch);
        self.hit_scratch = Some(scratch);
        outcome
    }

    /// Whether the head of `rule` has a matching value now (what
    /// [`Transaction::eval_rule`] asks first, without running anything).
    pub(super) fn head_matches(&mut self, rule: &Rule) -> bool {
        let mut scratch = self.hit_scratch.take().unwrap_or_default();
        scratch.clear();
        self.find_hits(rule, rule, &mut scratch);
        let matched = !scratch.hits.is_empty();
        self.hit_scratch = Some(scratch);
        matched
    }

    fn eval_links(
        &mut self,
        head: &Arc<Rule>,
        phase: Phase,
        scratch: &mut HitScratch,
    ) -> RuleOutcome {
        let mut link: &Rule = head;
        loop {
            scratch.clear();
            self.find_hits(link, head, scratch);
            if scratch.hits.is_empty() {
                return RuleOutcome::NoMatch;
            }
            let last = link.chain.is_none();
            for hit in &scratch.hits {
                let (name, value) = (scratch.name(hit), scratch.value(hit));
                self.matched.var_name.clear();
                self.matched.var_name.push_str(name);
                self.matched.var.clear();
                self.matched.var.extend_from_slice(value);
                // MATCHED_VARS only outlives this link inside a chain (it is
                // cleared at every rule start), so only then is it kept.
                if link.chain.is_some() {
                    self.matched.push_var(name.as_bytes(), value);
                }
                if link.actions.capture && !hit.captures.is_empty() {
                    const KEYS: [&[u8]; 10] =
                        [b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"];
                    for (key, c) in KEYS.iter().zip(scratch.captures(hit)) {
                        self.cols.tx.set_slice(key, c);
                    }
                }
                self.run_effects(link, head);
                if last && self.conclude(head, name, value, &hit.message, phase) {
                    return RuleOutcome::Stop;
                }
            }
            match &link.chain {
                Some(next) => link = next,
                None => return RuleOutcome::Matched,
            }
        }
    }

    /// All values of `link` on which its operator (with negation) matches,
    /// into `out`.
    pub(super) fn find_hits(&self, link: &Rule, head: &Rule, out: &mut HitScratch) {
        let scope = self.scope_for(head);
        // Only the last link of a rule that leaves a record needs the
        // human-readable match description.
        let a = &head.actions;
        let describe = link.chain.is_none() && (a.log || a.auditlog || disrupts(a));
        if link.is_action {
            let mut o = self.op_outcome.borrow_mut();
            operator::run(&link.operator, b"", &scope, false, describe, &mut o);
            out.hits.push(Hit {
                name: 0..0,
                value: 0..0,
                captures: 0..0,
                message: std::mem::take(&mut o.message),
            });
            return;
        }
        // Whether an exclusion (the link's own, or a `ctl:ruleRemoveTarget*`
        // of this transaction) names a target's variable: most do not, and
        // their values need no test each. (CRS's 941010 removes
        // REQUEST_FILENAME from the XSS rules on most requests.)
        let excludes = |var: Variable| {
            link.exclusions.iter().any(|e| e.variable == var) || self.state.removes_targets_of(var)
        };
        let excluded = |var: Variable, name: &[u8]| {
            link.exclusions
                .iter()
                .any(|e| e.variable == var && e.selector.matches(name))
                || self.state.target_removed(head, var, name)
        };
        self.op_outcome.borrow_mut().forget_argument();
        let mut values: Vec<Value<'_>> =
            recycle(std::mem::take(&mut *self.values_scratch.borrow_mut()));
        for t in &link.targets {
            let excluded: Option<&Excluded<'_>> = excludes(t.variable).then_some(&excluded);
            collect_target(&scope, t, excluded, &mut values);
        }
        if values.is_empty() {
            // No value to check (a header this request does not have:
            // CRS's many `REQUEST_HEADERS:Content-Type` rules on a GET):
            // nothing below is needed (~80 instructions a rule).
            *self.values_scratch.borrow_mut() = recycle(values);
            return;
        }
        let gate = self
            .engine
            .plan
            .gates
            .get(link.link_index)
            .copied()
            .flatten();
        // The chain the gate's sweep applies, where it differs from the
        // link's own.
        let sweep_chain = gate
            .and_then(|g| self.engine.plan.groups.get(g.group))
            .map(|g| g.sweep_transforms.as_slice())
            .filter(|chain| chain.len() != link.transforms.len());
        // A positive `@rx` cannot match a value shorter than its pattern
        // needs; after the last step that may lengthen a value, a result
        // that short ends the value's checks (CRS's 934160 needs 8 bytes,
        // and its `t:base64Decode` makes most short values shorter).
        let min_len = match &link.operator.kind {
            OperatorKind::Rx(rx) if !link.operator.negated => rx.min_len,
            _ => 0,
        };
        // Worked out here rather than in a per-link table built with the
        // engine: the link's own (cached) transformations are a few steps,
        // and a table with the `@contains` needles below cost a cache miss
        // per evaluated rule (GET +1 % when tried).
        let last_lengthening = link
            .transforms
            .iter()
            .rposition(|t| !crate::transform::never_lengthens(*t));
        // Whether no result from step `k` on can be matched, given the
        // value before that step.
        let too_short = |value: &[u8], k: usize| {
            value.len() < min_len && last_lengthening.is_none_or(|last| last < k)
        };
        // Worked out here like the limits above: it depends on the link
        // only, but only `multiMatch` links need it (a handful per request,
        // a few steps each), not a table beside every rule.
        let needed = if link.actions.multi_match {
            NeededByte::of(link)
        } else {
            None
        };
        // Whether the thread may remember the values the link finds
        // nothing in (see `value_memo`).
        let remembers = answers_by_value(link);
        let misses = Question::Misses {
            link: link.link_index,
        };
        for v in values.drain(..) {
            if too_short(&v.value, 0) {
                continue;
            }
            // A constant `@contains` after per-byte steps: most values are
            // known not to hold the needle without the transformed copy.
            if self
                .engine
                .mapped_contains
                .may_contain(link.link_index, &v.value)
                == Some(false)
            {
                continue;
            }
            // A value the link found nothing in before, on this thread:
            // nothing to do (see `value_memo`).
            let remember = remembers
                .then(|| self.memo.borrow_mut().find(&v.value, stays_put(&v)))
                .flatten();
            if let Some(held) = remember {
                if self.memo.borrow().answer(held, misses).is_some() {
                    continue;
                }
            }
            // Where the memo will keep a miss (a second sight): the value
            // before the steps below take it (a borrowed value is not
            // copied), and what the link had found so far.
            let keep = remember
                .filter(|&h| self.memo.borrow_mut().admit(h, misses))
                .map(|held| {
                    let before = (out.hits.len(), self.eval_errors.borrow().len());
                    (held, v.value.clone(), before)
                });
            'value: {
                let stable = stays_put(&v);
                // Only bytes that stay put for the phase share a cached scan;
                // the planner gates only rules whose targets are such values.
                let known = |bytes: &[u8]| match gate {
                    Some(gate) if stable => {
                        self.gates.pattern_matches(&self.engine.plan, gate, bytes)
                    }
                    _ => None,
                };
                if link.actions.multi_match && !link.transforms.is_empty() {
                    // The untransformed value was (or will be) scanned for the
                    // other gates of its phase; the later results are checked
                    // by the operator itself.
                    let raw = known(&v.value);
                    if let (Some(gate), true, Cow::Borrowed(bytes)) = (gate, stable, &v.value) {
                        if bytes.len() > SHARED_STEPS_MIN_LEN {
                            self.check(link, &scope, &v.name, bytes, raw, describe, out);
                            self.multi_match_shared(
                                link, &scope, &v.name, bytes, gate, needed, describe, out,
                            );
                            break 'value;
                        }
                    }
                    let mut current: Cow<'_, [u8]> = v.value;
                    self.check(link, &scope, &v.name, &current, raw, describe, out);
                    // The kinds of bytes in the current value: most steps are
                    // known from them to change nothing and report nothing.
                    let mut classes = ByteClasses::of(&current);
                    // What the scan said of the value holds for its bytes
                    // until a step changes them.
                    let mut known_now = raw;
                    for (k, t) in link.transforms.iter().enumerate() {
                        if too_short(&current, k)
                            || needed.is_some_and(|n| n.rules_out(k, &current))
                        {
                            break;
                        }
                        if classes.leave_unreported(*t) {
                            continue;
                        }
                        let short_result = crate::transform::known_output_len(*t, &current)
                            .is_some_and(|len| len < min_len);
                        if short_result && last_lengthening.is_none_or(|last| last <= k) {
                            // Neither this result nor a later one can match.
                            break;
                        }
                        // v2 re-runs the operator when a function reports a
                        // change, which is not always a change of bytes
                        // (`cmdLine` always reports one).
                        let (next, changed) = crate::transform::apply_tracked(*t, &current);
                        let next = match next {
                            Cow::Owned(v) => Some(v),
                            Cow::Borrowed(_) => None,
                        };
                        if let Some(v) = next {
                            current = Cow::Owned(v);
                            classes = ByteClasses::of(&current);
                            known_now = None;
                        }
                        if too_short(&current, k + 1) {
                            // Neither this result nor a later one can match.
                            break;
                        }
                        if changed {
                            self.check(link, &scope, &v.name, &current, known_now, describe, out);
                        }
                    }
                } else {
                    // The set answers on the bytes its sweep scanned for the
                    // group, which may stop before a final `t:lowercase` (see
                    // `MatchGroup::sweep_transforms`): no new scan of the
                    // lower-cased copy.
                    let swept = sweep_chain
                        .filter(|_| stable)
                        .map(|chain| known(&self.tcache.apply(v.value.clone(), chain, true)));
                    let current = self.tcache.apply(v.value, &link.transforms, stable);
                    let answer = swept.unwrap_or_else(|| known(&current));
                    self.check(link, &scope, &v.name, &current, answer, describe, out);
                }
            }
            if let Some((held, original, before)) = keep {
                // No hit and no operator error: a miss to remember.
                if (out.hits.len(), self.eval_errors.borrow().len()) == before {
                    let mut memo = self.memo.borrow_mut();
                    memo.insert(held, misses, &original, &[]);
                }
            }
        }
        *self.values_scratch.borrow_mut() = recycle(values);
    }

    /// The steps of a `multiMatch` link on a long value that stays put,
    /// through the transformation cache: a step result that another chain
    /// reached already (the same bytes) is not computed again, and the
    /// link's set answers for it instead of the operator: from the scan
    /// of those bytes for another chain (CRS's 930110 after `t:cmdLine`),
    /// or, for a result still long, from the link's literals (a packed
    /// search, see `sweep_literals`), else from a scan now. A set's walk
    /// of a few KiB cost less than the case-insensitive Aho-Corasick
    /// search of `check` (934100 after `t:removeWhitespace` on the bench's
    /// 4 KiB form, whose set scans no other chain's copy: 21.3 → 17.8 µs
    /// for that rule alone); the packed search costs an eighth of the
    /// walk. The untransformed value is checked by the caller.
    #[allow(clippy::too_many_arguments)]
    fn multi_match_shared(
        &self,
        link: &Rule,
        scope: &Scope<'_>,
        name: &crate::variables::ValueName<'_>,
        original: &[u8],
        gate: crs_compiler::program::GateRef,
        needed: Option<NeededByte>,
        describe: bool,
        out: &mut HitScratch,
    ) {
        let mut current = super::transform_cache::Transformed::Original(original);
        // Whether the bytes are still text the set's automaton has seen
        // the like of: after `t:base64Decode` they are mostly noise, whose
        // walks fill the set's lazy DFA with states no other value reaches
        // (the bench JSON's prose: four walks of 370 noisy bytes per
        // exchange, as slow as the literal searches that replace them).
        let mut text = true;
        for (k, t) in link.transforms.iter().enumerate() {
            if needed.is_some_and(|n| n.rules_out(k, &current)) {
                break;
            }
            let next = self.tcache.step(&current, *t);
            // v2 re-runs the operator when a function reports a change,
            // which is not always a change of bytes.
            let changed = crate::transform::reports_change(*t, &current, &next)
                .unwrap_or_else(|| crate::transform::apply_tracked(*t, &current).1);
            current = next;
            text = text && !t.decodes_binary();
            if changed {
                let known = if text && current.len() > SHARED_STEPS_MIN_LEN {
                    self.gates
                        .scanned(gate, &current)
                        .or_else(|| {
                            self.literals_absent(link.link_index, &current)
                                .then_some(false)
                        })
                        .or_else(|| {
                            self.gates
                                .pattern_matches(&self.engine.plan, gate, &current)
                        })
                } else {
                    self.gates.scanned(gate, &current)
                };
                self.check(link, scope, name, &current, known, describe, out);
            }
        }
    }

    /// Checks `value`, given what a gate scan says of the link's pattern on
    /// it (`None`: nothing known, the operator runs).
    // The arguments are the pieces of one evaluation step; bundling them in
    // a struct would only move the borrow juggling elsewhere.
    #[allow(clippy::too_many_arguments)]
    fn check(
        &self,
        link: &Rule,
        scope: &Scope<'_>,
        name: &crate::variables::ValueName<'_>,
        value: &[u8],
        known: Option<bool>,
        describe: bool,
        out: &mut HitScratch,
    ) {
        // Nothing scanned these bytes for the pattern: a value without any
        // of the literals every match needs is a miss without the
        // pattern's own automaton (which may first have to build states
        // for bytes it has not seen).
        let known = known.or_else(|| match &link.operator.kind {
            OperatorKind::Rx(rx) => rx
                .required
                .as_ref()
                .filter(|required| !required.may_match(value))
                .map(|_| false),
            _ => None,
        });
        match known {
            // The pattern misses: a positive rule does not match, a
            // negated one does, without running its operator.
            Some(false) if link.operator.negated => {
                push_hit(link, name, value, None, describe, out);
                return;
            }
            // A positive rule does not match where its pattern misses, a
            // negated one where it matches.
            Some(false) => return,
            Some(true) if link.operator.negated => return,
            Some(true) | None => {}
        }
        let capture = link.actions.capture;
        // A negated operator's own description is never shown (its hit
        // says what was required): most of its runs match, and formatting
        // the description each time was wasted.
        let mut o = self.op_outcome.borrow_mut();
        operator::run(
            &link.operator,
            value,
            scope,
            capture,
            describe && !link.operator.negated,
            &mut o,
        );
        if let Some(e) = o.error.take() {
            self.eval_errors
                .borrow_mut()
                .push(format!("rule {}: {e}", link.id));
            return;
        }
        if o.matched == link.operator.negated {
            return;
        }
        push_hit(link, name, value, Some(&o), describe, out);
    }

    /// Runs the non-disruptive side effects of `link`, in the order written.
    pub(super) fn run_effects(&mut self, link: &Rule, head: &Rule) {
        for effect in &link.actions.effects {
            crate::action::apply(self, effect, head);
        }
    }

    /// Logs the match of the whole chain and applies the head's disruptive
    /// action. Returns true when the phase must stop.
    fn conclude(
        &mut self,
        head: &Rule,
        name: &str,
        value: &[u8],
        message: &str,
        phase: Phase,
    ) -> bool {
        let a = &head.actions;
        if let Some(sev) = a.severity {
            self.highest_severity = self.highest_severity.min(sev.level());
        }
        if a.auditlog {
            self.state.relevant = true;
        }
        let enforce = self.state.mode == EngineMode::On && phase != Phase::Logging;
        let takes_effect = enforce && disrupts(a);
        // v2 writes nothing for a `nolog` (which implies `noauditlog`) match
        // that does not disrupt: CRS has ~90 such flow-control matches per
        // request, so they get no record at all.
        if !a.log && !a.auditlog && !takes_effect {
            return false;
        }
        let (msg, data) = {
            let scope = self.scope_for(head);
            (
                a.msg.as_ref().map(|m| expand_string(m, &scope)),
                a.logdata.as_ref().map(|m| expand_string(m, &scope)),
            )
        };
        let disruptive = match &a.disruptive {
            Some(Disruptive::Pass) | None => None,
            Some(d) => Some(d.clone()),
        };
        let excerpt = excerpt(value);
        self.matches.push(MatchRecord {
            id: head.id,
            phase: phase.number(),
            msg,
            data,
            severity: a.severity.map(|s| s.level()),
            tags: a.tags.clone(),
            ver: a.ver.clone(),
            matched_var_name: name.to_owned(),
            matched_value: excerpt,
            match_text: message.to_owned(),
            file: self.engine.file_names.name(&head.location.file),
            line: head.location.line,
            log: a.log,
            auditlog: a.auditlog,
            disruptive: takes_effect,
        });
        if !takes_effect {
            return false;
        }
        let status = a.status;
        let (kind, status) = match disruptive {
            Some(Disruptive::Allow(scope)) => {
                self.state.allow = Some(scope);
                return true;
            }
            Some(Disruptive::Deny) => (InterventionKind::Deny, status.unwrap_or(403)),
            Some(Disruptive::Drop) => (InterventionKind::Drop, status.unwrap_or(403)),
            Some(Disruptive::Redirect(url)) => {
                let url = {
                    let scope = self.scope_for(head);
                    String::from_utf8_lossy(&expand(&url, &scope)).into_owned()
                };
                (
                    InterventionKind::Redirect { url },
                    status.filter(|s| (300..400).contains(s)).unwrap_or(302),
                )
            }
            _ => return false,
        };
        self.intervention = Some(Intervention {
            status,
            rule_id: Some(head.id),
            kind,
            phase: phase.number(),
            message: format!(
                "Access denied with code {status} (phase {}). {}",
                phase.number(),
                message
            ),
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::{excerpt, EXCERPT};

    #[test]
    fn an_excerpt_keeps_the_first_characters_of_the_lossy_value() {
        assert_eq!(excerpt(b"short"), "short");
        let long = "a".repeat(EXCERPT + 10);
        assert_eq!(excerpt(long.as_bytes()), "a".repeat(EXCERPT));
        // Characters, not bytes: 600 two-byte characters keep 512.
        let wide = "é".repeat(600);
        assert_eq!(excerpt(wide.as_bytes()), "é".repeat(EXCERPT));
        // A byte that is not UTF-8 is one replacement character.
        let mut mixed = vec![0xff; 3];
        mixed.extend_from_slice(&[b'x'; EXCERPT]);
        let want: String = "\u{fffd}".repeat(3) + &"x".repeat(EXCERPT - 3);
        assert_eq!(excerpt(&mixed), want);
    }
}
