//! [`KeyedRateLimit`]: the service.

use std::net::IpAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::body::RateLimitBody;
use super::future::ResponseFuture;
use super::key::{KeyExtractor, KeyInput, PeerIp};
use super::layer::Config;
use super::state::{Decision, SharedState};
use crate::macros::define_inner_service_accessors;
use crate::telemetry;

/// Rejects requests of clients over their limits. See the
/// [module docs](super).
#[derive(Clone, Debug)]
pub struct KeyedRateLimit<S, X: KeyExtractor = PeerIp> {
    inner: S,
    config: Arc<Config>,
    key: X,
    state: Arc<SharedState<X::Key>>,
}

impl<S, X: KeyExtractor> KeyedRateLimit<S, X> {
    pub(crate) fn new(
        inner: S,
        config: Arc<Config>,
        key: X,
        state: Arc<SharedState<X::Key>>,
    ) -> Self {
        KeyedRateLimit {
            inner,
            config,
            key,
            state,
        }
    }

    define_inner_service_accessors!();

    fn allowed(&self, ip: Option<IpAddr>) -> bool {
        ip.is_some_and(|ip| self.config.allow.iter().any(|n| n.contains(&ip)))
    }
}

impl<S, X, ReqB, ResB> Service<Request<ReqB>> for KeyedRateLimit<S, X>
where
    S: Service<Request<ReqB>, Response = Response<ResB>>,
    X: KeyExtractor,
{
    type Response = Response<RateLimitBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let client_ip = self
            .config
            .trusted
            .resolve(req.extensions(), req.headers())
            .map(|c| c.ip);
        if self.allowed(client_ip) {
            return ResponseFuture::inner(self.inner.call(req), None);
        }
        let input = KeyInput {
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            extensions: req.extensions(),
            client_ip,
        };
        let Some(key) = self.key.extract(&input) else {
            return ResponseFuture::inner(self.inner.call(req), None);
        };
        match self.state.check(&key) {
            Decision::Allowed(guard) => {
                let guard = guard.map(|g| Box::new(g) as super::body::InFlight);
                ResponseFuture::inner(self.inner.call(req), guard)
            }
            Decision::Limited { retry_after } => {
                telemetry::request(telemetry::outcome::RATE_LIMITED);
                tracing::debug!(key = ?key, ?retry_after, "rate limited");
                ResponseFuture::limited(self.config.status, retry_after)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::net::SocketAddr;
    use std::time::Duration;

    use bytes::Bytes;
    use http::StatusCode;
    use http_body_util::{BodyExt, Empty, Full};
    use tower::{service_fn, Layer, ServiceBuilder, ServiceExt};

    use super::*;
    use crate::client::PeerAddr;
    use crate::rate_limit::RateLimitLayer;

    fn req(peer: &str) -> Request<Empty<Bytes>> {
        let mut r = Request::new(Empty::new());
        r.extensions_mut()
            .insert(PeerAddr(peer.parse::<SocketAddr>().unwrap()));
        r
    }

    /// The status `svc` answers `r` with.
    async fn status<S, B>(svc: &S, r: Request<Empty<Bytes>>) -> StatusCode
    where
        S: Service<Request<Empty<Bytes>>, Response = Response<B>> + Clone,
        S::Error: std::fmt::Debug,
    {
        svc.clone().oneshot(r).await.unwrap().status()
    }

    async fn ok(_: Request<Empty<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
        Ok(Response::new(Full::new(Bytes::from_static(b"ok"))))
    }

    #[tokio::test(start_paused = true)]
    async fn rejects_after_burst_with_retry_after() {
        let svc = ServiceBuilder::new()
            .layer(RateLimitLayer::new().per_second(2).burst(3))
            .service_fn(ok);
        for _ in 0..3 {
            let r = svc.clone().oneshot(req("1.1.1.1:1")).await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
        }
        let r = svc.clone().oneshot(req("1.1.1.1:1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "1");
        let body = r.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"too many requests\n");
        // Another client has its own bucket.
        let r = svc.clone().oneshot(req("2.2.2.2:1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        // One token back after 1/rate.
        tokio::time::advance(Duration::from_millis(500)).await;
        let r = svc.clone().oneshot(req("1.1.1.1:1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let r = svc.clone().oneshot(req("1.1.1.1:1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test(start_paused = true)]
    async fn per_minute_retry_after_counts_seconds() {
        let svc = ServiceBuilder::new()
            .layer(RateLimitLayer::new().per_minute(6).burst(1))
            .service_fn(ok);
        assert_eq!(status(&svc, req("1.1.1.1:1")).await, StatusCode::OK);
        let r = svc.clone().oneshot(req("1.1.1.1:1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(r.headers()[http::header::RETRY_AFTER], "10");
    }

    /// hyper and axum clone the service per connection; the clones must
    /// share one limit (tower's own `RateLimit` does not: axum #2634).
    #[tokio::test(start_paused = true)]
    async fn clones_per_connection_share_the_limit() {
        let layer = RateLimitLayer::new().per_second(1).burst(2);
        let a = layer.layer(service_fn(ok));
        let b = layer.layer(service_fn(ok));
        assert_eq!(
            a.clone().oneshot(req("1.1.1.1:1")).await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(
            b.clone().oneshot(req("1.1.1.1:2")).await.unwrap().status(),
            StatusCode::OK
        );
        assert_eq!(
            a.clone().oneshot(req("1.1.1.1:3")).await.unwrap().status(),
            StatusCode::TOO_MANY_REQUESTS
        );
        assert_eq!(layer.tracked_keys(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn nginx_mode_bursts_five_times_and_answers_503() {
        let svc = ServiceBuilder::new()
            .layer(RateLimitLayer::new().per_second(2).nginx_compatible())
            .service_fn(ok);
        for _ in 0..10 {
            assert_eq!(status(&svc, req("1.1.1.1:1")).await, StatusCode::OK);
        }
        let r = svc.clone().oneshot(req("1.1.1.1:1")).await.unwrap();
        assert_eq!(r.status(), StatusCode::SERVICE_UNAVAILABLE);
    }

    #[tokio::test(start_paused = true)]
    async fn allow_list_is_never_limited() {
        let svc = ServiceBuilder::new()
            .layer(
                RateLimitLayer::new()
                    .per_second(1)
                    .burst(1)
                    .max_concurrent(1)
                    .allow("10.0.0.0/8".parse().unwrap()),
            )
            .service_fn(ok);
        for _ in 0..50 {
            assert_eq!(status(&svc, req("10.9.9.9:1")).await, StatusCode::OK);
        }
        assert_eq!(status(&svc, req("11.0.0.1:1")).await, StatusCode::OK);
        assert_eq!(
            status(&svc, req("11.0.0.1:1")).await,
            StatusCode::TOO_MANY_REQUESTS
        );
    }

    #[tokio::test(start_paused = true)]
    async fn forwarded_for_only_from_trusted_proxies() {
        let layer = RateLimitLayer::new()
            .per_second(1)
            .burst(1)
            .trusted_proxies(crate::client::TrustedProxies::parse(["127.0.0.1"]).unwrap());
        let svc = ServiceBuilder::new().layer(layer).service_fn(ok);
        let via_proxy = |client: &str| {
            let mut r = req("127.0.0.1:9");
            r.headers_mut()
                .insert("x-forwarded-for", client.parse().unwrap());
            r
        };
        assert_eq!(status(&svc, via_proxy("5.5.5.5")).await, StatusCode::OK);
        // A different client behind the same proxy has its own bucket.
        assert_eq!(status(&svc, via_proxy("6.6.6.6")).await, StatusCode::OK);
        assert_eq!(
            status(&svc, via_proxy("5.5.5.5")).await,
            StatusCode::TOO_MANY_REQUESTS
        );
        // An untrusted peer cannot choose its bucket with the header.
        let mut r = req("8.8.8.8:1");
        r.headers_mut()
            .insert("x-forwarded-for", "7.7.7.7".parse().unwrap());
        assert_eq!(status(&svc, r).await, StatusCode::OK);
        let mut r = req("8.8.8.8:1");
        r.headers_mut()
            .insert("x-forwarded-for", "1.2.3.4".parse().unwrap());
        assert_eq!(status(&svc, r).await, StatusCode::TOO_MANY_REQUESTS);
    }

    #[tokio::test(start_paused = true)]
    async fn custom_key_function() {
        let by_token = |i: &KeyInput<'_>| i.headers.get("x-token").map(|v| v.as_bytes().to_vec());
        let svc = ServiceBuilder::new()
            .layer(RateLimitLayer::new().per_second(1).burst(1).key(by_token))
            .service_fn(ok);
        let with = |t: &str| {
            let mut r = req("1.1.1.1:1");
            r.headers_mut().insert("x-token", t.parse().unwrap());
            r
        };
        assert_eq!(status(&svc, with("a")).await, StatusCode::OK);
        assert_eq!(status(&svc, with("b")).await, StatusCode::OK);
        assert_eq!(status(&svc, with("a")).await, StatusCode::TOO_MANY_REQUESTS);
        // No token: no key, not limited.
        assert_eq!(status(&svc, req("1.1.1.1:1")).await, StatusCode::OK);
        assert_eq!(status(&svc, req("1.1.1.1:1")).await, StatusCode::OK);
    }

    /// The limited request never reaches the inner service.
    #[tokio::test(start_paused = true)]
    async fn limited_request_never_reaches_inner() {
        let (mock, mut handle) =
            tower_test::mock::pair::<Request<Empty<Bytes>>, Response<Full<Bytes>>>();
        let mut svc = RateLimitLayer::new().per_second(1).burst(1).layer(mock);
        handle.allow(10);
        let fut = svc.ready().await.unwrap().call(req("1.1.1.1:1"));
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(Response::new(Full::new(Bytes::new())));
        assert_eq!(fut.await.unwrap().status(), StatusCode::OK);
        let r = svc
            .ready()
            .await
            .unwrap()
            .call(req("1.1.1.1:1"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(futures_util::FutureExt::now_or_never(handle.next_request()).is_none());
    }

    /// The in-flight slot is held until the response body ends.
    #[tokio::test(start_paused = true)]
    async fn concurrency_cap_counts_until_body_ends() {
        let (mock, mut handle) =
            tower_test::mock::pair::<Request<Empty<Bytes>>, Response<Full<Bytes>>>();
        let mut svc = RateLimitLayer::new().max_concurrent(1).layer(mock);
        handle.allow(10);
        let first = svc.ready().await.unwrap().call(req("1.1.1.1:1"));
        let (_, send) = handle.next_request().await.unwrap();
        // Second request while the first is in flight: rejected.
        let r = svc
            .ready()
            .await
            .unwrap()
            .call(req("1.1.1.1:2"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        send.send_response(Response::new(Full::new(Bytes::from_static(b"x"))));
        let res = first.await.unwrap();
        // Headers are out but the body is not read yet: still in flight.
        let r = svc
            .ready()
            .await
            .unwrap()
            .call(req("1.1.1.1:3"))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
        let _ = res.into_body().collect().await.unwrap();
        let next = svc.ready().await.unwrap().call(req("1.1.1.1:4"));
        let (_, send) = handle.next_request().await.unwrap();
        send.send_response(Response::new(Full::new(Bytes::new())));
        assert_eq!(next.await.unwrap().status(), StatusCode::OK);
    }
}
