//! Holds a socket to small frames until it has authenticated.
//!
//! tungstenite's frame limit is fixed when the socket is built, and an
//! authenticated session needs `ws.max_frame_bytes` (64 KiB) for SOP
//! drafts; an anonymous one needs only its `auth` frame (well under 2 KiB).
//! [`AuthGate`] sits between the upgraded connection and tungstenite and,
//! until [`Opener::open`] is called, reads the length of every incoming
//! frame from its header (RFC 6455 §5.2): a frame, or a fragmented
//! message, longer than the pre-authentication limit fails the read with
//! [`TooLargeBeforeAuth`] as soon as its header arrives, so the hub never
//! buffers more than one read (8 KiB) of it. After `open` bytes pass
//! through untouched.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// The read error of a socket whose frame before authentication was too
/// large; the session answers `frame_too_large` and closes with 1009.
#[derive(Debug)]
pub(super) struct TooLargeBeforeAuth;

impl std::fmt::Display for TooLargeBeforeAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("frame too large before authentication")
    }
}

impl std::error::Error for TooLargeBeforeAuth {}

/// Whether `error` (a socket read error) is the gate refusing a frame.
pub(super) fn is_too_large(error: &tokio_tungstenite::tungstenite::Error) -> bool {
    matches!(
        error,
        tokio_tungstenite::tungstenite::Error::Io(io)
            if io.get_ref().is_some_and(|inner| inner.is::<TooLargeBeforeAuth>())
    )
}

/// Lifts the gate once the socket has authenticated.
#[derive(Clone)]
pub(super) struct Opener(Arc<AtomicBool>);

impl Opener {
    pub(super) fn open(&self) {
        self.0.store(true, Ordering::Release);
    }
}

/// An upgraded connection whose frames are held to `limit` bytes until it
/// is opened.
pub(super) struct AuthGate<S> {
    inner: S,
    open: Arc<AtomicBool>,
    headers: FrameHeaders,
    tripped: bool,
}

impl<S> AuthGate<S> {
    pub(super) fn new(inner: S, limit: usize) -> (AuthGate<S>, Opener) {
        let open = Arc::new(AtomicBool::new(false));
        let gate = AuthGate {
            inner,
            open: open.clone(),
            headers: FrameHeaders::new(limit as u64),
            tripped: false,
        };
        (gate, Opener(open))
    }
}

fn refused() -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, TooLargeBeforeAuth)
}

impl<S: AsyncRead + Unpin> AsyncRead for AuthGate<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.open.load(Ordering::Acquire) {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        if this.tripped {
            return Poll::Ready(Err(refused()));
        }
        let before = buf.filled().len();
        ready!(Pin::new(&mut this.inner).poll_read(cx, buf))?;
        if this.headers.feed(&buf.filled()[before..]).is_err() {
            this.tripped = true;
            return Poll::Ready(Err(refused()));
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for AuthGate<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

/// Follows the frame boundaries of a client-to-server byte stream.
struct FrameHeaders {
    limit: u64,
    /// The header being read: at most 2 + 8 (length) + 4 (mask) bytes.
    header: [u8; 14],
    have: usize,
    /// Header bytes needed; 2 until the length byte says more.
    need: usize,
    /// Payload bytes of the current frame still to pass.
    skip: u64,
    /// Payload bytes of the data message so far (fragments add up).
    message: u64,
}

impl FrameHeaders {
    fn new(limit: u64) -> FrameHeaders {
        FrameHeaders {
            limit,
            header: [0; 14],
            have: 0,
            need: 2,
            skip: 0,
            message: 0,
        }
    }

    /// Follows `bytes`; `Err` as soon as a frame or message is over the limit.
    fn feed(&mut self, mut bytes: &[u8]) -> Result<(), ()> {
        while !bytes.is_empty() {
            if self.skip > 0 {
                let n = usize::try_from(self.skip)
                    .unwrap_or(usize::MAX)
                    .min(bytes.len());
                self.skip -= n as u64;
                bytes = &bytes[n..];
                continue;
            }
            let n = (self.need - self.have).min(bytes.len());
            self.header[self.have..self.have + n].copy_from_slice(&bytes[..n]);
            self.have += n;
            bytes = &bytes[n..];
            if self.have < self.need {
                continue;
            }
            let short = u64::from(self.header[1] & 0x7f);
            let extended = match short {
                126 => 2,
                127 => 8,
                _ => 0,
            };
            let mask = if self.header[1] & 0x80 != 0 { 4 } else { 0 };
            let full = 2 + extended + mask;
            if self.need < full {
                self.need = full;
                continue;
            }
            let length = match extended {
                2 => u64::from(u16::from_be_bytes([self.header[2], self.header[3]])),
                8 => {
                    let mut eight = [0; 8];
                    eight.copy_from_slice(&self.header[2..10]);
                    u64::from_be_bytes(eight)
                }
                _ => short,
            };
            let opcode = self.header[0] & 0x0f;
            let fin = self.header[0] & 0x80 != 0;
            if opcode < 8 {
                // Data or continuation: the message's fragments add up.
                self.message = self.message.saturating_add(length);
                if self.message > self.limit {
                    return Err(());
                }
                if fin {
                    self.message = 0;
                }
            } else if length > self.limit {
                return Err(());
            }
            self.skip = length;
            self.have = 0;
            self.need = 2;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::FrameHeaders;

    /// A masked client frame with `payload` bytes (contents irrelevant).
    fn frame(opcode: u8, fin: bool, payload: usize) -> Vec<u8> {
        let mut out = vec![opcode | if fin { 0x80 } else { 0 }];
        match payload {
            0..=125 => out.push(0x80 | payload as u8),
            126..=0xffff => {
                out.push(0x80 | 126);
                out.extend_from_slice(&(payload as u16).to_be_bytes());
            }
            _ => {
                out.push(0x80 | 127);
                out.extend_from_slice(&(payload as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(&[1, 2, 3, 4]);
        out.extend(std::iter::repeat_n(b'x', payload));
        out
    }

    #[test]
    fn frames_under_the_limit_pass_in_any_split() {
        let bytes: Vec<u8> =
            [frame(1, true, 100), frame(9, true, 4), frame(1, true, 4000)].concat();
        for chunk in [1, 3, 7, 4096, bytes.len()] {
            let mut headers = FrameHeaders::new(4096);
            for piece in bytes.chunks(chunk) {
                assert!(headers.feed(piece).is_ok(), "chunk {chunk}");
            }
        }
    }

    #[test]
    fn a_large_frame_is_refused_from_its_header_alone() {
        let mut headers = FrameHeaders::new(4096);
        let big = frame(1, true, 1 << 20);
        assert!(headers.feed(&big[..14]).is_err());
        let mut headers = FrameHeaders::new(4096);
        assert!(headers.feed(&frame(1, true, 5000)[..8]).is_err());
    }

    #[test]
    fn fragments_add_up_to_the_message() {
        let mut headers = FrameHeaders::new(4096);
        assert!(headers.feed(&frame(1, false, 3000)).is_ok());
        assert!(headers.feed(&frame(0, false, 3000)).is_err());
    }
}
