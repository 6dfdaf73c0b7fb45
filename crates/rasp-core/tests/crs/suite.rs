//! Running the whole suite: load, apply overrides, run every stage, judge,
//! write the JSON report and print failures. Shared by the crs_regression
//! and crs_modes_agree targets.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use rasp_core::{Engine, EngineConfig};
use serde_json::json;

use super::exchange::{run_stage, StageRun};
use super::judge::{judge, triggered_ids};
use super::overrides::Overrides;
use super::yaml::Test;

/// go-ftw's totals for CRS v4.28.0 (TESTING.md §4.1). A loader that drops or
/// invents tests fails here instead of changing the pass rate.
pub const EXPECTED_FILES: usize = 323;
pub const EXPECTED_TESTS: usize = 5003;
pub const EXPECTED_STAGES: usize = 5009;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Mode {
    /// The engine as configured by default (multi-pattern gates).
    Gated,
    /// `EngineConfig::per_rule(true)`: every rule evaluated one by one.
    PerRule,
    /// Both; every stage's matches must be identical.
    Compare,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Gated => "gated",
            Mode::PerRule => "per_rule",
            Mode::Compare => "compare",
        }
    }

    /// `CRS_MODE`: `gated` (default), `per_rule` or `compare`.
    pub fn from_env() -> Result<Mode, String> {
        match std::env::var("CRS_MODE").unwrap_or_default().as_str() {
            "" | "gated" => Ok(Mode::Gated),
            "per_rule" | "per-rule" => Ok(Mode::PerRule),
            "compare" => Ok(Mode::Compare),
            other => Err(format!(
                "unknown CRS_MODE={other:?} (gated, per_rule, compare)"
            )),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    pub mode: Mode,
    /// Test-name prefixes (`942100`, `920100-8`); empty runs everything.
    pub filters: Vec<String>,
    /// Print the log lines of failing tests.
    pub verbose: bool,
    /// Print every selected test with its log lines (`CRS_VERBOSE=all`).
    pub verbose_all: bool,
    /// Print the failure list and categories.
    pub print_failures: bool,
    /// File name of the JSON report under `target/crs-regression/`.
    pub report_name: &'static str,
    /// Send the stages to this running server instead (`CRS_URL` /
    /// `--url`, see `http.rs`); every stage is also run in-process and the
    /// tests whose result differs are listed.
    pub http: Option<super::http::Target>,
    /// Overrides test-setup.conf's paranoia level (4) when set: the
    /// engine then plans its gates without the rules above it.
    pub paranoia: Option<u8>,
}

impl Options {
    /// Filters from `CRS_TEST` (comma-separated) plus positional arguments,
    /// `CRS_VERBOSE`, and the given mode.
    pub fn from_env(mode: Mode, args: &[String], report_name: &'static str) -> Options {
        let mut filters: Vec<String> = std::env::var("CRS_TEST")
            .unwrap_or_default()
            .split(',')
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        filters.extend(args.iter().filter(|a| !a.starts_with('-')).cloned());
        Options {
            mode,
            filters,
            verbose: std::env::var("CRS_VERBOSE").is_ok_and(|v| !v.is_empty() && v != "0"),
            verbose_all: std::env::var("CRS_VERBOSE").is_ok_and(|v| v == "all"),
            print_failures: true,
            report_name,
            http: None,
            paranoia: None,
        }
    }
}

/// The counts of a run.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    pub passed: usize,
    pub failed: usize,
    pub overridden: usize,
    /// Stages run through both engines (compare mode).
    pub compared_stages: usize,
    /// `<test> stage <i>` for every stage whose matches differ.
    pub differing_stages: Vec<String>,
    /// Over HTTP: the tests whose result differs from the in-process run,
    /// with both sides' reasons.
    pub http_differences: Vec<String>,
    /// Over HTTP: stages whose logged ids differ from in-process (whatever
    /// the tests' results).
    pub http_id_differences: Vec<String>,
    /// Over HTTP: the in-process run's passed, failed and overridden
    /// counts for the same tests.
    pub in_process: Option<(usize, usize, usize)>,
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
    /// Wall time of all stages (both engines in compare mode).
    micros: u128,
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

/// The raw request as text (control bytes escaped), cut at 4 KiB.
fn request_excerpt(raw: &[u8]) -> String {
    let cut = &raw[..raw.len().min(4096)];
    let mut text = super::log_line::log_escape(cut, false);
    if raw.len() > cut.len() {
        text.push_str(&format!("... ({} bytes)", raw.len()));
    }
    text
}

fn read_overrides(source: &str, path: &std::path::Path) -> Overrides {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Overrides::parse(source, &text)
}

/// Runs the suite. `Err` means the rules did not load.
pub fn run(opts: &Options) -> Result<Summary, String> {
    let crs_dir = super::crs_dir();
    let started = Instant::now();

    // Tests, totals asserted on the full set before any filtering.
    let files = super::yaml::load_dir(&super::regression_dir(&crs_dir));
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

    let httpd = read_overrides(
        "httpd-overrides.yaml",
        &super::httpd_overrides_path(&crs_dir),
    );
    let own = read_overrides("overrides.yaml", &super::own_overrides_path());
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
            opts.filters.is_empty() || opts.filters.iter().any(|f| name.starts_with(f.as_str()))
        })
        .collect();
    if selected.is_empty() {
        // `cargo test -p rasp-core <name>` passes <name> to this binary too.
        eprintln!(
            "crs-regression: no test name starts with {:?}",
            opts.filters
        );
    }

    // Rules, loaded once.
    let paranoia = opts.paranoia.map(|pl| {
        format!("SecAction \"id:999990,phase:1,pass,nolog,setvar:tx.blocking_paranoia_level={pl}\"")
    });
    let rules = super::rule_files(&crs_dir)
        .iter()
        .enumerate()
        .try_fold(
            crs_compiler::Compiler::new(),
            |c, (i, f)| -> Result<_, crs_compiler::CompileErrors> {
                let c = c.add_file(f)?;
                // Right after test-setup.conf, before REQUEST-901 reads it.
                Ok(match (&paranoia, i) {
                    (Some(text), 0) => c.add_str("paranoia.conf", text),
                    _ => c,
                })
            },
        )
        .map_err(|e| e.to_string())
        .and_then(|c| c.compile().map_err(|e| e.to_string()))
        .map(Arc::new)
        .map_err(|e| format!("the rules failed to load: {e}"))?;
    eprintln!(
        "crs-regression: {} tests selected, tests loaded and rules compiled in {:.2?} (mode {}{})",
        selected.len(),
        started.elapsed(),
        opts.mode.name(),
        opts.http
            .as_ref()
            .map_or(String::new(), |t| format!(", over HTTP to {}", t.url))
    );
    let gated = Engine::new(rules.clone());
    let per_rule = Engine::with_config(rules, EngineConfig::new().per_rule(true));
    let primary = if opts.mode == Mode::PerRule {
        &per_rule
    } else {
        &gated
    };

    let run_started = Instant::now();
    let mut summary = Summary::default();
    let mut results = Vec::with_capacity(selected.len());
    for (file, original) in selected {
        let test_started = Instant::now();
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
        let multi = test.stages.len() > 1;
        let mut in_process_reasons: Vec<String> = Vec::new();
        for (i, (stage, original_stage)) in test.stages.iter().zip(&original.stages).enumerate() {
            let run: StageRun = match &opts.http {
                Some(target) => target.run_stage(&test.name(), &stage.input),
                None => run_stage(primary, &stage.input),
            };
            let mut stage_reasons = judge(&stage.output, &run.observed);
            // Over HTTP, the same stage in-process for comparison.
            let in_process = opts.http.as_ref().map(|_| {
                let local = run_stage(primary, &stage.input);
                let local_reasons = judge(&stage.output, &local.observed);
                let (http_ids, local_ids) = (
                    triggered_ids(&run.observed.lines),
                    triggered_ids(&local.observed.lines),
                );
                if http_ids != local_ids {
                    summary.http_id_differences.push(format!(
                        "{} stage {i}: in-process {local_ids:?}, HTTP {http_ids:?}",
                        test.name()
                    ));
                }
                in_process_reasons.extend(local_reasons.iter().cloned());
                json!({
                    "pass": local_reasons.is_empty(),
                    "reasons": local_reasons,
                    "status": local.observed.response.as_ref().ok().map(|r| r.status),
                    "note": local.note,
                    "logged_ids": local_ids,
                })
            });
            if !judge(&original_stage.output, &run.observed).is_empty() {
                passes_as_written = false;
            }
            if opts.mode == Mode::Compare {
                let ids = |r: &StageRun| r.matches.iter().map(|m| m.id).collect::<Vec<_>>();
                summary.compared_stages += 1;
                // The per-rule engine, then the same stage twice more on
                // the gated one: its thread keeps what it found in the
                // stage's values the second time they come and answers
                // from that the third (`transaction/value_memo.rs`).
                let other = run_stage(&per_rule, &stage.input);
                let _ = run_stage(primary, &stage.input);
                let again = run_stage(primary, &stage.input);
                let mut differ = |reason: String, tag: &str| {
                    stage_reasons.push(reason);
                    summary
                        .differing_stages
                        .push(format!("{} stage {i}{tag}", test.name()));
                };
                if other.matches != run.matches {
                    differ(
                        format!(
                            "gated and per-rule evaluation differ: gated {:?}, per-rule {:?}",
                            ids(&run),
                            ids(&other)
                        ),
                        "",
                    );
                }
                if again.matches != run.matches {
                    differ(
                        format!(
                            "gated evaluation differs when repeated: first {:?}, then {:?}",
                            ids(&run),
                            ids(&again)
                        ),
                        " (repeated)",
                    );
                }
            }
            for r in &stage_reasons {
                reasons.push(if multi {
                    format!("stage {i}: {r}")
                } else {
                    r.clone()
                });
            }
            stages.push(json!({
                "stage": i,
                "pass": stage_reasons.is_empty(),
                "reasons": stage_reasons,
                "status": run.observed.response.as_ref().ok().map(|r| r.status),
                "error": run.observed.response.as_ref().err(),
                "note": run.note,
                "expected_status": stage.output.status,
                "expect_ids": stage.output.log.expect_ids,
                "no_expect_ids": stage.output.log.no_expect_ids,
                "match_regex": stage.output.log.match_regex,
                "no_match_regex": stage.output.log.no_match_regex,
                "logged_ids": triggered_ids(&run.observed.lines),
                "in_process": in_process,
                // Only for failures, to keep the report small.
                "request": (!stage_reasons.is_empty()).then(|| request_excerpt(&run.raw_request)),
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
        let (http_failed, in_process_failed) =
            (verdict == Verdict::Fail, !in_process_reasons.is_empty());
        if opts.http.is_some() {
            let counts = summary.in_process.get_or_insert((0, 0, 0));
            if in_process_failed {
                counts.1 += 1;
            } else if !override_reasons.is_empty() {
                counts.2 += 1;
            } else {
                counts.0 += 1;
            }
        }
        if opts.http.is_some() && http_failed != in_process_failed {
            let side = |failed: bool| if failed { "fail" } else { "pass" };
            let notes: Vec<String> = stages
                .iter()
                .filter_map(|s| s["note"].as_str().map(str::to_string))
                .collect();
            summary.http_differences.push(format!(
                "{}: in-process {} [{}], HTTP {} [{}]{}",
                test.name(),
                side(in_process_failed),
                in_process_reasons.join("; "),
                side(http_failed),
                reasons.join("; "),
                if notes.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", notes.join("; "))
                }
            ));
        }
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
            micros: test_started.elapsed().as_micros(),
        });
    }
    let elapsed = run_started.elapsed();
    let mut slowest: Vec<&TestResult> = results.iter().collect();
    slowest.sort_by_key(|r| std::cmp::Reverse(r.micros));
    let slowest: Vec<String> = slowest
        .iter()
        .take(5)
        .map(|r| format!("{} {:.1}ms", r.name, r.micros as f64 / 1000.0))
        .collect();
    eprintln!("crs-regression: slowest tests: {}", slowest.join(", "));

    let count = |v: Verdict| results.iter().filter(|r| r.verdict == v).count();
    summary.passed = count(Verdict::Pass);
    summary.failed = count(Verdict::Fail);
    summary.overridden = count(Verdict::Overridden);

    write_report(opts, &crs_dir, &summary, &results);
    if opts.verbose_all {
        for r in &results {
            println!("{:?} {}: {}", r.verdict, r.name, r.reasons.join("; "));
            for l in &r.lines {
                println!("    {l}");
            }
        }
    }
    let failures: Vec<&TestResult> = results
        .iter()
        .filter(|r| r.verdict == Verdict::Fail)
        .collect();
    if opts.print_failures {
        print_failures(&failures, opts.verbose);
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
    Ok(summary)
}

fn write_report(
    opts: &Options,
    crs_dir: &std::path::Path,
    summary: &Summary,
    results: &[TestResult],
) {
    let report = json!({
        "mode": opts.mode.name(),
        "crs_dir": crs_dir.display().to_string(),
        "filters": opts.filters,
        "summary": {
            "passed": summary.passed,
            "failed": summary.failed,
            "overridden": summary.overridden,
            "total": results.len(),
            "compared_stages": summary.compared_stages,
            "differing_stages": summary.differing_stages,
        },
        "tests": results.iter().map(|r| json!({
            "id": r.name,
            "file": r.file,
            "result": match r.verdict {
                Verdict::Pass => "pass",
                Verdict::Fail => "fail",
                Verdict::Overridden => "overridden",
            },
            "reasons": r.reasons,
            "overrides": r.override_reasons.iter()
                .map(|(s, why)| json!({"source": s, "reason": why}))
                .collect::<Vec<_>>(),
            "passes_as_written": r.passes_as_written,
            "stages": r.stages,
            "log_lines": if r.verdict == Verdict::Fail { r.lines.clone() } else { Vec::new() },
            "micros": r.micros,
        })).collect::<Vec<_>>(),
    });
    let dir = target_dir().join("crs-regression");
    let path = dir.join(opts.report_name);
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        std::fs::write(
            &path,
            serde_json::to_vec_pretty(&report).unwrap_or_default(),
        )
    });
    match written {
        Ok(()) => eprintln!("crs-regression: report written to {}", path.display()),
        Err(e) => eprintln!("crs-regression: could not write {}: {e}", path.display()),
    }
}

fn print_failures(failures: &[&TestResult], verbose: bool) {
    // Without CRS_VERBOSE the list stops at 50; the report has them all.
    let shown = if verbose {
        failures.len()
    } else {
        failures.len().min(50)
    };
    for r in &failures[..shown] {
        println!("FAIL {}: {}", r.name, r.reasons.join("; "));
        if verbose {
            for l in &r.lines {
                println!("    {l}");
            }
        }
    }
    if shown < failures.len() {
        println!(
            "... and {} more failures (see the report)",
            failures.len() - shown
        );
    }
    if !failures.is_empty() {
        print_categories(failures);
    }
}

/// Groups failures by kind: which expected ids are missing most, which
/// unexpected ids appear most, and the other kinds of reasons.
fn print_categories(failures: &[&TestResult]) {
    let mut missing: BTreeMap<String, usize> = BTreeMap::new();
    let mut unexpected: BTreeMap<String, usize> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut rules: BTreeMap<String, usize> = BTreeMap::new();
    for r in failures {
        *rules.entry(r.rule_id.to_string()).or_default() += 1;
        let mut seen_kinds = BTreeSet::new();
        for reason in &r.reasons {
            let reason = reason
                .split_once(": ")
                .filter(|(p, _)| p.starts_with("stage "))
                .map_or(reason.as_str(), |x| x.1);
            let ids = |s: &str| {
                s.trim_matches(|c| c == '[' || c == ']')
                    .split(", ")
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            };
            if let Some(list) = reason.strip_prefix("missing expected ids ") {
                ids(list)
                    .into_iter()
                    .for_each(|id| *missing.entry(id).or_default() += 1);
                seen_kinds.insert("missing expected ids".to_string());
            } else if let Some(list) = reason.strip_prefix("unexpected ids ") {
                ids(list)
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
    println!("failing tests by rule: {}", top(&rules));
}
