//! The CRS regression suite over real HTTP: every stage's go-ftw bytes are
//! written to a running server (the `protected_server` example) instead of
//! being parsed by the Apache emulation and fed to an in-process engine.
//!
//! ```text
//! scripts/crs-over-http.sh                       builds, starts and stops the server
//! CRS_URL=http://127.0.0.1:PORT CRS_AUDIT_LOG=FILE \
//!   cargo test --release -p rasp-core --test crs_regression
//! cargo test --release -p rasp-core --test crs_regression -- --url http://127.0.0.1:PORT --audit-log FILE
//! ```
//!
//! The server must run the suite's configuration:
//! `protected_server --crs DIR --crs-test-setup --detection-only --albedo
//! --expose-matched-rules --audit-log FILE --audit-all`.
//!
//! # One stage
//! 1. [`request::build`](super::request::build) gives the exact bytes
//!    go-ftw sends (`encoded_request` included). They go to a fresh TCP
//!    connection to the URL's address (the YAML's `dest_addr` and `port`
//!    are ignored; the `Host` header stays as written).
//! 2. The response is read as go-ftw reads it: a status line and headers,
//!    then the body by `Content-Length`, chunked, or until the server
//!    closes, every read with a 1 s deadline (go-ftw's). Interim `1xx`
//!    answers are skipped. No answer, a reset before any byte, or bytes
//!    that are not an HTTP/1.x status line are a transport error (what
//!    `expect_error` looks for).
//! 3. The rules that fired: the response's `x-rasp-matched-rules` header
//!    (`rasp_tower::MATCHED_RULES_HEADER`) lists the ids of the logging
//!    rules; its presence also says that the WAF saw the request (hyper
//!    answers malformed requests itself, without the header). The header
//!    has no log text, so `match_regex` / `no_match_regex` need the audit
//!    log: its JSON record of the transaction (found by the client port of
//!    the connection) carries every match with msg, data, match text,
//!    severity, ver and tags, and is turned into the same ModSecurity v2
//!    error-log lines as in-process ([`format_line`]). Header ids and
//!    audit ids are cross-checked. Without an audit log the lines are
//!    `[id "N"]` only: ids and `no_match_regex` judge the same, the 12
//!    `match_regex` stages cannot pass (measured: 4952 passed, 49 failed,
//!    2 overridden; the 39 below plus 10 `match_regex` stages, which the
//!    runner attributes to `no-audit-log`).
//! 4. The judge is the in-process one ([`super::judge::judge`]).
//!
//! # Known differences from the in-process (Apache-emulating) run
//! There is no Apache emulation here: the front end is hyper 1, and the
//! engine sees what hyper hands to the tower layer (a canonical version,
//! lower-case header names, repeated headers kept apart, a parsed URI).
//! The expectations of the CRS suite are Apache's (TESTING.md §8), so the
//! tests whose outcome depends on the front end differ. Measured with CRS
//! v4.28.0 (`scripts/crs-over-http.sh`, hyper 1.12, http 1.5, httparse
//! 1.10): **in-process 5001 passed, 0 failed, 2 overridden; over HTTP
//! 4962 passed, 39 failed, 2 overridden**. All 39 pass in-process and fail
//! over HTTP, for these causes ([`KNOWN_DIFFERENCES`] holds the list; the
//! runner marks any other difference as unexplained and fails):
//!
//! | Cause | Tests | In-process (Apache) | Over HTTP (hyper) |
//! |---|---|---|---|
//! | `target-bytes`: the `http` crate rejects `"`, `<`, `>` in the query (and `<`, `>`, `` ` ``, non-UTF-8 in the path); hyper answers 400 itself, the WAF never sees the request | 921120-1, -2, 921210-1, 930120-9, 932236-21, 932240-9, -14, -15, 932250-5, 932260-28, 932371-1, 934100-13, -14, -23, 934101-4, 934130-7, 934160-7, -22, 941100-1, 941110-2, 941160-1, 941240-2, 942130-9, 942500-1, -2, 943100-1, 949110-1, -5 (28) | accepted, rules fire | 400, no rule: expected ids missing |
//! | `connect-no-port`: `CONNECT www.coreruleset.org` | 920100-5 | 400 | accepted (authority without port), 200 |
//! | `fragment`: a `#fragment` in the target | 920100-8, 920610-2 | 400 | the `http` crate drops the fragment silently, 200 |
//! | `bad-host`: Host `localhost%00` / `localhost%1F` | 920270-4, 920274-1 | 400 | hyper does not validate Host, 200 (the rules fire) |
//! | `empty-host`: empty Host on HTTP/1.1 | 920290-1 | 400 | accepted, 200 (920290 fires) |
//! | `no-version`: `GET / ` (no version) | 920430-5 | HTTP/0.9 answer: transport error (expected) | a regular `HTTP/1.1 400`: no error |
//! | `http-4.0`: version `HTTP/4.0` | 920430-8 | accepted, 920430 fires | httparse knows only HTTP/1.0 and 1.1: 400 without the WAF |
//! | `duplicate-header`: two Content-Type headers | 920620-1 | merged into one (`a, b`): no 920620 | kept apart: 920620 fires (`unexpected ids`) |
//! | `absolute-form`: `GET http://localhost HTTP/1.1` | 920100-16 | the raw request line: 920100 fires | rasp-tower hands the engine the path only (`GET / HTTP/1.1`, its HTTP/2 handling applies to any URI with a scheme): no 920100 |
//! | `header-case`: hyper lower-cases header names | 932207-7 | `found within REQUEST_HEADERS:Referer:` | `REQUEST_HEADERS:referer:`, the test's `match_regex` fails |
//!
//! Some stages also log other ids without changing the test's result
//! (e.g. 920290-2, 930120-10/-11, 932230-1: the same causes, tests with
//! no expectation the difference breaks); the runner lists them as `IDS`.
//!
//! These are front-end differences, not rule logic: they are listed here
//! and printed by the runner, never added to `overrides.yaml` (which
//! describes the in-process front end).

use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::exchange::{MatchKey, StageRun};
use super::judge::{Observed, ObservedResponse};
use super::log_line::{format_line, LineContext, LogEntry};
use super::request;
use super::yaml::Input;

/// The response header that lists the matched logging rules
/// (`rasp_tower::MATCHED_RULES_HEADER`; rasp-core's tests do not depend
/// on rasp-tower).
pub const MATCHED_RULES_HEADER: &str = "x-rasp-matched-rules";

/// The tests known to differ from the in-process run, with the cause (the
/// first column of the table in the module docs).
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[
    ("920100-5", "connect-no-port"),
    ("920100-8", "fragment"),
    ("920100-16", "absolute-form"),
    ("920270-4", "bad-host"),
    ("920274-1", "bad-host"),
    ("920290-1", "empty-host"),
    ("920430-5", "no-version"),
    ("920430-8", "http-4.0"),
    ("920610-2", "fragment"),
    ("920620-1", "duplicate-header"),
    ("921120-1", "target-bytes"),
    ("921120-2", "target-bytes"),
    ("921210-1", "target-bytes"),
    ("930120-9", "target-bytes"),
    ("932207-7", "header-case"),
    ("932236-21", "target-bytes"),
    ("932240-9", "target-bytes"),
    ("932240-14", "target-bytes"),
    ("932240-15", "target-bytes"),
    ("932250-5", "target-bytes"),
    ("932260-28", "target-bytes"),
    ("932371-1", "target-bytes"),
    ("934100-13", "target-bytes"),
    ("934100-14", "target-bytes"),
    ("934100-23", "target-bytes"),
    ("934101-4", "target-bytes"),
    ("934130-7", "target-bytes"),
    ("934160-7", "target-bytes"),
    ("934160-22", "target-bytes"),
    ("941100-1", "target-bytes"),
    ("941110-2", "target-bytes"),
    ("941160-1", "target-bytes"),
    ("941240-2", "target-bytes"),
    ("942130-9", "target-bytes"),
    ("942500-1", "target-bytes"),
    ("942500-2", "target-bytes"),
    ("943100-1", "target-bytes"),
    ("949110-1", "target-bytes"),
    ("949110-5", "target-bytes"),
];

/// The cause of a known difference.
pub fn known_cause(test: &str) -> Option<&'static str> {
    KNOWN_DIFFERENCES
        .iter()
        .find(|(t, _)| *t == test)
        .map(|(_, c)| *c)
}

/// go-ftw's read deadline.
const READ_TIMEOUT: Duration = Duration::from_secs(1);
/// Upper bound of one exchange (connect, write, read).
const EXCHANGE_LIMIT: Duration = Duration::from_secs(10);
/// How long to wait for the audit record of a transaction the WAF saw.
const RECORD_WAIT: Duration = Duration::from_secs(5);
/// How long to wait for a record when the response says the WAF did not
/// answer (hyper's own 400, a transport error).
const RECORD_WAIT_NO_WAF: Duration = Duration::from_millis(150);

/// Counters of the HTTP side of a run (printed at the end).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Stages sent.
    pub stages: usize,
    /// Stages that got an HTTP response.
    pub responses: usize,
    /// Responses without the matched-rules header (hyper answered itself).
    pub without_waf: usize,
    /// Stages ending in a transport error (no response, reset, not HTTP).
    pub transport_errors: usize,
    /// Stages whose audit record was found.
    pub records: usize,
    /// Stages that carried the header but whose record did not come.
    pub missing_records: usize,
    /// Records skipped because they belonged to another connection.
    pub foreign_records: usize,
    /// Stages whose header ids differ from the audit record's logging ids.
    pub header_audit_mismatches: Vec<String>,
}

/// Where the audit log has been read up to.
#[derive(Debug)]
struct AuditCursor {
    path: PathBuf,
    offset: u64,
    /// Bytes read past `offset` that do not end in a newline yet.
    pending: Vec<u8>,
}

impl AuditCursor {
    /// Reads what was appended since the last call; returns the complete
    /// lines.
    fn read_lines(&mut self) -> Vec<String> {
        let Ok(mut f) = std::fs::File::open(&self.path) else {
            return Vec::new();
        };
        let mut fresh = Vec::new();
        if f.seek(SeekFrom::Start(self.offset)).is_err() || f.read_to_end(&mut fresh).is_err() {
            return Vec::new();
        }
        self.offset += fresh.len() as u64;
        self.pending.extend_from_slice(&fresh);
        let Some(last_nl) = self.pending.iter().rposition(|&b| b == b'\n') else {
            return Vec::new();
        };
        let complete: Vec<u8> = self.pending.drain(..=last_nl).collect();
        complete
            .split(|&b| b == b'\n')
            .filter(|l| !l.is_empty())
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect()
    }
}

/// A running server to send the stages to.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as given.
    pub url: String,
    addr: SocketAddr,
    audit: Option<Arc<Mutex<AuditCursor>>>,
    stats: Arc<Mutex<Stats>>,
}

/// Takes `--NAME VALUE` or `--NAME=VALUE` out of `args`.
fn take_arg(args: &mut Vec<String>, name: &str) -> Option<String> {
    let flag = format!("--{name}");
    let prefix = format!("--{name}=");
    let i = args
        .iter()
        .position(|a| *a == flag || a.starts_with(&prefix))?;
    let a = args.remove(i);
    match a.strip_prefix(&prefix) {
        Some(v) => Some(v.to_string()),
        None if i < args.len() => Some(args.remove(i)),
        None => Some(String::new()),
    }
}

impl Target {
    /// `--url URL` / `CRS_URL` and `--audit-log FILE` / `CRS_AUDIT_LOG`
    /// (taken out of `args` so they are not read as test filters).
    /// `Ok(None)` means the in-process run.
    pub fn from_args_and_env(args: &mut Vec<String>) -> Result<Option<Target>, String> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let url = take_arg(args, "url").or_else(|| env("CRS_URL"));
        let audit = take_arg(args, "audit-log").or_else(|| env("CRS_AUDIT_LOG"));
        let Some(url) = url else {
            return match audit {
                Some(_) => Err("--audit-log / CRS_AUDIT_LOG needs --url / CRS_URL".into()),
                None => Ok(None),
            };
        };
        Target::new(&url, audit.map(PathBuf::from)).map(Some)
    }

    /// A target `http://HOST:PORT[/…]` (the path is ignored: every stage
    /// carries its own), with the server's audit log if given.
    pub fn new(url: &str, audit_log: Option<PathBuf>) -> Result<Target, String> {
        let rest = url
            .strip_prefix("http://")
            .ok_or_else(|| format!("{url:?}: only http:// URLs are supported"))?;
        let authority = rest.split('/').next().unwrap_or_default();
        let has_port = match authority.strip_prefix('[') {
            Some(v6) => v6.contains("]:"),
            None => authority.contains(':'),
        };
        let with_port = if has_port {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        let addr = with_port
            .to_socket_addrs()
            .map_err(|e| format!("{url:?}: {e}"))?
            .next()
            .ok_or_else(|| format!("{url:?}: no address"))?;
        // The server must be there before 5,000 stages fail one by one.
        TcpStream::connect_timeout(&addr, Duration::from_secs(2))
            .map_err(|e| format!("cannot connect to {url} ({addr}): {e}"))?;
        let audit = match audit_log {
            None => None,
            Some(path) => {
                // Records written before the run are not ours.
                let offset = std::fs::metadata(&path)
                    .map_err(|e| format!("audit log {}: {e}", path.display()))?
                    .len();
                Some(Arc::new(Mutex::new(AuditCursor {
                    path,
                    offset,
                    pending: Vec::new(),
                })))
            }
        };
        Ok(Target {
            url: url.to_string(),
            addr,
            audit,
            stats: Arc::default(),
        })
    }

    /// Whether `match_regex` can be judged (an audit log was given).
    pub fn has_audit_log(&self) -> bool {
        self.audit.is_some()
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Sends one stage and observes it.
    pub fn run_stage(&self, name: &str, input: &Input) -> StageRun {
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
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        stats.stages += 1;
        let ex = exchange(self.addr, &raw);
        let mut notes = Vec::new();
        if let Some(w) = &ex.write_error {
            notes.push(format!("write failed: {w}"));
        }
        let header_ids = match &ex.response {
            Ok(r) => {
                stats.responses += 1;
                r.matched_rules.clone()
            }
            Err(e) => {
                stats.transport_errors += 1;
                notes.push(format!("transport error: {e}"));
                None
            }
        };
        if ex.response.is_ok() && header_ids.is_none() {
            stats.without_waf += 1;
            notes.push("answered by hyper, not through the WAF (no matched-rules header)".into());
        }
        let record = match &self.audit {
            Some(cursor) => {
                let wait = if header_ids.is_some() {
                    RECORD_WAIT
                } else {
                    RECORD_WAIT_NO_WAF
                };
                let mut cursor = cursor.lock().unwrap_or_else(|e| e.into_inner());
                let (record, foreign) = find_record(&mut cursor, ex.local_port, wait);
                stats.foreign_records += foreign;
                if record.is_some() {
                    stats.records += 1;
                } else if header_ids.is_some() {
                    stats.missing_records += 1;
                    notes.push("no audit record within 5 s".into());
                }
                record
            }
            None => None,
        };
        let (lines, matches) = match (&record, &header_ids) {
            (Some(rec), _) => {
                let (lines, matches) = record_lines(rec);
                if let Some(h) = &header_ids {
                    let mut from_audit: Vec<u32> = Vec::new();
                    for m in matches.iter().filter(|m| m.log) {
                        if !from_audit.contains(&m.id) {
                            from_audit.push(m.id);
                        }
                    }
                    if *h != from_audit {
                        stats
                            .header_audit_mismatches
                            .push(format!("{name}: header {h:?}, audit {from_audit:?}"));
                        notes.push(format!(
                            "header ids {h:?} differ from the audit record's {from_audit:?}"
                        ));
                    }
                }
                (lines, matches)
            }
            // Without the audit log: the ids only.
            (None, Some(ids)) => (
                ids.iter().map(|id| format!("[id \"{id}\"]")).collect(),
                ids.iter()
                    .map(|&id| MatchKey {
                        id,
                        phase: 0,
                        log: true,
                        msg: None,
                        data: None,
                    })
                    .collect(),
            ),
            (None, None) => (Vec::new(), Vec::new()),
        };
        StageRun {
            observed: Observed {
                response: ex.response.map(|r| ObservedResponse {
                    status: r.status,
                    raw: r.raw,
                }),
                lines,
            },
            matches,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            raw_request: raw,
        }
    }
}

/// Prints the HTTP side's counters and every difference from the
/// in-process run (tests whose result differs, then stages whose logged
/// ids differ although the result is the same; all of those with
/// `verbose`, else the first 50).
pub fn print_comparison(target: &Target, summary: &super::suite::Summary, verbose: bool) {
    let st = target.stats();
    println!(
        "crs-regression over HTTP ({}): {} stages sent, {} answered ({} by hyper without the WAF), {} transport errors; audit log: {}",
        target.url,
        st.stages,
        st.responses,
        st.without_waf,
        st.transport_errors,
        if target.has_audit_log() {
            format!(
                "{} records, {} missing, {} of other connections skipped, {} header/audit id mismatches",
                st.records,
                st.missing_records,
                st.foreign_records,
                st.header_audit_mismatches.len()
            )
        } else {
            "none (match_regex cannot pass: the header carries ids only)".into()
        }
    );
    for m in &st.header_audit_mismatches {
        println!("HEADER/AUDIT {m}");
    }
    if let Some((passed, failed, overridden)) = summary.in_process {
        println!("crs-regression in-process (same tests): {passed} passed, {failed} failed, {overridden} overridden");
    }
    let unexplained = unexplained_differences(target, summary);
    println!(
        "crs-regression over HTTP: {} tests differ from the in-process run ({} explained by the front end, {} unexplained)",
        summary.http_differences.len(),
        summary.http_differences.len() - unexplained,
        unexplained
    );
    for d in &summary.http_differences {
        match cause_of(target, d) {
            Some(cause) => println!("DIFF [{cause}] {d}"),
            None => println!("DIFF [UNEXPLAINED] {d}"),
        }
    }
    let ids = &summary.http_id_differences;
    println!(
        "crs-regression over HTTP: {} stages log other ids than in-process",
        ids.len()
    );
    let shown = if verbose {
        ids.len()
    } else {
        ids.len().min(50)
    };
    for d in &ids[..shown] {
        println!("IDS {d}");
    }
    if shown < ids.len() {
        println!(
            "... and {} more (CRS_VERBOSE=1 lists them all)",
            ids.len() - shown
        );
    }
}

/// The cause of one line of `Summary::http_differences`: a
/// [`KNOWN_DIFFERENCES`] entry, or `no-audit-log` for a `match_regex`
/// that failed because the run had no audit log (ids only).
fn cause_of(target: &Target, difference: &str) -> Option<&'static str> {
    let test = difference.split(':').next().unwrap_or_default();
    known_cause(test).or_else(|| {
        (!target.has_audit_log() && difference.contains("no log line matches"))
            .then_some("no-audit-log")
    })
}

/// How many of the differing tests have no known cause.
pub fn unexplained_differences(target: &Target, summary: &super::suite::Summary) -> usize {
    summary
        .http_differences
        .iter()
        .filter(|d| cause_of(target, d).is_none())
        .count()
}

/// The next audit record of the connection from `port`, waiting up to
/// `wait`; also the number of other connections' records skipped.
fn find_record(
    cursor: &mut AuditCursor,
    port: Option<u16>,
    wait: Duration,
) -> (Option<serde_json::Value>, usize) {
    let deadline = Instant::now() + wait;
    let mut foreign = 0;
    loop {
        for line in cursor.read_lines() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
                foreign += 1;
                continue;
            };
            let rec_port = v["transaction"]["client_port"].as_u64();
            if port.is_some() && rec_port == port.map(u64::from) {
                // Anything after it (a pipelined second request on the
                // same connection) is skipped with the next stage.
                return (Some(v), foreign);
            }
            foreign += 1;
        }
        if Instant::now() >= deadline {
            return (None, foreign);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The error-log lines (logging matches only) and all match keys of an
/// audit record, formatted exactly as in-process.
fn record_lines(rec: &serde_json::Value) -> (Vec<String>, Vec<MatchKey>) {
    let tx = &rec["transaction"];
    let s = |v: &serde_json::Value| v.as_str().map(str::to_string);
    let request_line = tx["request_line"].as_str().unwrap_or_default();
    let target = request_line.split(' ').nth(1).unwrap_or_default();
    let path = target.split('?').next().unwrap_or_default();
    let host = tx["request_headers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|h| {
            h[0].as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case("host"))
        })
        .and_then(|h| h[1].as_str())
        .unwrap_or_default();
    let hostname = match host.strip_prefix('[') {
        Some(_) => host.find(']').map_or(host, |e| &host[..=e]),
        None => host.split(':').next().unwrap_or_default(),
    };
    let cx = LineContext {
        client: tx["client_ip"].as_str().unwrap_or_default().to_string(),
        hostname: hostname.as_bytes().to_vec(),
        uri: path.as_bytes().to_vec(),
        unique_id: tx["transaction_id"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    };
    let mut lines = Vec::new();
    let mut matches = Vec::new();
    for m in tx["messages"].as_array().into_iter().flatten() {
        let key = MatchKey {
            id: m["id"].as_u64().unwrap_or_default() as u32,
            phase: m["phase"].as_u64().unwrap_or_default() as u8,
            log: m["log"].as_bool().unwrap_or_default(),
            msg: s(&m["msg"]),
            data: s(&m["data"]),
        };
        if key.log {
            let entry = LogEntry {
                id: key.id,
                match_text: s(&m["match_text"]).unwrap_or_default(),
                file: s(&m["file"]).unwrap_or_default(),
                line: m["line"].as_u64().unwrap_or_default() as u32,
                msg: key.msg.clone(),
                data: key.data.clone(),
                severity: m["severity"].as_u64().map(|v| v as u8),
                ver: s(&m["ver"]),
                tags: m["tags"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|t| t.as_str().map(str::to_string))
                    .collect(),
            };
            lines.push(format_line(&entry, &cx));
        }
        matches.push(key);
    }
    (lines, matches)
}

/// A response as read off the socket.
#[derive(Debug, Clone)]
struct Response {
    status: u16,
    /// Status line, headers and the body read (lossy UTF-8).
    raw: String,
    /// The matched-rules header's ids, when the header was there.
    matched_rules: Option<Vec<u32>>,
}

/// One exchange on a fresh connection.
#[derive(Debug)]
struct Exchange {
    response: Result<Response, String>,
    /// The client port (finds the audit record).
    local_port: Option<u16>,
    /// Writing the request failed part-way (the server answered or closed
    /// early); the answer, if any, is still read.
    write_error: Option<String>,
}

fn exchange(addr: SocketAddr, raw: &[u8]) -> Exchange {
    let started = Instant::now();
    let mut stream = match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
        Ok(s) => s,
        Err(e) => {
            return Exchange {
                response: Err(format!("connect: {e}")),
                local_port: None,
                write_error: None,
            }
        }
    };
    let local_port = stream.local_addr().ok().map(|a| a.port());
    let _ = stream.set_nodelay(true);
    let _ = stream.set_read_timeout(Some(READ_TIMEOUT));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(5)));
    let write_error = stream.write_all(raw).err().map(|e| e.to_string());
    // A HEAD answer has no body whatever its headers say.
    let head_request = raw.starts_with(b"HEAD ");
    let response = read_response(&mut stream, started, head_request);
    let _ = stream.shutdown(Shutdown::Both);
    Exchange {
        response,
        local_port,
        write_error,
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads more bytes into `buf`; `Ok(false)` at end of stream.
fn fill(stream: &mut TcpStream, buf: &mut Vec<u8>, started: Instant) -> Result<bool, String> {
    if started.elapsed() > EXCHANGE_LIMIT {
        return Err(format!("no complete answer within {EXCHANGE_LIMIT:?}"));
    }
    let mut chunk = [0u8; 16 * 1024];
    match stream.read(&mut chunk) {
        Ok(0) => Ok(false),
        Ok(n) => {
            buf.extend_from_slice(&chunk[..n]);
            Ok(true)
        }
        Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
            Err(format!("read timed out after {READ_TIMEOUT:?}"))
        }
        Err(e) if e.kind() == ErrorKind::Interrupted => Ok(true),
        Err(e) => Err(format!("read: {e}")),
    }
}

/// The head of a response: status, header length, and the headers.
struct Head {
    status: u16,
    len: usize,
    headers: Vec<(String, String)>,
}

/// Parses a status line and headers (`HTTP/1.x NNN …`); `None` when the
/// bytes are not an HTTP response.
fn parse_head(bytes: &[u8]) -> Option<Head> {
    let end = find(bytes, b"\r\n\r\n")?;
    let text = std::str::from_utf8(&bytes[..end]).ok()?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next()?;
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next()?;
    let code = parts.next()?;
    if !version.starts_with("HTTP/1.") || code.len() != 3 {
        return None;
    }
    let status = code.parse().ok()?;
    let headers = lines
        .map(|l| {
            let (n, v) = l.split_once(':')?;
            Some((n.trim().to_string(), v.trim().to_string()))
        })
        .collect::<Option<Vec<_>>>()?;
    Some(Head {
        status,
        len: end + 4,
        headers,
    })
}

fn read_response(
    stream: &mut TcpStream,
    started: Instant,
    head_request: bool,
) -> Result<Response, String> {
    let mut buf = Vec::new();
    let head = loop {
        if let Some(h) = parse_head(&buf) {
            if (100..200).contains(&h.status) {
                // An interim answer (100 Continue): the final one follows.
                buf.drain(..h.len);
                continue;
            }
            break h;
        }
        if find(&buf, b"\r\n\r\n").is_some() || (buf.len() >= 5 && !buf.starts_with(b"HTTP/")) {
            return Err(format!(
                "not an HTTP response: {:?}",
                String::from_utf8_lossy(&buf[..buf.len().min(80)])
            ));
        }
        match fill(stream, &mut buf, started) {
            Ok(true) => {}
            Ok(false) if buf.is_empty() => return Err("connection closed without an answer".into()),
            Ok(false) => {
                return Err(format!(
                    "connection closed in the response head: {:?}",
                    String::from_utf8_lossy(&buf[..buf.len().min(80)])
                ))
            }
            Err(e) => return Err(e),
        }
    };
    let header = |name: &str| {
        head.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let matched_rules = header(MATCHED_RULES_HEADER).map(|v| {
        v.split(',')
            .filter_map(|id| id.trim().parse().ok())
            .collect::<Vec<u32>>()
    });
    // The body, as far as it can be read; a body cut short still leaves
    // the response usable (go-ftw parses only the head).
    let body_len = header("content-length").and_then(|v| v.parse::<usize>().ok());
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    let no_body = head_request || matches!(head.status, 204 | 304);
    loop {
        let body = &buf[head.len..];
        let done = no_body
            || match body_len {
                Some(n) => body.len() >= n,
                None if chunked => {
                    find(body, b"0\r\n\r\n").is_some_and(|i| i == 0 || body[..i].ends_with(b"\r\n"))
                }
                None => false,
            };
        if done {
            break;
        }
        match fill(stream, &mut buf, started) {
            Ok(true) => {}
            Ok(false) | Err(_) => break,
        }
    }
    Ok(Response {
        status: head.status,
        raw: String::from_utf8_lossy(&buf).into_owned(),
        matched_rules,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_parse_like_http_1() {
        let h =
            parse_head(b"HTTP/1.1 403 Forbidden\r\nx-rasp-matched-rules: 1,2\r\n\r\nbody").unwrap();
        assert_eq!((h.status, h.headers.len()), (403, 1));
        assert_eq!(
            h.len,
            "HTTP/1.1 403 Forbidden\r\nx-rasp-matched-rules: 1,2\r\n\r\n".len()
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n").is_none());
        assert!(parse_head(b"<html>hello</html>\r\n\r\n").is_none());
        assert!(parse_head(b"HTTP/1.1 20 OK\r\n\r\n").is_none());
    }

    #[test]
    fn url_and_audit_flags_are_taken_out_of_the_arguments() {
        let mut args: Vec<String> = ["942100", "--url", "http://x:1", "--audit-log=/a"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(take_arg(&mut args, "url").as_deref(), Some("http://x:1"));
        assert_eq!(take_arg(&mut args, "audit-log").as_deref(), Some("/a"));
        assert_eq!(args, ["942100"]);
        assert!(take_arg(&mut args, "url").is_none());
    }

    #[test]
    fn audit_records_become_v2_lines() {
        let rec = serde_json::json!({"transaction": {
        "transaction_id": "t1", "client_ip": "127.0.0.1", "client_port": 4000,
        "request_line": "GET /a?x=1 HTTP/1.1",
        "request_headers": [["host", "localhost:80"]],
        "messages": [
            {"id": 942100, "phase": 2, "log": true, "msg": "SQL Injection",
             "data": "Matched Data: s&sos found within ARGS:x: 1' or 1=1",
             "match_text": "detected SQLi", "file": "f.conf", "line": 7,
             "severity": 2, "ver": "OWASP_CRS/4.28.0", "tags": ["attack-sqli"]},
            {"id": 901100, "phase": 1, "log": false, "msg": null, "data": null,
             "match_text": "", "file": "f.conf", "line": 1, "severity": null,
             "ver": null, "tags": []}
        ]}});
        let (lines, matches) = record_lines(&rec);
        assert_eq!(matches.len(), 2);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].starts_with("[client 127.0.0.1] ModSecurity: Warning. detected SQLi"));
        assert!(
            lines[0].contains(r#"[id "942100"] [msg "SQL Injection"]"#),
            "{}",
            lines[0]
        );
        assert!(lines[0].contains("found within ARGS:x"));
        assert!(lines[0].ends_with(r#"[hostname "localhost"] [uri "/a"] [unique_id "t1"]"#));
    }
}
