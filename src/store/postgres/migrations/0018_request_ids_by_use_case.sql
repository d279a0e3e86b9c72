-- Request ids are kept under the name of the use case that claimed them, not
-- the gRPC method it was called through (app::idempotency::UseCase): rename
-- those kept before, so a retry across the upgrade still gets its first answer.
UPDATE idempotency_keys SET method = CASE method
    WHEN '/lea.notices.v1.PolicyService/CreatePolicyVersion' THEN 'create_policy_version'
    WHEN '/lea.notices.v1.PolicyService/CreateAuthoritySettings' THEN 'create_authority_settings'
    WHEN '/lea.notices.v1.AttendanceService/RecordMarks' THEN 'record_marks'
    WHEN '/lea.notices.v1.AttendanceService/RecordBreachDecision' THEN 'record_breach_decision'
    WHEN '/lea.notices.v1.NoticeService/IssueNoticeToImprove' THEN 'issue_notice_to_improve'
    WHEN '/lea.notices.v1.NoticeService/IssuePenaltyNotice' THEN 'issue_penalty_notice'
    WHEN '/lea.notices.v1.NoticeService/WithdrawNotice' THEN 'withdraw_notice'
    WHEN '/lea.notices.v1.NoticeService/RecordProsecutionOutcome' THEN 'record_prosecution_outcome'
    WHEN '/lea.notices.v1.NoticeService/RequestPenaltyNotice' THEN 'request_penalty_notice'
    WHEN '/lea.notices.v1.NoticeService/DeclinePenaltyNoticeRequest' THEN 'decline_penalty_notice_request'
    WHEN '/lea.notices.v1.PaymentService/AllocatePayment' THEN 'allocate_payment'
    WHEN '/lea.notices.v1.SchoolService/ImportSchools' THEN 'import_schools'
    ELSE method END
WHERE method LIKE '/lea.notices.v1.%';
