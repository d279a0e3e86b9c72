//! Streams of mark batches that end part-way: every batch's result carries its
//! request id, a failed stream says what it had committed (with a
//! google.rpc.Status that matches the call's), RecordMarksStream answers batch
//! by batch and ends at its time limit, and the importer resumes cut calls
//! (the server's time limit, dropped connections) with every mark applied once.

use std::time::Duration;

use chrono::{Datelike, NaiveDate};
use lea_notices::cli::import_marks::{ImportOptions, ImportReport, import_marks};
use lea_notices::domain::{actor::Role, identifiers::LaCode};
use lea_notices::proto::v1::{self as pb};
use lea_notices::server::ServeOptions;
use lea_notices::store::Backend;
use prost::Message;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic_types::StatusExt;

use crate::helpers::attendance::{SCHOOL, batch, record, summary, week};
use crate::helpers::notices::{d, upn};
use crate::helpers::{TestApp, on_both_backends, violated_fields};

fn as_stream(b: pb::RecordMarksRequest) -> pb::RecordMarksStreamRequest {
    pb::RecordMarksStreamRequest {
        parent: b.parent,
        request_id: b.request_id,
        marks: b.marks,
        sen_statuses: b.sen_statuses,
    }
}

/// The week of pupil `n` from Monday 6 Jan 2025, absent (`O`) on Monday.
fn pupil_week(n: u32) -> Vec<pb::Mark> {
    week(SCHOOL, n, d(2025, 1, 6), "O", &[0, 1])
}

/// A week with one session coded `H` (withdrawn in 2024): refused.
fn refused_week(n: u32) -> Vec<pb::Mark> {
    let mut marks = pupil_week(n);
    marks[3].code = "H".into();
    marks
}

/// The details of `status` decoded as google.rpc.Status, as any client reads them.
fn rpc_status(status: &tonic::Status) -> tonic_types::pb::Status {
    tonic_types::pb::Status::decode(status.details()).expect("google.rpc.Status details")
}

/// `committed_batches` and `last_committed_batch` of a stopped stream's ErrorInfo.
fn committed(status: &tonic::Status) -> (String, Option<String>) {
    let info = status.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.domain, "lea-notices");
    (
        info.metadata["committed_batches"].clone(),
        info.metadata.get("last_committed_batch").cloned(),
    )
}

async fn possible_sessions(app: &TestApp, from: NaiveDate, to: NaiveDate) -> i64 {
    summary(app, SCHOOL, None, from, to)
        .await
        .figures
        .unwrap()
        .possible_sessions
}

on_both_backends! {
    async fn a_stream_answers_with_each_batch_by_request_id(app) {
        let officer = app.as_role("850", Role::LaOfficer);
        record(&officer, vec![batch("first", pupil_week(1))]).await.unwrap();
        let mut again = pupil_week(1);
        again[0].code = "/".into();
        again[0].record_time.as_mut().unwrap().seconds += 60;
        let response = record(
            &officer,
            vec![
                batch("first", pupil_week(1)),
                batch("second", pupil_week(2)),
                batch("correction", again),
            ],
        )
        .await
        .unwrap();
        let results: Vec<_> = response
            .batch_results
            .iter()
            .map(|r| (r.request_id.as_str(), r.inserted, r.replaced, r.unchanged))
            .collect();
        assert_eq!(
            results,
            [("first", 0, 0, 10), ("second", 10, 0, 0), ("correction", 0, 1, 9)]
        );
        assert_eq!(
            (response.batches, response.inserted, response.replaced, response.unchanged),
            (3, 10, 1, 19)
        );
    }

    async fn a_refused_batch_says_what_the_stream_committed_with_matching_details(app) {
        let officer = app.as_role("850", Role::LaOfficer);
        let status = record(
            &officer,
            vec![
                batch("ok-1", pupil_week(1)),
                batch("ok-2", pupil_week(2)),
                batch("bad", refused_week(3)),
                batch("never-read", pupil_week(4)),
            ],
        )
        .await
        .unwrap_err();
        assert!(status.message().starts_with("batch bad: marks[3]: code: code 'H'"), "{status:?}");
        assert_eq!(violated_fields(&status), ["marks[3]"]);
        // Issue 16: the details' google.rpc.Status is the call's status.
        let details = rpc_status(&status);
        assert_eq!((details.code, details.message.as_str()), (Code::InvalidArgument as i32, status.message()));
        assert_eq!(committed(&status), ("2".into(), Some("ok-2".into())));
        assert_eq!(
            status.get_details_error_info().unwrap().reason,
            "BATCH_NOT_COMMITTED"
        );
        assert_eq!(possible_sessions(&app, d(2025, 1, 6), d(2025, 1, 10)).await, 20);

        // A first batch refused: nothing committed, and no last batch to name.
        let status = record(&officer, vec![batch("bad-first", refused_week(5))]).await.unwrap_err();
        assert_eq!(committed(&status), ("0".into(), None));
        // An error with an ErrorInfo of its own keeps its reason and gains the counts.
        let status = record(
            &officer,
            vec![batch("ok-3", pupil_week(6)), batch("ok-1", pupil_week(7))],
        )
        .await
        .unwrap_err();
        assert_eq!(status.code(), Code::AlreadyExists);
        let info = status.get_details_error_info().unwrap();
        assert_eq!(info.reason, "REQUEST_ID_REUSED");
        assert_eq!(info.metadata["request_id"], "ok-1");
        assert_eq!(committed(&status), ("1".into(), Some("ok-3".into())));
        let details = rpc_status(&status);
        assert_eq!((details.code, details.message.as_str()), (Code::AlreadyExists as i32, status.message()));
        assert!(status.message().starts_with("batch ok-1: "), "{status:?}");
        // Another authority's parent, mid-stream, is refused naming the batch too.
        let mut elsewhere = batch("elsewhere", pupil_week(8));
        elsewhere.parent = "authorities/852".into();
        let status = record(&officer, vec![batch("ok-4", pupil_week(9)), elsewhere]).await.unwrap_err();
        assert_eq!(status.code(), Code::PermissionDenied);
        assert!(status.message().starts_with("batch elsewhere: "), "{status:?}");
        assert_eq!(rpc_status(&status).message, status.message());
        assert_eq!(committed(&status), ("1".into(), Some("ok-4".into())));
    }

    async fn record_marks_stream_answers_each_batch_as_it_commits(app) {
        let officer = app.as_role("850", Role::LaOfficer);
        record(&officer, vec![batch("earlier", pupil_week(1))]).await.unwrap();
        let (tx, rx) = tokio::sync::mpsc::channel(8);
        let mut answers = officer
            .attendance()
            .record_marks_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        // One batch at a time: each is answered before the next is sent.
        for (id, marks, inserted, unchanged) in [
            ("earlier", pupil_week(1), 0, 10),
            ("new", pupil_week(2), 10, 0),
        ] {
            tx.send(as_stream(batch(id, marks))).await.unwrap();
            let answer = answers.message().await.unwrap().expect("an answer");
            let result = answer.batch_result.unwrap();
            assert_eq!((result.request_id.as_str(), result.inserted, result.unchanged), (id, inserted, unchanged));
        }
        tx.send(as_stream(batch("bad", refused_week(3)))).await.unwrap();
        // The server may already have ended the stream on the refused batch,
        // which drops the request side: a failed send is an allowed outcome.
        let _ = tx.send(as_stream(batch("after-bad", pupil_week(4)))).await;
        let status = answers.message().await.unwrap_err();
        assert_eq!(violated_fields(&status), ["marks[3]"]);
        assert!(status.message().starts_with("batch bad: "), "{status:?}");
        assert_eq!(rpc_status(&status).message, status.message());
        assert_eq!(committed(&status), ("2".into(), Some("new".into())));
        assert_eq!(possible_sessions(&app, d(2025, 1, 6), d(2025, 1, 10)).await, 20);

        // A client that sends everything at once gets every answer, in order.
        let batches: Vec<_> = (10..15).map(|n| as_stream(batch(&format!("b{n}"), pupil_week(n)))).collect();
        let mut answers = officer
            .attendance()
            .record_marks_stream(tokio_stream::iter(batches))
            .await
            .unwrap()
            .into_inner();
        let mut ids = Vec::new();
        while let Some(answer) = answers.message().await.unwrap() {
            ids.push(answer.batch_result.unwrap().request_id);
        }
        assert_eq!(ids, ["b10", "b11", "b12", "b13", "b14"]);
    }
}

/// A stream kept open past the server's request timeout is ended by it, after
/// the batch it was writing is answered; what was not taken is not written.
async fn a_stream_past_the_time_limit_ends_with_what_it_committed(backend: Backend) {
    // Long enough for the first batch on a loaded machine.
    const LIMIT: Duration = Duration::from_secs(3);
    let app = TestApp::spawn(backend).await;
    // The stream goes to a server of the same database with a short time
    // limit; the check at the end to `app`, whose limit is the default.
    let limited = app
        .replica(ServeOptions {
            request_timeout: LIMIT,
            ..Default::default()
        })
        .await;
    let officer = limited.as_role("850", Role::LaOfficer);
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let mut answers = officer
        .attendance()
        .record_marks_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
        .await
        .unwrap()
        .into_inner();
    // The server's clock for the call started before its answer opened.
    let opened = tokio::time::Instant::now();
    tx.send(as_stream(batch("in-time", pupil_week(1))))
        .await
        .unwrap();
    let first = answers.message().await.unwrap().unwrap();
    assert_eq!(first.batch_result.unwrap().request_id, "in-time");
    tokio::time::sleep_until(opened + LIMIT + Duration::from_millis(400)).await;
    let _ = tx.send(as_stream(batch("too-late", pupil_week(2)))).await;
    let status = answers.message().await.unwrap_err();
    assert_eq!(status.code(), Code::DeadlineExceeded, "{status:?}");
    assert_eq!(
        status.get_details_error_info().unwrap().reason,
        "STREAM_TIME_LIMIT"
    );
    assert_eq!(committed(&status), ("1".into(), Some("in-time".into())));
    assert_eq!(rpc_status(&status).message, status.message());
    assert_eq!(
        possible_sessions(&app, d(2025, 1, 6), d(2025, 1, 10)).await,
        10
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_the_time_limit_ends_with_what_it_committed_sqlite() {
    a_stream_past_the_time_limit_ends_with_what_it_committed(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_past_the_time_limit_ends_with_what_it_committed_postgres() {
    a_stream_past_the_time_limit_ends_with_what_it_committed(Backend::Postgres).await;
}

/// A register export: every pupil present at every session of `days` school
/// days from 2 Sep 2024. Returns the file and how many marks it holds.
fn register_csv(dir: &std::path::Path, pupils: u32, days: usize) -> (std::path::PathBuf, i64) {
    let school_days: Vec<NaiveDate> = (0..)
        .map(|i| d(2024, 9, 2) + chrono::Duration::days(i))
        .filter(|d| d.weekday().number_from_monday() <= 5)
        .take(days)
        .collect();
    let mut csv = String::from("school_urn,upn,date,session,code,record_time\n");
    for p in 1..=pupils {
        for day in &school_days {
            let upn = upn(p);
            csv += &format!("{SCHOOL},{upn},{day},AM,/,2024-09-02T09:00:00Z\n");
            csv += &format!("{SCHOOL},{upn},{day},PM,\\,2024-09-02T13:00:00Z\n");
        }
    }
    let file = dir.join("register.csv");
    std::fs::write(&file, csv).unwrap();
    (file, i64::from(pupils) * days as i64 * 2)
}

async fn import(
    app: &TestApp,
    server: String,
    file: &std::path::Path,
    batch_size: usize,
    batches_per_call: usize,
) -> ImportReport {
    import_marks(ImportOptions {
        file: file.to_path_buf(),
        server,
        authority: "850".into(),
        token: app.token("850", Role::LaOfficer),
        batch_size,
        batches_per_call,
        ca_file: None,
        progress: false,
        layout: Default::default(),
    })
    .await
    .expect("the import completes")
}

/// Every batch was confirmed once and applied once: one audit event each, whose
/// inserts add up to the file. A batch committed whose answer was lost was sent
/// again and answered `unchanged` (so the importer's own inserts may be fewer).
async fn assert_applied_once(app: &TestApp, report: &ImportReport, marks: i64, batch_size: i64) {
    let batches = (marks as u64).div_ceil(batch_size as u64);
    assert_eq!(report.batches, batches, "{report:?}");
    let c = &report.counts;
    assert_eq!(
        (c.inserted + c.unchanged, c.replaced, c.outdated),
        (marks, 0, 0),
        "{report:?}"
    );
    assert!(
        c.unchanged <= report.resent as i64 * batch_size,
        "only batches sent again: {report:?}"
    );
    assert_eq!(
        possible_sessions(app, d(2024, 9, 2), d(2025, 7, 31)).await,
        marks
    );
    let la = LaCode::parse("850").unwrap();
    let events = app.audit_events(&la, None, 0, 10_000).await.unwrap();
    let recorded: Vec<_> = events
        .iter()
        .filter(|e| e.action == "attendance.marks_recorded")
        .collect();
    assert_eq!(recorded.len() as u64, batches, "one audit event per batch");
    let inserted: i64 = recorded
        .iter()
        .map(|e| e.details["inserted"].as_i64().unwrap())
        .sum();
    assert_eq!(inserted, marks, "each mark inserted once");
}

/// An import in one call far longer than the server's time limit per call is
/// cut again and again, and resumes each time from the first batch not confirmed.
async fn the_importer_resumes_calls_cut_by_the_time_limit(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    // The importer talks to a server of the same database with a short time
    // limit; the test's own checks go to `app`, whose limit is the default, so
    // a loaded machine slows them without cutting them.
    let cut = app
        .replica(ServeOptions {
            request_timeout: Duration::from_millis(300),
            ..Default::default()
        })
        .await;
    let dir = tempfile::tempdir().unwrap();
    let (file, marks) = register_csv(dir.path(), 50, 40); // 4,000 marks
    let server = format!("http://{}", cut.addr);
    // 40 batches of 100, all offered to one call.
    let started = std::time::Instant::now();
    let report = import(&cut, server.clone(), &file, 100, usize::MAX).await;
    let took = started.elapsed();
    assert!(
        report.resumed >= 1,
        "the time limit cut a call: {report:?} in {took:?}"
    );
    assert_eq!(report.calls, report.resumed + 1, "{report:?}");
    assert_applied_once(&app, &report, marks, 100).await;
    // Running it again applies nothing.
    let again = import(&cut, server, &file, 100, 20).await;

    assert_eq!((again.counts.inserted, again.counts.unchanged), (0, marks));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_importer_resumes_calls_cut_by_the_time_limit_sqlite() {
    the_importer_resumes_calls_cut_by_the_time_limit(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_importer_resumes_calls_cut_by_the_time_limit_postgres() {
    the_importer_resumes_calls_cut_by_the_time_limit(Backend::Postgres).await;
}

/// Copies `from` to `to` until `limit` bytes have passed (or either side closes).
async fn pipe_until(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    limit: usize,
) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut carried = 0;
    while carried < limit {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n.min(limit - carried),
        };
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
        carried += n;
    }
}

/// A TCP proxy to `target` that drops each connection once it has carried
/// `limit` bytes from the client, part-way through whatever call is under way.
async fn cutting_proxy(target: std::net::SocketAddr, limit: usize) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let Ok(server) = tokio::net::TcpStream::connect(target).await else {
                continue;
            };
            tokio::spawn(async move {
                let (client_read, mut client_write) = client.into_split();
                let (mut server_read, server_write) = server.into_split();
                // Whichever way stops first, both connections close.
                tokio::select! {
                    () = pipe_until(client_read, server_write, limit) => {}
                    _ = tokio::io::copy(&mut server_read, &mut client_write) => {}
                }
            });
        }
    });
    addr
}

/// Connections that drop every 250 KB: the importer reconnects and sends again
/// from the first batch not confirmed; a batch committed whose answer was lost
/// is recognised by its request id, so every mark is applied once.
async fn the_importer_resumes_after_dropped_connections(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let proxy = cutting_proxy(app.addr, 250_000).await;
    let dir = tempfile::tempdir().unwrap();
    let (file, marks) = register_csv(dir.path(), 100, 60); // 12,000 marks, about 720 KB
    let report = import(&app, format!("http://{proxy}"), &file, 500, 20).await;
    assert!(report.resumed >= 2, "connections were cut: {report:?}");
    assert_applied_once(&app, &report, marks, 500).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_importer_resumes_after_dropped_connections_sqlite() {
    the_importer_resumes_after_dropped_connections(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_importer_resumes_after_dropped_connections_postgres() {
    the_importer_resumes_after_dropped_connections(Backend::Postgres).await;
}
