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
//! Exact, not a heuristic: an entry is keyed by the engine it was found
//! with (each engine's plan has its own [`SweepChains`] id), the question
//! and the whole value, compared byte for byte; only complete answers are
//! kept (not sweeps the exchange's build-time budget cut short, not an
//! evaluation that met an operator error). A remembered answer is the one
//! a new evaluation would give; the CRS suite's gated-versus-per-rule
//! comparison (`crs_modes_agree`) runs with it.
//!
//! Kept from the second sight: an answer is kept only when the same
//! question about the same bytes came before ([`ValueMemo::admit`]), so
//! the values that never recur are not copied.
//!
//! Bounded: values up to [`VALUE_MAX`] bytes, entries up to the engine's
//! `EngineConfig::value_memory` bytes per thread, in two generations: new
//! answers go to the young one, and when it holds half the bound the old
//! one is dropped and the young one becomes old. An old answer used again
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
use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

/// Longer values are not remembered: long values (bodies' free text,
/// uploaded content) rarely recur, and hashing them would cost a share of
/// the work it saves.
const VALUE_MAX: usize = 1024;

/// Bytes an entry costs beyond its value and patterns (the table slot, the
/// two boxes' headers and allocator overhead), for the bound.
const ENTRY_OVERHEAD: usize = 96;

/// What an answer is to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
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

/// One remembered answer.
#[derive(Debug)]
struct Entry {
    question: Question,
    value: Box<[u8]>,
    /// The patterns the value hit (a sweep's answer; usually none).
    hits: Box<[u32]>,
}

impl Entry {
    /// What the entry counts for against the bound.
    fn cost(&self) -> usize {
        ENTRY_OVERHEAD + self.value.len() + 4 * self.hits.len()
    }
}

/// A thread's remembered answers (see the module docs).
#[derive(Debug, Default)]
pub(super) struct ValueMemo {
    /// The `SweepChains` id of the engine the entries were found with
    /// (0: none; the memo is then off).
    owner: u64,
    /// The engine's bound in bytes (0: off).
    limit: usize,
    /// The young generation, by the hash of (question, value). Two
    /// values with one hash share a slot: the later one replaces the
    /// earlier, so a collision costs an evaluation, never a wrong answer,
    /// and crafted collisions cannot grow a chain.
    young: HashMap<u64, Entry, RandomState>,
    /// The old generation, likewise.
    old: HashMap<u64, Entry, RandomState>,
    hasher: RandomState,
    /// Bytes of the young generation's entries.
    bytes: usize,
    /// One bit per key of an answer not kept yet, by the key's low bits
    /// (see [`ValueMemo::admit`]); empty until first used.
    seen: Vec<u64>,
    /// Bits set in `seen`.
    seen_count: usize,
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
    /// The key of the answer to `question` for `value`, when such an
    /// answer may be remembered.
    pub(super) fn key(&self, question: Question, value: &[u8]) -> Option<u64> {
        if self.owner == 0 || self.limit == 0 || value.len() > VALUE_MAX {
            return None;
        }
        Some(self.hasher.hash_one((question, value)))
    }

    /// The patterns of the remembered answer to `question` for `value`
    /// (empty for a remembered miss), and whether the answer is of the old
    /// generation (then pass it to [`ValueMemo::revive`] once done with
    /// it).
    pub(super) fn get(&self, key: u64, question: Question, value: &[u8]) -> Option<(&[u32], bool)> {
        let same = |e: &&Entry| e.question == question && *e.value == *value;
        if let Some(e) = self.young.get(&key).filter(same) {
            return Some((&e.hits, false));
        }
        self.old.get(&key).filter(same).map(|e| (&*e.hits, true))
    }

    /// Whether the answer under `key`, which the memo does not hold, is
    /// worth keeping once found: only if the same question about the same
    /// bytes came up before (TinyLFU's doorkeeper: one bit per key, a
    /// shared bit admitting early, which costs nothing but a copy). Why: a varied
    /// GET's session id, search words and page number go through a
    /// hundred questions each, and keeping every answer (a copy of the
    /// value, a table slot, its share of the generation's clearing) cost
    /// about 6 % of the exchange for values most of which never come
    /// again. A value that recurs is kept from its second exchange on.
    pub(super) fn admit(&mut self, key: u64) -> bool {
        if self.seen.is_empty() {
            self.seen = vec![0; SEEN_BITS / 64];
        }
        // The key is a hash: its low bits are as good as any.
        let bit = (key as usize) % SEEN_BITS;
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

    /// Moves the old generation's answer under `key`, used again, back to
    /// the young one.
    pub(super) fn revive(&mut self, key: u64) {
        if let Some(entry) = self.old.remove(&key) {
            self.keep(key, entry);
        }
    }

    /// Remembers the complete answer to `question` for `value`: the
    /// patterns hit (none for a miss).
    pub(super) fn insert(
        &mut self,
        key: u64,
        question: Question,
        value: Box<[u8]>,
        hits: Box<[u32]>,
    ) {
        self.keep(
            key,
            Entry {
                question,
                value,
                hits,
            },
        );
    }

    /// Adds `entry` to the young generation, which becomes the old one
    /// when it would hold more than half the bound.
    fn keep(&mut self, key: u64, entry: Entry) {
        let cost = entry.cost();
        if cost > self.limit / 2 {
            return;
        }
        if self.bytes + cost > self.limit / 2 {
            // The old generation's table is reused for the new young one.
            std::mem::swap(&mut self.young, &mut self.old);
            self.young.clear();
            self.bytes = 0;
        }
        if let Some(replaced) = self.young.insert(key, entry) {
            self.bytes -= replaced.cost();
        }
        self.bytes += cost;
    }

    fn clear(&mut self) {
        self.young.clear();
        self.old.clear();
        self.bytes = 0;
        self.seen.fill(0);
        self.seen_count = 0;
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
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

    #[test]
    fn an_answer_is_found_only_for_the_same_question_and_bytes() {
        let mut m = memo(1 << 20);
        let k = m.key(SWEEP, b"gzip, deflate").expect("short value");
        m.insert(k, SWEEP, b"gzip, deflate".as_slice().into(), [7].into());
        assert_eq!(
            m.get(k, SWEEP, b"gzip, deflate"),
            Some((&[7u32][..], false))
        );
        for (question, value) in [
            (Question::Sweep { set: 1, target: 3 }, &b"gzip, deflate"[..]),
            (Question::Sweep { set: 2, target: 4 }, b"gzip, deflate"),
            (Question::Misses { link: 2 }, b"gzip, deflate"),
            (SWEEP, b"gzip, deflatE"),
        ] {
            let other = m.key(question, value).expect("short value");
            assert_eq!(m.get(other, question, value), None);
            // Even where the hashes were to collide: the entry says whose
            // answer it is.
            assert_eq!(m.get(k, question, value), None);
        }
    }

    #[test]
    fn long_values_and_engines_without_gates_are_not_remembered() {
        let m = memo(1 << 20);
        assert!(m.key(SWEEP, &[b'a'; VALUE_MAX]).is_some());
        assert!(m.key(SWEEP, &[b'a'; VALUE_MAX + 1]).is_none());
        assert!(ValueMemo::default().key(SWEEP, b"a").is_none());
        assert!(memo(0).key(SWEEP, b"a").is_none());
    }

    fn remember(m: &mut ValueMemo, i: u64) {
        let value = i.to_le_bytes();
        let k = m.key(SWEEP, &value).expect("short value");
        m.insert(k, SWEEP, value.as_slice().into(), Box::default());
    }

    fn remembers(m: &mut ValueMemo, i: u64) -> bool {
        let value = i.to_le_bytes();
        let k = m.key(SWEEP, &value).expect("short value");
        let Some((_, old)) = m.get(k, SWEEP, &value) else {
            return false;
        };
        if old {
            m.revive(k);
        }
        true
    }

    #[test]
    fn values_used_again_stay_while_a_stream_of_new_ones_passes_within_the_bound() {
        // Room for ten entries, five per generation.
        let limit = 10 * (ENTRY_OVERHEAD + 8);
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
    }

    #[test]
    fn an_answer_is_worth_keeping_from_its_second_sight_and_the_marks_start_over() {
        let mut m = memo(1 << 20);
        let k = m.key(SWEEP, b"session=1f2e").expect("short value");
        assert!(!m.admit(k));
        assert!(m.admit(k));
        assert!(m.admit(k));
        // A stream of new keys: once a quarter of the bits are set, they
        // all start over (the key above among them).
        let mut i = 0u64;
        while m.seen_count > 0 {
            m.admit(i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
            i += 1;
            assert!(m.seen_count <= SEEN_MAX);
        }
        assert!(!m.admit(k));
    }

    #[test]
    fn another_engine_finds_the_memo_empty_and_one_without_gates_leaves_it() {
        let mut m = take(1, 1 << 20);
        let k = m.key(SWEEP, b"x").expect("short value");
        m.insert(k, SWEEP, b"x".as_slice().into(), Box::default());
        give(m);
        let m = take(1, 1 << 20);
        assert!(m.get(k, SWEEP, b"x").is_some());
        give(m);
        // An engine without gates, or without memory, leaves it alone.
        for (owner, limit) in [(0, 1 << 20), (1, 0)] {
            let m = take(owner, limit);
            assert_eq!(m.len(), 0);
            give(m);
        }
        let m = take(1, 1 << 20);
        assert!(m.get(k, SWEEP, b"x").is_some());
        give(m);
        let m = take(2, 1 << 20);
        assert_eq!(m.len(), 0);
        give(m);
    }
}
