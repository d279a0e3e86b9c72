-- Rectification (issue 29, UK GDPR Article 16): each correction of the
-- personal details a notice holds, with what it held before (as printed on
-- its letters until then), numbered per notice under the notice's lock.
-- `previous` and `corrected` are JSON (domain::rectification::PersonalDetails).
-- Pseudonymising a notice past retention deletes its rows.
CREATE TABLE rectifications (
    authority_code  TEXT        NOT NULL CHECK (length(authority_code) = 3),
    notice_number   TEXT        NOT NULL,
    sequence        BIGINT      NOT NULL,
    subject_kind    TEXT        NOT NULL CHECK (subject_kind IN ('pupil', 'parent')),
    subject_key     TEXT        NOT NULL,
    previous        TEXT        NOT NULL,
    corrected       TEXT        NOT NULL,
    reason          TEXT        NOT NULL,
    rectified_at    TIMESTAMPTZ NOT NULL,
    actor_subject   TEXT        NOT NULL,
    actor_role      TEXT        NOT NULL,
    request_id      TEXT        NOT NULL,
    PRIMARY KEY (authority_code, notice_number, sequence)
);

CREATE INDEX rectifications_by_request ON rectifications (authority_code, request_id);

-- Appended and read; the purge deletes a pseudonymised notice's rows. The
-- corrected details are written over the notice's own columns, which the
-- purge of 0025 may already update.
GRANT SELECT, INSERT, DELETE ON rectifications TO lea_notices_service;

-- The purge reaches every kind (issue 29): when a school's request for a
-- penalty notice was issued or declined, which starts its retention (NULL on
-- requests settled before this: their request time stands in).
ALTER TABLE penalty_notice_requests ADD COLUMN settled_at TIMESTAMPTZ;
GRANT UPDATE (settled_at) ON penalty_notice_requests TO lea_notices_service;

-- The access log is purged by the time of the read.
CREATE INDEX access_log_by_time ON access_log (authority_code, accessed_at);

-- What the purge deletes past retention (src/app/retention.rs): decided
-- breach cases whose registers are gone too, settled requests of schools,
-- closed cases of the other measures with their events and links, and the
-- access log's old entries.
GRANT DELETE ON breach_cases, penalty_notice_requests, measure_cases, measure_case_events,
    measure_case_follows, access_log TO lea_notices_service;
