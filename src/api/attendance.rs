//! AttendanceService: session registers from MIS connectors, attendance figures
//! and the pupils at the unauthorised-absence threshold.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use tonic::{Request, Response, Status, Streaming};

use super::auth::Caller;
use super::convert::{
    date, date_to_proto, session_from_proto, session_to_proto, timestamp_to_proto,
};
use super::error::{ApiError, Violations};
use super::mutation::{Begun, IdempotentRequest, now, validate_request_id};
use super::policy::policy_in_force;
use super::{caller, names, pagination};
use crate::domain::access::Operation;
use crate::domain::{
    FieldViolation,
    attendance::{self, Breach, Figures, MarkCounts, PupilMark, RegisterMark},
    calendar::week_start,
    identifiers::{LaCode, Upn, Urn},
    register_codes::CodeSet,
};
use crate::proto::v1::{self as pb, attendance_service_server::AttendanceService};
use crate::store::{AttendanceScope, NewAuditEvent, QualifyingFilter, Store};

const RECORD_MARKS_METHOD: &str = "/lea.notices.v1.AttendanceService/RecordMarks";

/// The most marks one RecordMarks message may carry (see attendance.proto).
pub const MAX_MARKS_PER_BATCH: usize = 5_000;
/// Rows of a refused batch reported one by one; the rest are summed up.
const MAX_ROW_VIOLATIONS: usize = 100;
/// How far ahead of the server's clock a record time may be (clock skew).
const RECORD_TIME_SKEW: Duration = Duration::minutes(5);

pub struct AttendanceApi {
    store: Arc<dyn Store>,
}

impl AttendanceApi {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// Validates and writes one batch in its own transaction.
    async fn record_batch(
        &self,
        caller: &Caller,
        batch: &pb::RecordMarksRequest,
    ) -> Result<MarkCounts, ApiError> {
        let received_at = now();
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &batch.parent));
        v.check(validate_request_id("request_id", &batch.request_id));
        let marks = marks_from_proto(&batch.marks, received_at)
            .map_err(|bad| v.extend(bad))
            .ok();
        let (authority, marks) = v.finish(authority.zip(marks))?;
        if let Some(school) = marks.iter().find(|m| !caller.covers_school(&m.school_urn)) {
            return Err(ApiError::PermissionDenied(format!(
                "school staff may record marks only for their own schools, not {}",
                school.school_urn
            )));
        }
        let request =
            IdempotentRequest::new(&authority, &batch.request_id, RECORD_MARKS_METHOD, batch);
        let mut tx = match request
            .begin::<pb::RecordMarksResponse>(&*self.store)
            .await?
        {
            Begun::Replay(_) => {
                return Ok(MarkCounts {
                    unchanged: marks.len() as i64,
                    ..Default::default()
                });
            }
            Begun::New(tx) => tx,
        };
        let counts = tx
            .record_marks(&authority, &marks, &batch.request_id, received_at)
            .await?;
        let schools: BTreeSet<&str> = marks.iter().map(|m| m.school_urn.as_str()).collect();
        let dates = marks.iter().map(|m| m.date);
        tx.append_audit(&NewAuditEvent {
            authority: &authority,
            at: received_at,
            actor: &caller.actor,
            action: "attendance.marks_recorded",
            resource: &format!("{}/attendance", names::authority_name(&authority)),
            request_id: &batch.request_id,
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
        request.commit(tx, &counts_to_proto(counts, 1)).await?;
        Ok(counts)
    }

    /// Breaches on `as_of` for pupils after `after_upn`, in UPN order, until
    /// `wanted` are found or no pupil is left.
    async fn find_breaches(
        &self,
        authority: &LaCode,
        school: Option<&Urn>,
        as_of: NaiveDate,
        after_upn: &str,
        wanted: usize,
    ) -> Result<Vec<pb::ThresholdBreach>, ApiError> {
        let mut tx = self.store.begin_read().await?;
        let found =
            Self::find_breaches_in(&mut *tx, authority, school, as_of, after_upn, wanted).await?;
        tx.commit().await?;
        Ok(found)
    }

    async fn find_breaches_in(
        tx: &mut dyn crate::store::StoreTx,
        authority: &LaCode,
        school: Option<&Urn>,
        as_of: NaiveDate,
        after_upn: &str,
        wanted: usize,
    ) -> Result<Vec<pb::ThresholdBreach>, ApiError> {
        let (policy, policy_name) = policy_in_force(&mut *tx, authority, as_of).await?;
        let threshold = &policy.rules.threshold;
        let mut weeks_by_school: HashMap<String, BTreeSet<NaiveDate>> = HashMap::new();
        for (school, monday) in tx
            .latest_school_weeks(
                authority,
                week_start(as_of),
                i64::from(threshold.window_school_weeks),
            )
            .await?
        {
            weeks_by_school.entry(school).or_default().insert(monday);
        }
        // No pupil's window starts before the earliest school's: its school weeks
        // are the union of its schools' (see attendance::threshold_breach).
        let Some(earliest) = weeks_by_school.values().filter_map(|w| w.first()).min() else {
            return Ok(vec![]);
        };
        let filter = QualifyingFilter {
            codes: &threshold.qualifying_codes,
            from: *earliest,
            to: as_of,
        };
        // Most candidates breach; the few spare ones are read again by the next page.
        let chunk = (wanted as i64 * 5 / 4 + 10).min(2_000);
        let mut after = after_upn.to_string();
        let mut found = Vec::new();
        while found.len() < wanted {
            let candidates = tx
                .threshold_candidates(
                    authority,
                    &filter,
                    school,
                    i64::from(threshold.sessions),
                    &after,
                    chunk,
                )
                .await?;
            let Some(last) = candidates.last() else { break };
            after = last.clone();
            let mut marks: BTreeMap<&str, Vec<(PupilMark, String)>> = BTreeMap::new();
            let qualifying = tx.qualifying_marks(authority, &candidates, &filter).await?;
            for m in &qualifying {
                marks
                    .entry(m.upn.as_str())
                    .or_default()
                    .push((m.mark.clone(), m.school_urn.clone()));
            }
            let mut schools: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (upn, school) in tx
                .enrolments_between(authority, &candidates, filter.from, as_of)
                .await?
            {
                schools.entry(upn).or_default().push(school);
            }
            let mut breaches: Vec<(String, String, Breach)> = Vec::new();
            for upn in &candidates {
                let Some(pupil_marks) = marks.get(upn.as_str()) else {
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
                let just_marks: Vec<PupilMark> =
                    pupil_marks.iter().map(|(m, _)| m.clone()).collect();
                if let Some(breach) =
                    attendance::threshold_breach(&just_marks, &school_weeks, as_of, threshold)
                {
                    let latest = breach.sessions.last().expect("a breach has sessions");
                    let school_urn = pupil_marks
                        .iter()
                        .filter(|(m, _)| m.date == latest.date && m.session == latest.session)
                        .map(|(_, s)| s.clone())
                        .max()
                        .unwrap_or_default();
                    breaches.push((upn.clone(), school_urn, breach));
                    if found.len() + breaches.len() == wanted {
                        break;
                    }
                }
            }
            let upns: Vec<String> = breaches.iter().map(|(u, _, _)| u.clone()).collect();
            let notices = if upns.is_empty() {
                vec![]
            } else {
                tx.notices_of_pupils(authority, &upns).await?
            };
            for (upn, school_urn, breach) in breaches {
                let theirs: Vec<_> = notices
                    .iter()
                    .filter(|n| n.pupil.upn.as_str() == upn)
                    .cloned()
                    .collect();
                let (nti, penalty) = attendance::breach_coverage(&breach, &theirs);
                found.push(pb::ThresholdBreach {
                    upn,
                    school_urn,
                    qualifying_sessions: breach.qualifying_sessions,
                    window_first_week: Some(date_to_proto(breach.first_week)),
                    window_last_week: Some(date_to_proto(breach.last_week)),
                    sessions: breach
                        .sessions
                        .iter()
                        .map(|m| pb::SessionMark {
                            date: Some(date_to_proto(m.date)),
                            session: session_to_proto(m.session) as i32,
                            code: m.code.clone(),
                        })
                        .collect(),
                    covered_by_notice_to_improve: nti,
                    covered_by_penalty_notice: penalty,
                    policy_version: policy_name.clone(),
                });
            }
            if (candidates.len() as i64) < chunk {
                break;
            }
        }
        Ok(found)
    }
}

/// A batch's marks, or one violation per bad row (the first 100) and none written.
fn marks_from_proto(
    marks: &[pb::Mark],
    received_at: DateTime<Utc>,
) -> Result<Vec<RegisterMark>, Vec<FieldViolation>> {
    if marks.is_empty() {
        return Err(vec![FieldViolation::new(
            "marks",
            "a batch needs at least one mark",
        )]);
    }
    if marks.len() > MAX_MARKS_PER_BATCH {
        return Err(vec![FieldViolation::new(
            "marks",
            format!(
                "{} marks; a batch carries at most {MAX_MARKS_PER_BATCH}",
                marks.len()
            ),
        )]);
    }
    let mut out = Vec::with_capacity(marks.len());
    let mut bad: Vec<FieldViolation> = Vec::new();
    let mut seen: HashMap<(&str, &str, NaiveDate, i32), usize> = HashMap::new();
    for (i, m) in marks.iter().enumerate() {
        match mark_from_proto(m, received_at) {
            Ok(mark) => match seen.insert((&m.school_urn, &m.upn, mark.date, m.session), i) {
                Some(j) => bad.push(FieldViolation::new(
                    format!("marks[{i}]"),
                    format!("the same pupil, school, date and session as marks[{j}]"),
                )),
                None => out.push(mark),
            },
            Err(reasons) => bad.push(FieldViolation::new(format!("marks[{i}]"), reasons)),
        }
    }
    match bad.len() {
        0 => Ok(out),
        n => {
            bad.truncate(MAX_ROW_VIOLATIONS);
            if n > MAX_ROW_VIOLATIONS {
                bad.push(FieldViolation::new(
                    "marks",
                    format!("{} more invalid marks not listed", n - MAX_ROW_VIOLATIONS),
                ));
            }
            Err(bad)
        }
    }
}

/// One mark, or every reason it is invalid joined into one description.
fn mark_from_proto(m: &pb::Mark, received_at: DateTime<Utc>) -> Result<RegisterMark, String> {
    let mut reasons = Vec::new();
    let school = Urn::parse(&m.school_urn).map_err(|e| reasons.push(format!("school_urn: {e}")));
    let upn = Upn::parse(&m.upn).map_err(|e| reasons.push(format!("upn: {e}")));
    let day =
        date("date", m.date.as_ref()).map_err(|e| reasons.push(format!("date: {}", e.description)));
    let session = session_from_proto(m.session)
        .ok_or_else(|| reasons.push("session: AM or PM is required".to_string()));
    let category = match day {
        Ok(d) => CodeSet::categorise(d, &m.code).map_err(|e| reasons.push(format!("code: {e}"))),
        Err(()) => Err(()),
    };
    let record_time = match &m.record_time {
        None => {
            reasons.push("record_time: required".to_string());
            Err(())
        }
        Some(t) => DateTime::from_timestamp(t.seconds, t.nanos.max(0) as u32)
            .filter(|t| *t <= received_at + RECORD_TIME_SKEW)
            .ok_or_else(|| reasons.push("record_time: not a valid time before now".to_string())),
    };
    match (school, upn, day, session, category, record_time) {
        (Ok(school_urn), Ok(upn), Ok(date), Ok(session), Ok(category), Ok(record_time)) => {
            Ok(RegisterMark {
                school_urn,
                upn,
                date,
                session,
                code: m.code.clone(),
                category,
                record_time,
            })
        }
        _ => Err(reasons.join("; ")),
    }
}

fn counts_to_proto(c: MarkCounts, batches: i64) -> pb::RecordMarksResponse {
    pb::RecordMarksResponse {
        inserted: c.inserted,
        replaced: c.replaced,
        unchanged: c.unchanged,
        batches,
        outdated: c.outdated,
    }
}

fn figures_to_proto(f: &Figures) -> pb::AttendanceFigures {
    pb::AttendanceFigures {
        possible_sessions: f.possible,
        present: f.present,
        approved_educational_activity: f.approved_activity,
        authorised_absence: f.authorised_absence,
        unauthorised_absence: f.unauthorised_absence,
        overall_absence_rate: f.overall_absence_rate(),
    }
}

/// An optional identifier: empty is `None`.
fn optional<T>(
    field: &str,
    value: &str,
    parse: impl Fn(&str) -> Result<T, String>,
) -> Result<Option<T>, FieldViolation> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(value)
            .map(Some)
            .map_err(|e| FieldViolation::new(field, e))
    }
}

/// School staff read only their own schools: they must name one.
fn check_school_scope(caller: &Caller, school: Option<&Urn>) -> Result<(), ApiError> {
    match school {
        Some(urn) if caller.covers_school(urn) => Ok(()),
        Some(urn) => Err(ApiError::PermissionDenied(format!(
            "school staff may read attendance only for their own schools, not {urn}"
        ))),
        None if caller.covers_all_schools() => Ok(()),
        None => Err(ApiError::PermissionDenied(
            "school staff must name one of their schools in school_urn".to_string(),
        )),
    }
}

#[tonic::async_trait]
impl AttendanceService for AttendanceApi {
    async fn record_marks(
        &self,
        request: Request<Streaming<pb::RecordMarksRequest>>,
    ) -> Result<Response<pb::RecordMarksResponse>, Status> {
        let caller = caller::authorize(&request, Operation::RecordMarks)?;
        let mut stream = request.into_inner();
        let mut totals = MarkCounts::default();
        let mut batches = 0;
        let mut parent: Option<String> = None;
        while let Some(batch) = stream.message().await? {
            caller.check_parent_name(&batch.parent)?;
            if parent.get_or_insert_with(|| batch.parent.clone()) != &batch.parent {
                return Err(ApiError::from(FieldViolation::new(
                    "parent",
                    "every message of a stream must name the same authority",
                ))
                .into());
            }
            // The error names the batch, so a client can tell which rows `marks[i]` are.
            let counts = self.record_batch(&caller, &batch).await.map_err(|e| {
                let status = Status::from(e);
                Status::with_details(
                    status.code(),
                    format!("batch {}: {}", batch.request_id, status.message()),
                    status.details().to_vec().into(),
                )
            })?;
            totals.add(counts);
            batches += 1;
        }
        Ok(Response::new(counts_to_proto(totals, batches)))
    }

    async fn get_attendance_summary(
        &self,
        request: Request<pb::GetAttendanceSummaryRequest>,
    ) -> Result<Response<pb::GetAttendanceSummaryResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadAttendance)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
        let school = v.check(optional("school_urn", &req.school_urn, Urn::parse));
        let upn = v.check(optional("upn", &req.upn, Upn::parse));
        let start = v.check(date("start_date", req.start_date.as_ref()));
        let end = v.check(date("end_date", req.end_date.as_ref()));
        if let (Some(s), Some(e)) = (start, end)
            && s > e
        {
            v.push(FieldViolation::new(
                "end_date",
                "must not be before start_date",
            ));
        }
        let (((authority, (school, upn)), start), end) =
            v.finish(authority.zip(school.zip(upn)).zip(start).zip(end))?;
        check_school_scope(&caller, school.as_ref())?;
        let scope = match (&upn, &school) {
            (Some(upn), _) => AttendanceScope::Pupil(upn),
            (None, Some(urn)) => AttendanceScope::School(urn),
            (None, None) => AttendanceScope::Authority,
        };
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let mut enrolments = tx
            .enrolment_figures(&authority, scope, start, end)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        if let Some(urn) = &school {
            enrolments.retain(|e| e.school_urn == urn.as_str());
        }
        enrolments.retain(|e| e.figures.possible > 0);
        let mut total = Figures::default();
        for e in &enrolments {
            total.merge(&e.figures);
        }
        let count = |f: fn(&Figures) -> bool| enrolments.iter().filter(|e| f(&e.figures)).count();
        Ok(Response::new(pb::GetAttendanceSummaryResponse {
            figures: Some(figures_to_proto(&total)),
            enrolments: enrolments.len() as i64,
            persistent_absence_enrolments: count(Figures::persistent_absence) as i64,
            severe_absence_enrolments: count(Figures::severe_absence) as i64,
            enrolment_summaries: if upn.is_some() {
                enrolments
                    .iter()
                    .map(|e| pb::EnrolmentSummary {
                        school_urn: e.school_urn.clone(),
                        upn: e.upn.clone(),
                        figures: Some(figures_to_proto(&e.figures)),
                        persistent_absence: e.figures.persistent_absence(),
                        severe_absence: e.figures.severe_absence(),
                    })
                    .collect()
            } else {
                vec![]
            },
        }))
    }

    async fn list_threshold_breaches(
        &self,
        request: Request<pb::ListThresholdBreachesRequest>,
    ) -> Result<Response<pb::ListThresholdBreachesResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadAttendance)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
        let as_of = v.check(date("as_of_date", req.as_of_date.as_ref()));
        let school = v.check(optional("school_urn", &req.school_urn, Urn::parse));
        let size = v.check(pagination::page_size("page_size", req.page_size));
        let filter = format!("{}|{:?}|{}", req.parent, req.as_of_date, req.school_urn);
        let after = v.check(pagination::decode_token(
            "page_token",
            &req.page_token,
            &filter,
        ));
        let ((((authority, as_of), school), size), after) =
            v.finish(authority.zip(as_of).zip(school).zip(size).zip(after))?;
        check_school_scope(&caller, school.as_ref())?;
        let found = self
            .find_breaches(
                &authority,
                school.as_ref(),
                as_of,
                after.as_deref().unwrap_or(""),
                size as usize + 1,
            )
            .await?;
        let (threshold_breaches, next_page_token) =
            pagination::page(found, size, &filter, |b| b.upn.clone());
        Ok(Response::new(pb::ListThresholdBreachesResponse {
            threshold_breaches,
            next_page_token,
        }))
    }

    async fn get_mark_history(
        &self,
        request: Request<pb::GetMarkHistoryRequest>,
    ) -> Result<Response<pb::GetMarkHistoryResponse>, Status> {
        let caller = caller::authorize(&request, Operation::ReadAttendance)?;
        let req = request.into_inner();
        caller.check_parent_name(&req.parent)?;
        let mut v = Violations::new();
        let authority = v.check(names::parse_authority("parent", &req.parent));
        let school =
            v.check(Urn::parse(&req.school_urn).map_err(|e| FieldViolation::new("school_urn", e)));
        let upn = v.check(Upn::parse(&req.upn).map_err(|e| FieldViolation::new("upn", e)));
        let day = v.check(date("date", req.date.as_ref()));
        let session = v.check(
            session_from_proto(req.session)
                .ok_or_else(|| FieldViolation::new("session", "AM or PM is required")),
        );
        let ((((authority, school), upn), day), session) =
            v.finish(authority.zip(school).zip(upn).zip(day).zip(session))?;
        check_school_scope(&caller, Some(&school))?;
        let mut tx = self.store.begin_read().await.map_err(ApiError::from)?;
        let marks = tx
            .mark_history(&authority, &upn, &school, day, session)
            .await
            .map_err(ApiError::from)?;
        tx.commit().await.map_err(ApiError::from)?;
        if marks.is_empty() {
            return Err(ApiError::NotFound(format!(
                "a mark for {upn} at {school} on {day} {}",
                session.as_str()
            ))
            .into());
        }
        Ok(Response::new(pb::GetMarkHistoryResponse {
            revisions: marks
                .into_iter()
                .enumerate()
                .map(|(i, (code, record_time))| pb::MarkRevision {
                    code,
                    record_time: Some(timestamp_to_proto(record_time)),
                    current: i == 0,
                })
                .collect(),
        }))
    }
}
