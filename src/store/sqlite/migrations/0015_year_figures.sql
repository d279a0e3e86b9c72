-- Figures per enrolment (a pupil at a school) and school year, so that a
-- whole-authority summary over a school year reads one row per enrolment, not
-- one per week (store/attendance.rs). A school year's figures are the sum of
-- its weeks' (attendance_week_figures): a week belongs to the year of the
-- 1 September on or before its Monday (domain::calendar::school_year_of_week).
-- Every write of marks adds its changes to the rows it touches, in the same
-- transaction as the weekly rows, so the two always agree.
CREATE TABLE attendance_year_figures (
    authority_code       TEXT    NOT NULL,
    -- The calendar year of the September the school year starts in.
    school_year          INTEGER NOT NULL,
    school_urn           TEXT    NOT NULL,
    upn                  TEXT    NOT NULL,
    present              INTEGER NOT NULL,
    approved_activity    INTEGER NOT NULL,
    authorised_absence   INTEGER NOT NULL,
    unauthorised_absence INTEGER NOT NULL,
    -- An authority's year, or one school's, by the key.
    PRIMARY KEY (authority_code, school_year, school_urn, upn)
) STRICT;

-- The weekly figures already held (eight months before a Monday from
-- September to August falls in the calendar year the September is in).
INSERT INTO attendance_year_figures
    (authority_code, school_year, school_urn, upn,
     present, approved_activity, authorised_absence, unauthorised_absence)
SELECT authority_code, CAST(strftime('%Y', week_start, '-8 months') AS INTEGER), school_urn, upn,
       SUM(present), SUM(approved_activity), SUM(authorised_absence), SUM(unauthorised_absence)
FROM attendance_week_figures
GROUP BY authority_code, CAST(strftime('%Y', week_start, '-8 months') AS INTEGER), school_urn, upn;
