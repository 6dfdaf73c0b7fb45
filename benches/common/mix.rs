//! The fixed request mix every benchmark runs (issue 5).
//!
//! Seven exchanges, built once, deterministic byte for byte:
//!
//! | # | name            | request                                                        | response              | expected |
//! |---|-----------------|----------------------------------------------------------------|-----------------------|----------|
//! | 1 | `benign_get`    | browser GET, query string, 12 headers, 3 cookies               | 200 text/html, 2 KiB  | pass     |
//! | 2 | `json_post_1k`  | JSON API POST, 1 KiB                                           | 201 application/json  | pass     |
//! | 3 | `form_post_4k`  | urlencoded form POST, 4 KiB: 12 fields, one of them free text  | 303 redirect, no body | pass     |
//! | 4 | `multipart_64k` | multipart upload: 2 fields + a 64 KiB JPEG-like file           | 201 application/json  | pass     |
//! | 5 | `sqli_get`      | the browser GET with a UNION SELECT in a query parameter       | —                     | block    |
//! | 6 | `xss_json`      | JSON POST with a `<script>` element in a string                | —                     | block    |
//! | 7 | `json_1m`       | benign JSON POST of 1 MiB (over `SecRequestBodyNoFilesLimit`)  | 201 application/json  | limits   |
//!
//! Every request carries the same `Host: www.example.com` (a numeric Host
//! trips CRS 920350) and comes from 192.0.2.10:51234 to 10.0.0.5:443 (the
//! addresses only fill `REMOTE_ADDR` & co.). Bodies are passed to the
//! engine in one piece, as a buffering proxy hands them over.
//!
//! Case 7 is about limits: with the recommended configuration
//! (`SecRequestBodyNoFilesLimit 131072`, `SecRequestBodyLimitAction
//! Reject`) a 1 MiB non-multipart body is over the limit, so an engine
//! enforcing it answers 413 without parsing the JSON. What each engine
//! does is printed before the measurements.

/// What the mix expects an engine to do with a case (in `On` mode).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Benign: no phase may interrupt.
    Pass,
    /// An attack: some phase must interrupt (403).
    Block,
    /// Over a configured limit: whatever the engine's limit handling does.
    Limit,
}

/// A response, fed to phases 3 and 4.
#[derive(Clone, Debug)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers in order.
    pub headers: Vec<(String, String)>,
    /// Body bytes.
    pub body: Vec<u8>,
}

/// One exchange of the mix.
#[derive(Clone, Debug)]
pub struct Case {
    /// Short identifier, used in benchmark ids.
    pub name: &'static str,
    /// One line describing it.
    pub description: &'static str,
    /// Request method.
    pub method: &'static str,
    /// Request target as sent (path and query).
    pub uri: String,
    /// Request headers in order (`Content-Length` included when there is a body).
    pub headers: Vec<(String, String)>,
    /// Request body (may be empty).
    pub body: Vec<u8>,
    /// The response, for the cases that get one.
    pub response: Option<Response>,
    /// What should happen.
    pub expect: Expect,
}

/// The Host header of every request.
pub const HOST: &str = "www.example.com";
/// Client address and port.
pub const CLIENT: (&str, u16) = ("192.0.2.10", 51234);
/// Server address and port.
pub const SERVER: (&str, u16) = ("10.0.0.5", 443);

const USER_AGENT: &str =
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36";

/// Prose for free-text fields: plain sentences, no quotes or SQL/shell punctuation.
const PROSE: &str = "Hello team, thank you for the quick delivery of my last order. \
The running shoes fit well and the colour is exactly as shown on the product page. \
I would like to ask whether the same model is available in a wider fit, because my \
brother wants a pair for the autumn marathon season. He usually wears size 44 and \
prefers a firm sole for long distances on the road. Could you also tell me if the \
jacket from the winter collection will come back in stock next month, in blue or green. \
We are planning a hiking trip to the mountains in October and need warm layers for the \
whole family. My daughter is twelve years old and needs a small size, while my partner \
needs a large one with a hood. If possible please send the package to the office address \
during weekdays, since nobody is at home before six in the evening. Many thanks again \
for the friendly service and the helpful advice on the phone last week. ";

fn browser_headers(cookie: bool) -> Vec<(String, String)> {
    let mut h: Vec<(String, String)> = [
        ("Host", HOST),
        ("User-Agent", USER_AGENT),
        (
            "Accept",
            "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8",
        ),
        ("Accept-Language", "en-GB,en;q=0.9,de;q=0.7"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Referer", "https://www.example.com/products?category=sport"),
        ("Connection", "keep-alive"),
        ("Upgrade-Insecure-Requests", "1"),
        ("Sec-Fetch-Dest", "document"),
        ("Sec-Fetch-Mode", "navigate"),
        ("Sec-Fetch-Site", "same-origin"),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect();
    if cookie {
        h.push((
            "Cookie".into(),
            "session_id=3f2a9c1e8b7d4a6f9e0c1b2a3d4e5f60; theme=dark; cart_items=3".into(),
        ));
    }
    h
}

fn api_headers(content_type: &str, len: usize) -> Vec<(String, String)> {
    [
        ("Host", HOST),
        ("User-Agent", USER_AGENT),
        ("Accept", "application/json"),
        ("Accept-Language", "en-GB,en;q=0.9"),
        ("Accept-Encoding", "gzip, deflate, br"),
        ("Content-Type", content_type),
        ("Content-Length", &len.to_string()),
        ("Origin", "https://www.example.com"),
        ("Referer", "https://www.example.com/checkout"),
        ("Connection", "keep-alive"),
        ("Authorization", "Bearer 5b1d0f7e2c9a4e8b8f3d6a1c0e7b4d92"),
        (
            "Cookie",
            "session_id=3f2a9c1e8b7d4a6f9e0c1b2a3d4e5f60; theme=dark; cart_items=3",
        ),
    ]
    .iter()
    .map(|(n, v)| (n.to_string(), v.to_string()))
    .collect()
}

fn json_response(status: u16, body: &str) -> Response {
    Response {
        status,
        headers: vec![
            ("Content-Type".into(), "application/json".into()),
            ("Content-Length".into(), body.len().to_string()),
            ("Cache-Control".into(), "no-store".into()),
        ],
        body: body.as_bytes().to_vec(),
    }
}

fn html_page() -> Vec<u8> {
    let mut page = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Running shoes - Example Shop</title>\
         <link rel=\"stylesheet\" href=\"/static/site.css\"></head><body><header><nav><a href=\"/\">Home</a> \
         <a href=\"/products\">Products</a> <a href=\"/cart\">Cart (3)</a></nav></header><main><h1>Search results</h1><ul>\n",
    );
    let mut i = 0;
    while page.len() < 1900 {
        i += 1;
        page.push_str(&format!(
            "<li class=\"product\"><a href=\"/products/{i}\">Trail runner model {i}</a> <span class=\"price\">{}.90 EUR</span></li>\n",
            60 + i
        ));
    }
    page.push_str("</ul></main><footer>Example Shop</footer></body></html>\n");
    page.into_bytes()
}

/// Deterministic pseudo-random bytes (a 64-bit LCG), for the uploaded file.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut s = seed;
    (0..len)
        .map(|_| {
            s = s
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (s >> 56) as u8
        })
        .collect()
}

/// Percent-encodes a form value (`application/x-www-form-urlencoded`).
fn form_encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn with_length(mut headers: Vec<(String, String)>, len: usize) -> Vec<(String, String)> {
    headers.push(("Content-Length".into(), len.to_string()));
    headers
}

/// The 1 KiB JSON order of case 2.
pub fn json_order_1k() -> Vec<u8> {
    let head = r#"{"customer_id":48213,"currency":"EUR","items":[{"sku":"RUN-TR-044","name":"Trail runner","size":44,"qty":1,"price":89.9},{"sku":"SOCK-MERINO-L","name":"Merino socks","size":"L","qty":3,"price":12.5}],"shipping":{"name":"Alex Example","street":"Main Street 12","city":"Springfield","postcode":"12345","country":"DE"},"payment":{"method":"card","token":"tok_9f8e7d6c5b4a3210"},"gift":false,"notes":""#;
    let tail = r#""}"#;
    let mut notes = String::new();
    let words: Vec<&str> = PROSE.split(' ').collect();
    let mut i = 0;
    while head.len() + notes.len() + tail.len() < 1024 {
        if !notes.is_empty() {
            notes.push(' ');
        }
        notes.push_str(words[i % words.len()].trim_end_matches([',', '.']));
        i += 1;
    }
    let mut s = format!("{head}{notes}{tail}");
    // Trim the last word so the body is exactly 1 KiB.
    let excess = s.len() - 1024;
    let cut = s.len() - tail.len() - excess;
    s.replace_range(cut..s.len() - tail.len(), "");
    s.into_bytes()
}

/// The 4 KiB urlencoded form of case 3: 11 short fields and a free-text message.
pub fn form_4k() -> Vec<u8> {
    let fields = [
        ("first_name", "Alex"),
        ("last_name", "Example"),
        ("email", "alex.example@example.org"),
        ("phone", "+49 30 1234567"),
        ("street", "Main Street 12"),
        ("city", "Springfield"),
        ("postcode", "12345"),
        ("country", "DE"),
        ("subject", "Question about sizes and delivery"),
        ("newsletter", "yes"),
        ("csrf_token", "b7e3c1a9f2d84e6b9a0c5d7f1e3b2a48"),
    ];
    let mut body = fields
        .iter()
        .map(|(k, v)| format!("{k}={}", form_encode(v)))
        .collect::<Vec<_>>()
        .join("&");
    body.push_str("&message=");
    let mut text = String::new();
    while body.len() + form_encode(&text).len() < 4096 {
        text.push_str(PROSE);
    }
    let mut enc = form_encode(&text);
    enc.truncate(4096 - body.len());
    // Do not end in the middle of a %XX escape.
    while enc.ends_with('%') || enc[..enc.len().saturating_sub(1)].ends_with('%') {
        enc.pop();
        enc.push('x');
    }
    body.push_str(&enc);
    body.into_bytes()
}

/// The multipart body of case 4 and its boundary.
pub fn multipart_64k() -> (String, Vec<u8>) {
    let boundary = "----WebKitFormBoundary7MA4YWxkTrZu0gW";
    let mut file = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    file.extend(noise(64 * 1024 - file.len(), 0x5eed));
    let mut body = Vec::with_capacity(file.len() + 1024);
    for (name, value) in [
        ("title", "Holiday photo"),
        ("description", "Sunset at the lake, taken in August"),
    ] {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"photo\"; filename=\"holiday-photo.jpg\"\r\n\
             Content-Type: image/jpeg\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&file);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    (boundary.to_string(), body)
}

/// The 1 MiB JSON array of case 7.
pub fn json_1m() -> Vec<u8> {
    let mut s = String::from("{\"records\":[");
    let mut i = 0u32;
    while s.len() < 1024 * 1024 - 200 {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&format!(
            "{{\"id\":{i},\"sku\":\"SKU-{i:06}\",\"name\":\"Trail running shoe\",\"qty\":{},\"price\":{}.9,\"tags\":[\"sport\",\"outdoor\"]}}",
            i % 7 + 1,
            40 + i % 60
        ));
        i += 1;
    }
    s.push_str("]}");
    s.into_bytes()
}

/// The seven cases, in order.
pub fn cases() -> Vec<Case> {
    let get_uri =
        "/products/search?q=running+shoes&category=sport&size=44&page=2&sort=price_asc".to_string();
    let page = html_page();
    let html = Response {
        status: 200,
        headers: vec![
            ("Content-Type".into(), "text/html; charset=utf-8".into()),
            ("Content-Length".into(), page.len().to_string()),
            ("Cache-Control".into(), "private, max-age=0".into()),
            (
                "Set-Cookie".into(),
                "last_search=running+shoes; Path=/; Secure; HttpOnly".into(),
            ),
        ],
        body: page,
    };
    let order = json_order_1k();
    let form = form_4k();
    let (boundary, upload) = multipart_64k();
    let xss = br#"{"post_id":1842,"author":"alice","comment":"Nice post! <script>alert(document.cookie)</script>"}"#.to_vec();
    let big = json_1m();
    assert_eq!((order.len(), form.len()), (1024, 4096), "mix sizes drifted");
    assert!(
        upload.len() > 64 * 1024 && big.len() > 1024 * 1024 - 200,
        "mix sizes drifted"
    );
    let mut form_headers = browser_headers(true);
    form_headers.push((
        "Content-Type".into(),
        "application/x-www-form-urlencoded".into(),
    ));
    form_headers.push(("Origin".into(), "https://www.example.com".into()));
    let mut upload_headers = browser_headers(true);
    upload_headers.push((
        "Content-Type".into(),
        format!("multipart/form-data; boundary={boundary}"),
    ));
    vec![
        Case {
            name: "benign_get",
            description: "browser GET, query string, 12 headers, 3 cookies; 2 KiB HTML response",
            method: "GET",
            uri: get_uri,
            headers: browser_headers(true),
            body: Vec::new(),
            response: Some(html),
            expect: Expect::Pass,
        },
        Case {
            name: "json_post_1k",
            description: "JSON API POST, 1 KiB; small JSON response",
            method: "POST",
            uri: "/api/v1/orders".into(),
            headers: api_headers("application/json", order.len()),
            body: order,
            response: Some(json_response(201, r#"{"order_id":"ord_20240517_0042","status":"created"}"#)),
            expect: Expect::Pass,
        },
        Case {
            name: "form_post_4k",
            description: "urlencoded form POST, 4 KiB (12 fields incl. free text); 303 redirect",
            method: "POST",
            uri: "/contact".into(),
            headers: with_length(form_headers, form.len()),
            body: form,
            response: Some(Response {
                status: 303,
                headers: vec![
                    ("Location".into(), "/contact/thanks".into()),
                    ("Content-Length".into(), "0".into()),
                ],
                body: Vec::new(),
            }),
            expect: Expect::Pass,
        },
        Case {
            name: "multipart_64k",
            description: "multipart upload, 2 fields + 64 KiB file; small JSON response",
            method: "POST",
            uri: "/account/photos".into(),
            headers: with_length(upload_headers, upload.len()),
            body: upload,
            response: Some(json_response(201, r#"{"photo_id":98121,"status":"stored"}"#)),
            expect: Expect::Pass,
        },
        Case {
            name: "sqli_get",
            description: "browser GET with UNION SELECT in a query parameter",
            method: "GET",
            uri: "/products/search?q=shoes%27%20UNION%20SELECT%20username%2C%20password%20FROM%20users--%20&page=1"
                .into(),
            headers: browser_headers(true),
            body: Vec::new(),
            response: None,
            expect: Expect::Block,
        },
        Case {
            name: "xss_json",
            description: "JSON POST with <script> in a string value",
            method: "POST",
            uri: "/api/v1/comments".into(),
            headers: api_headers("application/json", xss.len()),
            body: xss,
            response: None,
            expect: Expect::Block,
        },
        Case {
            name: "json_1m",
            description: "benign JSON POST of 1 MiB (over SecRequestBodyNoFilesLimit 128 KiB)",
            method: "POST",
            uri: "/api/v1/bulk".into(),
            headers: api_headers("application/json", big.len()),
            body: big,
            response: Some(json_response(201, r#"{"imported":true}"#)),
            expect: Expect::Limit,
        },
    ]
}

/// Exchanges in [`benign_get_varied`].
pub const VARIED: usize = 4096;

/// Words of the varied search terms.
const SEARCH_WORDS: [&str; 16] = [
    "running", "shoes", "jacket", "blue", "green", "winter", "hiking", "boots", "sport", "trail",
    "socks", "kids", "wide", "fit", "rain", "coat",
];

/// Case 1 as real traffic varies it, beside the fixed mix: [`VARIED`]
/// benign GETs, each with its own 32-hex-digit session cookie, cart count,
/// two-word search, size and page (deterministic). A repeated exchange
/// walks the gates' lazy DFAs through states built before; these show
/// whether new values of the same kinds keep doing so. Benchmarks cycle
/// through them.
pub fn benign_get_varied() -> Vec<Case> {
    let Some(base) = cases().into_iter().find(|c| c.name == "benign_get") else {
        unreachable!("the mix has a benign GET");
    };
    // xorshift64: deterministic and cheap.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    (0..VARIED)
        .map(|_| {
            let mut c = base.clone();
            c.name = "benign_get_varied";
            c.description = "case 1 with a new session id, search, size and page per exchange";
            let session: String = (0..32)
                .map(|_| char::from(b"0123456789abcdef"[(next() % 16) as usize]))
                .collect();
            let word = |n: u64| SEARCH_WORDS[(n % 16) as usize];
            let (a, b) = (word(next()), word(next()));
            let (size, page) = (36 + next() % 12, 1 + next() % 50);
            c.uri = format!(
                "/products/search?q={a}+{b}&category=sport&size={size}&page={page}&sort=price_asc"
            );
            let cart = next() % 9;
            for (name, value) in &mut c.headers {
                if name == "Cookie" {
                    *value = format!("session_id={session}; theme=dark; cart_items={cart}");
                }
            }
            c
        })
        .collect()
}
