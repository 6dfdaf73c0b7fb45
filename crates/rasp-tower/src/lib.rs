//! # rasp-tower
//!
//! tower middleware for rasp:
//!
//! - [`RaspLayer`] runs a compiled SecLang ruleset (the OWASP CRS or the
//!   built-in rules) on every request and response of a tower service
//!   (hyper 1, axum 0.8, tonic; HTTP/1.1 and HTTP/2).
//! - [`RateLimitLayer`] limits requests per client and rejects with 429
//!   instead of queueing.
//! - [`audit`] writes ModSecurity-style JSON audit records off the request
//!   path; [`telemetry`] names the metrics recorded through the `metrics`
//!   facade.
#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![warn(unreachable_pub)]

mod macros;

pub mod client;
pub mod rate_limit;
pub mod telemetry;

pub use client::{ClientAddr, PeerAddr, TrustedProxies};
pub use rate_limit::{KeyedRateLimit, KeyedRateLimitLayer, RateLimitLayer};
