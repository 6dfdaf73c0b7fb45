//! `multipart/form-data` parsing with ModSecurity v2's semantics
//! (`msc_multipart.c`), including every strictness flag CRS checks.
//!
//! v2 reads the body line by line through a 4096-byte buffer and decides
//! everything per line: boundaries, part headers, data. The exact outcome of
//! malformed input (which flag, which error text, whether a part counts)
//! depends on that design, and CRS rules 200003/200004 and 922xxx test it,
//! so this parser follows the same steps:
//!
//! - [`MultipartParser::new`] checks the `Content-Type` boundary parameter
//!   (`MULTIPART_BOUNDARY_QUOTED`, `MULTIPART_BOUNDARY_WHITESPACE`,
//!   `MULTIPART_MISSING_SEMICOLON`, or an init error);
//! - [`MultipartParser::feed`] takes body chunks; a line is cut at `\n` or
//!   when 4096 bytes are buffered;
//! - [`MultipartParser::finish`] checks for the final boundary and returns
//!   the [`Multipart`] result.
//!
//! After the first error v2 stops parsing: parts finished before it stay
//! visible (`FILES`, `MULTIPART_PART_HEADERS`), but no form field reaches
//! `ARGS` ([`Multipart::form_args`] is for the success case; see
//! [`crate::body::process`]).

use std::collections::HashMap;

use super::log_escape::{log_escape_nq, until_nul};
use super::{BodyError, BodyLimits};

/// v2's `MULTIPART_BUF_SIZE`: the longest line handled as one piece.
pub const LINE_BUFFER_SIZE: usize = 4096;

/// The most bytes of `Content-Type` v2 accepts for multipart.
const MAX_CONTENT_TYPE_LEN: usize = 1024;

/// Whether a part is a form field or a file upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// No `filename` parameter: its value goes to `ARGS_POST`.
    Field,
    /// Has a `filename` parameter: goes to `FILES`.
    File,
}

/// One finished part with a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Field or file.
    pub kind: PartKind,
    /// The `name` parameter of `Content-Disposition` (`FILES_NAMES`, the
    /// key of `FILES:`, `ARGS_POST:`, `MULTIPART_PART_HEADERS:`).
    pub name: Vec<u8>,
    /// The `filename` parameter (`FILES`); `None` for fields.
    pub filename: Option<Vec<u8>>,
    /// The field value, or the file content when it was kept
    /// (`FILES_TMP_CONTENT`); see [`Part::stored`].
    pub value: Vec<u8>,
    /// File size in bytes (`FILES_SIZES`); for fields the value length.
    pub size: u64,
    /// The file content was kept: false when `SecUploadFileLimit` was hit
    /// (v2 then writes no temporary file) or the file had no data line.
    pub stored: bool,
    /// The part's header lines as `Name: value`, folded lines joined
    /// (`MULTIPART_PART_HEADERS`).
    pub header_lines: Vec<Vec<u8>>,
    /// The part's `Content-Type` header, if any.
    pub content_type: Option<Vec<u8>>,
}

/// The multipart flags v2 exposes as `MULTIPART_*` variables.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Flags {
    /// A parse error happened (part of `MULTIPART_STRICT_ERROR`). Some v2
    /// errors ("Final boundary missing") do not set it.
    pub error: bool,
    /// `MULTIPART_DATA_BEFORE`.
    pub data_before: bool,
    /// `MULTIPART_DATA_AFTER`.
    pub data_after: bool,
    /// `MULTIPART_HEADER_FOLDING`.
    pub header_folding: bool,
    /// `MULTIPART_BOUNDARY_QUOTED`.
    pub boundary_quoted: bool,
    /// `MULTIPART_LF_LINE`.
    pub lf_line: bool,
    /// `MULTIPART_CRLF_LINE`.
    pub crlf_line: bool,
    /// `MULTIPART_UNMATCHED_BOUNDARY`.
    pub unmatched_boundary: bool,
    /// `MULTIPART_BOUNDARY_WHITESPACE`.
    pub boundary_whitespace: bool,
    /// `MULTIPART_MISSING_SEMICOLON`.
    pub missing_semicolon: bool,
    /// `MULTIPART_INVALID_QUOTING`.
    pub invalid_quoting: bool,
    /// `MULTIPART_INVALID_PART`.
    pub invalid_part: bool,
    /// `MULTIPART_INVALID_HEADER_FOLDING`.
    pub invalid_header_folding: bool,
    /// `MULTIPART_FILE_LIMIT_EXCEEDED`.
    pub file_limit_exceeded: bool,
}

impl Flags {
    /// `MULTIPART_STRICT_ERROR`: the OR v2 computes. Note that
    /// `unmatched_boundary` and `crlf_line` are not part of it.
    pub fn strict_error(&self) -> bool {
        self.error
            || self.boundary_quoted
            || self.boundary_whitespace
            || self.data_before
            || self.data_after
            || self.header_folding
            || self.lf_line
            || self.missing_semicolon
            || self.invalid_quoting
            || self.invalid_part
            || self.invalid_header_folding
            || self.file_limit_exceeded
    }

    /// `MULTIPART_CRLF_LF_LINES`: both line endings were seen.
    pub fn crlf_lf_lines(&self) -> bool {
        self.crlf_line && self.lf_line
    }
}

/// The outcome of parsing one multipart body.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Multipart {
    /// Named parts finished before the end or the first error, in order.
    pub parts: Vec<Part>,
    /// The `MULTIPART_*` flags.
    pub flags: Flags,
    /// `REQBODY_ERROR_MSG` and the log line, when parsing failed.
    pub error: Option<BodyError>,
    /// The last `name` parameter seen in any part (`MULTIPART_NAME`).
    pub last_name: Option<Vec<u8>>,
    /// The last `filename` parameter seen in any part (`MULTIPART_FILENAME`).
    pub last_filename: Option<Vec<u8>>,
    /// The boundary taken from `Content-Type`, when it was valid.
    pub boundary: Option<Vec<u8>>,
    /// Bytes v2 counts against `SecRequestBodyNoFilesLimit`: header lines
    /// and field data, not file data.
    pub no_files_length: u64,
}

impl Multipart {
    /// The outcome v2 records when the multipart processor runs on a
    /// request without a `Content-Type` header (possible through
    /// `ctl:requestBodyProcessor=MULTIPART`).
    pub fn missing_content_type() -> Self {
        let msg = "Multipart: Content-Type header not available.".to_owned();
        Self {
            flags: Flags {
                error: true,
                ..Flags::default()
            },
            error: Some(BodyError {
                log: format!("Multipart parsing error (init): {msg}"),
                msg,
            }),
            ..Self::default()
        }
    }

    /// Form fields as `(name, value)` in body order (`ARGS_POST`).
    pub fn form_args(&self) -> impl Iterator<Item = (&[u8], &[u8])> + '_ {
        self.parts
            .iter()
            .filter(|p| p.kind == PartKind::Field)
            .map(|p| (p.name.as_slice(), p.value.as_slice()))
    }

    /// File parts (`FILES`, `FILES_NAMES`, `FILES_SIZES`, `FILES_TMP_CONTENT`).
    pub fn files(&self) -> impl Iterator<Item = &Part> + '_ {
        self.parts.iter().filter(|p| p.kind == PartKind::File)
    }

    /// `FILES_COMBINED_SIZE`.
    pub fn files_combined_size(&self) -> u64 {
        self.files().map(|p| p.size).sum()
    }
}

/// Parses a whole body at once: [`MultipartParser::new`], one
/// [`MultipartParser::feed`], [`MultipartParser::finish`].
pub fn parse(content_type: &[u8], body: &[u8], limits: &BodyLimits) -> Multipart {
    let mut parser = MultipartParser::new(content_type, limits);
    parser.feed(body);
    parser.finish()
}

/// A part being built.
#[derive(Debug, Default)]
struct PartBuilder {
    is_file: bool,
    name: Option<Vec<u8>>,
    filename: Option<Vec<u8>>,
    /// Headers by lower-cased name: APR tables compare names
    /// case-insensitively. Hashed, so a part with very many headers costs
    /// linear time.
    headers: HashMap<Vec<u8>, Vec<u8>>,
    last_header_name: Option<Vec<u8>>,
    last_header_line: Option<Vec<u8>>,
    header_lines: Vec<Vec<u8>>,
    value: Vec<u8>,
    size: u64,
    stored: bool,
    tmp_file_open: bool,
}

impl PartBuilder {
    fn header(&self, name: &[u8]) -> Option<&[u8]> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    fn set_header(&mut self, name: &[u8], value: Vec<u8>) {
        self.headers.insert(name.to_ascii_lowercase(), value);
    }

    fn finish(self) -> Option<Part> {
        let content_type = self.header(b"Content-Type").map(<[u8]>::to_vec);
        let name = self.name?;
        Some(Part {
            kind: if self.is_file {
                PartKind::File
            } else {
                PartKind::Field
            },
            name,
            filename: self.filename,
            size: if self.is_file {
                self.size
            } else {
                self.value.len() as u64
            },
            value: self.value,
            stored: !self.is_file || self.stored,
            header_lines: self.header_lines,
            content_type,
        })
    }
}

/// Streaming multipart parser. See the module docs.
#[derive(Debug)]
pub struct MultipartParser {
    out: Multipart,
    upload_file_limit: usize,
    /// Set when `Content-Type` was unusable: nothing is parsed.
    init_failed: bool,
    /// Empty when init failed.
    boundary: Vec<u8>,
    /// Searches lines for `--` followed by the boundary.
    dash_boundary: memchr::memmem::Finder<'static>,
    buf: Vec<u8>,
    buf_contains_line: bool,
    /// 0: none, 1: after CR, 2: after lone LF, 3: after CRLF.
    crlf_state: u8,
    crlf_state_buf_end: u8,
    current: Option<PartBuilder>,
    /// false: reading headers, true: reading data.
    in_data: bool,
    data_read: bool,
    /// Line ending bytes held back until we know whether a boundary follows.
    reserve: Vec<u8>,
    seen_data: bool,
    is_complete: bool,
    boundary_count: u32,
    nfiles: usize,
}

/// A fatal error inside a line: v2 sets its error flag and stops parsing.
type Fatal = String;

impl MultipartParser {
    /// Starts a parser for a request with this `Content-Type` header value
    /// (v2's `multipart_init`). A bad boundary is recorded as the error and
    /// the body is then ignored, as v2 does.
    pub fn new(content_type: &[u8], limits: &BodyLimits) -> Self {
        let mut parser = Self {
            out: Multipart::default(),
            upload_file_limit: limits.upload_file_limit,
            init_failed: false,
            boundary: Vec::new(),
            dash_boundary: memchr::memmem::Finder::new(b"--").into_owned(),
            buf: Vec::with_capacity(256),
            buf_contains_line: true,
            crlf_state: 0,
            crlf_state_buf_end: 0,
            current: None,
            in_data: false,
            data_read: false,
            reserve: Vec::new(),
            seen_data: false,
            is_complete: false,
            boundary_count: 0,
            nfiles: 0,
        };
        match extract_boundary(until_nul(content_type), &mut parser.out.flags) {
            Ok(boundary) => {
                parser.out.boundary = Some(boundary.clone());
                let mut needle = b"--".to_vec();
                needle.extend_from_slice(&boundary);
                parser.dash_boundary = memchr::memmem::Finder::new(&needle).into_owned();
                parser.boundary = boundary;
            }
            Err(msg) => {
                parser.out.flags.error = true;
                parser.init_failed = true;
                // v2 stores the bare message as REQBODY_ERROR_MSG and logs it
                // with an "(init)" prefix.
                parser.out.error = Some(BodyError {
                    log: format!("Multipart parsing error (init): {msg}"),
                    msg,
                });
            }
        }
        parser
    }

    fn stopped(&self) -> bool {
        self.out.error.is_some()
    }

    /// Feeds one chunk of the body (v2's `multipart_process_chunk`). Chunk
    /// boundaries matter only in one v2 quirk: data arriving in a new chunk
    /// after the final boundary sets `MULTIPART_DATA_BEFORE`, not `_AFTER`.
    pub fn feed(&mut self, chunk: &[u8]) {
        if self.stopped() || self.init_failed || chunk.is_empty() {
            return;
        }
        self.seen_data = true;
        if self.is_complete {
            // Sic: v2 raises the "before" flag here.
            self.out.flags.data_before = true;
            return;
        }
        let mut i = 0;
        while let Some(&c) = chunk.get(i) {
            // Bytes other than CR and LF only fill the line buffer and
            // reset the CR/LF state: copy a run of them at once (file
            // content is most of a multipart body), short of the byte that
            // fills the buffer, which the byte loop below handles.
            let rest = chunk.get(i..).unwrap_or_default();
            let room = (LINE_BUFFER_SIZE - 1).saturating_sub(self.buf.len());
            let run = memchr::memchr2(b'\r', b'\n', rest)
                .unwrap_or(rest.len())
                .min(room);
            if run > 0 {
                self.buf
                    .extend_from_slice(rest.get(..run).unwrap_or_default());
                self.crlf_state = 0;
                i += run;
                continue;
            }
            // v2 never lets a CR be the last byte of a full buffer, so a
            // CRLF is not split across two buffers.
            let process_early = c == b'\r' && self.buf.len() == LINE_BUFFER_SIZE - 1;
            if !process_early {
                self.buf.push(c);
                i += 1;
            }
            if c == b'\n' || self.buf.len() >= LINE_BUFFER_SIZE || process_early {
                if let Err(fatal) = self.process_line(process_early) {
                    self.out.flags.error = true;
                    self.out.error =
                        Some(BodyError::same(format!("Multipart parsing error: {fatal}")));
                    return;
                }
                self.buf.clear();
                self.buf_contains_line = c == b'\n';
                if c == b'\n' {
                    self.crlf_state = if self.crlf_state == 1 { 3 } else { 2 };
                }
                self.crlf_state_buf_end = self.crlf_state;
            }
            if c == b'\r' {
                self.crlf_state = 1;
            } else if c != b'\n' {
                self.crlf_state = 0;
            }
            if self.is_complete && i < chunk.len() {
                self.out.flags.data_after = true;
                return;
            }
        }
    }

    /// Ends the body (v2's `multipart_complete`) and returns the result.
    pub fn finish(mut self) -> Multipart {
        if self.stopped() || self.init_failed {
            return self.out;
        }
        if self.seen_data && !self.is_complete {
            if self.boundary_count > 0 {
                // The final boundary may sit in the buffer without a line end.
                let b = &self.boundary;
                let buf = &self.buf;
                let is_final = self.buf_contains_line
                    && buf.len() == b.len() + 4
                    && buf.starts_with(b"--")
                    && buf.get(2..2 + b.len()) == Some(b.as_slice())
                    && buf.ends_with(b"--");
                if is_final {
                    if self.crlf_state_buf_end == 2 {
                        self.out.flags.lf_line = true;
                    }
                    if !self.data_read {
                        self.out.flags.invalid_part = true;
                    }
                    self.process_boundary(true);
                    self.is_complete = true;
                }
                if !self.is_complete {
                    self.out.error = Some(BodyError::same(
                        "Multipart parsing error: Multipart: Final boundary missing.".to_owned(),
                    ));
                }
            } else {
                self.out.error = Some(BodyError::same(
                    "Multipart parsing error: Multipart: No boundaries found in payload."
                        .to_owned(),
                ));
            }
        }
        self.out
    }

    /// Handles the buffered line (or full buffer).
    fn process_line(&mut self, process_early: bool) -> Result<(), Fatal> {
        let mut processed_as_boundary = false;
        let blen = self.boundary.len();
        let cstr_len = until_nul(&self.buf).len();
        // Bytes past the buffer read as the C terminator.
        let at = |buf: &[u8], k: usize| buf.get(k).copied().unwrap_or(0);

        if self.buf_contains_line && cstr_len > 3 && self.buf.starts_with(b"--") {
            if cstr_len >= blen + 2 && self.buf.get(2..2 + blen) == Some(self.boundary.as_slice()) {
                if self.crlf_state_buf_end == 2 {
                    self.out.flags.lf_line = true;
                }
                if !self.data_read && self.boundary_count > 0 {
                    // Looks like a boundary where part data should start.
                    self.out.flags.invalid_part = true;
                } else {
                    let mut end = 2 + blen;
                    let mut is_final = false;
                    if at(&self.buf, end) == b'-' && at(&self.buf, end + 1) == b'-' {
                        is_final = true;
                        end += 2;
                        if self.is_complete {
                            return Err("Multipart: Invalid boundary (final duplicate).".to_owned());
                        }
                    }
                    let crlf = at(&self.buf, end) == b'\r'
                        && at(&self.buf, end + 1) == b'\n'
                        && end + 2 >= self.buf.len();
                    let lf = at(&self.buf, end) == b'\n' && end + 1 >= self.buf.len();
                    if crlf || lf {
                        if lf {
                            self.out.flags.lf_line = true;
                        } else {
                            self.out.flags.crlf_line = true;
                        }
                        self.process_boundary(is_final);
                        if is_final {
                            self.is_complete = true;
                        }
                        processed_as_boundary = true;
                        self.boundary_count += 1;
                    } else {
                        return Err(format!(
                            "Multipart: Invalid boundary: {}",
                            log_escape_nq(until_nul(&self.buf))
                        ));
                    }
                }
            } else {
                // Looks like a boundary but is not ours.
                let cstr = until_nul(&self.buf);
                if self.out.flags.boundary_quoted
                    && cstr_len >= blen + 3
                    && at(&self.buf, 2) == b'"'
                    && cstr.get(3..3 + blen) == Some(self.boundary.as_slice())
                {
                    return Err("Multipart: Invalid boundary (quotes).".to_owned());
                }
                let mut p = 2;
                while is_c_space(at(&self.buf, p)) {
                    p += 1;
                }
                if p != 2 && cstr.get(p..p + blen) == Some(self.boundary.as_slice()) {
                    return Err("Multipart: Invalid boundary (whitespace).".to_owned());
                }
                self.out.flags.unmatched_boundary = true;
            }
        } else if self.buf_contains_line {
            // Not a boundary line, but does "--boundary" appear inside it?
            // (v2 compares at every "--"; a linear search gives the same
            // answer without quadratic work on lines full of dashes.)
            if self.dash_boundary.find(&self.buf).is_some() {
                self.out.flags.unmatched_boundary = true;
            }
        }

        if !processed_as_boundary {
            if self.current.is_none() {
                self.out.flags.data_before = true;
            } else if !self.in_data {
                if self.buf.len() >= LINE_BUFFER_SIZE || process_early {
                    return Err(format!(
                        "Multipart: Part header line over {LINE_BUFFER_SIZE} bytes long"
                    ));
                }
                self.process_part_header()?;
            } else {
                self.process_part_data();
            }
        }
        Ok(())
    }

    /// Closes the current part and, unless this is the final boundary,
    /// starts a new one.
    fn process_boundary(&mut self, last: bool) {
        if let Some(part) = self.current.take() {
            match part.finish() {
                Some(done) => self.out.parts.push(done),
                None => self.out.flags.invalid_part = true,
            }
        }
        if !last {
            self.current = Some(PartBuilder::default());
            self.in_data = false;
            self.data_read = false;
            self.reserve.clear();
        }
    }

    fn process_part_header(&mut self) -> Result<(), String> {
        let line = &self.buf;
        if line.contains(&0) {
            return Err("Multipart: Nul byte in part headers.".to_owned());
        }
        self.out.no_files_length += line.len() as u64;
        if line.len() > 1 && line.get(line.len() - 2) == Some(&b'\r') {
            self.out.flags.crlf_line = true;
        } else {
            self.out.flags.lf_line = true;
        }
        let Some(part) = self.current.as_mut() else {
            return Ok(());
        };

        if line.as_slice() == b"\r\n" || line.as_slice() == b"\n" {
            // End of the headers.
            let Some(cd) = part.header(b"Content-Disposition").map(<[u8]>::to_vec) else {
                return Err("Multipart: Part missing Content-Disposition header.".to_owned());
            };
            if let Err(rc) = parse_content_disposition(&cd, part, &mut self.out) {
                return Err(format!(
                    "Multipart: Invalid Content-Disposition header ({rc}): {}.",
                    log_escape_nq(&cd)
                ));
            }
            if part.name.is_none() {
                return Err("Multipart: Content-Disposition header missing name field.".to_owned());
            }
            if part.filename.is_some() {
                // Catch parsers that would not have seen a filename here.
                if !contains(&cd, b"filename=") {
                    return Err(
                        "Multipart: Invalid Content-Disposition header (filename).".to_owned()
                    );
                }
                part.is_file = true;
            } else {
                part.is_file = false;
            }
            self.in_data = true;
            self.data_read = false;
            part.last_header_name = None;
            if let Some(last) = &part.last_header_line {
                part.header_lines.push(last.clone());
            }
            return Ok(());
        }

        let first = line.first().copied().unwrap_or(0);
        if is_c_space(first) {
            // A folded continuation of the previous header.
            self.out.flags.header_folding = true;
            if first != b'\t' && first != b' ' {
                self.out.flags.invalid_header_folding = true;
            }
            let Some(header_name) = part.last_header_name.clone() else {
                return Err("Multipart: Invalid part header (folding error).".to_owned());
            };
            let mut start = 0;
            while let Some(&b) = line.get(start) {
                if !is_c_space(b) {
                    break;
                }
                if b != b'\t' && b != b' ' {
                    self.out.flags.invalid_header_folding = true;
                }
                start += 1;
            }
            let more = strip_line_end(line.get(start..).unwrap_or_default());
            let mut value = part
                .header(&header_name)
                .map(<[u8]>::to_vec)
                .unwrap_or_default();
            value.push(b' ');
            value.extend_from_slice(more);
            if value.len() > LINE_BUFFER_SIZE {
                return Err("Multipart: Part header too long.".to_owned());
            }
            if part.last_header_line.is_some() {
                let mut joined = header_name.clone();
                joined.extend_from_slice(b": ");
                joined.extend_from_slice(&value);
                part.last_header_line = Some(joined);
            }
            part.set_header(&header_name, value);
            return Ok(());
        }

        // A new header.
        if let Some(last) = part.last_header_line.take() {
            part.header_lines.push(last);
        }
        part.last_header_line = Some(strip_line_end(line).to_vec());
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            return Err(format!(
                "Multipart: Invalid part header (colon missing): {}.",
                log_escape_nq(line)
            ));
        };
        if colon == 0 {
            return Err("Multipart: Invalid part header (header name missing).".to_owned());
        }
        let name = line.get(..colon).unwrap_or_default();
        if name.iter().any(|&b| !(33..=126).contains(&b)) {
            return Err("Multipart: Invalid part header (contains invalid character).".to_owned());
        }
        let mut v = colon + 1;
        while matches!(line.get(v), Some(b'\t' | b' ')) {
            v += 1;
        }
        let value = strip_line_end(line.get(v..).unwrap_or_default()).to_vec();
        if part.header(name).is_some() {
            return Err(format!(
                "Multipart: Duplicate part header: {}.",
                log_escape_nq(name)
            ));
        }
        part.set_header(name, value);
        part.last_header_name = Some(name.to_vec());
        Ok(())
    }

    fn process_part_data(&mut self) {
        self.data_read = true;
        // Hold back the line end: if a boundary follows, it belongs to the
        // boundary, not to the data.
        let held = if self.buf.ends_with(b"\r\n") {
            2
        } else if self.buf.ends_with(b"\n") {
            1
        } else {
            0
        };
        let data_len = self.buf.len() - held;
        let Some(part) = self.current.as_mut() else {
            return;
        };
        let data = self.buf.get(..data_len).unwrap_or_default();
        if part.is_file {
            let mut extract = true;
            if self.nfiles >= self.upload_file_limit {
                // v2 logs this but does not fail the body.
                self.out.flags.file_limit_exceeded = true;
                extract = false;
            }
            if extract {
                if !part.tmp_file_open {
                    part.tmp_file_open = true;
                    part.stored = true;
                    self.nfiles += 1;
                }
                part.value.extend_from_slice(&self.reserve);
                part.value.extend_from_slice(data);
            }
            part.size += (self.reserve.len() + data.len()) as u64;
        } else {
            self.out.no_files_length += (self.reserve.len() + data.len()) as u64;
            part.value.extend_from_slice(&self.reserve);
            part.value.extend_from_slice(data);
        }
        self.reserve.clear();
        if let Some(tail) = self.buf.get(data_len..) {
            self.reserve.extend_from_slice(tail);
        }
    }
}

/// Validates the `Content-Type` and returns the boundary (v2's
/// `multipart_init` checks, in v2's order). Sets the boundary flags.
fn extract_boundary(ct: &[u8], flags: &mut Flags) -> Result<Vec<u8>, String> {
    const MIME: &[u8] = b"multipart/form-data";
    if ct.len() > MAX_CONTENT_TYPE_LEN {
        return Err("Multipart: Invalid boundary in C-T (length).".to_owned());
    }
    if !ct
        .get(..MIME.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(MIME))
    {
        return Err("Multipart: Invalid MIME type.".to_owned());
    }
    if count_boundary_params(ct) > 1 {
        return Err("Multipart: Multiple boundary parameters in C-T.".to_owned());
    }
    let Some(bpos) = find(ct, b"boundary") else {
        if count_boundary_params(ct) > 0 {
            return Err("Multipart: Invalid boundary in C-T (case sensitivity).".to_owned());
        }
        return Err("Multipart: Boundary not found in C-T.".to_owned());
    };
    let malformed = || "Multipart: Invalid boundary in C-T (malformed).".to_owned();
    let mut seen_semicolon = false;
    for &b in ct.get(MIME.len()..bpos).unwrap_or_default() {
        if is_c_space(b) {
            continue;
        }
        if !seen_semicolon && b == b';' {
            seen_semicolon = true;
        } else {
            return Err(malformed());
        }
    }
    if !seen_semicolon {
        flags.missing_semicolon = true;
    }
    let after_name = bpos + b"boundary".len();
    let eq = ct
        .get(after_name..)
        .and_then(|rest| rest.iter().position(|&b| b == b'='))
        .map(|off| after_name + off)
        .ok_or_else(malformed)?;
    for &b in ct.get(after_name..eq).unwrap_or_default() {
        if is_c_space(b) {
            flags.boundary_whitespace = true;
        } else {
            return Err("Multipart: Invalid boundary in C-T (parameter name).".to_owned());
        }
    }
    let value = ct.get(eq + 1..).unwrap_or_default();
    if value.first().copied().is_some_and(is_c_space) {
        flags.boundary_whitespace = true;
    }
    let boundary = if value.len() >= 2 && value.starts_with(b"\"") && value.ends_with(b"\"") {
        flags.boundary_quoted = true;
        value.get(1..value.len() - 1).unwrap_or_default().to_vec()
    } else {
        if value.starts_with(b"\"") || (value.len() >= 2 && value.ends_with(b"\"")) {
            return Err("Multipart: Invalid boundary in C-T (quote).".to_owned());
        }
        flags.boundary_quoted = false;
        value.to_vec()
    };
    if count_boundary_params(&boundary) != 0 {
        return Err("Multipart: Invalid boundary in C-T (content).".to_owned());
    }
    if !boundary_characters_valid(&boundary) {
        return Err("Multipart: Invalid boundary in C-T (characters).".to_owned());
    }
    if boundary.is_empty() {
        return Err("Multipart: Invalid boundary in C-T (empty).".to_owned());
    }
    Ok(boundary)
}

/// How many times `boundary` (any case) appears with a `=` somewhere after it.
fn count_boundary_params(s: &[u8]) -> usize {
    let lower = s.to_ascii_lowercase();
    let mut count = 0;
    let mut from = 0;
    while let Some(off) = lower.get(from..).and_then(|rest| find(rest, b"boundary")) {
        from += off + b"boundary".len();
        if lower.get(from..).is_some_and(|rest| rest.contains(&b'=')) {
            count += 1;
        }
    }
    count
}

/// RFC 2046 boundary characters; a space may not be the last one.
fn boundary_characters_valid(b: &[u8]) -> bool {
    b.iter().enumerate().all(|(i, &c)| {
        c.is_ascii_alphanumeric()
            || (c == b' ' && i + 1 < b.len())
            || matches!(
                c,
                b'\'' | b'(' | b')' | b'+' | b'_' | b',' | b'-' | b'.' | b'/' | b':' | b'=' | b'?'
            )
    })
}

/// v2's `multipart_parse_content_disposition`. Errors carry v2's negative
/// return code, which ends up in the error message.
fn parse_content_disposition(
    cd: &[u8],
    part: &mut PartBuilder,
    out: &mut Multipart,
) -> Result<(), i32> {
    let at = |k: usize| cd.get(k).copied().unwrap_or(0);
    if !cd.starts_with(b"form-data") {
        return Err(-1);
    }
    let mut p = 9;
    while matches!(at(p), b'\t' | b' ') {
        p += 1;
    }
    if at(p) == 0 {
        return Ok(());
    }
    if at(p) != b';' {
        return Err(-2);
    }
    p += 1;
    while at(p) != 0 {
        while matches!(at(p), b'\t' | b' ') {
            p += 1;
        }
        if at(p) == 0 {
            return Err(-3);
        }
        let start = p;
        while !matches!(at(p), 0 | b'=' | b'\t' | b' ') {
            p += 1;
        }
        if at(p) == 0 {
            return Err(-4);
        }
        let name = cd.get(start..p).unwrap_or_default().to_vec();
        while matches!(at(p), b'\t' | b' ') {
            p += 1;
        }
        if at(p) == 0 {
            return Err(-5);
        }
        if at(p) != b'=' {
            return Err(-13);
        }
        p += 1;
        while matches!(at(p), b'\t' | b' ') {
            p += 1;
        }
        if at(p) == 0 {
            return Err(-6);
        }
        let mut quote = 0u8;
        let value;
        if at(p) == b'"' || at(p) == b'\'' {
            quote = at(p);
            if quote == b'\'' {
                // Accepted, as some backends do, but flagged.
                out.flags.invalid_quoting = true;
            }
            p += 1;
            if at(p) == 0 {
                return Err(-7);
            }
            let mut v = Vec::new();
            loop {
                let c = at(p);
                if c == 0 {
                    return Err(-10);
                }
                if c == b'\\' {
                    let next = at(p + 1);
                    if next == 0 {
                        return Err(-8);
                    }
                    // Only the quote and the backslash can be escaped; other
                    // escapes are kept as written (IE sends them).
                    if next == quote || next == b'\\' {
                        p += 1;
                    }
                } else if c == quote {
                    break;
                }
                v.push(at(p));
                p += 1;
            }
            p += 1; // the closing quote
            value = v;
        } else {
            let start = p;
            while is_token_char(at(p)) {
                p += 1;
            }
            value = cd.get(start..p).unwrap_or_default().to_vec();
        }

        if name == b"name" {
            check_single_quotes(&value, quote, out);
            out.last_name = Some(value.clone());
            if part.name.is_some() {
                return Err(-14);
            }
            part.name = Some(value);
        } else if name == b"filename" {
            check_single_quotes(&value, quote, out);
            out.last_filename = Some(value.clone());
            if part.filename.is_some() {
                return Err(-15);
            }
            part.filename = Some(value);
        } else {
            return Err(-11);
        }

        if at(p) != 0 {
            while matches!(at(p), b'\t' | b' ') {
                p += 1;
            }
            if at(p) == 0 {
                return Ok(());
            }
            if at(p) != b';' {
                if p > 0 && matches!(at(p - 1), b'\'' | b'"') {
                    out.flags.invalid_quoting = true;
                }
                return Err(-12);
            }
            p += 1;
        }
    }
    Ok(())
}

/// v2's `validate_quotes`: a `'` inside a value that was not double-quoted
/// flags invalid quoting.
fn check_single_quotes(value: &[u8], quote: u8, out: &mut Multipart) {
    if quote != b'"' && value.contains(&b'\'') {
        out.flags.invalid_quoting = true;
    }
}

/// RFC 2616 token characters, as v2's `is_token_char`.
fn is_token_char(c: u8) -> bool {
    !(c <= 32
        || c >= 127
        || matches!(
            c,
            b'(' | b')'
                | b'<'
                | b'>'
                | b'@'
                | b','
                | b';'
                | b':'
                | b'\\'
                | b'"'
                | b'/'
                | b'['
                | b']'
                | b'?'
                | b'='
        ))
}

/// C `isspace` in the "C" locale.
fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// v2's `remove_lf_crlf_inplace`: drops one trailing `\n` and a `\r` before it.
fn strip_line_end(s: &[u8]) -> &[u8] {
    let s = s
        .strip_suffix(b"\n")
        .map_or(s, |t| t.strip_suffix(b"\r").unwrap_or(t));
    s
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(hay, needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
}

#[cfg(test)]
mod tests;
