//! Operators that need more than a line of code, as pure functions over
//! bytes with ModSecurity v2's semantics (`re_operators.c`).
//!
//! The rule evaluator owns matching state (captures, `MATCHED_VAR`); these
//! functions only answer "does it match, and what does v2 say about it".
//! Messages that name the variable take it as an argument because v2 puts
//! it inside the sentence ("… at ARGS:x.").

pub(crate) mod contains_mapped;
pub mod contains_word;
pub mod detect_sqli;
pub mod detect_xss;
pub mod numeric;
pub mod validate_byte_range;
pub mod validate_url_encoding;
pub mod validate_utf8_encoding;
pub(crate) mod within;

#[cfg(test)]
mod robustness;

/// The rules whose `@contains` is answered on the original bytes through a
/// byte map before their transformations run, by rule link (see
/// [`contains_mapped`]).
#[derive(Debug, Default)]
pub(crate) struct MappedContains {
    links: Vec<Option<contains_mapped::MappedNeedle>>,
}

impl MappedContains {
    /// Finds the links with a positive, constant `@contains` after a chain
    /// of per-byte transformations (outside `multiMatch`).
    pub(crate) fn build(rules: &crs_compiler::program::CompiledRuleset) -> MappedContains {
        use crs_compiler::ir::macros::MacroPart;
        use crs_compiler::ir::operator::OperatorKind;
        let mut links: Vec<Option<contains_mapped::MappedNeedle>> = Vec::new();
        links.resize_with(rules.link_count, || None);
        for rule in rules.rules() {
            for link in rule.links() {
                let OperatorKind::Contains(m) = &link.operator.kind else {
                    continue;
                };
                let [MacroPart::Literal(needle)] = m.parts.as_slice() else {
                    continue;
                };
                if link.operator.negated || link.actions.multi_match {
                    continue;
                }
                let mapped =
                    contains_mapped::MappedNeedle::new(&link.transforms, needle.as_bytes());
                if let (Some(mapped), Some(slot)) = (mapped, links.get_mut(link.link_index)) {
                    *slot = Some(mapped);
                }
            }
        }
        MappedContains { links }
    }

    /// For link `link`, whether its needle can be in `value` once
    /// transformed: `Some(false)` when it cannot; `None` when the link is
    /// not one of these or the search gave up.
    pub(crate) fn may_contain(&self, link: usize, value: &[u8]) -> Option<bool> {
        self.links.get(link)?.as_ref()?.occurs_in(value)
    }
}
