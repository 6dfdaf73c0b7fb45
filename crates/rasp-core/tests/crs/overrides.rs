//! go-ftw platform overrides (`--overrides`, TESTING.md §4.4): each entry
//! replaces the whole `output` of the matching stages of the listed tests.

use serde_yaml::Value;

use super::yaml::{parse_output, Output, Test};

#[derive(Debug, Clone)]
pub struct Override {
    pub rule_id: u64,
    pub test_ids: Vec<u64>,
    /// Stage indexes counted from 0; empty means every stage.
    pub stage_ids: Vec<usize>,
    pub reason: String,
    /// The replacement; an entry without `output` empties the expectations.
    pub output: Output,
}

/// A parsed overrides file.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Where it came from (for the report).
    pub source: String,
    pub entries: Vec<Override>,
}

fn ids(v: Option<&Value>, what: &str) -> Vec<u64> {
    match v {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Sequence(s)) => s
            .iter()
            .map(|x| {
                x.as_u64()
                    .unwrap_or_else(|| panic!("{what}: not an unsigned integer: {x:?}"))
            })
            .collect(),
        Some(other) => panic!("{what}: expected a list, found {other:?}"),
    }
}

impl Overrides {
    /// Parses the go-ftw overrides format.
    pub fn parse(source: &str, text: &str) -> Overrides {
        let doc: Value =
            serde_yaml::from_str(text).unwrap_or_else(|e| panic!("{source}: invalid YAML: {e}"));
        let mut entries = Vec::new();
        if let Some(list) = doc.get("test_overrides").filter(|v| !v.is_null()) {
            let list = list
                .as_sequence()
                .unwrap_or_else(|| panic!("{source}: test_overrides is not a list"));
            for (i, e) in list.iter().enumerate() {
                let what = format!("{source}: entry {i}");
                let rule_id = e
                    .get("rule_id")
                    .and_then(Value::as_u64)
                    .unwrap_or_else(|| panic!("{what}: rule_id missing or not a number"));
                let reason = e
                    .get("reason")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                entries.push(Override {
                    rule_id,
                    test_ids: ids(e.get("test_ids"), &what),
                    stage_ids: ids(e.get("stage_ids"), &what)
                        .into_iter()
                        .map(|x| x as usize)
                        .collect(),
                    reason,
                    output: e
                        .get("output")
                        .map(|o| parse_output(o, &what))
                        .unwrap_or_default(),
                });
            }
        }
        Overrides {
            source: source.to_string(),
            entries,
        }
    }

    /// The entries that apply to `test` (go-ftw: an entry without test_ids
    /// matches nothing).
    pub fn matching<'a>(&'a self, test: &'a Test) -> impl Iterator<Item = &'a Override> + 'a {
        self.entries
            .iter()
            .filter(move |e| e.rule_id == test.rule_id && e.test_ids.contains(&test.test_id))
    }

    /// Applies the matching entries to `test`; returns the reasons of the
    /// entries applied.
    pub fn apply(&self, test: &mut Test) -> Vec<String> {
        let applied: Vec<Override> = self.matching(test).cloned().collect();
        for e in &applied {
            for (i, stage) in test.stages.iter_mut().enumerate() {
                if e.stage_ids.is_empty() || e.stage_ids.contains(&i) {
                    stage.output = e.output.clone();
                }
            }
        }
        applied.into_iter().map(|e| e.reason).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::yaml::parse_file;

    #[test]
    fn replaces_the_whole_output_of_listed_tests() {
        let o = Overrides::parse(
            "t",
            "test_overrides:\n  - rule_id: 920360\n    test_ids: [1]\n    reason: r\n    output:\n      status: 200\n      log:\n        no_expect_ids: [920360]\n  - rule_id: 920360\n    reason: no test_ids matches nothing\n",
        );
        let f = parse_file(
            "920360.yaml",
            "rule_id: 920360\ntests:\n  - test_id: 1\n    stages:\n      - input: {}\n        output:\n          log:\n            expect_ids: [920360]\n  - test_id: 2\n    stages:\n      - input: {}\n        output:\n          log:\n            expect_ids: [920360]\n",
        );
        let mut t1 = f.tests[0].clone();
        let mut t2 = f.tests[1].clone();
        assert_eq!(o.apply(&mut t1), ["r"]);
        assert!(o.apply(&mut t2).is_empty());
        assert_eq!(t1.stages[0].output.status, 200);
        assert!(t1.stages[0].output.log.expect_ids.is_empty());
        assert_eq!(t1.stages[0].output.log.no_expect_ids, [920360]);
        assert_eq!(t2.stages[0].output.log.expect_ids, [920360]);
    }

    #[test]
    fn stage_ids_select_stages_and_missing_output_empties() {
        let o = Overrides::parse(
            "t",
            "test_overrides:\n  - rule_id: 1\n    test_ids: [1]\n    stage_ids: [1]\n    reason: x\n",
        );
        let f = parse_file(
            "1.yaml",
            "rule_id: 1\ntests:\n  - test_id: 1\n    stages:\n      - input: {}\n        output: {status: 400}\n      - input: {}\n        output: {status: 400}\n",
        );
        let mut t = f.tests[0].clone();
        o.apply(&mut t);
        assert_eq!(t.stages[0].output.status, 400);
        assert_eq!(t.stages[1].output, Output::default());
    }
}
