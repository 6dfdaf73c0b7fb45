//! `SecRule`, `SecAction`, `SecMarker`, `SecDefaultAction` and chains.
//!
//! The checks mirror v2's `add_rule` and `cmd_default_action`
//! (`apache2_config.c`):
//! - a rule that starts a chain (or stands alone) needs an `id`, unique
//!   across everything loaded so far;
//! - a chain link may not carry `id`, `phase`, a disruptive action, `skip`,
//!   `skipAfter` or metadata (`msg`, `logdata`, `severity`, `ver`, `rev`,
//!   `maturity`, `accuracy`); it runs in its head's phase. Links do get the
//!   defaults merged in, exactly like v2 does (its comment "Probably do not
//!   want this done fully for chained rules" notwithstanding);
//! - `SecDefaultAction` must name a phase and a disruptive action and may
//!   not use `id`, `msg`, `rev`, `ver`, `maturity`, `accuracy`, `chain`,
//!   `skip` or `skipAfter`. The last one read applies to every rule after
//!   it, whatever its phase (v2 keeps one default action set, not one per
//!   phase); a rule without `phase` takes the default's phase;
//! - a disruptive action other than `allow`/`pass` is refused in the
//!   logging phase.

use std::sync::Arc;

use super::actions::{parse_actions, parse_actions_all, Act, DisruptiveAct};
use super::operators::build_operator;
use super::resolve::resolve;
use super::targets::parse_target_list;
use super::{ChainState, Item, LinkDraft, RuleDraft, State};
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::operator::{Operator, OperatorKind};
use crate::ir::rule::Phase;
use crate::parse::directive::Directive;
use crate::parse::operator::split_operator;

/// Longest chain accepted. Chains are linked lists of boxed rules that are
/// dropped and cloned recursively, so a hostile file with a chain of
/// millions of links could exhaust the stack; real chains have 2-4 links.
const MAX_CHAIN_LINKS: usize = 1000;

/// v2's built-in defaults (`msre_actionset_create_default`):
/// `phase:2,log,auditlog,pass`.
pub(crate) fn builtin_defaults() -> Vec<Act> {
    vec![
        Act::Phase(Phase::RequestBody),
        Act::Log(true),
        Act::AuditLog(true),
        Act::Disruptive(DisruptiveAct::Pass),
    ]
}

fn syntax(d: &Directive, msg: impl Into<String>) -> CompileError {
    CompileError::new(CompileErrorKind::Syntax, msg).at(d.location())
}

/// `SecRule VARIABLES OPERATOR [ACTIONS]` or `SecAction ACTIONS`.
pub(crate) fn add_rule(state: &mut State, d: &Directive, is_action: bool) {
    let directive: &'static str = if is_action { "SecAction" } else { "SecRule" };
    let (targets_word, op_word, actions_word) = match (is_action, d.args.as_slice()) {
        (true, [a]) => (None, None, Some(a)),
        (false, [t, o]) => (Some(t), Some(o), None),
        (false, [t, o, a]) => (Some(t), Some(o), Some(a)),
        (true, args) => {
            let e = syntax(
                d,
                format!(
                    "SecAction takes one argument (the action list), got {}",
                    args.len()
                ),
            );
            return fail(state, d, e);
        }
        (false, args) => {
            let e = syntax(
                d,
                format!(
                    "SecRule takes VARIABLES OPERATOR [ACTIONS], got {} argument{}",
                    args.len(),
                    if args.len() == 1 { "" } else { "s" }
                ),
            );
            return fail(state, d, e);
        }
    };
    // Actions first: the id and the chain flag decide how the rule and the
    // next one are treated even when this one has errors. Every action that
    // can be read is, and the targets and operator are still checked, so
    // the author sees all problems of the rule at once.
    let mut errors = Vec::new();
    let (own, action_errors) = match actions_word {
        Some(w) => parse_actions_all(&mut state.ctx, w),
        None => (Vec::new(), Vec::new()),
    };
    // Without a readable action list the id is unknown; do not add a
    // "missing id" error on top.
    let actions_failed = !action_errors.is_empty() && own.iter().all(|a| !matches!(a, Act::Id(_)));
    errors.extend(action_errors);
    let id = own
        .iter()
        .rev()
        .find_map(|a| if let Act::Id(n) = a { Some(*n) } else { None });
    let chained = own.iter().any(|a| matches!(a, Act::Chain));
    let (targets, exclusions) = match targets_word {
        Some(w) => match parse_target_list(&mut state.ctx, w) {
            Ok(list) => {
                let mut t = Vec::new();
                let mut x = Vec::new();
                for p in list {
                    if p.negated {
                        x.push(crate::ir::variable::Exclusion {
                            variable: p.target.variable,
                            selector: p.target.selector,
                        });
                    } else {
                        t.push(p.target);
                    }
                }
                (t, x)
            }
            Err(e) => {
                errors.push(e);
                (Vec::new(), Vec::new())
            }
        },
        None => (Vec::new(), Vec::new()),
    };
    let base_dir = d.base_dir();
    let operator = match op_word {
        Some(w) => {
            let raw = split_operator(&w.text);
            match build_operator(&mut state.ctx, &raw, w, &base_dir) {
                Ok(op) => Some(op),
                Err(e) => {
                    errors.push(e);
                    None
                }
            }
        }
        None => Some((
            Operator {
                kind: OperatorKind::UnconditionalMatch,
                negated: false,
                name: "unconditionalMatch".into(),
                argument: String::new(),
            },
            "unconditionalMatch",
        )),
    };
    // Chain structure checks.
    let in_chain = state.chain != ChainState::Closed;
    if in_chain {
        for a in &own {
            if let Some(what) = a.starter_only() {
                let kind = if matches!(a, Act::Id(_)) {
                    CompileErrorKind::MissingId
                } else {
                    CompileErrorKind::BrokenChain
                };
                errors.push(
                    CompileError::new(kind, format!("{what} can only be given on the first rule of a chain, not on a chained rule"))
                        .at(d.location()),
                );
            }
        }
    } else if !actions_failed {
        match id {
            None => errors.push(
                CompileError::new(
                    CompileErrorKind::MissingId,
                    "rule has no id action (every rule needs a unique id:N)",
                )
                .at(d.location()),
            ),
            Some(n) => {
                if !state.seen_ids.insert(n) {
                    errors.push(
                        CompileError::new(
                            CompileErrorKind::DuplicateId,
                            format!("another rule already has id {n}"),
                        )
                        .at(d.location()),
                    );
                }
            }
        }
    }
    let resolved = resolve(&state.defaults, &own);
    if !in_chain && resolved.phase == Phase::Logging {
        let bad = own
            .iter()
            .chain(state.defaults.iter())
            .find_map(|a| match a {
                Act::Disruptive(DisruptiveAct::Deny) => Some("deny"),
                Act::Disruptive(DisruptiveAct::Drop) => Some("drop"),
                Act::Disruptive(DisruptiveAct::Redirect(_)) => Some("redirect"),
                Act::Disruptive(DisruptiveAct::Block) => Some("block"),
                _ => None,
            });
        let effective_bad = matches!(
            resolved.actions.disruptive,
            Some(
                crate::ir::action::Disruptive::Deny
                    | crate::ir::action::Disruptive::Drop
                    | crate::ir::action::Disruptive::Redirect(_)
            )
        ) || resolved.actions.block;
        if effective_bad {
            errors.push(
                CompileError::new(
                    CompileErrorKind::BadArgument,
                    format!(
                        "disruptive action {} cannot be used in the logging phase (5)",
                        bad.unwrap_or("deny")
                    ),
                )
                .at(d.location()),
            );
        }
    }
    let rule_id = match state.chain {
        ChainState::Open(i) => match state.items.get(i) {
            Some(Item::Rule(Some(r))) => r.id,
            _ => 0,
        },
        _ => id.unwrap_or(0),
    };
    if !errors.is_empty() || operator.is_none() {
        // In the order they appear in the file.
        errors.sort_by_key(|e| e.location().map(|l| (l.line, l.column)));
        let errors = errors.into_iter().map(|e| e.for_rule(rule_id)).collect();
        state.error_or_skip(d, errors);
        after_failure(state, chained);
        return;
    }
    let Some((operator, op_name)) = operator else {
        return;
    };
    let link = LinkDraft {
        location: d.location(),
        directive,
        targets,
        exclusions,
        operator,
        op_name,
        defaults: state.defaults.clone(),
        own,
        is_action,
    };
    match state.chain {
        ChainState::Open(i) => {
            let too_long = match state.items.get_mut(i) {
                Some(Item::Rule(Some(r))) if r.links.len() >= MAX_CHAIN_LINKS => Some(r.id),
                Some(Item::Rule(Some(r))) => {
                    r.links.push(link);
                    None
                }
                _ => None,
            };
            if let Some(id) = too_long {
                let e = CompileError::new(
                    CompileErrorKind::BrokenChain,
                    format!("chain has more than {MAX_CHAIN_LINKS} rules"),
                )
                .for_rule(id);
                state.error(d, e);
                after_failure(state, chained);
                return;
            }
            if !chained {
                state.chain = ChainState::Closed;
            }
        }
        ChainState::Failed => {
            if !chained {
                state.chain = ChainState::Closed;
            }
        }
        ChainState::Closed => {
            state.items.push(Item::Rule(Some(RuleDraft {
                id: id.unwrap_or(0),
                phase: resolved.phase,
                links: vec![link],
            })));
            if chained {
                state.chain = ChainState::Open(state.items.len() - 1);
            }
        }
    }
}

/// Records an error that prevents reading the rule's actions at all.
fn fail(state: &mut State, d: &Directive, e: CompileError) {
    let rule_id = match state.chain {
        ChainState::Open(i) => match state.items.get(i) {
            Some(Item::Rule(Some(r))) => r.id,
            _ => 0,
        },
        _ => 0,
    };
    state.error(d, e.for_rule(rule_id));
    // The action list was not read, so whether it chains is unknown; ending
    // the chain here keeps the following rule from being misattributed.
    after_failure(state, false);
}

/// A rule that failed still takes its place in the chain structure, so its
/// links do not get attached to the wrong rule or reported as missing ids.
fn after_failure(state: &mut State, chained: bool) {
    state.chain = match (state.chain, chained) {
        (ChainState::Open(i), false) => {
            // A failed link ends the chain early; drop the partial chain so
            // the engine never runs half a rule.
            if let Some(Item::Rule(r)) = state.items.get_mut(i) {
                *r = None;
            }
            ChainState::Closed
        }
        (ChainState::Open(i), true) => {
            if let Some(Item::Rule(r)) = state.items.get_mut(i) {
                *r = None;
            }
            ChainState::Failed
        }
        (_, true) => ChainState::Failed,
        (_, false) => ChainState::Closed,
    };
}

/// `SecMarker NAME`.
pub(crate) fn add_marker(state: &mut State, d: &Directive) {
    let [name] = d.args.as_slice() else {
        let e = syntax(
            d,
            format!(
                "SecMarker takes one argument (the marker name), got {}",
                d.args.len()
            ),
        );
        return state.error(d, e);
    };
    if let ChainState::Open(i) = state.chain {
        let (id, loc) = match state.items.get(i) {
            Some(Item::Rule(Some(r))) => (r.id, r.links.last().map(|l| l.location.clone())),
            _ => (0, None),
        };
        let mut e = CompileError::new(
            CompileErrorKind::BrokenChain,
            "the rule before this marker has `chain` but no rule follows it",
        )
        .for_rule(id);
        if let Some(loc) = loc {
            e = e.at(loc);
        }
        state.error(d, e);
        if let Some(Item::Rule(r)) = state.items.get_mut(i) {
            *r = None;
        }
    }
    state.chain = ChainState::Closed;
    state.items.push(Item::Marker(name.text.clone()));
}

/// Reports a chain left open at the end of the configuration.
pub(crate) fn finish_chain(state: &mut State) {
    if let ChainState::Open(i) = state.chain {
        if let Some(Item::Rule(r)) = state.items.get_mut(i) {
            if let Some(rule) = r.take() {
                let mut e = CompileError::new(
                    CompileErrorKind::BrokenChain,
                    "rule has `chain` but no rule follows it (end of configuration)",
                )
                .for_rule(rule.id)
                .in_directive(rule.links.last().map_or("SecRule", |l| l.directive));
                if let Some(l) = rule.links.last() {
                    e = e.at(l.location.clone());
                }
                state.errors.push(e);
            }
        }
    }
    state.chain = ChainState::Closed;
}

/// `SecDefaultAction ACTIONS`.
pub(crate) fn set_defaults(state: &mut State, d: &Directive) {
    let [word] = d.args.as_slice() else {
        let e = syntax(
            d,
            format!(
                "SecDefaultAction takes one argument (the action list), got {}",
                d.args.len()
            ),
        );
        return state.error(d, e);
    };
    let acts = match parse_actions(&mut state.ctx, word) {
        Ok(a) => a,
        Err(e) => return state.error(d, e),
    };
    let bad = |msg: String| CompileError::new(CompileErrorKind::BadArgument, msg).at(d.location());
    let mut errors = Vec::new();
    if !acts.iter().any(|a| matches!(a, Act::Disruptive(_))) {
        errors.push(bad(
            "SecDefaultAction must include a disruptive action (pass, deny, block…)".into(),
        ));
    }
    if !acts.iter().any(|a| matches!(a, Act::Phase(_))) {
        errors.push(bad("SecDefaultAction must include a phase".into()));
    }
    for a in &acts {
        let what = match a {
            Act::Id(_) => "id",
            Act::Msg(_) => "msg",
            Act::Rev(_) => "rev",
            Act::Ver(_) => "ver",
            Act::Maturity(_) => "maturity",
            Act::Accuracy(_) => "accuracy",
            Act::Chain => "chain",
            Act::Skip(_) => "skip",
            Act::SkipAfter(_) => "skipAfter",
            _ => continue,
        };
        errors.push(bad(format!("SecDefaultAction cannot contain {what}")));
    }
    if errors.is_empty() {
        state.defaults = Arc::new(acts);
    } else {
        for e in errors {
            state.error(d, e);
        }
    }
}
