//! The compiler proper: directives in load order → [`CompiledRuleset`].
//!
//! Directives are applied one by one, as ModSecurity applies them while
//! Apache reads its configuration: `SecDefaultAction` affects the rules
//! after it, `SecRuleRemoveById` removes rules loaded before it, a `chain`
//! action makes the next `SecRule` a link of the current rule. When every
//! directive has been seen, [`assemble`] lays the surviving rules out per
//! phase, resolves `skipAfter` targets and numbers the links, and
//! [`crate::plan`] groups them into multi-pattern gates.
//!
//! Errors never stop the load: each is recorded with its file, line,
//! directive and rule id, and the next directive is read.

mod actions;
mod assemble;
mod ctx;
mod operators;
mod prepare;
mod resolve;
mod rules;
mod settings;
mod suggest;
mod targets;
mod updates;

use std::collections::HashSet;
use std::sync::Arc;

use crate::compiler::Support;
use crate::error::{CompileError, CompileErrors, Location};
use crate::ir::operator::Operator;
use crate::ir::rule::Phase;
use crate::ir::settings::Settings;
use crate::ir::variable::{Exclusion, Target};
use crate::parse::directive::{Directive, Reader};
use crate::program::CompiledRuleset;

use actions::Act;
use ctx::Ctx;

/// One link of a rule (a `SecRule` or `SecAction` directive) as loaded.
#[derive(Debug)]
pub(crate) struct LinkDraft {
    pub(crate) location: Location,
    pub(crate) directive: &'static str,
    pub(crate) targets: Vec<Target>,
    pub(crate) exclusions: Vec<Exclusion>,
    pub(crate) operator: Operator,
    /// Canonical operator name, for reports.
    pub(crate) op_name: &'static str,
    /// The `SecDefaultAction` list in force when the link was loaded.
    pub(crate) defaults: Arc<Vec<Act>>,
    /// The link's own actions, plus any `SecRuleUpdateActionById` ones.
    pub(crate) own: Vec<Act>,
    pub(crate) is_action: bool,
}

/// A rule with its chain links, head first.
#[derive(Debug)]
pub(crate) struct RuleDraft {
    pub(crate) id: u32,
    pub(crate) phase: Phase,
    pub(crate) links: Vec<LinkDraft>,
}

/// An entry in load order. Removed rules leave a `Rule(None)` behind so
/// indexes stay stable.
#[derive(Debug)]
pub(crate) enum Item {
    Rule(Option<RuleDraft>),
    Marker(String),
}

/// Where the current chain stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ChainState {
    /// No chain open.
    Closed,
    /// The next rule is a link of `items[i]`.
    Open(usize),
    /// The chain head failed to load; its links are checked but dropped.
    Failed,
}

/// Counts for the report that the compile steps collect.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    pub(crate) removed: usize,
}

/// Everything a compilation accumulates.
#[derive(Debug)]
pub(crate) struct State {
    pub(crate) ctx: Ctx,
    pub(crate) settings: Settings,
    /// True once `SecResponseBodyMimeType` replaced the default list.
    pub(crate) mime_types_set: bool,
    pub(crate) defaults: Arc<Vec<Act>>,
    pub(crate) items: Vec<Item>,
    /// Every id ever loaded. Like v2's `rule_id_htab` it is never cleared,
    /// so an id stays taken after its rule was removed.
    pub(crate) seen_ids: HashSet<u32>,
    pub(crate) chain: ChainState,
    pub(crate) errors: Vec<CompileError>,
    /// Rules and directives skipped under `Support::BestEffort`.
    pub(crate) skipped: Vec<CompileError>,
    pub(crate) support: Support,
    pub(crate) counts: Counts,
}

impl State {
    fn new(support: Support) -> State {
        State {
            ctx: Ctx::default(),
            settings: Settings::default(),
            mime_types_set: false,
            defaults: Arc::new(rules::builtin_defaults()),
            items: Vec::new(),
            seen_ids: HashSet::new(),
            chain: ChainState::Closed,
            errors: Vec::new(),
            skipped: Vec::new(),
            support,
            counts: Counts::default(),
        }
    }

    /// Records an error for directive `d`.
    pub(crate) fn error(&mut self, d: &Directive, e: CompileError) {
        let e = if e.location.is_none() {
            e.at(d.location())
        } else {
            e
        };
        self.errors.push(e.in_directive(d.name()));
    }

    /// Records the errors of one directive, or, under
    /// [`Support::BestEffort`] when every one of them is "valid SecLang
    /// that rasp cannot run", records the directive as skipped. Returns
    /// true when skipped.
    pub(crate) fn error_or_skip(&mut self, d: &Directive, errors: Vec<CompileError>) -> bool {
        let skip = self.support == Support::BestEffort
            && !errors.is_empty()
            && errors.iter().all(|e| e.unsupported);
        for e in errors {
            let e = if e.location.is_none() {
                e.at(d.location())
            } else {
                e
            };
            let e = e.in_directive(d.name());
            if skip {
                tracing::debug!(error = %e, "skipped (best effort)");
                self.skipped.push(e);
            } else {
                self.errors.push(e);
            }
        }
        skip
    }
}

/// Compiles everything a [`Reader`] has read.
pub(crate) fn compile(reader: Reader, support: Support) -> Result<CompiledRuleset, CompileErrors> {
    let mut state = State::new(support);
    state.errors.extend(reader.errors);
    let t0 = std::time::Instant::now();
    prepare::prepare(&mut state.ctx, &reader.directives);
    let t1 = std::time::Instant::now();
    for d in &reader.directives {
        apply(&mut state, d);
    }
    rules::finish_chain(&mut state);
    let t2 = std::time::Instant::now();
    let files = reader.files;
    let ruleset = assemble::assemble(&mut state, files);
    let t3 = std::time::Instant::now();
    tracing::debug!(precompile = ?(t1 - t0), directives = ?(t2 - t1), assemble = ?(t3 - t2), "compile timings");
    if state.errors.is_empty() {
        Ok(ruleset)
    } else {
        Err(CompileErrors {
            errors: state.errors,
        })
    }
}

fn apply(state: &mut State, d: &Directive) {
    let lower = d.name().to_ascii_lowercase();
    match lower.as_str() {
        "secrule" => rules::add_rule(state, d, false),
        "secaction" => rules::add_rule(state, d, true),
        "secmarker" => rules::add_marker(state, d),
        "secdefaultaction" => rules::set_defaults(state, d),
        "secruleremovebyid"
        | "secruleremovebytag"
        | "secruleremovebymsg"
        | "secruleupdatetargetbyid"
        | "secruleupdatetargetbytag"
        | "secruleupdatetargetbymsg"
        | "secruleupdateactionbyid" => updates::apply(state, d, &lower),
        _ => settings::apply(state, d, &lower),
    }
}
