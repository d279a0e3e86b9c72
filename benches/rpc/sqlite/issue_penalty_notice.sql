-- The SQLite baseline of benches/rpc.rs (issue #32; the format is in
-- benches/rpc/sqlite_direct.rs): the statements the server sends for one call,
-- in its order, as its statement log shows them
-- (`cargo bench --bench rpc -- --sqlite --log-statements --notices 800`), with
-- the values it binds read back from the database it kept. Values the server
-- computes in Rust (hashes, salts, JSON details) are literals of the same size.
-- IssuePenaltyNotice, one parent: first a unit of its own looking up the
-- authorities sharing notices with this one (850 shares with none: BEGIN
-- IMMEDIATE, one read, a COMMIT that writes nothing), then the issue's unit:
-- claim the request id, read the policy, the pupil's marks, enrolments and
-- school's weeks, the pupil's notices, number the notice (the serial row, in
-- the unit), the pupil's SEN statuses, store the notice, look for the pending
-- breach it closes (latest school weeks on the issue date and on the last
-- session cited), complete the request id, chain the audit event. Pupils and
-- request ids are unique to the iteration (`{n}`).

BEGIN IMMEDIATE

-- bind: '850'
SELECT effective_from, shares_with, created_at, created_by_subject, created_by_role FROM sharing_agreement_versions WHERE authority_code = $1 ORDER BY effective_from

COMMIT

BEGIN IMMEDIATE

-- bind: '850', 'direct-{n}', 'issue_penalty_notice', 'e2f55f84f277c39a3d07470f113f190cd9d229479e8dea75df699cd40c3cd153', '{now}'
INSERT INTO idempotency_keys (authority_code, request_id, method, fingerprint, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING

-- bind: '850', NULL, 9223372036854775807
SELECT effective_from, lower_amount_pence, lower_period_days, higher_amount_pence, higher_period_days, second_notice_amount_pence, threshold_sessions, threshold_window_school_weeks, threshold_qualifying_codes, max_notices_per_parent_per_child, notice_limit_period_years, notice_to_improve_min_school_weeks, notice_to_improve_max_school_weeks, notice_to_improve_required_for, permitted_issuers, request_deadline_school_days, part_payments_accepted, evidence_rule, created_at, created_by_subject, created_by_role, school_requests_accepted, lower_rate_warning_days FROM policy_versions WHERE authority_code = $1 AND ($2 IS NULL OR effective_from > $2) ORDER BY effective_from LIMIT $3

-- bind: '850', 'D85020{n:07}', '2025-06-02', '2025-06-06'
SELECT upn, school_urn, mark_date, session, code FROM attendance_marks WHERE authority_code = $1 AND upn = $2 AND mark_date BETWEEN $3 AND $4 ORDER BY mark_date, session, school_urn

-- bind: '850', 'D85020{n:07}'
SELECT school_urn FROM attendance_enrolments WHERE authority_code = $1 AND upn = $2 ORDER BY school_urn

-- bind: '850', '116439', '2025-06-02', '2025-06-06'
SELECT week_start, 0 FROM attendance_school_weeks WHERE authority_code = $1 AND school_urn = $2 AND week_start BETWEEN $3 AND $4 UNION ALL SELECT * FROM (SELECT week_start, 1 FROM attendance_school_weeks WHERE authority_code = $1 AND school_urn = $2 ORDER BY week_start LIMIT 1) f UNION ALL SELECT * FROM (SELECT week_start, 2 FROM attendance_school_weeks WHERE authority_code = $1 AND school_urn = $2 ORDER BY week_start DESC LIMIT 1) l

-- bind: '850', 'D85020{n:07}'
SELECT notice_number, kind, upn, school_urn, pupil_given_name, pupil_family_name, pupil_address_lines, pupil_postcode, parent_person_id, parent_given_name, parent_family_name, parent_address_lines, parent_postcode, related_notices, offence_type, offence_reason, offence_description, sessions, issue_date, issuer_role, issuer_display_name, issuer_official_details, issuer_subject, delivery_method, posting_date, receipt_date, policy_version, second_notice, part_payments_accepted, lower_amount_pence, lower_deadline, higher_amount_pence, higher_deadline, improvement_start_date, improvement_school_weeks, improvement_end_date, improvement_reason, paid_rate, paid_date, withdrawal_ground, withdrawal_reason, withdrawal_date, prosecution_hearing_date, prosecution_court, prosecution_result, prosecution_fine_pence, prosecution_costs_pence, created_at, session_evidence, evidence_corrections, parent_liability_basis, parent_relationship, other_authority_notices, CAST((SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS allocated_pence, CAST((SELECT COALESCE(SUM(a.applied_pence), 0) FROM allocations a WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS applied_pence, CAST((SELECT COALESCE(SUM(r.amount_pence), 0) FROM refunds r WHERE r.authority_code = notices.authority_code AND r.notice_number = notices.notice_number) AS BIGINT) AS refunded_pence, (SELECT s.sen_provision FROM pupil_sen_statuses s WHERE s.authority_code = notices.authority_code AND s.upn = notices.upn AND s.effective_from <= notices.issue_date ORDER BY s.effective_from DESC LIMIT 1) AS sen_provision FROM notices WHERE authority_code = $1 AND upn = $2 ORDER BY issue_date, notice_number

-- bind: '850', 'notice-2025'
-- into: last_value
INSERT INTO serials (authority_code, series, last_value) VALUES ($1, $2, 1) ON CONFLICT (authority_code, series) DO UPDATE SET last_value = serials.last_value + 1 RETURNING last_value

-- bind: '850', '["D85020{n:07}"]'
SELECT upn, effective_from, sen_provision, source FROM pupil_sen_statuses WHERE authority_code = $1 AND upn IN (SELECT value FROM json_each($2)) ORDER BY upn, effective_from

-- bind: '850', '850-2025-{last_value:06}', 'penalty_notice', 'D85020{n:07}', '116439', 'Sam', 'Taylor', '["1 High Street","Winchester"]', 'SO23 8UJ', 'p-{n}', 'Alex', 'Taylor', '["1 High Street","Winchester"]', 'SO23 8UJ', '850-2025-{last_value:06}', 's444_attendance', 'holiday', 'Term-time holiday', '[{"date":"2025-06-02","session":"am","code":"G"},{"date":"2025-06-02","session":"pm","code":"G"},{"date":"2025-06-03","session":"am","code":"G"},{"date":"2025-06-03","session":"pm","code":"G"},{"date":"2025-06-04","session":"am","code":"G"},{"date":"2025-06-04","session":"pm","code":"G"},{"date":"2025-06-05","session":"am","code":"G"},{"date":"2025-06-05","session":"pm","code":"G"},{"date":"2025-06-06","session":"am","code":"G"},{"date":"2025-06-06","session":"pm","code":"G"}]', '2025-06-16', 'la_officer', 'J. Jones', 'Attendance Enforcement Officer', 'dev-user', 'hand', NULL, '2025-06-16', 'nationalRegimes/2024-08-19', false, false, 8000, '2025-07-06', 16000, '2025-07-13', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '{now}', '[{"date":"2025-06-02","session":"am","claimed_code":"G","held":null},{"date":"2025-06-02","session":"pm","claimed_code":"G","held":null},{"date":"2025-06-03","session":"am","claimed_code":"G","held":null},{"date":"2025-06-03","session":"pm","claimed_code":"G","held":null},{"date":"2025-06-04","session":"am","claimed_code":"G","held":null},{"date":"2025-06-04","session":"pm","claimed_code":"G","held":null},{"date":"2025-06-05","session":"am","claimed_code":"G","held":null},{"date":"2025-06-05","session":"pm","claimed_code":"G","held":null},{"date":"2025-06-06","session":"am","claimed_code":"G","held":null},{"date":"2025-06-06","session":"pm","claimed_code":"G","held":null}]', '[]', 'parental_responsibility', 'mother', '[]'
INSERT INTO notices (authority_code, notice_number, kind, upn, school_urn, pupil_given_name, pupil_family_name, pupil_address_lines, pupil_postcode, parent_person_id, parent_given_name, parent_family_name, parent_address_lines, parent_postcode, related_notices, offence_type, offence_reason, offence_description, sessions, issue_date, issuer_role, issuer_display_name, issuer_official_details, issuer_subject, delivery_method, posting_date, receipt_date, policy_version, second_notice, part_payments_accepted, lower_amount_pence, lower_deadline, higher_amount_pence, higher_deadline, improvement_start_date, improvement_school_weeks, improvement_end_date, improvement_reason, paid_rate, paid_date, withdrawal_ground, withdrawal_reason, withdrawal_date, prosecution_hearing_date, prosecution_court, prosecution_result, prosecution_fine_pence, prosecution_costs_pence, created_at, session_evidence, evidence_corrections, parent_liability_basis, parent_relationship, other_authority_notices) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51, $52, $53, $54)

-- bind: '850', '2025-06-16', 10, 'D85020{n:07}'
SELECT school_urn, week_start FROM ( SELECT school_urn, week_start, ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY week_start DESC) AS back FROM attendance_school_weeks WHERE authority_code = $1 AND week_start <= $2 AND school_urn IN (SELECT school_urn FROM attendance_enrolments WHERE authority_code = $1 AND upn = $4)) w WHERE back <= $3

-- bind: '850', '2025-06-02', 10, 'D85020{n:07}'
SELECT school_urn, week_start FROM ( SELECT school_urn, week_start, ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY week_start DESC) AS back FROM attendance_school_weeks WHERE authority_code = $1 AND week_start <= $2 AND school_urn IN (SELECT school_urn FROM attendance_enrolments WHERE authority_code = $1 AND upn = $4)) w WHERE back <= $3

-- bind: '850', 'direct-{n}', x'7b226e6f7469636573223a5b223835302d323032352d303030323032225d7d'
UPDATE idempotency_keys SET response = $3 WHERE authority_code = $1 AND request_id = $2

-- bind: '850', 1, '0000000000000000000000000000000000000000000000000000000000000000'
-- into: last_event_id, last_hash
INSERT INTO audit_chain_heads (authority_code, last_event_id, last_hash) VALUES ($1, $2, $3) ON CONFLICT (authority_code) DO UPDATE SET last_event_id = audit_chain_heads.last_event_id + $2 RETURNING last_event_id, last_hash

-- bind: '850', {last_event_id}, '{now}', 'dev-user', 'la_officer', 'notice.penalty_notice_issued', 'authorities/850/notices/850-2025-{last_value:06}', 'direct-{n}', '{"charges":{"higher_amount_pence":16000,"higher_deadline":"2025-07-13","lower_amount_pence":8000,"lower_deadline":"2025-07-06"},"created_at":"2026-12-07T19:16:05.181690Z","delivery":{"method":"hand","posting_date":null},"evidence_corrections":[],"improvement_period":null,"issue_date":"2025-06-16","issuer":{"display_name":"J. Jones","official_details":"Attendance Enforcement Officer","role":"la_officer","subject":"dev-user"},"kind":"penalty_notice","money":{"allocated_pence":0,"applied_pence":0,"refunded_pence":0},"notice_number":"850-2025-{last_value:06}","offence":{"description":"Term-time holiday","offence_type":"s444_attendance","reason":"holiday"},"other_authority_notices":[],"parent":{"address":{"lines":["1 High Street","Winchester"],"postcode":"SO23 8UJ"},"family_name":"Taylor","given_name":"Alex","liability":{"basis":"parental_responsibility","relationship":"mother"},"person_id":"p-{n}"},"part_payments_accepted":false,"policy_version":"nationalRegimes/2024-08-19","prosecution":null,"pupil":{"address":{"lines":["1 High Street","Winchester"],"postcode":"SO23 8UJ"},"family_name":"Taylor","given_name":"Sam","school_urn":"116439","upn":"D85020{n:07}"},"receipt_date":"2025-06-16","related_notices":[],"second_notice":false,"session_evidence":[{"claimed_code":"G","date":"2025-06-02","held":null,"session":"am"},{"claimed_code":"G","date":"2025-06-02","held":null,"session":"pm"},{"claimed_code":"G","date":"2025-06-03","held":null,"session":"am"},{"claimed_code":"G","date":"2025-06-03","held":null,"session":"pm"},{"claimed_code":"G","date":"2025-06-04","held":null,"session":"am"},{"claimed_code":"G","date":"2025-06-04","held":null,"session":"pm"},{"claimed_code":"G","date":"2025-06-05","held":null,"session":"am"},{"claimed_code":"G","date":"2025-06-05","held":null,"session":"pm"},{"claimed_code":"G","date":"2025-06-06","held":null,"session":"am"},{"claimed_code":"G","date":"2025-06-06","held":null,"session":"pm"}],"sessions":[{"code":"G","date":"2025-06-02","session":"am"},{"code":"G","date":"2025-06-02","session":"pm"},{"code":"G","date":"2025-06-03","session":"am"},{"code":"G","date":"2025-06-03","session":"pm"},{"code":"G","date":"2025-06-04","session":"am"},{"code":"G","date":"2025-06-04","session":"pm"},{"code":"G","date":"2025-06-05","session":"am"},{"code":"G","date":"2025-06-05","session":"pm"},{"code":"G","date":"2025-06-06","session":"am"},{"code":"G","date":"2025-06-06","session":"pm"}],"settlement":null,"withdrawal":null}', {last_hash}, '000000000000000000000000000000000000000000000004f1bbcdcbfa53e0a8', '0000000000000000000000000000000000000000000000058ff34785799e5cbd', '0000000000000000000000000000000000000000000000062e2ac13ef8e8d8d2'
INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details, prev_hash, hash, details_digest, details_salt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)

-- bind: '850', '000000000000000000000000000000000000000000000004f1bbcdcbfa53e0a8'
UPDATE audit_chain_heads SET last_hash = $2 WHERE authority_code = $1

COMMIT
