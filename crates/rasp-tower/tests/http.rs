//! The layers over real HTTP on 127.0.0.1 with a real client (hyper),
//! HTTP/1.1 and HTTP/2: the "Done when" list of issue 6.

mod common;

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::*;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use rasp_tower::{
    AuditLog, RaspLayer, RateLimitLayer, RouteExclusion, Rules, TRANSACTION_ID_HEADER,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tower::ServiceBuilder;

/// Test rules that use only `@contains`, so these tests exercise the layer
/// rather than the detectors.
fn rules(engine: &str, limit: u64, action: &str) -> Rules {
    let text = format!(
        r#"
SecRuleEngine {engine}
SecRequestBodyAccess On
SecRequestBodyLimit {limit}
SecRequestBodyNoFilesLimit {limit}
SecRequestBodyLimitAction {action}
SecResponseBodyAccess On
SecResponseBodyMimeType text/plain
SecResponseBodyLimit 4096
SecAuditEngine RelevantOnly
SecRule ARGS "@contains attack" "id:1001,phase:2,deny,status:403,log,auditlog,msg:'attack word',tag:'test'"
SecRule REQUEST_HEADERS:X-Block "@streq phase1" "id:1002,phase:1,deny,status:406,log,auditlog"
SecRule RESPONSE_BODY "@contains BEGIN PRIVATE KEY" "id:1003,phase:4,deny,status:403,log,auditlog,msg:'key leak'"
"#
    );
    Rules::from_seclang("http-test.conf", &text).unwrap_or_else(|e| {
        panic!(
            "{e}: {}",
            e.compile_errors()
                .map(|e| e.to_string())
                .unwrap_or_default()
        )
    })
}

fn blocking() -> Rules {
    rules("On", 1 << 20, "Reject")
}

fn get(addr: std::net::SocketAddr, path: &str) -> Request<ClientBody> {
    Request::get(format!("http://{addr}{path}"))
        .body(empty())
        .unwrap()
}

fn post(addr: std::net::SocketAddr, path: &str, ct: &str, body: ClientBody) -> Request<ClientBody> {
    Request::post(format!("http://{addr}{path}"))
        .header("content-type", ct)
        .body(body)
        .unwrap()
}

async fn within<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(TEST_TIMEOUT, f)
        .await
        .expect("test timed out")
}

fn assert_blocked_with_id(
    status: StatusCode,
    expected: StatusCode,
    headers: &http::HeaderMap,
    body: &Bytes,
) {
    assert_eq!(status, expected);
    let id = headers
        .get(TRANSACTION_ID_HEADER)
        .expect("transaction id header")
        .to_str()
        .unwrap();
    assert!(!id.is_empty());
    let text = String::from_utf8_lossy(body);
    assert!(text.contains(id), "body {text:?} lacks id {id}");
    // Nothing about the rules leaks.
    assert!(
        !text.contains("1001") && !text.contains("attack") && !text.contains("rule"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attack_is_blocked_with_transaction_id_h1_and_h2() {
    within(async {
        let seen = Seen::default();
        let server = serve(
            ServiceBuilder::new()
                .layer(RaspLayer::new(blocking()))
                .service(echo(seen.clone())),
        )
        .await;
        for c in [client(), h2_client()] {
            let (status, headers, body) = send(&c, get(server.addr, "/?q=an+attack+here")).await;
            assert_blocked_with_id(status, StatusCode::FORBIDDEN, &headers, &body);
            let (status, headers, body) = send(
                &c,
                post(
                    server.addr,
                    "/form",
                    "application/x-www-form-urlencoded",
                    full("a=1&b=attack"),
                ),
            )
            .await;
            assert_blocked_with_id(status, StatusCode::FORBIDDEN, &headers, &body);
            // A phase-1 block never reads the body or calls the service.
            let mut req = get(server.addr, "/");
            req.headers_mut()
                .insert("x-block", "phase1".parse().unwrap());
            let (status, headers, body) = send(&c, req).await;
            assert_blocked_with_id(status, StatusCode::NOT_ACCEPTABLE, &headers, &body);
        }
        assert_eq!(seen.count(), 0, "a blocked request reached the service");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn embedded_rules_block_the_seed_example_over_http() {
    within(async {
        let seen = Seen::default();
        let rules = Rules::embedded().expect("embedded rules compile");
        let server = serve(
            ServiceBuilder::new()
                .layer(RaspLayer::new(rules))
                .service(echo(seen.clone())),
        )
        .await;
        let (status, headers, body) = send(
            &client(),
            get(server.addr, "/?comment=%3Cscript%3Ealert(1)"),
        )
        .await;
        assert_blocked_with_id(status, StatusCode::FORBIDDEN, &headers, &body);
        let (status, _, _) = send(&client(), get(server.addr, "/?comment=hello")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seen.count(), 1);
    })
    .await;
}

/// A streamed body of 200 kB in uneven chunks, with trailers on HTTP/2:
/// the service gets exactly what the client sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn benign_body_reaches_the_service_byte_for_byte() {
    within(async {
        let seen = Seen::default();
        let server = serve(
            ServiceBuilder::new()
                .layer(RaspLayer::new(blocking()))
                .service(echo(seen.clone())),
        )
        .await;
        let payload: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for (n, c) in [client(), h2_client()].into_iter().enumerate() {
            let mut frames: Vec<Result<Frame<Bytes>, Infallible>> = payload
                .chunks(7_919)
                .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
                .collect();
            let h2 = n == 1;
            if h2 {
                let mut t = http::HeaderMap::new();
                t.insert("x-checksum", "abc".parse().unwrap());
                frames.push(Ok(Frame::trailers(t)));
            }
            let body = StreamBody::new(futures_util::stream::iter(frames)).boxed();
            let (status, _, echoed) = send(
                &c,
                post(server.addr, "/upload", "application/octet-stream", body),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(echoed.len(), payload.len());
            let (_, body, trailers) = seen.last().unwrap();
            assert!(
                body[..] == payload[..],
                "body changed on the way (h2: {h2})"
            );
            if h2 {
                assert_eq!(trailers.expect("trailers kept")["x-checksum"], "abc");
            }
        }
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detection_only_passes_and_writes_an_audit_record() {
    within(async {
        let dir = std::env::temp_dir().join(format!("rasp-audit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("audit.jsonl");
        let _ = std::fs::remove_file(&path);
        let audit = AuditLog::file(&path).unwrap();
        let seen = Seen::default();
        let layer =
            RaspLayer::new(rules("DetectionOnly", 1 << 20, "Reject")).audit_log(audit.clone());
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let (status, _, _) = send(&client(), get(server.addr, "/?q=attack")).await;
        assert_eq!(status, StatusCode::OK);
        // RelevantOnly: a clean request is not logged.
        let (status, _, _) = send(&client(), get(server.addr, "/?q=fine")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(seen.count(), 2);
        tokio::task::spawn_blocking(move || audit.flush())
            .await
            .unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["outcome"], "detected");
        assert_eq!(v["http_status"], 200);
        let tx = &v["transaction"];
        assert!(tx["transaction_id"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(tx["request_line"].as_str().unwrap().contains("/?q=attack"));
        assert_eq!(tx["client_ip"], "127.0.0.1");
        assert_eq!(tx["messages"][0]["id"], 1001);
        assert_eq!(tx["messages"][0]["msg"], "attack word");
        let _ = std::fs::remove_dir_all(&dir);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_over_limit_is_rejected_with_413() {
    within(async {
        let seen = Seen::default();
        let layer = RaspLayer::new(rules("On", 1000, "Reject"));
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        for c in [client(), h2_client()] {
            let (status, headers, _) = send(
                &c,
                post(
                    server.addr,
                    "/u",
                    "application/octet-stream",
                    full(vec![b'x'; 5000]),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
            assert!(headers.contains_key(TRANSACTION_ID_HEADER));
            let (status, _, _) = send(
                &c,
                post(
                    server.addr,
                    "/u",
                    "application/octet-stream",
                    full(vec![b'x'; 900]),
                ),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
        }
        assert_eq!(seen.count(), 2);
    })
    .await;
}

/// Without files the no-files limit binds: the layer stops reading there
/// and answers 413 at once, even if the client would send forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_files_limit_rejects_without_reading_the_rest() {
    within(async {
        let text = r#"
SecRequestBodyAccess On
SecRequestBodyLimit 1000000
SecRequestBodyNoFilesLimit 1000
SecRequestBodyLimitAction Reject
"#;
        let layer = RaspLayer::new(Rules::from_seclang("limits.conf", text).unwrap());
        let seen = Seen::default();
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
        tx.send(Ok(Frame::data(Bytes::from(vec![b'a'; 2000]))))
            .await
            .unwrap();
        let body = StreamBody::new(tokio_stream_from(rx)).boxed();
        // The sender stays open: the body never ends.
        let (status, _, _) =
            send(&client(), post(server.addr, "/j", "application/json", body)).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(seen.count(), 0);
        drop(tx);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn process_partial_inspects_the_prefix_and_forwards_everything() {
    within(async {
        let seen = Seen::default();
        let layer = RaspLayer::new(rules("On", 1000, "ProcessPartial"));
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let form = "application/x-www-form-urlencoded";
        // The attack is inside the inspected prefix: blocked.
        let early = format!("q=attack&pad={}", "x".repeat(3000));
        let (status, _, _) = send(&client(), post(server.addr, "/f", form, full(early))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // The attack is past the limit: not inspected, and the service gets
        // the whole body, not just the prefix.
        let late = format!("pad={}&q=attack", "x".repeat(3000));
        let (status, _, echoed) =
            send(&client(), post(server.addr, "/f", form, full(late.clone()))).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed, Bytes::from(late));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn response_body_rule_blocks_a_leaking_response() {
    within(async {
        let inner = tower::service_fn(|req: Request<_>| async move {
            let _: &Request<rasp_tower::rasp::RaspRequestBody<hyper::body::Incoming>> = &req;
            let ct = if req.uri().path() == "/image" {
                "image/png"
            } else {
                "text/plain; charset=utf-8"
            };
            let body = if req.uri().path() == "/ok" {
                "just text".to_string()
            } else {
                format!(
                    "{}-----BEGIN PRIVATE KEY-----\nMIIE...\n",
                    "filler ".repeat(100)
                )
            };
            let mut res = Response::new(Full::new(Bytes::from(body)));
            res.headers_mut()
                .insert("content-type", ct.parse().unwrap());
            Ok::<_, Infallible>(res)
        });
        let server = serve(
            ServiceBuilder::new()
                .layer(RaspLayer::new(blocking()))
                .service(inner),
        )
        .await;
        for c in [client(), h2_client()] {
            let (status, headers, body) = send(&c, get(server.addr, "/leak")).await;
            assert_blocked_with_id(status, StatusCode::FORBIDDEN, &headers, &body);
            assert!(!String::from_utf8_lossy(&body).contains("PRIVATE"));
            // Not a listed MIME type: not inspected.
            let (status, _, body) = send(&c, get(server.addr, "/image")).await;
            assert_eq!(status, StatusCode::OK);
            assert!(String::from_utf8_lossy(&body).contains("PRIVATE KEY"));
            let (status, _, body) = send(&c, get(server.addr, "/ok")).await;
            assert_eq!(status, StatusCode::OK);
            assert_eq!(&body[..], b"just text");
        }
    })
    .await;
}

/// `SecRuleEngine Off`: nothing is inspected, everything passes intact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engine_off_passes_everything() {
    within(async {
        let seen = Seen::default();
        let layer = RaspLayer::new(rules("Off", 10, "Reject"));
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let body = format!("q=attack&pad={}", "x".repeat(100));
        let req = post(
            server.addr,
            "/?q=attack",
            "application/x-www-form-urlencoded",
            full(body.clone()),
        );
        let (status, _, echoed) = send(&client(), req).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(echoed, Bytes::from(body));
    })
    .await;
}

/// A slow streaming text response is not held back past the body
/// timeout: the inspected part and the rest reach the client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_response_is_not_held_forever() {
    within(async {
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
        let rx = Arc::new(tokio::sync::Mutex::new(Some(rx)));
        let inner = tower::service_fn(move |_req: Request<_>| {
            let rx = Arc::clone(&rx);
            async move {
                let _: &Request<rasp_tower::rasp::RaspRequestBody<hyper::body::Incoming>> = &_req;
                let rx = rx.lock().await.take().expect("one request");
                let body = StreamBody::new(tokio_stream_from(rx));
                let mut res = Response::new(body);
                res.headers_mut()
                    .insert("content-type", "text/plain".parse().unwrap());
                Ok::<_, Infallible>(res)
            }
        });
        let layer = RaspLayer::new(blocking()).body_timeout(Duration::from_millis(300));
        let server = serve(ServiceBuilder::new().layer(layer).service(inner)).await;
        tx.send(Ok(Frame::data(Bytes::from_static(b"hello "))))
            .await
            .unwrap();
        // The rest is only produced after the client has the headers.
        let res = client().request(get(server.addr, "/stream")).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        tx.send(Ok(Frame::data(Bytes::from_static(b"world"))))
            .await
            .unwrap();
        drop(tx);
        let body = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"hello world");
    })
    .await;
}

/// A stream over an mpsc receiver (tokio-stream is not a dependency).
fn tokio_stream_from<T>(rx: tokio::sync::mpsc::Receiver<T>) -> impl futures_util::Stream<Item = T> {
    futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}

/// The decision hook sees every inspected exchange with its outcome.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_decision_hook_sees_outcomes() {
    use rasp_tower::rasp::{Decision, Outcome};
    within(async {
        let log = Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let hook = move |d: &Decision<'_>| {
            sink.lock().unwrap().push((
                d.outcome,
                d.status,
                d.rule_id,
                d.client_ip,
                d.transaction_id.to_string(),
            ));
        };
        let layer = RaspLayer::new(blocking()).on_decision(hook);
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(Seen::default())),
        )
        .await;
        let (_, headers, _) = send(&client(), get(server.addr, "/?q=attack")).await;
        send(&client(), get(server.addr, "/?q=fine")).await;
        let log = log.lock().unwrap().clone();
        assert_eq!(log.len(), 2);
        assert_eq!(
            (log[0].0, log[0].1, log[0].2),
            (Outcome::Blocked, 403, Some(1001))
        );
        assert_eq!(log[0].3, Some("127.0.0.1".parse().unwrap()));
        assert_eq!(log[0].4, headers[TRANSACTION_ID_HEADER].to_str().unwrap());
        assert_eq!((log[1].0, log[1].1, log[1].2), (Outcome::Passed, 200, None));
    })
    .await;
}

/// The matched-rules header exists only behind `dangerous()`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn matched_rules_header_only_when_asked() {
    within(async {
        let detect = rules("DetectionOnly", 1 << 20, "Reject");
        let open = RaspLayer::new(detect.clone())
            .dangerous()
            .expose_matched_rules(true);
        let server = serve(
            ServiceBuilder::new()
                .layer(open)
                .service(echo(Seen::default())),
        )
        .await;
        let (status, headers, _) = send(&client(), get(server.addr, "/?q=attack")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(headers[rasp_tower::MATCHED_RULES_HEADER], "1001");
        let (_, headers, _) = send(&client(), get(server.addr, "/?q=fine")).await;
        assert_eq!(headers[rasp_tower::MATCHED_RULES_HEADER], "");
        let closed = serve(
            ServiceBuilder::new()
                .layer(RaspLayer::new(detect))
                .service(echo(Seen::default())),
        )
        .await;
        let (_, headers, _) = send(&client(), get(closed.addr, "/?q=attack")).await;
        assert!(!headers.contains_key(rasp_tower::MATCHED_RULES_HEADER));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_exclusion_disables_a_rule_for_one_route() {
    within(async {
        let seen = Seen::default();
        let layer = RaspLayer::new(blocking())
            .exclude(RouteExclusion::path_prefix("/api/upload").remove_id(1001));
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let (status, _, _) = send(&client(), get(server.addr, "/api/upload/x?q=attack")).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, _) = send(&client(), get(server.addr, "/api/uploads?q=attack")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = send(&client(), get(server.addr, "/other?q=attack")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_exclusion_removes_one_target_only() {
    within(async {
        let seen = Seen::default();
        let layer =
            RaspLayer::new(blocking()).exclude(RouteExclusion::path("/login").remove_target(
                1001..=1001,
                crs_compiler::ir::variable::Variable::Args,
                "password",
            ));
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        // The excluded argument is not inspected on that route…
        let (status, _, _) = send(&client(), get(server.addr, "/login?password=attack")).await;
        assert_eq!(status, StatusCode::OK);
        // …every other argument still is, and other routes are untouched.
        let (status, _, _) = send(&client(), get(server.addr, "/login?user=attack")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _, _) = send(&client(), get(server.addr, "/other?password=attack")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_429_after_burst_with_retry_after() {
    within(async {
        let seen = Seen::default();
        let svc = ServiceBuilder::new()
            .layer(RateLimitLayer::new().per_minute(60).burst(3))
            .layer(RaspLayer::new(blocking()))
            .service(echo(seen.clone()));
        let server = serve(svc).await;
        let c = client();
        for _ in 0..3 {
            assert_eq!(send(&c, get(server.addr, "/")).await.0, StatusCode::OK);
        }
        let (status, headers, _) = send(&c, get(server.addr, "/")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=2).contains(&retry), "retry-after {retry}");
        // HTTP/2 from the same address shares the bucket.
        assert_eq!(
            send(&h2_client(), get(server.addr, "/")).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(seen.count(), 3);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_listed_cidr_is_never_limited() {
    within(async {
        let allowed = RateLimitLayer::new()
            .per_second(1)
            .burst(1)
            .max_concurrent(1)
            .allow("127.0.0.0/8".parse().unwrap());
        let server = serve(
            ServiceBuilder::new()
                .layer(allowed)
                .service(echo(Seen::default())),
        )
        .await;
        for _ in 0..30 {
            assert_eq!(
                send(&client(), get(server.addr, "/")).await.0,
                StatusCode::OK
            );
        }
        // The same limits without the allow-list do limit 127.0.0.1.
        let limited = RateLimitLayer::new()
            .per_second(1)
            .burst(1)
            .allow("10.0.0.0/8".parse().unwrap());
        let server = serve(
            ServiceBuilder::new()
                .layer(limited)
                .service(echo(Seen::default())),
        )
        .await;
        assert_eq!(
            send(&client(), get(server.addr, "/")).await.0,
            StatusCode::OK
        );
        assert_eq!(
            send(&client(), get(server.addr, "/")).await.0,
            StatusCode::TOO_MANY_REQUESTS
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_cap_rejects_while_a_request_is_in_flight() {
    within(async {
        let gate = Arc::new(tokio::sync::Semaphore::new(0));
        let entered = Arc::new(tokio::sync::Notify::new());
        let (g, e) = (Arc::clone(&gate), Arc::clone(&entered));
        let inner = tower::service_fn(move |req: Request<hyper::body::Incoming>| {
            let (g, e) = (Arc::clone(&g), Arc::clone(&e));
            async move {
                if req.uri().path() == "/slow" {
                    e.notify_one();
                    let _permit = g.acquire().await;
                }
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"done"))))
            }
        });
        let server = serve(
            ServiceBuilder::new()
                .layer(RateLimitLayer::new().max_concurrent(1))
                .service(inner),
        )
        .await;
        let addr = server.addr;
        let slow = tokio::spawn(async move { send(&client(), get(addr, "/slow")).await.0 });
        entered.notified().await;
        let (status, headers, _) = send(&client(), get(addr, "/fast")).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert!(headers.contains_key("retry-after"));
        gate.add_permits(1);
        assert_eq!(slow.await.unwrap(), StatusCode::OK);
        assert_eq!(send(&client(), get(addr, "/fast")).await.0, StatusCode::OK);
    })
    .await;
}

/// Clients hammer the server while the rules are swapped 30 times: every
/// request gets its answer, and the last swap takes effect.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hot_reload_under_load_loses_no_request() {
    within(async {
        let seen = Seen::default();
        let layer = RaspLayer::new(blocking());
        let handle = layer.reload_handle();
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let addr = server.addr;
        let ok = Arc::new(AtomicUsize::new(0));
        let mut clients = Vec::new();
        for n in 0..4 {
            let ok = Arc::clone(&ok);
            clients.push(tokio::spawn(async move {
                let c = if n % 2 == 0 { client() } else { h2_client() };
                for i in 0..50 {
                    let body = format!("n={n}&i={i}");
                    let req = post(
                        addr,
                        "/r",
                        "application/x-www-form-urlencoded",
                        full(body.clone()),
                    );
                    let (status, _, echoed) = send(&c, req).await;
                    assert_eq!(status, StatusCode::OK);
                    assert_eq!(echoed, Bytes::from(body));
                    ok.fetch_add(1, Ordering::Relaxed);
                }
            }));
        }
        let alt = rules("On", 1 << 16, "Reject");
        let orig = blocking();
        for i in 0..30 {
            handle.reload(if i % 2 == 0 { &alt } else { &orig });
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        for c in clients {
            c.await.unwrap();
        }
        assert_eq!(ok.load(Ordering::Relaxed), 200);
        assert_eq!(seen.count(), 200);
        assert_eq!(handle.generation(), 30);
        let strict = Rules::from_seclang(
            "strict",
            r#"SecRule ARGS "@contains hello" "id:7,phase:2,deny,status:403""#,
        )
        .unwrap();
        handle.reload(&strict);
        assert_eq!(
            send(&client(), get(addr, "/?q=hello")).await.0,
            StatusCode::FORBIDDEN
        );
    })
    .await;
}

/// A request in flight during a reload finishes with the rules it started
/// with: its body arrives after the swap to rules that would block it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_flight_request_keeps_its_rules_across_a_reload() {
    within(async {
        let seen = Seen::default();
        let layer = RaspLayer::new(blocking());
        let handle = layer.reload_handle();
        let server = serve(
            ServiceBuilder::new()
                .layer(layer)
                .service(echo(seen.clone())),
        )
        .await;
        let (tx, rx) = tokio::sync::mpsc::channel::<Result<Frame<Bytes>, Infallible>>(4);
        let body = StreamBody::new(tokio_stream_from(rx)).boxed();
        let req = post(server.addr, "/f", "application/x-www-form-urlencoded", body);
        let addr = server.addr;
        let pending = tokio::spawn(async move { send(&client(), req).await.0 });
        tx.send(Ok(Frame::data(Bytes::from_static(b"a=1&"))))
            .await
            .unwrap();
        // Wait until the request is inside the layer, then swap the rules.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let strict = Rules::from_seclang(
            "strict",
            r#"SecRule ARGS "@contains hello" "id:7,phase:2,deny,status:403""#,
        )
        .unwrap();
        handle.reload(&strict);
        tx.send(Ok(Frame::data(Bytes::from_static(b"q=hello"))))
            .await
            .unwrap();
        drop(tx);
        assert_eq!(
            pending.await.unwrap(),
            StatusCode::OK,
            "the in-flight request saw the new rules"
        );
        assert_eq!(seen.last().unwrap().1, Bytes::from_static(b"a=1&q=hello"));
        // A new request gets the new rules.
        let req = post(
            addr,
            "/f",
            "application/x-www-form-urlencoded",
            full("q=hello"),
        );
        assert_eq!(send(&client(), req).await.0, StatusCode::FORBIDDEN);
    })
    .await;
}

/// Raw bytes on a TCP connection; returns what the server answered (may
/// be empty when it closed the connection) within a few seconds.
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before reading everything.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out))
        .await
        .expect("server hung");
    String::from_utf8_lossy(&out).into_owned()
}

fn status_of(answer: &str) -> Option<u16> {
    answer.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_never_panic_or_hang() {
    within(async {
        let rules = Rules::embedded().expect("embedded rules compile");
        let layer = RaspLayer::new(rules).body_timeout(Duration::from_secs(1));
        let server = serve(ServiceBuilder::new().layer(layer).service(echo(Seen::default()))).await;
        let addr = server.addr;
        let multipart = "POST /up HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: multipart/form-data; boundary=XX\r\nContent-Length: 40\r\n\r\n--XX\r\nContent-Disposition: form-data; nam";
        let json = "POST /j HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 12\r\n\r\n{\"a\": [1, 2";
        let mut many = String::from("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n");
        for i in 0..10_000 {
            many.push_str(&format!("X-H{i}: v\r\n"));
        }
        many.push_str("\r\n");
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("bad percent-encoding", b"GET /?q=%zz%&a=%%%41%g HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
            ("bad encoding in path", b"GET /%c0%ae%c0%ae/%ff HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
            ("broken multipart", multipart.as_bytes().to_vec()),
            ("invalid json", json.as_bytes().to_vec()),
            ("10k headers", many.into_bytes()),
            ("nul in target", b"GET /a\0b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
            ("nul in header", b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\nConnection: close\r\n\r\n".to_vec()),
            ("encoded nul", b"GET /?f=a%00b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec()),
            (
                "nul in form body",
                b"POST / HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 5\r\n\r\na=\0\0\0"
                    .to_vec(),
            ),
            ("garbage", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 garbage\r\n\r\n".to_vec()),
        ];
        for (name, bytes) in cases {
            let answer = raw(addr, &bytes).await;
            // Either an HTTP answer or a closed connection (hyper refuses
            // some of these before the layer sees them) — never a hang.
            if let Some(status) = status_of(&answer) {
                assert!((200..600).contains(&status), "{name}: {answer}");
            }
        }
        // A slow body: two bytes, then nothing. The layer answers 408 after
        // its body timeout instead of waiting forever.
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\nab").await.unwrap();
        let mut buf = vec![0u8; 1024];
        let n = tokio::time::timeout(Duration::from_secs(10), s.read(&mut buf)).await.expect("slow body hung").unwrap();
        assert_eq!(status_of(&String::from_utf8_lossy(&buf[..n])), Some(408));
        // And the server still works.
        assert_eq!(send(&client(), get(addr, "/?q=ok")).await.0, StatusCode::OK);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn works_inside_axum() {
    use axum::routing::{get as aget, post as apost};
    within(async {
        let app = axum::Router::new()
            .route("/", aget(|| async { "hello" }))
            .route("/echo", apost(|body: Bytes| async move { body }))
            .layer(RaspLayer::new(blocking()));
        let server = serve(app).await;
        for c in [client(), h2_client()] {
            let (status, _, body) = send(&c, get(server.addr, "/")).await;
            assert_eq!((status, &body[..]), (StatusCode::OK, &b"hello"[..]));
            let (status, headers, body) = send(&c, get(server.addr, "/?q=attack")).await;
            assert_blocked_with_id(status, StatusCode::FORBIDDEN, &headers, &body);
            let (status, _, body) = send(
                &c,
                post(server.addr, "/echo", "text/plain", full("payload")),
            )
            .await;
            assert_eq!((status, &body[..]), (StatusCode::OK, &b"payload"[..]));
        }
    })
    .await;
}

/// axum's `ConnectInfo` is the peer address (feature `axum`):
/// `cargo test -p rasp-tower --features axum`.
#[cfg(feature = "axum")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn axum_connect_info_is_the_client_address() {
    use axum::routing::get as aget;
    within(async {
        let rules = Rules::from_seclang(
            "ip.conf",
            r#"SecRule REMOTE_ADDR "@ipMatch 127.0.0.1" "id:9,phase:1,deny,status:418""#,
        )
        .unwrap();
        let app = axum::Router::new()
            .route("/", aget(|| async { "hello" }))
            .layer(RaspLayer::new(rules));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let _ = axum::serve(
                listener,
                app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
            )
            .await;
        });
        let (status, _, _) = send(&client(), get(addr, "/")).await;
        task.abort();
        assert_eq!(
            status.as_u16(),
            418,
            "REMOTE_ADDR was not taken from ConnectInfo"
        );
    })
    .await;
}
