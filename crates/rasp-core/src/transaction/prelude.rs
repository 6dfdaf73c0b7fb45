//! The TX prelude: the run of phase-1 rules that only read and write TX,
//! played once at engine build and replayed as a copy.
//!
//! Why: CRS starts every transaction with about 30 such rules
//! (`crs-setup.conf`'s SecActions, then REQUEST-901's "`&TX:x @eq 0` →
//! default value" rules and the SecAction zeroing the scores): some 50
//! `setvar`s, each a macro expansion, a hash lookup and a member: about
//! 33 k instructions, 5 % of a benign GET's. Their outcome depends on nothing
//! but TX, which is empty when they start, so it is the same for every
//! transaction: the engine plays them once on an empty transaction and
//! each transaction copies the resulting members.
//!
//! The run starts at the first phase-1 rule decided by TX alone. A rule
//! belongs to it when every link reads only TX (and macros only TX, `RULE`
//! and `MATCHED_VAR(_NAME)`), and either its head does not match at that
//! point of the run, or every link's side effects are `setvar`s on TX and
//! the head neither logs, disrupts, raises the severity nor moves the rule
//! pointer. The copy is taken only where playing the rules would have
//! started from the same state: TX empty, no rule or target removed for
//! this transaction, no `skip` under way, and the engine not recording
//! the rules it reaches; otherwise the rules run as usual.

use std::sync::Arc;

use crs_compiler::ir::action::{Disruptive, Effect, EngineMode, SetVarOp};
use crs_compiler::ir::macros::{MacroPart, MacroString};
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::{Entry, Phase, Rule};
use crs_compiler::ir::variable::Variable;

use super::rule::RuleOutcome;
use super::Transaction;
use crate::engine::Engine;
use crate::operator::within::WithinLists;
use crate::variables::collections::FrozenCollection;

/// Phase 1's TX prelude (see the module documentation); empty when the
/// phase does not start with one.
#[derive(Debug, Default)]
pub(crate) struct Prelude {
    /// The first entry of the run.
    start: usize,
    /// The entry after the run (`start` when there is none).
    end: usize,
    /// TX after the run. (The rest of what the rules leave, the matched
    /// variables, is cleared before the next rule reads it.)
    tx: FrozenCollection,
    /// The lists in `tx` that `@within` operators read, indexed.
    pub(crate) within: WithinLists,
}

impl Prelude {
    /// Finds phase 1's prelude and plays it on an empty transaction.
    pub(crate) fn build(engine: &Engine) -> Prelude {
        let rules = Arc::clone(&engine.rules);
        let entries = &rules.phase(Phase::RequestHeaders).entries;
        let Some(start) = entries.iter().position(|e| match e {
            Entry::Rule(rule) => rule.links().all(decided_by_tx),
            _ => false,
        }) else {
            return Prelude::default();
        };
        let mut tx = engine.transaction();
        tx.prepare_phase();
        let mut end = start;
        for entry in &entries[start..] {
            // Markers are never evaluated.
            let Entry::Rule(rule) = entry else {
                end += 1;
                continue;
            };
            if !rule.links().all(decided_by_tx) {
                break;
            }
            tx.matched.clear();
            if tx.head_matches(rule) {
                if !(head_only_sets_tx(rule) && rule.links().all(effects_only_on_tx)) {
                    break;
                }
                if tx.eval_rule(rule, Phase::RequestHeaders) == RuleOutcome::Stop {
                    // Cannot happen for such a rule; if it did, nothing
                    // is replayed.
                    return Prelude::default();
                }
            }
            end += 1;
        }
        Prelude {
            start,
            end,
            within: WithinLists::build(&rules, &tx.cols.tx),
            tx: tx.cols.tx.freeze(),
        }
    }

    /// The entries the prelude covers.
    #[cfg(test)]
    pub(crate) fn covers(&self) -> std::ops::Range<usize> {
        self.start..self.end
    }
}

impl Transaction {
    /// When phase 1's loop reaches entry `at` with no `skip` under way:
    /// replays the prelude if it starts there and this transaction is
    /// where the engine played it, and returns the entry to go on with.
    pub(super) fn replay_prelude(&mut self, at: usize) -> Option<usize> {
        let prelude = &self.engine.prelude;
        let replayable = at == prelude.start
            && prelude.end > prelude.start
            && self.reached.is_none()
            && self.state.mode != EngineMode::Off
            && self.cols.tx.is_empty()
            && self.state.removed_rules.is_empty()
            && self.state.removed_targets.is_empty();
        if !replayable {
            return None;
        }
        self.cols.tx.fill_from(&prelude.tx);
        Some(prelude.end)
    }
}

/// Whether `link`'s match is decided by TX alone: it reads only TX, and
/// its operator's argument only what [`tx_only`] allows.
fn decided_by_tx(link: &Rule) -> bool {
    let argument = match &link.operator.kind {
        // Compiled per transaction, and may fail to compile.
        OperatorKind::RxMacro(_) => return false,
        kind => kind.macro_argument(),
    };
    link.targets.iter().all(|t| t.variable == Variable::Tx) && argument.is_none_or(tx_only)
}

/// Whether the head of `rule`, when it matches, only runs its side
/// effects: no record, no disruption, no severity, no skip.
fn head_only_sets_tx(rule: &Rule) -> bool {
    let a = &rule.actions;
    matches!(a.disruptive, None | Some(Disruptive::Pass))
        && !a.log
        && !a.auditlog
        && a.severity.is_none()
        && a.skip == 0
        && a.skip_after.is_none()
}

/// Whether `link`'s side effects only set TX members from TX.
fn effects_only_on_tx(link: &Rule) -> bool {
    link.actions.effects.iter().all(|e| match e {
        Effect::SetVar {
            collection,
            key,
            op,
        } => {
            let value = match op {
                SetVarOp::Set(m) | SetVarOp::Add(m) | SetVarOp::Sub(m) => Some(m),
                SetVarOp::Unset => None,
                _ => return false,
            };
            collection == "tx" && tx_only(key) && value.is_none_or(tx_only)
        }
        _ => false,
    })
}

/// Whether `m` expands to the same text for every transaction that
/// reaches it with the same TX: it names only TX, the rule and the
/// matched variable (itself from TX in the prelude).
fn tx_only(m: &MacroString) -> bool {
    m.parts.iter().all(|p| match p {
        MacroPart::Literal(_) => true,
        MacroPart::Var { variable, .. } => matches!(
            variable,
            Variable::Tx | Variable::Rule | Variable::MatchedVar | Variable::MatchedVarName
        ),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crs_compiler::ir::rule::{Entry, Phase};

    use crate::{Engine, EngineConfig};

    fn engines(rules: &str) -> (Engine, Engine) {
        let compiled = crs_compiler::Compiler::new()
            .add_str("prelude.conf", rules)
            .compile()
            .unwrap_or_else(|e| panic!("{e}"));
        let compiled = Arc::new(compiled);
        let per_rule = EngineConfig::new().per_rule(true);
        (
            Engine::new(Arc::clone(&compiled)),
            Engine::with_config(compiled, per_rule),
        )
    }

    /// Ids of the phase-1 rules the prelude covers.
    fn covered(engine: &Engine) -> Vec<u32> {
        let entries = &engine.rules.phase(Phase::RequestHeaders).entries;
        entries[engine.prelude.covers()]
            .iter()
            .filter_map(|e| match e {
                Entry::Rule(r) => Some(r.id),
                _ => None,
            })
            .collect()
    }

    /// TX after phase 1 of `GET uri`, with rule `removed` taken out first,
    /// and the logged rule ids.
    fn after_phase_1(engine: &Engine, uri: &str, removed: Option<u32>) -> String {
        let mut tx = engine.transaction();
        if let Some(id) = removed {
            tx.remove_rule_by_id(id, id);
        }
        tx.process_uri(b"GET", uri.as_bytes(), b"HTTP/1.1");
        tx.add_request_header(b"Host", b"example.com");
        let _ = tx.process_request_headers();
        let mut out = String::new();
        for p in tx.cols.tx.entries() {
            out += &format!(
                "{}={} ",
                String::from_utf8_lossy(&p.name),
                String::from_utf8_lossy(&p.value)
            );
        }
        let logged: Vec<u32> = tx.matches().iter().map(|m| m.id).collect();
        out + &format!("| logged {logged:?}")
    }

    const RULES: &str = r#"
SecRule REQUEST_HEADERS:Content-Type "@rx json" "id:1,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecAction "id:2,phase:1,pass,nolog,setvar:tx.a=1,setvar:tx.b=%{tx.a}x"
SecRule &TX:missing "@eq 0" "id:3,phase:1,pass,nolog,setvar:tx.missing=5"
SecRule &TX:a "@eq 0" "id:4,phase:1,deny,status:500,log,msg:'not configured'"
SecRule TX:b "@rx ^(\d)x$" "id:5,phase:1,pass,nolog,capture,setvar:tx.c=%{tx.1}%{MATCHED_VAR},chain"
    SecRule TX:a "@eq 1" "setvar:tx.d=+3"
SecMarker AFTER-5
SecRule REQUEST_URI "@contains x" "id:6,phase:1,pass,nolog,setvar:tx.uri=1"
SecAction "id:7,phase:1,pass,nolog,setvar:tx.late=1"
SecRule TX:c "@streq 11x" "id:8,phase:1,pass,log,msg:'c is %{tx.c}'"
"#;

    #[test]
    fn the_prelude_covers_the_rules_decided_by_tx_and_replays_what_they_did() {
        let (engine, per_rule) = engines(RULES);
        // 4 would deny, but its head does not match after 2; 6 reads the
        // request.
        assert_eq!(covered(&engine), vec![2, 3, 4, 5]);
        assert!(
            per_rule.prelude.covers().is_empty(),
            "per-rule mode plays every rule"
        );
        for uri in ["/", "/x"] {
            let replayed = after_phase_1(&engine, uri, None);
            assert_eq!(replayed, after_phase_1(&per_rule, uri, None), "{uri}");
            assert!(replayed.contains("c=11x d=3 "), "{replayed}");
        }
    }

    #[test]
    fn a_rule_that_would_leave_a_record_ends_the_prelude() {
        let rules = r#"
SecAction "id:1,phase:1,pass,nolog,setvar:tx.a=1"
SecRule &TX:b "@eq 0" "id:2,phase:1,pass,log,msg:'b is missing',setvar:tx.b=1"
SecAction "id:3,phase:1,pass,nolog,setvar:tx.c=1"
SecRule &TX:a "@eq 1" "id:4,phase:1,pass,nolog,skipAfter:END"
SecAction "id:5,phase:1,pass,nolog,setvar:tx.skipped=1"
SecMarker END
"#;
        let (engine, per_rule) = engines(rules);
        assert_eq!(covered(&engine), vec![1]);
        let replayed = after_phase_1(&engine, "/", None);
        assert_eq!(replayed, after_phase_1(&per_rule, "/", None));
        assert_eq!(replayed, "a=1 b=1 c=1 | logged [2]");
    }

    #[test]
    fn the_rules_run_as_usual_where_the_prelude_would_not_start_the_same() {
        let rules = r#"
SecRule ARGS:set "@streq 1" "id:1,phase:1,pass,nolog,setvar:tx.a=7"
SecRule ARGS:off "@streq 1" "id:9,phase:1,pass,nolog,ctl:ruleEngine=Off"
SecRule &TX:a "@eq 0" "id:2,phase:1,pass,nolog,setvar:tx.a=1"
SecAction "id:3,phase:1,pass,nolog,setvar:tx.b=%{tx.a}"
SecRule REQUEST_URI "@contains off" "id:4,phase:1,pass,nolog,ctl:ruleRemoveById=3"
"#;
        let (engine, per_rule) = engines(rules);
        assert_eq!(covered(&engine), vec![2, 3]);
        for (uri, removed, expected) in [
            ("/", None, "a=1 b=1 "),
            // TX is not empty when the prelude would start.
            ("/?set=1", None, "a=7 b=7 "),
            // A rule of the prelude is removed for this transaction.
            ("/", Some(3), "a=1 "),
            // The engine was turned off before it.
            ("/?off=1", None, ""),
        ] {
            let replayed = after_phase_1(&engine, uri, removed);
            assert_eq!(replayed, after_phase_1(&per_rule, uri, removed), "{uri}");
            assert_eq!(replayed, format!("{expected}| logged []"), "{uri}");
        }
    }
}
