//! The response body of [`KeyedRateLimit`](super::KeyedRateLimit): the
//! inner body (holding the client's in-flight slot until it ends) or the
//! short text of a rejection.

use std::any::Any;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

/// Keeps an in-flight slot until dropped (type-erased guard).
pub(crate) type InFlight = Box<dyn Any + Send + Sync>;

pin_project! {
    /// Response body of the rate limiter. See the module docs.
    #[derive(Debug)]
    pub struct RateLimitBody<B> {
        #[pin]
        kind: Kind<B>,
    }
}

pin_project! {
    #[project = KindProj]
    #[derive(Debug)]
    enum Kind<B> {
        Inner {
            #[pin]
            body: B,
            // The in-flight slot is released when the body ends, not when
            // the headers are sent: a slow download still counts.
            guard: GuardSlot,
        },
        Limited {
            text: Option<Bytes>,
        },
    }
}

/// Wrapper so the type-erased guard can sit in a `pin_project` enum.
pub(crate) struct GuardSlot(pub(crate) Option<InFlight>);

impl std::fmt::Debug for GuardSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "GuardSlot(held)"
        } else {
            "GuardSlot(none)"
        })
    }
}

impl<B> RateLimitBody<B> {
    pub(crate) fn inner(body: B, guard: Option<InFlight>) -> RateLimitBody<B> {
        RateLimitBody {
            kind: Kind::Inner {
                body,
                guard: GuardSlot(guard),
            },
        }
    }

    pub(crate) fn limited(text: &'static str) -> RateLimitBody<B> {
        RateLimitBody {
            kind: Kind::Limited {
                text: Some(Bytes::from_static(text.as_bytes())),
            },
        }
    }
}

impl<B: Body<Data = Bytes>> Body for RateLimitBody<B> {
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project().kind.project() {
            KindProj::Inner { body, guard } => {
                let polled = body.poll_frame(cx);
                if let Poll::Ready(None) | Poll::Ready(Some(Err(_))) = polled {
                    guard.0 = None;
                }
                polled
            }
            KindProj::Limited { text } => Poll::Ready(text.take().map(|t| Ok(Frame::data(t)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.kind {
            Kind::Inner { body, .. } => body.is_end_stream(),
            Kind::Limited { text } => text.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.kind {
            Kind::Inner { body, .. } => body.size_hint(),
            Kind::Limited { text } => {
                SizeHint::with_exact(text.as_ref().map_or(0, |t| t.len() as u64))
            }
        }
    }
}
