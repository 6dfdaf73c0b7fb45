//! A tolerant XML scanner with two jobs the tree parser cannot do:
//!
//! - rebuild what libxml2's push parser had built when it hit a fatal
//!   error (v2 keeps that partial tree and rules see it): elements whose
//!   start tag was complete, their attributes, and the text inside the
//!   document element up to the error;
//! - find the few things libxml2 rejects that roxmltree accepts: a bad XML
//!   declaration, a processing instruction whose target is not followed by
//!   a space, a late `<?xml`, and a repeated attribute name in one tag.
//!
//! It never recurses and reads each byte a bounded number of times.

use super::XmlDocument;

/// What a scan of `text[..stop]` found.
#[derive(Debug, Default)]
pub(super) struct Scan {
    /// The partial document (no root text when no start tag completed).
    pub(super) doc: XmlDocument,
    /// Byte offset of the first construct libxml2 would reject.
    pub(super) violation: Option<usize>,
}

/// Finds `needle` in `hay` at or after `from`.
pub(super) fn find_from(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Whether `text` starts with an XML declaration libxml2 would refuse
/// (`<?xml` then a space, but not `version="1.x"` \[encoding\] \[standalone\]).
/// libxml2 creates no document at all then.
pub(super) fn bad_declaration(text: &str) -> bool {
    let b = text.as_bytes();
    if !(b.starts_with(b"<?xml") && b.get(5).is_some_and(|c| is_space(*c))) {
        return false;
    }
    let Some(end) = find_from(b, 5, b"?>") else {
        return true;
    };
    let mut rest = b.get(5..end).unwrap_or_default();
    let mut expect = |name: &[u8], ok: &dyn Fn(&[u8]) -> bool, required: bool| -> Option<bool> {
        let trimmed = rest.trim_ascii_start();
        let had_space = trimmed.len() < rest.len();
        if !trimmed.starts_with(name) || !had_space {
            return if required { None } else { Some(false) };
        }
        let after = trimmed
            .get(name.len()..)
            .unwrap_or_default()
            .trim_ascii_start();
        let after = after.strip_prefix(b"=")?.trim_ascii_start();
        let quote = *after.first()?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let close = after.get(1..)?.iter().position(|&c| c == quote)? + 1;
        if !ok(after.get(1..close)?) {
            return None;
        }
        rest = after.get(close + 1..).unwrap_or_default();
        Some(true)
    };
    // libxml2 takes any "1." version (warning for unknown minors).
    let version_ok = |v: &[u8]| {
        v.strip_prefix(b"1.")
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    let encoding_ok = |v: &[u8]| known_encoding(v);
    let standalone_ok = |v: &[u8]| v == b"yes" || v == b"no";
    if expect(b"version", &version_ok, true).is_none()
        || expect(b"encoding", &encoding_ok, false).is_none()
        || expect(b"standalone", &standalone_ok, false).is_none()
    {
        return true;
    }
    !rest.iter().all(|c| is_space(*c))
}

/// The most attributes one element may have.
pub(super) const MAX_ATTRIBUTES: usize = 1024;

/// The most total duplicate-check work (the sum over elements of the
/// squared attribute count) a document may need.
const ATTRIBUTE_WORK: u64 = 1 << 24;

/// Where the first start tag is that would make attribute checking too
/// expensive. libxml2 (and roxmltree) check duplicate attributes pairwise,
/// so a document of huge attribute lists costs quadratic time; we refuse
/// it instead (a deliberate difference from v2, which only very unusual
/// documents can notice).
pub(super) fn attribute_overload(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut work = 0u64;
    let mut i = 0;
    while let Some(lt) = find_from(b, i, b"<") {
        i = lt + 1;
        if !b.get(i).copied().is_some_and(is_name_start) {
            continue;
        }
        let mut count = 0u64;
        let mut quote = 0u8;
        while let Some(&c) = b.get(i) {
            match c {
                _ if quote != 0 && c == quote => quote = 0,
                _ if quote != 0 => {}
                b'"' | b'\'' => quote = c,
                b'=' => count += 1,
                b'>' => break,
                _ => {}
            }
            i += 1;
        }
        work = work.saturating_add(count.saturating_mul(count));
        if count > MAX_ATTRIBUTES as u64 || work > ATTRIBUTE_WORK {
            return Some(lt);
        }
    }
    None
}

/// Prefixes used in element or attribute names that the document element
/// does not declare itself (`xml` and `xmlns` excluded), each once.
pub(super) fn undeclared_prefixes(text: &str) -> Vec<String> {
    let b = text.as_bytes();
    let mut used: Vec<&[u8]> = Vec::new();
    let mut root_declared: Vec<&[u8]> = Vec::new();
    let mut first_tag = true;
    let mut i = 0;
    while let Some(lt) = find_from(b, i, b"<") {
        i = lt + 1;
        if !b.get(i).copied().is_some_and(is_name_start) {
            continue;
        }
        let end = find_from(b, i, b">").unwrap_or(b.len());
        let tag = b.get(i..end).unwrap_or_default();
        // Names are the element name and every `name=` in the tag.
        let mut names: Vec<&[u8]> = Vec::new();
        let name_len = tag
            .iter()
            .position(|&c| !is_name_char(c))
            .unwrap_or(tag.len());
        names.push(tag.get(..name_len).unwrap_or_default());
        let mut k = name_len;
        let mut quote = 0u8;
        let mut start = None;
        while let Some(&c) = tag.get(k) {
            if quote != 0 {
                if c == quote {
                    quote = 0;
                }
            } else if c == b'"' || c == b'\'' {
                quote = c;
            } else if is_name_char(c) {
                start.get_or_insert(k);
            } else {
                if let (Some(s0), b'=') = (start, c) {
                    names.push(tag.get(s0..k).unwrap_or_default());
                } else if let Some(s0) = start {
                    // `name =`: look past spaces for the `=`.
                    let rest = tag.get(k..).unwrap_or_default().trim_ascii_start();
                    if rest.first() == Some(&b'=') {
                        names.push(tag.get(s0..k).unwrap_or_default());
                    }
                }
                start = None;
            }
            k += 1;
        }
        for name in names {
            let Some(colon) = name.iter().position(|&c| c == b':') else {
                continue;
            };
            let (prefix, local) = (
                name.get(..colon).unwrap_or_default(),
                name.get(colon + 1..).unwrap_or_default(),
            );
            if prefix == b"xmlns" {
                if first_tag {
                    root_declared.push(local);
                }
            } else if !prefix.is_empty() && prefix != b"xml" && !used.contains(&prefix) {
                used.push(prefix);
            }
        }
        first_tag = false;
        i = end;
    }
    used.into_iter()
        .filter(|p| !root_declared.contains(p))
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect()
}

/// Encodings libxml2 can read (its own and the usual iconv names); it
/// refuses a document that declares any other.
fn known_encoding(name: &[u8]) -> bool {
    let upper = name.to_ascii_uppercase();
    const EXACT: &[&[u8]] = &[
        b"UTF-8",
        b"UTF8",
        b"US-ASCII",
        b"ASCII",
        b"SHIFT_JIS",
        b"SHIFT-JIS",
        b"SJIS",
        b"MACINTOSH",
        b"TIS-620",
        b"HZ-GB-2312",
        b"BIG5",
        b"BIG5-HKSCS",
    ];
    const PREFIXES: &[&[u8]] = &[
        b"UTF-16",
        b"UTF16",
        b"UTF-32",
        b"UTF32",
        b"UCS-",
        b"UCS2",
        b"UCS4",
        b"ISO-8859-",
        b"ISO_8859",
        b"ISO8859",
        b"ISO-LATIN-",
        b"LATIN",
        b"WINDOWS-",
        b"CP",
        b"EUC-",
        b"ISO-2022-",
        b"GB",
        b"KOI8-",
        b"IBM",
        b"UNICODE",
    ];
    EXACT.contains(&upper.as_slice()) || PREFIXES.iter().any(|p| upper.starts_with(p))
}

/// Where the document element's name ends (after `<name`), skipping the
/// prolog: declaration, comments, processing instructions, DOCTYPE.
pub(super) fn root_name_end(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let rest = b.get(i..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            i = find_from(b, i + 4, b"-->")? + 3;
        } else if rest.starts_with(b"<?") {
            i = find_from(b, i + 2, b"?>")? + 2;
        } else if rest.starts_with(b"<!") {
            i = skip_doctype(b, i) + 1;
        } else if rest.first() == Some(&b'<') {
            let name_len = rest
                .get(1..)
                .unwrap_or_default()
                .iter()
                .position(|&c| is_space(c) || c == b'/' || c == b'>')
                .unwrap_or(rest.len() - 1);
            return (name_len > 0).then_some(i + 1 + name_len);
        } else {
            i += 1;
        }
    }
    None
}

/// Index of the `>` that ends a `<!...>` starting at `from` (brackets of an
/// internal subset and quoted strings skipped), or the end of `b`.
fn skip_doctype(b: &[u8], from: usize) -> usize {
    let mut j = from + 2;
    let mut brackets = 0i32;
    let mut quote = 0u8;
    while let Some(&c) = b.get(j) {
        match c {
            _ if quote != 0 && c == quote => quote = 0,
            _ if quote != 0 => {}
            b'"' | b'\'' => quote = c,
            b'[' => brackets += 1,
            b']' => brackets -= 1,
            b'>' if brackets <= 0 => return j,
            _ => {}
        }
        j += 1;
    }
    b.len()
}

/// A byte that may start an XML name (non-ASCII bytes are let through).
fn is_name_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80
}

/// A byte that may continue an XML name.
fn is_name_char(c: u8) -> bool {
    is_name_start(c) || c.is_ascii_digit() || c == b'.' || c == b'-'
}

/// XML white space.
fn is_space(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\r' | b'\n')
}

/// `<!ENTITY name "value">` declarations of the internal subset; external
/// ones (`SYSTEM`/`PUBLIC`) map to the empty string, as v2 loads nothing.
fn internal_entities(b: &[u8]) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = find_from(b, from, b"<!ENTITY") {
        from = at + 8;
        let rest = b.get(from..).unwrap_or_default().trim_ascii_start();
        if rest.first() == Some(&b'%') {
            continue; // parameter entity
        }
        let name_len = rest.iter().position(|&c| is_space(c)).unwrap_or(rest.len());
        let name = rest.get(..name_len).unwrap_or_default();
        let def = rest.get(name_len..).unwrap_or_default().trim_ascii_start();
        let value = match def.first() {
            Some(&q @ (b'"' | b'\'')) => def
                .get(1..)
                .and_then(|v| v.iter().position(|&c| c == q).and_then(|e| v.get(..e)))
                .unwrap_or_default()
                .to_vec(),
            _ => Vec::new(),
        };
        if !name.is_empty() {
            out.push((name.to_vec(), value));
        }
    }
    out
}

/// Decodes predefined entities, character references and the document's
/// own entities (one level).
fn decode_entities(s: &[u8], entities: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while let Some(&c) = s.get(i) {
        if c == b'&' {
            if let Some(semi) = s
                .get(i + 1..)
                .and_then(|r| r.iter().position(|&x| x == b';'))
            {
                let name = s.get(i + 1..i + 1 + semi).unwrap_or_default();
                let predefined: Option<&[u8]> = match name {
                    b"lt" => Some(b"<"),
                    b"gt" => Some(b">"),
                    b"amp" => Some(b"&"),
                    b"quot" => Some(b"\""),
                    b"apos" => Some(b"'"),
                    _ => None,
                };
                let decoded = predefined.map(<[u8]>::to_vec).or_else(|| {
                    if let Some(num) = name.strip_prefix(b"#") {
                        let text = std::str::from_utf8(num).ok()?;
                        let code = match text.strip_prefix(['x', 'X']) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                            None => text.parse().ok()?,
                        };
                        let mut buf = [0u8; 4];
                        return Some(
                            char::from_u32(code)?
                                .encode_utf8(&mut buf)
                                .as_bytes()
                                .to_vec(),
                        );
                    }
                    entities
                        .iter()
                        .find(|(n, _)| n.as_slice() == name)
                        .map(|(_, v)| v.clone())
                });
                if let Some(bytes) = decoded {
                    out.extend_from_slice(&bytes);
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

/// Appends character data the way libxml2 delivers it: literal runs and
/// references one by one. A run containing `]]>`, a malformed reference or
/// an undeclared entity stops the document there (`Err` with the offset);
/// what was delivered before stays.
fn text_content(
    run: &[u8],
    entities: &[(Vec<u8>, Vec<u8>)],
    out: &mut Vec<u8>,
) -> Result<(), usize> {
    let mut i = 0;
    while i < run.len() {
        if run.get(i) == Some(&b'&') {
            let name_end = run
                .get(i + 1..)
                .unwrap_or_default()
                .iter()
                .position(|&c| !(is_name_char(c) || c == b'#'))
                .map_or(run.len(), |p| i + 1 + p);
            if run.get(name_end) != Some(&b';') || name_end == i + 1 {
                return Err(i);
            }
            let reference = run.get(i..=name_end).unwrap_or_default();
            let name = run.get(i + 1..name_end).unwrap_or_default();
            let known = matches!(name, b"lt" | b"gt" | b"amp" | b"quot" | b"apos")
                || name.starts_with(b"#")
                || entities.iter().any(|(n, _)| n.as_slice() == name);
            if !known {
                return Err(i);
            }
            let decoded = decode_entities(reference, entities);
            if decoded == reference && name.starts_with(b"#") {
                return Err(i); // a character reference that does not decode
            }
            out.extend_from_slice(&decoded);
            i = name_end + 1;
        } else {
            let end = run
                .get(i..)
                .unwrap_or_default()
                .iter()
                .position(|&c| c == b'&')
                .map_or(run.len(), |p| i + p);
            let literal = run.get(i..end).unwrap_or_default();
            if find_from(literal, 0, b"]]>").is_some() {
                return Err(i);
            }
            out.extend_from_slice(literal);
            i = end;
        }
    }
    Ok(())
}

/// A start tag read by [`read_tag`].
struct Tag {
    /// Index after `>`.
    end: usize,
    self_closing: bool,
    attributes: Vec<Vec<u8>>,
    /// A repeated attribute name (libxml2: fatal).
    duplicate: bool,
}

/// Reads the start tag whose name begins at `from` (after `<`). `None`
/// when it does not close before the end of `b`.
fn read_tag(b: &[u8], from: usize, entities: &[(Vec<u8>, Vec<u8>)]) -> Option<Tag> {
    if !b.get(from).copied().is_some_and(is_name_start) {
        return None;
    }
    let mut i = from;
    while b.get(i).copied().is_some_and(is_name_char) {
        i += 1;
    }
    if !b
        .get(i)
        .is_some_and(|&c| is_space(c) || c == b'/' || c == b'>')
    {
        return None;
    }
    let mut names: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
    let mut tag = Tag {
        end: 0,
        self_closing: false,
        attributes: Vec::new(),
        duplicate: false,
    };
    loop {
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        match b.get(i)? {
            b'>' => {
                tag.end = i + 1;
                return Some(tag);
            }
            b'/' if b.get(i + 1) == Some(&b'>') => {
                tag.end = i + 2;
                tag.self_closing = true;
                return Some(tag);
            }
            _ => {}
        }
        // An attribute: Name S? '=' S? quoted value without '<'. Anything
        // else makes libxml2 drop the element.
        let name_start = i;
        if !b.get(i).copied().is_some_and(is_name_start) {
            return None;
        }
        while b.get(i).copied().is_some_and(is_name_char) {
            i += 1;
        }
        let name = b.get(name_start..i)?;
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        if b.get(i) != Some(&b'=') {
            return None;
        }
        i += 1;
        while b.get(i).copied().is_some_and(is_space) {
            i += 1;
        }
        let quote = *b.get(i)?;
        if quote != b'"' && quote != b'\'' {
            return None;
        }
        let close = i + 1 + b.get(i + 1..)?.iter().position(|&c| c == quote)?;
        if b.get(i + 1..close)?.contains(&b'<') {
            return None;
        }
        if !names.insert(name) {
            tag.duplicate = true;
        }
        if !(name == b"xmlns" || name.starts_with(b"xmlns:")) {
            tag.attributes
                .push(decode_entities(b.get(i + 1..close)?, entities));
        }
        i = close + 1;
    }
}

/// Scans `text[..stop]`; see the module docs.
pub(super) fn scan(text: &str, stop: usize) -> Scan {
    let full = text.as_bytes();
    let b = full.get(..stop.min(full.len())).unwrap_or(full);
    let entities = internal_entities(b);
    let mut out = Scan::default();
    let flag = |out: &mut Scan, at: usize| {
        if out.violation.is_none() {
            out.violation = Some(at);
        }
    };
    // U+0000 is not an XML character anywhere, DTD included.
    if let Some(nul) = b.iter().position(|&c| c == 0) {
        flag(&mut out, nul);
    }
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut i = 0;
    while i < b.len() {
        if b.get(i) != Some(&b'<') {
            let end = find_from(b, i, b"<").unwrap_or(b.len());
            if depth > 0 {
                let run = b.get(i..end).unwrap_or_default();
                if let Err(at) = text_content(run, &entities, &mut out.doc.root_text) {
                    flag(&mut out, i + at);
                    break;
                }
            }
            i = end;
            continue;
        }
        let rest = b.get(i..).unwrap_or_default();
        if rest.starts_with(b"<!--") {
            i = find_from(b, i + 4, b"-->").map_or(b.len(), |e| e + 3);
        } else if rest.starts_with(b"<![CDATA[") {
            let Some(end) = find_from(b, i + 9, b"]]>") else {
                break;
            };
            if depth > 0 {
                out.doc
                    .root_text
                    .extend_from_slice(b.get(i + 9..end).unwrap_or_default());
            }
            i = end + 3;
        } else if rest.starts_with(b"<?") {
            // The target must be followed by a space or `?>`; `xml` in any
            // case is reserved for the declaration at offset 0.
            let target_len = rest
                .get(2..)
                .unwrap_or_default()
                .iter()
                .position(|&c| is_space(c) || c == b'?')
                .unwrap_or(rest.len() - 2);
            let target = rest.get(2..2 + target_len).unwrap_or_default();
            let after = rest.get(2 + target_len).copied();
            let bad_end = !(after.is_some_and(is_space)
                || rest
                    .get(2 + target_len..)
                    .is_some_and(|r| r.starts_with(b"?>")));
            let name_ok = target
                .first()
                .is_some_and(|&c| c.is_ascii_alphabetic() || c == b'_' || c == b':' || c >= 0x80)
                && target.iter().all(|&c| {
                    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_' | b':') || c >= 0x80
                });
            if !name_ok
                || bad_end
                || target
                    .iter()
                    .any(|&c| matches!(c, b'<' | b'>' | b'&' | b'"' | b'\''))
                || (i != 0 && target.eq_ignore_ascii_case(b"xml"))
            {
                flag(&mut out, i);
            }
            i = find_from(b, i + 2, b"?>").map_or(b.len(), |e| e + 2);
        } else if rest.starts_with(b"<!") {
            i = skip_doctype(b, i) + 1;
        } else if rest.starts_with(b"</") {
            depth = depth.saturating_sub(1);
            i = find_from(b, i, b">").map_or(b.len(), |e| e + 1);
        } else {
            if depth == 0 && seen_root {
                // libxml2 stops at a second root element.
                flag(&mut out, i);
                break;
            }
            let Some(tag) = read_tag(b, i + 1, &entities) else {
                break;
            };
            if tag.duplicate {
                flag(&mut out, i);
                break;
            }
            if !seen_root {
                out.doc.has_root = true;
                seen_root = true;
            }
            out.doc.attribute_values.extend(tag.attributes);
            if !tag.self_closing {
                depth += 1;
            }
            i = tag.end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declarations() {
        assert!(!bad_declaration("<a/>"));
        assert!(!bad_declaration("<?xml version=\"1.0\"?><a/>"));
        assert!(!bad_declaration(
            "<?xml version='1.1' encoding=\"UTF-8\" standalone='yes' ?><a/>"
        ));
        assert!(bad_declaration("<?xml version=\"9.0\"?><a/>"));
        assert!(bad_declaration("<?xml version=\"1.=0\"?><a/>"));
        assert!(!bad_declaration("<?xml version=\"1.\"?><a/>"));
        assert!(bad_declaration(
            "<?xml version=\"1.0\" encoding=\"UTF-9\"?><a/>"
        ));
        assert!(!bad_declaration(
            "<?xml version=\"1.0\" encoding=\"iso-8859-15\"?><a/>"
        ));
        assert!(bad_declaration("<?xml encoding=\"UTF-8\"?><a/>"));
        assert!(bad_declaration(
            "<?xml version=\"1.0\" encodig=\"UTF-8\"?><a/>"
        ));
    }

    #[test]
    fn partial_tree_and_violations() {
        let s = scan("<a k=\"v\"><b>attack</b><c x='1' x='2'>more</a>", 100);
        assert_eq!(s.doc.root_text, b"attack");
        assert_eq!(s.doc.attribute_values, vec![b"v".to_vec()]);
        assert!(s.violation.is_some());
        let s = scan(
            "<!DOCTYPE r [<!ENTITY e \"ent\">]><r a=\"&e;\">x&e;</r>",
            100,
        );
        assert_eq!(s.doc.root_text, b"xent");
        assert_eq!(s.doc.attribute_values, vec![b"ent".to_vec()]);
        assert_eq!(s.violation, None);
        assert!(scan("<a><?pi-->x?></a>", 100).violation.is_some());
        assert!(scan("<a><?xml x?></a>", 100).violation.is_some());
        assert!(scan("<a><?x,y z?></a>", 100).violation.is_some());
        assert!(scan("<!DOCTYPE r [<!ENTITY e \"a\0\">]><r/>", 100)
            .violation
            .is_some());
        assert!(scan("<a/><b/>", 100).violation.is_some());
        // libxml2 delivers text run by run and drops the failing one.
        let s = scan("<a>&lt;x]]>y</a>", 100);
        assert_eq!(s.doc.root_text, b"<");
        assert!(s.violation.is_some());
        let s = scan("<a>ok&undeclared;</a>", 100);
        assert_eq!(s.doc.root_text, b"ok");
        assert!(s.violation.is_some());
        // A start tag broken by '<' or a bad name makes no element.
        assert!(!scan("<a k=\"1\"<!-->x</a>", 100).doc.has_root);
        assert!(!scan("<b]]>x</b>", 100).doc.has_root);
        // An unfinished start tag leaves no element.
        let s = scan("<a k=\"v\"", 100);
        assert!(!s.doc.has_root);
        assert!(s.doc.attribute_values.is_empty());
    }
}
