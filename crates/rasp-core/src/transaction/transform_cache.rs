//! Per-phase cache of transformed values: no bytes are transformed twice
//! the same way within a phase, whichever chains lead to them.
//!
//! Keys are the address and length of a value borrowed from the exchange
//! data (which does not change during a phase) or of a cached transformed
//! copy. The cache is cleared at every phase start, before the exchange
//! data can change (body processing adds arguments).

use std::borrow::Cow;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use foldhash::fast::RandomState;
use std::ops::Deref;
use std::sync::Arc;

use crs_compiler::ir::transform::Transform;

use crate::transform::ByteClasses;

/// A transformed value: the original bytes, a shared transformed copy, or
/// a computed value (a count, a size) no chain changed.
#[derive(Clone)]
pub(super) enum Transformed<'v> {
    Original(&'v [u8]),
    Shared(Arc<[u8]>),
    Computed(Vec<u8>),
}

impl Deref for Transformed<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Transformed::Original(b) => b,
            Transformed::Shared(a) => a,
            Transformed::Computed(v) => v,
        }
    }
}

/// A whole chain applied to a value: (value address, length, chain hash).
type ChainKey = (usize, usize, u64);

/// One step: (input address, input length, transformation).
type StepKey = (usize, usize, Transform);

/// `None`: the transformation(s) left the bytes as they were.
type Entries<K> = HashMap<K, Option<Arc<[u8]>>, RandomState>;

#[derive(Debug, Default)]
pub(super) struct TransformCache {
    /// Final results of whole chains, for the one-lookup repeat.
    chains: RefCell<Entries<ChainKey>>,
    /// Single steps keyed by the bytes they read. A step's result depends
    /// on its input bytes only, and most steps leave ordinary values as
    /// they are, so chains that differ in their prefixes converge here:
    /// `t:utf8toUnicode,t:urlDecodeUni` and `t:urlDecodeUni` share the
    /// decoding of a value without non-ASCII bytes.
    steps: RefCell<Entries<StepKey>>,
    /// What is known of the short value whose steps were last tried
    /// directly: the gate sweep tries every chain of a set on one value
    /// after another, and most chains share their steps.
    known: Cell<Known>,
}

/// The transformations known to leave one short value (address, length)
/// unchanged, and those known to change it, a bit per [`Transform`].
#[derive(Clone, Copy, Debug, Default)]
struct Known {
    ptr: usize,
    len: usize,
    unchanged: u64,
    changed: u64,
    /// The kinds of bytes in the value: most transformations are known to
    /// leave it as it is from these alone, without a scan of their own.
    classes: ByteClasses,
}

impl Known {
    /// Tries `t` on `original` (the value this is about) unless it is known
    /// to leave it unchanged, and remembers what it did: the result when
    /// it changes the value.
    fn try_step(&mut self, t: Transform, original: &[u8]) -> Option<Vec<u8>> {
        let bit = bit(t);
        if self.unchanged & bit != 0 {
            return None;
        }
        if self.classes.leave_unchanged(t) {
            self.unchanged |= bit;
            return None;
        }
        match crate::transform::apply(t, original) {
            Cow::Borrowed(_) => {
                self.unchanged |= bit;
                None
            }
            Cow::Owned(v) => {
                self.changed |= bit;
                Some(v)
            }
        }
    }

    /// Whether `t` changes `original` (the value this is about): from what
    /// is known, from the value's byte classes where those settle it, or
    /// else by trying it.
    fn changes(&mut self, t: Transform, original: &[u8]) -> bool {
        self.known_to_change(t) || self.try_step(t, original).is_some()
    }

    /// Whether `t` is known to change the value (this is about) without
    /// trying it: from what is known, or from the value's byte classes.
    fn known_to_change(&mut self, t: Transform) -> bool {
        let bit = bit(t);
        if self.changed & bit != 0 {
            return true;
        }
        if self.unchanged & bit == 0 && self.classes.certainly_change(t) {
            self.changed |= bit;
            return true;
        }
        false
    }
}

/// The bits of `chain`'s steps for [`TransformCache::changed_by`]; all
/// bits for a chain with a step that has none (every transformation has
/// one today), so that it is never taken as leaving a value alone.
pub(super) fn step_mask(chain: &[Transform]) -> u64 {
    chain.iter().fold(0, |mask, t| match bit(*t) {
        0 => u64::MAX,
        b => mask | b,
    })
}

/// `t`'s bit in [`Known`] (0 for none: every transformation fits).
fn bit(t: Transform) -> u64 {
    1u64.checked_shl(t as u32).unwrap_or(0)
}

/// Value and chain pairs a CRS request phase typically holds.
const ENTRIES: usize = 512;

/// Longest value whose steps are first tried without the cache.
const DIRECT_MAX_LEN: usize = 64;

/// FNV-1a offset basis: the hash of the empty chain.
const CHAIN_SEED: u64 = 0xcbf2_9ce4_8422_2325;

fn step_hash(h: u64, t: Transform) -> u64 {
    // FNV-1a over the transformation ids; collisions would need identical
    // (address, length) too, and ids are small.
    (h ^ (t as u64 + 1)).wrapping_mul(0x0100_0000_01b3)
}

impl TransformCache {
    /// A cache sized for a typical request phase under CRS (a few hundred
    /// value and chain pairs), so it does not rehash while filling up.
    pub(super) fn new() -> TransformCache {
        TransformCache {
            chains: RefCell::new(HashMap::with_capacity_and_hasher(
                ENTRIES,
                RandomState::default(),
            )),
            steps: RefCell::new(HashMap::with_capacity_and_hasher(
                ENTRIES,
                RandomState::default(),
            )),
            known: Cell::default(),
        }
    }

    /// Empties the cache for another transaction, keeping its tables'
    /// capacity up to their initial size.
    pub(super) fn recycle(&mut self) {
        self.clear();
        self.chains.get_mut().shrink_to(ENTRIES);
        self.steps.get_mut().shrink_to(ENTRIES);
    }

    pub(super) fn clear(&self) {
        self.chains.borrow_mut().clear();
        self.steps.borrow_mut().clear();
        // Addresses are only stable within a phase.
        self.known.set(Known::default());
    }

    /// Applies `chain` to `value`; `cacheable` says the value is borrowed
    /// from data that stays put for the rest of the phase.
    ///
    /// Step keys are addresses: of the original value (stable for the
    /// phase) or of a transformed copy, which the step map itself keeps
    /// alive until it is cleared, so an address is never reused for other
    /// bytes while it is a key.
    pub(super) fn apply<'v>(
        &self,
        value: Cow<'v, [u8]>,
        chain: &[Transform],
        cacheable: bool,
    ) -> Transformed<'v> {
        let original: &'v [u8] = match value {
            Cow::Borrowed(b) => b,
            Cow::Owned(v) if chain.is_empty() => return Transformed::Computed(v),
            Cow::Owned(v) => return apply_uncached(Arc::from(v), chain),
        };
        if chain.is_empty() {
            return Transformed::Original(original);
        }
        if !cacheable {
            return match apply_chain(original, chain) {
                Some(v) => Transformed::Shared(v),
                None => Transformed::Original(original),
            };
        }
        let (unchanged, mut first_change) = self.unchanged_prefix(original, chain);
        if unchanged == chain.len() {
            return Transformed::Original(original);
        }
        let chain = chain.get(unchanged..).unwrap_or_default();
        let (ptr, len) = (original.as_ptr() as usize, original.len());
        // Most calls repeat a chain already applied to this value this
        // phase: one lookup of the whole chain answers them (for a single
        // step, the step map does).
        let chain_key = (chain.len() > 1).then(|| {
            (
                ptr,
                len,
                chain.iter().fold(CHAIN_SEED, |h, t| step_hash(h, *t)),
            )
        });
        if let Some(key) = chain_key {
            if let Some(hit) = self.chains.borrow().get(&key) {
                return match hit {
                    Some(v) => Transformed::Shared(Arc::clone(v)),
                    None => Transformed::Original(original),
                };
            }
        }
        let mut current: Option<Arc<[u8]>> = None;
        let mut steps = self.steps.borrow_mut();
        for t in chain {
            let input: &[u8] = current.as_deref().unwrap_or(original);
            // Only the first step may use the direct attempt's result.
            let next = cached_step(&mut steps, input, *t, first_change.take());
            if next.is_some() {
                current = next;
            }
        }
        if let Some(key) = chain_key {
            self.chains.borrow_mut().insert(key, current.clone());
        }
        match current {
            Some(v) => Transformed::Shared(v),
            None => Transformed::Original(original),
        }
    }

    /// One step on bytes that stay put for the phase (exchange data, or a
    /// copy this cache keeps): `t` applied to `input`, shared by address
    /// with every chain that takes the same step on the same bytes.
    pub(super) fn step<'v>(&self, input: &Transformed<'v>, t: Transform) -> Transformed<'v> {
        match cached_step(&mut self.steps.borrow_mut(), input, t, None) {
            Some(v) => Transformed::Shared(v),
            None => input.clone(),
        }
    }

    /// Which of `steps` change `original`, a short value that stays put for
    /// the phase, each tried on the value as it is (at most once: what a
    /// step did is remembered for the value's next questions), as a mask
    /// of [`step_mask`] bits. A chain whose mask shares no bit with it
    /// leaves the value as it is. `None` for values longer than
    /// [`DIRECT_MAX_LEN`], which are not tried, and for a step without a
    /// bit.
    pub(super) fn changed_by(&self, original: &[u8], steps: &[Transform]) -> Option<u64> {
        if original.len() > DIRECT_MAX_LEN {
            return None;
        }
        let mut known = self.known_for(original);
        let mut changed = 0;
        let mut all_fit = true;
        for t in steps {
            let bit = bit(*t);
            all_fit &= bit != 0;
            if bit != 0 && known.changes(*t, original) {
                changed |= bit;
            }
        }
        self.known.set(known);
        all_fit.then_some(changed)
    }

    /// What is known of `original` (nothing yet if another value was
    /// tried last).
    fn known_for(&self, original: &[u8]) -> Known {
        let (ptr, len) = (original.as_ptr() as usize, original.len());
        let known = self.known.get();
        if (known.ptr, known.len) == (ptr, len) {
            known
        } else {
            Known {
                ptr,
                len,
                classes: ByteClasses::of(original),
                ..Known::default()
            }
        }
    }

    /// How many first steps of `chain` leave `original` unchanged, and the
    /// result of the next one, tried directly: a short value usually
    /// passes every step unchanged, and the functions' own "nothing to do"
    /// checks then cost less than the cache's hashing. The step that
    /// changes the value goes on through the cache, so its result is still
    /// shared (by address) with every chain that reaches it. Longer values
    /// skip this (0 steps).
    fn unchanged_prefix(&self, original: &[u8], chain: &[Transform]) -> (usize, Option<Vec<u8>>) {
        if original.len() > DIRECT_MAX_LEN {
            return (0, None);
        }
        let mut known = self.known_for(original);
        let mut unchanged = 0;
        let mut first_change = None;
        while let Some(t) = chain.get(unchanged) {
            // Made in its shared copy by the cache (`in_place`), not here.
            if *t == Transform::Lowercase && known.known_to_change(*t) {
                break;
            }
            if let Some(v) = known.try_step(*t, original) {
                first_change = Some(v);
                break;
            }
            unchanged += 1;
        }
        self.known.set(known);
        (unchanged, first_change)
    }
}

/// `t` on `input` (bytes that stay put for the phase) from the step map,
/// or computed and recorded there; `computed` is the result when the
/// caller has it already. `None`: the step leaves the bytes as they are.
fn cached_step(
    steps: &mut Entries<StepKey>,
    input: &[u8],
    t: Transform,
    computed: Option<Vec<u8>>,
) -> Option<Arc<[u8]>> {
    let key = (input.as_ptr() as usize, input.len(), t);
    if let Some(hit) = steps.get(&key) {
        return hit.clone();
    }
    let out = match (computed, t) {
        (Some(v), _) => Some(Arc::<[u8]>::from(v)),
        (None, Transform::Lowercase) => in_place(input),
        (None, _) => match crate::transform::apply(t, input) {
            Cow::Owned(v) => Some(Arc::<[u8]>::from(v)),
            Cow::Borrowed(_) => None,
        },
    };
    steps.insert(key, out.clone());
    out
}

/// `t:lowercase` of `input` made in its shared copy: an `Arc<[u8]>` takes
/// no ownership of a `Vec`, so a step's own result costs one more
/// allocation and a copy. Lower-casing is most of the cache's copies of a
/// request's short values (header names, words of free text). `None` when
/// there is nothing to lower-case.
fn in_place(input: &[u8]) -> Option<Arc<[u8]>> {
    if !crate::transform::has_ascii_uppercase(input) {
        return None;
    }
    let mut copy = Arc::<[u8]>::from(input);
    match Arc::get_mut(&mut copy) {
        Some(bytes) => bytes.make_ascii_lowercase(),
        // A new `Arc` has no other owner; were it shared, copy again.
        None => return Some(Arc::from(input.to_ascii_lowercase())),
    }
    Some(copy)
}

fn apply_chain(original: &[u8], chain: &[Transform]) -> Option<Arc<[u8]>> {
    let mut current: Option<Vec<u8>> = None;
    for t in chain {
        let input: &[u8] = current.as_deref().unwrap_or(original);
        if let Cow::Owned(v) = crate::transform::apply(*t, input) {
            current = Some(v);
        }
    }
    current.map(Arc::from)
}

fn apply_uncached<'v>(value: Arc<[u8]>, chain: &[Transform]) -> Transformed<'v> {
    match apply_chain(&value, chain) {
        Some(v) => Transformed::Shared(v),
        None => Transformed::Shared(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Transform::{HtmlEntityDecode, Lowercase, RemoveNulls, UrlDecodeUni, Utf8ToUnicode};

    fn direct(value: &[u8], chain: &[Transform]) -> Vec<u8> {
        apply_chain(value, chain).map_or_else(|| value.to_vec(), |v| v.to_vec())
    }

    #[test]
    fn chains_sharing_steps_give_the_direct_results() {
        let cache = TransformCache::new();
        let chains: &[&[Transform]] = &[
            &[Utf8ToUnicode, UrlDecodeUni, Lowercase],
            &[UrlDecodeUni, Lowercase],
            &[Lowercase],
            &[UrlDecodeUni, HtmlEntityDecode, Lowercase],
            &[Lowercase, UrlDecodeUni],
            &[Utf8ToUnicode, UrlDecodeUni, Lowercase],
        ];
        let values: [&[u8]; 4] = [b"Plain Text", b"a%41%3c&lt;B", "Ünï %41".as_bytes(), b""];
        // Twice: the second round is answered from the cache.
        for _ in 0..2 {
            for value in values {
                for chain in chains {
                    let got = cache.apply(Cow::Borrowed(value), chain, true);
                    assert_eq!(
                        &*got,
                        direct(value, chain).as_slice(),
                        "{value:?} {chain:?}"
                    );
                    if let Transformed::Original(b) = got {
                        assert_eq!(b.as_ptr(), value.as_ptr());
                    }
                }
            }
        }
    }

    #[test]
    fn a_chain_leaves_a_short_value_unchanged_only_if_no_step_changes_it() {
        let cache = TransformCache::new();
        let leaves = |value: &[u8], chain: &[Transform]| {
            let changed = cache.changed_by(value, chain);
            changed.map(|c| c & step_mask(chain) == 0)
        };
        let plain: &[u8] = b"abc";
        assert_eq!(leaves(plain, &[Lowercase, UrlDecodeUni]), Some(true));
        assert_eq!(leaves(plain, &[RemoveNulls]), Some(true));
        let mixed: &[u8] = b"aBc";
        assert_eq!(leaves(mixed, &[RemoveNulls, Lowercase]), Some(false));
        // Remembered for the value, and asked again the answer is the same.
        assert_eq!(leaves(mixed, &[Lowercase]), Some(false));
        assert_eq!(leaves(mixed, &[UrlDecodeUni]), Some(true));
        assert_eq!(
            cache.changed_by(mixed, &[UrlDecodeUni, Lowercase]),
            Some(step_mask(&[Lowercase]))
        );
        assert_eq!(leaves(b"a%41", &[UrlDecodeUni]), Some(false));
        // Long values are not tried.
        assert_eq!(leaves("x".repeat(100).as_bytes(), &[Lowercase]), None);
    }

    #[test]
    fn chains_ending_in_the_same_bytes_share_one_copy() {
        // Gate scans are cached by the address of the transformed bytes, so
        // chains that reach the same result must return the same copy,
        // for short values (tried without the cache first) and long ones.
        let cache = TransformCache::new();
        let long = "Some Text ".repeat(20);
        for value in [b"Short Text".as_slice(), long.as_bytes()] {
            let a = cache.apply(Cow::Borrowed(value), &[Lowercase], true);
            let b = cache.apply(Cow::Borrowed(value), &[UrlDecodeUni, Lowercase], true);
            let c = cache.apply(
                Cow::Borrowed(value),
                &[Utf8ToUnicode, HtmlEntityDecode, Lowercase, UrlDecodeUni],
                true,
            );
            assert_eq!(&*a, value.to_ascii_lowercase().as_slice());
            assert_eq!(a.as_ptr(), b.as_ptr());
            assert_eq!(a.as_ptr(), c.as_ptr());
        }
    }
}
