//! An overload of calls whose callers give up: writes are held (a lock taken by
//! the test) while an open loop of RecordPayment calls with 50 ms deadlines
//! arrives, far past what the server can do. The calls in progress (their units
//! of work included) never pass the server's limit, the rest are refused
//! RESOURCE_EXHAUSTED at once, the units whose callers left before they began
//! never start (and are counted), and once the writes are free an ordinary call
//! is answered at once, not after a backlog. On the server binary run as a child
//! process, so its metrics are its own.

use std::time::{Duration, Instant};

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use tokio::task::JoinSet;
use tonic::Code;

use crate::child::ChildServer;
use crate::helpers::notices::d;
use crate::helpers::payments::payment;
use crate::load::Held;

const LIMIT: usize = 16;
const CALLS: usize = 600;

async fn payments_recorded(finance: &crate::helpers::As) -> usize {
    finance
        .payments()
        .list_payments(pb::ListPaymentsRequest {
            parent: "authorities/850".into(),
            page_size: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .payments
        .len()
}

/// RecordPayment calls that ended with `code`, as the server counted them.
async fn counted(server: &ChildServer, code: &str) -> f64 {
    let code = format!(r#"grpc_code="{code}""#);
    let labels = [r#"grpc_method="RecordPayment""#, code.as_str()];
    server.metric("grpc_server_handled_total", &labels).await
}

async fn abandoned_calls_do_not_pile_up(backend: Backend) {
    let limit = LIMIT.to_string();
    let server = ChildServer::spawn(
        backend,
        &[("LEA_NOTICES_MAX_CONCURRENT_REQUESTS", limit.as_str())],
    )
    .await;
    let token = server.token("850", Role::Finance).await;
    let finance = crate::helpers::As::new(server.channel().await, &token);
    let paid = d(2025, 2, 19);
    // The first payment (and, on PostgreSQL, the authority's audit chain head).
    finance
        .payments()
        .record_payment(payment("850", "first", 100, paid, "", &[]))
        .await
        .unwrap();
    let held = Held::take_on(backend, &server.database_url()).await;

    // An open loop: a call every 2 ms on four connections, each giving up
    // after 50 ms, whatever the server does.
    let mut connections = Vec::new();
    for _ in 0..4 {
        connections.push(crate::helpers::As::new(server.channel().await, &token));
    }
    let mut calls = JoinSet::new();
    let mut ticks = tokio::time::interval(Duration::from_millis(2));
    for n in 0..CALLS {
        ticks.tick().await;
        let mut client = connections[n % 4].payments();
        calls.spawn(async move {
            let mut request =
                tonic::Request::new(payment("850", &format!("gone-{n}"), 100, paid, "", &[]));
            request.set_timeout(Duration::from_millis(50));
            client.record_payment(request).await.map(|_| ())
        });
    }
    let (mut refused, mut gone) = (0, 0);
    while let Some(call) = calls.join_next().await {
        match call.unwrap() {
            Err(s) if s.code() == Code::ResourceExhausted => refused += 1,
            Err(s) if matches!(s.code(), Code::DeadlineExceeded | Code::Cancelled) => gone += 1,
            // On a loaded machine the caller's own transport can fail its
            // abandoned call first (a broken pipe as the stream is reset):
            // gone too, and never an answer from the server.
            Err(s) if s.code() == Code::Unknown && s.message() == "transport error" => gone += 1,
            other => panic!("{other:?}"),
        }
    }
    held.release().await;
    let released = Instant::now();
    // The next ordinary call, retried on RESOURCE_EXHAUSTED as the message
    // says: the permits come back as the waiting units find their callers gone.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let call = finance
            .payments()
            .record_payment(payment("850", "ordinary", 100, paid, "", &[]))
            .await;
        match call {
            Ok(_) => break,
            Err(s) if s.code() == Code::ResourceExhausted => {
                tokio::time::sleep(Duration::from_millis(20)).await
            }
            Err(s) => panic!("an ordinary call after the overload: {s:?}"),
        }
    }
    let waited = released.elapsed();
    // Before this fix the backlog of every abandoned call (hundreds) was
    // written first, for seconds; now at most LIMIT units, most never started.
    assert!(
        waited < Duration::from_secs(1),
        "the next ordinary call waited {waited:?} ({attempts} attempts)"
    );

    let idle = server.metric_settles("lea_rpc_in_flight", &[], 0.0).await;
    assert_eq!(idle, 0.0, "{}", server.scrape().await);
    // As the server saw them: the calls admitted stayed few (the units of
    // LIMIT of them waited for the writes, keeping their permits after their
    // callers had gone; a call the loaded server reached only after its
    // deadline held one for a moment), the rest were refused at once. (The
    // client's own count also has calls it gave up on before an answer came.)
    let admitted = counted(&server, "DeadlineExceeded").await + counted(&server, "Canceled").await;
    let shed = counted(&server, "ResourceExhausted").await;
    assert!(
        admitted <= (CALLS / 4) as f64,
        "{admitted} calls admitted, {shed} refused: the limit did not hold\n{}",
        server
            .scrape()
            .await
            .lines()
            .filter(|l| l.contains("RecordPayment") && !l.contains("bucket"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(shed >= (CALLS / 2) as f64, "{shed} refused");
    assert!(refused as f64 <= shed + attempts as f64);
    assert_eq!(counted(&server, "OK").await, 2.0);
    let recorded = payments_recorded(&finance).await;
    // SQLite's waiters poll for the lock: give them time to see it free.
    let mut not_started = 0.0;
    for _ in 0..100 {
        not_started = server
            .metric(
                "lea_rpc_units_not_started_total",
                &[r#"grpc_method="RecordPayment""#],
            )
            .await;
        if not_started >= 1.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    match backend {
        // Every admitted unit waited for the write lock to begin: none began.
        Backend::Sqlite => assert_eq!(recorded, 2, "only the two ordinary payments"),
        // A unit begins at once and waits at its commit: those that had a
        // connection before their callers left were written (a write that has
        // begun finishes); the others never started.
        Backend::Postgres => assert!(recorded <= 2 + LIMIT, "{recorded}"),
    }
    assert!(not_started >= 1.0, "{}", server.scrape().await);
    eprintln!(
        "{backend:?}: {CALLS} calls, {shed} refused, {admitted} admitted and abandoned \
         ({gone} given up by the client), {} written, {not_started} never started; \
         the next call answered after {waited:?} ({attempts} attempts)",
        recorded - 2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_calls_do_not_pile_up_sqlite() {
    abandoned_calls_do_not_pile_up(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn abandoned_calls_do_not_pile_up_postgres() {
    abandoned_calls_do_not_pile_up(Backend::Postgres).await;
}
