//! Shared reader for the differential test vectors: inputs run through
//! ModSecurity v2's own C parsers, stored as JSON lines with hex-encoded
//! bytes, compared against our output rendered in the same text form.

use std::fmt::Write;

/// Decodes a lower- or upper-case hex string (pairs of digits).
pub(crate) fn unhex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .filter_map(|i| s.get(2 * i..2 * i + 2))
        .filter_map(|h| u8::from_str_radix(h, 16).ok())
        .collect()
}

/// Appends `key=<hex of v>\n`, the reference harnesses' line format.
pub(crate) fn push_hex(key: &str, v: &[u8], out: &mut String) {
    out.push_str(key);
    out.push('=');
    for b in v {
        let _ = write!(out, "{b:02x}");
    }
    out.push('\n');
}

/// Runs `check` on every vector of `data` (JSON lines); `check` returns
/// one description per output that differs from v2's. Asserts that there
/// are exactly `count` vectors and that none differs.
pub(crate) fn check_vectors(
    data: &str,
    count: usize,
    mut check: impl FnMut(&serde_json::Value) -> Vec<String>,
) {
    let mut checked = 0;
    let mut failures = Vec::new();
    for (line_no, line) in data.lines().enumerate() {
        let v: serde_json::Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => panic!("vector {line_no}: {e}"),
        };
        failures.extend(
            check(&v)
                .into_iter()
                .map(|f| format!("vector {line_no} {f}")),
        );
        checked += 1;
    }
    assert_eq!(checked, count);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The description of a mismatch, or none when `ours` equals `expected`.
pub(crate) fn mismatch(what: String, expected: &str, ours: &str) -> Option<String> {
    (ours != expected).then(|| format!("{what}:\n--- v2\n{expected}--- ours\n{ours}"))
}
