//! The raw request bytes go-ftw v2.3.0 sends for a stage
//! (`ftwhttp.BuildRequest`, TESTING.md §5).

use base64::Engine as _;

use super::yaml::Input;

/// Why a stage could not be turned into bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BuildError {
    /// `encoded_request` / `encoded_data` is not valid base64 (go-ftw fails
    /// the stage).
    Base64(String),
}

/// Builds the bytes written to the socket for `input`.
pub fn build(input: &Input) -> Result<Vec<u8>, BuildError> {
    if let Some(enc) = &input.encoded_request {
        return decode_base64(enc);
    }
    let mut data: Vec<u8> = match (&input.data, &input.encoded_data) {
        (Some(d), _) => render_template(d)
            .map(String::into_bytes)
            .unwrap_or_default(),
        (None, Some(e)) => decode_base64(e).unwrap_or_default(),
        (None, None) => Vec::new(),
    };
    let mut headers = input.headers.clone();
    let method = input.method();

    if !data.is_empty() && input.autocomplete_headers {
        if !has_header(&headers, "Content-Type") {
            headers.push((
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ));
        }
        data = encode_data_parameters(&headers, data);
    }
    if headers.iter().any(|(n, v)| {
        canonical_key(n) == "Content-Type" && v.to_lowercase().contains("multipart/form-data;")
    }) {
        data = lf_to_crlf(&data);
    }
    if input.autocomplete_headers {
        if !has_header(&headers, "Connection") {
            headers.push(("Connection".into(), "close".into()));
        }
        if !has_header(&headers, "Content-Length")
            && (!data.is_empty() || method_wants_body(method))
        {
            headers.push(("Content-Length".into(), data.len().to_string()));
        }
    }

    let mut out = Vec::with_capacity(256 + data.len());
    out.extend_from_slice(format!("{} {} {}\r\n", method, input.uri(), input.version()).as_bytes());
    for (name, value) in &headers {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&data);
    Ok(out)
}

/// Go's `base64.StdEncoding.DecodeString`, which skips `\r` and `\n`.
fn decode_base64(enc: &str) -> Result<Vec<u8>, BuildError> {
    let clean: String = enc.chars().filter(|c| *c != '\n' && *c != '\r').collect();
    base64::engine::general_purpose::STANDARD
        .decode(clean)
        .map_err(|e| BuildError::Base64(e.to_string()))
}

/// go-ftw's `methodsWithBodyRegex` is `^POST|PUT|PATCH|DELETE$`: an
/// unanchored alternation, i.e. "starts with POST, contains PUT or PATCH,
/// or ends with DELETE".
pub fn method_wants_body(method: &str) -> bool {
    method.starts_with("POST")
        || method.contains("PUT")
        || method.contains("PATCH")
        || method.ends_with("DELETE")
}

/// Go's `textproto.CanonicalMIMEHeaderKey`: names with bytes that are not
/// header token characters (or with a space) are returned unchanged.
pub fn canonical_key(name: &str) -> String {
    let valid = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return name.to_string();
    }
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

fn has_header(headers: &[(String, String)], name: &str) -> bool {
    let key = canonical_key(name);
    headers.iter().any(|(n, _)| canonical_key(n) == key)
}

/// `encodeDataParameters`: with a Content-Type exactly (case-insensitive)
/// `application/x-www-form-urlencoded`, a body that `url.QueryUnescape`
/// leaves unchanged is re-encoded piece by piece; anything else is sent
/// verbatim.
pub fn encode_data_parameters(headers: &[(String, String)], data: Vec<u8>) -> Vec<u8> {
    let form = headers.iter().any(|(n, v)| {
        canonical_key(n) == "Content-Type"
            && v.eq_ignore_ascii_case("application/x-www-form-urlencoded")
    });
    if !form || query_unescape_changes(&data) {
        return data;
    }
    let mut out = Vec::with_capacity(data.len() * 2);
    for token in split_go_style(&data) {
        match token.iter().position(|&b| b == b'=') {
            None => query_escape(token, &mut out),
            Some(eq) => {
                query_escape(&token[..eq], &mut out);
                out.push(b'=');
                query_escape(&token[eq + 1..], &mut out);
            }
        }
        out.push(b'&');
    }
    out.pop();
    out
}

/// The tokens go-ftw's loop visits: it splits at `&` but stops as soon as
/// nothing remains, so a trailing `&` yields no empty last token.
fn split_go_style(data: &[u8]) -> Vec<&[u8]> {
    let mut tokens = Vec::new();
    let mut remaining = data;
    while !remaining.is_empty() {
        match remaining.iter().position(|&b| b == b'&') {
            None => {
                tokens.push(remaining);
                remaining = &[];
            }
            Some(i) => {
                tokens.push(&remaining[..i]);
                remaining = &remaining[i + 1..];
            }
        }
    }
    tokens
}

/// Whether Go's `url.QueryUnescape` would return something other than the
/// input: a `+` becomes a space, a valid `%XX` is decoded, and an invalid
/// `%` makes it fail (returning "", which differs from any non-empty input).
fn query_unescape_changes(data: &[u8]) -> bool {
    data.iter().any(|&b| b == b'%' || b == b'+')
}

/// Go's `url.QueryEscape`: unreserved bytes stay, space becomes `+`,
/// everything else `%XX` (upper-case hex).
pub fn query_escape(s: &[u8], out: &mut Vec<u8>) {
    for &b in s {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b),
            b' ' => out.push(b'+'),
            _ => out.extend_from_slice(format!("%{b:02X}").as_bytes()),
        }
    }
}

fn lf_to_crlf(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16);
    for &b in data {
        if b == b'\n' {
            out.push(b'\r');
        }
        out.push(b);
    }
    out
}

/// Renders `data` as a Go `text/template` with the few sprig functions the
/// CRS tests use. `None` is a template error, for which go-ftw sends an
/// empty body. Constructs this renderer does not implement panic, so a new
/// test cannot silently get a wrong body.
pub fn render_template(data: &str) -> Option<String> {
    if !data.contains("{{") {
        return Some(data.to_string());
    }
    let mut out = String::with_capacity(data.len());
    let mut rest = data;
    while let Some(start) = rest.find("{{") {
        let mut text = &rest[..start];
        let after = &rest[start + 2..];
        let end = after.find("}}")?;
        let mut action = &after[..end];
        rest = &after[end + 2..];
        // `{{- ` trims whitespace before, ` -}}` after.
        if let Some(a) = action.strip_prefix("- ") {
            text = text.trim_end();
            action = a;
        }
        out.push_str(text);
        if let Some(a) = action.strip_suffix(" -") {
            action = a;
            rest = rest.trim_start();
        }
        let action = action.trim();
        if action.starts_with("/*") {
            if !action.ends_with("*/") {
                return None;
            }
            continue;
        }
        out.push_str(&eval_pipeline(action)?);
    }
    out.push_str(rest);
    Some(out)
}

#[derive(Debug, Clone)]
enum Arg {
    Str(String),
    Int(i64),
    Ident(String),
}

fn tokenize(cmd: &str) -> Option<Vec<Arg>> {
    let mut args = Vec::new();
    let mut chars = cmd.trim().chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => match chars.next()? {
                        'n' => s.push('\n'),
                        't' => s.push('\t'),
                        'r' => s.push('\r'),
                        '\\' => s.push('\\'),
                        '"' => s.push('"'),
                        other => panic!("template: unsupported escape \\{other}"),
                    },
                    ch => s.push(ch),
                }
            }
            args.push(Arg::Str(s));
        } else if c == '`' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next()? {
                    '`' => break,
                    ch => s.push(ch),
                }
            }
            args.push(Arg::Str(s));
        } else {
            let mut word = String::new();
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                word.push(ch);
                chars.next();
            }
            match word.parse::<i64>() {
                Ok(n) => args.push(Arg::Int(n)),
                Err(_) => args.push(Arg::Ident(word)),
            }
        }
    }
    Some(args)
}

fn eval_pipeline(action: &str) -> Option<String> {
    let mut value: Option<Arg> = None;
    for cmd in action.split('|') {
        let mut args = tokenize(cmd)?;
        if let Some(v) = value.take() {
            args.push(v);
        }
        value = Some(match args.as_slice() {
            [Arg::Str(s)] => Arg::Str(s.clone()),
            [Arg::Int(n)] => Arg::Int(*n),
            [Arg::Ident(f), Arg::Int(n), Arg::Str(s)] if f == "repeat" => {
                Arg::Str(s.repeat(usize::try_from(*n).unwrap_or(0)))
            }
            [Arg::Ident(f), Arg::Str(s)] if f == "upper" => Arg::Str(s.to_uppercase()),
            [Arg::Ident(f), Arg::Str(s)] if f == "lower" => Arg::Str(s.to_lowercase()),
            [] => return None,
            other => panic!("template: unsupported pipeline {action:?} ({other:?})"),
        });
    }
    match value? {
        Arg::Str(s) => Some(s),
        Arg::Int(n) => Some(n.to_string()),
        Arg::Ident(i) => panic!("template: unsupported identifier {i}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crs::yaml::parse_file;

    fn stage_input(yaml: &str) -> Input {
        let f = parse_file(
            "t.yaml",
            &format!("rule_id: 1\ntests:\n  - test_id: 1\n    stages:\n      - input:\n{yaml}"),
        );
        f.tests[0].stages[0].input.clone()
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn form_body_is_encoded_and_headers_appended() {
        // 920100-style block scalar: "var=get it\n" goes out as var=get+it%0A.
        let input = stage_input(
            "          method: POST\n          headers:\n            User-Agent: ua\n            Host: localhost\n          data: |\n            var=get it\n",
        );
        let raw = text(&build(&input).unwrap());
        assert_eq!(
            raw,
            "POST / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: ua\r\nContent-Type: application/x-www-form-urlencoded\r\nConnection: close\r\nContent-Length: 13\r\n\r\nvar=get+it%0A"
        );
    }

    #[test]
    fn already_encoded_bodies_are_sent_verbatim() {
        let h = vec![(
            "Content-Type".to_string(),
            "application/x-www-form-urlencoded".to_string(),
        )];
        assert_eq!(
            encode_data_parameters(&h, b"a=%27+or\n".to_vec()),
            b"a=%27+or\n"
        );
        assert_eq!(
            encode_data_parameters(&h, b"a=1&b&c=x y&".to_vec()),
            b"a=1&b&c=x+y"
        );
        assert_eq!(
            encode_data_parameters(&h, b"k=\xc3\xb6'=".to_vec()),
            b"k=%C3%B6%27%3D"
        );
        // `; charset=` is not an exact match: no encoding.
        let h2 = vec![(
            "content-type".to_string(),
            "application/x-www-form-urlencoded; charset=utf-8".to_string(),
        )];
        assert_eq!(encode_data_parameters(&h2, b"a=x y".to_vec()), b"a=x y");
        // The exact match is case-insensitive, header name canonicalised.
        let h3 = vec![(
            "content-type".to_string(),
            "Application/X-WWW-Form-Urlencoded".to_string(),
        )];
        assert_eq!(encode_data_parameters(&h3, b"a=x y".to_vec()), b"a=x+y");
    }

    #[test]
    fn multipart_bodies_get_crlf_even_without_autocomplete() {
        let input = stage_input(
            "          method: POST\n          autocomplete_headers: false\n          headers:\n            Content-Type: \"multipart/form-data; boundary=b\"\n          data: |\n            --b\n            x\n            --b--\n",
        );
        let raw = text(&build(&input).unwrap());
        assert!(raw.ends_with("\r\n\r\n--b\r\nx\r\n--b--\r\n"), "{raw:?}");
        assert!(
            !raw.contains("Content-Length"),
            "autocomplete off adds nothing: {raw:?}"
        );
        assert!(!raw.contains("Connection"), "{raw:?}");
    }

    #[test]
    fn bodiless_post_gets_content_length_zero_and_get_does_not() {
        let post = text(&build(&stage_input("          method: POST\n")).unwrap());
        assert!(
            post.ends_with("Connection: close\r\nContent-Length: 0\r\n\r\n"),
            "{post:?}"
        );
        let get = text(&build(&stage_input("          method: GET\n")).unwrap());
        assert_eq!(get, "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(method_wants_body("POSTX"));
        assert!(method_wants_body("XPUTX"));
        assert!(method_wants_body("XDELETE"));
        assert!(!method_wants_body("DELETEX"));
        assert!(!method_wants_body("XPOST"));
    }

    #[test]
    fn explicit_content_length_and_connection_are_kept() {
        let input = stage_input(
            "          method: POST\n          headers:\n            Content-Length: 0\n            Connection: keep-alive\n          data: abcdefghi\n",
        );
        let raw = text(&build(&input).unwrap());
        assert_eq!(
            raw,
            "POST / HTTP/1.1\r\nConnection: keep-alive\r\nContent-Length: 0\r\nContent-Type: application/x-www-form-urlencoded\r\n\r\nabcdefghi"
        );
    }

    #[test]
    fn empty_version_and_verbatim_request_line() {
        let raw = text(
            &build(&stage_input(
                "          version: \"\"\n          method: \"\\tGET\"\n          uri: \"/a b#c\"\n",
            ))
            .unwrap(),
        );
        assert!(raw.starts_with("\tGET /a b#c \r\n"), "{raw:?}");
    }

    #[test]
    fn encoded_request_is_sent_byte_for_byte() {
        // 920290-4; a block scalar's newlines are skipped like Go does.
        let input = stage_input("          encoded_request: |\n            R0VUIC8gSFRUUC8xLjANCkhv\n            c3Q6DQoNCg==\n          method: POST\n");
        assert_eq!(build(&input).unwrap(), b"GET / HTTP/1.0\r\nHost:\r\n\r\n");
    }

    #[test]
    fn templates() {
        assert_eq!(
            render_template(r#"{{ "1" | repeat 3 }}"#).as_deref(),
            Some("111")
        );
        assert_eq!(
            render_template("a={{ \"x\" | repeat 2 }}&b").as_deref(),
            Some("a=xx&b")
        );
        assert_eq!(
            render_template("plain }} text").as_deref(),
            Some("plain }} text")
        );
        assert_eq!(render_template("broken {{ \"x\""), None);
        assert_eq!(
            render_template("a  {{- \"b\" -}}  c").as_deref(),
            Some("abc")
        );
    }

    #[test]
    fn canonical_keys() {
        assert_eq!(canonical_key("content-type"), "Content-Type");
        assert_eq!(canonical_key("X_Filename"), "X_filename");
        assert_eq!(canonical_key("bad name"), "bad name");
    }
}
