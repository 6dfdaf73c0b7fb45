//! Property test standing in for a fuzz target: random and mutated SecLang
//! must never make the compiler panic, whatever it returns.
//!
//! Inputs are built from SecLang fragments (directives, quotes, escapes,
//! continuations, operators, actions, macros) so the generator reaches deep
//! into the parser instead of failing at the first byte; a second strategy
//! mutates a valid rule byte by byte.

use crs_compiler::Compiler;
use proptest::prelude::*;

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
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

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

#[test]
fn the_mutation_seed_is_valid() {
    let rs = Compiler::new()
        .add_str("seed.conf", VALID)
        .compile()
        .expect("seed rule loads");
    assert_eq!(rs.link_count, 2);
}
