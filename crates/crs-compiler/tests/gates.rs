//! The multi-pattern gates of CRS must hit wherever their members' own
//! operators match: for every input, pattern `i` of a group's set matches
//! if member `i`'s compiled `@rx` (`@pm`, `@validateByteRange`) matches, or
//! the engine would skip a rule that matches. For a negated member the gate
//! must match exactly where the operator does (its hit is the rule's
//! miss); a positive member's gate may be looser (see the planner's
//! `loosen`), and is checked to be only rarely so. Likewise every match of
//! a rule's pattern must hold one of the literals the compiler says it
//! needs.
//!
//! Inputs are the values of the CRS regression suite
//! (`tests/regression/**/*.yaml`): every YAML scalar after a `key:`, raw and
//! percent-decoded, which covers attack payloads of every rule family.

use std::path::{Path, PathBuf};

use crs_compiler::build::gate_set::LANES;
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::Compiler;
use regex_automata::PatternSet;

fn crs_dir() -> PathBuf {
    let dir = std::env::var_os("RASP_CRS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs"));
    assert!(
        dir.join("rules").is_dir(),
        "OWASP CRS not found at {} (set RASP_CRS_DIR)",
        dir.display()
    );
    dir
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yaml") {
            out.push(p);
        }
    }
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        match (
            b[i],
            b.get(i + 1).copied().and_then(hex),
            b.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b'+', _, _) => {
                out.push(b' ');
                i += 1;
            }
            (c, _, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn inputs(dir: &Path) -> Vec<Vec<u8>> {
    let mut files = Vec::new();
    yaml_files(&dir.join("tests/regression"), &mut files);
    assert!(
        files.len() > 300,
        "CRS regression tests not found under {}",
        dir.display()
    );
    files.sort();
    let mut set = std::collections::BTreeSet::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_default();
        for line in text.lines() {
            let Some((_, v)) = line.split_once(": ") else {
                continue;
            };
            let v = v.trim().trim_matches('"').trim_matches('\'');
            if v.len() < 2 {
                continue;
            }
            set.insert(v.as_bytes().to_vec());
            let decoded = percent_decode(v);
            set.insert(decoded.to_ascii_lowercase());
            set.insert(decoded);
        }
    }
    set.into_iter().collect()
}

/// CRS as the regression suite configures it.
fn compile_crs(dir: &Path) -> crs_compiler::program::CompiledRuleset {
    Compiler::new()
        .add_file(dir.join("test-setup.conf"))
        .and_then(|c| c.add_crs_dir(dir))
        .expect("CRS present")
        .compile()
        .expect("CRS compiles")
}

#[test]
fn every_gate_agrees_with_its_members_on_crs_regression_inputs() {
    let dir = crs_dir();
    let rs = compile_crs(&dir);
    let inputs = inputs(&dir);
    assert!(inputs.len() > 5_000, "only {} inputs", inputs.len());
    let mut links = std::collections::HashMap::new();
    for rule in rs.rules() {
        for link in rule.links() {
            links.insert(link.link_index, link.clone());
        }
    }
    let mut checked = 0usize;
    let mut hits = 0usize;
    // Gate hits where a positive member's operator misses, and checks of
    // negated members.
    let mut looser = 0usize;
    let mut negated_checked = 0usize;
    let mut case_free_checked = 0usize;
    let rewritten = rs
        .groups
        .iter()
        .filter(|g| g.sweep_transforms.len() != g.transforms.len())
        .count();
    assert!(
        rewritten > 0,
        "no group is swept before a final t:lowercase"
    );
    // Each set once per input, checked against every member of the groups
    // that share it.
    for (index, set) in rs.sets.iter().enumerate() {
        // (pattern id, rule id, the rule's own operator, whether the set
        // pattern was rewritten to match before a final `t:lowercase`,
        // whether the sweep may leave a `t:lowercase` out, whether the
        // operator is negated).
        let mut members: Vec<(usize, u32, Member, bool, bool, bool)> = Vec::new();
        for group in rs.groups.iter().filter(|g| g.set == index) {
            let before_lowercase = group.sweep_transforms.len() != group.transforms.len();
            for (i, (l, id)) in group.members.iter().zip(&group.member_ids).enumerate() {
                let member = match &links[l].operator.kind {
                    OperatorKind::Rx(rx) => Member::Rx(rx.regex.clone()),
                    OperatorKind::Pm(set) => Member::Pm(set.automaton.clone()),
                    OperatorKind::ValidateByteRange(allowed) => Member::ByteRange(allowed.clone()),
                    other => {
                        panic!("gated link {l} is not @rx, @pm or @validateByteRange: {other:?}")
                    }
                };
                members.push((
                    group.first_pattern + i,
                    *id,
                    member,
                    before_lowercase,
                    group.lowercase_at.is_some(),
                    links[l].operator.negated,
                ));
            }
        }
        let set = set.get().expect("every CRS gate set compiles");
        assert_eq!(set.pattern_len(), members.len());
        let mut which = PatternSet::new(set.pattern_len());
        // The side-by-side walk answers as the single searches do, on
        // inputs of every length next to each other.
        for batch in inputs.chunks_exact(LANES) {
            let each = set.is_match_each(std::array::from_fn(|i| batch[i].as_slice()));
            for (input, any) in batch.iter().zip(each) {
                assert_eq!(
                    any,
                    set.is_match(input),
                    "set {index}: is_match_each and is_match disagree on {:?}",
                    String::from_utf8_lossy(input)
                );
            }
        }
        // Long values (walked in pieces side by side): regression inputs
        // joined, so that matches fall anywhere, across pieces too; alone,
        // and three at a time sharing the lanes.
        let joined: Vec<Vec<u8>> = inputs
            .chunks(24)
            .map(|group| group.join(&b' '))
            .filter(|long| long.len() >= 1024)
            .collect();
        for long in &joined {
            let mut budget = std::time::Duration::MAX;
            if let Some(found) = set.is_match_within(long, &mut budget) {
                assert_eq!(
                    found,
                    set.is_match(long),
                    "set {index}: the walk in pieces disagrees on {:?}",
                    String::from_utf8_lossy(long)
                );
            }
        }
        for three in joined.chunks(3) {
            let refs: Vec<&[u8]> = three.iter().map(Vec::as_slice).collect();
            let mut budget = std::time::Duration::MAX;
            let found = set.is_match_long_within(&refs, &mut budget);
            for (long, found) in three.iter().zip(found) {
                if let Some(found) = found {
                    assert_eq!(
                        found,
                        set.is_match(long),
                        "set {index}: the walk of several values in pieces disagrees on {:?}",
                        String::from_utf8_lossy(long)
                    );
                }
            }
        }
        let mut within = PatternSet::new(set.pattern_len());
        let mut gave_up = 0usize;
        for input in &inputs {
            which.clear();
            set.which_overlapping_matches(input, &mut which);
            assert_eq!(
                set.is_match(input),
                !which.is_empty(),
                "set {index}: is_match and which_overlapping_matches disagree on {:?}",
                String::from_utf8_lossy(input)
            );
            // The engine's budgeted walk, given budget enough, answers
            // alike, unless the lazy DFA gives up (the engine then asks the
            // members).
            within.clear();
            let mut budget = std::time::Duration::MAX;
            if set.which_overlapping_matches_within(input, &mut within, &mut budget) {
                assert_eq!(
                    within.iter().collect::<Vec<_>>(),
                    which.iter().collect::<Vec<_>>(),
                    "set {index}: the budgeted walk disagrees on {:?}",
                    String::from_utf8_lossy(input)
                );
            } else {
                gave_up += 1;
            }
            let lowered = input.to_ascii_lowercase();
            for (pattern, id, re, before_lowercase, case_free, negated) in &members {
                // A rewritten set pattern answers for the rule's pattern
                // on the lower-cased value.
                let seen = if *before_lowercase { &lowered } else { input };
                let single = re.is_match(seen);
                if *case_free && !*before_lowercase {
                    // The sweep reads the value before the step where the
                    // steps after it are idle: the rule's pattern must say
                    // the same of both.
                    assert_eq!(
                        single,
                        re.is_match(&lowered),
                        "rule {id}: case matters on {:?}",
                        String::from_utf8_lossy(input)
                    );
                    case_free_checked += 1;
                }
                let gated = which.contains(regex_automata::PatternID::must(*pattern));
                if *negated {
                    assert_eq!(
                        single,
                        gated,
                        "negated rule {id} (set {index}) disagrees with its gate on {:?}",
                        String::from_utf8_lossy(input)
                    );
                    negated_checked += 1;
                } else {
                    assert!(
                        gated || !single,
                        "rule {id} (set {index}) matches where its gate does not: {:?}",
                        String::from_utf8_lossy(input)
                    );
                    looser += usize::from(gated && !single);
                }
                checked += 1;
                hits += usize::from(single);
            }
        }
        // The largest set's lazy DFA gives up on many of these varied
        // inputs (it keeps clearing its cache): the walks that finished
        // must still be enough to mean something.
        eprintln!(
            "set {index}: the budgeted walk gave up on {gave_up} of {} inputs",
            inputs.len()
        );
        assert!(
            gave_up * 10 <= inputs.len() * 9,
            "set {index}: the budgeted walk gave up on {gave_up} of {} inputs",
            inputs.len()
        );
    }
    eprintln!(
        "{} inputs, {checked} (pattern, input) checks, {hits} matches, {looser} looser gate hits, {negated_checked} negated checks",
        inputs.len()
    );
    assert!(checked > 100_000, "only {checked} checks");
    assert!(
        negated_checked > 1_000,
        "only {negated_checked} checks of negated members"
    );
    // A looser gate lets its rule run its own operator in vain.
    assert!(
        looser * 1_000 < checked,
        "the gates hit in vain on {looser} of {checked} checks"
    );
    assert!(
        case_free_checked > 1_000,
        "only {case_free_checked} checks of case-free patterns"
    );
    assert!(
        hits > 1_000,
        "the inputs barely exercise the patterns ({hits} hits)"
    );
}

/// A gated member's own operator.
enum Member {
    Rx(std::sync::Arc<regex_automata::meta::Regex>),
    Pm(std::sync::Arc<aho_corasick::AhoCorasick>),
    /// `@validateByteRange`: matches when a byte is not allowed.
    ByteRange(std::sync::Arc<[bool; 256]>),
}

impl Member {
    /// The rule's own operator's answer on `input`.
    fn is_match(&self, input: &[u8]) -> bool {
        match self {
            Member::Rx(re) => re.is_match(input),
            Member::Pm(ac) => ac.is_match(input),
            Member::ByteRange(allowed) => input.iter().any(|&b| !allowed[usize::from(b)]),
        }
    }
}

/// The literals an `@rx` pattern is said to need (`CompiledRegex::required`)
/// are in every CRS regression input the pattern matches: the engine takes
/// a value without them for a miss without running the pattern.
#[test]
fn required_literals_are_in_every_crs_match() {
    let dir = crs_dir();
    let rs = compile_crs(&dir);
    let inputs = inputs(&dir);
    let mut seen = std::collections::HashSet::new();
    let (mut patterns, mut matches) = (0usize, 0usize);
    for rule in rs.rules() {
        for link in rule.links() {
            let OperatorKind::Rx(rx) = &link.operator.kind else {
                continue;
            };
            let Some(required) = &rx.required else {
                continue;
            };
            if !seen.insert(rx.source.clone()) {
                continue;
            }
            patterns += 1;
            for input in &inputs {
                if rx.regex.is_match(input.as_slice()) {
                    matches += 1;
                    assert!(
                        required.may_match(input),
                        "rule {}: /{}/ matches {:?}, which holds none of {:?}",
                        link.id,
                        rx.source,
                        String::from_utf8_lossy(input),
                        required
                            .literals()
                            .iter()
                            .map(|l| String::from_utf8_lossy(l).into_owned())
                            .collect::<Vec<_>>()
                    );
                }
            }
        }
    }
    assert!(patterns > 100, "only {patterns} patterns with literals");
    assert!(matches > 1_000, "only {matches} matches checked");
}
