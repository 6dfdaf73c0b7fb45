//! Building automata under size limits. Only [`regex`] decides PCRE
//! compatibility.

pub mod gate_set;
pub mod phrases;
pub(crate) mod pool;
pub mod regex;
pub mod required;
mod start_bytes;
