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
    let change = match op {
        SetVarOp::Set(v) => match v.as_literal() {
            Some(l) => Change::Copy(l.as_bytes()),
            None => Change::Move(expand(v, &tx.scope_for(head)).into_owned()),
        },
        // ModSecurity reads the operand of `+=`/`-=` with atoi: only the
        // number is kept, so an expanded operand is never copied.
        SetVarOp::Add(v) => Change::Add(i64::from(atoi(&expand(v, &tx.scope_for(head))))),
        SetVarOp::Sub(v) => Change::Add(-i64::from(atoi(&expand(v, &tx.scope_for(head))))),
        SetVarOp::Unset => Change::Unset,
        #[allow(unreachable_patterns)]
        _ => return,
    };
    let Some(col) = tx.collections_mut().by_name_mut(collection) else {
        return;
    };
    match change {
        Change::Copy(v) => col.set_slice(&key, v),
        // An expanded value is moved in, not copied.
        Change::Move(v) => col.set(key, v),
        Change::Add(delta) => {
            // ModSecurity: a missing variable counts as 0.
            let current = col.get(&key).map(|v| i64::from(atoi(v))).unwrap_or(0);
            col.set_number(&key, current.saturating_add(delta));
        }
        Change::Unset => col.remove(&key),
    }
}

/// What a `setvar` does to its member once its operand is expanded.
enum Change<'a> {
    /// Set to a literal value.
    Copy(&'a [u8]),
    /// Set to an expanded value.
    Move(Vec<u8>),
    /// Add (or, negative, subtract) a number.
    Add(i64),
    Unset,
}
