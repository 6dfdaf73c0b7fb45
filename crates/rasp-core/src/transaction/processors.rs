//! The seam between the transaction and the body processors, operators
//! and transformations (`crate::body`, `crate::operator`,
//! `crate::transform`). Until each of those lands, the stand-ins here keep
//! the engine building; every stand-in is marked and replaced, not kept.

#![allow(dead_code)]

/// Parsed `a=b&c=d`.
pub(crate) struct UrlEncoded {
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) invalid_encoding: bool,
}

/// Stand-in: replaced by `crate::body::urlencoded`.
pub(crate) fn parse_urlencoded(b: &[u8], sep: u8) -> UrlEncoded {
    fn decode(s: &[u8], bad: &mut bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let h = std::str::from_utf8(&s[i + 1..i + 3]).ok().and_then(|h| u8::from_str_radix(h, 16).ok());
                    match h {
                        Some(v) => {
                            out.push(v);
                            i += 2;
                        }
                        None => {
                            *bad = true;
                            out.push(b'%');
                        }
                    }
                }
                b'%' => {
                    *bad = true;
                    out.push(b'%');
                }
                c => out.push(c),
            }
            i += 1;
        }
        out
    }
    let mut bad = false;
    let mut args = Vec::new();
    for piece in b.split(|&c| c == sep) {
        if piece.is_empty() {
            continue;
        }
        let (n, v) = match piece.iter().position(|&c| c == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &b""[..]),
        };
        args.push((decode(n, &mut bad), decode(v, &mut bad)));
    }
    UrlEncoded { args, invalid_encoding: bad }
}

/// Stand-in: replaced by `crate::body::cookies`.
pub(crate) fn parse_cookies(h: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    h.split(|&c| c == b';')
        .map(|c| c.trim_ascii())
        .filter(|c| !c.is_empty())
        .map(|c| match c.iter().position(|&b| b == b'=') {
            Some(i) => (c[..i].to_vec(), c[i + 1..].to_vec()),
            None => (c.to_vec(), Vec::new()),
        })
        .collect()
}

/// Multipart strictness flags as the processor reports them.
#[derive(Default)]
pub(crate) struct MultipartFlagsOut {
    pub(crate) boundary_quoted: bool,
    pub(crate) boundary_whitespace: bool,
    pub(crate) data_before: bool,
    pub(crate) data_after: bool,
    pub(crate) header_folding: bool,
    pub(crate) lf_line: bool,
    pub(crate) crlf_lf_lines: bool,
    pub(crate) missing_semicolon: bool,
    pub(crate) invalid_quoting: bool,
    pub(crate) invalid_part: bool,
    pub(crate) invalid_header_folding: bool,
    pub(crate) file_limit_exceeded: bool,
    pub(crate) unmatched_boundary: bool,
    pub(crate) strict_error: bool,
}

/// One uploaded file.
pub(crate) struct MultipartFile {
    pub(crate) name: Vec<u8>,
    pub(crate) filename: Vec<u8>,
    pub(crate) size: usize,
}

/// What the multipart processor produced.
#[derive(Default)]
pub(crate) struct MultipartResult {
    pub(crate) flags: MultipartFlagsOut,
    pub(crate) args: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) files: Vec<MultipartFile>,
    pub(crate) part_headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub(crate) names: Vec<Vec<u8>>,
    pub(crate) filenames: Vec<Vec<u8>>,
    pub(crate) error: Option<String>,
}

/// Stand-in: replaced by `crate::body::multipart`.
pub(crate) fn parse_multipart(_content_type: &[u8], _body: &[u8]) -> MultipartResult {
    MultipartResult { error: Some("multipart processor not available".into()), ..MultipartResult::default() }
}

/// Stand-in: replaced by `crate::body::json`.
pub(crate) fn parse_json(_body: &[u8], _depth: u32) -> Result<Vec<(Vec<u8>, Vec<u8>)>, String> {
    Err("JSON processor not available".into())
}

/// The XML values rules read.
pub(crate) struct XmlDoc {
    pub(crate) text: Vec<u8>,
    pub(crate) attributes: Vec<Vec<u8>>,
}

/// Stand-in: replaced by `crate::body::xml`.
pub(crate) fn parse_xml(_body: &[u8]) -> Result<XmlDoc, String> {
    Err("XML processor not available".into())
}

/// Stand-in: replaced by `crate::operator` (libinjection).
pub(crate) fn detect_sqli(_v: &[u8]) -> Option<String> {
    None
}

/// Stand-in: replaced by `crate::operator` (libinjection).
pub(crate) fn detect_xss(_v: &[u8]) -> bool {
    false
}

/// Stand-in: replaced by `crate::operator`.
pub(crate) fn validate_url_encoding(_v: &[u8]) -> Option<String> {
    None
}

/// Stand-in: replaced by `crate::operator`.
pub(crate) fn validate_utf8_encoding(v: &[u8]) -> Option<String> {
    std::str::from_utf8(v).err().map(|e| format!("Invalid UTF-8 encoding: {e}"))
}
