-- The SQLite baseline of benches/rpc.rs (issue #32; the format is in
-- benches/rpc/sqlite_direct.rs): the statements the server sends for one call,
-- in its order, as its statement log shows them
-- (`cargo bench --bench rpc -- --sqlite --log-statements --notices 800`), with
-- the values it binds read back from the database it kept. Values the server
-- computes in Rust (hashes, salts, JSON details) are literals of the same size.
-- RecordPayment of 100 pence quoting a seeded notice, in one unit: look the
-- provider's id up, read the quoted notice, number the payment (the serial row,
-- in the unit), store it, read the notice again, allocate (a new payment has no
-- allocations to delete), settle the notice's money (its allocations; nothing
-- changes for a part payment), look for measure cases following the notice,
-- read the payment and its allocations back, chain the two audit events
-- (payment.recorded, payment.allocated).

BEGIN IMMEDIATE

-- bind: '850', 'direct-pay-{n}'
SELECT p.payment_id, p.amount_pence, p.paid_date, p.received_at, p.channel, p.provider, p.provider_payment_id, p.payer_reference, p.payer_name, p.request_fingerprint, p.created_at FROM payments p WHERE p.authority_code = $1 AND p.provider_payment_id = $2

-- bind: '850', {notice}
SELECT notice_number, kind, upn, school_urn, pupil_given_name, pupil_family_name, pupil_address_lines, pupil_postcode, parent_person_id, parent_given_name, parent_family_name, parent_address_lines, parent_postcode, related_notices, offence_type, offence_reason, offence_description, sessions, issue_date, issuer_role, issuer_display_name, issuer_official_details, issuer_subject, delivery_method, posting_date, receipt_date, policy_version, second_notice, part_payments_accepted, lower_amount_pence, lower_deadline, higher_amount_pence, higher_deadline, improvement_start_date, improvement_school_weeks, improvement_end_date, improvement_reason, paid_rate, paid_date, withdrawal_ground, withdrawal_reason, withdrawal_date, prosecution_hearing_date, prosecution_court, prosecution_result, prosecution_fine_pence, prosecution_costs_pence, created_at, session_evidence, evidence_corrections, parent_liability_basis, parent_relationship, other_authority_notices, CAST((SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS allocated_pence, CAST((SELECT COALESCE(SUM(a.applied_pence), 0) FROM allocations a WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS applied_pence, CAST((SELECT COALESCE(SUM(r.amount_pence), 0) FROM refunds r WHERE r.authority_code = notices.authority_code AND r.notice_number = notices.notice_number) AS BIGINT) AS refunded_pence, (SELECT s.sen_provision FROM pupil_sen_statuses s WHERE s.authority_code = notices.authority_code AND s.upn = notices.upn AND s.effective_from <= notices.issue_date ORDER BY s.effective_from DESC LIMIT 1) AS sen_provision FROM notices WHERE authority_code = $1 AND notice_number = $2

-- bind: '850', 'payment'
-- into: last_value
INSERT INTO serials (authority_code, series, last_value) VALUES ($1, $2, 1) ON CONFLICT (authority_code, series) DO UPDATE SET last_value = serials.last_value + 1 RETURNING last_value

-- bind: '850', '850-PAY-{last_value:06}', 100, '2025-06-20', '2025-06-20T11:46:40+00:00', 'online', 'govuk-pay', 'direct-pay-{n}', {notice}, 'A Taylor', '6a2ff9c5680f74443a74261d3995729e34a89273fa174594e0f0ea5f0f612eb0', '{now}'
INSERT INTO payments (authority_code, payment_id, amount_pence, paid_date, received_at, channel, provider, provider_payment_id, payer_reference, payer_name, request_fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)

-- bind: '850', {notice}
SELECT notice_number, kind, upn, school_urn, pupil_given_name, pupil_family_name, pupil_address_lines, pupil_postcode, parent_person_id, parent_given_name, parent_family_name, parent_address_lines, parent_postcode, related_notices, offence_type, offence_reason, offence_description, sessions, issue_date, issuer_role, issuer_display_name, issuer_official_details, issuer_subject, delivery_method, posting_date, receipt_date, policy_version, second_notice, part_payments_accepted, lower_amount_pence, lower_deadline, higher_amount_pence, higher_deadline, improvement_start_date, improvement_school_weeks, improvement_end_date, improvement_reason, paid_rate, paid_date, withdrawal_ground, withdrawal_reason, withdrawal_date, prosecution_hearing_date, prosecution_court, prosecution_result, prosecution_fine_pence, prosecution_costs_pence, created_at, session_evidence, evidence_corrections, parent_liability_basis, parent_relationship, other_authority_notices, CAST((SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS allocated_pence, CAST((SELECT COALESCE(SUM(a.applied_pence), 0) FROM allocations a WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS applied_pence, CAST((SELECT COALESCE(SUM(r.amount_pence), 0) FROM refunds r WHERE r.authority_code = notices.authority_code AND r.notice_number = notices.notice_number) AS BIGINT) AS refunded_pence, (SELECT s.sen_provision FROM pupil_sen_statuses s WHERE s.authority_code = notices.authority_code AND s.upn = notices.upn AND s.effective_from <= notices.issue_date ORDER BY s.effective_from DESC LIMIT 1) AS sen_provision FROM notices WHERE authority_code = $1 AND notice_number = $2

-- bind: '850', '850-PAY-{last_value:06}', {notice}, 100
INSERT INTO allocations (authority_code, payment_id, notice_number, amount_pence, applied_pence, refund_due_pence) VALUES ($1, $2, $3, $4, 0, $4)

-- bind: '850', {notice}
SELECT a.payment_id, a.amount_pence, (SELECT p.paid_date FROM payments p WHERE p.authority_code = a.authority_code AND p.payment_id = a.payment_id) AS paid_date, (SELECT p.received_at FROM payments p WHERE p.authority_code = a.authority_code AND p.payment_id = a.payment_id) AS received_at FROM allocations a WHERE a.authority_code = $1 AND a.notice_number = $2 ORDER BY a.payment_id

-- bind: '850', {notice}
SELECT payment_id, applied_pence, refund_due_pence FROM allocations WHERE authority_code = $1 AND notice_number = $2

-- bind: '850', 'authorities/850/notices/{notice}'
SELECT case_number, kind, state, upn, school_urn, opened_on, facts, opened_by_subject, opened_by_role, created_at, version FROM measure_cases WHERE authority_code = $1 AND case_number IN (SELECT case_number FROM measure_case_follows WHERE authority_code = $1 AND resource = $2) ORDER BY case_number

-- bind: '850', '850-PAY-{last_value:06}'
SELECT p.payment_id, p.amount_pence, p.paid_date, p.received_at, p.channel, p.provider, p.provider_payment_id, p.payer_reference, p.payer_name, p.request_fingerprint, p.created_at FROM payments p WHERE p.authority_code = $1 AND p.payment_id = $2

-- bind: '850', '850-PAY-{last_value:06}'
SELECT notice_number, amount_pence, applied_pence, refund_due_pence FROM allocations WHERE authority_code = $1 AND payment_id = $2 ORDER BY notice_number

-- bind: '850', 2, '0000000000000000000000000000000000000000000000000000000000000000'
-- into: last_event_id, last_hash
INSERT INTO audit_chain_heads (authority_code, last_event_id, last_hash) VALUES ($1, $2, $3) ON CONFLICT (authority_code) DO UPDATE SET last_event_id = audit_chain_heads.last_event_id + $2 RETURNING last_event_id, last_hash

-- bind: '850', {last_event_id-1}, '{now}', 'dev-user', 'finance', 'payment.recorded', 'authorities/850/payments/850-PAY-{last_value:06}', 'direct-pay-{n}', '{"allocations":[],"amount_pence":100,"channel":"online","created_at":"2026-12-07T19:16:06.403096Z","paid_date":"2025-06-20","payer_name":"A Taylor","payer_reference":"{notice}","payment_id":"850-PAY-{last_value:06}","provider":"govuk-pay","provider_payment_id":"direct-pay-{n}","received_at":"2025-06-20T11:46:40Z","refunds":[]}', {last_hash}, '000000000000000000000000000000000000000000000006cc623af8783354e7', '0000000000000000000000000000000000000000000000076a99b4b1f77dd0fc', '00000000000000000000000000000000000000000000000808d12e6b76c84d11'
INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details, prev_hash, hash, details_digest, details_salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)

-- bind: '850', {last_event_id}, '{now}', 'dev-user', 'finance', 'payment.allocated', 'authorities/850/notices/{notice}', 'direct-pay-{n}', '{"amount_pence":100,"payment":"authorities/850/payments/850-PAY-{last_value:06}"}', '000000000000000000000000000000000000000000000006cc623af8783354e7', '000000000000000000000000000000000000000000000008a708a824f612c926', '000000000000000000000000000000000000000000000009454021de755d453b', '000000000000000000000000000000000000000000000009e3779b97f4a7c150'
INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details, prev_hash, hash, details_digest, details_salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)

-- bind: '850', '000000000000000000000000000000000000000000000008a708a824f612c926'
UPDATE audit_chain_heads SET last_hash = $2 WHERE authority_code = $1

COMMIT
