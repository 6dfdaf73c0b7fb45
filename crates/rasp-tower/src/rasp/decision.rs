//! [`OnDecision`]: a hook called once per exchange with what the layer
//! decided.

use std::fmt;
use std::net::IpAddr;

use rasp_core::MatchRecord;

/// The outcome of one exchange.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Outcome {
    /// Passed to the service and answered by it.
    Passed,
    /// Answered by the layer (a rule, a limit, a timeout).
    Blocked,
    /// DetectionOnly: a rule would have blocked.
    Detected,
    /// The engine failed or a body could not be read.
    Error,
}

impl Outcome {
    /// The `outcome` label of `rasp_requests_total`.
    pub fn as_str(self) -> &'static str {
        use crate::telemetry::outcome;
        match self {
            Outcome::Passed => outcome::PASSED,
            Outcome::Blocked => outcome::BLOCKED,
            Outcome::Detected => outcome::DETECTED,
            Outcome::Error => outcome::ERROR,
        }
    }
}

/// What the layer decided for one exchange, given to [`OnDecision`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Decision<'a> {
    /// The outcome.
    pub outcome: Outcome,
    /// The status the client gets.
    pub status: u16,
    /// The transaction id (also in the audit record and the block body).
    pub transaction_id: &'a str,
    /// The rule that blocked, if a rule did.
    pub rule_id: Option<u32>,
    /// Every rule that matched (including `nolog` ones), in order.
    pub matches: &'a [MatchRecord],
    /// The client address, when the server provided one.
    pub client_ip: Option<IpAddr>,
}

/// Called once per inspected exchange, after phase 5, on the request path:
/// keep it cheap. Implemented for `()` (nothing), for closures
/// `Fn(&Decision<'_>)` and for [`DefaultOnDecision`] (the default).
pub trait OnDecision: Send + Sync + 'static {
    /// Sees one decision.
    fn on_decision(&self, decision: &Decision<'_>);
}

impl OnDecision for () {
    fn on_decision(&self, _: &Decision<'_>) {}
}

impl<F> OnDecision for F
where
    F: Fn(&Decision<'_>) + Send + Sync + 'static,
{
    fn on_decision(&self, decision: &Decision<'_>) {
        self(decision)
    }
}

/// Logs blocks and detections as `tracing` events (target `rasp`, WARN;
/// errors at ERROR), so a service without an audit log still leaves a
/// trace. Passed requests are not logged.
#[derive(Clone, Copy, Debug, Default)]
pub struct DefaultOnDecision;

impl OnDecision for DefaultOnDecision {
    fn on_decision(&self, d: &Decision<'_>) {
        let rules = || {
            d.matches
                .iter()
                .filter(|m| m.log)
                .map(|m| m.id)
                .collect::<Vec<_>>()
        };
        if d.outcome == Outcome::Passed {
            return;
        }
        let client = d.client_ip.map(|ip| ip.to_string()).unwrap_or_default();
        match d.outcome {
            Outcome::Blocked => tracing::warn!(
                target: "rasp",
                transaction_id = d.transaction_id,
                status = d.status,
                rule_id = ?d.rule_id,
                rules = ?rules(),
                client,
                "request blocked"
            ),
            Outcome::Detected => tracing::warn!(
                target: "rasp",
                transaction_id = d.transaction_id,
                rules = ?rules(),
                client,
                "request would have been blocked (DetectionOnly)"
            ),
            Outcome::Error => tracing::error!(
                target: "rasp",
                transaction_id = d.transaction_id,
                status = d.status,
                client,
                "engine or body error"
            ),
            Outcome::Passed => {}
        }
    }
}

/// A type-erased hook, so the layer's type does not depend on it.
#[derive(Clone)]
pub(crate) struct Hook(pub(crate) std::sync::Arc<dyn OnDecision>);

impl fmt::Debug for Hook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OnDecision")
    }
}
