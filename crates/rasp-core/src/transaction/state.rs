//! Per-transaction configuration that `ctl:` actions change.

use crs_compiler::ir::action::{
    AllowScope, AuditEngine, BodyProcessor, Ctl, EngineMode, IdRange, NamePattern,
};
use crs_compiler::ir::rule::Rule;
use crs_compiler::ir::settings::Settings;
use crs_compiler::ir::variable::{Exclusion, Variable};

/// Which rules a runtime target removal applies to.
#[derive(Clone, Debug)]
pub(crate) enum RuleSelector {
    Ids(Vec<IdRange>),
    Tag(NamePattern),
    Msg(NamePattern),
}

impl RuleSelector {
    fn selects(&self, rule: &Rule) -> bool {
        match self {
            RuleSelector::Ids(ranges) => ranges.iter().any(|r| r.contains(rule.id)),
            RuleSelector::Tag(p) => rule.actions.tags.iter().any(|t| p.is_match(t.as_bytes())),
            RuleSelector::Msg(p) => rule
                .actions
                .msg
                .as_ref()
                .and_then(|m| m.as_literal())
                .is_some_and(|m| p.is_match(m.as_bytes())),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct TxState {
    pub(crate) mode: EngineMode,
    /// Rules removed by `ctl:ruleRemoveBy*` (or the API) for this
    /// transaction.
    pub(crate) removed_rules: Vec<RuleSelector>,
    pub(crate) removed_targets: Vec<(RuleSelector, Exclusion)>,
    pub(crate) request_body_access: bool,
    pub(crate) response_body_access: bool,
    pub(crate) body_processor: Option<BodyProcessor>,
    pub(crate) force_request_body_variable: bool,
    pub(crate) request_body_limit: u64,
    pub(crate) response_body_limit: u64,
    pub(crate) audit_engine: AuditEngine,
    pub(crate) audit_log_parts: String,
    pub(crate) allow: Option<AllowScope>,
    pub(crate) relevant: bool,
}

impl TxState {
    pub(crate) fn new(s: &Settings) -> TxState {
        TxState {
            mode: s.rule_engine,
            removed_rules: Vec::new(),
            removed_targets: Vec::new(),
            request_body_access: s.request_body_access,
            response_body_access: s.response_body_access,
            body_processor: None,
            force_request_body_variable: false,
            request_body_limit: s.request_body_limit,
            response_body_limit: s.response_body_limit,
            audit_engine: s.audit_engine,
            audit_log_parts: s.audit_log_parts.clone(),
            allow: None,
            relevant: false,
        }
    }

    /// True when `ctl:ruleRemoveBy*` removed this rule for this transaction.
    pub(crate) fn rule_removed(&self, rule: &Rule) -> bool {
        self.removed_rules.iter().any(|s| s.selects(rule))
    }

    /// True when a runtime target removal (`ctl:ruleRemoveTarget*`) names
    /// variable `var`, for any rule.
    pub(crate) fn removes_targets_of(&self, var: Variable) -> bool {
        self.removed_targets
            .iter()
            .any(|(_, ex)| ex.variable == var)
    }

    /// True when a runtime target removal excludes `var:name` for `head`.
    pub(crate) fn target_removed(&self, head: &Rule, var: Variable, name: &[u8]) -> bool {
        !self.removed_targets.is_empty()
            && self.removed_targets.iter().any(|(sel, ex)| {
                ex.variable == var && ex.selector.matches(name) && sel.selects(head)
            })
    }

    /// Applies a `ctl:` action.
    pub(crate) fn apply_ctl(&mut self, ctl: &Ctl) {
        match ctl {
            Ctl::RuleEngine(m) => self.mode = *m,
            Ctl::RuleRemoveById(r) => self.removed_rules.push(RuleSelector::Ids(r.clone())),
            Ctl::RuleRemoveByTag(p) => self.removed_rules.push(RuleSelector::Tag(p.clone())),
            Ctl::RuleRemoveByMsg(p) => self.removed_rules.push(RuleSelector::Msg(p.clone())),
            Ctl::RuleRemoveTargetById(r, ex) => self
                .removed_targets
                .push((RuleSelector::Ids(r.clone()), ex.clone())),
            Ctl::RuleRemoveTargetByTag(p, ex) => self
                .removed_targets
                .push((RuleSelector::Tag(p.clone()), ex.clone())),
            Ctl::RuleRemoveTargetByMsg(p, ex) => self
                .removed_targets
                .push((RuleSelector::Msg(p.clone()), ex.clone())),
            Ctl::RequestBodyAccess(b) => self.request_body_access = *b,
            Ctl::ResponseBodyAccess(b) => self.response_body_access = *b,
            Ctl::RequestBodyProcessor(p) => self.body_processor = Some(*p),
            Ctl::ForceRequestBodyVariable(b) => self.force_request_body_variable = *b,
            Ctl::RequestBodyLimit(n) => self.request_body_limit = *n,
            Ctl::ResponseBodyLimit(n) => self.response_body_limit = *n,
            Ctl::AuditEngine(a) => self.audit_engine = *a,
            Ctl::AuditLogParts(p) => {
                if let Some(add) = p.strip_prefix('+') {
                    for c in add.chars() {
                        if !self.audit_log_parts.contains(c) {
                            self.audit_log_parts.push(c);
                        }
                    }
                } else if let Some(del) = p.strip_prefix('-') {
                    self.audit_log_parts.retain(|c| !del.contains(c));
                } else {
                    self.audit_log_parts = p.clone();
                }
            }
            Ctl::DebugLogLevel(_) | Ctl::Ignored(_) => {}
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }
}
