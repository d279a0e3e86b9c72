-- Each school's latest school weeks come first: ListThresholdBreaches reads the
-- last ten of every school for each page, and sorting the whole table instead
-- took 30 ms a page for a county (see BENCHMARKS.md).
CREATE INDEX attendance_school_weeks_latest ON attendance_school_weeks (authority_code, school_urn, week_start DESC);
