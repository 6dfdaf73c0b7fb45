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
        Effect::SetVar {
            collection,
            key,
            op,
        } => setvar::apply(tx, collection, key, op, head),
        Effect::SetEnv { name, value } => {
            let (name, value) = {
                let scope = tx.scope_for(head);
                (
                    expand(name, &scope).into_owned(),
                    value.as_ref().map(|v| expand(v, &scope).into_owned()),
                )
            };
            match value {
                Some(v) => tx
                    .collections_mut()
                    .env
                    .set(std::borrow::Cow::Owned(name), v),
                None => tx.collections_mut().env.remove(&name),
            }
        }
        Effect::Ctl(ctl) => tx.apply_ctl(ctl),
        Effect::InitCol { collection, key } => {
            let key = expand(key, &tx.scope_for(head)).into_owned();
            tx.init_collection(collection, key);
        }
        Effect::SetSid(key) => {
            let key = expand(key, &tx.scope_for(head)).into_owned();
            tx.init_collection("session", key);
        }
        Effect::SetUid(key) => {
            let key = expand(key, &tx.scope_for(head)).into_owned();
            tx.init_collection("user", key);
        }
        Effect::ExpireVar {
            collection,
            key,
            seconds,
        } => {
            let (key, secs) = {
                let scope = tx.scope_for(head);
                (
                    expand(key, &scope).to_ascii_lowercase(),
                    i64::from(crate::operator::numeric::atoi(&expand(seconds, &scope))),
                )
            };
            tx.expire_var(collection, key, secs);
        }
        #[allow(unreachable_patterns)]
        _ => {}
    }
}
