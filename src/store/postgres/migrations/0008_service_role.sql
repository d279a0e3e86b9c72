-- Least privilege: migrations run as the role that owns the tables; the service
-- runs as a LOGIN role that is a member of lea_notices_service, which owns
-- nothing and holds exactly the privileges below: the statements in src/store,
-- table by table. It cannot alter or drop a table or a trigger (that takes
-- ownership), cannot UPDATE, DELETE or TRUNCATE the audit log, and cannot UPDATE
-- or DELETE payments, refunds or the register's history. Operators create the
-- login role, for example:
--   CREATE ROLE lea_notices_app LOGIN PASSWORD '...' IN ROLE lea_notices_service;
-- A migration that adds a table grants on it here too (tests/api/privileges.rs
-- lists what each table must grant).

-- Roles are shared by every database of the cluster: created once, by whichever
-- migration gets there first (creating it needs CREATEROLE; without it, a role
-- administrator creates it before the first migration).
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'lea_notices_service') THEN
        CREATE ROLE lea_notices_service NOLOGIN;
    END IF;
EXCEPTION
    -- Another database of the cluster migrating at the same moment created it.
    WHEN duplicate_object OR unique_violation THEN NULL;
END
$$;

DO $$
BEGIN
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO lea_notices_service', current_schema());
END
$$;

GRANT SELECT, INSERT ON policy_versions TO lea_notices_service;

-- A request id is claimed, then its response stored.
GRANT SELECT, INSERT ON idempotency_keys TO lea_notices_service;
GRANT UPDATE (response) ON idempotency_keys TO lea_notices_service;

-- Append-only: the triggers refuse UPDATE, DELETE and TRUNCATE even to the owner.
GRANT SELECT, INSERT ON audit_events TO lea_notices_service;
-- Appending moves the head on.
GRANT SELECT, INSERT ON audit_chain_heads TO lea_notices_service;
GRANT UPDATE (last_event_id, last_hash) ON audit_chain_heads TO lea_notices_service;

-- A notice's facts at issue never change; withdrawal, prosecution and payment
-- status are recorded on it. (Any UPDATE privilege also allows its FOR UPDATE.)
GRANT SELECT, INSERT ON notices TO lea_notices_service;
GRANT UPDATE (withdrawal_ground, withdrawal_reason, withdrawal_date,
              prosecution_hearing_date, prosecution_court, prosecution_result,
              prosecution_fine_pence, prosecution_costs_pence,
              paid_rate, paid_date) ON notices TO lea_notices_service;

GRANT SELECT, INSERT ON serials TO lea_notices_service;
GRANT UPDATE (last_value) ON serials TO lea_notices_service;

-- Money received and paid back is recorded once and never changed.
GRANT SELECT, INSERT ON payments TO lea_notices_service;
GRANT SELECT, INSERT ON refunds TO lea_notices_service;
-- Where a payment's money goes is replaced by AllocatePayment (each change is in
-- the audit log), and how it applies is settled again after every change.
GRANT SELECT, INSERT, DELETE ON allocations TO lea_notices_service;
GRANT UPDATE (applied_pence, refund_due_pence) ON allocations TO lea_notices_service;

-- A later mark replaces the held one, which moves to the history for good.
GRANT SELECT, INSERT ON attendance_marks TO lea_notices_service;
GRANT UPDATE (code, category, record_time) ON attendance_marks TO lea_notices_service;
GRANT SELECT, INSERT ON attendance_mark_history TO lea_notices_service;
GRANT SELECT, INSERT ON attendance_enrolments TO lea_notices_service;
GRANT UPDATE (first_date, last_date) ON attendance_enrolments TO lea_notices_service;
-- A week corrected to no possible session leaves the school's weeks.
GRANT SELECT, INSERT, DELETE ON attendance_school_weeks TO lea_notices_service;
