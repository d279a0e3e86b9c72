//! The other measures as cases: an officer opens a case (a contract offered,
//! an order applied for or made, a prosecution referred) and records what
//! happens to it; money received on a notice after it was referred stops the
//! prosecution (see [`block_prosecutions`], called with every allocation).
//! The rules are `domain::measures`; docs/measures.md.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use super::idempotency::UseCase;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation, RuleViolation,
    access::{self, Operation},
    actor::Actor,
    identifiers::LaCode,
    measures::{
        self, CaseEvent, CaseEventKind, CaseFacts, CaseParent, CaseState, MeasureCase, MeasureKind,
        OrderBasis, RecordedCaseEvent, Section,
    },
    names,
};
use crate::store::{CaseFilter, NewAuditEvent, StoreTx};

const OPEN: UseCase = UseCase::OpenCase;
const RECORD: UseCase = UseCase::RecordCaseEvent;

/// What a retried open or event answers with: the case it opened or changed.
#[derive(Serialize, Deserialize)]
struct Kept {
    number: i64,
}

/// A case to open, as asked.
#[derive(Debug, Clone)]
pub struct CaseOpening {
    pub kind: MeasureKind,
    pub upn: String,
    pub school_urn: String,
    /// Empty: the parents of the notices it follows, as on them.
    pub parents: Vec<CaseParent>,
    /// Resource names of notices (`authorities/*/notices/*`) or breaches.
    pub follows: Vec<String>,
    pub opened_on: NaiveDate,
    pub section: Option<Section>,
    pub order_basis: Option<OrderBasis>,
}

/// Which cases a listing returns.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    pub kind: Option<MeasureKind>,
    pub state: Option<CaseState>,
    pub upn: Option<String>,
    pub school_urn: Option<String>,
}

/// A page of cases asked for: the filter, after which number, how many.
pub type CaseListing = (CaseQuery, i64, i64);

async fn case_in(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    number: i64,
) -> ServiceResult<MeasureCase> {
    tx.case(authority, number)
        .await?
        .ok_or_else(|| ServiceError::NotFound(names::case_name(authority, number)))
}

/// The case, if the caller may see it (school staff: their schools' cases);
/// NOT_FOUND otherwise, as if it did not exist.
async fn visible_case(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    number: i64,
) -> ServiceResult<MeasureCase> {
    let case = case_in(tx, &caller.authority, number).await?;
    let covered = crate::domain::identifiers::Urn::parse(&case.school_urn)
        .is_ok_and(|urn| caller.covers_school(&urn));
    if covered {
        Ok(case)
    } else {
        Err(ServiceError::NotFound(names::case_name(
            &caller.authority,
            number,
        )))
    }
}

/// Who records an event and why, for its history and audit event.
struct By<'a> {
    actor: &'a Actor,
    request_id: &'a str,
    at: DateTime<Utc>,
}

/// Appends `event` (with `case` as it stands after it) to the case's history
/// and the audit log.
async fn record_event(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    case: &MeasureCase,
    (event, on): (&CaseEvent, NaiveDate),
    by: &By<'_>,
) -> ServiceResult<()> {
    tx.insert_case_event(
        authority,
        case.number,
        &RecordedCaseEvent {
            sequence: case.version,
            event: event.clone(),
            on,
            state_after: case.state,
            actor: by.actor.clone(),
            recorded_at: by.at,
            request_id: by.request_id.to_string(),
        },
    )
    .await?;
    let mut details = serde_json::json!({
        "kind": case.kind.as_str(),
        "state": case.state.as_str(),
        "on": on,
        "upn": case.upn,
        "school_urn": case.school_urn,
        "event": event,
    });
    if event.kind() == CaseEventKind::Opened {
        details["follows"] = serde_json::json!(case.facts.follows);
        details["section"] = serde_json::json!(case.facts.section);
        details["order_basis"] = serde_json::json!(case.facts.order_basis);
        details["parent_person_ids"] = serde_json::json!(
            case.facts
                .parents
                .iter()
                .map(|p| p.person_id.as_str())
                .collect::<Vec<_>>()
        );
    }
    tx.append_audit(&NewAuditEvent {
        authority,
        at: by.at,
        actor: by.actor,
        action: &event.kind().action(),
        resource: &names::case_name(authority, case.number),
        request_id: by.request_id,
        details,
    })
    .await?;
    Ok(())
}

/// Stores a new case, with its `Opened` event.
async fn insert_opened(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    case: &MeasureCase,
    by: &By<'_>,
) -> ServiceResult<()> {
    tx.insert_case(authority, case, by.request_id).await?;
    record_event(
        tx,
        authority,
        case,
        (&CaseEvent::Opened, case.opened_on),
        by,
    )
    .await
}

/// Writes `next` over the case it was decided from; refuses if it changed since.
async fn update(tx: &mut dyn StoreTx, authority: &LaCode, next: &MeasureCase) -> ServiceResult<()> {
    if tx.update_case(authority, next).await? {
        Ok(())
    } else {
        Err(RuleViolation::new(
            "CASE_CHANGED",
            names::case_name(authority, next.number),
            "the case changed while this event was decided; read it again",
        )
        .into())
    }
}

/// Money received on notice `number` after referral (`amount_pence` more
/// than it had, from `payment`): every prosecution following the notice that
/// has not reached its outcome is stopped, with a `measure.blocked_by_payment`
/// event, in the unit of work that allocates the money.
pub(crate) async fn block_prosecutions(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    (number, payment, amount_pence): (&str, &str, i64),
    (actor, request_id, at): (&Actor, &str, DateTime<Utc>),
) -> ServiceResult<()> {
    let resource = names::notice_name(authority, number);
    let event = CaseEvent::BlockedByPayment {
        payment: payment.to_string(),
        amount_pence,
    };
    let on = crate::domain::calendar::london_date(at);
    for case in tx.cases_following(authority, &resource).await? {
        if let Some(next) = measures::block_for_payment(&case, &event, on) {
            update(tx, authority, &next).await?;
            let by = By {
                actor,
                request_id,
                at,
            };
            record_event(tx, authority, &next, (&event, on), &by).await?;
        }
    }
    Ok(())
}

impl App {
    /// Opens a case of one of the other measures.
    pub async fn open_case(
        &self,
        caller: Caller,
        request: RequestId,
        opening: Read<CaseOpening>,
    ) -> ServiceResult<MeasureCase> {
        caller.check_allowed(Operation::ChangeMeasures)?;
        let opening = opening?;
        self.write(move |app, mut tx| async move {
            let result = app.open_case_in(&mut *tx, &caller, &request, opening).await;
            (tx, result)
        })
        .await
    }

    async fn open_case_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        o: CaseOpening,
    ) -> ServiceResult<MeasureCase> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Kept>(tx, authority, OPEN, self.now())
            .await?
        {
            return case_in(tx, authority, kept.number).await;
        }
        let mut parents = o.parents.clone();
        let mut missing = Vec::new();
        let mut broken = Vec::new();
        for (i, follows) in o.follows.iter().enumerate() {
            let Ok((la, number)) = names::parse_notice("follows", follows) else {
                continue;
            };
            // Locked: a payment allocated meanwhile waits for this unit, and
            // then finds the case and stops it.
            let found = if la == *authority {
                tx.notice_for_update(authority, &number).await?
            } else {
                None
            };
            let Some(notice) = found else {
                missing.push(FieldViolation::new(
                    format!("follows[{i}]"),
                    format!("notice {number} does not exist"),
                ));
                continue;
            };
            if notice.pupil.upn.as_str() != o.upn {
                broken.push(RuleViolation::new(
                    "NOTICE_FOR_ANOTHER_PUPIL",
                    &notice.notice_number,
                    "the notice is for another pupil than the case",
                ));
            }
            if o.kind == MeasureKind::Prosecution
                && let Err(v) = measures::check_referral(&notice, o.opened_on)
            {
                broken.push(v);
            }
            if o.parents.is_empty()
                && !parents
                    .iter()
                    .any(|p: &CaseParent| p.person_id == notice.parent.person_id)
            {
                parents.push(CaseParent {
                    person_id: notice.parent.person_id.clone(),
                    given_name: notice.parent.given_name.clone(),
                    family_name: notice.parent.family_name.clone(),
                });
            }
        }
        if !missing.is_empty() {
            return Err(ServiceError::InvalidArgument(missing));
        }
        if !broken.is_empty() {
            return Err(ServiceError::FailedPrecondition(broken));
        }
        if parents.is_empty() {
            return Err(FieldViolation::new(
                "parents",
                "at least one parent, or a notice to take the parent from",
            )
            .into());
        }
        let case = MeasureCase {
            number: tx.next_serial(authority, "measure-case").await?,
            kind: o.kind,
            state: measures::initial_state(o.kind),
            upn: o.upn,
            school_urn: o.school_urn,
            opened_on: o.opened_on,
            facts: CaseFacts {
                parents,
                follows: o.follows,
                section: o.section,
                order_basis: o.order_basis,
                ..CaseFacts::default()
            },
            opened_by: caller.actor.clone(),
            created_at: self.now(),
            version: 1,
        };
        let by = By {
            actor: &caller.actor,
            request_id: &request.id,
            at: case.created_at,
        };
        insert_opened(tx, authority, &case, &by).await?;
        request
            .complete(
                tx,
                authority,
                OPEN,
                &Kept {
                    number: case.number,
                },
            )
            .await?;
        Ok(case)
    }

    /// Records an event on a case: the case after it, or the rule it breaks.
    pub async fn record_case_event(
        &self,
        caller: Caller,
        request: RequestId,
        change: Read<(i64, CaseEvent, NaiveDate)>,
    ) -> ServiceResult<MeasureCase> {
        caller.check_allowed(Operation::ChangeMeasures)?;
        let change = change?;
        self.write(move |app, mut tx| async move {
            let result = app
                .record_case_event_in(&mut *tx, &caller, &request, change)
                .await;
            (tx, result)
        })
        .await
    }

    async fn record_case_event_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        (number, event, on): (i64, CaseEvent, NaiveDate),
    ) -> ServiceResult<MeasureCase> {
        let authority = &caller.authority;
        if let Some(kept) = request
            .claim::<Kept>(tx, authority, RECORD, self.now())
            .await?
        {
            return case_in(tx, authority, kept.number).await;
        }
        let case = case_in(tx, authority, number).await?;
        let name = names::case_name(authority, number);
        let mut next = measures::apply(&case, &name, &event, on)?;
        let by = By {
            actor: &caller.actor,
            request_id: &request.id,
            at: self.now(),
        };
        let order = match &event {
            CaseEvent::OutcomeRecorded { outcome } if outcome.parenting_order => {
                let n = tx.next_serial(authority, "measure-case").await?;
                next.facts.parenting_order_case = Some(n);
                Some(measures::parenting_order_from(
                    &next,
                    &name,
                    n,
                    on,
                    &caller.actor,
                    by.at,
                ))
            }
            _ => None,
        };
        update(tx, authority, &next).await?;
        record_event(tx, authority, &next, (&event, on), &by).await?;
        if let Some(order) = order {
            insert_opened(tx, authority, &order, &by).await?;
        }
        request
            .complete(tx, authority, RECORD, &Kept { number })
            .await?;
        Ok(next)
    }

    /// One case.
    pub async fn get_case(&self, caller: Caller, number: Read<i64>) -> ServiceResult<MeasureCase> {
        caller.check_allowed(Operation::ReadMeasures)?;
        let number = number?;
        self.read_single(move |_, mut tx| async move {
            let result = visible_case(&mut *tx, &caller, number).await;
            (tx, result)
        })
        .await
    }

    /// Cases matching the query, by number after the cursor. School staff
    /// must name one of their schools.
    pub async fn list_cases(
        &self,
        caller: Caller,
        listing: Read<CaseListing>,
    ) -> ServiceResult<Vec<MeasureCase>> {
        caller.check_allowed(Operation::ReadMeasures)?;
        let (query, after, limit) = listing?;
        access::may_list_notices(caller.role, &caller.schools, query.school_urn.as_deref())
            .map_err(ServiceError::PermissionDenied)?;
        self.read_single(move |_, mut tx| async move {
            let filter = CaseFilter {
                kind: query.kind,
                state: query.state,
                upn: query.upn.as_deref(),
                school_urn: query.school_urn.as_deref(),
            };
            let result = tx.cases(&caller.authority, &filter, after, limit).await;
            (tx, result.map_err(ServiceError::from))
        })
        .await
    }

    /// A case's events, oldest first, after sequence `after`.
    pub async fn list_case_events(
        &self,
        caller: Caller,
        listing: Read<(i64, i64, i64)>,
    ) -> ServiceResult<Vec<RecordedCaseEvent>> {
        caller.check_allowed(Operation::ReadMeasures)?;
        let (number, after, limit) = listing?;
        self.read(move |_, mut tx| async move {
            let result = async {
                visible_case(&mut *tx, &caller, number).await?;
                Ok(tx
                    .case_events(&caller.authority, number, after, limit)
                    .await?)
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// A prosecution case's file for the court bundle, as one PDF
    /// (`domain::prosecution_file`). The facts are read in one unit; the PDF
    /// is laid out after it, off the async threads. It holds the payments, so
    /// the caller must read payments too.
    pub async fn render_prosecution_file(
        &self,
        caller: Caller,
        number: Read<i64>,
    ) -> ServiceResult<super::RenderedPdf> {
        caller.check_allowed(Operation::ReadMeasures)?;
        caller.check_allowed(Operation::ReadPayments)?;
        let number = number?;
        let today = self.today();
        let name = names::case_name(&caller.authority, number);
        let file = self
            .read(move |_, mut tx| async move {
                let result = prosecution_file_in(&mut *tx, &caller, number, today).await;
                (tx, result)
            })
            .await?;
        tokio::task::spawn_blocking(move || {
            super::letters::pdf::render(&file, &format!("Prosecution file, {name}"))
                .map_err(|e| (e, name))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("rendering a prosecution file: {e}")))?
        .map_err(|(e, name)| {
            RuleViolation::new(
                "CHARACTER_NOT_PRINTABLE",
                name,
                format!("the file cannot be printed: {e}"),
            )
            .into()
        })
    }
}

/// The facts of a prosecution file, read in `tx`, and the document made of them.
async fn prosecution_file_in(
    tx: &mut dyn StoreTx,
    caller: &Caller,
    number: i64,
    today: NaiveDate,
) -> ServiceResult<crate::domain::letter::Letter> {
    use crate::domain::prosecution_file::{FileFacts, prosecution_file};
    let authority = &caller.authority;
    let case = visible_case(tx, caller, number).await?;
    let case_name = names::case_name(authority, number);
    if case.kind != MeasureKind::Prosecution {
        return Err(RuleViolation::new(
            "NOT_A_PROSECUTION",
            case_name,
            "only a prosecution case has a prosecution file",
        )
        .into());
    }
    let events = tx.case_events(authority, number, 0, i64::MAX).await?;
    let mut notices = Vec::new();
    let mut payments: Vec<crate::domain::payment::Payment> = Vec::new();
    for follows in &case.facts.follows {
        let Ok((la, notice_number)) = names::parse_notice("follows", follows) else {
            continue;
        };
        if la != *authority {
            continue;
        }
        if let Some(n) = tx.notice(authority, &notice_number).await? {
            let filter = crate::store::PaymentFilter {
                notice_number: Some(&notice_number),
                ..Default::default()
            };
            for p in tx.list_payments(authority, &filter, None, 10_000).await? {
                if !payments.iter().any(|q| q.payment_id == p.payment_id) {
                    payments.push(p);
                }
            }
            notices.push(n);
        }
    }
    let settings = tx.authority_settings(authority).await?;
    let authority_name = crate::domain::letter::settings_in_force(&settings, today).map_or_else(
        || format!("Authority {authority}"),
        |s| s.details.name.clone(),
    );
    Ok(prosecution_file(&FileFacts {
        authority: &authority_name,
        case_name: &case_name,
        case: &case,
        events: &events,
        notices: &notices,
        payments: &payments,
        officer: &caller.actor.subject,
        prepared_on: today,
    }))
}
