-- Each pupil's SEN status as the MIS sends it (issue 28): the school census
-- SEN provision (N no SEN, K SEN support, E education, health and care plan),
-- kept by the date it applies from, so breaches, notices and the statutory
-- return are broken down by the status on the day that matters. One row per
-- pupil per date; a later status sent for the same date corrects the row,
-- and every change is in the audit trail. Special-category-adjacent data:
-- never copied into logs or errors.
CREATE TABLE pupil_sen_statuses (
    authority_code  TEXT        NOT NULL CHECK (authority_code ~ '^[0-9]{3}$'),
    upn             TEXT        NOT NULL,
    effective_from  DATE        NOT NULL,
    sen_provision   TEXT        NOT NULL CHECK (sen_provision IN ('N', 'K', 'E')),
    -- marks_call, register_import or common_transfer_file.
    source          TEXT        NOT NULL,
    recorded_at     TIMESTAMPTZ NOT NULL,
    request_id      TEXT        NOT NULL,
    PRIMARY KEY (authority_code, upn, effective_from)
);

-- Rows are added and corrected by MIS batches, and deleted by retention.
GRANT SELECT, INSERT, DELETE ON pupil_sen_statuses TO lea_notices_service;
GRANT UPDATE (sen_provision, source, recorded_at, request_id) ON pupil_sen_statuses
    TO lea_notices_service;
