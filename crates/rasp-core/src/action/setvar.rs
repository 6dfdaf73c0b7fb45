//! `setvar`: set, add, subtract or unset a collection member.

use std::borrow::Cow;

use crs_compiler::ir::action::SetVarOp;
use crs_compiler::ir::macros::MacroString;
use crs_compiler::ir::rule::Rule;

use crate::eval::macros::expand;
use crate::operator::numeric::atoi;
use crate::transaction::Transaction;

pub(super) fn apply(
    tx: &mut Transaction,
    collection: &str,
    key: &MacroString,
    op: &SetVarOp,
    head: &Rule,
) {
    // Literal keys and values (nearly all of CRS's ~150 setvars per
    // request) are used as written: keys are lower-cased at compile time.
    let key: Cow<'_, [u8]> = match key.as_literal() {
        Some(k) => Cow::Borrowed(k.as_bytes()),
        None => {
            let mut key = expand(key, &tx.scope_for(head)).into_owned();
            key.make_ascii_lowercase();
            Cow::Owned(key)
        }
    };
    let operand: Option<Cow<'_, [u8]>> = match op {
        SetVarOp::Set(v) | SetVarOp::Add(v) | SetVarOp::Sub(v) => Some(match v.as_literal() {
            Some(l) => Cow::Borrowed(l.as_bytes()),
            None => Cow::Owned(expand(v, &tx.scope_for(head)).into_owned()),
        }),
        SetVarOp::Unset => None,
        #[allow(unreachable_patterns)]
        _ => None,
    };
    let Some(col) = tx.collections_mut().by_name_mut(collection) else {
        return;
    };
    match (op, operand) {
        (SetVarOp::Set(_), Some(Cow::Borrowed(v))) => col.set_slice(&key, v),
        // An expanded value is moved in, not copied.
        (SetVarOp::Set(_), Some(Cow::Owned(v))) => col.set(&key, v),
        (SetVarOp::Add(_), Some(v)) | (SetVarOp::Sub(_), Some(v)) => {
            // ModSecurity: a missing variable counts as 0; operands are
            // read with atoi.
            let current = col.get(&key).map(|v| i64::from(atoi(v))).unwrap_or(0);
            let delta = i64::from(atoi(&v));
            let next = if matches!(op, SetVarOp::Add(_)) {
                current.saturating_add(delta)
            } else {
                current.saturating_sub(delta)
            };
            col.set_number(&key, next);
        }
        (SetVarOp::Unset, _) => col.remove(&key),
        _ => {}
    }
}
