-- How many times each authority's set of school weeks (attendance_school_weeks)
-- has changed: a week added, or one emptied and removed. A breach search reads
-- every school's latest school weeks on each page of a listing; a server keeps
-- what it read under the count it read it at, and reads again only when the
-- count has moved (store/attendance.rs, LatestWeeksCache). Triggers keep the
-- count, so every writer moves it in its own transaction. Widening a week's
-- days changes no window and counts nothing. `epoch` is drawn when an
-- authority's row is created, so a row deleted and made again never repeats an
-- earlier (epoch, changes).
CREATE TABLE attendance_school_week_changes (
    authority_code  TEXT    NOT NULL PRIMARY KEY,
    epoch           INTEGER NOT NULL DEFAULT (random()),
    changes         INTEGER NOT NULL
) STRICT;

CREATE TRIGGER attendance_school_weeks_added AFTER INSERT ON attendance_school_weeks
BEGIN
    INSERT INTO attendance_school_week_changes (authority_code, changes)
    VALUES (NEW.authority_code, 1)
    ON CONFLICT (authority_code) DO UPDATE SET changes = changes + 1;
END;

CREATE TRIGGER attendance_school_weeks_removed AFTER DELETE ON attendance_school_weeks
BEGIN
    INSERT INTO attendance_school_week_changes (authority_code, changes)
    VALUES (OLD.authority_code, 1)
    ON CONFLICT (authority_code) DO UPDATE SET changes = changes + 1;
END;

-- The weeks already held count as the first state.
INSERT INTO attendance_school_week_changes (authority_code, changes)
SELECT DISTINCT authority_code, 1 FROM attendance_school_weeks;
