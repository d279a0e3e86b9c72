-- Notices to improve and penalty notices, one row per parent. Sessions, address
-- lines and related notice numbers are facts fixed at issue, stored with the
-- notice (JSON arrays / comma-separated numbers) so a notice reads in one row.

CREATE TABLE notices (
    authority_code              TEXT    NOT NULL,
    notice_number               TEXT    NOT NULL,
    kind                        TEXT    NOT NULL CHECK (kind IN ('notice_to_improve', 'penalty_notice')),
    upn                         TEXT    NOT NULL,
    school_urn                  TEXT    NOT NULL,
    pupil_given_name            TEXT    NOT NULL,
    pupil_family_name           TEXT    NOT NULL,
    pupil_address_lines         TEXT    NOT NULL,
    pupil_postcode              TEXT    NOT NULL,
    parent_person_id            TEXT    NOT NULL,
    parent_given_name           TEXT    NOT NULL,
    parent_family_name          TEXT    NOT NULL,
    parent_address_lines        TEXT    NOT NULL,
    parent_postcode             TEXT    NOT NULL,
    related_notices             TEXT    NOT NULL,
    offence_type                TEXT,
    offence_reason              TEXT,
    offence_description         TEXT    NOT NULL,
    sessions                    TEXT    NOT NULL,
    issue_date                  DATE    NOT NULL,
    issuer_role                 TEXT    NOT NULL,
    issuer_display_name         TEXT    NOT NULL,
    issuer_official_details     TEXT    NOT NULL,
    issuer_subject              TEXT    NOT NULL,
    delivery_method             TEXT    NOT NULL,
    posting_date                DATE  ,
    receipt_date                DATE    NOT NULL,
    policy_version              TEXT    NOT NULL,
    second_notice               BOOLEAN  NOT NULL,
    part_payments_accepted      BOOLEAN  NOT NULL,
    lower_amount_pence          BIGINT,
    lower_deadline              DATE  ,
    higher_amount_pence         BIGINT,
    higher_deadline             DATE  ,
    improvement_start_date      DATE  ,
    improvement_school_weeks    INTEGER,
    improvement_end_date        DATE  ,
    improvement_reason          TEXT,
    paid_rate                   TEXT,
    paid_date                   DATE  ,
    withdrawal_ground           TEXT,
    withdrawal_reason           TEXT,
    withdrawal_date             DATE  ,
    prosecution_hearing_date    DATE  ,
    prosecution_court           TEXT,
    prosecution_result          TEXT,
    prosecution_fine_pence      BIGINT,
    prosecution_costs_pence     BIGINT,
    created_at                  TIMESTAMPTZ  NOT NULL,
    PRIMARY KEY (authority_code, notice_number)
);

-- Limits, second notices and evidence are checked against the pupil's notices.
CREATE INDEX notices_by_pupil ON notices (authority_code, upn, issue_date);
-- ListNotices' order (issue date, then number).
CREATE INDEX notices_by_issue_date ON notices (authority_code, issue_date, notice_number);
CREATE INDEX notices_by_school ON notices (authority_code, school_urn, issue_date);
CREATE INDEX notices_by_parent ON notices (authority_code, parent_person_id, issue_date);

-- Serial numbers per authority and series ("notice-2026", "payment").
CREATE TABLE serials (
    authority_code  TEXT    NOT NULL,
    series          TEXT    NOT NULL,
    last_value      BIGINT  NOT NULL,
    PRIMARY KEY (authority_code, series)
);
