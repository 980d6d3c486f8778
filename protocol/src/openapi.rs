//! The OpenAPI 3.1 description of the REST API under `/api/v1`, built from
//! one table of operations and the same Rust types the server answers with,
//! so the document cannot drift from the wire types. Published at
//! `GET /api/v1/openapi.json` and in `docs/openapi.json`.

use crate::*;
use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Map, Value};

type BodySchema = fn(&mut SchemaGenerator) -> Schema;

/// One REST operation.
struct Operation {
    method: &'static str,
    /// Path below `/api/v1`, with `{name}` parameters.
    path: &'static str,
    summary: &'static str,
    /// Who may call it; `None` for public routes.
    who: Option<&'static str>,
    request: Option<BodySchema>,
    /// Whether the request body may be left out.
    body_optional: bool,
    /// Success status and body (`None`: no body or not JSON).
    status: u16,
    response: Option<BodySchema>,
    /// Whether the `Idempotency-Key` header applies.
    idempotent: bool,
}

fn of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn list_of<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<Vec<T>>()
}

fn object(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object" })
}

fn text(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "required": ["text"], "properties": {
        "text": { "type": "string", "maxLength": 8000 }, "lang": { "type": "string" },
        "written_at": { "type": "string", "description": "When it was written, if offline (RFC 3339; at most 120 s ahead of the hub's clock)" } } })
}

fn published(_: &mut SchemaGenerator) -> Schema {
    json_schema!({ "type": "object", "required": ["seq", "at", "duplicate"], "properties": {
        "seq": { "type": "integer" }, "at": { "type": "string" }, "duplicate": { "type": "boolean" } } })
}

const fn op(method: &'static str, path: &'static str, summary: &'static str) -> Operation {
    Operation {
        method,
        path,
        summary,
        who: Some("any authenticated user"),
        request: None,
        body_optional: false,
        status: 200,
        response: None,
        idempotent: false,
    }
}

fn operations() -> Vec<Operation> {
    let admin = Some("admin");
    let auditor = Some("auditor");
    let coordinators = Some("coordinators of the SOP's owning country");
    vec![
        Operation { who: None, request: Some(of::<LoginRequest>), response: Some(of::<TokenResponse>), ..op("post", "/auth/login", "Log in with username and password") },
        Operation { who: Some("holder of a refresh token"), request: Some(of::<RefreshRequest>), response: Some(of::<TokenResponse>), ..op("post", "/auth/refresh", "Exchange a refresh token for a new pair (the old one is spent)") },
        Operation { who: Some("holder of a refresh token"), request: Some(of::<RefreshRequest>), status: 204, ..op("post", "/auth/logout", "Revoke a refresh token") },
        Operation { who: None, request: Some(of::<AccountPasswordChange>), status: 204, ..op("post", "/auth/password", "Change a password with the current one, without a token (after password_change_required); every session of the account ends") },
        Operation { who: Some("holder of a login challenge"), request: Some(of::<SecondFactorLogin>), response: Some(of::<TokenResponse>), ..op("post", "/auth/second-factor", "Second step of a login that answered second_factor_required: the challenge and a TOTP or recovery code") },
        Operation { who: Some("holder of a login challenge"), request: Some(of::<SecondFactorChallenge>), response: Some(of::<SecondFactorEnrolment>), ..op("post", "/auth/second-factor/enrol", "Start the enrolment a login answered with second_factor_enrolment_required: a new TOTP secret, its otpauth URI and QR code") },
        Operation { who: Some("holder of a login challenge"), request: Some(of::<SecondFactorConfirm>), response: Some(of::<SecondFactorEnabled>), ..op("post", "/auth/second-factor/confirm", "Confirm the enrolment with a code: recovery codes (shown once) and the login's tokens") },
        Operation { response: Some(of::<UserInfo>), ..op("get", "/me", "The caller") },
        Operation { response: Some(of::<SecondFactorStatus>), ..op("get", "/me/second-factor", "Whether the caller has a second factor, must have one, and how many recovery codes are left") },
        Operation { response: Some(of::<SecondFactorEnrolment>), ..op("post", "/me/second-factor", "Start enrolling a TOTP second factor (invalid_state when one is enabled)") },
        Operation { request: Some(of::<SecondFactorConfirm>), response: Some(of::<SecondFactorEnabled>), ..op("post", "/me/second-factor/confirm", "Confirm the enrolment with a code: the recovery codes, shown once") },
        Operation { request: Some(of::<PasswordChange>), status: 204, ..op("post", "/me/password", "Change the caller's password (weak_password when too easy to guess); the caller's other sessions end") },
        Operation { response: Some(list_of::<ChannelGrant>), ..op("get", "/channels", "Channels the caller may read, with whether it may write") },
        Operation { who: Some("readers of the channel"), response: Some(list_of::<Event>), ..op("get", "/channels/{channel}/messages", "A channel's events, newest first (query: before, limit)") },
        Operation { who: Some("writers of the channel"), request: Some(text), status: 201, response: Some(published), idempotent: true, ..op("post", "/channels/{channel}/messages", "Publish a message (Idempotency-Key required; 200 when a duplicate)") },
        Operation { response: Some(list_of::<PostStatus>), ..op("get", "/presence", "Who is online at the posts the caller may see") },
        Operation { who: admin, response: Some(object), ..op("get", "/users", "List accounts") },
        Operation { who: admin, request: Some(object), status: 201, response: Some(of::<UserInfo>), ..op("post", "/users", "Create an account {username, role, country?, post?, org?, display_name?, language?, password}") },
        Operation { who: admin, status: 204, ..op("post", "/users/{username}/disable", "Disable an account: its sessions close, its tokens stop working") },
        Operation { who: admin, status: 204, ..op("post", "/users/{username}/enable", "Re-enable an account") },
        Operation { who: admin, request: Some(object), status: 204, ..op("post", "/users/{username}/role", "Change role {role, country?, post?}") },
        Operation { who: admin, status: 204, ..op("delete", "/users/{username}/second-factor", "Remove an account's second factor and recovery codes; its sessions end") },
        Operation { who: admin, request: Some(of::<PasswordReset>), status: 204, ..op("post", "/users/{username}/password", "Reset a password: the account's sessions end and its next login answers password_change_required") },
        Operation { who: Some("admins and coordinators"), response: Some(object), ..op("get", "/posts", "List posts") },
        Operation { who: admin, request: Some(object), status: 201, response: Some(object), ..op("post", "/posts", "Create a post {slug, name, country, region?, corridor?, corridor_name?}") },
        Operation { who: auditor, response: Some(object), ..op("get", "/audit", "Audit entries, oldest first (query: after, action, limit)") },
        Operation { who: auditor, response: Some(object), ..op("get", "/audit/verify", "Recompute the audit hash chain and verify the log: {entries, intact, first_broken_id, log}") },
        Operation { ..op("get", "/log/checkpoint", "The newest signed checkpoint of the verifiable log (text/plain, C2SP signed note)") },
        Operation { response: Some(object), ..op("get", "/log/checkpoints", "Every signed checkpoint, oldest first (query: after, limit)") },
        Operation { ..op("get", "/log/key", "The log's verifier key, name+keyid+base64 (text/plain)") },
        Operation { who: Some("readers of the event; auditors for audit entries and leaves"), response: Some(object), ..op("get", "/log/proof/inclusion", "Inclusion proof with leaf bytes and checkpoint (query: event | audit | leaf, size)") },
        Operation { response: Some(object), ..op("get", "/log/proof/consistency", "Consistency proof between two checkpoints (query: from, to)") },
        Operation { who: auditor, response: Some(object), ..op("get", "/log/verify", "Recompute the whole log and check it against every checkpoint; names the first difference") },
        Operation { who: Some("a log this hub witnesses, by its checkpoint signature"), ..op("post", "/log/witness/add-checkpoint", "Offer a checkpoint to cosign (C2SP tlog-witness body: old size, proof, note; text/plain)") },
        Operation { who: Some("readers of the corridor"), response: Some(of::<AlertPage>), ..op("get", "/alerts", "Alerts (query: state, post, corridor, kind, severity, status, from, to, limit, after)") },
        Operation { who: Some("officers of the post, coordinators of its country"), request: Some(of::<AlertDraft>), status: 201, response: Some(of::<AlertReceipt>), idempotent: true, ..op("post", "/alerts", "Raise an alert (Idempotency-Key required)") },
        Operation { who: Some("readers of the corridors"), response: Some(list_of::<AlertSummary>), ..op("get", "/alerts/summary", "Summary per corridor (real alerts only)") },
        Operation { who: Some("readers of the corridors"), ..op("get", "/alerts/cap/feed", "Atom feed of open alerts (application/atom+xml)") },
        Operation { who: Some("readers of the corridor"), response: Some(of::<AlertDetail>), ..op("get", "/alerts/{id}", "One alert with its history") },
        Operation { who: Some("readers of the corridor"), ..op("get", "/alerts/{id}/cap", "The alert as an OASIS CAP 1.2 document (application/cap+xml)") },
        Operation { who: Some("the counterpart side: officers of the facing post, coordinators of the other country"), request: Some(of::<AlertAckRequest>), body_optional: true, response: Some(of::<AlertReceipt>), idempotent: true, ..op("post", "/alerts/{id}/ack", "Acknowledge an alert (the body is optional: `written_at` for an acknowledgement given offline)") },
        Operation { who: Some("the raising side"), request: Some(of::<AlertPatch>), response: Some(of::<AlertReceipt>), idempotent: true, ..op("post", "/alerts/{id}/update", "Update headcount, severity, needs or text") },
        Operation { who: Some("the raising side"), request: Some(object), response: Some(of::<AlertReceipt>), idempotent: true, ..op("post", "/alerts/{id}/resolve", "Resolve {reason}") },
        Operation { who: Some("the raising side"), request: Some(object), response: Some(of::<AlertReceipt>), idempotent: true, ..op("post", "/alerts/{id}/cancel", "Cancel {reason}") },
        Operation { who: Some("coordinators, for posts of their country"), status: 201, response: Some(object), ..op("post", "/cap", "Import a CAP 1.2 alert (body: application/cap+xml; query: post)") },
        Operation { who: Some("readers (drafts: coordinators of the owner)"), response: Some(list_of::<Sop>), ..op("get", "/sops", "SOPs the caller may see") },
        Operation { who: coordinators, request: Some(of::<SopDraftInput>), status: 201, response: Some(of::<SopDraftSaved>), idempotent: true, ..op("post", "/sops", "Create an SOP with its first draft") },
        Operation { who: Some("readers (drafts: coordinators of the owner)"), response: Some(of::<SopHistory>), ..op("get", "/sops/{slug}", "An SOP and its versions") },
        Operation { who: coordinators, request: Some(of::<SopDraftInput>), response: Some(of::<SopDraftSaved>), idempotent: true, ..op("put", "/sops/{slug}/draft", "Create or edit the draft") },
        Operation { who: coordinators, request: Some(of::<SopPublishRequest>), status: 201, response: Some(of::<SopReceipt>), idempotent: true, ..op("post", "/sops/{slug}/publish", "Publish the draft: it becomes the version in force") },
        Operation { who: coordinators, request: Some(of::<SopRetireRequest>), status: 201, response: Some(of::<SopReceipt>), idempotent: true, ..op("post", "/sops/{slug}/retire", "Withdraw the SOP") },
        Operation { who: Some("readers"), ..op("get", "/sops/{slug}/diff", "Line diff between two versions (query: from, to, lang, format=unified)") },
        Operation { who: Some("readers"), response: Some(of::<SopReading>), ..op("get", "/sops/{slug}/versions/{version}", "Read a version (or `current`) in a language (query: lang, format=html)") },
        Operation { who: Some("members of the audience"), status: 201, response: Some(of::<SopAckReceipt>), idempotent: true, ..op("post", "/sops/{slug}/versions/{version}/ack", "Acknowledge \"read and understood\" for that exact version") },
        Operation { who: coordinators, response: Some(of::<SopCoverage>), ..op("get", "/sops/{slug}/versions/{version}/coverage", "Who in the audience has and has not acknowledged") },
        Operation { who: coordinators, request: Some(of::<SopRemindRequest>), status: 201, response: Some(of::<SopRemindReceipt>), idempotent: true, ..op("post", "/sops/{slug}/versions/{version}/remind", "Remind the readers who have not acknowledged") },
        Operation { response: Some(of::<FlowVocabulary>), ..op("get", "/flows/vocabulary", "Directions, nationalities, means of transport, reasons and vulnerable groups of flow reports") },
        Operation { who: Some("readers of the figures (docs/flows.md, \"Who may do what\")"), response: Some(list_of::<FlowReport>), ..op("get", "/flows/reports", "Reports whose period starts in a range, oldest first (query: scope, from, to)") },
        Operation { who: Some("officers of a post (for it), coordinators (for posts of their country)"), request: Some(of::<FlowDraft>), status: 201, response: Some(of::<FlowReceipt>), idempotent: true, ..op("post", "/flows/reports", "Record a flow report (Idempotency-Key required; 200 when a duplicate)") },
        Operation { who: Some("readers of the figures"), response: Some(of::<FlowReportHistory>), ..op("get", "/flows/reports/{id}", "One report with every version") },
        Operation { who: Some("the recording side"), request: Some(of::<FlowCorrection>), response: Some(of::<FlowReceipt>), idempotent: true, ..op("post", "/flows/reports/{id}/correct", "Correct a report: new lines and a reason; the old version is kept") },
        Operation { who: Some("readers of the figures"), response: Some(of::<FlowSeries>), ..op("get", "/flows/series", "Time series with totals and change (query: scope, from, to, bucket=hour|day|week, utc_offset_minutes)") },
        Operation { who: Some("readers of the figures"), response: Some(of::<FlowSummary>), ..op("get", "/flows/summary", "One month in the shape of a DTM flow monitoring dashboard (query: month=YYYY-MM, scope)") },
        Operation { who: Some("the post's officers and its country's coordinators"), response: Some(list_of::<FlowSurge>), ..op("get", "/flows/surges", "Surges the detector suggested (query: state)") },
        Operation { who: Some("the post's officers and its country's coordinators"), response: Some(of::<FlowSurgeReceipt>), idempotent: true, ..op("post", "/flows/surges/{id}/confirm", "Confirm a suggested surge into a real alert") },
        Operation { who: Some("the post's officers and its country's coordinators"), request: Some(object), response: Some(of::<FlowSurgeReceipt>), idempotent: true, ..op("post", "/flows/surges/{id}/dismiss", "Dismiss a suggested surge {reason}") },
        Operation { who: Some("coordinators, for posts and corridors of their country"), request: Some(object), status: 204, ..op("put", "/flows/sensitivity", "Set the detector's threshold for a post or corridor {scope, threshold}") },
        Operation { who: Some("readers of the figures"), ..op("get", "/flows/export.csv", "Reports as CSV with an HXL hashtag row (text/csv; query: scope, from, to)") },
        Operation { who: Some("readers of the figures"), ..op("get", "/flows/export.xlsx", "Reports as an XLSX workbook, with a Summary sheet for `month` (query: scope, from, to, month)") },
    ]
}

/// The OpenAPI 3.1 document.
pub fn openapi() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12()
        .with(|s| s.definitions_path = "/components/schemas".into())
        .into_generator();
    let error = generator.subschema_for::<ErrorBody>();
    let mut paths = Map::new();
    for operation in operations() {
        let full = format!("/api/v1{}", operation.path);
        let mut parameters: Vec<Value> = operation
            .path
            .split('/')
            .filter_map(|part| part.strip_prefix('{')?.strip_suffix('}'))
            .map(|name| json!({ "name": name, "in": "path", "required": true, "schema": { "type": "string" } }))
            .collect();
        if operation.idempotent {
            parameters.push(json!({
                "name": "Idempotency-Key", "in": "header", "required": false,
                "description": "1–128 characters; a retry with the same key is answered from the first attempt and stored once",
                "schema": { "type": "string", "minLength": 1, "maxLength": 128 }
            }));
        }
        let mut success = json!({ "description": "success" });
        if let Some(body) = operation.response {
            success["content"] = json!({ "application/json": { "schema": body(&mut generator) } });
        }
        let mut entry = json!({
            "summary": operation.summary,
            "description": format!("Who: {}.", operation.who.unwrap_or("anyone")),
            "parameters": parameters,
            "responses": {
                operation.status.to_string(): success,
                "default": {
                    "description": "an error with a stable code (see docs/protocol.md §6)",
                    "content": { "application/json": { "schema": error.clone() } }
                }
            }
        });
        if let Some(body) = operation.request {
            entry["requestBody"] = json!({ "required": !operation.body_optional, "content": { "application/json": { "schema": body(&mut generator) } } });
        }
        if operation.who.is_some() {
            entry["security"] = json!([{ "bearer": [] }]);
        }
        paths
            .entry(full)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path items are objects")
            .insert(operation.method.to_owned(), entry);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "mpaka REST API",
            "version": "1",
            "description": "The REST side of the mpaka hub. The WebSocket protocol is described in docs/protocol.md and docs/protocol.schema.json."
        },
        "paths": paths,
        "components": {
            "schemas": generator.take_definitions(true),
            "securitySchemes": { "bearer": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" } }
        }
    })
}

/// Every documented operation as `(METHOD, /api/v1/… path)`, for tests that
/// check the server serves each one.
pub fn documented_operations() -> Vec<(&'static str, String)> {
    operations()
        .into_iter()
        .map(|o| (o.method, format!("/api/v1{}", o.path)))
        .collect()
}
