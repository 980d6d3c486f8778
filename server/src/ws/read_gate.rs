//! Polls a connection's incoming stream only after the socket woke it.
//!
//! A session's `select!` polls every branch whenever its task wakes, and it
//! wakes once per batch of outbound events. Polling the WebSocket stream then
//! is not free: tungstenite zero-fills its read buffer before trying the read
//! (8 KiB per poll), and tokio takes the socket's waiter lock to register
//! interest again. Under fan-out that was about a tenth of the hub's CPU.
//! [`ReadGate`] gives the stream its own waker, remembers whether that waker
//! fired, and skips the poll while it has not.

use futures_util::task::AtomicWaker;
use futures_util::{Stream, StreamExt};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// Whether the stream may have something, and whom to wake when it may.
struct Flag {
    ready: AtomicBool,
    task: AtomicWaker,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.ready.store(true, Ordering::Release);
        self.task.wake();
    }
}

/// Wraps a stream so that it is polled only when its own waker fired (or
/// it last returned an item, since more may be buffered).
pub(super) struct ReadGate {
    flag: Arc<Flag>,
    waker: Waker,
}

impl ReadGate {
    pub(super) fn new() -> ReadGate {
        let flag = Arc::new(Flag {
            // Poll once at the start: bytes may already be buffered.
            ready: AtomicBool::new(true),
            task: AtomicWaker::new(),
        });
        ReadGate {
            waker: Waker::from(flag.clone()),
            flag,
        }
    }

    /// The next item of `stream`, polling it only when it may have one.
    pub(super) async fn next<S: Stream + Unpin>(&mut self, stream: &mut S) -> Option<S::Item> {
        std::future::poll_fn(|cx| self.poll_next(stream, cx)).await
    }

    fn poll_next<S: Stream + Unpin>(
        &mut self,
        stream: &mut S,
        cx: &mut Context<'_>,
    ) -> Poll<Option<S::Item>> {
        // Register first, so a wake between the check and the poll is kept.
        self.flag.task.register(cx.waker());
        if !self.flag.ready.swap(false, Ordering::AcqRel) {
            return Poll::Pending;
        }
        let mut inner = Context::from_waker(&self.waker);
        match stream.poll_next_unpin(&mut inner) {
            Poll::Ready(item) => {
                // More frames may already be buffered: poll again next time.
                self.flag.ready.store(true, Ordering::Release);
                Poll::Ready(item)
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures_util::stream;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn items_pass_through_and_the_end_is_seen() {
        let mut gate = ReadGate::new();
        let mut items = stream::iter([1, 2, 3]);
        assert_eq!(gate.next(&mut items).await, Some(1));
        assert_eq!(gate.next(&mut items).await, Some(2));
        assert_eq!(gate.next(&mut items).await, Some(3));
        assert_eq!(gate.next(&mut items).await, None);
    }

    #[tokio::test]
    async fn an_item_sent_while_waiting_wakes_the_reader() {
        let (tx, rx) = mpsc::channel::<u32>(4);
        let mut items = Box::pin(stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        }));
        let reader = tokio::spawn(async move {
            let mut gate = ReadGate::new();
            let mut seen = Vec::new();
            while let Some(item) = gate.next(&mut items).await {
                seen.push(item);
            }
            seen
        });
        for i in 0..3 {
            tokio::task::yield_now().await;
            tx.send(i).await.unwrap();
        }
        drop(tx);
        assert_eq!(reader.await.unwrap(), vec![0, 1, 2]);
    }
}
