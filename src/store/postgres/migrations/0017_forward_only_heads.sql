-- Issue 25 (7a): an authority's chain head only moves forward. Without this the
-- service's role could set audit_chain_heads back to an earlier event: the
-- verification then reports HEAD_MISMATCH, and every later mutation fails when
-- it tries to append an event id already used. Now, for every role (the owner
-- too, unless it disables the trigger, which only the owner can):
--   * last_event_id never decreases, and the authority of a row never changes;
--   * the hash of a settled head (one whose last_hash is its event's hash) never
--     changes. Appending moves the id on first and then sets the hash of the
--     new last event (store/audit.rs), so a head whose hash is still its
--     previous event's may take its new hash, in this server or an older one;
--   * a head is never deleted or truncated.
-- What a role able to disable triggers can still do (rewrite the tail and its
-- head together) is what signed checkpoints kept outside the database catch
-- (README, "Audit checkpoints").
CREATE FUNCTION refuse_audit_head_rollback() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' THEN
        RAISE EXCEPTION 'audit_chain_heads: a chain head is never removed';
    END IF;
    IF NEW.authority_code <> OLD.authority_code THEN
        RAISE EXCEPTION 'audit_chain_heads: a chain head never changes authority';
    END IF;
    IF NEW.last_event_id < OLD.last_event_id THEN
        RAISE EXCEPTION 'audit_chain_heads: the head of authority % only moves forward (from event % to %)',
            OLD.authority_code, OLD.last_event_id, NEW.last_event_id;
    END IF;
    IF NEW.last_event_id = OLD.last_event_id AND NEW.last_hash <> OLD.last_hash AND EXISTS (
        SELECT 1 FROM audit_events e
        WHERE e.authority_code = OLD.authority_code AND e.event_id = OLD.last_event_id
          AND e.hash = OLD.last_hash
    ) THEN
        RAISE EXCEPTION 'audit_chain_heads: the hash of authority %''s event % is settled',
            OLD.authority_code, OLD.last_event_id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER audit_chain_heads_forward_only
    BEFORE UPDATE OR DELETE ON audit_chain_heads
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_head_rollback();

CREATE TRIGGER audit_chain_heads_no_truncate
    BEFORE TRUNCATE ON audit_chain_heads
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_head_rollback();

-- Issue 25 (6): the secret page tokens are authenticated with (api/pagination.rs).
-- Every server on this database reads it at start, so a token one replica issued
-- is honoured by the others and after a restart. Anyone who can read the
-- database can forge a token, which only positions a list of data they can read
-- already. `authority_code` '' is the service as a whole (the key leads with the
-- authority like every other). gen_random_uuid() draws from the server's strong
-- random source: two of them are 244 random bits.
CREATE TABLE service_keys (
    authority_code  TEXT    NOT NULL,
    purpose         TEXT    NOT NULL,
    secret          TEXT    NOT NULL,
    PRIMARY KEY (authority_code, purpose)
);

INSERT INTO service_keys (authority_code, purpose, secret)
VALUES ('', 'page_token', replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

GRANT SELECT ON service_keys TO lea_notices_service;
