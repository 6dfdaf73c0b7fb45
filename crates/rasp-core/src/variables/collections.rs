//! Mutable collections: TX, ENV, and the persistent-style IP, GLOBAL,
//! SESSION, USER and RESOURCE collections (in-memory, per transaction
//! unless the engine's store backs them).

use std::borrow::Cow;
use std::hash::BuildHasher;

use foldhash::fast::RandomState;
use hashbrown::HashTable;

use crs_compiler::ir::variable::Variable;

use crate::variables::Pair;

/// A mutable collection with case-insensitive keys (stored lower-cased, as
/// ModSecurity's APR tables compare them case-insensitively). Entries keep
/// their insertion order (for `TX:/regex/` and logs); an index makes the
/// frequent `TX:name` lookups O(1): CRS keeps ~150 TX variables and reads
/// them in most rules.
#[derive(Clone, Debug, Default)]
pub(crate) struct Collection {
    entries: Vec<Pair>,
    /// Positions in `entries`, hashed by member name.
    index: HashTable<usize>,
    hasher: RandomState,
    /// Emptied members of an earlier transaction (see
    /// [`Collection::clear`]), next one last: a new member takes their
    /// buffers instead of allocating two. CRS creates about 90 TX members
    /// per request and grows as many values; that was a fifth of the
    /// exchange's allocations.
    spare: Vec<Pair>,
    /// Changes whenever a member is added or removed: a position found
    /// before stays right until then (see `shortcut`, which keeps the
    /// positions of the TX members it reads).
    generation: u64,
    /// Position + 1 of the members named `0`–`9` (0: none), which are
    /// found without hashing: every capturing match writes `TX.0`, and
    /// the rule's macros read it back (CRS's 920450 writes and reads it
    /// three times per request header).
    digits: [u32; 10],
    /// The members filled in from a frozen collection (see
    /// [`Collection::fill_from`]).
    base: Base,
}

/// The first members of a collection when they came from a frozen
/// collection, followed so that the next fill from the same frozen
/// collection restores only the values the transaction wrote: CRS's TX
/// prelude leaves ~45 members, and copying all of them into every
/// transaction was 2 % of a benign GET, while a request changes a few.
#[derive(Clone, Debug, Default)]
struct Base {
    /// The frozen collection's [`FrozenCollection::id`] (0: none).
    frozen: u64,
    /// How many of the first members are the frozen ones, in their
    /// places (0 once a removal or a replacement moved them).
    len: usize,
    /// A bit per base member whose value was written since the fill.
    dirty: Vec<u64>,
    /// Between [`Collection::clear`] and the next fill: the base members,
    /// set aside with the values the transaction left them.
    kept: Vec<Pair>,
}

/// Frozen collections' ids, from 1.
static FROZEN_IDS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// A collection's members, kept to refill empty collections with
/// (see `transaction::prelude`), each with its hash under the kept hasher,
/// so a refill hashes nothing.
#[derive(Debug, Default)]
pub(crate) struct FrozenCollection {
    /// Unique among the process's frozen collections: a collection
    /// refilled from the one it was last filled from restores only what
    /// changed (see [`Base`]).
    id: u64,
    members: Vec<Pair>,
    /// Each member's hash under `hasher`, to index them without hashing.
    hashes: Vec<u64>,
    digits: [u32; 10],
    hasher: RandomState,
}

/// Buffers of emptied members up to this capacity are kept for reuse
/// (TX names and values are short; a huge one is not kept around).
const SPARE_BUFFER: usize = 256;

impl Collection {
    /// An empty collection with room for `n` members.
    pub(crate) fn with_capacity(n: usize) -> Collection {
        Collection {
            entries: Vec::with_capacity(n),
            index: HashTable::with_capacity(n),
            hasher: RandomState::default(),
            spare: Vec::new(),
            generation: 0,
            digits: [0; 10],
            base: Base::default(),
        }
    }

    /// Removes every member, keeping the capacity up to `capacity`, and up
    /// to `capacity` of the members' buffers for the next members (the
    /// same requests create the same members in the same order, so each
    /// new member gets the buffers its predecessor grew).
    ///
    /// Members filled in from a frozen collection, still in their places,
    /// are set aside for the next fill from it instead (see [`Base`]).
    pub(crate) fn clear(&mut self, capacity: usize) {
        let base = &mut self.base;
        // Set aside by an earlier clear and not filled since.
        let room = capacity.saturating_sub(self.spare.len());
        Pair::keep_buffers(base.kept.drain(..), &mut self.spare, room, SPARE_BUFFER);
        let kept = base.len.min(self.entries.len());
        let room = capacity.saturating_sub(self.spare.len());
        Pair::keep_buffers(
            self.entries.drain(kept..),
            &mut self.spare,
            room,
            SPARE_BUFFER,
        );
        // What is left are the base members: `kept` takes them, and the
        // collection the empty list `kept` was.
        std::mem::swap(&mut self.entries, &mut base.kept);
        base.len = 0;
        // A value the transaction wrote past the spare size is not kept
        // (the next fill writes the frozen value again).
        for i in written(&base.dirty) {
            if let Some(member) = base.kept.get_mut(i) {
                if member.value.capacity() > SPARE_BUFFER {
                    member.value = Vec::new();
                }
            }
        }
        self.entries.shrink_to(capacity);
        self.generation = self.generation.wrapping_add(1);
        self.digits = [0; 10];
        self.index.clear();
        // The table is empty: nothing is rehashed.
        self.index.shrink_to(capacity, |_| 0);
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The members as they are now, to [`Collection::fill_from`] others.
    pub(crate) fn freeze(&self) -> FrozenCollection {
        FrozenCollection {
            id: FROZEN_IDS.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            members: self.entries.clone(),
            hashes: self
                .entries
                .iter()
                .map(|p| self.hasher.hash_one(&p.name))
                .collect(),
            digits: self.digits,
            hasher: self.hasher.clone(),
        }
    }

    /// Gives an empty collection the members of `frozen` and its index
    /// (positions hashed under the frozen hasher, which the collection
    /// takes): the members set aside by [`Collection::clear`] when they
    /// came from `frozen`, with the values written since restored, else
    /// copies in the buffers of spare members.
    pub(crate) fn fill_from(&mut self, frozen: &FrozenCollection) {
        debug_assert!(
            self.entries.is_empty(),
            "fill_from needs an empty collection"
        );
        self.hasher = frozen.hasher.clone();
        let base = &mut self.base;
        let count = frozen.members.len();
        if self.entries.is_empty() && base.frozen == frozen.id && base.kept.len() == count {
            std::mem::swap(&mut self.entries, &mut base.kept);
            for i in written(&base.dirty) {
                if let (Some(member), Some(original)) =
                    (self.entries.get_mut(i), frozen.members.get(i))
                {
                    member.value.clear();
                    member.value.extend_from_slice(&original.value);
                }
            }
            base.dirty.fill(0);
        } else {
            // Members of another frozen collection (another engine's).
            base.kept.clear();
            for member in &frozen.members {
                let mut pair = Pair::take_spare(&mut self.spare);
                pair.name.extend_from_slice(&member.name);
                pair.value.extend_from_slice(&member.value);
                self.entries.push(pair);
            }
            base.frozen = frozen.id;
            base.dirty.clear();
            base.dirty.resize(count.div_ceil(64), 0);
        }
        base.len = count;
        // The positions are the frozen members' own (they were pushed in
        // order into an empty list), under their kept hashes: the table
        // is emptied and refilled in place. (`HashTable::clone_from`
        // allocates a new table: 4.6 KiB per transaction.)
        self.index.clear();
        let (entries, hasher) = (&self.entries, &self.hasher);
        for (position, &hash) in frozen.hashes.iter().enumerate() {
            self.index.insert_unique(hash, position, |&i| {
                entries.get(i).map_or(0, |p| hasher.hash_one(&p.name))
            });
        }
        self.digits = frozen.digits;
        self.generation = self.generation.wrapping_add(1);
    }

    pub(crate) fn entries(&self) -> &[Pair] {
        &self.entries
    }

    fn find_hashed(&self, key: &[u8], hash: u64) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash, |&i| entries.get(i).is_some_and(|p| p.name == key))
            .copied()
    }

    /// Where the member stored under `key` (case-insensitive) is, or, when
    /// there is none, the hash of the lower-cased key for the new member's
    /// index entry: CRS sets ~90 new TX members per request, and each was
    /// hashed twice. Keys from rules are lower-cased at compile time: they
    /// are looked up as they are first, and the case is folded only when
    /// that misses.
    fn position_or_hash(&self, key: &[u8]) -> Result<usize, u64> {
        if let Some(d) = digit(key) {
            if let Some(&at) = self.digits.get(d).filter(|&&at| at != 0) {
                return Ok(at as usize - 1);
            }
            // Not there: the hash, for the new member's index entry.
            return Err(self.hasher.hash_one(key));
        }
        let hash = self.hasher.hash_one(key);
        if let Some(i) = self.find_hashed(key, hash) {
            return Ok(i);
        }
        if !crate::transform::has_ascii_uppercase(key) {
            return Err(hash);
        }
        let lower = key.to_ascii_lowercase();
        let hash = self.hasher.hash_one(&lower);
        self.find_hashed(&lower, hash).ok_or(hash)
    }

    fn position(&self, key: &[u8]) -> Option<usize> {
        self.position_or_hash(key).ok()
    }

    /// A number that changes whenever a member is added or removed.
    pub(crate) fn generation(&self) -> u64 {
        self.generation
    }

    /// The position of the member stored under `key` (case-insensitive).
    pub(crate) fn position_of(&self, key: &[u8]) -> Option<usize> {
        self.position(key)
    }

    /// The value of the member at `position`.
    pub(crate) fn value_at(&self, position: usize) -> Option<&[u8]> {
        self.entries.get(position).map(|p| p.value.as_slice())
    }

    /// The member stored under `key` (case-insensitive).
    pub(crate) fn get_pair(&self, key: &[u8]) -> Option<&Pair> {
        self.position(key).and_then(|i| self.entries.get(i))
    }

    pub(crate) fn get(&self, key: &[u8]) -> Option<&[u8]> {
        self.get_pair(key).map(|p| p.value.as_slice())
    }

    /// Sets `key` to `value`. A key the caller owns (an expanded macro)
    /// becomes the new member's name without a copy.
    pub(crate) fn set(&mut self, key: Cow<'_, [u8]>, value: Vec<u8>) {
        match self.position_or_hash(&key) {
            Ok(i) => {
                self.base.touch(i);
                if let Some(p) = self.entries.get_mut(i) {
                    p.value = value;
                }
            }
            Err(hash) => self.push_new(key, hash, value),
        }
    }

    /// Adds a member that [`Collection::position_or_hash`] did not find;
    /// `hash` is that of the lower-cased key.
    fn push_new(&mut self, key: Cow<'_, [u8]>, hash: u64, value: Vec<u8>) {
        let mut name = key.into_owned();
        name.make_ascii_lowercase();
        self.push_indexed(hash, Pair::new(name, value));
    }

    /// Like [`Collection::push_new`], in the buffers of a spare member
    /// when there is one; `fill` writes the value.
    fn push_new_spare(&mut self, key: &[u8], hash: u64, fill: impl FnOnce(&mut Vec<u8>)) {
        self.push_spare(hash, |name, value| {
            name.extend_from_slice(key);
            name.make_ascii_lowercase();
            fill(value);
        });
    }

    /// Adds a member whose name and value `fill` writes into the buffers
    /// of a spare member (new ones when there is none); `hash` is that of
    /// the name it writes, which must be lower-case and new.
    fn push_spare(&mut self, hash: u64, fill: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) {
        let mut pair = Pair::take_spare(&mut self.spare);
        fill(&mut pair.name, &mut pair.value);
        self.push_indexed(hash, pair);
    }

    /// Appends `pair` (lower-case, new; `hash` is its name's) with its
    /// index entry and, for a digit name, its place in `digits`: the one
    /// way members are added one at a time.
    fn push_indexed(&mut self, hash: u64, pair: Pair) {
        self.insert_index_hashed(hash, self.entries.len());
        note_digit(&mut self.digits, &pair.name, self.entries.len());
        self.entries.push(pair);
    }

    fn insert_index_hashed(&mut self, hash: u64, position: usize) {
        self.generation = self.generation.wrapping_add(1);
        let (entries, hasher) = (&self.entries, &self.hasher);
        self.index.insert_unique(hash, position, |&i| {
            entries.get(i).map_or(0, |p| hasher.hash_one(&p.name))
        });
    }

    /// Like [`Collection::set`], reusing the member's buffer when it
    /// exists (CRS updates the same TX scores many times per request).
    pub(crate) fn set_slice(&mut self, key: &[u8], value: &[u8]) {
        self.set_with(key, |v| v.extend_from_slice(value));
    }

    /// Stores `n` in decimal.
    #[cfg(test)]
    pub(crate) fn set_number(&mut self, key: &[u8], n: i64) {
        self.update_number(key, |_| n);
    }

    /// Stores in decimal the number `next` makes of the member's current
    /// value (`None` when there is no such member): `setvar`'s `+=` and
    /// `-=`. One lookup for the read and the write, and the digits written
    /// without `fmt`: CRS adds to its anomaly scores a dozen times per
    /// request, and the second lookup and the formatting were about half
    /// of each addition.
    pub(crate) fn update_number(&mut self, key: &[u8], next: impl FnOnce(Option<&[u8]>) -> i64) {
        let mut digits = itoa::Buffer::new();
        match self.position_or_hash(key) {
            Ok(i) => {
                self.base.touch(i);
                if let Some(p) = self.entries.get_mut(i) {
                    let n = digits.format(next(Some(&p.value)));
                    p.value.clear();
                    p.value.extend_from_slice(n.as_bytes());
                }
            }
            Err(hash) => {
                let n = digits.format(next(None));
                self.push_new_spare(key, hash, |v| v.extend_from_slice(n.as_bytes()));
            }
        }
    }

    /// Sets `key` to what `fill` writes into an empty buffer: the member's
    /// own, or a new member's (a spare one's when there is one).
    fn set_with(&mut self, key: &[u8], fill: impl FnOnce(&mut Vec<u8>)) {
        match self.position_or_hash(key) {
            Ok(i) => {
                self.base.touch(i);
                if let Some(p) = self.entries.get_mut(i) {
                    p.value.clear();
                    fill(&mut p.value);
                }
            }
            Err(hash) => self.push_new_spare(key, hash, fill),
        }
    }

    pub(crate) fn remove(&mut self, key: &[u8]) {
        if let Some(i) = self.position(key) {
            self.entries.remove(i);
            self.reindex();
        }
    }

    /// Replaces every member (collections loaded from the store).
    pub(crate) fn replace(&mut self, entries: Vec<Pair>) {
        self.entries = entries;
        for p in &mut self.entries {
            p.name.make_ascii_lowercase();
        }
        self.reindex();
    }

    /// Indexes the members anew after a removal or a replacement, which
    /// also moves any base members out of their places.
    fn reindex(&mut self) {
        self.base.len = 0;
        self.generation = self.generation.wrapping_add(1);
        self.index.clear();
        self.digits = [0; 10];
        let (entries, hasher) = (&self.entries, &self.hasher);
        for (i, p) in entries.iter().enumerate() {
            self.index.insert_unique(hasher.hash_one(&p.name), i, |&j| {
                entries.get(j).map_or(0, |q| hasher.hash_one(&q.name))
            });
            note_digit(&mut self.digits, &p.name, i);
        }
    }
}

/// The positions of the bits set in `words` (bit `i % 64` of word
/// `i / 64`): the base members whose values were written.
fn written(words: &[u64]) -> impl Iterator<Item = usize> + '_ {
    words.iter().enumerate().flat_map(|(w, &word)| {
        let mut bits = word;
        std::iter::from_fn(move || {
            let bit = (bits != 0).then(|| bits.trailing_zeros() as usize)?;
            bits &= bits - 1;
            Some(w * 64 + bit)
        })
    })
}

impl Base {
    /// Notes that the value of the member at `position` is written.
    fn touch(&mut self, position: usize) {
        if position < self.len {
            if let Some(word) = self.dirty.get_mut(position / 64) {
                *word |= 1 << (position % 64);
            }
        }
    }
}

/// Records in `digits` (see [`Collection::digits`]) that the member named
/// `name` is at `position`, when that name is a digit.
fn note_digit(digits: &mut [u32; 10], name: &[u8], position: usize) {
    if let (Some(d), Ok(at)) = (digit(name), u32::try_from(position + 1)) {
        if let Some(slot) = digits.get_mut(d) {
            *slot = at;
        }
    }
}

/// The digit a one-digit member name stands for.
fn digit(name: &[u8]) -> Option<usize> {
    match name {
        [d @ b'0'..=b'9'] => Some(usize::from(d - b'0')),
        _ => None,
    }
}

/// All mutable collections of one transaction.
#[derive(Clone, Debug, Default)]
pub(crate) struct Collections {
    pub(crate) tx: Collection,
    pub(crate) env: Collection,
    pub(crate) ip: Collection,
    pub(crate) global: Collection,
    pub(crate) session: Collection,
    pub(crate) user: Collection,
    pub(crate) resource: Collection,
}

impl Collections {
    /// Empty collections around `tx`, an empty TX collection sized for
    /// CRS (about 200 variables per request, so it does not grow and
    /// rehash seven times; see `transaction::spare`).
    pub(crate) fn with_tx(tx: Collection) -> Collections {
        Collections {
            tx,
            ..Collections::default()
        }
    }

    /// The collection named in a `setvar` (`tx`, `ip`, …).
    /// The collection behind a variable (`TX`, `IP`, …), if it is one.
    pub(crate) fn by_variable(&self, variable: Variable) -> Option<&Collection> {
        match variable {
            Variable::Tx => Some(&self.tx),
            Variable::Env => Some(&self.env),
            Variable::Ip => Some(&self.ip),
            Variable::Global => Some(&self.global),
            Variable::Session => Some(&self.session),
            Variable::User => Some(&self.user),
            Variable::Resource => Some(&self.resource),
            _ => None,
        }
    }

    pub(crate) fn by_name_mut(&mut self, name: &str) -> Option<&mut Collection> {
        match name {
            "tx" => Some(&mut self.tx),
            "env" => Some(&mut self.env),
            "ip" => Some(&mut self.ip),
            "global" => Some(&mut self.global),
            "session" => Some(&mut self.session),
            "user" => Some(&mut self.user),
            "resource" => Some(&mut self.resource),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The members of `c`, as (name, value) strings, in order.
    fn members(c: &Collection) -> Vec<(String, String)> {
        c.entries()
            .iter()
            .map(|p| {
                (
                    String::from_utf8_lossy(&p.name).into_owned(),
                    String::from_utf8_lossy(&p.value).into_owned(),
                )
            })
            .collect()
    }

    fn prelude() -> FrozenCollection {
        let mut tx = Collection::with_capacity(8);
        tx.set_slice(b"score", b"0");
        tx.set_slice(b"list", &[b'l'; 300]);
        tx.set_slice(b"0", b"capture");
        tx.set_slice(b"paranoia", b"1");
        tx.freeze()
    }

    /// The frozen prelude, a collection filled from it, and its members.
    fn filled() -> (FrozenCollection, Collection, Vec<(String, String)>) {
        let frozen = prelude();
        let mut tx = Collection::with_capacity(8);
        tx.fill_from(&frozen);
        let first = members(&tx);
        (frozen, tx, first)
    }

    #[test]
    fn a_refill_from_the_same_frozen_members_restores_every_value_written() {
        let (frozen, mut tx, first) = filled();
        for round in 0..4 {
            // Each way a value is written, and new members after them.
            tx.update_number(b"SCORE", |n| {
                i64::from(n.map_or(0, crate::operator::numeric::atoi)) + 5
            });
            tx.set(Cow::Borrowed(&b"paranoia"[..]), b"4".to_vec());
            tx.set_slice(b"0", b"other");
            tx.set_slice(b"list", &[b'x'; 2000]);
            tx.set_slice(b"new", b"member");
            tx.set_number(b"1", round);
            assert_eq!(tx.get(b"score"), Some(&b"5"[..]));
            tx.clear(8);
            assert!(tx.entries().is_empty());
            assert_eq!(tx.get(b"score"), None);
            tx.fill_from(&frozen);
            assert_eq!(members(&tx), first, "round {round}");
            // The index and the digit members answer for the refill.
            assert_eq!(tx.get(b"SCORE"), Some(&b"0"[..]));
            assert_eq!(tx.get(b"0"), Some(&b"capture"[..]));
            assert_eq!(tx.get(b"1"), None);
            assert_eq!(tx.get(b"new"), None);
        }
        // A collection of another size than the frozen one takes the same
        // members and finds them.
        let mut other = Collection::with_capacity(256);
        for _ in 0..2 {
            other.fill_from(&frozen);
            assert_eq!(members(&other), first);
            for (name, value) in &first {
                assert_eq!(other.get(name.as_bytes()), Some(value.as_bytes()));
            }
            assert_eq!(other.get(b"0"), Some(&b"capture"[..]));
            other.set_slice(b"new", b"member");
            assert_eq!(other.get(b"new"), Some(&b"member"[..]));
            other.clear(256);
        }
        // A value not written keeps its buffer from fill to fill.
        let list = tx.get(b"list").map(<[u8]>::as_ptr);
        tx.set_slice(b"score", b"9");
        tx.clear(8);
        tx.fill_from(&frozen);
        assert_eq!(tx.get(b"list").map(<[u8]>::as_ptr), list);
        assert_eq!(members(&tx), first);
    }

    #[test]
    fn a_refill_after_a_removal_or_from_other_frozen_members_copies_them_all() {
        let (frozen, mut tx, first) = filled();
        // A removal moves the members after it (and a new member takes
        // the last place).
        tx.remove(b"list");
        tx.set_slice(b"extra", b"x");
        tx.set_slice(b"paranoia", b"2");
        tx.clear(8);
        tx.fill_from(&frozen);
        assert_eq!(members(&tx), first);
        assert_eq!(tx.get(b"paranoia"), Some(&b"1"[..]));
        // Another engine's prelude, then this one's again.
        let mut other = Collection::with_capacity(8);
        other.set_slice(b"only", b"there");
        let other = other.freeze();
        tx.set_slice(b"score", b"7");
        tx.clear(8);
        tx.fill_from(&other);
        assert_eq!(
            members(&tx),
            vec![("only".to_string(), "there".to_string())]
        );
        assert_eq!(tx.get(b"score"), None);
        tx.clear(8);
        tx.fill_from(&frozen);
        assert_eq!(members(&tx), first);
        // A collection cleared and used without a fill holds none of the
        // members set aside.
        tx.clear(8);
        tx.set_slice(b"fresh", b"1");
        assert_eq!(tx.get(b"score"), None);
        tx.clear(8);
        assert!(tx.entries().is_empty());
        tx.fill_from(&frozen);
        assert_eq!(members(&tx), first);
    }

    #[test]
    fn a_cleared_collection_keeps_no_member_and_new_members_reuse_buffers() {
        let mut tx = Collection::with_capacity(8);
        tx.set_slice(b"Anomaly_Score", b"5");
        tx.set_number(b"counter", 12);
        tx.set_slice(b"long", &[b'x'; 1000]);
        assert_eq!(tx.get(b"anomaly_score"), Some(&b"5"[..]));
        tx.clear(8);
        assert!(tx.entries().is_empty());
        assert_eq!(tx.get(b"anomaly_score"), None);
        assert_eq!(tx.get(b"counter"), None);
        // Every member's buffers are kept, in order, but the long value's:
        // that member keeps its place without it, so that each later
        // member still gets its predecessor's buffers.
        assert_eq!(tx.spare.len(), 3);
        let kept: Vec<*const u8> = tx.spare.iter().rev().map(|p| p.name.as_ptr()).collect();
        let values: Vec<usize> = tx.spare.iter().rev().map(|p| p.value.capacity()).collect();
        assert!(values[0] > 0 && values[1] > 0);
        assert_eq!(values[2], 0);
        // Next transaction: the first new member gets the first member's
        // buffers, and the values are the new ones.
        tx.set_slice(b"Other", b"abc");
        tx.set_number(b"n", -3);
        tx.set_slice(b"third", b"3");
        for (entry, kept) in tx.entries().iter().zip(&kept) {
            assert_eq!(entry.name.as_ptr(), *kept);
        }
        assert_eq!(tx.get(b"OTHER"), Some(&b"abc"[..]));
        assert_eq!(tx.get(b"n"), Some(&b"-3"[..]));
        assert_eq!(tx.get(b"third"), Some(&b"3"[..]));
        assert_eq!(tx.entries()[0].name, b"other");
        assert!(tx.spare.is_empty());
        // Updating and removing still work on reused members.
        tx.set_slice(b"other", b"z");
        tx.remove(b"n");
        assert_eq!(tx.get(b"other"), Some(&b"z"[..]));
        assert_eq!(tx.get(b"n"), None);
    }

    #[test]
    fn keys_in_any_case_name_one_member() {
        let mut tx = Collection::with_capacity(4);
        tx.set_slice(b"Score", b"1");
        tx.set_number(b"SCORE", 2);
        tx.set(Cow::Borrowed(&b"score"[..]), b"3".to_vec());
        tx.set_slice(b"NEW_one", b"x");
        tx.set_number(b"new_ONE", 4);
        let names: Vec<&[u8]> = tx.entries().iter().map(|p| p.name.as_slice()).collect();
        assert_eq!(names, [&b"score"[..], b"new_one"]);
        assert_eq!(tx.get(b"sCoRe"), Some(&b"3"[..]));
        assert_eq!(tx.get(b"new_one"), Some(&b"4"[..]));
    }

    #[test]
    fn a_number_is_updated_in_place_or_added_from_what_the_member_holds() {
        let mut tx = Collection::with_capacity(4);
        tx.set_slice(b"score", b"12");
        let generation = tx.generation();
        let mut seen = Vec::new();
        tx.update_number(b"SCORE", |v| {
            seen.push(v.map(<[u8]>::to_vec));
            -40
        });
        // In place: no member added, the positions the shortcuts keep hold.
        assert_eq!(tx.generation(), generation);
        assert_eq!(tx.get(b"score"), Some(&b"-40"[..]));
        tx.update_number(b"Fresh", |v| {
            seen.push(v.map(<[u8]>::to_vec));
            i64::MIN
        });
        assert_ne!(tx.generation(), generation);
        assert_eq!(seen, [Some(b"12".to_vec()), None]);
        assert_eq!(tx.get(b"fresh"), Some(i64::MIN.to_string().as_bytes()));
        let names: Vec<&[u8]> = tx.entries().iter().map(|p| p.name.as_slice()).collect();
        assert_eq!(names, [&b"score"[..], b"fresh"]);
        tx.update_number(b"fresh", |_| i64::MAX);
        assert_eq!(tx.get(b"fresh"), Some(i64::MAX.to_string().as_bytes()));
    }

    #[test]
    fn digit_members_are_found_after_every_change() {
        let mut tx = Collection::with_capacity(8);
        tx.set_slice(b"a", b"x");
        tx.set_slice(b"0", b"zero");
        tx.set_slice(b"b", b"y");
        tx.set_slice(b"1", b"one");
        assert_eq!(tx.get(b"0"), Some(&b"zero"[..]));
        assert_eq!(tx.get(b"1"), Some(&b"one"[..]));
        assert_eq!(tx.get(b"2"), None);
        // A removal moves the members after it.
        tx.remove(b"a");
        assert_eq!(tx.get(b"0"), Some(&b"zero"[..]));
        assert_eq!(tx.get(b"1"), Some(&b"one"[..]));
        tx.remove(b"0");
        assert_eq!(tx.get(b"0"), None);
        assert_eq!(tx.get(b"1"), Some(&b"one"[..]));
        // Set again: one member, updated in place.
        tx.set_slice(b"0", b"again");
        tx.set_slice(b"0", b"updated");
        let zeros = tx.entries().iter().filter(|p| p.name == b"0").count();
        assert_eq!(zeros, 1);
        assert_eq!(tx.get(b"0"), Some(&b"updated"[..]));
        // Emptied, then refilled from a frozen copy and replaced.
        let frozen = tx.freeze();
        tx.clear(8);
        assert_eq!(tx.get(b"0"), None);
        assert_eq!(tx.get(b"1"), None);
        tx.fill_from(&frozen);
        assert_eq!(tx.get(b"0"), Some(&b"updated"[..]));
        assert_eq!(tx.get(b"1"), Some(&b"one"[..]));
        tx.replace(vec![
            Pair::new(b"q".to_vec(), b"1".to_vec()),
            Pair::new(b"7".to_vec(), b"seven".to_vec()),
        ]);
        assert_eq!(tx.get(b"7"), Some(&b"seven"[..]));
        assert_eq!(tx.get(b"0"), None);
        assert_eq!(tx.get(b"1"), None);
    }

    #[test]
    fn spare_members_are_bounded_by_the_capacity() {
        let mut tx = Collection::with_capacity(4);
        for i in 0..10 {
            tx.set_number(format!("k{i}").as_bytes(), i);
        }
        tx.clear(4);
        assert_eq!(tx.spare.len(), 4);
        for i in 0..10 {
            tx.set_number(format!("j{i}").as_bytes(), i);
        }
        tx.clear(4);
        assert_eq!(tx.spare.len(), 4);
    }
}
