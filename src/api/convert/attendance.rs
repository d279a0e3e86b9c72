//! AttendanceService messages ⇄ domain marks and figures.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};

use super::school::phase_to_proto;
use super::{
    date, date_to_proto, instant, sen_from_proto, sen_to_proto, session_from_proto,
    session_to_proto, timestamp_to_proto,
};
use crate::api::error::Violations;
use crate::api::mutation::validate_request_id;
use crate::api::pagination::{self, PageRequest};
use crate::app::{
    AttendanceSummary, BreachQuery, FoundBreach, MarksBatch, SentSenStatus, ServiceResult,
    SummaryGrouping, SummaryScope,
};
use crate::domain::{
    FieldViolation,
    attendance::{Figures, MarkCounts, RegisterMark},
    identifiers::{Upn, Urn},
    names,
    notice::Session,
    register_codes::CodeSet,
    sen::{SenRecord, SenSource},
};
use crate::proto::v1 as pb;

/// The most marks one RecordMarks message may carry (see attendance.proto).
pub const MAX_MARKS_PER_BATCH: usize = 5_000;
/// Rows of a refused batch reported one by one; the rest are summed up.
const MAX_ROW_VIOLATIONS: usize = 100;
/// How far ahead of the server's clock a record time may be (clock skew).
const RECORD_TIME_SKEW: Duration = Duration::minutes(5);

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
        Some(t) => instant(t, received_at + RECORD_TIME_SKEW)
            .map_err(|e| reasons.push(format!("record_time: {e}"))),
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

/// What one committed batch did.
pub(crate) fn batch_result_to_proto(request_id: &str, c: MarkCounts) -> pb::BatchResult {
    pb::BatchResult {
        request_id: request_id.to_string(),
        inserted: c.inserted,
        replaced: c.replaced,
        unchanged: c.unchanged,
        outdated: c.outdated,
    }
}

/// A RecordMarks stream's totals, with every batch's result.
pub(crate) fn records_to_proto(batches: Vec<pb::BatchResult>) -> pb::RecordMarksResponse {
    let mut r = pb::RecordMarksResponse {
        batches: batches.len() as i64,
        ..Default::default()
    };
    for b in &batches {
        r.inserted += b.inserted;
        r.replaced += b.replaced;
        r.unchanged += b.unchanged;
        r.outdated += b.outdated;
    }
    r.batch_results = batches;
    r
}

pub(crate) fn figures_to_proto(f: &Figures) -> pb::AttendanceFigures {
    pb::AttendanceFigures {
        possible_sessions: f.possible,
        present: f.present,
        approved_educational_activity: f.approved_activity,
        authorised_absence: f.authorised_absence,
        unauthorised_absence: f.unauthorised_absence,
        overall_absence_rate: f.overall_absence_rate(),
        attendance_rate: f.attendance_rate(),
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

/// One RecordMarks message: its marks, checked row by row against the code set
/// in force on each date and against `received_at` (no record time from the future).
pub(crate) fn marks_batch(
    batch: &pb::RecordMarksRequest,
    received_at: DateTime<Utc>,
) -> ServiceResult<MarksBatch> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &batch.parent));
    v.check(validate_request_id("request_id", &batch.request_id));
    let marks = marks_from_proto(&batch.marks, received_at)
        .map_err(|bad| v.extend(bad))
        .ok();
    let sen_statuses = sen_statuses_from_proto(&batch.sen_statuses)
        .map_err(|bad| v.extend(bad))
        .ok();
    let (marks, sen_statuses) = v.finish(marks.zip(sen_statuses))?;
    Ok(MarksBatch {
        marks,
        sen_statuses,
    })
}

/// A batch's SEN statuses, or one violation per bad one (the first 100).
/// Violations never quote the status: it is the pupil's personal data.
fn sen_statuses_from_proto(
    sent: &[pb::PupilSenStatus],
) -> Result<Vec<SentSenStatus>, Vec<FieldViolation>> {
    if sent.len() > MAX_MARKS_PER_BATCH {
        return Err(vec![FieldViolation::new(
            "sen_statuses",
            format!(
                "{} SEN statuses; a batch carries at most {MAX_MARKS_PER_BATCH}",
                sent.len()
            ),
        )]);
    }
    let mut out = Vec::with_capacity(sent.len());
    let mut bad: Vec<FieldViolation> = Vec::new();
    let mut seen: HashMap<(&str, NaiveDate), usize> = HashMap::new();
    for (i, s) in sent.iter().enumerate() {
        let field = format!("sen_statuses[{i}]");
        let mut reasons = Vec::new();
        let upn = Upn::parse(&s.upn)
            .map_err(|e| reasons.push(format!("upn: {e}")))
            .ok();
        let provision = match sen_from_proto("sen_provision", s.sen_provision) {
            Ok(Some(p)) => Some(p),
            Ok(None) => {
                reasons.push("sen_provision: required (leave the pupil out to send none)".into());
                None
            }
            Err(e) => {
                reasons.push(format!("sen_provision: {}", e.description));
                None
            }
        };
        let effective_from = date("effective_date", s.effective_date.as_ref())
            .map_err(|e| reasons.push(format!("effective_date: {}", e.description)))
            .ok();
        let source = match pb::SenStatusSource::try_from(s.source) {
            Ok(pb::SenStatusSource::Unspecified) => Some(SenSource::MarksCall),
            Ok(pb::SenStatusSource::RegisterImport) => Some(SenSource::RegisterImport),
            Ok(pb::SenStatusSource::CommonTransferFile) => Some(SenSource::CommonTransferFile),
            Err(_) => {
                reasons.push(format!(
                    "source: {} is not one of the allowed values",
                    s.source
                ));
                None
            }
        };
        match (upn, provision, effective_from, source) {
            (Some(upn), Some(provision), Some(effective_from), Some(source))
                if reasons.is_empty() =>
            {
                if let Some(j) = seen.insert((&s.upn, effective_from), i) {
                    bad.push(FieldViolation::new(
                        field,
                        format!("the same pupil and effective_date as sen_statuses[{j}]"),
                    ));
                } else {
                    out.push(SentSenStatus {
                        upn,
                        record: SenRecord {
                            effective_from,
                            provision,
                            source,
                        },
                    });
                }
            }
            _ => bad.push(FieldViolation::new(field, reasons.join("; "))),
        }
    }
    match bad.len() {
        0 => Ok(out),
        n => {
            bad.truncate(MAX_ROW_VIOLATIONS);
            if n > MAX_ROW_VIOLATIONS {
                bad.push(FieldViolation::new(
                    "sen_statuses",
                    format!(
                        "{} more invalid SEN statuses not listed",
                        n - MAX_ROW_VIOLATIONS
                    ),
                ));
            }
            Err(bad)
        }
    }
}

/// A GetAttendanceSummary request: whose figures, over which dates, grouped how.
pub(crate) fn summary_request(
    req: &pb::GetAttendanceSummaryRequest,
) -> ServiceResult<(SummaryScope, NaiveDate, NaiveDate, SummaryGrouping)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
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
    let grouping = match pb::AttendanceGrouping::try_from(req.group_by) {
        Ok(pb::AttendanceGrouping::Unspecified) => Some(SummaryGrouping::None),
        Ok(pb::AttendanceGrouping::Phase) => Some(SummaryGrouping::Phase),
        Ok(pb::AttendanceGrouping::School) => Some(SummaryGrouping::School),
        Err(_) => {
            v.push(FieldViolation::new(
                "group_by",
                format!("{} is not one of the allowed values", req.group_by),
            ));
            None
        }
    };
    let ((((school, upn), start), end), grouping) =
        v.finish(school.zip(upn).zip(start).zip(end).zip(grouping))?;
    let scope = match (upn, school) {
        (Some(upn), school) => SummaryScope::Pupil { upn, school },
        (None, Some(urn)) => SummaryScope::School(urn),
        (None, None) => SummaryScope::Authority,
    };
    Ok((scope, start, end, grouping))
}

pub(crate) fn summary_to_proto(
    summary: &AttendanceSummary,
    per_enrolment: bool,
) -> pb::GetAttendanceSummaryResponse {
    pb::GetAttendanceSummaryResponse {
        figures: Some(figures_to_proto(&summary.total)),
        enrolments: summary.enrolment_count,
        persistent_absence_enrolments: summary.persistent_absence_enrolments,
        severe_absence_enrolments: summary.severe_absence_enrolments,
        enrolment_summaries: if per_enrolment {
            summary
                .enrolments
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
        phase_groups: summary
            .phase_groups
            .iter()
            .map(|g| pb::PhaseAttendance {
                phase: phase_to_proto(g.phase) as i32,
                schools: g.figures.schools.len() as i64,
                figures: Some(figures_to_proto(&g.figures.total)),
                enrolments: g.figures.enrolments,
                persistent_absence_enrolments: g.figures.persistent_absence_enrolments,
                severe_absence_enrolments: g.figures.severe_absence_enrolments,
                unknown_school_urns: if g.phase.is_none() {
                    g.figures.schools.iter().cloned().collect()
                } else {
                    vec![]
                },
            })
            .collect(),
        school_groups: summary
            .school_groups
            .iter()
            .map(|g| pb::SchoolAttendance {
                school_urn: g.urn.clone(),
                establishment_name: g.name.clone().unwrap_or_default(),
                phase: phase_to_proto(g.phase) as i32,
                figures: Some(figures_to_proto(&g.figures.total)),
                enrolments: g.figures.enrolments,
                persistent_absence_enrolments: g.figures.persistent_absence_enrolments,
                severe_absence_enrolments: g.figures.severe_absence_enrolments,
            })
            .collect(),
    }
}

/// A ListThresholdBreaches request: the as-of date and school, paged by UPN.
pub(crate) fn breaches_request(
    req: &pb::ListThresholdBreachesRequest,
) -> ServiceResult<PageRequest<BreachQuery, String>> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let as_of = v.check(date("as_of_date", req.as_of_date.as_ref()));
    let school = v.check(optional("school_urn", &req.school_urn, Urn::parse));
    let states = v.check(super::breaches::states_from_proto(&req.states));
    let size = v.check(pagination::page_size("page_size", req.page_size));
    let filter = format!(
        "{}|{:?}|{}|{:?}",
        req.parent, req.as_of_date, req.school_urn, req.states
    );
    // A breach's position: its pupil's UPN (its shape: the check letter is the
    // marks' business, and a stored one must always page) and the breach's id.
    let after = v.check(pagination::decode_with(
        "page_token",
        &req.page_token,
        &filter,
        |c| {
            let (upn, id) = c.rsplit_once('|')?;
            let shaped =
                (1..=16).contains(&upn.len()) && upn.bytes().all(|b| b.is_ascii_alphanumeric());
            id.parse::<i64>().ok().filter(|_| shaped)?;
            Some(c.to_string())
        },
    ));
    let ((((as_of, school), states), size), after) =
        v.finish(as_of.zip(school).zip(states).zip(size).zip(after))?;
    Ok(PageRequest {
        query: BreachQuery {
            school,
            as_of,
            states,
        },
        size,
        after,
        filter,
    })
}

impl From<&FoundBreach> for pb::ThresholdBreach {
    fn from(b: &FoundBreach) -> Self {
        pb::ThresholdBreach {
            upn: b.upn.clone(),
            school_urn: b.school_urn.clone(),
            qualifying_sessions: b.breach.qualifying_sessions,
            window_first_week: Some(date_to_proto(b.breach.first_week)),
            window_last_week: Some(date_to_proto(b.breach.last_week)),
            sessions: b
                .breach
                .sessions
                .iter()
                .map(|m| pb::SessionMark {
                    date: Some(date_to_proto(m.date)),
                    session: session_to_proto(m.session) as i32,
                    code: m.code.clone(),
                })
                .collect(),
            covered_by_notice_to_improve: b.covered_by_notice_to_improve,
            covered_by_penalty_notice: b.covered_by_penalty_notice,
            policy_version: b.policy_version.clone(),
            sen_provision: sen_to_proto(b.sen_provision) as i32,
            ..Default::default()
        }
    }
}

/// A GetMarkHistory request: the pupil, school, date and session.
pub(crate) fn history_request(
    req: &pb::GetMarkHistoryRequest,
) -> ServiceResult<((Upn, Urn), NaiveDate, Session)> {
    let mut v = Violations::new();
    v.check(names::parse_authority("parent", &req.parent));
    let school =
        v.check(Urn::parse(&req.school_urn).map_err(|e| FieldViolation::new("school_urn", e)));
    let upn = v.check(Upn::parse(&req.upn).map_err(|e| FieldViolation::new("upn", e)));
    let day = v.check(date("date", req.date.as_ref()));
    let session = v.check(
        session_from_proto(req.session)
            .ok_or_else(|| FieldViolation::new("session", "AM or PM is required")),
    );
    let (((school, upn), day), session) = v.finish(school.zip(upn).zip(day).zip(session))?;
    Ok(((upn, school), day, session))
}

pub(crate) fn history_to_proto(marks: Vec<(String, DateTime<Utc>)>) -> pb::GetMarkHistoryResponse {
    pb::GetMarkHistoryResponse {
        revisions: marks
            .into_iter()
            .enumerate()
            .map(|(i, (code, record_time))| pb::MarkRevision {
                code,
                record_time: Some(timestamp_to_proto(record_time)),
                current: i == 0,
            })
            .collect(),
    }
}
