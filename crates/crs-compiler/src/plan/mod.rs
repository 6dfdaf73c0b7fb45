//! Grouping rules into multi-pattern gates.
//!
//! A gate answers, for a transformed value, whether a member's pattern
//! matches it: a positive rule can only match where it does, a negated
//! one only where it does not.
//! All gated rules of a phase that share a transformation chain form one
//! group, whatever their targets: the engine scans each distinct value
//! once (the scan is cached per value for the whole phase), and
//! runs a positive member's own operator (captures, `MATCHED_VAR`,
//! actions) only on the values whose scan hit that member's pattern. Rules that inspect
//! different targets still share the scan of the values they have in
//! common (ARGS, cookies and headers are inspected by most CRS rules).
//!
//! A rule is gated only when the scan is sure to see the same transformed
//! value the rule would see at its turn:
//! - heads and chain links alike, but only a head can be skipped for a
//!   whole phase: a link reads its answer per value, on the values it
//!   resolves when its turn comes (a link on `TX:0` or `MATCHED_VARS`,
//!   which the head's match sets, fails the rule on stable targets below);
//! - its operator is a constant `@rx`, `@pm` or `@validateByteRange`
//!   (`RxMacro` changes per transaction). A phrase list joins the set as
//!   one case-insensitive alternation of its phrases (written as a trie),
//!   which matches exactly when `@pm` does; a byte-range table as the
//!   class of the bytes it forbids, which matches exactly when the
//!   operator counts one.
//!   The scan is exact, not only a necessary condition, so a negated rule
//!   is gated too: it matches exactly the values its pattern misses (and
//!   cannot be skipped for a whole phase);
//! - `multiMatch` (which inspects every intermediate transformation
//!   result, not only the last) is no obstacle, but such a rule gets a
//!   group of its own kind ([`MatchGroup::multi_match`]), whose sweep
//!   reads the value and each step's result: the members' patterns miss
//!   all of them exactly when the operator would. The sweep leaves out the
//!   groups whose chain decodes binary data (`t:base64Decode` and the like
//!   turn every value into new bytes, see [`MatchGroup::swept`]): their
//!   members read the scan of the untransformed value only and run the
//!   operator on the later results themselves;
//! - every target is request or response data that does not change while
//!   a phase runs. `TX`, `MATCHED_VAR*`, `ENV`, persistent collections,
//!   `RULE`, time and duration variables, `HIGHEST_SEVERITY` and counts
//!   (`&ARGS`) change from rule to rule.
//!
//! Exclusions (static or `ctl:ruleRemoveTargetById`) decide which values a
//! rule inspects; the gate only decides, per inspected value, whether the
//! operator can match, so they need no special treatment.
//!
//! Patterns that match the empty string are left out: they hit on every
//! value, so gating them saves nothing and makes the set bigger. So are
//! rules that inspect only named values (`REQUEST_HEADERS:Content-Type`,
//! `REQUEST_METHOD`): see [`names_one_value`].
//!
//! The groups of a phase share sets ([`GatePlan::sets`]), and a set is
//! scanned once per distinct transformed value: most transformations leave
//! an ordinary value as it is, or chains end in the same cached copy
//! (`t:lowercase` and `t:urlDecodeUni,t:lowercase` on a value without
//! escapes), so a 4 KiB form field is scanned a few times per phase rather
//! than once per chain. A rule alone with its chain is a group of its own.
//!
//! Sets are compiled lazily ([`crate::program::LazySet`]): an engine
//! usually re-plans over the rules its configuration reaches
//! ([`plan_gates`]) and builds only those.

mod loosen;
mod strategy;

pub(crate) use strategy::build_all;

use std::collections::HashMap;

use tracing::debug;

use crate::ir::operator::OperatorKind;
use crate::ir::rule::{Entry, Rule};
use crate::ir::transform::Transform;
use crate::ir::variable::Variable;
use crate::program::{
    CompiledRuleset, GatePlan, GateRef, LazySet, MatchGroup, SetTarget, TargetReader,
};

/// Longest `@pm` list gated. The NFA of a phrase alternation grows with
/// the list: CRS's longest, php-errors.data (1,833 phrases, a response-body
/// rule), adds 2.5 MiB and 9 ms of load time to its set, and saves its
/// own Aho-Corasick pass over every response page (9 % of a benign GET
/// with a 2 KiB HTML page). Lists beyond this size stay with
/// Aho-Corasick.
const GATE_MAX_PHRASES: usize = 2_000;

/// Reason recorded for a rule the caller of [`plan_gates`] left out.
const LEFT_OUT: &str = "left out of the gates by the engine (not reached)";

/// Pattern source bytes per set. With the rules CRS reaches at paranoia
/// level 1 every phase then has one set. Measured in session 5: one set
/// per phase made the benign GET 4 % and the form POST 8 % faster (each
/// value walked once, not twice); at 256 KiB, PL4's sets were slower
/// (benign GET 96 → 137 µs). Twice (sessions 22 and 28) one set was not
/// taken, while phrase lists were written one branch per phrase: the
/// merged set's lazy DFA grew to 3.4× the memory on prose about SQL, and
/// random text (a session id) kept building costly states (a new
/// 32-hex-digit id took 4.1 µs to walk against 0.4 + 1.7 µs in two sets).
/// With phrase lists written as tries (session 29, see
/// `strategy::phrase_pattern`) the merged set walks such an id in 0.8 µs,
/// holds less after the prose than the two sets did, and the repeated
/// form POST is about 20 % faster.
const SET_BUDGET: usize = 128 * 1024;

/// The set patterns of a group and the chain its sweep applies. A chain
/// whose `t:lowercase` is followed only by steps that commute with it
/// (`Transform::commutes_with_lowercase`) is the same chain with that step
/// last; a chain that ends in `t:lowercase` (outside `multiMatch`, whose
/// intermediate results are checked one by one) is swept without that
/// step, on patterns rewritten to match before it: the value before the
/// step is usually a copy the set scans for other chains anyway, the
/// lower-cased one would be one more pass. The patterns stay as written
/// when one does not rewrite.
fn before_final_lowercase(first: &Rule, written: Vec<String>) -> (Vec<String>, Vec<Transform>) {
    if first.actions.multi_match {
        return (written, first.transforms.clone());
    }
    let chain = lowercase_late(&first.transforms);
    if let Some((Transform::Lowercase, before)) = chain.split_last() {
        let rewritten: Option<Vec<String>> = written
            .iter()
            .map(|p| crate::build::regex::before_lowercase(p))
            .collect();
        if let Some(rewritten) = rewritten {
            return (rewritten, before.to_vec());
        }
    }
    (written, chain)
}

/// `chain` with each `t:lowercase` moved past the steps after it that
/// commute with it: the same result for every value.
fn lowercase_late(chain: &[Transform]) -> Vec<Transform> {
    let mut chain = chain.to_vec();
    let mut i = chain.len();
    while i > 0 {
        i -= 1;
        let mut at = i;
        while chain.get(at) == Some(&Transform::Lowercase)
            && chain
                .get(at + 1)
                .is_some_and(|t| t.commutes_with_lowercase())
        {
            chain.swap(at, at + 1);
            at += 1;
        }
    }
    chain
}

/// Where the sweep may leave out a `t:lowercase` of `sweep` (see
/// `MatchGroup::lowercase_at`): its first one, when every pattern of the
/// group matches alike whatever the case of letters.
fn lowercase_at(first: &Rule, sweep: &[Transform], patterns: &[String]) -> Option<usize> {
    if first.actions.multi_match {
        return None;
    }
    let at = sweep.iter().position(|t| *t == Transform::Lowercase)?;
    patterns
        .iter()
        .all(|p| crate::build::regex::case_invariant(p))
        .then_some(at)
}

/// Variables whose values stay the same for the whole phase.
fn stable(v: Variable) -> bool {
    use Variable::*;
    matches!(
        v,
        Args | ArgsGet
            | ArgsPost
            | ArgsNames
            | ArgsGetNames
            | ArgsPostNames
            | ArgsCombinedSize
            | AuthType
            | Files
            | FilesCombinedSize
            | FilesNames
            | FilesSizes
            | FullRequest
            | FullRequestLength
            | MultipartFilename
            | MultipartName
            | MultipartPartHeaders
            | PathInfo
            | QueryString
            | RemoteAddr
            | RemoteHost
            | RemotePort
            | RemoteUser
            | RequestBasename
            | RequestBody
            | RequestBodyLength
            | RequestCookies
            | RequestCookiesNames
            | RequestFilename
            | RequestHeaders
            | RequestHeadersNames
            | RequestLine
            | RequestMethod
            | RequestProtocol
            | RequestUri
            | RequestUriRaw
            | ResponseBody
            | ResponseContentLength
            | ResponseContentType
            | ResponseHeaders
            | ResponseHeadersNames
            | ResponseProtocol
            | ResponseStatus
            | ServerAddr
            | ServerName
            | ServerPort
            | StatusLine
            | Xml
    )
}

/// Why a rule is not gated, or `None` when it can be.
fn ineligible(rule: &Rule) -> Option<&'static str> {
    let matches_empty = match &rule.operator.kind {
        // With a cache of its own: the regex's shared cache pool belongs
        // to the first thread that searches with it, which is then the
        // only one that takes a cache without a lock. That should be a
        // thread that serves requests, not the one that loads the rules.
        OperatorKind::Rx(rx) => {
            let mut cache = rx.regex.create_cache();
            rx.regex
                .search_with(&mut cache, &regex_automata::Input::new(b"".as_slice()))
                .is_some()
        }
        OperatorKind::Pm(set) if set.phrases.len() > GATE_MAX_PHRASES => {
            return Some("phrase list too long for a gate");
        }
        OperatorKind::Pm(set) => set.phrases.is_empty() || set.phrases.iter().any(String::is_empty),
        // Its pattern is the class of the bytes it forbids (see
        // `strategy::pattern`).
        OperatorKind::ValidateByteRange(_) => false,
        _ => return Some("operator is not a constant @rx, @pm or @validateByteRange"),
    };
    if rule.targets.is_empty() {
        return Some("no targets");
    }
    if let Some(t) = rule.targets.iter().find(|t| t.count || !stable(t.variable)) {
        return Some(if t.count {
            "counts a collection (&)"
        } else {
            "target changes during the phase"
        });
    }
    if matches_empty {
        return Some("pattern matches the empty string");
    }
    if rule.targets.iter().all(names_one_value) {
        return Some("inspects named values only");
    }
    None
}

/// Whether `target` names a few short values (`REQUEST_HEADERS:Host`,
/// `REQUEST_METHOD`) rather than a whole collection or a body. A rule on
/// such values runs its own operator on them in about the time of one set
/// lookup, while its pattern in a set costs every scan: such patterns
/// (`^[^;\s]+` on the Content-Type header, a request-line check) often
/// match any value, and a value that hits a pattern needs a second,
/// overlapping pass to tell which.
fn names_one_value(target: &crate::ir::variable::Target) -> bool {
    use crate::ir::variable::Selector;
    if target.variable.is_collection() {
        return matches!(target.selector, Selector::Key(_));
    }
    !matches!(
        target.variable,
        Variable::RequestBody | Variable::ResponseBody | Variable::FullRequest
    )
}

/// Finds gate groups and fills `groups`, `gates` and the report.
pub(crate) fn plan(rs: &mut CompiledRuleset) {
    let plan = plan_gates(rs, &|_| true);
    rs.groups = plan.groups;
    rs.sets = plan.sets;
    rs.set_targets = plan.set_targets;
    rs.gates = plan.gates;
    rs.report.ungated.extend(plan.ungated);
    rs.report.gated_links = rs.gates.iter().filter(|g| g.is_some()).count();
}

/// Plans the gates of `rs` for the rules `include` accepts (their chain
/// heads and links; the others stay ungated). Engines use it to leave out rules their
/// configuration never reaches (CRS rules above the paranoia level):
/// their patterns would only make every scan slower. Leaving a rule out
/// never changes results: an ungated rule runs its own operator on every
/// value.
pub fn plan_gates(rs: &CompiledRuleset, include: &dyn Fn(&Rule) -> bool) -> GatePlan {
    let mut plan = GatePlan {
        groups: Vec::new(),
        sets: Vec::new(),
        set_targets: Vec::new(),
        gates: vec![None; rs.link_count],
        ungated: Vec::new(),
    };
    // Rules sharing a phase and a transformation chain, in order of first
    // appearance. Targets are not part of the key: the scan result belongs
    // to a value, and every member checks only the values it inspects.
    let mut bucket_of: HashMap<(usize, &[Transform], bool), usize> = HashMap::new();
    // Each gated link's own targets, by link index.
    let mut link_targets: HashMap<usize, &[crate::ir::variable::Target]> = HashMap::new();
    let mut buckets: Vec<Vec<&Rule>> = Vec::new();
    for (p, program) in rs.phases.iter().enumerate() {
        // Chain links too: a link's gate answers per value from the scans
        // its set made for the phase (a response-body check behind a
        // status test, 954130, would otherwise run its own regex over
        // every HTML page).
        let links = program.entries.iter().flat_map(|entry| match entry {
            Entry::Rule(head) => head.links().map(|link| (head.as_ref(), link)).collect(),
            _ => Vec::new(),
        });
        for (head, rule) in links {
            if let Some(why) = ineligible(rule) {
                debug!(rule = rule.id, reason = why, "rule not gated");
                plan.ungated.push((rule.id, why));
                continue;
            }
            if !include(head) {
                plan.ungated.push((rule.id, LEFT_OUT));
                continue;
            }
            let next = buckets.len();
            let b = *bucket_of
                .entry((p, rule.transforms.as_slice(), rule.actions.multi_match))
                .or_insert(next);
            if b == next {
                buckets.push(Vec::new());
            }
            if let Some(members) = buckets.get_mut(b) {
                members.push(rule);
            }
            link_targets.insert(rule.link_index, rule.targets.as_slice());
        }
    }
    // Groups of one phase share sets: a set is scanned once per distinct
    // transformed value, so the fewer sets, the fewer passes over a value
    // that most chains leave as it is. A set grows up to a budget, beyond
    // which its lazy DFA would thrash and its build would be one long job.
    let mut sets: Vec<(usize, Vec<String>, usize)> = Vec::new(); // (phase, patterns, source bytes)
    for members in &buckets {
        let Some(first) = members.first() else {
            continue;
        };
        let written: Vec<String> = members.iter().map(|r| strategy::pattern(r)).collect();
        // The budget counts the patterns as written: a rewritten one prints
        // longer but compiles to an automaton of about the same size.
        let bytes: usize = written.iter().map(String::len).sum();
        let (patterns, sweep_transforms) = before_final_lowercase(first, written);
        let lowercase_at = lowercase_at(first, &sweep_transforms, &patterns);
        let phase = first.phase.index();
        // The first set of the phase with room: filling earlier sets
        // before opening one more keeps the number of passes down (a group
        // too big for the open set must not leave a small set behind).
        let set_index = match sets
            .iter()
            .position(|(p, _, b)| *p == phase && b + bytes <= SET_BUDGET)
        {
            Some(i) => i,
            None => {
                sets.push((phase, Vec::new(), 0));
                sets.len() - 1
            }
        };
        let Some((_, set_patterns, set_bytes)) = sets.get_mut(set_index) else {
            continue;
        };
        let first_pattern = set_patterns.len();
        set_patterns.extend(patterns);
        *set_bytes += bytes;
        let ids: Vec<u32> = members.iter().map(|r| r.id).collect();
        let group_index = plan.groups.len();
        debug!(group = group_index, set = set_index, phase = %first.phase, size = members.len(), rules = ?ids, "multi-pattern gate");
        for (i, r) in members.iter().enumerate() {
            if let Some(slot) = plan.gates.get_mut(r.link_index) {
                *slot = Some(GateRef {
                    group: group_index,
                    set: set_index,
                    pattern: first_pattern + i,
                });
            }
        }
        let mut targets: Vec<crate::ir::variable::Target> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for r in members {
            for t in &r.targets {
                if seen.insert(t.describe()) {
                    targets.push(t.clone());
                }
            }
        }
        plan.groups.push(MatchGroup {
            phase: first.phase,
            targets,
            transforms: first.transforms.clone(),
            sweep_transforms,
            lowercase_at,
            multi_match: first.actions.multi_match,
            set: set_index,
            first_pattern,
            members: members.iter().map(|r| r.link_index).collect(),
            member_ids: ids,
        });
    }
    plan.sets = sets
        .into_iter()
        .map(|(_, patterns, _)| LazySet::new(patterns))
        .collect();
    plan.set_targets = vec![Vec::new(); plan.sets.len()];
    let groups = &plan.groups;
    for (g, group) in groups.iter().enumerate() {
        let Some(targets) = plan
            .set_targets
            .get_mut(group.set)
            .filter(|_| group.swept())
        else {
            continue;
        };
        for t in &group.targets {
            let key = t.describe();
            // The members that read this target themselves (see
            // `TargetReader`).
            let patterns: Vec<usize> = group
                .members
                .iter()
                .enumerate()
                .filter(|(_, &link)| {
                    link_targets
                        .get(&link)
                        .is_some_and(|ts| ts.iter().any(|mt| mt.describe() == key))
                })
                .map(|(i, _)| group.first_pattern + i)
                .collect();
            let reader = TargetReader { group: g, patterns };
            let i = match targets.iter().position(|s| s.target.describe() == key) {
                Some(i) => i,
                None => {
                    targets.push(SetTarget {
                        target: t.clone(),
                        readers: Vec::new(),
                        transforms: Vec::new(),
                    });
                    targets.len() - 1
                }
            };
            let Some(target) = targets.get_mut(i) else {
                continue;
            };
            // Groups whose sweeps apply the same chain read the same bytes:
            // one reader answers for their members (CRS's XSS groups that
            // differ only in a final `t:lowercase`, see
            // `before_final_lowercase`). Not where one may leave a step out
            // and the other may not (`MatchGroup::lowercase_at`), nor where
            // one reads each step's result (`multiMatch`).
            let same_chain = target.readers.iter_mut().find(|r| {
                groups.get(r.group).is_some_and(|other| {
                    other.sweep_transforms == group.sweep_transforms
                        && other.lowercase_at == group.lowercase_at
                        && other.multi_match == group.multi_match
                })
            });
            match same_chain {
                Some(existing) => existing.patterns.extend(reader.patterns),
                None => target.readers.push(reader),
            }
            for step in &group.sweep_transforms {
                if !target.transforms.contains(step) {
                    target.transforms.push(*step);
                }
            }
        }
    }
    plan
}
