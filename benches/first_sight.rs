//! Engine time for an exchange whose values the engine has never seen: the
//! first exchange of a freshly loaded CRS (paranoia 1), before any other.
//!
//! ```text
//! cargo bench --bench first_sight [--features bench-modsecurity]
//! ```
//!
//! Why: rasp's multi-pattern gates are lazy DFAs, which build each state
//! the first time an input needs it. A state of a large CRS set takes tens
//! of microseconds to build, so the first sight of unusual bytes costs far
//! more than the steady state the `engine` bench measures; an attacker can
//! send new bytes every time. libmodsecurity (PCRE) has no such warm-up.
//!
//! Two requests from the CRS regression suite, read from `$RASP_CRS_DIR` at
//! run time (CRS files are never copied into this repository):
//! - `prose_post_3k5`: 942521-16, a 3.5 KiB URL-encoded excerpt of the
//!   Wikipedia article on SQL injection, POSTed as a form (a negative test
//!   of 942521: prose, many SQL words);
//! - `xss_get`: 941100-1, a 300-byte XSS payload in the query string.
//!
//! Each iteration compiles the rules and builds the engine outside the
//! timed region, then times that engine's first exchange. The ModSecurity
//! side loads a fresh instance per iteration the same way.

mod common;
#[cfg(feature = "bench-modsecurity")]
mod modsecurity;

use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};

use common::mix::{Case, Expect};

/// The first `field:` value after `test_id: <id>` in a go-ftw YAML file,
/// unquoted (CRS writes these on one line). Panics with the file name when
/// it is not there: the bench is meaningless without it.
fn regression_input(dir: &Path, rule: &str, id: u32, field: &str) -> String {
    let pattern = format!("{}/tests/regression/**/{rule}.yaml", dir.display());
    let file = glob::glob(&pattern)
        .ok()
        .and_then(|mut found| found.find_map(Result::ok))
        .unwrap_or_else(|| panic!("{rule}.yaml not found under {}", dir.display()));
    let text = std::fs::read_to_string(&file).expect("read regression file");
    // `- test_id: 16` opens a test; its fields follow, indented.
    let mut lines = text.lines().map(|l| l.trim().trim_start_matches("- "));
    let marker = format!("test_id: {id}");
    lines
        .by_ref()
        .find(|l| *l == marker)
        .unwrap_or_else(|| panic!("{}: no {marker}", file.display()));
    let prefix = format!("{field}: ");
    let raw = lines
        .find_map(|l| l.strip_prefix(&prefix))
        .unwrap_or_else(|| panic!("{}: no {field} after {marker}", file.display()));
    unquote(raw)
}

/// A YAML scalar as written on one line: double-quoted (`\"`, `\\`),
/// single-quoted (`''`) or plain.
fn unquote(raw: &str) -> String {
    if let Some(inner) = raw.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        inner.replace("\\\"", "\"").replace("\\\\", "\\")
    } else if let Some(inner) = raw.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        raw.to_string()
    }
}

fn headers(body: &[u8]) -> Vec<(String, String)> {
    let mut h = vec![
        ("Host".to_string(), "localhost".to_string()),
        ("User-Agent".to_string(), "OWASP CRS test agent".to_string()),
        (
            "Accept".to_string(),
            "text/xml,application/xml,application/xhtml+xml,text/html;q=0.9,text/plain;q=0.8,image/png,*/*;q=0.5"
                .to_string(),
        ),
    ];
    if !body.is_empty() {
        h.push((
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        ));
        h.push(("Content-Length".to_string(), body.len().to_string()));
    }
    h
}

fn cases(dir: &Path) -> Vec<Case> {
    let prose = regression_input(dir, "942521", 16, "data").into_bytes();
    let xss = regression_input(dir, "941100", 1, "uri");
    vec![
        Case {
            name: "prose_post_3k5",
            description: "CRS 942521-16: 3.5 KiB of prose about SQL injection, as a form",
            method: "POST",
            uri: "/post".to_string(),
            headers: headers(&prose),
            body: prose,
            response: None,
            expect: Expect::Pass,
        },
        Case {
            name: "xss_get",
            description: "CRS 941100-1: a 300-byte XSS payload in the query",
            method: "GET",
            uri: xss,
            headers: headers(b""),
            body: Vec::new(),
            response: None,
            expect: Expect::Block,
        },
    ]
}

fn first_sight(c: &mut Criterion) {
    let dir = common::crs_dir();
    for case in cases(&dir) {
        let mut g = c.benchmark_group(format!("first_sight/{}", case.name));
        let fresh = || rasp_core::Engine::new(Arc::new(common::compile_rasp(&dir, 1)));
        {
            let engine = fresh();
            let first = common::outcome_rasp(&engine, &case);
            eprintln!("rasp, {}: {}", case.name, first.summary());
        }
        g.bench_function("rasp", |b| {
            b.iter_batched(
                fresh,
                // The engine is handed back, to be dropped outside the timing.
                |engine| {
                    let outcome = black_box(common::run_rasp(&engine, &case));
                    (engine, outcome)
                },
                BatchSize::PerIteration,
            )
        });
        // The same engine once it has seen the request (the steady state,
        // for scale).
        let warm = fresh();
        g.bench_function("rasp_warm", |b| {
            b.iter(|| black_box(common::run_rasp(&warm, &case)))
        });
        #[cfg(feature = "bench-modsecurity")]
        {
            let load = || modsecurity::ModSecurity::load(&dir, 1);
            let (status, phase) = load().run(&case);
            eprintln!(
                "libmodsecurity, {}: {}",
                case.name,
                status.map_or("pass".to_string(), |s| format!("{s} in phase {phase}"))
            );
            g.bench_function("modsecurity", |b| {
                b.iter_batched(
                    load,
                    |m| {
                        let outcome = black_box(m.run(&case));
                        (m, outcome)
                    },
                    BatchSize::PerIteration,
                )
            });
        }
        g.finish();
    }
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = first_sight
}
criterion_main!(benches);
