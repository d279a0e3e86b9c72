//! What a hostile client can send, through the real API (issue 25, item 6): page
//! tokens made up or changed, and request bytes that do not decode. Each answers
//! INVALID_ARGUMENT naming what was wrong; none reaches the database, none is
//! INTERNAL, and the server goes on serving.

use lea_notices::api::pagination::encode_token;
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use tonic::Code;

use crate::helpers::{As, TestApp, date, on_both_backends, violated_fields};

/// Cursors no list of this service would issue, each aimed at something SQL
/// could choke on: dates far outside what PostgreSQL takes, a NUL, control
/// characters, an id past i64, a very long key.
const HOSTILE_CURSORS: &[&str] = &[
    "-200000-01-01",
    "-200000-01-01|850-PAY-000001",
    "+262143-12-31|x",
    "0000-01-01|x",
    "2025-02-30|x",
    "\0",
    "\0|1",
    "1160\u{0}439",
    "2025-09-01|850\u{0}-2025-000001",
    "A0\u{1b}[2J|1",
    "9223372036854775808",
    "-1|x",
];

/// Tokens for `filter` a client could make: hostile cursors under this process's
/// key (the test shares the server's process, so these pass the MAC and test the
/// checks behind it), the old unsigned form, a changed byte, and junk.
fn forged_tokens(filter: &str) -> Vec<String> {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let mut tokens: Vec<String> = HOSTILE_CURSORS
        .iter()
        .map(|c| encode_token(filter, c))
        .collect();
    tokens.push(encode_token(filter, &"7".repeat(300)));
    // Before tokens were signed: hex of {"f": filter hash, "c": cursor}.
    let hash = {
        use sha2::Digest;
        hex::encode(&sha2::Sha256::digest(filter.as_bytes())[..12])
    };
    tokens.push(hex::encode(format!(
        r#"{{"f":"{hash}","c":"-200000-01-01"}}"#
    )));
    let mut changed = URL_SAFE_NO_PAD
        .decode(encode_token(filter, "2025-09-01|x"))
        .unwrap();
    changed[10] ^= 0x20;
    tokens.push(URL_SAFE_NO_PAD.encode(changed));
    tokens.extend(["x", "====", "%00", "AAAAAAAAAAAAAAAAAAAAAAAAAAAA"].map(String::from));
    tokens
}

/// The filter a list binds its tokens to, as the server writes it: the request
/// without its page token and size.
fn debug_filter<T: Clone + std::fmt::Debug>(req: &T, clear: impl Fn(&mut T)) -> String {
    let mut r = req.clone();
    clear(&mut r);
    format!("{r:?}")
}

fn assert_names_page_token(what: &str, token: &str, result: Result<(), tonic::Status>) {
    let status = result.expect_err(what);
    assert_eq!(
        status.code(),
        Code::InvalidArgument,
        "{what} with {token:?}: {status:?}"
    );
    assert_eq!(violated_fields(&status), ["page_token"], "{what} {token:?}");
}

async fn every_list_refuses(app: &TestApp) {
    let auditor = app.as_role("850", Role::Auditor);
    let officer = app.as_role("850", Role::LaOfficer);
    let parent = "authorities/850".to_string();

    let policy = pb::ListPolicyVersionsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    for token in forged_tokens(&format!("parent={parent}")) {
        let mut r = policy.clone();
        r.page_token = token.clone();
        let result = auditor.policy().list_policy_versions(r).await.map(drop);
        assert_names_page_token("ListPolicyVersions", &token, result);
    }

    let schools = pb::ListSchoolsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    for token in forged_tokens(&format!("parent={parent}")) {
        let mut r = schools.clone();
        r.page_token = token.clone();
        let result = auditor.schools().list_schools(r).await.map(drop);
        assert_names_page_token("ListSchools", &token, result);
    }

    let payments = pb::ListPaymentsRequest {
        parent: parent.clone(),
        paid_from: date(2025, 1, 1),
        ..Default::default()
    };
    let filter = debug_filter(&payments, |r| {
        r.page_token.clear();
        r.page_size = 0;
    });
    for token in forged_tokens(&filter) {
        let mut r = payments.clone();
        r.page_token = token.clone();
        let result = auditor.payments().list_payments(r).await.map(drop);
        assert_names_page_token("ListPayments", &token, result);
    }

    let notices = pb::ListNoticesRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    let filter = debug_filter(&notices, |r| {
        r.page_token.clear();
        r.page_size = 0;
    });
    for token in forged_tokens(&filter) {
        let mut r = notices.clone();
        r.page_token = token.clone();
        let result = auditor.notices().list_notices(r).await.map(drop);
        assert_names_page_token("ListNotices", &token, result);
    }

    let events = pb::ListNoticeEventsRequest {
        parent: "authorities/850/notices/850-2025-000001".into(),
        ..Default::default()
    };
    for token in forged_tokens(&format!("parent={}", events.parent)) {
        let mut r = events.clone();
        r.page_token = token.clone();
        let result = auditor.notices().list_notice_events(r).await.map(drop);
        assert_names_page_token("ListNoticeEvents", &token, result);
    }

    let audit = pb::ListAuditEventsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    let filter = debug_filter(&audit, |r| {
        r.page_token.clear();
        r.page_size = 0;
    });
    for token in forged_tokens(&filter) {
        let mut r = audit.clone();
        r.page_token = token.clone();
        let result = auditor.audit().list_audit_events(r).await.map(drop);
        assert_names_page_token("ListAuditEvents", &token, result);
    }

    let breaches = pb::ListThresholdBreachesRequest {
        parent: parent.clone(),
        as_of_date: date(2025, 3, 28),
        ..Default::default()
    };
    let filter = format!(
        "{}|{:?}|{}|{:?}",
        breaches.parent, breaches.as_of_date, breaches.school_urn, breaches.states
    );
    for token in forged_tokens(&filter) {
        let mut r = breaches.clone();
        r.page_token = token.clone();
        let result = auditor
            .attendance()
            .list_threshold_breaches(r)
            .await
            .map(drop);
        assert_names_page_token("ListThresholdBreaches", &token, result);
    }

    let requests = pb::ListPenaltyNoticeRequestsRequest {
        parent: parent.clone(),
        ..Default::default()
    };
    let filter = format!(
        "{}|{}|{}",
        requests.parent, requests.state, requests.school_urn
    );
    for token in forged_tokens(&filter) {
        let mut r = requests.clone();
        r.page_token = token.clone();
        let result = officer
            .notices()
            .list_penalty_notice_requests(r)
            .await
            .map(drop);
        assert_names_page_token("ListPenaltyNoticeRequests", &token, result);
    }
}

/// A list's own token still pages (the check refuses only what it should).
async fn issued_tokens_still_page(who: &As) {
    let first = who
        .schools()
        .list_schools(pb::ListSchoolsRequest {
            parent: "authorities/850".into(),
            page_size: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    if !first.next_page_token.is_empty() {
        who.schools()
            .list_schools(pb::ListSchoolsRequest {
                parent: "authorities/850".into(),
                page_size: 1,
                page_token: first.next_page_token,
            })
            .await
            .expect("an issued token");
    }
}

on_both_backends! {
    async fn forged_or_corrupt_page_tokens_name_page_token(app) {
        // Something to list, so a cursor would reach SQL if it got that far.
        crate::helpers::payments::pay(&app, crate::helpers::payments::payment(
            "850", "p1", 100, crate::helpers::notices::d(2025, 2, 10), "", &[],
        )).await;
        app.policy()
            .create_policy_version(crate::helpers::policy::create("authorities/850", "v", crate::helpers::policy::local_version(2024, 9, 1)))
            .await
            .unwrap();
        every_list_refuses(&app).await;
        issued_tokens_still_page(&app.as_role("850", Role::Auditor)).await;
    }
}

/// A request body of one gRPC frame: the compression flag, the length, `payload`.
fn frame(flag: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![flag];
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

/// A body that sends `bytes` once.
struct Once(Option<prost::bytes::Bytes>);

impl http_body::Body for Once {
    type Data = prost::bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Self::Data>, Self::Error>>> {
        std::task::Poll::Ready(self.0.take().map(|b| Ok(http_body::Frame::data(b))))
    }
}

/// Posts `body` to `path` as a gRPC call over HTTP/2, as a client that writes its
/// own frames would, and returns the call's status (from the headers of a
/// trailers-only answer, or from the trailers).
async fn raw_call(app: &TestApp, token: &str, path: &str, body: Vec<u8>) -> tonic::Status {
    raw_call_within(app, token, path, body, None).await
}

/// [`raw_call`] with the caller's deadline (`grpc-timeout`), for inputs that may
/// decode into a call that goes on (a followed event feed ends only then).
async fn raw_call_within(
    app: &TestApp,
    token: &str,
    path: &str,
    body: Vec<u8>,
    deadline: Option<&str>,
) -> tonic::Status {
    use tower::ServiceExt;
    let mut request = http::Request::builder()
        .method("POST")
        .uri(format!("http://{}{path}", app.addr))
        .header("content-type", "application/grpc")
        .header("te", "trailers")
        .header("authorization", format!("Bearer {token}"));
    if let Some(deadline) = deadline {
        request = request.header("grpc-timeout", deadline);
    }
    let request = request
        .body(tonic::body::Body::new(Once(Some(body.into()))))
        .unwrap();
    let response = app
        .channel
        .clone()
        .oneshot(request)
        .await
        .expect("an answer");
    if let Some(status) = tonic::Status::from_header_map(response.headers()) {
        return status;
    }
    let mut body = response.into_body();
    loop {
        let next = std::future::poll_fn(|cx| {
            http_body::Body::poll_frame(std::pin::Pin::new(&mut body), cx)
        })
        .await;
        match next {
            Some(Ok(frame)) => {
                if let Some(trailers) = frame.trailers_ref() {
                    return tonic::Status::from_header_map(trailers).expect("a status");
                }
            }
            Some(Err(e)) => panic!("{path}: the body failed: {e}"),
            None => panic!("{path}: no status"),
        }
    }
}

/// Every method the server serves, as `/package.Service/Method`, and whether
/// the client streams: the lea.notices.v1 services and health.
fn every_method() -> Vec<(String, bool)> {
    let pool =
        prost_reflect::DescriptorPool::decode(lea_notices::proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut paths: Vec<(String, bool)> = pool
        .services()
        .flat_map(|s| {
            s.methods()
                .map(|m| {
                    (
                        format!("/{}/{}", s.full_name(), m.name()),
                        m.is_client_streaming(),
                    )
                })
                .collect::<Vec<_>>()
        })
        .collect();
    paths.push(("/grpc.health.v1.Health/Check".into(), false));
    paths
}

/// Reflection (tonic-reflection's own handler) ends its stream OK on a message
/// it cannot read: not an error to the client, and never INTERNAL.
const REFLECTION: &str = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";

/// Message bytes no protobuf decoder accepts, for any message type.
fn undecodable_payloads() -> Vec<(&'static str, Vec<u8>)> {
    let mut nested_groups = Vec::new();
    for _ in 0..200 {
        nested_groups.extend([0xbb, 0x3e]); // field 999, start group
    }
    for _ in 0..200 {
        nested_groups.extend([0xbc, 0x3e]); // field 999, end group
    }
    vec![
        ("truncated varint", vec![0x08, 0xff, 0xff]),
        (
            "eleven-byte varint",
            [vec![0x08], vec![0xff; 10], vec![0x01]].concat(),
        ),
        ("string as varint", vec![0x0a, 0x80]),
        ("length past the end", vec![0x0a, 0x05, b'a']),
        (
            "length past usize",
            [vec![0x0a], vec![0xff; 9], vec![0x01]].concat(),
        ),
        ("wire type 6", vec![0x0e]),
        ("wire type 7", vec![0x0f, 0x00]),
        ("field number 0", vec![0x00, 0x00]),
        ("end group without start", vec![0xbc, 0x3e]),
        ("group never ended", vec![0xbb, 0x3e, 0x08, 0x01]),
        ("groups nested 200 deep", nested_groups),
        ("fixed64 cut short", vec![0xb9, 0x3e, 0x01, 0x02]),
    ]
}

/// Frames tonic cannot read a message from.
fn broken_frames() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("no message", Vec::new()),
        ("header cut short", vec![0, 0, 0]),
        (
            "body cut short",
            [vec![0, 0, 0, 0, 10], vec![0x0a, 0x02]].concat(),
        ),
        (
            "compressed flag without an encoding",
            frame(1, &[0x0a, 0x00]),
        ),
        ("compression flag 7", frame(7, &[0x0a, 0x00])),
    ]
}

on_both_backends! {
    async fn undecodable_requests_are_invalid_argument_on_every_method(app) {
        let admin = app.token("850", Role::Admin);
        let officer = app.token("850", Role::LaOfficer);
        let methods = every_method();
        assert!(methods.len() > 30, "{methods:?}");
        let mut calls = 0;
        for (path, streams) in &methods {
            // Streams are authorised before their first message is read.
            let token = if path.contains("RecordMarks") { &officer } else { &admin };
            for (what, payload) in undecodable_payloads() {
                let status = raw_call(&app, token, path, frame(0, &payload)).await;
                assert_eq!(status.code(), Code::InvalidArgument, "{path}, {what}: {status:?}");
                use tonic_types::StatusExt;
                let bad = status.get_details_bad_request().unwrap_or_else(|| panic!("{path}, {what}: {status:?}"));
                assert_eq!(bad.field_violations.len(), 1, "{path}, {what}");
                assert!(
                    bad.field_violations[0].description.starts_with("the request message is not valid protobuf"),
                    "{path}, {what}: {status:?}"
                );
                calls += 1;
            }
            for (what, body) in broken_frames() {
                if *streams && body.is_empty() {
                    continue; // a stream of no messages is a stream
                }
                let status = raw_call(&app, token, path, body).await;
                assert_eq!(status.code(), Code::InvalidArgument, "{path}, {what}: {status:?}");
                calls += 1;
            }
        }
        // Random bytes and valid messages with bytes flipped: whatever they decode
        // to, the answer is never INTERNAL (nor UNKNOWN).
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(25);
        let valid = prost::Message::encode_to_vec(&pb::ListNoticesRequest {
            parent: "authorities/850".into(),
            issued_from: date(2025, 1, 1),
            page_token: encode_token("x", "2025-01-01|x"),
            ..Default::default()
        });
        let mut paths: Vec<&str> = methods.iter().map(|(p, _)| p.as_str()).collect();
        paths.push(REFLECTION);
        for i in 0..600 {
            let path = paths[i % paths.len()];
            let payload: Vec<u8> = if i % 2 == 0 {
                let len = rng.random_range(0..64);
                (0..len).map(|_| rng.random()).collect()
            } else {
                let mut v = valid.clone();
                for _ in 0..rng.random_range(1..4) {
                    let at = rng.random_range(0..v.len());
                    v[at] = rng.random();
                }
                v
            };
            // Some inputs decode into WatchEvents following the feed: without
            // a deadline each would run to the server's request timeout.
            let status = raw_call_within(&app, &admin, path, frame(0, &payload), Some("3S")).await;
            assert!(
                !matches!(status.code(), Code::Internal | Code::Unknown),
                "{path}, random input {i} ({payload:02x?}): {status:?}"
            );
            calls += 1;
        }
        assert!(calls > 1_000, "{calls}");

        // Where prost says which field, the answer names it.
        let pupil = [0x0a, 0x02, 0xff, 0xfe]; // upn: not UTF-8
        let mut request = b"\x0a\x0fauthorities/850".to_vec();
        request.push(0x1a);
        request.push(pupil.len() as u8);
        request.extend(&pupil);
        let status = raw_call(&app, &admin, "/lea.notices.v1.NoticeService/IssueNoticeToImprove", frame(0, &request)).await;
        assert_eq!(violated_fields(&status), ["pupil.upn"], "{status:?}");

        // A stream whose second message does not decode: the first batch's
        // commit is reported, the code is the client's.
        let first = prost::Message::encode_to_vec(&crate::helpers::attendance::batch(
            "good",
            crate::helpers::attendance::week(crate::helpers::attendance::SCHOOL, 1, crate::helpers::notices::d(2025, 1, 6), "O", &[0]),
        ));
        let body = [frame(0, &first), frame(0, &[0x0a, 0x80])].concat();
        let status = raw_call(&app, &officer, "/lea.notices.v1.AttendanceService/RecordMarks", body).await;
        assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
        use tonic_types::StatusExt;
        let info = status.get_details_error_info().expect("ErrorInfo");
        assert_eq!(info.metadata.get("committed_batches").map(String::as_str), Some("1"), "{info:?}");

        // And the server is still serving.
        app.as_role("850", Role::Auditor).policy().list_policy_versions(pb::ListPolicyVersionsRequest {
            parent: "authorities/850".into(), ..Default::default()
        }).await.expect("still serving");
    }
}
