//! Audit records: what one transaction did, in the spirit of ModSecurity
//! v3's JSON audit log. The field names are stable (serde).

use serde::Serialize;

use crate::record::{Intervention, MatchRecord};
use crate::transaction::Transaction;

/// Header values replaced by this text unless raw values are enabled with
/// [`crate::DangerousEngineConfig::log_raw_values`].
pub const REDACTED: &str = "[redacted]";

/// Headers whose values carry credentials and are redacted by default.
const SENSITIVE_HEADERS: &[&str] = &[
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
];

/// One audit-log entry.
#[derive(Clone, Debug, Serialize)]
#[non_exhaustive]
pub struct AuditRecord {
    /// `UNIQUE_ID` of the transaction.
    pub transaction_id: String,
    /// Start time, microseconds since the Unix epoch.
    pub time_us: u128,
    /// Client address and port.
    pub client_ip: String,
    /// Client port.
    pub client_port: u16,
    /// Server address.
    pub server_ip: String,
    /// Server port.
    pub server_port: u16,
    /// The request line as received.
    pub request_line: String,
    /// Request headers in arrival order (credentials redacted by default).
    pub request_headers: Vec<(String, String)>,
    /// Response status, when a response was seen.
    pub response_status: Option<u16>,
    /// Response headers.
    pub response_headers: Vec<(String, String)>,
    /// Engine mode in force at the end (`On`, `DetectionOnly`, `Off`).
    pub engine_mode: String,
    /// Matched rules, in order.
    pub messages: Vec<MatchRecord>,
    /// The interruption, if any.
    pub intervention: Option<Intervention>,
    /// Rules that could not be evaluated (see [`Transaction::errors`]).
    pub errors: Vec<String>,
    /// Inbound anomaly score (`TX:blocking_inbound_anomaly_score`), when
    /// the ruleset computes one (CRS).
    pub inbound_anomaly_score: Option<i64>,
    /// Outbound anomaly score (`TX:blocking_outbound_anomaly_score`).
    pub outbound_anomaly_score: Option<i64>,
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn headers(pairs: &[crate::variables::Pair], raw: bool) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|p| {
            let name = lossy(&p.name);
            let sensitive = SENSITIVE_HEADERS
                .iter()
                .any(|s| s.eq_ignore_ascii_case(&name));
            let value = if sensitive && !raw {
                REDACTED.to_string()
            } else {
                lossy(&p.value)
            };
            (name, value)
        })
        .collect()
}

impl Transaction {
    /// The audit record of this transaction so far.
    pub fn audit_record(&self) -> AuditRecord {
        let raw = self.engine.config.log_raw_values;
        let ex = &self.ex;
        let score = |name: &str| {
            self.tx_var(name)
                .map(|v| i64::from(crate::operator::numeric::atoi(v.as_bytes())))
        };
        AuditRecord {
            transaction_id: self.id().to_string(),
            time_us: self.started_us,
            client_ip: lossy(&ex.remote_addr),
            client_port: ex.remote_port,
            server_ip: lossy(&ex.server_addr),
            server_port: ex.server_port,
            request_line: lossy(&ex.request_line),
            request_headers: headers(&ex.request_headers, raw),
            response_status: ex.response_status,
            response_headers: headers(&ex.response_headers, raw),
            engine_mode: format!("{:?}", self.state.mode),
            messages: self.matches.clone(),
            intervention: self.intervention.clone(),
            errors: self.errors().to_vec(),
            inbound_anomaly_score: score("blocking_inbound_anomaly_score"),
            outbound_anomaly_score: score("blocking_outbound_anomaly_score"),
        }
    }
}
