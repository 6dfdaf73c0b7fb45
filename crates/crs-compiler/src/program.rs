//! The compiled, immutable rule program.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::build::gate_set::GateSet;

use crate::ir::rule::{Entry, Phase, PhaseProgram, Rule};
use crate::ir::settings::Settings;
use crate::ir::transform::Transform;

/// A multi-pattern gate: the `@rx` and `@pm` rules and chain links
/// (positive or negated) of one phase that share a transformation chain.
///
/// The members' patterns sit side by side in one of the plan's
/// [`GatePlan::sets`], together with the other groups of the phase. A set
/// is scanned once per distinct transformed value, whichever chain
/// produced it: most transformations leave ordinary values as they are, so
/// groups with different chains mostly read the same bytes and share one
/// pass. The engine caches each answer for the whole phase and runs a
/// member's own operator (for captures and `MATCHED_VAR`) only on the
/// values whose scan hit its pattern.
#[derive(Clone, Debug)]
pub struct MatchGroup {
    /// The phase of every member.
    pub phase: Phase,
    /// The union of the members' targets (without exclusions): scanning
    /// all their values once tells which members can match at all, so a
    /// member whose pattern hit nothing is skipped without resolving its
    /// own targets.
    pub targets: Vec<crate::ir::variable::Target>,
    /// The shared transformation chain.
    pub transforms: Vec<Transform>,
    /// The chain the sweep applies before scanning for this group: the
    /// same, or without a final `t:lowercase` when the members' set
    /// patterns were rewritten to match the value before that step
    /// (`build::regex::before_lowercase`). A rewritten pattern gives its
    /// rule's answer on the value after either chain.
    pub sweep_transforms: Vec<Transform>,
    /// A `t:lowercase` of `sweep_transforms` (its position) that the sweep
    /// may leave out for a value on which the steps after it change
    /// nothing: the chain then gives the value before the step, lower-cased,
    /// and every member's pattern matches alike whatever the case of
    /// letters (`build::regex::case_invariant`). CRS's 941310 lower-cases,
    /// then decodes; most values have nothing to decode.
    pub lowercase_at: Option<usize>,
    /// The members use `multiMatch`: their operator inspects the value
    /// and each result of the chain's steps, so a sweep for them reads
    /// all of these (a reader of its own, never shared with a group that
    /// reads the chain's last result only), unless the chain decodes
    /// binary data (see [`MatchGroup::swept`]).
    pub multi_match: bool,
    /// Index into [`GatePlan::sets`] of the set holding the members'
    /// patterns: `members[i]`'s pattern id there is `first_pattern + i`.
    pub set: usize,
    /// Pattern id of the first member in its set.
    pub first_pattern: usize,
    /// `link_index` of each member rule.
    pub members: Vec<usize>,
    /// Rule id of each member (for reports).
    pub member_ids: Vec<u32>,
}

impl MatchGroup {
    /// Whether the set's sweep reads this group's values
    /// ([`GatePlan::set_targets`]): every group but the `multiMatch` ones
    /// whose chain decodes binary data (`t:base64Decode` and the like).
    /// Such a step turns every value into new bytes, mostly noise, and
    /// reading each step's result would walk each value's noise, filling
    /// the set's lazy DFA with states no other value reaches. Their
    /// members read the scan of the untransformed value only and run their
    /// operator on the later results themselves.
    pub fn swept(&self) -> bool {
        !self.multi_match || !self.sweep_transforms.iter().any(|t| t.decodes_binary())
    }
}

/// A multi-pattern set compiled on first use and shared by clones.
///
/// The compiler plans gates for every rule, but an engine usually plans
/// its own over the rules its configuration reaches (`plan_gates`); the
/// ruleset's sets are then never used, and building them would cost load
/// time and memory for nothing.
#[derive(Clone, Debug)]
pub struct LazySet {
    patterns: Arc<[String]>,
    set: Arc<OnceLock<Option<Arc<GateSet>>>>,
}

impl LazySet {
    pub(crate) fn new(patterns: Vec<String>) -> LazySet {
        LazySet {
            patterns: patterns.into(),
            set: Arc::default(),
        }
    }

    /// The compiled set, built now if needed; `None` when it does not
    /// compile (within the size limit), in which case every member must be
    /// treated as possibly matching.
    pub fn get(&self) -> Option<&Arc<GateSet>> {
        self.set
            .get_or_init(|| {
                crate::build::regex::compile_gate_set(&self.patterns)
                    .map_err(|e| tracing::debug!(error = %e, "gate set does not compile; its members are checked one by one"))
                    .ok()
            })
            .as_ref()
    }

    /// The set's patterns, in pattern id order.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether the set was built already.
    pub(crate) fn is_built(&self) -> bool {
        self.set.get().is_some()
    }

    /// Total length of the pattern sources (a build cost estimate).
    pub(crate) fn source_len(&self) -> usize {
        self.patterns.iter().map(String::len).sum()
    }

    /// Heap bytes of the built set (0 when not built).
    pub fn memory_usage(&self) -> usize {
        self.set
            .get()
            .and_then(Option::as_ref)
            .map_or(0, |s| s.memory_usage())
    }
}

/// The multi-pattern gates of a ruleset: what [`crate::plan_gates`]
/// returns. [`CompiledRuleset`] carries the plan for every rule.
#[derive(Clone, Debug, Default)]
pub struct GatePlan {
    /// The groups.
    pub groups: Vec<MatchGroup>,
    /// The pattern sets the groups share (`MatchKind::All`, no captures,
    /// compiled on first use; engines build the sets of the plan they use
    /// up front, see [`GatePlan::build`]). Each belongs to one phase.
    pub sets: Vec<LazySet>,
    /// Per set: each distinct target of its groups (but those not
    /// [`MatchGroup::swept`]) with the groups that read it, so that one
    /// sweep over the values answers for all of them.
    pub set_targets: Vec<Vec<SetTarget>>,
    /// Gate of each rule link, indexed by `Rule::link_index`.
    pub gates: Vec<Option<GateRef>>,
    /// Chain heads left ungated, with the reason.
    pub ungated: Vec<(u32, &'static str)>,
}

impl GatePlan {
    /// Compiles every set now, on all cores, so that no request pays for
    /// it.
    pub fn build(&self) {
        let sets: Vec<&LazySet> = self.sets.iter().collect();
        crate::plan::build_all(&sets);
    }

    /// Heap bytes of the built sets.
    pub fn memory_usage(&self) -> usize {
        self.sets.iter().map(LazySet::memory_usage).sum()
    }
}

/// A target some groups of a set read (`ARGS`, `REQUEST_HEADERS`).
#[derive(Clone, Debug)]
pub struct SetTarget {
    /// The target, without exclusions.
    pub target: crate::ir::variable::Target,
    /// The groups that read it.
    pub readers: Vec<TargetReader>,
    /// Every transformation the readers' chains take, each once: a value
    /// none of them changes reaches every reader as it is.
    pub transforms: Vec<Transform>,
}

/// A group reading a [`SetTarget`], and which of its members do.
///
/// A group's targets are its members' union: a pattern that hits a value
/// another member reads says nothing of its own rule (the XSS rules' group
/// reads every request header for one member, and a browser's `Accept`
/// header hits 941130's pattern, which does not read it). Each member reads
/// each of its values through one of its own targets, so a hit counts for
/// the members listed in [`TargetReader::patterns`] only.
#[derive(Clone, Debug)]
pub struct TargetReader {
    /// Index into [`GatePlan::groups`]: the first group reading the target
    /// with this reader's sweep chain ([`MatchGroup::sweep_transforms`]).
    /// Groups with the same sweep chain read the same bytes and share one
    /// reader.
    pub group: usize,
    /// The pattern ids (in the set) of the members that read the target
    /// themselves, of every group sharing the reader.
    pub patterns: Vec<usize>,
}

/// Where a rule link's gate is: group index and pattern index.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GateRef {
    /// Index into [`GatePlan::groups`].
    pub group: usize,
    /// Index into [`GatePlan::sets`].
    pub set: usize,
    /// Pattern id inside that set.
    pub pattern: usize,
}

/// What the compiler did: counts, groups, and rules that were left out.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct CompileReport {
    /// Files read, in order.
    pub files: Vec<String>,
    /// Number of `SecRule` directives (chain heads and links).
    pub sec_rules: usize,
    /// Number of `SecAction` directives.
    pub sec_actions: usize,
    /// Number of `SecMarker` directives.
    pub markers: usize,
    /// Chains (rules with at least one chained link).
    pub chains: usize,
    /// Rules (chain heads and actions) per phase, index 0 = phase 1.
    pub rules_per_phase: [usize; 5],
    /// Operator name → number of rule links using it.
    pub operators: BTreeMap<String, usize>,
    /// Rules removed by `SecRuleRemoveById/ByTag/ByMsg`.
    pub removed: usize,
    /// Number of links gated by a multi-pattern group.
    pub gated_links: usize,
    /// Heap bytes held by compiled automata (regexes, sets, phrase lists).
    pub automata_bytes: usize,
    /// Chain heads that were not gated, with the reason (rule id, reason),
    /// in phase and load order.
    pub ungated: Vec<(u32, &'static str)>,
    /// Rules left out under `Support::BestEffort` because they use
    /// something rasp cannot run, each with the reason and location.
    pub skipped: Vec<crate::error::CompileError>,
}

/// A compiled ruleset: immutable, `Send + Sync`, cheap to share via `Arc`.
#[derive(Clone, Debug)]
pub struct CompiledRuleset {
    /// Engine settings from the configuration directives.
    pub settings: Settings,
    /// Per-phase programs, index 0 = phase 1.
    pub phases: [PhaseProgram; 5],
    /// Multi-pattern gates.
    pub groups: Vec<MatchGroup>,
    /// The pattern sets of the groups.
    pub sets: Vec<LazySet>,
    /// The targets of each set's groups (see [`GatePlan::set_targets`]).
    pub set_targets: Vec<Vec<SetTarget>>,
    /// Gate of each rule link, indexed by `Rule::link_index`.
    pub gates: Vec<Option<GateRef>>,
    /// Total number of rule links (size for per-link tables).
    pub link_count: usize,
    /// What the compiler did.
    pub report: CompileReport,
}

impl CompiledRuleset {
    /// The program of one phase.
    pub fn phase(&self, phase: Phase) -> &PhaseProgram {
        &self.phases[phase.index()]
    }

    /// Every rule (chain heads and SecActions), in phase and load order.
    pub fn rules(&self) -> impl Iterator<Item = &Arc<Rule>> {
        self.phases.iter().flat_map(|p| {
            p.entries.iter().filter_map(|e| match e {
                Entry::Rule(r) => Some(r),
                _ => None,
            })
        })
    }

    /// The gates the compiler planned, over every rule (engines usually
    /// plan their own over the rules they reach: [`crate::plan_gates`]).
    pub fn gate_plan(&self) -> GatePlan {
        GatePlan {
            groups: self.groups.clone(),
            sets: self.sets.clone(),
            set_targets: self.set_targets.clone(),
            gates: self.gates.clone(),
            ungated: self.report.ungated.clone(),
        }
    }

    /// Looks a rule up by id.
    pub fn rule(&self, id: u32) -> Option<&Arc<Rule>> {
        self.rules().find(|r| r.id == id)
    }
}
