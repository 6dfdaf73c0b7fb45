//! libinjection's answers for the values a transaction already checked.
//!
//! Why: requests repeat values (a JSON array its members' values, a form
//! its fields in the query and body, CRS several targets holding one
//! header), and CRS's 942100 runs libinjection on every one: the bench's
//! 1 KiB JSON POST checked five array member names twice, about 2,400
//! instructions each (−0.9 % of its instructions once looked up; those
//! names are now answered by the one-token test, see `one_token`). A
//! repeated value is looked up (a hash and a comparison). The
//! memo is the transaction's own and is emptied for the next one; it holds
//! short values only, and at most [`ENTRIES`] of them. libinjection answers
//! from the bytes alone, so a remembered answer is the answer.

use std::hash::BuildHasher;
use std::ops::Range;

use foldhash::fast::RandomState;

/// Values longer than this are checked every time (they rarely repeat).
const MAX_LEN: usize = 128;

/// At most this many values are remembered per transaction.
const ENTRIES: usize = 64;

/// What libinjection said of each value checked so far.
#[derive(Debug, Default)]
pub(crate) struct SqliMemo {
    /// The values, back to back.
    bytes: Vec<u8>,
    entries: Vec<Entry>,
    hasher: RandomState,
}

#[derive(Debug)]
struct Entry {
    hash: u64,
    value: Range<usize>,
    fingerprint: Option<Box<str>>,
}

impl SqliMemo {
    /// [`super::detect_sqli`] of `value`, from the memo when the
    /// transaction checked the same bytes before.
    pub(crate) fn detect(&mut self, value: &[u8]) -> Option<String> {
        // One-token values are answered faster than looked up.
        if super::one_token(value) {
            return None;
        }
        if value.len() > MAX_LEN {
            return super::libinjection(value);
        }
        let hash = self.hasher.hash_one(value);
        let bytes = &self.bytes;
        if let Some(e) = self
            .entries
            .iter()
            .find(|e| e.hash == hash && bytes.get(e.value.clone()) == Some(value))
        {
            return e.fingerprint.as_deref().map(str::to_owned);
        }
        let fingerprint = super::libinjection(value);
        if self.entries.len() < ENTRIES {
            let start = self.bytes.len();
            self.bytes.extend_from_slice(value);
            self.entries.push(Entry {
                hash,
                value: start..self.bytes.len(),
                fingerprint: fingerprint.as_deref().map(Box::from),
            });
        }
        fingerprint
    }

    /// Forgets every value (a new transaction), keeping the buffers.
    pub(crate) fn clear(&mut self) {
        self.bytes.clear();
        self.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_as_libinjection_for_new_and_repeated_values() {
        let mut memo = SqliMemo::default();
        let values: [&[u8]; 6] = [
            b"1' OR '1'='1",
            b"RUN-TR-044",
            b"1' OR '1'='1",
            b"RUN-TR-044",
            b"1 union select 2",
            b"1' OR '1'='2",
        ];
        for v in values {
            assert_eq!(memo.detect(v), super::super::detect_sqli(v));
        }
        // Each distinct value is kept once.
        assert_eq!(memo.entries.len(), 4);
        memo.clear();
        assert!(memo.entries.is_empty() && memo.bytes.is_empty());
    }

    #[test]
    fn long_values_and_a_full_memo_are_checked_directly() {
        let mut memo = SqliMemo::default();
        let long = format!("1' OR '1'='1 {}", "x".repeat(MAX_LEN));
        assert_eq!(
            memo.detect(long.as_bytes()).as_deref(),
            super::super::detect_sqli(long.as_bytes()).as_deref()
        );
        assert!(memo.entries.is_empty());
        for i in 0..ENTRIES + 8 {
            let v = format!("name.{i} x");
            assert_eq!(
                memo.detect(v.as_bytes()),
                super::super::detect_sqli(v.as_bytes())
            );
        }
        assert_eq!(memo.entries.len(), ENTRIES);
    }
}
