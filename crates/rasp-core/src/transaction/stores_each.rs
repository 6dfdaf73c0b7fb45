//! The direct run of a rule whose head stores each of its values (see
//! [`crate::shortcut::stores_each`]): CRS's 920450 turns every request
//! header name into a TX member, then checks those members.

use std::borrow::Cow;
use std::sync::Arc;

use crs_compiler::ir::action::{Effect, SetVarOp};
use crs_compiler::ir::macros::{MacroPart, MacroString};
use crs_compiler::ir::rule::Rule;
use crs_compiler::ir::transform::Transform;
use crs_compiler::ir::variable::{starts_with_ignoring_case, Variable};

use super::rule::{recycle, HitScratch};
use super::Transaction;
use crate::eval::operator;
use crate::shortcut::{is_capture, prefix_read, stored_prefixes, UnreadStores};
use crate::variables::collect_target;

impl Transaction {
    /// Runs the effects of `head`'s head on each of its values, as the full
    /// evaluation does for each hit, then looks for the hits of its next
    /// link. True when there are none: the rule does not match and nothing
    /// is left to do. False when the rule must be evaluated in full (the
    /// next link found a value, or a `ctl` removed some of the head's
    /// targets); that evaluation sets the same members to the same values
    /// again.
    ///
    /// With `unread` (some stores may be left out, see
    /// `shortcut::unread`), the next link is first checked on the values
    /// the stores would make; when it finds nothing, only the stores
    /// another rule may read are made.
    pub(super) fn stores_each_misses(&mut self, head: &Arc<Rule>, unread: Option<u32>) -> bool {
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
        self.captures_into(head, &mut scratch);
        if scratch.captures.is_empty() {
            // No value, no hit: the full evaluation ends here too.
            self.hit_scratch = Some(scratch);
            return true;
        }
        // The engine's table, held apart from the transaction it changes.
        let shortcuts = Arc::clone(&self.engine.shortcuts);
        let readers = unread.and_then(|i| shortcuts.unread_stores(i));
        if let Some(readers) = readers {
            if self.unwritten_stores_miss(head, next, &scratch) {
                self.store_read(head, readers, &scratch);
                self.unwritten.push(Arc::clone(head));
                scratch.clear();
                self.hit_scratch = Some(scratch);
                return true;
            }
        }
        self.set_last_capture(&scratch);
        let mut member = std::mem::take(&mut self.expand_scratch);
        for i in 0..scratch.captures.len() {
            let value = scratch
                .captures
                .get(i)
                .and_then(|r| scratch.text.get(r.clone()))
                .unwrap_or_default();
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

    /// The values of `head`'s targets after its transformations (what its
    /// `capture` makes of each), back to back in `scratch`'s text, with
    /// their ranges in its captures.
    fn captures_into(&self, head: &Rule, scratch: &mut HitScratch) {
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

    /// Whether `next` finds nothing, by its operator alone on each value,
    /// when its one target is the TX members whose names start with a
    /// literal (`TX:/^header_name_920450_/`) and it has no transformation
    /// or exclusion: the values `find_hits` would collect, without its
    /// per-value steps (value list, memory, caches, records), which were
    /// about half of 920450's chain. `None` for any other link, or when a
    /// `ctl` removed TX targets (the full evaluation's business).
    fn next_misses_directly(&self, next: &Rule, head: &Rule) -> Option<bool> {
        let prefix = prefix_read(next)?;
        if self.state.removes_targets_of(Variable::Tx) {
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

    /// Whether `next` (whose one target is the TX members the stores of
    /// `head` set, and nothing else that can be there: see
    /// `shortcut::unread`) finds nothing in the members the stores would
    /// make from the captures in `scratch`, checked without making them.
    /// A name sent twice is checked twice, where the stores keep its last
    /// value: a miss on both is a miss on the last.
    fn unwritten_stores_miss(&mut self, head: &Rule, next: &Rule, scratch: &HitScratch) -> bool {
        if self.state.removes_targets_of(Variable::Tx) {
            // Which members the next link reads is the full evaluation's
            // business.
            return false;
        }
        let mut value = std::mem::take(&mut self.expand_scratch);
        let mut misses = true;
        {
            let scope = self.scope_for(head);
            let mut o = self.op_outcome.borrow_mut();
            o.forget_argument();
            let captures = scratch.captures.iter();
            'captures: for capture in captures.filter_map(|r| scratch.text.get(r.clone())) {
                for effect in &head.actions.effects {
                    value.clear();
                    let built = match effect {
                        Effect::SetVar {
                            op: SetVarOp::Set(m),
                            ..
                        } => with_capture(m, capture, &mut value),
                        _ => false,
                    };
                    if !built {
                        misses = false;
                        break 'captures;
                    }
                    operator::run(&next.operator, &value, &scope, false, false, &mut o);
                    if o.error.is_some() || o.matched != next.operator.negated {
                        // A hit, or an error the full evaluation records.
                        misses = false;
                        break 'captures;
                    }
                }
            }
        }
        self.expand_scratch = value;
        misses
    }

    /// TX.0 as the full evaluation leaves it, before the stores: `capture`
    /// on a pattern that matches the whole value makes TX.0 each value in
    /// turn, the first one before the first store (where a new TX.0 takes
    /// its place among the members), the last one last. The effects here
    /// read the capture itself (the shape `stores_each` admits), so
    /// nothing reads the values in between.
    fn set_last_capture(&mut self, scratch: &HitScratch) {
        if let Some(last) = scratch.captures.last().cloned() {
            let value = scratch.text.get(last).unwrap_or_default();
            self.cols.tx.set_slice(b"0", value);
        }
    }

    /// The stores of `head` from the captures in `scratch` that another
    /// rule may read (`readers`), in the order the direct run makes them,
    /// after TX.0.
    fn store_read(&mut self, head: &Rule, readers: &UnreadStores, scratch: &HitScratch) {
        self.set_last_capture(scratch);
        let mut member = std::mem::take(&mut self.expand_scratch);
        let captures = scratch.captures.iter();
        for capture in captures.filter_map(|r| scratch.text.get(r.clone())) {
            for effect in &head.actions.effects {
                let Some(value) = key_of(effect, capture, &mut member) else {
                    continue;
                };
                // The member's key is a literal and the capture (see
                // `shortcut::unread`); its value is made only when stored.
                let key_len = member.len();
                let read = readers.read(&member, key_len.saturating_sub(capture.len()));
                if read && with_capture(value, capture, &mut member) {
                    let (key, value) = member.split_at(key_len);
                    self.cols.tx.set_slice(key, value);
                }
            }
        }
        self.expand_scratch = member;
    }

    /// The value of TX member `name` that a left-out store of an
    /// `unwritten` head would have set (see `shortcut::unread`): the
    /// head's values taken through its chain and effects again, the last
    /// store of the name winning, as in TX.
    pub(super) fn unwritten_member(&self, name: &[u8]) -> Option<Vec<u8>> {
        let name = name.to_ascii_lowercase();
        let mut found = None;
        for head in &self.unwritten {
            let prefixes = stored_prefixes(head).unwrap_or_default();
            if !prefixes.iter().any(|p| name.starts_with(p)) {
                continue;
            }
            let mut scratch = HitScratch::default();
            self.captures_into(head, &mut scratch);
            let mut member = Vec::new();
            for capture in scratch
                .captures
                .iter()
                .filter_map(|r| scratch.text.get(r.clone()))
            {
                for effect in &head.actions.effects {
                    if let Some(key_len) = store_of(effect, capture, &mut member) {
                        let (key, value) = member.split_at(key_len);
                        if key == name {
                            found = Some(value.to_vec());
                        }
                    }
                }
            }
        }
        found
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
        let Some(key_len) = store_of(effect, capture, member) else {
            return false;
        };
        let (key, value) = member.split_at(key_len);
        self.cols.tx.set_slice(key, value);
        true
    }
}

/// The TX member `effect` sets when it is a `setvar` of a TX member whose
/// key and value are literal text and `%{TX.0}` (`capture`): its key,
/// lower-cased as `setvar` stores it, then its value, into `out`; the
/// key's length. `None` for any other effect.
fn store_of(effect: &Effect, capture: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let value = key_of(effect, capture, out)?;
    let key_len = out.len();
    with_capture(value, capture, out).then_some(key_len)
}

/// [`store_of`]'s key alone, into `out`; the value's macro.
fn key_of<'e>(effect: &'e Effect, capture: &[u8], out: &mut Vec<u8>) -> Option<&'e MacroString> {
    let Effect::SetVar {
        collection,
        key,
        op: SetVarOp::Set(value),
    } = effect
    else {
        return None;
    };
    out.clear();
    if collection != "tx" || !with_capture(key, capture, out) {
        return None;
    }
    out.make_ascii_lowercase();
    Some(value)
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
