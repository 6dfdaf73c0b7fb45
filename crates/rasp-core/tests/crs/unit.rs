//! Unit tests of the CRS regression runner's parts (request building,
//! Apache emulation, albedo, log lines, judging, YAML and overrides),
//! independent of the engine. `cargo test -p rasp-core --test crs_unit`.

// The runner's modules are shared with the crs_regression target; this
// target exercises them piecewise, so some items are unused here.
#![allow(dead_code)]

#[path = "mod.rs"]
mod crs;

use crs::yaml;

/// The real suite loads with go-ftw's totals and every stage builds.
#[test]
fn real_suite_loads_with_go_ftw_totals_and_every_stage_builds() {
    let files = suite();
    let tests: Vec<_> = files.iter().flat_map(|f| &f.tests).collect();
    let stages: usize = tests.iter().map(|t| t.stages.len()).sum();
    assert_eq!((files.len(), tests.len(), stages), (323, 5003, 5009));
    // 933200.yaml's typo is kept, as go-ftw keeps it.
    assert!(tests.iter().any(|t| t.name() == "9331200-1"));
    // 999999.yml is included (go-ftw globs *.y*ml).
    assert!(files
        .iter()
        .any(|f| f.path.ends_with("999999.yml") && f.tests.len() == 37));
    let mut built = 0;
    for t in &tests {
        for s in &t.stages {
            crs::request::build(&s.input).unwrap_or_else(|e| panic!("{}: {e:?}", t.name()));
            built += 1;
        }
    }
    assert_eq!(built, 5009);
}

/// The real suite, loaded once for all tests of this target.
fn suite() -> &'static [yaml::TestFile] {
    static SUITE: std::sync::OnceLock<Vec<yaml::TestFile>> = std::sync::OnceLock::new();
    SUITE.get_or_init(|| yaml::load_dir(&crs::regression_dir(&crs::crs_dir())))
}

fn find(name: &str) -> yaml::Test {
    suite()
        .iter()
        .flat_map(|f| &f.tests)
        .find(|t| t.name() == name)
        .cloned()
        .unwrap_or_else(|| panic!("test {name} not found"))
}

fn front_end(name: &str) -> Result<crs::apache::Parsed, crs::apache::Rejection> {
    let t = find(name);
    let raw = crs::request::build(&t.stages[0].input).unwrap();
    crs::apache::parse(&raw)
}

/// Every test TESTING.md §8 lists as Apache's 400 is rejected by the
/// emulation, and every test listed as accepted is accepted.
#[test]
fn apache_rejections_match_the_reference_list() {
    let rejected = [
        "920100-2",
        "920100-5",
        "920100-8",
        "920100-11",
        "920100-12",
        "920100-13",
        "920100-15",
        "920160-1",
        "920160-2",
        "920160-3",
        "920160-5",
        "920270-4",
        "920274-1",
        "920280-3",
        "920290-1",
        "920430-3",
        "920430-6",
        "920430-7",
        "920430-9",
        "920430-10",
        "920610-2",
        "921140-1",
    ];
    for name in rejected {
        assert!(
            matches!(front_end(name), Err(crs::apache::Rejection::Status(400, _))),
            "{name} should be rejected with 400: {:?}",
            front_end(name)
        );
        assert_eq!(
            find(name).stages[0].output.status,
            400,
            "{name} expects 400"
        );
    }
    assert_eq!(front_end("920430-5"), Err(crs::apache::Rejection::Http09));
    for name in [
        "920100-4",
        "920100-14",
        "920100-16",
        "920430-8",
        "920280-1",
        "920290-4",
        "920272-5",
        "920181-1",
        "920620-1",
    ] {
        assert!(
            front_end(name).is_ok(),
            "{name} should be accepted: {:?}",
            front_end(name)
        );
    }
}

/// Real cases of the byte-level quirks.
#[test]
fn real_cases_of_apache_input_rewriting() {
    // 920181-1: Content-Length 7 next to chunked: de-chunked, CL removed.
    let p = front_end("920181-1").unwrap();
    assert!(p.header("Content-Length").is_none());
    assert!(p.header("Transfer-Encoding").is_some());
    // 920620-1: two Content-Type headers merged.
    let p = front_end("920620-1").unwrap();
    assert_eq!(
        p.header("Content-Type"),
        Some(&b"application/json, application/xml"[..])
    );
    // 920170-4: declares 0 but sends 9.
    let p = front_end("920170-4").unwrap();
    assert!(p.body.is_empty());
    // 920400-1: the template renders 64200 bytes; the declared length wins.
    let t = find("920400-1");
    let raw = crs::request::build(&t.stages[0].input).unwrap();
    assert!(raw.windows(5).any(|w| w == b"11111"));
    let p = crs::apache::parse(&raw).unwrap();
    assert_eq!(p.body.len(), 64200);
}

/// Multipart tests get CRLF bodies; their Content-Length counts the CRs.
#[test]
fn real_multipart_case_has_crlf() {
    let files = suite();
    let mut multipart = 0;
    for t in files.iter().flat_map(|f| &f.tests) {
        for s in &t.stages {
            let is_mp = s.input.encoded_request.is_none()
                && s.input.headers.iter().any(|(n, v)| {
                    n.eq_ignore_ascii_case("content-type")
                        && v.to_lowercase().contains("multipart/form-data;")
                });
            if !is_mp || s.input.data.as_deref().unwrap_or("").is_empty() {
                continue;
            }
            multipart += 1;
            let raw = crs::request::build(&s.input).unwrap();
            let body_start = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
            let body = &raw[body_start..];
            assert!(
                body.windows(2).all(|w| w[1] != b'\n' || w[0] == b'\r'),
                "{}: bare LF in a multipart body",
                t.name()
            );
        }
    }
    assert!(
        multipart >= 150,
        "expected about 156 multipart stages, found {multipart}"
    );
}

/// Negative control: with no rules at all, exactly the tests that expect no
/// rule to log pass, and every test with `expect_ids` or `match_regex`
/// fails. A judge or front end that passes tests for the wrong reason shows
/// up here.
#[test]
fn without_rules_only_negative_tests_pass() {
    let rules = crs_compiler::Compiler::new()
        .add_str(
            "empty",
            "SecRuleEngine DetectionOnly\nSecRequestBodyAccess On\n",
        )
        .compile()
        .expect("an empty rule set compiles");
    let engine = rasp_core::Engine::new(std::sync::Arc::new(rules));
    let (mut positive, mut positive_passed, mut negative_failed) = (0, Vec::new(), Vec::new());
    for t in suite().iter().flat_map(|f| &f.tests) {
        // With expect_error, go-ftw checks nothing else once the error occurs
        // (920430-5 also lists expect_ids, which are never looked at).
        let wants_logs = t.stages.iter().any(|s| {
            !s.output.expect_error
                && (!s.output.log.expect_ids.is_empty() || s.output.log.match_regex.is_some())
        });
        let passed = t.stages.iter().all(|s| {
            let run = crs::exchange::run_stage(&engine, &s.input);
            crs::judge::judge(&s.output, &run.observed).is_empty()
        });
        if wants_logs {
            positive += 1;
            if passed {
                positive_passed.push(t.name());
            }
        } else if !passed {
            negative_failed.push(t.name());
        }
    }
    assert!(
        positive > 3900,
        "about 4,000 tests expect a rule to log, found {positive}"
    );
    assert!(
        positive_passed.is_empty(),
        "tests expecting a rule passed without any rule: {positive_passed:?}"
    );
    // Every test that expects nothing to be logged passes with no rules,
    // statuses included (Apache's 400s, albedo's 200s).
    assert!(
        negative_failed.is_empty(),
        "negative tests failed without rules: {negative_failed:?}"
    );
}

/// The front end rejects exactly these stages and no others, so a change
/// to the emulation cannot quietly make more tests pass by answering 400
/// before the engine runs.
#[test]
fn front_end_rejects_exactly_the_known_stages() {
    let mut rejected = Vec::new();
    for t in suite().iter().flat_map(|f| &f.tests) {
        for s in &t.stages {
            let raw = crs::request::build(&s.input).unwrap();
            if crs::apache::parse(&raw).is_err() {
                rejected.push(t.name());
            }
        }
    }
    rejected.sort();
    let mut expected = vec![
        // TESTING.md §8: the 22 tests that expect Apache's 400 ...
        "920100-2",
        "920100-5",
        "920100-8",
        "920100-11",
        "920100-12",
        "920100-13",
        "920100-15",
        "920160-1",
        "920160-2",
        "920160-3",
        "920160-5",
        "920270-4",
        "920274-1",
        "920280-3",
        "920290-1",
        "920430-3",
        "920430-6",
        "920430-7",
        "920430-9",
        "920430-10",
        "920610-2",
        "921140-1",
        // ... the HTTP/0.9 answer (expect_error) ...
        "920430-5",
        // ... and three tests without a status expectation that hit the same
        // causes: a fragment (as 920100-8), Host `%00` (as 920270-4) and
        // `HTTP/2` (not HTTP/d.d, as 920430-6). They only list no_expect_ids.
        "920100-7",
        "920290-2",
        "920430-4",
    ];
    expected.sort();
    assert_eq!(rejected, expected);
}
