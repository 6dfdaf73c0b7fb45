//! The validated intermediate representation that `rasp-core` executes.
//!
//! Everything here is decided at load time: names resolved, regexes and
//! phrase lists compiled, defaults merged, `skipAfter` targets resolved.

pub mod action;
pub mod macros;
pub mod operator;
pub mod rule;
pub mod settings;
pub mod transform;
pub mod variable;
