//! A typed client of the hub's socket (`GET /ws`, docs/protocol.md): the
//! `auth` handshake, [`ClientFrame`]s out, [`ServerFrame`]s in, and requests
//! answered by `id` while events keep arriving.
//!
//! Frames read while waiting for something else (events while waiting for
//! a reply, say) are kept in an inbox, in arrival order, and handed out
//! first by [`Socket::recv`].

use crate::Error;
use futures_util::{SinkExt, StreamExt};
use mpaka_protocol::wire::{Decoder, Encoding};
use mpaka_protocol::{ClientFrame, ServerFrame, Welcome, PROTOCOL_VERSION};
use std::collections::VecDeque;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;

/// The underlying WebSocket stream.
pub type WebSocket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An open socket to a hub, authenticated or not.
#[derive(Debug)]
pub struct Socket {
    ws: WebSocket,
    inbox: VecDeque<ServerFrame>,
    /// Turns compact events and batched messages into frames.
    decoder: Decoder,
    /// Frames of a batched message not yet read.
    unread: VecDeque<ServerFrame>,
}

impl Socket {
    /// Opens the socket at `ws_url` (`ws://host:port/ws`; see
    /// [`HubClient::ws_url`](crate::HubClient::ws_url)) without
    /// authenticating.
    ///
    /// # Errors
    /// [`Error::Socket`] when the connection or the upgrade fails.
    pub async fn connect(ws_url: &str) -> Result<Socket, Error> {
        let (ws, _) = tokio_tungstenite::connect_async(ws_url).await?;
        Ok(Socket::from_stream(ws))
    }

    /// Like [`Socket::connect`] with the TLS set-up of `connector`
    /// (see [`crate::Trust`]).
    ///
    /// # Errors
    /// The connection or the WebSocket handshake failed.
    #[cfg(feature = "tls")]
    pub async fn connect_with_connector(
        ws_url: &str,
        connector: tokio_tungstenite::Connector,
    ) -> Result<Socket, Error> {
        let (ws, _) =
            tokio_tungstenite::connect_async_tls_with_config(ws_url, None, true, Some(connector))
                .await?;
        Ok(Socket::from_stream(ws))
    }

    /// Like [`Socket::connect`] with WebSocket settings (buffer sizes, for
    /// a client holding thousands of sockets).
    ///
    /// # Errors
    /// [`Error::Socket`] when the connection or the upgrade fails.
    pub async fn connect_with_config(
        ws_url: &str,
        config: WebSocketConfig,
    ) -> Result<Socket, Error> {
        let (ws, _) =
            tokio_tungstenite::connect_async_with_config(ws_url, Some(config), true).await?;
        Ok(Socket::from_stream(ws))
    }

    /// Wraps an open WebSocket stream.
    pub fn from_stream(ws: WebSocket) -> Socket {
        Socket {
            ws,
            inbox: VecDeque::new(),
            decoder: Decoder::default(),
            unread: VecDeque::new(),
        }
    }

    /// Sends the `auth` frame with `access_token` and waits for `welcome`.
    ///
    /// # Errors
    /// [`Error::Rejected`] when the hub refuses the token (it then closes
    /// with 4001), [`Error::Closed`] or [`Error::Socket`] when the
    /// connection ends, [`Error::Unexpected`] for any other frame.
    pub async fn auth(&mut self, access_token: &str) -> Result<Welcome, Error> {
        self.auth_with(access_token, Encoding::Json, false).await
    }

    /// Like [`Socket::auth`], asking for an event `encoding` and, with
    /// `batch`, several frames per message. Frames are read the same way
    /// whatever was asked: compact events come out as
    /// [`ServerFrame::Event`], after the [`ServerFrame::Refs`] they need.
    ///
    /// # Errors
    /// As for [`Socket::auth`].
    pub async fn auth_with(
        &mut self,
        access_token: &str,
        encoding: Encoding,
        batch: bool,
    ) -> Result<Welcome, Error> {
        self.send(&ClientFrame::Auth {
            id: "auth".into(),
            v: PROTOCOL_VERSION,
            token: access_token.to_owned(),
            encoding: (encoding != Encoding::Json).then(|| encoding.as_str().to_owned()),
            batch,
        })
        .await?;
        match self.recv().await? {
            ServerFrame::Welcome(welcome) => Ok(welcome),
            ServerFrame::Error { error, .. } => Err(Error::Rejected(error)),
            other => Err(Error::Unexpected(Box::new(other))),
        }
    }

    /// Sends one frame.
    ///
    /// # Errors
    /// [`Error::Socket`] when the connection is broken.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), Error> {
        let text = serde_json::to_string(frame).expect("client frames always encode");
        self.send_message(Message::text(text)).await
    }

    /// Sends a raw WebSocket message (for testing how the hub treats
    /// frames a well-behaved client would not send).
    ///
    /// # Errors
    /// [`Error::Socket`] when the connection is broken.
    pub async fn send_message(&mut self, message: Message) -> Result<(), Error> {
        Ok(self.ws.send(message).await?)
    }

    /// The next frame: the oldest in the inbox, else the next from the hub.
    ///
    /// # Errors
    /// See [`Socket::read`].
    pub async fn recv(&mut self) -> Result<ServerFrame, Error> {
        match self.inbox.pop_front() {
            Some(frame) => Ok(frame),
            None => self.read().await,
        }
    }

    /// The next frame from the hub, bypassing the inbox. Ping, pong and
    /// binary messages are skipped.
    ///
    /// # Errors
    /// [`Error::Closed`] when the hub closed the connection,
    /// [`Error::Socket`] when it broke, [`Error::Decode`] for a text frame
    /// that is not a [`ServerFrame`].
    pub async fn read(&mut self) -> Result<ServerFrame, Error> {
        loop {
            if let Some(frame) = self.unread.pop_front() {
                return Ok(frame);
            }
            match self.next_message().await {
                Some(Ok(Message::Text(text))) => {
                    let frames = self.decode(&text)?;
                    self.unread.extend(frames);
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Error::Closed {
                        code: frame.as_ref().map(|f| u16::from(f.code)),
                        reason: frame.map(|f| f.reason.to_string()).unwrap_or_default(),
                    })
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e),
                None => {
                    return Err(Error::Closed {
                        code: None,
                        reason: String::new(),
                    })
                }
            }
        }
    }

    /// The frames of one text message read with [`Socket::next_message`]
    /// (several when batched; compact events resolved).
    ///
    /// # Errors
    /// [`Error::Decode`] for text that is not frames of this connection.
    pub fn decode(&mut self, text: &str) -> Result<Vec<ServerFrame>, Error> {
        self.decoder.decode(text).map_err(|source| Error::Decode {
            text: text.to_owned(),
            source,
        })
    }

    /// The next raw WebSocket message, bypassing the inbox and any frames
    /// of a batched message not yet read; `None` once
    /// the connection has ended.
    pub async fn next_message(&mut self) -> Option<Result<Message, Error>> {
        self.ws.next().await.map(|m| m.map_err(Error::from))
    }

    /// Sends a request and waits for the frame that answers it (the one
    /// whose `id` is the request's); frames in between stay in the inbox.
    ///
    /// # Errors
    /// See [`Socket::send`] and [`Socket::read`]. An `error` reply is not
    /// an `Err`: it is the answer.
    pub async fn request(&mut self, frame: &ClientFrame) -> Result<ServerFrame, Error> {
        self.send(frame).await?;
        self.reply_to(frame.id()).await
    }

    /// Waits for the frame answering request `id`, looking in the inbox
    /// first; other frames are kept in the inbox. Cancelling the wait (a
    /// timeout around it) loses no frame.
    ///
    /// # Errors
    /// See [`Socket::read`].
    pub async fn reply_to(&mut self, id: &str) -> Result<ServerFrame, Error> {
        if let Some(at) = self.inbox.iter().position(|f| f.reply_id() == Some(id)) {
            return Ok(self.inbox.remove(at).expect("position is in range"));
        }
        loop {
            let frame = self.read().await?;
            if frame.reply_id() == Some(id) {
                return Ok(frame);
            }
            self.inbox.push_back(frame);
        }
    }

    /// Frames received and not yet handed out.
    pub fn inbox(&self) -> &VecDeque<ServerFrame> {
        &self.inbox
    }

    /// The inbox, to take frames out of it or put frames back.
    pub fn inbox_mut(&mut self) -> &mut VecDeque<ServerFrame> {
        &mut self.inbox
    }

    /// The WebSocket stream, for callers that read frames their own way
    /// (the benchmark splits it into halves). Frames in the inbox are
    /// dropped.
    pub fn into_inner(self) -> WebSocket {
        self.ws
    }

    /// Closes the connection (close code 1000), ignoring a connection that
    /// is already gone.
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}
