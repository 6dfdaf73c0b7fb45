//! Executing non-disruptive actions: `setvar`, `setenv`, `ctl`, and the
//! collection actions.

mod setvar;

use crs_compiler::ir::action::Effect;
use crs_compiler::ir::rule::Rule;

use crate::eval::macros::expand;
use crate::transaction::Transaction;

/// Applies one side effect of a matched rule link.
pub(crate) fn apply(tx: &mut Transaction, effect: &Effect, head: &Rule) {
    match effect {
        Effect::SetVar { collection, key, op } => setvar::apply(tx, collection, key, op, head),
        Effect::SetEnv { name, value } => {
            let (name, value) = {
                let scope = tx.scope_for(head);
                (expand(name, &scope).into_owned(), value.as_ref().map(|v| expand(v, &scope).into_owned()))
            };
            match value {
                Some(v) => tx.collections_mut().env.set(&name, v),
                None => tx.collections_mut().env.remove(&name),
            }
        }
        Effect::Ctl(ctl) => tx.apply_ctl(ctl),
        // Persistent collections are kept in memory for the transaction;
        // `initcol` only names the collection and `expirevar` has nothing to
        // expire within one exchange.
        Effect::InitCol { .. } | Effect::ExpireVar { .. } | Effect::SetUid(_) | Effect::SetSid(_) => {}
        #[allow(unreachable_patterns)]
        _ => {}
    }
}
