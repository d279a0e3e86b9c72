-- Attendance registers: one row per pupil, school, date and session (about 76
-- million a year for a county), the values they replaced, and two small derived
-- tables kept up to date by every write of marks:
-- - attendance_enrolments: each pupil's span of dates on each school's register;
-- - attendance_school_weeks: the weeks in which each school had a possible session.
-- The threshold query reads the rare qualifying marks through a partial index
-- and these two tables, never the whole register.

-- UPNs sort bytewise ("C"), as on SQLite: breaches are paged by UPN.
CREATE TABLE attendance_marks (
    authority_code  TEXT        NOT NULL,
    upn             TEXT        COLLATE "C" NOT NULL,
    mark_date       DATE        NOT NULL,
    -- 0 = AM, 1 = PM.
    session         SMALLINT    NOT NULL CHECK (session IN (0, 1)),
    school_urn      TEXT        NOT NULL,
    code            TEXT        NOT NULL,
    -- The code's statistical category on mark_date (see CodeCategory::as_i16).
    category        SMALLINT    NOT NULL CHECK (category BETWEEN 0 AND 4),
    record_time     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (authority_code, upn, mark_date, session, school_urn)
);

-- Unauthorised absence and lateness (a few % of marks): a threshold's qualifying
-- codes are always among these (policy validation allows nothing else).
CREATE INDEX attendance_marks_exceptions ON attendance_marks (authority_code, mark_date)
    INCLUDE (upn, session, school_urn, code)
    WHERE category = 3 OR code = 'L';

-- Every mark a later one replaced, kept for the register's six years.
CREATE TABLE attendance_mark_history (
    authority_code  TEXT        NOT NULL,
    upn             TEXT        NOT NULL,
    mark_date       DATE        NOT NULL,
    session         SMALLINT    NOT NULL,
    school_urn      TEXT        NOT NULL,
    replaced_at     TIMESTAMPTZ NOT NULL,
    code            TEXT        NOT NULL,
    record_time     TIMESTAMPTZ NOT NULL,
    replaced_by_code TEXT       NOT NULL,
    replaced_by_request TEXT    NOT NULL,
    PRIMARY KEY (authority_code, upn, mark_date, session, school_urn, replaced_at, record_time)
);

CREATE TABLE attendance_enrolments (
    authority_code  TEXT NOT NULL,
    upn             TEXT COLLATE "C" NOT NULL,
    school_urn      TEXT NOT NULL,
    first_date      DATE NOT NULL,
    last_date       DATE NOT NULL,
    PRIMARY KEY (authority_code, upn, school_urn)
);

CREATE INDEX attendance_enrolments_by_school ON attendance_enrolments (authority_code, school_urn, upn);

CREATE TABLE attendance_school_weeks (
    authority_code  TEXT NOT NULL,
    school_urn      TEXT NOT NULL,
    -- Monday of the week.
    week_start      DATE NOT NULL,
    PRIMARY KEY (authority_code, school_urn, week_start)
);
