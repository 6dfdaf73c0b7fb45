//! One stage end to end: go-ftw bytes → Apache parsing → rasp_core phases
//! 1–2 → albedo → phases 3–4 → phase 5 → error-log lines.

use std::net::{IpAddr, Ipv4Addr};
use std::panic::{catch_unwind, AssertUnwindSafe};

use rasp_core::{Engine, Verdict};

use super::albedo;
use super::apache::{self, Parsed, Rejection};
use super::judge::{Observed, ObservedResponse};
use super::log_line::{format_line, LineContext, LogEntry};
use super::request;
use super::yaml::Input;

/// The parts of a match compared between gated and per-rule evaluation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatchKey {
    pub id: u32,
    pub phase: u8,
    pub log: bool,
    pub msg: Option<String>,
    pub data: Option<String>,
}

/// Everything a stage produced.
#[derive(Debug, Clone)]
pub struct StageRun {
    pub observed: Observed,
    /// Every match record (logged or not), in order.
    pub matches: Vec<MatchKey>,
    /// Why the front end answered without the WAF, or how the engine failed.
    pub note: Option<String>,
    /// The bytes go-ftw would have sent.
    pub raw_request: Vec<u8>,
}

fn response_text(status: u16, headers: &[(String, String)], body: &[u8]) -> String {
    let mut raw = format!("HTTP/1.1 {status}\r\n");
    for (n, v) in headers {
        raw.push_str(&format!("{n}: {v}\r\n"));
    }
    raw.push_str("\r\n");
    raw.push_str(&String::from_utf8_lossy(body));
    raw
}

/// Runs `input` through the front end and `engine`.
pub fn run_stage(engine: &Engine, input: &Input) -> StageRun {
    let raw = match request::build(input) {
        Ok(raw) => raw,
        Err(e) => {
            return StageRun {
                observed: Observed {
                    response: Err(format!("go-ftw could not build the request: {e:?}")),
                    lines: vec![],
                },
                matches: vec![],
                note: None,
                raw_request: Vec::new(),
            }
        }
    };
    let parsed = match apache::parse(&raw) {
        Ok(p) => p,
        Err(Rejection::Http09) => {
            return StageRun {
                observed: Observed {
                    response: Err("HTTP/0.9 answer (no status line)".into()),
                    lines: vec![],
                },
                matches: vec![],
                note: Some("Apache: request line without version".into()),
                raw_request: raw,
            }
        }
        Err(Rejection::Status(status, reason)) => {
            return StageRun {
                observed: Observed {
                    response: Ok(ObservedResponse {
                        status,
                        raw: response_text(status, &[], b""),
                    }),
                    lines: vec![],
                },
                matches: vec![],
                note: Some(format!("Apache: {status} ({reason})")),
                raw_request: raw,
            }
        }
    };
    match catch_unwind(AssertUnwindSafe(|| drive(engine, &parsed))) {
        Ok(run) => StageRun {
            raw_request: raw,
            ..run
        },
        Err(panic) => {
            let msg = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "non-string panic".into());
            StageRun {
                observed: Observed {
                    response: Err(format!("engine panicked: {msg}")),
                    lines: vec![],
                },
                matches: vec![],
                note: Some(format!("engine panicked: {msg}")),
                raw_request: raw,
            }
        }
    }
}

fn drive(engine: &Engine, p: &Parsed) -> StageRun {
    let mut tx = engine.transaction();
    // In CI the client is the docker gateway; no rule depends on it.
    tx.process_connection(
        IpAddr::V4(Ipv4Addr::new(172, 18, 0, 1)),
        51234,
        IpAddr::V4(Ipv4Addr::new(172, 18, 0, 2)),
        8080,
    );
    tx.process_uri(&p.method, &p.target, &p.protocol);
    for (n, v) in &p.headers {
        tx.add_request_header(n, v);
    }
    // DetectionOnly never interrupts; if the engine does anyway, Apache
    // would answer with the intervention's status.
    let mut interrupted: Option<u16> = None;
    let check = |v: Verdict, interrupted: &mut Option<u16>| {
        if let Verdict::Interrupt(i) = v {
            interrupted.get_or_insert(i.status);
        }
    };
    check(tx.process_request_headers(), &mut interrupted);
    if interrupted.is_none() && !p.body.is_empty() {
        check(tx.append_request_body(&p.body), &mut interrupted);
    }
    if interrupted.is_none() {
        check(tx.process_request_body(), &mut interrupted);
    }
    let mut raw_response = String::new();
    let status = match interrupted {
        Some(s) => s,
        None => {
            let resp = albedo::respond(&p.method, &p.target, &p.body);
            for (n, v) in &resp.headers {
                tx.add_response_header(n.as_bytes(), v.as_bytes());
            }
            check(
                tx.process_response_headers(resp.status, b"HTTP/1.1"),
                &mut interrupted,
            );
            if interrupted.is_none() && !resp.body.is_empty() {
                check(tx.append_response_body(&resp.body), &mut interrupted);
            }
            if interrupted.is_none() {
                check(tx.process_response_body(), &mut interrupted);
            }
            raw_response = response_text(resp.status, &resp.headers, &resp.body);
            interrupted.unwrap_or(resp.status)
        }
    };
    tx.process_logging();

    let host = p.header("Host").unwrap_or_default();
    let hostname = match host.first() {
        Some(b'[') => host
            .iter()
            .position(|&b| b == b']')
            .map_or(host, |e| &host[..=e]),
        _ => host.split(|&b| b == b':').next().unwrap_or_default(),
    };
    let cx = LineContext {
        client: "172.18.0.1".into(),
        hostname: hostname.to_vec(),
        uri: p.path().to_vec(),
        unique_id: tx.id().to_string(),
    };
    let lines = tx
        .matches()
        .iter()
        .filter(|m| m.log)
        .map(|m| format_line(&LogEntry::from(m), &cx))
        .collect();
    let matches = tx
        .matches()
        .iter()
        .map(|m| MatchKey {
            id: m.id,
            phase: m.phase,
            log: m.log,
            msg: m.msg.clone(),
            data: m.data.clone(),
        })
        .collect();
    if interrupted.is_some() {
        // Apache sends its own error page instead of the backend's answer.
        raw_response = response_text(status, &[], b"");
    }
    StageRun {
        observed: Observed {
            response: Ok(ObservedResponse {
                status,
                raw: raw_response,
            }),
            lines,
        },
        matches,
        note: interrupted.map(|s| format!("engine interrupted with {s}")),
        raw_request: Vec::new(),
    }
}
