//! Rules, chains and the per-phase program.

use std::fmt;
use std::sync::Arc;

use super::action::Actions;
use super::operator::Operator;
use super::transform::Transform;
use super::variable::{Exclusion, Target};
use crate::error::Location;

/// A processing phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Phase {
    /// 1: request headers.
    RequestHeaders = 1,
    /// 2: request body.
    RequestBody = 2,
    /// 3: response headers.
    ResponseHeaders = 3,
    /// 4: response body.
    ResponseBody = 4,
    /// 5: logging.
    Logging = 5,
}

impl Phase {
    /// All phases in order.
    pub const ALL: [Phase; 5] = [
        Phase::RequestHeaders,
        Phase::RequestBody,
        Phase::ResponseHeaders,
        Phase::ResponseBody,
        Phase::Logging,
    ];

    /// The phase number, 1–5.
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Index 0–4, for per-phase arrays.
    pub fn index(self) -> usize {
        self as usize - 1
    }

    /// Parses `1`–`5`, `request` (2), `response` (4), `logging` (5).
    pub fn parse(s: &str) -> Option<Phase> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" => Some(Phase::RequestHeaders),
            "2" | "request" => Some(Phase::RequestBody),
            "3" => Some(Phase::ResponseHeaders),
            "4" | "response" => Some(Phase::ResponseBody),
            "5" | "logging" => Some(Phase::Logging),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.number())
    }
}

/// One link of a rule: a `SecRule`/`SecAction`, or a chained sub-rule.
#[derive(Clone, Debug)]
pub struct Rule {
    /// The id of the chain head (chain links share it). 0 only for rules
    /// without an id, which the compiler rejects except in chain links.
    pub id: u32,
    /// The phase (chain links share the head's).
    pub phase: Phase,
    /// Where the directive starts.
    pub location: Location,
    /// Targets, in the order written. Empty for `SecAction`.
    pub targets: Vec<Target>,
    /// Target exclusions (`!ARGS:x`, `SecRuleUpdateTargetById`).
    pub exclusions: Vec<Exclusion>,
    /// The operator (`@unconditionalMatch` for `SecAction`).
    pub operator: Operator,
    /// Transformations in order, after `t:none` resets and default
    /// inheritance.
    pub transforms: Vec<Transform>,
    /// Actions, defaults merged.
    pub actions: Actions,
    /// The next link, if this rule has `chain`.
    pub chain: Option<Box<Rule>>,
    /// True for `SecAction` (no targets; always matches).
    pub is_action: bool,
    /// Dense index of this link across the whole ruleset, assigned at
    /// compile time (per-transaction tables such as the multi-pattern gate
    /// results are indexed by it).
    pub link_index: usize,
}

impl Rule {
    /// The chain links, head first.
    pub fn links(&self) -> impl Iterator<Item = &Rule> {
        std::iter::successors(Some(self), |r| r.chain.as_deref())
    }
}

/// One entry of a phase program.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Entry {
    /// A rule (chain head with its links).
    Rule(Arc<Rule>),
    /// A `SecMarker` (present in every phase, as in ModSecurity).
    Marker(String),
}

/// The ordered entries of one phase.
#[derive(Clone, Debug, Default)]
pub struct PhaseProgram {
    /// Rules and markers in load order.
    pub entries: Vec<Entry>,
}
