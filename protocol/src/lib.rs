//! Wire types of the mpaka hub, shared by the server, the end-to-end tests and
//! any Rust client.
//!
//! Every WebSocket message is one JSON text frame whose `"type"` field names
//! its kind ([`ClientFrame`] from client to server, [`ServerFrame`] from
//! server to client). Requests carry a client-chosen `id` that the reply
//! repeats. For write requests that `id` is also the idempotency key: the same
//! user sending the same `id` twice gets the first result back and nothing is
//! stored twice. `docs/protocol.md` is the reference for client authors; the
//! JSON Schema in `docs/protocol.schema.json` is generated from these types.
//!
//! This crate holds serde types only: no I/O, no async runtime, no database.

mod alert;
mod channel;
mod error;
mod event;
mod flow;
mod frames;
mod openapi;
mod principal;
mod rest;
mod route;
mod sop;
pub mod wire;

pub use alert::*;
pub use channel::{ChannelId, ParseChannelError};
pub use error::{CloseCode, ErrorBody, ErrorCode, FieldCode, FieldError};
pub use event::{Author, Event, EventData, MessageBody};
pub use flow::*;
pub use frames::{
    ChannelGrant, ClientFrame, Limits, PostStatus, PresenceUser, ServerFrame, Welcome,
};
pub use openapi::{documented_operations, openapi};
pub use principal::{Country, Role, UserInfo};
pub use rest::{
    AccountPasswordChange, LoginRequest, PasswordChange, PasswordReset, RefreshRequest,
    SecondFactorChallenge, SecondFactorConfirm, SecondFactorEnabled, SecondFactorEnrolment,
    SecondFactorLogin, SecondFactorStatus, TokenResponse,
};
pub use route::{
    payload_problem, AlertRequest, ConnectionRequest, FlowRequest, MessagingRequest, Routed,
    SopRequest,
};
pub use sop::*;

/// The protocol version this crate speaks. A client states it in its `auth`
/// frame; the server refuses versions it does not know with
/// [`ErrorCode::UnsupportedVersion`].
pub const PROTOCOL_VERSION: u32 = 1;

/// Generates the JSON Schema of every frame in both directions, as published
/// in `docs/protocol.schema.json`.
pub fn json_schema() -> serde_json::Value {
    let mut generator = schemars::generate::SchemaSettings::draft07().into_generator();
    let client = generator.subschema_for::<ClientFrame>();
    let server = generator.subschema_for::<ServerFrame>();
    let definitions = generator.take_definitions(true);
    serde_json::json!({
        "$schema": "http://json-schema.org/draft-07/schema#",
        "$id": "https://mpaka.example/protocol/v1/schema.json",
        "title": "mpaka WebSocket protocol v1",
        "description": "A frame is either a ClientFrame (client to server) or a ServerFrame (server to client).",
        "oneOf": [
            { "$ref": "#/definitions/ClientFrame" },
            { "$ref": "#/definitions/ServerFrame" }
        ],
        "definitions": with_roots(definitions, client, server),
    })
}

fn with_roots(
    mut definitions: serde_json::Map<String, serde_json::Value>,
    client: schemars::Schema,
    server: schemars::Schema,
) -> serde_json::Map<String, serde_json::Value> {
    // `subschema_for` returns a `$ref` for named types, so the definitions
    // already hold both roots; keep them only if a generator inlined them.
    definitions
        .entry("ClientFrame")
        .or_insert_with(|| client.to_value());
    definitions
        .entry("ServerFrame")
        .or_insert_with(|| server.to_value());
    definitions
}
