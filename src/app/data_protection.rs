//! Accountability for personal data: the access log (who read which pupil's or
//! parent's data), for the data protection officer and auditors, and the
//! record every read of a named child's or parent's data leaves in it.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};

use super::{App, Caller, Read, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation,
    access::Operation,
    access_log::{self, Accessed, SubjectKind},
    breach::BreachState,
    identifiers::{LaCode, Upn},
    letter::{Block, Letter},
    names,
    payment::Payment,
};
use crate::store::{
    AccessEvent, AccessFilter, AuditEvent, AuditFilter, DecidedBreachFilter, NewAccess,
    NewAuditEvent, NoticeFilter, PaymentFilter, StoreTx,
};

/// Which access-log entries to list: every set field must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessQuery {
    /// Entries naming this pupil (UPN) or parent (person id).
    pub subject: Option<(SubjectKind, String)>,
    /// Entries of this caller (a token's subject).
    pub actor_subject: Option<String>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// Records in `tx` that `caller` read `accessed` through `method` at `at`: one
/// access-log entry per subject and resource, appended when the unit commits
/// (nothing if it rolls back). A purpose header that is not one is refused
/// here, after the caller was authorised and the request read.
pub(super) async fn record_reads(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    at: DateTime<Utc>,
    method: &'static str,
    accessed: Vec<Accessed>,
) -> ServiceResult<()> {
    let purpose = recorded_purpose(caller)?;
    if accessed.is_empty() {
        return Ok(());
    }
    tx.record_access(&NewAccess {
        authority: &caller.authority,
        at,
        actor: &caller.actor,
        method,
        purpose,
        accessed: access_log::distinct(accessed),
    })
    .await?;
    Ok(())
}

/// The purpose `caller` gave, as its access-log entries record it; a purpose
/// header that is not one is refused.
pub(super) fn recorded_purpose(caller: &Caller) -> ServiceResult<Option<&str>> {
    caller
        .purpose
        .recorded()
        .map_err(|why| FieldViolation::new(access_log::PURPOSE_HEADER, why).into())
}

/// The rows of a listing its caller gets: a listing reads one row past its
/// page (`limit` is the page size and one) to know whether another page
/// follows; that row is not returned, so its read is not recorded.
pub(super) fn returned<T>(rows: &[T], limit: i64) -> &[T] {
    let page = usize::try_from(limit.saturating_sub(1).max(1)).unwrap_or(usize::MAX);
    &rows[..rows.len().min(page)]
}

/// The pupils and parents `payments` name: those of the notices they were
/// allocated to or refunded against (a payment names no one by key itself; its
/// payer's name is free text), each with the payment's name as the resource.
pub(super) async fn payment_subjects(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    payments: &[Payment],
) -> ServiceResult<Vec<Accessed>> {
    let mut by_notice: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for p in payments {
        let notices = p
            .allocations
            .iter()
            .map(|a| a.notice_number.as_str())
            .chain(p.refunds.iter().filter_map(|r| r.notice_number.as_deref()));
        for number in notices {
            by_notice.entry(number).or_default().push(&p.payment_id);
        }
    }
    let numbers: Vec<String> = by_notice.keys().map(|n| n.to_string()).collect();
    let mut accessed = Vec::new();
    for (number, upn, person_id) in tx.notice_subjects(authority, &numbers).await? {
        for payment_id in by_notice.get(number.as_str()).into_iter().flatten() {
            let name = names::payment_name(authority, payment_id);
            accessed.push(Accessed::pupil(&upn, &name));
            accessed.push(Accessed::parent(&person_id, &name));
        }
    }
    Ok(accessed)
}

impl App {
    /// The caller's authority's access-log entries matching `query` after
    /// `after_entry_id`, oldest first.
    pub async fn list_access_events(
        &self,
        caller: Caller,
        asked: Read<(AccessQuery, i64, i64)>,
    ) -> ServiceResult<Vec<AccessEvent>> {
        caller.check_allowed(Operation::ReadAccessLog)?;
        let (query, after_entry_id, limit) = asked?;
        self.read_single(move |_, mut tx| async move {
            let filter = AccessFilter {
                subject: query.subject.as_ref().map(|(k, s)| (*k, s.as_str())),
                actor_subject: query.actor_subject.as_deref(),
                from: query.from,
                to: query.to,
            };
            let result = tx
                .access_events(&caller.authority, &filter, after_entry_id, limit)
                .await;
            (tx, result.map_err(Into::into))
        })
        .await
    }
}

/// The version of the subject access export's JSON document
/// (docs/subject-access.md).
pub const SUBJECT_EXPORT_SCHEMA: &str = "lea-notices/subject-access/v1";

/// How an export is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON document (docs/subject-access.md).
    Json,
    /// A readable PDF of the same records (see [`subject_report`]).
    Pdf,
}

impl ExportFormat {
    fn as_str(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Pdf => "pdf",
        }
    }
}

/// An export as written: its bytes and their media type.
#[derive(Debug, Clone)]
pub struct SubjectExport {
    pub bytes: Vec<u8>,
    pub content_type: &'static str,
}

/// Rows read per query while gathering an export's pages.
const EXPORT_PAGE: i64 = 1_000;

/// The resource name an export is recorded under: `authorities/{la}/pupils/{upn}`
/// or `authorities/{la}/parents/{person_id}`.
fn subject_name(authority: &LaCode, kind: SubjectKind, key: &str) -> String {
    let collection = match kind {
        SubjectKind::Pupil => "pupils",
        SubjectKind::Parent => "parents",
    };
    format!("{}/{collection}/{key}", names::authority_name(authority))
}

impl App {
    /// Everything held about one pupil (UPN) or parent (person id) in the
    /// caller's authority, as one JSON document (docs/subject-access.md),
    /// read in one unit of work that also records the export: an audit event
    /// `subject_data.exported` and an access-log entry.
    pub async fn export_subject_data(
        &self,
        caller: Caller,
        asked: Read<(SubjectKind, String, ExportFormat)>,
    ) -> ServiceResult<SubjectExport> {
        caller.check_allowed(Operation::ExportSubjectData)?;
        let (kind, key, format) = asked?;
        let document = self
            .write(move |app, mut tx| async move {
                let result = async {
                    let at = app.now();
                    let resource = subject_name(&caller.authority, kind, &key);
                    // Refuses a bad purpose before anything is read.
                    let accessed = vec![Accessed {
                        kind,
                        key: key.clone(),
                        resource: resource.clone(),
                    }];
                    record_reads(&mut *tx, &caller, at, "ExportSubjectData", accessed).await?;
                    let document = gather(&mut *tx, &caller, (kind, &key), at).await?;
                    let counts: serde_json::Map<String, serde_json::Value> = document
                        .as_object()
                        .into_iter()
                        .flatten()
                        .filter_map(|(k, v)| v.as_array().map(|a| (k.clone(), a.len().into())))
                        .collect();
                    tx.append_audit(&NewAuditEvent {
                        authority: &caller.authority,
                        at,
                        actor: &caller.actor,
                        action: "subject_data.exported",
                        resource: &resource,
                        request_id: "",
                        details: serde_json::json!({
                            "subject_kind": kind.as_str(),
                            "format": format.as_str(),
                            "records": counts,
                        }),
                    })
                    .await?;
                    Ok(document)
                }
                .await;
                (tx, result)
            })
            .await?;
        match format {
            ExportFormat::Json => Ok(SubjectExport {
                bytes: serde_json::to_vec_pretty(&document).map_err(json_error)?,
                content_type: "application/json",
            }),
            ExportFormat::Pdf => {
                let report = subject_report(&document);
                let pdf = tokio::task::spawn_blocking(move || {
                    super::letters::pdf::render(&report, "Subject access export")
                })
                .await
                .map_err(|e| ServiceError::Internal(format!("rendering an export: {e}")))?
                // `subject_report` printed only what the fonts can.
                .map_err(|e| ServiceError::Internal(format!("rendering an export: {e}")))?;
                Ok(SubjectExport {
                    bytes: pdf.bytes,
                    content_type: "application/pdf",
                })
            }
        }
    }
}

/// The export as a readable document, laid out like a letter: a section per
/// kind of record, each record's fields as lines (`field: value`, nested
/// fields by their path), and each notice's letter as it reads. A character
/// the letter fonts cannot print is shown as `?`.
pub fn subject_report(doc: &serde_json::Value) -> Letter {
    let mut blocks = vec![
        Block::Heading("Subject access export".into()),
        Block::Lines(
            ["authority", "exported_at"]
                .iter()
                .map(|k| format!("{k}: {}", scalar(&doc[*k])))
                .chain(flat("subject", &doc["subject"]))
                .chain(flat("exported_by", &doc["exported_by"]))
                .collect(),
        ),
    ];
    let sections = [
        ("marks", "Register marks"),
        ("replaced_marks", "Register marks later corrected"),
        ("breach_cases", "Attendance cases decided"),
        (
            "sen_statuses",
            "Special educational needs status, as the school sent it",
        ),
        ("notices", "Notices"),
        (
            "rectifications",
            "Personal details corrected (what the notices held before)",
        ),
        ("payments", "Payments"),
        (
            "penalty_notice_requests",
            "Schools' requests for a penalty notice",
        ),
        ("audit_events", "Changes recorded (audit log)"),
        ("access_events", "Who read this data (access log)"),
    ];
    for (key, title) in sections {
        let Some(records) = doc[key].as_array() else {
            continue;
        };
        blocks.push(Block::Heading(format!("{title} ({})", records.len())));
        if records.is_empty() {
            blocks.push(Block::Paragraph("None held.".into()));
        }
        for record in records {
            blocks.push(Block::Lines(flat("", record)));
        }
    }
    if let Some(letters) = doc["letters"].as_array() {
        blocks.push(Block::Heading(format!("Letters ({})", letters.len())));
        for l in letters {
            blocks.push(Block::Paragraph(format!(
                "The letter of {}:",
                scalar(&l["notice"])
            )));
            match l["blocks"].as_array() {
                Some(letter) => blocks.extend(letter.iter().filter_map(block_from_json)),
                None => blocks.push(Block::Paragraph(format!(
                    "Cannot be laid out now: {}.",
                    scalar(&l["unavailable"])
                ))),
            }
        }
    }
    Letter {
        title: "Subject access export".into(),
        blocks: blocks.into_iter().map(printable_block).collect(),
    }
}

/// A JSON value's fields as `path: value` lines.
fn flat(path: &str, value: &serde_json::Value) -> Vec<String> {
    let join = |key: &str| {
        if path.is_empty() {
            key.to_string()
        } else {
            format!("{path}.{key}")
        }
    };
    match value {
        serde_json::Value::Object(fields) => {
            fields.iter().flat_map(|(k, v)| flat(&join(k), v)).collect()
        }
        serde_json::Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {
            items
                .iter()
                .enumerate()
                .flat_map(|(i, v)| flat(&format!("{path}[{i}]"), v))
                .collect()
        }
        other => vec![format!("{path}: {}", scalar(other))],
    }
}

fn scalar(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Null => "-".into(),
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn block_from_json(block: &serde_json::Value) -> Option<Block> {
    let text = |k: &str| block[k].as_str().map(str::to_string);
    let list = |k: &str| {
        block[k]
            .as_array()
            .map(|items| items.iter().map(scalar).collect::<Vec<_>>())
    };
    text("heading")
        .map(Block::Heading)
        .or_else(|| text("paragraph").map(Block::Paragraph))
        .or_else(|| list("lines").map(Block::Lines))
        .or_else(|| list("bullets").map(Block::Bullets))
}

fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut one = [0u8; 4];
            if super::letters::pdf::first_unprintable(c.encode_utf8(&mut one)).is_some() {
                '?'
            } else {
                c
            }
        })
        .collect()
}

fn printable_block(block: Block) -> Block {
    let all = |lines: Vec<String>| lines.iter().map(|l| printable(l)).collect();
    match block {
        Block::Heading(t) => Block::Heading(printable(&t)),
        Block::Paragraph(t) => Block::Paragraph(printable(&t)),
        Block::Lines(l) => Block::Lines(all(l)),
        Block::Bullets(l) => Block::Bullets(all(l)),
    }
}

/// The export's document: every record held about the subject.
async fn gather(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    (kind, key): (SubjectKind, &str),
    at: DateTime<Utc>,
) -> ServiceResult<serde_json::Value> {
    use serde_json::json;
    let authority = &caller.authority;
    let mut doc = serde_json::Map::new();
    doc.insert("schema".into(), SUBJECT_EXPORT_SCHEMA.into());
    doc.insert("authority".into(), names::authority_name(authority).into());
    doc.insert(
        "subject".into(),
        match kind {
            SubjectKind::Pupil => json!({"kind": "pupil", "upn": key}),
            SubjectKind::Parent => json!({"kind": "parent", "person_id": key}),
        },
    );
    doc.insert("exported_at".into(), json!(at));
    doc.insert(
        "exported_by".into(),
        json!({"subject": caller.actor.subject, "role": caller.actor.role_str()}),
    );

    // The registers and the cases on them are the pupil's own.
    let mut marks = Vec::new();
    let mut replaced = Vec::new();
    let mut breaches = Vec::new();
    let mut sen_statuses = Vec::new();
    let notices = match kind {
        SubjectKind::Pupil => {
            let upn = Upn::parse(key).map_err(|why| FieldViolation::new("upn", why))?;
            // The pupil's SEN status history, as the MIS sent it.
            for (_, r) in tx.sen_histories(authority, &[key.to_string()]).await? {
                sen_statuses.push(json!({
                    "effective_date": r.effective_from,
                    "sen_provision": r.provision.code(),
                    "source": r.source.as_str(),
                }));
            }
            let (from, to) = (export_dates().0, export_dates().1);
            for m in tx.pupil_marks(authority, &upn, from, to).await? {
                marks.push(json!({
                    "school_urn": m.school_urn,
                    "date": m.mark.date,
                    "session": m.mark.session.as_str(),
                    "code": m.mark.code,
                }));
            }
            for r in tx.replaced_marks_of(authority, key).await? {
                replaced.push(json!({
                    "school_urn": r.school_urn,
                    "date": r.date,
                    "session": r.session.as_str(),
                    "code": r.code,
                    "recorded_at": r.record_time,
                    "replaced_at": r.replaced_at,
                    "replaced_by_code": r.replaced_by_code,
                }));
            }
            let mut after = (String::new(), 0);
            loop {
                let states = BreachState::decided();
                let page = tx
                    .decided_breaches(
                        authority,
                        &DecidedBreachFilter {
                            after: (&after.0, after.1),
                            upn: Some(key),
                            school: None,
                            last_session_from: from,
                            last_session_to: to,
                            states: &states,
                            limit: EXPORT_PAGE,
                        },
                    )
                    .await?;
                let full = page.len() as i64 == EXPORT_PAGE;
                for b in &page {
                    breaches.push(json!({
                        "name": names::breach_name(authority, b.breach_id),
                        "school_urn": b.school_urn,
                        "as_of_date": b.as_of,
                        "qualifying_sessions": b.breach.qualifying_sessions,
                        "first_week": b.breach.first_week,
                        "last_week": b.breach.last_week,
                        "sessions": b.breach.sessions.iter().map(|m| json!({
                            "date": m.date, "session": m.session.as_str(), "code": m.code,
                        })).collect::<Vec<_>>(),
                        "policy_version": b.policy_version,
                        "decision": {
                            "state": b.decision.state.as_str(),
                            "no_action_reason": b.decision.reason.map(|r| r.as_str()),
                            "note": b.decision.note,
                            "notice_numbers": b.decision.notice_numbers,
                        },
                        "decided_at": b.decided_at,
                        "decided_by": {"subject": b.decided_by.subject, "role": b.decided_by.role_str()},
                    }));
                }
                match page.last() {
                    Some(last) if full => after = (last.upn.clone(), last.breach_id),
                    _ => break,
                }
            }
            tx.pupil_notices(authority, &upn).await?
        }
        SubjectKind::Parent => {
            let filter = NoticeFilter {
                school_urn: None,
                upn: None,
                parent_person_id: Some(key),
                issuer_subject: None,
                kind: None,
                status: None,
                issued_from: None,
                issued_to: None,
                sen_provision: None,
            };
            let today = at.date_naive();
            let mut all = Vec::new();
            let mut after = None;
            loop {
                let page = tx
                    .list_notices(authority, &filter, today, after, EXPORT_PAGE)
                    .await?;
                let full = page.len() as i64 == EXPORT_PAGE;
                after = page.last().map(|n| (n.issue_date, n.notice_number.clone()));
                all.extend(page);
                if !full {
                    break;
                }
            }
            all
        }
    };
    if kind == SubjectKind::Pupil {
        doc.insert("marks".into(), marks.into());
        doc.insert("replaced_marks".into(), replaced.into());
        doc.insert("breach_cases".into(), breaches.into());
        doc.insert("sen_statuses".into(), sen_statuses.into());
    }

    // Notices, their letters and the money paid on them.
    let mut resources: Vec<String> = Vec::new();
    let mut letters = Vec::new();
    let mut payments: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    let mut rectifications = Vec::new();
    for notice in &notices {
        let name = names::notice_name(authority, &notice.notice_number);
        resources.push(name.clone());
        // Every correction of the notice's details (the pupil's and the
        // parent's: the notice holds both), with what it printed before.
        for r in tx
            .notice_rectifications(authority, &notice.notice_number)
            .await?
        {
            rectifications.push(json!({
                "notice": name,
                "sequence": r.sequence,
                "subject": {"kind": r.subject_kind.as_str(), "key": r.subject_key},
                "previous": r.previous,
                "corrected": r.corrected,
                "reason": r.reason,
                "rectified_at": r.at,
                "rectified_by": {"subject": r.by.subject, "role": r.by.role_str()},
            }));
        }
        letters.push(
            match super::letters::letter_for(tx, authority, notice).await {
                Ok(letter) => json!({
                    "notice": name,
                    "title": letter.title,
                    "blocks": letter.blocks.iter().map(block_json).collect::<Vec<_>>(),
                }),
                Err(ServiceError::FailedPrecondition(why)) => json!({
                    "notice": name,
                    "unavailable": why.iter().map(|r| r.rule).collect::<Vec<_>>(),
                }),
                Err(e) => return Err(e),
            },
        );
        let filter = PaymentFilter {
            notice_number: Some(&notice.notice_number),
            unallocated_only: false,
            paid_from: None,
            paid_to: None,
        };
        for p in tx.list_payments(authority, &filter, None, i64::MAX).await? {
            let name = names::payment_name(authority, &p.payment_id);
            payments.insert(name, serde_json::to_value(&p).map_err(json_error)?);
        }
    }
    resources.extend(payments.keys().cloned());
    let notices_json = notices
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .map_err(json_error)?;
    doc.insert("notices".into(), notices_json.into());
    doc.insert("letters".into(), letters.into());
    doc.insert("rectifications".into(), rectifications.into());
    doc.insert(
        "payments".into(),
        payments.into_values().collect::<Vec<_>>().into(),
    );

    // Schools' requests for a penalty notice that name the subject.
    let mut requests = Vec::new();
    let mut after = 0;
    loop {
        let page = tx
            .penalty_notice_requests(authority, None, None, after, EXPORT_PAGE)
            .await?;
        let full = page.len() as i64 == EXPORT_PAGE;
        after = page.last().map_or(after, |r| r.number);
        for r in page.iter().filter(|r| match kind {
            SubjectKind::Pupil => r.draft.upn == key,
            SubjectKind::Parent => r.draft.parent_person_ids.iter().any(|p| p == key),
        }) {
            let name = names::penalty_notice_request_name(authority, r.number);
            resources.push(name.clone());
            requests.push(json!({
                "name": name,
                "upn": r.draft.upn,
                "school_urn": r.draft.school_urn,
                "parent_person_ids": r.draft.parent_person_ids,
                "sessions": r.draft.sessions.iter().map(|m| json!({
                    "date": m.date, "session": m.session.as_str(), "code": m.code,
                })).collect::<Vec<_>>(),
                "support_offered": r.draft.support_offered,
                "state": r.state.as_str(),
                "requested_by": {"subject": r.requested_by.subject, "role": r.requested_by.role_str()},
                "requested_at": r.requested_at,
                "decline_reason": r.decline_reason,
                "notice_numbers": r.notice_numbers,
            }));
        }
        if !full {
            break;
        }
    }
    doc.insert("penalty_notice_requests".into(), requests.into());

    // The audit events about the records above, and those whose details name
    // the subject.
    let quoted = serde_json::to_string(key).map_err(json_error)?;
    let mut events: BTreeMap<i64, AuditEvent> = tx
        .audit_events_naming(authority, &quoted)
        .await?
        .into_iter()
        .map(|e| (e.event_id, e))
        .collect();
    for resource in &resources {
        let filter = AuditFilter {
            resource: Some(resource),
            ..Default::default()
        };
        for e in tx.audit_events(authority, &filter, 0, i64::MAX).await? {
            events.insert(e.event_id, e);
        }
    }
    doc.insert(
        "audit_events".into(),
        events
            .into_values()
            .map(|e| {
                json!({
                    "event_id": e.event_id,
                    "event_time": e.at,
                    "actor": {"subject": e.actor_subject, "role": e.actor_role},
                    "action": e.action,
                    "resource": e.resource,
                    "details": e.details,
                })
            })
            .collect::<Vec<_>>()
            .into(),
    );

    // Who read the subject's data (this export's own entry is written when it
    // commits, after this).
    let mut reads = Vec::new();
    let mut after = 0;
    loop {
        let filter = AccessFilter {
            subject: Some((kind, key)),
            ..Default::default()
        };
        let page = tx
            .access_events(authority, &filter, after, EXPORT_PAGE)
            .await?;
        let full = page.len() as i64 == EXPORT_PAGE;
        after = page.last().map_or(after, |e| e.entry_id);
        reads.extend(page.into_iter().map(|e| {
            json!({
                "access_event_id": e.entry_id,
                "access_time": e.at,
                "actor": {"subject": e.actor_subject, "role": e.actor_role},
                "method": e.method,
                "resource": e.resource,
                "purpose": e.purpose,
            })
        }));
        if !full {
            break;
        }
    }
    doc.insert("access_events".into(), reads.into());
    Ok(serde_json::Value::Object(doc))
}

/// The widest dates a record can carry.
fn export_dates() -> (NaiveDate, NaiveDate) {
    (
        NaiveDate::from_ymd_opt(1990, 1, 1).expect("a date"),
        NaiveDate::from_ymd_opt(9999, 12, 31).expect("a date"),
    )
}

fn block_json(block: &Block) -> serde_json::Value {
    use serde_json::json;
    match block {
        Block::Heading(text) => json!({"heading": text}),
        Block::Paragraph(text) => json!({"paragraph": text}),
        Block::Lines(lines) => json!({"lines": lines}),
        Block::Bullets(items) => json!({"bullets": items}),
    }
}

fn json_error(e: serde_json::Error) -> ServiceError {
    ServiceError::Internal(format!("as JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_readable_export_prints_every_record_and_only_what_the_fonts_can() {
        let doc = serde_json::json!({
            "schema": SUBJECT_EXPORT_SCHEMA,
            "authority": "authorities/850",
            "subject": {"kind": "parent", "person_id": "mum-1"},
            "exported_at": "2025-03-07T11:00:00Z",
            "exported_by": {"subject": "dpo", "role": "data_protection_officer"},
            "notices": [{"notice_number": "850-2025-000001", "parent": {"given_name": "Ann \u{E000}"}}],
            "payments": [],
            "letters": [
                {"notice": "authorities/850/notices/850-2025-000001", "title": "t",
                 "blocks": [{"heading": "Penalty notice"}, {"lines": ["1 High Street"]}]},
                {"notice": "authorities/850/notices/850-2025-000002", "unavailable": ["NO_AUTHORITY_SETTINGS"]}
            ],
        });
        let report = subject_report(&doc);
        let text: Vec<String> = report
            .blocks
            .iter()
            .flat_map(|b| match b {
                Block::Heading(t) | Block::Paragraph(t) => vec![t.clone()],
                Block::Lines(l) | Block::Bullets(l) => l.clone(),
            })
            .collect();
        assert!(
            text.contains(&"subject.person_id: mum-1".to_string()),
            "{text:?}"
        );
        assert!(text.contains(&"Notices (1)".to_string()));
        assert!(
            text.contains(&"parent.given_name: Ann ?".to_string()),
            "{text:?}"
        );
        assert!(
            text.contains(&"Payments (0)".to_string()) && text.contains(&"None held.".to_string())
        );
        assert!(
            text.contains(&"Penalty notice".to_string())
                && text.contains(&"1 High Street".to_string())
        );
        assert!(text.iter().any(|t| t.contains("NO_AUTHORITY_SETTINGS")));
        assert!(
            !text.iter().any(|t| t.contains("Register marks")),
            "a parent has no registers"
        );
        crate::app::letters::pdf::render(&report, "Subject access export").expect("printable");
    }

    #[test]
    fn a_listing_records_only_the_page_it_returns() {
        let rows = [1, 2, 3];
        assert_eq!(returned(&rows, 3), &[1, 2]);
        assert_eq!(returned(&rows, 10), &[1, 2, 3]);
        assert_eq!(returned(&rows, 1), &[1]);
    }
}
