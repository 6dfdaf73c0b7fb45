//! Per-phase cache of transformed values, with prefix sharing: the value of
//! `t:lowercase` is reused by `t:lowercase,t:urlDecodeUni`, and no value is
//! transformed twice the same way within a phase.
//!
//! Keys are the address and length of a value borrowed from the exchange
//! data (which does not change during a phase) plus a hash of the
//! transformation prefix. The cache is cleared at every phase start, before
//! the exchange data can change (body processing adds arguments).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::HashMap;

use foldhash::fast::RandomState;
use std::ops::Deref;
use std::sync::Arc;

use crs_compiler::ir::transform::Transform;

/// A transformed value: the original bytes, or a shared transformed copy.
pub(super) enum Transformed<'v> {
    Original(&'v [u8]),
    Shared(Arc<[u8]>),
}

impl Deref for Transformed<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Transformed::Original(b) => b,
            Transformed::Shared(a) => a,
        }
    }
}

type Key = (usize, usize, u64);

/// `None`: every step so far left the value unchanged.
type Entries = HashMap<Key, Option<Arc<[u8]>>, RandomState>;

#[derive(Debug, Default)]
pub(super) struct TransformCache {
    map: RefCell<Entries>,
}

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
            map: RefCell::new(HashMap::with_capacity_and_hasher(
                512,
                RandomState::default(),
            )),
        }
    }

    pub(super) fn clear(&self) {
        self.map.borrow_mut().clear();
    }

    /// Applies `chain` to `value`; `cacheable` says the value is borrowed
    /// from data that stays put for the rest of the phase.
    pub(super) fn apply<'v>(
        &self,
        value: Cow<'v, [u8]>,
        chain: &[Transform],
        cacheable: bool,
    ) -> Transformed<'v> {
        let original: &'v [u8] = match value {
            Cow::Borrowed(b) => b,
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
        let (ptr, len) = (original.as_ptr() as usize, original.len());
        let mut map = self.map.borrow_mut();
        // Most calls repeat a chain already applied to this value this
        // phase: one lookup of the whole chain answers them.
        let whole = chain.iter().fold(CHAIN_SEED, |h, t| step_hash(h, *t));
        if let Some(hit) = map.get(&(ptr, len, whole)) {
            return match hit {
                Some(v) => Transformed::Shared(Arc::clone(v)),
                None => Transformed::Original(original),
            };
        }
        let mut current: Option<Arc<[u8]>> = None;
        let mut h: u64 = CHAIN_SEED;
        for t in chain {
            h = step_hash(h, *t);
            let key = (ptr, len, h);
            if let Some(hit) = map.get(&key) {
                current = hit.clone();
                continue;
            }
            let input: &[u8] = current.as_deref().unwrap_or(original);
            if let Cow::Owned(v) = crate::transform::apply(*t, input) {
                current = Some(Arc::from(v));
            }
            map.insert(key, current.clone());
        }
        match current {
            Some(v) => Transformed::Shared(v),
            None => Transformed::Original(original),
        }
    }
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
