-- Rectification (issue 29, UK GDPR Article 16), as PostgreSQL's 0028: each
-- correction of the personal details a notice holds, with what it held
-- before (as printed on its letters until then). `previous` and `corrected`
-- are JSON (domain::rectification::PersonalDetails). Pseudonymising a notice
-- past retention deletes its rows.
CREATE TABLE rectifications (
    authority_code  TEXT    NOT NULL CHECK (length(authority_code) = 3),
    notice_number   TEXT    NOT NULL,
    sequence        INTEGER NOT NULL,
    subject_kind    TEXT    NOT NULL CHECK (subject_kind IN ('pupil', 'parent')),
    subject_key     TEXT    NOT NULL,
    previous        TEXT    NOT NULL,
    corrected       TEXT    NOT NULL,
    reason          TEXT    NOT NULL,
    rectified_at    TEXT    NOT NULL,
    actor_subject   TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    PRIMARY KEY (authority_code, notice_number, sequence)
) STRICT;

CREATE INDEX rectifications_by_request ON rectifications (authority_code, request_id);

-- The purge reaches every kind (issue 29): when a school's request for a
-- penalty notice was issued or declined, which starts its retention (NULL on
-- requests settled before this: their request time stands in).
ALTER TABLE penalty_notice_requests ADD COLUMN settled_at TEXT;

-- The access log is purged by the time of the read.
CREATE INDEX access_log_by_time ON access_log (authority_code, accessed_at);
