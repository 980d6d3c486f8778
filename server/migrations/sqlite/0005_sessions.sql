-- Server-side login sessions. A session is one login: its id is the refresh
-- token family and the `sid` claim of every access token issued in it.
-- Ending a session (logout, refresh-token reuse, an account change) refuses
-- its tokens at once on every node.
CREATE TABLE sessions (
    id            TEXT PRIMARY KEY,
    user_id       BIGINT NOT NULL REFERENCES users(id),
    created_at    BIGINT NOT NULL,
    -- Last login or refresh: the idle lifetime runs from here.
    last_used_at  BIGINT NOT NULL,
    -- The absolute end, fixed at login.
    expires_at    BIGINT NOT NULL,
    ended_at      BIGINT,
    end_reason    TEXT,
    client_addr   TEXT
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Refresh families issued before sessions existed become sessions, so that
-- nobody is logged out by the upgrade (their access tokens, which have no
-- `sid`, are refused; one refresh gets a new pair).
INSERT INTO sessions (id, user_id, created_at, last_used_at, expires_at)
SELECT family, MIN(user_id), MIN(created_at), MAX(created_at), MAX(expires_at)
FROM refresh_tokens WHERE revoked = 0
GROUP BY family;
