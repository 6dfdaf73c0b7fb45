//! Stores that nothing reads back: the TX members a [`stores_each`] head
//! sets that no rule but its own next link can read.
//!
//! Why: CRS's 920450 stores every request header name as a TX member
//! (`header_name_920450_<name>`, valued `/<name>/`), and only its chained
//! `@within` reads them. The direct run of [`stores_each`] still built
//! each member's key, hashed and inserted it, and each new member moved
//! the TX positions the shortcuts had found; measured (callgrind, PL1),
//! skipping them all took 4.7 % off a benign GET's instructions and 10 %
//! off refusing the 1 MiB body (phase 1's work); leaving out the unread
//! ones, with the checks that takes, 2.9 % and 6.1 %. The engine checks the
//! values the stores would make and, when it finds none, makes only the
//! stores some other rule could read (`Transaction::stores_each_misses`);
//! when it finds one, the head's effects run and the rule is evaluated in
//! full, as before.
//!
//! Exact, decided once per engine: the stores are left out only when
//! - every effect of the head sets a TX member whose key is a literal
//!   prefix and the capture (`tx.header_name_920450_%{TX.0}`), and the
//!   next link's one target is the TX members whose names start with a
//!   prefix of it (`TX:/^header_name_920450_/`, see [`prefix_read`]);
//! - no other link of the ruleset, in any phase, reads TX as a whole (the
//!   collection or its count as a target, `%{TX}`) nor writes a member
//!   whose key may start with one of those prefixes (`setvar`,
//!   `expirevar`: the next link would read it too);
//! - and a store is left out only when no other link names its key (as a
//!   target or in a `%{tx.…}` macro) nor selects it by a pattern
//!   ([`UnreadStores::read`]): CRS's paranoia-3 921180 reads
//!   `TX:/paramcounter_.*/`, which a header named `x-paramcounter_a`
//!   would reach. The members any rule can see are the same, in the same
//!   order, with the stores made or not.
//!
//! The transaction's one reader of TX from outside the rules,
//! `Transaction::tx_var`, works a left-out member out on demand from the
//! head's values.
//!
//! [`stores_each`]: super::stores_each

use crs_compiler::ir::action::{Disruptive, Effect, SetVarOp};
use crs_compiler::ir::macros::{MacroPart, MacroString};
use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::Rule;
use crs_compiler::ir::variable::{Selector, SelectorRegex, Target, Variable};
use crs_compiler::CompiledRuleset;

use super::is_capture;

/// The lower-cased prefix of the TX members `link` reads, when its one
/// target is the members whose names start with it
/// (`TX:/^header_name_920450_/`) and it reads them as they are: no
/// count, no transformation, no exclusion, not an action.
pub(crate) fn prefix_read(link: &Rule) -> Option<&[u8]> {
    let [target] = link.targets.as_slice() else {
        return None;
    };
    let Selector::Regex(SelectorRegex {
        literal_prefix: Some(prefix),
        ..
    }) = &target.selector
    else {
        return None;
    };
    let plain = target.variable == Variable::Tx
        && !target.count
        && !link.is_action
        && link.transforms.is_empty()
        && link.exclusions.is_empty();
    plain.then_some(prefix.as_slice())
}

/// The literal prefixes (lower-cased) of the keys `head`'s effects store:
/// `None` unless each effect is a `setvar` of a TX member keyed by a
/// literal and the capture.
pub(crate) fn stored_prefixes(head: &Rule) -> Option<Vec<Vec<u8>>> {
    head.actions
        .effects
        .iter()
        .map(|effect| match effect {
            Effect::SetVar {
                collection, key, ..
            } if collection == "tx" => match key.parts.as_slice() {
                [MacroPart::Literal(prefix), capture] if is_capture(capture) => {
                    Some(prefix.as_bytes().to_ascii_lowercase())
                }
                _ => None,
            },
            _ => None,
        })
        .collect()
}

/// Who else may read the members a `stores_each` head stores (see the
/// module documentation).
#[derive(Clone, Debug, Default)]
pub(crate) struct UnreadStores {
    /// Member keys other links name (lower-cased), among the stores'.
    keys: Vec<Vec<u8>>,
    /// Selectors of other links that may select some of the stores, each
    /// once.
    patterns: Vec<Pattern>,
}

/// A selector that may select some of the stores, and what a key it
/// selects must hold.
#[derive(Clone, Debug)]
struct Pattern {
    selector: Selector,
    /// A literal (lower-cased) every name the selector takes holds, when
    /// it can only be in the captured part of a key: neither the stores'
    /// literal prefixes hold it nor does it straddle one and the capture.
    /// CRS's (`TX:/paramcounter_.*/`) are longer than most header names,
    /// which then need no test of the pattern at all.
    in_capture: Option<Vec<u8>>,
}

impl UnreadStores {
    /// Whether another link may read the member named `key` (lower-cased),
    /// whose captured part starts at `captured`: the store of that member
    /// is made.
    pub(crate) fn read(&self, key: &[u8], captured: usize) -> bool {
        let capture = key.get(captured..).unwrap_or_default();
        self.keys.iter().any(|k| k == key)
            || self.patterns.iter().any(|p| {
                p.in_capture.as_deref().is_none_or(|l| holds(capture, l)) && p.selector.matches(key)
            })
    }

    /// Adds `selector` (a pattern, of a target that may select some of
    /// the stores keyed by `prefixes`).
    fn add_pattern(&mut self, selector: &Selector, prefixes: &[Vec<u8>]) {
        let Selector::Regex(r) = selector else {
            return;
        };
        let known = self.patterns.iter().any(|p| match &p.selector {
            Selector::Regex(known) => known.source == r.source,
            _ => false,
        });
        if known {
            return;
        }
        let in_capture = r.required.as_ref().and_then(|literal| {
            let l = literal.bytes.as_slice();
            // A literal a name must start with is not in the capture.
            let inside = !literal.at_start
                && prefixes.iter().all(|p| {
                    !holds(p, l)
                        && (1..l.len()).all(|k| !l.get(..k).is_some_and(|h| p.ends_with(h)))
                });
            inside.then(|| l.to_vec())
        });
        self.patterns.push(Pattern {
            selector: selector.clone(),
            in_capture,
        });
    }
}

/// Whether `haystack` holds `needle` (both lower-cased). Keys are short:
/// a header name is shorter than CRS's literals more often than not.
fn holds(haystack: &[u8], needle: &[u8]) -> bool {
    let Some(&first) = needle.first() else {
        return true;
    };
    haystack.len() >= needle.len()
        && haystack
            .windows(needle.len())
            .any(|w| w.first() == Some(&first) && w == needle)
}

/// Who else may read the stores of `stores_each` head `head`, when some
/// of them may be left out (see the module documentation).
pub(crate) fn stores_unread(head: &Rule, rules: &CompiledRuleset) -> Option<UnreadStores> {
    let next = head.chain.as_deref()?;
    let read = prefix_read(next)?;
    let prefixes = stored_prefixes(head)?;
    // The next link must read every store.
    if prefixes.is_empty() || !prefixes.iter().all(|p| p.starts_with(read)) {
        return None;
    }
    let mut readers = Readers {
        prefixes: &prefixes,
        out: UnreadStores::default(),
        whole: false,
    };
    for link in rules.rules().flat_map(|rule| rule.links()) {
        // The head's stores are the ones left out, and the next link's
        // target is the read accounted for; the rest of both is checked
        // like any other link.
        if link.link_index != next.link_index {
            for t in &link.targets {
                readers.target(t);
            }
        }
        let own_stores = link.link_index == head.link_index;
        for e in &link.actions.effects {
            readers.effect(e, own_stores);
        }
        readers.other_macros(link);
        if readers.whole {
            return None;
        }
    }
    Some(readers.out)
}

/// What the links of a ruleset may read or write of the TX members whose
/// keys start with one of `prefixes` (lower-cased): the readers found so
/// far, and whether one reads them all or writes one (`whole`: no store
/// may be left out).
struct Readers<'p> {
    prefixes: &'p [Vec<u8>],
    out: UnreadStores,
    whole: bool,
}

impl Readers<'_> {
    /// Whether `key` (lower-cased) may be one of the stores.
    fn among_stores(&self, key: &[u8]) -> bool {
        self.prefixes.iter().any(|p| key.starts_with(p))
    }

    /// A member named `key` is read.
    fn key(&mut self, key: &str) {
        let key = key.as_bytes().to_ascii_lowercase();
        if self.among_stores(&key) && !self.out.keys.contains(&key) {
            self.out.keys.push(key);
        }
    }

    fn target(&mut self, t: &Target) {
        if t.variable != Variable::Tx {
            return;
        }
        match &t.selector {
            Selector::Key(k) => self.key(k),
            Selector::Regex(SelectorRegex {
                literal_prefix: Some(prefix),
                ..
            }) => {
                let disjoint = self
                    .prefixes
                    .iter()
                    .all(|p| !prefix.starts_with(p) && !p.starts_with(prefix));
                if !disjoint {
                    self.out.add_pattern(&t.selector, self.prefixes);
                }
            }
            Selector::Regex(_) => self.out.add_pattern(&t.selector, self.prefixes),
            // The whole collection (or its count), or a selector added
            // later.
            _ => self.whole = true,
        }
    }

    fn macros(&mut self, m: &MacroString) {
        for part in &m.parts {
            match part {
                MacroPart::Var {
                    variable: Variable::Tx,
                    key: Some(k),
                } => self.key(k),
                // `%{TX}`: the collection's first member, whichever that is.
                MacroPart::Var {
                    variable: Variable::Tx,
                    key: None,
                } => self.whole = true,
                _ => {}
            }
        }
    }

    /// A TX member keyed by `key` is written.
    fn written(&mut self, key: &MacroString) {
        let may_be_a_store = match key.parts.as_slice() {
            [MacroPart::Literal(k)] => self.among_stores(&k.as_bytes().to_ascii_lowercase()),
            [MacroPart::Literal(k), ..] => {
                let k = k.as_bytes().to_ascii_lowercase();
                self.prefixes
                    .iter()
                    .any(|p| k.starts_with(p) || p.starts_with(&k))
            }
            _ => true,
        };
        self.whole |= may_be_a_store;
    }

    /// Effect `e`; the head's stores (`own_stores`) are the ones left out.
    fn effect(&mut self, e: &Effect, own_stores: bool) {
        match e {
            Effect::SetVar {
                collection,
                key,
                op,
            } => {
                match op {
                    SetVarOp::Set(m) | SetVarOp::Add(m) | SetVarOp::Sub(m) => self.macros(m),
                    SetVarOp::Unset => {}
                    // An operation added later: assume it reads everything.
                    _ => self.whole = true,
                }
                if collection == "tx" && !own_stores {
                    self.written(key);
                }
                self.macros(key);
            }
            Effect::ExpireVar {
                collection,
                key,
                seconds,
            } => {
                if collection == "tx" {
                    self.written(key);
                }
                self.macros(key);
                self.macros(seconds);
            }
            Effect::SetEnv { name, value } => {
                self.macros(name);
                if let Some(v) = value {
                    self.macros(v);
                }
            }
            Effect::InitCol { collection, key } => {
                self.whole |= collection == "tx";
                self.macros(key);
            }
            Effect::SetUid(m) | Effect::SetSid(m) => self.macros(m),
            Effect::Ctl(_) => {}
            // An effect added later: assume it reads everything.
            _ => self.whole = true,
        }
    }

    /// The link's macros outside its effects: its operator's argument,
    /// message, log data and redirect.
    fn other_macros(&mut self, link: &Rule) {
        let argument = match &link.operator.kind {
            OperatorKind::RxMacro(m) => Some(m),
            kind => kind.macro_argument(),
        };
        let a = &link.actions;
        let redirect = match &a.disruptive {
            Some(Disruptive::Redirect(m)) => Some(m),
            _ => None,
        };
        for m in [argument, a.msg.as_ref(), a.logdata.as_ref(), redirect]
            .into_iter()
            .flatten()
        {
            self.macros(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use crs_compiler::ir::rule::{Entry, Phase};

    use super::*;

    const HEAD: &str = r#"
SecRule REQUEST_HEADERS_NAMES "@rx ^.*$" "id:920450,phase:1,block,capture,t:lowercase,setvar:'tx.header_name_920450_%{tx.0}=/%{tx.0}/',chain"
    SecRule TX:/^header_name_920450_/ "@within %{tx.restricted}" "setvar:'tx.score=+5'"
"#;

    /// Who else reads 920450's stores when `others` is added to it.
    fn readers(others: &str) -> Option<UnreadStores> {
        let rules = crs_compiler::Compiler::new()
            .add_str("inline.conf", &format!("{HEAD}\n{others}"))
            .compile()
            .unwrap_or_else(|e| panic!("{e}"));
        let head = rules
            .phase(Phase::RequestHeaders)
            .entries
            .iter()
            .find_map(|e| match e {
                Entry::Rule(r) if r.id == 920450 => Some(r),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no 920450"));
        stores_unread(head, &rules)
    }

    /// [`readers`], where some stores may be left out.
    fn some_readers(others: &str) -> UnreadStores {
        readers(others).unwrap_or_else(|| panic!("no store may be left out with {others}"))
    }

    const PREFIX: usize = "header_name_920450_".len();

    fn read(r: &UnreadStores, name: &str) -> bool {
        r.read(format!("header_name_920450_{name}").as_bytes(), PREFIX)
    }

    #[test]
    fn stores_read_only_by_their_chain_may_all_be_left_out() {
        let alone = some_readers("");
        assert!(!read(&alone, "host"));
        // Members of another prefix, and other variables, are no readers.
        let others = some_readers(
            r#"
SecRule TX:/^header_name_920451_/ "@rx ." "id:2,phase:2,pass"
SecRule REQUEST_HEADERS "@rx ." "id:3,phase:2,pass,msg:'%{tx.score}'"
"#,
        );
        assert!(!read(&others, "host"));
    }

    #[test]
    fn readers_of_the_whole_collection_or_writers_keep_every_store() {
        for other in [
            r#"SecRule TX "@rx /host/" "id:2,phase:2,pass""#,
            r#"SecRule &TX "@gt 100" "id:2,phase:2,pass""#,
            r#"SecAction "id:2,phase:2,pass,setvar:tx.header_name_920450_host=1""#,
            r#"SecAction "id:2,phase:2,pass,setvar:'tx.header_%{tx.x}=1'""#,
            r#"SecAction "id:2,phase:2,pass,msg:'%{TX}'""#,
        ] {
            assert!(readers(other).is_none(), "{other}");
        }
    }

    #[test]
    fn named_and_pattern_readers_keep_the_stores_they_may_read() {
        let named =
            some_readers(r#"SecAction "id:2,phase:2,pass,msg:'%{tx.header_name_920450_host}'""#);
        assert!(read(&named, "host"));
        assert!(!read(&named, "accept"));
        let pattern = some_readers(r#"SecRule TX:/paramcounter_.*/ "@gt 1" "id:2,phase:2,pass""#);
        assert!(read(&pattern, "x-paramcounter_a"));
        assert!(!read(&pattern, "host"));
        // A literal that straddles the prefix and the capture is looked for
        // in the whole key.
        let straddling = some_readers(r#"SecRule TX:/0_host/ "@gt 1" "id:2,phase:2,pass""#);
        assert!(read(&straddling, "host"));
        assert!(!read(&straddling, "accept"));
        // And one the prefix holds reads every key.
        let within = some_readers(r#"SecRule TX:/name_9204/ "@gt 1" "id:2,phase:2,pass""#);
        assert!(read(&within, "accept"));
    }
}
