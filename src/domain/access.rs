//! Who may do what, inside their own authority. Scope within an authority (a head
//! teacher's own schools, a constable's own notices) is checked where the
//! resource is known; another authority's resources are never visible.

use super::actor::Role;
use super::identifiers::Urn;
use super::notice::Notice;
use super::policy::IssuerRole;

/// What a call does, as far as permissions go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    CreatePolicyVersion,
    /// Publishing the authority's details printed on its letters.
    ChangeAuthoritySettings,
    /// Publishing the authority's sharing agreement (with which other
    /// authorities it shares penalty notices for the limit): as policy.
    ChangeSharingAgreements,
    /// Publishing a version of the authority's retention periods.
    ChangeRetentionPolicy,
    ReadPolicy,
    RecordMarks,
    ReadAttendance,
    IssueNoticeToImprove,
    IssuePenaltyNotice,
    ReadNotices,
    /// Withdrawing a notice or recording a prosecution outcome.
    ChangeNoticeLifecycle,
    /// Recording payments, allocating them and recording refunds.
    RecordPayments,
    ReadPayments,
    ReadStatutoryReturn,
    /// Recording the decision on a threshold breach (LA officers).
    DecideBreach,
    /// A school asking the authority for a penalty notice.
    RequestPenaltyNotice,
    /// Listing, issuing from and declining schools' requests (LA officers).
    ReviewPenaltyNoticeRequests,
    /// Listing the authority's audit log, every kind of event.
    ReadAuditLog,
    /// Recomputing the audit log's hash chain.
    VerifyAuditLog,
    /// Loading the DfE school register (GIAS) into the authority's register.
    ImportSchools,
    /// Reading the school register (public data: every role may).
    ReadSchools,
    /// Listing the worklist: what needs a person now (which items each role
    /// sees is `worklist::scope`).
    ReadWorklist,
    /// Following the authority's event feed (`EventService.WatchEvents`); which
    /// events a role sees is `events::sees`.
    WatchEvents,
    /// Reading the other measures' cases (contracts, orders, prosecutions);
    /// school staff their own schools' only.
    ReadMeasures,
    /// Opening a case of the other measures and recording its events (LA officers).
    ChangeMeasures,
    /// Listing the access log: who read which pupil's or parent's data.
    ReadAccessLog,
    /// Exporting everything held about one pupil or parent (a subject access
    /// request, UK GDPR Article 15).
    ExportSubjectData,
    /// Correcting a pupil's or parent's personal details on the notices that
    /// hold them (UK GDPR Article 16): LA officers, who hold the case and hear
    /// from the family, and the data protection officer, who answers a
    /// request for rectification. Not school staff or police (they do not own
    /// the authority's notices as a whole), nor finance, auditors or admins
    /// (they change no one's case).
    RectifyPersonalData,
}

use Operation::*;
use Role::*;

/// Whether `role` may perform `operation` at all (scope rules apply on top).
pub fn allowed(role: Role, operation: Operation) -> bool {
    if operation == ReadSchools {
        return true;
    }
    match role {
        // Its own schools: registers, attendance, notices where the policy lets
        // head teachers issue.
        SchoolStaff => matches!(
            operation,
            RecordMarks
                | ReadAttendance
                | IssueNoticeToImprove
                | IssuePenaltyNotice
                | ReadNotices
                | RequestPenaltyNotice
                | ReadWorklist
                | ReadMeasures
        ),
        // Everything in the authority except changing policy and reading the
        // audit log as a whole (what auditors check officers' actions in).
        LaOfficer => !matches!(
            operation,
            CreatePolicyVersion
                | ChangeAuthoritySettings
                | ChangeSharingAgreements
                | ChangeRetentionPolicy
                | ReadAuditLog
                | VerifyAuditLog
                | ReadAccessLog
                | ExportSubjectData
        ),
        // Penalty notices (s444 and s103) and the ones it issued.
        Police => matches!(operation, IssuePenaltyNotice | ReadNotices),
        Finance => matches!(
            operation,
            RecordPayments | ReadPayments | ReadNotices | ReadWorklist | WatchEvents
        ),
        // Reads everything, changes nothing.
        Auditor => matches!(
            operation,
            ReadPolicy
                | ReadAttendance
                | ReadNotices
                | ReadPayments
                | ReadStatutoryReturn
                | ReadAuditLog
                | VerifyAuditLog
                | ReadAccessLog
                | ReadWorklist
                | WatchEvents
                | ReadMeasures
        ),
        Admin => matches!(
            operation,
            CreatePolicyVersion
                | ChangeAuthoritySettings
                | ChangeSharingAgreements
                | ChangeRetentionPolicy
                | ImportSchools
                | ReadPolicy
                | ReadAttendance
                | ReadNotices
                | ReadPayments
                | ReadStatutoryReturn
                | ReadAuditLog
                | VerifyAuditLog
                | WatchEvents
                | ReadMeasures
        ),
        // Accountability for personal data: who read what, what the audit log
        // holds, and a subject's whole record; it issues nothing.
        // Correcting personal details is the one change it makes (a
        // request for rectification comes to it as a subject access one does).
        DataProtectionOfficer => matches!(
            operation,
            ReadAccessLog | ExportSubjectData | ReadAuditLog | VerifyAuditLog | RectifyPersonalData
        ),
    }
}

/// The capacity a notice is issued in, fixed by the verified role: the issuer
/// on a notice is a legal fact, never what a request claims.
pub fn issuer_role(role: Role) -> Option<IssuerRole> {
    match role {
        SchoolStaff => Some(IssuerRole::HeadTeacher),
        LaOfficer => Some(IssuerRole::LaOfficer),
        Police => Some(IssuerRole::Police),
        Finance | Auditor | Admin | DataProtectionOfficer => None,
    }
}

/// School staff act only for their own schools; other roles for every school.
pub fn covers_school(role: Role, schools: &[Urn], school: &Urn) -> bool {
    role != SchoolStaff || schools.contains(school)
}

/// Whether a caller may see `notice`: school staff their schools' notices, police
/// the notices they issued, other reading roles every notice of their authority.
pub fn may_see_notice(role: Role, schools: &[Urn], subject: &str, notice: &Notice) -> bool {
    notice_scope(role, schools, subject).covers(&notice.pupil.school_urn, &notice.issuer.subject)
}

/// The notices a caller may see (see [`may_see_notice`]), as conditions a
/// store can put in the statement that reads one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoticeScope<'a> {
    /// Only the notices of pupils at these schools; any school when `None`.
    pub schools: Option<&'a [Urn]>,
    /// Only the notices this subject issued; any issuer when `None`.
    pub issuer: Option<&'a str>,
}

impl NoticeScope<'_> {
    /// Whether a notice of a pupil at `school`, issued by `issuer`, is in scope.
    pub fn covers(&self, school: &Urn, issuer: &str) -> bool {
        self.schools.is_none_or(|own| own.contains(school))
            && self.issuer.is_none_or(|only| only == issuer)
    }
}

/// The notices a caller in `role` may see: school staff those of their own
/// schools, police those they issued, every other reading role all of them.
pub fn notice_scope<'a>(role: Role, schools: &'a [Urn], subject: &'a str) -> NoticeScope<'a> {
    NoticeScope {
        schools: (role == SchoolStaff).then_some(schools),
        issuer: (role == Police).then_some(subject),
    }
}

/// What a caller may read of attendance: school staff must name one of their
/// own schools; other roles may read one school or the whole authority.
pub fn may_read_attendance(
    role: Role,
    schools: &[Urn],
    school: Option<&Urn>,
) -> Result<(), String> {
    match school {
        Some(urn) if covers_school(role, schools, urn) => Ok(()),
        Some(urn) => Err(format!(
            "school staff may read attendance only for their own schools, not {urn}"
        )),
        None if role != SchoolStaff => Ok(()),
        None => Err("school staff must name one of their schools in school_urn".to_string()),
    }
}

/// What a caller may list of notices: school staff one of their own schools at
/// a time (`school` is the listing's school filter, as sent).
pub fn may_list_notices(role: Role, schools: &[Urn], school: Option<&str>) -> Result<(), String> {
    let own = school
        .and_then(|u| Urn::parse(u).ok())
        .is_some_and(|u| schools.contains(&u));
    if role == SchoolStaff && !own {
        Err("school staff must filter by one of their own schools".to_string())
    } else {
        Ok(())
    }
}

/// Whose notices a listing is limited to: police see only those they issued.
pub fn listed_issuer(role: Role, subject: &str) -> Option<&str> {
    (role == Police).then_some(subject)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_admins_change_policy_and_auditors_change_nothing() {
        for role in Role::ALL {
            assert_eq!(
                allowed(role, CreatePolicyVersion),
                role == Admin,
                "{role:?}"
            );
            assert_eq!(
                allowed(role, ChangeSharingAgreements),
                allowed(role, CreatePolicyVersion),
                "{role:?}: the sharing agreement is changed as policy is"
            );
            assert_eq!(
                allowed(role, ChangeRetentionPolicy),
                role == Admin,
                "{role:?}"
            );
        }
        for op in [
            CreatePolicyVersion,
            RecordMarks,
            IssueNoticeToImprove,
            IssuePenaltyNotice,
            ChangeNoticeLifecycle,
            RecordPayments,
        ] {
            assert!(!allowed(Auditor, op), "{op:?}");
        }
    }

    #[test]
    fn only_auditors_admins_and_dpos_read_and_verify_the_audit_log() {
        for role in Role::ALL {
            for op in [ReadAuditLog, VerifyAuditLog] {
                assert_eq!(
                    allowed(role, op),
                    matches!(role, Auditor | Admin | DataProtectionOfficer),
                    "{role:?} {op:?}"
                );
            }
        }
    }

    #[test]
    fn only_la_officers_and_the_data_protection_officer_rectify() {
        for role in Role::ALL {
            assert_eq!(
                allowed(role, RectifyPersonalData),
                matches!(role, LaOfficer | DataProtectionOfficer),
                "{role:?}"
            );
        }
    }

    #[test]
    fn the_data_protection_officer_reads_and_exports_and_changes_nothing() {
        for role in Role::ALL {
            assert_eq!(
                allowed(role, ReadAccessLog),
                matches!(role, Auditor | DataProtectionOfficer),
                "{role:?}"
            );
            assert_eq!(
                allowed(role, ExportSubjectData),
                role == DataProtectionOfficer,
                "{role:?}"
            );
        }
        for op in [
            CreatePolicyVersion,
            ChangeAuthoritySettings,
            RecordMarks,
            IssueNoticeToImprove,
            IssuePenaltyNotice,
            ChangeNoticeLifecycle,
            RecordPayments,
            DecideBreach,
            RequestPenaltyNotice,
            ReviewPenaltyNoticeRequests,
            ImportSchools,
            ReadNotices,
            ReadAttendance,
            ReadPayments,
        ] {
            assert!(!allowed(DataProtectionOfficer, op), "{op:?}");
        }
    }

    #[test]
    fn school_staff_see_their_schools_and_police_their_own_notices() {
        let notice = crate::domain::issuing::tests_support::penalty_notice(
            chrono::NaiveDate::from_ymd_opt(2025, 2, 3).unwrap(),
        );
        let (own, other) = (
            vec![notice.pupil.school_urn.clone()],
            vec![Urn::parse("100000").unwrap()],
        );
        assert!(may_see_notice(SchoolStaff, &own, "head", &notice));
        assert!(!may_see_notice(SchoolStaff, &other, "head", &notice));
        assert!(may_see_notice(Police, &[], &notice.issuer.subject, &notice));
        assert!(!may_see_notice(Police, &[], "another-constable", &notice));
        assert!(may_see_notice(Finance, &[], "finance", &notice));
    }

    #[test]
    fn only_officers_change_measures_and_finance_police_and_the_dpo_see_none() {
        for role in Role::ALL {
            assert_eq!(allowed(role, ChangeMeasures), role == LaOfficer, "{role:?}");
            // The data protection officer sees a family's cases only in their
            // subject access export.
            assert_eq!(
                allowed(role, ReadMeasures),
                !matches!(role, Finance | Police | DataProtectionOfficer),
                "{role:?}"
            );
        }
    }

    #[test]
    fn a_role_may_watch_events_exactly_when_it_sees_some() {
        use crate::domain::events::{EventResource, sees};
        for role in Role::ALL {
            assert_eq!(
                allowed(role, WatchEvents),
                EventResource::ALL.into_iter().any(|kind| sees(role, kind)),
                "{role:?}"
            );
        }
    }

    #[test]
    fn every_issuing_role_maps_to_an_issuer_capacity() {
        for role in Role::ALL {
            if allowed(role, IssuePenaltyNotice) {
                assert!(issuer_role(role).is_some(), "{role:?}");
            }
        }
        assert!(!allowed(Police, IssueNoticeToImprove));
    }

    #[test]
    fn school_staff_read_and_list_only_their_own_schools() {
        let own = Urn::parse("116439").unwrap();
        let other = Urn::parse("100000").unwrap();
        let schools = vec![own.clone()];
        assert!(may_read_attendance(SchoolStaff, &schools, Some(&own)).is_ok());
        assert!(may_read_attendance(SchoolStaff, &schools, Some(&other)).is_err());
        assert!(may_read_attendance(SchoolStaff, &schools, None).is_err());
        assert!(may_read_attendance(LaOfficer, &[], None).is_ok());
        assert!(may_read_attendance(Auditor, &[], Some(&other)).is_ok());
        assert!(may_list_notices(SchoolStaff, &schools, Some("116439")).is_ok());
        assert!(may_list_notices(SchoolStaff, &schools, Some("100000")).is_err());
        assert!(may_list_notices(SchoolStaff, &schools, None).is_err());
        assert!(may_list_notices(Finance, &[], None).is_ok());
        assert_eq!(listed_issuer(Police, "pc-1"), Some("pc-1"));
        assert_eq!(listed_issuer(LaOfficer, "officer"), None);
    }
}
