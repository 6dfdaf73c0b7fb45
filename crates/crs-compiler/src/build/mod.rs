//! Building automata under size limits. Only [`regex`] decides PCRE
//! compatibility.

pub mod phrases;
pub mod regex;
