//! The WAF layer: [`RaspLayer`] runs a SecLang ruleset (the OWASP CRS, or
//! the built-in rules of [`Rules::embedded`]) on every exchange of a tower
//! service.
//!
//! For each request, [`Rasp`] creates an engine transaction and
//!
//! 1. feeds it the connection (client address from [`PeerAddr`] and the
//!    [`TrustedProxies`] rules), the request line and the headers, applies
//!    the [`RouteExclusion`]s and runs phase 1;
//! 2. buffers the request body as far as the ruleset's
//!    `SecRequestBodyLimit` allows (with `Reject`, a larger body is
//!    answered 413; with `ProcessPartial`, the prefix is inspected and the
//!    rest streams through), then runs phase 2; the inner service then
//!    receives exactly the bytes the client sent, trailers included;
//! 3. runs phase 3 on the response headers and, when
//!    `SecResponseBodyAccess On` and the content type is one of
//!    `SecResponseBodyMimeType`, phase 4 on the response body up to
//!    `SecResponseBodyLimit`;
//! 4. always runs phase 5, counts the outcome and writes the audit record.
//!
//! A block answers with the interruption's status (403 unless a rule says
//! otherwise), a short text body and the transaction id, also in the
//! [`TRANSACTION_ID_HEADER`] response header; nothing about the rules is
//! sent. `SecRuleEngine DetectionOnly` never blocks. A panic inside the
//! engine answers 500 (fail closed) unless the layer is set to
//! `FailMode::Open`.
//!
//! ```
//! use std::convert::Infallible;
//! use bytes::Bytes;
//! use http::{Request, Response, StatusCode};
//! use http_body_util::{BodyExt, Full};
//! use rasp_tower::{PeerAddr, RaspLayer, Rules};
//! use tower::{ServiceBuilder, ServiceExt};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
//! // Rules::embedded()? or Rules::from_crs_dir(dir)? in real use.
//! let rules = Rules::from_seclang("example", r#"SecRule ARGS "@contains attack" "id:1,phase:2,deny""#)?;
//! let svc = ServiceBuilder::new()
//!     .layer(RaspLayer::new(rules))
//!     .service_fn(|req: Request<_>| async move {
//!         let body = BodyExt::collect(req.into_body()).await?.to_bytes();
//!         Ok::<_, Box<dyn std::error::Error + Send + Sync>>(Response::new(Full::new(body)))
//!     });
//! let mut req = Request::post("/?q=attack").body(Full::new(Bytes::new()))?;
//! req.extensions_mut().insert(PeerAddr("192.0.2.1:40000".parse()?));
//! let res = svc.oneshot(req).await?;
//! assert_eq!(res.status(), StatusCode::FORBIDDEN);
//! # Ok(())
//! # }
//! ```
//!
//! [`PeerAddr`]: crate::PeerAddr
//! [`TrustedProxies`]: crate::TrustedProxies

mod body;
mod decision;
mod exclusion;
mod future;
mod inspect;
mod layer;
mod reload;
mod rules;
mod service;

pub use body::{RaspBody, RaspRequestBody};
pub use decision::{Decision, DefaultOnDecision, OnDecision, Outcome};
pub use exclusion::RouteExclusion;
pub use future::ResponseFuture;
pub use inspect::{MATCHED_RULES_HEADER, TRANSACTION_ID_HEADER};
pub use layer::{DangerousRaspLayer, RaspLayer};
pub use reload::ReloadHandle;
pub use rules::{CrsOptions, Rules, RulesError, EMBEDDED_RULES};
pub use service::Rasp;
