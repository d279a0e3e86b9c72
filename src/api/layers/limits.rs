//! Bounds on every request, checked before anything else reads it: the length of
//! each text field, no NUL or control characters, how many items a list may
//! hold. One walk over the message's descriptor covers every field of every
//! request, so a field added later is bounded too, and both backends see only
//! what fits in either of them.
//!
//! Violations name the field and the limit, never the value: a bad value can be
//! a megabyte long.

use std::sync::LazyLock;

use prost::encoding::{WireType, decode_key, decode_varint};
use prost::{Message, Name};
use prost_reflect::{DescriptorPool, FieldDescriptor, Kind, MessageDescriptor};

use crate::app::ServiceError;
use crate::domain::FieldViolation;
use crate::proto::FILE_DESCRIPTOR_SET;

/// Violations reported one by one; more are summed up.
const MAX_VIOLATIONS: usize = 20;

/// A text field: how long it may be, and whether it may hold line breaks and tabs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    pub max_chars: usize,
    pub multiline: bool,
}

const fn line(max_chars: usize) -> TextLimit {
    TextLimit {
        max_chars,
        multiline: false,
    }
}

const FREE_TEXT: TextLimit = TextLimit {
    max_chars: 2_000,
    multiline: true,
};

/// The limit of a text field, by its name in the protocol (the same name means
/// the same kind of value in every message).
pub fn text_limit(field: &str) -> TextLimit {
    match field {
        "code" => line(8),
        "upn" | "school_urn" | "postcode" | "urn" | "la_code" | "establishment_number" => line(16),
        "establishment_name" | "establishment_type" => line(200),
        "given_name" | "family_name" | "display_name" | "payer_name" => line(100),
        "person_id"
        | "provider"
        | "provider_payment_id"
        | "provider_refund_id"
        | "request_id"
        | "subject"
        | "qualifying_codes" => line(128),
        "lines" | "court" | "parent" | "name" | "notice" | "service" => line(200),
        "payer_reference" => line(500),
        "page_token" => line(1_000),
        _ => FREE_TEXT,
    }
}

/// How many items a repeated field may hold, by its name.
pub fn list_limit(field: &str) -> usize {
    match field {
        "lines" => 8,
        "parents" => 10,
        "permitted_issuers" | "notice_to_improve_required_for" => 10,
        "qualifying_codes" => 50,
        "allocations" => 100,
        "sessions" => 2_000,
        "schools" => crate::api::convert::school::MAX_SCHOOLS_PER_IMPORT,
        // A RecordMarks batch is bounded by its own rule (5,000 marks, one
        // violation per bad row); this only stops a message from being absurd.
        _ => 10_000,
    }
}

static POOL: LazyLock<Option<DescriptorPool>> =
    LazyLock::new(|| DescriptorPool::decode(FILE_DESCRIPTOR_SET).ok());

/// INVALID_ARGUMENT naming every field of `message` over its limits.
pub fn check<M: Message + Name>(message: &M) -> Result<(), ServiceError> {
    let Some(descriptor) = POOL
        .as_ref()
        .and_then(|pool| pool.get_message_by_name(&M::full_name()))
    else {
        return Err(ServiceError::Internal(format!(
            "no descriptor for {}",
            M::full_name()
        )));
    };
    let mut found = Vec::new();
    walk(
        &descriptor,
        &message.encode_to_vec(),
        &mut Vec::new(),
        &mut found,
    )
    .map_err(|e| ServiceError::Internal(format!("re-reading a request: {e}")))?;
    if found.is_empty() {
        return Ok(());
    }
    let more = found.len().saturating_sub(MAX_VIOLATIONS);
    found.truncate(MAX_VIOLATIONS);
    if more > 0 {
        found.push(FieldViolation::new(
            "",
            format!("{more} more fields over their limits"),
        ));
    }
    Err(ServiceError::InvalidArgument(found))
}

/// A field on the way down from the request, and its index in a list.
type Step = (FieldDescriptor, Option<usize>);

/// The violation's field path, as `pupil.address.lines[1]`.
fn path_of(steps: &[Step]) -> String {
    let mut path = String::new();
    for (field, index) in steps {
        if !path.is_empty() {
            path.push('.');
        }
        path.push_str(field.name());
        if let Some(i) = index {
            path.push_str(&format!("[{i}]"));
        }
    }
    path
}

/// Checks the encoded message `bytes` of type `descriptor` field by field, in
/// field-number order: each list's length, then each text. It reads the wire
/// format in place: decoding into a `DynamicMessage` first (a map per message,
/// a path string per field) was half the server's CPU on a 5,000-mark batch.
fn walk(
    descriptor: &MessageDescriptor,
    bytes: &[u8],
    steps: &mut Vec<Step>,
    found: &mut Vec<FieldViolation>,
) -> Result<(), String> {
    // Each field's values in the order sent: (field number, value, packed items).
    let mut values: Vec<(u32, &[u8], usize)> = Vec::new();
    let mut buf = bytes;
    while !buf.is_empty() {
        let (number, wire_type) = decode_key(&mut buf).map_err(|e| e.to_string())?;
        let value = match wire_type {
            WireType::Varint => {
                decode_varint(&mut buf).map_err(|e| e.to_string())?;
                &[][..]
            }
            WireType::ThirtyTwoBit => take(&mut buf, 4)?,
            WireType::SixtyFourBit => take(&mut buf, 8)?,
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut buf).map_err(|e| e.to_string())?)
                    .map_err(|_| String::from("length out of range"))?;
                take(&mut buf, len)?
            }
            WireType::StartGroup | WireType::EndGroup => {
                return Err(String::from("groups are not used"));
            }
        };
        let items = match descriptor.get_field(number) {
            Some(field) if field.is_list() && wire_type == WireType::LengthDelimited => {
                packed_items(&field.kind(), value)
            }
            _ => 1,
        };
        values.push((number, value, items));
    }
    // Stable: a list's items keep their order.
    values.sort_by_key(|(number, _, _)| *number);
    let mut at = 0;
    while at < values.len() {
        let number = values[at].0;
        let end = at + values[at..].iter().take_while(|v| v.0 == number).count();
        let Some(field) = descriptor.get_field(number) else {
            at = end;
            continue;
        };
        if field.is_map() {
            at = end;
            continue;
        }
        let kind = field.kind();
        let list = field.is_list();
        steps.push((field.clone(), None));
        if list {
            let items: usize = values[at..end].iter().map(|v| v.2).sum();
            let limit = list_limit(field.name());
            if items > limit {
                found.push(FieldViolation::new(
                    path_of(steps),
                    format!("at most {limit} items, not {items}"),
                ));
            }
        }
        for (i, (_, value, _)) in values[at..end].iter().enumerate() {
            if list && let Some(last) = steps.last_mut() {
                last.1 = Some(i);
            }
            match &kind {
                Kind::String => {
                    let text = std::str::from_utf8(value)
                        .map_err(|_| String::from("text is not UTF-8"))?;
                    if let Err(problem) = check_text(text, text_limit(field.name())) {
                        found.push(FieldViolation::new(path_of(steps), problem));
                    }
                }
                Kind::Message(inner) => walk(inner, value, steps, found)?,
                _ => {}
            }
        }
        steps.pop();
        at = end;
    }
    Ok(())
}

/// The first `len` bytes of `buf`, taken off it.
fn take<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8], String> {
    if buf.len() < len {
        return Err(String::from("message ends early"));
    }
    let (value, rest) = buf.split_at(len);
    *buf = rest;
    Ok(value)
}

/// How many items a length-delimited value of a list of `kind` holds: one
/// text, bytes or message, or a packed run of numbers.
fn packed_items(kind: &Kind, value: &[u8]) -> usize {
    match kind {
        Kind::String | Kind::Bytes | Kind::Message(_) => 1,
        Kind::Double | Kind::Fixed64 | Kind::Sfixed64 => value.len() / 8,
        Kind::Float | Kind::Fixed32 | Kind::Sfixed32 => value.len() / 4,
        // Varints: each ends with a byte below 0x80.
        _ => value.iter().filter(|b| **b < 0x80).count(),
    }
}

/// The violations the walk finds in `bytes`, read as an encoded message of the
/// type named `full_name` (`lea.notices.v1.IssuePenaltyNoticeRequest`) exactly
/// as sent: the fuzz targets' entry (see `fuzz/`), which feeds it any bytes.
/// `Err` for bytes that are not such a message, or a type it does not know.
pub fn walk_encoded(full_name: &str, bytes: &[u8]) -> Result<Vec<FieldViolation>, String> {
    let descriptor = POOL
        .as_ref()
        .and_then(|pool| pool.get_message_by_name(full_name))
        .ok_or_else(|| format!("no descriptor for {full_name}"))?;
    let mut found = Vec::new();
    walk(&descriptor, bytes, &mut Vec::new(), &mut found)?;
    Ok(found)
}

/// The names of the lea.notices.v1 request messages, in a fixed order.
pub fn request_names() -> Vec<String> {
    let mut names: Vec<String> = POOL
        .iter()
        .flat_map(|pool| pool.all_messages())
        .map(|m| m.full_name().to_string())
        .filter(|n| n.starts_with("lea.notices.v1.") && n.ends_with("Request"))
        .collect();
    names.sort();
    names
}

/// Whether `text` keeps to `limit`; the problem, without quoting the text.
pub fn check_text(text: &str, limit: TextLimit) -> Result<(), String> {
    let chars = text.chars().count();
    if chars > limit.max_chars {
        return Err(format!(
            "at most {} characters, not {chars}",
            limit.max_chars
        ));
    }
    let allowed = |c: char| limit.multiline && matches!(c, '\n' | '\r' | '\t');
    match text.chars().position(|c| c.is_control() && !allowed(c)) {
        Some(at) => Err(format!(
            "must not contain control characters (U+{:04X} at character {at})",
            u32::from(text.chars().nth(at).unwrap_or('\0'))
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::v1 as pb;

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
                        for (i, item) in items.iter().enumerate() {
                            check(item, &format!("{path}[{i}]"), found);
                        }
                    }
                    other => check(other, &path, found),
                }
            }
        }
        fn both<M: Message + Name>(message: &M) -> (Vec<FieldViolation>, Vec<FieldViolation>) {
            let descriptor = POOL
                .as_ref()
                .unwrap()
                .get_message_by_name(&M::full_name())
                .unwrap();
            let bytes = message.encode_to_vec();
            let mut wire = Vec::new();
            walk(&descriptor, &bytes, &mut Vec::new(), &mut wire).unwrap();
            let mut decoded = Vec::new();
            let dynamic = DynamicMessage::decode(descriptor, bytes.as_slice()).unwrap();
            decoded_walk(&dynamic, "", &mut decoded);
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
        };
        let (wire, decoded) = both(&marks);
        assert!(wire.len() > 1_000, "{}", wire.len());
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
