//! A real server on 127.0.0.1 and a real client, for the HTTP tests.
#![allow(dead_code)]

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response};
use http_body::Body;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rasp_tower::{LocalAddr, PeerAddr};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tower::{Service, ServiceExt};

/// Every test must end by itself: this bounds each one.
pub const TEST_TIMEOUT: Duration = Duration::from_secs(60);

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
pub type ClientBody = BoxBody<Bytes, Infallible>;

/// A server task; aborted on drop.
pub struct Server {
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves `svc` (HTTP/1.1 and HTTP/2 cleartext) on an ephemeral port of
/// 127.0.0.1, inserting `PeerAddr`/`LocalAddr` into each request as a
/// hyper server must.
pub async fn serve<S, B>(svc: S) -> Server
where
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let task = tokio::spawn(async move {
        loop {
            let Ok((stream, peer)) = listener.accept().await else {
                continue;
            };
            let svc = svc.clone();
            tokio::spawn(async move {
                let svc = tower::service_fn(move |mut req: Request<Incoming>| {
                    req.extensions_mut().insert(PeerAddr(peer));
                    req.extensions_mut().insert(LocalAddr(addr));
                    svc.clone().oneshot(req)
                });
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
                    .await;
            });
        }
    });
    Server { addr, task }
}

pub fn client() -> Client<HttpConnector, ClientBody> {
    Client::builder(TokioExecutor::new()).build_http()
}

pub fn h2_client() -> Client<HttpConnector, ClientBody> {
    Client::builder(TokioExecutor::new())
        .http2_only(true)
        .build_http()
}

pub fn full(b: impl Into<Bytes>) -> ClientBody {
    Full::new(b.into()).boxed()
}

pub fn empty() -> ClientBody {
    full(Bytes::new())
}

/// Sends and reads the whole answer.
pub async fn send(
    client: &Client<HttpConnector, ClientBody>,
    req: Request<ClientBody>,
) -> (http::StatusCode, HeaderMap, Bytes) {
    let res = client.request(req).await.expect("request failed");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.expect("body").to_bytes();
    (status, headers, body)
}

/// One request as the inner service saw it: target, body, trailers.
pub type SeenRequest = (String, Bytes, Option<HeaderMap>);

/// What the inner service saw.
#[derive(Clone, Default)]
pub struct Seen {
    pub requests: Arc<Mutex<Vec<SeenRequest>>>,
}

impl Seen {
    pub fn count(&self) -> usize {
        self.requests.lock().unwrap().len()
    }

    pub fn last(&self) -> Option<SeenRequest> {
        self.requests.lock().unwrap().last().cloned()
    }
}

/// An inner service that records each request (target, body, trailers)
/// and answers 200 with the body it received.
pub fn echo<B>(
    seen: Seen,
) -> impl Service<
    Request<B>,
    Response = Response<Full<Bytes>>,
    Error = Infallible,
    Future = impl Future + Send,
> + Clone
where
    B: Body + Send + 'static,
    B::Data: Send,
    B::Error: std::fmt::Debug,
{
    tower::service_fn(move |req: Request<B>| {
        let seen = seen.clone();
        async move {
            let target = req.uri().to_string();
            let collected = req.into_body().collect().await;
            let (body, trailers) = match collected {
                Ok(c) => {
                    let trailers = c.trailers().cloned();
                    (c.to_bytes(), trailers)
                }
                Err(e) => (Bytes::from(format!("body error: {e:?}")), None),
            };
            seen.requests
                .lock()
                .unwrap()
                .push((target, body.clone(), trailers));
            Ok::<_, Infallible>(Response::new(Full::new(body)))
        }
    })
}

/// Reads the CRS location like the rest of the workspace: `RASP_CRS_DIR`,
/// else `../shared/crs` from the workspace root. Missing CRS fails loudly.
pub fn crs_dir() -> std::path::PathBuf {
    let dir = std::env::var_os("RASP_CRS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/crs")
        });
    assert!(
        dir.join("rules").is_dir(),
        "CRS not found at {} (set RASP_CRS_DIR)",
        dir.display()
    );
    dir
}
