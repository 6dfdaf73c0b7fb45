//! What a thread's gate sweeps found in the values it has seen before.
//!
//! Why: most of a request's values recur from one exchange to the next. A
//! browser sends the same `User-Agent`, `Accept*`, `Sec-Fetch-*` and
//! `Host` headers with every request, a client its cookies, a site its
//! usual parameters. A sweep takes each value through every transformation
//! chain its set's readers use and walks the set's lazy DFA over each
//! distinct result: on a benign browser GET under CRS, about a third of
//! the exchange's instructions. What a sweep finds in a value (the
//! patterns that hit it) depends only on the engine's gates and the
//! value's bytes, so a thread remembers it and the next sweep of the same
//! bytes takes the answer instead.
//!
//! Exact, not a heuristic: an entry is keyed by the gates it was found
//! with (each engine's plan has its own [`SweepChains`] id), the set, the
//! target and the whole value, compared byte for byte; only complete
//! answers are kept (not those the exchange's build-time budget cut
//! short, nor values without a stable address). A remembered answer is
//! the one a new sweep would give.
//!
//! Bounded: values up to [`VALUE_MAX`] bytes, entries up to the engine's
//! `EngineConfig::gate_memory` bytes per thread, in two generations: new
//! answers go to the young one, and when it holds half the bound the old
//! one is dropped and the young one becomes old. An old answer used again
//! moves back to the young generation, so the values every exchange
//! carries stay while a stream of values never seen again (session ids,
//! search words) passes through; that stream costs one copy of each value
//! and never more memory. (Emptying the whole memo when full instead kept
//! a varied GET's constant headers out of it most of the time.)
//!
//! [`SweepChains`]: super::SweepChains

use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;

/// Longer values are not remembered: long values (bodies' free text,
/// uploaded content) rarely recur, and hashing them would cost a share of
/// the walk it saves.
pub(super) const VALUE_MAX: usize = 1024;

/// Bytes an entry costs beyond its value and patterns (the table slot, the
/// two boxes' headers and allocator overhead), for the bound.
const ENTRY_OVERHEAD: usize = 96;

/// One remembered sweep answer.
#[derive(Debug)]
struct Entry {
    set: u32,
    target: u32,
    value: Box<[u8]>,
    /// The patterns of the set the value hit for the target's readers
    /// (usually none).
    hits: Box<[u32]>,
}

/// A thread's remembered sweep answers (see the module docs).
#[derive(Debug, Default)]
pub(super) struct SweepMemo {
    /// The `SweepChains` id of the engine the entries were found with
    /// (0: none; the memo is then off).
    owner: u64,
    /// The engine's bound in bytes (0: off).
    limit: usize,
    /// The young generation, by the hash of (set, target, value). Two
    /// values with one hash share a slot: the later one replaces the
    /// earlier, so a collision costs a sweep, never a wrong answer, and
    /// crafted collisions cannot grow a chain.
    young: HashMap<u64, Entry, RandomState>,
    /// The old generation, likewise.
    old: HashMap<u64, Entry, RandomState>,
    hasher: RandomState,
    /// Bytes of the young generation's entries.
    bytes: usize,
}

thread_local! {
    static MEMO: RefCell<SweepMemo> = RefCell::default();
}

/// The thread's memo, for the engine whose sweeps have id `owner` and
/// whose bound is `limit` bytes: emptied first if it holds another
/// engine's answers. Give it back with [`give`].
pub(super) fn take(owner: u64, limit: usize) -> SweepMemo {
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

/// Puts the memo back for the thread's next sweep. (During thread exit it
/// is simply dropped.)
pub(super) fn give(memo: SweepMemo) {
    let _ = MEMO.try_with(|m| {
        if let Ok(mut m) = m.try_borrow_mut() {
            *m = memo;
        }
    });
}

impl SweepMemo {
    /// The key of `value` of target `target` of set `set`, when such a
    /// value may be remembered.
    pub(super) fn key(&self, set: usize, target: usize, value: &[u8]) -> Option<u64> {
        if self.owner == 0 || self.limit == 0 || value.len() > VALUE_MAX {
            return None;
        }
        Some(self.hasher.hash_one((set, target, value)))
    }

    /// The patterns a sweep found `value` hits, if this thread remembers,
    /// and whether the answer is of the old generation (then pass it to
    /// [`SweepMemo::revive`] once done with it).
    pub(super) fn get(
        &self,
        key: u64,
        set: usize,
        target: usize,
        value: &[u8],
    ) -> Option<(&[u32], bool)> {
        let same =
            |e: &&Entry| e.set as usize == set && e.target as usize == target && *e.value == *value;
        if let Some(e) = self.young.get(&key).filter(same) {
            return Some((&e.hits, false));
        }
        self.old.get(&key).filter(same).map(|e| (&*e.hits, true))
    }

    /// Moves the old generation's answer under `key`, used again, back to
    /// the young one.
    pub(super) fn revive(&mut self, key: u64) {
        if let Some(entry) = self.old.remove(&key) {
            self.keep(key, entry);
        }
    }

    /// Remembers that `value` hits `hits` (a complete answer).
    pub(super) fn insert(
        &mut self,
        key: u64,
        set: usize,
        target: usize,
        value: Box<[u8]>,
        hits: Box<[u32]>,
    ) {
        let (Ok(set), Ok(target)) = (u32::try_from(set), u32::try_from(target)) else {
            return;
        };
        self.keep(
            key,
            Entry {
                set,
                target,
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
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.young.len() + self.old.len()
    }
}

impl Entry {
    /// What the entry counts for against the bound.
    fn cost(&self) -> usize {
        ENTRY_OVERHEAD + self.value.len() + 4 * self.hits.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memo(limit: usize) -> SweepMemo {
        SweepMemo {
            owner: 1,
            limit,
            ..SweepMemo::default()
        }
    }

    #[test]
    fn an_answer_is_found_only_for_the_same_set_target_and_bytes() {
        let mut m = memo(1 << 20);
        let k = m.key(2, 3, b"gzip, deflate").expect("short value");
        m.insert(k, 2, 3, b"gzip, deflate".as_slice().into(), [7].into());
        assert_eq!(m.get(k, 2, 3, b"gzip, deflate"), Some((&[7u32][..], false)));
        for (set, target, value) in [
            (1, 3, &b"gzip, deflate"[..]),
            (2, 4, b"gzip, deflate"),
            (2, 3, b"gzip, deflatE"),
        ] {
            let other = m.key(set, target, value).expect("short value");
            assert_eq!(m.get(other, set, target, value), None);
            // Even where the hashes were to collide: the entry says whose
            // answer it is.
            assert_eq!(m.get(k, set, target, value), None);
        }
    }

    #[test]
    fn long_values_and_engines_without_sweeps_are_not_remembered() {
        let m = memo(1 << 20);
        assert!(m.key(0, 0, &[b'a'; VALUE_MAX]).is_some());
        assert!(m.key(0, 0, &[b'a'; VALUE_MAX + 1]).is_none());
        assert!(SweepMemo::default().key(0, 0, b"a").is_none());
        assert!(memo(0).key(0, 0, b"a").is_none());
    }

    fn remember(m: &mut SweepMemo, i: u64) {
        let value = i.to_le_bytes();
        let k = m.key(0, 0, &value).expect("short value");
        m.insert(k, 0, 0, value.as_slice().into(), Box::default());
    }

    fn remembers(m: &mut SweepMemo, i: u64) -> bool {
        let value = i.to_le_bytes();
        let k = m.key(0, 0, &value).expect("short value");
        let Some((_, old)) = m.get(k, 0, 0, &value) else {
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
    fn another_engine_finds_the_memo_empty() {
        let mut m = take(1, 1 << 20);
        let k = m.key(0, 0, b"x").expect("short value");
        m.insert(k, 0, 0, b"x".as_slice().into(), Box::default());
        give(m);
        let m = take(1, 1 << 20);
        assert!(m.get(k, 0, 0, b"x").is_some());
        give(m);
        let m = take(2, 1 << 20);
        assert_eq!(m.len(), 0);
        give(m);
    }
}
