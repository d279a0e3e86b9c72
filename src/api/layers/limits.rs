//! Bounds on every request, checked before anything else reads it: the length of
//! each text field, no NUL or control characters, how many items a list may
//! hold. One walk over the message's descriptor covers every field of every
//! request, so a field added later is bounded too, and both backends see only
//! what fits in either of them.
//!
//! Violations name the field and the limit, never the value: a bad value can be
//! a megabyte long. The walk itself, over the encoded bytes as they arrive and
//! before anything is decoded, is `prewalk`'s.

use prost::{Message, Name};

use super::prewalk;
use crate::app::ServiceError;

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

/// INVALID_ARGUMENT naming every field of `message` over its limits (at most
/// [`prewalk::MAX_VIOLATIONS`], then how many more). The server checks every
/// request this way before decoding it (`prewalk`); this is the same check on
/// a decoded message.
pub fn check<M: Message + Name>(message: &M) -> Result<(), ServiceError> {
    let Some(descriptor) = prewalk::descriptor(&M::full_name()) else {
        return Err(ServiceError::Internal(format!(
            "no descriptor for {}",
            M::full_name()
        )));
    };
    let bytes = message.encode_to_vec();
    let mut walker = prewalk::Walker::new(descriptor, bytes.len() as u64);
    walker.feed(&bytes);
    walker
        .finish()
        .map_err(|refusal| ServiceError::InvalidArgument(refusal.violations))
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
    use crate::domain::FieldViolation;
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
