-- The access log (issue 29): who read which pupil's or parent's data, when,
-- through which call and why. One row per subject a call read (a list writes
-- one row for each pupil or parent it returned, in one statement), so "who
-- read this child's data" is one range of `access_log_by_subject`. It holds
-- UPNs and person ids (personal data), and is not hash-chained: it is written
-- on every read, far more often than the audit log.
CREATE TABLE access_log (
    authority_code  TEXT        NOT NULL CHECK (length(authority_code) = 3),
    -- Increasing within the authority (one sequence for all), for paging.
    entry_id        BIGINT      GENERATED ALWAYS AS IDENTITY,
    accessed_at     TIMESTAMPTZ NOT NULL,
    actor_subject   TEXT        NOT NULL,
    actor_role      TEXT        NOT NULL,
    -- The RPC, for example `GetNotice`.
    method          TEXT        NOT NULL,
    -- The resource read, for example a notice's name.
    resource        TEXT        NOT NULL,
    subject_kind    TEXT        NOT NULL CHECK (subject_kind IN ('pupil', 'parent')),
    -- The UPN or the parent's person id.
    subject_key     TEXT        NOT NULL,
    -- What the caller gave in `x-access-purpose`, if anything.
    purpose         TEXT,
    PRIMARY KEY (authority_code, entry_id)
);

CREATE INDEX access_log_by_subject
    ON access_log (authority_code, subject_kind, subject_key, entry_id);
CREATE INDEX access_log_by_actor
    ON access_log (authority_code, actor_subject, entry_id);

-- Appended and read; its retention (issue 29) will grant what a purge needs.
GRANT SELECT, INSERT ON access_log TO lea_notices_service;
