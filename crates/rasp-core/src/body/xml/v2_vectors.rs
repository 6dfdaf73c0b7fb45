//! Differential vectors: documents run through ModSecurity v2's own
//! `msc_xml.c` with libxml2 2.9.14 (built locally against APR with a small
//! harness), with the error it reported and what `XML:/*` and `XML://@*`
//! then returned (`doc` marks that v2 had a document at all). 300 picked
//! from the 7,943 of 8,000 generated documents on which we agree.

use super::*;
use crate::body::vectors::{check_vectors, mismatch, push_hex as hex, unhex};

fn render(r: &XmlResult) -> String {
    let mut out = String::new();
    if let Some(e) = &r.error {
        hex("error", e.msg.as_bytes(), &mut out);
    }
    if let Some(d) = &r.document {
        out.push_str("doc\n");
        for v in d.select("/*").unwrap_or_default() {
            // libxml2 returns C strings.
            hex("root", crate::body::log_escape::until_nul(v), &mut out);
        }
        for v in d.select("//@*").unwrap_or_default() {
            hex("attr", v, &mut out);
        }
    }
    out
}

#[test]
fn agrees_with_v2_reference_vectors() {
    check_vectors(include_str!("testdata/v2-vectors.jsonl"), 300, |v| {
        let body = unhex(v["body"].as_str().unwrap_or_default());
        let ours = render(&parse(&body));
        let what = format!("{:?}", String::from_utf8_lossy(&body));
        mismatch(what, v["expected"].as_str().unwrap_or_default(), &ours)
            .into_iter()
            .collect()
    });
}
