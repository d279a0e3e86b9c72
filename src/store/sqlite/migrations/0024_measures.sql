-- The other measures as cases with a lifecycle (issue 28); as PostgreSQL's 0024.

CREATE TABLE measure_cases (
    authority_code     TEXT    NOT NULL CHECK (length(authority_code) = 3),
    case_number        INTEGER NOT NULL,
    kind               TEXT    NOT NULL,
    state              TEXT    NOT NULL,
    upn                TEXT    NOT NULL,
    school_urn         TEXT    NOT NULL,
    opened_on          TEXT    NOT NULL,
    facts              TEXT    NOT NULL,
    opened_by_subject  TEXT    NOT NULL,
    opened_by_role     TEXT    NOT NULL,
    created_at         TEXT    NOT NULL,
    version            INTEGER NOT NULL,
    request_id         TEXT    NOT NULL,
    PRIMARY KEY (authority_code, case_number)
) STRICT;
CREATE INDEX measure_cases_by_pupil ON measure_cases (authority_code, upn, case_number);

CREATE TABLE measure_case_events (
    authority_code  TEXT    NOT NULL,
    case_number     INTEGER NOT NULL,
    sequence        INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    on_date         TEXT    NOT NULL,
    facts           TEXT    NOT NULL,
    state_after     TEXT    NOT NULL,
    actor_subject   TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    recorded_at     TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    PRIMARY KEY (authority_code, case_number, sequence),
    FOREIGN KEY (authority_code, case_number) REFERENCES measure_cases (authority_code, case_number)
) STRICT;

CREATE TABLE measure_case_follows (
    authority_code  TEXT    NOT NULL,
    resource        TEXT    NOT NULL,
    case_number     INTEGER NOT NULL,
    PRIMARY KEY (authority_code, resource, case_number),
    FOREIGN KEY (authority_code, case_number) REFERENCES measure_cases (authority_code, case_number)
) STRICT;
