//! Request line and header processing (before phase 1).

use crs_compiler::ir::action::BodyProcessor;

use super::Transaction;
use crate::variables::{ExchangeData, Pair};

/// Splits the request target the way Apache's `apr_uri_parse` does for
/// ModSecurity: `REQUEST_FILENAME` is the raw path, `QUERY_STRING` the raw
/// query, `REQUEST_URI` path + `?query` without scheme and authority.
pub(super) fn set_request_line(ex: &mut ExchangeData, method: &[u8], uri: &[u8], protocol: &[u8]) {
    ex.method = method.to_vec();
    ex.uri_raw = uri.to_vec();
    ex.protocol = protocol.to_vec();
    let mut line = Vec::with_capacity(method.len() + uri.len() + protocol.len() + 2);
    line.extend_from_slice(method);
    line.push(b' ');
    line.extend_from_slice(uri);
    if !protocol.is_empty() {
        line.push(b' ');
        line.extend_from_slice(protocol);
    }
    ex.request_line = line;

    // Drop a fragment, then an absolute-form scheme and authority.
    let target = match uri.iter().position(|&b| b == b'#') {
        Some(i) => &uri[..i],
        None => uri,
    };
    let mut rest = target;
    if let Some(pos) = memchr::memmem::find(rest, b"://") {
        let scheme = &rest[..pos];
        if !scheme.is_empty()
            && scheme
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(b))
        {
            let after = &rest[pos + 3..];
            let end = after
                .iter()
                .position(|&b| b == b'/' || b == b'?')
                .unwrap_or(after.len());
            rest = &after[end..];
        }
    }
    let (path, query) = match rest.iter().position(|&b| b == b'?') {
        Some(q) => (&rest[..q], Some(rest[q + 1..].to_vec())),
        None => (rest, None),
    };
    ex.query = query;
    set_path(ex, path.to_vec());
}

/// Sets `REQUEST_FILENAME` and what derives from it: `REQUEST_BASENAME`
/// and `REQUEST_URI` (path plus `?query`).
pub(super) fn set_path(ex: &mut ExchangeData, path: Vec<u8>) {
    // Sized for the path and the query at once (it grew twice per request).
    let query = ex.query.as_deref();
    let mut request_uri = Vec::with_capacity(path.len() + query.map_or(0, |q| q.len() + 1));
    request_uri.extend_from_slice(&path);
    if let Some(q) = query {
        request_uri.push(b'?');
        request_uri.extend_from_slice(q);
    }
    ex.request_uri = request_uri;
    // ModSecurity's file_basename: the part after the last '/' (or '\').
    let base_start = path
        .iter()
        .rposition(|&b| b == b'/' || b == b'\\')
        .map_or(0, |i| i + 1);
    ex.basename = path[base_start..].to_vec();
    ex.path = path;
}

/// Derives everything phase 1 needs from the headers: GET arguments,
/// cookies, `SERVER_NAME`, and the default body processor.
pub(super) fn prepare_request(tx: &mut Transaction) {
    let sep = tx.engine.rules.settings.argument_separator;
    if let Some(q) = tx.ex.query.take() {
        // Apache hands ModSecurity the query as a C string: it ends at the
        // first NUL byte (for QUERY_STRING and for ARGS_GET).
        let q = crate::body::log_escape::until_nul(&q).to_vec();
        let spare = &mut tx.spare_pairs;
        let parsed =
            crate::body::urlencoded::parse_into(&q, sep, &mut || super::spare::arg_buffers(spare));
        if parsed.invalid_encoding {
            tx.ex.urlencoded_error = true;
        }
        // SecArgumentsLimit counts query arguments too.
        let limit = tx.engine.rules.settings.arguments_limit as usize;
        let mut sink = crate::body::ArgSink::new(limit, 0);
        for arg in parsed.args {
            sink.push(arg);
        }
        tx.ex.args_get = sink
            .into_args()
            .into_iter()
            .map(|(n, v)| Pair::new(n, v))
            .collect();
        tx.ex.query = Some(q);
    }
    let v1 = tx.engine.rules.settings.cookie_format == 1;
    let mut cookies = Vec::new();
    let spare = &mut tx.spare_pairs;
    for h in &tx.ex.request_headers {
        if h.name.eq_ignore_ascii_case(b"cookie") {
            if v1 {
                cookies.extend(crate::body::cookies::parse_v1(&h.value));
            } else {
                crate::body::cookies::parse_v0_into(
                    &h.value,
                    None,
                    &mut || super::spare::arg_buffers(spare),
                    &mut cookies,
                );
            }
        }
    }
    tx.ex.cookies = cookies.into_iter().map(|(n, v)| Pair::new(n, v)).collect();
    if tx.ex.server_name.is_empty() {
        if let Some(host) = tx.ex.request_header("host") {
            // SERVER_NAME is the Host header without a port.
            let end = if host.first() == Some(&b'[') {
                host.iter()
                    .position(|&b| b == b']')
                    .map_or(host.len(), |i| i + 1)
            } else {
                host.iter().position(|&b| b == b':').unwrap_or(host.len())
            };
            tx.ex.server_name = host[..end].to_vec();
        }
    }
    // ModSecurity picks URLENCODED for application/x-www-form-urlencoded
    // and MULTIPART for multipart/form-data (prefix, case-insensitive);
    // rules may change it with ctl:requestBodyProcessor in phase 1.
    if let Some(ct) = tx.ex.request_header("content-type") {
        tx.state.body_processor = match crate::body::Processor::from_content_type(ct) {
            Some(crate::body::Processor::UrlEncoded) => Some(BodyProcessor::UrlEncoded),
            Some(crate::body::Processor::Multipart) => Some(BodyProcessor::Multipart),
            _ => None,
        };
    }
    tx.ex.reqbody_processor = tx.state.body_processor;
}
