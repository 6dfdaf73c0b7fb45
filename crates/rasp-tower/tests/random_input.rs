//! Random and malformed-but-representable requests through the layer with
//! the full CRS (paranoia 1, and 4 with a small ProcessPartial body limit):
//! the layer never
//! panics, always answers, and whatever passes reaches the service
//! byte for byte. Deterministic (seeded), so a failure reproduces.

mod common;

use std::convert::Infallible;

use bytes::Bytes;
use common::*;
use http::{HeaderName, HeaderValue, Method, Request, Response};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use rasp_tower::rasp::RaspRequestBody;
use rasp_tower::{CrsOptions, PeerAddr, RaspLayer, Rules};
use tower::{ServiceBuilder, ServiceExt};

/// The request body type the generator produces.
type TestBody =
    StreamBody<futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>>;

/// xorshift64*: small, deterministic, good enough to vary inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn bytes(&mut self, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len).map(|_| *self.pick(alphabet)).collect()
    }
}

const PIECES: &[&str] = &[
    "%",
    "%2",
    "%zz",
    "%00",
    "%u0041",
    "%c0%af",
    "..",
    "../",
    "\\",
    "'",
    "\"",
    "<script>",
    "${jndi:",
    ";",
    "|",
    "`",
    "$(",
    "union select",
    "-- ",
    "/*",
    "*/",
    "&",
    "=",
    "==",
    "?",
    "#",
    "+",
    "%25",
    "\u{fffd}",
    "é",
    "<?xml",
    "{",
    "[",
];

const JSON_PIECES: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"a\":",
    b"\"x' or 1=1\"",
    b",",
    b"1e999",
    b"null",
    b"\\u0000",
    b"\"",
];

const MULTIPART_PIECES: &[&[u8]] = &[
    b"--XyZ\r\n",
    b"Content-Disposition: form-data; name=\"f\"; filename=\"a.php\"\r\n",
    b"Content-Type: text/plain\r\n\r\n",
    b"<?php system($_GET['c']); ?>",
    b"\r\n--XyZ--\r\n",
    b"--XyZ",
    b"\r\n\r\n",
];

fn target(rng: &mut Rng) -> String {
    let mut t = String::from("/");
    for _ in 0..rng.below(8) {
        let piece = *rng.pick(PIECES);
        // Only what `http::Uri` accepts; the rest is percent-encoded, as a
        // client would.
        for c in piece.chars() {
            if c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@/?%".contains(c) {
                t.push(c);
            } else {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    t.push_str(&format!("%{b:02X}"));
                }
            }
        }
        let n = rng.below(4);
        t.push_str(&String::from_utf8(rng.bytes(n, b"abcxyz019")).unwrap());
    }
    t
}

fn body(rng: &mut Rng, ct: &str) -> Vec<u8> {
    let mut out = Vec::new();
    match ct {
        "application/json" => {
            for _ in 0..rng.below(12) {
                let piece: &&[u8] = rng.pick(JSON_PIECES);
                out.extend_from_slice(piece);
            }
        }
        "multipart/form-data; boundary=XyZ" => {
            for _ in 0..rng.below(6) {
                let piece: &&[u8] = rng.pick(MULTIPART_PIECES);
                out.extend_from_slice(piece);
            }
        }
        _ => {
            let len = rng.below(3000);
            out = rng.bytes(len, b"abc=&%01z\0\xff<>'\";|$(){}[]\r\n ");
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_requests_never_panic_and_pass_intact() {
    tokio::time::timeout(TEST_TIMEOUT * 3, async {
        let rules = Rules::from_crs_dir_with(crs_dir(), &CrsOptions::new().paranoia(1))
            .unwrap_or_else(|e| {
                panic!(
                    "{e}: {}",
                    e.compile_errors()
                        .map(|e| e.to_string())
                        .unwrap_or_default()
                )
            });
        let small_limit = Rules::from_crs_dir_with(
            crs_dir(),
            &CrsOptions::new().paranoia(4).before(
                "limits",
                "SecRequestBodyLimit 500\nSecRequestBodyLimitAction ProcessPartial\n",
            ),
        )
        .unwrap();
        let echo = tower::service_fn(|req: Request<RaspRequestBody<TestBody>>| async move {
            let body = req
                .into_body()
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            Ok::<_, Infallible>(Response::new(Full::new(body)))
        });
        let layers = [RaspLayer::new(rules), RaspLayer::new(small_limit)];
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let methods = [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::DELETE,
            Method::OPTIONS,
            Method::from_bytes(b"PROPFIND").unwrap(),
        ];
        let cts = [
            "application/x-www-form-urlencoded",
            "application/json",
            "multipart/form-data; boundary=XyZ",
            "text/xml",
            "application/octet-stream",
        ];
        let header_names = [
            "user-agent",
            "referer",
            "cookie",
            "x-forwarded-for",
            "accept",
            "content-encoding",
            "x-custom",
            "range",
        ];
        let (mut passed, mut blocked) = (0, 0);
        for i in 0..300 {
            // One request in three is ordinary, so that passing requests
            // (and their bodies) are checked too.
            let clean = rng.below(3) == 0;
            let method = if clean {
                Method::POST
            } else {
                rng.pick(&methods).clone()
            };
            let uri = if clean {
                format!("/items/{}?page={}", rng.below(1000), rng.below(9))
            } else {
                target(&mut rng)
            };
            let mut builder = Request::builder()
                .method(method)
                .uri(&uri)
                .header("host", "example.com");
            let ct = if clean { cts[0] } else { *rng.pick(&cts) };
            builder = builder.header("content-type", ct);
            if clean {
                builder = builder
                    .header("user-agent", "Mozilla/5.0 (X11; Linux x86_64)")
                    .header("accept", "text/html");
            }
            for _ in 0..if clean { 0 } else { rng.below(6) } {
                let n = rng.below(60);
                let raw = rng.bytes(n, b"a=;,'\"<>()/\\\t \x80\xfe%$");
                if let Ok(v) = HeaderValue::from_bytes(&raw) {
                    builder = builder.header(
                        {
                            let name: &&str = rng.pick(&header_names);
                            HeaderName::from_static(name)
                        },
                        v,
                    );
                }
            }
            let payload = if clean {
                format!(
                    "name=item{}&qty={}&note=hello+world",
                    rng.below(100),
                    rng.below(10)
                )
                .repeat(1 + rng.below(40))
                .into_bytes()
            } else {
                body(&mut rng, ct)
            };
            let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = Vec::new();
            let mut rest = &payload[..];
            while !rest.is_empty() {
                let n = 1 + rng.below(rest.len());
                frames.push(Ok(Frame::data(Bytes::copy_from_slice(&rest[..n]))));
                rest = &rest[n..];
            }
            if rng.below(4) == 0 {
                let mut t = http::HeaderMap::new();
                t.insert("x-trailer", HeaderValue::from_static("1"));
                frames.push(Ok(Frame::trailers(t)));
            }
            let Ok(mut req) = builder.body(StreamBody::new(futures_util::stream::iter(frames)))
            else {
                continue;
            };
            req.extensions_mut()
                .insert(PeerAddr("203.0.113.9:4000".parse().unwrap()));
            let layer = layers[i % 2].clone();
            let svc = ServiceBuilder::new().layer(layer).service(echo);
            let res = svc.oneshot(req).await.unwrap();
            let status = res.status();
            assert!(
                status.as_u16() >= 200 && status.as_u16() < 600,
                "#{i} {uri}: {status}"
            );
            let got = res.into_body().collect().await.unwrap().to_bytes();
            if status.is_success() {
                passed += 1;
                assert_eq!(got, Bytes::from(payload), "#{i} {uri}: body changed");
            } else {
                blocked += 1;
            }
        }
        // The generator is meant to produce both.
        assert!(
            passed > 20 && blocked > 20,
            "passed {passed}, blocked {blocked}"
        );
    })
    .await
    .expect("test timed out");
}
