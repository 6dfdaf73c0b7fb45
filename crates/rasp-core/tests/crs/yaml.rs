//! Loading the go-ftw YAML test files (schema v2.3.0) the way go-ftw does.
//!
//! go-ftw globs `<dir>/**/*.y*ml`, names each test `<rule_id>-<test_id>`,
//! ignores unknown keys and turns the `headers` map into a list sorted by
//! header name. Anything the loader does not understand panics: a silently
//! dropped field would make the suite pass for the wrong reason.

use std::path::{Path, PathBuf};

use serde_yaml::Value;

/// One YAML file.
#[derive(Debug, Clone)]
pub struct TestFile {
    /// Path relative to the regression directory.
    pub path: String,
    /// `rule_id` from the file, or the first number in the file name.
    pub rule_id: u64,
    pub tests: Vec<Test>,
}

/// One test (`<rule_id>-<test_id>`).
#[derive(Debug, Clone)]
pub struct Test {
    pub rule_id: u64,
    pub test_id: u64,
    pub desc: String,
    pub stages: Vec<Stage>,
}

impl Test {
    /// The go-ftw name of the test, e.g. `942100-3`.
    pub fn name(&self) -> String {
        format!("{}-{}", self.rule_id, self.test_id)
    }
}

/// One request/response exchange and what is expected of it.
#[derive(Debug, Clone)]
pub struct Stage {
    pub input: Input,
    pub output: Output,
}

/// The request as described in YAML (go-ftw `Input`).
#[derive(Debug, Clone, Default)]
pub struct Input {
    /// `None` means go-ftw's default `GET`.
    pub method: Option<String>,
    /// `None` means `/`.
    pub uri: Option<String>,
    /// `None` means `HTTP/1.1`; `Some("")` is an explicit empty version.
    pub version: Option<String>,
    /// Headers sorted by name (byte order), as go-ftw sends them.
    pub headers: Vec<(String, String)>,
    /// Request body before template rendering.
    pub data: Option<String>,
    /// Base64 of a body sent verbatim.
    pub encoded_data: Option<String>,
    /// Base64 of the entire raw request.
    pub encoded_request: Option<String>,
    /// go-ftw `autocomplete_headers` (default true).
    pub autocomplete_headers: bool,
}

impl Input {
    pub fn method(&self) -> &str {
        self.method.as_deref().unwrap_or("GET")
    }
    pub fn uri(&self) -> &str {
        self.uri.as_deref().unwrap_or("/")
    }
    pub fn version(&self) -> &str {
        self.version.as_deref().unwrap_or("HTTP/1.1")
    }
}

/// Expectations of a stage (go-ftw `Output`).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    /// Expected HTTP status; 0 means "not checked".
    pub status: u16,
    pub expect_error: bool,
    pub response_contains: Option<String>,
    pub log: LogExpect,
    pub isolated: bool,
}

/// The `output.log` block.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LogExpect {
    pub expect_ids: Vec<u64>,
    pub no_expect_ids: Vec<u64>,
    pub match_regex: Option<String>,
    pub no_match_regex: Option<String>,
}

impl LogExpect {
    pub fn is_empty(&self) -> bool {
        self.expect_ids.is_empty()
            && self.no_expect_ids.is_empty()
            && self.match_regex.is_none()
            && self.no_match_regex.is_none()
    }
}

/// The text of a YAML scalar as go-ftw would see it in a string field
/// (`Keep-Alive: 300` is the string "300").
pub fn scalar_text(v: &Value, what: &str) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        Value::Null => String::new(),
        other => panic!("{what}: expected a scalar, found {other:?}"),
    }
}

fn uint(v: &Value, what: &str) -> u64 {
    match v {
        Value::Number(n) if n.as_u64().is_some() => n.as_u64().unwrap_or_default(),
        Value::String(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|_| panic!("{what}: not an unsigned integer: {s:?}")),
        other => panic!("{what}: not an unsigned integer: {other:?}"),
    }
}

fn uint_list(v: &Value, what: &str) -> Vec<u64> {
    match v {
        Value::Sequence(items) => items.iter().map(|i| uint(i, what)).collect(),
        Value::Null => Vec::new(),
        // A single id written without brackets.
        other => vec![uint(other, what)],
    }
}

fn get<'a>(map: &'a Value, key: &str) -> Option<&'a Value> {
    map.as_mapping()
        .and_then(|m| m.get(key))
        .filter(|v| !v.is_null())
}

fn opt_string(map: &Value, key: &str, what: &str) -> Option<String> {
    get(map, key).map(|v| scalar_text(v, &format!("{what}.{key}")))
}

fn bool_field(map: &Value, key: &str, what: &str) -> Option<bool> {
    get(map, key).map(|v| {
        v.as_bool()
            .unwrap_or_else(|| panic!("{what}.{key}: not a boolean: {v:?}"))
    })
}

/// Parses the `output` block (also used for override files).
pub fn parse_output(v: &Value, what: &str) -> Output {
    let mut out = Output::default();
    if v.is_null() {
        return out;
    }
    if let Some(s) = get(v, "status") {
        // Schema v1 allowed a list of statuses; v2 has a single int.
        out.status = uint(s, &format!("{what}.status")) as u16;
    }
    out.expect_error = bool_field(v, "expect_error", what).unwrap_or(false);
    out.isolated = bool_field(v, "isolated", what).unwrap_or(false);
    out.response_contains = opt_string(v, "response_contains", what);
    if let Some(log) = get(v, "log") {
        let w = format!("{what}.log");
        out.log.expect_ids = get(log, "expect_ids")
            .map(|x| uint_list(x, &w))
            .unwrap_or_default();
        out.log.no_expect_ids = get(log, "no_expect_ids")
            .map(|x| uint_list(x, &w))
            .unwrap_or_default();
        out.log.match_regex = opt_string(log, "match_regex", &w).filter(|s| !s.is_empty());
        out.log.no_match_regex = opt_string(log, "no_match_regex", &w).filter(|s| !s.is_empty());
    }
    // Deprecated aliases, converted at load time by go-ftw.
    if let Some(r) = opt_string(v, "log_contains", what).filter(|s| !s.is_empty()) {
        out.log.match_regex = Some(r);
    }
    if let Some(r) = opt_string(v, "no_log_contains", what).filter(|s| !s.is_empty()) {
        out.log.no_match_regex = Some(r);
    }
    out
}

fn parse_input(v: &Value, what: &str) -> Input {
    let mut input = Input {
        method: opt_string(v, "method", what),
        uri: opt_string(v, "uri", what),
        version: get(v, "version").map(|x| scalar_text(x, what)),
        data: opt_string(v, "data", what),
        encoded_data: opt_string(v, "encoded_data", what),
        encoded_request: opt_string(v, "encoded_request", what).filter(|s| !s.is_empty()),
        autocomplete_headers: true,
        headers: Vec::new(),
    };
    // `version: ""` is meaningful (no version at all), so it is read even
    // when empty; a YAML null means "absent".
    if let Some(Value::Null) = v.as_mapping().and_then(|m| m.get("version")) {
        input.version = None;
    }
    if let Some(ac) = bool_field(v, "autocomplete_headers", what) {
        input.autocomplete_headers = ac;
    } else if let Some(stop) = bool_field(v, "stop_magic", what) {
        input.autocomplete_headers = !stop;
    }
    if let Some(h) = get(v, "headers") {
        let map = h
            .as_mapping()
            .unwrap_or_else(|| panic!("{what}.headers: not a map"));
        for (k, val) in map {
            input.headers.push((
                scalar_text(k, what),
                scalar_text(val, &format!("{what}.headers")),
            ));
        }
        input
            .headers
            .sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    }
    if let Some(oh) = get(v, "ordered_headers") {
        // Sent as listed, after the map headers (go-ftw uses one or the other;
        // no CRS test uses this field).
        let seq = oh
            .as_sequence()
            .unwrap_or_else(|| panic!("{what}.ordered_headers: not a list"));
        for item in seq {
            let name = opt_string(item, "name", what).unwrap_or_default();
            let value = opt_string(item, "value", what).unwrap_or_default();
            input.headers.push((name, value));
        }
    }
    for unsupported in [
        "raw_request",
        "save_cookie",
        "follow_redirect",
        "virtual_host_mode",
    ] {
        if let Some(x) = get(v, unsupported) {
            if x != &Value::Bool(false) {
                panic!("{what}: input field `{unsupported}` is not supported by this runner");
            }
        }
    }
    input
}

fn first_number(name: &str) -> Option<u64> {
    let digits: String = name
        .chars()
        .skip_while(|c| !c.is_ascii_digit())
        .take_while(|c| c.is_ascii_digit())
        .collect();
    digits.parse().ok()
}

/// Parses one file's text. `rel` names it in messages and supplies the rule
/// id when the file has none.
pub fn parse_file(rel: &str, text: &str) -> TestFile {
    let doc: Value =
        serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{rel}: invalid YAML: {e}"));
    let file_name = Path::new(rel)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(rel);
    let rule_id = get(&doc, "rule_id")
        .map(|v| uint(v, &format!("{rel}: rule_id")))
        .or_else(|| first_number(file_name))
        .unwrap_or_else(|| panic!("{rel}: no rule_id and no number in the file name"));
    let mut tests = Vec::new();
    if let Some(list) = get(&doc, "tests") {
        let seq = list
            .as_sequence()
            .unwrap_or_else(|| panic!("{rel}: `tests` is not a list"));
        for (pos, t) in seq.iter().enumerate() {
            let test_id = get(t, "test_id")
                .map(|v| uint(v, rel))
                .unwrap_or(pos as u64 + 1);
            let what = format!("{rel}: {rule_id}-{test_id}");
            let stages_v = get(t, "stages").unwrap_or_else(|| panic!("{what}: no stages"));
            let stages = stages_v
                .as_sequence()
                .unwrap_or_else(|| panic!("{what}: `stages` is not a list"))
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let w = format!("{what} stage {i}");
                    // Schema v1 wrapped each stage in `stage:`.
                    let s = get(s, "stage").unwrap_or(s);
                    let input = parse_input(get(s, "input").unwrap_or(&Value::Null), &w);
                    let output = parse_output(get(s, "output").unwrap_or(&Value::Null), &w);
                    Stage { input, output }
                })
                .collect();
            tests.push(Test {
                rule_id,
                test_id,
                desc: opt_string(t, "desc", &what).unwrap_or_default(),
                stages,
            });
        }
    }
    TestFile {
        path: rel.to_string(),
        rule_id,
        tests,
    }
}

/// Every `*.yaml` / `*.yml` file below `dir` (go-ftw's `**/*.y*ml`),
/// sorted by path so runs are reproducible.
pub fn find_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                walk(&path, out);
            } else if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                // Go's filepath.Match("*.y*ml"): ".y", anything, "ml" at the end.
                if let Some(dot) = name.rfind(".y") {
                    if name[dot..].ends_with("ml") && dot > 0 {
                        out.push(path);
                    }
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// Loads every test file below `dir`.
pub fn load_dir(dir: &Path) -> Vec<TestFile> {
    find_files(dir)
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p)
                .unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
            let rel = p
                .strip_prefix(dir)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            parse_file(&rel, &text)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_sorted_and_scalars_keep_their_text() {
        let f = parse_file(
            "REQUEST-920/920160.yaml",
            r#"
rule_id: 920160
tests:
  - test_id: 4
    stages:
      - input:
          headers:
            User-Agent: "OWASP CRS test agent"
            Keep-Alive: 300
            Content-Length: 0
            Accept: text/xml
          version: ""
        output:
          status: 200
          log:
            expect_ids: [920160]
"#,
        );
        let s = &f.tests[0].stages[0];
        let names: Vec<_> = s.input.headers.iter().map(|h| h.0.as_str()).collect();
        assert_eq!(
            names,
            ["Accept", "Content-Length", "Keep-Alive", "User-Agent"]
        );
        assert_eq!(s.input.headers[2].1, "300");
        assert_eq!(s.input.headers[1].1, "0");
        assert_eq!(s.input.version.as_deref(), Some(""));
        assert_eq!(s.input.method(), "GET");
        assert_eq!(s.output.status, 200);
        assert_eq!(s.output.log.expect_ids, [920160]);
        assert_eq!(f.tests[0].name(), "920160-4");
    }

    #[test]
    fn missing_ids_come_from_file_name_and_position() {
        let f = parse_file(
            "x/933200.yaml",
            "tests:\n  - stages:\n      - input: {}\n        output: {}\n  - stages: []\n",
        );
        assert_eq!(f.rule_id, 933200);
        assert_eq!(f.tests[1].name(), "933200-2");
        assert!(f.tests[0].stages[0].input.autocomplete_headers);
    }

    #[test]
    fn glob_matches_yml_and_yaml_only() {
        let dir = std::env::temp_dir().join(format!("crs-yaml-glob-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        for f in ["a.yaml", "sub/b.yml", "c.yaml.skeleton", "d.txt"] {
            std::fs::write(dir.join(f), "").unwrap();
        }
        let found: Vec<_> = find_files(&dir)
            .iter()
            .map(|p| p.strip_prefix(&dir).unwrap().to_string_lossy().into_owned())
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(found, ["a.yaml", "sub/b.yml"]);
    }
}
