//! Parsing `%{VAR}` / `%{COLLECTION.key}` macros into a [`MacroString`].
//!
//! As in ModSecurity v2 (`expand_macros` in `re_actions.c`), a macro is
//! `%{` + a variable name, optionally `.` + a member key, + `}`. A `%{`
//! without a closing brace is plain text. Unlike v2, which silently leaves
//! an unknown name unexpanded at request time, an unknown variable is a
//! load error: it is almost always a typo in a rule.

use crate::ir::macros::{MacroPart, MacroString};
use crate::ir::variable::Variable;

/// A macro naming something that does not exist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct MacroError {
    /// What is wrong.
    pub(crate) message: String,
    /// Byte offset of the `%{` in the text.
    pub(crate) offset: usize,
}

/// Parses text with macros. Member keys are lower-cased (collections are
/// case-insensitive); literal text is kept as written.
pub(crate) fn parse_macros(text: &str) -> Result<MacroString, MacroError> {
    let mut parts = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(start) = rest.find("%{") {
        let after = &rest[start + 2..];
        let Some(close) = after.find('}') else { break };
        let inner = &after[..close];
        let (name, key) = match inner.split_once('.') {
            Some((n, k)) => (n.trim(), Some(k.trim())),
            None => (inner.trim(), None),
        };
        let Some(variable) = Variable::from_name(name) else {
            return Err(MacroError {
                message: format!("unknown variable {name:?} in macro %{{{inner}}}"),
                offset: base + start,
            });
        };
        if key.is_some() && !variable.is_collection() {
            return Err(MacroError {
                message: format!(
                    "{} is not a collection, so %{{{inner}}} cannot name a member",
                    variable.name()
                ),
                offset: base + start,
            });
        }
        literal.push_str(&rest[..start]);
        if !literal.is_empty() {
            parts.push(MacroPart::Literal(std::mem::take(&mut literal)));
        }
        parts.push(MacroPart::Var {
            variable,
            key: key.map(str::to_ascii_lowercase),
        });
        let consumed = start + 2 + close + 1;
        base += consumed;
        rest = &rest[consumed..];
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        parts.push(MacroPart::Literal(literal));
    }
    Ok(MacroString { parts })
}

/// True when the text contains something that looks like a macro.
pub(crate) fn has_macro_syntax(text: &str) -> bool {
    text.find("%{").is_some_and(|i| text[i..].contains('}'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_and_variables() {
        let m = parse_macros("score %{TX.Anomaly_Score} for %{MATCHED_VAR}!").unwrap();
        assert_eq!(
            m.parts,
            vec![
                MacroPart::Literal("score ".into()),
                MacroPart::Var {
                    variable: Variable::Tx,
                    key: Some("anomaly_score".into())
                },
                MacroPart::Literal(" for ".into()),
                MacroPart::Var {
                    variable: Variable::MatchedVar,
                    key: None
                },
                MacroPart::Literal("!".into()),
            ]
        );
        assert_eq!(parse_macros("plain").unwrap().as_literal(), Some("plain"));
        assert_eq!(parse_macros("100%{").unwrap().as_literal(), Some("100%{"));
        assert!(parse_macros("").unwrap().parts.is_empty());
    }

    #[test]
    fn unknown_names_are_errors() {
        let e = parse_macros("a %{tx.x} %{NOPE}").unwrap_err();
        assert_eq!(e.offset, 10);
        assert!(parse_macros("%{REQUEST_URI.x}").is_err());
        assert!(parse_macros("%{rule.id} %{request_headers.host} %{reqbody_error_msg}").is_ok());
    }
}
