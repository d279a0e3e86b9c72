//! Bounds on every request, checked before anything else reads it: the length of
//! each text field, no NUL or control characters, how many items a list may
//! hold. One walk over the message's descriptor covers every field of every
//! request, so a field added later is bounded too, and both backends see only
//! what fits in either of them.
//!
//! Violations name the field and the limit, never the value: a bad value can be
//! a megabyte long.

use std::sync::LazyLock;

use prost::{Message, Name};
use prost_reflect::{DescriptorPool, DynamicMessage, Value};

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
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| ServiceError::Internal(format!("re-reading a request: {e}")))?;
    let mut found = Vec::new();
    walk(&dynamic, "", &mut found);
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

fn walk(message: &DynamicMessage, prefix: &str, found: &mut Vec<FieldViolation>) {
    for (field, value) in message.fields() {
        let name = field.name();
        let path = if prefix.is_empty() {
            name.to_string()
        } else {
            format!("{prefix}.{name}")
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
                    check_value(item, name, &format!("{path}[{i}]"), found);
                }
            }
            other => check_value(other, name, &path, found),
        }
    }
}

fn check_value(value: &Value, name: &str, path: &str, found: &mut Vec<FieldViolation>) {
    match value {
        Value::String(text) => {
            if let Err(problem) = check_text(text, text_limit(name)) {
                found.push(FieldViolation::new(path, problem));
            }
        }
        Value::Message(inner) => walk(inner, path, found),
        _ => {}
    }
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

    #[test]
    fn free_text_may_break_lines_but_names_may_not() {
        assert!(check_text("a\nb", FREE_TEXT).is_ok());
        assert!(check_text("a\nb", text_limit("given_name")).is_err());
        assert!(check_text("a\u{7}b", FREE_TEXT).is_err());
        assert!(check_text(&"é".repeat(100), text_limit("given_name")).is_ok());
        assert!(check_text(&"é".repeat(101), text_limit("given_name")).is_err());
    }
}
