//! Variable storage and resolution: what a rule target evaluates to.
//!
//! Request and response data live in [`ExchangeData`], filled once per
//! phase; mutable collections (TX, IP, …) live in [`Collections`]. Resolving
//! a target never copies request data: values borrow from the exchange.

mod collect;
pub(crate) mod collections;
mod exchange;

pub(crate) use collect::{
    collect_target, first_value, now_us, Excluded, MatchedState, Scope, Value, ValueName,
};
pub(crate) use collections::Collections;
pub(crate) use exchange::{ExchangeData, FileEntry, Pair};
