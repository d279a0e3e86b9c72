-- The officer's worklist and the events on the statutory dates (issue 27); as
-- PostgreSQL's 0021.

ALTER TABLE policy_versions ADD COLUMN lower_rate_warning_days INTEGER NOT NULL DEFAULT 7
    CHECK (lower_rate_warning_days >= 1);

-- Each event on a statutory date, once per resource and kind (see PostgreSQL's 0021).
CREATE TABLE statutory_events (
    authority_code  TEXT    NOT NULL CHECK (length(authority_code) = 3),
    resource        TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    statutory_date  TEXT    NOT NULL,
    emitted_at      TEXT    NOT NULL,
    PRIMARY KEY (authority_code, resource, kind)
) STRICT;

CREATE TABLE statutory_event_progress (
    authority_code  TEXT    NOT NULL CHECK (length(authority_code) = 3),
    through_date    TEXT    NOT NULL,
    PRIMARY KEY (authority_code)
) STRICT;

CREATE INDEX notices_open_by_higher_deadline ON notices (authority_code, higher_deadline)
    WHERE kind = 'penalty_notice' AND withdrawal_date IS NULL
      AND prosecution_result IS NULL AND paid_rate IS NULL;
CREATE INDEX notices_by_lower_deadline ON notices (authority_code, lower_deadline)
    WHERE lower_deadline IS NOT NULL;
CREATE INDEX notices_by_higher_deadline ON notices (authority_code, higher_deadline)
    WHERE higher_deadline IS NOT NULL;
