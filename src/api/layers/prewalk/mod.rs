//! The request limits (`limits`) checked on the encoded bytes as they arrive,
//! before prost decodes anything: a message over its limits is refused with
//! INVALID_ARGUMENT and its field violations without ever being decoded, and
//! without being kept either once the first violation is found. So what a
//! request costs is bounded by what the limits allow, not by what 4 MB of
//! wire format would decode to (2 million empty marks are a few hundred MB of
//! structs; here, a count).
//!
//! [`Walker`] reads one message pushed in pieces, in constant memory besides
//! its violations (at most [`MAX_VIOLATIONS`] kept, the rest counted) and one
//! short text at a time. The items of a list past its limit are counted and
//! skipped, not looked into, so the walk's work is bounded by the limits too. [`PrewalkLayer`] runs it over every lea.notices.v1
//! request body, message by message (a client stream's each batch too), and
//! passes on only the messages that keep to their limits.

use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};
use tonic::Status;

use super::limits::{TextLimit, check_text, list_limit, text_limit};
use crate::app::ServiceError;
use crate::domain::FieldViolation;
use crate::proto::FILE_DESCRIPTOR_SET;

/// Violations reported one by one; more are summed up.
pub const MAX_VIOLATIONS: usize = 20;

/// Bytes of fields this server does not know that a message may carry
/// (prost skips them, but they are kept until the message is passed on).
pub const MAX_UNKNOWN_BYTES: u64 = 64 * 1024;

mod walker;
mod wire;

pub use walker::{Refusal, Walker, refusal_of};

/// A request method's input message, by path (`/lea.notices.v1.X/Y`).
/// INVALID_ARGUMENT naming every field of `message` over its limits (at most
/// [`MAX_VIOLATIONS`], then how many more). The server checks every
/// request this way before decoding it (the layer here); this is the same check on
/// a decoded message.
pub fn check<M: prost::Message + prost::Name>(message: &M) -> Result<(), ServiceError> {
    let Some(descriptor) = descriptor(&M::full_name()) else {
        return Err(ServiceError::Internal(format!(
            "no descriptor for {}",
            M::full_name()
        )));
    };
    let bytes = message.encode_to_vec();
    let mut walker = Walker::new(descriptor, bytes.len() as u64);
    walker.feed(&bytes);
    walker
        .finish()
        .map_err(|refusal| ServiceError::InvalidArgument(refusal.violations))
}

static INPUTS: LazyLock<HashMap<String, MessageDescriptor>> = LazyLock::new(|| {
    let mut inputs = HashMap::new();
    if let Ok(pool) = DescriptorPool::decode(FILE_DESCRIPTOR_SET) {
        for service in pool.services() {
            for method in service.methods() {
                inputs.insert(
                    format!("/{}/{}", service.full_name(), method.name()),
                    method.input(),
                );
            }
        }
    }
    inputs
});

/// The message type `name` (`lea.notices.v1.RecordMarksRequest`).
pub fn descriptor(name: &str) -> Option<MessageDescriptor> {
    static POOL: LazyLock<Option<DescriptorPool>> =
        LazyLock::new(|| DescriptorPool::decode(FILE_DESCRIPTOR_SET).ok());
    POOL.as_ref()?.get_message_by_name(name)
}

/// The lea.notices.v1 request message names the server walks, in a fixed
/// order (the fuzz targets pick one by a byte).
pub fn request_names() -> Vec<String> {
    let mut names: Vec<String> = INPUTS
        .values()
        .map(|m| m.full_name().to_string())
        .filter(|n| n.starts_with("lea.notices.v1."))
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The walk of `bytes` read as an encoded message of the type named
/// `full_name`, exactly as sent and in one piece: the violations it finds
/// (none: within its limits). The fuzz targets' entry (see `fuzz/`).
pub fn walk_encoded(full_name: &str, bytes: &[u8]) -> Result<Vec<FieldViolation>, String> {
    let descriptor =
        descriptor(full_name).ok_or_else(|| format!("no descriptor for {full_name}"))?;
    let mut walker = Walker::new(descriptor, bytes.len() as u64);
    walker.feed(bytes);
    Ok(walker
        .finish()
        .err()
        .map(|r| r.violations)
        .unwrap_or_default())
}

/// Wraps the gRPC services (see `server::Application::serve`): each
/// lea.notices.v1 request body is walked message by message before tonic
/// decodes it.
#[derive(Clone, Copy)]
pub struct PrewalkLayer {
    max_message_bytes: usize,
}

impl PrewalkLayer {
    pub fn new(max_message_bytes: usize) -> Self {
        Self { max_message_bytes }
    }
}

impl<S> tower::Layer<S> for PrewalkLayer {
    type Service = Prewalk<S>;

    fn layer(&self, inner: S) -> Prewalk<S> {
        Prewalk {
            inner,
            layer: *self,
        }
    }
}

#[derive(Clone)]
pub struct Prewalk<S> {
    inner: S,
    layer: PrewalkLayer,
}

impl<S, ReqBody> tower::Service<http::Request<ReqBody>> for Prewalk<S>
where
    S: tower::Service<http::Request<tonic::body::Body>>,
    ReqBody: Body<Data = Bytes> + Send + Unpin + 'static,
    ReqBody::Error: Into<tower::BoxError>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> S::Future {
        let input = INPUTS.get(request.uri().path()).cloned();
        let max = self.layer.max_message_bytes;
        let request = request.map(|body| match input {
            Some(descriptor) => tonic::body::Body::new(PrewalkBody::new(body, descriptor, max)),
            None => tonic::body::Body::new(body),
        });
        self.inner.call(request)
    }
}

/// A message being read off the body.
struct Reading {
    walker: Walker,
    left: u64,
    /// The message as received (its 5-byte prefix first); dropped at the
    /// first violation, since it will not be passed on.
    kept: Option<BytesMut>,
}

/// A gRPC request body whose messages are passed on only once walked.
pub struct PrewalkBody<B> {
    inner: B,
    descriptor: MessageDescriptor,
    max_message_bytes: usize,
    prefix: Vec<u8>,
    reading: Option<Reading>,
    /// Walked messages ready to pass on.
    ready: BytesMut,
    /// What comes after them: a refusal, the trailers, the end.
    after: VecDeque<Result<Frame<Bytes>, tower::BoxError>>,
    /// Compressed or over the size limit: passed on unread (tonic refuses it).
    unread: bool,
    ended: bool,
}

impl<B> PrewalkBody<B> {
    fn new(inner: B, descriptor: MessageDescriptor, max_message_bytes: usize) -> Self {
        Self {
            inner,
            descriptor,
            max_message_bytes,
            prefix: Vec::with_capacity(5),
            reading: None,
            ready: BytesMut::new(),
            after: VecDeque::new(),
            unread: false,
            ended: false,
        }
    }

    /// Reads `data` into the messages it carries.
    fn read(&mut self, mut data: &[u8]) {
        while !data.is_empty() && !self.ended {
            if self.unread {
                self.ready.extend_from_slice(data);
                return;
            }
            let Some(reading) = &mut self.reading else {
                let n = (5 - self.prefix.len()).min(data.len());
                self.prefix.extend_from_slice(&data[..n]);
                data = &data[n..];
                if self.prefix.len() < 5 {
                    return;
                }
                let prefix = std::mem::take(&mut self.prefix);
                let len = u32::from_be_bytes([prefix[1], prefix[2], prefix[3], prefix[4]]);
                if prefix[0] != 0 || len as usize > self.max_message_bytes {
                    self.unread = true;
                    self.ready.extend_from_slice(&prefix);
                    continue;
                }
                let mut kept = BytesMut::new();
                kept.extend_from_slice(&prefix);
                self.reading = Some(Reading {
                    walker: Walker::new(self.descriptor.clone(), u64::from(len)),
                    left: u64::from(len),
                    kept: Some(kept),
                });
                if len == 0 {
                    self.message_read();
                }
                continue;
            };
            let n = reading.left.min(data.len() as u64) as usize;
            let piece = &data[..n];
            data = &data[n..];
            reading.walker.feed(piece);
            reading.left -= n as u64;
            if reading.walker.refused() {
                reading.kept = None;
            } else if let Some(kept) = &mut reading.kept {
                kept.extend_from_slice(piece);
            }
            if reading.left == 0 {
                self.message_read();
            }
        }
    }

    fn message_read(&mut self) {
        let Some(reading) = self.reading.take() else {
            return;
        };
        match reading.walker.finish() {
            Ok(()) => {
                if let Some(kept) = reading.kept {
                    self.ready.extend_from_slice(&kept);
                }
            }
            Err(refusal) => {
                // The call ends here: nothing after a refused message is read.
                self.after.push_back(Err(Box::new(refusal.into_status())));
                self.ended = true;
            }
        }
    }
}

impl<B> Body for PrewalkBody<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<tower::BoxError>,
{
    type Data = Bytes;
    type Error = tower::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        loop {
            if !self.ready.is_empty() {
                let data = self.ready.split().freeze();
                return Poll::Ready(Some(Ok(Frame::data(data))));
            }
            if let Some(next) = self.after.pop_front() {
                return Poll::Ready(Some(next));
            }
            if self.ended {
                return Poll::Ready(None);
            }
            match std::task::ready!(Pin::new(&mut self.inner).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) => self.read(&data),
                    Err(frame) => self.after.push_back(Ok(frame)),
                },
                Some(Err(e)) => {
                    self.ended = true;
                    self.after.push_back(Err(e.into()));
                }
                None => {
                    self.ended = true;
                    // Cut in the middle of a message: pass on what there is
                    // (tonic says the stream ended early), or the refusal.
                    if let Some(reading) = self.reading.take() {
                        match reading.kept {
                            Some(kept) => self.ready.extend_from_slice(&kept),
                            None => {
                                if let Err(refusal) = reading.walker.finish() {
                                    self.after.push_back(Err(Box::new(refusal.into_status())));
                                }
                            }
                        }
                    } else if !self.prefix.is_empty() {
                        let prefix = std::mem::take(&mut self.prefix);
                        self.ready.extend_from_slice(&prefix);
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.ended && self.ready.is_empty() && self.after.is_empty()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::default()
    }
}

#[cfg(test)]
mod tests {
    use prost::{Message, Name};

    use super::*;
    use crate::proto::v1 as pb;

    /// The walk of `bytes` as a `M`, fed `piece` bytes at a time.
    fn walk<M: Name>(bytes: &[u8], piece: usize) -> Result<(), Refusal> {
        let mut walker = Walker::new(descriptor(&M::full_name()).unwrap(), bytes.len() as u64);
        for chunk in bytes.chunks(piece) {
            walker.feed(chunk);
        }
        walker.finish()
    }

    fn fields(refusal: &Refusal) -> Vec<&str> {
        refusal
            .violations
            .iter()
            .map(|v| v.field.as_str())
            .collect()
    }

    #[test]
    fn millions_of_empty_marks_are_counted_not_kept() {
        // 2 million empty marks: two bytes each on the wire.
        let mut bytes = pb::RecordMarksRequest {
            parent: "authorities/850".into(),
            request_id: "b-1".into(),
            marks: vec![],
            sen_statuses: vec![],
        }
        .encode_to_vec();
        for _ in 0..2_000_000 {
            bytes.extend_from_slice(&[0x1a, 0x00]);
        }
        let refusal = walk::<pb::RecordMarksRequest>(&bytes, 16 * 1024).unwrap_err();
        assert_eq!(fields(&refusal), ["marks"]);
        assert_eq!(
            refusal.violations[0].description,
            "at most 10000 items, not 2000000"
        );
        assert_eq!(refusal.request_id.as_deref(), Some("b-1"));
    }

    #[test]
    fn text_split_anywhere_reads_the_same() {
        let request = pb::IssuePenaltyNoticeRequest {
            parent: "authorities/850".into(),
            request_id: "é".repeat(128),
            pupil: Some(pb::Pupil {
                given_name: "€".repeat(101),
                family_name: "Tay\u{85}lor".into(),
                ..Default::default()
            }),
            offence: Some(pb::Offence {
                description: "€".repeat(5_000),
                ..Default::default()
            }),
            ..Default::default()
        };
        let bytes = request.encode_to_vec();
        let expected = [
            "pupil.given_name",
            "pupil.family_name",
            "offence.description",
        ];
        for piece in [1, 2, 3, 5, 64, bytes.len()] {
            let refusal = walk::<pb::IssuePenaltyNoticeRequest>(&bytes, piece).unwrap_err();
            assert_eq!(fields(&refusal), expected, "pieces of {piece}");
            assert_eq!(
                refusal.violations[2].description,
                "at most 2000 characters, not 5000"
            );
            assert_eq!(refusal.request_id, Some("é".repeat(128)));
        }
    }

    #[test]
    fn broken_wire_format_is_an_invalid_argument() {
        let good = pb::GetNoticeRequest {
            name: "authorities/850/notices/850-2027-000001".into(),
        }
        .encode_to_vec();
        assert!(walk::<pb::GetNoticeRequest>(&good, 3).is_ok());
        let cases: [(&str, Vec<u8>); 5] = [
            ("ends early", good[..good.len() - 1].to_vec()),
            ("runs past", vec![0x0a, 0x05, b'a']),
            ("groups", vec![0x0b]),
            ("wire type", vec![0x08, 0x01]),
            ("utf-8", vec![0x0a, 0x02, 0xc3, 0x28]),
        ];
        for (what, bytes) in cases {
            let refusal = walk::<pb::GetNoticeRequest>(&bytes, 1).unwrap_err();
            assert_eq!(refusal.violations.len(), 1, "{what}: {refusal:?}");
        }
        // Unknown fields are skipped, as prost skips them, up to a bound.
        let mut unknown = good.clone();
        unknown.extend_from_slice(&[0x7a, 0x03, 1, 2, 3, 0x78, 0x05]);
        assert!(walk::<pb::GetNoticeRequest>(&unknown, 2).is_ok());
        let mut lots = good.clone();
        for _ in 0..40_000 {
            lots.extend_from_slice(&[0x7a, 0x00]);
        }
        let refusal = walk::<pb::GetNoticeRequest>(&lots, 1000).unwrap_err();
        assert_eq!(fields(&refusal), [""]);
    }

    #[test]
    fn a_refusal_names_its_batch_through_the_status() {
        let refusal = Refusal {
            violations: vec![FieldViolation::new(
                "marks",
                "at most 10000 items, not 10001",
            )],
            request_id: Some("b-7".into()),
        };
        let status = refusal.into_status();
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let named = refusal_of(&status).and_then(|r| r.request_id.as_deref());
        assert_eq!(named, Some("b-7"));
        assert!(refusal_of(&Status::invalid_argument("x")).is_none());
    }
}

#[cfg(test)]
mod limit_tests {
    //! The limits of `limits.rs`, checked on decoded messages.
    use super::*;
    use crate::api::layers::limits::{FREE_TEXT, check_text, text_limit};
    use crate::api::layers::prewalk;
    use crate::app::ServiceError;
    use crate::domain::FieldViolation;
    use crate::proto::v1 as pb;
    use prost::{Message, Name};

    #[test]
    fn long_and_control_text_is_named_without_its_value() {
        let request = pb::IssuePenaltyNoticeRequest {
            parent: "authorities/850".into(),
            request_id: "r".repeat(129),
            pupil: Some(pb::Pupil {
                given_name: "Sam\0".into(),
                address: Some(pb::PostalAddress {
                    lines: vec!["1 High Street".into(), "x".repeat(1_000_000)],
                    postcode: "SO23 8UJ".into(),
                }),
                ..Default::default()
            }),
            offence: Some(pb::Offence {
                description: "Two weeks\nin Spain".into(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let Err(ServiceError::InvalidArgument(found)) = check(&request) else {
            panic!("refused");
        };
        let fields: Vec<&str> = found.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            ["request_id", "pupil.given_name", "pupil.address.lines[1]"]
        );
        assert!(found.iter().all(|v| v.description.len() < 100), "{found:?}");
    }

    #[test]
    fn lists_are_bounded() {
        let request = pb::IssuePenaltyNoticeRequest {
            parents: vec![pb::Parent::default(); 11],
            ..Default::default()
        };
        let Err(ServiceError::InvalidArgument(found)) = check(&request) else {
            panic!("refused");
        };
        assert_eq!(found[0].field, "parents");
    }

    /// The walk over the wire format finds what a walk over the decoded
    /// message finds (the way this module worked before), in the same order.
    #[test]
    fn the_wire_walk_agrees_with_a_walk_of_the_decoded_message() {
        use prost_reflect::{DynamicMessage, Value};

        fn decoded_walk(message: &DynamicMessage, prefix: &str, found: &mut Vec<FieldViolation>) {
            for (field, value) in message.fields() {
                let name = field.name();
                let path = if prefix.is_empty() {
                    name.to_string()
                } else {
                    format!("{prefix}.{name}")
                };
                let check = |value: &Value, path: &str, found: &mut Vec<FieldViolation>| match value
                {
                    Value::String(text) => {
                        if let Err(problem) = check_text(text, text_limit(name)) {
                            found.push(FieldViolation::new(path, problem));
                        }
                    }
                    Value::Message(inner) => decoded_walk(inner, path, found),
                    _ => {}
                };
                match value {
                    Value::List(items) => {
                        let limit = list_limit(name);
                        if items.len() > limit {
                            found.push(FieldViolation::new(
                                &path,
                                format!("at most {limit} items, not {}", items.len()),
                            ));
                        }
                        // Items past the limit are counted, not looked into.
                        for (i, item) in items.iter().enumerate().take(limit) {
                            check(item, &format!("{path}[{i}]"), found);
                        }
                    }
                    other => check(other, &path, found),
                }
            }
        }
        fn both<M: Message + Name>(message: &M) -> (Vec<FieldViolation>, Vec<FieldViolation>) {
            let descriptor = prewalk::descriptor(&M::full_name()).unwrap();
            let bytes = message.encode_to_vec();
            // Fed in uneven pieces, as a request body arrives.
            let mut walker = prewalk::Walker::new(descriptor.clone(), bytes.len() as u64);
            for piece in bytes.chunks(7) {
                walker.feed(piece);
            }
            let wire = walker
                .finish()
                .err()
                .map(|r| r.violations)
                .unwrap_or_default();
            let mut decoded = Vec::new();
            let dynamic = DynamicMessage::decode(descriptor, bytes.as_slice()).unwrap();
            decoded_walk(&dynamic, "", &mut decoded);
            // As the walk reports them: the first ones, then how many more.
            let max = prewalk::MAX_VIOLATIONS;
            if decoded.len() > max {
                let more = decoded.len() - max;
                decoded.truncate(max);
                decoded.push(FieldViolation::new(
                    "",
                    format!("{more} more fields over their limits"),
                ));
            }
            (wire, decoded)
        }

        let mark = |n: usize| pb::Mark {
            school_urn: if n.is_multiple_of(7) {
                "9".repeat(17)
            } else {
                "116000".into()
            },
            upn: if n.is_multiple_of(11) {
                "A\tB".into()
            } else {
                format!("A{n:012}")
            },
            code: if n.is_multiple_of(13) {
                "/\n".into()
            } else {
                "/".into()
            },
            ..Default::default()
        };
        let marks = pb::RecordMarksRequest {
            parent: "authorities/850".into(),
            request_id: "r".repeat(200),
            marks: (0..10_050).map(mark).collect(),
            sen_statuses: vec![],
        };
        let (wire, decoded) = both(&marks);
        // The first 20 in field order, then how many more (over a thousand).
        assert_eq!(wire.len(), 21, "{wire:?}");
        assert!(
            wire[20].description.len() > "1000 more".len(),
            "{:?}",
            wire[20]
        );
        assert_eq!(wire, decoded);

        let breaches = pb::ListThresholdBreachesRequest {
            parent: "authorities/850\n".into(),
            states: vec![1; 10_001],
            ..Default::default()
        };
        let (wire, decoded) = both(&breaches);
        assert_eq!(wire.len(), 2, "{wire:?}");
        assert_eq!(wire, decoded);

        let notice = pb::IssuePenaltyNoticeRequest {
            parents: vec![
                pb::Parent {
                    given_name: "x".repeat(101),
                    ..Default::default()
                };
                12
            ],
            pupil: Some(pb::Pupil {
                address: Some(pb::PostalAddress {
                    lines: vec!["l".into(); 9],
                    postcode: "\0".into(),
                }),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (wire, decoded) = both(&notice);
        assert!(wire.len() > 10, "{wire:?}");
        assert_eq!(wire, decoded);
    }

    #[test]
    fn free_text_may_break_lines_but_names_may_not() {
        assert!(check_text("a\nb", FREE_TEXT).is_ok());
        assert!(check_text("a\nb", text_limit("given_name")).is_err());
        assert!(check_text("a\u{7}b", FREE_TEXT).is_err());
        assert!(check_text(&"é".repeat(100), text_limit("given_name")).is_ok());
        assert!(check_text(&"é".repeat(101), text_limit("given_name")).is_err());
    }
}
