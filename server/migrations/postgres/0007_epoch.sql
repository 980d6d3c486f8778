-- The log epoch: a random id of this database's event log. Sequence
-- numbers are only comparable within one epoch; a restored dump must be
-- given a new one (docs/reliability.md, "Log epoch").
CREATE TABLE log_epoch (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    epoch TEXT NOT NULL
);
INSERT INTO log_epoch (id, epoch) VALUES (1, md5(random()::text || clock_timestamp()::text));
