//! Macro strings: text with `%{TX.foo}` / `%{MATCHED_VAR}` references,
//! expanded per transaction by the engine.

use super::variable::Variable;

/// A piece of a [`MacroString`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum MacroPart {
    /// Literal text, copied as is.
    Literal(String),
    /// `%{VAR}` or `%{COLLECTION.key}`: the first value of that variable
    /// (empty when absent). Keys are lower-cased.
    Var {
        /// The referenced variable.
        variable: Variable,
        /// The member key for collections (`tx.score` → `Some("score")`).
        key: Option<String>,
    },
}

/// Text that may contain macros. Parsed once at load time; a string without
/// macros is a single literal part and expands without allocating.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MacroString {
    /// The literal and variable parts, in order.
    pub parts: Vec<MacroPart>,
}

impl MacroString {
    /// A macro string with no variables.
    pub fn literal(text: impl Into<String>) -> MacroString {
        let text = text.into();
        if text.is_empty() {
            return MacroString { parts: Vec::new() };
        }
        MacroString {
            parts: vec![MacroPart::Literal(text)],
        }
    }

    /// `Some(text)` when the string has no variable parts.
    pub fn as_literal(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [] => Some(""),
            [MacroPart::Literal(s)] => Some(s),
            _ => None,
        }
    }

    /// `Some(key)` when the string is exactly one TX member, `%{tx.key}`
    /// (keys are lower-cased).
    pub fn as_tx_member(&self) -> Option<&str> {
        match self.parts.as_slice() {
            [MacroPart::Var {
                variable: Variable::Tx,
                key: Some(key),
            }] => Some(key),
            _ => None,
        }
    }

    /// True when the string contains at least one `%{…}` reference.
    pub fn has_macros(&self) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, MacroPart::Var { .. }))
    }
}
