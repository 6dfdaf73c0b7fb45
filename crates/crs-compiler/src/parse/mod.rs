//! SecLang lexing and parsing: files → directives → words, and the small
//! grammars inside words (target lists, operators, action lists, macros).
//!
//! Nothing here knows what a directive means; that is [`crate::compile`].

pub(crate) mod directive;
pub(crate) mod lexer;
pub(crate) mod macros;
pub(crate) mod operator;
pub(crate) mod pairs;
pub(crate) mod pm_content;
