//! Malformed SecLang: each input must give the expected error kind at the
//! expected line, and nothing may panic.

use crs_compiler::{CompileErrorKind as K, Compiler};

struct Case {
    name: &'static str,
    text: &'static str,
    kind: K,
    line: u32,
}

const fn case(name: &'static str, text: &'static str, kind: K, line: u32) -> Case {
    Case {
        name,
        text,
        kind,
        line,
    }
}

fn cases() -> Vec<Case> {
    vec![
        case("unterminated double quote", "SecRuleEngine On\nSecRule ARGS \"@rx a\n", K::Syntax, 2),
        case("unterminated single quote in actions", "SecRule ARGS \"@rx a\" \"id:1,msg:'x\"\n", K::Syntax, 1),
        case("bad escape in single quotes", "SecRule ARGS \"@rx a\" \"id:1,msg:'a\\d'\"\n", K::Syntax, 1),
        case("missing comma between actions", "SecRule ARGS \"@rx a\" \"id:1,nolog pass\"\n", K::Syntax, 1),
        case("unknown directive", "\n\nSecFooBar On\n", K::UnknownDirective, 3),
        case("lua rules", "SecRuleScript /x.lua \"id:1\"\n", K::UnknownDirective, 1),
        case("unknown operator", "SecRule ARGS \"@foo x\" \"id:1,pass\"\n", K::UnsupportedOperator, 1),
        case("unsupported operator", "SecRule REMOTE_ADDR \"@rbl x.example\" \"id:1,pass\"\n", K::UnsupportedOperator, 1),
        case("empty operator name", "SecRule ARGS \"@ x\" \"id:1,pass\"\n", K::UnsupportedOperator, 1),
        case("unknown action", "SecRule ARGS \"@rx a\" \"id:1,frobnicate\"\n", K::UnknownAction, 1),
        case("unsupported action", "SecRule ARGS \"@rx a\" \"id:1,exec:/bin/true\"\n", K::UnknownAction, 1),
        case("unknown transformation", "SecRule ARGS \"@rx a\" \\\n  \"id:1,\\\n  t:nope\"\n", K::UnknownTransform, 3),
        case("bad regex", "SecRule ARGS \"@rx (a\" \"id:1\"\n", K::Regex, 1),
        case("bad regex on a continuation line", "SecRule ARGS \\\n  \"@rx a[\" \\\n  \"id:1\"\n", K::Regex, 2),
        case("bad selector regex", "SecRule ARGS:/(/ \"@rx a\" \"id:1\"\n", K::Regex, 1),
        case("missing include", "Include /nonexistent/rasp-test/x.conf\n", K::Io, 1),
        case("include glob without match", "\nInclude /nonexistent/rasp-test/*.conf\n", K::Io, 2),
        case("missing data file", "SecRule ARGS \"@pmFromFile rasp-missing.data\" \"id:1\"\n", K::Io, 1),
        case("missing ip data file", "SecRule REMOTE_ADDR \"@ipMatchFromFile rasp-missing.txt\" \"id:1\"\n", K::Io, 1),
        case("duplicate id", "SecRule ARGS \"@rx a\" \"id:5\"\nSecRule ARGS \"@rx b\" \"id:5\"\n", K::DuplicateId, 2),
        case("duplicate id via SecAction", "SecAction \"id:5,pass\"\nSecAction \"id:5,pass\"\n", K::DuplicateId, 2),
        case("dangling chain at end", "SecRule ARGS \"@rx a\" \"id:1,chain\"\n", K::BrokenChain, 1),
        case(
            "dangling chain before marker",
            "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecMarker END\n",
            K::BrokenChain,
            1,
        ),
        case("chain link with id", "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecRule ARGS \"@rx b\" \"id:2\"\n", K::MissingId, 2),
        case("chain link with phase", "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecRule ARGS \"@rx b\" \"phase:1\"\n", K::BrokenChain, 2),
        case("chain link with deny", "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecRule ARGS \"@rx b\" \"deny\"\n", K::BrokenChain, 2),
        case("chain link with msg", "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecRule ARGS \"@rx b\" \"msg:x\"\n", K::BrokenChain, 2),
        case("chain link with skipAfter", "SecRule ARGS \"@rx a\" \"id:1,chain\"\nSecRule ARGS \"@rx b\" \"skipAfter:X\"\nSecMarker X\n", K::BrokenChain, 2),
        case("missing id", "SecRule ARGS \"@rx a\" \"phase:1,pass\"\n", K::MissingId, 1),
        case("missing actions", "SecRule ARGS \"@rx a\"\n", K::MissingId, 1),
        case("SecAction without id", "SecAction \"phase:1,pass\"\n", K::MissingId, 1),
        case("skipAfter without marker", "SecRule ARGS \"@rx a\" \"id:1,skipAfter:NOWHERE\"\n", K::MissingMarker, 1),
        case(
            "skipAfter to an earlier marker",
            "SecMarker BACK\nSecRule ARGS \"@rx a\" \"id:1,phase:2,skipAfter:BACK\"\n",
            K::MissingMarker,
            2,
        ),
        case("unknown variable", "SecRule ARGZ \"@rx a\" \"id:1\"\n", K::UnsupportedVariable, 1),
        case("selector on a scalar", "SecRule REQUEST_URI:x \"@rx a\" \"id:1\"\n", K::BadArgument, 1),
        case("count of a scalar", "SecRule &REQUEST_URI \"@eq 0\" \"id:1\"\n", K::BadArgument, 1),
        case("bad phase", "SecRule ARGS \"@rx a\" \"id:1,phase:9\"\n", K::BadArgument, 1),
        case("id not a number", "SecRule ARGS \"@rx a\" \"id:abc\"\n", K::BadArgument, 1),
        case("id zero", "SecRule ARGS \"@rx a\" \"id:0\"\n", K::BadArgument, 1),
        case("bad status", "SecRule ARGS \"@rx a\" \"id:1,deny,status:abc\"\n", K::BadArgument, 1),
        case("bad severity", "SecRule ARGS \"@rx a\" \"id:1,severity:bogus\"\n", K::BadArgument, 1),
        case("setvar without collection", "SecRule ARGS \"@rx a\" \"id:1,setvar:foo=1\"\n", K::BadArgument, 1),
        case("setvar on a read-only collection", "SecRule ARGS \"@rx a\" \"id:1,setvar:args.x=1\"\n", K::BadArgument, 1),
        case("unknown ctl option", "SecRule ARGS \"@rx a\" \"id:1,ctl:frob=1\"\n", K::BadArgument, 1),
        case("backwards id range in ctl", "SecRule ARGS \"@rx a\" \"id:1,ctl:ruleRemoveById=9-1\"\n", K::BadArgument, 1),
        case("ctl target removal with bad variable", "SecRule ARGS \"@rx a\" \"id:1,ctl:ruleRemoveTargetById=5;NOPE\"\n", K::UnsupportedVariable, 1),
        case("action needs argument", "SecRule ARGS \"@rx a\" \"id:1,msg\"\n", K::BadArgument, 1),
        case("flag given an argument", "SecRule ARGS \"@rx a\" \"id:1,capture:yes\"\n", K::BadArgument, 1),
        case("unknown macro variable", "SecRule ARGS \"@rx a\" \"id:1,msg:'%{NOPE}'\"\n", K::BadArgument, 1),
        case("unknown macro in operator", "SecRule ARGS \"@streq %{NOPE.x}\" \"id:1\"\n", K::BadArgument, 1),
        case("bad allow scope", "SecRule ARGS \"@rx a\" \"id:1,allow:everything\"\n", K::BadArgument, 1),
        case("SecRule with one argument", "SecRule ARGS\n", K::Syntax, 1),
        case("SecAction with two arguments", "SecAction \"id:1\" \"pass\"\n", K::Syntax, 1),
        case("SecMarker without name", "SecMarker\n", K::Syntax, 1),
        case("bad engine mode", "SecRuleEngine Maybe\n", K::BadArgument, 1),
        case("bad body limit", "SecRequestBodyLimit lots\n", K::BadArgument, 1),
        case("bad limit action", "SecRequestBodyLimitAction Explode\n", K::BadArgument, 1),
        case("default action without disruptive", "SecDefaultAction \"phase:2,log\"\n", K::BadArgument, 1),
        case("default action without phase", "SecDefaultAction \"log,pass\"\n", K::BadArgument, 1),
        case("default action with id", "SecDefaultAction \"phase:2,pass,id:3\"\n", K::BadArgument, 1),
        case("update target of missing rule", "SecRuleUpdateTargetById 99 \"!ARGS:x\"\n", K::UnknownRule, 1),
        case("update action of missing rule", "SecRuleUpdateActionById 99 \"nolog\"\n", K::UnknownRule, 1),
        case(
            "update action changing phase",
            "SecRule ARGS \"@rx a\" \"id:1,phase:2\"\nSecRuleUpdateActionById 1 \"phase:1\"\n",
            K::BadArgument,
            2,
        ),
        case("bad remove id", "SecRuleRemoveById abc\n", K::BadArgument, 1),
        case("bad remove tag regex", "SecRuleRemoveByTag \"(\"\n", K::Regex, 1),
        case("bad ip", "SecRule REMOTE_ADDR \"@ipMatch 300.1.1.1\" \"id:1\"\n", K::BadArgument, 1),
        case("bad byte range", "SecRule ARGS \"@validateByteRange 1-300\" \"id:1\"\n", K::BadArgument, 1),
        case("numeric operator with text", "SecRule &ARGS \"@eq many\" \"id:1\"\n", K::BadArgument, 1),
        case("deny in logging phase", "SecRule ARGS \"@rx a\" \"id:1,phase:5,deny\"\n", K::BadArgument, 1),
        case("empty target list", "SecRule \"\" \"@rx a\" \"id:1\"\n", K::Syntax, 1),
        case("bad argument separator", "SecArgumentSeparator &&\n", K::BadArgument, 1),
        case("empty pm list", "SecRule ARGS \"@pm\" \"id:1\"\n", K::BadArgument, 1),
    ]
}

#[test]
fn malformed_inputs_give_the_expected_error_and_line() {
    let cases = cases();
    assert!(cases.len() >= 40);
    let mut failures = Vec::new();
    for c in &cases {
        let result =
            std::panic::catch_unwind(|| Compiler::new().add_str("bad.conf", c.text).compile());
        let errs = match result {
            Err(_) => {
                failures.push(format!("{}: panicked", c.name));
                continue;
            }
            Ok(Ok(_)) => {
                failures.push(format!("{}: loaded without error", c.name));
                continue;
            }
            Ok(Err(e)) => e,
        };
        let first = &errs.errors()[0];
        let line = first.location().map(|l| l.line);
        if *first.kind() != c.kind || line != Some(c.line) {
            failures.push(format!(
                "{}: expected {:?} at line {}, got {:?} at line {:?}: {first}",
                c.name,
                c.kind,
                c.line,
                first.kind(),
                line
            ));
        }
        if first.directive().is_none() {
            failures.push(format!("{}: error names no directive: {first}", c.name));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

#[test]
fn regex_errors_point_at_the_offending_column() {
    // `(` opens a group that is never closed: regex-syntax reports the `(`.
    let errs = Compiler::new()
        .add_str("bad.conf", "SecRule ARGS \\\n    \"@rx ab(c\" \"id:7\"\n")
        .compile()
        .unwrap_err();
    let e = &errs.errors()[0];
    let loc = e.location().unwrap();
    assert_eq!((loc.line, loc.column), (2, 12), "{e}");
    assert_eq!(e.rule_id(), Some(7));
    let aux = e.auxiliary_location().expect("operator location");
    assert_eq!((aux.line, aux.column), (2, 6), "the `@` of `@rx`");
    assert!(
        std::error::Error::source(e).is_some(),
        "the regex parser's error is the source"
    );
    assert!(
        e.to_string()
            .starts_with("bad.conf:2:12: SecRule: rule 7: bad regular expression"),
        "{e}"
    );
}

#[test]
fn all_errors_are_reported_not_just_the_first() {
    let text = "SecRule ARGS \"@rx (\" \"id:1\"\nSecFoo\nSecRule ARGS \"@rx a\" \"id:1\"\nSecRule ARGS \"@rx a\" \"id:2,t:nope\"\n";
    let errs = Compiler::new()
        .add_str("bad.conf", text)
        .compile()
        .unwrap_err();
    let kinds: Vec<_> = errs
        .errors()
        .iter()
        .map(|e| (e.kind().clone(), e.location().map(|l| l.line)))
        .collect();
    assert_eq!(
        kinds,
        vec![
            (K::Regex, Some(1)),
            (K::UnknownDirective, Some(2)),
            (K::DuplicateId, Some(3)),
            (K::UnknownTransform, Some(4))
        ]
    );
}

#[test]
fn absurdly_long_chains_are_refused_without_overflowing_the_stack() {
    let mut text = String::from("SecRule ARGS \"@rx a\" \"id:1,chain\"\n");
    for _ in 0..5000 {
        text.push_str("SecRule ARGS \"@rx a\" \"chain\"\n");
    }
    text.push_str("SecRule ARGS \"@rx a\" \"t:none\"\nSecRule ARGS \"@rx b\" \"id:2\"\n");
    let errs = Compiler::new()
        .add_str("long.conf", &text)
        .compile()
        .unwrap_err();
    assert_eq!(errs.errors().len(), 1, "{errs}");
    assert_eq!(*errs.errors()[0].kind(), K::BrokenChain);
    assert_eq!(errs.errors()[0].location().map(|l| l.line), Some(1001));
}
