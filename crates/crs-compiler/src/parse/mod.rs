//! SecLang lexing and parsing.
