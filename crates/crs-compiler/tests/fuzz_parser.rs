//! Property test standing in for a fuzz target: random and mutated SecLang
//! must never make the compiler panic, whatever it returns.
//!
//! Inputs are built from SecLang fragments (directives, quotes, escapes,
//! continuations, operators, actions, macros) so the generator reaches deep
//! into the parser instead of failing at the first byte; a second strategy
//! mutates a valid rule byte by byte.

use crs_compiler::Compiler;
use proptest::prelude::*;

/// Cases per property: `PROPTEST_CASES` for long runs, else `default`
/// (kept small so `cargo test` stays quick in debug builds).
fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

const FRAGMENTS: &[&str] = &[
    "SecRule ",
    "SecAction ",
    "SecMarker ",
    "SecDefaultAction ",
    "SecRuleRemoveById ",
    "SecRuleUpdateTargetById ",
    "SecRuleUpdateActionById ",
    "SecRuleEngine ",
    "Include ",
    "ARGS",
    "ARGS:",
    "!ARGS:x",
    "&TX",
    "|",
    "REQUEST_HEADERS:/",
    "XML:/*",
    "TX:/^a",
    "\"",
    "'",
    "\\",
    "\\\n",
    "\n",
    " ",
    ",",
    ":",
    "@rx ",
    "!@rx ",
    "@pm ",
    "@eq ",
    "@ipMatch ",
    "@validateByteRange ",
    "@pmFromFile ",
    "(",
    ")",
    "[",
    "]",
    "\\x{41}",
    "(?i)",
    "id:1",
    "id:2",
    "phase:1",
    "phase:request",
    "chain",
    "deny",
    "block",
    "pass",
    "allow:phase",
    "t:none",
    "t:lowercase",
    "t:bogus",
    "msg:'",
    "setvar:tx.a=+1",
    "setvar:!tx.a",
    "ctl:ruleRemoveById=1-9",
    "ctl:ruleRemoveTargetById=1;ARGS:x",
    "skipAfter:END",
    "skip:1",
    "%{",
    "%{tx.a}",
    "%{MATCHED_VAR}",
    "}",
    "END",
    "#",
    "1-255",
    "10.0.0.0/8",
    "\u{e9}",
    "\0",
];

fn fragment_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(FRAGMENTS), 0..60).prop_map(|v| v.concat())
}

const VALID: &str = "SecRule REQUEST_HEADERS:User-Agent|!ARGS:x \"@rx (?i)^a[b-c]+\\x{41}$\" \\\n    \"id:10,phase:2,block,t:none,t:lowercase,msg:'m %{tx.a}',setvar:'tx.s=+%{tx.c}',chain\"\n    SecRule &ARGS \"@ge 1\" \"t:none\"\nSecMarker END\n";

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(1000), .. ProptestConfig::default() })]

    #[test]
    fn fragments_never_panic(text in fragment_text()) {
        let _ = Compiler::new().add_str("fuzz.conf", &text).compile();
    }

    #[test]
    fn mutated_rules_never_panic(edits in prop::collection::vec((0usize..VALID.len(), any::<u8>()), 1..8)) {
        let mut bytes = VALID.as_bytes().to_vec();
        for (pos, b) in edits {
            if let Some(slot) = bytes.get_mut(pos) {
                *slot = b;
            }
        }
        let text = String::from_utf8_lossy(&bytes);
        let _ = Compiler::new().add_str("fuzz.conf", &text).compile();
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = Compiler::new().add_str("fuzz.conf", &text).compile();
    }
}

const TARGETS: &[&str] = &[
    "ARGS",
    "ARGS_NAMES",
    "REQUEST_HEADERS:User-Agent",
    "!ARGS:pwd",
    "&ARGS",
    "REQUEST_COOKIES:/^_ga/",
    "XML:/*",
    "TX:score",
];
const OPERATORS: &[&str] = &[
    "@rx ^a+b$",
    "!@rx x",
    "@pm a b c",
    "@eq 0",
    "@ge %{tx.x}",
    "@streq abc",
    "@within GET POST",
    "@detectSQLi",
    "@validateByteRange 1-255",
];
const ACTIONS: &[&str] = &[
    "pass",
    "block",
    "deny,status:403",
    "t:none,t:lowercase",
    "capture",
    "msg:'m %{MATCHED_VAR}'",
    "setvar:'tx.a=+1'",
    "nolog",
    "tag:x",
];

/// A list of valid rules with distinct ids.
fn valid_rules() -> impl Strategy<Value = Vec<String>> {
    let rule = (
        prop::collection::vec(prop::sample::select(TARGETS), 1..4),
        prop::sample::select(OPERATORS),
        prop::collection::vec(prop::sample::select(ACTIONS), 0..4),
        1u8..=5,
    );
    prop::collection::vec(rule, 1..20).prop_map(|rules| {
        rules
            .into_iter()
            .enumerate()
            .map(|(i, (targets, op, actions, phase))| {
                let mut a = vec![format!("id:{}", i + 1), format!("phase:{phase}")];
                a.extend(actions.iter().map(|s| s.to_string()));
                if phase == 5 {
                    a.retain(|x| !x.starts_with("deny") && x != "block");
                }
                format!(
                    "SecRule {} \"{op}\" \\\n    \"{}\"\n",
                    targets.join("|"),
                    a.join(",")
                )
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(200), .. ProptestConfig::default() })]

    #[test]
    fn valid_rules_always_load_completely(rules in valid_rules()) {
        let text = rules.concat();
        let rs = Compiler::new().add_str("gen.conf", &text).compile();
        let rs = match rs {
            Ok(rs) => rs,
            Err(e) => return Err(TestCaseError::fail(format!("{e}\n{text}"))),
        };
        prop_assert_eq!(rs.link_count, rules.len());
        prop_assert_eq!(rs.report.sec_rules, rules.len());
        for (i, _) in rules.iter().enumerate() {
            prop_assert!(rs.rule(u32::try_from(i + 1).unwrap()).is_some());
        }
    }
}

#[test]
fn the_mutation_seed_is_valid() {
    let rs = Compiler::new()
        .add_str("seed.conf", VALID)
        .compile()
        .expect("seed rule loads");
    assert_eq!(rs.link_count, 2);
}
