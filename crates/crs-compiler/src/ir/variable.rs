//! Variables (ModSecurity "targets"): what a rule inspects.

use std::fmt;
use std::sync::Arc;

use regex_automata::meta::Regex;

macro_rules! variables {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, $collection:literal; )*) => {
        /// A ModSecurity variable or collection, as named in SecLang.
        ///
        /// Collections (`ARGS`, `REQUEST_HEADERS`, `TX`, …) hold many
        /// name/value pairs and accept selectors (`ARGS:foo`); scalars
        /// (`REQUEST_URI`, `REQBODY_ERROR`, …) hold at most one value.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Variable {
            $( $(#[$doc])* #[doc = concat!("`", $name, "`")] $variant, )*
        }

        impl Variable {
            /// Every variable, in declaration order.
            pub const ALL: &'static [Variable] = &[ $( Variable::$variant, )* ];

            /// Looks a variable up by its SecLang name (case-insensitive).
            pub fn from_name(name: &str) -> Option<Variable> {
                $( if name.eq_ignore_ascii_case($name) { return Some(Variable::$variant); } )*
                None
            }

            /// The canonical (upper-case) SecLang name.
            pub fn name(self) -> &'static str {
                match self { $( Variable::$variant => $name, )* }
            }

            /// True for collections (many name/value pairs, selectors allowed).
            pub fn is_collection(self) -> bool {
                match self { $( Variable::$variant => $collection, )* }
            }
        }
    };
}

variables! {
    Args = "ARGS", true;
    ArgsGet = "ARGS_GET", true;
    ArgsPost = "ARGS_POST", true;
    ArgsNames = "ARGS_NAMES", true;
    ArgsGetNames = "ARGS_GET_NAMES", true;
    ArgsPostNames = "ARGS_POST_NAMES", true;
    ArgsCombinedSize = "ARGS_COMBINED_SIZE", false;
    AuthType = "AUTH_TYPE", false;
    Duration = "DURATION", false;
    Env = "ENV", true;
    Files = "FILES", true;
    FilesCombinedSize = "FILES_COMBINED_SIZE", false;
    FilesNames = "FILES_NAMES", true;
    FilesSizes = "FILES_SIZES", true;
    FilesTmpNames = "FILES_TMPNAMES", true;
    FilesTmpContent = "FILES_TMP_CONTENT", true;
    FullRequest = "FULL_REQUEST", false;
    FullRequestLength = "FULL_REQUEST_LENGTH", false;
    Geo = "GEO", true;
    Global = "GLOBAL", true;
    HighestSeverity = "HIGHEST_SEVERITY", false;
    InboundDataError = "INBOUND_DATA_ERROR", false;
    Ip = "IP", true;
    MatchedVar = "MATCHED_VAR", false;
    MatchedVarName = "MATCHED_VAR_NAME", false;
    MatchedVars = "MATCHED_VARS", true;
    MatchedVarsNames = "MATCHED_VARS_NAMES", true;
    ModsecBuild = "MODSEC_BUILD", false;
    MultipartBoundaryQuoted = "MULTIPART_BOUNDARY_QUOTED", false;
    MultipartBoundaryWhitespace = "MULTIPART_BOUNDARY_WHITESPACE", false;
    MultipartCrlfLfLines = "MULTIPART_CRLF_LF_LINES", false;
    MultipartDataAfter = "MULTIPART_DATA_AFTER", false;
    MultipartDataBefore = "MULTIPART_DATA_BEFORE", false;
    MultipartFileLimitExceeded = "MULTIPART_FILE_LIMIT_EXCEEDED", false;
    MultipartFilename = "MULTIPART_FILENAME", true;
    MultipartHeaderFolding = "MULTIPART_HEADER_FOLDING", false;
    MultipartInvalidHeaderFolding = "MULTIPART_INVALID_HEADER_FOLDING", false;
    MultipartInvalidPart = "MULTIPART_INVALID_PART", false;
    MultipartInvalidQuoting = "MULTIPART_INVALID_QUOTING", false;
    MultipartLfLine = "MULTIPART_LF_LINE", false;
    MultipartMissingSemicolon = "MULTIPART_MISSING_SEMICOLON", false;
    MultipartName = "MULTIPART_NAME", true;
    MultipartPartHeaders = "MULTIPART_PART_HEADERS", true;
    MultipartStrictError = "MULTIPART_STRICT_ERROR", false;
    MultipartUnmatchedBoundary = "MULTIPART_UNMATCHED_BOUNDARY", false;
    OutboundDataError = "OUTBOUND_DATA_ERROR", false;
    PathInfo = "PATH_INFO", false;
    QueryString = "QUERY_STRING", false;
    RemoteAddr = "REMOTE_ADDR", false;
    RemoteHost = "REMOTE_HOST", false;
    RemotePort = "REMOTE_PORT", false;
    RemoteUser = "REMOTE_USER", false;
    ReqbodyError = "REQBODY_ERROR", false;
    ReqbodyErrorMsg = "REQBODY_ERROR_MSG", false;
    ReqbodyProcessor = "REQBODY_PROCESSOR", false;
    ReqbodyProcessorError = "REQBODY_PROCESSOR_ERROR", false;
    ReqbodyProcessorErrorMsg = "REQBODY_PROCESSOR_ERROR_MSG", false;
    RequestBasename = "REQUEST_BASENAME", false;
    RequestBody = "REQUEST_BODY", false;
    RequestBodyLength = "REQUEST_BODY_LENGTH", false;
    RequestCookies = "REQUEST_COOKIES", true;
    RequestCookiesNames = "REQUEST_COOKIES_NAMES", true;
    RequestFilename = "REQUEST_FILENAME", false;
    RequestHeaders = "REQUEST_HEADERS", true;
    RequestHeadersNames = "REQUEST_HEADERS_NAMES", true;
    RequestLine = "REQUEST_LINE", false;
    RequestMethod = "REQUEST_METHOD", false;
    RequestProtocol = "REQUEST_PROTOCOL", false;
    RequestUri = "REQUEST_URI", false;
    RequestUriRaw = "REQUEST_URI_RAW", false;
    Resource = "RESOURCE", true;
    ResponseBody = "RESPONSE_BODY", false;
    ResponseContentLength = "RESPONSE_CONTENT_LENGTH", false;
    ResponseContentType = "RESPONSE_CONTENT_TYPE", false;
    ResponseHeaders = "RESPONSE_HEADERS", true;
    ResponseHeadersNames = "RESPONSE_HEADERS_NAMES", true;
    ResponseProtocol = "RESPONSE_PROTOCOL", false;
    ResponseStatus = "RESPONSE_STATUS", false;
    Rule = "RULE", true;
    ScriptFilename = "SCRIPT_FILENAME", false;
    ServerAddr = "SERVER_ADDR", false;
    ServerName = "SERVER_NAME", false;
    ServerPort = "SERVER_PORT", false;
    Session = "SESSION", true;
    SessionId = "SESSIONID", false;
    StatusLine = "STATUS_LINE", false;
    Time = "TIME", false;
    TimeDay = "TIME_DAY", false;
    TimeEpoch = "TIME_EPOCH", false;
    TimeHour = "TIME_HOUR", false;
    TimeMin = "TIME_MIN", false;
    TimeMon = "TIME_MON", false;
    TimeSec = "TIME_SEC", false;
    TimeWday = "TIME_WDAY", false;
    TimeYear = "TIME_YEAR", false;
    Tx = "TX", true;
    UniqueId = "UNIQUE_ID", false;
    UrlencodedError = "URLENCODED_ERROR", false;
    User = "USER", true;
    UserId = "USERID", false;
    WebserverErrorLog = "WEBSERVER_ERROR_LOG", true;
    Xml = "XML", true;
}

impl fmt::Display for Variable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which members of a collection a target selects.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Selector {
    /// The whole collection (or the scalar's single value).
    All,
    /// Members whose name equals this key, compared ASCII case-insensitively.
    /// Stored lower-cased.
    Key(String),
    /// Members whose name matches this regex (`ARGS:/^id_/`), compiled with
    /// the same PCRE-compatible settings as `@rx`.
    Regex(SelectorRegex),
    /// An XPath expression, for `XML:/*` and friends.
    XPath(String),
}

/// A compiled selector regex together with its source text.
#[derive(Clone, Debug)]
pub struct SelectorRegex {
    /// The pattern as written between the slashes.
    pub source: String,
    /// The compiled pattern (byte mode, case-insensitive like ModSecurity's
    /// name matching).
    pub regex: Arc<Regex>,
    /// For patterns that are only `^` and a literal (`^header_name_920450_`,
    /// the form CRS uses to iterate its own TX variables), the literal,
    /// lower-cased: a prefix comparison decides, without running the
    /// regex over every member.
    pub literal_prefix: Option<Vec<u8>>,
    /// For other patterns, a literal every matching name holds, when the
    /// pattern starts with one: a name without it is not selected, and the
    /// regex runs only on the names that have it. CRS excludes cookies by
    /// `!REQUEST_COOKIES:/^pbjs-\w+$/` and `/^_ga(?:_\w+)?$/` in over a
    /// dozen rules, and selects `TX:/paramcounter_.*/`; each test took
    /// the regex's cache from its pool, which threads other than the
    /// pool's first user pay for with a lock.
    pub required: Option<NameLiteral>,
}

/// A byte that stands for itself in a selector pattern, as the literal
/// analyses read it (letters, digits, `_`, `-`).
fn literal_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// A literal every name a selector regex matches holds (see
/// [`SelectorRegex::required`]), compared ignoring ASCII case as the
/// regex is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameLiteral {
    /// The literal, lower-cased.
    pub bytes: Vec<u8>,
    /// Whether names start with it (the pattern is anchored with `^`);
    /// otherwise they contain it.
    pub at_start: bool,
}

impl NameLiteral {
    /// The literal `source` starts with (after an optional `^`): its
    /// leading letters, digits, `_` and `-`, without the last one when a
    /// quantifier follows it (`?`, `*`, `{`, or `+`, which another one may
    /// follow: `a+*`). `None` for a
    /// pattern with an alternation (which may match without it) or when
    /// fewer than two bytes are left.
    pub fn of(source: &str) -> Option<NameLiteral> {
        if source.contains('|') {
            return None;
        }
        let (at_start, rest) = match source.strip_prefix('^') {
            Some(rest) => (true, rest),
            None => (false, source),
        };
        let rest = rest.as_bytes();
        let mut len = rest.iter().take_while(|b| literal_name_byte(**b)).count();
        if matches!(rest.get(len), Some(b'?' | b'*' | b'{' | b'+')) {
            len = len.saturating_sub(1);
        }
        let bytes = rest.get(..len)?.to_ascii_lowercase();
        (bytes.len() >= 2).then_some(NameLiteral { bytes, at_start })
    }

    /// Whether `name` holds the literal where it must.
    #[inline]
    pub fn found_in(&self, name: &[u8]) -> bool {
        let literal = self.bytes.as_slice();
        if self.at_start {
            return starts_with_ignoring_case(name, literal);
        }
        if literal.is_empty() {
            return true;
        }
        // Each position is a prefix test, which looks at the first byte
        // before the rest (CRS's `TX:/MULTIPART_HEADERS_CONTENT_TYPES_*/`
        // tests every TX member for a 31-byte literal).
        name.windows(literal.len())
            .any(|w| starts_with_ignoring_case(w, literal))
    }
}

/// Whether `name` starts with `lower` (lower-case) ignoring ASCII case,
/// as a [`SelectorRegex::literal_prefix`] selects names. The first bytes
/// are compared alone first: `TX:/^header_name_920450_/` tests all ~60 TX
/// members, most of which differ there, and the case-folding comparison
/// of the whole prefix cost ~60 instructions each.
#[inline]
pub fn starts_with_ignoring_case(name: &[u8], lower: &[u8]) -> bool {
    match (name.first(), lower.first()) {
        (Some(n), Some(l)) if n.to_ascii_lowercase() != *l => false,
        _ => name
            .get(..lower.len())
            .is_some_and(|n| n.eq_ignore_ascii_case(lower)),
    }
}

/// Whether `a` and `b` are equal ignoring ASCII case. The lengths and
/// the first bytes are compared before the whole: a `REQUEST_HEADERS:Host`
/// selector is compared with every request header, most of which differ
/// in one or the other, and the case-folding comparison of whole names of
/// the same length was a third of such a rule's cost.
#[inline]
pub fn eq_ignoring_case(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len()
        && match (a.first(), b.first()) {
            (Some(x), Some(y)) => x.eq_ignore_ascii_case(y) && a.eq_ignore_ascii_case(b),
            _ => true,
        }
}

impl SelectorRegex {
    /// The selector for `source`, compiled as `regex`, with what can be
    /// decided about it at compile time.
    pub fn new(source: &str, regex: Arc<Regex>) -> SelectorRegex {
        let literal_prefix = SelectorRegex::literal_prefix_of(source);
        SelectorRegex {
            source: source.to_string(),
            regex,
            required: literal_prefix
                .is_none()
                .then(|| NameLiteral::of(source))
                .flatten(),
            literal_prefix,
        }
    }

    /// The compile-time analysis behind [`SelectorRegex::literal_prefix`].
    pub fn literal_prefix_of(source: &str) -> Option<Vec<u8>> {
        let rest = source.strip_prefix('^')?;
        (!rest.is_empty() && rest.bytes().all(literal_name_byte))
            .then(|| rest.to_ascii_lowercase().into_bytes())
    }
}

impl Selector {
    /// True when `name` is selected (`name` is the member's original name).
    // Inlined into the engines' member loops (another crate): a rule that
    // reads `REQUEST_HEADERS:Host` tests every header name.
    #[inline]
    pub fn matches(&self, name: &[u8]) -> bool {
        match self {
            Selector::All | Selector::XPath(_) => true,
            Selector::Key(k) => eq_ignoring_case(k.as_bytes(), name),
            Selector::Regex(r) => match &r.literal_prefix {
                Some(p) => starts_with_ignoring_case(name, p),
                None => {
                    r.required.as_ref().is_none_or(|l| l.found_in(name)) && r.regex.is_match(name)
                }
            },
        }
    }

    /// A stable textual form, used as a grouping key and in reports.
    pub fn describe(&self) -> String {
        match self {
            Selector::All => String::new(),
            Selector::Key(k) => k.clone(),
            Selector::Regex(r) => format!("/{}/", r.source),
            Selector::XPath(x) => x.clone(),
        }
    }
}

/// One target of a rule: `ARGS`, `ARGS:foo`, `&ARGS`, `XML:/*`.
#[derive(Clone, Debug)]
pub struct Target {
    /// The variable or collection.
    pub variable: Variable,
    /// Which members.
    pub selector: Selector,
    /// `&VAR`: the rule sees the number of selected members instead.
    pub count: bool,
}

/// A target exclusion: `!ARGS:foo` in a rule, or added by
/// `SecRuleUpdateTargetById` / `ctl:ruleRemoveTargetById`.
#[derive(Clone, Debug)]
pub struct Exclusion {
    /// The collection the exclusion applies to.
    pub variable: Variable,
    /// Which members are excluded.
    pub selector: Selector,
}

impl Target {
    /// A stable textual form (`&ARGS:foo`), used as a grouping key.
    pub fn describe(&self) -> String {
        let sel = self.selector.describe();
        let count = if self.count { "&" } else { "" };
        if sel.is_empty() {
            format!("{count}{}", self.variable)
        } else {
            format!("{count}{}:{sel}", self.variable)
        }
    }
}

impl Exclusion {
    /// A stable textual form (`!ARGS:foo`).
    pub fn describe(&self) -> String {
        format!("!{}:{}", self.variable, self.selector.describe())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_prefix_selectors_agree_with_their_regex() {
        assert_eq!(
            SelectorRegex::literal_prefix_of("^Header_Name_920450_"),
            Some(b"header_name_920450_".to_vec())
        );
        for not_literal in ["^a.b", "header", "^", "^a$", "^(a)", "^a|b", "^a\\d"] {
            assert_eq!(
                SelectorRegex::literal_prefix_of(not_literal),
                None,
                "{not_literal}"
            );
        }
        let source = "^header_name_920450_";
        let regex = crate::build::regex::compile_name_pattern(source).expect("compiles");
        let sel = Selector::Regex(SelectorRegex::new(source, Arc::clone(&regex)));
        for name in [
            "header_name_920450_host",
            "HEADER_NAME_920450_x",
            "header_name_92045",
            "xheader_name_920450_",
            "",
        ] {
            assert_eq!(
                sel.matches(name.as_bytes()),
                regex.is_match(name.as_bytes()),
                "{name}"
            );
        }
    }

    #[test]
    fn required_literals_of_crs_selectors() {
        let of = |s: &str| {
            NameLiteral::of(s).map(|l| (String::from_utf8(l.bytes).unwrap_or_default(), l.at_start))
        };
        assert_eq!(of("^pbjs-\\w+$"), Some(("pbjs-".into(), true)));
        assert_eq!(of("^_ga(?:_\\w+)?$"), Some(("_ga".into(), true)));
        assert_eq!(of("paramcounter_.*"), Some(("paramcounter_".into(), false)));
        assert_eq!(
            of("rfi_parameter_.*"),
            Some(("rfi_parameter_".into(), false))
        );
        assert_eq!(
            of("MULTIPART_HEADERS_CONTENT_TYPES_*"),
            Some(("multipart_headers_content_types".into(), false))
        );
        // Optional or repeated last byte, alternations, escapes first,
        // too short: nothing required.
        for none in [
            "^ab?c",
            "ab+",
            "^ab|cd",
            "a|b",
            "\\x22?\\x24Version",
            "(?i)abc",
            "^a",
            "^[\\w]+\\[",
            "ab{2}",
            "",
        ] {
            assert_eq!(of(none), None, "{none}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(4096))]

        /// A selector with a required literal selects exactly what its
        /// regex matches.
        #[test]
        fn a_required_literal_never_changes_what_is_selected(
            anchored in proptest::bool::ANY,
            parts in proptest::collection::vec(proptest::sample::select(vec![
                "a", "B", "c", "_", "-", "1", "?", "*", "+", ".", "\\w", "(?:_x)?", "$", "{2}", "[ab]", "|",
            ]), 1..8),
            names in proptest::collection::vec("[aAbBcC_1x-]{0,8}", 8),
        ) {
            let source = format!("{}{}", if anchored { "^" } else { "" }, parts.concat());
            let Ok(regex) = crate::build::regex::compile_name_pattern(&source) else {
                return Ok(());
            };
            let sel = Selector::Regex(SelectorRegex::new(&source, Arc::clone(&regex)));
            for name in &names {
                proptest::prop_assert_eq!(
                    sel.matches(name.as_bytes()),
                    regex.is_match(name.as_bytes()),
                    "source {:?} name {:?}", source, name
                );
            }
        }
    }
}
