//! Action lists: from `name:value` pairs to typed actions.
//!
//! Names are case-insensitive (v2 keeps its action table in an
//! `apr_table`, which compares names case-insensitively). Each action's
//! argument rules follow v2's registration table in `re_actions.c`: an
//! action that needs a value without one, or a flag given a value, is an
//! error.

use super::ctx::Ctx;
use super::suggest;
use super::targets::parse_exclusion;
use crate::error::{CompileError, CompileErrorKind};
use crate::ir::action::{
    AllowScope, AuditEngine, BodyProcessor, Ctl, Effect, EngineMode, IdRange, NamePattern,
    SetVarOp, Severity,
};
use crate::ir::macros::{MacroPart, MacroString};
use crate::ir::rule::Phase;
use crate::ir::transform::Transform;
use crate::parse::lexer::Word;
use crate::parse::macros::parse_macros;
use crate::parse::pairs::{parse_pairs, ListKind, Pair};

/// A disruptive action as written (`block` still unresolved).
#[derive(Clone, Debug)]
pub(crate) enum DisruptiveAct {
    Pass,
    Deny,
    Drop,
    Block,
    Allow(AllowScope),
    Redirect(MacroString),
}

/// One typed action, in the order written.
#[derive(Clone, Debug)]
pub(crate) enum Act {
    Id(u32),
    Phase(Phase),
    Chain,
    Disruptive(DisruptiveAct),
    Status(u16),
    Msg(MacroString),
    Logdata(MacroString),
    Tag(String),
    Severity(Severity),
    Ver(String),
    Rev(String),
    Maturity(u8),
    Accuracy(u8),
    /// `t:name`; `None` is `t:none`.
    Transform(Option<Transform>),
    Capture,
    MultiMatch,
    Log(bool),
    AuditLog(bool),
    /// `nolog`: v2 turns off both `log` and `auditlog`.
    NoLog,
    Skip(u32),
    SkipAfter(String),
    Effect(Effect),
    /// Accepted and without effect in rasp (`xmlns`, `sanitiseArg`…).
    Ignored,
}

impl Act {
    /// True for actions only a chain starter may carry (v2 `add_rule`).
    pub(crate) fn starter_only(&self) -> Option<&'static str> {
        Some(match self {
            Act::Id(_) => "id",
            Act::Phase(_) => "phase",
            Act::Disruptive(_) => "a disruptive action",
            Act::SkipAfter(_) => "skipAfter",
            Act::Skip(_) => "skip",
            Act::Msg(_) => "msg",
            Act::Logdata(_) => "logdata",
            Act::Severity(_) => "severity",
            Act::Ver(_) => "ver",
            Act::Rev(_) => "rev",
            Act::Maturity(_) => "maturity",
            Act::Accuracy(_) => "accuracy",
            _ => return None,
        })
    }
}

/// Parses an action list word into typed actions.
pub(crate) fn parse_actions(ctx: &mut Ctx, word: &Word) -> Result<Vec<Act>, CompileError> {
    let (acts, errors) = parse_actions_all(ctx, word);
    match errors.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(acts),
    }
}

/// Parses every action that can be parsed and reports every one that
/// cannot, so a rule with a bad action still has its id and `chain` known.
pub(crate) fn parse_actions_all(ctx: &mut Ctx, word: &Word) -> (Vec<Act>, Vec<CompileError>) {
    let pairs = match parse_pairs(&word.text, ListKind::Actions) {
        Ok(p) => p,
        Err(e) => {
            let err = CompileError::new(
                CompileErrorKind::Syntax,
                format!("malformed action list: {}", e.message),
            )
            .at(word.location_at(e.offset));
            return (Vec::new(), vec![err]);
        }
    };
    let mut out = Vec::with_capacity(pairs.len());
    let mut errors = Vec::new();
    for pair in &pairs {
        match parse_action(ctx, pair) {
            Ok(act) => out.push(act),
            Err(e) => {
                let loc = if e.at_value {
                    word.location_at(pair.value_offset)
                } else {
                    word.location_at(pair.name_offset)
                };
                let err = CompileError::new(e.kind, e.message).at(loc);
                errors.push(if e.unsupported {
                    err.unsupported()
                } else {
                    err
                });
            }
        }
    }
    (out, errors)
}

/// An error inside one action; located by the caller.
pub(crate) struct ActError {
    unsupported: bool,
    kind: CompileErrorKind,
    message: String,
    at_value: bool,
}

fn bad(message: impl Into<String>) -> ActError {
    ActError {
        unsupported: false,
        kind: CompileErrorKind::BadArgument,
        message: message.into(),
        at_value: true,
    }
}

fn macros(text: &str) -> Result<MacroString, ActError> {
    parse_macros(text).map_err(|e| ActError {
        unsupported: false,
        kind: CompileErrorKind::BadArgument,
        message: e.message,
        at_value: true,
    })
}

/// Every action name rasp accepts, for "did you mean" hints.
const KNOWN_ACTIONS: &[&str] = &[
    "accuracy",
    "allow",
    "auditlog",
    "block",
    "capture",
    "chain",
    "ctl",
    "deny",
    "drop",
    "expirevar",
    "id",
    "initcol",
    "log",
    "logdata",
    "maturity",
    "msg",
    "multiMatch",
    "noauditlog",
    "nolog",
    "pass",
    "phase",
    "redirect",
    "rev",
    "sanitiseArg",
    "sanitiseMatched",
    "sanitiseMatchedBytes",
    "sanitiseRequestHeader",
    "sanitiseResponseHeader",
    "setenv",
    "setsid",
    "setuid",
    "setvar",
    "severity",
    "skip",
    "skipAfter",
    "status",
    "t",
    "tag",
    "ver",
    "xmlns",
];

/// Names that v2 knows but rasp cannot run.
const UNSUPPORTED: &[&str] = &[
    "exec",
    "proxy",
    "pause",
    "prepend",
    "append",
    "deprecatevar",
    "setrsc",
    "marker",
];

/// Names accepted without effect: sanitising only changes what the audit
/// log shows, and rasp redacts sensitive values on its own; `xmlns` only
/// serves XPath selectors.
const IGNORED: &[&str] = &[
    "xmlns",
    "sanitisearg",
    "sanitizearg",
    "sanitisematched",
    "sanitizematched",
    "sanitisematchedbytes",
    "sanitizematchedbytes",
    "sanitiserequestheader",
    "sanitizerequestheader",
    "sanitiseresponseheader",
    "sanitizeresponseheader",
];

fn parse_action(ctx: &mut Ctx, pair: &Pair) -> Result<Act, ActError> {
    let name = pair.name.to_ascii_lowercase();
    let value = pair.value.as_deref();
    let flag = |act: Act| -> Result<Act, ActError> {
        match value {
            None => Ok(act),
            Some(v) => Err(bad(format!(
                "action {} takes no argument, got {v:?}",
                pair.name
            ))),
        }
    };
    if name == "allow" {
        return Ok(Act::Disruptive(DisruptiveAct::Allow(
            match value.map(str::to_ascii_lowercase).as_deref() {
                None => AllowScope::Transaction,
                Some("phase") => AllowScope::Phase,
                Some("request") => AllowScope::Request,
                Some(v) => return Err(bad(format!("allow takes `phase` or `request`, got {v:?}"))),
            },
        )));
    }
    match name.as_str() {
        "chain" => return flag(Act::Chain),
        "pass" => return flag(Act::Disruptive(DisruptiveAct::Pass)),
        "deny" => return flag(Act::Disruptive(DisruptiveAct::Deny)),
        "drop" => return flag(Act::Disruptive(DisruptiveAct::Drop)),
        "block" => return flag(Act::Disruptive(DisruptiveAct::Block)),
        "capture" => return flag(Act::Capture),
        "multimatch" => return flag(Act::MultiMatch),
        "log" => return flag(Act::Log(true)),
        "nolog" => return flag(Act::NoLog),
        "auditlog" => return flag(Act::AuditLog(true)),
        "noauditlog" => return flag(Act::AuditLog(false)),
        "sanitisematched" | "sanitizematched" => return flag(Act::Ignored),
        "sanitisematchedbytes" | "sanitizematchedbytes" => return Ok(Act::Ignored),
        _ => {}
    }
    if UNSUPPORTED.contains(&name.as_str()) {
        return Err(ActError {
            unsupported: true,
            kind: CompileErrorKind::UnknownAction,
            message: format!("action {} is not supported by rasp", pair.name),
            at_value: false,
        });
    }
    let known = matches!(
        name.as_str(),
        "id" | "phase"
            | "status"
            | "msg"
            | "logdata"
            | "tag"
            | "severity"
            | "ver"
            | "rev"
            | "maturity"
            | "accuracy"
            | "t"
            | "skip"
            | "skipafter"
            | "redirect"
            | "setvar"
            | "setenv"
            | "initcol"
            | "expirevar"
            | "setuid"
            | "setsid"
            | "ctl"
    ) || IGNORED.contains(&name.as_str());
    if !known {
        return Err(ActError {
            unsupported: false,
            kind: CompileErrorKind::UnknownAction,
            message: format!(
                "unknown action {:?}{}",
                pair.name,
                suggest::hint(&pair.name, KNOWN_ACTIONS.iter().copied())
            ),
            at_value: false,
        });
    }
    let Some(v) = value else {
        return Err(ActError {
            unsupported: false,
            kind: CompileErrorKind::BadArgument,
            message: format!("action {} needs an argument ({}:…)", pair.name, pair.name),
            at_value: false,
        });
    };
    Ok(match name.as_str() {
        "id" => Act::Id(parse_id(v)?),
        "phase" => Act::Phase(Phase::parse(v).ok_or_else(|| {
            bad(format!(
                "phase must be 1-5, request, response or logging, got {v:?}"
            ))
        })?),
        "status" => {
            let s: u16 = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("status must be an HTTP status code, got {v:?}")))?;
            if !(100..=599).contains(&s) {
                return Err(bad(format!("status must be between 100 and 599, got {s}")));
            }
            Act::Status(s)
        }
        "msg" => Act::Msg(macros(v)?),
        "logdata" => Act::Logdata(macros(v)?),
        "tag" => Act::Tag(v.to_string()),
        "severity" => Act::Severity(
            Severity::parse(v)
                .ok_or_else(|| bad(format!("severity must be 0-7 or a level name, got {v:?}")))?,
        ),
        "ver" => Act::Ver(v.to_string()),
        "rev" => Act::Rev(v.to_string()),
        "maturity" => Act::Maturity(small_level(v, "maturity")?),
        "accuracy" => Act::Accuracy(small_level(v, "accuracy")?),
        "t" => {
            if v.eq_ignore_ascii_case("none") {
                Act::Transform(None)
            } else {
                Act::Transform(Some(Transform::from_name(v.trim()).ok_or_else(|| {
                    ActError {
                        unsupported: false,
                        kind: CompileErrorKind::UnknownTransform,
                        message: format!(
                            "unknown transformation t:{v}{}",
                            suggest::hint(v.trim(), Transform::ALL.iter().map(|t| t.name()))
                        ),
                        at_value: true,
                    }
                })?))
            }
        }
        "skip" => {
            let n: u32 = v
                .trim()
                .parse()
                .map_err(|_| bad(format!("skip needs a positive number, got {v:?}")))?;
            if n == 0 {
                return Err(bad("skip needs a positive number, got 0"));
            }
            Act::Skip(n)
        }
        "skipafter" => {
            if v.trim().is_empty() {
                return Err(bad("skipAfter needs a marker name"));
            }
            Act::SkipAfter(v.trim().to_string())
        }
        "redirect" => Act::Disruptive(DisruptiveAct::Redirect(macros(v)?)),
        "setvar" => Act::Effect(parse_setvar(v)?),
        "setenv" => {
            let (name, value) = match v.strip_prefix('!') {
                Some(n) => (n, None),
                None => match v.split_once('=') {
                    Some((n, val)) => (n, Some(macros(val)?)),
                    None => (v, Some(MacroString::literal("1"))),
                },
            };
            if name.trim().is_empty() {
                return Err(bad("setenv needs a variable name"));
            }
            Act::Effect(Effect::SetEnv {
                name: macros(name.trim())?,
                value,
            })
        }
        "initcol" => {
            let (col, key) = v
                .split_once('=')
                .ok_or_else(|| bad(format!("initcol needs COLLECTION=KEY, got {v:?}")))?;
            let col = persistent_collection(col)?;
            Act::Effect(Effect::InitCol {
                collection: col,
                key: macros(key)?,
            })
        }
        "expirevar" => {
            let (var, secs) = match v.split_once('=') {
                Some((n, s)) => (n, s),
                None => (v, "1"),
            };
            let (col, key) = split_var(var)?;
            Act::Effect(Effect::ExpireVar {
                collection: col,
                key,
                seconds: macros(secs.trim())?,
            })
        }
        "setuid" => Act::Effect(Effect::SetUid(macros(v)?)),
        "setsid" => Act::Effect(Effect::SetSid(macros(v)?)),
        "ctl" => Act::Effect(Effect::Ctl(parse_ctl(ctx, v)?)),
        _ => Act::Ignored,
    })
}

fn parse_id(v: &str) -> Result<u32, ActError> {
    match v.trim().parse::<u32>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(bad(format!(
            "id must be a number between 1 and 4294967295, got {v:?}"
        ))),
    }
}

fn small_level(v: &str, what: &str) -> Result<u8, ActError> {
    match v.trim().parse::<u8>() {
        Ok(n) if n <= 9 => Ok(n),
        _ => Err(bad(format!(
            "{what} must be a number from 0 to 9, got {v:?}"
        ))),
    }
}

/// Collections `setvar`/`expirevar` may write.
const WRITABLE: &[&str] = &["tx", "ip", "global", "session", "user", "resource"];

fn persistent_collection(name: &str) -> Result<String, ActError> {
    let lower = name.trim().to_ascii_lowercase();
    if WRITABLE.contains(&lower.as_str()) && lower != "tx" {
        Ok(lower)
    } else {
        Err(bad(format!(
            "initcol works on ip, global, session, user or resource, not {name:?}"
        )))
    }
}

/// Splits `coll.key` (key may contain macros; literal parts lower-cased
/// because collection keys are case-insensitive).
fn split_var(var: &str) -> Result<(String, MacroString), ActError> {
    let var = var.trim();
    let (col, key) = var.split_once('.').ok_or_else(|| {
        bad(format!(
            "expected COLLECTION.NAME (e.g. tx.score), got {var:?}"
        ))
    })?;
    let col_lower = col.to_ascii_lowercase();
    if !WRITABLE.contains(&col_lower.as_str()) {
        return Err(bad(format!("cannot set variables in collection {col:?} (use tx, ip, global, session, user or resource)")));
    }
    if key.is_empty() {
        return Err(bad(format!("missing variable name after {col}.")));
    }
    let mut key = macros(key)?;
    for part in &mut key.parts {
        if let MacroPart::Literal(s) = part {
            s.make_ascii_lowercase();
        }
    }
    Ok((col_lower, key))
}

fn parse_setvar(v: &str) -> Result<Effect, ActError> {
    if let Some(var) = v.strip_prefix('!') {
        let (collection, key) = split_var(var)?;
        return Ok(Effect::SetVar {
            collection,
            key,
            op: SetVarOp::Unset,
        });
    }
    // v2 `msre_action_setvar_parse`: no `=` sets the value "1"; leading
    // blanks of the value are dropped; `=+`/`=-` add and subtract.
    let (var, value) = match v.split_once('=') {
        Some((n, val)) => (n, val.trim_start()),
        None => (v, "1"),
    };
    let (collection, key) = split_var(var)?;
    let op = if let Some(n) = value.strip_prefix('+') {
        SetVarOp::Add(macros(n)?)
    } else if let Some(n) = value.strip_prefix('-') {
        SetVarOp::Sub(macros(n)?)
    } else {
        SetVarOp::Set(macros(value)?)
    };
    Ok(Effect::SetVar {
        collection,
        key,
        op,
    })
}

/// Parses `1`, `1-5`, `1,2 3-9` into id ranges.
pub(crate) fn parse_id_ranges(text: &str) -> Result<Vec<IdRange>, String> {
    let mut out = Vec::new();
    for part in text.split([',', ' ', '\t']).filter(|s| !s.is_empty()) {
        let range = match part.split_once('-') {
            Some((a, b)) => {
                let start = a
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("bad rule id range {part:?}"))?;
                let end = b
                    .trim()
                    .parse::<u32>()
                    .map_err(|_| format!("bad rule id range {part:?}"))?;
                if end < start {
                    return Err(format!("rule id range {part:?} ends before it starts"));
                }
                IdRange { start, end }
            }
            None => {
                let id = part
                    .parse::<u32>()
                    .map_err(|_| format!("bad rule id {part:?}"))?;
                IdRange { start: id, end: id }
            }
        };
        out.push(range);
    }
    if out.is_empty() {
        return Err("expected a rule id or range".into());
    }
    Ok(out)
}

fn on_off(v: &str, what: &str) -> Result<bool, ActError> {
    match v.trim().to_ascii_lowercase().as_str() {
        "on" => Ok(true),
        "off" => Ok(false),
        _ => Err(bad(format!("ctl:{what} takes On or Off, got {v:?}"))),
    }
}

fn name_pattern(ctx: &mut Ctx, source: &str) -> Result<NamePattern, ActError> {
    // v2 compiles tag/msg patterns with no flags: case-sensitive, matched
    // anywhere in the tag.
    let regex = ctx
        .tag_pattern(source)
        .map_err(|e| bad(format!("bad regex {source:?}: {e}")))?;
    Ok(NamePattern {
        source: source.to_string(),
        regex,
        literal: NamePattern::literal_of(source),
    })
}

fn parse_ctl(ctx: &mut Ctx, v: &str) -> Result<Ctl, ActError> {
    let (name, value) = v
        .split_once('=')
        .ok_or_else(|| bad(format!("ctl needs OPTION=VALUE, got {v:?}")))?;
    let value = value.trim();
    let lower = name.trim().to_ascii_lowercase();
    let target_of =
        |ctx: &mut Ctx, rest: &str| -> Result<crate::ir::variable::Exclusion, ActError> {
            parse_exclusion(ctx, rest).map_err(|m| ActError {
                unsupported: false,
                kind: CompileErrorKind::UnsupportedVariable,
                message: m,
                at_value: true,
            })
        };
    Ok(match lower.as_str() {
        "ruleengine" => Ctl::RuleEngine(EngineMode::parse(value).ok_or_else(|| {
            bad(format!(
                "ctl:ruleEngine takes On, Off or DetectionOnly, got {value:?}"
            ))
        })?),
        "ruleremovebyid" => Ctl::RuleRemoveById(parse_id_ranges(value).map_err(bad)?),
        "ruleremovebytag" => Ctl::RuleRemoveByTag(name_pattern(ctx, value)?),
        "ruleremovebymsg" => Ctl::RuleRemoveByMsg(name_pattern(ctx, value)?),
        "ruleremovetargetbyid" | "ruleremovetargetbytag" | "ruleremovetargetbymsg" => {
            let (what, target) = value
                .split_once(';')
                .ok_or_else(|| bad(format!("ctl:{name} needs WHAT;TARGET, got {value:?}")))?;
            let exclusion = target_of(ctx, target.trim())?;
            match lower.as_str() {
                "ruleremovetargetbyid" => {
                    Ctl::RuleRemoveTargetById(parse_id_ranges(what).map_err(bad)?, exclusion)
                }
                "ruleremovetargetbytag" => {
                    Ctl::RuleRemoveTargetByTag(name_pattern(ctx, what)?, exclusion)
                }
                _ => Ctl::RuleRemoveTargetByMsg(name_pattern(ctx, what)?, exclusion),
            }
        }
        "requestbodyaccess" => Ctl::RequestBodyAccess(on_off(value, name)?),
        "responsebodyaccess" => Ctl::ResponseBodyAccess(on_off(value, name)?),
        "forcerequestbodyvariable" => Ctl::ForceRequestBodyVariable(on_off(value, name)?),
        "requestbodyprocessor" => {
            Ctl::RequestBodyProcessor(BodyProcessor::parse(value).ok_or_else(|| {
                bad(format!(
                    "unknown request body processor {value:?} (URLENCODED, MULTIPART, JSON, XML)"
                ))
            })?)
        }
        "requestbodylimit" => Ctl::RequestBodyLimit(number(value, name)?),
        "responsebodylimit" => Ctl::ResponseBodyLimit(number(value, name)?),
        "auditengine" => Ctl::AuditEngine(AuditEngine::parse(value).ok_or_else(|| {
            bad(format!(
                "ctl:auditEngine takes On, Off or RelevantOnly, got {value:?}"
            ))
        })?),
        "auditlogparts" => Ctl::AuditLogParts(value.to_string()),
        "debugloglevel" => Ctl::DebugLogLevel(
            u32::try_from(number(value, name)?)
                .map_err(|_| bad(format!("bad debug log level {value:?}")))?,
        ),
        "hashengine" | "hashenforcement" => Ctl::Ignored(name.trim().to_string()),
        _ => return Err(bad(format!("unknown ctl option {:?}", name.trim()))),
    })
}

fn number(v: &str, what: &str) -> Result<u64, ActError> {
    v.trim()
        .parse()
        .map_err(|_| bad(format!("ctl:{what} needs a number, got {v:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_ranges() {
        assert_eq!(
            parse_id_ranges("1, 5-9 12").unwrap(),
            vec![
                IdRange { start: 1, end: 1 },
                IdRange { start: 5, end: 9 },
                IdRange { start: 12, end: 12 }
            ]
        );
        assert!(parse_id_ranges("9-5").is_err());
        assert!(parse_id_ranges("x").is_err());
    }

    #[test]
    fn setvar_forms() {
        let Effect::SetVar {
            collection,
            key,
            op,
        } = parse_setvar("tx.Score=+%{tx.x}").ok().unwrap()
        else {
            panic!()
        };
        assert_eq!(collection, "tx");
        assert_eq!(key.as_literal(), Some("score"));
        assert!(matches!(op, SetVarOp::Add(m) if m.has_macros()));
        assert!(matches!(
            parse_setvar("!tx.a").ok().unwrap(),
            Effect::SetVar {
                op: SetVarOp::Unset,
                ..
            }
        ));
        assert!(
            matches!(parse_setvar("tx.a").ok().unwrap(), Effect::SetVar { op: SetVarOp::Set(m), .. } if m.as_literal() == Some("1"))
        );
        assert!(parse_setvar("nocollection").is_err());
        assert!(parse_setvar("args.x=1").is_err());
    }

    fn pattern(source: &str) -> NamePattern {
        let mut ctx = Ctx::default();
        name_pattern(&mut ctx, source).ok().unwrap()
    }

    #[test]
    fn plain_tag_patterns_are_searched_as_literals() {
        let p = pattern("xss-perf-disable");
        assert_eq!(p.literal.as_deref(), Some("xss-perf-disable"));
        assert!(p.is_match(b"xss-perf-disable"));
        assert!(p.is_match(b"a-xss-perf-disable-b"));
        // Case-sensitive, as v2 compiles these patterns.
        assert!(!p.is_match(b"XSS-perf-disable"));
        assert!(!p.is_match(b"xss-perf"));
        for source in [
            "^attack-",
            "OWASP_CRS/.*",
            "a|b",
            "x+",
            "(y)",
            "[z]",
            "q?",
            "w{2}",
            "\\d",
            "$",
        ] {
            assert!(pattern(source).literal.is_none(), "{source}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2048))]

        #[test]
        fn a_literal_pattern_matches_as_its_regex(
            source in "[a-zA-Z0-9/_ -]{1,6}",
            text in "[a-zA-Z0-9/_ -]{0,16}",
        ) {
            let p = pattern(&source);
            proptest::prop_assert!(p.literal.is_some());
            let haystack = format!("{text}{source}{text}");
            for t in [text.as_bytes(), haystack.as_bytes()] {
                proptest::prop_assert_eq!(p.is_match(t), p.regex.is_match(t));
            }
        }
    }
}
