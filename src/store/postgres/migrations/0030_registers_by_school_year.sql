-- Registers partitioned by school year (issue 31): attendance_marks and
-- attendance_mark_history become RANGE (mark_date) partitioned tables, one
-- partition per school year (1 September to 31 August, named by the calendar
-- year of its September: attendance_marks_2019_20 holds 2019-09-01..2020-08-31).
-- Keys still lead with the authority (the partition key, mark_date, is part of
-- both primary keys), vacuum and indexes are per school year, a query bounded
-- by dates reads only its years' partitions, and the retention purge drops a
-- whole school year (detach and drop) once every mark in it is past retention
-- instead of deleting its rows one by one (src/app/partitions.rs).
--
-- Partitions are made by the service ahead of the marks (at migrate, by the
-- scheduler, and before any batch of marks whose year has none): through
-- create_register_partitions below, never by hand. The service's role owns
-- nothing (0008), so both that function and drop_register_school_year run as
-- this migration's role (SECURITY DEFINER) and do exactly one thing each.
--
-- The conversion moves the rows held in this one transaction: rename, create
-- the partitioned tables and the partitions the rows need, move the rows, make
-- the keys, indexes, triggers and grants again, drop the old tables.
-- SQLite keeps its single tables.

ALTER TABLE attendance_marks RENAME TO attendance_marks_unpartitioned;
ALTER TABLE attendance_marks_unpartitioned
    RENAME CONSTRAINT attendance_marks_pkey TO attendance_marks_unpartitioned_pkey;
DROP INDEX attendance_marks_unauthorised;
DROP INDEX attendance_marks_late;
ALTER TABLE attendance_mark_history RENAME TO attendance_mark_history_unpartitioned;
ALTER TABLE attendance_mark_history_unpartitioned
    RENAME CONSTRAINT attendance_mark_history_pkey TO attendance_mark_history_unpartitioned_pkey;

-- As in 0004; the keys and indexes are made after the rows are moved.
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
    record_time     TIMESTAMPTZ NOT NULL
) PARTITION BY RANGE (mark_date);

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
    replaced_by_request TEXT    NOT NULL
) PARTITION BY RANGE (mark_date);

-- The school year (by its September's calendar year) a date falls in.
CREATE FUNCTION register_school_year(day DATE) RETURNS INTEGER
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN EXTRACT(YEAR FROM day - INTERVAL '8 months')::int;

-- Makes the partitions of school years first_year..last_year that do not exist
-- yet, of both tables. Idempotent, and safe when two replicas call it at once:
-- an advisory lock (held to the end of the caller's transaction, so call it
-- in a short one of its own) makes them take turns, and each looks in the
-- catalog before creating. Answers how many partitions it made.
CREATE FUNCTION create_register_partitions(first_year INTEGER, last_year INTEGER)
RETURNS INTEGER LANGUAGE plpgsql SECURITY DEFINER AS $$
DECLARE
    made INTEGER := 0;
    year INTEGER;
    parent TEXT;
    child TEXT;
BEGIN
    IF last_year - first_year > 200 THEN
        RAISE EXCEPTION 'register partitions: % school years at once is too many',
            last_year - first_year + 1;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended('lea-notices/register-partitions', 0));
    FOR year IN first_year..last_year LOOP
        FOREACH parent IN ARRAY ARRAY['attendance_marks', 'attendance_mark_history'] LOOP
            child := format('%s_%s_%s', parent, year, lpad(((year + 1) % 100)::text, 2, '0'));
            IF to_regclass(child) IS NULL THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                    child, parent, make_date(year, 9, 1), make_date(year + 1, 9, 1));
                made := made + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN made;
END
$$;

-- The school years that have a partition of the marks, oldest first (the
-- catalog is readable by every role).
CREATE FUNCTION register_partition_years() RETURNS TABLE (school_year INTEGER)
LANGUAGE sql STABLE AS $$
    SELECT register_school_year(substring(pg_get_expr(c.relpartbound, c.oid)
                                          FROM 'FROM \(''([0-9-]+)''\)')::date)
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'attendance_marks'::regclass
    ORDER BY 1
$$;

-- Detaches and drops one school year's partitions of the marks and their
-- history. The six-year guard of 0025 is a row trigger, which a dropped
-- partition never fires: the same rule is checked here, by the database's own
-- clock, for the year's last day. The caller has already checked every
-- authority's retention and removed what is derived from the year's marks.
-- Waits at most 10 s for the lock (a long read of the marks): the caller then
-- falls back to deleting in batches. Answers whether there was a partition.
CREATE FUNCTION drop_register_school_year(year INTEGER)
RETURNS BOOLEAN LANGUAGE plpgsql SECURITY DEFINER SET lock_timeout = '10s' AS $$
DECLARE
    parent TEXT;
    child TEXT;
    dropped BOOLEAN := false;
BEGIN
    IF make_date(year + 1, 8, 31) > current_date - INTERVAL '6 years' THEN
        RAISE EXCEPTION 'school year %/%: register entries are kept six years from their date',
            year, year + 1;
    END IF;
    FOREACH parent IN ARRAY ARRAY['attendance_mark_history', 'attendance_marks'] LOOP
        child := format('%s_%s_%s', parent, year, lpad(((year + 1) % 100)::text, 2, '0'));
        IF to_regclass(child) IS NOT NULL THEN
            EXECUTE format('ALTER TABLE %I DETACH PARTITION %I', parent, child);
            EXECUTE format('DROP TABLE %I', child);
            dropped := true;
        END IF;
    END LOOP;
    RETURN dropped;
END
$$;

-- Definer's rights: name the schema and keep pg_temp last, so the service's
-- role cannot put its own objects in the functions' way.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION create_register_partitions(INTEGER, INTEGER) SET search_path = %I, pg_temp', current_schema());
    EXECUTE format('ALTER FUNCTION drop_register_school_year(INTEGER) SET search_path = %I, pg_temp', current_schema());
END
$$;
REVOKE ALL ON FUNCTION create_register_partitions(INTEGER, INTEGER) FROM PUBLIC;
REVOKE ALL ON FUNCTION drop_register_school_year(INTEGER) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION create_register_partitions(INTEGER, INTEGER) TO lea_notices_service;
GRANT EXECUTE ON FUNCTION drop_register_school_year(INTEGER) TO lea_notices_service;

-- The years the rows held need, and the current and next school year.
SELECT create_register_partitions(
    LEAST(register_school_year(current_date),
          (SELECT min(register_school_year(mark_date)) FROM attendance_marks_unpartitioned),
          (SELECT min(register_school_year(mark_date)) FROM attendance_mark_history_unpartitioned)),
    GREATEST(register_school_year(current_date) + 1,
             (SELECT max(register_school_year(mark_date)) FROM attendance_marks_unpartitioned),
             (SELECT max(register_school_year(mark_date)) FROM attendance_mark_history_unpartitioned)));

INSERT INTO attendance_marks SELECT * FROM attendance_marks_unpartitioned;
INSERT INTO attendance_mark_history SELECT * FROM attendance_mark_history_unpartitioned;
DROP TABLE attendance_marks_unpartitioned;
DROP TABLE attendance_mark_history_unpartitioned;

-- Keys and indexes on the partitioned tables: every partition, now and later,
-- has its own.
ALTER TABLE attendance_marks
    ADD PRIMARY KEY (authority_code, upn, mark_date, session, school_urn);
ALTER TABLE attendance_mark_history
    ADD PRIMARY KEY (authority_code, upn, mark_date, session, school_urn, replaced_at, record_time);
-- As in 0005: queries repeat these predicates word for word.
CREATE INDEX attendance_marks_unauthorised ON attendance_marks (authority_code, upn, mark_date)
    INCLUDE (session, school_urn, code)
    WHERE category = 3;
CREATE INDEX attendance_marks_late ON attendance_marks (authority_code, upn, mark_date)
    INCLUDE (session, school_urn, code)
    WHERE code = 'L';

-- As in 0025: no register entry younger than six years is deleted.
CREATE TRIGGER attendance_marks_kept_six_years BEFORE DELETE ON attendance_marks
    FOR EACH ROW EXECUTE FUNCTION refuse_young_register_delete();
CREATE TRIGGER attendance_mark_history_kept_six_years BEFORE DELETE ON attendance_mark_history
    FOR EACH ROW EXECUTE FUNCTION refuse_young_register_delete();

-- As in 0008 and 0025. The partitions need no grants: the service reaches them
-- only through these tables.
GRANT SELECT, INSERT, DELETE ON attendance_marks TO lea_notices_service;
GRANT UPDATE (code, category, record_time) ON attendance_marks TO lea_notices_service;
GRANT SELECT, INSERT, DELETE ON attendance_mark_history TO lea_notices_service;

ANALYZE attendance_marks;
ANALYZE attendance_mark_history;
