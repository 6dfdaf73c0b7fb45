//! Bad input never panics, and sets the flags and variables ModSecurity v2
//! would set, so rules (like CRS 200002/200003/920xxx) can act on it.

mod common;

use common::{engine, ids, request};

/// Rules that report each error flag as a logged match.
const FLAG_RULES: &str = r#"
SecRule REQUEST_HEADERS:Content-Type "@rx ^application/json" "id:10,phase:1,pass,nolog,ctl:requestBodyProcessor=JSON"
SecRule REQUEST_HEADERS:Content-Type "@rx ^(?:application|text)/xml" "id:11,phase:1,pass,nolog,ctl:requestBodyProcessor=XML"
SecRule URLENCODED_ERROR "@eq 1" "id:1,phase:2,pass,log"
SecRule REQBODY_ERROR "!@eq 0" "id:2,phase:2,pass,log,logdata:'%{REQBODY_ERROR_MSG}'"
SecRule MULTIPART_STRICT_ERROR "!@eq 0" "id:3,phase:2,pass,log"
SecRule ARGS "@validateUtf8Encoding" "id:4,phase:2,pass,log"
SecRule ARGS "@rx \x00" "id:5,phase:2,pass,log"
SecRule &REQUEST_HEADERS "@gt 10000" "id:6,phase:1,pass,log"
SecRule ARGS "@validateUrlEncoding" "id:7,phase:2,pass,log"
"#;

fn data_of(tx: &rasp_core::Transaction, id: u32) -> String {
    tx.matches()
        .iter()
        .find(|m| m.id == id)
        .and_then(|m| m.data.clone())
        .unwrap_or_default()
}

#[test]
fn malformed_percent_encoding_is_kept_and_flagged() {
    let e = engine(FLAG_RULES);
    let tx = request(&e, b"/?a=%zz&b=%4&c=%", &[], None);
    // URLENCODED_ERROR once, and each argument keeps its broken escape,
    // which @validateUrlEncoding reports.
    assert_eq!(ids(&tx), vec![1, 7, 7, 7]);
    let tx = request(
        &e,
        b"/",
        &[(b"Content-Type", b"application/x-www-form-urlencoded")],
        Some(b"x=%G1"),
    );
    assert!(ids(&tx).contains(&1));
}

#[test]
fn invalid_utf8_and_nul_bytes_are_inspected() {
    let e = engine(FLAG_RULES);
    let tx = request(&e, b"/?a=%ff%fe&b=x%00y", &[], None);
    let got = ids(&tx);
    assert!(got.contains(&4), "invalid UTF-8 detected: {got:?}");
    assert!(got.contains(&5), "NUL byte reached the operator: {got:?}");
    let raw = request(&e, b"/?a=\xff\xfe\x00", &[], None);
    assert!(ids(&raw).contains(&4));
}

#[test]
fn broken_multipart_sets_strict_and_body_errors() {
    let e = engine(FLAG_RULES);
    let ct: &[u8] = b"multipart/form-data; boundary=xyz";
    // No final boundary, and a part header without a colon.
    let body = b"--xyz\r\nContent-Disposition form-data name=a\r\n\r\nvalue\r\n";
    let tx = request(&e, b"/upload", &[(b"Content-Type", ct)], Some(body));
    let got = ids(&tx);
    assert!(got.contains(&2) && got.contains(&3), "{got:?}");
    assert!(
        data_of(&tx, 2).starts_with("Multipart"),
        "{}",
        data_of(&tx, 2)
    );
    // Garbage instead of multipart: still an answer, still flagged.
    let tx = request(
        &e,
        b"/upload",
        &[(b"Content-Type", ct)],
        Some(&[0xffu8; 300][..]),
    );
    assert!(ids(&tx).contains(&2));
}

#[test]
fn invalid_and_too_deep_json_set_body_errors() {
    let e = engine(&format!("SecRequestBodyJsonDepthLimit 16\n{FLAG_RULES}"));
    let json: &[(&[u8], &[u8])] = &[(b"Content-Type", b"application/json")];
    let tx = request(&e, b"/api", json, Some(b"{\"a\": [1, 2,"));
    assert!(ids(&tx).contains(&2));
    assert!(data_of(&tx, 2).contains("JSON"), "{}", data_of(&tx, 2));
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let tx = request(&e, b"/api", json, Some(deep.as_bytes()));
    assert!(ids(&tx).contains(&2), "depth limit reported");
    let ok = request(&e, b"/api", json, Some(b"{\"a\": {\"b\": [1, \"x\"]}}"));
    assert!(!ids(&ok).contains(&2));
}

#[test]
fn invalid_xml_sets_body_error_and_entities_are_not_expanded() {
    let e = engine(&format!(
        "{FLAG_RULES}\nSecRule XML:/* \"@rx SECRETFILE\" \"id:20,phase:2,pass,log\""
    ));
    let xml: &[(&[u8], &[u8])] = &[(b"Content-Type", b"text/xml")];
    let tx = request(&e, b"/soap", xml, Some(b"<a><b></a>"));
    assert!(ids(&tx).contains(&2));
    assert!(data_of(&tx, 2).contains("XML"), "{}", data_of(&tx, 2));
    let xxe = b"<?xml version=\"1.0\"?><!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/hostname\">]><a>&x;</a>";
    let tx = request(&e, b"/soap", xml, Some(xxe));
    assert!(!ids(&tx).contains(&20));
}

#[test]
fn ten_thousand_headers_are_counted_not_fatal() {
    let e = engine(FLAG_RULES);
    let names: Vec<Vec<u8>> = (0..10_000)
        .map(|i| format!("X-H{i}").into_bytes())
        .collect();
    let headers: Vec<(&[u8], &[u8])> = names
        .iter()
        .map(|n| (n.as_slice(), b"v".as_slice()))
        .collect();
    let tx = request(&e, b"/", &headers, None);
    assert_eq!(ids(&tx), vec![6]);
}

#[test]
fn garbage_request_lines_and_bodies_never_panic() {
    let e = engine(FLAG_RULES);
    let nasty: [&[u8]; 8] = [
        b"",
        b"%",
        b"http://",
        b"/../../..//%2e%2e/\x00",
        b"?&&&==&=&",
        b"\xff\xfe\xfd",
        b"/a?b=c#frag#frag",
        b"*",
    ];
    for uri in nasty {
        for ct in [
            &b"application/json"[..],
            b"text/xml",
            b"multipart/form-data; boundary=",
            b"application/x-www-form-urlencoded",
        ] {
            let _ = request(&e, uri, &[(b"Content-Type", ct)], Some(uri));
        }
    }
}
