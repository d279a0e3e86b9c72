//! Rectification (UK GDPR Article 16): correcting a pupil's or a parent's
//! personal details where the service holds them, which is on the notices that
//! name them (each notice keeps the details it was issued with, as printed on
//! its letter). A correction replaces the details on every notice naming the
//! subject and keeps, per notice, what it held before, so the history shows
//! what was printed before and letters rendered afterwards print the
//! corrected details.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::FieldViolation;
use super::access_log::SubjectKind;
use super::actor::Actor;
use super::notice::{Address, Notice};

/// The longest reason a rectification may give.
pub const MAX_REASON_CHARS: usize = 500;

/// A pupil's or a parent's details as a notice holds and prints them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalDetails {
    pub given_name: String,
    pub family_name: String,
    pub address: Address,
}

impl PersonalDetails {
    /// The details `notice` holds of the subject of `kind`.
    pub fn on_notice(notice: &Notice, kind: SubjectKind) -> Self {
        match kind {
            SubjectKind::Pupil => Self {
                given_name: notice.pupil.given_name.clone(),
                family_name: notice.pupil.family_name.clone(),
                address: notice.pupil.address.clone(),
            },
            SubjectKind::Parent => Self {
                given_name: notice.parent.given_name.clone(),
                family_name: notice.parent.family_name.clone(),
                address: notice.parent.address.clone(),
            },
        }
    }

    /// The fields that differ from `other`, by the protocol's names (what an
    /// audit event records: the names, never the values).
    pub fn changed_fields(&self, other: &Self) -> Vec<&'static str> {
        let mut changed = Vec::new();
        if self.given_name != other.given_name {
            changed.push("given_name");
        }
        if self.family_name != other.family_name {
            changed.push("family_name");
        }
        if self.address != other.address {
            changed.push("address");
        }
        changed
    }
}

/// A correction asked for: whose details, the details as they should read,
/// and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RectificationRequest {
    pub subject_kind: SubjectKind,
    /// The pupil's UPN or the parent's person id.
    pub subject_key: String,
    pub corrected: PersonalDetails,
    pub reason: String,
}

/// The reason a rectification gives: required, at most [`MAX_REASON_CHARS`]
/// characters, no control characters (it is printed in the subject's export).
pub fn check_reason(field: &str, reason: &str) -> Result<String, FieldViolation> {
    let reason = reason.trim();
    if reason.is_empty() {
        Err(FieldViolation::new(
            field,
            "say why the details are corrected (for example the parent's letter asking for it)",
        ))
    } else if reason.chars().count() > MAX_REASON_CHARS {
        Err(FieldViolation::new(
            field,
            format!("at most {MAX_REASON_CHARS} characters"),
        ))
    } else if reason.chars().any(char::is_control) {
        Err(FieldViolation::new(
            field,
            "must not contain control characters",
        ))
    } else {
        Ok(reason.to_string())
    }
}

/// One correction of one notice's details of one subject, as kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rectification {
    pub notice_number: String,
    /// Numbers the notice's rectifications from 1.
    pub sequence: i64,
    pub subject_kind: SubjectKind,
    pub subject_key: String,
    /// What the notice held, and its letters printed, before.
    pub previous: PersonalDetails,
    pub corrected: PersonalDetails,
    pub reason: String,
    pub at: DateTime<Utc>,
    pub by: Actor,
    pub request_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(given: &str, line: &str) -> PersonalDetails {
        PersonalDetails {
            given_name: given.into(),
            family_name: "Taylor".into(),
            address: Address {
                lines: vec![line.into()],
                postcode: "SO23 8UJ".into(),
            },
        }
    }

    #[test]
    fn only_the_fields_that_differ_are_named() {
        let old = details("Jo", "1 High Street");
        assert!(old.changed_fields(&old).is_empty());
        assert_eq!(
            old.changed_fields(&details("Jo", "2 Low Road")),
            ["address"]
        );
        assert_eq!(
            old.changed_fields(&details("Joanne", "2 Low Road")),
            ["given_name", "address"]
        );
    }

    #[test]
    fn a_reason_is_required_and_bounded() {
        assert!(check_reason("reason", "  ").is_err());
        assert!(check_reason("reason", "a\u{7}").is_err());
        assert!(check_reason("reason", &"x".repeat(MAX_REASON_CHARS + 1)).is_err());
        assert_eq!(
            check_reason("reason", " Moved house ").unwrap(),
            "Moved house"
        );
    }
}
