-- The officer's worklist and the events on the statutory dates (issue 27).

-- How many days before a notice's lower period ends it goes on the worklist
-- (PolicyVersion.lower_rate_warning_days); versions made before keep the
-- default of a week.
ALTER TABLE policy_versions ADD COLUMN lower_rate_warning_days INTEGER NOT NULL DEFAULT 7
    CHECK (lower_rate_warning_days >= 1);

-- Each event on a statutory date (`notice.lower_rate_ended`,
-- `notice.unpaid_at_period_end`, `penalty_notice_request.deadline_passed`),
-- once per resource and kind: the row is inserted in the transaction that
-- appends the event to the audit log, so whichever replica's scheduler gets
-- there first records it, and every other one finds the key taken and appends
-- nothing.
CREATE TABLE statutory_events (
    authority_code  TEXT        NOT NULL CHECK (length(authority_code) = 3),
    resource        TEXT        NOT NULL,
    kind            TEXT        NOT NULL,
    -- The day the period ended, the event's day.
    statutory_date  DATE        NOT NULL,
    -- When a scheduler recorded it (later than the statutory day after downtime).
    emitted_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (authority_code, resource, kind)
);

-- Up to which day each authority's statutory dates have been looked at: a
-- round looks again from the day before it (a notice committed just after
-- midnight is not missed), up to today, so days missed while no server ran are
-- caught up by the first round after.
CREATE TABLE statutory_event_progress (
    authority_code  TEXT        NOT NULL CHECK (length(authority_code) = 3),
    through_date    DATE        NOT NULL,
    PRIMARY KEY (authority_code)
);

-- Live penalty notices by their deadlines: the worklist's and the scheduler's
-- date ranges.
CREATE INDEX notices_open_by_higher_deadline ON notices (authority_code, higher_deadline)
    WHERE kind = 'penalty_notice' AND withdrawal_date IS NULL
      AND prosecution_result IS NULL AND paid_rate IS NULL;
CREATE INDEX notices_by_lower_deadline ON notices (authority_code, lower_deadline)
    WHERE lower_deadline IS NOT NULL;
CREATE INDEX notices_by_higher_deadline ON notices (authority_code, higher_deadline)
    WHERE higher_deadline IS NOT NULL;

GRANT SELECT, INSERT ON statutory_events TO lea_notices_service;
GRANT SELECT, INSERT ON statutory_event_progress TO lea_notices_service;
GRANT UPDATE (through_date) ON statutory_event_progress TO lea_notices_service;
