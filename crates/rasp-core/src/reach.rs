//! Which rules an engine's configuration reaches, so that the multi-pattern
//! gates are planned over those only.
//!
//! CRS decides at the start of every rule file and phase, from TX
//! variables its setup fixes, to skip the rules above the paranoia level.
//! At paranoia level 1 about half of the gated CRS rules are never
//! evaluated, yet the compiler puts their patterns in the same sets as the
//! others, and the broad PL3/PL4 patterns (942420: eight punctuation
//! characters anywhere) hit ordinary headers and force the slower
//! overlapping scan on them.
//!
//! So an engine runs a few built-in benign exchanges once, in per-rule
//! mode and with a store of its own, records every chain head evaluated,
//! and plans the gates over those. This is only an optimisation: a rule
//! left out is still evaluated, value by value, whenever a request reaches
//! it (a request-specific skip, a `ctl` removal of a skip rule), so results
//! never depend on it. `crs_modes_agree` checks that on the whole CRS suite
//! at paranoia levels 4 and 1.

use std::sync::Arc;

use crs_compiler::program::GatePlan;

use crate::engine::Engine;

/// One built-in exchange.
struct Probe {
    method: &'static [u8],
    uri: &'static [u8],
    content_type: Option<&'static [u8]>,
    body: &'static [u8],
}

/// Browser-style headers every probe sends.
const HEADERS: &[(&[u8], &[u8])] = &[
    (b"Host", b"www.example.com"),
    (
        b"User-Agent",
        b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    ),
    (
        b"Accept",
        b"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
    ),
    (b"Accept-Language", b"en-US,en;q=0.5"),
    (b"Accept-Encoding", b"gzip, deflate, br"),
    (b"Referer", b"https://www.example.com/"),
    (b"Cookie", b"session=abc123; theme=dark"),
    (b"Connection", b"keep-alive"),
];

/// A request of each body kind CRS treats differently.
const PROBES: &[Probe] = &[
    Probe {
        method: b"GET",
        uri: b"/products/view.php?id=12&lang=en",
        content_type: None,
        body: b"",
    },
    Probe {
        method: b"POST",
        uri: b"/account/login",
        content_type: Some(b"application/x-www-form-urlencoded"),
        body: b"user=alex&password=secret&remember=1",
    },
    Probe {
        method: b"POST",
        uri: b"/api/items",
        content_type: Some(b"application/json"),
        body: br#"{"name":"Jacket","size":"L","tags":["winter","sale"]}"#,
    },
    Probe {
        method: b"POST",
        uri: b"/upload",
        content_type: Some(b"multipart/form-data; boundary=probe"),
        body: b"--probe\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nholiday\r\n--probe\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--probe--\r\n",
    },
    Probe {
        method: b"POST",
        uri: b"/soap",
        content_type: Some(b"text/xml"),
        body: b"<?xml version=\"1.0\"?><order><item>book</item></order>",
    },
];

/// The gate plan over the rules the probes reached, or `None` to keep the
/// ruleset's own plan (every gated rule was reached, or none was: the
/// engine is off).
pub(crate) fn plan_for_reached(engine: &Engine) -> Option<GatePlan> {
    let probe_engine = Engine {
        rules: Arc::clone(&engine.rules),
        config: engine.config.clone().per_rule(true),
        store: Arc::default(),
        plan: Arc::default(),
        shortcuts: Arc::default(),
        mapped_contains: Arc::clone(&engine.mapped_contains),
        sweep_chains: Arc::default(),
        prelude: Arc::default(),
        file_names: Arc::clone(&engine.file_names),
    };
    let mut reached = vec![false; engine.rules.link_count];
    for probe in PROBES {
        let mut tx = probe_engine.transaction();
        tx.reached = Some(reached);
        run(&mut tx, probe);
        reached = tx.reached.take().unwrap_or_default();
    }
    let is_reached = |link: usize| reached.get(link).copied().unwrap_or(true);
    let unreached_gate = engine
        .rules
        .gates
        .iter()
        .enumerate()
        .any(|(link, g)| g.is_some() && !is_reached(link));
    if !unreached_gate || !reached.contains(&true) {
        return None;
    }
    Some(crs_compiler::plan_gates(&engine.rules, &|rule| {
        is_reached(rule.link_index)
    }))
}

fn run(tx: &mut crate::Transaction, probe: &Probe) {
    tx.process_connection(
        std::net::IpAddr::from([192, 0, 2, 10]),
        50_000,
        std::net::IpAddr::from([192, 0, 2, 1]),
        443,
    );
    tx.process_uri(probe.method, probe.uri, b"HTTP/1.1");
    for (name, value) in HEADERS {
        tx.add_request_header(name, value);
    }
    if let Some(ct) = probe.content_type {
        tx.add_request_header(b"Content-Type", ct);
        tx.add_request_header(b"Content-Length", probe.body.len().to_string().as_bytes());
    }
    let _ = tx.process_request_headers();
    let _ = tx.append_request_body(probe.body);
    let _ = tx.process_request_body();
    tx.add_response_header(b"Content-Type", b"text/html; charset=utf-8");
    let _ = tx.process_response_headers(200, b"HTTP/1.1");
    let _ = tx.append_response_body(
        b"<html><head><title>Shop</title></head><body><p>Welcome</p></body></html>",
    );
    let _ = tx.process_response_body();
    tx.process_logging();
}
