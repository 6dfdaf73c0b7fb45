//! The response future of [`KeyedRateLimit`](super::KeyedRateLimit).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use http::{header, HeaderValue, Response, StatusCode};
use pin_project_lite::pin_project;

use super::body::{InFlight, RateLimitBody};

pin_project! {
    /// Response future of the rate limiter: the inner service's future, or
    /// an immediate rejection. See the module docs.
    pub struct ResponseFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner {
            #[pin]
            future: F,
            guard: Option<InFlight>,
        },
        Limited {
            status: StatusCode,
            retry_after: Duration,
        },
    }
}

impl<F> std::fmt::Debug for ResponseFuture<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponseFuture").finish_non_exhaustive()
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn inner(future: F, guard: Option<InFlight>) -> ResponseFuture<F> {
        ResponseFuture {
            kind: Kind::Inner { future, guard },
        }
    }

    pub(crate) fn limited(status: StatusCode, retry_after: Duration) -> ResponseFuture<F> {
        ResponseFuture {
            kind: Kind::Limited {
                status,
                retry_after,
            },
        }
    }
}

/// `Retry-After` in whole seconds, rounded up, at least 1 (0 would invite
/// an immediate retry that is refused again).
pub(crate) fn retry_after_secs(d: Duration) -> u64 {
    let secs = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    secs.max(1)
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
{
    type Output = Result<Response<RateLimitBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future, guard } => {
                let res = ready!(future.poll(cx))?;
                let guard = guard.take();
                Poll::Ready(Ok(res.map(|b| RateLimitBody::inner(b, guard))))
            }
            KindProj::Limited {
                status,
                retry_after,
            } => {
                let text = if *status == StatusCode::TOO_MANY_REQUESTS {
                    "too many requests\n"
                } else {
                    "service temporarily unavailable\n"
                };
                let mut res = Response::new(RateLimitBody::limited(text));
                *res.status_mut() = *status;
                let h = res.headers_mut();
                h.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                h.insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_secs(*retry_after)),
                );
                Poll::Ready(Ok(res))
            }
        }
    }
}
