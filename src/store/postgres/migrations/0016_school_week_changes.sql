-- How many times each authority's set of school weeks (attendance_school_weeks)
-- has changed: a week added, or one emptied and removed. A breach search reads
-- every school's latest school weeks (7-10 ms at county size, on each page of
-- a listing); a server keeps what it read under the count it read it at, and
-- reads again only when the count has moved (store/attendance.rs,
-- LatestWeeksCache). Every write that adds or removes a school week adds one,
-- in the same transaction.
CREATE TABLE attendance_school_week_changes (
    authority_code  TEXT    NOT NULL PRIMARY KEY,
    changes         BIGINT  NOT NULL
);

-- The weeks already held count as the first state.
INSERT INTO attendance_school_week_changes (authority_code, changes)
SELECT DISTINCT authority_code, 1 FROM attendance_school_weeks;

GRANT SELECT, INSERT ON attendance_school_week_changes TO lea_notices_service;
GRANT UPDATE (changes) ON attendance_school_week_changes TO lea_notices_service;
