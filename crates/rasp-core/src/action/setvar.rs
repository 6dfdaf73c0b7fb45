//! `setvar`: set, add, subtract or unset a collection member.

use crs_compiler::ir::action::SetVarOp;
use crs_compiler::ir::macros::MacroString;
use crs_compiler::ir::rule::Rule;

use crate::eval::macros::{expand, expand_into};
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
    // Expanded ones are written to one reused buffer, key then value, and
    // copied into the member's own buffer (see `Collection::clear`).
    let mut scratch = std::mem::take(&mut tx.expand_scratch);
    scratch.clear();
    let literal_key = key.as_literal();
    if literal_key.is_none() {
        expand_into(key, &tx.scope_for(head), &mut scratch);
        scratch.make_ascii_lowercase();
    }
    let key_len = scratch.len();
    let change = match op {
        SetVarOp::Set(v) => match v.as_literal() {
            Some(l) => Change::Set(Some(l.as_bytes())),
            None => {
                expand_into(v, &tx.scope_for(head), &mut scratch);
                Change::Set(None)
            }
        },
        // ModSecurity reads the operand of `+=`/`-=` with atoi: only the
        // number is kept, so an expanded operand is never copied.
        SetVarOp::Add(v) => Change::Add(i64::from(atoi(&expand(v, &tx.scope_for(head))))),
        SetVarOp::Sub(v) => Change::Add(-i64::from(atoi(&expand(v, &tx.scope_for(head))))),
        SetVarOp::Unset => Change::Unset,
        #[allow(unreachable_patterns)]
        _ => {
            tx.expand_scratch = scratch;
            return;
        }
    };
    let (expanded_key, expanded_value) = scratch.split_at(key_len);
    let key = literal_key.map_or(expanded_key, str::as_bytes);
    if let Some(col) = tx.collections_mut().by_name_mut(collection) {
        match change {
            Change::Set(value) => col.set_slice(key, value.unwrap_or(expanded_value)),
            Change::Add(delta) => col.update_number(key, |current| {
                // ModSecurity: a missing variable counts as 0.
                current
                    .map_or(0, |v| i64::from(atoi(v)))
                    .saturating_add(delta)
            }),
            Change::Unset => col.remove(key),
        }
    }
    tx.expand_scratch = scratch;
}

/// What a `setvar` does to its member once its operand is expanded.
enum Change<'a> {
    /// Set to a literal value, or (`None`) to the expanded one.
    Set(Option<&'a [u8]>),
    /// Add (or, negative, subtract) a number.
    Add(i64),
    Unset,
}
