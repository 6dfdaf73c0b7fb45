//! Directives that change rules loaded before them: `SecRuleRemoveById`,
//! `…ByTag`, `…ByMsg`, `SecRuleUpdateTargetById`, `…ByTag`, `…ByMsg` and
//! `SecRuleUpdateActionById`.
//!
//! As in v2 they act on what is loaded at that point only, so they must
//! come after the rules they change (CRS puts them in
//! `REQUEST-999-COMMON-EXCEPTIONS-AFTER.conf` and the `*-AFTER-CRS` file).
//! Tag and msg arguments are regular expressions matched anywhere in the
//! tag or message, case-sensitively (v2 compiles them without flags).
//! A target update applies to every link of a matching chain, as v2's
//! `msre_ruleset_phase_rule_update_target_matching_exception` does.
//!
//! Removing rules that do not exist is not an error (v2 is silent and
//! exclusion files routinely name optional rules), but updating a single
//! id that does not exist is: the update would silently do nothing.

use std::sync::Arc;

use regex_automata::meta::Regex;

use super::actions::{parse_actions, parse_id_ranges, Act};
use super::resolve::resolve;
use super::targets::{parse_target_text, ParsedTarget};
use super::{Item, RuleDraft, State};
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::action::IdRange;
use crate::ir::macros::{MacroPart, MacroString};
use crate::ir::variable::Exclusion;
use crate::parse::directive::Directive;
use crate::parse::lexer::Word;

/// Which rules a directive selects.
enum Selection {
    Ids(Vec<IdRange>),
    Tag(Arc<Regex>),
    Msg(Arc<Regex>),
}

/// The literal text of a macro string, macros written back as `%{…}`.
fn raw_text(m: &MacroString) -> String {
    let mut s = String::new();
    for p in &m.parts {
        match p {
            MacroPart::Literal(l) => s.push_str(l),
            MacroPart::Var { variable, key } => {
                s.push_str("%{");
                s.push_str(variable.name());
                if let Some(k) = key {
                    s.push('.');
                    s.push_str(k);
                }
                s.push('}');
            }
        }
    }
    s
}

fn matches(sel: &Selection, rule: &RuleDraft) -> bool {
    match sel {
        Selection::Ids(ranges) => ranges.iter().any(|r| r.contains(rule.id)),
        Selection::Tag(re) | Selection::Msg(re) => {
            let Some(head) = rule.links.first() else {
                return false;
            };
            let r = resolve(&head.defaults, &head.own);
            match sel {
                Selection::Tag(_) => r.actions.tags.iter().any(|t| re.is_match(t.as_bytes())),
                _ => r
                    .actions
                    .msg
                    .as_ref()
                    .is_some_and(|m| re.is_match(raw_text(m).as_bytes())),
            }
        }
    }
}

fn selection(state: &mut State, word: &Word, by: &str) -> Result<Selection, CompileError> {
    let at = || word.location();
    match by {
        "id" => parse_id_ranges(&word.text)
            .map(Selection::Ids)
            .map_err(|m| CompileError::new(CompileErrorKind::BadArgument, m).at(at())),
        _ => {
            let re = state.ctx.tag_pattern(&word.text).map_err(|e| {
                CompileError::new(
                    CompileErrorKind::Regex,
                    format!("bad regex {:?}: {e}", word.text),
                )
                .at(at())
            })?;
            Ok(if by == "tag" {
                Selection::Tag(re)
            } else {
                Selection::Msg(re)
            })
        }
    }
}

/// Applies one of the update/remove directives (`lower` is its name).
pub(crate) fn apply(state: &mut State, d: &Directive, lower: &str) {
    let result = match lower {
        "secruleremovebyid" => remove(state, d, "id"),
        "secruleremovebytag" => remove(state, d, "tag"),
        "secruleremovebymsg" => remove(state, d, "msg"),
        "secruleupdatetargetbyid" => update_targets(state, d, "id"),
        "secruleupdatetargetbytag" => update_targets(state, d, "tag"),
        "secruleupdatetargetbymsg" => update_targets(state, d, "msg"),
        _ => update_actions(state, d),
    };
    if let Err(e) = result {
        state.error(d, e);
    }
}

fn remove(state: &mut State, d: &Directive, by: &str) -> Result<(), CompileError> {
    if d.args.is_empty() {
        return Err(CompileError::new(
            CompileErrorKind::Syntax,
            format!("{} needs at least one argument", d.name()),
        ));
    }
    for arg in &d.args {
        let sel = selection(state, arg, by)?;
        for item in &mut state.items {
            if let Item::Rule(slot) = item {
                if slot.as_ref().is_some_and(|r| matches(&sel, r)) {
                    *slot = None;
                    state.counts.removed += 1;
                }
            }
        }
    }
    Ok(())
}

/// Splits a target update argument. v2 splits on commas first and reads
/// each piece as a target list.
fn parse_update_targets(state: &mut State, word: &Word) -> Result<Vec<ParsedTarget>, CompileError> {
    let mut out = Vec::new();
    let mut offset = 0;
    for piece in word.text.split(',') {
        let parsed = parse_target_text(&mut state.ctx, piece).map_err(|(kind, m, off)| {
            CompileError::new(kind, m).at(word.location_at(offset + off))
        })?;
        out.extend(parsed);
        offset += piece.len() + 1;
    }
    Ok(out)
}

fn key(p: &ParsedTarget) -> String {
    format!(
        "{}{}",
        if p.negated { "!" } else { "" },
        p.target.describe()
    )
}

fn update_targets(state: &mut State, d: &Directive, by: &str) -> Result<(), CompileError> {
    let (which, targets, replaced) = match d.args.as_slice() {
        [w, t] => (w, t, None),
        [w, t, r] => (w, t, Some(r)),
        args => {
            return Err(CompileError::new(
                CompileErrorKind::Syntax,
                format!(
                    "{} takes WHICH TARGETS [REPLACED_TARGET], got {} arguments",
                    d.name(),
                    args.len()
                ),
            ))
        }
    };
    let sel = selection(state, which, by)?;
    let new = parse_update_targets(state, targets)?;
    let replaced = match replaced {
        Some(w) => {
            let mut r = parse_update_targets(state, w)?;
            if r.len() != 1 {
                return Err(CompileError::new(
                    CompileErrorKind::Syntax,
                    "the replaced target must be a single variable",
                )
                .at(w.location()));
            }
            r.pop()
        }
        None => None,
    };
    let mut found = false;
    for item in &mut state.items {
        let Item::Rule(Some(rule)) = item else {
            continue;
        };
        if !matches(&sel, rule) {
            continue;
        }
        found = true;
        for link in &mut rule.links {
            if let Some(old) = &replaced {
                let old_key = key(old);
                let before = link.targets.len() + link.exclusions.len();
                if old.negated {
                    link.exclusions
                        .retain(|x| format!("!{}", x.variable.name()) + &sel_suffix(x) != old_key);
                } else {
                    link.targets.retain(|t| t.describe() != old_key);
                }
                if link.targets.len() + link.exclusions.len() == before {
                    // Like v2, a replacement needs the old target.
                    return Err(CompileError::new(
                        CompileErrorKind::BadArgument,
                        format!("rule {} has no target {old_key} to replace", rule.id),
                    )
                    .at(d.location())
                    .for_rule(rule.id));
                }
            }
            for p in &new {
                if p.negated {
                    let x = Exclusion {
                        variable: p.target.variable,
                        selector: p.target.selector.clone(),
                    };
                    if !link.exclusions.iter().any(|e| e.describe() == x.describe()) {
                        link.exclusions.push(x);
                    }
                } else if !link
                    .targets
                    .iter()
                    .any(|t| t.describe() == p.target.describe())
                {
                    link.targets.push(p.target.clone());
                }
            }
        }
    }
    if !found {
        if let Selection::Ids(r) = &sel {
            if let [single] = r.as_slice() {
                if single.start == single.end {
                    return Err(CompileError::new(
                        CompileErrorKind::UnknownRule,
                        format!("no rule with id {} is loaded at this point (update directives must come after the rule)", single.start),
                    )
                    .at(which.location()));
                }
            }
        }
    }
    Ok(())
}

fn sel_suffix(x: &Exclusion) -> String {
    let s = x.selector.describe();
    if s.is_empty() {
        s
    } else {
        format!(":{s}")
    }
}

fn update_actions(state: &mut State, d: &Directive) -> Result<(), CompileError> {
    let [which, actions] = d.args.as_slice() else {
        return Err(CompileError::new(
            CompileErrorKind::Syntax,
            format!(
                "SecRuleUpdateActionById takes ID[:LINK] ACTIONS, got {} arguments",
                d.args.len()
            ),
        ));
    };
    let (id_text, offset) = match which.text.split_once(':') {
        Some((i, o)) => (i, o.trim().parse::<usize>().ok()),
        None => (which.text.as_str(), Some(0)),
    };
    let (Ok(id), Some(offset)) = (id_text.trim().parse::<u32>(), offset) else {
        return Err(CompileError::new(
            CompileErrorKind::BadArgument,
            format!("bad rule id {:?}", which.text),
        )
        .at(which.location()));
    };
    let acts = parse_actions(&mut state.ctx, actions)?;
    let rule = state.items.iter_mut().find_map(|i| match i {
        Item::Rule(Some(r)) if r.id == id => Some(r),
        _ => None,
    });
    let Some(rule) = rule else {
        return Err(CompileError::new(
            CompileErrorKind::UnknownRule,
            format!("no rule with id {id} is loaded at this point (update directives must come after the rule)"),
        )
        .at(which.location()));
    };
    for a in &acts {
        let what = match a {
            Act::Id(n) if *n != id => "the id",
            Act::Phase(p) if *p != rule.phase => "the phase",
            Act::Chain => "chain",
            _ => continue,
        };
        return Err(CompileError::new(
            CompileErrorKind::BadArgument,
            format!("SecRuleUpdateActionById cannot change {what} of a rule"),
        )
        .at(actions.location())
        .for_rule(id));
    }
    let Some(link) = rule.links.get_mut(offset) else {
        return Err(CompileError::new(
            CompileErrorKind::UnknownRule,
            format!("rule {id} has no chain link number {offset}"),
        )
        .at(which.location()));
    };
    link.own.extend(acts);
    Ok(())
}
