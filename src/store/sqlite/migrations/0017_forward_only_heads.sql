-- An authority's chain head only moves forward, as on PostgreSQL (see its 0017):
-- last_event_id never decreases, a settled head's hash never changes (a head
-- whose hash is still its previous event's, half-way through an append, may
-- take its new one), and a head is never deleted. On SQLite whoever holds the
-- file can drop the triggers: signed checkpoints kept outside it are the anchor.
CREATE TRIGGER audit_chain_heads_forward_only BEFORE UPDATE ON audit_chain_heads
WHEN NEW.authority_code <> OLD.authority_code
  OR NEW.last_event_id < OLD.last_event_id
  OR (NEW.last_event_id = OLD.last_event_id AND NEW.last_hash <> OLD.last_hash AND EXISTS (
        SELECT 1 FROM audit_events e
        WHERE e.authority_code = OLD.authority_code AND e.event_id = OLD.last_event_id
          AND e.hash = OLD.last_hash))
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_heads: a chain head only moves forward');
END;

CREATE TRIGGER audit_chain_heads_no_delete BEFORE DELETE ON audit_chain_heads
BEGIN
    SELECT RAISE(ABORT, 'audit_chain_heads: a chain head is never removed');
END;

-- The secret page tokens are authenticated with (api/pagination.rs), as on
-- PostgreSQL; randomblob draws from SQLite's CSPRNG, seeded by the system.
CREATE TABLE service_keys (
    authority_code  TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    PRIMARY KEY (authority_code, purpose)
) STRICT;

INSERT INTO service_keys (authority_code, purpose, secret)
VALUES ('', 'page_token', lower(hex(randomblob(32))));
