-- How many times each authority's set of school weeks (attendance_school_weeks)
-- has changed: a week added, or one emptied and removed. A breach search reads
-- every school's latest school weeks (7-10 ms at county size, on each page of
-- a listing); a server keeps what it read under the count it read it at, and
-- reads again only when the count has moved (store/attendance.rs,
-- LatestWeeksCache). Triggers keep the count, so every writer moves it in its
-- own transaction: this server, an older one still running during a rolling
-- upgrade, or an operator's fix. Widening a week's days changes no window and
-- counts nothing. `epoch` is drawn when an authority's row is created, so a
-- row deleted and made again never repeats an earlier (epoch, changes).
CREATE TABLE attendance_school_week_changes (
    authority_code  TEXT    NOT NULL PRIMARY KEY,
    epoch           BIGINT  NOT NULL DEFAULT (floor(random() * 9.2e18))::bigint,
    changes         BIGINT  NOT NULL
);

CREATE FUNCTION count_school_week_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO attendance_school_week_changes AS c (authority_code, changes)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.authority_code ELSE NEW.authority_code END, 1)
    ON CONFLICT (authority_code) DO UPDATE SET changes = c.changes + 1;
    RETURN NULL;
END;
$$;

-- Only rows inserted or deleted: an upsert that widens a held week fires neither.
CREATE TRIGGER attendance_school_weeks_counted
    AFTER INSERT OR DELETE ON attendance_school_weeks
    FOR EACH ROW EXECUTE FUNCTION count_school_week_change();

-- The weeks already held count as the first state.
INSERT INTO attendance_school_week_changes (authority_code, changes)
SELECT DISTINCT authority_code, 1 FROM attendance_school_weeks;

GRANT SELECT, INSERT ON attendance_school_week_changes TO lea_notices_service;
GRANT UPDATE (changes) ON attendance_school_week_changes TO lea_notices_service;
