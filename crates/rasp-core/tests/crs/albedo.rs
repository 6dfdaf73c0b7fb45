//! The response the CRS CI backend (albedo v0.3.0 behind Apache's
//! `ProxyPass` with `ProxyErrorOverride on`) gives, TESTING.md §6.

use base64::Engine as _;
use serde_json::Value;

/// A response as ModSecurity sees it in phases 3 and 4.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The backend's answer to `method target` with `body`.
pub fn respond(method: &[u8], target: &[u8], body: &[u8]) -> Response {
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, mut headers, body) =
        if method == b"POST" && (path == b"/reflect" || path == b"/reflect/") {
            reflect(body)
        } else {
            (200, Vec::new(), Vec::new())
        };
    if status >= 400 {
        // ProxyErrorOverride: Apache replaces the backend's error with its own page.
        return apache_error(status);
    }
    finish_go_headers(&mut headers, &body);
    Response {
        status,
        headers,
        body,
    }
}

/// albedo's `/reflect` handler.
fn reflect(body: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let text_err = |msg: &str| {
        (
            400,
            vec![("Content-Type".into(), "text/plain; charset=utf-8".into())],
            msg.into(),
        )
    };
    let spec: Value = match serde_json::from_slice(body) {
        Ok(v) => v,
        Err(_) => return text_err("Invalid JSON in request body"),
    };
    let obj = match spec {
        Value::Object(o) => o,
        // Go decodes `null` into the zero spec.
        Value::Null => Default::default(),
        _ => return text_err("Invalid JSON in request body"),
    };
    // Go matches JSON field names case-insensitively and ignores unknown ones.
    let field = |name: &str| {
        obj.iter()
            .rev()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let mut status = 200u16;
    if let Some(s) = field("status") {
        match s {
            Value::Number(n) if n.as_i64().is_some() => {
                let n = n.as_i64().unwrap_or_default();
                if n == 0 {
                    status = 200;
                } else if !(100..600).contains(&n) {
                    return text_err(&format!("Invalid status code: {n}"));
                } else {
                    status = n as u16;
                }
            }
            Value::Null => {}
            _ => return text_err("Invalid JSON in request body"),
        }
    }
    let mut headers = Vec::new();
    if let Some(h) = field("headers") {
        match h {
            Value::Object(map) => {
                for (k, v) in map {
                    let Value::String(v) = v else {
                        return text_err("Invalid JSON in request body");
                    };
                    // Go's server drops invalid names and values.
                    if !k.is_empty()
                        && k.bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
                        && !v.bytes().any(|b| b == b'\r' || b == b'\n')
                    {
                        headers.push((canonical(k), v.clone()));
                    }
                }
            }
            Value::Null => {}
            _ => return text_err("Invalid JSON in request body"),
        }
    }
    let string_field = |name: &str| match field(name) {
        Some(Value::String(s)) => Ok(s.clone()),
        None | Some(Value::Null) => Ok(String::new()),
        Some(_) => Err(()),
    };
    let Ok(text) = string_field("body") else {
        return text_err("Invalid JSON in request body");
    };
    let Ok(encoded) = string_field("encodedBody") else {
        return text_err("Invalid JSON in request body");
    };
    let body = if !text.is_empty() {
        text.into_bytes()
    } else if !encoded.is_empty() {
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap_or_else(|_| b"invalid base64 encoding of response body".to_vec())
    } else {
        Vec::new()
    };
    (status, headers, body)
}

fn canonical(name: &str) -> String {
    let mut upper = true;
    name.chars()
        .map(|c| {
            let out = if upper {
                c.to_ascii_uppercase()
            } else {
                c.to_ascii_lowercase()
            };
            upper = c == '-';
            out
        })
        .collect()
}

/// What Go's `net/http` server adds: Date, a sniffed Content-Type for a
/// non-empty body without one, and Content-Length when the whole body fit
/// into the 2 KiB response buffer (otherwise the response is chunked).
fn finish_go_headers(headers: &mut Vec<(String, String)>, body: &[u8]) {
    headers.push(("Date".into(), "Fri, 27 Nov 2026 07:00:00 GMT".into()));
    if !body.is_empty() && !headers.iter().any(|(n, _)| n == "Content-Type") {
        headers.push(("Content-Type".into(), detect_content_type(body).into()));
    }
    if body.len() <= 2048 {
        headers.push(("Content-Length".into(), body.len().to_string()));
    } else {
        headers.push(("Transfer-Encoding".into(), "chunked".into()));
    }
}

/// Apache's own error document (what `ProxyErrorOverride on` sends).
fn apache_error(status: u16) -> Response {
    let (title, text) = match status {
        400 => (
            "400 Bad Request",
            "Your browser sent a request that this server could not understand.<br />\n",
        ),
        _ => ("Error", "The server encountered an error.<br />\n"),
    };
    let body = format!(
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n<html><head>\n<title>{title}</title>\n</head><body>\n<h1>{}</h1>\n<p>{text}</p>\n</body></html>\n",
        title.split_once(' ').map_or(title, |t| t.1)
    );
    Response {
        status,
        headers: vec![
            ("Content-Length".into(), body.len().to_string()),
            ("Connection".into(), "close".into()),
            (
                "Content-Type".into(),
                "text/html; charset=iso-8859-1".into(),
            ),
        ],
        body: body.into_bytes(),
    }
}

/// Go's `http.DetectContentType` (the WHATWG sniffing algorithm) for the
/// signatures that text bodies can hit, plus the common binary ones.
pub fn detect_content_type(data: &[u8]) -> &'static str {
    let data = &data[..data.len().min(512)];
    let is_ws = |b: u8| matches!(b, b'\t' | b'\n' | b'\x0c' | b'\r' | b' ');
    let first_non_ws = data.iter().position(|&b| !is_ws(b)).unwrap_or(data.len());
    let trimmed = &data[first_non_ws..];

    const HTML: [&[u8]; 17] = [
        b"<!DOCTYPE HTML",
        b"<HTML",
        b"<HEAD",
        b"<SCRIPT",
        b"<IFRAME",
        b"<H1",
        b"<DIV",
        b"<FONT",
        b"<TABLE",
        b"<A",
        b"<STYLE",
        b"<TITLE",
        b"<B",
        b"<BODY",
        b"<BR",
        b"<P",
        b"<!--",
    ];
    for sig in HTML {
        if trimmed.len() > sig.len()
            && trimmed.iter().zip(sig.iter()).all(|(&d, &s)| {
                if s.is_ascii_uppercase() {
                    d & 0xDF == s
                } else {
                    d == s
                }
            })
            && matches!(trimmed[sig.len()], b' ' | b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    if trimmed.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    let exact: [(&[u8], &str); 14] = [
        (b"%PDF-", "application/pdf"),
        (b"%!PS-Adobe-", "application/postscript"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"\x89PNG\x0D\x0A\x1A\x0A", "image/png"),
        (b"\xFF\xD8\xFF", "image/jpeg"),
        (b"BM", "image/bmp"),
        (b"\x00\x00\x01\x00", "image/x-icon"),
        (b"OggS\x00", "application/ogg"),
        (b"ID3", "audio/mpeg"),
        (b"\x1F\x8B\x08", "application/x-gzip"),
        (b"PK\x03\x04", "application/zip"),
        (b"Rar!\x1A\x07\x00", "application/x-rar-compressed"),
        (b"\x00\x61\x73\x6D", "application/wasm"),
    ];
    if data.starts_with(b"\xFE\xFF") {
        return "text/plain; charset=utf-16be";
    }
    if data.starts_with(b"\xFF\xFE") {
        return "text/plain; charset=utf-16le";
    }
    if data.starts_with(b"\xEF\xBB\xBF") {
        return "text/plain; charset=utf-8";
    }
    for (sig, ct) in exact {
        if data.starts_with(sig) {
            return ct;
        }
    }
    let binary =
        |b: u8| b <= 0x08 || b == 0x0B || (0x0E..=0x1A).contains(&b) || (0x1C..=0x1F).contains(&b);
    if !trimmed.iter().any(|&b| binary(b)) {
        return "text/plain; charset=utf-8";
    }
    "application/octet-stream"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reflect_returns_the_body_with_a_sniffed_type() {
        let r = respond(
            b"POST",
            b"/reflect",
            br#"{"body": "<html><title>x</title></html>"}"#,
        );
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"<html><title>x</title></html>");
        assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
        assert_eq!(r.header("content-length"), Some("29"));

        let r = respond(
            b"POST",
            b"/reflect",
            br#"{"BODY": "ORA-00921: unexpected end of SQL command"}"#,
        );
        assert_eq!(r.header("Content-Type"), Some("text/plain; charset=utf-8"));
    }

    #[test]
    fn unknown_fields_give_an_empty_200() {
        // 956100-10 / -11.
        let r = respond(b"POST", b"/reflect", br#"{"fileuploaderror": "x"}"#);
        assert_eq!(
            (r.status, r.body.len(), r.header("Content-Type")),
            (200, 0, None)
        );
    }

    #[test]
    fn invalid_json_is_apaches_400_page() {
        // 956110-4.
        let r = respond(b"POST", b"/reflect", b"not json");
        assert_eq!(r.status, 400);
        assert_eq!(
            r.header("Content-Type"),
            Some("text/html; charset=iso-8859-1")
        );
    }

    #[test]
    fn other_targets_get_an_empty_200() {
        let r = respond(b"GET", b"/status/200", b"");
        assert_eq!(
            (r.status, r.body.len(), r.header("Content-Type")),
            (200, 0, None)
        );
        let r = respond(b"GET", b"/reflect", br#"{"body":"x"}"#);
        assert!(r.body.is_empty());
    }

    #[test]
    fn sniffing() {
        assert_eq!(
            detect_content_type(b"  <!-- c -->"),
            "text/html; charset=utf-8"
        );
        assert_eq!(detect_content_type(b"<!--c"), "text/plain; charset=utf-8");
        assert_eq!(
            detect_content_type(b"<?xml version=\"1.0\"?>"),
            "text/xml; charset=utf-8"
        );
        assert_eq!(
            detect_content_type(b"<p>hi</p>"),
            "text/html; charset=utf-8"
        );
        assert_eq!(detect_content_type(b"<pre>"), "text/plain; charset=utf-8");
        assert_eq!(detect_content_type(b"a\x00b"), "application/octet-stream");
    }
}
