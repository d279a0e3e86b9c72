-- Listing notices by status walks an index, whatever the table's size (issue #32).
--
-- `recorded_status` is the part of a notice's status (`Notice::status`) that
-- the recorded facts decide, before any date: 'withdrawn', 'prosecuted',
-- 'paid', or 'open'. The database keeps it in the statement of every write of
-- those facts, whoever writes them (an older server in a rolling upgrade, an
-- operator), and this statement backfills every notice already held. The
-- statuses that depend on today's date ('issued', 'unpaid',
-- 'improvement_period_ended') are the open notices, told apart by their dates
-- at read. tests/api/store_rules.rs checks the listing against
-- `Notice::status` on every case.
ALTER TABLE notices ADD COLUMN recorded_status TEXT GENERATED ALWAYS AS (
    CASE
        WHEN withdrawal_date IS NOT NULL THEN 'withdrawn'
        WHEN prosecution_result IS NOT NULL THEN 'prosecuted'
        WHEN paid_rate IS NOT NULL THEN 'paid'
        ELSE 'open'
    END) STORED;

-- A page of a status, in ListNotices' order (issue date, then number).
CREATE INDEX notices_by_recorded_status
    ON notices (authority_code, recorded_status, issue_date, notice_number);

-- A pupil's notices in the order they are read (issue date, then number), so
-- that no plan prefers the issue-date index and its scan of the authority's
-- notices to a sort (SQLite without statistics did, while holding the write
-- lock of every issue).
DROP INDEX notices_by_pupil;
CREATE INDEX notices_by_pupil ON notices (authority_code, upn, issue_date, notice_number);
