-- The audit log's hash chain, as on PostgreSQL (see its 0007): events recorded
-- before this migration keep NULL hashes and are reported as "before the chain".
ALTER TABLE audit_events ADD COLUMN prev_hash TEXT;
ALTER TABLE audit_events ADD COLUMN hash TEXT;

-- Each authority's last event id and hash, updated by every append.
CREATE TABLE audit_chain_heads (
    authority_code  TEXT    NOT NULL,
    last_event_id   INTEGER NOT NULL,
    last_hash       TEXT    NOT NULL,
    PRIMARY KEY (authority_code)
) STRICT;

INSERT INTO audit_chain_heads (authority_code, last_event_id, last_hash)
SELECT authority_code, MAX(event_id), '0000000000000000000000000000000000000000000000000000000000000000'
FROM audit_events GROUP BY authority_code;
