//! In-memory persistent collections (`initcol:ip=…`, `GLOBAL`, `SESSION`,
//! `USER`, `RESOURCE`), shared by all transactions of an engine.
//!
//! ModSecurity v2 keeps these in SDBM files; rasp keeps them in memory,
//! bounded in size (least recently used records are evicted) and in time
//! (`SecCollectionTimeout`, `expirevar`).

use std::num::NonZeroUsize;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use lru::LruCache;

use crate::variables::Pair;

/// Most records kept before the least recently used are evicted.
const MAX_RECORDS: NonZeroUsize = match NonZeroUsize::new(100_000) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};

#[derive(Debug)]
struct Record {
    vars: Vec<Pair>,
    /// Per-variable expiry (`expirevar`), by lower-case name.
    expiries: Vec<(Vec<u8>, Instant)>,
    last_used: Instant,
}

/// The shared store. Cheap to lock: one short critical section when a
/// transaction loads a collection and one when it saves it.
#[derive(Debug)]
pub(crate) struct CollectionStore {
    records: Mutex<LruCache<(String, Vec<u8>), Record>>,
}

impl Default for CollectionStore {
    fn default() -> CollectionStore {
        CollectionStore {
            records: Mutex::new(LruCache::new(MAX_RECORDS)),
        }
    }
}

impl CollectionStore {
    /// The variables of `collection:key`, without expired ones.
    pub(crate) fn load(&self, collection: &str, key: &[u8], timeout: Duration) -> Vec<Pair> {
        let Ok(mut records) = self.records.lock() else {
            return Vec::new();
        };
        let now = Instant::now();
        let id = (collection.to_string(), key.to_vec());
        let expired = records
            .peek(&id)
            .is_some_and(|r| now.duration_since(r.last_used) > timeout);
        if expired {
            records.pop(&id);
            return Vec::new();
        }
        match records.get_mut(&id) {
            Some(r) => {
                drop_expired_vars(r, now);
                r.expiries.retain(|(_, at)| *at > now);
                r.last_used = now;
                r.vars.clone()
            }
            None => Vec::new(),
        }
    }

    /// Saves `collection:key`, applying `expirevar` requests.
    pub(crate) fn save(
        &self,
        collection: &str,
        key: &[u8],
        vars: Vec<Pair>,
        expire: &[(Vec<u8>, Duration)],
    ) {
        let Ok(mut records) = self.records.lock() else {
            return;
        };
        let now = Instant::now();
        let id = (collection.to_string(), key.to_vec());
        // A new record pushes out the least recently used one when the
        // store is full; saving one already held evicts nothing.
        let record = records.get_or_insert_mut(id, || Record {
            vars: Vec::new(),
            expiries: Vec::new(),
            last_used: now,
        });
        record.vars = vars;
        record.last_used = now;
        for (name, after) in expire {
            record.expiries.retain(|(n, _)| n != name);
            record.expiries.push((name.clone(), now + *after));
        }
        drop_expired_vars(record, now);
    }

    /// Number of records held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.records.lock().map(|r| r.len()).unwrap_or(0)
    }
}

/// Drops the variables of `record` whose `expirevar` time has passed.
fn drop_expired_vars(record: &mut Record, now: Instant) {
    let expiries = &record.expiries;
    record.vars.retain(|p| {
        !expiries
            .iter()
            .any(|(name, at)| *at <= now && p.name.eq_ignore_ascii_case(name))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip_and_expire() {
        let store = CollectionStore::default();
        let hour = Duration::from_secs(3600);
        store.save(
            "ip",
            b"10.0.0.1",
            vec![Pair::new("hits", "3"), Pair::new("gone", "1")],
            &[(b"gone".to_vec(), Duration::ZERO)],
        );
        let vars = store.load("ip", b"10.0.0.1", hour);
        assert_eq!(vars.len(), 1);
        assert_eq!(vars[0].value, b"3");
        assert!(store.load("ip", b"10.0.0.2", hour).is_empty());
    }

    #[test]
    fn store_is_bounded() {
        let store = CollectionStore::default();
        for i in 0..(MAX_RECORDS.get() + 50) {
            store.save(
                "ip",
                i.to_string().as_bytes(),
                vec![Pair::new("n", "1")],
                &[],
            );
        }
        assert_eq!(store.len(), MAX_RECORDS.get());
        // The oldest records went, the newest stayed.
        let hour = Duration::from_secs(3600);
        assert!(store.load("ip", b"0", hour).is_empty());
        let last = (MAX_RECORDS.get() + 49).to_string();
        assert_eq!(store.load("ip", last.as_bytes(), hour).len(), 1);
    }

    #[test]
    fn saving_a_held_record_at_capacity_evicts_nothing() {
        let store = CollectionStore::default();
        for i in 0..MAX_RECORDS.get() {
            store.save(
                "ip",
                i.to_string().as_bytes(),
                vec![Pair::new("n", "1")],
                &[],
            );
        }
        let hour = Duration::from_secs(3600);
        // Record "1" was used last, so "0" is the least recently used.
        assert_eq!(store.load("ip", b"1", hour).len(), 1);
        store.save("ip", b"1", vec![Pair::new("n", "2")], &[]);
        assert_eq!(store.len(), MAX_RECORDS.get());
        assert_eq!(store.load("ip", b"0", hour).len(), 1);
        assert_eq!(store.load("ip", b"1", hour)[0].value, b"2");
    }
}
