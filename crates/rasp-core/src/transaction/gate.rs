//! Multi-pattern gates, per value: one scan of a transformed value answers
//! for every gated rule of the phase which of their patterns match it,
//! whichever transformation chain produced those bytes.

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::time::Duration;

use crs_compiler::build::gate_set::{GateSet, LANES, PIECES_MIN_LEN};
use crs_compiler::ir::transform::Transform;
use crs_compiler::program::{CompiledRuleset, GatePlan, GateRef, SetTarget, TargetReader};
use foldhash::fast::RandomState;
use regex_automata::{PatternID, PatternSet};

use super::rule::recycle;
use super::sweep_literals::{self, SweepLiterals};
use super::transform_cache::{step_mask, TransformCache, Transformed};
use super::value_memo::{Held, Question};
use crate::transform::IdleAfterLowercase;
use crate::variables::Value;

/// Transformed value (address, length) and set → what the set's scan
/// says of it.
type ScanResults = HashMap<(usize, usize, usize), Scan, RandomState>;

/// What one set's scan says of one value.
#[derive(Debug)]
enum Scan {
    /// No pattern matched (the common case, kept without allocating a set).
    Miss,
    /// Exactly these patterns matched.
    Hits(PatternSet),
    /// Some pattern may match, and which ones was not worked out: the
    /// exchange's build time was spent, or the lazy DFA gave up (see
    /// [`GateSet::is_match_within`]).
    /// The members' own operators decide.
    Maybe,
    /// Not walked: the literals of the patterns that read these bytes in
    /// the sweep are not in them (see `sweep_literals`). Nothing is known
    /// of the set's other patterns, whose own operators (or literals)
    /// decide: a walk of one long value alone costs more than those.
    Skipped,
}

impl Scan {
    /// Whether `pattern` matched, when the scan knows.
    fn says(&self, pattern: PatternID) -> Option<bool> {
        match self {
            Scan::Miss => Some(false),
            Scan::Hits(hits) => Some(hits.contains(pattern)),
            Scan::Maybe | Scan::Skipped => None,
        }
    }
}

/// The share of an exchange's build time (`EngineConfig::gate_build_time`)
/// the "which patterns" walks may spend, in percent: they need many more
/// states than the yes/no walks, and where they stop the members of the
/// hit groups only run their own operators on the value. Measured on the
/// CRS suite (PL4, 5,003 novel requests on one engine): 2 ms with 300 µs
/// for these walks took 5.1 s; 5 ms and 1 ms 6.9 s; 10 ms and 1 ms 7.1 s;
/// without a time budget, with a 64-transition cap on these walks, 8.5 s.
const WHICH_SHARE: u32 = 15;

/// Scan results for this phase, keyed by the address and length of the
/// transformed bytes and the set. Those bytes are exchange data or copies
/// the transformation cache keeps, both unchanged until the phase ends;
/// most chains leave an ordinary value as it is, or end in the same
/// cached copy, so a value is scanned once per set, not once per chain.
/// Cleared at every phase start.
#[derive(Debug, Default)]
pub(super) struct GateCache {
    results: RefCell<ScanResults>,
    /// Per set: whether it was swept this phase, and the patterns that hit
    /// a value of one of their own rule's targets after their group's
    /// transformations (each pattern belongs to one rule of one group).
    /// Kept across phases to reuse the pattern sets.
    sweeps: RefCell<Vec<Sweep>>,
    /// The sweep's working lists, kept between sweeps.
    scratch: RefCell<SweepScratch>,
    /// A lower-cased copy of a long value, for its literal searches
    /// (see [`GateCache::lowered`]).
    lowered: RefCell<Vec<u8>>,
    /// The order in which [`GateCache::scan_all`] takes its values.
    scan_order: RefCell<Vec<usize>>,
    /// What is left of this exchange's build time (see
    /// [`GateCache::set_build_time`]).
    build_time_left: Cell<Duration>,
    /// What is left of the part the "which patterns" walks may spend
    /// ([`WHICH_SHARE`]).
    which_time_left: Cell<Duration>,
}

/// The lists a sweep fills (see [`super::Transaction::sweep`]). Their items
/// borrow the transaction: they are kept empty, and re-typed for the next
/// sweep (`recycle`).
#[derive(Default)]
struct SweepScratch {
    values: Vec<Value<'static>>,
    distinct: Vec<Transformed<'static>>,
    /// (index into `distinct`, target, reader of the target).
    reads: Vec<(usize, usize, usize)>,
    /// Positions of the long values in `distinct`.
    long: Vec<usize>,
    hit: Vec<bool>,
    /// The values the thread may remember (see `value_memo`).
    novel: Vec<Novel>,
    /// Which of `distinct` need no walk (see `Transaction::rule_out`).
    ruled_out: Vec<bool>,
}

impl std::fmt::Debug for SweepScratch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SweepScratch").finish_non_exhaustive()
    }
}

/// What a sweep needs of the readers' chains, worked out with the plan.
#[derive(Debug, Default)]
pub(crate) struct SweepChains {
    /// Unique to each engine's plan (0: none): what the thread's memo of
    /// sweep answers is keyed by (see `value_memo`).
    pub(super) id: u64,
    /// Each reader's chain as a mask of its steps (`step_mask`), by set,
    /// target of the set and reader of the target
    /// (`GatePlan::set_targets`): a sweep tests a value's changing steps
    /// against it (see `TransformCache::changed_by`).
    masks: Vec<Vec<Vec<u64>>>,
    /// By group: the `t:lowercase` its sweep may leave out
    /// (`MatchGroup::lowercase_at`), with the test of the steps after it.
    lowercase: Vec<Option<(usize, IdleAfterLowercase)>>,
    /// What the few patterns of some readers need to match at all.
    literals: SweepLiterals,
}

impl SweepChains {
    pub(crate) fn build(plan: &GatePlan, rules: &CompiledRuleset) -> SweepChains {
        let mask = |reader: &TargetReader| {
            plan.groups
                .get(reader.group)
                .map_or(u64::MAX, |g| step_mask(&g.sweep_transforms))
        };
        let masks = plan
            .set_targets
            .iter()
            .map(|targets| {
                targets
                    .iter()
                    .map(|t| t.readers.iter().map(mask).collect())
                    .collect()
            })
            .collect();
        let lowercase = plan
            .groups
            .iter()
            .map(|g| {
                let at = g.lowercase_at?;
                let after = g.sweep_transforms.get(at + 1..)?;
                Some((at, IdleAfterLowercase::new(after)?))
            })
            .collect();
        // Engines come and go (a reload builds a new one, possibly at a
        // freed one's address): a counter, not an address, tells them
        // apart.
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SweepChains {
            id,
            masks,
            lowercase,
            literals: SweepLiterals::build(plan, rules),
        }
    }

    /// The masks of the readers of target `target` of set `set` (empty for
    /// an engine without them: every chain is then taken through the
    /// cache).
    fn masks(&self, set: usize, target: usize) -> &[u64] {
        self.masks
            .get(set)
            .and_then(|targets| targets.get(target))
            .map_or(&[][..], Vec::as_slice)
    }

    /// The `t:lowercase` group `group`'s sweep may leave out, and the test
    /// of the steps after it.
    fn lowercase(&self, group: usize) -> Option<(usize, &IdleAfterLowercase)> {
        let (at, idle) = self.lowercase.get(group)?.as_ref()?;
        Some((*at, idle))
    }
}

/// Items the sweep lists keep room for between transactions.
const SWEEP_ITEMS: usize = 256;

/// One set's sweep (see [`GateCache::sweeps`]).
#[derive(Debug)]
struct Sweep {
    done: bool,
    hits: PatternSet,
}

/// Values up to this length are batched after the longer ones (see
/// [`GateCache::scan_all`]).
const SHORT_VALUE: usize = 64;

/// Scan results a CRS request phase typically holds.
const SCANS: usize = 256;

impl GateCache {
    /// A cache sized for a request phase under CRS (each value is scanned
    /// by a handful of groups), so it does not rehash while filling up.
    pub(super) fn new() -> GateCache {
        GateCache {
            results: RefCell::new(HashMap::with_capacity_and_hasher(
                SCANS,
                RandomState::default(),
            )),
            sweeps: RefCell::default(),
            scratch: RefCell::default(),
            lowered: RefCell::default(),
            scan_order: RefCell::default(),
            build_time_left: Cell::new(Duration::ZERO),
            which_time_left: Cell::new(Duration::ZERO),
        }
    }

    /// Empties the cache for a transaction of any engine (the sweeps are
    /// sized for one engine's sets), keeping the scan table's capacity up
    /// to its initial size.
    pub(super) fn recycle(&mut self) {
        self.reset();
        self.results.get_mut().shrink_to(SCANS);
        self.sweeps.get_mut().clear();
        let scratch = self.scratch.get_mut();
        scratch.values.shrink_to(SWEEP_ITEMS);
        scratch.distinct.shrink_to(SWEEP_ITEMS);
        scratch.reads.shrink_to(SWEEP_ITEMS);
        scratch.long.shrink_to(SWEEP_ITEMS);
        scratch.hit.shrink_to(SWEEP_ITEMS);
        scratch.novel.shrink_to(SWEEP_ITEMS);
        scratch.ruled_out.shrink_to(SWEEP_ITEMS);
    }

    /// How long this exchange may spend building lazy-DFA states (see
    /// `EngineConfig::gate_build_time`); set when a transaction starts.
    pub(super) fn set_build_time(&self, per_exchange: Duration) {
        self.build_time_left.set(per_exchange);
        // Divided first: a user may give Duration::MAX.
        self.which_time_left
            .set((per_exchange / 100).saturating_mul(WHICH_SHARE));
    }

    pub(super) fn reset(&self) {
        self.results.borrow_mut().clear();
        for sweep in self.sweeps.borrow_mut().iter_mut() {
            sweep.done = false;
            sweep.hits.clear();
        }
    }

    /// Whether the gate's pattern matches `transformed`, a value after
    /// the gate's transformations that stays put for the phase (see
    /// [`GateCache`]). The scan is exact (an overlapping search reports
    /// every pattern that matches), so this is the operator's own answer;
    /// `None` when there is no scan to ask (a set that did not compile).
    pub(super) fn pattern_matches(
        &self,
        plan: &GatePlan,
        gate: GateRef,
        transformed: &[u8],
    ) -> Option<bool> {
        let set = plan.sets.get(gate.set).and_then(|s| s.get())?;
        let pattern = PatternID::new_unchecked(gate.pattern);
        self.with_scan(set, gate.set, transformed, |scan| scan.says(pattern))
    }

    /// What an earlier scan of `transformed` (bytes that stay put for the
    /// phase) by the gate's set says of the gate's pattern, without
    /// scanning: `None` when those bytes were not scanned by that set.
    pub(super) fn scanned(&self, gate: GateRef, transformed: &[u8]) -> Option<bool> {
        let key = (transformed.as_ptr() as usize, transformed.len(), gate.set);
        let pattern = PatternID::new_unchecked(gate.pattern);
        self.results
            .borrow()
            .get(&key)
            .and_then(|scan| scan.says(pattern))
    }

    /// Scans each of `values` (bytes that stay put for the phase) by set
    /// `index` unless it was scanned already, [`LANES`] values at a time
    /// (see [`GateSet::is_match_each`]), and those of [`PIECES_MIN_LEN`]
    /// bytes or more cut in pieces that share the lanes (see
    /// [`GateSet::is_match_long_within`]); says for each whether a pattern
    /// may hit it.
    ///
    /// Why pieces: a walk waits on one table load per byte, so the time of
    /// a batch is that of its longest value. The bench form's text and its
    /// `t:cmdLine` copy (3.8 KiB each) took 13.0 µs side by side, and 8.4
    /// µs in pieces; the form POST 51.4 → 46.3 µs in the engine bench
    /// (550 → 619 k instructions: the lanes walk on past their pieces, see
    /// `GateSet::walk_pieces`).
    fn scan_all(
        &self,
        set: &GateSet,
        index: usize,
        values: &[Transformed<'_>],
        ruled_out: &[bool],
        hit: &mut Vec<bool>,
    ) {
        let mut results = self.results.borrow_mut();
        let key = |bytes: &[u8]| (bytes.as_ptr() as usize, bytes.len(), index);
        hit.clear();
        hit.resize(values.len(), false);
        // Positions in `values` of the bytes to scan next.
        let mut batch = [0usize; LANES];
        let mut filled = 0;
        let record =
            |results: &mut ScanResults, hit: &mut Vec<bool>, at: usize, found: Option<bool>| {
                let Some(bytes) = values.get(at) else {
                    return;
                };
                let scan = self.answer(set, bytes, found);
                if let Some(h) = hit.get_mut(at) {
                    *h = !matches!(scan, Scan::Miss);
                }
                results.insert(key(bytes), scan);
            };
        // Positions in `values` of the bytes to scan in pieces next.
        let mut in_pieces = [0usize; LANES];
        let mut pieces_filled = 0;
        // Walks the bytes at `batch` (at most `LANES`) side by side, or in
        // pieces that share the lanes, and records what the walks say.
        let walk = |results: &mut ScanResults,
                    hit: &mut Vec<bool>,
                    batch: &[usize],
                    pieces: bool| {
            let bytes: [&[u8]; LANES] = std::array::from_fn(|lane| {
                batch
                    .get(lane)
                    .and_then(|&i| values.get(i))
                    .map_or(&[][..], |b| &**b)
            });
            let mut budget = self.build_time_left.get();
            let found = if pieces {
                set.is_match_long_within(bytes.get(..batch.len()).unwrap_or_default(), &mut budget)
            } else {
                // The lanes without a value walk nothing.
                set.is_match_each_within(bytes, &mut budget)
            };
            self.build_time_left.set(budget);
            for (&at, found) in batch.iter().zip(found) {
                record(results, hit, at, found);
            }
        };
        // Longest first: a batch walks as long as its longest value, so
        // values of like length share batches.
        let mut order = self.scan_order.borrow_mut();
        order.clear();
        order.extend(0..values.len());
        order.sort_unstable_by_key(|&at| std::cmp::Reverse(values.get(at).map_or(0, |b| b.len())));
        for &at in order.iter() {
            let Some(bytes) = values.get(at) else {
                continue;
            };
            if let Some(scanned) = results.get(&key(bytes)) {
                if let Some(h) = hit.get_mut(at) {
                    *h = !matches!(scanned, Scan::Miss);
                }
                continue;
            }
            if ruled_out.get(at).copied().unwrap_or(false) {
                // A miss for every reader (see `sweep_literals`), which
                // need not hold for the set's other patterns.
                results.insert(key(bytes), Scan::Skipped);
                continue;
            }
            if bytes.len() >= PIECES_MIN_LEN {
                in_pieces[pieces_filled] = at;
                pieces_filled += 1;
                if pieces_filled == LANES {
                    walk(&mut results, hit, &in_pieces, true);
                    pieces_filled = 0;
                }
                continue;
            }
            batch[filled] = at;
            filled += 1;
            if filled == LANES {
                walk(&mut results, hit, &batch, false);
                filled = 0;
            }
        }
        if pieces_filled > 0 {
            let rest = in_pieces.get(..pieces_filled).unwrap_or_default();
            walk(&mut results, hit, rest, true);
        }
        let rest = batch.get(..filled).unwrap_or_default();
        if let [at] = rest {
            let found = values.get(*at).and_then(|b| self.is_match(set, b));
            record(&mut results, hit, *at, found);
        } else if !rest.is_empty() {
            // Several left: still side by side.
            walk(&mut results, hit, rest, false);
        }
    }

    /// Runs `f` on `bytes` lower-cased (ASCII), in the cache's buffer: the
    /// literal searches of `sweep_literals` take lower-cased text.
    fn lowered<R>(&self, bytes: &[u8], f: impl FnOnce(&[u8]) -> R) -> R {
        let mut lowered = self.lowered.borrow_mut();
        lowered.clear();
        lowered.extend(bytes.iter().map(u8::to_ascii_lowercase));
        f(&lowered)
    }

    /// What `set` says of `value`. Most values match no pattern: an
    /// earliest-match search, which stops at the first hit and is cheaper
    /// per byte than an overlapping one, answers that case first.
    fn scan(&self, set: &GateSet, value: &[u8]) -> Scan {
        self.answer(set, value, self.is_match(set, value))
    }

    /// The scan of `value`, given whether a pattern of `set` matches it
    /// (`None`: the walk could not tell).
    fn answer(&self, set: &GateSet, value: &[u8], found: Option<bool>) -> Scan {
        match found {
            Some(true) => self.which(set, value),
            Some(false) => Scan::Miss,
            // Past the exchange's budget, or the lazy DFA gave up: the
            // members decide.
            None => Scan::Maybe,
        }
    }

    /// Whether a pattern of `set` matches `value`, as far as the
    /// exchange's build time allows.
    fn is_match(&self, set: &GateSet, value: &[u8]) -> Option<bool> {
        let mut budget = self.build_time_left.get();
        let found = set.is_match_within(value, &mut budget);
        self.build_time_left.set(budget);
        found
    }

    /// Which patterns of `set` match `value`, known to match one, as far
    /// as the exchange's build time allows.
    fn which(&self, set: &GateSet, value: &[u8]) -> Scan {
        let (left, which_left) = (self.build_time_left.get(), self.which_time_left.get());
        let allowed = which_left.min(left);
        let mut budget = allowed;
        let mut out = PatternSet::new(set.pattern_len());
        let answered = set.which_overlapping_matches_within(value, &mut out, &mut budget);
        let spent = allowed.saturating_sub(budget);
        self.which_time_left.set(which_left.saturating_sub(spent));
        self.build_time_left.set(left.saturating_sub(spent));
        if answered {
            Scan::Hits(out)
        } else {
            Scan::Maybe
        }
    }

    /// Runs `f` on the (cached) scan of `transformed`, which stays put for
    /// the phase, by set `index`.
    fn with_scan<R>(
        &self,
        set: &GateSet,
        index: usize,
        transformed: &[u8],
        f: impl FnOnce(&Scan) -> R,
    ) -> R {
        let mut results = self.results.borrow_mut();
        let key = (transformed.as_ptr() as usize, transformed.len(), index);
        let scanned = results
            .entry(key)
            .or_insert_with(|| self.scan(set, transformed));
        f(scanned)
    }
}

impl super::Transaction {
    /// Whether a gated rule can match at all this phase: its pattern hit
    /// at least one value of its own targets. The first gated rule of
    /// a set to ask sweeps the values of the whole set (see [`Self::sweep`]),
    /// which also fills the per-value cache that
    /// [`GateCache::pattern_matches`] reads later. Not for `multiMatch`
    /// groups, which the sweep leaves out (their intermediate results would
    /// all need scans; see `crs_compiler::plan_gates`).
    #[inline]
    pub(super) fn rule_may_match(&self, gate: GateRef) -> bool {
        let pattern = PatternID::new_unchecked(gate.pattern);
        match self.gates.sweeps.borrow().get(gate.set) {
            Some(sweep) if sweep.done => return sweep.hits.contains(pattern),
            _ => {}
        }
        self.sweep_first(gate)
    }

    /// [`Self::rule_may_match`] for the first gated rule of its set to ask:
    /// sweeps the set, then answers. Apart so that the answers from a
    /// finished sweep (about 175 per benign GET) stay a few instructions
    /// inlined in the rule loop.
    #[inline(never)]
    fn sweep_first(&self, gate: GateRef) -> bool {
        let plan = &self.engine.plan;
        let Some(set) = plan.sets.get(gate.set).and_then(|s| s.get()) else {
            return true;
        };
        self.sweep(gate.set, set);
        let pattern = PatternID::new_unchecked(gate.pattern);
        self.gates
            .sweeps
            .borrow()
            .get(gate.set)
            .is_none_or(|s| s.hits.contains(pattern))
    }

    /// Whether any of `gates`' rules may match (see
    /// [`Self::rule_may_match`]).
    pub(super) fn any_may_match(&self, gates: &[GateRef]) -> bool {
        gates.iter().any(|gate| self.rule_may_match(*gate))
    }

    /// Scans the values of every target of set `index`'s groups, each
    /// after the transformations of every group that reads it, and records
    /// which patterns hit a value of a target their own rule reads. Each target is
    /// collected once for all the groups; the bytes that several chains
    /// leave alike are scanned once, and all the bytes to scan are
    /// gathered first so that several are walked side by side
    /// ([`GateCache::scan_all`]).
    fn sweep(&self, index: usize, set: &GateSet) {
        let plan = &self.engine.plan;
        let mut sweeps = self.gates.sweeps.borrow_mut();
        while sweeps.len() <= index {
            let len = plan
                .sets
                .get(sweeps.len())
                .and_then(|s| s.get())
                .map_or(0, |s| s.pattern_len());
            sweeps.push(Sweep {
                done: false,
                hits: PatternSet::new(len),
            });
        }
        let Some(sweep) = sweeps.get_mut(index) else {
            return;
        };
        if sweep.hits.capacity() != set.pattern_len() {
            // Never answer from a set of another size (see `recycle`).
            sweep.hits = PatternSet::new(set.pattern_len());
        }
        let scope = self.scope(None);
        let scratch = std::mem::take(&mut *self.gates.scratch.borrow_mut());
        let mut values: Vec<Value<'_>> = recycle(scratch.values);
        let mut listed = Listed {
            distinct: recycle(scratch.distinct),
            reads: scratch.reads,
            long: scratch.long,
            first: 0,
            cannot: None,
        };
        listed.reads.clear();
        listed.long.clear();
        let mut hit = scratch.hit;
        // The values this sweep walks that the thread may remember, with
        // their reads.
        let mut novel = scratch.novel;
        novel.clear();
        let mut memo = self.memo.borrow_mut();
        let targets = plan.set_targets.get(index).map_or(&[][..], Vec::as_slice);
        for (t, target) in targets.iter().enumerate() {
            values.clear();
            crate::variables::collect_target(&scope, &target.target, None, &mut values);
            for v in &values {
                // Only values that stay put are remembered: the others are
                // scanned on the spot (see `list_reads`).
                let stable = super::rule::stays_put(v);
                let question = Question::Sweep {
                    set: index,
                    target: t,
                };
                let held = stable.then(|| memo.find(&v.value, true)).flatten();
                if let Some(known) = held.and_then(|h| memo.answer(h, question)) {
                    for &p in known {
                        let _ = sweep.hits.try_insert(PatternID::new_unchecked(p as usize));
                    }
                    continue;
                }
                let first_read = listed.reads.len();
                self.list_reads(set, index, (t, target), v, &mut sweep.hits, &mut listed);
                if let Some(held) = held.filter(|&h| memo.admit(h, question)) {
                    novel.push(Novel {
                        held,
                        question,
                        value: Box::from(&*v.value),
                        reads: first_read..listed.reads.len(),
                    });
                }
            }
        }
        let Listed {
            distinct,
            reads,
            long,
            ..
        } = listed;
        let mut ruled_out = scratch.ruled_out;
        self.rule_out(index, &distinct, &reads, &mut ruled_out);
        self.gates
            .scan_all(set, index, &distinct, &ruled_out, &mut hit);
        let results = self.gates.results.borrow();
        // The reader of read `(d, t, r)` and what the scan of its bytes
        // says, when they may hit (`None`: a miss).
        let scanned = |&(d, t, r): &(usize, usize, usize)| {
            if !hit.get(d).copied().unwrap_or(false) {
                return None;
            }
            let bytes = distinct.get(d)?;
            let key = (bytes.as_ptr() as usize, bytes.len(), index);
            let reader = targets.get(t)?.readers.get(r)?;
            // Not scanned after all: any member may match.
            Some((reader, results.get(&key).unwrap_or(&Scan::Maybe)))
        };
        for read in &reads {
            if let Some((reader, scan)) = scanned(read) {
                add(&mut sweep.hits, reader, scan);
            }
        }
        for n in novel.drain(..) {
            // The patterns the value hit, unless a scan was cut short.
            let mut found: Vec<u32> = Vec::new();
            let mut complete = true;
            for read in reads.get(n.reads).unwrap_or_default() {
                match scanned(read) {
                    None | Some((_, Scan::Miss)) => {}
                    Some((reader, Scan::Hits(hits))) => {
                        for &p in &reader.patterns {
                            if hits.contains(PatternID::new_unchecked(p)) {
                                match u32::try_from(p) {
                                    Ok(p) => found.push(p),
                                    Err(_) => complete = false,
                                }
                            }
                        }
                    }
                    Some((_, Scan::Maybe | Scan::Skipped)) => complete = false,
                }
            }
            if complete {
                found.sort_unstable();
                found.dedup();
                memo.insert(n.held, n.question, &n.value, &found);
            }
        }
        drop(memo);
        sweep.done = true;
        drop(results);
        *self.gates.scratch.borrow_mut() = SweepScratch {
            values: recycle(values),
            distinct: recycle(distinct),
            reads,
            long,
            hit,
            novel,
            ruled_out,
        };
    }

    /// Whether `multiMatch` link `link`'s pattern cannot match `bytes`, as
    /// its literals tell (see `SweepLiterals::link_rules_out`); `false`
    /// when they do not tell.
    pub(super) fn literals_absent(&self, link: usize, bytes: &[u8]) -> bool {
        let literals = &self.engine.sweep_chains.literals;
        if !literals.filters_link(link) {
            return false;
        }
        self.gates
            .lowered(bytes, |lowered| literals.link_rules_out(link, lowered))
    }

    /// Marks in `ruled_out` the long bytes of `distinct` that no pattern
    /// reading them can match, as their literals tell (see
    /// `sweep_literals`): all their readers are filtered, and none of
    /// their patterns' literals occurs in them.
    fn rule_out(
        &self,
        set: usize,
        distinct: &[Transformed<'_>],
        reads: &[(usize, usize, usize)],
        ruled_out: &mut Vec<bool>,
    ) {
        let literals = &self.engine.sweep_chains.literals;
        ruled_out.clear();
        ruled_out.extend(distinct.iter().map(|b| b.len() >= sweep_literals::MIN_LEN));
        if !ruled_out.contains(&true) {
            return;
        }
        // A copy one of whose readers is not filtered is walked: marked
        // first, it needs no lower-cased copy nor search.
        for &(d, t, r) in reads {
            if !literals.filters(set, t, r) {
                if let Some(out) = ruled_out.get_mut(d) {
                    *out = false;
                }
            }
        }
        for (d, bytes) in distinct.iter().enumerate() {
            if !ruled_out.get(d).copied().unwrap_or(false) {
                continue;
            }
            let out = self.gates.lowered(bytes, |lowered| {
                reads
                    .iter()
                    .all(|&(read, t, r)| read != d || literals.rules_out(set, t, r, lowered))
            });
            if let Some(slot) = ruled_out.get_mut(d) {
                *slot = out;
            }
        }
    }

    /// Lists in `listed` the bytes the readers of target `t` (`target`) of
    /// set `index` read of `v`, each once (see [`list_distinct`]), and who
    /// reads them. A value without a stable address is scanned now instead,
    /// its hits added to `hits`.
    fn list_reads<'v>(
        &'v self,
        set: &GateSet,
        index: usize,
        (t, target): (usize, &SetTarget),
        v: &Value<'v>,
        hits: &mut PatternSet,
        listed: &mut Listed<'v>,
    ) {
        let plan = &self.engine.plan;
        let chains = &self.engine.sweep_chains;
        let masks = chains.masks(index, t);
        let stable = super::rule::stays_put(v);
        listed.start_value();
        // Which of the readers' steps change a short value, each tried
        // once: most chains leave an ordinary value as it is, and those
        // need neither a step nor a cache lookup.
        let changed = match &v.value {
            Cow::Borrowed(original) if stable => {
                self.tcache.changed_by(original, &target.transforms)
            }
            _ => None,
        };
        if let (Some(0), Cow::Borrowed(original)) = (changed, &v.value) {
            // No step of any reader changes it: all the readers read the
            // value itself.
            if set.cannot_match(original) {
                return;
            }
            let d = listed.distinct_at(Transformed::Original(original));
            listed
                .reads
                .extend((0..target.readers.len()).map(|r| (d, t, r)));
            return;
        }
        for (r, reader) in target.readers.iter().enumerate() {
            let Some(group) = plan.groups.get(reader.group) else {
                continue;
            };
            let chain = &group.sweep_transforms;
            let mask = masks.get(r).copied().unwrap_or(u64::MAX);
            let unchanged = changed.is_some_and(|changed| mask & changed == 0);
            // A `multiMatch` group reads each step's result (the plan lists
            // only those the sweep reads, see `MatchGroup::swept`); where
            // no step changes the value, the value is the only result.
            if group.multi_match && !unchanged {
                self.list_steps(set, (index, t, r), reader, v, hits, listed);
                continue;
            }
            let bytes = match &v.value {
                Cow::Borrowed(original) if unchanged => Transformed::Original(original),
                _ => read_through(
                    &self.tcache,
                    v.value.clone(),
                    chain,
                    chains.lowercase(reader.group),
                    stable,
                ),
            };
            if !stable {
                // Values without a stable address are never gated per
                // value: count their hits here only.
                add(hits, reader, &self.gates.scan(set, &bytes));
                continue;
            }
            listed.read(set, (t, r), bytes);
        }
    }

    /// [`Self::list_reads`] for reader `r` of target `t` of set `index`,
    /// of a `multiMatch` group, whose members inspect the value and each
    /// result of its chain's steps: each of those bytes is read (a step
    /// that leaves them alike adds no read), but for the results that lack
    /// every literal the reader's patterns need (see `sweep_literals`).
    ///
    /// The literals are looked for in short results too, unlike in
    /// `rule_out`: a result of these steps is a copy no other reader
    /// walks, mostly of a new value (a repeated one is answered by the
    /// thread's memo before this), whose walk costs more than the search.
    fn list_steps<'v>(
        &'v self,
        set: &GateSet,
        (index, t, r): (usize, usize, usize),
        reader: &TargetReader,
        v: &Value<'v>,
        hits: &mut PatternSet,
        listed: &mut Listed<'v>,
    ) {
        let Some(group) = self.engine.plan.groups.get(reader.group) else {
            return;
        };
        let chain = &group.sweep_transforms;
        let literals = &self.engine.sweep_chains.literals;
        match &v.value {
            Cow::Borrowed(original) if super::rule::stays_put(v) => {
                let mut current = Transformed::Original(original);
                listed.read(set, (t, r), current.clone());
                let filtered = literals.filters(index, t, r);
                for step in chain {
                    let next = self.tcache.step(&current, *step);
                    if !same_bytes(&next, &current) {
                        let lacks_literals = filtered
                            && self
                                .gates
                                .lowered(&next, |lowered| literals.rules_out(index, t, r, lowered));
                        if !lacks_literals {
                            listed.read(set, (t, r), next.clone());
                        }
                    }
                    current = next;
                }
            }
            value => {
                // Bytes that may move are scanned now, as in `list_reads`.
                let mut current = value.to_vec();
                add(hits, reader, &self.gates.scan(set, &current));
                for step in chain {
                    if let Cow::Owned(next) = crate::transform::apply(*step, &current) {
                        current = next;
                        add(hits, reader, &self.gates.scan(set, &current));
                    }
                }
            }
        }
    }
}

/// What a sweep lists before it scans (see `Transaction::sweep`).
struct Listed<'v> {
    /// The distinct bytes the groups read (after their transformations).
    distinct: Vec<Transformed<'v>>,
    /// Which reader reads which: (index into `distinct`, target, reader
    /// of the target).
    reads: Vec<(usize, usize, usize)>,
    /// Where the long values are in `distinct`: one read through two
    /// targets (`REQUEST_HEADERS` and `REQUEST_HEADERS:User-Agent`) is
    /// walked once.
    long: Vec<usize>,
    /// Where the bytes of the value being listed start in `distinct`: the
    /// chains that leave it alike read the same bytes.
    first: usize,
    /// The value's bytes last found unable to match: the chains that
    /// leave them alike need not look again.
    cannot: Option<(usize, usize)>,
}

impl<'v> Listed<'v> {
    /// Starts listing the reads of another value.
    fn start_value(&mut self) {
        self.first = self.distinct.len();
        self.cannot = None;
    }

    /// The position of `bytes` in `distinct` (see [`list_distinct`]).
    fn distinct_at(&mut self, bytes: Transformed<'v>) -> usize {
        list_distinct(&mut self.distinct, &mut self.long, self.first, bytes)
    }

    /// Lists the read of `bytes` (of the value being listed) by reader `r`
    /// of target `t`. Bytes without any of the set's few start bytes are a
    /// miss for every reader: nothing to list or record (a later question
    /// about them is answered as fast).
    fn read(&mut self, set: &GateSet, (t, r): (usize, usize), bytes: Transformed<'v>) {
        let at = (bytes.as_ptr() as usize, bytes.len());
        if self.cannot == Some(at) {
            return;
        }
        if set.cannot_match(&bytes) {
            self.cannot = Some(at);
            return;
        }
        let d = self.distinct_at(bytes);
        self.reads.push((d, t, r));
    }
}

/// Whether `a` and `b` are the same bytes in memory (address and length),
/// which is how a sweep tells copies apart: a step that changes nothing
/// returns its input.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    std::ptr::eq(a, b)
}

/// Records in `hits` what `scan` says for `reader`: a scan counts for the
/// patterns of the members that read the value's target themselves
/// (`TargetReader::patterns`).
fn add(hits: &mut PatternSet, reader: &TargetReader, scan: &Scan) {
    let patterns = reader.patterns.iter().map(|&p| PatternID::new_unchecked(p));
    match scan {
        Scan::Miss => {}
        Scan::Hits(found) => {
            for p in patterns.filter(|p| found.contains(*p)) {
                let _ = hits.try_insert(p);
            }
        }
        // Any member may match: each runs its own operator. (A sweep's
        // readers never read `Skipped` bytes as a hit.)
        Scan::Maybe | Scan::Skipped => {
            for p in patterns {
                let _ = hits.try_insert(p);
            }
        }
    }
}

/// A value a sweep walked that the thread may remember (see
/// `value_memo`).
#[derive(Debug)]
struct Novel {
    held: Held,
    question: Question,
    value: Box<[u8]>,
    /// Its reads, in the sweep's list.
    reads: std::ops::Range<usize>,
}

/// The bytes a reader's sweep reads of `value`: what `chain` makes of it,
/// or, where the chain's `t:lowercase` at `lowercase.0` may be left out
/// (see `MatchGroup::lowercase_at`) and the steps after it leave the
/// value alone (`lowercase.1`), what the steps before it make of it: the
/// members' patterns say of those bytes what they say of the chain's
/// result, its lower-cased form, and those bytes are usually a copy the
/// set walks for other chains anyway.
fn read_through<'v>(
    tcache: &TransformCache,
    value: Cow<'v, [u8]>,
    chain: &[Transform],
    lowercase: Option<(usize, &IdleAfterLowercase)>,
    stable: bool,
) -> Transformed<'v> {
    let split = lowercase.and_then(|(at, idle)| Some((chain.get(..at)?, idle)));
    if let Some((before, idle)) = split {
        let before = tcache.apply(value.clone(), before, stable);
        if idle.holds(&before) {
            return before;
        }
    }
    tcache.apply(value, chain, stable)
}

/// The position of `bytes` in `distinct`, the bytes a sweep walks, added
/// unless they are there: among those of the current value (from `first`
/// on), or, for long bytes, among the earlier long ones (`long`), as one
/// read through two targets (`REQUEST_HEADERS` and
/// `REQUEST_HEADERS:User-Agent`) is walked once.
fn list_distinct<'v>(
    distinct: &mut Vec<Transformed<'v>>,
    long: &mut Vec<usize>,
    first: usize,
    bytes: Transformed<'v>,
) -> usize {
    let same = |b: &Transformed<'_>| same_bytes(b, &bytes);
    let is_long = bytes.len() > SHORT_VALUE;
    let known = distinct
        .get(first..)
        .and_then(|new| new.iter().position(same))
        .map(|i| first + i)
        .or_else(|| {
            let earlier = |&i: &usize| distinct.get(i).is_some_and(same);
            is_long
                .then(|| long.iter().copied().find(earlier))
                .flatten()
        });
    match known {
        Some(d) => d,
        None => {
            if is_long {
                long.push(distinct.len());
            }
            distinct.push(bytes);
            distinct.len() - 1
        }
    }
}
