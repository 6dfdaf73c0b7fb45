//! Turning a rule's action list, with `SecDefaultAction` in front of it,
//! into the effective [`Actions`].
//!
//! ModSecurity v2 (`add_rule` in `apache2_config.c`) merges the current
//! default action set into every rule it loads, chain links included, with
//! `msre_actionset_merge`: the defaults come first and the rule's own
//! actions override them. Replaying "defaults, then own actions" in order
//! gives the same result:
//!
//! - single-valued actions (`msg`, `status`, `severity`, `phase`, the
//!   disruptive action, `log`/`nolog`…) take the last value written;
//! - `t:` functions, `tag`s and side effects (`setvar`, `ctl`…)
//!   accumulate, defaults first, and `t:none` drops every function before
//!   it (including inherited ones);
//! - `block` means "the default action set's disruptive action", recorded
//!   when the rule was loaded;
//! - `nolog` also turns off `auditlog`, as v2's `nolog` init does; both
//!   default to on.

use super::actions::{Act, DisruptiveAct};
use crate::ir::action::{Actions, Disruptive, SkipTarget};
use crate::ir::rule::Phase;
use crate::ir::transform::Transform;

/// What the replay yields beyond [`Actions`].
#[derive(Debug)]
pub(crate) struct Resolved {
    pub(crate) actions: Actions,
    pub(crate) phase: Phase,
    pub(crate) transforms: Vec<Transform>,
}

fn disruptive_of(d: &DisruptiveAct, default: &Disruptive) -> (Disruptive, bool) {
    match d {
        DisruptiveAct::Pass => (Disruptive::Pass, false),
        DisruptiveAct::Deny => (Disruptive::Deny, false),
        DisruptiveAct::Drop => (Disruptive::Drop, false),
        DisruptiveAct::Allow(s) => (Disruptive::Allow(*s), false),
        DisruptiveAct::Redirect(m) => (Disruptive::Redirect(m.clone()), false),
        DisruptiveAct::Block => (default.clone(), true),
    }
}

/// The disruptive action of a default action list (what `block` becomes).
/// A `block` inside the defaults has nothing to refer to and counts as
/// `pass`.
pub(crate) fn default_disruptive(defaults: &[Act]) -> Disruptive {
    let mut out = Disruptive::Pass;
    for a in defaults {
        if let Act::Disruptive(d) = a {
            out = disruptive_of(d, &Disruptive::Pass).0;
        }
    }
    out
}

/// Replays `defaults` then `own`.
pub(crate) fn resolve(defaults: &[Act], own: &[Act]) -> Resolved {
    let block_target = default_disruptive(defaults);
    let mut a = Actions::default();
    let mut disruptive = Disruptive::Pass;
    let mut block = false;
    let mut phase = Phase::RequestBody;
    let mut transforms = Vec::new();
    let mut tags = Vec::new();
    for act in defaults.iter().chain(own.iter()) {
        match act {
            Act::Id(_) | Act::Chain => {}
            Act::Phase(p) => phase = *p,
            Act::Disruptive(d) => {
                let (dis, b) = disruptive_of(d, &block_target);
                disruptive = dis;
                block = b;
            }
            Act::Status(s) => a.status = Some(*s),
            Act::Msg(m) => a.msg = Some(m.clone()),
            Act::Logdata(m) => a.logdata = Some(m.clone()),
            Act::Tag(t) => tags.push(t.clone()),
            Act::Severity(s) => a.severity = Some(*s),
            Act::Ver(v) => a.ver = Some(v.clone()),
            Act::Rev(v) => a.rev = Some(v.clone()),
            Act::Maturity(m) => a.maturity = Some(*m),
            Act::Accuracy(m) => a.accuracy = Some(*m),
            Act::Transform(None) => transforms.clear(),
            Act::Transform(Some(t)) => transforms.push(*t),
            Act::Capture => a.capture = true,
            Act::MultiMatch => a.multi_match = true,
            Act::Log(b) => a.log = *b,
            Act::AuditLog(b) => a.auditlog = *b,
            Act::NoLog => {
                a.log = false;
                a.auditlog = false;
            }
            Act::Skip(n) => a.skip = *n,
            Act::SkipAfter(m) => {
                a.skip_after = Some(SkipTarget {
                    marker: m.clone(),
                    index: None,
                })
            }
            Act::Effect(e) => a.effects.push(e.clone()),
            Act::Ignored => {}
        }
    }
    a.disruptive = Some(disruptive);
    a.block = block;
    a.tags = tags.into();
    Resolved {
        actions: a,
        phase,
        transforms,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::macros::MacroString;

    #[test]
    fn defaults_then_own() {
        let defaults = vec![
            Act::Phase(Phase::RequestHeaders),
            Act::Log(true),
            Act::Disruptive(DisruptiveAct::Deny),
            Act::Transform(Some(Transform::Lowercase)),
            Act::Tag("d".into()),
        ];
        let own = vec![
            Act::Id(7),
            Act::Disruptive(DisruptiveAct::Block),
            Act::Transform(Some(Transform::UrlDecode)),
            Act::NoLog,
            Act::AuditLog(true),
            Act::Tag("own".into()),
            Act::Msg(MacroString::literal("m")),
        ];
        let r = resolve(&defaults, &own);
        assert_eq!(r.phase, Phase::RequestHeaders);
        assert_eq!(r.actions.disruptive, Some(Disruptive::Deny));
        assert!(r.actions.block);
        assert_eq!(
            r.transforms,
            vec![Transform::Lowercase, Transform::UrlDecode]
        );
        assert!(!r.actions.log && r.actions.auditlog);
        assert_eq!(*r.actions.tags, ["d".to_string(), "own".to_string()]);
        let r = resolve(
            &defaults,
            &[Act::Transform(None), Act::Disruptive(DisruptiveAct::Pass)],
        );
        assert!(r.transforms.is_empty());
        assert_eq!(r.actions.disruptive, Some(Disruptive::Pass));
        assert!(!r.actions.block);
    }
}
