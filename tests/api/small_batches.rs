//! Many small batches as fast as a client can send them, each message in a
//! DATA frame of its own (as grpcio sends them): every call is answered or
//! refused on its own, never cut with the rest of its connection by HTTP/2's
//! guard against floods of small frames (a GOAWAY, `too_many_data_frames`),
//! and other calls on the same connection go on being answered. A call ended
//! by its time limit says what it committed, so the connector resumes there.

use std::time::{Duration, Instant};

use chrono::NaiveDate;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::attendance::{SCHOOL, batch, mark};
use crate::helpers::{TestApp, date};

const BATCHES: usize = 10_000;

/// Batch `n` of one mark: a pupil's session, each batch a different one.
fn one_mark(n: usize) -> pb::RecordMarksRequest {
    let day = NaiveDate::from_ymd_opt(2024, 9, 2).unwrap()
        + chrono::Duration::weeks((n / 200) as i64)
        + chrono::Duration::days((n % 5) as i64);
    let pupil = (n % 200 / 5) as u32 + 1;
    let session = if n.is_multiple_of(2) {
        pb::Session::Am
    } else {
        pb::Session::Pm
    };
    batch(
        &format!("one-{n}"),
        vec![mark(SCHOOL, pupil, day, session, "/", 0)],
    )
}

/// `items` one at a time: the client's encoder flushes each message alone,
/// so each goes in a DATA frame of its own.
fn one_frame_each<T: Send + 'static>(
    items: impl IntoIterator<Item = T, IntoIter: Send + 'static>,
) -> impl tokio_stream::Stream<Item = T> + Send + 'static {
    let items = items.into_iter();
    tokio_stream::StreamExt::then(tokio_stream::iter(items), |item| async move {
        tokio::task::yield_now().await;
        item
    })
}

async fn many_small_batches_are_answered_per_call(backend: Backend) {
    let options = ServeOptions {
        request_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let app = TestApp::spawn_with(backend, options).await;
    let officer = app.as_role("850", Role::LaOfficer);
    // Ordinary calls on the same connection, all along.
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let mut policy = officer.policy();
    let others = tokio::spawn(async move {
        let mut answered = 0;
        while !*stopped.borrow() {
            policy
                .get_policy(pb::GetPolicyRequest {
                    parent: "authorities/850".into(),
                    date: date(2025, 9, 1),
                })
                .await
                .expect("another call on the same connection");
            answered += 1;
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        answered
    });

    let started = Instant::now();
    let call = officer
        .attendance()
        .record_marks(one_frame_each((0..BATCHES).map(one_mark)))
        .await;
    let took = started.elapsed();
    let landed = match &call {
        Ok(response) => response.get_ref().batch_results.len(),
        Err(status) => {
            // Its own end (its time limit), never the connection's, saying
            // what it committed.
            assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
            let info = status.get_details_error_info().expect("ErrorInfo");
            assert_eq!(info.reason, "STREAM_TIME_LIMIT");
            let committed: usize = info.metadata["committed_batches"].parse().unwrap();
            assert!(committed > 0, "{status:?}");
            let last = format!("one-{}", committed - 1);
            assert_eq!(info.metadata["last_committed_batch"], last);
            committed
        }
    };
    stop.send(true).unwrap();
    let answered = others.await.unwrap();
    eprintln!(
        "{backend:?}: RecordMarks of {BATCHES} one-mark batches: {:?} after {took:?} \
         ({landed} confirmed); {answered} other calls answered meanwhile",
        call.as_ref().map(|_| ()).map_err(|s| s.code())
    );
    assert!(answered > 0);
    if landed < BATCHES {
        // The connector resumes after the last batch committed: that one is
        // written already (unchanged), the next is new.
        let resumed = officer
            .attendance()
            .record_marks(tokio_stream::iter([one_mark(landed - 1), one_mark(landed)]))
            .await
            .unwrap()
            .into_inner();
        let counts: Vec<(i64, i64)> = resumed
            .batch_results
            .iter()
            .map(|r| (r.inserted, r.unchanged))
            .collect();
        assert_eq!(counts, [(0, 1), (1, 0)]);
    }

    // RecordMarksStream answers each batch as it commits: a connector always
    // knows what landed, whatever ends the call.
    let started = Instant::now();
    let batches = (0..BATCHES).map(|n| {
        let b = one_mark(n);
        pb::RecordMarksStreamRequest {
            parent: b.parent,
            request_id: b.request_id,
            marks: b.marks,
            sen_statuses: b.sen_statuses,
        }
    });
    let mut answers = officer
        .attendance()
        .record_marks_stream(one_frame_each(batches))
        .await
        .unwrap()
        .into_inner();
    let mut confirmed = 0;
    let end = loop {
        match answers.message().await {
            Ok(Some(answer)) => {
                let result = answer.batch_result.unwrap();
                assert_eq!(result.request_id, format!("one-{confirmed}"));
                confirmed += 1;
            }
            Ok(None) => break None,
            Err(status) => break Some(status),
        }
    };
    eprintln!(
        "{backend:?}: RecordMarksStream of {BATCHES} one-mark batches: {:?} after {:?} \
         ({confirmed} confirmed)",
        end.as_ref().map(|s| s.code()),
        started.elapsed()
    );
    match end {
        None => assert_eq!(confirmed, BATCHES),
        // The stream's time limit: the rest go on a new call.
        Some(status) => assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_batches_are_answered_per_call_sqlite() {
    many_small_batches_are_answered_per_call(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_small_batches_are_answered_per_call_postgres() {
    many_small_batches_are_answered_per_call(Backend::Postgres).await;
}
