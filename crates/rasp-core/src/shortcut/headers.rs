//! Rules that cannot match without one of some named request or response
//! headers.
//!
//! Why: CRS's protocol rules read headers most requests do not send
//! (`Content-Length`, `Content-Type` and `Transfer-Encoding` on a GET,
//! `Range`, `Request-Range`), often in a chain after a head that does
//! match (920170: a GET or HEAD, then its `Content-Length`), and each of
//! its response files starts with a rule on `Content-Encoding`, which most
//! responses do not have. About a dozen such rules are evaluated in phase
//! 1 of a benign GET and seven in its phase 4, each costing the reads of a
//! rule spread over the heap (its targets, its chain) to find that there
//! is no value. Which of the watched headers a request has is worked out
//! once, when phase 1 starts, and which a response has when phase 3
//! starts; the rule loop then decides these rules from one mask. The same
//! mask says which of the multipart body's lists have members (`FILES`,
//! `MULTIPART_PART_HEADERS`: 920120, 922100 and 922140 read them on every
//! request), worked out when each phase starts.

use crs_compiler::ir::operator::OperatorKind;
use crs_compiler::ir::rule::Rule;
use crs_compiler::ir::variable::{Selector, Target, Variable};

use crate::operator::numeric::{atoi, Comparison};
use crate::variables::{ExchangeData, Pair};

/// The longest header name watched: longer ones are left to the rules.
const LONGEST_NAME: usize = 40;

/// Whose headers a watched name is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HeaderSide {
    /// `REQUEST_HEADERS`.
    Request,
    /// `RESPONSE_HEADERS`.
    Response,
}

/// What a target reads that the mask can watch.
enum Watched<'r> {
    /// A named header.
    Header(HeaderSide, &'r str),
    /// A multipart list (see [`is_multipart_list`]), whatever the selector.
    List(Variable),
}

impl<'r> Watched<'r> {
    /// What `target` reads, when the mask can watch it.
    fn of(target: &'r Target) -> Option<Watched<'r>> {
        if is_multipart_list(target.variable) {
            return Some(Watched::List(target.variable));
        }
        let Selector::Key(name) = &target.selector else {
            return None;
        };
        match target.variable {
            Variable::RequestHeaders => Some(Watched::Header(HeaderSide::Request, name)),
            Variable::ResponseHeaders => Some(Watched::Header(HeaderSide::Response, name)),
            _ => None,
        }
    }
}

/// The header names the shortcuts watch, lower-cased, grouped by length;
/// the position of a name among them is its bit in a presence mask (so at
/// most 64 are watched, request and response names and the multipart
/// lists together).
#[derive(Debug, Default)]
pub(crate) struct HeaderWatch {
    /// Each name with its side and bit, ordered by length.
    names: Vec<(Box<[u8]>, HeaderSide, u8)>,
    /// `names[starts[n]..starts[n + 1]]` are the names of length `n`.
    starts: Vec<usize>,
    /// The bits of the response headers' names.
    response_bits: u64,
    /// Each watched multipart list with its bit.
    lists: Vec<(Variable, u8)>,
    /// Their bits.
    list_bits: u64,
}

/// Whether `variable` is one of the multipart body's lists, which have no
/// member before the body is parsed nor in other bodies.
fn is_multipart_list(variable: Variable) -> bool {
    matches!(
        variable,
        Variable::Files
            | Variable::FilesNames
            | Variable::FilesSizes
            | Variable::MultipartPartHeaders
            | Variable::MultipartFilename
            | Variable::MultipartName
    )
}

/// Which watched headers a transaction is known to have or lack: a bit of
/// `known` is set from when its side's presence was worked out until a
/// header of that side is added.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HeaderPresence {
    /// The bits whose presence is known.
    pub(crate) known: u64,
    /// Of those, the headers there.
    pub(crate) present: u64,
}

impl HeaderWatch {
    /// The bit the next watched name or list gets; `None` once 64 are.
    fn next_bit(&self) -> Option<u8> {
        u8::try_from(self.names.len() + self.lists.len())
            .ok()
            .filter(|&b| b < 64)
    }

    /// The bit of what `watched` reads, given one if new.
    fn bit_of(&mut self, watched: &Watched<'_>) -> Option<u64> {
        match *watched {
            Watched::Header(side, name) => self.bit(side, name),
            Watched::List(variable) => self.list_bit(variable),
        }
    }

    /// The bit of `name` on `side`, given one if new; `None` when 64
    /// names are watched already or it is longer than `LONGEST_NAME`.
    fn bit(&mut self, side: HeaderSide, name: &str) -> Option<u64> {
        let lower = name.to_ascii_lowercase().into_bytes().into_boxed_slice();
        if lower.len() > LONGEST_NAME {
            return None;
        }
        let known = self
            .names
            .iter()
            .find(|(n, s, _)| *n == lower && *s == side);
        if let Some((_, _, bit)) = known {
            return Some(1 << bit);
        }
        let bit = self.next_bit()?;
        let at = self
            .names
            .partition_point(|(n, _, _)| n.len() <= lower.len());
        self.names.insert(at, (lower, side, bit));
        self.starts = (0..=LONGEST_NAME + 1)
            .map(|len| self.names.partition_point(|(n, _, _)| n.len() < len))
            .collect();
        if side == HeaderSide::Response {
            self.response_bits |= 1 << bit;
        }
        Some(1 << bit)
    }

    /// The bit of multipart list `variable`, given one if new; `None`
    /// when 64 bits are given out already.
    fn list_bit(&mut self, variable: Variable) -> Option<u64> {
        if let Some((_, bit)) = self.lists.iter().find(|(v, _)| *v == variable) {
            return Some(1 << bit);
        }
        let bit = self.next_bit()?;
        self.lists.push((variable, bit));
        self.list_bits |= 1 << bit;
        Some(1 << bit)
    }

    /// Forgets what `presence` knows of the headers of `side` (one was
    /// added).
    pub(crate) fn forget(&self, side: HeaderSide, presence: &mut HeaderPresence) {
        presence.known &= !self.side_bits(side);
    }

    /// The bits of `side`'s names.
    fn side_bits(&self, side: HeaderSide) -> u64 {
        match side {
            HeaderSide::Request => !(self.response_bits | self.list_bits),
            HeaderSide::Response => self.response_bits,
        }
    }

    /// `presence` with the watched multipart lists of `ex` worked out:
    /// which have members now.
    pub(crate) fn learn_lists(&self, ex: &ExchangeData, presence: &mut HeaderPresence) {
        presence.known |= self.list_bits;
        presence.present &= !self.list_bits;
        for &(variable, bit) in &self.lists {
            let members = match variable {
                Variable::Files | Variable::FilesNames | Variable::FilesSizes => {
                    !ex.files.is_empty()
                }
                Variable::MultipartPartHeaders => !ex.multipart_part_headers.is_empty(),
                Variable::MultipartFilename => !ex.multipart_filenames.is_empty(),
                Variable::MultipartName => !ex.multipart_names.is_empty(),
                // Not watched: `is_multipart_list` admits no other.
                _ => true,
            };
            if members {
                presence.present |= 1 << bit;
            }
        }
    }

    /// `presence` with the watched names of `side` worked out from
    /// `headers` (that side's headers): known from now on.
    pub(crate) fn learn(&self, side: HeaderSide, headers: &[Pair], presence: &mut HeaderPresence) {
        let bits = self.side_bits(side);
        presence.known |= bits;
        presence.present &= !bits;
        if self.names.is_empty() {
            return;
        }
        for h in headers {
            let len = h.name.len();
            let (Some(&start), Some(&end)) = (self.starts.get(len), self.starts.get(len + 1))
            else {
                continue;
            };
            for (name, s, bit) in self.names.get(start..end).unwrap_or_default() {
                if *s == side && h.name.eq_ignore_ascii_case(name) {
                    presence.present |= 1 << bit;
                }
            }
        }
    }

    /// What `rule` needs of the watched headers to match at all (see
    /// [`HeaderNeeds`]): without it, `rule` cannot match, and skipping it
    /// cannot be told from evaluating it. `None` when no link of it says
    /// anything.
    ///
    /// A link needs one of its headers when each of its targets is a
    /// named request or response header (`REQUEST_HEADERS:Content-Length`):
    /// without the header there is no value to test, negated operator or
    /// not; or the count of one (`&REQUEST_HEADERS:Transfer-Encoding "!@eq
    /// 0"`) whose numeric comparison does not hold for 0. A link whose one
    /// target is such a count needs the header's absence when its
    /// comparison holds for no count from 1 on (`&REQUEST_HEADERS:Host "@eq
    /// 0"`). Only a link reached without any effect on the way counts:
    /// `eval_links` runs a matching link's effects before it tries the next
    /// one, so the links before it must have none (no `setvar`, `ctl` or
    /// the like, no `capture`) and an operator that cannot fail (a failure
    /// is an engine error, see `FailMode`). What else a partial match
    /// leaves (`MATCHED_VAR*`) is cleared when the next rule starts.
    pub(crate) fn needed_by(&mut self, rule: &Rule) -> Option<HeaderNeeds> {
        if rule.is_action {
            return None;
        }
        let mut needs = HeaderNeeds::default();
        let mut found = 0;
        for link in rule.links() {
            let (any_of, none_of) = self.needed_by_link(link);
            if let (Some(mask), Some(slot)) = (any_of, needs.any_of.get_mut(found)) {
                *slot = mask;
                found += 1;
            }
            needs.none_of |= none_of;
            if !is_silent(link) {
                break;
            }
        }
        (needs != HeaderNeeds::default()).then_some(needs)
    }

    /// The mask of the headers one of which `link` cannot match without,
    /// and the header whose presence rules it out (0: none); see
    /// [`HeaderWatch::needed_by`].
    fn needed_by_link(&mut self, link: &Rule) -> (Option<u64>, u64) {
        if link.is_action || link.targets.is_empty() {
            return (None, 0);
        }
        // Every target first, so that a link that says nothing takes no
        // bit: a multipart list has no value while it is empty, whatever
        // the selector; a header, without a header of that name.
        let counts = count_misses(link);
        let mut watched = Vec::with_capacity(link.targets.len());
        for target in &link.targets {
            let Some(w) = Watched::of(target) else {
                return (None, 0);
            };
            let misses = match (target.count, counts) {
                (false, _) => (true, false),
                (true, Some(misses)) => misses,
                (true, None) => return (None, 0),
            };
            watched.push((w, misses));
        }
        let mut any_of = Some(0);
        let mut none_of = 0;
        for (w, (misses_none, misses_some)) in &watched {
            let Some(bit) = self.bit_of(w) else {
                return (None, 0);
            };
            any_of = any_of.filter(|_| *misses_none).map(|mask| mask | bit);
            // A list with members may still have none the selector takes.
            let header = matches!(w, Watched::Header(..));
            if *misses_some && header && watched.len() == 1 {
                none_of = bit;
            }
        }
        (any_of, none_of)
    }
}

/// What a rule needs of the watched headers to match at all.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct HeaderNeeds {
    /// For each nonzero mask, one of its headers must be there.
    pub(crate) any_of: [u64; 2],
    /// None of these headers may be there.
    pub(crate) none_of: u64,
}

impl HeaderNeeds {
    /// Whether what the exchange is known to have rules the rule out.
    #[inline]
    pub(crate) fn ruled_out(&self, p: HeaderPresence) -> bool {
        let lacks = |m: u64| m != 0 && m & !p.known == 0 && m & p.present == 0;
        self.any_of.iter().any(|&m| lacks(m)) || self.none_of & p.known & p.present != 0
    }
}

/// For `link`'s operator, a numeric comparison with a literal applied to
/// a header's count: whether it misses a count of 0 (no such header), and
/// whether it misses every count from 1 on (the header there, once or
/// more). `None` for any other operator, or when transformations would
/// first change the count's text.
fn count_misses(link: &Rule) -> Option<(bool, bool)> {
    let (comparison, argument) = Comparison::of(&link.operator.kind)?;
    let argument = atoi(argument.as_literal()?.as_bytes());
    if !link.transforms.is_empty() {
        return None;
    }
    let matches = |n: i32| comparison.holds(n, argument) != link.operator.negated;
    // Each comparison either grows or shrinks with the count, or holds
    // (or fails) at one count only: these counts tell whether it holds
    // for some count from 1 on.
    let candidates = [
        1,
        argument.saturating_sub(1),
        argument,
        argument.saturating_add(1),
        i32::MAX,
    ];
    let some = candidates.iter().any(|&n| n >= 1 && matches(n));
    Some((!matches(0), !some))
}

/// Whether a match of `link` leaves nothing behind once its rule is done:
/// no effect, no capture, and an operator that cannot fail (only a
/// pattern built from macros can).
fn is_silent(link: &Rule) -> bool {
    link.actions.effects.is_empty()
        && !link.actions.capture
        && !matches!(link.operator.kind, OperatorKind::RxMacro(_))
}

#[cfg(test)]
mod tests {
    use crs_compiler::ir::rule::{Entry, Phase};

    use super::{HeaderPresence, HeaderSide, HeaderWatch};
    use crate::variables::Pair;

    /// What a rule needs, with names for bits: one of the names of each
    /// of the first two lists, none of the third.
    type Needs = Option<[Vec<String>; 3]>;

    /// What `needed_by` says of each rule of `text` (phases 1 and 4), by
    /// id, with the watched names for the bits (a response header's name
    /// after `response:`).
    fn needs(text: &str) -> Vec<(u32, Needs)> {
        let rules = crs_compiler::Compiler::new()
            .add_str("inline.conf", text)
            .compile()
            .unwrap_or_else(|e| panic!("{e}"));
        let mut watch = HeaderWatch::default();
        let mut found: Vec<_> = [Phase::RequestHeaders, Phase::ResponseBody]
            .into_iter()
            .flat_map(|p| rules.phase(p).entries.iter())
            .filter_map(|e| match e {
                Entry::Rule(r) => Some((r.id, watch.needed_by(r))),
                _ => None,
            })
            .collect();
        found.sort_by_key(|(id, _)| *id);
        let names = |mask: u64| -> Vec<String> {
            let mut names: Vec<String> = watch
                .names
                .iter()
                .filter(|(_, _, bit)| mask & (1 << bit) != 0)
                .map(|(n, side, _)| {
                    let n = String::from_utf8_lossy(n);
                    match side {
                        HeaderSide::Request => n.into_owned(),
                        HeaderSide::Response => format!("response:{n}"),
                    }
                })
                .chain(
                    watch
                        .lists
                        .iter()
                        .filter(|(_, bit)| mask & (1 << bit) != 0)
                        .map(|(v, _)| format!("list:{}", v.name())),
                )
                .collect();
            names.sort();
            names
        };
        found
            .into_iter()
            .map(|(id, needs)| {
                let named = needs.map(|n| {
                    let [a, b] = n.any_of;
                    [names(a), names(b), names(n.none_of)]
                });
                (id, named)
            })
            .collect()
    }

    fn some(a: &[&str], b: &[&str]) -> Needs {
        absent(a, b, &[])
    }

    fn absent(a: &[&str], b: &[&str], none: &[&str]) -> Needs {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        Some([v(a), v(b), v(none)])
    }

    #[test]
    fn a_rule_needs_headers_only_when_nothing_before_them_leaves_a_trace() {
        let found = needs(
            r#"
SecRule REQUEST_HEADERS:Content-Length "!@rx ^\d+$" "id:1,phase:1,pass"
SecRule REQUEST_METHOD "@rx ^GET$" "id:2,phase:1,pass,chain"
    SecRule REQUEST_HEADERS:Content-Length "!@rx ^0$"
SecRule REQUEST_METHOD "@rx ^GET$" "id:3,phase:1,pass,setvar:tx.a=1,chain"
    SecRule REQUEST_HEADERS:Content-Length "!@rx ^0$"
SecRule REQUEST_METHOD "@rx ^(GET)$" "id:4,phase:1,pass,capture,chain"
    SecRule REQUEST_HEADERS:Content-Length "!@rx ^0$"
SecRule REQUEST_METHOD "@rx ^%{tx.m}$" "id:5,phase:1,pass,chain"
    SecRule REQUEST_HEADERS:Content-Length "!@rx ^0$"
SecRule &REQUEST_HEADERS:Transfer-Encoding "!@eq 0" "id:6,phase:1,pass,chain"
    SecRule &REQUEST_HEADERS:Content-Length "!@eq 0"
SecRule &REQUEST_HEADERS:Content-Length "@eq 0" "id:7,phase:1,pass"
SecRule &REQUEST_HEADERS:Content-Length "@lt 1" "id:8,phase:1,pass"
SecRule &REQUEST_HEADERS:Content-Length "@gt 0" "id:9,phase:1,pass,t:length"
SecRule &REQUEST_HEADERS:Content-Length "@rx 1" "id:10,phase:1,pass"
SecRule &REQUEST_HEADERS:Range "@gt %{tx.n}" "id:11,phase:1,pass"
SecRule REQUEST_HEADERS "@rx x" "id:12,phase:1,pass"
SecRule REQUEST_HEADERS:/^x-/ "@rx x" "id:13,phase:1,pass"
SecRule REQUEST_HEADERS:Range|ARGS:range "@rx x" "id:14,phase:1,pass"
SecRule REQUEST_HEADERS:Range|REQUEST_HEADERS:If-Range "@rx x" "id:15,phase:1,pass"
SecRule REQUEST_HEADERS:Accept "@rx ^$" "id:16,phase:1,pass,setvar:tx.b=1,chain"
    SecRule REQUEST_HEADERS:User-Agent "@rx x"
SecAction "id:17,phase:1,pass,setvar:tx.c=1"
SecRule RESPONSE_HEADERS:Content-Encoding "@pm gzip br" "id:18,phase:4,pass"
SecRule RESPONSE_HEADERS:Range|REQUEST_HEADERS:Range "@rx x" "id:19,phase:4,pass"
SecRule RESPONSE_HEADERS "@rx x" "id:20,phase:4,pass"
SecRule REQUEST_METHOD "@streq POST" "id:21,phase:1,pass,chain"
    SecRule &REQUEST_HEADERS:Content-Length "@eq 0" "chain"
    SecRule &REQUEST_HEADERS:Transfer-Encoding "@eq 0"
SecRule &REQUEST_HEADERS:A|&REQUEST_HEADERS:B "@eq 0" "id:22,phase:1,pass"
SecRule &REQUEST_HEADERS:Range "!@gt 0" "id:23,phase:1,pass"
SecRule &REQUEST_HEADERS:Range "@eq 1" "id:24,phase:1,pass"
SecRule &REQUEST_HEADERS:Range "!@eq 1" "id:25,phase:1,pass"
SecRule &REQUEST_HEADERS:Range "@lt 2" "id:26,phase:1,pass"
SecRule &REQUEST_HEADERS:Range "!@ge 1" "id:27,phase:1,pass,setvar:tx.d=1,chain"
    SecRule &REQUEST_HEADERS:Host "@eq 0"
SecRule FILES|FILES_NAMES "!@rx x" "id:28,phase:1,pass"
SecRule &MULTIPART_PART_HEADERS:_charset_ "!@eq 0" "id:29,phase:1,pass"
SecRule &MULTIPART_PART_HEADERS "@eq 0" "id:30,phase:1,pass"
SecRule FILES:/x/|REQUEST_HEADERS:X-Filename "@rx a" "id:31,phase:1,pass"
SecRule FILES|ARGS "@rx a" "id:32,phase:1,pass"
"#,
        );
        let cl: &[&str] = &["content-length"];
        let expected = vec![
            (1, some(cl, &[])),
            (2, some(cl, &[])),
            // The head's setvar, its capture (TX:0) or a pattern that may
            // fail to compile would be skipped with it.
            (3, None),
            (4, None),
            (5, None),
            // `!@eq 0` fails on a count of 0, for both links.
            (6, some(&["transfer-encoding"], cl)),
            // These match without the header, and not with it.
            (7, absent(&[], &[], cl)),
            (8, absent(&[], &[], cl)),
            // A transformation, another operator or a macro: not known.
            (9, None),
            (10, None),
            (11, None),
            (12, None),
            (13, None),
            (14, None),
            (15, some(&["if-range", "range"], &[])),
            // The chain's header comes after the head's effect.
            (16, some(&["accept"], &[])),
            (17, None),
            (18, some(&["response:content-encoding"], &[])),
            (19, some(&["range", "response:range"], &[])),
            (20, None),
            // 920180's shape: a POST without a length.
            (
                21,
                absent(&[], &[], &["content-length", "transfer-encoding"]),
            ),
            // Either count may be 0 with the other header there.
            (22, None),
            (23, absent(&[], &[], &["range"])),
            (24, some(&["range"], &[])),
            // Holds for 0 and for 2 Range headers.
            (25, None),
            (26, None),
            // The head needs no Range; its effect stops the search there.
            (27, absent(&[], &[], &["range"])),
            // A multipart list: no value while empty, whatever the selector.
            (28, some(&["list:FILES", "list:FILES_NAMES"], &[])),
            (29, some(&["list:MULTIPART_PART_HEADERS"], &[])),
            // Members there may all be other part headers than counted.
            (30, None),
            (31, some(&["list:FILES", "x-filename"], &[])),
            (32, None),
        ];
        assert_eq!(found, expected);
    }

    #[test]
    fn presence_finds_watched_names_in_any_case_on_their_side() {
        let mut watch = HeaderWatch::default();
        let request = HeaderSide::Request;
        let response = HeaderSide::Response;
        let mut bit = |side, name| watch.bit(side, name).unwrap_or(0);
        let [a, b, c] = ["Content-Length", "range", "X-A"].map(|n| bit(request, n));
        let d = bit(response, "Range");
        assert_eq!(
            watch.bit(request, "CONTENT-LENGTH"),
            Some(a),
            "one bit per name"
        );
        assert_ne!(b, d, "one bit per side");
        let pairs = |names: &[&str]| -> Vec<Pair> {
            names
                .iter()
                .map(|n| Pair::new(n.as_bytes(), b"v".as_slice()))
                .collect()
        };
        let learn = |side, names: &[&str], presence: &mut HeaderPresence| {
            watch.learn(side, &pairs(names), presence);
        };
        let mut p = HeaderPresence::default();
        learn(request, &[], &mut p);
        assert_eq!((p.known & (a | b | c | d), p.present), (a | b | c, 0));
        learn(request, &["content-LENGTH", "Host"], &mut p);
        assert_eq!(p.present, a);
        learn(request, &["x-a", "RANGE", "Ranges"], &mut p);
        assert_eq!(p.present, b | c, "learnt again from scratch");
        learn(response, &["range"], &mut p);
        assert_eq!(
            (p.known & (a | b | c | d), p.present),
            (a | b | c | d, b | c | d)
        );
        learn(response, &["Content-Length"], &mut p);
        assert_eq!(p.present, b | c, "a request name is not a response's");
        let long = "x".repeat(super::LONGEST_NAME + 1);
        assert_eq!(watch.bit(request, &long), None);
    }

    #[test]
    fn at_most_64_names_are_watched() {
        let mut watch = HeaderWatch::default();
        for i in 0..63 {
            assert_eq!(
                watch.bit(HeaderSide::Request, &format!("h{i}")),
                Some(1 << i)
            );
        }
        assert_eq!(watch.bit(HeaderSide::Response, "h0"), Some(1 << 63));
        assert_eq!(watch.bit(HeaderSide::Request, "h64"), None);
        assert_eq!(watch.bit(HeaderSide::Request, "h62"), Some(1 << 62));
        assert_eq!(watch.side_bits(HeaderSide::Response), 1 << 63);
    }
}
