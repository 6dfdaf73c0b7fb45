//! A copy-on-write output buffer shared by the single-pass transformations.
//!
//! Most values a WAF sees are not encoded at all, so a decoder usually
//! produces exactly its input. [`CowWriter`] starts out *borrowing*: as long
//! as every pushed byte equals the input byte at the same output position it
//! only advances a counter. The first byte that differs (or a push past the
//! end of the input) copies the agreed prefix into a `Vec` and switches to
//! owned mode. An output that is a prefix of the input (a truncation) never
//! allocates either.

use std::borrow::Cow;

/// Output under construction; see the module docs.
#[derive(Debug)]
pub(super) struct CowWriter<'a> {
    input: &'a [u8],
    /// Output length while borrowing (the output is `input[..len]`).
    len: usize,
    owned: Option<Vec<u8>>,
}

impl<'a> CowWriter<'a> {
    /// A writer whose output is compared against `input`.
    pub(super) fn new(input: &'a [u8]) -> Self {
        CowWriter {
            input,
            len: 0,
            owned: None,
        }
    }

    /// Appends one byte.
    #[inline]
    pub(super) fn push(&mut self, b: u8) {
        match &mut self.owned {
            Some(v) => v.push(b),
            None => {
                if self.input.get(self.len) == Some(&b) {
                    self.len += 1;
                } else {
                    self.diverge().push(b);
                }
            }
        }
    }

    /// Appends several bytes. A run equal to the input at the current
    /// position (a decoder copying what needs no decoding) costs one
    /// comparison while borrowing.
    #[inline]
    pub(super) fn extend(&mut self, bytes: &[u8]) {
        match &mut self.owned {
            Some(v) => v.extend_from_slice(bytes),
            None => {
                let end = self.len + bytes.len();
                if self.input.get(self.len..end) == Some(bytes) {
                    self.len = end;
                } else {
                    for &b in bytes {
                        self.push(b);
                    }
                }
            }
        }
    }

    /// Switches to owned mode, copying the prefix agreed so far.
    fn diverge(&mut self) -> &mut Vec<u8> {
        let prefix = self.input.get(..self.len).unwrap_or(self.input);
        // Decoders shrink their input and encoders grow it a little; the
        // input length is the right first guess for both.
        let mut v = Vec::with_capacity(self.input.len().max(prefix.len() + 8));
        v.extend_from_slice(prefix);
        self.owned.insert(v)
    }

    /// The finished output: borrowed (the whole input or a prefix of it)
    /// unless some byte differed.
    pub(super) fn finish(self) -> Cow<'a, [u8]> {
        match self.owned {
            Some(v) => Cow::Owned(v),
            None => Cow::Borrowed(self.input.get(..self.len).unwrap_or(self.input)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_output_borrows() {
        let mut w = CowWriter::new(b"abc");
        w.extend(b"abc");
        assert!(matches!(w.finish(), Cow::Borrowed(b"abc")));
    }

    #[test]
    fn prefix_output_borrows() {
        let mut w = CowWriter::new(b"abc");
        w.extend(b"ab");
        assert!(matches!(w.finish(), Cow::Borrowed(b"ab")));
    }

    #[test]
    fn divergence_copies_prefix() {
        let mut w = CowWriter::new(b"abc");
        w.extend(b"aXcd");
        assert_eq!(w.finish().as_ref(), b"aXcd");
    }

    proptest::proptest! {
        #[test]
        fn output_is_what_was_written_and_borrows_only_a_prefix(
            input in proptest::collection::vec(0u8..4, 0..16),
            writes in proptest::collection::vec(
                (proptest::bool::ANY, proptest::collection::vec(0u8..4, 0..5)), 0..8),
        ) {
            let mut w = CowWriter::new(&input);
            let mut expected = Vec::new();
            for (one_by_one, bytes) in &writes {
                if *one_by_one {
                    bytes.iter().for_each(|&b| w.push(b));
                } else {
                    w.extend(bytes);
                }
                expected.extend_from_slice(bytes);
            }
            let out = w.finish();
            proptest::prop_assert_eq!(out.as_ref(), expected.as_slice());
            if let Cow::Borrowed(b) = out {
                proptest::prop_assert!(input.starts_with(b));
            }
        }
    }
}
