//! Operators that need more than a line of code, as pure functions over
//! bytes with ModSecurity v2's semantics (`re_operators.c`).
//!
//! The rule evaluator owns matching state (captures, `MATCHED_VAR`); these
//! functions only answer "does it match, and what does v2 say about it".
//! Messages that name the variable take it as an argument because v2 puts
//! it inside the sentence ("… at ARGS:x.").

pub mod contains_word;
pub mod detect_sqli;
pub mod detect_xss;
pub mod numeric;
pub mod validate_byte_range;
pub mod validate_url_encoding;
pub mod validate_utf8_encoding;

#[cfg(test)]
mod robustness;
