//! Laying the loaded rules out per phase.
//!
//! - Each rule goes to its phase, in load order; each `SecMarker` goes to
//!   every phase, as v2's `add_marker` does, so `skipAfter` works in any
//!   phase.
//! - `skipAfter:X` resolves to the first marker named `X` after the rule in
//!   its phase. As in v2, `X` may also be a rule id: v2 then places a
//!   placeholder right after that rule, and so do we (a marker entry).
//!   A name that appears nowhere after the rule is an error: v2 would
//!   silently skip the rest of the phase.
//! - Links are numbered densely in load order (`Rule::link_index`), after
//!   removals, so per-transaction tables can be plain vectors.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::resolve::resolve;
use super::{Item, LinkDraft, RuleDraft, State};
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::action::SkipTarget;
use crate::ir::operator::OperatorKind;
use crate::ir::rule::{Entry, PhaseProgram, Rule};
use crate::program::{CompileReport, CompiledRuleset};

enum Proto {
    Rule(usize),
    Marker(String),
}

/// Builds the ruleset from the surviving items. Errors (missing markers)
/// are added to `state.errors`.
pub(crate) fn assemble(state: &mut State, files: Vec<String>) -> CompiledRuleset {
    let items = std::mem::take(&mut state.items);
    let mut protos: [Vec<Proto>; 5] = Default::default();
    let marker_names: HashSet<&str> = items
        .iter()
        .filter_map(|i| {
            if let Item::Marker(m) = i {
                Some(m.as_str())
            } else {
                None
            }
        })
        .collect();
    // skipAfter targets that name no marker may name a rule id (v2).
    let mut id_targets: HashSet<String> = HashSet::new();
    for item in &items {
        if let Item::Rule(Some(r)) = item {
            if let Some(head) = r.links.first() {
                let res = resolve(&head.defaults, &head.own);
                if let Some(t) = res.actions.skip_after {
                    if !marker_names.contains(t.marker.as_str()) {
                        id_targets.insert(t.marker);
                    }
                }
            }
        }
    }
    for (i, item) in items.iter().enumerate() {
        match item {
            Item::Rule(Some(r)) => {
                let list = &mut protos[r.phase.index()];
                list.push(Proto::Rule(i));
                let id = r.id.to_string();
                if id_targets.contains(&id) {
                    list.push(Proto::Marker(id));
                }
            }
            Item::Rule(None) => {}
            Item::Marker(m) => {
                for list in &mut protos {
                    list.push(Proto::Marker(m.clone()));
                }
            }
        }
    }

    // Dense link numbering in load order.
    let mut first_link: HashMap<usize, usize> = HashMap::new();
    let mut link_count = 0;
    for (i, item) in items.iter().enumerate() {
        if let Item::Rule(Some(r)) = item {
            first_link.insert(i, link_count);
            link_count += r.links.len();
        }
    }

    let mut report = CompileReport {
        skipped: std::mem::take(&mut state.skipped),
        files,
        removed: state.counts.removed,
        ..CompileReport::default()
    };
    let mut phases: [PhaseProgram; 5] = Default::default();
    for (p, list) in protos.iter().enumerate() {
        let mut entries = Vec::with_capacity(list.len());
        for (pos, proto) in list.iter().enumerate() {
            match proto {
                Proto::Marker(m) => entries.push(Entry::Marker(m.clone())),
                Proto::Rule(i) => {
                    let Some(Item::Rule(Some(draft))) = items.get(*i) else {
                        continue;
                    };
                    let base = first_link.get(i).copied().unwrap_or(0);
                    match build_rule(draft, base, |name| {
                        list.iter()
                            .enumerate()
                            .skip(pos + 1)
                            .find_map(|(j, e)| match e {
                                Proto::Marker(m) if m == name => Some(j),
                                _ => None,
                            })
                    }) {
                        Ok(rule) => {
                            count(&mut report, &rule, draft);
                            entries.push(Entry::Rule(Arc::new(rule)));
                        }
                        Err(e) => state.errors.push(e),
                    }
                }
            }
        }
        if let Some(slot) = phases.get_mut(p) {
            slot.entries = entries;
        }
    }
    report.markers = items
        .iter()
        .filter(|i| matches!(i, Item::Marker(_)))
        .count();
    let mut ruleset = CompiledRuleset {
        settings: state.settings.clone(),
        phases,
        groups: Vec::new(),
        sets: Vec::new(),
        set_targets: Vec::new(),
        gates: vec![None; link_count],
        link_count,
        report,
    };
    let started = std::time::Instant::now();
    crate::plan::plan(&mut ruleset);
    tracing::debug!(elapsed = ?started.elapsed(), groups = ruleset.groups.len(), "planned multi-pattern gates");
    ruleset.report.automata_bytes = automata_bytes(&ruleset);
    ruleset
}

fn count(report: &mut CompileReport, rule: &Rule, draft: &RuleDraft) {
    report.rules_per_phase[rule.phase.index()] += 1;
    if draft.links.len() > 1 {
        report.chains += 1;
    }
    for link in &draft.links {
        if link.is_action {
            report.sec_actions += 1;
        } else {
            report.sec_rules += 1;
            *report
                .operators
                .entry(link.op_name.to_string())
                .or_default() += 1;
        }
    }
}

/// Builds a rule and its chain links. `find_marker` gives the entry index
/// of the first marker with a name after the rule.
fn build_rule(
    draft: &RuleDraft,
    first_link: usize,
    find_marker: impl Fn(&str) -> Option<usize>,
) -> Result<Rule, CompileError> {
    let mut next: Option<Box<Rule>> = None;
    for (k, link) in draft.links.iter().enumerate().rev() {
        let mut rule = build_link(link, draft, first_link + k, k == 0);
        if k == 0 {
            if let Some(t) = &rule.actions.skip_after {
                let Some(index) = find_marker(&t.marker) else {
                    return Err(CompileError::new(
                        CompileErrorKind::MissingMarker,
                        format!(
                            "skipAfter:{} names no SecMarker (or rule id) that comes after this rule in phase {}",
                            t.marker, draft.phase
                        ),
                    )
                    .at(link.location.clone())
                    .in_directive(link.directive)
                    .for_rule(draft.id));
                };
                rule.actions.skip_after = Some(SkipTarget {
                    marker: t.marker.clone(),
                    index: Some(index),
                });
            }
        }
        rule.chain = next.take();
        next = Some(Box::new(rule));
    }
    match next {
        Some(r) => Ok(*r),
        None => Err(
            CompileError::new(CompileErrorKind::Syntax, "internal: rule without links")
                .for_rule(draft.id),
        ),
    }
}

fn build_link(link: &LinkDraft, draft: &RuleDraft, link_index: usize, is_head: bool) -> Rule {
    let res = resolve(&link.defaults, &link.own);
    let mut actions = res.actions;
    if !is_head {
        // Only the chain head's disruptive action counts.
        actions.disruptive = None;
        actions.block = false;
    }
    Rule {
        id: draft.id,
        phase: draft.phase,
        location: link.location.clone(),
        targets: link.targets.clone(),
        exclusions: link.exclusions.clone(),
        operator: link.operator.clone(),
        transforms: res.transforms,
        actions,
        chain: None,
        is_action: link.is_action,
        link_index,
    }
}

/// Heap bytes of the distinct automata the ruleset holds.
fn automata_bytes(rs: &CompiledRuleset) -> usize {
    let mut seen: HashSet<usize> = HashSet::new();
    let mut total = 0;
    for rule in rs.rules() {
        for link in rule.links() {
            match &link.operator.kind {
                OperatorKind::Rx(r) if seen.insert(Arc::as_ptr(&r.regex) as usize) => {
                    total += r.regex.memory_usage();
                }
                OperatorKind::Pm(p) if seen.insert(Arc::as_ptr(&p.automaton) as usize) => {
                    total += p.automaton.memory_usage();
                }
                _ => {}
            }
        }
    }
    total
}
