//! Evaluating one rule link: macros, operators, and the per-link result.

pub(crate) mod macros;
pub(crate) mod operator;
