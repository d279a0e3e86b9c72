-- Each pupil's SEN status as the MIS sends it (issue 28); as PostgreSQL's 0027.
CREATE TABLE pupil_sen_statuses (
    authority_code  TEXT NOT NULL CHECK (length(authority_code) = 3),
    upn             TEXT NOT NULL,
    effective_from  TEXT NOT NULL,
    sen_provision   TEXT NOT NULL CHECK (sen_provision IN ('N', 'K', 'E')),
    source          TEXT NOT NULL,
    recorded_at     TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    PRIMARY KEY (authority_code, upn, effective_from)
) STRICT;
