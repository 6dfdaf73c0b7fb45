//! [`ResponseFuture`] of [`Rasp`](super::Rasp).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Response;

use super::body::RaspBody;

/// The boxed inspection of one exchange.
pub(crate) type Inspecting<B, E> =
    Pin<Box<dyn Future<Output = Result<Response<RaspBody<B>>, E>> + Send>>;

/// Response future of [`Rasp`](super::Rasp): an answer decided before the
/// inner service was called (phase 1), or the inspection of the body, the
/// inner call and the response.
///
/// Why the second arm is boxed (tower-http avoids boxes): it awaits the
/// request body, the inner future and the response body with the
/// transaction alive across all three; written by hand that is a
/// five-state machine over three generic bodies. The box is one
/// allocation per request that reaches phase 2; requests blocked in phase
/// 1 take the unboxed arm.
pub struct ResponseFuture<B, E> {
    kind: Kind<B, E>,
}

enum Kind<B, E> {
    Ready(Option<Response<RaspBody<B>>>),
    Inspecting(Inspecting<B, E>),
}

impl<B, E> std::fmt::Debug for ResponseFuture<B, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.kind {
            Kind::Ready(_) => "ready",
            Kind::Inspecting(_) => "inspecting",
        };
        f.debug_struct("ResponseFuture")
            .field("state", &state)
            .finish()
    }
}

impl<B, E> ResponseFuture<B, E> {
    pub(crate) fn ready(response: Response<RaspBody<B>>) -> ResponseFuture<B, E> {
        ResponseFuture {
            kind: Kind::Ready(Some(response)),
        }
    }

    pub(crate) fn inspecting(fut: Inspecting<B, E>) -> ResponseFuture<B, E> {
        ResponseFuture {
            kind: Kind::Inspecting(fut),
        }
    }
}

impl<B, E> Future for ResponseFuture<B, E> {
    type Output = Result<Response<RaspBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Both arms are Unpin (an Option and a Pin<Box<_>>).
        match &mut self.get_mut().kind {
            Kind::Ready(res) => match res.take() {
                Some(res) => Poll::Ready(Ok(res)),
                // Polled after completion: a contract violation by the
                // caller; stay pending rather than panic.
                None => Poll::Pending,
            },
            Kind::Inspecting(fut) => fut.as_mut().poll(cx),
        }
    }
}
