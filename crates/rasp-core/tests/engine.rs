//! Engine semantics on small inline rule sets: chains, flow control, ctl,
//! captures, macros, modes, limits and persistent collections. Each case
//! states the ModSecurity v2 behaviour it pins.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{
    assert_exchanges, assert_modes_agree, engine, exchange_ids, ids, per_rule, request, run,
    ExchangeCase, Headers,
};
use rasp_core::{Engine, EngineConfig, Transaction, Verdict};

#[test]
fn deny_interrupts_with_status_and_rule_id() {
    let e = engine(r#"SecRule ARGS "@rx attack" "id:1,phase:1,deny,status:406,log""#);
    let tx = run(&e, "/?q=an+attack", None);
    let i = tx.intervention().expect("interrupted");
    assert_eq!((i.status, i.rule_id), (406, Some(1)));
    let ok = run(&e, "/?q=benign", None);
    assert!(ok.intervention().is_none());
    assert!(ok.matches().is_empty());
}

#[test]
fn detection_only_logs_but_never_blocks() {
    let e = engine(
        "SecRuleEngine DetectionOnly\nSecRule ARGS \"@rx attack\" \"id:1,phase:1,deny,log\"",
    );
    let tx = run(&e, "/?q=attack", None);
    assert!(tx.intervention().is_none());
    assert_eq!(ids(&tx), vec![1]);
    assert!(!tx.matches()[0].disruptive);
}

#[test]
fn chain_head_setvar_runs_even_when_chain_fails() {
    // v2 runs each link's non-disruptive actions when that link matches.
    let e = engine(
        r#"
SecRule ARGS:a "@streq x" "id:1,phase:1,pass,nolog,setvar:tx.head=1,chain"
    SecRule ARGS:b "@streq y" "setvar:tx.tail=1"
SecRule TX:head "@eq 1" "id:2,phase:1,pass,log"
SecRule TX:tail "@eq 1" "id:3,phase:1,pass,log"
"#,
    );
    let tx = run(&e, "/?a=x&b=z", None);
    assert_eq!(ids(&tx), vec![2], "head setvar ran, tail did not");
    let tx = run(&e, "/?a=x&b=y", None);
    assert_eq!(ids(&tx), vec![2, 3]);
    assert!(
        tx.matches().iter().all(|m| m.id != 1),
        "nolog (= noauditlog) matches leave no record"
    );
}

#[test]
fn chain_logs_once_with_head_metadata_and_last_matched_var() {
    let e = engine(
        r#"
SecRule ARGS:a "@rx ^x" "id:10,phase:1,pass,log,msg:'head msg',logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}',chain"
    SecRule ARGS:b "@rx ^y" ""
"#,
    );
    let tx = run(&e, "/?a=x1&b=y2", None);
    assert_eq!(tx.matches().len(), 1);
    let m = &tx.matches()[0];
    assert_eq!(m.id, 10);
    assert_eq!(m.msg.as_deref(), Some("head msg"));
    assert_eq!(m.data.as_deref(), Some("ARGS:b=y2"));
}

#[test]
fn messages_expand_bytes_that_are_not_utf8_lossily() {
    let e = engine(
        r#"
SecRule ARGS:a "@rx ^x" "id:10,phase:1,pass,log,msg:'got %{MATCHED_VAR}',logdata:'%{MATCHED_VAR_NAME}=%{MATCHED_VAR}!'"
"#,
    );
    // `%FF` decodes to a byte that is not UTF-8; `%C3%A9` to "é".
    let tx = run(&e, "/?a=x%FFy%C3%A9", None);
    let m = &tx.matches()[0];
    assert_eq!(m.msg.as_deref(), Some("got x\u{fffd}yé"));
    assert_eq!(m.data.as_deref(), Some("ARGS:a=x\u{fffd}yé!"));
}

#[test]
fn skip_after_resumes_after_marker_and_skip_counts_chains_once() {
    let e = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,skipAfter:END"
SecAction "id:2,phase:1,pass,log"
SecMarker END
SecAction "id:3,phase:1,pass,log,skip:1"
SecRule REQUEST_METHOD "@rx ." "id:4,phase:1,pass,log,chain"
    SecRule REQUEST_METHOD "@rx ." ""
SecAction "id:5,phase:1,pass,log"
"#,
    );
    let tx = run(&e, "/", None);
    assert_eq!(ids(&tx), vec![3, 5]);
}

#[test]
fn ctl_rule_remove_by_id_range_and_target() {
    let e = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,ctl:ruleRemoveById=100-199,ctl:ruleRemoveTargetById=200;ARGS:skipme"
SecAction "id:150,phase:1,pass,log"
SecRule ARGS "@rx bad" "id:200,phase:1,pass,log"
SecAction "id:300,phase:1,pass,log"
"#,
    );
    let tx = run(&e, "/?skipme=bad", None);
    assert_eq!(ids(&tx), vec![300]);
    let tx = run(&e, "/?other=bad", None);
    assert_eq!(ids(&tx), vec![200, 300]);
}

#[test]
fn capture_fills_tx_and_macros_expand() {
    let e = engine(
        r#"
SecRule ARGS:q "@rx (ab)(c+)" "id:1,phase:1,pass,nolog,capture,setvar:tx.got=%{TX.2}-%{tx.1}"
SecRule TX:got "@streq ccc-ab" "id:2,phase:1,pass,log,msg:'got %{tx.got}'"
"#,
    );
    let tx = run(&e, "/?q=xxabccc", None);
    assert_eq!(ids(&tx), vec![2]);
    let logged = tx
        .matches()
        .iter()
        .find(|m| m.id == 2)
        .expect("rule 2 matched");
    assert_eq!(logged.msg.as_deref(), Some("got ccc-ab"));
}

#[test]
fn setvar_arithmetic_and_unset() {
    let e = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.s=5,setvar:tx.s=+3,setvar:tx.s=-1,setvar:tx.gone=1,setvar:!tx.gone"
SecRule TX:s "@eq 7" "id:2,phase:1,pass,log"
SecRule &TX:gone "@eq 0" "id:3,phase:1,pass,log"
SecAction "id:4,phase:1,pass,nolog,setvar:tx.new=+4,setvar:tx.neg=-9,setvar:tx.text=12abc,setvar:tx.text=+1,setvar:tx.S=+%{tx.s}"
"#,
    );
    let tx = run(&e, "/", None);
    assert_eq!(ids(&tx), vec![2, 3]);
    // A missing member counts as 0; a value is read as atoi reads it.
    assert_eq!(tx.tx_var("new").as_deref(), Some("4"));
    assert_eq!(tx.tx_var("neg").as_deref(), Some("-9"));
    assert_eq!(tx.tx_var("text").as_deref(), Some("13"));
    assert_eq!(tx.tx_var("s").as_deref(), Some("14"));
}

#[test]
fn negated_operator_and_counts() {
    let e = engine(
        r#"
SecRule &REQUEST_HEADERS:User-Agent "@eq 0" "id:1,phase:1,pass,log"
SecRule REQUEST_METHOD "!@within GET HEAD" "id:2,phase:1,pass,log"
"#,
    );
    assert_eq!(ids(&run(&e, "/", None)), vec![1]);
}

#[test]
fn form_body_populates_args_post_and_request_body() {
    let e = engine(
        r#"
SecRule ARGS_POST:name "@streq a b" "id:1,phase:2,pass,log"
SecRule REQUEST_BODY "@rx name=" "id:2,phase:2,pass,log"
SecRule REQBODY_PROCESSOR "@streq URLENCODED" "id:3,phase:2,pass,log"
"#,
    );
    assert_eq!(ids(&run(&e, "/", Some("name=a+b&x=1"))), vec![1, 2, 3]);
}

#[test]
fn transformations_apply_in_order_with_t_none_reset() {
    let e = engine(
        r#"
SecDefaultAction "phase:1,log,pass,t:lowercase"
SecRule ARGS:q "@streq abc" "id:1,phase:1"
SecRule ARGS:q "@streq ABC" "id:2,phase:1,t:none"
"#,
    );
    assert_eq!(ids(&run(&e, "/?q=ABC", None)), vec![1, 2]);
}

#[test]
fn request_body_limit_rejects_with_413_when_on() {
    let e = engine("SecRequestBodyLimit 10\nSecRequestBodyLimitAction Reject\nSecAction \"id:1,phase:2,pass,log\"");
    let mut tx = e.transaction();
    tx.process_uri(b"POST", b"/", b"HTTP/1.1");
    tx.add_request_header(b"Content-Type", b"application/x-www-form-urlencoded");
    let _ = tx.process_request_headers();
    match tx.append_request_body(b"a=0123456789abcdef") {
        Verdict::Interrupt(i) => assert_eq!(i.status, 413),
        v => panic!("expected 413, got {v:?}"),
    }
}

#[test]
fn no_files_limit_rejects_as_the_body_arrives_unless_multipart_or_partial() {
    // A body no multipart parser reads is all "no files" data: over
    // SecRequestBodyNoFilesLimit with Reject, the chunk that crosses the
    // limit is answered 413 and, as in ModSecurity v2, not kept (nor is
    // anything after it), and phase 2 gives the same answer. A multipart
    // body is judged when its parser ends, by the bytes that are not file
    // data, and ProcessPartial inspects the body (here the rule sees the
    // argument).
    let conf = |action: &str| {
        format!(
            "SecRequestBodyAccess On\nSecRequestBodyLimit 1000\nSecRequestBodyNoFilesLimit 16\n\
             SecRequestBodyLimitAction {action}\n\
             SecRule ARGS_POST:a \"@rx ^0123\" \"id:1,phase:2,pass,log\"\n\
             SecRule REQUEST_BODY_LENGTH \"@eq 12\" \"id:5,phase:5,pass,log\""
        )
    };
    let body = |tx: &mut Transaction, content_type: &[u8], chunks: &[&[u8]]| {
        tx.process_uri(b"POST", b"/", b"HTTP/1.1");
        tx.add_request_header(b"Content-Type", content_type);
        let _ = tx.process_request_headers();
        chunks
            .iter()
            .map(|c| match tx.append_request_body(c) {
                Verdict::Interrupt(i) => Some(i.status),
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    // Refused with 413 in phase 2, the message naming the limit the body
    // is over (as v2's does).
    let refused = |v: Verdict, limit: usize| match v {
        Verdict::Interrupt(i) => {
            assert_eq!((i.status, i.phase), (413, 2));
            assert_eq!(
                i.message,
                format!(
                    "Request body no files data length is larger than the configured limit ({limit})."
                )
            );
        }
        v => panic!("expected 413, got {v:?}"),
    };
    let form: &[&[u8]] = &[b"a=0123456789", b"&b=0123456789", b"&c=0"];
    let reject = engine(&conf("Reject"));
    let mut tx = reject.transaction();
    assert_eq!(
        body(&mut tx, b"application/x-www-form-urlencoded", form),
        vec![None, Some(413), Some(413)]
    );
    refused(tx.process_request_body(), 16);
    assert!(ids(&tx).is_empty(), "the body was not inspected");
    tx.process_logging();
    assert_eq!(ids(&tx), vec![5], "only the chunk before the limit is kept");

    // A multipart body is judged by its parser when it ends: part headers
    // and fields count against the limit (here 100), file data does not.
    let multipart = engine(&conf("Reject").replace("NoFilesLimit 16", "NoFilesLimit 100"));
    let data = "0123456789".repeat(20);
    // The part as a file, then as a field: the body arrives whole, and
    // phase 2 decides.
    let sent = |filename: &str| {
        let part = format!(
            "--b\r\nContent-Disposition: form-data; name=\"f\"{filename}\r\n\r\n{data}\r\n--b--\r\n"
        );
        let mut tx = multipart.transaction();
        let arrived = body(
            &mut tx,
            b"multipart/form-data; boundary=b",
            &[part.as_bytes()],
        );
        assert_eq!(arrived, vec![None]);
        tx
    };
    let mut tx = sent("; filename=\"x\"");
    assert!(matches!(tx.process_request_body(), Verdict::Continue));
    let mut tx = sent("");
    refused(tx.process_request_body(), 100);
    assert!(ids(&tx).is_empty(), "the rules did not run");

    let partial = engine(&conf("ProcessPartial"));
    let mut tx = partial.transaction();
    assert_eq!(
        body(&mut tx, b"application/x-www-form-urlencoded", form),
        vec![None, None, None]
    );
    assert!(matches!(tx.process_request_body(), Verdict::Continue));
    assert_eq!(ids(&tx), vec![1]);
}

#[test]
fn headers_of_a_finished_exchange_leave_nothing_behind() {
    // A finished exchange leaves its emptied header buffers to the next
    // one on its thread: the next one sees its own headers only.
    let e = engine(
        r#"
SecRule REQUEST_HEADERS:X "@streq short" "id:1,phase:1,pass,log"
SecRule &REQUEST_HEADERS "@eq 2" "id:2,phase:1,pass,log"
SecRule RESPONSE_HEADERS:Y "@streq b" "id:3,phase:3,pass,log"
"#,
    );
    let exchange =
        |request: Headers<'_>, response: Headers<'_>| exchange_ids(&e, request, response, &[]);
    let long = "a long header value that leaves a large buffer behind".repeat(4);
    let first = exchange(
        &[(b"X", long.as_bytes()), (b"Z", b"zzz")],
        &[(b"Y", b"a much longer response header value")],
    );
    assert!(first.is_empty(), "{first:?}");
    assert_eq!(
        exchange(&[(b"X", b"short")], &[(b"Y", b"b")]),
        vec![1, 2, 3]
    );
}

#[test]
fn request_body_limit_partial_inspects_prefix() {
    let e = engine(
        "SecRequestBodyLimit 8\nSecRequestBodyLimitAction ProcessPartial\n\
         SecRule ARGS_POST:a \"@streq 123456\" \"id:1,phase:2,pass,log\"",
    );
    let tx = run(&e, "/", Some("a=123456789"));
    assert!(tx.intervention().is_none());
    assert_eq!(ids(&tx), vec![1]);
}

#[test]
fn persistent_ip_collection_survives_transactions() {
    let e = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,initcol:ip=%{REMOTE_ADDR},setvar:ip.hits=+1"
SecRule IP:hits "@ge 3" "id:2,phase:1,deny,status:429,log"
"#,
    );
    assert!(run(&e, "/", None).intervention().is_none());
    assert!(run(&e, "/", None).intervention().is_none());
    let third = run(&e, "/", None);
    assert_eq!(third.intervention().map(|i| i.status), Some(429));
}

#[test]
fn allow_stops_the_phase_and_later_request_phases() {
    let e = engine(
        r#"
SecRule REQUEST_URI "@beginsWith /health" "id:1,phase:1,allow,nolog"
SecAction "id:2,phase:1,pass,log"
SecAction "id:3,phase:2,deny,log"
"#,
    );
    let tx = run(&e, "/health", None);
    assert!(tx.intervention().is_none());
    // The allow took effect, so it is recorded despite nolog; rule 2 never ran.
    assert_eq!(
        tx.matches().iter().map(|m| m.id).collect::<Vec<_>>(),
        vec![1]
    );
    let tx = run(&e, "/other", None);
    assert_eq!(tx.intervention().map(|i| i.rule_id), Some(Some(3)));
}

#[test]
fn gated_and_per_rule_evaluation_agree() {
    let rules = r#"
SecRule ARGS "@rx union\s+select" "id:1,phase:2,pass,log,t:lowercase"
SecRule ARGS "@rx <script" "id:2,phase:2,pass,log,t:lowercase"
SecRule ARGS "@rx \.\./" "id:3,phase:2,pass,log,t:lowercase"
SecRule ARGS "@rx etc/passwd" "id:4,phase:2,pass,log,t:lowercase"
"#;
    let compiled = Arc::new(
        crs_compiler::Compiler::new()
            .add_str("g.conf", rules)
            .compile()
            .expect("compiles"),
    );
    assert!(
        !compiled.groups.is_empty(),
        "these rules share targets and transforms: they must be grouped"
    );
    let gated = Engine::new(compiled);
    assert_modes_agree(
        &gated,
        &[
            "/?a=UNION%20SELECT",
            "/?b=<SCRIPT>",
            "/?c=../../etc/passwd",
            "/?d=fine",
            "/?e=union",
        ],
    );
    assert_eq!(ids(&run(&gated, "/?c=../../etc/passwd", None)), vec![3, 4]);
}

#[test]
fn byte_range_rules_are_gated_and_agree_with_their_own_operator() {
    // 920270's shape: NUL after `t:urlDecodeUni`; a narrower range; a
    // negated one, which matches the values whose bytes are all allowed.
    let gated = engine(
        r#"
SecRule ARGS "@validateByteRange 1-255" "id:1,phase:2,pass,log,t:none,t:urlDecodeUni"
SecRule ARGS "@validateByteRange 32-126" "id:2,phase:2,pass,log,t:none"
SecRule ARGS "!@validateByteRange 97-122" "id:3,phase:2,pass,log,t:none"
"#,
    );
    let plan = gated.gate_plan();
    assert_eq!(plan.ungated, vec![], "every rule is gated");
    let cases: [(&str, &[u32]); 5] = [
        ("/?q=fine", &[3]),
        ("/?q=a%2500b", &[1]),
        ("/?q=a%00b", &[1, 2]),
        ("/?q=caf%C3%A9", &[2]),
        ("/?q=two+words", &[]),
    ];
    let plain = per_rule(&gated);
    for (uri, want) in cases {
        for e in [&gated, &plain] {
            assert_eq!(ids(&run(e, uri, None)), want.to_vec(), "{uri}");
        }
    }
}

#[test]
fn a_long_value_read_through_two_targets_answers_for_both_groups() {
    // The User-Agent is read through `REQUEST_HEADERS:User-Agent` by one
    // group and through `REQUEST_HEADERS` by another whose chain leaves it
    // as it is: the sweep sees the same bytes twice, walks them once, and
    // the answer must reach both groups.
    let gated = engine(
        r#"
SecRule ARGS|REQUEST_HEADERS:User-Agent "@rx evil" "id:1,phase:2,pass,log"
SecRule ARGS|REQUEST_HEADERS:User-Agent "@rx nothing-like-this" "id:2,phase:2,pass,log"
SecRule REQUEST_HEADERS "@rx evil" "id:3,phase:2,pass,log,t:urlDecodeUni"
SecRule REQUEST_HEADERS "@rx nothing-like-this" "id:4,phase:2,pass,log,t:urlDecodeUni"
"#,
    );
    assert_eq!(gated.gate_plan().ungated, vec![], "every rule is gated");
    assert_eq!(gated.gate_plan().groups.len(), 2);
    let plain = per_rule(&gated);
    let long = |word: &str| {
        format!("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) {word} Chrome/124.0")
    };
    for (agent, want) in [(long("evil"), vec![1, 3]), (long("fine"), vec![])] {
        let headers: &[(&[u8], &[u8])] = &[(b"User-Agent", agent.as_bytes())];
        for e in [&gated, &plain] {
            assert_eq!(ids(&request(e, b"/", headers, None)), want, "{agent}");
        }
    }
}

#[test]
fn a_value_one_reader_changes_reaches_each_reader_as_its_chain_leaves_it() {
    // Three groups of one set read ARGS: the sweep skips their chains for a
    // value none of their steps changes, and must not for a value one step
    // changes (`EVIL`, `EV IL` for the first chain, `a%20b` for
    // `t:urlDecodeUni`).
    let gated = engine(
        r#"
SecRule ARGS "@rx evil" "id:1,phase:2,pass,log,t:none,t:lowercase,t:removeWhitespace"
SecRule ARGS "@rx a b" "id:2,phase:2,pass,log,t:none,t:urlDecodeUni"
SecRule ARGS "@rx EVIL|a%20b" "id:3,phase:2,pass,log,t:none"
"#,
    );
    assert_eq!(gated.gate_plan().ungated, vec![], "every rule is gated");
    assert_eq!(gated.gate_plan().groups.len(), 3);
    let cases: [(&str, &[u32]); 6] = [
        ("/?q=EVIL", &[1, 3]),
        ("/?q=EV+IL", &[1]),
        ("/?q=evil", &[1]),
        ("/?q=a%2520b", &[2, 3]),
        ("/?q=a%20b", &[2]),
        ("/?q=fine", &[]),
    ];
    let plain = per_rule(&gated);
    for (uri, want) in cases {
        for e in [&gated, &plain] {
            assert_eq!(ids(&run(e, uri, None)), want.to_vec(), "{uri}");
        }
    }
}

#[test]
fn a_sweep_leaves_lowercase_out_only_where_the_result_is_the_same() {
    // Rule 1's pattern has no letters: where `t:urlDecodeUni` finds
    // nothing to decode, the sweep reads the value as it is instead of a
    // lower-cased copy. Rule 2's has letters: always the lower-cased copy.
    // Rule 3's steps commute with `t:lowercase`: swept before it, on a
    // rewritten pattern. Rule 4 sweeps rule 2's chain (its final
    // `t:lowercase` left to a rewritten pattern, which has no case) and may
    // leave the first step out: their readers must stay apart.
    let gated = engine(
        r#"
SecRule ARGS "@rx <[^>]*>" "id:1,phase:2,pass,log,t:none,t:lowercase,t:urlDecodeUni"
SecRule ARGS "@rx <[^>]*>" "id:4,phase:2,pass,log,t:none,t:lowercase,t:htmlEntityDecode,t:lowercase"
SecRule ARGS "@rx <b>" "id:2,phase:2,pass,log,t:none,t:lowercase,t:htmlEntityDecode"
SecRule ARGS "@rx <b" "id:3,phase:2,pass,log,t:none,t:lowercase,t:removeNulls"
"#,
    );
    let plan = gated.gate_plan();
    assert_eq!(plan.ungated, vec![], "every rule is gated");
    let at: Vec<Option<usize>> = plan.groups.iter().map(|g| g.lowercase_at).collect();
    assert_eq!(at, vec![Some(0), Some(0), None, None]);
    assert_eq!(
        plan.groups[1].sweep_transforms,
        plan.groups[2].sweep_transforms
    );
    assert_eq!(plan.groups[3].sweep_transforms.len(), 1);
    let cases: [(&str, &[u32]); 6] = [
        ("/?q=<B>", &[1, 4, 2, 3]),
        ("/?q=<B%00>", &[1, 4, 3]),
        ("/?q=%253CB%253E", &[1]),
        ("/?q=%26lt;B%3E", &[4, 2]),
        ("/?q=%3C%2541", &[]),
        ("/?q=fine", &[]),
    ];
    let plain = per_rule(&gated);
    for (uri, want) in cases {
        for e in [&gated, &plain] {
            assert_eq!(ids(&run(e, uri, None)), want.to_vec(), "{uri}");
        }
    }
}

#[test]
fn a_pattern_s_required_literals_decide_only_where_they_are_missing() {
    // Every match of these patterns holds `process.env`, `eval` or `..`:
    // a value without them is a miss (a hit for the negated rule) without
    // the pattern's own automaton. A literal that only a step spells must
    // still be found (`multiMatch` checks each step's result), in any case.
    let e = engine(
        r#"
SecRule ARGS "@rx process\.env\b" "id:1,phase:2,pass,log,t:none,t:base64Decode,multiMatch"
SecRule ARGS "@rx (?i)\beval\(" "id:2,phase:2,pass,log,t:none,t:urlDecodeUni,multiMatch"
SecRule ARGS "!@rx (?:^|/)\.{2}/" "id:3,phase:2,pass,log,t:none"
"#,
    );
    let cases: [(&str, &[u32]); 6] = [
        // base64 of `process.env`
        ("/?q=cHJvY2Vzcy5lbnY=", &[1, 3]),
        ("/?q=process.env", &[1, 3]),
        ("/?q=process.environ", &[3]),
        ("/?q=EVAL%2528x)", &[2, 3]),
        ("/?q=../etc", &[]),
        ("/?q=fine", &[3]),
    ];
    for (uri, want) in cases {
        assert_eq!(ids(&run(&e, uri, None)), want.to_vec(), "{uri}");
    }
}

#[test]
fn a_multi_match_link_stops_where_no_later_step_can_give_its_pattern_a_match() {
    // Every match of `\.\./` holds a dot, and `t:cmdLine` and
    // `t:lowercase` add no byte to a value: a value without a dot after
    // the decoder is not taken through them. A dot the decoder makes, and
    // a `..` that `t:cmdLine` makes by deleting a quote, are still found,
    // on short values and on long ones (steps through the cache). The
    // negated rule takes every step.
    let gated = engine(
        r#"
SecRule ARGS "@rx \.\./" "id:1,phase:2,pass,log,multiMatch,t:none,t:urlDecodeUni,t:cmdLine,t:lowercase"
SecRule ARGS "!@rx \.\./" "id:2,phase:2,pass,log,multiMatch,t:none,t:urlDecodeUni,t:cmdLine"
SecRule ARGS "@rx (?i)xyz" "id:3,phase:2,pass,log,multiMatch,t:none,t:urlDecodeUni,t:lowercase"
"#,
    );
    let plain = per_rule(&gated);
    // A letter stands for both its cases: `XYZ` (decoded) matches, and so
    // does its lower-cased copy, each logged.
    let found = ids(&run(&gated, "/?q=X%2559Z", None));
    assert_eq!(found.iter().filter(|&&id| id == 3).count(), 2, "{found:?}");
    let filler = "Lorem+ipsum+dolor+sit+amet+".repeat(12);
    // Whether rule 1 matches (each matching step result logs once).
    let cases: [(String, bool); 7] = [
        // `%2e%2e/` once the query is decoded: the dots come from the step.
        ("/?q=%252e%252e/etc".into(), true),
        // `."./`: `t:cmdLine` deletes the quote.
        ("/?q=.%22./etc".into(), true),
        ("/?q=A%22B/C".into(), false),
        ("/?q=fine".into(), false),
        (format!("/?q={filler}.%22./x"), true),
        (format!("/?q={filler}%252e%252e/x"), true),
        (format!("/?q={filler}no+dot+here/x"), false),
    ];
    for (uri, matches) in &cases {
        let found = ids(&run(&gated, uri, None));
        assert_eq!(found, ids(&run(&plain, uri, None)), "{uri}");
        assert_eq!(found.contains(&1), *matches, "{uri}: {found:?}");
        assert!(found.contains(&2), "{uri}: {found:?}");
    }
}

#[test]
fn tx_comparisons_find_members_that_moved_or_appeared() {
    // The shortcuts keep where each TX member they read is until a member
    // is added or removed: a removal moves `b`, and `a` comes back.
    let gated = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.b=2"
SecRule TX:b "@eq 2" "id:2,phase:1,pass,log"
SecAction "id:3,phase:1,pass,nolog,setvar:!tx.a"
SecRule TX:b "@eq 2" "id:4,phase:1,pass,log"
SecRule &TX:a "@eq 0" "id:5,phase:1,pass,log"
SecAction "id:6,phase:1,pass,nolog,setvar:tx.a=5"
SecRule TX:a "@eq 5" "id:7,phase:1,pass,log"
SecRule TX:b "@lt %{tx.a}" "id:8,phase:1,pass,log"
"#,
    );
    assert_modes_agree(&gated, &["/", "/?x=1"]);
    for _ in 0..3 {
        assert_eq!(ids(&run(&gated, "/", None)), vec![2, 4, 5, 7, 8]);
    }
}

#[test]
fn tx_comparison_shortcuts_and_full_evaluation_agree() {
    // The engine decides TX comparisons from a side table without
    // evaluating the rule (`shortcut.rs`); a flow-only match just moves the
    // rule pointer. Each case here must come out as the full evaluation
    // (per-rule mode, which has no shortcuts) says.
    let gated = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.level=1,setvar:tx.th=5"
SecRule &TX:missing "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.missing=7"
SecRule TX:missing "@eq 7" "id:3,phase:1,pass,log"
SecRule ARGS:s "@rx ^[0-9]+$" "id:4,phase:1,pass,nolog,setvar:tx.score=%{MATCHED_VAR}"
SecRule TX:score "@ge %{tx.th}" "id:5,phase:1,pass,log"
SecRule TX:absent "!@eq 1" "id:6,phase:1,pass,log"
SecRule TX:level "!@ge 2" "id:7,phase:1,pass,log"
SecRule TX:LEVEL "@lt 2" "id:8,phase:1,pass,nolog,skipAfter:END-A"
SecRule ARGS "@rx ." "id:9,phase:1,pass,log"
SecMarker END-A
SecRule TX:level "@eq 1" "id:10,phase:1,pass,nolog,skip:1"
SecRule ARGS "@rx ." "id:11,phase:1,pass,log"
SecRule ARGS:rm "@streq 1" "id:12,phase:1,pass,nolog,ctl:ruleRemoveTargetById=13;TX:level"
SecRule TX:level "@eq 1" "id:13,phase:1,pass,nolog,skipAfter:END-B"
SecRule ARGS "@rx ." "id:14,phase:1,pass,log"
SecMarker END-B
SecRule TX:level "@eq 1" "id:15,phase:1,pass,log"
SecRule &TX:fresh "@eq 0" "id:16,phase:1,pass,nolog,setvar:'tx.seen=%{MATCHED_VAR_NAME}=%{MATCHED_VAR}',skipAfter:END-C"
SecRule ARGS "@rx ." "id:17,phase:1,pass,log"
SecMarker END-C
SecRule TX:seen "@streq &TX:fresh=0" "id:18,phase:1,pass,log"
SecRule TX:level "@eq 1" "id:19,phase:1,pass,nolog,setvar:'tx.seen=%{MATCHED_VAR_NAME}=%{MATCHED_VAR}'"
SecRule TX:seen "@streq TX:level=1" "id:20,phase:1,pass,log"
SecRule TX:level "@eq 1" "id:21,phase:1,pass,nolog,setvar:tx.sum=+%{tx.th},setvar:tx.sum=+%{tx.level}"
SecRule TX:sum "@eq 6" "id:22,phase:1,pass,log"
"#,
    );
    assert_modes_agree(
        &gated,
        &["/", "/?s=4", "/?s=5", "/?s=x9", "/?rm=1", "/?rm=0&s=12"],
    );
    // What that common answer is: 9, 11 and 17 skipped, 6 never (an absent
    // member gives a negated operator nothing to match), 14 only when the
    // removal left rule 13 nothing to match; a match that runs `setvar`
    // sees the matched variable (18, 20).
    assert_eq!(
        ids(&run(&gated, "/?s=5", None)),
        vec![3, 5, 7, 15, 18, 20, 22]
    );
    assert_eq!(
        ids(&run(&gated, "/?rm=1", None)),
        vec![3, 7, 14, 15, 18, 20, 22]
    );
}

#[test]
fn engines_on_one_thread_share_no_gate_answers() {
    // A finished transaction leaves its emptied tables to the next one on
    // its thread (`transaction/spare.rs`), whatever its engine: nothing of
    // one engine's pattern sets may carry over to another's.
    let small = engine(
        r#"
SecRule ARGS "@rx aaa" "id:1,phase:2,pass,log,t:lowercase"
SecRule ARGS "@rx bbb" "id:2,phase:2,pass,log,t:lowercase"
"#,
    );
    let mut rules = String::new();
    for i in 0..40 {
        rules.push_str(&format!(
            "SecRule ARGS \"@rx w{i}x\" \"id:{},phase:2,pass,log,t:lowercase\"\n",
            100 + i
        ));
    }
    let big = engine(&rules);
    assert!(!big.gate_plan().groups.is_empty() && !small.gate_plan().groups.is_empty());
    // The small engine's tables first: a set of two patterns.
    for _ in 0..3 {
        assert_eq!(ids(&run(&small, "/?q=bbb", None)), vec![2]);
        assert_eq!(ids(&run(&big, "/?q=W39X", None)), vec![139]);
        assert!(ids(&run(&small, "/?q=w39x", None)).is_empty());
        assert_eq!(ids(&run(&big, "/?q=w1x&r=w39x", None)), vec![101, 139]);
    }
}

#[test]
fn a_thread_remembers_sweep_answers_for_its_engine_only() {
    // A thread remembers what its sweeps found in short values
    // (`transaction/value_memo.rs`). Two engines whose one set holds
    // different patterns at the same places: an answer of one must never
    // be taken by the other, neither a miss (`ccc` for the first engine)
    // nor a hit (`aaa` hits the first engine's first pattern and the
    // second engine's second one).
    let first = engine(
        r#"
SecRule ARGS "@rx aaa" "id:1,phase:2,pass,log,t:lowercase"
SecRule ARGS "@rx bbb" "id:2,phase:2,pass,log,t:lowercase"
"#,
    );
    let second = engine(
        r#"
SecRule ARGS "@rx ccc" "id:3,phase:2,pass,log,t:lowercase"
SecRule ARGS "@rx aaa" "id:4,phase:2,pass,log,t:lowercase"
"#,
    );
    for e in [&first, &second] {
        assert_eq!(e.gate_plan().ungated, vec![], "every rule is gated");
        assert_eq!(e.gate_plan().sets.len(), 1);
    }
    // Each value three times in a row on one engine: the first time marks
    // it, the second keeps its answers, the third takes them.
    for _ in 0..2 {
        for _ in 0..3 {
            assert_eq!(ids(&run(&first, "/?q=AAA&r=ccc", None)), vec![1]);
        }
        for _ in 0..3 {
            assert_eq!(ids(&run(&second, "/?q=AAA&r=ccc", None)), vec![3, 4]);
        }
        for _ in 0..3 {
            assert_eq!(ids(&run(&first, "/?q=bbb", None)), vec![2]);
            assert!(ids(&run(&first, "/?q=ccc", None)).is_empty());
        }
        for _ in 0..3 {
            assert_eq!(ids(&run(&second, "/?q=ccc", None)), vec![3]);
            assert!(ids(&run(&second, "/?q=bbb", None)).is_empty());
        }
    }
    // Without the memory, the same answers.
    let forgetful = Engine::with_config(
        Arc::clone(second.rules()),
        rasp_core::EngineConfig::new().value_memory(0),
    );
    for _ in 0..3 {
        assert_eq!(ids(&run(&forgetful, "/?q=AAA&r=ccc", None)), vec![3, 4]);
    }
}

#[test]
fn a_thread_remembers_rule_misses_per_engine_rule_and_value() {
    // A thread also remembers which values a rule found nothing in, for
    // rules whose answer depends on the value alone (here `@contains`,
    // which no gate answers): never for another engine whose rule at the
    // same place differs, nor for another rule, and never a hit.
    let first = engine(
        r#"
SecRule ARGS "@contains aaa" "id:1,phase:2,pass,log,t:lowercase"
SecRule ARGS "@contains bbb" "id:2,phase:2,pass,log,t:lowercase,t:urlDecodeUni"
"#,
    );
    let second = engine(
        r#"
SecRule ARGS "@contains ccc" "id:3,phase:2,pass,log,t:lowercase"
SecRule ARGS "@contains aaa" "id:4,phase:2,pass,log,t:lowercase,t:urlDecodeUni"
"#,
    );
    for e in [&first, &second] {
        assert!(e.gate_plan().groups.is_empty(), "no rule is gated");
    }
    for _ in 0..2 {
        for _ in 0..3 {
            assert_eq!(ids(&run(&first, "/?q=AAA&r=ccc", None)), vec![1]);
            assert_eq!(ids(&run(&first, "/?q=bbb", None)), vec![2]);
        }
        for _ in 0..3 {
            assert_eq!(ids(&run(&second, "/?q=AAA&r=ccc", None)), vec![3, 4]);
            assert!(ids(&run(&second, "/?q=bbb", None)).is_empty());
        }
    }
    // A rule whose argument is built from the transaction is asked anew.
    let macros = engine(
        r#"
SecRule REQUEST_HEADERS:X-Word "@rx ^(.*)$" "id:1,phase:1,pass,nolog,capture,setvar:tx.word=%{tx.1}"
SecRule ARGS "@contains %{tx.word}" "id:2,phase:2,pass,log"
SecRule ARGS "@rx %{tx.word}$" "id:3,phase:2,pass,log"
"#,
    );
    for (word, want) in [
        ("foo", vec![]),
        ("foo", vec![]),
        ("foo", vec![]),
        ("bar", vec![2, 3]),
        ("foo", vec![]),
        ("bar", vec![2, 3]),
    ] {
        let headers: &[(&[u8], &[u8])] = &[(b"X-Word", word.as_bytes())];
        assert_eq!(
            ids(&request(&macros, b"/?q=bar", headers, None)),
            want,
            "{word}"
        );
    }
}

#[test]
fn remembered_answers_follow_the_bytes_not_the_address() {
    // The memo finds a value that stays put by its address, once a phase,
    // and where it found the value at an address before by comparing the
    // bytes (`value_memo::ValueMemo::find`). Exchanges one after the other
    // put other bytes of the same length at the same addresses: each must
    // get its own answers, never those of the bytes that lay there last,
    // for a gate's sweep (1, 4), a rule's remembered misses (2, 3), and a
    // value asked about in phase 1 and again in phase 2 (3, 4).
    let e = engine(
        r#"
SecRule ARGS "@rx aaa" "id:1,phase:2,pass,log"
SecRule ARGS "@contains bbb" "id:2,phase:2,pass,log"
SecRule REQUEST_HEADERS:X-Word "@contains ccc" "id:3,phase:1,pass,log"
SecRule REQUEST_HEADERS:X-Word "@rx ddd" "id:4,phase:2,pass,log"
"#,
    );
    let cases: [(&[u8], &[u8], Vec<u32>); 5] = [
        (b"/?q=xxx1", b"xxx1", vec![]),
        (b"/?q=aaa1", b"ccc1", vec![3, 1]),
        (b"/?q=xxx1", b"xxx1", vec![]),
        (b"/?q=bbb1", b"ddd1", vec![2, 4]),
        (b"/?q=bbb1", b"cccd", vec![3, 2]),
    ];
    for round in 0..8 {
        for (uri, word, want) in &cases {
            let headers: &[(&[u8], &[u8])] = &[(b"X-Word", word)];
            assert_eq!(
                ids(&request(&e, uri, headers, None)),
                *want,
                "round {round}: {} with {}",
                String::from_utf8_lossy(uri),
                String::from_utf8_lossy(word)
            );
        }
    }
}

#[test]
fn arguments_and_cookies_in_reused_buffers_hold_only_their_own_bytes() {
    // A finished exchange's arguments and cookies hand their buffers to
    // the next exchange's (`transaction/spare.rs`): longer values before
    // shorter ones, a cookie before none, a JSON body before a form.
    let e = engine(
        r#"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" "id:10,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule ARGS|ARGS_NAMES "@rx long|secret|json" "id:1,phase:2,pass,log"
SecRule REQUEST_COOKIES|REQUEST_COOKIES_NAMES "@rx ." "id:2,phase:1,pass,log"
SecRule ARGS:a "@rx ^1$" "id:3,phase:2,pass,log"
SecRule ARGS:b "@rx ^2$" "id:4,phase:2,pass,log"
"#,
    );
    let json: &[(&[u8], &[u8])] = &[(b"Content-Type", b"application/json")];
    let form: &[(&[u8], &[u8])] = &[(b"Content-Type", b"application/x-www-form-urlencoded")];
    let cookie: &[(&[u8], &[u8])] = &[(b"Cookie", b"session=secret-cookie-value")];
    for _ in 0..3 {
        assert_eq!(
            ids(&request(
                &e,
                b"/?a=longvalue123&b=longer-still",
                cookie,
                None
            )),
            vec![2, 2, 1, 1]
        );
        assert_eq!(ids(&request(&e, b"/?a=1&b=2", &[], None)), vec![3, 4]);
        assert_eq!(
            ids(&request(
                &e,
                b"/",
                json,
                Some(br#"{"json_key":"long json value","a":"x"}"#)
            )),
            vec![1, 1]
        );
        assert_eq!(ids(&request(&e, b"/", form, Some(b"a=1&b=2"))), vec![3, 4]);
    }
}

#[test]
fn exchanges_on_one_thread_share_no_variables_or_captures() {
    // TX members reuse the buffers of the previous exchange's members, and
    // captures and expanded setvar operands go through reused buffers
    // (`transaction/spare.rs`): none of their contents may carry over.
    let e = engine(
        r#"
SecRule ARGS:set "@rx ^(\w+)-(\w+)$" "id:1,phase:2,pass,nolog,capture,setvar:'tx.first=%{tx.1}',setvar:'tx.key_%{tx.2}=%{tx.0}'"
SecRule TX:first "@rx ^long" "id:2,phase:2,pass,log,msg:'first %{tx.first}'"
SecRule TX:/^key_/ "@rx ." "id:3,phase:2,pass,log,logdata:'%{matched_var_name}=%{matched_var}'"
SecRule &TX:first "@eq 0" "id:4,phase:2,pass,log"
SecRule TX:1 "@rx ." "id:5,phase:2,pass,log"
"#,
    );
    for _ in 0..3 {
        let first = run(&e, "/?set=longer_value_here-abc", None);
        assert_eq!(ids(&first), vec![2, 3, 5]);
        let logged: Vec<_> = first
            .matches()
            .iter()
            .map(|m| (m.id, m.msg.clone(), m.data.clone()))
            .collect();
        assert_eq!(logged[0].1.as_deref(), Some("first longer_value_here"));
        assert_eq!(
            logged[1].2.as_deref(),
            Some("TX:key_abc=longer_value_here-abc")
        );
        drop(first);
        // Nothing set this time: no member and no capture of the exchange
        // before is visible.
        let second = run(&e, "/?other=1", None);
        assert_eq!(ids(&second), vec![4]);
        drop(second);
        let third = run(&e, "/?set=x-y", None);
        assert_eq!(ids(&third), vec![3, 5]);
        assert_eq!(
            third
                .matches()
                .iter()
                .find(|m| m.id == 3)
                .and_then(|m| m.data.clone())
                .as_deref(),
            Some("TX:key_y=x-y")
        );
    }
}

#[test]
fn multi_match_on_long_values_agrees_with_full_evaluation() {
    // On long values a `multiMatch` link takes its steps through the
    // transformation cache and reads the answer of its set where another
    // chain's scan covered the same bytes (here `t:lowercase` and
    // `t:lowercase,t:removeWhitespace`); `t:normalizePath` reports its
    // changes itself. Matches on intermediate results must stay the same.
    let gated = engine(
        r#"
SecRule ARGS "@rx evil" "id:1,phase:2,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx zzz" "id:3,phase:2,pass,log,t:none,t:lowercase,t:removeWhitespace"
SecRule ARGS "@rx evilpayload|^a/b$" "id:2,phase:2,pass,log,multiMatch,t:none,t:lowercase,t:removeWhitespace,t:normalizePath"
SecRule ARGS "@rx evilpayload" "id:4,phase:2,pass,log,multiMatch,t:none,t:removeNulls,t:lowercase"
"#,
    );
    let plain = per_rule(&gated);
    let filler = "Lorem+ipsum+dolor+sit+amet+".repeat(12);
    let bodies = [
        format!("q={filler}E+v+I+l+P+a+y+L+o+A+d"),
        format!("q={filler}evilpayload"),
        format!("q={filler}EVIL"),
        format!("q={filler}nothing+here"),
        "q=E+v+I+l+P+a+y+L+o+A+d".to_string(),
        format!("q={}./a/./b&r={filler}", " ".repeat(300).replace(' ', "+")),
        // Long step results no other chain scans: the set scans them.
        format!("q={filler}evil%00payload"),
        format!("q={filler}EVIL%00PAYLOAD"),
    ];
    for body in &bodies {
        assert_eq!(
            ids(&run(&gated, "/", Some(body))),
            ids(&run(&plain, "/", Some(body))),
            "{body}"
        );
    }
    // Found after removeWhitespace only (lowercase alone leaves spaces).
    assert!(ids(&run(&gated, "/", Some(&bodies[0]))).contains(&2));
    assert!(!ids(&run(&gated, "/", Some(&bodies[3]))).contains(&2));
    // Found after removeNulls, and after removeNulls and lowercase.
    assert!(ids(&run(&gated, "/", Some(&bodies[6]))).contains(&4));
    assert!(ids(&run(&gated, "/", Some(&bodies[7]))).contains(&4));
}

#[test]
fn long_copies_ruled_out_by_literals_agree_with_full_evaluation() {
    // A long copy only few patterns read (here the `t:removeWhitespace`
    // one, read by rule 1 alone) is not walked when none of their literals
    // is in it; the set's other patterns asking about those bytes later
    // (the `multiMatch` rule 4 after the same step) still get their own
    // answer. The untransformed copy is read by rule 3, which has no
    // literals: it is always walked.
    let gated = engine(
        r#"
SecRule ARGS "@rx needle[0-9]" "id:1,phase:2,pass,log,t:none,t:removeWhitespace"
SecRule ARGS "@rx (?i)rawmark" "id:2,phase:2,pass,log,t:none"
SecRule ARGS "@rx [0-9]{5}" "id:3,phase:2,pass,log,t:none"
SecRule ARGS "@rx zq[0-9]" "id:4,phase:2,pass,log,multiMatch,t:none,t:removeWhitespace"
"#,
    );
    let plain = per_rule(&gated);
    let filler = "Lorem+ipsum+dolor+sit+amet+".repeat(12);
    let bodies = [
        format!("q={filler}"),
        // The literal is in the copy only.
        format!("q={filler}need+le7"),
        format!("q={filler}needle"),
        format!("q={filler}z+q5"),
        format!("q={filler}RawMark+12345"),
        // Rule 2's literal is not there, rule 3 still reads the copy.
        format!("q={filler}12345"),
        format!("q={filler}&r={filler}needle1+zq2"),
    ];
    // `multiMatch` matches the untransformed value and its copy.
    let expected: [&[u32]; 7] = [&[], &[1], &[], &[4], &[2, 3], &[3], &[1, 4, 4]];
    for (body, expected) in bodies.iter().zip(expected) {
        let found = ids(&run(&gated, "/", Some(body)));
        assert_eq!(found, ids(&run(&plain, "/", Some(body))), "{body}");
        assert_eq!(found, expected, "{body}");
    }
}

#[test]
fn gated_chain_links_agree_with_full_evaluation() {
    // Chain links join the gate groups too: their set answers per value
    // from the phase's scans (a negated link matches where it misses).
    let gated = engine(
        r#"
SecRule ARGS "@rx attack" "id:1,phase:2,pass,log,t:none,t:lowercase"
SecRule REQUEST_METHOD "@rx ^GET$" "id:2,phase:2,pass,log,chain"
    SecRule ARGS "@rx evil" "t:none,t:lowercase"
SecRule REQUEST_METHOD "@rx ^GET$" "id:3,phase:2,pass,log,chain"
    SecRule ARGS "!@rx fine" "t:none,t:lowercase"
"#,
    );
    assert!(
        gated
            .gate_plan()
            .groups
            .iter()
            .any(|g| g.members.len() >= 3),
        "the chain links share the head rule's group"
    );
    assert_modes_agree(
        &gated,
        &[
            "/?a=EVIL",
            "/?a=fine",
            "/?a=fine&b=Evil",
            "/?a=attack",
            "/?a=x",
        ],
    );
    assert_eq!(ids(&run(&gated, "/?a=EVIL", None)), vec![2, 3]);
    assert!(ids(&run(&gated, "/?a=fine", None)).is_empty());
}

#[test]
fn engine_is_send_and_sync_and_transaction_is_send() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Engine>();
    send::<Transaction>();
}

#[test]
fn operator_errors_fail_closed_by_default_and_open_when_asked() {
    // The pattern comes from the request: `(` does not compile.
    let rules = r#"SecRule ARGS:q "@rx %{ARGS.p}" "id:1,phase:1,pass,log""#;
    let closed = engine(rules);
    let tx = run(&closed, "/?q=x&p=(", None);
    let i = tx.intervention().expect("fail closed");
    assert_eq!(
        (i.status, i.kind.clone()),
        (500, rasp_core::InterventionKind::EngineError)
    );
    assert_eq!(tx.errors().len(), 1);
    assert_eq!(tx.audit_record().errors.len(), 1);
    // A pattern that compiles is evaluated as usual.
    assert_eq!(ids(&run(&closed, "/?q=abc&p=b", None)), vec![1]);

    let compiled = crs_compiler::Compiler::new()
        .add_str("r.conf", rules)
        .compile()
        .expect("compiles");
    let open = Engine::with_config(
        Arc::new(compiled),
        EngineConfig::new().fail_mode(rasp_core::FailMode::Open),
    );
    let tx = run(&open, "/?q=x&p=(", None);
    assert!(tx.intervention().is_none());
    assert_eq!(tx.errors().len(), 1);
}

#[test]
fn rules_the_probes_never_reach_are_ungated_but_still_evaluated() {
    // The built-in probes send no X-Deep header, so rules 2 and 3 are never
    // reached while the engine plans its gates; 5 and 6 are.
    let e = engine(
        "SecRule &REQUEST_HEADERS:X-Deep \"@eq 0\" \"id:1,phase:2,pass,nolog,skipAfter:END\"\n\
         SecRule ARGS \"@rx attack\" \"id:2,phase:2,deny,log\"\n\
         SecRule ARGS \"@rx evil\" \"id:3,phase:2,deny,log\"\n\
         SecMarker END\n\
         SecRule ARGS \"@rx intrusion\" \"id:5,phase:2,deny,log\"\n\
         SecRule ARGS \"@rx exploit\" \"id:6,phase:2,deny,log\"\n",
    );
    let link = |id: u32| e.rules().rule(id).unwrap().link_index;
    for id in [2, 3, 5, 6] {
        assert!(
            e.rules().gates[link(id)].is_some(),
            "rule {id} gated by the compiler"
        );
    }
    let plan = e.gate_plan();
    assert!(plan.gates[link(2)].is_none() && plan.gates[link(3)].is_none());
    assert!(plan.gates[link(5)].is_some() && plan.gates[link(6)].is_some());
    // Reached by a request, the ungated rules still decide.
    let tx = request(&e, b"/?q=attack", &[(b"X-Deep", b"1")], None);
    assert_eq!(tx.intervention().map(|i| i.rule_id), Some(Some(2)));
    let tx = request(&e, b"/?q=attack", &[], None);
    assert!(tx.intervention().is_none());
    let tx = request(&e, b"/?q=exploit", &[], None);
    assert_eq!(tx.intervention().map(|i| i.rule_id), Some(Some(6)));
}

#[test]
fn negated_rules_are_decided_by_their_gate_scan() {
    let rules = "SecRule ARGS \"!@rx ^[a-z]+$\" \"id:10,phase:2,deny,log\"\n\
                 SecRule ARGS \"!@pm alpha beta\" \"id:11,phase:2,pass,log\"\n\
                 SecRule ARGS \"@rx evil\" \"id:12,phase:2,deny,log\"\n";
    let gated = engine(rules);
    for id in [10, 11, 12] {
        let link = gated.rules().rule(id).unwrap().link_index;
        assert!(gated.gate_plan().gates[link].is_some(), "rule {id} gated");
    }
    let per_rule = per_rule(&gated);
    for uri in [
        "/?a=abc",
        "/?a=ABC1",
        "/?a=alpha",
        "/?a=x&b=beta",
        "/?a=evil",
        "/?a=",
    ] {
        let g = run(&gated, uri, None);
        let p = run(&per_rule, uri, None);
        assert_eq!(ids(&g), ids(&p), "{uri}");
        assert_eq!(
            g.intervention().map(|i| i.rule_id),
            p.intervention().map(|i| i.rule_id),
            "{uri}"
        );
    }
    assert_eq!(ids(&run(&gated, "/?a=abc", None)), vec![11]);
    assert_eq!(ids(&run(&gated, "/?a=ABC1", None)), vec![10]);
    assert!(ids(&run(&gated, "/?a=alpha", None)).is_empty());
}

#[test]
fn values_the_gates_cannot_answer_for_are_decided_by_each_members_operator() {
    // With no time to build lazy-DFA states, no gate answers: every value
    // is a "maybe" for the rules of the set, and each rule's own operator
    // decides. A negated rule must then match where its pattern misses, a
    // positive one only where its own pattern hits.
    let rules = "SecRule ARGS \"!@rx ^[a-z]+$\" \"id:10,phase:2,pass,log\"\n\
                 SecRule ARGS \"!@pm alpha beta\" \"id:11,phase:2,pass,log\"\n\
                 SecRule ARGS \"@rx evil\" \"id:12,phase:2,pass,log\"\n\
                 SecRule ARGS \"@rx wicked\" \"id:13,phase:2,pass,log\"\n";
    let gated = engine(rules);
    let sets: Vec<_> = [10, 11, 12, 13]
        .map(|id| {
            let link = gated.rules().rule(id).unwrap().link_index;
            gated.gate_plan().gates[link].expect("gated").set
        })
        .into();
    assert!(sets.windows(2).all(|w| w[0] == w[1]), "one set: {sets:?}");
    // Rules of its own, so that no other engine's searches fill its sets'
    // caches.
    let unbuilt = Engine::with_config(
        Arc::clone(engine(rules).rules()),
        EngineConfig::new().gate_build_time(Duration::ZERO),
    );
    assert_eq!(unbuilt.gate_plan().sets.len(), gated.gate_plan().sets.len());
    // And no bound at all is a valid setting too.
    let unbounded = Engine::with_config(
        Arc::clone(gated.rules()),
        EngineConfig::new().gate_build_time(Duration::MAX),
    );
    let per_rule = per_rule(&gated);
    let pad = "a".repeat(300);
    let cases = [
        (format!("/?a={pad}evil1"), vec![10, 11, 12]),
        (format!("/?a={pad}evil"), vec![11, 12]),
        (format!("/?a={pad}alphaevil"), vec![12]),
        (format!("/?a={pad}&b={pad}beta1"), vec![10, 11]),
        (format!("/?a={pad}"), vec![11]),
        ("/?a=wicked&b=alpha".to_string(), vec![11, 13]),
        ("/?a=abc".to_string(), vec![11]),
    ];
    for (uri, want) in &cases {
        for e in [&gated, &unbuilt, &unbounded, &per_rule] {
            assert_eq!(&ids(&run(e, uri, None)), want, "{uri}");
        }
    }
}

#[test]
fn match_text_names_the_variable_where_v2_does() {
    // v2: "Invalid UTF-8 encoding: <what> at <var>. [offset "<n>"]".
    let e = engine(r#"SecRule ARGS "@validateUtf8Encoding" "id:1,phase:1,pass,log""#);
    let tx = run(&e, "/?a=ok&b=x%C0%AF", None);
    assert_eq!(ids(&tx), vec![1]);
    assert_eq!(
        tx.matches()[0].match_text,
        "Invalid UTF-8 encoding: overlong character detected at ARGS:b. [offset \"1\"]"
    );
    let e = engine(r#"SecRule ARGS "@rx a+" "id:2,phase:1,pass,log""#);
    let tx = run(&e, "/?q=baa", None);
    assert_eq!(
        tx.matches()[0].match_text,
        "Pattern match \"a+\" at ARGS:q."
    );
}

#[test]
fn multi_match_checks_the_value_and_every_changed_result_with_gates_on_and_off() {
    // v2: with multiMatch the operator runs on the untransformed value and
    // after every transformation that reports a change. The gated engine
    // reads the set's scan for the untransformed value only.
    // Rule 4 comes first, so the set's sweep has run when the multiMatch
    // rules ask (the sweep leaves them out, and must not answer for them).
    let rules = r#"
SecRule ARGS "@rx zzz" "id:4,phase:2,pass,log,t:none,t:lowercase"
SecRule ARGS "@rx ABC" "id:1,phase:2,pass,log,t:none,t:lowercase,multiMatch"
SecRule ARGS "@rx abc" "id:2,phase:2,pass,log,t:none,t:lowercase,multiMatch"
SecRule ARGS "!@rx ^[a-z]+$" "id:3,phase:2,pass,log,t:none,t:lowercase,multiMatch"
"#;
    let gated = engine(rules);
    assert!(gated
        .gate_plan()
        .groups
        .iter()
        .any(|g| g.multi_match && g.member_ids.contains(&1)));
    let per_rule = per_rule(&gated);
    for (uri, expected) in [
        // Raw "ABC" matches 1 and 3 (not all lower case); its lower-cased
        // form matches 2.
        ("/?q=ABC", vec![1, 2, 3]),
        // Nothing changes: only the raw value is checked.
        ("/?q=abc", vec![2]),
        ("/?q=xyz", vec![]),
        ("/?q=XyZ", vec![3]),
    ] {
        for e in [&gated, &per_rule] {
            let tx = run(e, uri, None);
            assert_eq!(ids(&tx), expected, "{uri}");
        }
    }
}

#[test]
fn contains_after_per_byte_steps_answers_as_on_the_transformed_copy() {
    // Rule 1's chain maps or drops each byte on its own: the engine looks
    // for the needle on the original bytes first. Rule 2 ends in `t:trim`,
    // which changes nothing here but is not per-byte: it searches the
    // transformed copy. Both must match the same values, and record the
    // same transformed value.
    let e = engine(
        r#"
SecRule ARGS "@contains <title>shell</title>" "id:1,phase:2,pass,log,capture,t:none,t:removeWhitespace,t:lowercase"
SecRule ARGS "@contains <title>shell</title>" "id:2,phase:2,pass,log,capture,t:none,t:removeWhitespace,t:lowercase,t:trim"
"#,
    );
    for (arg, hit) in [
        ("%3C%20TITLE%20%3ESh%20eLL%3C/ti%20tle%3E", true),
        ("x%3Ctitle%3Eshell%3C/title%3Ey", true),
        ("%3C%3C%3Ctitle%3Eshel%20l%3C%09/title%3E", true),
        ("%3Ctitle%3Eshel%3C/title%3E", false),
        ("%3Ctitle%3E%20shell%3C/titl", false),
        ("plain", false),
    ] {
        let tx = run(&e, &format!("/?a={arg}"), None);
        let want: Vec<u32> = if hit { vec![1, 2] } else { vec![] };
        assert_eq!(ids(&tx), want, "{arg}");
        let values: Vec<&str> = tx
            .matches()
            .iter()
            .map(|m| m.matched_value.as_str())
            .collect();
        if let [first, second] = values.as_slice() {
            assert_eq!(first, second, "{arg}");
            assert!(
                !first.contains(' '),
                "the recorded value is transformed: {first}"
            );
        }
    }
}

#[test]
fn values_without_a_sets_start_bytes_are_misses_when_a_hit_sends_the_rule_to_evaluation() {
    // The set's matches can only start with `(` or `\n`: the sweep lists
    // no value without them. `b` hits, so rule 1 is evaluated and asks
    // about every value of ARGS, `a` and `c` included (their answer is
    // worked out then); only `b` matches, as without gates.
    let rules = r#"
SecRule ARGS "@rx ^\(\s*\)" "id:1,phase:2,pass,log,capture,t:none,t:urlDecodeUni,logdata:'%{MATCHED_VAR_NAME}'"
SecRule ARGS "@rx \n" "id:2,phase:2,pass,log,t:none,t:urlDecodeUni"
"#;
    let gated = engine(rules);
    let per_rule = per_rule(&gated);
    for uri in [
        "/?a=plain&b=(%20)&c=more",
        "/?a=plain&c=more",
        "/?a=x%0Ay&b=(%20)",
        "/?a=%28%29&c=(x)",
    ] {
        let logged = |e: &Engine| {
            run(e, uri, None)
                .matches()
                .iter()
                .map(|m| (m.id, m.data.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(logged(&gated), logged(&per_rule), "{uri}");
    }
    let tx = run(&gated, "/?a=plain&b=(%20)&c=more", None);
    assert_eq!(ids(&tx), vec![1]);
}

#[test]
fn match_records_name_each_rule_s_own_file() {
    let compiled = crs_compiler::Compiler::new()
        .add_str(
            "first.conf",
            r#"SecRule ARGS "@rx a" "id:1,phase:2,pass,log""#,
        )
        .add_str(
            "second.conf",
            r#"SecRule ARGS "@rx b" "id:2,phase:2,pass,log""#,
        )
        .compile()
        .expect("compiles");
    let e = Engine::new(Arc::new(compiled));
    let tx = run(&e, "/?q=ab", None);
    let files: Vec<(u32, &str)> = tx
        .matches()
        .iter()
        .map(|m| (m.id, m.file.as_str()))
        .collect();
    assert_eq!(files, vec![(1, "first.conf"), (2, "second.conf")]);
}

#[test]
fn prefix_and_literal_selectors_select_what_their_regex_does() {
    // `^literal` selectors are decided by a prefix test per member, and
    // others with a required literal by a search for it first: names in
    // any case, sharing only a first byte, or holding the literal later,
    // are selected exactly as the regex would.
    let e = engine(
        r#"
SecAction "id:1,phase:2,pass,nolog,setvar:tx.key_a=1,setvar:tx.KEY_B=2,setvar:tx.k=3,setvar:tx.kex_c=4,setvar:tx.xkey_d=5,setvar:tx.key=6"
SecRule TX:/^Key_/ "@rx ." "id:2,phase:2,pass,log,logdata:'%{matched_var_name}'"
SecRule ARGS:/^Foo_/ "@rx ." "id:3,phase:2,pass,log,logdata:'%{matched_var_name}'"
SecRule ARGS_NAMES:/bar_*/ "@rx ." "id:4,phase:2,pass,log,logdata:'%{matched_var_name}'"
"#,
    );
    let tx = run(
        &e,
        "/?foo_a=1&FOO_b=2&fo=3&xfoo_c=4&f=5&Foo_=6&bar=7&xxBAR_=8&ba=9&bxbar=10",
        None,
    );
    let names = |id: u32| -> Vec<String> {
        tx.matches()
            .iter()
            .filter(|m| m.id == id)
            .filter_map(|m| m.data.clone())
            .collect()
    };
    assert_eq!(names(2), ["TX:key_a", "TX:key_b"]);
    assert_eq!(names(3), ["ARGS:foo_a", "ARGS:FOO_b", "ARGS:Foo_"]);
    assert_eq!(
        names(4),
        ["ARGS_NAMES:bar", "ARGS_NAMES:xxBAR_", "ARGS_NAMES:bxbar"]
    );
}

/// What a transaction left of a 920450-shaped rule's work: the TX members
/// of the header names `names`, TX.0, TX.score, the matches, the
/// intervention's status and the errors.
#[derive(Debug, PartialEq)]
struct StoresRecord {
    members: Vec<Option<String>>,
    capture: Option<String>,
    score: Option<String>,
    matches: Vec<(u32, Option<String>, Option<String>, String)>,
    status: Option<u16>,
    errors: Vec<String>,
}

impl StoresRecord {
    fn of(tx: &Transaction, names: &[&str]) -> StoresRecord {
        StoresRecord {
            members: names
                .iter()
                .map(|n| tx.tx_var(&format!("header_name_920450_{n}")))
                .collect(),
            capture: tx.tx_var("0"),
            score: tx.tx_var("score"),
            matches: tx
                .matches()
                .iter()
                .map(|m| (m.id, m.msg.clone(), m.data.clone(), m.matched_value.clone()))
                .collect(),
            status: tx.intervention().map(|i| i.status),
            errors: tx.errors().to_vec(),
        }
    }
}

/// CRS 920450's shape, for the tests of `stores_each` heads: the head
/// matches every header name, captures it lower-cased and makes a TX
/// member of it; the chain checks those members.
const RULE_920450: &str = r#"SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" \
    "id:920450,phase:1,block,capture,t:none,t:lowercase,log,\
    msg:'restricted header (%{MATCHED_VAR})',logdata:'%{MATCHED_VAR_NAME}',\
    setvar:'tx.header_name_920450_%{tx.0}=/%{tx.0}/',chain"
    SecRule TX:/^header_name_920450_/ "@within /proxy/ /lock-token/ /if/" \
        "setvar:'tx.score=+5'"
"#;

#[test]
fn a_head_that_stores_each_header_name_leaves_what_the_full_evaluation_leaves() {
    // CRS 920450's shape: the head matches every header name, captures it
    // lower-cased and makes a TX member of it; the chain checks those
    // members. The engine runs such a head's stores directly and evaluates
    // the rule in full only when the chain finds a value; the per-rule
    // engine always evaluates it in full. Rule 2 reads what was stored, and
    // rule 1 (before it) removes a target on one request, which the direct
    // run leaves to the full evaluation.
    let gated = engine(&format!(
        r#"
SecRule ARGS:drop "@streq proxy" "id:1,phase:1,pass,nolog,ctl:ruleRemoveTargetById=920450;REQUEST_HEADERS_NAMES:Proxy"
{RULE_920450}SecRule TX:/^header_name_920450_/ "@rx ^/user-agent/$" "id:2,phase:1,pass,log,msg:'%{{MATCHED_VAR_NAME}}'"
"#
    ));
    let plain = per_rule(&gated);
    type Headers<'a> = &'a [(&'a [u8], &'a [u8])];
    let cases: [(&str, Headers<'_>); 6] = [
        ("/", &[(b"User-Agent", b"curl"), (b"Accept", b"*/*")]),
        ("/", &[(b"Proxy", b"x"), (b"Host", b"a")]),
        ("/", &[(b"IF", b"1"), (b"If", b"2"), (b"Lock-Token", b"t")]),
        ("/", &[(b"User-Agent", b"a"), (b"user-agent", b"b")]),
        ("/?drop=proxy", &[(b"Proxy", b"x"), (b"If", b"1")]),
        ("/", &[]),
    ];
    for (uri, headers) in cases {
        let a = request(&gated, uri.as_bytes(), headers, None);
        let b = request(&plain, uri.as_bytes(), headers, None);
        let names = ["user-agent", "accept", "proxy", "host", "if", "lock-token"];
        assert_eq!(
            StoresRecord::of(&a, &names),
            StoresRecord::of(&b, &names),
            "{uri} {headers:?}"
        );
    }
    // The cases do reach both outcomes: a restricted header blocks, a
    // removed one does not.
    let proxy = request(&gated, b"/", &[(b"Proxy", b"x")], None);
    assert_eq!(proxy.tx_var("score").as_deref(), Some("5"));
    assert_eq!(ids(&proxy), vec![920450]);
    let removed = request(&gated, b"/?drop=proxy", &[(b"Proxy", b"x")], None);
    assert_eq!(removed.tx_var("score"), None);
    assert_eq!(removed.tx_var("header_name_920450_proxy"), None);
}

#[test]
fn stores_only_their_own_chain_reads_are_left_out_and_others_still_see_theirs() {
    // 920450's shape again, with other rules reading some of its members:
    // rule 3 by a pattern (CRS's paranoia-3 921180 reads
    // `TX:/paramcounter_.*/`, which a header named `X-Paramcounter_a`
    // reaches) and rule 4 by name. The engine leaves out the stores only
    // its chain reads when the chain finds nothing; every rule must see
    // what the per-rule engine's full evaluations leave, and `tx_var` the
    // members left out too.
    let gated = engine(&format!(
        r#"
{RULE_920450}SecRule TX:/paramcounter_.*/ "@rx ." "id:3,phase:2,pass,log,msg:'%{{MATCHED_VAR_NAME}}',logdata:'%{{MATCHED_VAR}}'"
SecRule TX:header_name_920450_accept "@streq /accept/" "id:4,phase:2,pass,log"
SecRule TX:/^(?:0|header_name_920450_host)$/ "@rx ." "id:5,phase:2,pass,log,msg:'%{{MATCHED_VAR_NAME}}'"
"#
    ));
    let plain = per_rule(&gated);
    type Headers<'a> = &'a [(&'a [u8], &'a [u8])];
    let cases: [Headers<'_>; 5] = [
        &[(b"User-Agent", b"curl"), (b"Accept", b"*/*")],
        &[(b"X-Paramcounter_a", b"1"), (b"Host", b"a")],
        &[(b"x-PARAMCOUNTER_b", b"1"), (b"Proxy", b"x")],
        &[(b"Accept", b"1"), (b"accept", b"2"), (b"Host", b"h")],
        &[],
    ];
    for headers in cases {
        let a = request(&gated, b"/", headers, None);
        let b = request(&plain, b"/", headers, None);
        let names = ["user-agent", "accept", "x-paramcounter_a", "host", "proxy"];
        assert_eq!(
            StoresRecord::of(&a, &names),
            StoresRecord::of(&b, &names),
            "{headers:?}"
        );
    }
    // The readers do read: rule 3 the pattern's member, rule 4 its own,
    // rule 5 TX.0 and the host's, in the order they were set (TX.0 before
    // the first header's member, as the full evaluation sets it).
    let tx = request(
        &gated,
        b"/",
        &[
            (b"X-Paramcounter_a", b"1"),
            (b"Accept", b"x"),
            (b"Host", b"h"),
        ],
        None,
    );
    assert_eq!(ids(&tx), vec![3, 4, 5, 5]);
    let rule_5: Vec<_> = tx
        .matches()
        .iter()
        .filter(|m| m.id == 5)
        .map(|m| m.msg.clone())
        .collect();
    assert_eq!(
        rule_5,
        [
            Some("TX:0".to_string()),
            Some("TX:header_name_920450_host".to_string())
        ]
    );
    assert_eq!(
        tx.tx_var("header_name_920450_x-paramcounter_a").as_deref(),
        Some("/x-paramcounter_a/")
    );
}

#[test]
fn within_reads_the_list_as_it_is_when_each_rule_runs() {
    // The engine indexes the TX lists its prelude sets (CRS's
    // `tx.restricted_headers_basic`) and finds a rule's list once for all
    // the values the rule checks. Rule 3 changes the list between two
    // rules that read it: each sees the list of its own time.
    let gated = engine(
        r#"
SecAction "id:1,phase:1,pass,nolog,setvar:'tx.allowed=/get/ /post/'"
SecRule REQUEST_HEADERS "@within %{tx.allowed}" "id:2,phase:1,pass,log,t:lowercase"
SecAction "id:3,phase:1,pass,nolog,setvar:'tx.allowed=/put/'"
SecRule REQUEST_HEADERS "@within %{tx.allowed}" "id:4,phase:1,pass,log,t:lowercase"
"#,
    );
    let plain = per_rule(&gated);
    let headers: &[(&[u8], &[u8])] = &[(b"A", b"/GET/"), (b"B", b"/put/"), (b"C", b"/post/")];
    for e in [&gated, &plain] {
        for _ in 0..3 {
            let tx = request(e, b"/", headers, None);
            let matched: Vec<_> = tx
                .matches()
                .iter()
                .map(|m| (m.id, m.matched_value.clone()))
                .collect();
            assert_eq!(
                matched,
                vec![
                    (2, "/get/".to_string()),
                    (2, "/post/".to_string()),
                    (4, "/put/".to_string())
                ]
            );
        }
    }
}

#[test]
fn rules_that_need_a_missing_header_agree_with_full_evaluation() {
    // The engine decides rules that cannot match without some named
    // request header from which of those the request has
    // (`shortcut/headers.rs`). Rule 4 matches when its header is missing;
    // rule 5's head runs its effect before the chain looks for `Range`,
    // so it must be evaluated; rule 8's header comes after phase 1.
    let gated = engine(
        r#"
SecRule REQUEST_HEADERS:Content-Length "!@rx ^\d+$" "id:1,phase:1,pass,log"
SecRule REQUEST_METHOD "@rx ^(?:GET|HEAD)$" "id:2,phase:1,pass,log,chain"
    SecRule REQUEST_HEADERS:Content-Length "!@rx ^0?$"
SecRule REQUEST_METHOD "@rx ^GET$" "id:3,phase:1,pass,log,chain"
    SecRule &REQUEST_HEADERS:Transfer-Encoding "!@eq 0"
SecRule &REQUEST_HEADERS:X-Count "@eq 0" "id:4,phase:1,pass,log"
SecRule REQUEST_METHOD "@rx ^GET$" "id:5,phase:1,pass,nolog,setvar:tx.head=1,chain"
    SecRule REQUEST_HEADERS:Range "@rx ."
SecRule TX:head "@eq 1" "id:6,phase:1,pass,log"
SecRule REQUEST_HEADERS:Range|REQUEST_HEADERS:If-Range "@rx ." "id:7,phase:2,pass,log"
SecRule REQUEST_HEADERS:X-Late "@rx ." "id:8,phase:2,pass,log"
"#,
    );
    let plain = per_rule(&gated);
    let cases: &[(Headers<'_>, &[u32])] = &[
        (&[], &[4, 6]),
        (&[(b"content-length", b"12x")], &[1, 2, 4, 6]),
        (&[(b"Content-Length", b"0")], &[4, 6]),
        (&[(b"TRANSFER-ENCODING", b"chunked")], &[3, 4, 6]),
        (&[(b"X-Count", b"1")], &[6]),
        (&[(b"Range", b"bytes=0-1")], &[4, 6, 7]),
        (&[(b"If-Range", b"x")], &[4, 6, 7]),
    ];
    for (headers, expected) in cases {
        for e in [&gated, &plain] {
            for _ in 0..2 {
                let found = ids(&request(e, b"/", headers, None));
                assert_eq!(found, *expected, "{headers:?}");
            }
        }
    }
    // A header added between phases counts for the rules after it.
    for e in [&gated, &plain] {
        let mut tx = e.transaction();
        tx.process_uri(b"GET", b"/", b"HTTP/1.1");
        tx.add_request_header(b"Host", b"example.com");
        let _ = tx.process_request_headers();
        tx.add_request_header(b"X-Late", b"1");
        let _ = tx.process_request_body();
        assert_eq!(ids(&tx), vec![4, 6, 8]);
    }
}

#[test]
fn rules_that_need_a_missing_response_header_agree_with_full_evaluation() {
    // As above for `RESPONSE_HEADERS` (CRS's response files start with a
    // rule on `Content-Encoding`): known when phase 3 starts, forgotten
    // when a response header is added after.
    let gated = engine(
        r#"
SecRule RESPONSE_HEADERS:Content-Encoding "@pm gzip br" "id:1,phase:3,pass,log"
SecRule RESPONSE_STATUS "@rx ^200$" "id:2,phase:4,pass,log,chain"
    SecRule RESPONSE_HEADERS:X-Late|REQUEST_HEADERS:X-Late "@rx ."
SecRule &RESPONSE_HEADERS:Content-Encoding "!@eq 0" "id:3,phase:4,pass,log"
"#,
    );
    let cases: &[ExchangeCase<'_>] = &[
        (&[], &[], &[], &[]),
        (&[], &[(b"Content-Encoding", b"gzip")], &[], &[1, 3]),
        (&[], &[(b"content-encoding", b"identity")], &[], &[3]),
        // A request header of that name is not a response header.
        (&[(b"Content-Encoding", b"gzip")], &[], &[], &[]),
        (&[(b"X-Late", b"1")], &[], &[], &[2]),
        (&[], &[(b"X-Late", b"1")], &[], &[2]),
        (&[], &[], &[(b"X-Late", b"1")], &[2]),
        (&[], &[], &[(b"Content-Encoding", b"br")], &[3]),
    ];
    assert_exchanges(&gated, cases);
}

#[test]
fn rules_that_need_a_header_absent_agree_with_full_evaluation() {
    // A count of a header that holds for no count from 1 on rules its rule
    // out where the header is there (CRS 920180: a POST whose
    // `&REQUEST_HEADERS:Content-Length "@eq 0"`, 920280's Host).
    let gated = engine(
        r#"
SecRule REQUEST_METHOD "@streq GET" "id:1,phase:1,pass,log,chain"
    SecRule &REQUEST_HEADERS:Content-Length "@eq 0" "chain"
    SecRule &REQUEST_HEADERS:Transfer-Encoding "@eq 0"
SecRule &REQUEST_HEADERS:X-H "@eq 0" "id:2,phase:1,pass,log"
SecRule &REQUEST_HEADERS:X-A "@lt 1" "id:3,phase:2,pass,log"
SecRule &REQUEST_HEADERS:X-A "!@gt 1" "id:4,phase:2,pass,log"
SecRule &RESPONSE_HEADERS:X-B "@eq 0" "id:5,phase:4,pass,log"
SecRule &REQUEST_HEADERS:X-A "!@eq 1" "id:6,phase:2,pass,log"
"#,
    );
    let cases: &[ExchangeCase<'_>] = &[
        (&[], &[], &[], &[1, 2, 3, 4, 6, 5]),
        (&[(b"Content-Length", b"5")], &[], &[], &[2, 3, 4, 6, 5]),
        (
            &[(b"TE", b"x"), (b"Transfer-Encoding", b"chunked")],
            &[],
            &[],
            &[2, 3, 4, 6, 5],
        ),
        (&[(b"X-H", b"1")], &[], &[], &[1, 3, 4, 6, 5]),
        (&[(b"X-A", b"1")], &[], &[], &[1, 2, 4, 5]),
        // Twice: a count of 2, which rule 6 takes.
        (&[(b"X-A", b"1"), (b"x-a", b"2")], &[], &[], &[1, 2, 6, 5]),
        (&[], &[(b"X-B", b"1")], &[], &[1, 2, 3, 4, 6]),
        (&[], &[], &[(b"X-B", b"1")], &[1, 2, 3, 4, 6]),
    ];
    assert_exchanges(&gated, cases);
}

#[test]
fn rules_on_empty_multipart_lists_agree_with_full_evaluation() {
    // The multipart lists have no member outside a multipart body, and
    // none before phase 2 parses it: the rules that need one are decided
    // from the same mask as the headers (`shortcut/headers.rs`).
    let gated = engine(
        r#"
SecRequestBodyAccess On
SecRule FILES "@rx ." "id:6,phase:1,pass,log"
SecRule FILES|FILES_NAMES "!@rx ^zzz$" "id:1,phase:2,pass,log"
SecRule &MULTIPART_PART_HEADERS "!@eq 0" "id:2,phase:2,pass,log"
SecRule MULTIPART_NAME "@rx ." "id:3,phase:2,pass,log"
SecRule FILES_NAMES|REQUEST_HEADERS:X-Filename "@rx ." "id:4,phase:2,pass,log"
SecRule &FILES "@eq 0" "id:5,phase:2,pass,log"
"#,
    );
    let plain = per_rule(&gated);
    let multipart: &[(&[u8], &[u8])] = &[(b"Content-Type", b"multipart/form-data; boundary=b")];
    let file = b"--b\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
    let field = b"--b\r\nContent-Disposition: form-data; name=\"f\"\r\n\r\nhello\r\n--b--\r\n";
    // Request headers, body, the ids expected.
    type Case<'a> = (Headers<'a>, Option<&'a [u8]>, &'a [u32]);
    let cases: &[Case<'_>] = &[
        (&[], None, &[5]),
        (&[(b"X-Filename", b"a.php")], None, &[4, 5]),
        // Rule 1 hits FILES and FILES_NAMES: two records.
        (multipart, Some(file), &[1, 1, 2, 3, 4]),
        (multipart, Some(field), &[2, 3, 5]),
    ];
    for (headers, body, expected) in cases {
        for e in [&gated, &plain] {
            for _ in 0..2 {
                let found = ids(&request(e, b"/upload", headers, *body));
                assert_eq!(found, *expected, "{headers:?} {body:?}");
            }
        }
    }
}
