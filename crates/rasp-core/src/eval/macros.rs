//! Macro expansion (`%{TX.score}`, `%{MATCHED_VAR}`).

use std::borrow::Cow;

use crs_compiler::ir::macros::{MacroPart, MacroString};

use crate::variables::{first_value, Scope};

/// Expands `m` against the transaction. Literal-only strings are borrowed.
pub(crate) fn expand<'a>(m: &'a MacroString, scope: &Scope<'a>) -> Cow<'a, [u8]> {
    match m.parts.as_slice() {
        [] => Cow::Borrowed(b""),
        [MacroPart::Literal(s)] => Cow::Borrowed(s.as_bytes()),
        // `%{tx.allowed_methods}` alone: the value itself, not a copy.
        [MacroPart::Var { variable, key }] => {
            first_value(scope, *variable, key.as_deref()).unwrap_or(Cow::Borrowed(b""))
        }
        parts => {
            // Room for the literals and a short value or two: CRS's log
            // data (`Matched Data: %{TX.0} found within ...`) otherwise
            // grows the buffer four or five times.
            let room: usize = parts
                .iter()
                .map(|p| match p {
                    MacroPart::Literal(s) => s.len(),
                    _ => 32,
                })
                .sum();
            let mut out = Vec::with_capacity(room);
            append_parts(parts, scope, &mut out);
            Cow::Owned(out)
        }
    }
}

/// Appends the expansion of `m` to `out` (a buffer the caller reuses).
pub(crate) fn expand_into(m: &MacroString, scope: &Scope<'_>, out: &mut Vec<u8>) {
    append_parts(&m.parts, scope, out);
}

fn append_parts(parts: &[MacroPart], scope: &Scope<'_>, out: &mut Vec<u8>) {
    for p in parts {
        match p {
            MacroPart::Literal(s) => out.extend_from_slice(s.as_bytes()),
            MacroPart::Var { variable, key } => {
                if let Some(v) = first_value(scope, *variable, key.as_deref()) {
                    out.extend_from_slice(&v);
                }
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}

/// Expands to a (lossy) string, for messages. An expansion built in a
/// new buffer becomes the string itself when it is UTF-8 (the common
/// case): the lossy conversion's chunk walk and a second copy were 1.8 %
/// of the bench's blocked SQLi GET, whose matches each expand a message
/// and log data.
pub(crate) fn expand_string(m: &MacroString, scope: &Scope<'_>) -> String {
    match expand(m, scope) {
        Cow::Owned(bytes) => String::from_utf8(bytes)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        Cow::Borrowed(bytes) => String::from_utf8_lossy(bytes).into_owned(),
    }
}
