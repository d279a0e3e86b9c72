//! The access log: who read which pupil's or parent's data, when, through which
//! call and (when the caller said) why. UK GDPR Article 5(2) asks a controller
//! to show that personal data is used lawfully; the audit log records every
//! change, this records every read of a named child's or parent's data.
//!
//! An entry names one subject (a pupil by UPN, a parent by person id), so "who
//! read this child's data" is one index range; a call that reads many subjects
//! (a list) writes one entry for each, in one statement.

use super::identifiers::LaCode;
use super::names;
use super::notice::Notice;

/// The longest purpose a caller may give (`x-access-purpose`), in characters.
pub const MAX_PURPOSE_CHARS: usize = 200;

/// The request metadata header a caller states its purpose in.
pub const PURPOSE_HEADER: &str = "x-access-purpose";

/// Whose data an entry records a read of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SubjectKind {
    /// A pupil, by UPN.
    Pupil,
    /// A parent (or carer), by the authority's person id.
    Parent,
}

string_names!(SubjectKind {
    Pupil => "pupil",
    Parent => "parent",
});

super::all_variants!(SubjectKind { Pupil, Parent });

/// One subject a call read data of, and the resource it read it in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Accessed {
    pub kind: SubjectKind,
    /// The UPN or the person id.
    pub key: String,
    /// The resource read, for example `authorities/850/notices/850-2025-000001`.
    pub resource: String,
}

impl Accessed {
    pub fn pupil(upn: &str, resource: &str) -> Accessed {
        Accessed {
            kind: SubjectKind::Pupil,
            key: upn.to_string(),
            resource: resource.to_string(),
        }
    }

    pub fn parent(person_id: &str, resource: &str) -> Accessed {
        Accessed {
            kind: SubjectKind::Parent,
            key: person_id.to_string(),
            resource: resource.to_string(),
        }
    }
}

/// The subjects a notice names: its pupil and the parent it is addressed to.
pub fn notice_subjects(authority: &LaCode, notice: &Notice) -> [Accessed; 2] {
    let name = names::notice_name(authority, &notice.notice_number);
    [
        Accessed::pupil(notice.pupil.upn.as_str(), &name),
        Accessed::parent(&notice.parent.person_id, &name),
    ]
}

/// Each subject once per resource, in a stable order.
pub fn distinct(mut accessed: Vec<Accessed>) -> Vec<Accessed> {
    accessed.sort();
    accessed.dedup();
    accessed
}

/// The purpose a caller gave in [`PURPOSE_HEADER`], as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Purpose {
    /// No header, or an empty one.
    #[default]
    NotGiven,
    Given(String),
    /// A header that is not a purpose, and why (said without quoting it).
    Invalid(&'static str),
}

impl Purpose {
    /// Reads the header's bytes: UTF-8 text of at most [`MAX_PURPOSE_CHARS`]
    /// characters without control characters, surrounding spaces trimmed.
    pub fn read(header: Option<&[u8]>) -> Purpose {
        let Some(bytes) = header else {
            return Purpose::NotGiven;
        };
        let Ok(text) = std::str::from_utf8(bytes) else {
            return Purpose::Invalid("must be UTF-8 text");
        };
        let text = text.trim();
        if text.is_empty() {
            Purpose::NotGiven
        } else if text.chars().count() > MAX_PURPOSE_CHARS {
            Purpose::Invalid("must be at most 200 characters")
        } else if text.chars().any(char::is_control) {
            Purpose::Invalid("must not hold control characters")
        } else {
            Purpose::Given(text.to_string())
        }
    }

    /// The purpose to record: `Err(why)` for an invalid header.
    pub fn recorded(&self) -> Result<Option<&str>, &'static str> {
        match self {
            Purpose::NotGiven => Ok(None),
            Purpose::Given(text) => Ok(Some(text)),
            Purpose::Invalid(why) => Err(why),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_purpose_is_short_printable_text() {
        assert_eq!(Purpose::read(None), Purpose::NotGiven);
        assert_eq!(Purpose::read(Some(b"  ")), Purpose::NotGiven);
        assert_eq!(
            Purpose::read(Some(b" case review ")),
            Purpose::Given("case review".into())
        );
        assert_eq!(
            Purpose::read(Some("é".repeat(200).as_bytes())),
            Purpose::Given("é".repeat(200))
        );
        assert!(matches!(
            Purpose::read(Some("a".repeat(201).as_bytes())),
            Purpose::Invalid(_)
        ));
        assert!(matches!(
            Purpose::read(Some(b"a\x07b")),
            Purpose::Invalid(_)
        ));
        assert!(matches!(
            Purpose::read(Some(b"\xff\xfe")),
            Purpose::Invalid(_)
        ));
        assert_eq!(Purpose::Invalid("x").recorded(), Err("x"));
        assert_eq!(Purpose::Given("y".into()).recorded(), Ok(Some("y")));
    }

    #[test]
    fn subject_kinds_round_trip_their_names() {
        for kind in SubjectKind::ALL {
            assert_eq!(SubjectKind::parse(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn distinct_keeps_each_subject_once_per_resource() {
        let a = Accessed::pupil("A1", "r1");
        let b = Accessed::parent("P1", "r1");
        let got = distinct(vec![b.clone(), a.clone(), b.clone(), a.clone()]);
        assert_eq!(got, vec![a, b]);
    }
}
