-- Qualifying marks indexed by pupil, not by date: ListThresholdBreaches pages by
-- UPN, so a page reads only its own pupils' marks. Ordered by date, every page
-- re-read the whole window (3.1 s for a county; see BENCHMARKS.md).
-- Unauthorised absence (about 1% of marks) and lateness (about 2%, counted only
-- by policies that name "L") have an index each, so that the national rule never
-- reads lateness. Queries repeat these predicates word for word.
DROP INDEX attendance_marks_exceptions;

CREATE INDEX attendance_marks_unauthorised ON attendance_marks (authority_code, upn, mark_date)
    INCLUDE (session, school_urn, code)
    WHERE category = 3;

CREATE INDEX attendance_marks_late ON attendance_marks (authority_code, upn, mark_date)
    INCLUDE (session, school_urn, code)
    WHERE code = 'L';
