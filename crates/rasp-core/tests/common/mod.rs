//! Helpers shared by the engine test files.
#![allow(dead_code)]

use std::sync::Arc;

use rasp_core::{Engine, EngineConfig, Transaction};

/// Compiles inline rules into an engine; panics with the compile errors.
pub fn engine(rules: &str) -> Engine {
    let compiled = crs_compiler::Compiler::new()
        .add_str("inline.conf", rules)
        .compile()
        .unwrap_or_else(|e| panic!("rules do not compile: {e}"));
    Engine::new(Arc::new(compiled))
}

/// The same rules without gates (every rule runs its own operator on
/// every value), to compare with the gated `engine`.
pub fn per_rule(engine: &Engine) -> Engine {
    Engine::with_config(
        Arc::clone(engine.rules()),
        EngineConfig::new().per_rule(true),
    )
}

/// Asserts that `gated` and its per-rule twin log the same rules for each
/// GET of `uris`.
pub fn assert_modes_agree(gated: &Engine, uris: &[&str]) {
    let plain = per_rule(gated);
    for uri in uris {
        assert_eq!(
            ids(&run(gated, uri, None)),
            ids(&run(&plain, uri, None)),
            "{uri}"
        );
    }
}

/// Runs a request through phases 1, 2 and 5: `GET uri`, or `POST uri` with
/// `body` and its content type.
pub fn request(
    engine: &Engine,
    uri: &[u8],
    headers: &[(&[u8], &[u8])],
    body: Option<&[u8]>,
) -> Transaction {
    let mut tx = engine.transaction();
    tx.process_connection(
        "10.0.0.1".parse().unwrap(),
        4000,
        "10.0.0.2".parse().unwrap(),
        80,
    );
    tx.process_uri(
        if body.is_some() { b"POST" } else { b"GET" },
        uri,
        b"HTTP/1.1",
    );
    tx.add_request_header(b"Host", b"example.com");
    for (n, v) in headers {
        tx.add_request_header(n, v);
    }
    let _ = tx.process_request_headers();
    if let Some(b) = body {
        let _ = tx.append_request_body(b);
    }
    let _ = tx.process_request_body();
    tx.process_logging();
    tx
}

/// Headers as the tests write them: name and value.
pub type Headers<'a> = &'a [(&'a [u8], &'a [u8])];

/// Runs `GET /` through every phase, with `request` headers after Host,
/// `response` headers before phase 3 and `late` ones after it; the ids of
/// the logged matches.
pub fn exchange_ids(
    engine: &Engine,
    request: Headers<'_>,
    response: Headers<'_>,
    late: Headers<'_>,
) -> Vec<u32> {
    let mut tx = engine.transaction();
    tx.process_uri(b"GET", b"/", b"HTTP/1.1");
    tx.add_request_header(b"Host", b"example.com");
    for (n, v) in request {
        tx.add_request_header(n, v);
    }
    let _ = tx.process_request_headers();
    let _ = tx.process_request_body();
    for (n, v) in response {
        tx.add_response_header(n, v);
    }
    let _ = tx.process_response_headers(200, b"HTTP/1.1");
    for (n, v) in late {
        tx.add_response_header(n, v);
    }
    let _ = tx.process_response_body();
    tx.process_logging();
    ids(&tx)
}

/// An exchange as [`exchange_ids`] runs it (request, response and late
/// response headers) and the ids expected of it.
pub type ExchangeCase<'a> = (Headers<'a>, Headers<'a>, Headers<'a>, &'a [u32]);

/// Asserts that `gated` and its per-rule twin log the expected ids for
/// each case, twice each (the second time with the thread's memory warm).
pub fn assert_exchanges(gated: &Engine, cases: &[ExchangeCase<'_>]) {
    let plain = per_rule(gated);
    for (request, response, late, expected) in cases {
        for e in [gated, &plain] {
            for _ in 0..2 {
                let found = exchange_ids(e, request, response, late);
                assert_eq!(found, *expected, "{request:?} {response:?} {late:?}");
            }
        }
    }
}

/// Runs a GET (and optional form body) through phases 1–2 and 5.
pub fn run(engine: &Engine, uri: &str, body: Option<&str>) -> Transaction {
    let form: &[(&[u8], &[u8])] = &[(b"Content-Type", b"application/x-www-form-urlencoded")];
    match body {
        Some(b) => request(engine, uri.as_bytes(), form, Some(b.as_bytes())),
        None => request(engine, uri.as_bytes(), &[], None),
    }
}

/// Ids of the matches that write a log line (rules without `nolog`).
pub fn ids(tx: &Transaction) -> Vec<u32> {
    tx.matches()
        .iter()
        .filter(|m| m.log)
        .map(|m| m.id)
        .collect()
}
