-- Foundation: policy versions, request-id idempotency and the audit log.
-- Every table leads its primary key (and every foreign key) with authority_code,
-- so the schema can be distributed by authority (Citus) without change.

CREATE TABLE policy_versions (
    authority_code                      TEXT        NOT NULL CHECK (authority_code ~ '^[0-9]{3}$'),
    effective_from                      DATE        NOT NULL,
    lower_amount_pence                  BIGINT      NOT NULL CHECK (lower_amount_pence > 0),
    lower_period_days                   INTEGER     NOT NULL CHECK (lower_period_days > 0),
    higher_amount_pence                 BIGINT      NOT NULL CHECK (higher_amount_pence >= lower_amount_pence),
    higher_period_days                  INTEGER     NOT NULL CHECK (higher_period_days >= lower_period_days),
    second_notice_amount_pence          BIGINT      NOT NULL CHECK (second_notice_amount_pence >= 0),
    threshold_sessions                  INTEGER     NOT NULL CHECK (threshold_sessions > 0),
    threshold_window_school_weeks       INTEGER     NOT NULL CHECK (threshold_window_school_weeks > 0),
    threshold_qualifying_codes          TEXT        NOT NULL,
    max_notices_per_parent_per_child    INTEGER     NOT NULL CHECK (max_notices_per_parent_per_child >= 0),
    notice_limit_period_years           INTEGER     NOT NULL,
    notice_to_improve_min_school_weeks  INTEGER     NOT NULL CHECK (notice_to_improve_min_school_weeks BETWEEN 3 AND 6),
    notice_to_improve_max_school_weeks  INTEGER     NOT NULL CHECK (notice_to_improve_max_school_weeks BETWEEN 3 AND 6),
    notice_to_improve_required_for      TEXT        NOT NULL,
    permitted_issuers                   TEXT        NOT NULL,
    request_deadline_school_days        INTEGER     NOT NULL CHECK (request_deadline_school_days >= 0),
    part_payments_accepted              BOOLEAN     NOT NULL,
    created_at                          TIMESTAMPTZ NOT NULL,
    created_by_subject                  TEXT        NOT NULL,
    created_by_role                     TEXT        NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
);

-- AIP-155 request ids: the first request's fingerprint and encoded response.
CREATE TABLE idempotency_keys (
    authority_code  TEXT        NOT NULL,
    request_id      TEXT        NOT NULL,
    method          TEXT        NOT NULL,
    fingerprint     TEXT        NOT NULL,
    response        BYTEA,
    created_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (authority_code, request_id)
);

-- Append-only record of every change (regulation 20 records and more).
CREATE TABLE audit_events (
    authority_code  TEXT        NOT NULL,
    event_id        BIGINT      GENERATED ALWAYS AS IDENTITY,
    occurred_at     TIMESTAMPTZ NOT NULL,
    actor_subject   TEXT        NOT NULL,
    actor_role      TEXT        NOT NULL,
    action          TEXT        NOT NULL,
    resource        TEXT        NOT NULL,
    request_id      TEXT        NOT NULL,
    details         TEXT        NOT NULL,
    PRIMARY KEY (authority_code, event_id)
);

CREATE INDEX audit_events_by_resource ON audit_events (authority_code, resource, event_id);

CREATE FUNCTION refuse_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_events is append-only';
END
$$;

CREATE TRIGGER audit_events_append_only
    BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_audit_change();

CREATE TRIGGER audit_events_no_truncate
    BEFORE TRUNCATE ON audit_events
    FOR EACH STATEMENT EXECUTE FUNCTION refuse_audit_change();
