//! Shared by the bench binaries: where CRS is, the configuration both
//! engines load, the request mix and how one exchange runs through rasp.
#![allow(dead_code)]

pub mod mix;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crs_compiler::{CompiledRuleset, Compiler};
use rasp_core::{Engine, Verdict};

use mix::Case;

/// The OWASP CRS directory: `$RASP_CRS_DIR`, else `../shared/crs` next to
/// the repository. Panics with a clear message when neither holds a CRS:
/// the benchmarks are meaningless without it.
pub fn crs_dir() -> PathBuf {
    let dir = match std::env::var_os("RASP_CRS_DIR") {
        Some(d) => PathBuf::from(d),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/crs"),
    };
    if !dir.join("rules").is_dir() || !dir.join("crs-setup.conf.example").is_file() {
        panic!(
            "OWASP CRS not found at {} (no rules/ or crs-setup.conf.example): set RASP_CRS_DIR to a CRS v4 checkout",
            dir.display()
        );
    }
    dir
}

/// Engine configuration read before CRS by both engines: ModSecurity's
/// `modsecurity.conf-recommended` as users deploy it (engine `On`, request
/// and response body access, the recommended limits, the body-processor
/// and body-error rules 200000–200007) with the audit log off.
pub const ENGINE_CONF: &str = r#"
SecRuleEngine On
SecRequestBodyAccess On
SecRequestBodyLimit 13107200
SecRequestBodyNoFilesLimit 131072
SecRequestBodyLimitAction Reject
SecRequestBodyJsonDepthLimit 512
SecArgumentsLimit 1000
SecPcreMatchLimit 100000
SecPcreMatchLimitRecursion 100000
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain text/html text/xml application/json
SecResponseBodyLimit 524288
SecResponseBodyLimitAction ProcessPartial
SecArgumentSeparator &
SecCookieFormat 0
SecAuditEngine Off

SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application(?:/soap\+|/)|text/)xml" \
    "id:200000,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" \
    "id:200001,phase:1,t:none,t:lowercase,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule &ARGS "@ge 1000" \
    "id:200007,phase:2,t:none,log,deny,status:400,severity:2,msg:'Failed to fully parse request body due to large argument count'"
SecRule REQBODY_ERROR "!@eq 0" \
    "id:200002,phase:2,t:none,log,deny,status:400,severity:2,msg:'Failed to parse request body.',logdata:'%{reqbody_error_msg}'"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" \
    "id:200003,phase:2,t:none,log,deny,status:400,msg:'Multipart request body failed strict validation'"
SecRule MULTIPART_UNMATCHED_BOUNDARY "@eq 1" \
    "id:200004,phase:2,t:none,log,deny,msg:'Multipart parser detected a possible unmatched boundary.'"
SecRule TX:/^MSC_/ "!@streq 0" \
    "id:200005,phase:2,t:none,log,deny,msg:'ModSecurity internal error flagged: %{MATCHED_VAR_NAME}'"
"#;

/// The SecAction that sets CRS's blocking paranoia level (read before
/// `crs-setup.conf.example`, which ships its own 900000 commented out).
pub fn paranoia_conf(pl: u8) -> String {
    format!("SecAction \"id:900000,phase:1,pass,t:none,nolog,setvar:tx.blocking_paranoia_level={pl}\"\n")
}

/// The rule files after the configuration, in CRS's documented order:
/// `crs-setup.conf.example`, then `rules/*.conf` sorted by name.
pub fn crs_files(dir: &Path) -> Vec<PathBuf> {
    let mut rules: Vec<PathBuf> = std::fs::read_dir(dir.join("rules"))
        .expect("read CRS rules/")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "conf"))
        .collect();
    rules.sort();
    let mut files = vec![dir.join("crs-setup.conf.example")];
    files.extend(rules);
    files
}

/// Loads and compiles the full CRS at paranoia level `pl` for rasp.
pub fn compile_rasp(dir: &Path, pl: u8) -> CompiledRuleset {
    let mut c = Compiler::new()
        .add_str("bench-engine.conf", ENGINE_CONF)
        .add_str("bench-paranoia.conf", &paranoia_conf(pl));
    for f in crs_files(dir) {
        c = c.add_file(&f).expect("CRS file");
    }
    match c.compile() {
        Ok(r) => r,
        Err(e) => panic!("CRS does not compile: {e}"),
    }
}

/// A rasp engine over the full CRS at paranoia level `pl` (see
/// [`engine_for`]).
pub fn rasp_engine(pl: u8) -> Engine {
    engine_for(compile_rasp(&crs_dir(), pl))
}

/// An engine over `rules` with the default configuration, but for
/// `RASP_BENCH_GATE_BUILD_MS`: the time an exchange may spend building
/// lazy-DFA states (`EngineConfig::gate_build_time`). Under valgrind,
/// which runs some 50 times slower, the default 0.5 ms leaves the
/// automata cold for hundreds of exchanges; instruction counts of the
/// steady state need more.
pub fn engine_for(rules: CompiledRuleset) -> Engine {
    let mut config = rasp_core::EngineConfig::new();
    if let Some(ms) = std::env::var("RASP_BENCH_GATE_BUILD_MS")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        config = config.gate_build_time(std::time::Duration::from_millis(ms));
    }
    Engine::with_config(Arc::new(rules), config)
}

/// What an engine did with one exchange.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// Status of the interruption, `None` when the exchange passed.
    pub status: Option<u16>,
    /// Phase of the interruption (0 when none).
    pub phase: u8,
    /// Ids of the matched rules (rasp only; empty for ModSecurity).
    pub rules: Vec<u32>,
}

impl Outcome {
    /// `pass`, or `403 in phase 2`.
    pub fn summary(&self) -> String {
        match self.status {
            None => "pass".to_string(),
            Some(s) => format!("{s} in phase {}", self.phase),
        }
    }
}

fn ip(s: &str) -> IpAddr {
    s.parse().expect("ip")
}

/// Runs one exchange through rasp as a server would: every phase in
/// order, stopping at the first interruption, then the logging phase.
/// Returns the interruption status and phase, `(None, 0)` when it passed.
#[inline(never)]
pub fn run_rasp(engine: &Engine, case: &Case) -> (Option<u16>, u8) {
    let mut tx = engine.transaction();
    let r = run_rasp_tx(&mut tx, case);
    tx.process_logging();
    r
}

/// Like [`run_rasp`], also collecting the matched rule ids (outside timing).
pub fn outcome_rasp(engine: &Engine, case: &Case) -> Outcome {
    let mut tx = engine.transaction();
    let (status, phase) = run_rasp_tx(&mut tx, case);
    tx.process_logging();
    Outcome {
        status,
        phase,
        rules: tx.matches().iter().map(|m| m.id).collect(),
    }
}

fn run_rasp_tx(tx: &mut rasp_core::Transaction, case: &Case) -> (Option<u16>, u8) {
    let stop = |v: Verdict| match v {
        Verdict::Interrupt(i) => Some((Some(i.status), i.phase)),
        _ => None,
    };
    tx.process_connection(
        ip(mix::CLIENT.0),
        mix::CLIENT.1,
        ip(mix::SERVER.0),
        mix::SERVER.1,
    );
    tx.process_uri(case.method.as_bytes(), case.uri.as_bytes(), b"HTTP/1.1");
    for (n, v) in &case.headers {
        tx.add_request_header(n.as_bytes(), v.as_bytes());
    }
    if let Some(r) = stop(tx.process_request_headers()) {
        return r;
    }
    if !case.body.is_empty() {
        if let Some(r) = stop(tx.append_request_body(&case.body)) {
            return r;
        }
    }
    if let Some(r) = stop(tx.process_request_body()) {
        return r;
    }
    if let Some(res) = &case.response {
        for (n, v) in &res.headers {
            tx.add_response_header(n.as_bytes(), v.as_bytes());
        }
        if let Some(r) = stop(tx.process_response_headers(res.status, b"HTTP/1.1")) {
            return r;
        }
        if !res.body.is_empty() && tx.wants_response_body() {
            if let Some(r) = stop(tx.append_response_body(&res.body)) {
                return r;
            }
        }
        if let Some(r) = stop(tx.process_response_body()) {
            return r;
        }
    }
    (None, 0)
}

/// Resident set size of this process in bytes (from `/proc/self/statm`).
pub fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    let pages: usize = statm
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    pages * 4096
}

/// Checks the outcomes of the mix against [`mix::Expect`], printing one line
/// per case. Benign cases that are interrupted are returned as errors
/// (with the matched rules), as are attacks that pass.
pub fn check(engine: &str, pl: u8, cases: &[Case], outcomes: &[Outcome]) -> Vec<String> {
    let mut errors = Vec::new();
    for (case, o) in cases.iter().zip(outcomes) {
        let rules = if o.rules.is_empty() {
            String::new()
        } else {
            format!(" rules {:?}", o.rules)
        };
        eprintln!(
            "  PL{pl} {engine:<12} {:<14} {}{rules}",
            case.name,
            o.summary()
        );
        let ok = match case.expect {
            mix::Expect::Pass => o.status.is_none(),
            mix::Expect::Block => o.status.is_some(),
            mix::Expect::Limit => true,
        };
        if !ok {
            errors.push(format!(
                "PL{pl} {engine} {}: expected {:?}, got {}{rules}",
                case.name,
                case.expect,
                o.summary()
            ));
        }
    }
    errors
}
