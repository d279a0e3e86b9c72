//! Registers from MIS connectors, attendance figures, and the pupils at the
//! unauthorised-absence threshold.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::policy::policy_in_force;
use super::{App, Caller, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    access::{self, Operation},
    actor::Actor,
    attendance::{self, Breach, Figures, MarkCounts, PupilMark, RegisterMark},
    calendar::week_start,
    case::{BreachCase, BreachState, Decision},
    identifiers::{LaCode, Upn, Urn},
    names,
    notice::{Notice, Session},
    policy::Threshold,
    school::Phase,
};
use crate::store::{
    AttendanceScope, CaseFilter, EnrolmentFigures, NewAuditEvent, QualifyingFilter, StoreTx,
};

const RECORD_MARKS: &str = "/lea.notices.v1.AttendanceService/RecordMarks";

/// What a batch's first recording counted (kept for its retry).
#[derive(Serialize, Deserialize)]
struct Recorded {
    marks: usize,
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

impl GroupFigures {
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
    pub enrolments: Vec<EnrolmentFigures>,
    /// With [`SummaryGrouping::Phase`]: by phase, the unknown group first.
    pub phase_groups: Vec<PhaseGroup>,
    /// With [`SummaryGrouping::School`]: by URN.
    pub school_groups: Vec<SchoolGroup>,
}

/// Groups `enrolments` by phase or school, with the register's `(name, phase)` by URN.
fn group(
    enrolments: &[EnrolmentFigures],
    register: &HashMap<String, (String, Option<Phase>)>,
    grouping: SummaryGrouping,
) -> (Vec<PhaseGroup>, Vec<SchoolGroup>) {
    match grouping {
        SummaryGrouping::None => (vec![], vec![]),
        SummaryGrouping::Phase => {
            let mut by_phase: BTreeMap<Option<Phase>, GroupFigures> = BTreeMap::new();
            for e in enrolments {
                let phase = register.get(&e.school_urn).and_then(|(_, p)| *p);
                by_phase.entry(phase).or_default().add(e);
            }
            let groups = by_phase
                .into_iter()
                .map(|(phase, figures)| PhaseGroup { phase, figures })
                .collect();
            (groups, vec![])
        }
        SummaryGrouping::School => {
            let mut by_school: BTreeMap<&str, GroupFigures> = BTreeMap::new();
            for e in enrolments {
                by_school.entry(&e.school_urn).or_default().add(e);
            }
            let groups = by_school
                .into_iter()
                .map(|(urn, figures)| {
                    let held = register.get(urn);
                    SchoolGroup {
                        urn: urn.to_string(),
                        name: held.map(|(name, _)| name.clone()),
                        phase: held.and_then(|(_, p)| *p),
                        figures,
                    }
                })
                .collect();
            (vec![], groups)
        }
    }
}

impl AttendanceSummary {
    pub fn persistent_absence_enrolments(&self) -> usize {
        self.enrolments
            .iter()
            .filter(|e| e.figures.persistent_absence())
            .count()
    }

    pub fn severe_absence_enrolments(&self) -> usize {
        self.enrolments
            .iter()
            .filter(|e| e.figures.severe_absence())
            .count()
    }
}

/// A pupil at the threshold: a pending breach found on the registers, or a
/// decided one (a case), and whether notices already cover it.
#[derive(Debug, Clone)]
pub struct FoundBreach {
    pub upn: String,
    /// The school of the latest qualifying session.
    pub school_urn: String,
    pub breach: Breach,
    pub covered_by_notice_to_improve: bool,
    pub covered_by_penalty_notice: bool,
    pub policy_version: String,
    /// The date it was found on.
    pub as_of: NaiveDate,
    /// The decision, once made.
    pub decided: Option<DecidedCase>,
}

/// What a decided breach adds.
#[derive(Debug, Clone)]
pub struct DecidedCase {
    pub case_id: i64,
    pub decision: Decision,
    pub decided_at: DateTime<Utc>,
    pub decided_by: Actor,
}

impl FoundBreach {
    pub fn state(&self) -> BreachState {
        self.decided
            .as_ref()
            .map_or(BreachState::Pending, |d| d.decision.state)
    }

    /// Where it comes in a listing: by UPN, then a pupil's decided breaches by
    /// case id, then their pending one.
    pub fn position(&self) -> BreachPosition {
        BreachPosition {
            upn: self.upn.clone(),
            case_id: self.decided.as_ref().map_or(i64::MAX, |d| d.case_id),
        }
    }

    pub(super) fn of_case(case: BreachCase) -> Self {
        FoundBreach {
            upn: case.upn,
            school_urn: case.school_urn,
            breach: case.breach,
            covered_by_notice_to_improve: false,
            covered_by_penalty_notice: false,
            policy_version: case.policy_version,
            as_of: case.as_of,
            decided: Some(DecidedCase {
                case_id: case.case_id,
                decision: case.decision,
                decided_at: case.decided_at,
                decided_by: case.decided_by,
            }),
        }
    }
}

/// A place in a listing of breaches (see [`FoundBreach::position`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct BreachPosition {
    pub upn: String,
    /// A decided breach's case id; `i64::MAX` for a pending one.
    pub case_id: i64,
}

/// Which breaches a listing returns.
#[derive(Debug, Clone)]
pub struct BreachQuery {
    pub school: Option<Urn>,
    pub as_of: NaiveDate,
    /// Only these states; empty for every state.
    pub states: Vec<BreachState>,
}

/// School staff read only their own schools: they must name one.
fn check_school_scope(caller: &Caller, school: Option<&Urn>) -> ServiceResult<()> {
    access::may_read_attendance(caller.role, &caller.schools, school)
        .map_err(ServiceError::PermissionDenied)
}

impl App {
    /// Writes one batch of validated marks in its own unit of work.
    pub async fn record_marks(
        &self,
        caller: Caller,
        request: RequestId,
        marks: Vec<RegisterMark>,
    ) -> ServiceResult<MarkCounts> {
        caller.check_allowed(Operation::RecordMarks)?;
        if let Some(school) = marks.iter().find(|m| !caller.covers_school(&m.school_urn)) {
            return Err(ServiceError::PermissionDenied(format!(
                "school staff may record marks only for their own schools, not {}",
                school.school_urn
            )));
        }
        self.write(move |app, mut tx| async move {
            let result = app
                .record_marks_in(&mut *tx, &caller, &request, &marks)
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
        marks: &[RegisterMark],
    ) -> ServiceResult<MarkCounts> {
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
        super::notices::record_evidence_corrections(
            tx,
            caller,
            &request.id,
            &replaced,
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
        scope: SummaryScope,
        from: NaiveDate,
        to: NaiveDate,
        grouping: SummaryGrouping,
    ) -> ServiceResult<AttendanceSummary> {
        caller.check_allowed(Operation::ReadAttendance)?;
        let school = match &scope {
            SummaryScope::Authority => None,
            SummaryScope::School(urn) => Some(urn.clone()),
            SummaryScope::Pupil { school, .. } => school.clone(),
        };
        check_school_scope(&caller, school.as_ref())?;
        let (mut enrolments, register) = self
            .read(move |_, mut tx| async move {
                let store_scope = match &scope {
                    SummaryScope::Authority => AttendanceScope::Authority,
                    SummaryScope::School(urn) => AttendanceScope::School(urn),
                    SummaryScope::Pupil { upn, .. } => AttendanceScope::Pupil(upn),
                };
                let result = async {
                    let enrolments = tx
                        .enrolment_figures(&caller.authority, store_scope, from, to)
                        .await?;
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
                    Ok::<_, ServiceError>((enrolments, register))
                }
                .await;
                (tx, result)
            })
            .await?;
        if let Some(urn) = &school {
            enrolments.retain(|e| e.school_urn == urn.as_str());
        }
        enrolments.retain(|e| e.figures.possible > 0);
        let mut total = Figures::default();
        for e in &enrolments {
            total.merge(&e.figures);
        }
        let (phase_groups, school_groups) = group(&enrolments, &register, grouping);
        Ok(AttendanceSummary {
            total,
            enrolments,
            phase_groups,
            school_groups,
        })
    }

    /// Breaches on `query.as_of` after `after`, in listing order, until
    /// `wanted` are found or none is left.
    pub async fn threshold_breaches(
        &self,
        caller: Caller,
        query: BreachQuery,
        after: BreachPosition,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        caller.check_allowed(Operation::ReadAttendance)?;
        check_school_scope(&caller, query.school.as_ref())?;
        self.read(move |_, mut tx| async move {
            let result = async {
                let (policy, policy_name) =
                    policy_in_force(&mut *tx, &caller.authority, query.as_of).await?;
                let search = BreachSearch {
                    authority: &caller.authority,
                    school: query.school.as_ref(),
                    as_of: query.as_of,
                    threshold: &policy.rules.threshold,
                    policy_name: &policy_name,
                };
                search.list(&mut *tx, &query.states, &after, wanted).await
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// The marks a pupil's session has held: current first, then replaced ones
    /// newest first.
    pub async fn mark_history(
        &self,
        caller: Caller,
        (upn, school): (Upn, Urn),
        date: NaiveDate,
        session: Session,
    ) -> ServiceResult<Vec<(String, DateTime<Utc>)>> {
        caller.check_allowed(Operation::ReadAttendance)?;
        check_school_scope(&caller, Some(&school))?;
        let marks = self
            .read(move |_, mut tx| async move {
                let result = tx
                    .mark_history(&caller.authority, &upn, &school, date, session)
                    .await
                    .map_err(ServiceError::from)
                    .and_then(|marks| {
                        if marks.is_empty() {
                            Err(ServiceError::NotFound(format!(
                                "a mark for {upn} at {school} on {date} {}",
                                session.as_str()
                            )))
                        } else {
                            Ok(marks)
                        }
                    });
                (tx, result)
            })
            .await?;
        Ok(marks)
    }
}

/// One threshold search: the policy's threshold on a date, optionally one school.
pub(super) struct BreachSearch<'a> {
    pub(super) authority: &'a LaCode,
    pub(super) school: Option<&'a Urn>,
    pub(super) as_of: NaiveDate,
    pub(super) threshold: &'a Threshold,
    pub(super) policy_name: &'a str,
}

/// Each school's latest school weeks of a search's window, by school.
type WeeksBySchool = HashMap<String, BTreeSet<NaiveDate>>;

/// The school weeks of each school within the search's window, and what the
/// marks query reads.
struct Window<'a> {
    weeks_by_school: HashMap<String, BTreeSet<NaiveDate>>,
    filter: QualifyingFilter<'a>,
}

impl<'a> BreachSearch<'a> {
    /// The school weeks the search counts over: every school's, or with `pupil`
    /// only those of the pupil's own schools (all that pupil's breach reads).
    async fn window(
        &self,
        tx: &mut dyn StoreTx,
        pupil: Option<&str>,
    ) -> ServiceResult<Option<Window<'a>>> {
        let mut weeks_by_school: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
        let window = i64::from(self.threshold.window_school_weeks);
        for (school, monday) in tx
            .latest_school_weeks(self.authority, week_start(self.as_of), window, pupil)
            .await?
        {
            weeks_by_school.entry(school).or_default().insert(monday);
        }
        // No pupil's window starts before the earliest school's: its school weeks
        // are the union of its schools' (see attendance::threshold_breach).
        let Some(earliest) = weeks_by_school.values().filter_map(|w| w.first()).min() else {
            return Ok(None);
        };
        let filter = QualifyingFilter {
            codes: &self.threshold.qualifying_codes,
            from: *earliest,
            to: self.as_of,
        };
        Ok(Some(Window {
            weeks_by_school,
            filter,
        }))
    }

    /// Pending and decided breaches in `states` (empty: all) after `after`, in
    /// listing order, at most `wanted`.
    async fn list(
        &self,
        tx: &mut dyn StoreTx,
        states: &[BreachState],
        after: &BreachPosition,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        let Some(window) = self.window(tx, None).await? else {
            return Ok(vec![]);
        };
        let mut found = Vec::new();
        if states.is_empty() || states.contains(&BreachState::Pending) {
            // The cursor's pupil may still have its pending breach to come.
            if !after.upn.is_empty() && after.case_id < i64::MAX {
                found.extend(self.pending_in(tx, &window, &after.upn).await?);
            }
            found.extend(self.pending_after(tx, &window, &after.upn, wanted).await?);
        }
        let decided: Vec<BreachState> = if states.is_empty() {
            BreachState::decided()
        } else {
            states
                .iter()
                .copied()
                .filter(|s| s.is_decided())
                .collect()
        };
        if !decided.is_empty() {
            let cases = tx
                .breach_cases(
                    self.authority,
                    &CaseFilter {
                        after: (&after.upn, after.case_id),
                        upn: None,
                        school: self.school.map(Urn::as_str),
                        last_session_from: window.filter.from,
                        last_session_to: self.as_of,
                        states: &decided,
                        limit: wanted as i64,
                    },
                )
                .await?;
            let cases = cases.into_iter().map(FoundBreach::of_case).collect();
            found.extend(self.with_coverage(tx, cases).await?);
        }
        found.sort_by_key(FoundBreach::position);
        found.truncate(wanted);
        Ok(found)
    }

    /// The same search for one pupil: their pending breach, if they have one
    /// (what a notice from a breach is issued for).
    pub(super) async fn for_pupil(
        &self,
        tx: &mut dyn StoreTx,
        upn: &Upn,
    ) -> ServiceResult<Option<FoundBreach>> {
        self.pending_of(tx, upn.as_str()).await
    }

    /// The pupil's pending breach on the search's date, if any: what a decision
    /// or a notice closes.
    pub(super) async fn pending_of(
        &self,
        tx: &mut dyn StoreTx,
        upn: &str,
    ) -> ServiceResult<Option<FoundBreach>> {
        let Some(window) = self.window(tx, Some(upn)).await? else {
            return Ok(None);
        };
        self.pending_in(tx, &window, upn).await
    }

    async fn pending_in(
        &self,
        tx: &mut dyn StoreTx,
        window: &Window<'_>,
        upn: &str,
    ) -> ServiceResult<Option<FoundBreach>> {
        let upns = [upn.to_string()];
        if let Some(school) = self.school {
            let enrolled = tx
                .enrolments_between(self.authority, &upns, window.filter.from, self.as_of)
                .await?;
            if !enrolled.iter().any(|(_, s)| s == school.as_str()) {
                return Ok(None);
            }
        }
        let breaches = self
            .breaches_among(tx, &upns, &window.filter, &window.weeks_by_school, 1)
            .await?;
        Ok(self.with_coverage(tx, breaches).await?.pop())
    }

    /// Pending breaches of pupils after `after_upn`, at most `wanted`.
    async fn pending_after(
        &self,
        tx: &mut dyn StoreTx,
        window: &Window<'_>,
        after_upn: &str,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        let mut after = after_upn.to_string();
        let mut found = Vec::new();
        let mut read = 0_i64;
        while found.len() < wanted {
            // Usually almost every candidate breaches: ask for what is still
            // wanted and a few more, scaled by how many candidates each breach
            // has taken so far on this page. Spare candidates are read again by
            // the next page, and a page's cost is its candidates' (at county
            // size, a quarter spare cost 15% of a listing; BENCHMARKS.md,
            // session 10).
            let still = (wanted - found.len()) as i64;
            let per_breach = if read == 0 {
                1
            } else if found.is_empty() {
                // A whole chunk without a breach: look further at once.
                4
            } else {
                let n = found.len() as i64;
                (read + n - 1) / n
            };
            let chunk = (still * per_breach + still / 16 + 4).min(2_000);
            let at_least = i64::from(self.threshold.sessions);
            let candidates = tx
                .threshold_candidates(
                    self.authority,
                    &window.filter,
                    self.school,
                    at_least,
                    &after,
                    chunk,
                )
                .await?;
            let Some(last) = candidates.last() else { break };
            after = last.clone();
            read += candidates.len() as i64;
            let breaches = self
                .breaches_among(
                    tx,
                    &candidates,
                    &window.filter,
                    &window.weeks_by_school,
                    wanted - found.len(),
                )
                .await?;
            found.extend(self.with_coverage(tx, breaches).await?);
            if (candidates.len() as i64) < chunk {
                break;
            }
        }
        Ok(found)
    }

    /// The breaches among `candidates`, at most `wanted`. The store reads only
    /// each pupil's unconsumed qualifying marks (after their latest decided case).
    async fn breaches_among(
        &self,
        tx: &mut dyn StoreTx,
        candidates: &[String],
        filter: &QualifyingFilter<'_>,
        weeks_by_school: &WeeksBySchool,
        wanted: usize,
    ) -> ServiceResult<Vec<FoundBreach>> {
        let mut marks: BTreeMap<String, Vec<(PupilMark, String)>> = BTreeMap::new();
        for m in tx
            .qualifying_marks(self.authority, candidates, filter)
            .await?
        {
            marks.entry(m.upn).or_default().push((m.mark, m.school_urn));
        }
        let mut schools: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (upn, school) in tx
            .enrolments_between(self.authority, candidates, filter.from, self.as_of)
            .await?
        {
            schools.entry(upn).or_default().push(school);
        }
        let mut breaches = Vec::new();
        for upn in candidates {
            let Some(pupil_marks) = marks.get(upn) else {
                continue;
            };
            let school_weeks: BTreeSet<NaiveDate> = schools
                .get(upn)
                .into_iter()
                .flatten()
                .filter_map(|s| weeks_by_school.get(s))
                .flatten()
                .copied()
                .collect();
            let just_marks: Vec<PupilMark> = pupil_marks.iter().map(|(m, _)| m.clone()).collect();
            let Some(breach) = attendance::threshold_breach(
                &just_marks,
                &school_weeks,
                self.as_of,
                self.threshold,
            ) else {
                continue;
            };
            let latest = breach.sessions.last().expect("a breach has sessions");
            let school_urn = pupil_marks
                .iter()
                .filter(|(m, _)| m.date == latest.date && m.session == latest.session)
                .map(|(_, s)| s.clone())
                .max()
                .unwrap_or_default();
            breaches.push(FoundBreach {
                upn: upn.clone(),
                school_urn,
                breach,
                covered_by_notice_to_improve: false,
                covered_by_penalty_notice: false,
                policy_version: self.policy_name.to_string(),
                as_of: self.as_of,
                decided: None,
            });
            if breaches.len() == wanted {
                break;
            }
        }
        Ok(breaches)
    }

    /// Says of each breach whether notices already cover it.
    async fn with_coverage(
        &self,
        tx: &mut dyn StoreTx,
        breaches: Vec<FoundBreach>,
    ) -> ServiceResult<Vec<FoundBreach>> {
        with_coverage(tx, self.authority, breaches).await
    }
}

/// Says of each breach whether notices already cover it.
pub(super) async fn with_coverage(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    mut breaches: Vec<FoundBreach>,
) -> ServiceResult<Vec<FoundBreach>> {
    let upns: Vec<String> = breaches.iter().map(|b| b.upn.clone()).collect();
    let notices: Vec<Notice> = if upns.is_empty() {
        vec![]
    } else {
        tx.notices_of_pupils(authority, &upns).await?
    };
    for b in &mut breaches {
        let theirs: Vec<Notice> = notices
            .iter()
            .filter(|n| n.pupil.upn.as_str() == b.upn)
            .cloned()
            .collect();
        let (nti, penalty) = attendance::breach_coverage(&b.breach, &theirs);
        b.covered_by_notice_to_improve = nti;
        b.covered_by_penalty_notice = penalty;
    }
    Ok(breaches)
}
