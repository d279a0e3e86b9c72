-- The other measures as cases with a lifecycle (issue 28): attendance
-- contracts, education supervision orders, parenting orders and prosecutions
-- (src/domain/measures.rs, docs/measures.md).

-- One row per case. `facts` is the rest of the case as JSON
-- (domain::measures::CaseFacts: parents, what it follows, court, plea,
-- outcome, ...); `version` counts its events, and a change is written only
-- over the version it was decided on.
CREATE TABLE measure_cases (
    authority_code     TEXT        NOT NULL CHECK (length(authority_code) = 3),
    case_number        BIGINT      NOT NULL,
    kind               TEXT        NOT NULL,
    state              TEXT        NOT NULL,
    upn                TEXT        NOT NULL,
    school_urn         TEXT        NOT NULL,
    opened_on          DATE        NOT NULL,
    facts              TEXT        NOT NULL,
    opened_by_subject  TEXT        NOT NULL,
    opened_by_role     TEXT        NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL,
    version            BIGINT      NOT NULL,
    request_id         TEXT        NOT NULL,
    PRIMARY KEY (authority_code, case_number)
);
CREATE INDEX measure_cases_by_pupil ON measure_cases (authority_code, upn, case_number);

-- Each event of a case, numbered by the case's version after it.
CREATE TABLE measure_case_events (
    authority_code  TEXT        NOT NULL,
    case_number     BIGINT      NOT NULL,
    sequence        BIGINT      NOT NULL,
    event           TEXT        NOT NULL,
    on_date         DATE        NOT NULL,
    facts           TEXT        NOT NULL,
    state_after     TEXT        NOT NULL,
    actor_subject   TEXT        NOT NULL,
    actor_role      TEXT        NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    request_id      TEXT        NOT NULL,
    PRIMARY KEY (authority_code, case_number, sequence),
    FOREIGN KEY (authority_code, case_number) REFERENCES measure_cases (authority_code, case_number)
);

-- What each case follows (notice or breach resource names): money received on
-- a notice finds the prosecutions to stop here.
CREATE TABLE measure_case_follows (
    authority_code  TEXT    NOT NULL,
    resource        TEXT    NOT NULL,
    case_number     BIGINT  NOT NULL,
    PRIMARY KEY (authority_code, resource, case_number),
    FOREIGN KEY (authority_code, case_number) REFERENCES measure_cases (authority_code, case_number)
);

GRANT SELECT, INSERT ON measure_cases TO lea_notices_service;
GRANT UPDATE (state, facts, version) ON measure_cases TO lea_notices_service;
GRANT SELECT, INSERT ON measure_case_events TO lea_notices_service;
GRANT SELECT, INSERT ON measure_case_follows TO lea_notices_service;
