//! Request body processors: URL-encoded, multipart, JSON, XML, plus the
//! Cookie header and query-string parsers they share code with.
//!
//! Every parser here is a plain function over bytes with ModSecurity v2
//! semantics (v2 is the engine the CRS regression suite is judged against).
//! None of them keeps engine state: the transaction calls [`process`] once the
//! body is buffered and moves the pieces of the returned [`ParsedBody`] into
//! its variables (`ARGS_POST`, `FILES*`, `MULTIPART_*`, `XML`,
//! `REQBODY_ERROR*`), so nothing is copied twice.
//!
//! ```
//! use rasp_core::body::{process, BodyLimits, Processor};
//!
//! let parsed = process(Processor::UrlEncoded, None, b"a=1&b=%41", &BodyLimits::default(), 0);
//! assert_eq!(parsed.args, vec![(b"a".to_vec(), b"1".to_vec()), (b"b".to_vec(), b"A".to_vec())]);
//! assert!(parsed.error.is_none());
//! ```

pub mod cookies;
pub mod json;
pub mod log_escape;
pub mod multipart;
pub mod urlencoded;
pub mod xml;

use std::fmt;

/// One argument: `(name, value)`, both raw bytes after decoding.
pub type Arg = (Vec<u8>, Vec<u8>);

/// The engine settings that change what a body processor produces.
///
/// [`Default`] gives ModSecurity v2's built-in defaults; the CRS CI
/// configuration sets `arguments_limit` 1000 and `json_depth_limit` 512
/// (see [`BodyLimits::crs_ci`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimits {
    /// `SecArgumentSeparator` (default `&`), used by the URL-encoded parser.
    pub argument_separator: u8,
    /// `SecArgumentsLimit`: the most arguments a transaction may hold in
    /// total (query string and body together).
    pub arguments_limit: usize,
    /// `SecRequestBodyJsonDepthLimit`.
    pub json_depth_limit: usize,
    /// `SecUploadFileLimit`: the most multipart files whose content is kept.
    pub upload_file_limit: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            argument_separator: b'&',
            arguments_limit: 1000,
            json_depth_limit: 10_000,
            upload_file_limit: 100,
        }
    }
}

impl BodyLimits {
    /// The values the CRS regression CI runs with (`test-setup.conf`).
    pub fn crs_ci() -> Self {
        Self {
            json_depth_limit: 512,
            ..Self::default()
        }
    }
}

/// Which body processor runs (`REQBODY_PROCESSOR`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Processor {
    /// `URLENCODED`: `application/x-www-form-urlencoded`.
    UrlEncoded,
    /// `MULTIPART`: `multipart/form-data`.
    Multipart,
    /// `JSON`, selected by `ctl:requestBodyProcessor=JSON`.
    Json,
    /// `XML`, selected by `ctl:requestBodyProcessor=XML`.
    Xml,
}

impl Processor {
    /// The name ModSecurity uses in `REQBODY_PROCESSOR` and `ctl:`.
    pub fn name(self) -> &'static str {
        match self {
            Processor::UrlEncoded => "URLENCODED",
            Processor::Multipart => "MULTIPART",
            Processor::Json => "JSON",
            Processor::Xml => "XML",
        }
    }

    /// Parses a `ctl:requestBodyProcessor=` value. v2 compares these names
    /// exactly (`strcmp`), so `json` is not `JSON`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "URLENCODED" => Some(Processor::UrlEncoded),
            "MULTIPART" => Some(Processor::Multipart),
            "JSON" => Some(Processor::Json),
            "XML" => Some(Processor::Xml),
            _ => None,
        }
    }

    /// The processor v2 picks from `Content-Type` when no rule chose one:
    /// URL-encoded and multipart only (JSON and XML need a `ctl:` rule, which
    /// CRS's 200000/200001 provide). v2 compares case-insensitively, and for
    /// URL-encoded only the prefix.
    pub fn from_content_type(content_type: &[u8]) -> Option<Self> {
        let starts = |prefix: &[u8]| {
            content_type.len() >= prefix.len()
                && content_type
                    .get(..prefix.len())
                    .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        };
        if starts(b"application/x-www-form-urlencoded") {
            Some(Processor::UrlEncoded)
        } else if starts(b"multipart/form-data") {
            Some(Processor::Multipart)
        } else {
            None
        }
    }
}

impl fmt::Display for Processor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A body processing failure: `REQBODY_ERROR` is 1 and these are its texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodyError {
    /// `REQBODY_ERROR_MSG` exactly as v2 sets it (sometimes with a
    /// "Multipart parsing error: " style prefix, sometimes without: v2 is not
    /// consistent and rules see whichever it stored).
    pub msg: String,
    /// The line v2 writes to the error log for this failure. CRS test
    /// 922130 matches this text in the log.
    pub log: String,
}

impl BodyError {
    pub(crate) fn same(msg: String) -> Self {
        Self {
            log: msg.clone(),
            msg,
        }
    }
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

/// What a body processor produced, ready to be moved into the transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedBody {
    /// The processor that ran.
    pub processor: Processor,
    /// `ARGS_POST`, in body order, already cut at `SecArgumentsLimit`.
    pub args: Vec<Arg>,
    /// `REQBODY_ERROR` / `REQBODY_ERROR_MSG`.
    pub error: Option<BodyError>,
    /// An invalid `%` escape was seen in a URL-encoded body
    /// (`URLENCODED_ERROR`; the query string sets it too).
    pub urlencoded_error: bool,
    /// Multipart details: `FILES*`, `MULTIPART_*`. `Some` whenever the
    /// multipart processor ran, even when it failed: the flags still count.
    pub multipart: Option<multipart::Multipart>,
    /// The XML document for `XML:/*` and `XML://@*`; `None` unless the XML
    /// processor ran and produced a tree.
    pub xml: Option<xml::XmlDocument>,
}

impl ParsedBody {
    fn new(processor: Processor) -> Self {
        Self {
            processor,
            args: Vec::new(),
            error: None,
            urlencoded_error: false,
            multipart: None,
            xml: None,
        }
    }
}

/// Runs one body processor over a fully buffered body.
///
/// `existing_args` is how many arguments the transaction already holds
/// (`ARGS_GET`): v2 applies `SecArgumentsLimit` to the total.
pub fn process(
    processor: Processor,
    content_type: Option<&[u8]>,
    body: &[u8],
    limits: &BodyLimits,
    existing_args: usize,
) -> ParsedBody {
    process_into(
        processor,
        content_type,
        body,
        limits,
        existing_args,
        &mut Arg::default,
    )
}

/// [`process`], the URL-encoded and JSON arguments written into the
/// buffers `buffers` hands out (a finished transaction's, see
/// `transaction::spare`).
pub(crate) fn process_into(
    processor: Processor,
    content_type: Option<&[u8]>,
    body: &[u8],
    limits: &BodyLimits,
    existing_args: usize,
    buffers: &mut dyn FnMut() -> Arg,
) -> ParsedBody {
    let mut out = ParsedBody::new(processor);
    match processor {
        Processor::UrlEncoded => {
            let parsed = urlencoded::parse_into(body, limits.argument_separator, buffers);
            out.urlencoded_error = parsed.invalid_encoding;
            let mut sink = ArgSink::new(limits.arguments_limit, existing_args);
            for arg in parsed.args {
                sink.push(arg);
            }
            out.error = sink.error();
            out.args = sink.into_args();
        }
        Processor::Multipart => {
            let mp = match content_type {
                Some(ct) => multipart::parse(ct, body, limits),
                None => multipart::Multipart::missing_content_type(),
            };
            out.error = mp.error.clone();
            if out.error.is_none() {
                // v2 copies form fields into ARGS only when parsing succeeded
                // (multipart_get_arguments runs in the completion step).
                let mut sink = ArgSink::new(limits.arguments_limit, existing_args);
                for (name, value) in mp.form_args() {
                    sink.push((name.to_vec(), value.to_vec()));
                }
                out.error = sink.error();
                out.args = sink.into_args();
            }
            out.multipart = Some(mp);
        }
        Processor::Json => {
            let parsed = json::parse_into(body, limits, existing_args, buffers);
            out.args = parsed.args;
            out.error = parsed.error;
        }
        Processor::Xml => {
            let parsed = xml::parse(body);
            out.error = parsed.error;
            out.xml = parsed.document;
        }
    }
    out
}

/// Collects arguments up to `SecArgumentsLimit` the way v2's
/// `add_argument` does: past the limit arguments are dropped and the body is
/// flagged with "SecArgumentsLimit exceeded".
#[derive(Debug)]
pub struct ArgSink {
    args: Vec<Arg>,
    room: usize,
    exceeded: bool,
}

impl ArgSink {
    /// A sink for a transaction that already holds `existing` arguments.
    pub fn new(limit: usize, existing: usize) -> Self {
        Self {
            args: Vec::new(),
            room: limit.saturating_sub(existing),
            exceeded: false,
        }
    }

    /// Adds one argument unless the limit is reached. Returns whether it was kept.
    pub fn push(&mut self, arg: Arg) -> bool {
        if self.args.len() >= self.room {
            self.exceeded = true;
            return false;
        }
        self.args.push(arg);
        true
    }

    /// Whether an argument was dropped.
    pub fn exceeded(&self) -> bool {
        self.exceeded
    }

    /// The error v2 records when the limit dropped an argument.
    pub fn error(&self) -> Option<BodyError> {
        self.exceeded
            .then(|| BodyError::same("SecArgumentsLimit exceeded".to_owned()))
    }

    /// The arguments kept.
    pub fn into_args(self) -> Vec<Arg> {
        self.args
    }
}

#[cfg(test)]
mod parsers_v2_vectors;
#[cfg(test)]
mod robustness;
#[cfg(test)]
mod vectors;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn processor_names_round_trip() {
        for p in [
            Processor::UrlEncoded,
            Processor::Multipart,
            Processor::Json,
            Processor::Xml,
        ] {
            assert_eq!(Processor::from_name(p.name()), Some(p));
        }
        assert_eq!(Processor::from_name("json"), None);
    }

    #[test]
    fn content_type_selects_only_urlencoded_and_multipart() {
        assert_eq!(
            Processor::from_content_type(b"Application/X-WWW-Form-Urlencoded; charset=utf-8"),
            Some(Processor::UrlEncoded)
        );
        assert_eq!(
            Processor::from_content_type(b"multipart/form-data; boundary=x"),
            Some(Processor::Multipart)
        );
        assert_eq!(Processor::from_content_type(b"application/json"), None);
        assert_eq!(Processor::from_content_type(b"multipart"), None);
    }

    #[test]
    fn argument_limit_counts_existing_args() {
        let limits = BodyLimits {
            arguments_limit: 3,
            ..BodyLimits::default()
        };
        let parsed = process(Processor::UrlEncoded, None, b"a=1&b=2&c=3", &limits, 1);
        assert_eq!(parsed.args.len(), 2);
        assert_eq!(
            parsed.error.map(|e| e.msg),
            Some("SecArgumentsLimit exceeded".to_owned())
        );
    }

    #[test]
    fn multipart_args_only_when_parsing_succeeded() {
        let ct = b"multipart/form-data; boundary=x";
        let ok = b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n--x--\r\n";
        let parsed = process(
            Processor::Multipart,
            Some(ct),
            ok,
            &BodyLimits::default(),
            0,
        );
        assert_eq!(parsed.args, vec![(b"a".to_vec(), b"1".to_vec())]);
        let truncated = b"--x\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n";
        let parsed = process(
            Processor::Multipart,
            Some(ct),
            truncated,
            &BodyLimits::default(),
            0,
        );
        assert!(parsed.args.is_empty());
        assert_eq!(
            parsed.error.map(|e| e.msg),
            Some("Multipart parsing error: Multipart: Final boundary missing.".to_owned())
        );
        let parsed = process(Processor::Multipart, None, ok, &BodyLimits::default(), 0);
        assert_eq!(
            parsed.error.map(|e| e.msg),
            Some("Multipart: Content-Type header not available.".to_owned())
        );
        assert!(parsed.multipart.is_some_and(|m| m.flags.strict_error()));
    }
}
