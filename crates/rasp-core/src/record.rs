//! What a transaction produces: verdicts, interventions and match records.

use std::sync::Arc;

use serde::Serialize;

/// The result of processing a phase.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// Go on: pass the request (or response) along.
    Continue,
    /// Stop: answer with the intervention instead.
    Interrupt(Intervention),
}

impl Verdict {
    /// True for [`Verdict::Interrupt`].
    pub fn is_interrupt(&self) -> bool {
        matches!(self, Verdict::Interrupt(_))
    }
}

/// How an interruption should be carried out.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub enum InterventionKind {
    /// Answer with `status`.
    Deny,
    /// Close the connection (servers that cannot drop answer with `status`).
    Drop,
    /// Redirect to `url` with `status` (302 unless set).
    Redirect {
        /// The expanded target URL.
        url: String,
    },
    /// The engine itself failed and `FailMode::Closed` is in force.
    EngineError,
    /// A body exceeded its limit with `SecRequestBodyLimitAction Reject`.
    BodyLimit,
}

/// An interruption decided by a rule, a limit or an engine error.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Intervention {
    /// HTTP status to answer with.
    pub status: u16,
    /// The rule that decided, if any.
    pub rule_id: Option<u32>,
    /// What to do.
    pub kind: InterventionKind,
    /// Phase (1–5) in which it was decided.
    pub phase: u8,
    /// A short log message (never sent to the client).
    pub message: String,
}

/// One matched rule (a whole chain counts once, with the head's id).
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct MatchRecord {
    /// Rule id (chain head).
    pub id: u32,
    /// Phase 1–5.
    pub phase: u8,
    /// Expanded `msg`.
    pub msg: Option<String>,
    /// Expanded `logdata`.
    pub data: Option<String>,
    /// Severity level 0–7.
    pub severity: Option<u8>,
    /// Tags (the rule's own list, shared).
    pub tags: Arc<[String]>,
    /// `ver`.
    pub ver: Option<String>,
    /// Full name of the matched variable (`ARGS:q`) of the last link.
    pub matched_var_name: String,
    /// Matched value (transformed), possibly truncated.
    pub matched_value: String,
    /// ModSecurity-style match description (`Matched "Operator `Rx' …`).
    pub match_text: String,
    /// The rule's file (as loaded).
    pub file: String,
    /// The rule's line.
    pub line: u32,
    /// Effective `log`: the rule writes an error-log line.
    pub log: bool,
    /// Effective `auditlog`.
    pub auditlog: bool,
    /// The rule's disruptive action took effect (engine `On`, not phase 5).
    /// Always false in `DetectionOnly`; look at the rule's actions to know
    /// what it would have done.
    pub disruptive: bool,
}
