//! EventService.WatchEvents through the real API: the feed equals the audit
//! log from any cursor, each event a CloudEvent of its audit event; roles see
//! their kinds; the type filter; bad cursors and filters; a reader cut and
//! resumed under concurrent writes, and across a `kill -9` of the server,
//! receives the log exactly, in order.

use std::collections::BTreeSet;

use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use tokio::task::JoinSet;
use tonic::Code;

use crate::helpers::events::{
    LateAppend, TYPE_PREFIX, assert_is_cloud_event_of, audit_log, audit_log_as, caught_up, kinds,
    mixed_events, unmatched_payment, watch,
};
use crate::helpers::{As, on_both_backends, violated_fields};

/// The sequences of `events`, in the order received.
fn sequences(events: &[pb::FeedEvent]) -> Vec<i64> {
    events.iter().map(|e| e.sequence).collect()
}

/// Follows the feed of 850 as `who`, cutting the stream after every `cut`
/// events received and watching again from the last cursor, until `done`
/// says the writers have finished; then reads to the end of the log. Returns
/// every event received.
async fn follow_with_cuts(
    who: &As,
    cut: usize,
    mut done: tokio::sync::watch::Receiver<bool>,
) -> Vec<pb::FeedEvent> {
    let mut received: Vec<pb::FeedEvent> = Vec::new();
    let mut cursor = 0;
    let mut cuts = 0;
    'watching: loop {
        let mut stream = who
            .events()
            .watch_events(watch("authorities/850", cursor, &[]))
            .await
            .expect("WatchEvents")
            .into_inner();
        let mut this_call = 0;
        loop {
            tokio::select! {
                message = stream.message() => {
                    // The server ends a stream at its request timeout: watch again.
                    let Some(response) = message.expect("a message") else { continue 'watching };
                    this_call += response.events.len();
                    received.extend(response.events);
                    cursor = response.cursor;
                    if this_call >= cut {
                        cuts += 1;
                        continue 'watching; // dropped mid-stream: the client is gone
                    }
                }
                _ = done.wait_for(|d| *d) => break 'watching,
            }
        }
    }
    assert!(cuts >= 1, "the stream was cut {cuts} times");
    let (rest, _) = caught_up(who, "850", cursor, &[]).await.unwrap();
    received.extend(rest);
    received
}

on_both_backends! {
    async fn the_feed_from_any_cursor_is_the_audit_log_as_cloud_events(app) {
        mixed_events(&app).await;
        let log = audit_log(&app, "850").await;
        assert!(log.len() >= 8, "{} events", log.len());
        let auditor = app.as_role("850", Role::Auditor);
        let (events, cursor) = caught_up(&auditor, "850", 0, &[]).await.unwrap();
        assert_eq!(sequences(&events), log.iter().map(|e| e.event_id).collect::<Vec<_>>());
        assert_eq!(cursor, log.last().unwrap().event_id);
        for (event, audit) in events.iter().zip(&log) {
            assert_is_cloud_event_of(event, audit, "850");
        }
        // Every kind of the mix is there, and no event of the other authority.
        assert_eq!(
            kinds(&events).keys().map(String::as_str).collect::<Vec<_>>(),
            ["attendance", "notice", "payment", "policy_version"]
        );
        assert!(events.iter().all(|e| e.subject.starts_with("authorities/850/")));
        // From every cursor, the rest of the log.
        for start in 0..=cursor {
            let (rest, end) = caught_up(&auditor, "850", start, &[]).await.unwrap();
            assert_eq!(sequences(&rest), (start + 1..=cursor).collect::<Vec<_>>(), "after {start}");
            assert_eq!(end, cursor);
        }
        // The same event is the same on every read, to the byte.
        let (again, _) = caught_up(&auditor, "850", 0, &[]).await.unwrap();
        assert_eq!(again, events);
        // The other authority has its own log, numbered from 1.
        let (theirs, _) = caught_up(&app.as_role("852", Role::Auditor), "852", 0, &[]).await.unwrap();
        assert_eq!(sequences(&theirs), [1]);
        assert_eq!(theirs[0].id, "852-1");
    }

    async fn each_role_sees_its_kinds_and_the_cursor_passes_the_rest(app) {
        mixed_events(&app).await;
        let log = audit_log(&app, "850").await;
        let head = log.last().unwrap().event_id;
        let seen = |events: &[pb::FeedEvent]| kinds(events).into_keys().collect::<BTreeSet<_>>();

        let (finance, cursor) = caught_up(&app.as_role("850", Role::Finance), "850", 0, &[]).await.unwrap();
        assert_eq!(seen(&finance), ["notice", "payment"].map(String::from).into());
        assert_eq!(cursor, head, "passed over what finance does not see");
        let money: Vec<i64> = log.iter()
            .filter(|e| e.action.starts_with("notice.") || e.action.starts_with("payment."))
            .map(|e| e.event_id).collect();
        assert_eq!(sequences(&finance), money);

        for role in [Role::LaOfficer, Role::Admin, Role::Auditor] {
            let (all, cursor) = caught_up(&app.as_role("850", role), "850", 0, &[]).await.unwrap();
            assert_eq!(all.len(), log.len(), "{role:?} sees every kind");
            assert_eq!(cursor, head);
        }
        for role in [Role::SchoolStaff, Role::Police] {
            let refused = caught_up(&app.as_role("850", role), "850", 0, &[]).await.unwrap_err();
            assert_eq!(refused.code(), Code::PermissionDenied, "{role:?}");
        }
        // Another authority's feed is not the caller's to watch.
        let other = caught_up(&app.as_role("850", Role::Auditor), "852", 0, &[]).await.unwrap_err();
        assert_eq!(other.code(), Code::PermissionDenied);
    }

    async fn the_type_filter_takes_whole_types_and_resource_types(app) {
        mixed_events(&app).await;
        let log = audit_log(&app, "850").await;
        let auditor = app.as_role("850", Role::Auditor);
        let payments = format!("{TYPE_PREFIX}payment");
        let withdrawn = format!("{TYPE_PREFIX}notice.withdrawn");
        let (events, cursor) = caught_up(&auditor, "850", 0, &[&payments, &withdrawn]).await.unwrap();
        let wanted: Vec<i64> = log.iter()
            .filter(|e| e.action.starts_with("payment.") || e.action == "notice.withdrawn")
            .map(|e| e.event_id).collect();
        assert!(wanted.len() >= 3);
        assert_eq!(sequences(&events), wanted);
        assert_eq!(cursor, log.last().unwrap().event_id);
        // A filter and the role together: finance asking for attendance gets none.
        let attendance = format!("{TYPE_PREFIX}attendance");
        let (none, cursor) = caught_up(&app.as_role("850", Role::Finance), "850", 0, &[&attendance]).await.unwrap();
        assert!(none.is_empty());
        assert_eq!(cursor, log.last().unwrap().event_id);
    }

    async fn bad_cursors_and_filters_are_invalid_arguments(app) {
        mixed_events(&app).await;
        let head = audit_log(&app, "850").await.last().unwrap().event_id;
        let auditor = app.as_role("850", Role::Auditor);
        let bad = |start_after: i64, types: Vec<String>| {
            let auditor = &auditor;
            async move {
                let mut request = watch("authorities/850", start_after, &[]);
                request.event_types = types;
                auditor.events().watch_events(request).await.map(|_| ()).unwrap_err()
            }
        };
        assert_eq!(violated_fields(&bad(-1, vec![]).await), ["start_after"]);
        assert_eq!(violated_fields(&bad(head + 1, vec![]).await), ["start_after"]);
        assert_eq!(
            violated_fields(&bad(0, vec!["notice.withdrawn".into(), format!("{TYPE_PREFIX}notice"), format!("{TYPE_PREFIX}a.b.c")]).await),
            ["event_types[0]", "event_types[2]"]
        );
        assert_eq!(violated_fields(&bad(0, vec![format!("{TYPE_PREFIX}notice"); 33]).await), ["event_types"]);
        let mut unnamed = watch("authorities/85x", 0, &[]);
        unnamed.parent = "somewhere".into();
        let refused = auditor.events().watch_events(unnamed).await.map(|_| ()).unwrap_err();
        assert!(matches!(refused.code(), Code::InvalidArgument | Code::PermissionDenied), "{refused:?}");
        // The cursor at the end is good: nothing more yet.
        let (none, cursor) = caught_up(&auditor, "850", head, &[]).await.unwrap();
        assert!(none.is_empty());
        assert_eq!(cursor, head);
    }

    async fn an_event_that_took_its_id_first_and_commits_last_is_never_passed(app) {
        let finance = app.as_role("850", Role::Finance);
        finance.payments().record_payment(unmatched_payment("first")).await.unwrap();
        // A unit has taken id 2 (and with it the chain head) and not committed.
        let (late, id) = LateAppend::begin(&app).await;
        assert_eq!(id, 2);
        // A payment now waits for the head: it cannot take id 3 and commit
        // before id 2 has committed.
        let paying = tokio::spawn(async move {
            finance.payments().record_payment(unmatched_payment("second")).await.unwrap();
        });
        let auditor = app.as_role("850", Role::Auditor);
        let (before, cursor) = caught_up(&auditor, "850", 0, &[]).await.unwrap();
        assert_eq!((sequences(&before), cursor), (vec![1], 1), "nothing after 1 is visible yet");
        for _ in 0..20 {
            assert!(!paying.is_finished(), "a later unit committed while an earlier id was open");
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        late.commit().await;
        paying.await.unwrap();
        // From the reader's cursor: the late event, then the payment, in order.
        let (after, cursor) = caught_up(&auditor, "850", 1, &[]).await.unwrap();
        assert_eq!((sequences(&after), cursor), (vec![2, 3], 3));
        assert_eq!(after[0].r#type, format!("{TYPE_PREFIX}notice.late_commit"));
        assert_eq!(after[1].r#type, format!("{TYPE_PREFIX}payment.recorded"));
    }

    async fn a_reader_cut_and_resumed_under_concurrent_writes_receives_the_log_exactly(app) {
        const WRITERS: usize = 4;
        const PAYMENTS: usize = 75;
        let (finished, done) = tokio::sync::watch::channel(false);
        let mut writers = JoinSet::new();
        for w in 0..WRITERS {
            let finance = app.as_role("850", Role::Finance);
            writers.spawn(async move {
                for i in 0..PAYMENTS {
                    finance.payments().record_payment(unmatched_payment(&format!("w{w}-{i}"))).await.unwrap();
                }
            });
        }
        let watcher = {
            let auditor = app.as_role("850", Role::Auditor);
            tokio::spawn(async move { follow_with_cuts(&auditor, 10, done).await })
        };
        while let Some(w) = writers.join_next().await {
            w.unwrap();
        }
        finished.send(true).unwrap();
        let received = watcher.await.unwrap();
        let log = audit_log(&app, "850").await;
        assert_eq!(log.len(), WRITERS * PAYMENTS);
        assert_eq!(sequences(&received), log.iter().map(|e| e.event_id).collect::<Vec<_>>());
        for (event, audit) in received.iter().zip(&log) {
            assert_is_cloud_event_of(event, audit, "850");
        }
    }
}

/// The server binary `kill -9`ed and started again on the same database while
/// writers record payments (retrying each with its provider id until it is
/// answered) and a reader follows the feed (watching again from its last
/// cursor whenever its stream breaks): the reader receives the audit log
/// exactly, in order.
async fn the_feed_resumes_across_a_killed_server(backend: Backend) {
    use crate::child::ChildServer;
    const PAYMENTS: usize = 150;
    let mut server = ChildServer::spawn(backend, &[]).await;
    let finance_token = server.token("850", Role::Finance).await;
    let auditor_token = server.token("850", Role::Auditor).await;
    let addr = server.addr;
    let channel = move || {
        tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect_lazy()
    };
    let (written_tx, written) = tokio::sync::watch::channel(0usize);
    let writer = {
        let finance = As::new(channel(), &finance_token);
        tokio::spawn(async move {
            for i in 0..PAYMENTS {
                // Until answered: a call cut by the kill may or may not have
                // committed, and its provider id makes the retry safe.
                while finance
                    .payments()
                    .record_payment(unmatched_payment(&format!("k-{i}")))
                    .await
                    .is_err()
                {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
                written_tx.send_replace(i + 1);
            }
        })
    };
    let reader = {
        let auditor = As::new(channel(), &auditor_token);
        let mut written = written.clone();
        tokio::spawn(async move {
            let mut received: Vec<pb::FeedEvent> = Vec::new();
            let mut cursor = 0;
            let mut broken = 0;
            let mut writing = true;
            let all_in = |received: &[pb::FeedEvent],
                          written: &tokio::sync::watch::Receiver<usize>| {
                *written.borrow() == PAYMENTS && received.len() >= PAYMENTS
            };
            while !all_in(&received, &written) {
                let stream = auditor
                    .events()
                    .watch_events(watch("authorities/850", cursor, &[]))
                    .await;
                let mut stream = match stream {
                    Ok(s) => s.into_inner(),
                    Err(_) => {
                        broken += 1;
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                while !all_in(&received, &written) {
                    tokio::select! {
                        message = stream.message() => match message {
                            Ok(Some(response)) => {
                                received.extend(response.events);
                                cursor = response.cursor;
                            }
                            // The server's time limit: watch again.
                            Ok(None) => break,
                            Err(_) => { broken += 1; break }
                        },
                        // Look again when the writer moves on (or has finished).
                        changed = written.changed(), if writing => writing = changed.is_ok(),
                    }
                }
            }
            (received, broken)
        })
    };
    // Kill the server once a third is written, and again at two thirds.
    for at in [PAYMENTS / 3, 2 * PAYMENTS / 3] {
        let mut w = written.clone();
        w.wait_for(|n| *n >= at).await.unwrap();
        server.kill_and_restart().await;
    }
    writer.await.unwrap();
    let (received, broken) = reader.await.unwrap();
    assert!(broken >= 2, "the stream broke with each kill ({broken})");
    let auditor = As::new(channel(), &auditor_token);
    let log = audit_log_as(&auditor, "850").await;
    assert_eq!(log.len(), PAYMENTS, "each payment recorded once");
    assert_eq!(
        sequences(&received),
        log.iter().map(|e| e.event_id).collect::<Vec<_>>()
    );
    for (event, audit) in received.iter().zip(&log) {
        assert_is_cloud_event_of(event, audit, "850");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_resumes_across_a_killed_server_sqlite() {
    the_feed_resumes_across_a_killed_server(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_resumes_across_a_killed_server_postgres() {
    the_feed_resumes_across_a_killed_server(Backend::Postgres).await;
}

/// SIGTERM ends a following stream at once with UNAVAILABLE (watch again on
/// another server), instead of holding the shutdown's grace period open.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shutting_down_server_ends_its_streams_with_unavailable() {
    use crate::child::ChildServer;
    let server = ChildServer::spawn(
        Backend::Sqlite,
        &[
            ("LEA_NOTICES_SHUTDOWN_GRACE_SECS", "60"),
            ("LEA_NOTICES_REQUEST_TIMEOUT_SECS", "120"),
        ],
    )
    .await;
    let auditor = server.as_role("850", Role::Auditor).await;
    let finance = server.as_role("850", Role::Finance).await;
    finance
        .payments()
        .record_payment(unmatched_payment("before"))
        .await
        .unwrap();
    let mut stream = auditor
        .events()
        .watch_events(watch("authorities/850", 0, &[]))
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(sequences(&first.events), [1]);
    let term = std::process::Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let ended = stream.message().await.unwrap_err();
    assert_eq!(ended.code(), Code::Unavailable, "{ended:?}");
    assert!(ended.message().contains("shutting down"), "{ended:?}");
}
