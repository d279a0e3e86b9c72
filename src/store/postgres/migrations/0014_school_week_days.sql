-- The first and last day of each school week with a possible session, so that a
-- summary whose range cuts a week (a school year or a term ends on a Friday,
-- the week on the Sunday) can still take that week's figures whole for every
-- school whose sessions all fall inside the range (store/attendance.rs). Writes
-- only widen the two days; a correction to "not a possible session" leaves
-- them wide, which costs a summary a read of raw marks but never a wrong figure.
ALTER TABLE attendance_school_weeks ADD COLUMN first_day DATE;
ALTER TABLE attendance_school_weeks ADD COLUMN last_day DATE;

-- The marks already held; a week left with no possible session keeps its
-- whole span, the widest bound.
UPDATE attendance_school_weeks w
SET first_day = d.first_day, last_day = d.last_day
FROM (
    SELECT authority_code, school_urn, mark_date - (EXTRACT(ISODOW FROM mark_date)::int - 1) AS week_start,
           MIN(mark_date) AS first_day, MAX(mark_date) AS last_day
    FROM attendance_marks
    WHERE category <> 4
    GROUP BY authority_code, school_urn, mark_date - (EXTRACT(ISODOW FROM mark_date)::int - 1)
) d
WHERE w.authority_code = d.authority_code AND w.school_urn = d.school_urn AND w.week_start = d.week_start;
UPDATE attendance_school_weeks
SET first_day = week_start, last_day = week_start + 6
WHERE first_day IS NULL;

ALTER TABLE attendance_school_weeks ALTER COLUMN first_day SET NOT NULL;
ALTER TABLE attendance_school_weeks ALTER COLUMN last_day SET NOT NULL;
ALTER TABLE attendance_school_weeks
    ADD CONSTRAINT attendance_school_weeks_days_in_week
    CHECK (week_start <= first_day AND first_day <= last_day AND last_day <= week_start + 6);

-- Writes widen the days.
GRANT UPDATE (first_day, last_day) ON attendance_school_weeks TO lea_notices_service;
