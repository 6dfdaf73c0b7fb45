//! Running an operator against one (transformed) value.

use std::borrow::Cow;
use std::net::IpAddr;

use crs_compiler::ir::operator::{CompiledRegex, Operator, OperatorKind};
use regex_automata::meta::Regex;
use regex_automata::Input;

use crate::eval::macros::expand;
use crate::variables::Scope;

/// What an operator produced for one value.
#[derive(Debug, Default)]
pub(crate) struct OpOutcome {
    /// Whether `message` is wanted (formatting costs more than most
    /// operators; only matches that are logged need it).
    describe: bool,
    /// The operator matched (before negation).
    pub(crate) matched: bool,
    /// `TX.0`–`TX.9` when the rule captures.
    pub(crate) captures: Captures,
    /// ModSecurity-style description of the match (without the variable).
    pub(crate) message: String,
    /// What v2 writes after the variable (`[offset "3"]`), if anything.
    pub(crate) detail: String,
    /// The operator could not be evaluated (ModSecurity's "operator
    /// error"); the engine's fail mode decides what follows.
    pub(crate) error: Option<String>,
    /// For the `@within %{tx.list}` being evaluated: where the engine's
    /// index of the list is, when the list is still the indexed text
    /// (`Some(None)`: it is not). Found for the first value and kept for
    /// the link's other values, which see the same TX (see
    /// [`OpOutcome::forget_argument`]): CRS's 920450 checks every request
    /// header's name against one list, and looking the list up, with a
    /// comparison of its ~180 bytes, was most of each check.
    within: Option<Option<usize>>,
}

/// What a capturing match keeps for `TX.0`–`TX.9`: parts of the value
/// (byte ranges, without copying them), or bytes of its own.
#[derive(Debug, Default)]
pub(crate) enum Captures {
    /// Nothing captured.
    #[default]
    None,
    /// Groups `0..len` as ranges of the value; an empty range for a group
    /// that did not take part.
    Ranges {
        slots: [(usize, usize); 10],
        len: usize,
    },
    /// One value that is not part of the matched value (`@detectSQLi`'s
    /// fingerprint).
    Owned(Vec<u8>),
}

impl Captures {
    /// The whole range `start..end` of the value as `TX.0`.
    fn whole(start: usize, end: usize) -> Captures {
        let mut slots = [(0, 0); 10];
        slots[0] = (start, end);
        Captures::Ranges { slots, len: 1 }
    }

    /// The captured values, `TX.0` first, given the matched value.
    pub(crate) fn values<'a>(&'a self, value: &'a [u8]) -> impl Iterator<Item = &'a [u8]> {
        let (slots, owned): (&[(usize, usize)], Option<&[u8]>) = match self {
            Captures::None => (&[], None),
            Captures::Ranges { slots, len } => (slots.get(..*len).unwrap_or_default(), None),
            Captures::Owned(v) => (&[], Some(v.as_slice())),
        };
        owned.into_iter().chain(
            slots
                .iter()
                .map(move |&(start, end)| value.get(start..end).unwrap_or_default()),
        )
    }
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    memchr::memmem::find(hay, needle).is_some()
}

impl OpOutcome {
    /// Forgets what [`OpOutcome::within`] found: called before a link's
    /// values are checked, TX may have changed since the last link.
    pub(crate) fn forget_argument(&mut self) {
        self.within = None;
    }

    /// Makes a used outcome a new one, keeping the buffers of its texts:
    /// one outcome is reused for every operator run of a transaction, as
    /// building and returning one (about 250 bytes) per run cost about 30
    /// instructions, a quarter of a whole `@streq` run (CRS runs a few
    /// hundred operators per request).
    fn reset(&mut self, describe: bool) {
        self.describe = describe;
        self.matched = false;
        self.captures = Captures::None;
        self.message.clear();
        self.detail.clear();
        self.error = None;
    }

    /// Records a match, formatting its description only when wanted.
    fn hit(&mut self, message: impl FnOnce() -> String) {
        self.matched = true;
        if self.describe {
            self.message = message();
        }
    }
}

fn lossy(b: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(b)
}

fn captures_of(re: &Regex, value: &[u8]) -> Option<Captures> {
    // Most values do not match: decide with the lazy DFA first and pay for
    // capture slots (the slower engines) only on a hit.
    if !re.is_match(value) {
        return None;
    }
    // Slots for groups 0–9 on the stack: a `Captures` would allocate per
    // call, and `capture` only ever keeps ten groups.
    let groups = re.captures_len().min(10);
    let mut slots = [None; 20];
    let slots = slots.get_mut(..groups * 2).unwrap_or_default();
    re.search_slots(&Input::new(value), slots)?;
    let mut out = [(0, 0); 10];
    for (range, pair) in out.iter_mut().zip(slots.chunks_exact(2)) {
        if let [Some(start), Some(end)] = pair {
            *range = (start.get(), end.get());
        }
    }
    Some(Captures::Ranges {
        slots: out,
        len: groups,
    })
}

/// Runs a compiled pattern; `everything` says it matches every value in
/// full (see `CompiledRegex::matches_everything`), `message` makes the
/// match's description (`CompiledRegex::match_message`), when one is
/// wanted.
fn regex_outcome(
    o: &mut OpOutcome,
    re: &Regex,
    message: impl FnOnce() -> String,
    everything: bool,
    value: &[u8],
    capture: bool,
) {
    if everything {
        o.matched = true;
        if capture {
            o.captures = Captures::whole(0, value.len());
        }
    } else if capture {
        if let Some(c) = captures_of(re, value) {
            o.matched = true;
            o.captures = c;
        }
    } else {
        o.matched = re.is_match(value);
    }
    if o.matched && o.describe {
        o.message = message();
    }
}

/// Runs `op` on `value`, into `o` (whatever it held before is replaced).
/// `capture` asks for TX.0–TX.9.
pub(crate) fn run(
    op: &Operator,
    value: &[u8],
    scope: &Scope<'_>,
    capture: bool,
    describe: bool,
    o: &mut OpOutcome,
) {
    use OperatorKind as K;
    o.reset(describe);
    match &op.kind {
        K::Rx(rx) => regex_outcome(
            o,
            &rx.regex,
            || rx.match_message.clone(),
            rx.matches_everything,
            value,
            capture,
        ),
        K::RxMacro(m) => {
            let pattern = expand(m, scope);
            let pattern = String::from_utf8_lossy(&pattern).into_owned();
            // A pattern built from transaction data is compiled per use; a
            // pattern that does not compile is an operator error, as PCRE
            // compile errors are in ModSecurity.
            match crs_compiler::build::regex::compile(&pattern) {
                Ok(re) => {
                    let message = || CompiledRegex::match_message(&pattern);
                    regex_outcome(o, &re, message, false, value, capture);
                }
                Err(e) => {
                    o.error = Some(format!(
                        "@rx pattern built from macros does not compile: {e}"
                    ))
                }
            }
        }
        K::Pm(set) => {
            if let Some(m) = set.automaton.find(value) {
                let phrase = value.get(m.start()..m.end()).unwrap_or_default();
                o.hit(|| format!("Matched phrase \"{}\"", lossy(phrase)));
                if capture {
                    o.captures = Captures::whole(m.start(), m.end());
                }
            }
        }
        K::StrMatch(s) if contains(value, s.as_bytes()) => {
            o.hit(|| format!("String match \"{s}\""));
        }
        K::StrEq(m) => {
            let p = expand(m, scope);
            if value == p.as_ref() {
                o.hit(|| format!("String match \"{}\"", lossy(&p)));
            }
        }
        K::Contains(m) => {
            let p = expand(m, scope);
            if let Some(pos) = memchr::memmem::find(value, &p) {
                o.hit(|| format!("String match \"{}\"", lossy(&p)));
                if capture {
                    o.captures = Captures::whole(pos, pos + p.len());
                }
            }
        }
        K::ContainsWord(m) => {
            let p = expand(m, scope);
            if crate::operator::contains_word::contains_word(value, &p) {
                o.hit(|| format!("String match \"{}\"", lossy(&p)));
            }
        }
        K::BeginsWith(m) => {
            let p = expand(m, scope);
            if value.starts_with(&p) {
                o.hit(|| format!("String match \"{}\"", lossy(&p)));
            }
        }
        K::EndsWith(m) => {
            let p = expand(m, scope);
            if value.ends_with(&p) {
                o.hit(|| format!("String match \"{}\"", lossy(&p)));
            }
        }
        K::Within(m) => {
            let position = *o.within.get_or_insert_with(|| {
                let list = expand(m, scope);
                scope.within.position_for(m, &list)
            });
            let index = position.and_then(|i| scope.within.at(i));
            let within = match index {
                Some(index) => index.contains(value),
                None => contains(&expand(m, scope), value),
            };
            // ModSecurity: the empty value is within everything.
            if value.is_empty() || within {
                o.hit(|| format!("String match within \"{}\"", lossy(&expand(m, scope))));
            }
        }
        K::Eq(_) | K::Ge(_) | K::Gt(_) | K::Le(_) | K::Lt(_) => {
            use crate::operator::numeric::{atoi, Comparison};
            let Some((comparison, m)) = Comparison::of(&op.kind) else {
                return;
            };
            let argument = expand(m, scope);
            if comparison.matches(value, &argument) {
                o.hit(|| format!("Operator {} matched {}", comparison.name(), atoi(&argument)));
            }
        }
        K::IpMatch(nets) => {
            if let Some(ip) = std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.trim().parse::<IpAddr>().ok())
            {
                if nets.iter().any(|n| n.contains(ip)) {
                    o.hit(|| format!("IPmatch: \"{ip}\" matched"));
                }
            }
        }
        K::DetectSqli => {
            if let Some(fp) = scope.sqli.borrow_mut().detect(value) {
                o.hit(|| crate::operator::detect_sqli::message(&fp));
                if capture {
                    o.captures = Captures::Owned(fp.into_bytes());
                }
            }
        }
        K::DetectXss if crate::operator::detect_xss::detect_xss(value) => {
            o.hit(|| crate::operator::detect_xss::MESSAGE.to_string());
        }
        K::ValidateByteRange(table) => {
            let bad = crate::operator::validate_byte_range::count_outside(table, value);
            if bad > 0 {
                o.hit(|| format!("Found {bad} byte(s) outside range: {}", op.argument));
            }
        }
        K::ValidateUrlEncoding => {
            if let Err(e) = crate::operator::validate_url_encoding::validate(value) {
                o.hit(|| e.reason().to_string());
            }
        }
        K::ValidateUtf8Encoding => {
            if let Err(e) = crate::operator::validate_utf8_encoding::validate(value) {
                o.hit(|| e.reason());
                if describe {
                    o.detail = e.detail();
                }
            }
        }
        K::UnconditionalMatch => {
            o.hit(|| "Unconditional match in SecAction".to_string());
        }
        K::NoMatch => {}
        #[allow(unreachable_patterns)]
        _ => {}
    }
}
