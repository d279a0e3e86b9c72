-- Retention (issue 29), as on PostgreSQL (see its 0025): events appended from
-- now on keep a salted digest of their details, which the chain covers, so the
-- details can be erased and the chain still verifies.
ALTER TABLE audit_events ADD COLUMN details_digest TEXT;
ALTER TABLE audit_events ADD COLUMN details_salt TEXT;

-- Still append-only, but for exactly that erasure.
DROP TRIGGER audit_events_no_update;

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
WHEN NOT (OLD.details_salt IS NOT NULL AND NEW.details_salt IS NULL
          AND NEW.details = '{"erased":true}'
          AND NEW.authority_code IS OLD.authority_code AND NEW.event_id IS OLD.event_id
          AND NEW.occurred_at IS OLD.occurred_at AND NEW.actor_subject IS OLD.actor_subject
          AND NEW.actor_role IS OLD.actor_role AND NEW.action IS OLD.action
          AND NEW.resource IS OLD.resource AND NEW.request_id IS OLD.request_id
          AND NEW.prev_hash IS OLD.prev_hash AND NEW.hash IS OLD.hash
          AND NEW.details_digest IS OLD.details_digest)
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only (only an event''s details may be erased)');
END;

-- How long each kind of record is kept, as on PostgreSQL.
CREATE TABLE retention_policy_versions (
    authority_code      TEXT    NOT NULL,
    effective_from      TEXT    NOT NULL,
    register_years      INTEGER NOT NULL CHECK (register_years BETWEEN 6 AND 100),
    breach_years        INTEGER NOT NULL CHECK (breach_years BETWEEN 1 AND 100),
    notice_years        INTEGER NOT NULL CHECK (notice_years BETWEEN 1 AND 100),
    payment_years       INTEGER NOT NULL CHECK (payment_years BETWEEN 1 AND 100),
    access_log_years    INTEGER NOT NULL CHECK (access_log_years BETWEEN 1 AND 100),
    created_at          TEXT    NOT NULL,
    created_by_subject  TEXT    NOT NULL,
    created_by_role     TEXT    NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
) STRICT;

-- No register entry younger than the schools' statutory six years is deleted
-- (by the database's own clock), whatever a retention policy says.
CREATE TRIGGER attendance_marks_kept_six_years BEFORE DELETE ON attendance_marks
WHEN OLD.mark_date > date('now', '-6 years')
BEGIN
    SELECT RAISE(ABORT, 'attendance_marks: register entries are kept six years from their date');
END;

CREATE TRIGGER attendance_mark_history_kept_six_years BEFORE DELETE ON attendance_mark_history
WHEN OLD.mark_date > date('now', '-6 years')
BEGIN
    SELECT RAISE(ABORT, 'attendance_mark_history: register entries are kept six years from their date');
END;
