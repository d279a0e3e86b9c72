//! Registers from MIS connectors, attendance figures, and the pupils at the
//! unauthorised-absence threshold.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::data_protection::record_reads;
use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    access::{self, Operation},
    access_log::Accessed,
    attendance::{Figures, MarkCounts, RegisterMark},
    identifiers::{Upn, Urn},
    names,
    notice::Session,
    school::Phase,
};
use crate::store::{AttendanceScope, EnrolmentFigures, NewAuditEvent, SchoolTotals, StoreTx};

const RECORD_MARKS: UseCase = UseCase::RecordMarks;

/// What a batch's first recording counted (kept for its retry).
#[derive(Serialize, Deserialize)]
struct Recorded {
    marks: usize,
}

/// One RecordMarks batch, validated: its marks and the pupils' SEN statuses
/// sent with them.
#[derive(Debug, Clone, Default)]
pub struct MarksBatch {
    pub marks: Vec<RegisterMark>,
    pub sen_statuses: Vec<super::SentSenStatus>,
}

/// Whose figures a summary covers.
#[derive(Debug, Clone)]
pub enum SummaryScope {
    Authority,
    School(Urn),
    Pupil { upn: Upn, school: Option<Urn> },
}

/// How a summary groups its enrolments beside the total.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SummaryGrouping {
    #[default]
    None,
    /// By the phase the school register gives each school (unknown where it
    /// gives none or does not hold the school).
    Phase,
    /// By school.
    School,
}

/// The figures of a group of enrolments.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GroupFigures {
    pub total: Figures,
    pub enrolments: i64,
    pub persistent_absence_enrolments: i64,
    pub severe_absence_enrolments: i64,
    /// The URNs of the group's schools.
    pub schools: BTreeSet<String>,
}

/// What a summary read: figures per enrolment, or already summed per school.
enum SummaryRead {
    ByEnrolment(Vec<EnrolmentFigures>),
    BySchool(Vec<SchoolTotals>),
}

impl GroupFigures {
    fn of_school(t: SchoolTotals) -> Self {
        GroupFigures {
            total: t.figures,
            enrolments: t.enrolments,
            persistent_absence_enrolments: t.persistent_absence_enrolments,
            severe_absence_enrolments: t.severe_absence_enrolments,
            schools: BTreeSet::from([t.school_urn]),
        }
    }

    fn merge(&mut self, other: &GroupFigures) {
        self.total.merge(&other.total);
        self.enrolments += other.enrolments;
        self.persistent_absence_enrolments += other.persistent_absence_enrolments;
        self.severe_absence_enrolments += other.severe_absence_enrolments;
        self.schools.extend(other.schools.iter().cloned());
    }

    fn add(&mut self, e: &EnrolmentFigures) {
        self.total.merge(&e.figures);
        self.enrolments += 1;
        self.persistent_absence_enrolments += i64::from(e.figures.persistent_absence());
        self.severe_absence_enrolments += i64::from(e.figures.severe_absence());
        if !self.schools.contains(&e.school_urn) {
            self.schools.insert(e.school_urn.clone());
        }
    }
}

/// The enrolments at schools of one phase (`None`: not known).
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseGroup {
    pub phase: Option<Phase>,
    pub figures: GroupFigures,
}

/// The enrolments at one school, with what the register says of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SchoolGroup {
    pub urn: String,
    /// `None` when the school is not in the register.
    pub name: Option<String>,
    pub phase: Option<Phase>,
    pub figures: GroupFigures,
}

/// Figures over a date range: the total, per enrolment (pupil at a school)
/// with any possible session, and the groups asked for.
#[derive(Debug, Clone)]
pub struct AttendanceSummary {
    pub total: Figures,
    /// Enrolments in scope with a possible session, and of those the
    /// persistently and severely absent.
    pub enrolment_count: i64,
    pub persistent_absence_enrolments: i64,
    pub severe_absence_enrolments: i64,
    /// Per enrolment, where the store read them so (always for a pupil; a
    /// school year of a school or the authority comes summed per school).
    pub enrolments: Vec<EnrolmentFigures>,
    /// With [`SummaryGrouping::Phase`]: by phase, the unknown group first.
    pub phase_groups: Vec<PhaseGroup>,
    /// With [`SummaryGrouping::School`]: by URN.
    pub school_groups: Vec<SchoolGroup>,
}

/// Groups the schools' figures by phase or school, with the register's `(name, phase)` by URN.
fn group(
    by_school: BTreeMap<String, GroupFigures>,
    register: &HashMap<String, (String, Option<Phase>)>,
    grouping: SummaryGrouping,
) -> (Vec<PhaseGroup>, Vec<SchoolGroup>) {
    match grouping {
        SummaryGrouping::None => (vec![], vec![]),
        SummaryGrouping::Phase => {
            let mut by_phase: BTreeMap<Option<Phase>, GroupFigures> = BTreeMap::new();
            for (urn, figures) in &by_school {
                let phase = register.get(urn).and_then(|(_, p)| *p);
                by_phase.entry(phase).or_default().merge(figures);
            }
            let groups = by_phase
                .into_iter()
                .map(|(phase, figures)| PhaseGroup { phase, figures })
                .collect();
            (groups, vec![])
        }
        SummaryGrouping::School => {
            let groups = by_school
                .into_iter()
                .map(|(urn, figures)| {
                    let held = register.get(&urn);
                    SchoolGroup {
                        name: held.map(|(name, _)| name.clone()),
                        phase: held.and_then(|(_, p)| *p),
                        urn,
                        figures,
                    }
                })
                .collect();
            (vec![], groups)
        }
    }
}

/// School staff read only their own schools: they must name one.
pub(super) fn check_school_scope(caller: &Caller, school: Option<&Urn>) -> ServiceResult<()> {
    access::may_read_attendance(caller.role, &caller.schools, school)
        .map_err(ServiceError::PermissionDenied)
}

impl App {
    /// Writes one batch of validated marks in its own unit of work.
    /// RecordMarks' first step, before a stream's first batch: whether the
    /// caller may record marks at all, so a refused caller is told at once.
    pub fn open_marks_stream(&self, caller: &Caller) -> ServiceResult<()> {
        caller.check_allowed(Operation::RecordMarks)
    }

    pub async fn record_marks(
        &self,
        caller: Caller,
        request: RequestId,
        batch: Read<MarksBatch>,
    ) -> ServiceResult<MarkCounts> {
        self.open_marks_stream(&caller)?;
        let batch = batch?;
        let marks = &batch.marks;
        if let Some(school) = marks.iter().find(|m| !caller.covers_school(&m.school_urn)) {
            return Err(ServiceError::PermissionDenied(format!(
                "school staff may record marks only for their own schools, not {}",
                school.school_urn
            )));
        }
        // School staff send their own pupils' statuses: those with a mark in
        // the batch (an MIS connector of the authority sends any pupil's).
        if caller.role == crate::domain::actor::Role::SchoolStaff
            && let Some(i) = batch
                .sen_statuses
                .iter()
                .position(|s| !marks.iter().any(|m| m.upn == s.upn))
        {
            return Err(ServiceError::PermissionDenied(format!(
                "school staff may send SEN statuses only for pupils with a mark in the \
                 same batch; sen_statuses[{i}] has none"
            )));
        }
        // Their school years' partitions first, outside the write (PostgreSQL).
        self.make_partitions_for(marks).await?;
        self.write(move |app, mut tx| async move {
            let result = app
                .record_marks_in(&mut *tx, &caller, &request, &batch)
                .await;
            (tx, result)
        })
        .await
    }

    async fn record_marks_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        batch: &MarksBatch,
    ) -> ServiceResult<MarkCounts> {
        let marks = &batch.marks;
        let authority = &caller.authority;
        let received_at: DateTime<Utc> = self.now();
        if let Some(kept) = request
            .claim::<Recorded>(tx, authority, RECORD_MARKS, received_at)
            .await?
        {
            return Ok(MarkCounts {
                unchanged: kept.marks as i64,
                ..Default::default()
            });
        }
        let (counts, replaced) = tx
            .record_marks(authority, marks, &request.id, received_at)
            .await?;
        // A changed mark may have backed a notice: recorded on it in this transaction.
        super::evidence::record_evidence_corrections(
            tx,
            caller,
            &request.id,
            &replaced,
            received_at,
        )
        .await?;
        // The statuses sent with the marks, in the same transaction.
        let sen_changes = super::sen::record_sen_statuses(
            tx,
            caller,
            &request.id,
            &batch.sen_statuses,
            received_at,
        )
        .await?;
        let schools: BTreeSet<&str> = marks.iter().map(|m| m.school_urn.as_str()).collect();
        let dates = marks.iter().map(|m| m.date);
        tx.append_audit(&NewAuditEvent {
            authority,
            at: received_at,
            actor: &caller.actor,
            action: "attendance.marks_recorded",
            resource: &names::attendance_name(authority),
            request_id: &request.id,
            details: serde_json::json!({
                "marks": marks.len(),
                "schools": schools,
                "first_date": dates.clone().min(),
                "last_date": dates.max(),
                "inserted": counts.inserted,
                "replaced": counts.replaced,
                "unchanged": counts.unchanged,
                "outdated": counts.outdated,
                "sen_status_changes": sen_changes,
            }),
        })
        .await?;
        let kept = Recorded { marks: marks.len() };
        request.complete(tx, authority, RECORD_MARKS, &kept).await?;
        Ok(counts)
    }

    /// Attendance figures over `from..=to` for a pupil, a school or the
    /// authority, grouped as asked. The register is read in the same unit of
    /// work as the marks, and only when a grouping needs it.
    pub async fn attendance_summary(
        &self,
        caller: Caller,
        asked: Read<(SummaryScope, NaiveDate, NaiveDate, SummaryGrouping)>,
    ) -> ServiceResult<AttendanceSummary> {
        caller.check_allowed(Operation::ReadAttendance)?;
        let (scope, from, to, grouping) = asked?;
        let school = match &scope {
            SummaryScope::Authority => None,
            SummaryScope::School(urn) => Some(urn.clone()),
            SummaryScope::Pupil { school, .. } => school.clone(),
        };
        check_school_scope(&caller, school.as_ref())?;
        let (read, register) = self
            .read_replica(move |app, mut tx| async move {
                let store_scope = match &scope {
                    SummaryScope::Authority => AttendanceScope::Authority,
                    SummaryScope::School(urn) => AttendanceScope::School(urn),
                    SummaryScope::Pupil { upn, .. } => AttendanceScope::Pupil(upn),
                };
                let result = async {
                    // A school's or the authority's school year comes summed per
                    // school from the store; any other range per enrolment.
                    let totals = match &scope {
                        SummaryScope::Authority => {
                            tx.school_totals(&caller.authority, None, from, to).await?
                        }
                        SummaryScope::School(urn) => {
                            tx.school_totals(&caller.authority, Some(urn), from, to)
                                .await?
                        }
                        SummaryScope::Pupil { .. } => None,
                    };
                    let read = match totals {
                        Some(totals) => SummaryRead::BySchool(totals),
                        None => SummaryRead::ByEnrolment(
                            tx.enrolment_figures(&caller.authority, store_scope, from, to)
                                .await?,
                        ),
                    };
                    // A pupil's figures name the pupil; a school's or the
                    // authority's are totals.
                    if let SummaryScope::Pupil { upn, .. } = &scope {
                        let accessed = vec![Accessed::pupil(
                            upn.as_str(),
                            &names::attendance_name(&caller.authority),
                        )];
                        let at = app.now();
                        record_reads(&mut *tx, &caller, at, "GetAttendanceSummary", accessed)
                            .await?;
                    }
                    let register: HashMap<String, (String, Option<Phase>)> =
                        if grouping == SummaryGrouping::None {
                            HashMap::new()
                        } else {
                            tx.list_schools(&caller.authority, None, i64::MAX)
                                .await?
                                .into_iter()
                                .map(|(s, _)| (s.urn.to_string(), (s.name, s.phase)))
                                .collect()
                        };
                    Ok::<_, ServiceError>((read, register))
                }
                .await;
                (tx, result)
            })
            .await?;
        let (enrolments, by_school) = match read {
            SummaryRead::ByEnrolment(mut enrolments) => {
                if let Some(urn) = &school {
                    enrolments.retain(|e| e.school_urn == urn.as_str());
                }
                enrolments.retain(|e| e.figures.possible > 0);
                let mut by_school: BTreeMap<String, GroupFigures> = BTreeMap::new();
                for e in &enrolments {
                    by_school.entry(e.school_urn.clone()).or_default().add(e);
                }
                (enrolments, by_school)
            }
            SummaryRead::BySchool(totals) => {
                let by_school = totals
                    .into_iter()
                    .filter(|t| {
                        school
                            .as_ref()
                            .is_none_or(|urn| t.school_urn == urn.as_str())
                    })
                    .map(|t| {
                        let urn = t.school_urn.clone();
                        (urn, GroupFigures::of_school(t))
                    })
                    .collect();
                (vec![], by_school)
            }
        };
        let mut all = GroupFigures::default();
        for g in by_school.values() {
            all.merge(g);
        }
        let (phase_groups, school_groups) = group(by_school, &register, grouping);
        Ok(AttendanceSummary {
            total: all.total,
            enrolment_count: all.enrolments,
            persistent_absence_enrolments: all.persistent_absence_enrolments,
            severe_absence_enrolments: all.severe_absence_enrolments,
            enrolments,
            phase_groups,
            school_groups,
        })
    }

    /// The marks a pupil's session has held: current first, then replaced ones
    /// newest first.
    pub async fn mark_history(
        &self,
        caller: Caller,
        asked: Read<((Upn, Urn), NaiveDate, Session)>,
    ) -> ServiceResult<Vec<(String, DateTime<Utc>)>> {
        caller.check_allowed(Operation::ReadAttendance)?;
        let ((upn, school), date, session) = asked?;
        check_school_scope(&caller, Some(&school))?;
        let marks = self
            .read(move |app, mut tx| async move {
                let result = async {
                    let marks = tx
                        .mark_history(&caller.authority, &upn, &school, date, session)
                        .await?;
                    if marks.is_empty() {
                        // The pupil is the one asked about: not quoted.
                        return Err(ServiceError::NotFound(format!(
                            "a mark for the pupil at {school} on {date} {}",
                            session.as_str()
                        )));
                    }
                    let accessed = vec![Accessed::pupil(
                        upn.as_str(),
                        &names::attendance_name(&caller.authority),
                    )];
                    record_reads(&mut *tx, &caller, app.now(), "GetMarkHistory", accessed).await?;
                    Ok(marks)
                }
                .await;
                (tx, result)
            })
            .await?;
        Ok(marks)
    }
}
