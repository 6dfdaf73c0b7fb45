//! Judging a stage the way go-ftw v2.3.0 does (`runner/check_*.go`,
//! `waflog/read.go`), TESTING.md §4.

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regex::Regex;

use super::yaml::Output;

/// What the client and the log saw for one stage.
#[derive(Debug, Clone)]
pub struct Observed {
    /// `Err` is a transport error (e.g. an HTTP/0.9 answer).
    pub response: Result<ObservedResponse, String>,
    /// The error-log lines written for this stage.
    pub lines: Vec<String>,
}

#[derive(Debug, Clone, Default)]
pub struct ObservedResponse {
    pub status: u16,
    /// Status line, backend headers and body (Apache's own response
    /// headers are not modelled; no CRS test uses `response_contains`).
    pub raw: String,
}

/// go-ftw's `stdLogIdRegex`, then its JSON fallback.
fn id_regexes() -> &'static (Regex, Regex) {
    static RE: OnceLock<(Regex, Regex)> = OnceLock::new();
    RE.get_or_init(|| {
        (
            Regex::new(r#"\[(?:id |\\?"id\\?":)\\?"(\d+)\\?"\]"#).expect("id regex"),
            Regex::new(r#"(?:\{|,)\s*"(?:id|ruleId)":\s*"?(\d+)"?"#).expect("json id regex"),
        )
    })
}

/// The rule ids go-ftw finds in `lines`.
pub fn triggered_ids(lines: &[String]) -> BTreeSet<u64> {
    let (std_re, json_re) = id_regexes();
    let mut ids = BTreeSet::new();
    for line in lines {
        let mut found = false;
        for c in std_re.captures_iter(line) {
            if let Ok(id) = c[1].parse() {
                ids.insert(id);
                found = true;
            }
        }
        if !found {
            for c in json_re.captures_iter(line) {
                if let Ok(id) = c[1].parse() {
                    ids.insert(id);
                }
            }
        }
    }
    ids
}

fn any_line_matches(pattern: &str, lines: &[String]) -> Result<bool, String> {
    let re = Regex::new(pattern).map_err(|e| format!("bad regexp {pattern:?}: {e}"))?;
    Ok(lines.iter().any(|l| re.is_match(l)))
}

/// Checks `obs` against `expected`. An empty list means the stage passed;
/// otherwise each entry says what did not hold.
pub fn judge(expected: &Output, obs: &Observed) -> Vec<String> {
    let mut reasons = Vec::new();
    let resp = match (&obs.response, expected.expect_error) {
        (Err(_), true) => return reasons,
        (Ok(_), true) => return vec!["expected an error, but the request got a response".into()],
        (Err(e), false) => return vec![format!("transport error: {e}")],
        (Ok(r), false) => r,
    };
    if expected.status != 0 && expected.status != resp.status {
        reasons.push(format!(
            "status {} (expected {})",
            resp.status, expected.status
        ));
    }
    if let Some(pattern) = &expected.response_contains {
        match Regex::new(pattern) {
            Ok(re) if re.is_match(&resp.raw) => {}
            Ok(_) => reasons.push(format!("response does not contain {pattern:?}")),
            Err(e) => reasons.push(format!("bad regexp {pattern:?}: {e}")),
        }
    }
    let log = &expected.log;
    let ids = triggered_ids(&obs.lines);
    if let Some(p) = &log.match_regex {
        match any_line_matches(p, &obs.lines) {
            Ok(true) => {}
            Ok(false) => reasons.push(format!("no log line matches {p:?}")),
            Err(e) => reasons.push(e),
        }
    }
    let missing: Vec<_> = log
        .expect_ids
        .iter()
        .filter(|id| !ids.contains(id))
        .collect();
    if !missing.is_empty() {
        reasons.push(format!("missing expected ids {missing:?}"));
    }
    if expected.isolated && ids.len() != 1 {
        reasons.push(format!("isolated test triggered {} rules", ids.len()));
    }
    if let Some(p) = &log.no_match_regex {
        match any_line_matches(p, &obs.lines) {
            Ok(false) => {}
            Ok(true) => reasons.push(format!("a log line matches no_match_regex {p:?}")),
            Err(e) => reasons.push(e),
        }
    }
    let unexpected: Vec<_> = log
        .no_expect_ids
        .iter()
        .filter(|id| ids.contains(id))
        .collect();
    if !unexpected.is_empty() {
        reasons.push(format!("unexpected ids {unexpected:?}"));
    }
    reasons
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::yaml::LogExpect;

    fn seen(status: u16, lines: &[&str]) -> Observed {
        Observed {
            response: Ok(ObservedResponse {
                status,
                raw: String::new(),
            }),
            lines: lines.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn expect(log: LogExpect) -> Output {
        Output {
            log,
            ..Output::default()
        }
    }

    const L942100: &str = r#"ModSecurity: Warning. Detected SQLi [file "x.conf"] [line "1"] [id "942100"] [msg "SQL Injection Attack Detected via libinjection"] [data "Matched Data: s&sos found within ARGS:x: 1' or 1=1"]"#;
    const L949110: &str = r#"ModSecurity: Warning. Operator GE matched 5 [id "949110"] [msg "Inbound Anomaly Score Exceeded (Total Score: 5)"]"#;

    #[test]
    fn ids_come_from_id_fields_only() {
        let lines = vec![
            L942100.to_string(),
            L949110.to_string(),
            "ModSecurity: Multipart parsing error: x".to_string(),
        ];
        assert_eq!(
            triggered_ids(&lines).into_iter().collect::<Vec<_>>(),
            [942100, 949110]
        );
        assert!(triggered_ids(&[r#"{"ruleId": "123"}"#.to_string()]).contains(&123));
        assert!(triggered_ids(&[r#"["id":"77"]"#.to_string()]).contains(&77));
    }

    #[test]
    fn expect_ids_is_a_subset_check() {
        let e = expect(LogExpect {
            expect_ids: vec![942100],
            ..LogExpect::default()
        });
        assert!(judge(&e, &seen(200, &[L942100, L949110])).is_empty());
        assert_eq!(
            judge(&e, &seen(200, &[L949110])),
            ["missing expected ids [942100]"]
        );
    }

    #[test]
    fn no_expect_ids_and_no_match_regex() {
        let e = expect(LogExpect {
            no_expect_ids: vec![949110],
            ..LogExpect::default()
        });
        assert_eq!(
            judge(&e, &seen(200, &[L942100, L949110])),
            ["unexpected ids [949110]"]
        );
        // 999999.yml: nothing may be logged at all.
        let e = expect(LogExpect {
            no_match_regex: Some(r#"\[id "\d+"\]"#.into()),
            ..LogExpect::default()
        });
        assert!(judge(&e, &seen(200, &[])).is_empty());
        assert_eq!(judge(&e, &seen(200, &[L942100])).len(), 1);
    }

    #[test]
    fn match_regex_is_per_line() {
        let e = expect(LogExpect {
            match_regex: Some(r"found within ARGS:x".into()),
            ..LogExpect::default()
        });
        assert!(judge(&e, &seen(200, &[L942100])).is_empty());
        // 949110's regex from the CRS test.
        let e = expect(LogExpect {
            match_regex: Some(r"Inbound Anomaly Score Exceeded \(Total Score: ".into()),
            ..LogExpect::default()
        });
        assert!(judge(&e, &seen(200, &[L949110])).is_empty());
        // `.` does not cross lines: the pattern must be within one line.
        let e = expect(LogExpect {
            match_regex: Some(r"942100.*949110".into()),
            ..LogExpect::default()
        });
        assert_eq!(judge(&e, &seen(200, &[L942100, L949110])).len(), 1);
    }

    #[test]
    fn status_and_expect_error() {
        let e = Output {
            status: 400,
            ..Output::default()
        };
        assert!(judge(&e, &seen(400, &[])).is_empty());
        assert_eq!(judge(&e, &seen(200, &[])), ["status 200 (expected 400)"]);
        let e = Output {
            expect_error: true,
            ..Output::default()
        };
        let err = Observed {
            response: Err("HTTP/0.9 answer".into()),
            lines: vec![],
        };
        assert!(judge(&e, &err).is_empty());
        assert_eq!(judge(&e, &seen(200, &[])).len(), 1);
        // A transport error fails any stage that does not expect one.
        assert_eq!(judge(&Output::default(), &err).len(), 1);
    }
}
