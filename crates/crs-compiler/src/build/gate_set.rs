//! The searcher of a multi-pattern gate set: one forward NFA of all the
//! patterns, searched by a lazy DFA, with the PikeVM (same NFA) where the
//! lazy DFA gives up.
//!
//! Why not `meta::Regex`, which wraps the same engines: a gate set is only
//! ever asked "does any pattern match" and "which patterns match", both
//! forward searches, while the meta builder also compiles a reverse NFA and
//! the engines that report match positions. For CRS's sets that was a
//! third of their build time and half their memory. And a sweep asks the
//! same question of many short values in a row, which
//! [`GateSet::is_match_each`] answers by walking several values at once
//! (see there).
//!
//! The `*_within` searches answer by the lazy DFA alone, within a budget of
//! time for building its states, and say when they could not: the engine
//! then asks the rules' own automata (see [`GateSet::is_match_within`]).

use std::panic::{RefUnwindSafe, UnwindSafe};
use std::time::{Duration, Instant};

use regex_automata::hybrid::dfa::{Cache as DfaCache, DFA};
use regex_automata::hybrid::LazyStateID;
use regex_automata::nfa::thompson::pikevm::{Cache as PikeCache, PikeVM};
use regex_automata::nfa::thompson::{self, WhichCaptures};
use regex_automata::util::pool::{Pool, PoolGuard};
use regex_automata::{Input, MatchKind, PatternSet};

use super::regex::{rewrite_braced_hex, syntax_config, HYBRID_CACHE_CAPACITY, REGEX_SIZE_LIMIT};

/// The per-thread search state of a set.
#[derive(Debug, Clone)]
struct SearchCache {
    dfa: DfaCache,
    /// Made on first use: only inputs that make the lazy DFA give up need
    /// it.
    pikevm: Option<PikeCache>,
}

type CreateCache = Box<dyn Fn() -> SearchCache + Send + Sync + UnwindSafe + RefUnwindSafe>;

/// A compiled gate set (see the module docs). Every pattern reports
/// independently (`MatchKind::All`); no capture groups are kept.
pub struct GateSet {
    dfa: DFA,
    pikevm: PikeVM,
    caches: Pool<SearchCache, CreateCache>,
    /// The only bytes a match can start with, when there are at most three
    /// (see `super::start_bytes`): a value without them is no match.
    start_bytes: Option<Vec<u8>>,
}

impl std::fmt::Debug for GateSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GateSet")
            .field("patterns", &self.pattern_len())
            .finish_non_exhaustive()
    }
}

/// Values at least this long are walked in pieces side by side (see
/// `GateSet::walk_pieces`).
pub const PIECES_MIN_LEN: usize = 1024;

/// How far into a piece its lane records its states, for the lanes of
/// earlier pieces that walk on past their own (see
/// `GateSet::walk_pieces`). A multiple of [`CHECKPOINT_SPACING`].
const PIECES_OVERLAP: usize = 2048;

/// Where in its piece a lane records its state, and where a lane past its
/// own piece compares its state with the one recorded there: the first
/// byte, then this many bytes on, then at twice the distance each time up
/// to [`CHECKPOINT_SPACING`] (0, 8, 16, 32, 64, 128, 256, 384…). Most
/// lanes meet the next one's state within a few bytes, which the first
/// checkpoints catch soon; some go on for hundreds (see
/// `GateSet::walk_pieces`). Measured on the bench form's text and its
/// `t:cmdLine` copy, each alone in pieces and both together: 7.1, 5.7 and
/// 8.4 µs; with checkpoints every 32 bytes past the first four (more
/// recorded, and more stops of the untagged steps) 8.0, 6.1 and 9.8 µs;
/// doubling all the way (a lane that met the next one's state between two
/// far-apart checkpoints walks on) 13.2, 6.8 and 8.5 µs. A power of two.
const FIRST_CHECKPOINT: usize = 8;

/// The distance between two checkpoints past the doublings (see
/// [`FIRST_CHECKPOINT`]). A power of two, no less than `FIRST_CHECKPOINT`.
const CHECKPOINT_SPACING: usize = 128;

/// Checkpoints before the first at [`CHECKPOINT_SPACING`]: the first byte
/// and the doublings.
const DOUBLINGS: usize =
    (CHECKPOINT_SPACING.trailing_zeros() - FIRST_CHECKPOINT.trailing_zeros()) as usize + 1;

/// Checkpoints below [`PIECES_OVERLAP`].
const CHECKPOINTS: usize = DOUBLINGS + PIECES_OVERLAP / CHECKPOINT_SPACING - 1;

/// Which checkpoint (see [`FIRST_CHECKPOINT`]) `offset` into a piece is,
/// if it is one.
fn checkpoint_index(offset: usize) -> Option<usize> {
    let index = if offset == 0 {
        0
    } else if offset < CHECKPOINT_SPACING {
        if offset < FIRST_CHECKPOINT || !offset.is_power_of_two() {
            return None;
        }
        (offset.trailing_zeros() - FIRST_CHECKPOINT.trailing_zeros()) as usize + 1
    } else if offset % CHECKPOINT_SPACING == 0 {
        DOUBLINGS - 1 + offset / CHECKPOINT_SPACING
    } else {
        return None;
    };
    (index < CHECKPOINTS).then_some(index)
}

/// The first checkpoint after `offset` into a piece.
fn checkpoint_after(offset: usize) -> usize {
    if offset < FIRST_CHECKPOINT {
        FIRST_CHECKPOINT
    } else if offset < CHECKPOINT_SPACING {
        (offset + 1).next_power_of_two()
    } else {
        (offset / CHECKPOINT_SPACING + 1) * CHECKPOINT_SPACING
    }
}

/// The shortest piece of a value walked in pieces.
const PIECES_MIN_PIECE: usize = 256;

/// Values walked side by side by [`GateSet::is_match_each`]. Eight: a
/// 4 KiB form's text has five long copies (its transformations), which
/// then walk in one batch; the GET and JSON cases have no more than four
/// long values and do not change (measured in session 8, with the lanes
/// that walk stepped together, see `GateSet::untagged_steps`).
pub const LANES: usize = 8;

/// Bytes per lane [`GateSet::untagged_steps`] reads at once.
const CHUNK: usize = 8;

impl GateSet {
    /// Compiles `patterns` (ModSecurity `@rx` syntax, see the parent
    /// module) into one set.
    pub fn new(patterns: &[String]) -> Result<GateSet, String> {
        GateSet::with_cache_capacity(patterns, HYBRID_CACHE_CAPACITY)
    }

    fn with_cache_capacity(patterns: &[String], capacity: usize) -> Result<GateSet, String> {
        let rewritten: Vec<String> = patterns.iter().map(|p| rewrite_braced_hex(p)).collect();
        let hirs = rewritten
            .iter()
            .map(|p| {
                regex_automata::util::syntax::parse_with(p, &syntax_config())
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<_>, _>>()?;
        let start_bytes = super::start_bytes::start_bytes(&hirs);
        let nfa = thompson::Compiler::new()
            .configure(
                thompson::Config::new()
                    .utf8(false)
                    .nfa_size_limit(Some(REGEX_SIZE_LIMIT))
                    .which_captures(WhichCaptures::None),
            )
            .build_many_from_hir(&hirs)
            .map_err(|e| match e.size_limit() {
                Some(limit) => format!("compiled regex exceeds size limit of {limit} bytes"),
                None => e.to_string(),
            })?;
        // As `meta::Regex` configures it: give up (and let the PikeVM
        // answer) when the cache keeps filling up with states that are
        // each used for few bytes.
        let dfa = DFA::builder()
            .configure(
                DFA::config()
                    .match_kind(MatchKind::All)
                    .cache_capacity(capacity)
                    .skip_cache_capacity_check(true)
                    .minimum_cache_clear_count(Some(3))
                    .minimum_bytes_per_state(Some(10)),
            )
            .build_from_nfa(nfa.clone())
            .map_err(|e| e.to_string())?;
        let pikevm = PikeVM::builder()
            .configure(PikeVM::config().match_kind(MatchKind::All))
            .build_from_nfa(nfa)
            .map_err(|e| e.to_string())?;
        let for_caches = dfa.clone();
        let create: CreateCache = Box::new(move || SearchCache {
            dfa: for_caches.create_cache(),
            pikevm: None,
        });
        Ok(GateSet {
            dfa,
            pikevm,
            caches: Pool::new(create),
            start_bytes,
        })
    }

    /// Number of patterns.
    pub fn pattern_len(&self) -> usize {
        self.dfa.pattern_len()
    }

    /// Heap bytes of the compiled set (its NFA, which both engines share;
    /// the lazy DFA's states live in per-thread caches, which grow as
    /// inputs are searched).
    pub fn memory_usage(&self) -> usize {
        self.dfa.get_nfa().memory_usage()
    }

    /// Whether no match can start in `haystack`: the set has at most
    /// three start bytes and `haystack` holds none of them (a `memchr`
    /// pass; `false` says nothing).
    pub fn cannot_match(&self, haystack: &[u8]) -> bool {
        match self.start_bytes.as_deref() {
            None => false,
            Some(&[a]) => memchr::memchr(a, haystack).is_none(),
            Some(&[a, b]) => memchr::memchr2(a, b, haystack).is_none(),
            Some(&[a, b, c]) => memchr::memchr3(a, b, c, haystack).is_none(),
            // No pattern (or more bytes than kept, which `start_bytes`
            // does not give): nothing can match, or ask the automaton.
            Some([]) => true,
            Some(_) => false,
        }
    }

    /// Whether any pattern matches `haystack`.
    pub fn is_match(&self, haystack: &[u8]) -> bool {
        if self.cannot_match(haystack) {
            return false;
        }
        let mut cache = self.caches.get();
        let input = Input::new(haystack).earliest(true);
        match self.dfa.try_search_fwd(&mut cache.dfa, &input) {
            Ok(found) => found.is_some(),
            Err(_) => self.pikevm_which(&mut cache, haystack, None),
        }
    }

    /// [`GateSet::is_match`] by the lazy DFA alone, within a budget of time
    /// for computing transitions it has not computed before: each one's
    /// time is taken from `budget`, and none is computed once it is spent.
    /// `None` when the budget runs out, or where the lazy DFA gives up or
    /// meets a byte it cannot handle; the PikeVM is not asked.
    ///
    /// Why: a transition of a large CRS set can take tens of microseconds
    /// to compute, and the first sight of long unusual values needs
    /// hundreds (CRS's 942521-16, 3.5 KiB of prose about SQL, took 73 ms
    /// at PL1 where libmodsecurity takes 4 ms and the rules' own patterns
    /// 5 ms). And the lazy DFA gives up when it keeps clearing its cache
    /// for few bytes searched per state, which the largest CRS set does on
    /// varied attack payloads; the PikeVM then steps through every state
    /// of a large set at every byte. A caller with a cheaper way to answer
    /// (the engine asks the members' own, small automata) should take it.
    /// The transitions computed stay cached, so a thread soon answers its
    /// site's usual values in full.
    pub fn is_match_within(&self, haystack: &[u8], budget: &mut Duration) -> Option<bool> {
        if self.cannot_match(haystack) {
            return Some(false);
        }
        let mut cache = self.caches.get();
        if haystack.len() >= PIECES_MIN_LEN {
            if let Some([found, ..]) = self.walk_pieces(&mut cache.dfa, &[haystack], budget) {
                return found;
            }
        }
        self.walk_one(&mut cache.dfa, haystack, budget)
    }

    /// [`GateSet::is_match_within`] for up to [`LANES`] long values at
    /// once (those past the first [`LANES`] are not walked: `None`), one
    /// budget for all: the values' pieces share the lanes (see
    /// `GateSet::walk_pieces`), so that a lane kept walking past its
    /// piece in one value does not keep the others waiting.
    pub fn is_match_long_within(
        &self,
        haystacks: &[&[u8]],
        budget: &mut Duration,
    ) -> [Option<bool>; LANES] {
        let haystacks = haystacks.get(..LANES).unwrap_or(haystacks);
        let mut cache = self.caches.get();
        // Values no match can start in take no lane.
        let mut walked: [&[u8]; LANES] = [&[]; LANES];
        let mut count = 0;
        let mut at = [None; LANES];
        for (i, h) in haystacks.iter().enumerate() {
            if !self.cannot_match(h) {
                at[i] = Some(count);
                walked[count] = h;
                count += 1;
            }
        }
        let walked = walked.get(..count).unwrap_or_default();
        let found = self.walk_pieces(&mut cache.dfa, walked, budget);
        std::array::from_fn(|i| match (haystacks.get(i), at[i]) {
            (None, _) => None,
            (Some(_), None) => Some(false),
            (Some(h), Some(w)) => match &found {
                Some(found) => found[w],
                None => self.walk_one(&mut cache.dfa, h, budget),
            },
        })
    }

    /// [`GateSet::is_match_within`] for several values at once (see
    /// [`GateSet::is_match_each`]), one budget for all.
    pub fn is_match_each_within(
        &self,
        haystacks: [&[u8]; LANES],
        budget: &mut Duration,
    ) -> [Option<bool>; LANES] {
        let mut cache = self.caches.get();
        match self.walk_each(&mut cache.dfa, haystacks, budget) {
            Some(found) => found,
            None => haystacks.map(|h| self.walk_one(&mut cache.dfa, h, budget)),
        }
    }

    /// [`GateSet::is_match`] for several values at once.
    ///
    /// Why: a walk through the lazy DFA is one dependent load per byte,
    /// and on the large CRS sets those loads miss the CPU cache between
    /// two values of a request. Walking [`LANES`] values side by side lets
    /// their misses overlap: measured on the CRS sets with cold caches,
    /// 30 % less time per short value.
    pub fn is_match_each(&self, haystacks: [&[u8]; LANES]) -> [bool; LANES] {
        let mut cache = self.caches.get();
        let mut unbounded = Duration::MAX;
        let walked = self.walk_each(&mut cache.dfa, haystacks, &mut unbounded);
        drop(cache);
        // Where the walk cannot answer (the lazy DFA gave up, met a byte it
        // cannot handle, or cleared its cache under the other lanes), each
        // value is asked on its own, with the fallback.
        let found = walked.unwrap_or([None; LANES]);
        std::array::from_fn(|i| found[i].unwrap_or_else(|| self.is_match(haystacks[i])))
    }

    /// The side-by-side walk; `None` when it cannot answer (the lazy DFA
    /// gave up, met a quit byte, or cleared its cache, which invalidates
    /// the other lanes' states). A lane that needs a transition once
    /// `budget` is spent stops with no answer (`None`).
    fn walk_each(
        &self,
        cache: &mut DfaCache,
        haystacks: [&[u8]; LANES],
        budget: &mut Duration,
    ) -> Option<[Option<bool>; LANES]> {
        let clears = cache.clear_count();
        // The bytes walked, all lanes together, count for the lazy DFA's
        // "enough bytes per state" test (see `GateSet::walk_which`) once
        // the walk is over: updating them in the loop made it 5 % slower.
        cache.search_start(0);
        let mut state = [LazyStateID::default(); LANES];
        // Lanes still walking.
        let mut walking = [true; LANES];
        let mut found = [Some(false); LANES];
        for (lane, h) in haystacks.iter().enumerate() {
            if self.cannot_match(h) {
                walking[lane] = false;
                continue;
            }
            let sid = self.dfa.start_state_forward(cache, &Input::new(h)).ok()?;
            if cache.clear_count() != clears {
                return None;
            }
            state[lane] = sid;
            arrive(sid, &mut found[lane], &mut walking[lane])?;
        }
        let longest = haystacks.iter().map(|h| h.len()).max().unwrap_or(0);
        let mut at = 0;
        while at < longest {
            // The lanes that walk and have bytes left take untagged steps
            // together as far as they can (see `GateSet::untagged_steps`);
            // the general step below handles what stopped them. Measured
            // (session 8, with eight lanes): the 4 KiB form 138 → 123 µs
            // (the five long copies of its text now share one batch; with
            // four lanes 133 µs), the other cases unchanged.
            let active: [bool; LANES] =
                std::array::from_fn(|lane| walking[lane] && at < haystacks[lane].len());
            let end = (0..LANES)
                .filter(|&lane| active[lane])
                .map(|lane| haystacks[lane].len())
                .min();
            let Some(end) = end else {
                break;
            };
            (at, _) = self.steps_together(cache, &active, &haystacks, &mut state, at, end);
            if at >= longest {
                break;
            }
            for lane in 0..LANES {
                if !walking[lane] {
                    continue;
                }
                let Some(&byte) = haystacks[lane].get(at) else {
                    continue;
                };
                // Walking lanes are in untagged states: the transition is
                // one table load unless it was never computed, and only
                // computing it can clear the cache.
                let mut sid = self.dfa.next_state_untagged(cache, state[lane], byte);
                if sid.is_unknown() {
                    sid = match self.compute(cache, state[lane], byte, budget) {
                        Ok(sid) => sid,
                        Err(Stop::Budget) => {
                            walking[lane] = false;
                            found[lane] = None;
                            continue;
                        }
                        Err(Stop::GaveUp) => return None,
                    };
                    if cache.clear_count() != clears {
                        return None;
                    }
                }
                state[lane] = sid;
                arrive(sid, &mut found[lane], &mut walking[lane])?;
            }
            at += 1;
        }
        for lane in 0..LANES {
            if walking[lane] {
                let sid = self.dfa.next_eoi_state(cache, state[lane]).ok()?;
                if cache.clear_count() != clears {
                    return None;
                }
                found[lane] = Some(sid.is_match());
            }
        }
        cache.search_finish(haystacks.iter().map(|h| h.len()).sum());
        Some(found)
    }

    /// The lanes marked in `active` take untagged steps together from `at`
    /// towards `end` (see [`GateSet::untagged_steps`], one function per
    /// number of lanes, so that their loads stay straight-line code).
    /// Returns where they stopped and how many lanes walked.
    fn steps_together(
        &self,
        cache: &DfaCache,
        active: &[bool; LANES],
        haystacks: &[&[u8]; LANES],
        state: &mut [LazyStateID; LANES],
        at: usize,
        end: usize,
    ) -> (usize, usize) {
        let mut lanes = [0usize; LANES];
        let mut walkers = 0;
        for (lane, _) in active.iter().enumerate().filter(|(_, &a)| a) {
            lanes[walkers] = lane;
            walkers += 1;
        }
        let to = match walkers {
            8 => self.untagged_steps::<8>(cache, lanes, haystacks, state, at, end),
            7 => self.untagged_steps::<7>(cache, lanes, haystacks, state, at, end),
            6 => self.untagged_steps::<6>(cache, lanes, haystacks, state, at, end),
            5 => self.untagged_steps::<5>(cache, lanes, haystacks, state, at, end),
            4 => self.untagged_steps::<4>(cache, lanes, haystacks, state, at, end),
            3 => self.untagged_steps::<3>(cache, lanes, haystacks, state, at, end),
            2 => self.untagged_steps::<2>(cache, lanes, haystacks, state, at, end),
            1 => self.untagged_steps::<1>(cache, lanes, haystacks, state, at, end),
            _ => at,
        };
        (to, walkers)
    }

    /// Walks the `N` lanes listed first in `lanes` from `at` towards
    /// `end` (no later than the end of any of them) while every step
    /// lands in an untagged state, and says where they stopped. Such a
    /// step is one table load per lane and one test for all: where a
    /// lane meets a match, the dead state or a transition not computed
    /// yet, the caller's general step takes over at that byte.
    // `k` indexes every lane's chunk; reading the chunks column by column
    // instead (one array per `k`) cost 1 % more instructions.
    #[allow(clippy::needless_range_loop)]
    fn untagged_steps<const N: usize>(
        &self,
        cache: &DfaCache,
        lanes: [usize; LANES],
        haystacks: &[&[u8]; LANES],
        state: &mut [LazyStateID; LANES],
        mut at: usize,
        end: usize,
    ) -> usize {
        let bytes: [&[u8]; N] = std::array::from_fn(|i| haystacks[lanes[i]]);
        let mut current: [LazyStateID; N] = std::array::from_fn(|i| state[lanes[i]]);
        // Each lane's next `CHUNK` bytes are read into an array at once, so
        // the steps through them index with constants instead of checking
        // each byte's position in each lane. Measured (session 14,
        // callgrind): the 4 KiB form 1,586 → 1,484 k instructions per
        // exchange, the GET and JSON cases −0.7 and −0.9 %; 4 or 16 bytes
        // at once did less.
        let stopped = 'chunks: {
            while at + CHUNK <= end {
                let chunks: [[u8; CHUNK]; N] = std::array::from_fn(|i| {
                    bytes[i]
                        .get(at..at + CHUNK)
                        .and_then(|c| c.try_into().ok())
                        .unwrap_or_default()
                });
                for k in 0..CHUNK {
                    let next: [LazyStateID; N] = std::array::from_fn(|i| {
                        self.dfa
                            .next_state_untagged(cache, current[i], chunks[i][k])
                    });
                    if next.iter().any(LazyStateID::is_tagged) {
                        at += k;
                        break 'chunks true;
                    }
                    current = next;
                }
                at += CHUNK;
            }
            false
        };
        while !stopped && at < end {
            let next: [LazyStateID; N] = std::array::from_fn(|i| {
                let byte = bytes[i].get(at).copied().unwrap_or_default();
                self.dfa.next_state_untagged(cache, current[i], byte)
            });
            if next.iter().any(LazyStateID::is_tagged) {
                break;
            }
            current = next;
            at += 1;
        }
        for (i, sid) in current.into_iter().enumerate() {
            state[lanes[i]] = sid;
        }
        at
    }

    /// [`GateSet::walk_one`] of up to [`LANES`] long values, each in
    /// pieces, the pieces walked side by side as `walk_each` walks several
    /// values: a lone walk waits on one table load per byte. Measured
    /// (session 8) on the bench GET's response: the phases of its 2 KiB
    /// page 5.8 → 4.2 µs, of the same page 16 times over (32 KiB) 75 →
    /// 44 µs. The lanes go to the values by length.
    ///
    /// The lane of a piece starts at its first byte in the unanchored start
    /// state for that position (the byte before it sets the look-behind),
    /// so it finds every match that starts in its piece or later. A match
    /// that starts in a piece and ends in a later one is found by the
    /// piece's own lane, which walks on past the end of its piece until its
    /// state is the very state the lane of the piece it is in had at the
    /// same position: from there both see the same matches, and it stops.
    /// Each lane records its state at checkpoints in the first
    /// [`PIECES_OVERLAP`] bytes of its piece, where a lane past its own
    /// piece compares; one that meets none walks on to the end of the
    /// value, so the answer is always the whole value's.
    ///
    /// How soon the lanes meet depends on the patterns: a thread of a
    /// pattern that waits for its end across any gap (`if .*==`, CRS's
    /// 932140) lives on in a lane from where its start was seen, and the
    /// next lane has it only once it sees such a start itself (on the
    /// bench form's text, the next "if " is up to 800 bytes on). Hence an
    /// overlap of several pieces, the lanes stepping together past their
    /// pieces as within them, and the pieces of several values sharing the
    /// lanes: the 4 KiB form's text and its `t:cmdLine` copy took 13.0 µs
    /// side by side, 7.1 + 5.7 µs one after the other in pieces, and
    /// 8.4 µs in pieces together.
    /// A thread that only a value's first byte starts (`^[^)]*\)`) never
    /// meets another lane's: the planner takes such starts off the patterns
    /// of positive rules (see `plan::loosen`).
    ///
    /// The states are recorded and compared at checkpoints only (see
    /// [`FIRST_CHECKPOINT`]): two lanes in the same state stay so, so a
    /// lane stops at the first checkpoint after the states met, and the
    /// lanes record their state between two runs of untagged steps instead
    /// of before each byte.
    ///
    /// Per value, `None` where the budget ran out or the lazy DFA met a
    /// byte it cannot handle (as `walk_one`'s `None`); `None` for all when
    /// the lazy DFA cleared its cache under the lanes (their states are
    /// gone) or gave up: the caller walks each value in one piece.
    fn walk_pieces(
        &self,
        cache: &mut DfaCache,
        haystacks: &[&[u8]],
        budget: &mut Duration,
    ) -> Option<[Option<bool>; LANES]> {
        let haystacks = haystacks.get(..LANES).unwrap_or(haystacks);
        let values = haystacks.len();
        let len = |v: usize| haystacks.get(v).map_or(0, |h| h.len());
        // Lanes per value: one each, the others one at a time to the
        // value with the longest pieces that may be cut once more.
        let mut lanes_of = [0usize; LANES];
        lanes_of[..values].fill(1);
        for _ in values..LANES {
            let may_take = |&v: &usize| lanes_of[v] < (len(v) / PIECES_MIN_PIECE).clamp(1, LANES);
            let Some(v) = (0..values)
                .filter(may_take)
                .max_by_key(|&v| len(v).div_ceil(lanes_of[v]))
            else {
                break;
            };
            lanes_of[v] += 1;
        }
        // Per lane: its value; per value: its first lane, the length of
        // its pieces and where in them its lanes stop recording.
        let mut value_of = [0usize; LANES];
        let mut first_lane = [0usize; LANES];
        let mut piece_len = [1; LANES];
        let mut recording_end = [0usize; LANES];
        let mut lanes = 0;
        for v in 0..values {
            first_lane[v] = lanes;
            piece_len[v] = len(v).div_ceil(lanes_of[v]).max(1);
            recording_end[v] = piece_len[v].min(PIECES_OVERLAP);
            value_of[lanes..lanes + lanes_of[v]].fill(v);
            lanes += lanes_of[v];
        }
        let start = |k: usize| {
            let v = value_of[k];
            ((k - first_lane[v]) * piece_len[v]).min(len(v))
        };
        // Each lane's bytes from the start of its piece on: the lanes walk
        // in step, lane k at `start(k) + step`.
        let bytes: [&[u8]; LANES] = std::array::from_fn(|k| {
            if k < lanes {
                haystacks
                    .get(value_of[k])
                    .and_then(|h| h.get(start(k)..))
                    .unwrap_or_default()
            } else {
                &[]
            }
        });
        let clears = cache.clear_count();
        cache.search_start(0);
        let mut state = [LazyStateID::default(); LANES];
        let mut walking = [false; LANES];
        let mut found = [Some(false); LANES];
        // Ends the walk of value `v`, with `answer`.
        let settle = |v: usize,
                      answer: Option<bool>,
                      walking: &mut [bool; LANES],
                      found: &mut [Option<bool>; LANES]| {
            found[v] = answer;
            walking[first_lane[v]..first_lane[v] + lanes_of[v]].fill(false);
        };
        // Lane k arrives in state `sid`: a match or a byte the lazy DFA
        // cannot handle settles its value, the dead state ends the lane.
        let land = |k: usize,
                    sid: LazyStateID,
                    walking: &mut [bool; LANES],
                    found: &mut [Option<bool>; LANES]| {
            let (mut hit, mut walks) = (Some(false), true);
            if arrive(sid, &mut hit, &mut walks).is_none() {
                settle(value_of[k], None, walking, found);
            } else if hit == Some(true) {
                settle(value_of[k], Some(true), walking, found);
            } else {
                walking[k] = walks;
            }
        };
        // Each lane's state at the checkpoints of its piece (lane k's
        // state at checkpoint i at `k * CHECKPOINTS + i`), and how many.
        let mut history = [LazyStateID::default(); LANES * CHECKPOINTS];
        let mut recorded = [0usize; LANES];
        for k in 0..lanes {
            let v = value_of[k];
            if found[v] != Some(false) {
                continue;
            }
            let h = haystacks.get(v).copied().unwrap_or_default();
            let input = Input::new(h).range(start(k)..);
            let Ok(sid) = self.dfa.start_state_forward(cache, &input) else {
                settle(v, None, &mut walking, &mut found);
                continue;
            };
            if cache.clear_count() != clears {
                return None;
            }
            state[k] = sid;
            land(k, sid, &mut walking, &mut found);
        }
        let mut step = 0;
        let mut walked = 0;
        while walking.iter().any(|&w| w) {
            // The lanes of a value are all within their pieces or all
            // past them, at the same offset into the piece they walk: the
            // value's checkpoints are the same for all.
            let mut stop = usize::MAX;
            for v in 0..values {
                let lanes_v = first_lane[v]..first_lane[v] + lanes_of[v];
                if !lanes_v.clone().any(|k| walking[k]) {
                    continue;
                }
                let piece = piece_len[v];
                let past = step >= piece;
                let offset = if past { step % piece } else { step };
                if let Some(i) = checkpoint_index(offset) {
                    for k in lanes_v.clone() {
                        if !walking[k] {
                            continue;
                        }
                        if !past {
                            // Within its piece: the lane records its state
                            // (no lane comes to a value's first piece).
                            if k > first_lane[v] && recorded[k] == i {
                                if let Some(slot) = history.get_mut(k * CHECKPOINTS + i) {
                                    *slot = state[k];
                                    recorded[k] = i + 1;
                                }
                            }
                            continue;
                        }
                        // Past its piece: in the state the lane of this
                        // piece had here?
                        let owner = first_lane[v] + (start(k) + step) / piece;
                        let met = owner < lanes_v.end
                            && i < recorded[owner]
                            && history.get(owner * CHECKPOINTS + i) == Some(&state[k]);
                        if met {
                            walking[k] = false;
                        }
                    }
                }
                // Untagged steps up to the value's next checkpoint where a
                // lane records or compares, and no further than the end of
                // any walking lane's bytes.
                let records = past || lanes_of[v] > 1;
                let next = checkpoint_after(offset);
                let next = if records && next < recording_end[v] {
                    next
                } else {
                    piece
                };
                stop = stop.min(step + next - offset);
                for k in lanes_v.filter(|&k| walking[k]) {
                    stop = stop.min(bytes[k].len());
                }
            }
            if step < stop {
                let (to, walkers) =
                    self.steps_together(cache, &walking, &bytes, &mut state, step, stop);
                walked += (to - step) * walkers;
                step = to;
                if step == stop {
                    continue;
                }
            }
            // A general step for every walking lane at `step`: the one
            // that stopped the untagged steps, or the end of a lane's
            // bytes.
            for k in 0..lanes {
                if !walking[k] {
                    continue;
                }
                let v = value_of[k];
                let Some(&byte) = bytes[k].get(step) else {
                    // The end of the value: the end-of-input transition
                    // tells whether a match ends there.
                    let Ok(eoi) = self.dfa.next_eoi_state(cache, state[k]) else {
                        settle(v, None, &mut walking, &mut found);
                        continue;
                    };
                    if cache.clear_count() != clears {
                        return None;
                    }
                    if eoi.is_match() {
                        settle(v, Some(true), &mut walking, &mut found);
                    }
                    walking[k] = false;
                    continue;
                };
                let mut next = self.dfa.next_state_untagged(cache, state[k], byte);
                if next.is_unknown() {
                    cache.search_update(walked);
                    next = match self.compute(cache, state[k], byte, budget) {
                        Ok(sid) => sid,
                        Err(Stop::Budget) => {
                            settle(v, None, &mut walking, &mut found);
                            continue;
                        }
                        Err(Stop::GaveUp) => return None,
                    };
                    if cache.clear_count() != clears {
                        return None;
                    }
                }
                state[k] = next;
                walked += 1;
                land(k, next, &mut walking, &mut found);
            }
            step += 1;
        }
        cache.search_finish(walked);
        Some(found)
    }

    /// [`GateSet::walk_each`] for one value, which the lazy DFA keeps
    /// valid across a cache clear (see `GateSet::walk_which`).
    fn walk_one(
        &self,
        cache: &mut DfaCache,
        haystack: &[u8],
        budget: &mut Duration,
    ) -> Option<bool> {
        cache.search_start(0);
        let mut sid = self
            .dfa
            .start_state_forward(cache, &Input::new(haystack))
            .ok()?;
        let (mut found, mut walking) = (Some(false), true);
        arrive(sid, &mut found, &mut walking)?;
        for (at, &byte) in haystack.iter().enumerate() {
            if !walking {
                break;
            }
            let mut next = self.dfa.next_state_untagged(cache, sid, byte);
            if next.is_unknown() {
                cache.search_update(at);
                next = self.compute(cache, sid, byte, budget).ok()?;
            }
            sid = next;
            arrive(sid, &mut found, &mut walking)?;
        }
        if walking {
            let eoi = self.dfa.next_eoi_state(cache, sid).ok()?;
            found = Some(eoi.is_match());
        }
        cache.search_finish(haystack.len());
        found
    }

    /// Records in `out` every pattern that matches `haystack`.
    pub fn which_overlapping_matches(&self, haystack: &[u8], out: &mut PatternSet) {
        if self.cannot_match(haystack) {
            return;
        }
        let mut cache = self.caches.get();
        let input = Input::new(haystack);
        if self
            .dfa
            .try_which_overlapping_matches(&mut cache.dfa, &input, out)
            .is_err()
        {
            self.pikevm_which(&mut cache, haystack, Some(out));
        }
    }

    /// [`GateSet::which_overlapping_matches`], within a budget of time for
    /// computing lazy-DFA transitions (see [`GateSet::is_match_within`]):
    /// `false` when the budget runs out or the lazy DFA gives up, and `out`
    /// then holds only part of the answer.
    ///
    /// Why: telling which patterns match walks every byte through states
    /// that the yes/no search never needs, and on unusual values seen for
    /// the first time (attack payloads) unbounded walks took tens of
    /// milliseconds per request. Past the budget the caller does without
    /// the answer (the members run their own, smaller automata).
    pub fn which_overlapping_matches_within(
        &self,
        haystack: &[u8],
        out: &mut PatternSet,
        budget: &mut Duration,
    ) -> bool {
        if self.cannot_match(haystack) {
            return true;
        }
        let mut cache = self.caches.get();
        self.walk_which(&mut cache.dfa, haystack, out, budget)
            .is_some()
    }

    /// The walk behind [`GateSet::which_overlapping_matches_within`];
    /// `None` when it stops short.
    fn walk_which(
        &self,
        cache: &mut DfaCache,
        haystack: &[u8],
        out: &mut PatternSet,
        budget: &mut Duration,
    ) -> Option<()> {
        let record = |cache: &DfaCache, sid: LazyStateID, out: &mut PatternSet| {
            for i in 0..self.dfa.match_len(cache, sid) {
                let _ = out.try_insert(self.dfa.match_pattern(cache, sid, i));
            }
        };
        // The lazy DFA gives up when it keeps clearing its cache for few
        // bytes searched per state; a search written outside the crate
        // must report its progress for that test, or it gives up after a
        // few clears whatever the input.
        cache.search_start(0);
        let mut sid = self
            .dfa
            .start_state_forward(cache, &Input::new(haystack))
            .ok()?;
        for (at, &byte) in haystack.iter().enumerate() {
            if !sid.is_tagged() {
                // The common step: one table load, unless the transition
                // was never computed. (Written without closures: the
                // `Option` chain it replaced was not inlined, and cost
                // about 40 instructions a byte on text that hits.)
                let next = self.dfa.next_state_untagged(cache, sid, byte);
                sid = if next.is_unknown() {
                    cache.search_update(at);
                    self.compute(cache, sid, byte, budget).ok()?
                } else {
                    next
                };
                continue;
            }
            if sid.is_match() {
                record(cache, sid, out);
                if out.is_full() {
                    return Some(());
                }
            } else if sid.is_dead() {
                return Some(());
            } else if sid.is_quit() {
                return None;
            }
            // From a tagged state only the full step can tell whether the
            // transition is known, and on some payloads most steps are
            // from match states: timing each made the walks slower than
            // what they bound. A step that added a state is charged as a
            // slow transition of a large set costs, and stops the walk
            // when the budget is spent. The lazy DFA keeps the state it
            // returns valid when computing it clears the cache; this walk
            // holds no other.
            cache.search_update(at);
            let before = cache.memory_usage();
            sid = self.dfa.next_state(cache, sid, byte).ok()?;
            if cache.memory_usage() != before {
                if budget.is_zero() {
                    return None;
                }
                *budget = budget.saturating_sub(MATCH_STEP_CHARGE);
            }
        }
        if sid.is_quit() {
            return None;
        }
        if sid.is_match() {
            record(cache, sid, out);
        }
        if !sid.is_dead() {
            let eoi = self.dfa.next_eoi_state(cache, sid).ok()?;
            if eoi.is_match() {
                record(cache, eoi, out);
            }
        }
        cache.search_finish(haystack.len());
        Some(())
    }

    /// The PikeVM's answer: every matching pattern into `out`, or (without
    /// `out`) whether any matches.
    fn pikevm_which(
        &self,
        cache: &mut PoolGuard<'_, SearchCache, CreateCache>,
        haystack: &[u8],
        out: Option<&mut PatternSet>,
    ) -> bool {
        let pikevm = &self.pikevm;
        let pike_cache = cache.pikevm.get_or_insert_with(|| pikevm.create_cache());
        let mut own = None;
        let out = match out {
            Some(out) => out,
            None => own.insert(PatternSet::new(self.pattern_len())),
        };
        pikevm.which_overlapping_matches(pike_cache, &Input::new(haystack), out);
        !out.is_empty()
    }

    /// Computes the transition from `sid` (untagged) on `byte`, taking its
    /// time from `budget`, unless that is spent.
    #[cold]
    #[inline(never)]
    fn compute(
        &self,
        cache: &mut DfaCache,
        sid: LazyStateID,
        byte: u8,
        budget: &mut Duration,
    ) -> Result<LazyStateID, Stop> {
        if budget.is_zero() {
            return Err(Stop::Budget);
        }
        let started = Instant::now();
        let next = self.dfa.next_state(cache, sid, byte);
        *budget = budget.saturating_sub(started.elapsed());
        next.map_err(|_| Stop::GaveUp)
    }
}

/// What a "which patterns" walk charges for a step from a match state that
/// added states (see [`GateSet::walk_which`]): a few times what computing
/// a transition of one of CRS's large sets typically takes (5–10 µs).
const MATCH_STEP_CHARGE: Duration = Duration::from_micros(20);

/// Why a walk could not compute a transition.
enum Stop {
    /// The caller's time budget is spent.
    Budget,
    /// The lazy DFA gave up (see [`GateSet::is_match_within`]).
    GaveUp,
}

/// A lane reaching `sid`: it stops at a match (found) or at the dead
/// state, and walks on otherwise; `None` for a quit state, where the walk
/// cannot answer.
fn arrive(sid: LazyStateID, found: &mut Option<bool>, walking: &mut bool) -> Option<()> {
    if sid.is_tagged() {
        if sid.is_match() {
            *found = Some(true);
            *walking = false;
        } else if sid.is_dead() {
            *walking = false;
        } else if sid.is_quit() {
            return None;
        }
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Patterns whose lazy DFA needs many states on varied input.
    fn patterns() -> Vec<String> {
        [
            r"(?i)a[a-z]{0,12}b[0-9]{2,}",
            r"x.{3,9}y.{2,5}z",
            r"^[0-9a-f]{6,}$",
            r"\bselect\b.{0,40}\bfrom\b",
            r"(?:q|w|e){4}r",
        ]
        .map(String::from)
        .to_vec()
    }

    /// Deterministic pseudo-random numbers (xorshift64).
    fn xorshift(seed: u64) -> impl FnMut() -> u64 {
        let mut x = seed;
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Deterministic varied inputs, some long, some empty.
    fn inputs() -> Vec<Vec<u8>> {
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        const BYTES: &[u8] = b"abxyzqwer0123456789f select from AB\n";
        (0..3000)
            .map(|i| {
                let len = if i % 50 == 0 {
                    700
                } else {
                    (next() % 40) as usize
                };
                (0..len)
                    .map(|_| BYTES[(next() % BYTES.len() as u64) as usize])
                    .collect()
            })
            .collect()
    }

    fn pikevm_answer(set: &GateSet, h: &[u8]) -> bool {
        let mut cache = set.pikevm.create_cache();
        let mut out = PatternSet::new(set.pattern_len());
        set.pikevm
            .which_overlapping_matches(&mut cache, &Input::new(h), &mut out);
        !out.is_empty()
    }

    #[test]
    fn budgeted_walks_answer_as_the_pikevm_or_say_they_did_not() {
        let pikevm_which = |set: &GateSet, h: &[u8]| {
            let mut cache = set.pikevm.create_cache();
            let mut out = PatternSet::new(set.pattern_len());
            set.pikevm
                .which_overlapping_matches(&mut cache, &Input::new(h), &mut out);
            out.iter().collect::<Vec<_>>()
        };
        let inputs = inputs();
        let set = GateSet::new(&patterns()).expect("compiles");
        let (mut matched, mut stopped) = (0, 0);
        for h in &inputs {
            let want = pikevm_which(&set, h);
            // With no time to compute a transition, a walk answers only
            // where every transition it needs was computed before.
            let mut none = Duration::ZERO;
            let mut out = PatternSet::new(set.pattern_len());
            let known = set.is_match_within(h, &mut none);
            let which_known = set.which_overlapping_matches_within(h, &mut out, &mut none);
            if known.is_none() || !which_known {
                stopped += 1;
            }
            if let Some(found) = known {
                assert_eq!(found, !want.is_empty(), "{:?}", String::from_utf8_lossy(h));
            }
            if which_known {
                assert_eq!(out.iter().collect::<Vec<_>>(), want);
            }
            // With time enough, both answer in full, and the transitions
            // they computed stay: the same input then needs no more.
            let mut ample = Duration::MAX;
            let mut out = PatternSet::new(set.pattern_len());
            assert_eq!(set.is_match_within(h, &mut ample), Some(!want.is_empty()));
            assert!(set.which_overlapping_matches_within(h, &mut out, &mut ample));
            assert_eq!(out.iter().collect::<Vec<_>>(), want);
            let mut out = PatternSet::new(set.pattern_len());
            assert_eq!(set.is_match_within(h, &mut none), Some(!want.is_empty()));
            assert!(set.which_overlapping_matches_within(h, &mut out, &mut none));
            assert_eq!(out.iter().collect::<Vec<_>>(), want);
            let same = std::array::from_fn(|_| h.as_slice());
            let each = set.is_match_each_within(same, &mut none);
            assert_eq!(each, [Some(!want.is_empty()); LANES]);
            matched += usize::from(!want.is_empty());
        }
        assert!(
            stopped > 100,
            "the zero budget stopped only {stopped} walks"
        );
        assert!(matched > 50, "the inputs barely match ({matched})");
    }

    #[test]
    fn long_values_walked_in_pieces_answer_as_the_pikevm() {
        // Values long enough to be walked in pieces, with matches planted
        // across each boundary between pieces, at the start and at the end,
        // and none at all; on a set whose cache is cleared now and then too.
        let small = GateSet::with_cache_capacity(&patterns(), 32 * 1024).expect("compiles");
        let large = GateSet::new(&patterns()).expect("compiles");
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        // Bytes that start partial matches of every pattern but rarely
        // finish one.
        const FILLER: &[u8] = b"axq wer 0f3 sel fro yz. ";
        let plants: [&[u8]; 5] = [
            b"aBcdb42",
            b"x12345y123z",
            b"select 1 from",
            b"qwer",
            b"ab99",
        ];
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in [1024usize, 1100, 2010, 4099, 9000] {
            let filler: Vec<u8> = (0..len)
                .map(|_| FILLER[(next() % FILLER.len() as u64) as usize])
                .collect();
            inputs.push(filler.clone());
            let pieces = (len / PIECES_MIN_PIECE).clamp(1, LANES);
            let piece_len = len.div_ceil(pieces);
            for plant in plants {
                for boundary in (1..pieces).map(|k| k * piece_len).chain([plant.len(), len]) {
                    for shift in [0, 1, plant.len() / 2, plant.len() - 1] {
                        let mut v = filler.clone();
                        let at = boundary
                            .saturating_sub(plant.len() - shift)
                            .min(len - plant.len());
                        v[at..at + plant.len()].copy_from_slice(plant);
                        inputs.push(v);
                    }
                }
            }
            // The whole value one hex run: `^…$` spans every piece.
            inputs.push((0..len).map(|i| b"0123456789abcdef"[i % 16]).collect());
        }
        let mut matched = 0;
        let mut unanswered = 0;
        for (set, may_give_up) in [(&large, false), (&small, true)] {
            for h in &inputs {
                let want = pikevm_answer(set, h);
                let mut ample = Duration::MAX;
                let got = set.is_match_within(h, &mut ample);
                // The small cache is cleared every few values: the lazy DFA
                // may give up (and say so), never answer wrongly.
                if got.is_none() && may_give_up {
                    unanswered += 1;
                    continue;
                }
                assert_eq!(
                    got,
                    Some(want),
                    "length {}: {:?}",
                    h.len(),
                    String::from_utf8_lossy(h)
                );
                matched += usize::from(want);
            }
        }
        // Several values at once share the lanes, short ones among them.
        let short: Vec<Vec<u8>> = vec![Vec::new(), b"ab99".to_vec(), b"sel fro".to_vec()];
        let mixed: Vec<&[u8]> = inputs
            .iter()
            .map(Vec::as_slice)
            .chain(short.iter().map(Vec::as_slice))
            .collect();
        for (set, may_give_up) in [(&large, false), (&small, true)] {
            for width in [2, 3, LANES, LANES + 1] {
                for group in mixed.windows(width).step_by(7) {
                    let mut ample = Duration::MAX;
                    let got = set.is_match_long_within(group, &mut ample);
                    for (i, h) in group.iter().enumerate() {
                        let want = (i < LANES).then(|| pikevm_answer(set, h));
                        let answer = got.get(i).copied().flatten();
                        if answer.is_none() && may_give_up && want.is_some() {
                            continue;
                        }
                        assert_eq!(
                            answer,
                            want,
                            "{i} of {width}: {}",
                            String::from_utf8_lossy(h)
                        );
                    }
                }
            }
        }
        assert!(
            matched > 100,
            "the planted matches barely match ({matched})"
        );
        assert!(
            matched < inputs.len() * 2,
            "every input matches: the filler does"
        );
        assert!(
            unanswered < inputs.len() / 2,
            "the small set rarely answers ({unanswered} of {})",
            inputs.len()
        );
        assert!(
            small.caches.get().dfa.clear_count() > 0,
            "the small cache was never cleared: the test does not test it ({unanswered})"
        );
    }

    #[test]
    fn checkpoints_double_then_keep_their_spacing() {
        let offsets: Vec<usize> = (0..PIECES_OVERLAP)
            .filter(|&o| checkpoint_index(o).is_some())
            .collect();
        assert_eq!(offsets.get(..7), Some(&[0, 8, 16, 32, 64, 128, 256][..]));
        assert_eq!(offsets.len(), CHECKPOINTS);
        for (i, &o) in offsets.iter().enumerate() {
            assert_eq!(checkpoint_index(o), Some(i));
            assert_eq!(
                offsets.get(i + 1).copied(),
                Some(checkpoint_after(o)).filter(|&n| n < PIECES_OVERLAP)
            );
        }
    }

    #[test]
    fn lanes_that_walk_on_past_their_pieces_answer_as_the_pikevm() {
        // A thread that waits for `!` from the first `#` lives on in a
        // lane until a later lane has seen a `#` too, and one anchored at
        // the start (until a `%`) in the first lane to the end.
        let with_gaps = [r"#[^!]*!", r"^[^%]*%", r"\bselect\b.{0,40}\bfrom\b"].map(String::from);
        let set = GateSet::new(&with_gaps).expect("compiles");
        let mut next = xorshift(0x1234_5678_9ABC_DEF1);
        const FILLER: &[u8] = b"axq wer 0f3 sel fro yz. ";
        let mut inputs: Vec<Vec<u8>> = Vec::new();
        for len in [1024usize, 3000, 4099] {
            let filler: Vec<u8> = (0..len)
                .map(|_| FILLER[(next() % FILLER.len() as u64) as usize])
                .collect();
            let marks = [0, 7, 300, len / 2, len - 300, len - 1];
            for &hash in &marks {
                for end in marks.iter().copied().chain([usize::MAX]) {
                    for (open, close) in [(b'#', b'!'), (b'#', b'%')] {
                        let mut v = filler.clone();
                        v[hash] = open;
                        if let Some(slot) = v.get_mut(end) {
                            *slot = close;
                        }
                        inputs.push(v);
                    }
                }
            }
        }
        let mut matched = 0;
        for h in &inputs {
            let want = pikevm_answer(&set, h);
            let mut ample = Duration::MAX;
            assert_eq!(set.is_match_within(h, &mut ample), Some(want));
            matched += usize::from(want);
        }
        for group in inputs.chunks(3) {
            let refs: Vec<&[u8]> = group.iter().map(Vec::as_slice).collect();
            let mut ample = Duration::MAX;
            let got = set.is_match_long_within(&refs, &mut ample);
            for (i, h) in group.iter().enumerate() {
                assert_eq!(got[i], Some(pikevm_answer(&set, h)));
            }
        }
        assert!(matched > inputs.len() / 4, "few match ({matched})");
        assert!(matched < inputs.len(), "all match");
    }

    #[test]
    fn a_set_with_few_start_bytes_answers_as_the_pikevm() {
        // CRS's request-header set: line breaks and a Shellshock prefix.
        // Values without `\n`, `\r` or `(` are answered without a walk.
        let patterns: Vec<String> = [r"[\n\r]", r"^\(\s*\)\s+\{", r"[\n\r]+(?:\s|location|host)"]
            .map(String::from)
            .to_vec();
        let set = GateSet::new(&patterns).expect("compiles");
        assert_eq!(set.start_bytes.as_deref(), Some(&b"\n\r("[..]));
        let inputs: Vec<&[u8]> = vec![
            b"",
            b"plain value",
            b"() { :; }; /bin/cat /etc/passwd",
            b" () { :; }",
            b"a\r\nlocation: x",
            b"a\nb",
            b"(not shellshock)",
            b"x\r",
        ];
        let each: Vec<bool> = inputs
            .chunks_exact(LANES)
            .flat_map(|batch| set.is_match_each(std::array::from_fn(|i| batch[i])))
            .collect();
        assert_eq!(each.len(), inputs.len());
        let mut budget = Duration::MAX;
        for (h, any) in inputs.iter().zip(each) {
            let want = pikevm_answer(&set, h);
            assert_eq!(set.is_match(h), want, "{:?}", String::from_utf8_lossy(h));
            assert_eq!(any, want, "{:?}", String::from_utf8_lossy(h));
            assert_eq!(set.is_match_within(h, &mut budget), Some(want));
            let mut which = PatternSet::new(set.pattern_len());
            set.which_overlapping_matches(h, &mut which);
            assert_eq!(!which.is_empty(), want);
        }
        assert!(
            set.is_match(b"() { :; }; echo"),
            "the Shellshock prefix matches"
        );
    }

    #[test]
    fn side_by_side_walk_answers_as_the_pikevm_even_when_the_cache_is_cleared() {
        // A cache this small is cleared every few values, in the middle of
        // side-by-side walks, and the lazy DFA gives up now and then.
        let small = GateSet::with_cache_capacity(&patterns(), 16 * 1024).expect("compiles");
        let large = GateSet::new(&patterns()).expect("compiles");
        let inputs = inputs();
        let mut matched = 0;
        for set in [&small, &large] {
            for batch in inputs.chunks_exact(LANES) {
                let each = set.is_match_each(std::array::from_fn(|i| batch[i].as_slice()));
                for (h, any) in batch.iter().zip(each) {
                    let want = pikevm_answer(set, h);
                    assert_eq!(
                        any,
                        want,
                        "is_match_each on {:?}",
                        String::from_utf8_lossy(h)
                    );
                    assert_eq!(
                        set.is_match(h),
                        want,
                        "is_match on {:?}",
                        String::from_utf8_lossy(h)
                    );
                    matched += usize::from(want);
                }
            }
        }
        assert!(matched > 100, "the inputs barely match ({matched})");
        assert!(
            small.caches.get().dfa.clear_count() > 0,
            "the small cache was never cleared: the test does not test it"
        );
    }
}
