//! The direct run of a rule whose head stores each of its values (see
//! [`crate::shortcut::stores_each`]): CRS's 920450 turns every request
//! header name into a TX member, then checks those members.

use std::borrow::Cow;

use crs_compiler::ir::action::{Effect, SetVarOp};
use crs_compiler::ir::macros::{MacroPart, MacroString};
use crs_compiler::ir::rule::Rule;
use crs_compiler::ir::transform::Transform;
use crs_compiler::ir::variable::{starts_with_ignoring_case, Selector, SelectorRegex, Variable};

use super::rule::recycle;
use super::Transaction;
use crate::eval::operator;
use crate::shortcut::is_capture;
use crate::variables::collect_target;

impl Transaction {
    /// Runs the effects of `head`'s head on each of its values, as the full
    /// evaluation does for each hit, then looks for the hits of its next
    /// link. True when there are none: the rule does not match and nothing
    /// is left to do. False when the rule must be evaluated in full (the
    /// next link found a value, or a `ctl` removed some of the head's
    /// targets); that evaluation sets the same members to the same values
    /// again.
    pub(super) fn stores_each_misses(&mut self, head: &Rule) -> bool {
        let Some(next) = head.chain.as_deref() else {
            return false;
        };
        // Which values remain after a removal is the full evaluation's
        // business.
        let removed = head
            .targets
            .iter()
            .any(|t| self.state.removes_targets_of(t.variable));
        if removed {
            return false;
        }
        let mut scratch = self.hit_scratch.take().unwrap_or_default();
        scratch.clear();
        // The values, transformed, into the scratch text first: the
        // collections they are borrowed from cannot be read while TX
        // changes.
        {
            let scope = self.scope_for(head);
            let mut values = recycle(std::mem::take(&mut *self.values_scratch.borrow_mut()));
            for target in &head.targets {
                collect_target(&scope, target, None, &mut values);
            }
            for v in values.drain(..) {
                let start = scratch.text.len();
                transform_into(&v.value, &head.transforms, &mut scratch.text);
                scratch.captures.push(start..scratch.text.len());
            }
            *self.values_scratch.borrow_mut() = recycle(values);
        }
        if scratch.captures.is_empty() {
            // No value, no hit: the full evaluation ends here too.
            self.hit_scratch = Some(scratch);
            return true;
        }
        let mut member = std::mem::take(&mut self.expand_scratch);
        let last = scratch.captures.len().saturating_sub(1);
        for i in 0..scratch.captures.len() {
            let value = scratch
                .captures
                .get(i)
                .and_then(|r| scratch.text.get(r.clone()))
                .unwrap_or_default();
            // `capture` on a pattern that matches the whole value: TX.0 is
            // the value. Only the last one is written: the effects here
            // read the capture itself (the shape `stores_each` admits), so
            // nothing reads TX.0 before the next value replaces it.
            if i == last {
                self.cols.tx.set_slice(b"0", value);
            }
            for effect in &head.actions.effects {
                if !self.set_from_capture(effect, value, &mut member) {
                    crate::action::apply(self, effect, head);
                }
            }
        }
        self.expand_scratch = member;
        scratch.clear();
        if let Some(misses) = self.next_misses_directly(next, head) {
            self.hit_scratch = Some(scratch);
            return misses;
        }
        let errors = self.eval_errors.borrow().len();
        self.find_hits(next, head, &mut scratch);
        let misses = !scratch.has_hits();
        if !misses {
            // The full evaluation checks these values again and records
            // any error then.
            self.eval_errors.borrow_mut().truncate(errors);
        }
        self.hit_scratch = Some(scratch);
        misses
    }

    /// Whether `next` finds nothing, by its operator alone on each value,
    /// when its one target is the TX members whose names start with a
    /// literal (`TX:/^header_name_920450_/`) and it has no transformation
    /// or exclusion: the values `find_hits` would collect, without its
    /// per-value steps (value list, memory, caches, records), which were
    /// about half of 920450's chain. `None` for any other link, or when a
    /// `ctl` removed TX targets (the full evaluation's business).
    fn next_misses_directly(&self, next: &Rule, head: &Rule) -> Option<bool> {
        let [target] = next.targets.as_slice() else {
            return None;
        };
        let Selector::Regex(SelectorRegex {
            literal_prefix: Some(prefix),
            ..
        }) = &target.selector
        else {
            return None;
        };
        if target.variable != Variable::Tx
            || target.count
            || next.is_action
            || !next.transforms.is_empty()
            || !next.exclusions.is_empty()
            || self.state.removes_targets_of(Variable::Tx)
        {
            return None;
        }
        let scope = self.scope_for(head);
        let mut o = self.op_outcome.borrow_mut();
        o.forget_argument();
        let members = self.cols.tx.entries().iter();
        for member in members.filter(|p| starts_with_ignoring_case(&p.name, prefix)) {
            operator::run(&next.operator, &member.value, &scope, false, false, &mut o);
            if o.error.is_some() || o.matched != next.operator.negated {
                // A hit, or an error the full evaluation records.
                return Some(false);
            }
        }
        Some(true)
    }

    /// Runs `effect` when it is a `setvar` of a TX member whose key and
    /// value are literal text and `%{TX.0}`, which is `capture` (the
    /// shape [`crate::shortcut::stores_each`] admits), as `setvar` would:
    /// the key lower-cased, then set. `member` is a scratch buffer. False
    /// for any other effect, which is left to run as usual.
    ///
    /// Why not `setvar` itself: it finds TX.0 in the collection for each
    /// of the two macros; 920450 runs this for every request header.
    fn set_from_capture(&mut self, effect: &Effect, capture: &[u8], member: &mut Vec<u8>) -> bool {
        let Effect::SetVar {
            collection,
            key,
            op: SetVarOp::Set(value),
        } = effect
        else {
            return false;
        };
        member.clear();
        if collection != "tx" || !with_capture(key, capture, member) {
            return false;
        }
        member.make_ascii_lowercase();
        let key_len = member.len();
        if !with_capture(value, capture, member) {
            return false;
        }
        let (key, value) = member.split_at(key_len);
        self.cols.tx.set_slice(key, value);
        true
    }
}

/// Appends `m` to `out` when its parts are literal text and `%{TX.0}`
/// (`capture`); false, with `out` incomplete, when another part is there.
fn with_capture(m: &MacroString, capture: &[u8], out: &mut Vec<u8>) -> bool {
    for part in &m.parts {
        match part {
            MacroPart::Literal(text) => out.extend_from_slice(text.as_bytes()),
            part if is_capture(part) => out.extend_from_slice(capture),
            _ => return false,
        }
    }
    true
}

/// Appends `value` after the transformations of `chain` to `out`.
fn transform_into(value: &[u8], chain: &[Transform], out: &mut Vec<u8>) {
    if chain.iter().all(|t| *t == Transform::Lowercase) {
        // 920450's chain, in place: no copy of each name to lower-case.
        let start = out.len();
        out.extend_from_slice(value);
        if let Some(added) = out.get_mut(start..) {
            added.make_ascii_lowercase();
        }
        return;
    }
    let mut current = Cow::Borrowed(value);
    for t in chain {
        if let Cow::Owned(next) = crate::transform::apply(*t, &current) {
            current = Cow::Owned(next);
        }
    }
    out.extend_from_slice(&current);
}
