//! [`Rasp`]: the service.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Context, Poll};

use arc_swap::ArcSwap;
use bytes::Buf;
use crs_compiler::ir::action::EngineMode;
use http::{Request, Response};
use http_body::Body;
use tower_service::Service;

use super::body::{RaspBody, RaspRequestBody};
use super::future::ResponseFuture;
use super::inspect::{Inspection, Step};
use super::layer::RaspConfig;
use super::reload::Loaded;
use crate::macros::define_inner_service_accessors;

/// Inspects each exchange with the rules of its [`RaspLayer`](super::RaspLayer).
/// See the [module docs](super).
#[derive(Clone, Debug)]
pub struct Rasp<S> {
    inner: S,
    config: Arc<RaspConfig>,
    current: Arc<ArcSwap<Loaded>>,
}

impl<S> Rasp<S> {
    pub(crate) fn new(inner: S, config: Arc<RaspConfig>, current: Arc<ArcSwap<Loaded>>) -> Rasp<S> {
        Rasp {
            inner,
            config,
            current,
        }
    }

    define_inner_service_accessors!();
}

impl<S, ReqB, ResB> Service<Request<ReqB>> for Rasp<S>
where
    S: Service<Request<RaspRequestBody<ReqB>>, Response = Response<ResB>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    ReqB: Body + Send + 'static,
    ReqB::Data: Buf + Send,
    ReqB::Error: Send,
    ResB: Body + Send + 'static,
    ResB::Data: Buf + Send,
    ResB::Error: Send,
{
    type Response = Response<RaspBody<ResB>>;
    type Error = S::Error;
    type Future = ResponseFuture<ResB, S::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        // Each request keeps the rules it started with (hot reload).
        let loaded = self.current.load_full();
        let clone = self.inner.clone();
        if loaded.engine.rules().settings.rule_engine == EngineMode::Off {
            // `SecRuleEngine Off`: no rule runs (so no `ctl` can turn it
            // back on); nothing is buffered or recorded.
            let mut inner = std::mem::replace(&mut self.inner, clone);
            return ResponseFuture::inspecting(Box::pin(async move {
                let req = req.map(|b| RaspRequestBody::new(VecDeque::new(), Some(Box::pin(b))));
                let res = inner.call(req).await?;
                Ok(res.map(|b| RaspBody::new(VecDeque::new(), Some(Box::pin(b)))))
            }));
        }
        let mut inspection = Inspection::start(loaded, Arc::clone(&self.config), &req);
        if let Step::Block(block) = inspection.request_headers() {
            return ResponseFuture::ready(inspection.block_response(block));
        }
        // The ready service goes into the future; `self` keeps a fresh
        // clone that must be polled ready again (tower's contract).
        let inner = std::mem::replace(&mut self.inner, clone);
        ResponseFuture::inspecting(Box::pin(inspection.run(req, inner)))
    }
}
