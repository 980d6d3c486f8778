//! Cross-node wake-ups on PostgreSQL: every commit that appends events sends
//! `NOTIFY mpaka_events, '<last seq>'`, and every node keeps one `LISTEN`
//! connection whose notifications tell its dispatcher how far the log has
//! grown. The notification only says "read the log up to here": the events
//! themselves are always read from the log, so a lost or late notification
//! only delays delivery (the dispatcher's polling is the safety net) and can
//! never reorder or drop anything.

use super::{Backend, Result, Store};
use sqlx::postgres::PgListener;
use sqlx::AnyConnection;
use std::time::Duration;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// The PostgreSQL notification channel for committed events.
pub const EVENTS_CHANNEL: &str = "mpaka_events";

/// Wait between attempts when the LISTEN connection cannot be (re)opened.
const RETRY: Duration = Duration::from_secs(1);

/// Queues the notification inside the write transaction: PostgreSQL delivers
/// it only if, and after, the transaction commits.
pub(super) async fn announce(conn: &mut AnyConnection, last_seq: u64) -> Result<()> {
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(EVENTS_CHANNEL)
        .bind(last_seq.to_string())
        .execute(conn)
        .await?;
    Ok(())
}

impl Store {
    /// On PostgreSQL, starts a task holding a `LISTEN` connection and returns
    /// a watch of the highest `seq` any process announced committing. After
    /// the connection drops and is re-established, the current head of the
    /// log is published, since notifications sent meanwhile are lost.
    /// `None` on SQLite, where only this process (and the occasional CLI
    /// command, found by polling) writes.
    pub fn watch_commits(
        &self,
        tracker: &TaskTracker,
        shutdown: CancellationToken,
    ) -> Option<watch::Receiver<u64>> {
        if self.backend() != Backend::Postgres {
            return None;
        }
        let (sender, receiver) = watch::channel(0);
        tracker.spawn(listen(self.clone(), sender, shutdown));
        Some(receiver)
    }
}

/// Raises the watched head to `seq` if that is higher.
fn raise(sender: &watch::Sender<u64>, seq: u64) {
    sender.send_if_modified(|head| {
        if seq > *head {
            *head = seq;
            true
        } else {
            false
        }
    });
}

async fn listen(store: Store, sender: watch::Sender<u64>, shutdown: CancellationToken) {
    let mut listener = loop {
        let attempt = async {
            let mut listener = PgListener::connect(&store.inner.url).await?;
            listener.listen(EVENTS_CHANNEL).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        tokio::select! {
            () = shutdown.cancelled() => return,
            result = attempt => match result {
                Ok(listener) => break listener,
                Err(error) => {
                    tracing::warn!(%error, "cannot LISTEN for commits; polling meanwhile");
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(RETRY) => {}
                    }
                }
            }
        }
    };
    store.listening(true);
    tracing::debug!("listening for commits of other nodes");
    // Since when the LISTEN connection has been down, to say for how long
    // once it is back. The listener reconnects inside `try_recv` and shows
    // nothing until the next notification, so that is when it is known to
    // be back (on a hub where nothing is written, it does not matter).
    let mut lost_since: Option<std::time::Instant> = None;
    loop {
        let received = tokio::select! {
            () = shutdown.cancelled() => break,
            received = listener.try_recv() => received,
        };
        if let Ok(Some(_)) = &received {
            if let Some(since) = lost_since.take() {
                store.listening(true);
                tracing::info!(
                    down_secs = since.elapsed().as_secs(),
                    "LISTEN connection re-established; commits of other nodes arrive at once again"
                );
            }
        }
        match received {
            Ok(Some(notification)) => match notification.payload().parse::<u64>() {
                Ok(seq) => raise(&sender, seq),
                Err(_) => tracing::warn!(
                    payload = notification.payload(),
                    "ignoring a malformed commit notification"
                ),
            },
            Ok(None) => {
                // The connection dropped; the next try_recv reconnects and
                // LISTENs again. Whatever was announced meanwhile is lost,
                // so catch up from the log itself. Whether the database
                // still answers on the other connections tells the likely
                // cause.
                store.listen_lost();
                lost_since.get_or_insert_with(std::time::Instant::now);
                match store.head_seq().await {
                    Ok(head) => {
                        raise(&sender, head);
                        tracing::warn!(
                            cause = "closed by the database server or a proxy; the database still answers",
                            "LISTEN connection lost; reconnecting, polling meanwhile"
                        );
                    }
                    Err(error) => tracing::warn!(
                        cause = %format!("the database does not answer: {error}"),
                        "LISTEN connection lost; reconnecting, polling meanwhile"
                    ),
                }
            }
            Err(error) => {
                tracing::warn!(cause = %error, "LISTEN connection failed; retrying");
                lost_since.get_or_insert_with(std::time::Instant::now);
                store.listening(false);
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(RETRY) => {}
                }
                if let Ok(head) = store.head_seq().await {
                    raise(&sender, head);
                }
            }
        }
    }
    store.listening(false);
    tracing::debug!("stopped listening for commits");
}
