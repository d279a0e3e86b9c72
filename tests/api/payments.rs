//! PaymentService through the real API: every pound recorded once, matched,
//! applied at the right rate, and refunded no more than is due.

use lea_notices::domain::actor::Role;

use chrono::NaiveDate;
use lea_notices::domain::identifiers::LaCode;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::notices::{Penalty, d, issue, proto_date, withdraw};
use crate::helpers::payments::*;
use crate::helpers::policy::{create, local_version};
use crate::helpers::{broken_rules, date, on_both_backends};

on_both_backends! {
    async fn the_rate_depends_on_the_day_paid_counted_from_receipt(app) {
        let n = notices(&app, "850", 1..5).await;
        pay(&app, payment("850", "p21", 8_000, d(2025, 2, 23), "", &[(&n[0].name, 8_000)])).await;
        pay(&app, payment("850", "p22", 8_000, d(2025, 2, 24), "", &[(&n[1].name, 8_000)])).await;
        pay(&app, payment("850", "p28", 16_000, d(2025, 3, 2), "", &[(&n[2].name, 16_000)])).await;
        pay(&app, payment("850", "p29", 16_000, d(2025, 3, 3), "", &[(&n[3].name, 16_000)])).await;

        assert_eq!(status(&get(&app, &n[0].name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        let late_lower = get(&app, &n[1].name).await;
        assert_eq!(status(&late_lower), (pb::NoticeStatus::Unpaid, pb::PaidRate::Unspecified));
        assert_eq!(late_lower.balance.unwrap().refund_due_pence, 8_000);
        assert_eq!(status(&get(&app, &n[2].name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Higher));
        assert_eq!(get(&app, &n[3].name).await.balance.unwrap().refund_due_pence, 16_000);

        let due = |day: NaiveDate| {
            let mut client = app.payments();
            let name = n[1].name.clone();
            async move { client.get_amount_due(pb::GetAmountDueRequest { name, date: proto_date(day) }).await.unwrap().into_inner() }
        };
        let day21 = due(d(2025, 2, 23)).await;
        assert_eq!((day21.amount_due_pence, day21.rate(), day21.payable), (8_000, pb::PaidRate::Lower, true));
        assert_eq!(day21.due_by, date(2025, 2, 23));
        let day22 = due(d(2025, 2, 24)).await;
        assert_eq!((day22.amount_due_pence, day22.rate()), (16_000, pb::PaidRate::Higher));
        assert_eq!(day22.due_by, date(2025, 3, 2));
        let day29 = due(d(2025, 3, 3)).await;
        assert!(!day29.payable);
        assert!(day29.not_payable_reason.contains("higher period"), "{}", day29.not_payable_reason);
        assert_money_invariants(&app, "850").await;
    }

    async fn a_hundred_identical_retries_record_one_payment(app) {
        let n = notices(&app, "850", 1..2).await;
        let request = payment("850", "govuk-123", 8_000, d(2025, 2, 10), "", &[(&n[0].name, 8_000)]);
        let calls: Vec<_> = (0..100)
            .map(|_| {
                let mut client = app.payments();
                let request = request.clone();
                tokio::spawn(async move { client.record_payment(request).await.map(|r| r.into_inner().payment.unwrap()) })
            })
            .collect();
        let mut names = std::collections::BTreeSet::new();
        for call in calls {
            names.insert(call.await.unwrap().expect("every retry succeeds").name);
        }
        assert_eq!(names.len(), 1);
        assert_eq!(all_payments(&app, "850").await.len(), 1);
        let events = app.audit_events(&LaCode::parse("850").unwrap(), Some(&n[0].name), 0, 1000).await.unwrap();
        assert_eq!(events.iter().filter(|e| e.action == "notice.paid").count(), 1);

        let mut different = request.clone();
        different.payment.as_mut().unwrap().amount_pence = 9_000;
        different.payment.as_mut().unwrap().allocations[0].amount_pence = 9_000;
        let status = app.payments().record_payment(different).await.unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "PAYMENT_ALREADY_RECORDED");
        assert_eq!(info.metadata["payment"], names.into_iter().next().unwrap());
        let payments = all_payments(&app, "850").await;
        assert_eq!((payments.len(), payments[0].amount_pence), (1, 8_000));
        assert_money_invariants(&app, "850").await;
    }

    async fn one_payment_quoting_four_notices_pays_all_four(app) {
        // Two children, two parents each: four notices.
        let mut family = Vec::new();
        for pupil in [1, 2] {
            family.extend(issue(&app, Penalty::holiday(pupil, &["mum", "dad"], d(2025, 1, 6), d(2025, 2, 3)).request(&format!("f{pupil}"))).await.unwrap());
        }
        assert_eq!(family.len(), 4);
        let reference = family.iter().map(|n| n.notice_number.clone()).collect::<Vec<_>>().join(" / ");
        let p = pay(&app, payment("850", "family", 32_000, d(2025, 2, 14), &reference, &[])).await;
        assert_eq!((p.allocated_pence, p.unallocated_pence), (32_000, 0));
        for n in &family {
            assert_eq!(status(&get(&app, &n.name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower), "{}", n.name);
        }
        assert_money_invariants(&app, "850").await;
    }

    async fn money_matching_nothing_waits_unallocated_then_is_allocated(app) {
        let n = notices(&app, "850", 1..2).await;
        let p = pay(&app, payment("850", "cheque-1", 8_000, d(2025, 2, 12), "school fine for Sam", &[])).await;
        assert_eq!(p.unallocated_pence, 8_000);
        let suspense = |unallocated_only: bool| {
            let mut client = app.payments();
            async move {
                client.list_payments(pb::ListPaymentsRequest { parent: "authorities/850".into(), unallocated_only, ..Default::default() }).await.unwrap().into_inner().payments
            }
        };
        assert_eq!(suspense(true).await.len(), 1);
        let allocated = app.payments().allocate_payment(pb::AllocatePaymentRequest {
            name: p.name.clone(),
            request_id: "alloc-1".into(),
            allocations: vec![pb::Allocation { notice: n[0].name.clone(), amount_pence: 8_000, ..Default::default() }],
            reason: "Matched by the finance team from the cheque stub".into(),
        }).await.unwrap().into_inner().payment.unwrap();
        assert_eq!(allocated.unallocated_pence, 0);
        assert!(suspense(true).await.is_empty());
        assert_eq!(suspense(false).await.len(), 1);
        assert_eq!(status(&get(&app, &n[0].name).await), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        let by_notice = app.payments().list_payments(pb::ListPaymentsRequest { parent: "authorities/850".into(), notice: n[0].name.clone(), ..Default::default() }).await.unwrap().into_inner().payments;
        assert_eq!(by_notice.len(), 1);

        let too_much = app.payments().allocate_payment(pb::AllocatePaymentRequest {
            name: p.name.clone(),
            request_id: "alloc-2".into(),
            allocations: vec![pb::Allocation { notice: n[0].name.clone(), amount_pence: 9_000, ..Default::default() }],
            reason: "typo".into(),
        }).await.unwrap_err();
        assert_eq!(too_much.code(), Code::InvalidArgument);
        assert_money_invariants(&app, "850").await;
    }

    async fn short_late_over_and_withdrawn_money_is_kept_and_refund_due(app) {
        // Hampshire: national default, part payments refused.
        let n = notices(&app, "850", 1..5).await;
        pay(&app, payment("850", "short", 5_000, d(2025, 2, 10), "", &[(&n[0].name, 5_000)])).await;
        pay(&app, payment("850", "over", 10_000, d(2025, 2, 10), "", &[(&n[1].name, 10_000)])).await;
        pay(&app, payment("850", "late", 16_000, d(2025, 3, 10), "", &[(&n[2].name, 16_000)])).await;
        pay(&app, payment("850", "then-withdrawn", 8_000, d(2025, 2, 10), "", &[(&n[3].name, 8_000)])).await;
        assert_eq!(status(&get(&app, &n[3].name).await).0, pb::NoticeStatus::Paid);
        app.notices().withdraw_notice(withdraw(&n[3].name, "w")).await.unwrap();

        let balance = |i: usize| {
            let app = &app;
            let name = n[i].name.clone();
            async move { get(app, &name).await.balance.unwrap() }
        };
        assert_eq!((balance(0).await.applied_pence, balance(0).await.refund_due_pence), (0, 5_000), "short payment refused");
        assert_eq!((balance(1).await.applied_pence, balance(1).await.refund_due_pence), (8_000, 2_000), "overpayment");
        assert_eq!(balance(2).await.refund_due_pence, 16_000, "after the higher period");
        assert_eq!(balance(3).await.refund_due_pence, 8_000, "withdrawn");
        assert_eq!(status(&get(&app, &n[3].name).await).0, pb::NoticeStatus::Withdrawn);
        assert_money_invariants(&app, "850").await;

        // Refunds reduce what is due back and can never exceed it.
        let payments = all_payments(&app, "850").await;
        let short = payments.iter().find(|p| p.provider_payment_id == "short").unwrap();
        let refund = |id: &str, amount: i64| pb::RecordRefundRequest {
            name: short.name.clone(),
            refund: Some(pb::Refund { provider_refund_id: id.into(), amount_pence: amount, refund_date: date(2025, 2, 20), reason: "part payment refused".into(), notice: n[0].name.clone() }),
        };
        let after = app.payments().record_refund(refund("r1", 3_000)).await.unwrap().into_inner().payment.unwrap();
        assert_eq!((after.refunded_pence, after.refundable_pence), (3_000, 2_000));
        assert_eq!(app.payments().record_refund(refund("r1", 3_000)).await.unwrap().into_inner().payment.unwrap().refunded_pence, 3_000, "a retried refund is recorded once");
        assert_eq!(app.payments().record_refund(refund("r1", 2_000)).await.unwrap_err().code(), Code::AlreadyExists);
        assert_eq!(broken_rules(&app.payments().record_refund(refund("r2", 2_001)).await.unwrap_err()), ["REFUND_EXCEEDS_REFUNDABLE"]);
        app.payments().record_refund(refund("r3", 2_000)).await.unwrap();
        let b = balance(0).await;
        assert_eq!((b.refund_due_pence, b.refunded_pence), (5_000, 5_000));
        assert_money_invariants(&app, "850").await;
    }

    async fn a_policy_accepting_part_payments_leaves_the_rest_outstanding(app) {
        let mut southampton = local_version(2024, 9, 1);
        southampton.part_payments_accepted = true;
        app.as_role("852", Role::Admin).policy().create_policy_version(create("authorities/852", "v", southampton)).await.unwrap();
        let n = notices(&app, "852", 1..3).await;
        pay(&app, payment("852", "part-1", 5_000, d(2025, 2, 10), "", &[(&n[0].name, 5_000)])).await;
        let first = get(&app, &n[0].name).await;
        assert_eq!(first.status(), pb::NoticeStatus::Unpaid, "not paid in full by the deadline");
        let b = first.balance.unwrap();
        assert_eq!((b.applied_pence, b.refund_due_pence), (5_000, 0));
        let due = app.as_role("852", Role::Finance).payments().get_amount_due(pb::GetAmountDueRequest { name: n[0].name.clone(), date: date(2025, 2, 20) }).await.unwrap().into_inner();
        assert_eq!(due.amount_due_pence, 3_000);
        pay(&app, payment("852", "part-2", 4_000, d(2025, 2, 20), "", &[(&n[0].name, 4_000)])).await;
        let paid = get(&app, &n[0].name).await;
        assert_eq!(status(&paid), (pb::NoticeStatus::Paid, pb::PaidRate::Lower));
        let b = paid.balance.unwrap();
        assert_eq!((b.applied_pence, b.refund_due_pence), (8_000, 1_000), "the excess over what was due");

        // Part payments accepted: a short payment in time counts; one after the higher period does not.
        pay(&app, payment("852", "part-3", 6_000, d(2025, 2, 28), "", &[(&n[1].name, 6_000)])).await;
        pay(&app, payment("852", "late", 10_000, d(2025, 3, 3), "", &[(&n[1].name, 10_000)])).await;
        let b = get(&app, &n[1].name).await.balance.unwrap();
        assert_eq!((b.applied_pence, b.refund_due_pence), (6_000, 10_000));
        assert_money_invariants(&app, "852").await;
    }
}
