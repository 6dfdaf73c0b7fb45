//! Actions: what a rule does when it matches, after `SecDefaultAction`
//! inheritance has been applied at load time.

use std::sync::Arc;

use regex_automata::meta::Regex;

use super::macros::MacroString;
use super::variable::Exclusion;

/// The disruptive action of a rule (at most one; the last one written wins,
/// as in ModSecurity).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disruptive {
    /// `pass`: continue with the next rule.
    Pass,
    /// `deny`: stop and answer with `status` (403 if none).
    Deny,
    /// `drop`: close the connection (the engine reports it as a deny).
    Drop,
    /// `allow`: stop rule processing for the given scope.
    Allow(AllowScope),
    /// `redirect:URL`.
    Redirect(MacroString),
}

/// What `allow` skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AllowScope {
    /// `allow`: the rest of the transaction (all later phases, except logging).
    Transaction,
    /// `allow:phase`: the rest of the current phase.
    Phase,
    /// `allow:request`: the rest of the request phases (1 and 2).
    Request,
}

/// Rule severity (`severity:CRITICAL` or `severity:2`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Severity {
    /// 0.
    Emergency,
    /// 1.
    Alert,
    /// 2.
    Critical,
    /// 3.
    Error,
    /// 4.
    Warning,
    /// 5.
    Notice,
    /// 6.
    Info,
    /// 7.
    Debug,
}

impl Severity {
    /// All severities, by level.
    const ALL: [Severity; 8] = [
        Severity::Emergency,
        Severity::Alert,
        Severity::Critical,
        Severity::Error,
        Severity::Warning,
        Severity::Notice,
        Severity::Info,
        Severity::Debug,
    ];

    /// The numeric level (0 = EMERGENCY … 7 = DEBUG).
    pub fn level(self) -> u8 {
        self as u8
    }

    /// From a number or a name (`2`, `CRITICAL`, case-insensitive).
    pub fn parse(s: &str) -> Option<Severity> {
        let s = s.trim();
        if let Ok(n) = s.parse::<usize>() {
            return Severity::ALL.get(n).copied();
        }
        Severity::ALL
            .iter()
            .copied()
            .find(|sev| sev.name().eq_ignore_ascii_case(s))
    }

    /// The upper-case name.
    pub fn name(self) -> &'static str {
        [
            "EMERGENCY",
            "ALERT",
            "CRITICAL",
            "ERROR",
            "WARNING",
            "NOTICE",
            "INFO",
            "DEBUG",
        ][self as usize]
    }
}

/// The operation of a `setvar`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SetVarOp {
    /// `setvar:tx.a=value` (also `setvar:tx.a`, which sets `1`, as v2's
    /// `msre_action_setvar_parse` does).
    Set(MacroString),
    /// `setvar:tx.a=+value` (numeric).
    Add(MacroString),
    /// `setvar:tx.a=-value` (numeric).
    Sub(MacroString),
    /// `setvar:!tx.a`.
    Unset,
}

/// An inclusive range of rule ids (`ctl:ruleRemoveById=1-999999`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IdRange {
    /// First id.
    pub start: u32,
    /// Last id (equal to `start` for a single id).
    pub end: u32,
}

impl IdRange {
    /// True when `id` is inside the range.
    pub fn contains(&self, id: u32) -> bool {
        self.start <= id && id <= self.end
    }
}

/// A compiled tag (or msg) pattern for `ctl:ruleRemoveByTag` and friends.
/// ModSecurity v2 matches these as regular expressions.
#[derive(Clone, Debug)]
pub struct NamePattern {
    /// The pattern as written.
    pub source: String,
    /// The compiled pattern.
    pub regex: Arc<Regex>,
    /// The pattern itself when it has no regex metacharacter (CRS's
    /// `ctl:ruleRemoveTargetByTag=xss-perf-disable`): a substring search
    /// decides, as the unanchored, case-sensitive regex would. CRS's
    /// 941010 makes every XSS rule test its tags against that pattern on
    /// most requests; the regex also took a shared cache from its pool on
    /// each test, which threads other than the pool's first user pay for.
    pub literal: Option<String>,
}

impl NamePattern {
    /// The [`NamePattern::literal`] of `source`: the pattern when it has
    /// no PCRE metacharacter.
    pub fn literal_of(source: &str) -> Option<String> {
        const META: &[u8] = b"\\^$.|?*+()[]{}";
        (!source.is_empty() && !source.bytes().any(|b| META.contains(&b)))
            .then(|| source.to_string())
    }

    /// Whether the pattern matches somewhere in `text`.
    pub fn is_match(&self, text: &[u8]) -> bool {
        match &self.literal {
            // Tags and messages are short: comparing at each position
            // costs less than setting up a substring searcher per call.
            Some(literal) => {
                let literal = literal.as_bytes();
                text.windows(literal.len())
                    .any(|w| w.first() == literal.first() && w == literal)
            }
            None => self.regex.is_match(text),
        }
    }
}

/// Engine mode (`SecRuleEngine`, `ctl:ruleEngine`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum EngineMode {
    /// Rules run and disruptive actions take effect. The default: rasp
    /// protects unless told otherwise.
    #[default]
    On,
    /// Rules run and log, but never interrupt.
    DetectionOnly,
    /// Rules do not run.
    Off,
}

impl EngineMode {
    /// Parses `On`, `Off`, `DetectionOnly` (case-insensitive).
    pub fn parse(s: &str) -> Option<EngineMode> {
        match s.to_ascii_lowercase().as_str() {
            "on" => Some(EngineMode::On),
            "off" => Some(EngineMode::Off),
            "detectiononly" => Some(EngineMode::DetectionOnly),
            _ => None,
        }
    }
}

/// Request body processor (`ctl:requestBodyProcessor`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BodyProcessor {
    /// `URLENCODED`.
    UrlEncoded,
    /// `MULTIPART`.
    Multipart,
    /// `JSON`.
    Json,
    /// `XML`.
    Xml,
}

impl BodyProcessor {
    /// Parses `URLENCODED`, `MULTIPART`, `JSON`, `XML` (case-insensitive).
    pub fn parse(s: &str) -> Option<BodyProcessor> {
        match s.to_ascii_uppercase().as_str() {
            "URLENCODED" => Some(BodyProcessor::UrlEncoded),
            "MULTIPART" => Some(BodyProcessor::Multipart),
            "JSON" => Some(BodyProcessor::Json),
            "XML" => Some(BodyProcessor::Xml),
            _ => None,
        }
    }

    /// The name as `REQBODY_PROCESSOR` shows it.
    pub fn name(self) -> &'static str {
        match self {
            BodyProcessor::UrlEncoded => "URLENCODED",
            BodyProcessor::Multipart => "MULTIPART",
            BodyProcessor::Json => "JSON",
            BodyProcessor::Xml => "XML",
        }
    }
}

/// `SecAuditEngine` / `ctl:auditEngine`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum AuditEngine {
    /// Log every transaction.
    On,
    /// Log nothing.
    Off,
    /// Log transactions with a warning/error or a relevant status.
    #[default]
    RelevantOnly,
}

impl AuditEngine {
    /// Parses `On`, `Off`, `RelevantOnly` (case-insensitive).
    pub fn parse(s: &str) -> Option<AuditEngine> {
        match s.to_ascii_lowercase().as_str() {
            "on" => Some(AuditEngine::On),
            "off" => Some(AuditEngine::Off),
            "relevantonly" => Some(AuditEngine::RelevantOnly),
            _ => None,
        }
    }
}

/// A `ctl:` action: a per-transaction configuration change.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Ctl {
    /// `ctl:ruleEngine=On|Off|DetectionOnly`.
    RuleEngine(EngineMode),
    /// `ctl:ruleRemoveById=ID|A-B`.
    RuleRemoveById(Vec<IdRange>),
    /// `ctl:ruleRemoveByTag=REGEX`.
    RuleRemoveByTag(NamePattern),
    /// `ctl:ruleRemoveByMsg=REGEX`.
    RuleRemoveByMsg(NamePattern),
    /// `ctl:ruleRemoveTargetById=ID;TARGET`.
    RuleRemoveTargetById(Vec<IdRange>, Exclusion),
    /// `ctl:ruleRemoveTargetByTag=TAG;TARGET`.
    RuleRemoveTargetByTag(NamePattern, Exclusion),
    /// `ctl:ruleRemoveTargetByMsg=MSG;TARGET`.
    RuleRemoveTargetByMsg(NamePattern, Exclusion),
    /// `ctl:requestBodyAccess=On|Off`.
    RequestBodyAccess(bool),
    /// `ctl:responseBodyAccess=On|Off`.
    ResponseBodyAccess(bool),
    /// `ctl:requestBodyProcessor=…`.
    RequestBodyProcessor(BodyProcessor),
    /// `ctl:forceRequestBodyVariable=On|Off`.
    ForceRequestBodyVariable(bool),
    /// `ctl:requestBodyLimit=N`.
    RequestBodyLimit(u64),
    /// `ctl:responseBodyLimit=N`.
    ResponseBodyLimit(u64),
    /// `ctl:auditEngine=…`.
    AuditEngine(AuditEngine),
    /// `ctl:auditLogParts=…` (kept as written, e.g. `+E` or `ABIJDEFHZ`).
    AuditLogParts(String),
    /// `ctl:debugLogLevel=N` (accepted, has no effect in rasp).
    DebugLogLevel(u32),
    /// `ctl:hashEngine`, `ctl:hashEnforcement` and other options that rasp
    /// parses but that change nothing it evaluates.
    Ignored(String),
}

/// A non-disruptive action with a side effect, run in the order written.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Effect {
    /// `setvar`.
    SetVar {
        /// Collection name, lower-cased (`tx`, `ip`, `global`, `session`…).
        collection: String,
        /// The member key (may contain macros, e.g. `%{rule.id}`); lower-cased literals.
        key: MacroString,
        /// What to do.
        op: SetVarOp,
    },
    /// `setenv:NAME=VALUE` (`!NAME` unsets: value `None`).
    SetEnv {
        /// Variable name.
        name: MacroString,
        /// Value, or `None` to unset.
        value: Option<MacroString>,
    },
    /// `ctl:…`.
    Ctl(Ctl),
    /// `initcol:ip=%{REMOTE_ADDR}`.
    InitCol {
        /// Collection name, lower-cased.
        collection: String,
        /// The collection key.
        key: MacroString,
    },
    /// `expirevar:ip.blocked=60`.
    ExpireVar {
        /// Collection name, lower-cased.
        collection: String,
        /// Member key.
        key: MacroString,
        /// Seconds.
        seconds: MacroString,
    },
    /// `setuid:…`.
    SetUid(MacroString),
    /// `setsid:…`.
    SetSid(MacroString),
}

/// The actions of one rule (or of one link of a chain), with
/// `SecDefaultAction` already merged in.
#[derive(Clone, Debug)]
pub struct Actions {
    /// Effective disruptive action. For chain links other than the first
    /// this is `None`: only the chain head's disruptive action counts.
    pub disruptive: Option<Disruptive>,
    /// `block` was written: `disruptive` holds what it resolved to (the
    /// phase's `SecDefaultAction` disruptive action).
    pub block: bool,
    /// `status:N`.
    pub status: Option<u16>,
    /// `msg`.
    pub msg: Option<MacroString>,
    /// `logdata`.
    pub logdata: Option<MacroString>,
    /// `tag`s, in order (including inherited ones), shared with every
    /// record of a match of the rule.
    pub tags: Arc<[String]>,
    /// `severity`.
    pub severity: Option<Severity>,
    /// `ver`.
    pub ver: Option<String>,
    /// `rev`.
    pub rev: Option<String>,
    /// `maturity`.
    pub maturity: Option<u8>,
    /// `accuracy`.
    pub accuracy: Option<u8>,
    /// `capture`: fill `TX.0`–`TX.9` from the operator's match.
    pub capture: bool,
    /// `multiMatch`: run the operator after every transformation step.
    pub multi_match: bool,
    /// Effective `log` (after `nolog` / defaults).
    pub log: bool,
    /// Effective `auditlog`.
    pub auditlog: bool,
    /// `skip:N`: skip the next N rules (chains count as one).
    pub skip: u32,
    /// `skipAfter:MARKER`: index in the phase's entry list of the marker
    /// (execution continues after it). Resolved at load time.
    pub skip_after: Option<SkipTarget>,
    /// Side effects in the order written.
    pub effects: Vec<Effect>,
}

/// A resolved `skipAfter` target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SkipTarget {
    /// The marker (or rule id) name as written.
    pub marker: String,
    /// Index of the marker entry in the phase's [`crate::Phase`] entry list;
    /// `None` when the marker is not present in this phase (ModSecurity then
    /// skips to the end of the phase).
    pub index: Option<usize>,
}

impl Default for Actions {
    fn default() -> Actions {
        Actions {
            disruptive: None,
            block: false,
            status: None,
            msg: None,
            logdata: None,
            tags: Arc::from(Vec::new()),
            severity: None,
            ver: None,
            rev: None,
            maturity: None,
            accuracy: None,
            capture: false,
            multi_match: false,
            log: true,
            auditlog: true,
            skip: 0,
            skip_after: None,
            effects: Vec::new(),
        }
    }
}
