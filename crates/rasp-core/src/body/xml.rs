//! XML request bodies → the `XML` variable.
//!
//! ModSecurity v2 builds a libxml2 tree and evaluates the XPath expression
//! of each `XML:` target against it. CRS only uses two expressions:
//! - `XML:/*`: the document element, whose value is its string value, i.e.
//!   all text and CDATA inside it concatenated (comments and processing
//!   instructions excluded);
//! - `XML://@*`: every attribute, in document order, each value one item.
//!
//! So the document is reduced to those two at parse time ([`XmlDocument`]).
//!
//! Safety: nothing is ever loaded. v2 installs an external entity loader that
//! returns nothing, so a reference to an external entity expands to the
//! empty string; internal entities expand (with roxmltree's billion-laughs
//! guard), and the tree depth is bounded by the body size without
//! recursion in our code.
//!
//! A malformed document sets `REQBODY_ERROR` with v2's message
//! "XML parser error: XML: Failed parsing document.". v2 still keeps the
//! partial tree libxml2 built up to the error, and rules see it; we rebuild
//! that partial view with a tolerant scan of the text before the error
//! (`scan`), which also catches what libxml2 refuses and roxmltree allows.
//! Checked against v2's `msc_xml.c` with libxml2 2.9.14 on 8,000 generated
//! documents (mostly malformed): 99.3 % identical (`v2_vectors`); the rest
//! are artificial corner cases (`<!DOCTYPEr`, `p:="…"`, entity values
//! holding `%`, `xmlns="&e;"`).

use super::BodyError;

mod scan;
#[cfg(test)]
mod v2_vectors;

/// The parts of an XML document rules can reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlDocument {
    /// The string value of the document element (`XML:/*`), UTF-8.
    pub root_text: Vec<u8>,
    /// False when a malformed document broke off before its first start
    /// tag was complete: v2 then has a document without an element, and
    /// `XML:/*` yields nothing (use [`XmlDocument::select`]).
    pub has_root: bool,
    /// Every attribute value in document order (`XML://@*`). UTF-8.
    pub attribute_values: Vec<Vec<u8>>,
    /// False when this is the partial view of a malformed document.
    pub well_formed: bool,
}

impl XmlDocument {
    /// The values of `XML:<expr>` for the XPath expressions CRS uses, or
    /// `None` for any other expression. (Without an expression v2 yields the
    /// placeholder `[XML document tree]`; that is the caller's business.)
    pub fn select(&self, expr: &str) -> Option<Vec<&[u8]>> {
        match expr.trim() {
            "/*" => Some(if self.has_root {
                vec![self.root_text.as_slice()]
            } else {
                Vec::new()
            }),
            "//@*" => Some(self.attribute_values.iter().map(Vec::as_slice).collect()),
            _ => None,
        }
    }
}

/// What the XML processor produced.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlResult {
    /// The document, full or partial; `None` for an empty body (v2 never
    /// starts the parser then) or when nothing usable was found.
    pub document: Option<XmlDocument>,
    /// `REQBODY_ERROR_MSG` when the document is not well-formed.
    pub error: Option<BodyError>,
}

/// v2's message for any XML well-formedness failure.
pub const PARSE_ERROR: &str = "XML parser error: XML: Failed parsing document.";

/// Parses an XML body.
pub fn parse(body: &[u8]) -> XmlResult {
    if body.is_empty() {
        return XmlResult::default();
    }
    let mut text = match decode(body) {
        Some(text) => text,
        None => {
            // libxml2 stops at the first byte that is not in the document's
            // encoding (UTF-8 unless declared otherwise).
            let valid = match std::str::from_utf8(body) {
                Ok(all) => all,
                Err(e) => std::str::from_utf8(body.get(..e.valid_up_to()).unwrap_or_default())
                    .unwrap_or_default(),
            };
            if scan::bad_declaration(valid) {
                return XmlResult {
                    document: None,
                    error: Some(BodyError::same(PARSE_ERROR.to_owned())),
                };
            }
            return malformed(valid, valid.len());
        }
    };
    if scan::bad_declaration(&text) {
        // libxml2 fails before it creates the document.
        return XmlResult {
            document: None,
            error: Some(BodyError::same(PARSE_ERROR.to_owned())),
        };
    }
    if let Some(stop) = scan::attribute_overload(&text) {
        return malformed(&text, stop);
    }
    // libxml2 only warns about an undeclared namespace prefix (`<p:a>`)
    // and keeps the name as written; roxmltree refuses it. Declaring the
    // missing prefixes on the root element gives roxmltree the same tree (a
    // declaration is not an attribute, so `//@*` does not change). All of
    // them at once: one retry, whatever the number of prefixes.
    if let Err(roxmltree::Error::UnknownNamespace(..)) =
        roxmltree::Document::parse_with_options(&text, parse_options())
    {
        if let Some(at) = scan::root_name_end(&text) {
            let declarations: String = scan::undeclared_prefixes(&text)
                .iter()
                .map(|p| format!(" xmlns:{p}=\"urn:rasp:undeclared\""))
                .collect();
            text.insert_str(at, &declarations);
        }
    }
    match roxmltree::Document::parse_with_options(&text, parse_options()) {
        Ok(doc) => {
            let root = doc.root_element();
            // libxml2 refuses a few things roxmltree accepts, and documents
            // nested deeper than its default limit (v2 does not set
            // XML_PARSE_HUGE).
            let stricter = scan::scan(&text, text.len()).violation;
            let too_deep = first_too_deep(root);
            if let Some(stop) = stricter.into_iter().chain(too_deep).min() {
                return malformed(&text, stop);
            }
            let mut root_text = String::new();
            let mut attribute_values = Vec::new();
            for node in root.descendants() {
                if node.is_text() {
                    root_text.push_str(node.text().unwrap_or_default());
                } else if node.is_element() {
                    for attr in node.attributes() {
                        attribute_values.push(attr.value().as_bytes().to_vec());
                    }
                }
            }
            XmlResult {
                document: Some(XmlDocument {
                    root_text: root_text.into_bytes(),
                    has_root: true,
                    attribute_values,
                    well_formed: true,
                }),
                error: None,
            }
        }
        Err(e) => {
            // Errors about the end of the input carry no useful position:
            // libxml2 read everything up to the end.
            let stop = match e {
                roxmltree::Error::UnexpectedEndOfStream
                | roxmltree::Error::UnclosedRootNode
                | roxmltree::Error::NoRootNode => text.len(),
                other => {
                    let pos = other.pos();
                    byte_offset(&text, pos.row, pos.col)
                }
            };
            malformed(&text, stop)
        }
    }
}

/// The result for a document libxml2 stops reading at byte `stop`: the
/// error, and the partial tree built before it.
fn malformed(text: &str, stop: usize) -> XmlResult {
    let mut seen = scan::scan(text, stop);
    if let Some(earlier) = seen.violation.filter(|&v| v < stop) {
        seen = scan::scan(text, earlier);
    }
    XmlResult {
        document: Some(seen.doc),
        error: Some(BodyError::same(PARSE_ERROR.to_owned())),
    }
}

/// libxml2's default nesting limit for elements.
pub const MAX_DEPTH: usize = 256;

/// Byte offset of the first element nested deeper than [`MAX_DEPTH`].
fn first_too_deep(root: roxmltree::Node<'_, '_>) -> Option<usize> {
    // Depth by walking the tree in document order without recursion:
    // descendants() is iterative; each element's depth is its ancestors'.
    let mut depths: Vec<(roxmltree::NodeId, usize)> = Vec::new();
    for node in root.descendants().filter(roxmltree::Node::is_element) {
        let depth = match node.parent_element() {
            Some(parent) => {
                while depths.last().is_some_and(|(id, _)| *id != parent.id()) {
                    depths.pop();
                }
                depths.last().map_or(1, |(_, d)| d + 1)
            }
            None => 1,
        };
        if depth > MAX_DEPTH {
            return Some(node.range().start);
        }
        depths.push((node.id(), depth));
    }
    None
}

/// The body as text: UTF-8 (BOM dropped), UTF-16 with a BOM, or Latin-1
/// when the declaration says so. `None` when the bytes do not fit.
fn decode(body: &[u8]) -> Option<String> {
    if let Some(rest) = body.strip_prefix(b"\xef\xbb\xbf") {
        return String::from_utf8(rest.to_vec()).ok();
    }
    if body.starts_with(b"\xff\xfe") || body.starts_with(b"\xfe\xff") {
        let little = body.starts_with(b"\xff\xfe");
        let units: Vec<u16> = body
            .get(2..)
            .unwrap_or_default()
            .chunks_exact(2)
            .map(|p| match p {
                [a, b] if little => u16::from_le_bytes([*a, *b]),
                [a, b] => u16::from_be_bytes([*a, *b]),
                _ => 0,
            })
            .collect();
        return String::from_utf16(&units).ok();
    }
    match std::str::from_utf8(body) {
        Ok(s) => Some(s.to_owned()),
        Err(_) if declares_latin1(body) => Some(body.iter().map(|&b| char::from(b)).collect()),
        Err(_) => None,
    }
}

fn declares_latin1(body: &[u8]) -> bool {
    let head = body.get(..body.len().min(200)).unwrap_or_default();
    if !head.starts_with(b"<?xml") {
        return false;
    }
    let decl_end = head
        .windows(2)
        .position(|w| w == b"?>")
        .unwrap_or(head.len());
    let decl = head
        .get(..decl_end)
        .unwrap_or_default()
        .to_ascii_lowercase();
    [
        &b"iso-8859-1"[..],
        b"latin1",
        b"latin-1",
        b"us-ascii",
        b"ascii",
    ]
    .iter()
    .any(|name| decl.windows(name.len()).any(|w| w == *name))
}

/// DTDs allowed (libxml2 reads internal subsets), nothing loaded.
fn parse_options<'a>() -> roxmltree::ParsingOptions<'a> {
    roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: u32::MAX,
        entity_resolver: Some(&no_external_entities),
    }
}

/// External entities resolve to nothing, like v2's entity loader.
fn no_external_entities<'a>(
    _public_id: Option<&str>,
    _uri: &str,
) -> Result<Option<&'a str>, String> {
    Ok(Some(""))
}

/// Byte offset of a 1-based row/column (columns count characters).
fn byte_offset(text: &str, row: u32, col: u32) -> usize {
    let mut line_start = 0;
    for _ in 1..row {
        match text.get(line_start..).and_then(|rest| rest.find('\n')) {
            Some(nl) => line_start += nl + 1,
            None => return text.len(),
        }
    }
    let line = text.get(line_start..).unwrap_or_default();
    let within = line
        .char_indices()
        .nth(col.saturating_sub(1) as usize)
        .map_or(line.len(), |(i, _)| i);
    line_start + within
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> XmlDocument {
        let r = parse(body.as_bytes());
        assert_eq!(r.error, None, "{body}");
        r.document.unwrap_or_default()
    }

    fn root(body: &[u8]) -> Vec<u8> {
        parse(body)
            .document
            .map(|d| d.root_text)
            .unwrap_or_default()
    }

    #[test]
    fn root_text_and_attributes() {
        let d = doc(
            r#"<?xml version="1.0"?><!-- c --><a x="1" xmlns:p="urn:p"><b p:y="2&amp;3">hi <![CDATA[<there>]]></b><!-- no --><?pi no?>!</a>"#,
        );
        assert_eq!(d.root_text, b"hi <there>!");
        assert_eq!(d.attribute_values, vec![b"1".to_vec(), b"2&3".to_vec()]);
        assert_eq!(d.select("/*"), Some(vec![&b"hi <there>!"[..]]));
        assert_eq!(d.select("//@*").map(|v| v.len()), Some(2));
        assert_eq!(d.select("/a/b"), None);
        assert!(d.well_formed);
    }

    #[test]
    fn crs_xml_payload() {
        // The XML body some CRS 920/921 tests send.
        let d = doc(r#"<?xml version="1.0"?><data><id>123</id></data>"#);
        assert_eq!(d.root_text, b"123");
    }

    #[test]
    fn entities_internal_expand_external_are_empty() {
        let d = doc(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE r [<!ENTITY i \"inner\"><!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n<r>a&i;b&x;c</r>",
        );
        assert_eq!(d.root_text, b"ainnerbc");
    }

    #[test]
    fn billion_laughs_is_an_error_not_a_hang() {
        let mut body = String::from("<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY l0 \"ha\">");
        for i in 1..12 {
            body.push_str(&format!(
                "<!ENTITY l{i} \"&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};\">",
                p = i - 1
            ));
        }
        body.push_str("]><l>&l11;</l>");
        let r = parse(body.as_bytes());
        assert!(r.error.is_some());
    }

    #[test]
    fn malformed_keeps_partial_view() {
        let r = parse(b"<a k=\"v\"><b>attack</b><c>more</a>");
        assert_eq!(r.error.map(|e| e.msg), Some(PARSE_ERROR.to_owned()));
        let d = r.document.unwrap_or_default();
        assert!(!d.well_formed);
        // libxml2 stops at the mismatched end tag: "more" was read.
        assert_eq!(d.root_text, b"attackmore");
        assert_eq!(d.attribute_values, vec![b"v".to_vec()]);
        // A start tag cut short leaves a document without an element.
        let r = parse(b"<?xml version=\"1.0\"?><a k=\"v\"");
        assert!(r.error.is_some());
        assert_eq!(
            r.document.map(|d| d.select("/*").map(|v| v.len())),
            Some(Some(0))
        );
        // A bad declaration leaves no document at all.
        let r = parse(b"<?xml version=\"9.0\"?><a/>");
        assert!(r.error.is_some());
        assert_eq!(r.document, None);
        // Things libxml2 refuses and roxmltree would accept.
        for bad in [&b"<a x='1' x='2'/>"[..], b"<a><?pi-->?></a>", b"<a/><b/>"] {
            assert!(
                parse(bad).error.is_some(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
        // Undeclared namespace prefixes are only a warning in libxml2.
        let d = doc("<p:a q:b=\"1\">t</p:a>");
        assert_eq!(d.attribute_values, vec![b"1".to_vec()]);
        let many: String = (0..500)
            .map(|i| format!("<n{i}:e a{i}:x=\"{i}\"/>"))
            .collect();
        let d = doc(&format!("<r xmlns:n0=\"u\">{many}</r>"));
        assert_eq!(d.attribute_values.len(), 500);
    }

    #[test]
    fn nesting_limit_is_libxml2s() {
        let nested = |n: usize| format!("{}x{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse(nested(MAX_DEPTH).as_bytes()).error.is_none());
        let r = parse(nested(MAX_DEPTH + 1).as_bytes());
        assert_eq!(r.error.map(|e| e.msg), Some(PARSE_ERROR.to_owned()));
        assert!(r.document.is_some_and(|d| !d.well_formed));
        // Very deep input is refused without exhausting the stack.
        assert!(parse(nested(200_000).as_bytes()).error.is_some());
    }

    #[test]
    fn huge_attribute_lists_are_refused_in_linear_time() {
        let attrs: String = (0..200_000).map(|i| format!(" a{i}=\"v\"")).collect();
        let r = parse(format!("<r><e{attrs}/></r>").as_bytes());
        assert_eq!(r.error.map(|e| e.msg), Some(PARSE_ERROR.to_owned()));
        assert!(r
            .document
            .is_some_and(|d| d.has_root && d.attribute_values.is_empty()));
        let ok: String = (0..100).map(|i| format!(" a{i}=\"v\"")).collect();
        assert!(parse(format!("<r{ok}/>").as_bytes()).error.is_none());
    }

    #[test]
    fn encodings() {
        assert!(parse(b"").error.is_none());
        assert!(parse(b"").document.is_none());
        // Bytes not in the document's encoding end it there, as libxml2's
        // partial tree shows.
        let r = parse(b"<a k=\"v\">ok\xff</a>");
        assert!(r.error.is_some());
        let d = r.document.unwrap_or_default();
        assert!(d.has_root && d.root_text == b"ok" && d.attribute_values == [b"v".to_vec()]);
        let d = parse(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>");
        assert_eq!(d.error, None);
        assert_eq!(
            d.document.map(|d| d.root_text),
            Some("é".as_bytes().to_vec())
        );
        let mut utf16 = vec![0xff, 0xfe];
        for u in "<a>z</a>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(root(&utf16), b"z");
        assert_eq!(root("\u{feff}<a>y</a>".as_bytes()), b"y");
    }
}
