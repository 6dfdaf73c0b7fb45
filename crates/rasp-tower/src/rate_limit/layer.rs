//! [`RateLimitLayer`]: the configuration and the shared state.

use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use http::StatusCode;
use ipnet::IpNet;
use tower_layer::Layer;

use super::key::{KeyExtractor, PeerIp};
use super::service::KeyedRateLimit;
use super::state::{SharedState, StateConfig};
use crate::client::TrustedProxies;

/// Configuration of the rate limiter; the services it makes share one
/// state. See the [module docs](super).
///
/// # Defaults
/// - no limit at all until [`per_second`](Self::per_second),
///   [`per_minute`](Self::per_minute) or
///   [`max_concurrent`](Self::max_concurrent) is set
/// - burst: equal to the rate (`per_second(10)` admits 10 at once)
/// - status: 429 with `Retry-After`
/// - key: [`PeerIp`] (IPv6 by /64), no trusted proxy, empty allow-list
/// - `max_keys`: 1,000,000; `cleanup_interval`: 60 s
#[derive(Clone, Debug)]
pub struct RateLimitLayer<X: KeyExtractor = PeerIp> {
    config: Arc<Config>,
    key: X,
    shared: Arc<OnceLock<Arc<SharedState<X::Key>>>>,
}

/// Another name for [`RateLimitLayer`], matching the service's name.
pub type KeyedRateLimitLayer<X = PeerIp> = RateLimitLayer<X>;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) per_second: Option<u32>,
    pub(crate) per_minute: Option<u32>,
    pub(crate) burst: Option<u32>,
    pub(crate) burst_multiplier: u32,
    pub(crate) max_concurrent: Option<u32>,
    pub(crate) allow: Vec<IpNet>,
    pub(crate) trusted: TrustedProxies,
    pub(crate) status: StatusCode,
    pub(crate) max_keys: usize,
    pub(crate) cleanup_interval: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            per_second: None,
            per_minute: None,
            burst: None,
            burst_multiplier: 1,
            max_concurrent: None,
            allow: Vec::new(),
            trusted: TrustedProxies::none(),
            status: StatusCode::TOO_MANY_REQUESTS,
            max_keys: 1_000_000,
            cleanup_interval: Duration::from_secs(60),
        }
    }
}

impl Config {
    fn state_config(&self) -> StateConfig {
        let quota = |rate: Option<u32>| {
            let rate = NonZeroU32::new(rate?)?;
            let burst = self
                .burst
                .unwrap_or_else(|| rate.get().saturating_mul(self.burst_multiplier));
            Some((rate, NonZeroU32::new(burst).unwrap_or(rate)))
        };
        StateConfig {
            per_second: quota(self.per_second),
            per_minute: quota(self.per_minute),
            max_concurrent: self.max_concurrent,
            max_keys: self.max_keys.max(1),
            cleanup_interval: self.cleanup_interval,
        }
    }
}

impl Default for RateLimitLayer<PeerIp> {
    fn default() -> Self {
        RateLimitLayer::new()
    }
}

impl RateLimitLayer<PeerIp> {
    /// A layer with no limits yet (see the `# Defaults`).
    pub fn new() -> RateLimitLayer<PeerIp> {
        RateLimitLayer {
            config: Arc::new(Config::default()),
            key: PeerIp::default(),
            shared: Arc::default(),
        }
    }
}

impl<X: KeyExtractor> RateLimitLayer<X> {
    fn with(mut self, f: impl FnOnce(&mut Config)) -> RateLimitLayer<X> {
        f(Arc::make_mut(&mut self.config));
        // A changed configuration gets its own state.
        self.shared = Arc::default();
        self
    }

    /// Requests per second per client (`limit-rps`). 0 turns it off.
    /// Default is off.
    pub fn per_second(self, rate: u32) -> RateLimitLayer<X> {
        self.with(|c| c.per_second = Some(rate))
    }

    /// Requests per minute per client (`limit-rpm`). 0 turns it off.
    /// Default is off.
    pub fn per_minute(self, rate: u32) -> RateLimitLayer<X> {
        self.with(|c| c.per_minute = Some(rate))
    }

    /// How many requests may arrive at once before the rate applies, for
    /// each bucket. Default is the rate itself (5 × the rate in
    /// [`nginx_compatible`](Self::nginx_compatible) mode).
    pub fn burst(self, burst: u32) -> RateLimitLayer<X> {
        self.with(|c| c.burst = Some(burst))
    }

    /// Requests in flight per client (`limit-connections`; rasp counts
    /// requests, which is the same thing for HTTP/1.1 without pipelining
    /// and the meaningful thing for HTTP/2). A request is in flight until
    /// its response body ends. Default is unlimited.
    pub fn max_concurrent(self, max: u32) -> RateLimitLayer<X> {
        self.with(|c| c.max_concurrent = Some(max))
    }

    /// Never limits clients in `net` (`limit-whitelist`). Default is an
    /// empty list.
    pub fn allow(self, net: IpNet) -> RateLimitLayer<X> {
        self.with(|c| c.allow.push(net))
    }

    /// Which peers may set the client address through forwarding headers.
    /// Default is none.
    pub fn trusted_proxies(self, trusted: TrustedProxies) -> RateLimitLayer<X> {
        self.with(|c| c.trusted = trusted)
    }

    /// The status of a rejection. Default is 429 Too Many Requests.
    pub fn status(self, status: StatusCode) -> RateLimitLayer<X> {
        self.with(|c| c.status = status)
    }

    /// ingress-nginx semantics: burst = 5 × rate (`limit-burst-multiplier`
    /// default, served without delay) and rejections with 503, as nginx's
    /// `limit_req_status` default. An explicit [`burst`](Self::burst) still
    /// wins.
    pub fn nginx_compatible(self) -> RateLimitLayer<X> {
        self.with(|c| {
            c.burst_multiplier = 5;
            c.status = StatusCode::SERVICE_UNAVAILABLE;
        })
    }

    /// The most keys tracked at once; beyond it, new keys share one
    /// overflow bucket until idle keys are swept. Default is 1,000,000
    /// (about 100 MB at worst).
    pub fn max_keys(self, max: usize) -> RateLimitLayer<X> {
        self.with(|c| c.max_keys = max)
    }

    /// How often idle keys are swept. Default is 60 s.
    pub fn cleanup_interval(self, every: Duration) -> RateLimitLayer<X> {
        self.with(|c| c.cleanup_interval = every)
    }

    /// Limits by another key (e.g. an API token header).
    pub fn key<Y: KeyExtractor>(self, key: Y) -> RateLimitLayer<Y> {
        RateLimitLayer {
            config: self.config,
            key,
            shared: Arc::default(),
        }
    }

    /// Number of keys the buckets currently track (for monitoring and
    /// tests); 0 before the first service was made.
    pub fn tracked_keys(&self) -> usize {
        self.shared.get().map_or(0, |s| s.tracked_keys())
    }

    fn state(&self) -> Arc<SharedState<X::Key>> {
        Arc::clone(
            self.shared
                .get_or_init(|| Arc::new(SharedState::new(&self.config.state_config()))),
        )
    }
}

impl<S, X: KeyExtractor> Layer<S> for RateLimitLayer<X> {
    type Service = KeyedRateLimit<S, X>;

    fn layer(&self, inner: S) -> KeyedRateLimit<S, X> {
        KeyedRateLimit::new(
            inner,
            Arc::clone(&self.config),
            self.key.clone(),
            self.state(),
        )
    }
}
