//! What Apache httpd 2.4 (the CRS reference front end, `HttpProtocolOptions
//! Strict`) does with the raw request bytes before ModSecurity v2 sees them
//! (TESTING.md §8): the requests it rejects with 400 (no WAF log line), the
//! HTTP/0.9 answer to a request line without version, header merging,
//! de-chunking and Content-Length truncation.
//!
//! Not emulated, because no CRS v4.28 test depends on it and the
//! `Transaction` API cannot express it: after phase 1, Apache normalises the
//! path (`ap_normalize_path`: unreserved `%XX` decoded, dot segments removed,
//! slashes merged) and `%`-decodes it in place (`ap_unescape_url`), answering
//! 400 for a bad escape or a path above the root and 404 for `%2F`/`%00`;
//! ModSecurity v2 then skips phases 2–4 and still runs phase 5. The decoded
//! path is what v2 shows as REQUEST_FILENAME from phase 2 on (libmodsecurity3
//! and Coraza decode it in every phase), which the 933151/933160 tests with
//! `%28` in the path rely on; the runner passes the raw target and leaves
//! REQUEST_FILENAME to the engine.

/// A request as Apache hands it to ModSecurity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub method: Vec<u8>,
    /// The request target exactly as sent.
    pub target: Vec<u8>,
    pub protocol: Vec<u8>,
    /// Headers in arrival order, duplicates merged with ", " at the
    /// position of the first occurrence.
    pub headers: Vec<(Vec<u8>, Vec<u8>)>,
    pub body: Vec<u8>,
}

impl Parsed {
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
            .map(|(_, v)| v.as_slice())
    }

    /// The path part of the target (for the log line's `[uri "…"]`).
    pub fn path(&self) -> &[u8] {
        let end = self
            .target
            .iter()
            .position(|&b| b == b'?')
            .unwrap_or(self.target.len());
        &self.target[..end]
    }
}

/// Why Apache did not pass the request to ModSecurity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// Apache answers with this status itself (no WAF log line).
    Status(u16, &'static str),
    /// A request line without version: Apache answers HTTP/0.9 style (no
    /// status line), which the client sees as a transport error.
    Http09,
}

/// Apache's defaults for `LimitRequestLine`, `LimitRequestFieldSize` and
/// `LimitRequestFields` (the image does not change them).
const LIMIT_REQUEST_LINE: usize = 8190;
const LIMIT_REQUEST_FIELD_SIZE: usize = 8190;
const LIMIT_REQUEST_FIELDS: usize = 100;

fn bad(reason: &'static str) -> Rejection {
    Rejection::Status(400, reason)
}

/// Splits off one line (up to LF, the CR before it removed), as Apache's
/// `ap_rgetline` does. Returns `None` when no LF is left.
fn next_line<'a>(input: &mut &'a [u8]) -> Option<&'a [u8]> {
    let lf = input.iter().position(|&b| b == b'\n')?;
    let mut line = &input[..lf];
    *input = &input[lf + 1..];
    if line.last() == Some(&b'\r') {
        line = &line[..line.len() - 1];
    }
    Some(line)
}

fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `raw` as Apache would.
pub fn parse(raw: &[u8]) -> Result<Parsed, Rejection> {
    let mut rest = raw;
    // Apache skips empty lines before the request line.
    let line = loop {
        match next_line(&mut rest) {
            Some([]) => continue,
            Some(l) => break l,
            None => return Err(bad("incomplete request line")),
        }
    };
    if line.len() > LIMIT_REQUEST_LINE {
        return Err(Rejection::Status(
            414,
            "request line longer than LimitRequestLine",
        ));
    }
    let (method, target, protocol) = parse_request_line(line)?;

    let mut headers: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut fields = 0;
    loop {
        let line = next_line(&mut rest).ok_or(bad("incomplete header block"))?;
        if line.is_empty() {
            break;
        }
        if line.len() > LIMIT_REQUEST_FIELD_SIZE {
            return Err(bad("header line longer than LimitRequestFieldSize"));
        }
        fields += 1;
        if fields > LIMIT_REQUEST_FIELDS {
            return Err(bad("more header lines than LimitRequestFields"));
        }
        if line.contains(&b'\r') {
            // 921140-1: a bare CR inside a header line.
            return Err(bad("bare CR in a header line"));
        }
        if line[0] == b' ' || line[0] == b'\t' {
            // obs-fold: the continuation joins the previous value with a space.
            let Some(last) = headers.last_mut() else {
                return Err(bad("continuation line before any header"));
            };
            last.1.push(b' ');
            last.1.extend_from_slice(trim_ows(line));
            continue;
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(bad("header line without ':'"))?;
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
            return Err(bad("invalid header name"));
        }
        let value = trim_ows(&line[colon + 1..]);
        if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
            return Err(bad("control character in a header value"));
        }
        match headers
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some((_, v)) => {
                v.extend_from_slice(b", ");
                v.extend_from_slice(value);
            }
            None => headers.push((name.to_vec(), value.to_vec())),
        }
    }

    let proto_num = protocol_number(&protocol).unwrap_or(0);
    let find = |headers: &[(Vec<u8>, Vec<u8>)], name: &str| {
        headers
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
    };
    match find(&headers, "Host") {
        Some(i) => {
            let host = &headers[i].1;
            if host.is_empty() {
                if proto_num >= 1001 {
                    return Err(bad("empty Host on HTTP/1.1"));
                }
            } else if !valid_host(host) {
                return Err(bad("invalid Host"));
            }
        }
        None if proto_num >= 1001 => return Err(bad("HTTP/1.1 request without Host")),
        None => {}
    }

    let body = if let Some(i) = find(&headers, "Transfer-Encoding") {
        let te = headers[i].1.to_ascii_lowercase();
        let last = te
            .rsplit(|&b| b == b',')
            .next()
            .map(trim_ows)
            .unwrap_or_default();
        if last != b"chunked" {
            return Err(Rejection::Status(501, "unknown Transfer-Encoding"));
        }
        // Apache ignores and removes Content-Length next to chunked (920181-1).
        if let Some(cl) = find(&headers, "Content-Length") {
            headers.remove(cl);
        }
        dechunk(rest)?
    } else if let Some(i) = find(&headers, "Content-Length") {
        let cl = &headers[i].1;
        if cl.is_empty() || !cl.iter().all(u8::is_ascii_digit) {
            return Err(bad("Content-Length is not a number"));
        }
        let n: usize = std::str::from_utf8(cl)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or(bad("Content-Length too large"))?;
        if rest.len() < n {
            // Apache would wait for the missing bytes until it times out.
            return Err(Rejection::Status(408, "body shorter than Content-Length"));
        }
        rest[..n].to_vec()
    } else {
        // Without Content-Length or chunking there is no body; any bytes left
        // would be read as the next request on the connection.
        Vec::new()
    };

    Ok(Parsed {
        method,
        target,
        protocol,
        headers,
        body,
    })
}

fn trim_ows(v: &[u8]) -> &[u8] {
    let start = v
        .iter()
        .position(|&b| b != b' ' && b != b'\t')
        .unwrap_or(v.len());
    let end = v
        .iter()
        .rposition(|&b| b != b' ' && b != b'\t')
        .map_or(start, |e| e + 1);
    &v[start..end]
}

/// `HTTP/d.d` as major*1000+minor; anything else is `None`.
fn protocol_number(p: &[u8]) -> Option<u32> {
    match p {
        [b'H', b'T', b'T', b'P', b'/', maj, b'.', min]
            if maj.is_ascii_digit() && min.is_ascii_digit() =>
        {
            Some(u32::from(maj - b'0') * 1000 + u32::from(min - b'0'))
        }
        _ => None,
    }
}

type RequestLine = (Vec<u8>, Vec<u8>, Vec<u8>);

/// `ap_parse_request_line` in strict mode.
fn parse_request_line(line: &[u8]) -> Result<RequestLine, Rejection> {
    let ws = |b: &u8| matches!(b, b' ' | b'\t' | b'\x0b' | b'\x0c' | b'\r');
    if line.first().is_some_and(ws) {
        return Err(bad("whitespace before the method"));
    }
    let m_end = line.iter().position(ws).unwrap_or(line.len());
    let method = &line[..m_end];
    let mut rest = &line[m_end..];
    if rest.is_empty() {
        return Err(bad("request line without target"));
    }
    if rest[0] != b' ' || rest.get(1).is_some_and(ws) {
        return Err(bad("request line separator is not a single space"));
    }
    rest = &rest[1..];
    let t_end = rest.iter().position(ws).unwrap_or(rest.len());
    let target = &rest[..t_end];
    rest = &rest[t_end..];
    let protocol: &[u8] = if rest.is_empty() {
        b""
    } else {
        if rest[0] != b' ' {
            return Err(bad("request line separator is not a single space"));
        }
        &rest[1..]
    };
    if protocol.is_empty() {
        return Err(Rejection::Http09);
    }
    if protocol.iter().any(ws) {
        // e.g. spaces inside the target leave extra tokens (920100-15).
        return Err(bad("extra text after the protocol"));
    }
    match protocol_number(protocol) {
        None => return Err(bad("protocol is not HTTP/d.d")),
        Some(n) if n < 1000 => return Err(bad("protocol below HTTP/1.0")),
        Some(_) => {}
    }
    if target.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return Err(bad("control character in the target"));
    }
    if target.contains(&b'#') {
        return Err(bad("fragment in the target"));
    }
    if method == b"CONNECT" {
        if !valid_authority(target) {
            return Err(bad("CONNECT target is not host:port"));
        }
    } else if !(target.first() == Some(&b'/') || target == b"*" || is_absolute_uri(target)) {
        return Err(bad("target is neither a path nor an absolute URI"));
    }
    Ok((method.to_vec(), target.to_vec(), protocol.to_vec()))
}

fn is_absolute_uri(t: &[u8]) -> bool {
    let Some(colon) = t.iter().position(|&b| b == b':') else {
        return false;
    };
    let scheme = &t[..colon];
    !scheme.is_empty()
        && scheme[0].is_ascii_alphabetic()
        && scheme
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || b"+-.".contains(&b))
        && t[colon + 1..].starts_with(b"//")
}

/// `host:port` with a non-empty numeric port.
fn valid_authority(t: &[u8]) -> bool {
    match t.iter().rposition(|&b| b == b':') {
        Some(c) => c > 0 && c + 1 < t.len() && t[c + 1..].iter().all(u8::is_ascii_digit),
        None => false,
    }
}

/// Apache's `fix_hostname`: a DNS name or IPv4 (letters, digits, `-`, `_`,
/// `.`) or a bracketed IPv6 literal, optionally followed by `:port`.
fn valid_host(h: &[u8]) -> bool {
    let (host, port) = if h.first() == Some(&b'[') {
        let Some(close) = h.iter().position(|&b| b == b']') else {
            return false;
        };
        let inner = &h[1..close];
        if inner.is_empty()
            || !inner
                .iter()
                .all(|&b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
        {
            return false;
        }
        (&h[..=close], &h[close + 1..])
    } else {
        let c = h.iter().position(|&b| b == b':').unwrap_or(h.len());
        let host = &h[..c];
        if host.is_empty()
            || !host
                .iter()
                .all(|&b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
        {
            return false;
        }
        (host, &h[c..])
    };
    let _ = host;
    match port {
        [] => true,
        [b':', digits @ ..] => digits.iter().all(u8::is_ascii_digit),
        _ => false,
    }
}

/// Decodes a chunked body (extensions and trailers ignored).
fn dechunk(mut input: &[u8]) -> Result<Vec<u8>, Rejection> {
    let mut out = Vec::new();
    loop {
        let line = next_line(&mut input).ok_or(bad("incomplete chunk size line"))?;
        let size_text = line
            .split(|&b| b == b';')
            .next()
            .map(trim_ows)
            .unwrap_or_default();
        let size = std::str::from_utf8(size_text)
            .ok()
            .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .and_then(|s| usize::from_str_radix(s, 16).ok())
            .ok_or(bad("invalid chunk size"))?;
        if size == 0 {
            // Trailer lines up to the empty line; a missing end is tolerated
            // since the body is complete.
            while let Some(l) = next_line(&mut input) {
                if l.is_empty() {
                    break;
                }
            }
            return Ok(out);
        }
        if input.len() < size {
            return Err(Rejection::Status(408, "chunk shorter than its size"));
        }
        out.extend_from_slice(&input[..size]);
        input = &input[size..];
        match next_line(&mut input) {
            Some([]) => {}
            _ => return Err(bad("chunk not followed by CRLF")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(head: &str) -> Result<Parsed, Rejection> {
        parse(head.as_bytes())
    }

    fn status(r: Result<Parsed, Rejection>) -> u16 {
        match r {
            Ok(_) => 200,
            Err(Rejection::Status(s, _)) => s,
            Err(Rejection::Http09) => 9,
        }
    }

    const H: &str = "Host: localhost\r\nUser-Agent: OWASP CRS test agent\r\n\r\n";

    #[test]
    fn request_line_rejections() {
        // 920100-2 / -12: whitespace before the method.
        assert_eq!(status(req(&format!("     GET / HTTP/1.1\r\n{H}"))), 400);
        assert_eq!(status(req(&format!("\tGET / HTTP/1.1\r\n{H}"))), 400);
        // 920100-5: CONNECT without a port; 920100-4 / -6 with one.
        assert_eq!(
            status(req(&format!("CONNECT www.coreruleset.org HTTP/1.1\r\n{H}"))),
            400
        );
        assert_eq!(
            status(req(&format!(
                "CONNECT www.coreruleset.org:80 HTTP/1.1\r\n{H}"
            ))),
            200
        );
        assert_eq!(
            status(req(&format!("CONNECT 1.2.3.4:80 HTTP/1.1\r\n{H}"))),
            200
        );
        // 920100-8 / 920610-2: a fragment.
        assert_eq!(
            status(req(&format!(
                "GET /get/index.html:80?I=Like&Apples=Today#tag HTTP/1.1\r\n{H}"
            ))),
            400
        );
        assert_eq!(status(req(&format!("GET /#fragment HTTP/1.1\r\n{H}"))), 400);
        // 920100-11 / -13: neither a path nor absolute.
        assert_eq!(status(req(&format!("GET \\ HTTP/1.1\r\n{H}"))), 400);
        assert_eq!(
            status(req(&format!("GET \\index.html HTTP\\1.0\r\n{H}"))),
            400
        );
        // 920100-15: spaces inside the target.
        assert_eq!(
            status(req(&format!(
                "GET /vuln.xml.php?input=<script xmlns=\"x\">a</script> HTTP/1.1\r\n{H}"
            ))),
            400
        );
        // 920280-3 / 920430-3, -6, -7, -9, -10 and HTTP/2.
        for v in ["HTTP/0.9", "1.1", "TEST", "HTTP/0.8", "JUNK/1.0", "HTTP/2"] {
            assert_eq!(status(req(&format!("GET / {v}\r\n{H}"))), 400, "{v}");
        }
        // Accepted: 920430-8 HTTP/4.0, 920100-14 `|GET`, 920100-16 absolute
        // form, OPTIONS *, HTTP/1.0 without Host (920280-1).
        assert_eq!(status(req(&format!("GET / HTTP/4.0\r\n{H}"))), 200);
        assert_eq!(status(req(&format!("|GET / HTTP/1.1\r\n{H}"))), 200);
        assert_eq!(
            status(req(&format!("GET http://localhost HTTP/1.1\r\n{H}"))),
            200
        );
        assert_eq!(status(req(&format!("OPTIONS * HTTP/1.1\r\n{H}"))), 200);
        assert_eq!(status(req("GET / HTTP/1.0\r\nUser-Agent: x\r\n\r\n")), 200);
        assert_eq!(
            status(req(&format!("GET /i%FFndex.html HTTP/1.1\r\n{H}"))),
            200
        );
        // 920430-5: no version at all.
        assert_eq!(req(&format!("GET / \r\n{H}")), Err(Rejection::Http09));
    }

    #[test]
    fn header_rejections() {
        // 920160-1, -2, -3, -5: non-numeric Content-Length.
        for cl in ["NotDigits", "123x", "3;"] {
            assert_eq!(
                status(req(&format!(
                    "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: {cl}\r\n\r\nabc"
                ))),
                400
            );
        }
        // 920270-4 / 920274-1: invalid Host.
        assert_eq!(
            status(req("GET / HTTP/1.1\r\nHost: localhost%00\r\n\r\n")),
            400
        );
        assert_eq!(
            status(req("GET / HTTP/1.1\r\nHost: localhost%1F\r\n\r\n")),
            400
        );
        assert_eq!(
            status(req(
                "GET / HTTP/1.1\r\nHost: [fe80::f1:01:fe01:1]:80\r\n\r\n"
            )),
            200
        );
        assert_eq!(
            status(req("GET / HTTP/1.1\r\nHost: deadbeef.de:8080\r\n\r\n")),
            200
        );
        // 920290-1: empty Host on HTTP/1.1; 920290-4: accepted on HTTP/1.0.
        assert_eq!(status(req("GET / HTTP/1.1\r\nHost: \r\n\r\n")), 400);
        let p = req("GET / HTTP/1.0\r\nHost:\r\n\r\n").unwrap();
        assert_eq!(p.header("host"), Some(&b""[..]));
        // 921140-1: a bare CR inside a header value.
        assert_eq!(
            status(req(
                "GET / HTTP/1.1\r\nHost: localhost\r\nSomeHeader: Headerdata\rInjectedHeader: x\r\n\r\n"
            )),
            400
        );
    }

    #[test]
    fn apache_default_limits() {
        let long_uri = format!("GET /{} HTTP/1.1\r\n{H}", "a".repeat(8190));
        assert_eq!(status(req(&long_uri)), 414);
        let long_header = format!(
            "GET / HTTP/1.1\r\nHost: localhost\r\nX: {}\r\n\r\n",
            "a".repeat(8190)
        );
        assert_eq!(status(req(&long_header)), 400);
        let many: String = (0..100).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(
            status(req(&format!(
                "GET / HTTP/1.1\r\nHost: localhost\r\n{many}\r\n"
            ))),
            400
        );
        let fits: String = (0..99).map(|i| format!("X-{i}: v\r\n")).collect();
        assert_eq!(
            status(req(&format!(
                "GET / HTTP/1.1\r\nHost: localhost\r\n{fits}\r\n"
            ))),
            200
        );
    }

    #[test]
    fn duplicate_headers_are_merged_in_place() {
        // 920620-1 (encoded_request): two Content-Type headers.
        let p = req("GET /get HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAccept: */*\r\ncontent-type: application/xml\r\n\r\n").unwrap();
        assert_eq!(p.headers.len(), 3);
        assert_eq!(
            p.headers[1],
            (
                b"Content-Type".to_vec(),
                b"application/json, application/xml".to_vec()
            )
        );
    }

    #[test]
    fn chunked_body_is_decoded_and_content_length_removed() {
        // 920181-1: Content-Length 7 and chunked.
        let p = req("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nHi \r\n3\r\nCRS\r\n0\r\n\r\n").unwrap();
        assert_eq!(p.body, b"Hi CRS");
        assert!(p.header("Content-Length").is_none());
        assert_eq!(
            status(req(
                "POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"
            )),
            400
        );
    }

    #[test]
    fn body_is_cut_to_content_length() {
        // 921110-6 declares 36 but sends more; 920170-4 declares 0.
        let p =
            req("POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 3\r\n\r\nabcdef").unwrap();
        assert_eq!(p.body, b"abc");
        let p =
            req("GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\n\r\nabcdefghi").unwrap();
        assert_eq!(p.body, b"");
        let p = req("GET / HTTP/1.1\r\nHost: localhost\r\n\r\nabc").unwrap();
        assert_eq!(p.body, b"", "no Content-Length: no body");
    }
}
