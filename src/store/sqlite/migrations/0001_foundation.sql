-- Foundation: policy versions, request-id idempotency and the audit log.
-- Same tables as the PostgreSQL schema; dates are ISO 8601 TEXT, booleans INTEGER.
-- Every table leads its primary key (and every foreign key) with authority_code.

CREATE TABLE policy_versions (
    authority_code                      TEXT    NOT NULL CHECK (length(authority_code) = 3),
    effective_from                      TEXT    NOT NULL,
    lower_amount_pence                  INTEGER NOT NULL CHECK (lower_amount_pence > 0),
    lower_period_days                   INTEGER NOT NULL CHECK (lower_period_days > 0),
    higher_amount_pence                 INTEGER NOT NULL CHECK (higher_amount_pence >= lower_amount_pence),
    higher_period_days                  INTEGER NOT NULL CHECK (higher_period_days >= lower_period_days),
    second_notice_amount_pence          INTEGER NOT NULL CHECK (second_notice_amount_pence >= 0),
    threshold_sessions                  INTEGER NOT NULL CHECK (threshold_sessions > 0),
    threshold_window_school_weeks       INTEGER NOT NULL CHECK (threshold_window_school_weeks > 0),
    threshold_qualifying_codes          TEXT    NOT NULL,
    max_notices_per_parent_per_child    INTEGER NOT NULL CHECK (max_notices_per_parent_per_child >= 0),
    notice_limit_period_years           INTEGER NOT NULL,
    notice_to_improve_min_school_weeks  INTEGER NOT NULL CHECK (notice_to_improve_min_school_weeks BETWEEN 3 AND 6),
    notice_to_improve_max_school_weeks  INTEGER NOT NULL CHECK (notice_to_improve_max_school_weeks BETWEEN 3 AND 6),
    notice_to_improve_required_for      TEXT    NOT NULL,
    permitted_issuers                   TEXT    NOT NULL,
    request_deadline_school_days        INTEGER NOT NULL CHECK (request_deadline_school_days >= 0),
    part_payments_accepted              INTEGER NOT NULL,
    created_at                          TEXT    NOT NULL,
    created_by_subject                  TEXT    NOT NULL,
    created_by_role                     TEXT    NOT NULL,
    PRIMARY KEY (authority_code, effective_from)
) STRICT;

CREATE TABLE idempotency_keys (
    authority_code  TEXT NOT NULL,
    request_id      TEXT NOT NULL,
    method          TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    response        BLOB,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (authority_code, request_id)
) STRICT;

CREATE TABLE audit_events (
    authority_code  TEXT    NOT NULL,
    event_id        INTEGER NOT NULL,
    occurred_at     TEXT    NOT NULL,
    actor_subject   TEXT    NOT NULL,
    actor_role      TEXT    NOT NULL,
    action          TEXT    NOT NULL,
    resource        TEXT    NOT NULL,
    request_id      TEXT    NOT NULL,
    details         TEXT    NOT NULL,
    PRIMARY KEY (authority_code, event_id)
) STRICT;

CREATE INDEX audit_events_by_resource ON audit_events (authority_code, resource, event_id);

CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;

CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN
    SELECT RAISE(ABORT, 'audit_events is append-only');
END;
