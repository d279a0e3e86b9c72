-- Decisions on threshold breaches (issue 15 item 4): one row per decided case,
-- never changed once written. A case holds the breach's qualifying sessions
-- (JSON [[date, session, code], ...], oldest first) and the last of them, which
-- the breach search reads to count only a pupil's sessions after their latest
-- decided case.

CREATE TABLE breach_cases (
    authority_code      TEXT        NOT NULL,
    case_id             INTEGER     NOT NULL,
    upn                 TEXT        NOT NULL,
    school_urn          TEXT        NOT NULL,
    as_of_date          TEXT        NOT NULL,
    -- BreachState::number: 1 notice to improve issued, 2 penalty notice issued,
    -- 3 no action, 4 referred to prosecution, 5 another measure.
    state               INTEGER     NOT NULL CHECK (state BETWEEN 1 AND 5),
    -- NoActionReason::number, only with state 3.
    no_action_reason    INTEGER     CHECK (no_action_reason BETWEEN 1 AND 5),
    note                TEXT        NOT NULL,
    notice_numbers      TEXT        NOT NULL,
    qualifying_sessions INTEGER     NOT NULL,
    first_week          TEXT        NOT NULL,
    last_week           TEXT        NOT NULL,
    sessions            TEXT        NOT NULL,
    last_date           TEXT        NOT NULL,
    -- 0 = AM, 1 = PM.
    last_session        INTEGER     NOT NULL CHECK (last_session IN (0, 1)),
    policy_version      TEXT        NOT NULL,
    decided_at          TEXT        NOT NULL,
    decided_by_subject  TEXT        NOT NULL,
    decided_by_role     TEXT        NOT NULL,
    request_id          TEXT        NOT NULL,
    PRIMARY KEY (authority_code, case_id)
) STRICT;

-- The breach search's probe: a pupil's latest consumed session.
CREATE INDEX breach_cases_by_pupil ON breach_cases (authority_code, upn, last_date, last_session);


-- Schools' requests for penalty notices (issue 15 item 5). The request's facts
-- never change; an officer issues from it or declines it, once.
CREATE TABLE penalty_notice_requests (
    authority_code        TEXT        NOT NULL,
    request_number        INTEGER     NOT NULL,
    upn                   TEXT        NOT NULL,
    school_urn            TEXT        NOT NULL,
    parent_person_ids     TEXT        NOT NULL,
    sessions              TEXT        NOT NULL,
    support_offered       TEXT        NOT NULL,
    -- 0 pending, 1 issued, 2 declined.
    state                 INTEGER     NOT NULL CHECK (state BETWEEN 0 AND 2),
    requested_by_subject  TEXT        NOT NULL,
    requested_by_role     TEXT        NOT NULL,
    requested_at          TEXT        NOT NULL,
    school_days_elapsed   INTEGER     NOT NULL,
    deadline_school_days  INTEGER     NOT NULL,
    decline_reason        TEXT        NOT NULL,
    notice_numbers        TEXT        NOT NULL,
    request_id            TEXT        NOT NULL,
    PRIMARY KEY (authority_code, request_number)
) STRICT;

-- Whether a local code takes schools' requests (PolicyVersion.school_requests);
-- versions stored before it keep the national default, yes.
ALTER TABLE policy_versions ADD COLUMN school_requests_accepted INTEGER NOT NULL DEFAULT 1;
