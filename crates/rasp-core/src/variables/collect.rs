//! Resolving a rule target into the values the operator sees.

use std::borrow::Cow;
use std::ops::Range;
use std::time::{SystemTime, UNIX_EPOCH};

use crs_compiler::ir::rule::Rule;
use crs_compiler::ir::variable::{
    eq_ignoring_case, starts_with_ignoring_case, Selector, SelectorRegex, Target, Variable,
};

use crate::variables::collections::Collection;
use crate::variables::{Collections, ExchangeData, Pair};

/// The name of a value, rendered only when a rule matches
/// (`MATCHED_VAR_NAME`, logs), so the hot path never formats strings.
#[derive(Clone, Debug)]
pub(crate) enum ValueName<'a> {
    /// A scalar: `REQUEST_URI`.
    Scalar(Variable),
    /// A collection member: `ARGS:q`.
    Member(Variable, Cow<'a, [u8]>),
    /// A count: `&ARGS`, `&ARGS:q` (the rule's own selector).
    Count(Variable, &'a Selector),
}

impl ValueName<'_> {
    /// Appends the name as ModSecurity writes it in `MATCHED_VAR_NAME`
    /// (`ARGS:q`).
    pub(crate) fn render_into(&self, out: &mut String) {
        use std::fmt::Write;
        match self {
            ValueName::Scalar(v) => out.push_str(v.name()),
            ValueName::Member(v, k) => {
                out.push_str(v.name());
                out.push(':');
                // Valid names (nearly all) are pushed as checked; a bare
                // `from_utf8_lossy` walked them in chunks and measured
                // slower per hit.
                match std::str::from_utf8(k) {
                    Ok(k) => out.push_str(k),
                    Err(_) => out.push_str(&String::from_utf8_lossy(k)),
                }
            }
            ValueName::Count(v, Selector::All) => {
                out.push('&');
                out.push_str(v.name());
            }
            ValueName::Count(v, Selector::Key(k)) => {
                out.push('&');
                out.push_str(v.name());
                out.push(':');
                out.push_str(k);
            }
            ValueName::Count(v, selector) => {
                // Writing to a string cannot fail.
                let _ = write!(out, "&{}:{}", v.name(), selector.describe());
            }
        }
    }
}

/// One value a target resolved to.
#[derive(Clone, Debug)]
pub(crate) struct Value<'a> {
    pub(crate) name: ValueName<'a>,
    pub(crate) value: Cow<'a, [u8]>,
}

/// What `MATCHED_VAR`, `MATCHED_VARS` and friends hold right now.
#[derive(Clone, Debug, Default)]
pub(crate) struct MatchedState {
    pub(crate) var_name: String,
    pub(crate) var: Vec<u8>,
    /// `MATCHED_VARS` within the current rule/chain: (name, value) ranges
    /// of `vars_text`. One buffer reused from rule to rule instead of two
    /// allocations per value: 920450 records every header name.
    vars: Vec<(Range<usize>, Range<usize>)>,
    vars_text: Vec<u8>,
}

impl MatchedState {
    /// Empties the state for the next rule, keeping its buffers.
    pub(crate) fn clear(&mut self) {
        self.var_name.clear();
        self.var.clear();
        self.vars.clear();
        self.vars_text.clear();
    }

    /// Empties the state for another transaction, keeping up to `bytes`
    /// of each buffer.
    pub(crate) fn recycle(&mut self, bytes: usize) {
        self.clear();
        self.var_name.shrink_to(bytes);
        self.var.shrink_to(bytes);
        self.vars.shrink_to(64);
        self.vars_text.shrink_to(bytes);
    }

    /// Adds a value to `MATCHED_VARS`.
    pub(crate) fn push_var(&mut self, name: &[u8], value: &[u8]) {
        let start = self.vars_text.len();
        self.vars_text.extend_from_slice(name);
        let middle = self.vars_text.len();
        self.vars_text.extend_from_slice(value);
        self.vars
            .push((start..middle, middle..self.vars_text.len()));
    }

    /// `MATCHED_VARS` as (name, value), in match order.
    pub(crate) fn vars(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let text = &self.vars_text;
        self.vars.iter().map(move |(n, v)| {
            (
                text.get(n.clone()).unwrap_or_default(),
                text.get(v.clone()).unwrap_or_default(),
            )
        })
    }
}

/// Everything a target or macro can read.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Scope<'a> {
    pub(crate) ex: &'a ExchangeData,
    pub(crate) cols: &'a Collections,
    pub(crate) matched: &'a MatchedState,
    /// The rule being evaluated (chain head), for `RULE.*`.
    pub(crate) rule: Option<&'a Rule>,
    pub(crate) highest_severity: u8,
    /// Transaction start, microseconds since the epoch.
    pub(crate) started_us: u128,
    /// libinjection's answers for the values the transaction checked.
    pub(crate) sqli: &'a std::cell::RefCell<crate::operator::detect_sqli::memo::SqliMemo>,
    /// The TX lists `@within` reads, indexed with the engine.
    pub(crate) within: &'a crate::operator::within::WithinLists,
}

fn num(n: impl ToString) -> Cow<'static, [u8]> {
    Cow::Owned(n.to_string().into_bytes())
}

/// A count as the operator reads it. Counts are compared by most CRS
/// initialisation and flow-control rules (`&TX:x "@eq 0"`) and are almost
/// always small, so those need no allocation.
fn count(n: usize) -> Cow<'static, [u8]> {
    const SMALL: [&[u8]; 10] = [b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"8", b"9"];
    match SMALL.get(n) {
        Some(digits) => Cow::Borrowed(digits),
        None => num(n),
    }
}

fn flag(b: bool) -> Cow<'static, [u8]> {
    Cow::Borrowed(if b { b"1" } else { b"0" })
}

/// Whether a rule link leaves out a member (`var`, member name) or a
/// scalar (`var`, empty name).
pub(crate) type Excluded<'e> = dyn Fn(Variable, &[u8]) -> bool + 'e;

/// Resolves `target` into `out`. `excluded(var, member_name)` says whether a
/// member is excluded for this rule (`None`: the link excludes nothing).
pub(crate) fn collect_target<'a>(
    scope: &Scope<'a>,
    target: &'a Target,
    excluded: Option<&Excluded<'_>>,
    out: &mut Vec<Value<'a>>,
) {
    if target.count {
        let n = match (&target.selector, scope.cols.by_variable(target.variable)) {
            // `&TX:name`: one lookup, nothing collected.
            (Selector::Key(k), Some(c)) => usize::from(c.get_pair(k.as_bytes()).is_some()),
            (selector, _) => match pairs_of(scope.ex, target.variable) {
                // Counted in place: `&REQUEST_HEADERS:Host` and the like,
                // a handful per request, each collected into a new list
                // only to be counted (an allocation and ~500 instructions).
                Some(pairs) => count_selected(pairs, selector),
                None => {
                    let mut members = Vec::new();
                    resolve(scope, target.variable, selector, &mut members);
                    members.len()
                }
            },
        };
        out.push(Value {
            name: ValueName::Count(target.variable, &target.selector),
            value: count(n),
        });
        return;
    }
    let start = out.len();
    resolve(scope, target.variable, &target.selector, out);
    // Most links exclude nothing: no test per value then.
    let Some(excluded) = excluded else {
        return;
    };
    if target.variable.is_collection() {
        let mut i = start;
        while i < out.len() {
            let drop = match &out[i].name {
                ValueName::Member(v, k) => excluded(*v, k),
                ValueName::Scalar(v) => excluded(*v, b""),
                ValueName::Count(..) => false,
            };
            if drop {
                out.remove(i);
            } else {
                i += 1;
            }
        }
    } else if excluded(target.variable, b"") {
        out.truncate(start);
    }
}

/// The first value of `variable[:key]`, for macro expansion.
pub(crate) fn first_value<'a>(
    scope: &Scope<'a>,
    variable: Variable,
    key: Option<&str>,
) -> Option<Cow<'a, [u8]>> {
    // Fast path for `%{tx.name}` and friends: a direct lookup, no selector.
    if let (Some(k), Some(c)) = (key, scope.cols.by_variable(variable)) {
        return c.get(k.as_bytes()).map(Cow::Borrowed);
    }
    // And for `%{MATCHED_VAR}` and `%{MATCHED_VAR_NAME}`, in the log data
    // of most CRS rules: the value itself, without a list of one.
    if key.is_none() {
        if let Some(v) = matched_scalar(scope, variable) {
            return Some(Cow::Borrowed(v));
        }
    }
    let mut out = Vec::new();
    let selector = match key {
        Some(k) => Selector::Key(k.to_owned()),
        None => Selector::All,
    };
    resolve(scope, variable, &selector, &mut out);
    out.into_iter().next().map(|v| v.value)
}

/// `MATCHED_VAR` or `MATCHED_VAR_NAME` (nothing before a first match,
/// and nothing for any other variable).
fn matched_scalar<'a>(scope: &Scope<'a>, var: Variable) -> Option<&'a [u8]> {
    let matched = scope.matched;
    if matched.var_name.is_empty() {
        return None;
    }
    match var {
        Variable::MatchedVar => Some(&matched.var),
        Variable::MatchedVarName => Some(matched.var_name.as_bytes()),
        _ => None,
    }
}

fn members<'a>(
    var: Variable,
    pairs: impl Iterator<Item = &'a Pair>,
    selector: &Selector,
    names: bool,
    out: &mut Vec<Value<'a>>,
) {
    let value = |p: &'a Pair| Value {
        name: ValueName::Member(var, Cow::Borrowed(&p.name)),
        value: Cow::Borrowed(if names { &p.name } else { &p.value }),
    };
    let push = |p: &'a Pair| out.push(value(p));
    // The selector's kind is decided once, not per member: most targets
    // take every member, or one by name (`REQUEST_HEADERS:User-Agent`,
    // compared with each of a dozen headers).
    match selector {
        // Every member: one reservation, then the values are written
        // without a capacity test each (the lists' iterators know their
        // length). Rules reading all of ARGS collect about 1,600 values
        // per bench JSON POST.
        Selector::All => out.extend(pairs.map(value)),
        Selector::Key(k) => pairs
            .filter(|p| eq_ignoring_case(k.as_bytes(), &p.name))
            .for_each(push),
        // CRS's way of iterating its own TX variables
        // (`TX:/^header_name_920450_/`): a prefix test per member.
        Selector::Regex(SelectorRegex {
            literal_prefix: Some(prefix),
            ..
        }) => pairs
            .filter(|p| starts_with_ignoring_case(&p.name, prefix))
            .for_each(push),
        _ => pairs.filter(|p| selector.matches(&p.name)).for_each(push),
    }
}

/// The members of a variable that is a list of name/value pairs of the
/// exchange, whose count is the count of its names too; `None` for any
/// other variable.
fn pairs_of(ex: &ExchangeData, var: Variable) -> Option<impl Iterator<Item = &Pair>> {
    use Variable as V;
    let list: &[Pair] = match var {
        V::RequestHeaders | V::RequestHeadersNames => &ex.request_headers,
        V::RequestCookies | V::RequestCookiesNames => &ex.cookies,
        V::ResponseHeaders | V::ResponseHeadersNames => &ex.response_headers,
        V::ArgsGet | V::ArgsGetNames => &ex.args_get,
        V::ArgsPost | V::ArgsPostNames => &ex.args_post,
        _ => return None,
    };
    Some(list.iter())
}

/// How many of `pairs` `selector` takes, as [`members`] would select
/// them.
fn count_selected<'a>(pairs: impl Iterator<Item = &'a Pair>, selector: &Selector) -> usize {
    match selector {
        Selector::All => pairs.count(),
        Selector::Key(k) => pairs
            .filter(|p| eq_ignoring_case(k.as_bytes(), &p.name))
            .count(),
        Selector::Regex(SelectorRegex {
            literal_prefix: Some(prefix),
            ..
        }) => pairs
            .filter(|p| starts_with_ignoring_case(&p.name, prefix))
            .count(),
        _ => pairs.filter(|p| selector.matches(&p.name)).count(),
    }
}

fn collection<'a>(var: Variable, c: &'a Collection, selector: &Selector, out: &mut Vec<Value<'a>>) {
    if let Selector::Key(k) = selector {
        if let Some(p) = c.get_pair(k.as_bytes()) {
            out.push(Value {
                name: ValueName::Member(var, Cow::Borrowed(&p.name)),
                value: Cow::Borrowed(&p.value),
            });
        }
        return;
    }
    members(var, c.entries().iter(), selector, false, out)
}

fn scalar<'a>(var: Variable, value: Cow<'a, [u8]>, out: &mut Vec<Value<'a>>) {
    out.push(Value {
        name: ValueName::Scalar(var),
        value,
    });
}

fn resolve<'a>(scope: &Scope<'a>, var: Variable, selector: &Selector, out: &mut Vec<Value<'a>>) {
    let ex = scope.ex;
    use Variable as V;
    match var {
        V::Args => members(var, ex.args(), selector, false, out),
        V::ArgsGet => members(var, ex.args_get.iter(), selector, false, out),
        V::ArgsPost => members(var, ex.args_post.iter(), selector, false, out),
        V::ArgsNames => members(var, ex.args(), selector, true, out),
        V::ArgsGetNames => members(var, ex.args_get.iter(), selector, true, out),
        V::ArgsPostNames => members(var, ex.args_post.iter(), selector, true, out),
        V::ArgsCombinedSize => scalar(var, num(ex.args_combined_size()), out),
        V::RequestHeaders => members(var, ex.request_headers.iter(), selector, false, out),
        V::RequestHeadersNames => members(var, ex.request_headers.iter(), selector, true, out),
        V::RequestCookies => members(var, ex.cookies.iter(), selector, false, out),
        V::RequestCookiesNames => members(var, ex.cookies.iter(), selector, true, out),
        V::ResponseHeaders => members(var, ex.response_headers.iter(), selector, false, out),
        V::ResponseHeadersNames => members(var, ex.response_headers.iter(), selector, true, out),
        V::MultipartPartHeaders => {
            members(var, ex.multipart_part_headers.iter(), selector, false, out)
        }
        V::Files | V::FilesNames | V::FilesSizes => {
            for f in ex.files.iter().filter(|f| selector.matches(&f.field)) {
                let value = match var {
                    V::Files => Cow::Borrowed(f.filename.as_slice()),
                    V::FilesNames => Cow::Borrowed(f.field.as_slice()),
                    _ => num(f.size),
                };
                out.push(Value {
                    name: ValueName::Member(var, Cow::Borrowed(&f.field)),
                    value,
                });
            }
        }
        V::FilesCombinedSize => scalar(var, num(ex.files_combined_size), out),
        V::MultipartFilename => {
            for f in &ex.multipart_filenames {
                scalar(var, Cow::Borrowed(f), out);
            }
        }
        V::MultipartName => {
            for f in &ex.multipart_names {
                scalar(var, Cow::Borrowed(f), out);
            }
        }
        V::Tx | V::Env | V::Ip | V::Global | V::Session | V::User | V::Resource => {
            if let Some(c) = scope.cols.by_variable(var) {
                collection(var, c, selector, out);
            }
        }
        V::MatchedVar | V::MatchedVarName => {
            if let Some(v) = matched_scalar(scope, var) {
                scalar(var, Cow::Borrowed(v), out);
            }
        }
        V::MatchedVars | V::MatchedVarsNames => {
            for (name, value) in scope.matched.vars() {
                if selector.matches(name) {
                    let v: &[u8] = if var == V::MatchedVars { value } else { name };
                    out.push(Value {
                        name: ValueName::Member(var, Cow::Borrowed(name)),
                        value: Cow::Borrowed(v),
                    });
                }
            }
        }
        V::Rule => {
            if let Some(rule) = scope.rule {
                let a = &rule.actions;
                let mut add = |key: &'static str, value: Option<Cow<'a, [u8]>>| {
                    if let Some(value) = value {
                        if selector.matches(key.as_bytes()) {
                            out.push(Value {
                                name: ValueName::Member(var, Cow::Borrowed(key.as_bytes())),
                                value,
                            });
                        }
                    }
                };
                add("id", Some(num(rule.id)));
                add("phase", Some(num(rule.phase.number())));
                add("rev", a.rev.as_deref().map(|s| Cow::Borrowed(s.as_bytes())));
                add("ver", a.ver.as_deref().map(|s| Cow::Borrowed(s.as_bytes())));
                add("severity", a.severity.map(|s| num(s.level())));
                add("maturity", a.maturity.map(num));
                add("accuracy", a.accuracy.map(num));
                add(
                    "msg",
                    a.msg
                        .as_ref()
                        .and_then(|m| m.as_literal())
                        .map(|s| Cow::Borrowed(s.as_bytes())),
                );
                add(
                    "logdata",
                    a.logdata
                        .as_ref()
                        .and_then(|m| m.as_literal())
                        .map(|s| Cow::Borrowed(s.as_bytes())),
                );
            }
        }
        V::HighestSeverity => scalar(var, num(scope.highest_severity), out),
        V::InboundDataError => scalar(var, flag(ex.inbound_data_error), out),
        V::OutboundDataError => scalar(var, flag(ex.outbound_data_error), out),
        V::UrlencodedError => scalar(var, flag(ex.urlencoded_error), out),
        V::ModsecBuild => scalar(var, Cow::Borrowed(b"020914100"), out),
        V::MultipartBoundaryQuoted
        | V::MultipartBoundaryWhitespace
        | V::MultipartCrlfLfLines
        | V::MultipartDataAfter
        | V::MultipartDataBefore
        | V::MultipartFileLimitExceeded
        | V::MultipartHeaderFolding
        | V::MultipartInvalidHeaderFolding
        | V::MultipartInvalidPart
        | V::MultipartInvalidQuoting
        | V::MultipartLfLine
        | V::MultipartMissingSemicolon
        | V::MultipartStrictError
        | V::MultipartUnmatchedBoundary
            if ex.multipart.is_some() =>
        {
            let Some(m) = ex.multipart else { return };
            let b = match var {
                V::MultipartBoundaryQuoted => m.boundary_quoted,
                V::MultipartBoundaryWhitespace => m.boundary_whitespace,
                V::MultipartCrlfLfLines => m.crlf_lf_lines(),
                V::MultipartDataAfter => m.data_after,
                V::MultipartDataBefore => m.data_before,
                V::MultipartFileLimitExceeded => m.file_limit_exceeded,
                V::MultipartHeaderFolding => m.header_folding,
                V::MultipartInvalidHeaderFolding => m.invalid_header_folding,
                V::MultipartInvalidPart => m.invalid_part,
                V::MultipartInvalidQuoting => m.invalid_quoting,
                V::MultipartLfLine => m.lf_line,
                V::MultipartMissingSemicolon => m.missing_semicolon,
                V::MultipartStrictError => m.strict_error(),
                _ => m.unmatched_boundary,
            };
            scalar(var, flag(b), out)
        }
        V::PathInfo
        | V::ScriptFilename
        | V::AuthType
        | V::RemoteUser
        | V::SessionId
        | V::UserId => {}
        V::QueryString => {
            if let Some(q) = &ex.query {
                scalar(var, Cow::Borrowed(q), out)
            }
        }
        V::RemoteAddr => scalar(var, Cow::Borrowed(&ex.remote_addr), out),
        V::RemoteHost => scalar(var, Cow::Borrowed(&ex.remote_addr), out),
        V::RemotePort => scalar(var, num(ex.remote_port), out),
        V::ServerAddr => scalar(var, Cow::Borrowed(&ex.server_addr), out),
        V::ServerName => scalar(var, Cow::Borrowed(&ex.server_name), out),
        V::ServerPort => scalar(var, num(ex.server_port), out),
        V::UniqueId => scalar(var, Cow::Borrowed(&ex.unique_id), out),
        // v2 keeps one body error; REQBODY_PROCESSOR_ERROR(_MSG) are its
        // older names.
        V::ReqbodyError | V::ReqbodyProcessorError => scalar(var, flag(ex.reqbody_error), out),
        V::ReqbodyErrorMsg | V::ReqbodyProcessorErrorMsg if ex.reqbody_error => {
            scalar(var, Cow::Borrowed(&ex.reqbody_error_msg), out)
        }
        // v2 always has a value, empty when no processor is selected (CRS
        // 901340 relies on that to force REQUEST_BODY).
        V::ReqbodyProcessor => {
            let name = ex.reqbody_processor.map_or("", |p| p.name());
            scalar(var, Cow::Borrowed(name.as_bytes()), out)
        }
        V::RequestBasename => scalar(var, Cow::Borrowed(&ex.basename), out),
        V::RequestBody if ex.request_body_visible => {
            scalar(var, Cow::Borrowed(&ex.request_body), out)
        }
        V::RequestBodyLength => scalar(var, num(ex.request_body_length), out),
        V::RequestFilename => scalar(var, Cow::Borrowed(&ex.path), out),
        V::RequestLine => scalar(var, Cow::Borrowed(&ex.request_line), out),
        V::RequestMethod => scalar(var, Cow::Borrowed(&ex.method), out),
        V::RequestProtocol => scalar(var, Cow::Borrowed(&ex.protocol), out),
        V::RequestUri => scalar(var, Cow::Borrowed(&ex.request_uri), out),
        V::RequestUriRaw => scalar(var, Cow::Borrowed(&ex.uri_raw), out),
        V::FullRequest => {
            let mut full = ex.request_line.clone();
            full.push(b'\n');
            for h in &ex.request_headers {
                full.extend_from_slice(&h.name);
                full.extend_from_slice(b": ");
                full.extend_from_slice(&h.value);
                full.push(b'\n');
            }
            full.push(b'\n');
            full.extend_from_slice(&ex.request_body);
            scalar(var, Cow::Owned(full), out)
        }
        V::FullRequestLength => {
            let len = ex.request_line.len()
                + 2
                + ex.request_headers
                    .iter()
                    .map(|h| h.name.len() + h.value.len() + 3)
                    .sum::<usize>()
                + ex.request_body.len();
            scalar(var, num(len), out)
        }
        V::ResponseBody if ex.response_body_visible => {
            scalar(var, Cow::Borrowed(&ex.response_body), out)
        }
        V::ResponseContentLength => {
            if let Some(v) = ex.response_header("content-length") {
                scalar(var, Cow::Borrowed(v), out)
            }
        }
        V::ResponseContentType => {
            if let Some(v) = ex.response_header("content-type") {
                scalar(var, Cow::Borrowed(v), out)
            }
        }
        V::ResponseProtocol if ex.response_status.is_some() => {
            scalar(var, Cow::Borrowed(&ex.response_protocol), out)
        }
        V::ResponseStatus => {
            if let Some(s) = ex.response_status {
                scalar(var, num(s), out)
            }
        }
        V::StatusLine => {
            if let Some(s) = ex.response_status {
                let mut line = ex.response_protocol.clone();
                line.extend_from_slice(format!(" {s}").as_bytes());
                scalar(var, Cow::Owned(line), out)
            }
        }
        // No XML body (most requests): nothing to select, and no need to
        // look at the selector (CRS reads `XML:/*` in about twenty rules).
        V::Xml if ex.xml_text.is_none() && ex.xml_attributes.is_empty() => {}
        V::Xml => match selector {
            Selector::XPath(x) if x.trim() == "//@*" => {
                for a in &ex.xml_attributes {
                    scalar(var, Cow::Borrowed(a), out);
                }
            }
            _ => {
                if let Some(t) = &ex.xml_text {
                    scalar(var, Cow::Borrowed(t), out)
                }
            }
        },
        V::Duration => {
            let now = now_us();
            scalar(var, num(now.saturating_sub(scope.started_us) / 1000), out)
        }
        V::Time
        | V::TimeDay
        | V::TimeEpoch
        | V::TimeHour
        | V::TimeMin
        | V::TimeMon
        | V::TimeSec
        | V::TimeWday
        | V::TimeYear => {
            let secs = (now_us() / 1_000_000) as i64;
            scalar(var, Cow::Owned(time_value(var, secs).into_bytes()), out)
        }
        // Not provided by an in-process engine: no value, so rules on them
        // never match (the compiler documents these).
        V::Geo | V::WebserverErrorLog | V::FilesTmpNames | V::FilesTmpContent => {}
        _ => {}
    }
}

pub(crate) fn now_us() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or(0)
}

/// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

fn time_value(var: Variable, secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (h, mi, s) = (rem / 3600, (rem % 3600) / 60, rem % 60);
    let (y, mo, d) = civil(days);
    // 1970-01-01 was a Thursday (4).
    let wday = (days + 4).rem_euclid(7);
    match var {
        Variable::TimeDay => format!("{d:02}"),
        Variable::TimeEpoch => secs.to_string(),
        Variable::TimeHour => format!("{h:02}"),
        Variable::TimeMin => format!("{mi:02}"),
        // ModSecurity counts months from 0 (struct tm).
        Variable::TimeMon => format!("{:02}", mo - 1),
        Variable::TimeSec => format!("{s:02}"),
        Variable::TimeWday => wday.to_string(),
        Variable::TimeYear => format!("{y:04}"),
        _ => format!("{h:02}:{mi:02}:{s:02}"),
    }
}
