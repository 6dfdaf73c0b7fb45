//! The audit log: one JSON line per transaction, in the spirit of
//! ModSecurity v3's JSON audit log (`{"transaction": {…}}` with the
//! transaction id, time, client, request line and headers, response
//! status and headers, matched rules with id/msg/data/severity/tags, the
//! interruption and the anomaly scores; credentials redacted by
//! `rasp-core`).
//!
//! Which transactions are written follows the ruleset's `SecAuditEngine`
//! (`On`, `Off`, `RelevantOnly`) and `SecAuditLogRelevantStatus`.
//! Records are written off the request path: the request side only
//! serialises the record and puts it into a bounded queue; a writer thread
//! drains it. When the queue is full the record is dropped and counted
//! ([`AuditLog::dropped`], metric `rasp_audit_dropped_total`) rather than
//! slowing requests down.

mod log;
mod relevance;

pub use log::{AuditLog, AuditLogBuilder};
pub(crate) use relevance::{should_log, RelevantStatus};
