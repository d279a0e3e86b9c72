//! Rectifications of the personal details notices hold (see
//! `domain::rectification`): the corrected details written over the notice's,
//! and the history of what each notice held before, in SQL both backends
//! accept.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::access_log::SubjectKind;
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::rectification::{PersonalDetails, Rectification};
use crate::store::retention::ERASED_UPN;

#[derive(sqlx::FromRow)]
struct RectificationRow {
    notice_number: String,
    sequence: i64,
    subject_kind: String,
    subject_key: String,
    previous: String,
    corrected: String,
    reason: String,
    rectified_at: DateTime<Utc>,
    actor_subject: String,
    actor_role: String,
    request_id: String,
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("rectification: {what}"))
}

impl TryFrom<RectificationRow> for Rectification {
    type Error = StoreError;

    fn try_from(r: RectificationRow) -> StoreResult<Self> {
        let details = |text: &str| -> StoreResult<PersonalDetails> {
            serde_json::from_str(text).map_err(corrupt)
        };
        Ok(Rectification {
            subject_kind: SubjectKind::parse(&r.subject_kind)
                .ok_or_else(|| corrupt("an unknown subject kind"))?,
            previous: details(&r.previous)?,
            corrected: details(&r.corrected)?,
            notice_number: r.notice_number,
            sequence: r.sequence,
            subject_key: r.subject_key,
            reason: r.reason,
            at: r.rectified_at,
            by: Actor {
                subject: r.actor_subject,
                role: Role::parse(&r.actor_role),
            },
            request_id: r.request_id,
        })
    }
}

macro_rules! rectification_select {
    () => {
        "SELECT notice_number, sequence, subject_kind, subject_key, previous, corrected, \
           reason, rectified_at, actor_subject, actor_role, request_id FROM rectifications "
    };
}

/// The corrections of the details notices hold, and their history.
#[async_trait]
pub trait RectificationStore: Send {
    /// The numbers of the notices naming the pupil (by UPN) or parent (by
    /// person id), by number; pseudonymised notices name no one.
    async fn notices_naming(
        &mut self,
        authority: &LaCode,
        kind: SubjectKind,
        key: &str,
    ) -> StoreResult<Vec<String>>;

    /// Writes `corrected` over the details of the subject of `rectification`
    /// on its notice (locked with `notice_for_update`) and appends the
    /// rectification, numbered after the notice's last; returns its sequence.
    async fn rectify_notice(
        &mut self,
        authority: &LaCode,
        rectification: &Rectification,
    ) -> StoreResult<i64>;

    /// A notice's rectifications, oldest first.
    async fn notice_rectifications(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Vec<Rectification>>;

    /// The rectifications a request made (its retry answers with them).
    async fn rectifications_of_request(
        &mut self,
        authority: &LaCode,
        request_id: &str,
    ) -> StoreResult<Vec<Rectification>>;
}

sql_impl! {
    impl RectificationStore for Tx {
        async fn notices_naming(
            &mut self,
            authority: &LaCode,
            kind: SubjectKind,
            key: &str,
        ) -> StoreResult<Vec<String>> {
            let sql = match kind {
                SubjectKind::Pupil => {
                    "SELECT notice_number FROM notices WHERE authority_code = $1 AND upn = $2 \
                     AND upn <> $3 ORDER BY notice_number"
                }
                SubjectKind::Parent => {
                    "SELECT notice_number FROM notices WHERE authority_code = $1 \
                     AND parent_person_id = $2 AND upn <> $3 ORDER BY notice_number"
                }
            };
            Ok(sqlx::query_scalar(sql)
                .bind(authority.as_str())
                .bind(key)
                .bind(ERASED_UPN)
                .fetch_all(&mut *self.conn)
                .await?)
        }

        async fn rectify_notice(
            &mut self,
            authority: &LaCode,
            r: &Rectification,
        ) -> StoreResult<i64> {
            let update = match r.subject_kind {
                SubjectKind::Pupil => {
                    "UPDATE notices SET pupil_given_name = $3, pupil_family_name = $4, \
                     pupil_address_lines = $5, pupil_postcode = $6 \
                     WHERE authority_code = $1 AND notice_number = $2"
                }
                SubjectKind::Parent => {
                    "UPDATE notices SET parent_given_name = $3, parent_family_name = $4, \
                     parent_address_lines = $5, parent_postcode = $6 \
                     WHERE authority_code = $1 AND notice_number = $2"
                }
            };
            let c = &r.corrected;
            sqlx::query(update)
                .bind(authority.as_str())
                .bind(&r.notice_number)
                .bind(&c.given_name)
                .bind(&c.family_name)
                .bind(serde_json::to_string(&c.address.lines).map_err(corrupt)?)
                .bind(&c.address.postcode)
                .execute(&mut *self.conn)
                .await?;
            let sequence: i64 = sqlx::query_scalar(
                "INSERT INTO rectifications (authority_code, notice_number, sequence, \
                   subject_kind, subject_key, previous, corrected, reason, rectified_at, \
                   actor_subject, actor_role, request_id) \
                 SELECT $1, $2, COALESCE(MAX(sequence), 0) + 1, $3, $4, $5, $6, $7, $8, $9, \
                   $10, $11 FROM rectifications WHERE authority_code = $1 AND notice_number = $2 \
                 RETURNING sequence",
            )
            .bind(authority.as_str())
            .bind(&r.notice_number)
            .bind(r.subject_kind.as_str())
            .bind(&r.subject_key)
            .bind(serde_json::to_string(&r.previous).map_err(corrupt)?)
            .bind(serde_json::to_string(&r.corrected).map_err(corrupt)?)
            .bind(&r.reason)
            .bind(r.at)
            .bind(&r.by.subject)
            .bind(r.by.role_str())
            .bind(&r.request_id)
            .fetch_one(&mut *self.conn)
            .await?;
            Ok(sequence)
        }

        async fn notice_rectifications(
            &mut self,
            authority: &LaCode,
            notice_number: &str,
        ) -> StoreResult<Vec<Rectification>> {
            let rows: Vec<RectificationRow> = sqlx::query_as(concat!(
                rectification_select!(),
                "WHERE authority_code = $1 AND notice_number = $2 ORDER BY sequence"
            ))
            .bind(authority.as_str())
            .bind(notice_number)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(Rectification::try_from).collect()
        }

        async fn rectifications_of_request(
            &mut self,
            authority: &LaCode,
            request_id: &str,
        ) -> StoreResult<Vec<Rectification>> {
            let rows: Vec<RectificationRow> = sqlx::query_as(concat!(
                rectification_select!(),
                "WHERE authority_code = $1 AND request_id = $2 ORDER BY notice_number, sequence"
            ))
            .bind(authority.as_str())
            .bind(request_id)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(Rectification::try_from).collect()
        }
    }
}
