//! Small messages that would decode huge: 4 MB of empty repeated messages (2
//! million marks, 2 million sessions) are refused with INVALID_ARGUMENT before
//! they are decoded, so 16 of them at once barely move the server's memory.
//! Measured on the server binary run as a child process (its resident memory
//! alone), with the messages sent as raw bytes (this process never holds them
//! decoded either).

use std::time::Duration;

use bytes::{Buf, BufMut, Bytes};
use lea_notices::domain::actor::Role;
use lea_notices::proto::v1::{self as pb};
use lea_notices::store::Backend;
use prost::Message;
use tokio::task::JoinSet;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;

use crate::child::ChildServer;
use crate::helpers::violated_fields;

/// Sends and receives messages as their encoded bytes.
#[derive(Clone, Copy, Default)]
struct Raw;

impl Encoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        dst.put(item);
        Ok(())
    }
}

impl Decoder for Raw {
    type Item = Bytes;
    type Error = tonic::Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, tonic::Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

impl Codec for Raw {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = Raw;
    type Decoder = Raw;

    fn encoder(&mut self) -> Raw {
        Raw
    }

    fn decoder(&mut self) -> Raw {
        Raw
    }
}

/// `head` (an encoded message) followed by `count` empty messages in field
/// `field`: two bytes each.
fn with_empty_items(head: Vec<u8>, field: u8, count: usize) -> Bytes {
    let mut bytes = head;
    for _ in 0..count {
        bytes.extend_from_slice(&[field << 3 | 2, 0]);
    }
    Bytes::from(bytes)
}

/// One call of `path` with `message` (a client stream of one, for RecordMarks).
async fn call(
    channel: Channel,
    token: String,
    path: &'static str,
    message: Bytes,
) -> Result<Bytes, tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel)
        .max_encoding_message_size(8 * 1024 * 1024)
        .max_decoding_message_size(8 * 1024 * 1024);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.to_string()))?;
    let path = http::uri::PathAndQuery::from_static(path);
    let auth: tonic::metadata::MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    if path.path().ends_with("/RecordMarks") {
        let mut request = tonic::Request::new(tokio_stream::iter([message]));
        request.metadata_mut().insert("authorization", auth);
        grpc.client_streaming(request, path, Raw)
            .await
            .map(|r| r.into_inner())
    } else {
        let mut request = tonic::Request::new(message);
        request.metadata_mut().insert("authorization", auth);
        grpc.unary(request, path, Raw).await.map(|r| r.into_inner())
    }
}

const RECORD_MARKS: &str = "/lea.notices.v1.AttendanceService/RecordMarks";
const ISSUE: &str = "/lea.notices.v1.NoticeService/IssuePenaltyNotice";

async fn hostile_messages_cost_what_the_limits_allow(backend: Backend) {
    let server = ChildServer::spawn(backend, &[]).await;
    let token = server.token("850", Role::LaOfficer).await;
    // 2 million empty marks, and 2 million empty sessions: 4 MB each, under
    // the 4 MiB message limit.
    let marks = with_empty_items(
        pb::RecordMarksRequest {
            parent: "authorities/850".into(),
            request_id: "hostile".into(),
            marks: vec![],
            sen_statuses: vec![],
        }
        .encode_to_vec(),
        3,
        2_000_000,
    );
    let sessions = with_empty_items(
        crate::helpers::notices::Penalty::holiday(
            1,
            &["mum"],
            crate::helpers::notices::d(2026, 11, 2),
            crate::helpers::notices::d(2026, 12, 7),
        )
        .request("hostile")
        .encode_to_vec(),
        6,
        2_000_000,
    );
    assert!(marks.len() < 4 * 1024 * 1024 && marks.len() > 3_900_000);

    // One of each first, so what a first call allocates once is not counted.
    let channel = server.channel().await;
    for (path, message) in [(RECORD_MARKS, &marks), (ISSUE, &sessions)] {
        let refused = call(channel.clone(), token.clone(), path, message.clone())
            .await
            .unwrap_err();
        let field = if path == ISSUE { "sessions" } else { "marks" };
        assert_eq!(violated_fields(&refused), [field], "{path}");
        assert!(refused.message().contains("not 20000"), "{refused:?}");
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let before = rss_of(server.pid());

    // 16 at once, on four connections, sampling the server's memory throughout.
    let mut channels = Vec::new();
    for _ in 0..4 {
        channels.push(server.channel().await);
    }
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let pid = server.pid();
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            peak = peak.max(rss_of(pid));
            tokio::select! {
                _ = stopped.changed() => break peak.max(rss_of(pid)),
                _ = tokio::time::sleep(Duration::from_millis(5)) => {}
            }
        }
    });
    let mut calls = JoinSet::new();
    for n in 0..16 {
        let (path, message) = if n % 2 == 0 {
            (RECORD_MARKS, marks.clone())
        } else {
            (ISSUE, sessions.clone())
        };
        let channel = channels[n % 4].clone();
        let token = token.clone();
        calls.spawn(async move { (path, call(channel, token, path, message).await) });
    }
    while let Some(done) = calls.join_next().await {
        let (path, refused) = done.unwrap();
        let refused = refused.unwrap_err();
        let field = if path == ISSUE { "sessions" } else { "marks" };
        assert_eq!(violated_fields(&refused), [field], "{path}: {refused:?}");
    }
    stop.send(true).unwrap();
    let peak = sampler.await.unwrap();
    let grew = peak.saturating_sub(before);
    eprintln!(
        "{backend:?}: resident {} MB before, {} MB at the peak of 16 hostile 4 MB messages (+{} MB)",
        before >> 20,
        peak >> 20,
        grew >> 20
    );
    // Decoded, each was 300 MB or more. Kept whole until walked, 16 would be
    // 64 MB on their own; walked as they arrive and dropped at the list's
    // 10,001st item, each costs little more than what HTTP/2 buffers.
    assert!(grew < 64 << 20, "the server grew by {} MB", grew >> 20);

    // And it still serves.
    let got = crate::helpers::As::new(server.channel().await, &token)
        .policy()
        .get_policy(pb::GetPolicyRequest {
            parent: "authorities/850".into(),
            date: crate::helpers::date(2025, 9, 1),
        })
        .await;
    got.expect("the server still serves");
}

/// The resident memory of process `pid`, in bytes (0 once it is gone).
fn rss_of(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/statm"))
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_cost_what_the_limits_allow_sqlite() {
    hostile_messages_cost_what_the_limits_allow(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_messages_cost_what_the_limits_allow_postgres() {
    hostile_messages_cost_what_the_limits_allow(Backend::Postgres).await;
}
