//! The shared limiter state: governor GCRA buckets per key with a hard cap
//! on the number of keys, in-flight counters, and idle-key eviction.

use std::fmt;
use std::hash::Hash;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use dashmap::DashMap;
use governor::middleware::NoOpMiddleware;
use governor::nanos::Nanos;
use governor::state::keyed::{DashMapStateStore, ShrinkableKeyedStateStore};
use governor::state::StateStore;
use governor::{Quota, RateLimiter};

use super::clock::{TokioClock, TokioInstant};

/// A bucket key, plus the one shared bucket used once the table is full.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Slot<K> {
    Key(K),
    Overflow,
}

/// governor's DashMap store with a hard cap on the number of keys.
///
/// Why a cap on top of idle eviction: eviction only removes keys whose
/// bucket is full again, so a client rotating through fresh addresses
/// faster than buckets refill would still grow the table without bound.
/// Once `max_keys` are tracked, keys not in the table share one overflow
/// bucket: memory stays bounded and the rotating client stays limited;
/// clients already tracked are not affected.
pub(crate) struct CappedStore<K: Hash + Eq> {
    map: DashMapStateStore<Slot<K>>,
    max_keys: usize,
}

impl<K: Hash + Eq + Clone> StateStore for CappedStore<K> {
    type Key = Slot<K>;

    fn measure_and_replace<T, F, E>(&self, key: &Slot<K>, f: F) -> Result<T, E>
    where
        F: Fn(Option<Nanos>) -> Result<(T, Nanos), E>,
    {
        let key = if !self.map.contains_key(key) && self.map.len() >= self.max_keys {
            metrics::counter!(crate::telemetry::RATE_LIMIT_OVERFLOW).increment(1);
            &Slot::Overflow
        } else {
            key
        };
        StateStore::measure_and_replace(&self.map, key, f)
    }
}

impl<K: Hash + Eq + Clone> ShrinkableKeyedStateStore<Slot<K>> for CappedStore<K> {
    fn retain_recent(&self, drop_below: Nanos) {
        ShrinkableKeyedStateStore::retain_recent(&self.map, drop_below);
    }

    fn shrink_to_fit(&self) {
        self.map.shrink_to_fit();
    }

    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

type Limiter<K> = RateLimiter<Slot<K>, CappedStore<K>, TokioClock, NoOpMiddleware<TokioInstant>>;

fn limiter<K: Hash + Eq + Clone>(quota: Quota, max_keys: usize) -> Limiter<K> {
    let store = CappedStore {
        map: DashMapStateStore::default(),
        max_keys,
    };
    RateLimiter::new(quota, store, TokioClock)
}

/// Numbers the state is built from (already validated by the layer).
#[derive(Clone, Debug)]
pub(crate) struct StateConfig {
    pub(crate) per_second: Option<(NonZeroU32, NonZeroU32)>,
    pub(crate) per_minute: Option<(NonZeroU32, NonZeroU32)>,
    pub(crate) max_concurrent: Option<u32>,
    pub(crate) max_keys: usize,
    pub(crate) cleanup_interval: Duration,
}

/// Everything the clones of one layer share.
pub(crate) struct SharedState<K: Hash + Eq + Clone> {
    per_second: Option<Limiter<K>>,
    per_minute: Option<Limiter<K>>,
    max_concurrent: Option<u32>,
    in_flight: DashMap<K, u32>,
    start: tokio::time::Instant,
    last_cleanup_ms: AtomicU64,
    cleanup_interval: Duration,
}

impl<K: Hash + Eq + Clone> fmt::Debug for SharedState<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedState")
            .field("per_second", &self.per_second.is_some())
            .field("per_minute", &self.per_minute.is_some())
            .field("max_concurrent", &self.max_concurrent)
            .field("in_flight_keys", &self.in_flight.len())
            .finish()
    }
}

/// The outcome of [`SharedState::check`].
pub(crate) enum Decision<K: Hash + Eq + Clone + Send + Sync + 'static> {
    Allowed(Option<InFlightGuard<K>>),
    Limited { retry_after: Duration },
}

/// Holds one in-flight slot of a key until dropped.
pub(crate) struct InFlightGuard<K: Hash + Eq + Clone + Send + Sync + 'static> {
    state: Arc<SharedState<K>>,
    key: K,
}

impl<K: Hash + Eq + Clone + Send + Sync + 'static> Drop for InFlightGuard<K> {
    fn drop(&mut self) {
        if let Some(mut n) = self.state.in_flight.get_mut(&self.key) {
            *n = n.saturating_sub(1);
        }
        // Remove zero counters so the table only holds clients with
        // requests in flight.
        self.state.in_flight.remove_if(&self.key, |_, n| *n == 0);
    }
}

impl<K: Hash + Eq + Clone + Send + Sync + fmt::Debug + 'static> SharedState<K> {
    pub(crate) fn new(cfg: &StateConfig) -> SharedState<K> {
        SharedState {
            per_second: cfg.per_second.map(|(rate, burst)| {
                limiter(Quota::per_second(rate).allow_burst(burst), cfg.max_keys)
            }),
            per_minute: cfg.per_minute.map(|(rate, burst)| {
                limiter(Quota::per_minute(rate).allow_burst(burst), cfg.max_keys)
            }),
            max_concurrent: cfg.max_concurrent,
            in_flight: DashMap::new(),
            start: tokio::time::Instant::now(),
            last_cleanup_ms: AtomicU64::new(0),
            cleanup_interval: cfg.cleanup_interval,
        }
    }

    /// Counts one request of `key`. The in-flight cap is checked first
    /// because it costs no token; a request refused by the per-minute
    /// bucket has already spent a per-second token (the buckets are
    /// independent, as nginx's `limit_req` zones are).
    pub(crate) fn check(self: &Arc<Self>, key: &K) -> Decision<K> {
        self.maybe_cleanup();
        let guard = match self.max_concurrent {
            Some(max) => {
                let mut n = self.in_flight.entry(key.clone()).or_insert(0);
                if *n >= max {
                    return Decision::Limited {
                        retry_after: Duration::from_secs(1),
                    };
                }
                *n += 1;
                drop(n);
                Some(InFlightGuard {
                    state: Arc::clone(self),
                    key: key.clone(),
                })
            }
            None => None,
        };
        let slot = Slot::Key(key.clone());
        for limiter in self.limiters() {
            if let Err(not_until) = limiter.check_key(&slot) {
                let retry_after =
                    not_until.wait_time_from(governor::clock::Clock::now(&TokioClock));
                return Decision::Limited { retry_after };
            }
        }
        Decision::Allowed(guard)
    }

    /// The configured buckets (per second, per minute).
    fn limiters(&self) -> impl Iterator<Item = &Limiter<K>> {
        [&self.per_second, &self.per_minute].into_iter().flatten()
    }

    /// Number of keys the buckets currently track (the larger table).
    pub(crate) fn tracked_keys(&self) -> usize {
        self.limiters().map(|l| l.len()).max().unwrap_or(0)
    }

    /// Drops keys whose buckets are full again (indistinguishable from a
    /// new key) and gives the memory back.
    pub(crate) fn cleanup(&self) {
        for limiter in self.limiters() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        self.in_flight.shrink_to_fit();
        metrics::gauge!(crate::telemetry::RATE_LIMIT_KEYS).set(self.tracked_keys() as f64);
    }

    /// Runs [`cleanup`](Self::cleanup) once per interval, from whichever
    /// request notices first; off the request path when a tokio runtime is
    /// there (the sweep is O(keys)).
    fn maybe_cleanup(self: &Arc<Self>) {
        let now_ms = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX);
        let last = self.last_cleanup_ms.load(Ordering::Relaxed);
        let interval = u64::try_from(self.cleanup_interval.as_millis()).unwrap_or(u64::MAX);
        if now_ms.saturating_sub(last) < interval {
            return;
        }
        if self
            .last_cleanup_ms
            .compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed)
            .is_err()
        {
            return;
        }
        match tokio::runtime::Handle::try_current() {
            Ok(handle) => {
                let state = Arc::clone(self);
                drop(handle.spawn_blocking(move || state.cleanup()));
            }
            Err(_) => self.cleanup(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn cfg(rps: u32, burst: u32, max_keys: usize) -> StateConfig {
        StateConfig {
            per_second: Some((
                NonZeroU32::new(rps).unwrap(),
                NonZeroU32::new(burst).unwrap(),
            )),
            per_minute: None,
            max_concurrent: None,
            max_keys,
            cleanup_interval: Duration::from_secs(3600),
        }
    }

    fn ip(n: u32) -> IpAddr {
        IpAddr::V4(Ipv4Addr::from(n))
    }

    /// A million distinct clients: the table never exceeds its cap (plus
    /// the overflow bucket), and idle keys are evicted once their buckets
    /// refill.
    #[tokio::test(start_paused = true)]
    async fn memory_bounded_with_a_million_keys() {
        let state = Arc::new(SharedState::<IpAddr>::new(&cfg(10, 10, 50_000)));
        for n in 0..1_000_000u32 {
            let _ = state.check(&ip(n));
        }
        assert!(
            state.tracked_keys() <= 50_001,
            "tracked {}",
            state.tracked_keys()
        );
        assert!(state.tracked_keys() >= 50_000);
        // A rotating client is still limited: the overflow bucket is empty.
        assert!(matches!(
            state.check(&ip(2_000_000)),
            Decision::Limited { .. }
        ));
        // A tracked client keeps its own bucket.
        assert!(matches!(state.check(&ip(1)), Decision::Allowed(_)));
        // After a full refill period every key is idle and goes.
        tokio::time::advance(Duration::from_secs(2)).await;
        state.cleanup();
        assert_eq!(state.tracked_keys(), 0);
    }

    #[tokio::test(start_paused = true)]
    async fn cleanup_keeps_busy_keys() {
        let state = Arc::new(SharedState::<IpAddr>::new(&cfg(1, 5, 1000)));
        for _ in 0..5 {
            let _ = state.check(&ip(1));
        }
        let _ = state.check(&ip(2));
        tokio::time::advance(Duration::from_millis(2500)).await;
        state.cleanup();
        // ip(2) refilled after 1 s (governor keeps one more emission
        // interval of slack); ip(1) needs 5 s.
        assert_eq!(state.tracked_keys(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn in_flight_table_empties() {
        let mut c = cfg(100, 100, 1000);
        c.max_concurrent = Some(2);
        let state = Arc::new(SharedState::<IpAddr>::new(&c));
        let a = state.check(&ip(1));
        let b = state.check(&ip(1));
        assert!(matches!(state.check(&ip(1)), Decision::Limited { .. }));
        drop(a);
        let c2 = state.check(&ip(1));
        assert!(matches!(c2, Decision::Allowed(Some(_))));
        drop((b, c2));
        assert_eq!(state.in_flight.len(), 0);
    }
}
