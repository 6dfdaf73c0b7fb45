//! Hot reload: the rules in force are behind an `ArcSwap`; each request
//! takes the current set when it starts and keeps it to its end, so a swap
//! never disturbs a request in flight.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rasp_core::{Engine, EngineConfig};

use super::rules::Rules;
use crate::audit::RelevantStatus;

/// An engine plus what is derived from its settings once per load.
pub(crate) struct Loaded {
    pub(crate) engine: Engine,
    pub(crate) relevant_status: Option<RelevantStatus>,
    pub(crate) generation: u64,
}

impl std::fmt::Debug for Loaded {
    // Not the engine: its rules would print megabytes.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loaded")
            .field("rule_links", &self.engine.rules().link_count)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Loaded {
    pub(crate) fn new(rules: &Rules, config: EngineConfig, generation: u64) -> Loaded {
        let engine = Engine::with_config(Arc::clone(rules.compiled()), config);
        let relevant_status = engine
            .rules()
            .settings
            .audit_log_relevant_status
            .as_deref()
            .and_then(|p| match RelevantStatus::new(p) {
                Ok(r) => Some(r),
                Err(e) => {
                    // A bad pattern must not stop the rules from loading;
                    // RelevantOnly then logs rule matches only.
                    tracing::warn!(pattern = p, error = %e, "SecAuditLogRelevantStatus ignored");
                    None
                }
            });
        Loaded {
            engine,
            relevant_status,
            generation,
        }
    }
}

/// Swaps the rules of a [`RaspLayer`](super::RaspLayer) at run time; clones
/// control the same layer.
#[derive(Clone, Debug)]
pub struct ReloadHandle {
    pub(crate) current: Arc<ArcSwap<Loaded>>,
    pub(crate) config: EngineConfig,
}

impl ReloadHandle {
    /// Puts `rules` in force for requests that start from now on; requests
    /// in flight finish with the rules they started with.
    pub fn reload(&self, rules: &Rules) {
        let generation = self.current.load().generation + 1;
        self.current.store(Arc::new(Loaded::new(
            rules,
            self.config.clone(),
            generation,
        )));
        metrics::counter!(crate::telemetry::RULE_RELOADS).increment(1);
        tracing::info!(generation, "rasp rules reloaded");
    }

    /// How many times the rules were swapped (0 for the initial set).
    pub fn generation(&self) -> u64 {
        self.current.load().generation
    }
}
