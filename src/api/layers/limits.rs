//! Bounds on every request, checked before anything else reads it: the length of
//! each text field, no NUL or control characters, how many items a list may
//! hold. One walk over the message's descriptor covers every field of every
//! request, so a field added later is bounded too, and both backends see only
//! what fits in either of them.
//!
//! Violations name the field and the limit, never the value: a bad value can be
//! a megabyte long. The walk itself, over the encoded bytes as they arrive and
//! before anything is decoded, and the same check on a decoded message, are
//! `prewalk`'s.

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

pub(crate) const FREE_TEXT: TextLimit = TextLimit {
    max_chars: 2_000,
    multiline: true,
};

/// The limit of a text field, by its name in the protocol (the same name means
/// the same kind of value in every message).
pub fn text_limit(field: &str) -> TextLimit {
    match field {
        "code" => line(8),
        "relationship" => line(60),
        "upn" | "school_urn" | "postcode" | "urn" | "la_code" | "establishment_number" => line(16),
        "establishment_name" | "establishment_type" => line(200),
        "given_name" | "family_name" | "display_name" | "payer_name" => line(100),
        "person_id"
        | "provider"
        | "provider_payment_id"
        | "provider_refund_id"
        | "request_id"
        | "subject"
        | "actor_subject"
        | "qualifying_codes" => line(128),
        "lines" | "court" | "parent" | "name" | "notice" | "service" | "event_types" => line(200),
        "payer_reference" => line(500),
        "page_token" => line(1_000),
        _ => FREE_TEXT,
    }
}

/// Schools one ImportSchools request may carry.
pub const MAX_SCHOOLS_PER_IMPORT: usize = 1_000;

/// How many items a repeated field may hold, by its name.
pub fn list_limit(field: &str) -> usize {
    match field {
        "lines" => 8,
        "parents" => 10,
        "permitted_issuers" | "notice_to_improve_required_for" => 10,
        "qualifying_codes" => 50,
        "event_types" => crate::domain::events::MAX_TYPE_FILTERS,
        "allocations" => 100,
        "sessions" => 2_000,
        "schools" => MAX_SCHOOLS_PER_IMPORT,
        // Each action kind at most once.
        "kinds" => 20,
        // A RecordMarks batch is bounded by its own rule (5,000 marks, one
        // violation per bad row); this only stops a message from being absurd.
        _ => 10_000,
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
