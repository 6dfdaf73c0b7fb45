//! What a thread found in the values it has seen before.
//!
//! Why: most of a request's values recur from one exchange to the next. A
//! browser sends the same `User-Agent`, `Accept*`, `Sec-Fetch-*` and
//! `Host` headers with every request, a client its cookies, an API its
//! field names and usual values. Under CRS each value goes through many
//! transformation chains: a gate sweep takes it through every chain its
//! set's readers use and walks the set's lazy DFA over each distinct
//! result, and the rules no gate answers (`multiMatch` ones such as 930110,
//! `@detectSQLi`, negated and numeric ones) take it through their own
//! chains and operators. On a benign browser GET that is most of the
//! exchange. Both answers depend only on the engine's rules and the
//! value's bytes, so a thread remembers them for the next exchange:
//! - what a set's sweep found in a value of one of its targets (the
//!   patterns hit, usually none);
//! - that a rule link whose operator has a constant argument and reads no
//!   other state found nothing in a value (only misses: a hit records the
//!   value, its name and a message, and runs the rule's actions, so it is
//!   always evaluated).
//!
//! Exact, not a heuristic: an answer is kept under the engine it was
//! found with (each engine's plan has its own [`SweepChains`] id), the
//! question and the whole value, compared byte for byte; only complete
//! answers are kept (not sweeps the exchange's build-time budget cut short,
//! not an evaluation that met an operator error). A remembered answer is
//! the one a new evaluation would give; the CRS suite's gated-versus-per-rule
//! comparison (`crs_modes_agree`) runs with it.
//!
//! One entry per value, holding every answer found for it: a phase asks
//! several questions of each value (a GET's header values each go through
//! three sets' sweeps and a handful of rules), and an entry per question
//! meant hashing the value, probing and comparing its bytes for each (about
//! 240 lookups per GET). A value that stays put for the phase (borrowed
//! from the exchange) is looked up once per phase: [`ValueMemo::find`]
//! keeps where it found it under the value's address, and the phase's
//! later questions about it read that; a later phase or exchange that
//! finds the same bytes at that address (the allocator hands the same
//! places out again) only compares them with the entry's. Measured
//! (callgrind, PL1): GET 325.5 → 312 k instructions per exchange, JSON
//! POST 429 → 390 k, varied GET −3 %; with a quarter of the address table,
//! values that shared a place were looked up again and again (JSON +3 %).
//!
//! Kept from the second sight: an answer is kept only when the same
//! question about the same bytes came before ([`ValueMemo::admit`]), so
//! the values that never recur are not copied.
//!
//! Bounded: values up to [`VALUE_MAX`] bytes, entries up to the engine's
//! `EngineConfig::value_memory` bytes per thread, in two generations: new
//! answers go to the young one, and when it holds half the bound the old
//! one is dropped and the young one becomes old. An old entry used again
//! moves back to the young generation, so the values every exchange
//! carries stay while a stream of values never seen again (session ids,
//! search words) passes through; that stream costs one copy of each value
//! and never more memory. (Emptying the whole memo when full instead kept
//! a varied GET's constant headers out of it most of the time.)
//!
//! A transaction holds the thread's memo while one of its phases runs
//! ([`take`], [`give`]): phases run one at a time on a thread, while the
//! transactions of an async server interleave between them.
//!
//! [`SweepChains`]: super::SweepChains

use std::cell::RefCell;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

/// Longer values are not remembered: long values (bodies' free text,
/// uploaded content) rarely recur, and hashing them would cost a share of
/// the work it saves.
const VALUE_MAX: usize = 1024;

/// Bytes an entry costs beyond its value and answers (its slot, the index
/// entry, the boxes' headers and allocator overhead), for the bound.
const ENTRY_OVERHEAD: usize = 128;

/// Bytes a sweep's answer costs beyond its patterns.
const SWEEP_ANSWER_OVERHEAD: usize = 32;

/// What an answer is to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Question {
    /// Which patterns of set `set` a value of its target `target` hits
    /// after the target's readers' chains.
    Sweep {
        /// Index of the set in the engine's plan.
        set: usize,
        /// Index of the target among the set's (`GatePlan::set_targets`).
        target: usize,
    },
    /// Whether rule link `link` (`Rule::link_index`) finds nothing in a
    /// value. Only misses are kept.
    Misses {
        /// The link.
        link: usize,
    },
}

impl Question {
    /// A number that tells questions apart, mixed into a value's hash for
    /// [`ValueMemo::admit`].
    fn tag(self) -> u64 {
        match self {
            Question::Sweep { set, target } => ((set as u64) << 32 | target as u64) << 1,
            Question::Misses { link } => (link as u64) << 1 | 1,
        }
    }
}

/// Where [`ValueMemo::find`] found a value: its hash, and its entry if
/// the memo holds one. Valid until the memo is next changed
/// ([`ValueMemo::find`] may move an entry between generations,
/// [`ValueMemo::insert`] may drop entries); [`ValueMemo::insert`] looks the
/// value up again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Held {
    hash: u64,
    /// Index in `ValueMemo::slots`, or [`NO_SLOT`].
    slot: u32,
}

const NO_SLOT: u32 = u32::MAX;

/// A sweep's answer: the patterns of set `set` a value of target
/// `target` hit (usually none).
#[derive(Debug)]
struct SweepAnswer {
    set: u32,
    target: u32,
    hits: Box<[u32]>,
}

impl SweepAnswer {
    fn cost(hits: usize) -> usize {
        SWEEP_ANSWER_OVERHEAD + 4 * hits
    }
}

/// What adding the answer to `question` (`hits` patterns for a sweep) costs
/// an entry whose misses take `misses` words.
fn answer_cost(question: Question, hits: usize, misses: usize) -> usize {
    match question {
        Question::Misses { link } => 8 * (link / 64 + 1).saturating_sub(misses),
        Question::Sweep { .. } => SweepAnswer::cost(hits),
    }
}

/// One remembered value and every answer found for it.
#[derive(Debug, Default)]
struct Slot {
    hash: u64,
    value: Box<[u8]>,
    /// Of the young generation (else of the old one, or free).
    young: bool,
    /// One bit per rule link that found nothing in the value.
    misses: Vec<u64>,
    sweeps: Vec<SweepAnswer>,
}

impl Slot {
    /// What the entry counts for against the bound.
    fn cost(&self) -> usize {
        ENTRY_OVERHEAD
            + self.value.len()
            + 8 * self.misses.len()
            + self
                .sweeps
                .iter()
                .map(|a| SweepAnswer::cost(a.hits.len()))
                .sum::<usize>()
    }

    /// What the entry would cost with the answer to `question` added
    /// (`hits` patterns for a sweep).
    fn cost_with(&self, question: Question, hits: usize) -> usize {
        self.cost() + answer_cost(question, hits, self.misses.len())
    }

    fn answer(&self, question: Question) -> Option<&[u32]> {
        match question {
            Question::Misses { link } => {
                let word = self.misses.get(link / 64)?;
                (word & 1 << (link % 64) != 0).then_some(&[][..])
            }
            Question::Sweep { set, target } => self
                .sweeps
                .iter()
                .find(|a| a.set as usize == set && a.target as usize == target)
                .map(|a| &*a.hits),
        }
    }

    fn add(&mut self, question: Question, hits: &[u32]) {
        match question {
            Question::Misses { link } => {
                let word = link / 64;
                if self.misses.len() <= word {
                    self.misses.resize(word + 1, 0);
                }
                if let Some(w) = self.misses.get_mut(word) {
                    *w |= 1 << (link % 64);
                }
            }
            Question::Sweep { set, target } => {
                let (Ok(set), Ok(target)) = (u32::try_from(set), u32::try_from(target)) else {
                    return;
                };
                self.sweeps.push(SweepAnswer {
                    set,
                    target,
                    hits: hits.into(),
                });
            }
        }
    }

    /// Frees the slot's memory for reuse.
    fn clear(&mut self) {
        *self = Slot::default();
    }
}

/// Where a value that stays put for the phase was found
/// (see [`ValueMemo::find`]).
#[derive(Clone, Copy, Debug)]
struct Recent {
    address: usize,
    /// `ValueMemo::epoch` when it was found (0: never).
    epoch: u64,
    /// What it found: [`Held`]'s fields, beside the value's length, so
    /// that a place takes 32 bytes.
    hash: u64,
    len: u32,
    slot: u32,
}

impl Recent {
    fn is_of(&self, value: &[u8]) -> bool {
        self.address == value.as_ptr() as usize && self.len as usize == value.len()
    }

    fn held(&self) -> Held {
        Held {
            hash: self.hash,
            slot: self.slot,
        }
    }
}

/// Places in [`ValueMemo::recent`] (32 KiB). A GET has about fifty values
/// that stay put (see the module docs for 256 places).
const RECENT: usize = 1 << RECENT_BITS;
const RECENT_BITS: u32 = 10;

/// A thread's remembered answers (see the module docs).
#[derive(Debug, Default)]
pub(super) struct ValueMemo {
    /// The `SweepChains` id of the engine the entries were found with
    /// (0: none; the memo is then off).
    owner: u64,
    /// The engine's bound in bytes (0: off).
    limit: usize,
    /// The slot of each remembered value, by the value's hash. Two values
    /// with one hash share a place: the later one replaces the earlier, so
    /// a collision costs an evaluation, never a wrong answer, and crafted
    /// collisions cannot grow a chain.
    index: HashTable<u32>,
    /// The entries; free ones are listed in `free`.
    slots: Vec<Slot>,
    free: Vec<u32>,
    hasher: RandomState,
    /// Bytes of the young generation's entries.
    bytes: usize,
    /// One bit per key of an answer not kept yet, by the key's low bits
    /// (see [`ValueMemo::admit`]); empty until first used.
    seen: Vec<u64>,
    /// Bits set in `seen`.
    seen_count: usize,
    /// Where this phase's values that stay put were found, by address
    /// (direct-mapped; empty until first used).
    recent: Vec<Recent>,
    /// Changes whenever what `recent` says may no longer hold: a new
    /// phase (other values at those addresses), an entry dropped or
    /// replaced, a generation turned over.
    epoch: u64,
}

/// Bits of [`ValueMemo::seen`] (8 KiB per thread, beside the bound).
const SEEN_BITS: usize = 1 << 16;

/// `seen` starts over when this many of its bits are set, so that a
/// stream of new values does not leave every bit set (and every answer
/// admitted).
const SEEN_MAX: usize = SEEN_BITS / 4;

thread_local! {
    static MEMO: RefCell<ValueMemo> = RefCell::default();
}

/// The thread's memo, for the engine whose sweeps have id `owner` and
/// whose bound is `limit` bytes: emptied first if it holds another
/// engine's answers. Give it back with [`give`]. An engine without gates
/// (owner 0, as per-rule mode) or without a bound gets an empty memo that
/// remembers nothing and leaves the thread's as it is.
pub(super) fn take(owner: u64, limit: usize) -> ValueMemo {
    if owner == 0 || limit == 0 {
        return ValueMemo::default();
    }
    let mut memo = MEMO
        .try_with(|m| m.try_borrow_mut().map(|mut m| std::mem::take(&mut *m)).ok())
        .ok()
        .flatten()
        .unwrap_or_default();
    if memo.owner != owner || memo.limit != limit {
        memo.clear();
        memo.owner = owner;
        memo.limit = limit;
    }
    // Another phase: the addresses of the last one's values may hold
    // other values now.
    memo.epoch += 1;
    memo
}

/// Puts the memo back for the thread's next phase. (During thread exit it
/// is simply dropped.)
pub(super) fn give(memo: ValueMemo) {
    if memo.owner == 0 {
        return;
    }
    let _ = MEMO.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            *m = memo;
        }
    });
}

impl ValueMemo {
    /// Where the memo holds `value`, when its answers may be remembered
    /// (`None`: the memo is off, or the value too long). An entry of the
    /// old generation moves to the young one.
    ///
    /// `stays_put`: the value is borrowed from the exchange and its bytes
    /// stay where they are for the phase, so its address tells it apart:
    /// found once, it is not hashed and looked up again in this phase.
    pub(super) fn find(&mut self, value: &[u8], stays_put: bool) -> Option<Held> {
        if self.owner == 0 || self.limit == 0 || value.len() > VALUE_MAX {
            return None;
        }
        if stays_put {
            if let Some(r) = self.recent.get(recent_place(value)) {
                if r.epoch == self.epoch && r.is_of(value) {
                    return Some(r.held());
                }
            }
        }
        self.look_up(value, stays_put)
    }

    /// [`ValueMemo::find`] of a value not found at its address in this
    /// phase. Apart so that the lookups by address stay a few
    /// instructions.
    #[inline(never)]
    fn look_up(&mut self, value: &[u8], stays_put: bool) -> Option<Held> {
        let place = stays_put.then(|| {
            if self.recent.is_empty() {
                let never = Recent {
                    address: 0,
                    epoch: 0,
                    hash: 0,
                    len: 0,
                    slot: NO_SLOT,
                };
                self.recent = vec![never; RECENT];
            }
            recent_place(value)
        });
        // Found at this address in an earlier phase or exchange: the entry
        // is the value's if it still holds the same bytes (it may have been
        // dropped or replaced since, and the address may hold other bytes
        // now), which is cheaper to tell than hashing the value.
        let earlier = place
            .and_then(|p| self.recent.get(p))
            .filter(|r| r.is_of(value))
            .map(Recent::held)
            .filter(|held| {
                self.slots
                    .get(held.slot as usize)
                    .is_some_and(|e| e.hash == held.hash && *e.value == *value)
            });
        let held = match earlier {
            Some(held) => held,
            None => {
                let hash = self.hasher.hash_one(value);
                Held {
                    hash,
                    slot: self.slot_of(hash, value).unwrap_or(NO_SLOT),
                }
            }
        };
        if held.slot != NO_SLOT {
            self.make_young(held.slot, 0);
        }
        if let Some(r) = place.and_then(|p| self.recent.get_mut(p)) {
            *r = Recent {
                address: value.as_ptr() as usize,
                epoch: self.epoch,
                hash: held.hash,
                // Remembered values are at most `VALUE_MAX` long.
                len: u32::try_from(value.len()).unwrap_or(u32::MAX),
                slot: held.slot,
            };
        }
        Some(held)
    }

    /// The remembered answer to `question` about the value found as
    /// `held`: the patterns hit (none for a remembered miss).
    pub(super) fn answer(&self, held: Held, question: Question) -> Option<&[u32]> {
        self.slots.get(held.slot as usize)?.answer(question)
    }

    /// Whether the answer to `question` about the value found as `held`,
    /// which the memo does not hold, is worth keeping once found: only if
    /// the same question about the same bytes came up before (TinyLFU's
    /// doorkeeper: one bit per key, a shared bit admitting early, which
    /// costs nothing but a copy). Why: a varied GET's session id, search
    /// words and page number go through a hundred questions each, and
    /// keeping every answer (a copy of the value, a table slot, its share
    /// of the generation's clearing) cost about 6 % of the exchange for
    /// values most of which never come again. A value that recurs is kept
    /// from its second exchange on.
    pub(super) fn admit(&mut self, held: Held, question: Question) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![0; SEEN_BITS / 64];
        }
        let key = (held.hash ^ question.tag().wrapping_mul(0x9e37_79b9_7f4a_7c15))
            .wrapping_mul(0xff51_afd7_ed55_8ccd);
        let bit = (key >> 40) as usize % SEEN_BITS;
        let Some(word) = self.seen.get_mut(bit / 64) else {
            return false;
        };
        let mask = 1u64 << (bit % 64);
        if *word & mask != 0 {
            return true;
        }
        *word |= mask;
        self.seen_count += 1;
        if self.seen_count > SEEN_MAX {
            self.seen.fill(0);
            self.seen_count = 0;
        }
        false
    }

    /// Remembers the complete answer to `question` about `value` (found
    /// as `held`): the patterns hit (none for a miss).
    pub(super) fn insert(&mut self, held: Held, question: Question, value: &[u8], hits: &[u32]) {
        if self.owner == 0 || self.limit == 0 || value.len() > VALUE_MAX {
            return;
        }
        let slot = self.slot_of(held.hash, value);
        if let Some(s) = slot {
            if self
                .slots
                .get(s as usize)
                .and_then(|e| e.answer(question))
                .is_some()
            {
                return;
            }
        }
        let cost = match slot.and_then(|s| self.slots.get(s as usize)) {
            Some(e) => e.cost_with(question, hits.len()),
            None => ENTRY_OVERHEAD + value.len() + answer_cost(question, hits.len(), 0),
        };
        if cost > self.limit / 2 {
            return;
        }
        let s = match slot {
            Some(s) => {
                let grown = cost - self.slots.get(s as usize).map_or(0, Slot::cost);
                self.make_young(s, grown);
                s
            }
            None => {
                if self.bytes + cost > self.limit / 2 {
                    self.turn_over(None);
                }
                let s = self.new_slot(held.hash, value);
                self.bytes += cost;
                s
            }
        };
        if let Some(e) = self.slots.get_mut(s as usize) {
            e.add(question, hits);
        }
    }

    /// The slot holding `value` (hash `hash`).
    fn slot_of(&self, hash: u64, value: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash, |&s| {
                slots.get(s as usize).is_some_and(|e| e.hash == hash)
            })
            .copied()
            .filter(|&s| slots.get(s as usize).is_some_and(|e| *e.value == *value))
    }

    /// Puts slot `s` in the young generation, which gains `grown` bytes
    /// beyond what the slot costs now; the generations turn over first
    /// when the young one would pass half the bound.
    fn make_young(&mut self, s: u32, grown: usize) {
        let Some(e) = self.slots.get(s as usize) else {
            return;
        };
        if e.young && grown == 0 {
            return;
        }
        let (young, now) = (e.young, e.cost());
        let mut gain = if young { grown } else { now + grown };
        if self.bytes + gain > self.limit / 2 {
            self.turn_over(Some(s));
            gain = now + grown;
        }
        if let Some(e) = self.slots.get_mut(s as usize) {
            e.young = true;
        }
        self.bytes += gain;
    }

    /// Drops the old generation, but slot `keep`, and makes the young one
    /// old.
    fn turn_over(&mut self, keep: Option<u32>) {
        let (slots, free) = (&mut self.slots, &mut self.free);
        self.index.retain(|&mut s| {
            let Some(e) = slots.get_mut(s as usize) else {
                return false;
            };
            if e.young || keep == Some(s) {
                e.young = false;
                true
            } else {
                e.clear();
                free.push(s);
                false
            }
        });
        self.bytes = 0;
        self.epoch += 1;
    }

    /// A new young slot for `value` (hash `hash`), replacing the one that
    /// holds another value with the same hash.
    fn new_slot(&mut self, hash: u64, value: &[u8]) -> u32 {
        let entry = Slot {
            hash,
            value: value.into(),
            young: true,
            ..Slot::default()
        };
        let slots = &mut self.slots;
        match self.index.find_mut(hash, |&s| {
            slots.get(s as usize).is_some_and(|e| e.hash == hash)
        }) {
            Some(&mut s) => {
                if let Some(e) = slots.get_mut(s as usize) {
                    if e.young {
                        self.bytes = self.bytes.saturating_sub(e.cost());
                    }
                    *e = entry;
                }
                // Whoever found the value replaced here found it in `s`.
                self.epoch += 1;
                s
            }
            None => {
                let s = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        slots.push(Slot::default());
                        u32::try_from(slots.len() - 1).unwrap_or(NO_SLOT)
                    }
                };
                if let Some(e) = slots.get_mut(s as usize) {
                    *e = entry;
                }
                self.index
                    .insert_unique(hash, s, |&s| slots.get(s as usize).map_or(0, |e| e.hash));
                s
            }
        }
    }

    fn clear(&mut self) {
        self.index.clear();
        self.slots.clear();
        self.free.clear();
        self.bytes = 0;
        self.seen.fill(0);
        self.seen_count = 0;
        self.epoch += 1;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.index.len()
    }
}

/// The place in [`ValueMemo::recent`] of a value at `value`'s address.
fn recent_place(value: &[u8]) -> usize {
    let address = value.as_ptr() as usize as u64;
    // The product's top bits depend on all of the address's bits (its low
    // ones are the allocator's alignment).
    (address.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - RECENT_BITS)) as usize % RECENT
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo(limit: usize) -> ValueMemo {
        ValueMemo {
            owner: 1,
            limit,
            ..ValueMemo::default()
        }
    }

    const SWEEP: Question = Question::Sweep { set: 2, target: 3 };

    /// The remembered answer to `question` about `value`, looked up as a
    /// value that does not stay put.
    fn ask<'m>(m: &'m mut ValueMemo, question: Question, value: &[u8]) -> Option<&'m [u32]> {
        let held = m.find(value, false).expect("short value");
        m.answer(held, question)
    }

    fn keep(m: &mut ValueMemo, question: Question, value: &[u8], hits: &[u32]) {
        let held = m.find(value, false).expect("short value");
        m.insert(held, question, value, hits);
    }

    #[test]
    fn an_answer_is_found_only_for_the_same_question_and_bytes() {
        let mut m = memo(1 << 20);
        keep(&mut m, SWEEP, b"gzip, deflate", &[7]);
        keep(&mut m, Question::Misses { link: 70 }, b"gzip, deflate", &[]);
        assert_eq!(ask(&mut m, SWEEP, b"gzip, deflate"), Some(&[7u32][..]));
        assert_eq!(
            ask(&mut m, Question::Misses { link: 70 }, b"gzip, deflate"),
            Some(&[][..])
        );
        for (question, value) in [
            (Question::Sweep { set: 1, target: 3 }, &b"gzip, deflate"[..]),
            (Question::Sweep { set: 2, target: 4 }, b"gzip, deflate"),
            (Question::Misses { link: 2 }, b"gzip, deflate"),
            (Question::Misses { link: 6 }, b"gzip, deflate"),
            (Question::Misses { link: 134 }, b"gzip, deflate"),
            (SWEEP, b"gzip, deflatE"),
            (Question::Misses { link: 70 }, b"gzip, deflatE"),
        ] {
            assert_eq!(ask(&mut m, question, value), None, "{question:?}");
        }
        // Even where the hashes were to collide: the entry holds the value
        // it answers for, and a value with the same hash replaces it.
        let held = m.find(b"gzip, deflate", false).expect("short value");
        let other = b"br";
        assert_eq!(m.slot_of(held.hash, other), None);
        m.insert(held, SWEEP, other, &[1]);
        assert_eq!(m.len(), 1);
        assert_eq!(m.slot_of(held.hash, b"gzip, deflate"), None);
        assert!(m.slot_of(held.hash, other).is_some());
    }

    #[test]
    fn long_values_and_engines_without_gates_are_not_remembered() {
        let mut m = memo(1 << 20);
        assert!(m.find(&[b'a'; VALUE_MAX], false).is_some());
        assert!(m.find(&[b'a'; VALUE_MAX + 1], false).is_none());
        assert!(ValueMemo::default().find(b"a", false).is_none());
        assert!(memo(0).find(b"a", false).is_none());
    }

    #[test]
    fn a_value_that_stays_put_is_looked_up_once_a_phase_by_its_address() {
        let mut m = take(7, 1 << 20);
        let value = b"Mozilla/5.0 (X11; Linux x86_64)".to_vec();
        let first = m.find(&value, true).expect("short value");
        assert_eq!(first.slot, NO_SLOT);
        m.insert(first, SWEEP, &value, &[]);
        // What the phase found first stands for the rest of it: the answer
        // kept since is read from the next phase on.
        assert_eq!(m.find(&value, true), Some(first));
        assert_eq!(m.answer(first, SWEEP), None);
        give(m);
        let mut m = take(7, 1 << 20);
        let held = m.find(&value, true).expect("short value");
        assert_ne!(held.slot, NO_SLOT);
        assert_eq!(m.answer(held, SWEEP), Some(&[][..]));
        // The same bytes at another address are looked up on their own.
        let other = b"Mozilla/5.0 (X11; Linux x86_64)".to_vec();
        assert_eq!(m.find(&other, true), Some(held));
        // An entry replaced in the phase is not read where it was.
        m.insert(held, Question::Misses { link: 1 }, b"something else", &[]);
        let again = m.find(&value, true).expect("short value");
        assert_eq!(again.slot, NO_SLOT);
        // Nor is what was found at an address read for a shorter value
        // there.
        m.epoch += 1;
        m.insert(again, SWEEP, &value, &[]);
        let held = m.find(&value, true).expect("short value");
        assert_ne!(held.slot, NO_SLOT);
        let shorter = m.find(&value[..7], true).expect("short value");
        assert_eq!(shorter.slot, NO_SLOT);
        give(m);
        let m = take(8, 1 << 20);
        give(m);
    }

    #[test]
    fn an_entry_dropped_in_the_phase_is_not_read_where_it_was_found() {
        // Two entries per generation.
        let per_entry = ENTRY_OVERHEAD + 8 + SweepAnswer::cost(1);
        let mut m = memo(4 * per_entry);
        let a = u64::MAX.to_le_bytes();
        let held = m.find(&a, true).expect("short value");
        m.insert(held, SWEEP, &a, &[1]);
        // The next phase (as `take` starts it) finds it at its address.
        m.epoch += 1;
        let held = m.find(&a, true).expect("short value");
        assert_eq!(m.answer(held, SWEEP), Some(&[1u32][..]));
        // New values turn the generations over twice: `a`'s entry goes,
        // and another value takes its slot.
        for i in 2u64..6 {
            let v = i.to_le_bytes();
            let held = m.find(&v, false).expect("short value");
            m.insert(held, SWEEP, &v, &[9]);
        }
        assert!(m.slots.iter().all(|e| *e.value != a));
        let held = m.find(&a, true).expect("short value");
        assert_eq!(m.answer(held, SWEEP), None);
    }

    fn remember(m: &mut ValueMemo, i: u64) {
        keep(m, SWEEP, &i.to_le_bytes(), &[]);
    }

    fn remembers(m: &mut ValueMemo, i: u64) -> bool {
        ask(m, SWEEP, &i.to_le_bytes()).is_some()
    }

    #[test]
    fn values_used_again_stay_while_a_stream_of_new_ones_passes_within_the_bound() {
        // Room for ten entries, five per generation.
        let per_entry = ENTRY_OVERHEAD + 8 + SweepAnswer::cost(0);
        let limit = 10 * per_entry;
        let mut m = memo(limit);
        remember(&mut m, 0);
        for i in 1u64..100 {
            remember(&mut m, i);
            assert!(m.bytes <= limit / 2, "{} bytes after {i}", m.bytes);
            assert!(m.len() <= 10);
            // Value 0 comes with every exchange.
            assert!(remembers(&mut m, 0), "after {i}");
        }
        assert!(remembers(&mut m, 99));
        assert!(!remembers(&mut m, 1));
        // Freed slots are used again.
        assert!(m.slots.len() <= 11, "{} slots", m.slots.len());
    }

    #[test]
    fn answers_added_to_a_value_count_against_the_bound() {
        let limit = 4 * (ENTRY_OVERHEAD + 8 + 8 * 16);
        let mut m = memo(limit);
        for link in 0..1024 {
            keep(&mut m, Question::Misses { link }, b"12345678", &[]);
            assert!(m.bytes <= limit / 2, "{} bytes after {link}", m.bytes);
        }
        assert!(ask(&mut m, Question::Misses { link: 1023 }, b"12345678").is_some());
        // Sweeps' answers and their patterns count too: an entry that
        // would pass half the bound takes no more answers.
        let mut m = memo(limit);
        for set in 0..100 {
            keep(&mut m, Question::Sweep { set, target: 0 }, b"x", &[1, 2, 3]);
            assert!(m.bytes <= limit / 2, "{} bytes after {set}", m.bytes);
        }
        let sweep = |set| Question::Sweep { set, target: 0 };
        assert_eq!(ask(&mut m, sweep(0), b"x"), Some(&[1, 2, 3][..]));
        assert_eq!(ask(&mut m, sweep(99), b"x"), None);
        assert_eq!(
            m.bytes,
            m.slots
                .iter()
                .filter(|e| e.young)
                .map(Slot::cost)
                .sum::<usize>()
        );
    }

    #[test]
    fn an_answer_is_worth_keeping_from_its_second_sight_and_the_marks_start_over() {
        let mut m = memo(1 << 20);
        let k = m.find(b"session=1f2e", false).expect("short value");
        assert!(!m.admit(k, SWEEP));
        assert!(m.admit(k, SWEEP));
        assert!(m.admit(k, SWEEP));
        // Another question about the same bytes is its own first sight.
        assert!(!m.admit(k, Question::Misses { link: 5 }));
        // A stream of new keys: once a quarter of the bits are set, they
        // all start over (the key above among them).
        let mut i = 0u64;
        while m.seen_count > 0 {
            let held = m.find(&i.to_le_bytes(), false).expect("short value");
            m.admit(held, SWEEP);
            i += 1;
            assert!(m.seen_count <= SEEN_MAX);
        }
        assert!(!m.admit(k, SWEEP));
    }

    #[test]
    fn another_engine_finds_the_memo_empty_and_one_without_gates_leaves_it() {
        let mut m = take(1, 1 << 20);
        keep(&mut m, SWEEP, b"x", &[]);
        give(m);
        let mut m = take(1, 1 << 20);
        assert!(ask(&mut m, SWEEP, b"x").is_some());
        give(m);
        // An engine without gates, or without memory, leaves it alone.
        for (owner, limit) in [(0, 1 << 20), (1, 0)] {
            let m = take(owner, limit);
            assert_eq!(m.len(), 0);
            give(m);
        }
        let mut m = take(1, 1 << 20);
        assert!(ask(&mut m, SWEEP, b"x").is_some());
        give(m);
        let m = take(2, 1 << 20);
        assert_eq!(m.len(), 0);
        give(m);
    }
}
