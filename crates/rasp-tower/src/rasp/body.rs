//! Bodies: [`RaspRequestBody`] hands the inner service exactly the bytes
//! the client sent (the inspected prefix, then the rest of the stream,
//! trailers included); [`RaspBody`] does the same for responses and also
//! carries the short text of a block.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body::{Body, Frame, SizeHint};

/// A body stream whose data chunks are turned into [`Bytes`].
pub(crate) type Rest<B> = Pin<Box<B>>;

/// Maps a frame's data to `Bytes` (copies only when `D` is not already
/// contiguous bytes; `Bytes` itself is moved).
pub(crate) fn to_bytes_frame<D: Buf>(frame: Frame<D>) -> Frame<Bytes> {
    frame.map_data(|mut d| d.copy_to_bytes(d.remaining()))
}

fn prefix_len(prefix: &VecDeque<Frame<Bytes>>) -> u64 {
    prefix
        .iter()
        .filter_map(|f| f.data_ref())
        .map(|d| d.len() as u64)
        .sum()
}

fn poll_prefix_then_rest<B>(
    prefix: &mut VecDeque<Frame<Bytes>>,
    rest: &mut Option<Rest<B>>,
    cx: &mut Context<'_>,
) -> Poll<Option<Result<Frame<Bytes>, B::Error>>>
where
    B: Body,
    B::Data: Buf,
{
    if let Some(frame) = prefix.pop_front() {
        return Poll::Ready(Some(Ok(frame)));
    }
    let Some(body) = rest.as_mut() else {
        return Poll::Ready(None);
    };
    match body.as_mut().poll_frame(cx) {
        Poll::Ready(Some(Ok(frame))) => Poll::Ready(Some(Ok(to_bytes_frame(frame)))),
        Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e))),
        Poll::Ready(None) => {
            *rest = None;
            Poll::Ready(None)
        }
        Poll::Pending => Poll::Pending,
    }
}

fn hint<B: Body>(prefix: &VecDeque<Frame<Bytes>>, rest: &Option<Rest<B>>) -> SizeHint {
    let known = prefix_len(prefix);
    match rest {
        None => SizeHint::with_exact(known),
        Some(body) => {
            let h = body.size_hint();
            let mut out = SizeHint::new();
            out.set_lower(h.lower().saturating_add(known));
            if let Some(u) = h.upper() {
                out.set_upper(u.saturating_add(known));
            }
            out
        }
    }
}

/// The request body the inner service receives: the bytes the layer
/// buffered for inspection, then the rest of the client's stream. It is the
/// same replaying body as [`RaspBody`]. See the module docs.
pub type RaspRequestBody<B> = RaspBody<B>;

/// The response body of [`Rasp`](super::Rasp): the inner service's body
/// (the inspected prefix, then the rest), or the text of a block.
pub struct RaspBody<B> {
    prefix: VecDeque<Frame<Bytes>>,
    rest: Option<Rest<B>>,
}

impl<B> std::fmt::Debug for RaspBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaspBody")
            .field("buffered_frames", &self.prefix.len())
            .field("streaming", &self.rest.is_some())
            .finish()
    }
}

impl<B> RaspBody<B> {
    pub(crate) fn new(prefix: VecDeque<Frame<Bytes>>, rest: Option<Rest<B>>) -> RaspBody<B> {
        RaspBody { prefix, rest }
    }

    /// A body made of one chunk (answers decided by the layer).
    pub(crate) fn text(text: impl Into<Bytes>) -> RaspBody<B> {
        let text = text.into();
        let mut prefix = VecDeque::new();
        if !text.is_empty() {
            prefix.push_back(Frame::data(text));
        }
        RaspBody { prefix, rest: None }
    }
}

impl<B> Body for RaspBody<B>
where
    B: Body,
    B::Data: Buf,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        let this = self.get_mut();
        poll_prefix_then_rest(&mut this.prefix, &mut this.rest, cx)
    }

    fn is_end_stream(&self) -> bool {
        self.prefix.is_empty() && self.rest.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        hint(&self.prefix, &self.rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{BodyExt, StreamBody};

    #[tokio::test]
    async fn prefix_then_rest_with_trailers() {
        let mut trailers = http::HeaderMap::new();
        trailers.insert("x-sum", "1".parse().unwrap());
        let frames: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = vec![
            Ok(Frame::data(Bytes::from_static(b"cd"))),
            Ok(Frame::trailers(trailers)),
        ];
        let rest = StreamBody::new(futures_util::stream::iter(frames));
        let mut prefix = VecDeque::new();
        prefix.push_back(Frame::data(Bytes::from_static(b"ab")));
        let body = RaspRequestBody::new(prefix, Some(Box::pin(rest)));
        let collected = body.collect().await.unwrap();
        assert_eq!(collected.trailers().unwrap()["x-sum"], "1");
        assert_eq!(&collected.to_bytes()[..], b"abcd");
    }

    #[test]
    fn exact_hint_when_fully_buffered() {
        let b = RaspBody::<http_body_util::Empty<Bytes>>::text("hello");
        assert_eq!(b.size_hint().exact(), Some(5));
        assert!(!b.is_end_stream());
    }
}
