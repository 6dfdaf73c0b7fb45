//! The engine: compiled rules plus runtime configuration, cheap to clone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crs_compiler::program::GatePlan;
use crs_compiler::CompiledRuleset;

use crate::shortcut::Shortcuts;
use crate::transaction::Transaction;

/// What the engine does when it cannot evaluate a rule (an operator error,
/// such as an `@rx` pattern built from request data that does not
/// compile). Body parsing problems are not engine errors: as in
/// ModSecurity they set `REQBODY_ERROR` and friends for rules to judge.
///
/// # Defaults
/// `Closed`: an engine error interrupts the transaction with 500
/// ([`crate::InterventionKind::EngineError`]) when the engine is `On`.
/// Use `Open` only when availability matters more than protection; errors
/// are then only recorded ([`crate::Transaction::errors`], audit record).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailMode {
    /// Block the request when evaluation fails.
    #[default]
    Closed,
    /// Let the request through when evaluation fails (logged).
    Open,
}

/// Runtime configuration of an [`Engine`].
///
/// # Defaults
/// - `fail_mode`: [`FailMode::Closed`]
/// - `per_rule`: `false` (the multi-pattern gates are used)
/// - `gate_build_time`: 0.5 ms per exchange
/// - `value_memory`: 1 MiB per thread
/// - `log_raw_values`: `false` (credentials are redacted in audit records)
#[derive(Clone, Debug)]
pub struct EngineConfig {
    pub(crate) fail_mode: FailMode,
    pub(crate) per_rule: bool,
    pub(crate) gate_build_time: Duration,
    pub(crate) value_memory: usize,
    pub(crate) log_raw_values: bool,
}

impl Default for EngineConfig {
    fn default() -> EngineConfig {
        EngineConfig {
            fail_mode: FailMode::default(),
            per_rule: false,
            gate_build_time: Duration::from_micros(500),
            value_memory: 1 << 20,
            log_raw_values: false,
        }
    }
}

impl EngineConfig {
    /// The default configuration.
    pub fn new() -> EngineConfig {
        EngineConfig::default()
    }

    /// How long one exchange may spend building states of the
    /// multi-pattern gates' lazy DFAs. Default 0.5 ms.
    ///
    /// A gate builds each state the first time an input needs it, and a
    /// state of a large CRS set can take tens of microseconds: without a
    /// bound, the first sight of 3.5 KiB of unusual text took 68 ms at
    /// paranoia level 1. Past the budget, the rules behind the gate run
    /// their own, smaller automata on the values left, so verdicts do not
    /// depend on this setting; only the time does. A thread's first
    /// exchanges spend it while its caches fill. At most 15 % of it goes to
    /// telling which patterns of a set hit a value, the costlier walk.
    ///
    /// Measured at PL1 (one thread): the first sight of 3.5 KiB of prose
    /// about SQL takes 7.0 ms at 2 ms, 5.9 ms at 1 ms, 5.5 ms at 0.5 ms and
    /// 5.1 ms at 0.25 ms; a fresh engine's first 4,096 varied GETs take
    /// 66, 68, 72 and 71 µs on average. A larger budget warms a thread up
    /// in fewer exchanges; a smaller one bounds what each exchange with
    /// bytes never seen before costs, which an attacker can make every
    /// exchange pay.
    pub fn gate_build_time(mut self, per_exchange: Duration) -> EngineConfig {
        self.gate_build_time = per_exchange;
        self
    }

    /// How many bytes each thread may keep of what it found in the values
    /// it has seen. Default 1 MiB; 0 keeps nothing.
    ///
    /// Most values recur from one exchange to the next (a browser's
    /// `User-Agent` and `Accept*` headers, a client's cookies). For values
    /// up to 1 KiB a thread remembers which patterns a multi-pattern
    /// gate's sweep found in them, and which of the rules no gate answers
    /// found nothing in them (those whose operator's argument is
    /// constant), and answers the next exchange's same bytes from that
    /// instead of transforming and checking them again. Answers are kept
    /// per engine and compared byte for byte, and a hit is always
    /// evaluated, so verdicts and logs do not depend on this setting; only
    /// the time does. An answer is kept from the second time the same
    /// bytes come; values used again stay, others pass through. Beside
    /// the bound, each thread keeps an 8 KiB table marking first sights
    /// and a 32 KiB table of where it last found the values at their
    /// addresses.
    ///
    /// The time is the trade-off: a value a thread has met recently is
    /// answered a few microseconds sooner. Where a client able to time
    /// its requests could learn from that whether another client sent a
    /// guessable secret (a short code, not a session id), set 0.
    ///
    /// Measured at PL1 (one thread): see `benches/README.md`, session 21.
    pub fn value_memory(mut self, bytes_per_thread: usize) -> EngineConfig {
        self.value_memory = bytes_per_thread;
        self
    }

    /// Sets the fail mode. Default is [`FailMode::Closed`].
    pub fn fail_mode(mut self, mode: FailMode) -> EngineConfig {
        self.fail_mode = mode;
        self
    }

    /// The door to settings that weaken protection or privacy.
    pub fn dangerous(self) -> DangerousEngineConfig {
        DangerousEngineConfig { config: self }
    }

    /// Evaluates every rule one by one, ignoring the multi-pattern gates
    /// and the other shortcuts that decide a rule without evaluating it.
    /// Slower; used by tests that prove both paths agree. Default is `false`.
    pub fn per_rule(mut self, yes: bool) -> EngineConfig {
        self.per_rule = yes;
        self
    }
}

/// Settings that weaken protection or privacy, reached only through
/// [`EngineConfig::dangerous`].
#[derive(Debug)]
pub struct DangerousEngineConfig {
    config: EngineConfig,
}

impl DangerousEngineConfig {
    /// Writes credentials (`Authorization`, `Cookie` values) to audit
    /// records unredacted. Default is `false`.
    pub fn log_raw_values(mut self, yes: bool) -> EngineConfig {
        self.config.log_raw_values = yes;
        self.config
    }
}

/// Compiled rules and configuration, shared by all transactions.
/// `Send + Sync`; clones share the rules.
#[derive(Clone, Debug)]
pub struct Engine {
    pub(crate) rules: Arc<CompiledRuleset>,
    pub(crate) config: EngineConfig,
    pub(crate) store: Arc<crate::store::CollectionStore>,
    /// The multi-pattern gates this engine uses: the ruleset's own plan,
    /// or one without the rules its configuration never reaches (see
    /// `reach.rs`).
    pub(crate) plan: Arc<GatePlan>,
    /// What can be decided about each rule without evaluating it (gates,
    /// TX comparisons); empty in per-rule mode.
    pub(crate) shortcuts: Arc<Shortcuts>,
    /// The `@contains` rules answered on the original bytes first.
    pub(crate) mapped_contains: Arc<crate::operator::MappedContains>,
    /// What the gate sweeps need of the readers' chains, from `plan`.
    pub(crate) sweep_chains: Arc<crate::transaction::SweepChains>,
    /// Phase 1's rules decided by TX alone, played once (see
    /// `transaction::prelude`); empty in per-rule mode.
    pub(crate) prelude: Arc<crate::transaction::Prelude>,
    /// The rule files' names as match records show them.
    pub(crate) file_names: Arc<FileNames>,
}

/// The rule files' names as match records show them, made once: a path's
/// `Display` walks it as lossy UTF-8, about 800 instructions for each
/// logged match of a CRS rule.
#[derive(Debug, Default)]
pub(crate) struct FileNames(Vec<(Arc<PathBuf>, String)>);

impl FileNames {
    fn build(rules: &CompiledRuleset) -> FileNames {
        let mut names: Vec<(Arc<PathBuf>, String)> = Vec::new();
        for rule in rules.rules() {
            let file = &rule.location.file;
            if !names.iter().any(|(f, _)| Arc::ptr_eq(f, file)) {
                names.push((Arc::clone(file), file.display().to_string()));
            }
        }
        FileNames(names)
    }

    /// The name of `file` (one of the rules' own: a few dozen pointers
    /// compared).
    pub(crate) fn name(&self, file: &Arc<PathBuf>) -> String {
        self.0
            .iter()
            .find(|(f, _)| Arc::ptr_eq(f, file))
            .map_or_else(|| file.display().to_string(), |(_, name)| name.clone())
    }
}

impl Engine {
    /// An engine with the default configuration.
    pub fn new(rules: Arc<CompiledRuleset>) -> Engine {
        Engine::with_config(rules, EngineConfig::default())
    }

    /// An engine with an explicit configuration.
    ///
    /// Unless [`EngineConfig::per_rule`] is set, this runs a few built-in
    /// benign exchanges through the rules once, to learn which rules the
    /// configuration reaches (CRS skips the rules above its paranoia
    /// level), and plans the multi-pattern gates over those only (see
    /// `reach.rs`).
    pub fn with_config(rules: Arc<CompiledRuleset>, config: EngineConfig) -> Engine {
        // Per-rule mode is an engine without gates: every rule link then
        // finds none and runs its own operator on every value.
        let mut engine = Engine {
            rules,
            config,
            store: Arc::default(),
            plan: Arc::default(),
            shortcuts: Arc::default(),
            mapped_contains: Arc::default(),
            sweep_chains: Arc::default(),
            prelude: Arc::default(),
            file_names: Arc::default(),
        };
        engine.file_names = Arc::new(FileNames::build(&engine.rules));
        engine.mapped_contains = Arc::new(crate::operator::MappedContains::build(&engine.rules));
        if !engine.config.per_rule {
            let plan =
                crate::reach::plan_for_reached(&engine).unwrap_or_else(|| engine.rules.gate_plan());
            plan.build();
            engine.shortcuts = Arc::new(Shortcuts::build(&engine.rules, &plan));
            engine.sweep_chains =
                Arc::new(crate::transaction::SweepChains::build(&plan, &engine.rules));
            engine.plan = Arc::new(plan);
            engine.prelude = Arc::new(crate::transaction::Prelude::build(&engine));
        }
        engine
    }

    /// The multi-pattern gates in use: groups, and the gate of each rule
    /// link (`None` for rules evaluated one by one).
    pub fn gate_plan(&self) -> &GatePlan {
        &self.plan
    }

    /// The compiled rules.
    pub fn rules(&self) -> &Arc<CompiledRuleset> {
        &self.rules
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Starts a transaction (one HTTP exchange).
    pub fn transaction(&self) -> Transaction {
        Transaction::new(self.clone())
    }
}
