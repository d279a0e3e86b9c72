//! Letters: the authority's details printed on them (versioned like the
//! policy) and a notice rendered as the PDF letter a parent receives.

pub(crate) mod pdf;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use self::pdf::RenderedPdf;
use super::data_protection::record_reads;
use super::idempotency::UseCase;
use super::notices::visible_notice;
use super::{App, Caller, Read, RequestId, ServiceError, ServiceResult};
use crate::domain::{
    FieldViolation, RuleViolation,
    access::Operation,
    access_log,
    identifiers::LaCode,
    letter::{self, AuthorityDetails, AuthoritySettings, SchoolOnLetter},
    names,
};
use crate::store::{NewAuditEvent, StoreError, StoreTx};

const CREATE: UseCase = UseCase::CreateAuthoritySettings;

/// What a retried create answers with.
#[derive(Serialize, Deserialize)]
struct Created {
    effective_from: NaiveDate,
}

async fn version_from(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    effective_from: NaiveDate,
) -> ServiceResult<AuthoritySettings> {
    tx.authority_settings(authority)
        .await?
        .into_iter()
        .find(|s| s.effective_from == effective_from)
        .ok_or_else(|| {
            StoreError::Corrupt(format!("letter settings {effective_from} vanished")).into()
        })
}

/// The settings in force on a notice's issue date, or the rule that says why
/// the letter cannot be printed.
async fn settings_for(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    issue_date: NaiveDate,
) -> ServiceResult<AuthoritySettings> {
    let versions = tx.authority_settings(authority).await?;
    letter::settings_in_force(&versions, issue_date)
        .cloned()
        .ok_or_else(|| {
            RuleViolation::new(
                "NO_AUTHORITY_SETTINGS",
                names::authority_settings_name(authority, issue_date),
                format!(
                    "authority {authority} has no letter settings in force on {issue_date}: \
                     regulation 3 requires the name and address of the authority to pay, and \
                     how to pay (PolicyService.CreateAuthoritySettings)"
                ),
            )
            .into()
        })
}

impl App {
    /// Publishes a version of the caller's authority's letter settings.
    pub async fn create_authority_settings(
        &self,
        caller: Caller,
        request: RequestId,
        settings: Read<(NaiveDate, AuthorityDetails)>,
    ) -> ServiceResult<AuthoritySettings> {
        caller.check_allowed(Operation::ChangeAuthoritySettings)?;
        let (effective_from, details) = settings?;
        self.write(move |app, mut tx| async move {
            let result = app
                .create_authority_settings_in(&mut *tx, &caller, &request, effective_from, details)
                .await;
            (tx, result)
        })
        .await
    }

    async fn create_authority_settings_in(
        &self,
        tx: &mut dyn StoreTx,
        caller: &Caller,
        request: &RequestId,
        effective_from: NaiveDate,
        details: AuthorityDetails,
    ) -> ServiceResult<AuthoritySettings> {
        let authority = &caller.authority;
        let now = self.now();
        if let Some(kept) = request.claim::<Created>(tx, authority, CREATE, now).await? {
            return version_from(tx, authority, kept.effective_from).await;
        }
        let settings = AuthoritySettings {
            effective_from,
            details,
            published_at: now,
            published_by: caller.actor.clone(),
        };
        match tx.insert_authority_settings(authority, &settings).await {
            Err(StoreError::Duplicate(_)) => {
                return Err(FieldViolation::new(
                    "settings.effective_from",
                    format!(
                        "authority {authority} already has settings effective from {effective_from}"
                    ),
                )
                .into());
            }
            other => other?,
        }
        tx.append_audit(&NewAuditEvent {
            authority,
            at: now,
            actor: &caller.actor,
            action: "authority_settings.created",
            resource: &names::authority_settings_name(authority, effective_from),
            request_id: &request.id,
            details: serde_json::json!({
                "effective_from": effective_from,
                "settings": &settings.details,
            }),
        })
        .await?;
        request
            .complete(tx, authority, CREATE, &Created { effective_from })
            .await?;
        Ok(settings)
    }

    /// The caller's authority's letter settings in force on `on`.
    pub async fn authority_settings_on(
        &self,
        caller: Caller,
        on: Read<NaiveDate>,
    ) -> ServiceResult<AuthoritySettings> {
        caller.check_allowed(Operation::ReadPolicy)?;
        let on = on?;
        self.read(move |_, mut tx| async move {
            let result = async {
                let versions = tx.authority_settings(&caller.authority).await?;
                letter::settings_in_force(&versions, on)
                    .cloned()
                    .ok_or_else(|| {
                        ServiceError::NotFound(format!(
                            "letter settings of authority {} in force on {on}",
                            caller.authority
                        ))
                    })
            }
            .await;
            (tx, result)
        })
        .await
    }

    /// A notice as its PDF letter. The facts are read in one unit (the notice,
    /// its school, the settings in force on its issue date); the PDF is laid out
    /// after it, off the async threads.
    pub async fn render_notice(
        &self,
        caller: Caller,
        number: Read<String>,
    ) -> ServiceResult<RenderedPdf> {
        caller.check_allowed(Operation::ReadNotices)?;
        let number = number?;
        let caller_authority = caller.authority.clone();
        let letter = self
            .read(move |app, mut tx| async move {
                let result = async {
                    let notice = visible_notice(&mut *tx, &caller, &number).await?;
                    let accessed = access_log::notice_subjects(&caller.authority, &notice);
                    let at = app.now();
                    record_reads(&mut *tx, &caller, at, "RenderNotice", accessed.into()).await?;
                    let letter = letter_for(&mut *tx, &caller.authority, &notice).await?;
                    Ok((letter, notice.notice_number))
                }
                .await;
                (tx, result)
            })
            .await?;
        let (letter, number) = letter;
        let name = names::notice_name(&caller_authority, &number);
        tokio::task::spawn_blocking(move || {
            pdf::render(&letter, &format!("Notice number {number}"))
        })
        .await
        .map_err(|e| ServiceError::Internal(format!("rendering a letter: {e}")))?
        // The fields are checked as the letter is written (CHARACTER_NOT_PRINTABLE
        // naming the field); this is what any text they missed would meet.
        .map_err(|e| {
            RuleViolation::new(
                "CHARACTER_NOT_PRINTABLE",
                name,
                format!("the letter cannot be printed: {e}"),
            )
            .into()
        })
    }
}

/// The letter of `notice`: the school and the authority's settings in force on
/// its issue date, laid out as text (FAILED_PRECONDITION when one is missing
/// or a field cannot be printed).
pub(in crate::app) async fn letter_for(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    notice: &crate::domain::notice::Notice,
) -> ServiceResult<letter::Letter> {
    let settings = settings_for(tx, authority, notice.issue_date).await?;
    let school = school_on_letter(tx, authority, notice).await?;
    letter::notice_letter(notice, &school, &settings.details, &pdf::first_unprintable)
        .map_err(ServiceError::FailedPrecondition)
}

/// The notice's school as the register names it: regulation 3 requires the
/// school's name and address, so a school missing from the register stops the
/// letter rather than printing without them.
async fn school_on_letter(
    tx: &mut dyn StoreTx,
    authority: &LaCode,
    notice: &crate::domain::notice::Notice,
) -> ServiceResult<SchoolOnLetter> {
    let urn = &notice.pupil.school_urn;
    let school = tx.school(authority, urn).await?.ok_or_else(|| {
        RuleViolation::new(
            "SCHOOL_NOT_IN_REGISTER",
            urn.to_string(),
            format!(
                "school {urn} is not in authority {authority}'s school register: regulation 3 \
                 requires the school's name and address on the notice (import the register \
                 with import-schools)"
            ),
        )
    })?;
    Ok(SchoolOnLetter {
        name: school.name,
        address: school.address,
    })
}
