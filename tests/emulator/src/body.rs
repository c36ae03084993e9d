//! The response body sent on the wire: plain bytes, or a synthetic object generated in chunks
//! so that a multi-gigabyte exported image can be downloaded without being held in memory.

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};

use crate::http;

const CHUNK: u64 = 64 * 1024;

pub enum WireBody {
    Full(Option<Bytes>),
    Synthetic { seed: u64, position: u64, end: u64 },
}

impl From<http::Body> for WireBody {
    fn from(body: http::Body) -> Self {
        match body {
            http::Body::Bytes(bytes) => WireBody::Full(Some(Bytes::from(bytes))),
            http::Body::Synthetic { seed, offset, len } => WireBody::Synthetic {
                seed,
                position: offset,
                end: offset + len,
            },
        }
    }
}

/// The byte at `position` of synthetic object `seed`: cheap, deterministic, not constant.
pub fn synthetic_byte(seed: u64, position: u64) -> u8 {
    let x = (position ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    (x >> 56) as u8
}

impl Body for WireBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            WireBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            WireBody::Synthetic {
                seed,
                position,
                end,
            } => {
                if position >= end {
                    return Poll::Ready(None);
                }
                let stop = (*position + CHUNK).min(*end);
                let chunk: Vec<u8> = (*position..stop)
                    .map(|p| synthetic_byte(*seed, p))
                    .collect();
                *position = stop;
                Poll::Ready(Some(Ok(Frame::data(Bytes::from(chunk)))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            WireBody::Full(bytes) => bytes.as_ref().is_none_or(Bytes::is_empty),
            WireBody::Synthetic { position, end, .. } => position >= end,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            WireBody::Full(bytes) => {
                SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64))
            }
            WireBody::Synthetic { position, end, .. } => SizeHint::with_exact(end - position),
        }
    }
}
