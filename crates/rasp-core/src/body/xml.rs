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
//! that partial view with a tolerant scan of the text before the error.

use super::BodyError;

/// The parts of an XML document rules can reach.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct XmlDocument {
    /// The string value of the document element (`XML:/*`). UTF-8.
    pub root_text: Vec<u8>,
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
            "/*" => Some(vec![self.root_text.as_slice()]),
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
    let text = match decode(body) {
        Some(text) => text,
        None => {
            // libxml2 rejects bytes that are not in the document's encoding.
            return XmlResult {
                document: None,
                error: Some(BodyError::same(PARSE_ERROR.to_owned())),
            };
        }
    };
    // External entities resolve to nothing, like v2's loader.
    let resolver = |_: Option<&str>, _: &str| -> Result<Option<&str>, String> { Ok(Some("")) };
    let options = roxmltree::ParsingOptions {
        allow_dtd: true,
        nodes_limit: u32::MAX,
        entity_resolver: Some(&resolver),
    };
    match roxmltree::Document::parse_with_options(&text, options) {
        Ok(doc) => {
            let root = doc.root_element();
            if let Some(too_deep) = first_too_deep(root) {
                // libxml2 refuses documents nested deeper than its default
                // limit (without XML_PARSE_HUGE, which v2 does not set).
                return XmlResult {
                    document: partial(text.get(..too_deep).unwrap_or(&text)),
                    error: Some(BodyError::same(PARSE_ERROR.to_owned())),
                };
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
                    attribute_values,
                    well_formed: true,
                }),
                error: None,
            }
        }
        Err(e) => {
            let pos = e.pos();
            let cut = byte_offset(&text, pos.row, pos.col);
            XmlResult {
                document: partial(text.get(..cut).unwrap_or(&text)),
                error: Some(BodyError::same(PARSE_ERROR.to_owned())),
            }
        }
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

/// A tolerant scan of the text before a well-formedness error, giving what
/// libxml2's partial tree would: text inside the first element and every
/// attribute value seen.
fn partial(text: &str) -> Option<XmlDocument> {
    let b = text.as_bytes();
    let mut doc = XmlDocument::default();
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut i = 0;
    while i < b.len() {
        if b.get(i) != Some(&b'<') {
            let end = find_from(b, i, b"<").unwrap_or(b.len());
            if depth > 0 {
                doc.root_text
                    .extend_from_slice(&decode_entities(b.get(i..end).unwrap_or_default()));
            }
            i = end;
            continue;
        }
        let rest = b.get(i..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            i = find_from(b, i + 4, b"-->").map_or(b.len(), |e| e + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            let end = find_from(b, i + 9, b"]]>").unwrap_or(b.len());
            if depth > 0 {
                doc.root_text
                    .extend_from_slice(b.get(i + 9..end).unwrap_or_default());
            }
            i = (end + 3).min(b.len());
        } else if rest.starts_with(b"<?") {
            i = find_from(b, i + 2, b"?>").map_or(b.len(), |e| e + 2);
        } else if rest.starts_with(b"<!") {
            // DOCTYPE, possibly with an internal subset in brackets.
            let mut j = i + 2;
            let mut brackets = 0i32;
            while let Some(&c) = b.get(j) {
                match c {
                    b'[' => brackets += 1,
                    b']' => brackets -= 1,
                    b'>' if brackets <= 0 => break,
                    _ => {}
                }
                j += 1;
            }
            i = j + 1;
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = find_from(b, i, b">").map_or(b.len(), |e| e + 1);
        } else {
            let (end, self_closing) = scan_tag(b, i + 1, &mut doc.attribute_values);
            if depth == 0 && seen_root {
                // libxml2 stops at a second root element.
                break;
            }
            seen_root = true;
            if !self_closing {
                depth += 1;
            }
            i = end;
        }
    }
    seen_root.then_some(doc)
}

/// Reads a start tag's attributes from `from` (after `<`); returns the
/// index after `>` and whether the tag was self-closing.
fn scan_tag(b: &[u8], from: usize, attrs: &mut Vec<Vec<u8>>) -> (usize, bool) {
    let mut i = from;
    while let Some(&c) = b.get(i) {
        match c {
            b'>' => return (i + 1, b.get(i.wrapping_sub(1)) == Some(&b'/')),
            b'"' | b'\'' => {
                let end = b
                    .get(i + 1..)
                    .and_then(|r| r.iter().position(|&x| x == c))
                    .map_or(b.len(), |e| i + 1 + e);
                // Only values that follow `=` are attribute values.
                let mut k = i;
                while k > from && b.get(k - 1).is_some_and(|x| x.is_ascii_whitespace()) {
                    k -= 1;
                }
                if k > from && b.get(k - 1) == Some(&b'=') {
                    let name_start = b
                        .get(from..k - 1)
                        .and_then(|r| r.iter().rposition(|x| x.is_ascii_whitespace()))
                        .map_or(from, |p| from + p + 1);
                    let name = b.get(name_start..k - 1).unwrap_or_default();
                    if !name.trim_ascii().starts_with(b"xmlns") {
                        attrs.push(decode_entities(b.get(i + 1..end).unwrap_or_default()));
                    }
                }
                i = end + 1;
            }
            _ => i += 1,
        }
    }
    (b.len(), false)
}

fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// The five predefined entities and character references.
fn decode_entities(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'&' {
            if let Some(semi) = s
                .get(i + 1..)
                .and_then(|r| r.iter().take(12).position(|&x| x == b';'))
            {
                let name = s.get(i + 1..i + 1 + semi).unwrap_or_default();
                let decoded: Option<char> = match name {
                    b"lt" => Some('<'),
                    b"gt" => Some('>'),
                    b"amp" => Some('&'),
                    b"quot" => Some('"'),
                    b"apos" => Some('\''),
                    _ => name.strip_prefix(b"#").and_then(|num| {
                        let text = std::str::from_utf8(num).ok()?;
                        let code = match text.strip_prefix(['x', 'X']) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                            None => text.parse().ok()?,
                        };
                        char::from_u32(code)
                    }),
                };
                if let Some(ch) = decoded {
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    i += semi + 2;
                    continue;
                }
            }
        }
        out.push(c);
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(body: &str) -> XmlDocument {
        let r = parse(body.as_bytes());
        assert_eq!(r.error, None, "{body}");
        r.document.unwrap_or_default()
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
        assert!(
            d.root_text.starts_with(b"attack"),
            "{:?}",
            String::from_utf8_lossy(&d.root_text)
        );
        assert_eq!(d.attribute_values, vec![b"v".to_vec()]);
        let r = parse(b"not xml at all");
        assert!(r.error.is_some());
        assert_eq!(r.document, None);
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
    fn encodings() {
        assert!(parse(b"").error.is_none());
        assert!(parse(b"").document.is_none());
        let r = parse(b"<a>\xff</a>");
        assert!(r.error.is_some());
        let d = parse(b"<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><a>\xe9</a>");
        assert_eq!(d.error, None);
        assert_eq!(d.document.unwrap_or_default().root_text, "é".as_bytes());
        let mut utf16 = vec![0xff, 0xfe];
        for u in "<a>z</a>".encode_utf16() {
            utf16.extend_from_slice(&u.to_le_bytes());
        }
        assert_eq!(parse(&utf16).document.unwrap_or_default().root_text, b"z");
        assert_eq!(doc("\u{feff}<a>y</a>").root_text, b"y");
    }
}
