-- SOP library: procedures, every numbered version of them (drafts
-- included) and read acknowledgements per version. Texts, titles and
-- audiences are JSON in TEXT columns; times are Unix milliseconds (BIGINT),
-- as in the core schema, so SQLite and PostgreSQL share one representation.

CREATE TABLE sops (
    slug             TEXT PRIMARY KEY,
    owner            TEXT NOT NULL CHECK (owner IN ('BI', 'TZ', 'joint')),
    state            TEXT NOT NULL CHECK (state IN ('draft', 'published', 'retired')),
    -- The version in force (or, once retired, the last one that was).
    current_version  BIGINT,
    -- The pending draft, if any.
    latest_draft     BIGINT,
    created_by       TEXT NOT NULL,   -- JSON author snapshot
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    retired_reason   TEXT,
    retired_at       BIGINT
);

CREATE TABLE sop_versions (
    slug            TEXT NOT NULL REFERENCES sops(slug),
    version         BIGINT NOT NULL,
    state           TEXT NOT NULL
                    CHECK (state IN ('draft', 'published', 'superseded', 'retired')),
    titles          TEXT NOT NULL,    -- JSON {lang: title}
    bodies          TEXT NOT NULL,    -- JSON {lang: markdown}
    change_summary  TEXT NOT NULL,
    effective_date  TEXT NOT NULL,    -- YYYY-MM-DD
    audience        TEXT NOT NULL,    -- JSON SopAudience
    author_id       BIGINT,
    author          TEXT NOT NULL,    -- JSON author snapshot of the last editor
    updated_at      BIGINT NOT NULL,
    published_at    BIGINT,
    PRIMARY KEY (slug, version)
);

CREATE TABLE sop_acks (
    slug     TEXT NOT NULL,
    version  BIGINT NOT NULL,
    user_id  BIGINT NOT NULL REFERENCES users(id),
    at       BIGINT NOT NULL,
    PRIMARY KEY (slug, version, user_id),
    FOREIGN KEY (slug, version) REFERENCES sop_versions(slug, version)
);
CREATE INDEX sop_acks_by_user ON sop_acks (user_id);
