//! Builders of payments, and the calls that record and read them.

#![allow(dead_code)]

use lea_notices::domain::actor::Role;
use std::collections::HashMap;

use chrono::NaiveDate;
use lea_notices::proto::v1::{self as pb};

use crate::helpers::notices::{Penalty, all_notices, d, issue, proto_date};
use crate::helpers::{TestApp, la_of};

/// One notice per pupil to parent "mum", received 2025-02-03 by hand: lower £80
/// up to 2025-02-23 (day 21), higher £160 up to 2025-03-02 (day 28).
pub(crate) async fn notices(
    app: &TestApp,
    la: &'static str,
    pupils: std::ops::Range<u32>,
) -> Vec<pb::Notice> {
    let mut out = Vec::new();
    for pupil in pupils {
        let mut p = Penalty::holiday(pupil, &["mum"], d(2025, 1, 6), d(2025, 2, 3));
        p.la = la;
        out.extend(
            issue(app, p.request(&format!("issue-{la}-{pupil}")))
                .await
                .unwrap(),
        );
    }
    out
}

pub(crate) fn payment(
    la: &str,
    provider_id: &str,
    amount: i64,
    paid: NaiveDate,
    reference: &str,
    allocations: &[(&str, i64)],
) -> pb::RecordPaymentRequest {
    pb::RecordPaymentRequest {
        parent: format!("authorities/{la}"),
        payment: Some(pb::Payment {
            amount_pence: amount,
            paid_date: proto_date(paid),
            receive_time: Some(prost_types::Timestamp {
                seconds: 1_740_000_000,
                nanos: 0,
            }),
            channel: pb::PaymentChannel::Online as i32,
            provider: "govuk-pay".into(),
            provider_payment_id: provider_id.into(),
            payer_reference: reference.into(),
            payer_name: "J Taylor".into(),
            allocations: allocations
                .iter()
                .map(|(n, a)| pb::Allocation {
                    notice: n.to_string(),
                    amount_pence: *a,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
    }
}

pub(crate) async fn pay(app: &TestApp, request: pb::RecordPaymentRequest) -> pb::Payment {
    app.as_role(la_of(&request.parent), Role::Finance)
        .payments()
        .record_payment(request)
        .await
        .unwrap()
        .into_inner()
        .payment
        .unwrap()
}

pub(crate) async fn get(app: &TestApp, name: &str) -> pb::Notice {
    app.as_role(la_of(name), Role::Finance)
        .notices()
        .get_notice(pb::GetNoticeRequest { name: name.into() })
        .await
        .unwrap()
        .into_inner()
        .notice
        .unwrap()
}

pub(crate) async fn all_payments(app: &TestApp, la: &str) -> Vec<pb::Payment> {
    app.as_role(la, Role::Finance)
        .payments()
        .list_payments(pb::ListPaymentsRequest {
            parent: format!("authorities/{la}"),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .payments
}

/// For every payment, amount = allocated + unallocated; for every notice, its
/// balance agrees with the payments' allocations and refunds, allocated =
/// applied + refund due, and refunded <= refund due.
pub(crate) async fn assert_money_invariants(app: &TestApp, la: &str) {
    let payments = all_payments(app, la).await;
    let mut by_notice: HashMap<String, (i64, i64, i64, i64)> = HashMap::new();
    for p in &payments {
        let allocated: i64 = p.allocations.iter().map(|a| a.amount_pence).sum();
        assert_eq!(
            p.amount_pence,
            allocated + p.unallocated_pence,
            "{}",
            p.name
        );
        assert_eq!(p.allocated_pence, allocated, "{}", p.name);
        for a in &p.allocations {
            assert_eq!(
                a.amount_pence,
                a.applied_pence + a.refund_due_pence,
                "{} on {}",
                p.name,
                a.notice
            );
            let e = by_notice.entry(a.notice.clone()).or_default();
            e.0 += a.amount_pence;
            e.1 += a.applied_pence;
            e.2 += a.refund_due_pence;
        }
        for r in p.refunds.iter().filter(|r| !r.notice.is_empty()) {
            by_notice.entry(r.notice.clone()).or_default().3 += r.amount_pence;
        }
        assert!(p.refundable_pence >= 0, "{}", p.name);
    }
    for n in all_notices(app, la).await {
        let b = n.balance.unwrap();
        let expected = by_notice.get(&n.name).copied().unwrap_or_default();
        assert_eq!(
            (
                b.allocated_pence,
                b.applied_pence,
                b.refund_due_pence,
                b.refunded_pence
            ),
            expected,
            "{}",
            n.name
        );
        assert_eq!(
            b.allocated_pence,
            b.applied_pence + b.refund_due_pence,
            "{}",
            n.name
        );
        assert!(b.refunded_pence <= b.refund_due_pence, "{}", n.name);
    }
}

pub(crate) fn status(n: &pb::Notice) -> (pb::NoticeStatus, pb::PaidRate) {
    (n.status(), n.paid_rate())
}
