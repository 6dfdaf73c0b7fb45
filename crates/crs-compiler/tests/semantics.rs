//! Load-time semantics that must match ModSecurity v2 (`apache2_config.c`,
//! `re.c`, `re_actions.c`), each checked on a small rule file.

use crs_compiler::ir::action::{Ctl, Disruptive, Effect, SetVarOp};
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::{Entry, Phase};
use crs_compiler::ir::transform::Transform;
use crs_compiler::ir::variable::{Selector, Variable};
use crs_compiler::{CompiledRuleset, Compiler};

fn load(text: &str) -> CompiledRuleset {
    match Compiler::new().add_str("t.conf", text).compile() {
        Ok(rs) => rs,
        Err(e) => panic!("{e}"),
    }
}

#[test]
fn default_action_applies_to_later_rules_and_links() {
    let rs = load(
        "SecRule ARGS \"@rx a\" \"id:1\"\n\
         SecDefaultAction \"phase:1,deny,status:418,t:lowercase,tag:d\"\n\
         SecRule ARGS \"@rx a\" \"id:2,block,t:urlDecode,chain\"\n\
         SecRule ARGS \"@rx b\" \"t:trim\"\n\
         SecRule ARGS \"@rx c\" \"id:3,phase:2,t:none,pass,nolog\"\n",
    );
    // Before any SecDefaultAction: v2's built-in phase:2,log,auditlog,pass.
    let r1 = rs.rule(1).unwrap();
    assert_eq!(
        (r1.phase, r1.actions.disruptive.clone()),
        (Phase::RequestBody, Some(Disruptive::Pass))
    );
    assert!(r1.actions.log && r1.actions.auditlog);
    // `block` becomes the default's deny; the phase comes from the default.
    let r2 = rs.rule(2).unwrap();
    assert_eq!(r2.phase, Phase::RequestHeaders);
    assert_eq!(r2.actions.disruptive, Some(Disruptive::Deny));
    assert!(r2.actions.block);
    assert_eq!(r2.actions.status, Some(418));
    assert_eq!(
        r2.transforms,
        vec![Transform::Lowercase, Transform::UrlDecode]
    );
    assert_eq!(*r2.actions.tags, ["d".to_string()]);
    // Chain links get the defaults merged too (v2 add_rule), but no
    // disruptive action of their own.
    let link = r2.chain.as_deref().unwrap();
    assert_eq!(link.transforms, vec![Transform::Lowercase, Transform::Trim]);
    assert_eq!(link.actions.disruptive, None);
    assert_eq!((link.id, link.phase), (2, Phase::RequestHeaders));
    // t:none drops inherited functions; nolog turns off auditlog too.
    let r3 = rs.rule(3).unwrap();
    assert_eq!(r3.phase, Phase::RequestBody);
    assert!(r3.transforms.is_empty());
    assert!(!r3.actions.log && !r3.actions.auditlog);
    assert_eq!(r3.actions.disruptive, Some(Disruptive::Pass));
}

#[test]
fn markers_are_in_every_phase_and_skip_after_resolves_per_phase() {
    let rs = load(
        "SecRule ARGS \"@rx a\" \"id:1,phase:1,pass,skipAfter:END\"\n\
         SecRule ARGS \"@rx a\" \"id:2,phase:2,pass,skipAfter:END\"\n\
         SecRule ARGS \"@rx a\" \"id:3,phase:2,pass\"\n\
         SecMarker END\n\
         SecRule ARGS \"@rx a\" \"id:4,phase:2,pass,skipAfter:5\"\n\
         SecRule ARGS \"@rx a\" \"id:5,phase:2,pass\"\n\
         SecRule ARGS \"@rx a\" \"id:6,phase:2,pass,skip:1\"\n",
    );
    for p in &rs.phases {
        assert!(p
            .entries
            .iter()
            .any(|e| matches!(e, Entry::Marker(m) if m == "END")));
    }
    let p1 = rs.phase(Phase::RequestHeaders);
    let t1 = rs.rule(1).unwrap().actions.skip_after.clone().unwrap();
    assert!(matches!(&p1.entries[t1.index.unwrap()], Entry::Marker(m) if m == "END"));
    let p2 = rs.phase(Phase::RequestBody);
    let t2 = rs.rule(2).unwrap().actions.skip_after.clone().unwrap();
    assert_eq!(t2.index, Some(2));
    assert!(matches!(&p2.entries[2], Entry::Marker(m) if m == "END"));
    // skipAfter a rule id: a placeholder right after that rule (v2).
    let t4 = rs.rule(4).unwrap().actions.skip_after.clone().unwrap();
    let idx = t4.index.unwrap();
    assert!(matches!(&p2.entries[idx - 1], Entry::Rule(r) if r.id == 5));
    assert!(matches!(&p2.entries[idx], Entry::Marker(m) if m == "5"));
    assert_eq!(rs.rule(6).unwrap().actions.skip, 1);
}

#[test]
fn remove_and_update_directives_act_on_loaded_rules() {
    let rs = load(
        "SecRule ARGS \"@rx a\" \"id:1,tag:attack-sqli,msg:'SQL thing'\"\n\
         SecRule ARGS \"@rx a\" \"id:2,tag:attack-xss\"\n\
         SecRule ARGS \"@rx a\" \"id:3\"\n\
         SecRule ARGS \"@rx a\" \"id:4,chain\"\n\
         SecRule REQUEST_HEADERS \"@rx b\" \"t:none\"\n\
         SecRule ARGS \"@rx a\" \"id:10\"\n\
         SecRule ARGS \"@rx a\" \"id:11\"\n\
         SecRuleRemoveByTag xss\n\
         SecRuleRemoveByMsg ^SQL\n\
         SecRuleRemoveById 10-11\n\
         SecRuleUpdateTargetById 4 \"!ARGS:Foo|REQUEST_COOKIES\"\n\
         SecRuleUpdateTargetById 3 REQUEST_URI ARGS\n\
         SecRuleUpdateActionById 3 \"deny,status:403,t:lowercase\"\n",
    );
    assert!(
        rs.rule(1).is_none()
            && rs.rule(2).is_none()
            && rs.rule(10).is_none()
            && rs.rule(11).is_none()
    );
    assert_eq!(rs.report.removed, 4);
    let r4 = rs.rule(4).unwrap();
    for link in r4.links() {
        assert!(link.exclusions.iter().any(|x| x.variable == Variable::Args
            && matches!(&x.selector, Selector::Key(k) if k == "foo")));
        assert!(link
            .targets
            .iter()
            .any(|t| t.variable == Variable::RequestCookies));
    }
    let r3 = rs.rule(3).unwrap();
    let targets: Vec<String> = r3.targets.iter().map(|t| t.describe()).collect();
    assert_eq!(targets, ["REQUEST_URI"]);
    assert_eq!(r3.actions.disruptive, Some(Disruptive::Deny));
    assert_eq!(r3.actions.status, Some(403));
    assert_eq!(r3.transforms, vec![Transform::Lowercase]);
    // Links are numbered after removals.
    assert_eq!(rs.link_count, 3);
}

#[test]
fn operators_actions_and_macros_compile_to_their_ir() {
    let rs = load(
        "SecRule REQUEST_HEADERS:Host \"!@streq %{tx.Host}\" \"id:1,phase:1,pass,setvar:'tx.score=+%{tx.critical_anomaly_score}',setvar:!tx.x,ctl:ruleRemoveTargetById=942100;ARGS:pwd,ctl:ruleRemoveById=5-7\"\n\
         SecRule ARGS \"^implicit$\" \"id:2\"\n\
         SecRule ARGS \"@RX %{tx.pattern}\" \"id:3\"\n\
         SecRule REMOTE_ADDR \"@ipMatch 10.0.0.0/8,::1\" \"id:4\"\n\
         SecRule ARGS \"@validateByteRange 32-126\" \"id:5\"\n\
         SecRule ARGS \"@pm Foo bar\" \"id:6\"\n",
    );
    let r1 = rs.rule(1).unwrap();
    assert!(r1.operator.negated);
    let OperatorKind::StrEq(m) = &r1.operator.kind else {
        panic!("{:?}", r1.operator.kind)
    };
    assert!(m.has_macros());
    assert!(
        matches!(&r1.actions.effects[0], Effect::SetVar { collection, op: SetVarOp::Add(_), .. } if collection == "tx")
    );
    assert!(matches!(
        &r1.actions.effects[1],
        Effect::SetVar {
            op: SetVarOp::Unset,
            ..
        }
    ));
    assert!(
        matches!(&r1.actions.effects[2], Effect::Ctl(Ctl::RuleRemoveTargetById(ids, x)) if ids[0].start == 942100 && x.variable == Variable::Args)
    );
    assert!(
        matches!(&r1.actions.effects[3], Effect::Ctl(Ctl::RuleRemoveById(ids)) if ids[0].start == 5 && ids[0].end == 7)
    );
    let OperatorKind::Rx(rx) = &rs.rule(2).unwrap().operator.kind else {
        panic!()
    };
    assert!(rx.regex.is_match(b"implicit".as_slice()));
    assert!(matches!(
        rs.rule(3).unwrap().operator.kind,
        OperatorKind::RxMacro(_)
    ));
    let OperatorKind::IpMatch(nets) = &rs.rule(4).unwrap().operator.kind else {
        panic!()
    };
    assert_eq!(nets.len(), 2);
    let OperatorKind::ValidateByteRange(t) = &rs.rule(5).unwrap().operator.kind else {
        panic!()
    };
    assert!(t[32] && !t[31] && t[126] && !t[127]);
    let OperatorKind::Pm(p) = &rs.rule(6).unwrap().operator.kind else {
        panic!()
    };
    assert!(p.automaton.is_match("xxFOOxx"));
}

#[test]
fn data_files_are_relative_to_the_rule_file() {
    let dir = std::env::temp_dir().join(format!("crs-compiler-data-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(
        dir.join("rules/words.data"),
        "# comment\nalpha\n\n  beta  \n",
    )
    .unwrap();
    std::fs::write(
        dir.join("rules/r.conf"),
        "SecRule ARGS \"@pmFromFile words.data\" \"id:1\"\n",
    )
    .unwrap();
    std::fs::write(dir.join("main.conf"), "Include rules/r.conf\n").unwrap();
    let rs = Compiler::new()
        .add_file(dir.join("main.conf"))
        .unwrap()
        .compile()
        .unwrap();
    let OperatorKind::Pm(p) = &rs.rule(1).unwrap().operator.kind else {
        panic!()
    };
    assert_eq!(p.phrases.as_slice(), ["alpha", "beta"]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_set_target_lists_the_members_that_read_it() {
    // One group (same phase and chain), three members with different
    // targets: a scan of a value read through a target counts only for
    // the members that read that target themselves.
    let rs = load(
        "SecRule ARGS|REQUEST_HEADERS:User-Agent \"@rx foo\" \"id:1,t:lowercase\"\n\
         SecRule REQUEST_HEADERS \"@rx bar\" \"id:2,t:lowercase\"\n\
         SecRule ARGS \"@rx baz\" \"id:3,t:lowercase\"\n",
    );
    assert_eq!(rs.groups.len(), 1);
    assert_eq!(rs.groups[0].member_ids, vec![1, 2, 3]);
    let pattern = |id: u32| rs.gates[rs.rule(id).unwrap().link_index].unwrap().pattern;
    let readers = |target: &str| {
        let t = rs.set_targets[0]
            .iter()
            .find(|t| t.target.describe() == target)
            .unwrap_or_else(|| panic!("no set target {target}"));
        assert_eq!(
            t.readers.iter().map(|r| r.group).collect::<Vec<_>>(),
            vec![0]
        );
        t.readers[0].patterns.clone()
    };
    assert_eq!(readers("ARGS"), vec![pattern(1), pattern(3)]);
    assert_eq!(readers("REQUEST_HEADERS:user-agent"), vec![pattern(1)]);
    assert_eq!(readers("REQUEST_HEADERS"), vec![pattern(2)]);
}

#[test]
fn groups_sweeping_the_same_chain_share_a_reader() {
    // Two groups (their chains differ), one sweep chain: `t:lowercase`
    // last is swept before the step, on a rewritten pattern. The value
    // is read once for both, and a hit counts for the members of both.
    let rs = load(
        "SecRule ARGS \"@rx foo\" \"id:1,t:urlDecode,t:lowercase\"\n\
         SecRule ARGS \"@rx bar\" \"id:2,t:urlDecode\"\n\
         SecRule ARGS \"@rx baz\" \"id:3,t:lowercase\"\n",
    );
    assert_eq!(rs.groups.len(), 3);
    assert_eq!(rs.groups[0].sweep_transforms, rs.groups[1].sweep_transforms);
    let pattern = |id: u32| rs.gates[rs.rule(id).unwrap().link_index].unwrap().pattern;
    let args = rs.set_targets[0]
        .iter()
        .find(|t| t.target.describe() == "ARGS")
        .expect("ARGS is a set target");
    let readers: Vec<(usize, Vec<usize>)> = args
        .readers
        .iter()
        .map(|r| (r.group, r.patterns.clone()))
        .collect();
    assert_eq!(
        readers,
        vec![(0, vec![pattern(1), pattern(2)]), (2, vec![pattern(3)])]
    );
}

#[test]
fn sweeps_lower_case_last_or_leave_it_out_where_the_patterns_allow() {
    let rs = load(
        "SecRule ARGS \"@rx script\" \"id:1,t:lowercase,t:removeNulls,t:compressWhitespace\"\n\
         SecRule ARGS \"@rx <[^>]*\\x3e\" \"id:2,t:lowercase,t:urlDecodeUni\"\n\
         SecRule ARGS \"@rx <script\" \"id:3,t:lowercase,t:urlDecodeUni,t:htmlEntityDecode\"\n\
         SecRule ARGS \"@rx <[^>]*>\" \"id:4,t:lowercase,t:urlDecodeUni,multiMatch\"\n",
    );
    let group = |id: u32| {
        let gate = rs.gates[rs.rule(id).unwrap().link_index].unwrap();
        &rs.groups[gate.group]
    };
    // Lower-casing commutes with the steps after it: swept last, so left
    // out on a rewritten pattern.
    assert_eq!(
        group(1).sweep_transforms,
        vec![Transform::RemoveNulls, Transform::CompressWhitespace]
    );
    assert_eq!(group(1).lowercase_at, None);
    // A decoder after it: kept, and left out value by value only where the
    // pattern has no letters.
    assert_eq!(
        group(2).sweep_transforms,
        vec![Transform::Lowercase, Transform::UrlDecodeUni]
    );
    assert_eq!(group(2).lowercase_at, Some(0));
    assert_eq!(group(3).lowercase_at, None);
    assert_eq!(group(4).lowercase_at, None);
}

#[test]
fn multi_match_groups_that_decode_binary_data_are_not_swept() {
    // Each step's result of `t:base64Decode` is new bytes, mostly noise:
    // the sweep reads the other multiMatch group's steps, not this one's.
    let rs = load(
        "SecRule ARGS \"@rx foo\" \"id:1,t:urlDecodeUni,multiMatch\"\n\
         SecRule ARGS \"@rx bar\" \"id:2,t:base64Decode,multiMatch\"\n",
    );
    assert_eq!(rs.groups.len(), 2);
    assert!(rs.groups[0].swept() && !rs.groups[1].swept());
    let readers: Vec<usize> = rs.set_targets[0]
        .iter()
        .flat_map(|t| t.readers.iter().map(|r| r.group))
        .collect();
    assert_eq!(readers, vec![0]);
}

#[test]
fn gates_group_rx_heads_with_identical_inputs() {
    let rs = load(
        "SecRule ARGS \"@rx foo\" \"id:1,t:lowercase\"\n\
         SecRule ARGS \"@rx bar\" \"id:2,t:lowercase\"\n\
         SecRule ARGS \"!@rx baz\" \"id:3,t:lowercase\"\n\
         SecRule ARGS \"@rx qux\" \"id:4,t:lowercase,multiMatch\"\n\
         SecRule TX:x \"@rx foo\" \"id:5\"\n\
         SecRule TX:x \"@rx bar\" \"id:6\"\n\
         SecRule ARGS \"@rx a*\" \"id:7,t:lowercase\"\n\
         SecRule ARGS \"@rx quux\" \"id:8,t:urlDecode\"\n",
    );
    assert_eq!(rs.groups.len(), 3);
    let g = &rs.groups[0];
    // The negated rule 3 is gated too: the scan's answer is exact.
    assert_eq!(g.member_ids, vec![1, 2, 3]);
    assert_eq!(g.transforms, vec![Transform::Lowercase]);
    assert!(!g.multi_match);
    let gate = rs.gates[rs.rule(2).unwrap().link_index].unwrap();
    assert_eq!((gate.group, gate.set, gate.pattern), (0, 0, 1));
    // A multiMatch rule is a group of its own kind, with a reader of its
    // own in the set's sweep: it reads each step's result, not only the
    // chain's last, which group 0 reads.
    assert_eq!(rs.groups[1].member_ids, vec![4]);
    assert!(rs.groups[1].multi_match);
    let args = rs.set_targets[0]
        .iter()
        .find(|t| t.target.variable == Variable::Args)
        .expect("ARGS is swept");
    let reader = |g: usize| args.readers.iter().find(|r| r.group == g);
    assert_eq!(reader(0).map(|r| r.patterns.clone()), Some(vec![0, 1, 2]));
    assert_eq!(reader(1).map(|r| r.patterns.clone()), Some(vec![3]));
    assert!(rs.groups[1].swept());
    // A rule alone with its transformations is a group of its own, in the
    // same set: one scan of a value answers for both groups when the
    // transformations leave it as it is.
    assert_eq!(rs.groups[2].member_ids, vec![8]);
    let gate = rs.gates[rs.rule(8).unwrap().link_index].unwrap();
    assert_eq!((gate.group, gate.set, gate.pattern), (2, 0, 4));
    assert_eq!(rs.sets.len(), 1);
    assert_eq!(rs.report.gated_links, 5);
    let set = rs.sets[0].get().expect("the set compiles");
    let mut which = regex_automata::PatternSet::new(set.pattern_len());
    set.which_overlapping_matches(b"xbarx quux", &mut which);
    assert!(
        which.contains(regex_automata::PatternID::must(1))
            && which.contains(regex_automata::PatternID::must(4))
            && !which.contains(regex_automata::PatternID::must(0))
            && !which.contains(regex_automata::PatternID::must(3))
    );
}

#[test]
fn best_effort_skips_only_unsupported_rules() {
    let text = "SecRule REMOTE_ADDR \"@rbl bl.example\" \"id:1,chain\"\n\
                SecRule ARGS \"@rx a\" \"t:none\"\n\
                SecRule ARGS \"@rx a\" \"id:2,chain\"\n\
                SecRule ARGS \"@rx b\" \"exec:/bin/true\"\n\
                SecRule ARGS \"@rx ok\" \"id:3\"\n\
                SecRuleScript /x.lua \"id:4\"\n";
    let strict = Compiler::new()
        .add_str("t.conf", text)
        .compile()
        .unwrap_err();
    assert_eq!(strict.errors().len(), 3);
    assert!(
        strict.errors().iter().all(|e| e.is_unsupported()),
        "{strict}"
    );

    let rs = Compiler::new()
        .support(crs_compiler::Support::BestEffort)
        .add_str("t.conf", text)
        .compile()
        .unwrap();
    assert!(
        rs.rule(1).is_none() && rs.rule(2).is_none(),
        "whole chains are left out"
    );
    assert!(rs.rule(3).is_some());
    assert_eq!(rs.link_count, 1);
    let skipped: Vec<_> = rs
        .report
        .skipped
        .iter()
        .map(|e| (e.rule_id(), e.location().map(|l| l.line)))
        .collect();
    assert_eq!(
        skipped,
        vec![(Some(1), Some(1)), (Some(2), Some(4)), (None, Some(6))]
    );

    // Mistakes stay errors even in best-effort mode.
    let e = Compiler::new()
        .support(crs_compiler::Support::BestEffort)
        .add_str("t.conf", "SecRule ARGS \"@rxx a\" \"id:1\"\n")
        .compile()
        .unwrap_err();
    assert!(!e.errors()[0].is_unsupported());
}
