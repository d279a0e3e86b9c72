-- A decided breach's state was checked by a constraint listing the states
-- (`state BETWEEN 1 AND 5`), so each new outcome needed a migration. The
-- states are now checked by a trigger whose list the store writes from the
-- domain's own (`BreachState::decided`) at every `migrate`: a new outcome is a
-- Rust change and a `migrate`, no migration of its own.
ALTER TABLE breach_cases DROP CONSTRAINT breach_cases_state_check;

-- Replaced at every migrate with the domain's list (store/postgres/mod.rs).
CREATE FUNCTION breach_state_known() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'unknown breach state %', NEW.state USING ERRCODE = 'check_violation';
END $$;

CREATE TRIGGER breach_cases_state_known BEFORE INSERT OR UPDATE OF state ON breach_cases
    FOR EACH ROW EXECUTE FUNCTION breach_state_known();
