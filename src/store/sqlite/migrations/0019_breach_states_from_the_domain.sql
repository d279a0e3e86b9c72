-- A decided breach's state was checked by a constraint listing the states
-- (`state BETWEEN 1 AND 5`), so each new outcome needed a migration (a table
-- rebuild on SQLite). The states are now checked by a trigger the store writes
-- from the domain's own list (`BreachState::decided`) at every `migrate`
-- (store/sqlite/mod.rs): a new outcome is a Rust change and a `migrate`. This
-- is the last rebuild of the table for it.
CREATE TABLE breach_cases_0019 (
    authority_code      TEXT        NOT NULL,
    case_id             INTEGER     NOT NULL,
    upn                 TEXT        NOT NULL,
    school_urn          TEXT        NOT NULL,
    as_of_date          TEXT        NOT NULL,
    -- BreachState::number; which numbers are known, the trigger below says.
    state               INTEGER     NOT NULL,
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

INSERT INTO breach_cases_0019 SELECT * FROM breach_cases;
DROP TABLE breach_cases;
ALTER TABLE breach_cases_0019 RENAME TO breach_cases;
CREATE INDEX breach_cases_by_pupil ON breach_cases (authority_code, upn, last_date, last_session);

-- Replaced at every migrate with the domain's list.
CREATE TRIGGER breach_cases_state_known BEFORE INSERT ON breach_cases
BEGIN
    SELECT RAISE(ABORT, 'unknown breach state');
END;
