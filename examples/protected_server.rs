//! A small HTTP server protected by rasp: WAF rules, rate limiting, audit
//! log and Prometheus metrics.
//!
//! ```text
//! cargo run --release --example protected_server -- [--listen 127.0.0.1:8080] [--crs DIR]
//!     [--paranoia N] [--detection-only] [--audit-log FILE] [--rps N] [--rpm N] [--burst N] [--echo] [--bare]
//! ```
//!
//! The inner service answers 200 with a small fixed body on every path
//! (`--echo` echoes the request instead; `--albedo` answers 200 with an
//! empty body, as the CRS test backend does), implements albedo's
//! `POST /reflect` contract (CRS `TESTING.md`, section 6), and `/metrics`
//! serves the metrics in Prometheus format (outside the WAF and the rate
//! limiter, as a scraper would reach it).
//!
//! Without `--crs` the built-in rules are used. `kill -HUP` recompiles
//! the rules and swaps them in without dropping a request.
//!
//! For the CRS regression suite over HTTP: `--crs DIR --crs-test-setup
//! --detection-only --albedo --expose-matched-rules` (the suite's engine
//! settings, albedo's answers, and the ids of the rules that fired in an
//! `x-rasp-matched-rules` header of each response), optionally
//! `--audit-log FILE --audit-all` for the full match records.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use clap::Parser;
use http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use rasp::rasp::RaspRequestBody;
use rasp::{
    AuditLog, CrsOptions, LocalAddr, PeerAddr, RaspLayer, RateLimitLayer, ReloadHandle, Rules,
    TrustedProxies, EMBEDDED_RULES,
};
use tower::{Service, ServiceBuilder, ServiceExt};

#[derive(Parser, Debug, Clone)]
#[command(about = "An HTTP server protected by rasp")]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// OWASP CRS directory (crs-setup.conf[.example] and rules/); default:
    /// the built-in rules.
    #[arg(long)]
    crs: Option<PathBuf>,
    /// Also read the CRS's test-setup.conf first (for the CRS regression
    /// suite over HTTP).
    #[arg(long, requires = "crs")]
    crs_test_setup: bool,
    /// CRS blocking paranoia level (1-4). test-setup.conf sets 4 itself.
    #[arg(long, value_parser = clap::value_parser!(u8).range(1..=4), conflicts_with = "crs_test_setup")]
    paranoia: Option<u8>,
    /// Log but never block.
    #[arg(long)]
    detection_only: bool,
    /// Append JSON audit records to this file.
    #[arg(long)]
    audit_log: Option<PathBuf>,
    /// Requests per second per client IP.
    #[arg(long)]
    rps: Option<u32>,
    /// Requests per minute per client IP.
    #[arg(long)]
    rpm: Option<u32>,
    /// Burst size (default: the rate).
    #[arg(long)]
    burst: Option<u32>,
    /// Requests in flight per client IP.
    #[arg(long)]
    max_concurrent: Option<u32>,
    /// Networks never rate limited (repeatable), e.g. 10.0.0.0/8.
    #[arg(long = "allow")]
    allow: Vec<String>,
    /// Proxies allowed to set X-Forwarded-For / Forwarded (repeatable).
    #[arg(long = "trusted-proxy")]
    trusted_proxy: Vec<String>,
    /// ingress-nginx rate-limit semantics (burst = 5 x rate, 503).
    #[arg(long)]
    nginx: bool,
    /// Audit every transaction (`SecAuditEngine On`), not only relevant
    /// ones.
    #[arg(long)]
    audit_all: bool,
    /// TEST ONLY: list the ids of the matched logging rules in an
    /// `x-rasp-matched-rules` response header (for the CRS regression suite
    /// over HTTP). Tells attackers what fired.
    #[arg(long)]
    expose_matched_rules: bool,
    /// Echo the request instead of the fixed answer.
    #[arg(long)]
    echo: bool,
    /// Answer 200 with an empty body (albedo's default) instead of the
    /// fixed answer.
    #[arg(long, conflicts_with = "echo")]
    albedo: bool,
    /// No WAF and no rate limiter: the same server and answers without
    /// rasp (the baseline of benches/http/run.sh).
    #[arg(long)]
    bare: bool,
}

type BoxBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;
type Error = Box<dyn std::error::Error + Send + Sync>;

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(body.into()));
    *res.status_mut() = status;
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    res
}

/// `http.DetectContentType`, reduced to what albedo's answers need.
fn sniff(body: &[u8]) -> &'static str {
    let start = body
        .iter()
        .position(|b| !b" \t\r\n\x0c".contains(b))
        .unwrap_or(body.len());
    let head: Vec<u8> = body[start..]
        .iter()
        .take(16)
        .map(u8::to_ascii_lowercase)
        .collect();
    const HTML: &[&[u8]] = &[
        b"<!doctype html",
        b"<html",
        b"<head",
        b"<script",
        b"<iframe",
        b"<h1",
        b"<div",
        b"<font",
        b"<table",
        b"<a",
        b"<style",
        b"<title",
        b"<b",
        b"<body",
        b"<br",
        b"<p",
        b"<!--",
    ];
    if head.starts_with(b"<?xml") {
        return "text/xml; charset=utf-8";
    }
    for tag in HTML {
        // Go requires a space or '>' right after the tag name.
        if head.starts_with(tag)
            && head
                .get(tag.len())
                .is_some_and(|b| *b == b' ' || *b == b'>')
        {
            return "text/html; charset=utf-8";
        }
    }
    "text/plain; charset=utf-8"
}

/// albedo's `POST /reflect`: the JSON body describes the response.
fn reflect(body: &[u8]) -> Response<Full<Bytes>> {
    let Ok(serde_json::Value::Object(spec)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return text(StatusCode::BAD_REQUEST, "Invalid JSON in request body");
    };
    // Go's decoder matches field names case-insensitively.
    let field = |name: &str| {
        spec.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
    };
    let status = field("status").and_then(|v| v.as_i64()).unwrap_or(0);
    let status = if status == 0 { 200 } else { status };
    let Some(status) = u16::try_from(status)
        .ok()
        .filter(|s| (100..600).contains(s))
        .and_then(|s| StatusCode::from_u16(s).ok())
    else {
        return text(
            StatusCode::BAD_REQUEST,
            format!("Invalid status code: {status}"),
        );
    };
    let mut out = field("body")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .as_bytes()
        .to_vec();
    if out.is_empty() {
        if let Some(enc) = field("encodedBody").and_then(|v| v.as_str()) {
            out = base64::engine::general_purpose::STANDARD
                .decode(enc)
                .unwrap_or_else(|_| b"invalid base64 encoding of response body".to_vec());
        }
    }
    let mut res = Response::new(Full::new(Bytes::from(out.clone())));
    *res.status_mut() = status;
    if let Some(serde_json::Value::Object(h)) = field("headers") {
        for (k, v) in h {
            if let (Ok(name), Some(Ok(value))) = (
                HeaderName::try_from(k.as_str()),
                v.as_str().map(HeaderValue::from_str),
            ) {
                res.headers_mut().append(name, value);
            }
        }
    }
    if !out.is_empty() && !res.headers().contains_key(header::CONTENT_TYPE) {
        res.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(sniff(&out)));
    }
    res
}

/// The protected application.
async fn app<B>(args: Arc<Args>, req: Request<B>) -> Result<Response<Full<Bytes>>, Infallible>
where
    B: hyper::body::Body<Data = Bytes>,
{
    let (parts, body) = req.into_parts();
    let is_reflect =
        parts.method == Method::POST && matches!(parts.uri.path(), "/reflect" | "/reflect/");
    if !is_reflect && !args.echo {
        // Drain the body so the client is not left waiting on a full window.
        let _ = body.collect().await;
        return Ok(if args.albedo {
            Response::new(Full::new(Bytes::new()))
        } else {
            text(StatusCode::OK, "ok\n")
        });
    }
    let body = match body.collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => {
            return Ok(text(
                StatusCode::BAD_REQUEST,
                "Failed to parse request body",
            ))
        }
    };
    if is_reflect {
        return Ok(reflect(&body));
    }
    let mut out = format!("{} {} {:?}\n", parts.method, parts.uri, parts.version);
    for (k, v) in &parts.headers {
        out.push_str(&format!(
            "{}: {}\n",
            k,
            String::from_utf8_lossy(v.as_bytes())
        ));
    }
    out.push('\n');
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&body);
    Ok(text(StatusCode::OK, bytes))
}

fn load_rules(args: &Args) -> Result<Rules, Error> {
    let rules = match &args.crs {
        Some(dir) => {
            let mut opts = CrsOptions::new().detection_only(args.detection_only);
            if let Some(pl) = args.paranoia {
                opts = opts.paranoia(pl);
            }
            if args.crs_test_setup {
                let setup = std::fs::read_to_string(dir.join("test-setup.conf"))?;
                opts = opts.before("test-setup.conf", &setup);
                if !args.detection_only {
                    // test-setup.conf says DetectionOnly (CRS CI); keep
                    // blocking unless asked otherwise.
                    opts = opts.before("rasp-blocking", "SecRuleEngine On\n");
                }
            }
            if args.audit_all {
                opts = opts.after("rasp-audit", "SecAuditEngine On\n");
            }
            Rules::from_crs_dir_with(dir, &opts)?
        }
        None => {
            if args.paranoia.is_some() {
                eprintln!("--paranoia applies to the CRS only; the built-in rules have one level");
            }
            let mut text = EMBEDDED_RULES.to_string();
            if args.detection_only {
                text.push_str("\nSecRuleEngine DetectionOnly\n");
            }
            if args.audit_all {
                text.push_str("\nSecAuditEngine On\n");
            }
            Rules::from_seclang("rasp-default.conf", &text)?
        }
    };
    Ok(rules)
}

fn rate_limit(args: &Args) -> Result<RateLimitLayer, Error> {
    let mut layer = RateLimitLayer::new();
    if let Some(n) = args.rps {
        layer = layer.per_second(n);
    }
    if let Some(n) = args.rpm {
        layer = layer.per_minute(n);
    }
    if args.nginx {
        layer = layer.nginx_compatible();
    }
    if let Some(n) = args.burst {
        layer = layer.burst(n);
    }
    if let Some(n) = args.max_concurrent {
        layer = layer.max_concurrent(n);
    }
    for net in &args.allow {
        layer = layer.allow(net.parse()?);
    }
    Ok(layer.trusted_proxies(TrustedProxies::parse(
        args.trusted_proxy.iter().map(String::as_str),
    )?))
}

fn metrics_response(handle: &PrometheusHandle) -> Response<Full<Bytes>> {
    let mut res = Response::new(Full::new(Bytes::from(handle.render())));
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4"),
    );
    res
}

/// How often the recorder drains its pending histogram samples into the
/// histograms (the exporter's own default when it runs upkeep itself).
const METRICS_UPKEEP: Duration = Duration::from_secs(5);

/// Installs the global Prometheus recorder, with histograms as Prometheus
/// histograms (the exporter's default is a summary, which cannot be
/// aggregated across replicas).
fn install_recorder() -> Result<PrometheusHandle, Error> {
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(
            Matcher::Full("rasp_anomaly_score".into()),
            &[0.0, 2.0, 3.0, 4.0, 5.0, 7.0, 10.0, 15.0, 20.0, 25.0, 50.0],
        )?
        .set_buckets_for_metric(
            Matcher::Full("rasp_engine_seconds".into()),
            &[
                0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1,
            ],
        )?
        .install_recorder()?)
}

/// A bound server: its address, the accept loop, the audit log and the
/// handle that swaps the rules.
struct Started {
    addr: SocketAddr,
    serve: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>,
    audit: Option<AuditLog>,
    reload: ReloadHandle,
}

/// Builds the protected stack from the flags and binds the listener.
async fn start(args: Arc<Args>, metrics: PrometheusHandle) -> Result<Started, Error> {
    let rules = load_rules(&args)?;
    let trusted = TrustedProxies::parse(args.trusted_proxy.iter().map(String::as_str))?;
    let mut waf = RaspLayer::new(rules).trusted_proxies(trusted);
    if args.expose_matched_rules {
        eprintln!(
            "--expose-matched-rules: responses list the rules that matched (test setups only)"
        );
        waf = waf.dangerous().expose_matched_rules(true);
    }
    let audit = match &args.audit_log {
        Some(path) => Some(AuditLog::file(path)?),
        None => None,
    };
    if let Some(a) = &audit {
        waf = waf.audit_log(a.clone());
    }
    let reload = waf.reload_handle();
    let app_args = Arc::clone(&args);
    let protected = ServiceBuilder::new()
        .layer(rate_limit(&args)?)
        .layer(waf)
        .service(tower::service_fn(
            move |req: Request<RaspRequestBody<Incoming>>| app(Arc::clone(&app_args), req),
        ));

    let listener = tokio::net::TcpListener::bind(args.listen).await?;
    let local = listener.local_addr()?;
    // hyper's own protective limits: a client has 10 s to send its
    // headers (slowloris); rasp's layer bounds the body.
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(Duration::from_secs(10));
    http.http2().timer(TokioTimer::new());
    // `install_recorder` leaves the exporter's upkeep to the caller: each
    // request's histogram samples wait in the recorder until upkeep or a
    // scrape drains them, so a server nobody scrapes grew without bound.
    let upkeep_handle = metrics.clone();
    let upkeep = async move {
        let mut every = tokio::time::interval(METRICS_UPKEEP);
        loop {
            every.tick().await;
            upkeep_handle.run_upkeep();
        }
    };
    let accept = async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            let protected = protected.clone();
            let metrics = metrics.clone();
            let http = http.clone();
            let bare_args = args.bare.then(|| Arc::clone(&args));
            tokio::spawn(async move {
                let svc = tower::service_fn(move |mut req: Request<Incoming>| {
                    // What rasp needs to know about the connection.
                    req.extensions_mut().insert(PeerAddr(peer));
                    req.extensions_mut().insert(LocalAddr(local));
                    let metrics = metrics.clone();
                    let mut protected = protected.clone();
                    let bare_args = bare_args.clone();
                    async move {
                        if let Some(args) = bare_args {
                            let Ok(res) = app(args, req).await;
                            return Ok(res.map(|b| b.map_err(Error::from).boxed_unsync()));
                        }
                        if req.uri().path() == "/metrics" && req.method() == Method::GET {
                            let res = metrics_response(&metrics);
                            return Ok::<_, Infallible>(
                                res.map(|b| b.map_err(Error::from).boxed_unsync()),
                            );
                        }
                        let ready = match protected.ready().await {
                            Ok(s) => s,
                            Err(e) => match e {},
                        };
                        let res = match ready.call(req).await {
                            Ok(r) => r,
                            Err(e) => match e {},
                        };
                        let res: Response<BoxBody> =
                            res.map(|b| b.map_err(Error::from).boxed_unsync());
                        Ok(res)
                    }
                });
                let _ = http
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
                    .await;
            });
        }
    };
    let serve = async move {
        tokio::select! {
            () = accept => {}
            () = upkeep => {}
        }
    };
    Ok(Started {
        addr: local,
        serve: Box::pin(serve),
        audit,
        reload,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let args = Arc::new(Args::parse());
    let handle = install_recorder()?;
    let started = start(Arc::clone(&args), handle).await?;
    println!(
        "rasp protected_server listening on http://{} (rules: {}, {})",
        started.addr,
        args.crs
            .as_ref()
            .map_or("built-in".to_string(), |d| format!(
                "CRS at {}",
                d.display()
            )),
        if args.detection_only {
            "DetectionOnly"
        } else {
            "blocking"
        },
    );
    // SIGHUP recompiles the rules from the same flags and swaps them in;
    // requests in flight finish with the rules they started with.
    let reload = started.reload.clone();
    let reload_args = Arc::clone(&args);
    tokio::spawn(async move {
        let Ok(mut hup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        else {
            return;
        };
        while hup.recv().await.is_some() {
            match load_rules(&reload_args) {
                Ok(rules) => {
                    reload.reload(&rules);
                    eprintln!("rules reloaded (generation {})", reload.generation());
                }
                Err(e) => eprintln!("rules not reloaded, keeping the current ones: {e}"),
            }
        }
    });
    tokio::select! {
        () = started.serve => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    if let Some(a) = started.audit {
        a.flush();
        eprintln!("audit: {} written, {} dropped", a.written(), a.dropped());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body_of(res: Response<Full<Bytes>>) -> (StatusCode, Option<String>, String) {
        let status = res.status();
        let ct = res
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("").to_string());
        let body = res
            .into_body()
            .collect()
            .await
            .map(|b| b.to_bytes())
            .unwrap_or_default();
        (status, ct, String::from_utf8_lossy(&body).into_owned())
    }

    #[tokio::test]
    async fn reflect_follows_albedo() {
        let (s, ct, b) =
            body_of(reflect(br#"{"BODY":"<html><p>x</p></html>","Status":201}"#)).await;
        assert_eq!(
            (s.as_u16(), ct.as_deref(), b.as_str()),
            (
                201,
                Some("text/html; charset=utf-8"),
                "<html><p>x</p></html>"
            )
        );
        let (s, ct, b) = body_of(reflect(br#"{"body":"plain words"}"#)).await;
        assert_eq!(
            (s.as_u16(), ct.as_deref(), b.as_str()),
            (200, Some("text/plain; charset=utf-8"), "plain words")
        );
        let (s, _, b) = body_of(reflect(br#"{"status":700}"#)).await;
        assert_eq!((s.as_u16(), b.as_str()), (400, "Invalid status code: 700"));
        let (s, _, b) = body_of(reflect(b"not json")).await;
        assert_eq!(
            (s.as_u16(), b.as_str()),
            (400, "Invalid JSON in request body")
        );
        let (s, ct, b) = body_of(reflect(
            br#"{"encodedBody":"PD94bWwgdmVyc2lvbj0iMS4wIj8+"}"#,
        ))
        .await;
        assert_eq!(
            (s.as_u16(), ct.as_deref(), b.as_str()),
            (
                200,
                Some("text/xml; charset=utf-8"),
                "<?xml version=\"1.0\"?>"
            )
        );
        let (_, _, b) = body_of(reflect(br#"{"encodedBody":"%%%"}"#)).await;
        assert_eq!(b, "invalid base64 encoding of response body");
        let (s, ct, b) = body_of(reflect(br#"{"fileuploaderror":1}"#)).await;
        assert_eq!((s.as_u16(), ct, b.as_str()), (200, None, ""));
        let res = reflect(br#"{"headers":{"X-Test":"1","bad name":"x"},"body":"a"}"#);
        assert_eq!(res.headers()["x-test"], "1");
    }

    #[test]
    fn sniffs_like_go() {
        assert_eq!(
            sniff(b"  <!DOCTYPE HTML><html>"),
            "text/html; charset=utf-8"
        );
        assert_eq!(sniff(b"<p>hi"), "text/html; charset=utf-8");
        assert_eq!(sniff(b"<pre>x"), "text/plain; charset=utf-8");
        assert_eq!(sniff(b"<p >hi"), "text/html; charset=utf-8");
        assert_eq!(sniff(b"<br>"), "text/html; charset=utf-8");
        assert_eq!(sniff(b"hello"), "text/plain; charset=utf-8");
    }

    /// Raw HTTP/1.1 with `Connection: close`; returns the whole answer.
    async fn http(addr: SocketAddr, request: &str) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
        s.write_all(request.as_bytes()).await.unwrap();
        let mut out = Vec::new();
        tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out))
            .await
            .expect("server hung")
            .unwrap();
        String::from_utf8_lossy(&out).into_owned()
    }

    fn get(path: &str) -> String {
        format!(
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nUser-Agent: test\r\nAccept: */*\r\nConnection: close\r\n\r\n"
        )
    }

    /// The flags wire the stack: built-in rules block, --rps limits, the
    /// audit log and /metrics see the traffic, /reflect answers as albedo.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn server_blocks_limits_audits_and_exports() {
        let dir = std::env::temp_dir().join(format!("rasp-example-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let audit_path = dir.join("audit.jsonl");
        let args = Args::try_parse_from([
            "protected_server",
            "--listen",
            "127.0.0.1:0",
            "--rpm",
            "600",
            "--burst",
            "5",
            "--audit-log",
            audit_path.to_str().unwrap(),
        ])
        .unwrap();
        let handle = install_recorder().unwrap();
        let started = start(Arc::new(args), handle).await.unwrap();
        let addr = started.addr;
        let audit = started.audit.clone().unwrap();
        let task = tokio::spawn(started.serve);

        let blocked = http(addr, &get("/?comment=%3Cscript%3Ealert(1)%3C%2Fscript%3E")).await;
        assert!(blocked.starts_with("HTTP/1.1 403"), "{blocked}");
        assert!(blocked.contains("x-rasp-transaction-id:"), "{blocked}");
        let passed = http(addr, &get("/?q=hello")).await;
        assert!(
            passed.starts_with("HTTP/1.1 200") && passed.ends_with("ok\n"),
            "{passed}"
        );
        let body = r#"{"body":"reflected"}"#;
        let reflect = format!(
            "POST /reflect HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        );
        let reflected = http(addr, &reflect).await;
        assert!(
            reflected.starts_with("HTTP/1.1 200") && reflected.ends_with("reflected"),
            "{reflected}"
        );
        // Burst 5: three used, two left, then 429.
        let mut statuses = Vec::new();
        for _ in 0..3 {
            statuses.push(
                http(addr, &get("/"))
                    .await
                    .get(9..12)
                    .unwrap_or("")
                    .to_string(),
            );
        }
        assert_eq!(statuses, ["200", "200", "429"]);
        let metrics = http(addr, &get("/metrics")).await;
        assert!(
            metrics.contains(r#"rasp_requests_total{outcome="blocked"} 1"#),
            "{metrics}"
        );
        assert!(
            metrics.contains(r#"rasp_requests_total{outcome="rate_limited"} 1"#),
            "{metrics}"
        );
        assert!(metrics.contains("rasp_engine_seconds_bucket"), "{metrics}");
        tokio::task::spawn_blocking(move || audit.flush())
            .await
            .unwrap();
        let log = std::fs::read_to_string(&audit_path).unwrap();
        assert_eq!(log.lines().count(), 1, "{log}");
        assert!(
            log.contains("\"outcome\":\"blocked\"") && log.contains("9100100"),
            "{log}"
        );
        task.abort();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
