//! `setvar`: set, add, subtract or unset a collection member.

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
    let (key, operand) = {
        let scope = tx.scope_for(head);
        let key = expand(key, &scope).to_ascii_lowercase();
        let operand = match op {
            SetVarOp::Set(v) | SetVarOp::Add(v) | SetVarOp::Sub(v) => {
                Some(expand(v, &scope).into_owned())
            }
            SetVarOp::Unset => None,
            #[allow(unreachable_patterns)]
            _ => None,
        };
        (key, operand)
    };
    let Some(col) = tx.collections_mut().by_name_mut(collection) else {
        return;
    };
    match (op, operand) {
        (SetVarOp::Set(_), Some(v)) => col.set(&key, v),
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
            col.set(&key, next.to_string().into_bytes());
        }
        (SetVarOp::Unset, _) => col.remove(&key),
        _ => {}
    }
}
