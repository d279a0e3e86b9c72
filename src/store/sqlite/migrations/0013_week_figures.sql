-- Weekly figures per enrolment (a pupil at a school), so that a summary over a
-- long range need not count every mark (store/attendance.rs). Every write of
-- marks appends one row per school, pupil and week (its Monday) it changed: how
-- many of the week's sessions each category gained or lost (+1 for a mark
-- inserted; -1 in the held mark's category and +1 in the new one's for a
-- correction). "Not a possible session" is not counted; possible sessions are
-- the sum of the four. Rows are never updated or deleted: a week's figures are
-- the SUM of its rows.
CREATE TABLE attendance_week_figures (
    authority_code       TEXT    NOT NULL,
    school_urn           TEXT    NOT NULL,
    upn                  TEXT    NOT NULL,
    -- Monday of the week.
    week_start           TEXT    NOT NULL,
    present              INTEGER NOT NULL,
    approved_activity    INTEGER NOT NULL,
    authorised_absence   INTEGER NOT NULL,
    unauthorised_absence INTEGER NOT NULL
) STRICT;

-- A school's summary reads its own weeks; the whole authority's reads them all.
CREATE INDEX attendance_week_figures_by_school
    ON attendance_week_figures (authority_code, school_urn, week_start);

-- The marks already held, a row per school, pupil and week ('weekday 0' is the
-- Sunday on or after the date).
INSERT INTO attendance_week_figures
    (authority_code, school_urn, upn, week_start,
     present, approved_activity, authorised_absence, unauthorised_absence)
SELECT authority_code, school_urn, upn, date(mark_date, 'weekday 0', '-6 days'),
       SUM(category = 0), SUM(category = 1), SUM(category = 2), SUM(category = 3)
FROM attendance_marks
WHERE category <> 4
GROUP BY authority_code, school_urn, upn, date(mark_date, 'weekday 0', '-6 days');
