//! `@contains` after transformations that map or drop each byte on its own
//! (`t:lowercase`, `t:removeWhitespace`, …), answered on the original
//! bytes without building the transformed copy.
//!
//! Why: CRS's 955300 looks for `<title>punkholicshell</title>` in every
//! response page after `t:removeWhitespace,t:lowercase`: two copies of the
//! page per response (a third of a 2 KiB page's inspection time) for a
//! phrase that is almost never there. A search for the bytes that map to
//! the phrase's rarest byte, each candidate checked through the byte map
//! on both sides, says "not there" without the copies; where it is there, the rule runs
//! as before (its match records the transformed value).

use crs_compiler::ir::transform::Transform;

/// What a chain of per-byte transformations does to each byte value:
/// `None` drops it.
#[derive(Clone, Debug)]
pub(crate) struct ByteMap {
    map: [Option<u8>; 256],
}

/// Transformations that map or drop each byte independently of the others,
/// so that a chain of them is a [`ByteMap`].
pub(crate) fn is_per_byte(t: Transform) -> bool {
    matches!(
        t,
        Transform::Lowercase
            | Transform::Uppercase
            | Transform::RemoveWhitespace
            | Transform::RemoveNulls
            | Transform::ReplaceNulls
    )
}

impl ByteMap {
    /// The map of `chain`, taken from the transformations themselves (each
    /// applied to every single byte); `None` unless every step is
    /// [`is_per_byte`].
    pub(crate) fn of(chain: &[Transform]) -> Option<ByteMap> {
        if chain.is_empty() || !chain.iter().all(|t| is_per_byte(*t)) {
            return None;
        }
        let mut map = [None; 256];
        for (b, slot) in (0..=u8::MAX).zip(map.iter_mut()) {
            let mut value = vec![b];
            for t in chain {
                value = crate::transform::apply(*t, &value).into_owned();
            }
            // A per-byte step leaves one byte or none.
            *slot = match value.as_slice() {
                [] => None,
                [out] => Some(*out),
                _ => return None,
            };
        }
        Some(ByteMap { map })
    }

    fn get(&self, b: u8) -> Option<u8> {
        self.map.get(usize::from(b)).copied().flatten()
    }

    /// The bytes that map to `b`.
    fn preimage(&self, b: u8) -> Vec<u8> {
        (0..=u8::MAX).filter(|&x| self.get(x) == Some(b)).collect()
    }
}

/// A needle to look for in values as a [`ByteMap`] transforms them.
#[derive(Clone, Debug)]
pub(crate) struct MappedNeedle {
    map: ByteMap,
    needle: Vec<u8>,
    /// The needle's byte that candidates are looked for by: its rarest in
    /// web text. 955300's needle starts with `<`, which an HTML page
    /// holds at every tag; looking for its `k` instead checked a tenth as
    /// many candidates on the bench's 2 KiB page.
    anchor: usize,
    /// The bytes that map to the anchor byte.
    starts: Vec<u8>,
}

impl MappedNeedle {
    /// `needle` (not empty) after `chain`; `None` unless the chain is a
    /// [`ByteMap`].
    pub(crate) fn new(chain: &[Transform], needle: &[u8]) -> Option<MappedNeedle> {
        let map = ByteMap::of(chain)?;
        // `memchr` looks for up to three bytes at once.
        let anchor = (0..needle.len())
            .filter(|&i| map.preimage(needle[i]).len() <= 3)
            .min_by_key(|&i| commonness(needle[i]))
            .unwrap_or(0);
        let starts = map.preimage(*needle.get(anchor)?);
        Some(MappedNeedle {
            map,
            needle: needle.to_vec(),
            anchor,
            starts,
        })
    }

    /// Whether the needle occurs in `value` as the map transforms it;
    /// `None` when the search gave up (a value built to make it slow), and
    /// the caller should transform and search.
    pub(crate) fn occurs_in(&self, value: &[u8]) -> Option<bool> {
        let (before, after) = self.needle.split_at(self.anchor);
        let after = after.get(1..).unwrap_or_default();
        // Each candidate is checked byte by byte; past this much checking
        // the transformed copy is cheaper.
        let mut work_left = value.len().saturating_mul(4).max(1024);
        let mut from = 0;
        while let Some(found) = value
            .get(from..)
            .and_then(|tail| find_any(&self.starts, tail))
        {
            let at = from + found;
            // The kept bytes before the candidate, nearest first, must be
            // the needle's bytes before the anchor, and those after it the
            // rest.
            let back = value.get(..at).unwrap_or_default().iter().rev();
            let forward = value.get(at + 1..).unwrap_or_default().iter();
            if self.follows(back, before.iter().rev(), &mut work_left)?
                && self.follows(forward, after.iter(), &mut work_left)?
            {
                return Some(true);
            }
            from = at + 1;
        }
        Some(false)
    }

    /// Whether the bytes of `value` the map keeps begin with `want`;
    /// `None` when `work_left` runs out.
    fn follows<'a>(
        &self,
        value: impl Iterator<Item = &'a u8>,
        mut want: impl Iterator<Item = &'a u8>,
        work_left: &mut usize,
    ) -> Option<bool> {
        let mut next = want.next();
        for &b in value {
            let Some(expected) = next else {
                break;
            };
            *work_left = work_left.checked_sub(1)?;
            match self.map.get(b) {
                None => continue,
                Some(m) if m == *expected => next = want.next(),
                Some(_) => break,
            }
        }
        Some(next.is_none())
    }
}

/// How common byte `b` is in web text (HTML, prose, URLs), 0 for the
/// rarest: bytes of the list, most common first, then all others.
fn commonness(b: u8) -> usize {
    const COMMON: &[u8] = b" etaoinsrhldcu<>/=\"mfpgwyb.,-_:;'vk0123456789";
    let lower = b.to_ascii_lowercase();
    COMMON
        .iter()
        .position(|&c| c == lower)
        .map_or(0, |i| COMMON.len() - i)
}

/// The first position in `haystack` of a byte of `bytes`.
fn find_any(bytes: &[u8], haystack: &[u8]) -> Option<usize> {
    match *bytes {
        [] => None,
        [a] => memchr::memchr(a, haystack),
        [a, b] => memchr::memchr2(a, b, haystack),
        [a, b, c] => memchr::memchr3(a, b, c, haystack),
        _ => haystack.iter().position(|b| bytes.contains(b)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PER_BYTE: [Transform; 5] = [
        Transform::Lowercase,
        Transform::Uppercase,
        Transform::RemoveWhitespace,
        Transform::RemoveNulls,
        Transform::ReplaceNulls,
    ];

    fn transformed(chain: &[Transform], value: &[u8]) -> Vec<u8> {
        let mut v = value.to_vec();
        for t in chain {
            v = crate::transform::apply(*t, &v).into_owned();
        }
        v
    }

    fn chain_of(picks: &[usize]) -> Vec<Transform> {
        picks
            .iter()
            .map(|&i| PER_BYTE[i % PER_BYTE.len()])
            .collect()
    }

    proptest! {
        #[test]
        fn a_chain_of_per_byte_steps_is_its_byte_map(
            picks in proptest::collection::vec(0usize..5, 1..4),
            value in proptest::collection::vec(
                prop_oneof![Just(b' '), Just(b'\t'), Just(0u8), Just(0xa0), Just(b'A'), Just(b'z'), any::<u8>()],
                0..80,
            ),
        ) {
            let chain = chain_of(&picks);
            let map = ByteMap::of(&chain).expect("per-byte chain");
            let mapped: Vec<u8> = value.iter().filter_map(|&b| map.get(b)).collect();
            prop_assert_eq!(mapped, transformed(&chain, &value));
        }

        #[test]
        fn contains_answers_as_a_search_in_the_copy(
            picks in proptest::collection::vec(0usize..5, 1..4),
            value in proptest::collection::vec(
                prop_oneof![Just(b' '), Just(b'<'), Just(b't'), Just(b'T'), Just(b'i'), Just(0u8), Just(b'\n')],
                0..120,
            ),
            cut in (0usize..60, 1usize..8),
            other in proptest::collection::vec(prop_oneof![Just(b'<'), Just(b't'), Just(b'i')], 1..6),
        ) {
            let chain = chain_of(&picks);
            let copy = transformed(&chain, &value);
            // A needle taken from the copy (present) and one made up.
            let (start, len) = cut;
            let start = start.min(copy.len());
            let taken = copy[start..(start + len).min(copy.len())].to_vec();
            for needle in [taken, other].into_iter().filter(|n| !n.is_empty()) {
                let want = memchr::memmem::find(&copy, &needle).is_some();
                let mapped = MappedNeedle::new(&chain, &needle).expect("per-byte chain");
                prop_assert_eq!(mapped.occurs_in(&value), Some(want));
            }
        }
    }

    #[test]
    fn crs_955300_chain() {
        let chain = [Transform::RemoveWhitespace, Transform::Lowercase];
        let needle =
            MappedNeedle::new(&chain, b"<title>punkholicshell</title>").expect("per-byte chain");
        let page = b"<html><head>< TITLE >PunkHolic Shell</ti tle></head>";
        assert_eq!(needle.occurs_in(page), Some(true));
        assert_eq!(
            needle.occurs_in(b"<title>punkholic shel</title>"),
            Some(false)
        );
        assert!(MappedNeedle::new(&[Transform::UrlDecodeUni], b"x").is_none());
        assert!(MappedNeedle::new(&[], b"x").is_none());
        assert!(MappedNeedle::new(&chain, b"").is_none());
    }

    #[test]
    fn gives_up_rather_than_take_quadratic_time() {
        // The anchor is a `b` (rarer than `c`): every byte of the value is
        // a candidate that matches 39 more before it fails.
        let needle = [vec![b'b'; 40], vec![b'c']].concat();
        let needle = MappedNeedle::new(&[Transform::Lowercase], &needle).expect("per-byte chain");
        let value = vec![b'b'; 64 * 1024];
        assert_eq!(needle.occurs_in(&value), None);
    }
}
