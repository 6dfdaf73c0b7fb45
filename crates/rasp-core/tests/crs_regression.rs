//! The OWASP CRS v4.28 regression suite (`tests/regression/**.yaml`, 5,003
//! tests in go-ftw format) run in-process against rasp_core.
//!
//! ```text
//! cargo test --release -p rasp-core --test crs_regression
//! CRS_TEST=942100,920100-8  only tests whose name starts with one of these
//! CRS_VERBOSE=1             print every failure with its log lines
//! CRS_VERBOSE=all           print every selected test with its log lines
//! CRS_MODE=per_rule         evaluate every rule one by one (no gates)
//! CRS_MODE=compare          run both and fail stages whose matches differ
//! CRS_URL=http://127.0.0.1:PORT  (or `-- --url URL`) send every stage to a
//!                           running protected_server instead, and list the
//!                           tests whose result differs from in-process
//! CRS_AUDIT_LOG=FILE        (or `-- --audit-log FILE`) that server's audit
//!                           log, for the log lines (see crs/http.rs and
//!                           scripts/crs-over-http.sh)
//! ```
//!
//! Prints `crs-regression: N passed, M failed, K overridden`, writes a JSON
//! report per test to `target/crs-regression/report.json` and exits non-zero
//! when a test that is not overridden fails (over HTTP: `report-http.json`,
//! non-zero on a difference from in-process that `crs/http.rs` does not
//! explain). A test whose expectations an overrides file replaces counts
//! as overridden when it passes them and as failed when it does not.
//!
//! The report lists, per test: `id`, `file`, `result` (pass / fail /
//! overridden), `reasons`, the `overrides` applied (source and reason),
//! `passes_as_written` (judged against the YAML's own expectations), and per
//! stage the status or transport error, the front-end note (e.g. why Apache
//! answered 400), the expectations, the `logged_ids`, and for failures the
//! raw request and the log lines.

// Shared with the crs_unit and crs_modes_agree targets; the modules' unit
// tests are compiled here too (cfg(test)) but only run in crs_unit.
#[allow(dead_code, unused_imports)]
mod crs;

use std::process::ExitCode;

use crs::suite::{self, Mode, Options};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // `cargo test -- --list` and test runners enumerate targets this way.
        println!("crs_regression: test");
        return ExitCode::SUCCESS;
    }
    let mode = match Mode::from_env() {
        Ok(m) => m,
        Err(e) => {
            eprintln!("crs-regression: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut args = args;
    let http = match crs::http::Target::from_args_and_env(&mut args) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("crs-regression: {e}");
            return ExitCode::FAILURE;
        }
    };
    if http.is_some() && mode == Mode::Compare {
        eprintln!("crs-regression: CRS_MODE=compare runs in-process only (not with --url)");
        return ExitCode::FAILURE;
    }
    let mut opts = Options::from_env(mode, &args, "report.json");
    if http.is_some() {
        opts.report_name = "report-http.json";
    }
    opts.http = http;
    match suite::run(&opts) {
        Ok(s) => {
            if let Some(target) = &opts.http {
                crs::http::print_comparison(target, &s, opts.verbose);
            }
            if mode == Mode::Compare {
                println!(
                    "crs-regression: {} stages compared, {} differ between gated and per-rule evaluation",
                    s.compared_stages,
                    s.differing_stages.len()
                );
            }
            println!(
                "crs-regression: {} passed, {} failed, {} overridden",
                s.passed, s.failed, s.overridden
            );
            if let Some(target) = &opts.http {
                // Over HTTP the front end is hyper, not Apache: the run
                // fails on a difference from in-process that http.rs does
                // not explain, or on an in-process failure.
                let unexplained = crs::http::unexplained_differences(target, &s);
                let in_process_failed = s.in_process.map_or(0, |c| c.1);
                return if unexplained == 0 && in_process_failed == 0 {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                };
            }
            if s.failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            println!("crs-regression: {e}");
            println!(
                "crs-regression: 0 passed, {} failed, 0 overridden",
                suite::EXPECTED_TESTS
            );
            ExitCode::FAILURE
        }
    }
}
