//! Splitting a `SecRule` operator word (`"!@rx foo"`) into negation, name and
//! argument, as `msre_rule_create` in v2 `re.c` does.

/// An operator as written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct RawOperator {
    /// `!` before the operator.
    pub(crate) negated: bool,
    /// The name without `@`; `rx` when no operator was named.
    pub(crate) name: String,
    /// True when the name was written (`@rx`), false for the implicit `@rx`.
    pub(crate) explicit: bool,
    /// The argument (everything after the name and its whitespace).
    pub(crate) argument: String,
    /// Byte offset of the argument in the operator word.
    pub(crate) argument_offset: usize,
    /// Byte offset of the name (at the `@`) in the operator word.
    pub(crate) name_offset: usize,
}

/// Splits an operator word. Never fails: v2 treats anything without `@`
/// as a regular expression.
pub(crate) fn split_operator(text: &str) -> RawOperator {
    let b = text.as_bytes();
    let mut p = 0;
    let negated = b.first() == Some(&b'!');
    if negated {
        p = 1;
        while p < b.len() && b[p].is_ascii_whitespace() {
            p += 1;
        }
    }
    if b.get(p) != Some(&b'@') {
        return RawOperator {
            negated,
            name: "rx".into(),
            explicit: false,
            argument: text.get(p..).unwrap_or_default().to_string(),
            argument_offset: p,
            name_offset: p,
        };
    }
    let name_offset = p;
    let start = p + 1;
    let mut q = start;
    while q < b.len() && !b[q].is_ascii_whitespace() {
        q += 1;
    }
    let name = text.get(start..q).unwrap_or_default().to_string();
    while q < b.len() && b[q].is_ascii_whitespace() {
        q += 1;
    }
    RawOperator {
        negated,
        name,
        explicit: true,
        argument: text.get(q..).unwrap_or_default().to_string(),
        argument_offset: q,
        name_offset,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let o = split_operator("!@rx  ^a b");
        assert!(o.negated && o.explicit);
        assert_eq!(
            (o.name.as_str(), o.argument.as_str(), o.argument_offset),
            ("rx", "^a b", 6)
        );
        let o = split_operator("^(?i)x$");
        assert!(!o.negated && !o.explicit);
        assert_eq!(o.argument, "^(?i)x$");
        let o = split_operator("! foo");
        assert!(o.negated);
        assert_eq!(o.argument, "foo");
        let o = split_operator("@detectSQLi");
        assert_eq!((o.name.as_str(), o.argument.as_str()), ("detectSQLi", ""));
        let o = split_operator("");
        assert_eq!((o.name.as_str(), o.argument.as_str()), ("rx", ""));
    }
}
