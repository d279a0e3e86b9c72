-- Payments received, where their money went, and refunds paid back.
-- applied_pence and refund_due_pence on an allocation are derived by the rules in
-- src/domain/payment.rs and rewritten in the same transaction as any change to the
-- notice's money; amount = applied + refund due on every allocation.

CREATE TABLE payments (
    authority_code        TEXT    NOT NULL,
    payment_id            TEXT    NOT NULL,
    amount_pence          INTEGER  NOT NULL CHECK (amount_pence > 0),
    paid_date             TEXT    NOT NULL,
    received_at           TEXT    NOT NULL,
    channel               TEXT    NOT NULL,
    provider              TEXT    NOT NULL,
    provider_payment_id   TEXT    NOT NULL,
    payer_reference       TEXT    NOT NULL,
    payer_name            TEXT    NOT NULL,
    request_fingerprint   TEXT    NOT NULL,
    created_at            TEXT    NOT NULL,
    PRIMARY KEY (authority_code, payment_id),
    -- The provider's payment id is the idempotency key of RecordPayment.
    UNIQUE (authority_code, provider_payment_id)
) STRICT;

CREATE INDEX payments_by_paid_date ON payments (authority_code, paid_date, payment_id);

CREATE TABLE allocations (
    authority_code      TEXT    NOT NULL,
    payment_id          TEXT    NOT NULL,
    notice_number       TEXT    NOT NULL,
    amount_pence        INTEGER  NOT NULL CHECK (amount_pence > 0),
    applied_pence       INTEGER  NOT NULL CHECK (applied_pence >= 0),
    refund_due_pence    INTEGER  NOT NULL CHECK (refund_due_pence >= 0),
    PRIMARY KEY (authority_code, payment_id, notice_number),
    FOREIGN KEY (authority_code, payment_id) REFERENCES payments (authority_code, payment_id),
    FOREIGN KEY (authority_code, notice_number) REFERENCES notices (authority_code, notice_number),
    CHECK (applied_pence + refund_due_pence = amount_pence)
) STRICT;

CREATE INDEX allocations_by_notice ON allocations (authority_code, notice_number);

CREATE TABLE refunds (
    authority_code      TEXT    NOT NULL,
    payment_id          TEXT    NOT NULL,
    provider_refund_id  TEXT    NOT NULL,
    amount_pence        INTEGER  NOT NULL CHECK (amount_pence > 0),
    refund_date         TEXT    NOT NULL,
    reason              TEXT    NOT NULL,
    -- The notice whose refund due it settles; NULL for unallocated money.
    notice_number       TEXT,
    request_fingerprint TEXT    NOT NULL,
    created_at          TEXT    NOT NULL,
    PRIMARY KEY (authority_code, payment_id, provider_refund_id),
    FOREIGN KEY (authority_code, payment_id) REFERENCES payments (authority_code, payment_id),
    FOREIGN KEY (authority_code, notice_number) REFERENCES notices (authority_code, notice_number)
) STRICT;

CREATE INDEX refunds_by_notice ON refunds (authority_code, notice_number);
