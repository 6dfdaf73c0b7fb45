//! [`RaspLayer`]: configuration and the swappable rules.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use rasp_core::{EngineConfig, FailMode};
use tower_layer::Layer;

use super::decision::{DefaultOnDecision, Hook, OnDecision};
use super::exclusion::RouteExclusion;
use super::reload::{Loaded, ReloadHandle};
use super::rules::Rules;
use super::service::Rasp;
use crate::audit::AuditLog;
use crate::client::TrustedProxies;

/// Runs a ruleset on every request and response of the wrapped service.
/// See the [module docs](super).
///
/// # Defaults
/// - fail mode: [`FailMode::Closed`] (an engine failure answers 500)
/// - no trusted proxy: the connection's peer is the client
/// - no route exclusions, no audit log
/// - decisions logged through `tracing` ([`DefaultOnDecision`])
/// - `body_timeout`: 30 s for the request body to arrive (408 after);
///   also the longest a response body is held for inspection
#[derive(Clone, Debug)]
pub struct RaspLayer {
    config: Arc<RaspConfig>,
    rules: Rules,
    /// The engine over `rules`, built when the layer is first used (an
    /// engine learns which rules its configuration reaches and builds its
    /// automata, so the builder methods do not build one each).
    current: Arc<OnceLock<Arc<ArcSwap<Loaded>>>>,
}

#[derive(Clone, Debug)]
pub(crate) struct RaspConfig {
    pub(crate) engine: EngineConfig,
    pub(crate) fail_mode: FailMode,
    pub(crate) trusted: TrustedProxies,
    pub(crate) exclusions: Vec<RouteExclusion>,
    pub(crate) audit: Option<AuditLog>,
    pub(crate) body_timeout: Duration,
    pub(crate) expose_matched_rules: bool,
    pub(crate) on_decision: Hook,
}

/// The documented defaults of [`RaspLayer`].
impl Default for RaspConfig {
    fn default() -> RaspConfig {
        RaspConfig {
            engine: EngineConfig::new(),
            fail_mode: FailMode::Closed,
            trusted: TrustedProxies::none(),
            exclusions: Vec::new(),
            audit: None,
            body_timeout: Duration::from_secs(30),
            expose_matched_rules: false,
            on_decision: Hook(Arc::new(DefaultOnDecision)),
        }
    }
}

impl RaspConfig {
    #[cfg(test)]
    pub(crate) fn for_tests(mode: FailMode) -> RaspConfig {
        RaspConfig {
            engine: EngineConfig::new().fail_mode(mode),
            fail_mode: mode,
            ..RaspConfig::default()
        }
    }
}

impl RaspLayer {
    /// A layer running `rules` (anything that converts into [`Rules`],
    /// such as a `CompiledRuleset` or an `Arc` of one).
    pub fn new(rules: impl Into<Rules>) -> RaspLayer {
        RaspLayer {
            config: Arc::new(RaspConfig::default()),
            rules: rules.into(),
            current: Arc::default(),
        }
    }

    fn with(mut self, f: impl FnOnce(&mut RaspConfig)) -> RaspLayer {
        f(Arc::make_mut(&mut self.config));
        self
    }

    /// What happens when the engine fails on a request (a panic caught at
    /// the layer, or an evaluation error inside the engine). Default is
    /// [`FailMode::Closed`]: answer 500. `FailMode::Open` passes the
    /// request on uninspected. Set this before taking a
    /// [`reload_handle`](Self::reload_handle).
    pub fn fail_mode(mut self, mode: FailMode) -> RaspLayer {
        let engine = self.config.engine.clone().fail_mode(mode);
        self = self.with(|c| {
            c.fail_mode = mode;
            c.engine = engine;
        });
        self.rebuild()
    }

    /// The engine configuration. Default is `EngineConfig::new()`. Set this
    /// before taking a [`reload_handle`](Self::reload_handle).
    pub fn engine_config(self, config: EngineConfig) -> RaspLayer {
        self.with(|c| c.engine = config).rebuild()
    }

    /// Peers allowed to name the client through `Forwarded` /
    /// `X-Forwarded-For`. Default is none.
    pub fn trusted_proxies(self, trusted: TrustedProxies) -> RaspLayer {
        self.with(|c| c.trusted = trusted)
    }

    /// Adds a per-route rule exclusion. Default is none.
    pub fn exclude(self, exclusion: RouteExclusion) -> RaspLayer {
        self.with(|c| c.exclusions.push(exclusion))
    }

    /// Writes audit records (as the ruleset's `SecAuditEngine` says) to
    /// `log`. Default is no audit log.
    pub fn audit_log(self, log: AuditLog) -> RaspLayer {
        self.with(|c| c.audit = Some(log))
    }

    /// How long the request body may take to arrive while it is buffered
    /// for inspection; a slower client gets 408. A response body is held
    /// for inspection at most this long too: then what has arrived is
    /// inspected and the rest streams through. Default is 30 s.
    pub fn body_timeout(self, timeout: Duration) -> RaspLayer {
        self.with(|c| c.body_timeout = timeout)
    }

    /// Calls `hook` once per inspected exchange (after phase 5). Default is
    /// [`DefaultOnDecision`]: blocks and detections as `tracing` events.
    pub fn on_decision(self, hook: impl OnDecision) -> RaspLayer {
        let hook = Hook(Arc::new(hook));
        self.with(|c| c.on_decision = hook)
    }

    /// Settings that weaken the layer, for test setups only.
    pub fn dangerous(self) -> DangerousRaspLayer {
        DangerousRaspLayer { layer: self }
    }

    /// A handle that swaps the rules of this layer (and of every service
    /// it made) at run time.
    pub fn reload_handle(&self) -> ReloadHandle {
        ReloadHandle {
            current: Arc::clone(self.current()),
            config: self.config.engine.clone(),
        }
    }

    /// The rules this layer was built with.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// The engine in use, built now if it was not yet.
    fn current(&self) -> &Arc<ArcSwap<Loaded>> {
        self.current.get_or_init(|| self.load(0))
    }

    fn load(&self, generation: u64) -> Arc<ArcSwap<Loaded>> {
        Arc::new(ArcSwap::from_pointee(Loaded::new(
            &self.rules,
            self.config.engine.clone(),
            generation,
        )))
    }

    /// After an engine setting changed: services and handles made so far
    /// keep their engine; this layer gets a new one, at once if it had
    /// one already (same generation), else when first used.
    fn rebuild(mut self) -> RaspLayer {
        let built = self.current.get().map(|c| c.load().generation);
        self.current = Arc::default();
        if let Some(generation) = built {
            let _ = self.current.set(self.load(generation));
        }
        self
    }
}

/// Settings that weaken a [`RaspLayer`]; reached only through
/// [`RaspLayer::dangerous`].
#[derive(Debug)]
pub struct DangerousRaspLayer {
    layer: RaspLayer,
}

impl DangerousRaspLayer {
    /// Lists the ids of the logging rules that matched in the
    /// [`MATCHED_RULES_HEADER`](super::MATCHED_RULES_HEADER) response
    /// header of every response. It tells a client exactly which rules it
    /// tripped, so only a test server (the CRS regression suite over HTTP)
    /// should do it. Default is off.
    pub fn expose_matched_rules(self, yes: bool) -> RaspLayer {
        self.layer.with(|c| c.expose_matched_rules = yes)
    }
}

impl<S> Layer<S> for RaspLayer {
    type Service = Rasp<S>;

    fn layer(&self, inner: S) -> Rasp<S> {
        Rasp::new(inner, Arc::clone(&self.config), Arc::clone(self.current()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_stays_small() {
        let rules =
            Rules::from_seclang("t", r#"SecRule ARGS "@rx a+b" "id:1,phase:2,deny""#).unwrap();
        let layer = RaspLayer::new(rules);
        let text = format!("{layer:?} {:?}", layer.layer(()));
        assert!(text.len() < 2000, "{} bytes: {text}", text.len());
        assert!(text.contains("rule_links"));
    }
}
