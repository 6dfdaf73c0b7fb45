//! Differential vectors: bodies run through ModSecurity v2's own
//! `msc_json.c` with yajl 2.1 (built locally against APR with a harness
//! that feeds the body in chunks of 1, 3 or all bytes as Apache would),
//! with the arguments and `REQBODY_ERROR_MSG` it produced (yajl's trailing
//! newline removed). The 300 vectors are picked from 30,000 generated
//! cases, all of which agree, to cover every error text seen.

use super::*;
use crate::body::vectors::{check_vectors, mismatch, push_hex as hex, unhex};

fn render(r: &JsonArgs) -> String {
    let mut out = String::new();
    if let Some(e) = &r.error {
        hex("error", e.msg.as_bytes(), &mut out);
    }
    for (name, value) in &r.args {
        hex("name", name, &mut out);
        hex("value", value, &mut out);
    }
    out
}

#[test]
fn agrees_with_v2_reference_vectors() {
    check_vectors(include_str!("testdata/v2-vectors.jsonl"), 300, |v| {
        let body = unhex(v["body"].as_str().unwrap_or_default());
        let limits = BodyLimits {
            json_depth_limit: v["depth_limit"].as_u64().unwrap_or(512) as usize,
            arguments_limit: v["arguments_limit"].as_u64().unwrap_or(1000) as usize,
            ..BodyLimits::default()
        };
        let ours = render(&parse(&body, &limits, 0));
        let what = format!("{:?}", String::from_utf8_lossy(&body));
        mismatch(what, v["expected"].as_str().unwrap_or_default(), &ours)
            .into_iter()
            .collect()
    });
}
