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
    // ModSecurity reads the operand of `+=`/`-=` with atoi: only the number
    // is kept, so an expanded operand is never copied.
    let delta = match op {
        SetVarOp::Add(v) => Some(i64::from(atoi(&expand(v, &tx.scope_for(head))))),
        SetVarOp::Sub(v) => Some(-i64::from(atoi(&expand(v, &tx.scope_for(head))))),
        _ => None,
    };
    let operand: Option<Cow<'_, [u8]>> = match op {
        SetVarOp::Set(v) => Some(match v.as_literal() {
            Some(l) => Cow::Borrowed(l.as_bytes()),
            None => Cow::Owned(expand(v, &tx.scope_for(head)).into_owned()),
        }),
        _ => None,
    };
    let Some(col) = tx.collections_mut().by_name_mut(collection) else {
        return;
    };
    match (op, operand, delta) {
        (SetVarOp::Set(_), Some(Cow::Borrowed(v)), _) => col.set_slice(&key, v),
        // An expanded value is moved in, not copied.
        (SetVarOp::Set(_), Some(Cow::Owned(v)), _) => col.set(key, v),
        (_, _, Some(delta)) => {
            // ModSecurity: a missing variable counts as 0.
            let current = col.get(&key).map(|v| i64::from(atoi(v))).unwrap_or(0);
            col.set_number(&key, current.saturating_add(delta));
        }
        (SetVarOp::Unset, _, _) => col.remove(&key),
        _ => {}
    }
}
