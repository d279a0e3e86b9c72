//! EventService: feed events to the protocol, and the request's checks.

use super::timestamp_to_proto;
use crate::domain::{
    FieldViolation,
    events::{self, FeedEvent, TypeFilter},
};
use crate::proto::v1 as pb;

/// A feed event as the protocol carries it: its CloudEvents attributes, and
/// the whole event as JSON from the same conversion the relay publishes.
pub fn feed_event_to_proto(e: &FeedEvent) -> pb::FeedEvent {
    pb::FeedEvent {
        sequence: e.sequence,
        id: e.id(),
        source: e.source(),
        spec_version: events::SPEC_VERSION.to_string(),
        r#type: e.event_type(),
        subject: e.resource.clone(),
        time: Some(timestamp_to_proto(e.time)),
        data_content_type: events::DATA_CONTENT_TYPE.to_string(),
        data_json: e.data().to_string(),
        cloud_event_json: e.cloud_event_json(),
    }
}

/// The cursor and the type filter of a request, every bad field named.
pub fn watch_request(
    req: &pb::WatchEventsRequest,
) -> Result<(i64, TypeFilter), Vec<FieldViolation>> {
    let mut violations = Vec::new();
    if req.start_after < 0 {
        violations.push(FieldViolation::new(
            "start_after",
            "a sequence: 0 for the beginning, or a cursor received",
        ));
    }
    let filter = TypeFilter::parse("event_types", &req.event_types).unwrap_or_else(|v| {
        violations.extend(v);
        TypeFilter::default()
    });
    if violations.is_empty() {
        Ok((req.start_after, filter))
    } else {
        Err(violations)
    }
}
