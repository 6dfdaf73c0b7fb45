//! Metric names, recorded through the [`metrics`] facade: nothing is
//! recorded until the application installs a recorder (for example
//! `metrics-exporter-prometheus`), and this crate owns no registry.
//!
//! Each request records a counter and up to seven histogram samples. A
//! recorder that buffers samples needs its upkeep run: with
//! `metrics-exporter-prometheus`'s `install_recorder`, call
//! `PrometheusHandle::run_upkeep` every few seconds (the example server
//! does it every 5 s), or the samples of a server nobody scrapes pile up
//! (about 120 bytes per request, measured).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `rasp_requests_total` | counter | `outcome` = `passed`, `blocked`, `detected`, `rate_limited`, `error` |
//! | `rasp_rule_hits_total` | counter | `rule_id` |
//! | `rasp_anomaly_score` | histogram | `direction` = `inbound`, `outbound` |
//! | `rasp_engine_seconds` | histogram | `phase` = `1`…`5` |
//! | `rasp_audit_dropped_total` | counter | — |
//! | `rasp_audit_written_total` | counter | — |
//! | `rasp_rate_limit_keys` | gauge | — |
//! | `rasp_rate_limit_overflow_total` | counter | — |
//! | `rasp_rules_reloads_total` | counter | — |

/// Requests by outcome.
pub const REQUESTS: &str = "rasp_requests_total";
/// Rule hits by rule id.
pub const RULE_HITS: &str = "rasp_rule_hits_total";
/// Anomaly scores per transaction (CRS `TX:blocking_*_anomaly_score`).
pub const ANOMALY_SCORE: &str = "rasp_anomaly_score";
/// Time spent in the engine, per phase.
pub const ENGINE_SECONDS: &str = "rasp_engine_seconds";
/// Audit records dropped because the queue was full.
pub const AUDIT_DROPPED: &str = "rasp_audit_dropped_total";
/// Audit records written.
pub const AUDIT_WRITTEN: &str = "rasp_audit_written_total";
/// Keys tracked by the rate limiter (after the last cleanup).
pub const RATE_LIMIT_KEYS: &str = "rasp_rate_limit_keys";
/// Requests counted against the shared overflow bucket because the key
/// table was full.
pub const RATE_LIMIT_OVERFLOW: &str = "rasp_rate_limit_overflow_total";
/// Successful rule reloads.
pub const RULE_RELOADS: &str = "rasp_rules_reloads_total";

/// The `outcome` label values of [`REQUESTS`].
pub mod outcome {
    /// The request went through without a rule match that blocks.
    pub const PASSED: &str = "passed";
    /// An interruption answered the request.
    pub const BLOCKED: &str = "blocked";
    /// A rule would have blocked, but the engine is in DetectionOnly.
    pub const DETECTED: &str = "detected";
    /// The rate limiter answered the request.
    pub const RATE_LIMITED: &str = "rate_limited";
    /// The engine failed (fail-closed answers count as this, too).
    pub const ERROR: &str = "error";
}

/// Counts one request with an outcome.
pub(crate) fn request(outcome: &'static str) {
    metrics::counter!(REQUESTS, "outcome" => outcome).increment(1);
}
