//! Property tests: no body parser panics, whatever the bytes. Attacker
//! data reaches all of them, so random bytes alone are not enough: the
//! generators also glue together the pieces each parser reacts to
//! (boundary lines, part headers, JSON and XML tokens), to reach deep states.

use proptest::prelude::*;

use super::*;

fn pieces(tokens: &'static [&'static [u8]]) -> impl Strategy<Value = Vec<u8>> {
    let token = prop_oneof![
        4 => proptest::sample::select(tokens).prop_map(<[u8]>::to_vec),
        1 => proptest::collection::vec(any::<u8>(), 0..8),
    ];
    proptest::collection::vec(token, 0..40).prop_map(|parts| parts.concat())
}

const MULTIPART: &[&[u8]] = &[
    b"--b",
    b"--b--",
    b"\r\n",
    b"\n",
    b"\r",
    b"--",
    b"-- b",
    b"--\"b\"",
    b"Content-Disposition: form-data; name=\"a\"",
    b"Content-Disposition: form-data; name=a; filename=\"f\"",
    b"content-disposition:form-data;name='x'",
    b"; filename=\"",
    b"\\\"",
    b"Content-Type: text/plain",
    b" folded",
    b"\tfolded",
    b"\x0bx",
    b":",
    b"\0",
    b"form-data",
    b"name=",
    b"\"",
    b"'",
    b";",
];

const JSON: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b",",
    b":",
    b"\"k\"",
    b"\"\\u00e9\"",
    b"\"\\ud83d\\ude00\"",
    b"\"\\ud800\"",
    b"\"\\",
    b"1",
    b"-0.5e+3",
    b"-",
    b"1.",
    b"true",
    b"fals",
    b"null",
    b" ",
    b"\"\xc3\xa9\"",
    b"\"\xff\"",
    b"/*",
];

const XML: &[&[u8]] = &[
    b"<?xml version=\"1.0\"?>",
    b"<a>",
    b"</a>",
    b"<b x=\"1\">",
    b"</b>",
    b"<c/>",
    b"text",
    b"&amp;",
    b"&#x41;",
    b"&e;",
    b"<![CDATA[",
    b"]]>",
    b"<!--",
    b"-->",
    b"<!DOCTYPE a [<!ENTITY e \"v\"><!ENTITY s SYSTEM \"file:///x\">]>",
    b"&s;",
    b"<?pi?>",
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"'",
    b"=",
    b"<",
    b">",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn multipart_never_panics(body in pieces(MULTIPART), ct in proptest::sample::select(vec![
        &b"multipart/form-data; boundary=b"[..],
        b"multipart/form-data; boundary=\"b\"",
        b"multipart/form-data boundary = b",
        b"multipart/form-data",
    ]), chunk in 1usize..64) {
        let limits = BodyLimits { upload_file_limit: 1, ..BodyLimits::default() };
        let whole = multipart::parse(ct, &body, &limits);
        let mut parser = multipart::MultipartParser::new(ct, &limits);
        for piece in body.chunks(chunk) {
            parser.feed(piece);
        }
        let chunked = parser.finish();
        // Chunking may only move the "data after" quirk.
        prop_assert_eq!(&whole.parts, &chunked.parts);
        prop_assert_eq!(whole.error.is_some(), chunked.error.is_some());
    }

    #[test]
    fn multipart_random_bytes_never_panic(body in proptest::collection::vec(any::<u8>(), 0..2048),
                                          ct in proptest::collection::vec(any::<u8>(), 0..64)) {
        let _ = multipart::parse(&body, &ct, &BodyLimits::default());
        let mut full_ct = b"multipart/form-data; boundary=".to_vec();
        full_ct.extend_from_slice(&ct);
        let _ = multipart::parse(&full_ct, &body, &BodyLimits::default());
    }

    #[test]
    fn json_never_panics(body in pieces(JSON), random in proptest::collection::vec(any::<u8>(), 0..512)) {
        let limits = BodyLimits { json_depth_limit: 3, arguments_limit: 5, ..BodyLimits::default() };
        let _ = json::parse(&body, &limits, 0);
        let _ = json::parse(&random, &BodyLimits::default(), 0);
    }

    #[test]
    fn xml_never_panics(body in pieces(XML), random in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = xml::parse(&body);
        let _ = xml::parse(&random);
    }

    #[test]
    fn urlencoded_and_cookies_never_panic(input in proptest::collection::vec(any::<u8>(), 0..512), sep in any::<u8>()) {
        let parsed = urlencoded::parse(&input, sep);
        // Every decoded byte comes from at most one input byte.
        let total: usize = parsed.args.iter().map(|(n, v)| n.len() + v.len()).sum();
        prop_assert!(total <= input.len());
        let _ = cookies::parse_v0(&input, None);
        let _ = cookies::parse_v0(&input, Some(sep));
        let _ = cookies::parse_v1(&input);
    }

    #[test]
    fn process_never_panics(body in proptest::collection::vec(any::<u8>(), 0..512)) {
        for p in [Processor::UrlEncoded, Processor::Multipart, Processor::Json, Processor::Xml] {
            let _ = process(p, Some(b"multipart/form-data; boundary=x"), &body, &BodyLimits::default(), 999);
        }
    }
}
