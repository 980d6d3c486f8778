-- Federation, phase 1 (server/src/federation, docs/federation.md).
--
-- Each event received from a peer hub keeps where it came from: `origin`
-- (the peer's hub name) and `origin_seq` (its seq in the peer's log). Both
-- are NULL for events created on this hub: their origin is this hub and
-- their origin seq is their own `seq`, so nothing is rewritten when a hub
-- is renamed and local inserts stay as they were. The unique index is what
-- makes "stored once" hold whatever the link does (NULLs never collide).
ALTER TABLE events ADD COLUMN origin TEXT;
ALTER TABLE events ADD COLUMN origin_seq BIGINT;
-- When the origin stored it (milliseconds); `at` is when this hub did.
ALTER TABLE events ADD COLUMN origin_at BIGINT;
CREATE UNIQUE INDEX events_by_origin ON events (origin, origin_seq);

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
