//! Loads the real OWASP CRS v4.28 (read in place from `RASP_CRS_DIR`, else
//! `../shared/crs` next to the workspace) and checks that every directive
//! was understood and accounted for.
//!
//! The expected numbers were counted independently of the compiler, with
//! grep over `test-setup.conf crs-setup.conf.example rules/*.conf`
//! (comment lines dropped first with `grep -v '^\s*#'`):
//! - `grep -cE '^\s*SecRule\s'`   → 704 SecRule directives (heads and links)
//! - `grep -cE '^\s*SecAction\s'` → 14
//! - `grep -cE '^\s*SecMarker\s'` → 30
//! - `grep -cE '(^|[",])\s*chain\s*(,|"|\\|$)'` → 73 `chain` actions, so
//!   718 links − 73 = 645 rules (chain heads and actions);
//! - `grep -oE 'phase:[0-9a-z]+' | sort | uniq -c` → 184/298/44/110/14, one
//!   of each being a `SecDefaultAction` line of crs-setup.conf.example;
//! - `grep -oE '"!?@[a-zA-Z]+'` for operator counts (+ implicit ones: none).

use std::path::PathBuf;

use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::Entry;
use crs_compiler::{CompiledRuleset, Compiler};

const SEC_RULES: usize = 704;
const SEC_ACTIONS: usize = 14;
const SEC_MARKERS: usize = 30;
const CHAIN_ACTIONS: usize = 73;
const RULES_PER_PHASE: [usize; 5] = [183, 297, 43, 109, 13];

fn crs_dir() -> PathBuf {
    let dir = match std::env::var_os("RASP_CRS_DIR") {
        Some(d) => PathBuf::from(d),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs"),
    };
    assert!(
        dir.join("rules").is_dir(),
        "OWASP CRS not found at {} (set RASP_CRS_DIR to a CRS v4.28.0 checkout)",
        dir.display()
    );
    dir
}

fn load() -> CompiledRuleset {
    let dir = crs_dir();
    let compiled = Compiler::new()
        .add_file(dir.join("test-setup.conf"))
        .and_then(|c| c.add_crs_dir(&dir))
        .expect("CRS files present")
        .compile();
    match compiled {
        Ok(rs) => rs,
        Err(e) => panic!("CRS must load without errors:\n{e}"),
    }
}

#[test]
fn every_crs_directive_is_accounted_for() {
    let rs = load();
    let r = &rs.report;
    assert_eq!(r.sec_rules, SEC_RULES);
    assert_eq!(r.sec_actions, SEC_ACTIONS);
    assert_eq!(r.markers, SEC_MARKERS);
    assert_eq!(rs.link_count, SEC_RULES + SEC_ACTIONS);
    assert_eq!(r.rules_per_phase, RULES_PER_PHASE);
    assert_eq!(
        r.rules_per_phase.iter().sum::<usize>(),
        SEC_RULES + SEC_ACTIONS - CHAIN_ACTIONS
    );
    assert_eq!(r.removed, 0);
    assert_eq!(
        r.files.len(),
        2 + 27,
        "test-setup, crs-setup and the 27 rules/*.conf files"
    );
    // 301 `"@rx` + 21 `"!@rx` written (4 of them in test-setup.conf);
    // CRS never relies on the implicit @rx.
    assert_eq!(r.operators.get("rx"), Some(&322));
    assert_eq!(r.operators.get("pmFromFile"), Some(&21));
    assert_eq!(r.operators.get("detectSQLi"), Some(&2));
    // Markers are in every phase.
    for p in &rs.phases {
        let markers = p
            .entries
            .iter()
            .filter(|e| matches!(e, Entry::Marker(_)))
            .count();
        assert_eq!(markers, SEC_MARKERS);
    }
}

#[test]
fn links_are_numbered_densely_and_skip_targets_point_at_markers() {
    let rs = load();
    let mut seen = vec![false; rs.link_count];
    for (p, program) in rs.phases.iter().enumerate() {
        for (i, e) in program.entries.iter().enumerate() {
            let Entry::Rule(rule) = e else { continue };
            assert_eq!(rule.phase.index(), p);
            for link in rule.links() {
                assert!(
                    !seen[link.link_index],
                    "link index {} used twice",
                    link.link_index
                );
                seen[link.link_index] = true;
                assert_eq!(link.id, rule.id);
            }
            if let Some(t) = &rule.actions.skip_after {
                let idx = t.index.expect("resolved");
                assert!(idx > i, "rule {} skips backwards", rule.id);
                assert!(matches!(&program.entries[idx], Entry::Marker(m) if *m == t.marker));
            }
        }
    }
    assert!(seen.iter().all(|&s| s));
}

#[test]
fn known_rules_compile_as_written() {
    let rs = load();
    // 920170 is a chain head; chained links inherit id and phase and carry
    // no disruptive action of their own.
    let rule = rs.rule(920170).expect("920170 loaded");
    assert_eq!(rule.links().count(), 2);
    assert!(rule.actions.block, "920170 uses block");
    assert_eq!(
        rule.chain.as_ref().map(|l| l.operator.to_string()),
        Some("!@rx ^0?$".to_string())
    );
    assert_eq!(
        rule.actions.disruptive,
        Some(crs_compiler::ir::action::Disruptive::Pass)
    );
    for link in rule.links().skip(1) {
        assert_eq!(link.actions.disruptive, None);
        assert_eq!(link.phase, rule.phase);
    }
    // 999 exclusions add cookie exclusions to 942200.
    let r = rs.rule(942200).expect("942200 loaded");
    assert!(
        r.exclusions
            .iter()
            .any(|x| x.describe() == "!REQUEST_COOKIES:fccdcf"),
        "{:?}",
        r.exclusions
    );
    // Data-file lines are read as v2's parse_pm_content reads them: `\\`
    // is one backslash, an unsupported escape keeps the line as written,
    // and `|` sections that are not hex stay literal.
    let OperatorKind::Pm(php) = &rs.rule(953100).expect("953100 loaded").operator.kind else {
        panic!("953100 uses @pmFromFile")
    };
    let has = |p: &str| php.phrases.iter().any(|x| x == p);
    assert!(has("Cannot add next element to object of type FFI\\CData"));
    assert!(has("GC buffer overflow (GC disabled)\\n"));
    assert!(has("must be of type string|int|float|bool|null"));
    // test-setup.conf settings were applied.
    assert_eq!(
        rs.settings.rule_engine,
        crs_compiler::ir::action::EngineMode::DetectionOnly
    );
    assert!(rs.settings.response_body_access);
    // Every gate member is a chain head with the group's phase.
    for (g, group) in rs.groups.iter().enumerate() {
        assert!(!group.members.is_empty());
        for (i, &link) in group.members.iter().enumerate() {
            let gate = rs.gates[link].expect("member has a gate");
            assert_eq!(
                (gate.group, gate.set, gate.pattern),
                (g, group.set, group.first_pattern + i)
            );
        }
    }
    // A set holds the groups of one phase.
    for pair in rs.groups.windows(2) {
        if pair[0].set == pair[1].set {
            assert_eq!(pair[0].phase, pair[1].phase);
        }
    }
    assert!(rs.report.gated_links > 100);
}
