-- Qualifying marks indexed by pupil, not by date, as on PostgreSQL (see its
-- 0005): pages of breaches read only their own pupils' marks, and the national
-- rule never reads lateness. Queries repeat these predicates word for word.
DROP INDEX attendance_marks_exceptions;

CREATE INDEX attendance_marks_unauthorised
    ON attendance_marks (authority_code, upn, mark_date, session, school_urn, code)
    WHERE category = 3;

CREATE INDEX attendance_marks_late
    ON attendance_marks (authority_code, upn, mark_date, session, school_urn, code)
    WHERE code = 'L';
