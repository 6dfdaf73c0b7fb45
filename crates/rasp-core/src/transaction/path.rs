//! The request path as ModSecurity v2 sees it from phase 2 on.
//!
//! ModSecurity v2 reads `REQUEST_FILENAME`, `REQUEST_BASENAME` and the path
//! part of `REQUEST_URI` from Apache's `r->parsed_uri.path`. Phase 1 runs in
//! `post_read_request`, before Apache touches that buffer, so it sees the
//! path as sent. Phase 2 runs in `fixups`, after Apache's
//! `ap_process_request_internal` normalised it in place (dot segments
//! removed, slashes merged, unreserved escapes decoded) and then
//! percent-decoded it. CRS is tuned against that: e.g. 933151 expects
//! `/get/array_diff%20%28` to be seen as `/get/array_diff (` in phase 2.

/// Percent-decodes `%XX`; invalid escapes are kept as written (Apache
/// answers 400 for those before ModSecurity's phase 2 could run).
fn unescape(path: &[u8], only_unreserved: bool) -> Vec<u8> {
    use crate::transform::{hex_pair, is_hex};
    let mut out = Vec::with_capacity(path.len());
    let mut i = 0;
    while i < path.len() {
        let b = path[i];
        let escaped = match path.get(i + 1..i + 3) {
            Some(&[h, l]) if b == b'%' && is_hex(h) && is_hex(l) => Some(hex_pair(h, l)),
            _ => None,
        };
        if let Some(c) = escaped {
            let unreserved = c.is_ascii_alphanumeric() || b"-._~".contains(&c);
            if !only_unreserved || unreserved {
                out.push(c);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// Removes `.` and `..` segments and merges repeated slashes, as
/// `ap_normalize_path` does with Apache's defaults (`MergeSlashes On`).
fn normalize(path: &[u8]) -> Vec<u8> {
    if path.first() != Some(&b'/') {
        return path.to_vec();
    }
    let mut segments: Vec<&[u8]> = Vec::new();
    let parts: Vec<&[u8]> = path[1..].split(|&b| b == b'/').collect();
    let last = parts.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, seg) in parts.iter().enumerate() {
        match *seg {
            b"" => trailing_slash = i == last,
            b"." => trailing_slash = i == last,
            b".." => {
                segments.pop();
                trailing_slash = i == last;
            }
            s => {
                segments.push(s);
                trailing_slash = false;
            }
        }
    }
    let mut out = Vec::with_capacity(path.len());
    for s in &segments {
        out.push(b'/');
        out.extend_from_slice(s);
    }
    if trailing_slash || out.is_empty() {
        out.push(b'/');
    }
    out
}

/// The phase-2 view of a raw request path.
pub(super) fn apache_decoded_path(raw: &[u8]) -> Vec<u8> {
    unescape(&normalize(&unescape(raw, true)), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_normalises_like_apache() {
        assert_eq!(
            apache_decoded_path(b"/get/array_diff%20%28"),
            b"/get/array_diff ("
        );
        assert_eq!(apache_decoded_path(b"/a/./b/../c//d"), b"/a/c/d");
        assert_eq!(apache_decoded_path(b"/a/%2e%2e/b"), b"/b");
        assert_eq!(apache_decoded_path(b"/x%zz"), b"/x%zz");
        assert_eq!(apache_decoded_path(b"/dir/"), b"/dir/");
        assert_eq!(apache_decoded_path(b"/.."), b"/");
        assert_eq!(apache_decoded_path(b"*"), b"*");
    }
}
