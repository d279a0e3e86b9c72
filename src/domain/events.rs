//! The event feed (`EventService.WatchEvents`, `lea-notices relay-events`): how
//! an event of the audit log becomes a CloudEvent, which events each role
//! sees, and the filter by event type. One conversion serves the gRPC feed and
//! the broker relay, so both carry the same JSON (docs/events.md).
//!
//! - `type`: [`TYPE_PREFIX`] followed by the audit action (`resource_type.verb`),
//!   unchanged: `notice.withdrawn` is `uk.gov.lea-notices.v1.notice.withdrawn`.
//! - `id`: `{la_code}-{sequence}`, unique in a deployment and the same on
//!   every delivery (consumers deduplicate by it); `source`:
//!   `/lea-notices/authorities/{la_code}`; `subject`: the resource name.
//! - `sequence` (the CloudEvents Sequence extension): the audit event id,
//!   zero-padded to 19 digits so that it orders as text, as the extension asks.
//! - `data`: the audit event's action, resource, actor, request id and details,
//!   exactly as the audit log holds them: no personal data the log does not.

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

use super::FieldViolation;
use super::actor::Role;

/// Every event type starts with this; the audit action follows.
pub const TYPE_PREFIX: &str = "uk.gov.lea-notices.v1.";
/// The CloudEvents version the events follow.
pub const SPEC_VERSION: &str = "1.0";
/// What `data` is.
pub const DATA_CONTENT_TYPE: &str = "application/json";
/// Entries an event-type filter may hold.
pub const MAX_TYPE_FILTERS: usize = 32;

/// The kind of resource an event is about: the part of its audit action
/// before the first dot. Visibility is decided per kind ([`sees`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventResource {
    /// `notice.*`: issued, withdrawn, prosecution outcome, paid, evidence
    /// corrected, and the statutory dates.
    Notice,
    /// `payment.*`: recorded, allocated (to a notice), reallocated, refunded.
    Payment,
    /// `penalty_notice_request.*`: a school's request, issued or declined.
    PenaltyNoticeRequest,
    /// `breach.*`: the decision on a threshold breach (names the pupil's UPN).
    Breach,
    /// `attendance.*`: a batch of register marks recorded (counts, schools, dates).
    Attendance,
    /// `school_register.*`: the GIAS register imported.
    SchoolRegister,
    /// `policy_version.*`: a version of the local code of conduct.
    PolicyVersion,
    /// `authority_settings.*`: the authority's letter details.
    AuthoritySettings,
    /// `sharing_agreement.*`: a version of the authority's sharing agreement.
    SharingAgreement,
    /// `sharing.*`: a look-up of another authority's notices for the limit
    /// (codes, dates, counts and the disclosing authority's notice numbers).
    Sharing,
    /// `measure.*`: a case of the other measures opened or changed (names
    /// the pupil's UPN).
    Measure,
    /// Any other action (one a later version adds before this list names it).
    Other,
}

super::all_variants!(EventResource {
    Notice,
    Payment,
    PenaltyNoticeRequest,
    Breach,
    Attendance,
    SchoolRegister,
    PolicyVersion,
    AuthoritySettings,
    SharingAgreement,
    Sharing,
    Measure,
    Other
});

impl EventResource {
    /// The resource type as actions name it; `None` for [`EventResource::Other`].
    pub fn as_str(self) -> Option<&'static str> {
        use EventResource::*;
        Some(match self {
            Notice => "notice",
            Payment => "payment",
            PenaltyNoticeRequest => "penalty_notice_request",
            Breach => "breach",
            Attendance => "attendance",
            SchoolRegister => "school_register",
            PolicyVersion => "policy_version",
            AuthoritySettings => "authority_settings",
            SharingAgreement => "sharing_agreement",
            Sharing => "sharing",
            Measure => "measure",
            Other => return None,
        })
    }

    /// What an audit action (`notice.withdrawn`) is about.
    pub fn of_action(action: &str) -> EventResource {
        let kind = action.split('.').next().unwrap_or_default();
        EventResource::ALL
            .into_iter()
            .find(|r| r.as_str() == Some(kind))
            .unwrap_or(EventResource::Other)
    }
}

/// Whether `role` sees events about `resource` on the feed. The roles that
/// read the audit log see everything; an LA officer every kind this build
/// knows (each is something officers read or act on); finance the notices and
/// the money (a finance system reconciles payments against notices issued,
/// paid, withdrawn or prosecuted). School staff and police see nothing: their
/// access is scoped within the authority (their schools, the notices they
/// issued), which an authority-wide feed cannot honour from the audit record
/// alone (a withdrawal does not name the school), so they may not watch
/// (`access::Operation::WatchEvents`).
pub fn sees(role: Role, resource: EventResource) -> bool {
    use EventResource::*;
    match role {
        Role::Auditor | Role::Admin => true,
        Role::LaOfficer => match resource {
            Notice | Payment | PenaltyNoticeRequest | Breach | Attendance | SchoolRegister
            | PolicyVersion | AuthoritySettings | SharingAgreement | Sharing | Measure => true,
            Other => false,
        },
        Role::Finance => match resource {
            Notice | Payment => true,
            PenaltyNoticeRequest | Breach | Attendance | SchoolRegister | PolicyVersion
            | AuthoritySettings | SharingAgreement | Sharing | Measure | Other => false,
        },
        // The data protection officer reads the access and audit logs, not
        // the feed of changes.
        Role::SchoolStaff | Role::Police | Role::DataProtectionOfficer => false,
    }
}

/// The event types a caller asked for: each entry a whole type or a resource
/// type's prefix; empty matches every type.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TypeFilter {
    entries: Vec<String>,
}

impl TypeFilter {
    /// Checks each entry (`field[i]` names a bad one): it must be
    /// [`TYPE_PREFIX`] followed by one or two words of lowercase letters,
    /// digits and underscores separated by a dot.
    pub fn parse(field: &str, entries: &[String]) -> Result<TypeFilter, Vec<FieldViolation>> {
        let mut violations = Vec::new();
        if entries.len() > MAX_TYPE_FILTERS {
            violations.push(FieldViolation::new(
                field,
                format!("at most {MAX_TYPE_FILTERS} entries, not {}", entries.len()),
            ));
        }
        for (i, entry) in entries.iter().enumerate() {
            let words: Option<Vec<&str>> = entry
                .strip_prefix(TYPE_PREFIX)
                .map(|rest| rest.split('.').collect());
            let well_formed = words.is_some_and(|w| {
                (1..=2).contains(&w.len())
                    && w.iter().all(|word| {
                        !word.is_empty()
                            && word.len() <= 64
                            && word
                                .chars()
                                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                    })
            });
            if !well_formed {
                violations.push(FieldViolation::new(
                    format!("{field}[{i}]"),
                    format!(
                        "an event type ({TYPE_PREFIX}resource_type.verb) or a resource type \
                         ({TYPE_PREFIX}resource_type)"
                    ),
                ));
            }
        }
        if violations.is_empty() {
            Ok(TypeFilter {
                entries: entries.to_vec(),
            })
        } else {
            Err(violations)
        }
    }

    /// Whether an event of type `event_type` passes.
    pub fn matches(&self, event_type: &str) -> bool {
        self.entries.is_empty()
            || self.entries.iter().any(|e| {
                event_type == e
                    || event_type
                        .strip_prefix(e.as_str())
                        .is_some_and(|rest| rest.starts_with('.'))
            })
    }
}

/// One event of an authority's log, as the feed hands it out.
#[derive(Debug, Clone, PartialEq)]
pub struct FeedEvent {
    /// The authority's LA code.
    pub authority: String,
    /// The audit event id: its place in the authority's log.
    pub sequence: i64,
    pub time: DateTime<Utc>,
    /// `resource_type.verb`.
    pub action: String,
    /// The resource name.
    pub resource: String,
    pub actor_subject: String,
    pub actor_role: String,
    pub request_id: String,
    /// The audit event's details, as stored.
    pub details: Value,
}

impl FeedEvent {
    /// CloudEvents `id`.
    pub fn id(&self) -> String {
        event_id(&self.authority, self.sequence)
    }

    /// CloudEvents `source`.
    pub fn source(&self) -> String {
        format!("/lea-notices/authorities/{}", self.authority)
    }

    /// CloudEvents `type`.
    pub fn event_type(&self) -> String {
        format!("{TYPE_PREFIX}{}", self.action)
    }

    /// What the event is about.
    pub fn resource_kind(&self) -> EventResource {
        EventResource::of_action(&self.action)
    }

    /// CloudEvents `time` (RFC 3339, UTC, microseconds).
    pub fn time_text(&self) -> String {
        self.time.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// CloudEvents `sequence` (the Sequence extension: orders as text).
    pub fn sequence_text(&self) -> String {
        format!("{:019}", self.sequence)
    }

    /// CloudEvents `data`.
    pub fn data(&self) -> Value {
        json!({
            "action": self.action,
            "resource": self.resource,
            "actor": { "subject": self.actor_subject, "role": self.actor_role },
            "request_id": self.request_id,
            "details": self.details,
        })
    }

    /// The whole event in the CloudEvents JSON format (structured mode).
    pub fn cloud_event(&self) -> Value {
        json!({
            "specversion": SPEC_VERSION,
            "id": self.id(),
            "source": self.source(),
            "type": self.event_type(),
            "subject": self.resource,
            "time": self.time_text(),
            "datacontenttype": DATA_CONTENT_TYPE,
            "sequence": self.sequence_text(),
            "data": self.data(),
        })
    }

    /// [`Self::cloud_event`] as text: what the feed and the relay send.
    pub fn cloud_event_json(&self) -> String {
        self.cloud_event().to_string()
    }
}

/// The CloudEvents `id` of an authority's event `sequence`.
pub fn event_id(authority: &str, sequence: i64) -> String {
    format!("{authority}-{sequence}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(action: &str) -> FeedEvent {
        FeedEvent {
            authority: "850".into(),
            sequence: 17,
            time: DateTime::parse_from_rfc3339("2027-01-04T12:00:00.123456Z")
                .unwrap()
                .with_timezone(&Utc),
            action: action.into(),
            resource: "authorities/850/notices/850-2027-000001".into(),
            actor_subject: "officer.jones".into(),
            actor_role: "la_officer".into(),
            request_id: "r-1".into(),
            details: json!({"ground": "error"}),
        }
    }

    #[test]
    fn an_audit_event_as_a_cloud_event() {
        let e = event("notice.withdrawn");
        let ce = e.cloud_event();
        assert_eq!(ce["specversion"], "1.0");
        assert_eq!(ce["id"], "850-17");
        assert_eq!(ce["source"], "/lea-notices/authorities/850");
        assert_eq!(ce["type"], "uk.gov.lea-notices.v1.notice.withdrawn");
        assert_eq!(ce["subject"], "authorities/850/notices/850-2027-000001");
        assert_eq!(ce["time"], "2027-01-04T12:00:00.123456Z");
        assert_eq!(ce["datacontenttype"], "application/json");
        assert_eq!(ce["sequence"], "0000000000000000017");
        assert_eq!(ce["data"]["details"]["ground"], "error");
        assert_eq!(ce["data"]["actor"]["role"], "la_officer");
        let parsed: Value = serde_json::from_str(&e.cloud_event_json()).unwrap();
        assert_eq!(parsed, ce);
    }

    #[test]
    fn sequences_order_as_text_as_they_do_as_numbers() {
        let mut a = event("notice.paid");
        let mut b = a.clone();
        a.sequence = 9;
        b.sequence = 10;
        assert!(a.sequence_text() < b.sequence_text());
        b.sequence = i64::MAX;
        assert_eq!(b.sequence_text().len(), 19);
    }

    #[test]
    fn actions_name_their_resource_kind() {
        assert_eq!(
            EventResource::of_action("notice.paid"),
            EventResource::Notice
        );
        assert_eq!(
            EventResource::of_action("penalty_notice_request.declined"),
            EventResource::PenaltyNoticeRequest
        );
        assert_eq!(
            EventResource::of_action("school_register.imported"),
            EventResource::SchoolRegister
        );
        assert_eq!(
            EventResource::of_action("something_new.happened"),
            EventResource::Other
        );
        for kind in EventResource::ALL {
            if let Some(name) = kind.as_str() {
                assert_eq!(EventResource::of_action(&format!("{name}.x")), kind);
            }
        }
    }

    #[test]
    fn who_sees_what() {
        use EventResource::*;
        for kind in EventResource::ALL {
            assert!(sees(Role::Auditor, kind) && sees(Role::Admin, kind));
            assert!(!sees(Role::SchoolStaff, kind) && !sees(Role::Police, kind));
            assert_eq!(sees(Role::LaOfficer, kind), kind != Other);
            assert_eq!(sees(Role::Finance, kind), matches!(kind, Notice | Payment));
        }
    }

    #[test]
    fn type_filters_take_whole_types_and_resource_types() {
        let f = TypeFilter::parse(
            "event_types",
            &[
                "uk.gov.lea-notices.v1.payment".to_string(),
                "uk.gov.lea-notices.v1.notice.withdrawn".to_string(),
            ],
        )
        .unwrap();
        assert!(f.matches("uk.gov.lea-notices.v1.payment.recorded"));
        assert!(f.matches("uk.gov.lea-notices.v1.notice.withdrawn"));
        assert!(!f.matches("uk.gov.lea-notices.v1.notice.paid"));
        assert!(!f.matches("uk.gov.lea-notices.v1.payments.recorded"));
        assert!(TypeFilter::default().matches("uk.gov.lea-notices.v1.anything.at_all"));
        let bad = TypeFilter::parse(
            "event_types",
            &[
                "uk.gov.lea-notices.v1.notice".to_string(),
                "notice.withdrawn".to_string(),
                "uk.gov.lea-notices.v1.".to_string(),
                "uk.gov.lea-notices.v1.a.b.c".to_string(),
                "uk.gov.lea-notices.v1.Notice".to_string(),
            ],
        )
        .unwrap_err();
        let fields: Vec<&str> = bad.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "event_types[1]",
                "event_types[2]",
                "event_types[3]",
                "event_types[4]"
            ]
        );
        let many = vec!["uk.gov.lea-notices.v1.notice".to_string(); MAX_TYPE_FILTERS + 1];
        assert!(TypeFilter::parse("event_types", &many).is_err());
    }
}
