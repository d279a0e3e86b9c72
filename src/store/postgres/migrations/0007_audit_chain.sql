-- The audit log's hash chain (src/domain/audit.rs): each event's hash covers its
-- fields and the previous event's hash of the same authority, starting from the
-- genesis hash (64 zeros).
--
-- Events recorded before this migration are not backfilled: their hash columns
-- stay NULL. A hash computed now would vouch only for the rows as they stand
-- now, so they are reported as "before the chain" instead, and may only come
-- before every chained event of their authority.
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT, ADD COLUMN hash TEXT;

-- Ids are numbered per authority from the chain head (1, 2, 3, ... as on
-- SQLite), so a missing id is itself a break in the chain.
ALTER TABLE audit_events ALTER COLUMN event_id DROP IDENTITY;

-- Each authority's last event id and hash. Appending events updates the row,
-- which holds its lock until commit: two transactions cannot both link to the
-- same predecessor.
CREATE TABLE audit_chain_heads (
    authority_code  TEXT    NOT NULL,
    last_event_id   BIGINT  NOT NULL,
    last_hash       TEXT    NOT NULL,
    PRIMARY KEY (authority_code)
);

INSERT INTO audit_chain_heads (authority_code, last_event_id, last_hash)
SELECT authority_code, MAX(event_id), '0000000000000000000000000000000000000000000000000000000000000000'
FROM audit_events GROUP BY authority_code;
