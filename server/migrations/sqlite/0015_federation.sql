-- Federation, phase 1 (server/src/federation, docs/federation.md).
--
-- Where each event received from a peer hub comes from: the peer's hub
-- name (`origin`), the event's seq in the peer's log (`origin_seq`) and
-- when the peer stored it (`origin_at`, milliseconds). Events created on
-- this hub have no row here: their origin is this hub and their origin
-- seq is their own `seq`. A table beside `events` rather than columns on
-- it: the row is written in the same transaction as its event, with no
-- UPDATE of `events` (which the hub's least-privilege role may not do),
-- and the local write path is unchanged. The unique key is what makes
-- "stored once" hold whatever the link does.
CREATE TABLE event_origins (
    seq         BIGINT PRIMARY KEY REFERENCES events(seq),
    origin      TEXT NOT NULL,
    origin_seq  BIGINT NOT NULL,
    origin_at   BIGINT NOT NULL,
    UNIQUE (origin, origin_seq)
);

-- Peers added with `mpaka peer add` (peers in the configuration file are
-- not copied here). `vkey` is the peer's pinned key (its log verifier key,
-- `name+keyid+base64`); `corridors` a JSON array of corridor slugs the
-- peer is party to.
CREATE TABLE federation_peers (
    name       TEXT PRIMARY KEY,
    url        TEXT NOT NULL,
    vkey       TEXT NOT NULL,
    corridors  TEXT NOT NULL,
    added_at   BIGINT NOT NULL
);

-- The state of the pull from each peer: the origin seq through which every
-- shared event of the peer was stored or refused (the resume point, moved
-- in the same transaction as the events), the peer's shared head as it last
-- said with how many shared events it still had to send after that frame,
-- when it last answered, when this hub last held everything it had, and
-- how many items were refused.
CREATE TABLE federation_links (
    peer              TEXT PRIMARY KEY,
    received_through  BIGINT NOT NULL DEFAULT 0,
    peer_head         BIGINT NOT NULL DEFAULT 0,
    pending           BIGINT NOT NULL DEFAULT 0,
    last_contact_at   BIGINT,
    caught_up_at      BIGINT,
    refused           BIGINT NOT NULL DEFAULT 0,
    last_error        TEXT
);
