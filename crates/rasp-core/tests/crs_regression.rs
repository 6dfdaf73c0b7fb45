//! The OWASP CRS v4.28 regression suite (`tests/regression/**.yaml`, 5,003
//! tests in go-ftw format) run in-process against rasp_core.
//!
//! ```text
//! cargo test --release -p rasp-core --test crs_regression
//! CRS_TEST=942100,920100-8  only tests whose name starts with one of these
//! CRS_VERBOSE=1             print the log lines of failing tests
//! CRS_MODE=per_rule         evaluate every rule one by one (no gates)
//! CRS_MODE=compare          run both and require identical matches
//! ```
//!
//! Prints `crs-regression: N passed, M failed, K overridden`, writes a JSON
//! report per test to `target/crs-regression/report.json` and exits non-zero
//! when a test that is not overridden fails. Tests whose expectations an
//! overrides file replaces count as overridden when they pass and as failed
//! when they do not.

// Shared with the crs_unit target, whose unit tests are compiled here too
// (cfg(test)) but only run there; some helpers are used by one target only.
#[allow(dead_code, unused_imports)]
mod crs;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use rasp_core::{Engine, EngineConfig};
use serde_json::json;

use crs::exchange::{run_stage, StageRun};
use crs::judge::{judge, triggered_ids};
use crs::overrides::Overrides;
use crs::yaml::Test;

/// go-ftw's totals for CRS v4.28.0 (TESTING.md §4.1). A loader that drops or
/// invents tests fails here instead of changing the pass rate.
const EXPECTED_FILES: usize = 323;
const EXPECTED_TESTS: usize = 5003;
const EXPECTED_STAGES: usize = 5009;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mode {
    Gated,
    PerRule,
    Compare,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Gated => "gated",
            Mode::PerRule => "per_rule",
            Mode::Compare => "compare",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Verdict {
    Pass,
    Fail,
    Overridden,
}

struct TestResult {
    name: String,
    rule_id: u64,
    file: String,
    verdict: Verdict,
    reasons: Vec<String>,
    override_reasons: Vec<(String, String)>,
    passes_as_written: bool,
    stages: Vec<serde_json::Value>,
    lines: Vec<String>,
}

fn target_dir() -> PathBuf {
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    if let Some(d) = std::env::var_os("CARGO_TARGET_DIR") {
        let d = PathBuf::from(d);
        return if d.is_absolute() {
            d
        } else {
            workspace.join(d)
        };
    }
    // The test binary lives in <target>/<profile>/deps/.
    if let Ok(exe) = std::env::current_exe() {
        if let Some(deps) = exe
            .ancestors()
            .find(|a| a.file_name().is_some_and(|n| n == "deps"))
        {
            if let Some(t) = deps.parent().and_then(|p| p.parent()) {
                return t.to_path_buf();
            }
        }
    }
    workspace.join("target")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        // `cargo test -- --list` and test runners enumerate targets this way.
        println!("crs_regression: test");
        return ExitCode::SUCCESS;
    }
    let mut filters: Vec<String> = std::env::var("CRS_TEST")
        .unwrap_or_default()
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    // A positional argument (`cargo test ... -- 942100`) filters too.
    filters.extend(args.iter().filter(|a| !a.starts_with('-')).cloned());
    let verbose = std::env::var("CRS_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0");
    let mode = match std::env::var("CRS_MODE").unwrap_or_default().as_str() {
        "" | "gated" => Mode::Gated,
        "per_rule" | "per-rule" => Mode::PerRule,
        "compare" => Mode::Compare,
        other => {
            eprintln!("crs-regression: unknown CRS_MODE={other:?} (gated, per_rule, compare)");
            return ExitCode::FAILURE;
        }
    };

    let crs_dir = crs::crs_dir();
    let started = Instant::now();

    // Tests, totals asserted on the full set before any filtering.
    let files = crs::yaml::load_dir(&crs::regression_dir(&crs_dir));
    let n_tests: usize = files.iter().map(|f| f.tests.len()).sum();
    let n_stages: usize = files
        .iter()
        .flat_map(|f| &f.tests)
        .map(|t| t.stages.len())
        .sum();
    assert_eq!(
        (files.len(), n_tests, n_stages),
        (EXPECTED_FILES, EXPECTED_TESTS, EXPECTED_STAGES),
        "the CRS v4.28.0 suite has {EXPECTED_FILES} files, {EXPECTED_TESTS} tests and {EXPECTED_STAGES} stages"
    );

    let httpd_path = crs::httpd_overrides_path(&crs_dir);
    let httpd = Overrides::parse(
        "httpd-overrides.yaml",
        &std::fs::read_to_string(&httpd_path)
            .unwrap_or_else(|e| panic!("{}: {e}", httpd_path.display())),
    );
    let own_path = crs::own_overrides_path();
    let own = Overrides::parse(
        "overrides.yaml",
        &std::fs::read_to_string(&own_path)
            .unwrap_or_else(|e| panic!("{}: {e}", own_path.display())),
    );
    for e in &own.entries {
        assert!(
            !e.reason.is_empty(),
            "overrides.yaml: the entry for rule {} has no reason",
            e.rule_id
        );
    }

    let selected: Vec<(String, Test)> = files
        .iter()
        .flat_map(|f| f.tests.iter().map(move |t| (f.path.clone(), t.clone())))
        .filter(|(_, t)| {
            let name = t.name();
            filters.is_empty() || filters.iter().any(|f| name.starts_with(f.as_str()))
        })
        .collect();

    // Rules, loaded once.
    let rule_files = crs::rule_files(&crs_dir);
    let compiled = rule_files
        .iter()
        .try_fold(crs_compiler::Compiler::new(), |c, f| c.add_file(f))
        .map_err(|e| e.to_string())
        .and_then(|c| c.compile().map_err(|e| e.to_string()));
    let rules = match compiled {
        Ok(r) => Arc::new(r),
        Err(e) => {
            println!("crs-regression: the rules failed to load: {e}");
            println!(
                "crs-regression: 0 passed, {} failed, 0 overridden",
                selected.len()
            );
            return ExitCode::FAILURE;
        }
    };
    eprintln!(
        "crs-regression: {} tests loaded, rules compiled in {:.2?} (mode {})",
        selected.len(),
        started.elapsed(),
        mode.name()
    );
    let gated = Engine::new(rules.clone());
    let per_rule = Engine::with_config(rules, EngineConfig::new().per_rule(true));
    let primary = if mode == Mode::PerRule {
        &per_rule
    } else {
        &gated
    };

    let run_started = Instant::now();
    let mut results = Vec::with_capacity(selected.len());
    for (file, original) in selected {
        let mut test = original.clone();
        let mut override_reasons = Vec::new();
        for ov in [&httpd, &own] {
            for reason in ov.apply(&mut test) {
                override_reasons.push((ov.source.clone(), reason));
            }
        }
        let mut reasons = Vec::new();
        let mut passes_as_written = true;
        let mut stages = Vec::new();
        let mut lines = Vec::new();
        for (i, (stage, original_stage)) in test.stages.iter().zip(&original.stages).enumerate() {
            let run: StageRun = run_stage(primary, &stage.input);
            let mut stage_reasons = judge(&stage.output, &run.observed);
            if !judge(&original_stage.output, &run.observed).is_empty() {
                passes_as_written = false;
            }
            if mode == Mode::Compare {
                let other = run_stage(&per_rule, &stage.input);
                if other.matches != run.matches {
                    let ids = |r: &StageRun| r.matches.iter().map(|m| m.id).collect::<Vec<_>>();
                    stage_reasons.push(format!(
                        "gated and per-rule evaluation differ: gated {:?}, per-rule {:?}",
                        ids(&run),
                        ids(&other)
                    ));
                }
            }
            let logged = triggered_ids(&run.observed.lines);
            let multi = test.stages.len() > 1;
            for r in &stage_reasons {
                reasons.push(if multi {
                    format!("stage {i}: {r}")
                } else {
                    r.clone()
                });
            }
            let status = run.observed.response.as_ref().ok().map(|r| r.status);
            let error = run.observed.response.as_ref().err();
            stages.push(json!({
                "stage": i,
                "pass": stage_reasons.is_empty(),
                "reasons": stage_reasons,
                "status": status,
                "error": error,
                "note": run.note,
                "expected_status": stage.output.status,
                "expect_ids": stage.output.log.expect_ids,
                "no_expect_ids": stage.output.log.no_expect_ids,
                "match_regex": stage.output.log.match_regex,
                "no_match_regex": stage.output.log.no_match_regex,
                "logged_ids": logged,
            }));
            lines.extend(run.observed.lines);
        }
        let verdict = if !reasons.is_empty() {
            Verdict::Fail
        } else if !override_reasons.is_empty() {
            Verdict::Overridden
        } else {
            Verdict::Pass
        };
        results.push(TestResult {
            name: test.name(),
            rule_id: test.rule_id,
            file,
            verdict,
            reasons,
            override_reasons,
            passes_as_written,
            stages,
            lines,
        });
    }
    let elapsed = run_started.elapsed();

    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    let (passed, failed, overridden) = (
        count(Verdict::Pass),
        count(Verdict::Fail),
        count(Verdict::Overridden),
    );

    // Report.
    let report = json!({
        "mode": mode.name(),
        "crs_dir": crs_dir.display().to_string(),
        "filters": filters,
        "summary": { "passed": passed, "failed": failed, "overridden": overridden, "total": results.len() },
        "tests": results.iter().map(|r| json!({
            "id": r.name,
            "file": r.file,
            "result": match r.verdict { Verdict::Pass => "pass", Verdict::Fail => "fail", Verdict::Overridden => "overridden" },
            "reasons": r.reasons,
            "overrides": r.override_reasons.iter().map(|(s, why)| json!({"source": s, "reason": why})).collect::<Vec<_>>(),
            "passes_as_written": r.passes_as_written,
            "stages": r.stages,
            "log_lines": if r.verdict == Verdict::Fail { r.lines.clone() } else { Vec::new() },
        })).collect::<Vec<_>>(),
    });
    let report_dir = target_dir().join("crs-regression");
    let report_path = report_dir.join("report.json");
    let written = std::fs::create_dir_all(&report_dir).and_then(|()| {
        std::fs::write(
            &report_path,
            serde_json::to_vec_pretty(&report).unwrap_or_default(),
        )
    });
    match written {
        Ok(()) => eprintln!(
            "crs-regression: report written to {}",
            report_path.display()
        ),
        Err(e) => eprintln!(
            "crs-regression: could not write {}: {e}",
            report_path.display()
        ),
    }

    // Failures, then where they cluster.
    let failures: Vec<&TestResult> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .collect();
    for r in failures.iter().take(50) {
        println!("FAIL {}: {}", r.name, r.reasons.join("; "));
        if verbose {
            for l in &r.lines {
                println!("    {l}");
            }
        }
    }
    if failures.len() > 50 {
        println!(
            "... and {} more failures (see the report)",
            failures.len() - 50
        );
        if verbose {
            for r in failures.iter().skip(50) {
                println!("FAIL {}: {}", r.name, r.reasons.join("; "));
                for l in &r.lines {
                    println!("    {l}");
                }
            }
        }
    }
    if !failures.is_empty() {
        print_categories(&failures);
    }
    let by_source = |s: &str| {
        results
            .iter()
            .filter(|r| {
                r.verdict == Verdict::Overridden
                    && r.override_reasons.iter().any(|(src, _)| src == s)
            })
            .count()
    };
    eprintln!(
        "crs-regression: {} tests in {:.2?} ({} overridden by httpd-overrides.yaml, {} by overrides.yaml)",
        results.len(),
        elapsed,
        by_source("httpd-overrides.yaml"),
        by_source("overrides.yaml")
    );
    println!("crs-regression: {passed} passed, {failed} failed, {overridden} overridden");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

/// Groups failures by kind: which expected ids are missing most, which
/// unexpected ids appear most, and the other kinds of reasons.
fn print_categories(failures: &[&TestResult]) {
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexpected: BTreeMap<String, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules: BTreeMap<u64, usize> = BTreeMap::new();
    for r in failures {
        *rules.entry(r.rule_id).or_default() += 1;
        let mut seen_kinds = BTreeSet::new();
        for reason in &r.reasons {
            let reason = reason
                .split_once(": ")
                .filter(|(p, _)| p.starts_with("stage "))
                .map_or(reason.as_str(), |x| x.1);
            let list = |s: &str| {
                s.trim_matches(|c| c == '[' || c == ']')
                    .split(", ")
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            if let Some(ids) = reason.strip_prefix("missing expected ids ") {
                list(ids)
                    .into_iter()
                    .for_each(|id| *missing.entry(id).or_default() += 1);
                seen_kinds.insert("missing expected ids".to_string());
            } else if let Some(ids) = reason.strip_prefix("unexpected ids ") {
                list(ids)
                    .into_iter()
                    .for_each(|id| *unexpected.entry(id).or_default() += 1);
                seen_kinds.insert("unexpected ids".to_string());
            } else {
                let kind: String = reason
                    .chars()
                    .take_while(|c| *c != ':' && *c != '"' && !c.is_ascii_digit())
                    .collect();
                seen_kinds.insert(kind.trim().to_string());
            }
        }
        for k in seen_kinds {
            *kinds.entry(k).or_default() += 1;
        }
    }
    let top = |m: &BTreeMap<String, usize>| {
        let mut v: Vec<_> = m.iter().collect();
        v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        v.iter()
            .take(20)
            .map(|(k, n)| format!("{k}×{n}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("failure kinds (tests): {}", top(&kinds));
    println!("most missing ids: {}", top(&missing));
    println!("most unexpected ids: {}", top(&unexpected));
    let by_rule: BTreeMap<String, usize> = rules.iter().map(|(k, v)| (k.to_string(), *v)).collect();
    println!("failing tests by rule file: {}", top(&by_rule));
}
