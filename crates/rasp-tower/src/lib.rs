//! # rasp-tower
//!
//! tower middleware for rasp:
//!
//! - [`RaspLayer`] runs a compiled SecLang ruleset (the OWASP CRS or the
//!   built-in rules) on every request and response of a tower service
//!   (hyper 1, axum 0.8, tonic; HTTP/1.1 and HTTP/2). See [`rasp`].
//! - [`RateLimitLayer`] limits requests per client and rejects with 429
//!   instead of queueing. See [`rate_limit`].
//! - [`audit`] writes ModSecurity-style JSON audit records off the request
//!   path; [`telemetry`] names the metrics recorded through the `metrics`
//!   facade.
//! - [`client`] decides who the client is (peer address, trusted proxies).
//!
//! # Quick start
//!
//! ```no_run
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response};
//! use http_body_util::Full;
//! use hyper_util::rt::{TokioExecutor, TokioIo};
//! use hyper_util::server::conn::auto;
//! use hyper_util::service::TowerToHyperService;
//! use rasp_tower::{PeerAddr, RateLimitLayer, Rules, ServiceBuilderExt};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // The built-in rules; `Rules::from_crs_dir(dir)?` for the OWASP CRS.
//! let rules = Rules::embedded()?;
//! let app = ServiceBuilder::new()
//!     .keyed_rate_limit(RateLimitLayer::new().per_second(10).burst(20))
//!     .rasp(rules)
//!     .service_fn(|_req: Request<_>| async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from("hi")))) });
//!
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! loop {
//!     let (stream, peer) = listener.accept().await?;
//!     let app = app.clone();
//!     tokio::spawn(async move {
//!         // rasp needs the client address of each request.
//!         let svc = tower::service_fn(move |mut req: Request<hyper::body::Incoming>| {
//!             req.extensions_mut().insert(PeerAddr(peer));
//!             app.clone().oneshot(req)
//!         });
//!         let _ = auto::Builder::new(TokioExecutor::new())
//!             .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
//!             .await;
//!     });
//! }
//! # }
//! ```
//!
//! `examples/protected_server.rs` in the workspace is the complete version
//! (audit log, `/metrics`, flags).
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod builder;
mod macros;

pub mod audit;
pub mod client;
pub mod rasp;
pub mod rate_limit;
pub mod telemetry;

pub use audit::AuditLog;
pub use builder::ServiceBuilderExt;
pub use client::{ClientAddr, LocalAddr, PeerAddr, TrustedProxies};
pub use rasp::{
    CrsOptions, Rasp, RaspLayer, ReloadHandle, RouteExclusion, Rules, RulesError, EMBEDDED_RULES,
    MATCHED_RULES_HEADER, TRANSACTION_ID_HEADER,
};
pub use rate_limit::{KeyedRateLimit, KeyedRateLimitLayer, RateLimitLayer};
