//! Many officers at once, and calls that go away half-way: with a pool smaller
//! than the number of calls, every call holds at most one connection, and a call
//! cancelled by its client or cut by the server's timeout never leaves a dirty
//! connection (or half a write) behind.

use std::time::Duration;

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use tokio::task::JoinSet;

use crate::helpers::attendance::{batch, mark};
use crate::helpers::notices::{Penalty, by_hand, d, issuer, parent, pupil};
use crate::helpers::{TestApp, date};

const POOL: u32 = 4;

fn notice_to_improve(n: u32, request_id: &str) -> pb::IssueNoticeToImproveRequest {
    pb::IssueNoticeToImproveRequest {
        parent: "authorities/850".into(),
        request_id: request_id.into(),
        pupil: pupil(n),
        parents: vec![parent("mum")],
        issue_date: date(2027, 1, 4),
        issuer: issuer(pb::IssuerRole::LaOfficer),
        improvement_period: Some(pb::ImprovementPeriod {
            start_date: date(2027, 1, 4),
            school_weeks: 4,
            end_date: None,
            reason: "Attend every session".into(),
        }),
        delivery: by_hand(),
        breach: None,
    }
}

fn penalty(n: u32, request_id: &str) -> pb::IssuePenaltyNoticeRequest {
    Penalty::holiday(n, &["mum"], d(2026, 12, 7), d(2027, 1, 4)).request(request_id)
}

fn payment(provider_id: &str, reference: &str) -> pb::RecordPaymentRequest {
    pb::RecordPaymentRequest {
        parent: "authorities/850".into(),
        payment: Some(pb::Payment {
            amount_pence: 8_000,
            paid_date: date(2027, 1, 4),
            receive_time: Some(prost_types::Timestamp {
                seconds: 1_798_000_000,
                nanos: 0,
            }),
            channel: pb::PaymentChannel::Online as i32,
            provider: "govuk-pay".into(),
            provider_payment_id: provider_id.into(),
            payer_reference: reference.into(),
            payer_name: "J Taylor".into(),
            ..Default::default()
        }),
    }
}

/// `batches` batches of 5,000 new marks (100 pupils, 25 school days each).
fn new_marks(batches: u32) -> Vec<pb::RecordMarksRequest> {
    let first = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap();
    let school_days = (0..)
        .map(|i| first + chrono::Duration::days(i))
        .filter(|d| chrono::Datelike::weekday(d).number_from_monday() <= 5);
    let days: Vec<NaiveDate> = school_days.take(25 * batches as usize).collect();
    days.chunks(25)
        .enumerate()
        .map(|(b, days)| {
            let marks = (1..=100u32)
                .flat_map(|p| days.iter().map(move |day| (p, *day)))
                .flat_map(|(p, day)| {
                    [(pb::Session::Am, "/"), (pb::Session::Pm, "\\")]
                        .map(|(s, code)| mark("116439", p, day, s, code, 60))
                })
                .collect();
            batch(&format!("load-{b}"), marks)
        })
        .collect()
}

/// PostgreSQL sessions on this test's database left inside a transaction.
async fn idle_in_transaction(app: &TestApp) -> i64 {
    let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(app.database_url())
        .await
        .unwrap();
    sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity \
         WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
    )
    .fetch_one(&mut conn)
    .await
    .unwrap()
}

async fn many_officers_issue_at_once_with_a_small_pool(backend: Backend) {
    let app = TestApp::spawn_with_pool(backend, ServeOptions::default(), POOL).await;
    let officer = app.as_role("850", Role::LaOfficer);
    let mut calls = JoinSet::new();
    for n in 1..=50 {
        let mut notices = officer.notices();
        calls.spawn(async move {
            let issued = notices
                .issue_penalty_notice(penalty(n, &format!("p{n}")))
                .await;
            issued.map(|r| r.into_inner().notices)
        });
        let mut notices = officer.notices();
        calls.spawn(async move {
            let request = notice_to_improve(100 + n, &format!("n{n}"));
            let issued = notices.issue_notice_to_improve(request).await;
            issued.map(|r| r.into_inner().notices)
        });
    }
    let mut numbers = std::collections::BTreeSet::new();
    while let Some(call) = calls.join_next().await {
        let issued = call.unwrap().expect("every issue succeeds");
        numbers.extend(issued.into_iter().map(|n| n.notice_number));
    }
    assert_eq!(numbers.len(), 100, "100 notices, each with its own number");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_issuers_of_each_kind_with_four_connections_sqlite() {
    many_officers_issue_at_once_with_a_small_pool(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_issuers_of_each_kind_with_four_connections_postgres() {
    many_officers_issue_at_once_with_a_small_pool(Backend::Postgres).await;
}

/// Calls `call` with a client deadline of `ms` and drops it when the deadline
/// passes; whether it finished first is up to the machine.
async fn with_deadline<T>(
    ms: u64,
    call: impl Future<Output = Result<T, tonic::Status>>,
) -> Option<T> {
    tokio::time::timeout(Duration::from_millis(ms), call)
        .await
        .ok()
        .and_then(Result::ok)
}

fn deadline<T>(message: T, ms: u64) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    request.set_timeout(Duration::from_millis(ms));
    request
}

async fn cancelled_calls_leave_the_pool_clean(backend: Backend) {
    // A request timeout short enough that a large import is cut by the server.
    let options = ServeOptions {
        request_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let app = TestApp::spawn_with_pool(backend, options, POOL).await;
    let officer = app.as_role("850", Role::LaOfficer);
    let finance = app.as_role("850", Role::Finance);
    let issued = officer
        .notices()
        .issue_penalty_notice(penalty(1, "first"))
        .await
        .unwrap()
        .into_inner()
        .notices;
    let notice = issued[0].clone();

    // Clients that give up mid-write: streams of new marks (COPY on PostgreSQL),
    // payments and notices, each with a deadline of a few milliseconds.
    for (i, ms) in [30u64, 60, 90].into_iter().enumerate() {
        let stream = tokio_stream::iter(new_marks(4).into_iter().map(move |mut b| {
            b.request_id = format!("{}-{i}", b.request_id);
            b
        }));
        let mut attendance = officer.attendance();
        with_deadline(ms, attendance.record_marks(deadline(stream, ms))).await;
    }
    for i in 0..20u64 {
        let mut payments = finance.payments();
        let request = payment(&format!("cancelled-{i}"), &notice.notice_number);
        with_deadline(
            1 + i % 7,
            payments.record_payment(deadline(request, 1 + i % 7)),
        )
        .await;
        let mut notices = officer.notices();
        let request = penalty(10 + i as u32, &format!("cancelled-notice-{i}"));
        with_deadline(
            1 + i % 5,
            notices.issue_penalty_notice(deadline(request, 1 + i % 5)),
        )
        .await;
    }
    // An import longer than the server's request timeout is cut by the server.
    let cut = officer
        .attendance()
        .record_marks(tokio_stream::iter(new_marks(60)))
        .await
        .expect_err("cut by the request timeout");
    // The server answers DEADLINE_EXCEEDED and resets the stream it is still
    // being sent; a client may see either.
    assert!(
        cut.code() == tonic::Code::DeadlineExceeded || cut.message().contains("h2 protocol error"),
        "{cut:?}"
    );
    // Units already under way finish on their own tasks: wait (at most 20 s)
    // until every connection is back in the pool.
    for _ in 0..200 {
        let (size, idle) = app.store.pool_usage();
        if idle == size as usize {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // 100 ordinary calls on the same pool, all answered.
    for i in 0..25u32 {
        let got = officer
            .notices()
            .get_notice(pb::GetNoticeRequest {
                name: notice.name.clone(),
            })
            .await
            .expect("GetNotice after the cancellations")
            .into_inner();
        assert_eq!(got.notice.unwrap().notice_number, notice.notice_number);
        finance
            .payments()
            .record_payment(payment(&format!("after-{i}"), "no reference"))
            .await
            .expect("RecordPayment after the cancellations");
        officer
            .notices()
            .issue_penalty_notice(penalty(200 + i, &format!("after-{i}")))
            .await
            .expect("IssuePenaltyNotice after the cancellations");
        officer
            .attendance()
            .record_marks(tokio_stream::iter(vec![batch(
                &format!("marks-after-{i}"),
                vec![mark(
                    "116439",
                    300 + i,
                    // Not the week the notices claim: the school sent no
                    // registers for that one, so the claims stand.
                    d(2026, 12, 14),
                    pb::Session::Am,
                    "/",
                    60,
                )],
            )]))
            .await
            .expect("RecordMarks after the cancellations");
    }

    // A payment whose call was cancelled is either recorded once or not at all:
    // recording it again gives one payment per provider id.
    for i in 0..20u64 {
        let again = finance
            .payments()
            .record_payment(payment(&format!("cancelled-{i}"), &notice.notice_number))
            .await
            .expect("a retry of a cancelled payment")
            .into_inner();
        assert_eq!(
            again.payment.unwrap().provider_payment_id,
            format!("cancelled-{i}")
        );
    }
    let listed = finance
        .payments()
        .list_payments(pb::ListPaymentsRequest {
            parent: "authorities/850".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .payments;
    assert_eq!(listed.len(), 45, "20 cancelled then retried, 25 after");
    if backend == Backend::Postgres {
        assert_eq!(
            idle_in_transaction(&app).await,
            0,
            "no session left in a transaction"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_and_timed_out_calls_leave_the_pool_clean_sqlite() {
    cancelled_calls_leave_the_pool_clean(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelled_and_timed_out_calls_leave_the_pool_clean_postgres() {
    cancelled_calls_leave_the_pool_clean(Backend::Postgres).await;
}
