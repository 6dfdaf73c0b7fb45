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
    CrsOptions, Rasp, RaspLayer, ReloadHandle, RouteExclusion, Rules, RulesError, EMBEDDED_RULES, MATCHED_RULES_HEADER,
    TRANSACTION_ID_HEADER,
};
pub use rate_limit::{KeyedRateLimit, KeyedRateLimitLayer, RateLimitLayer};
