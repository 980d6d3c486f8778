-- Daily roll-up of flow lines (docs/flows.md, "Cost of the headquarters
-- query"): one row per local day, post, sharing, direction and nationality,
-- kept in the same transaction as each report and correction, so that a
-- country-wide year reads about 44,000 rows instead of 350,000 lines.
-- A day is local to a UTC offset: 0, 120 (Burundi, CAT) and 180 (Tanzania,
-- EAT), the offsets headquarters reads in; neither country has daylight
-- saving. `day_start` is the UTC millisecond at which that local day begins.

CREATE TABLE flow_daily (
    utc_offset_minutes  BIGINT NOT NULL,
    day_start           BIGINT NOT NULL,
    post                TEXT NOT NULL,
    sharing             TEXT NOT NULL,
    direction           TEXT NOT NULL,
    nationality         TEXT NOT NULL,
    men                 BIGINT NOT NULL,
    women               BIGINT NOT NULL,
    boys                BIGINT NOT NULL,
    girls               BIGINT NOT NULL,
    total               BIGINT NOT NULL,
    v_children          BIGINT NOT NULL,
    v_pregnant          BIGINT NOT NULL,
    v_elderly           BIGINT NOT NULL,
    v_sick              BIGINT NOT NULL,
    v_disabled          BIGINT NOT NULL,
    -- How many lines are summed here: a correction that takes a report's
    -- lines away leaves 0, and a row of 0 lines is no figure at all.
    lines               BIGINT NOT NULL,
    PRIMARY KEY (utc_offset_minutes, day_start, post, sharing, direction, nationality)
);

INSERT INTO flow_daily
SELECT zone.column1,
       ((period_start + zone.column1 * 60000) / 86400000) * 86400000 - zone.column1 * 60000,
       post, sharing, direction, nationality,
       SUM(men), SUM(women), SUM(boys), SUM(girls), SUM(total), SUM(v_children),
       SUM(v_pregnant), SUM(v_elderly), SUM(v_sick), SUM(v_disabled), COUNT(*)
FROM flow_lines CROSS JOIN (VALUES (0), (120), (180)) AS zone
GROUP BY 1, 2, post, sharing, direction, nationality;
