-- Retention (issue 29): an audit trail that survives erasure.
--
-- Events appended from now on are chained by encoding v2 (src/domain/audit.rs):
-- the hash covers details_digest = SHA-256(salt || details) instead of the
-- details, and the random salt is kept beside them. Erasing an event's personal
-- data sets its details to the erased marker and drops its salt: the hash still
-- verifies over the kept digest, and the digest without its salt says nothing
-- about what the details were. Events from before (NULL digest and salt) keep
-- verifying as v1 and cannot be erased.
ALTER TABLE audit_events ADD COLUMN details_digest TEXT, ADD COLUMN details_salt TEXT;

-- Still append-only, but for exactly that erasure: every other column as it
-- was, a salt before and none after, the details the marker.
CREATE OR REPLACE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF OLD.details_salt IS NOT NULL AND NEW.details_salt IS NULL
           AND NEW.details = '{"erased":true}'
           AND (NEW.authority_code, NEW.event_id, NEW.occurred_at, NEW.actor_subject,
                NEW.actor_role, NEW.action, NEW.resource, NEW.request_id, NEW.prev_hash,
                NEW.hash, NEW.details_digest)
               IS NOT DISTINCT FROM
               (OLD.authority_code, OLD.event_id, OLD.occurred_at, OLD.actor_subject,
                OLD.actor_role, OLD.action, OLD.resource, OLD.request_id, OLD.prev_hash,
                OLD.hash, OLD.details_digest)
        THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_events is append-only (only an event''s details may be erased)';
END
$$;

GRANT UPDATE (details, details_salt) ON audit_events TO lea_notices_service;

-- How long each kind of record is kept after its closing event, in whole years
-- (src/domain/retention.rs), in versions by effective date like policy_versions.
CREATE TABLE retention_policy_versions (
    authority_code      TEXT        NOT NULL CHECK (authority_code ~ '^[0-9]{3}$'),
    effective_from      DATE        NOT NULL,
    register_years      INTEGER     NOT NULL CHECK (register_years BETWEEN 6 AND 100),
    breach_years        INTEGER     NOT NULL CHECK (breach_years BETWEEN 1 AND 100),
    notice_years        INTEGER     NOT NULL CHECK (notice_years BETWEEN 1 AND 100),
    payment_years       INTEGER     NOT NULL CHECK (payment_years BETWEEN 1 AND 100),
    access_log_years    INTEGER     NOT NULL CHECK (access_log_years BETWEEN 1 AND 100),
    created_at          TIMESTAMPTZ NOT NULL,
    created_by_subject  TEXT        NOT NULL,
    created_by_role     TEXT        NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
);

-- Versions are added, never changed (as policy versions).
GRANT SELECT, INSERT ON retention_policy_versions TO lea_notices_service;

-- The purge (src/app/retention.rs): register entries past retention are
-- deleted with what is derived from them; closed notices and old payments are
-- pseudonymised in place (only the personal columns), the rest kept for the
-- statistics and the books.
GRANT DELETE ON attendance_marks, attendance_mark_history, attendance_enrolments,
    attendance_week_figures, attendance_year_figures TO lea_notices_service;
GRANT UPDATE (upn, pupil_given_name, pupil_family_name, pupil_address_lines, pupil_postcode,
              parent_person_id, parent_given_name, parent_family_name, parent_address_lines,
              parent_postcode, offence_description) ON notices TO lea_notices_service;
GRANT UPDATE (payer_name, payer_reference) ON payments TO lea_notices_service;

-- Whatever a retention policy says, no register entry younger than the
-- schools' statutory six years is deleted (by the database's own clock).
CREATE FUNCTION refuse_young_register_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.mark_date > current_date - INTERVAL '6 years' THEN
        RAISE EXCEPTION '%: register entries are kept six years from their date', TG_TABLE_NAME;
    END IF;
    RETURN OLD;
END
$$;

CREATE TRIGGER attendance_marks_kept_six_years BEFORE DELETE ON attendance_marks
    FOR EACH ROW EXECUTE FUNCTION refuse_young_register_delete();
CREATE TRIGGER attendance_mark_history_kept_six_years BEFORE DELETE ON attendance_mark_history
    FOR EACH ROW EXECUTE FUNCTION refuse_young_register_delete();
