-- The first and last day of each school week with a possible session, so that a
-- summary whose range cuts a week (a school year or a term ends on a Friday,
-- the week on the Sunday) can still take that week's figures whole for every
-- school whose sessions all fall inside the range (store/attendance.rs). Writes
-- only widen the two days; a correction to "not a possible session" leaves
-- them wide, which costs a summary a read of raw marks but never a wrong figure.
-- The defaults never last: the UPDATE below sets every row.
ALTER TABLE attendance_school_weeks ADD COLUMN first_day TEXT NOT NULL DEFAULT '';
ALTER TABLE attendance_school_weeks ADD COLUMN last_day TEXT NOT NULL DEFAULT '';

-- The marks already held ('weekday 0' is the Sunday on or after the date); a
-- week left with no possible session keeps its whole span, the widest bound.
UPDATE attendance_school_weeks
SET first_day = d.first_day, last_day = d.last_day
FROM (
    SELECT authority_code, school_urn, date(mark_date, 'weekday 0', '-6 days') AS week_start,
           MIN(mark_date) AS first_day, MAX(mark_date) AS last_day
    FROM attendance_marks
    WHERE category <> 4
    GROUP BY authority_code, school_urn, date(mark_date, 'weekday 0', '-6 days')
) AS d
WHERE attendance_school_weeks.authority_code = d.authority_code
  AND attendance_school_weeks.school_urn = d.school_urn
  AND attendance_school_weeks.week_start = d.week_start;
UPDATE attendance_school_weeks
SET first_day = week_start, last_day = date(week_start, '+6 days')
WHERE first_day = '';
