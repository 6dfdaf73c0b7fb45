//! Per-client rate limiting that rejects instead of queueing: the
//! in-process analog of ingress-nginx's `limit-rps`, `limit-rpm`,
//! `limit-connections` and `limit-whitelist` annotations.
//!
//! Each client (by default its IP, see [`PeerIp`]; any
//! [`KeyExtractor`] may choose another key) gets GCRA buckets from
//! `governor` for requests per second and/or per minute, each with a
//! burst, and optionally a cap on requests in flight. A request over a
//! limit is answered at once with 429 and `Retry-After` (503 in
//! [`nginx_compatible`](RateLimitLayer::nginx_compatible) mode); the inner
//! service is not called. Requests from allow-listed networks are never
//! limited.
//!
//! Unlike tower's `RateLimit` (backpressure through `poll_ready`) and
//! `ConcurrencyLimit` (queueing), this middleware never returns `Pending`
//! for a limited client, and its state lives behind an `Arc` shared by every
//! service the layer makes, so the per-connection clones that hyper and
//! axum create share one limit.
//!
//! Memory is bounded: keys whose bucket has refilled are swept out every
//! [`cleanup_interval`](RateLimitLayer::cleanup_interval), and at most
//! [`max_keys`](RateLimitLayer::max_keys) are tracked at once.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::Full;
//! use rasp_tower::{PeerAddr, RateLimitLayer};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let limit = RateLimitLayer::new()
//!     .per_second(10)
//!     .burst(20)
//!     .max_concurrent(8)
//!     .allow("10.0.0.0/8".parse().unwrap());
//! let svc = ServiceBuilder::new().layer(limit).service_fn(|_req: Request<Full<Bytes>>| async {
//!     Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"hello"))))
//! });
//! // The server puts the connection's peer address into each request.
//! let mut req = Request::new(Full::default());
//! req.extensions_mut().insert(PeerAddr("192.0.2.1:40000".parse().unwrap()));
//! let res = svc.oneshot(req).await.unwrap();
//! assert_eq!(res.status(), StatusCode::OK);
//! # }
//! ```

mod body;
mod clock;
mod future;
mod key;
mod layer;
mod service;
mod state;

pub use body::RateLimitBody;
pub use future::ResponseFuture;
pub use key::{KeyExtractor, KeyInput, PeerIp};
pub use layer::{KeyedRateLimitLayer, RateLimitLayer};
pub use service::KeyedRateLimit;
