//! Notices to improve and penalty notices.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::dialect::Dialect;
use super::rows::{join_list, parse_json, parse_name, split_list, to_json};
use super::tx::{duplicate_as, sql_impl};
use super::{StoreError, StoreResult};
use crate::domain::evidence::EvidenceCorrection;
use crate::domain::identifiers::{LaCode, Upn, Urn};
use crate::domain::notice::{
    Address, Charges, Delivery, DeliveryMethod, ImprovementPeriod, Issuer, Liability,
    LiabilityBasis, MoneyOnNotice, Notice, NoticeKind, NoticeStatus, Offence, OffenceType,
    PaidRate, Parent, ProsecutionOutcome, ProsecutionResult, Pupil, Settlement, Withdrawal,
    WithdrawalGround,
};
use crate::domain::policy::{IssuerRole, OffenceReason};
use crate::domain::sen::SenProvision;

/// Which notices `list_notices` returns: every set field must match.
#[derive(Debug, Clone, Default)]
pub struct NoticeFilter<'a> {
    pub school_urn: Option<&'a str>,
    pub upn: Option<&'a str>,
    pub parent_person_id: Option<&'a str>,
    /// Issued by this verified subject.
    pub issuer_subject: Option<&'a str>,
    pub kind: Option<NoticeKind>,
    /// Status on `today`.
    pub status: Option<NoticeStatus>,
    pub issued_from: Option<NaiveDate>,
    pub issued_to: Option<NaiveDate>,
    /// The pupil's SEN status on the issue date.
    pub sen_provision: Option<SenProvision>,
}

/// The columns of [`NoticeRow`], in order.
macro_rules! notice_columns {
    () => {
        "notice_number, kind, upn, school_urn, pupil_given_name, pupil_family_name, \
         pupil_address_lines, pupil_postcode, parent_person_id, parent_given_name, \
         parent_family_name, parent_address_lines, parent_postcode, related_notices, \
         offence_type, offence_reason, offence_description, sessions, issue_date, issuer_role, \
         issuer_display_name, issuer_official_details, issuer_subject, delivery_method, \
         posting_date, receipt_date, policy_version, second_notice, part_payments_accepted, \
         lower_amount_pence, \
         lower_deadline, higher_amount_pence, higher_deadline, improvement_start_date, \
         improvement_school_weeks, improvement_end_date, improvement_reason, paid_rate, \
         paid_date, withdrawal_ground, withdrawal_reason, withdrawal_date, \
         prosecution_hearing_date, prosecution_court, prosecution_result, \
         prosecution_fine_pence, prosecution_costs_pence, created_at, session_evidence, \
         evidence_corrections, parent_liability_basis, parent_relationship, \
         other_authority_notices"
    };
}
pub(super) use notice_columns;

/// `SELECT` of a notice with the sums of the money on it.
macro_rules! notice_select {
    () => {
        concat!(
            "SELECT ",
            $crate::store::notices::notice_columns!(),
            ", ",
            $crate::store::notices::notice_sums!(),
            " FROM notices"
        )
    };
}
/// The sums of the money on a notice, over the rows of a `notices` in scope.
macro_rules! notice_sums {
    () => {
        concat!("CAST((SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a \
           WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS allocated_pence, \
         CAST((SELECT COALESCE(SUM(a.applied_pence), 0) FROM allocations a \
           WHERE a.authority_code = notices.authority_code AND a.notice_number = notices.notice_number) AS BIGINT) AS applied_pence, \
         CAST((SELECT COALESCE(SUM(r.amount_pence), 0) FROM refunds r \
           WHERE r.authority_code = notices.authority_code AND r.notice_number = notices.notice_number) AS BIGINT) AS refunded_pence, ",
        $crate::store::sen::notice_sen_provision!(),
        " AS sen_provision")
    };
}
pub(crate) use notice_select;
pub(crate) use notice_sums;

#[derive(sqlx::FromRow)]
pub(super) struct NoticeRow {
    notice_number: String,
    kind: String,
    upn: String,
    school_urn: String,
    pupil_given_name: String,
    pupil_family_name: String,
    pupil_address_lines: String,
    pupil_postcode: String,
    parent_person_id: String,
    parent_given_name: String,
    parent_family_name: String,
    parent_address_lines: String,
    parent_postcode: String,
    related_notices: String,
    offence_type: Option<String>,
    offence_reason: Option<String>,
    offence_description: String,
    sessions: String,
    issue_date: NaiveDate,
    issuer_role: String,
    issuer_display_name: String,
    issuer_official_details: String,
    issuer_subject: String,
    delivery_method: String,
    posting_date: Option<NaiveDate>,
    receipt_date: NaiveDate,
    policy_version: String,
    second_notice: bool,
    part_payments_accepted: bool,
    lower_amount_pence: Option<i64>,
    lower_deadline: Option<NaiveDate>,
    higher_amount_pence: Option<i64>,
    higher_deadline: Option<NaiveDate>,
    improvement_start_date: Option<NaiveDate>,
    improvement_school_weeks: Option<i32>,
    improvement_end_date: Option<NaiveDate>,
    improvement_reason: Option<String>,
    paid_rate: Option<String>,
    paid_date: Option<NaiveDate>,
    withdrawal_ground: Option<String>,
    withdrawal_reason: Option<String>,
    withdrawal_date: Option<NaiveDate>,
    prosecution_hearing_date: Option<NaiveDate>,
    prosecution_court: Option<String>,
    prosecution_result: Option<String>,
    prosecution_fine_pence: Option<i64>,
    prosecution_costs_pence: Option<i64>,
    created_at: DateTime<Utc>,
    session_evidence: String,
    evidence_corrections: String,
    parent_liability_basis: Option<String>,
    parent_relationship: Option<String>,
    other_authority_notices: String,
    allocated_pence: i64,
    applied_pence: i64,
    refunded_pence: i64,
    sen_provision: Option<String>,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = StoreError;

    fn try_from(r: NoticeRow) -> StoreResult<Self> {
        let corrupt =
            |what: &str| StoreError::Corrupt(format!("notice {}: {what}", r.notice_number));
        let kind = parse_name("kind", &r.kind, NoticeKind::parse)?;
        let offence = match &r.offence_type {
            None => None,
            Some(t) => Some(Offence {
                offence_type: parse_name("offence_type", t, OffenceType::parse)?,
                reason: r
                    .offence_reason
                    .as_deref()
                    .map(|x| parse_name("offence_reason", x, OffenceReason::parse))
                    .transpose()?,
                description: r.offence_description.clone(),
            }),
        };
        let charges = match (r.higher_amount_pence, r.higher_deadline) {
            (Some(higher_amount_pence), Some(higher_deadline)) => Some(Charges {
                lower_amount_pence: r.lower_amount_pence.unwrap_or(0),
                lower_deadline: r.lower_deadline,
                higher_amount_pence,
                higher_deadline,
            }),
            (None, None) => None,
            _ => return Err(corrupt("higher amount without deadline")),
        };
        let improvement_period = match (
            r.improvement_start_date,
            r.improvement_school_weeks,
            r.improvement_end_date,
        ) {
            (Some(start_date), Some(school_weeks), Some(end_date)) => Some(ImprovementPeriod {
                start_date,
                school_weeks,
                end_date,
                reason: r.improvement_reason.clone().unwrap_or_default(),
            }),
            (None, None, None) => None,
            _ => return Err(corrupt("partial improvement period")),
        };
        let settlement = match (&r.paid_rate, r.paid_date) {
            (Some(rate), Some(date)) => Some(Settlement {
                rate: parse_name("paid_rate", rate, PaidRate::parse)?,
                date,
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial settlement")),
        };
        let withdrawal = match (&r.withdrawal_ground, r.withdrawal_date) {
            (Some(ground), Some(date)) => Some(Withdrawal {
                ground: parse_name("withdrawal_ground", ground, WithdrawalGround::parse)?,
                reason: r.withdrawal_reason.clone().unwrap_or_default(),
                date,
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial withdrawal")),
        };
        let prosecution = match (&r.prosecution_result, r.prosecution_hearing_date) {
            (Some(result), Some(hearing_date)) => Some(ProsecutionOutcome {
                hearing_date,
                court: r.prosecution_court.clone().unwrap_or_default(),
                result: parse_name("prosecution_result", result, ProsecutionResult::parse)?,
                fine_pence: r.prosecution_fine_pence.unwrap_or(0),
                costs_pence: r.prosecution_costs_pence.unwrap_or(0),
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial prosecution outcome")),
        };
        let liability = match (&r.parent_liability_basis, &r.parent_relationship) {
            (Some(basis), Some(relationship)) => Some(Liability {
                basis: parse_name("parent_liability_basis", basis, LiabilityBasis::parse)?,
                relationship: relationship.clone(),
            }),
            (None, None) => None,
            _ => return Err(corrupt("partial liability")),
        };
        Ok(Notice {
            kind,
            pupil: Pupil {
                upn: Upn::parse(&r.upn).map_err(|e| corrupt(&e))?,
                school_urn: Urn::parse(&r.school_urn).map_err(|e| corrupt(&e))?,
                given_name: r.pupil_given_name,
                family_name: r.pupil_family_name,
                address: Address {
                    lines: parse_json("pupil_address_lines", &r.pupil_address_lines)?,
                    postcode: r.pupil_postcode,
                },
            },
            parent: Parent {
                person_id: r.parent_person_id,
                given_name: r.parent_given_name,
                family_name: r.parent_family_name,
                address: Address {
                    lines: parse_json("parent_address_lines", &r.parent_address_lines)?,
                    postcode: r.parent_postcode,
                },
                liability,
            },
            related_notices: split_list("related_notices", &r.related_notices, |s| {
                Some(s.to_string())
            })?
            .into_iter()
            .filter(|n| *n != r.notice_number)
            .collect(),
            offence,
            sessions: parse_json("sessions", &r.sessions)?,
            issue_date: r.issue_date,
            issuer: Issuer {
                role: parse_name("issuer_role", &r.issuer_role, IssuerRole::parse)?,
                display_name: r.issuer_display_name,
                official_details: r.issuer_official_details,
                subject: r.issuer_subject,
            },
            delivery: Delivery {
                method: parse_name("delivery_method", &r.delivery_method, DeliveryMethod::parse)?,
                posting_date: r.posting_date,
            },
            receipt_date: r.receipt_date,
            policy_version: r.policy_version,
            second_notice: r.second_notice,
            part_payments_accepted: r.part_payments_accepted,
            charges,
            improvement_period,
            settlement,
            withdrawal,
            prosecution,
            created_at: r.created_at,
            money: MoneyOnNotice {
                allocated_pence: r.allocated_pence,
                applied_pence: r.applied_pence,
                refunded_pence: r.refunded_pence,
            },
            session_evidence: parse_json("session_evidence", &r.session_evidence)?,
            evidence_corrections: parse_json("evidence_corrections", &r.evidence_corrections)?,
            other_authority_notices: parse_json(
                "other_authority_notices",
                &r.other_authority_notices,
            )?,
            // Not quoted when bad: it is the pupil's personal data.
            sen_provision: match &r.sen_provision {
                Some(code) => Some(
                    SenProvision::from_code(code)
                        .ok_or_else(|| corrupt("a pupil's sen_provision"))?,
                ),
                None => None,
            },
            notice_number: r.notice_number,
        })
    }
}

/// Notices: issued, withdrawn, prosecuted, and their evidence corrected.
#[async_trait]
pub trait NoticeStore: Send {
    /// Serialises issuing for one pupil until the transaction ends, so limits and
    /// evidence checks see every notice committed before this one.
    async fn lock_pupil(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<()>;

    /// Every notice of a pupil (to any parent), oldest first.
    async fn pupil_notices(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<Notice>>;

    /// Every notice of any of `upns`.
    async fn notices_of_pupils(
        &mut self,
        authority: &LaCode,
        upns: &[String],
    ) -> StoreResult<Vec<Notice>>;

    async fn insert_notice(&mut self, authority: &LaCode, notice: &Notice) -> StoreResult<()>;

    /// One notice, locked against concurrent change until the transaction ends.
    async fn notice_for_update(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Option<Notice>>;

    /// One notice.
    async fn notice(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Option<Notice>>;

    /// Notices matching `filter` (status as on `today`), ordered by issue date
    /// then number, after the `(issue_date, notice_number)` cursor, at most `limit`.
    async fn list_notices(
        &mut self,
        authority: &LaCode,
        filter: &NoticeFilter<'_>,
        today: NaiveDate,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Notice>>;

    async fn record_withdrawal(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        withdrawal: &Withdrawal,
    ) -> StoreResult<()>;

    async fn record_prosecution(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        outcome: &ProsecutionOutcome,
    ) -> StoreResult<()>;

    /// Replaces the corrections of evidence recorded on a notice (locked with
    /// `notice_for_update`).
    async fn record_evidence_corrections(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        corrections: &[EvidenceCorrection],
    ) -> StoreResult<()>;

    /// Notices the worklist may list on `today` (of `school` only, when
    /// given), by number: live penalty notices whose lower period ends from
    /// `today` to `lower_until` or whose higher period has ended; open notices
    /// whose evidence was corrected; notices with money due back, or with
    /// money on them after prosecution. A superset that
    /// `worklist::notice_actions` narrows (tests/api/store_rules.rs checks it
    /// misses no notice the domain lists).
    async fn worklist_notices(
        &mut self,
        authority: &LaCode,
        today: NaiveDate,
        lower_until: NaiveDate,
        school: Option<&str>,
    ) -> StoreResult<Vec<Notice>>;

    /// Penalty notices whose lower or higher period's last day lies from
    /// `first` to `last`, by number: what a round of the scheduler looks at
    /// (`statutory_dates::notice_events` decides).
    async fn notices_with_deadlines_between(
        &mut self,
        authority: &LaCode,
        first: NaiveDate,
        last: NaiveDate,
    ) -> StoreResult<Vec<Notice>>;
}

/// What the notices' SQL needs of a backend beyond [`Dialect`]: its queries
/// completed with the backend's "any of".
pub(super) trait NoticeSql: Dialect {
    /// A notice of any of the pupils bound as `$2` (a list), by pupil, issue date
    /// and number.
    const NOTICES_OF_PUPILS: &'static str;
}

/// [`NoticeSql::NOTICES_OF_PUPILS`] with `$any_of!("$n")` as the backend's SQL
/// for "is one of the list bound as `$n`".
macro_rules! notices_of_pupils {
    ($any_of:ident) => {
        concat!(
            $crate::store::notices::notice_select!(),
            " WHERE authority_code = $1 AND upn ",
            $any_of!("$2"),
            " ORDER BY upn, issue_date, notice_number"
        )
    };
}
pub(super) use notices_of_pupils;

/// A pupil's notices, in the order of `notices_by_pupil` (migration 0029): an
/// issue reads them holding the write lock, so the plan must not depend on
/// statistics (SQLite without them walked the issue-date index, every notice
/// of the authority).
const PUPIL_NOTICES: &str = concat!(
    notice_select!(),
    " WHERE authority_code = $1 AND upn = $2 ORDER BY issue_date, notice_number"
);

/// `list_notices`' statement, with `$status_index` (SQL) narrowing the rows
/// walked when a status is asked for, and `$after` the condition of the cursor
/// (`$10`, `$11`): after a page, a row comparison, which both backends read as
/// where to start in the index; on the first page, one that holds of every row.
///
/// The status expression mirrors `Notice::status`: facts first (the column
/// `recorded_status`, migration 0029), then the date; tests/api/store_rules.rs
/// checks that the two agree on every case. The page is cut in a subquery and
/// the money summed for its rows only: summed in the outer select of the
/// filter, a plan made while the table was small (a seq scan and sort) summed
/// every notice of the authority before the LIMIT, seconds a call at a few
/// thousand notices.
macro_rules! list_notices_sql {
    ($status_index:literal, $after:literal) => {
        concat!(
            "SELECT ",
            notice_columns!(),
            ", ",
            notice_sums!(),
            " FROM (SELECT * FROM notices WHERE authority_code = $1 ",
            $status_index,
            "AND ($2 IS NULL OR school_urn = $2) \
              AND ($3 IS NULL OR upn = $3) \
              AND ($4 IS NULL OR parent_person_id = $4) \
              AND ($5 IS NULL OR kind = $5) \
              AND ($6 IS NULL OR issue_date >= $6) \
              AND ($7 IS NULL OR issue_date <= $7) \
              AND ($8 IS NULL OR $8 = CASE \
                    WHEN recorded_status <> 'open' THEN recorded_status \
                    WHEN kind = 'penalty_notice' AND higher_deadline < $9 THEN 'unpaid' \
                    WHEN kind = 'notice_to_improve' AND improvement_end_date < $9 THEN 'improvement_period_ended' \
                    ELSE 'issued' END) \
              AND ",
            $after,
            " AND ($13 IS NULL OR issuer_subject = $13) \
              AND ($14 IS NULL OR $14 = ",
            crate::store::sen::notice_sen_provision!(),
            ") \
            ORDER BY issue_date, notice_number LIMIT $12) AS notices \
            ORDER BY issue_date, notice_number"
        )
    };
}

sql_impl! {
    impl NoticeStore for Tx where [DB: NoticeSql] {
        async fn lock_pupil(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<()> {
            let Some(sql) = DB::LOCK_PUPIL else {
                return Ok(());
            };
            let key = format!("notices/{authority}/{upn}");
            if self.locked_pupils.contains(&key) {
                return Ok(());
            }
            sqlx::query(sql).bind(&key).execute(&mut *self.conn).await?;
            self.locked_pupils.insert(key);
            Ok(())
        }

        async fn pupil_notices(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<Notice>> {
            let rows: Vec<NoticeRow> = sqlx::query_as(PUPIL_NOTICES)
            .bind(authority.as_str())
            .bind(upn.as_str())
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(Notice::try_from).collect()
        }

        async fn notices_of_pupils(
            &mut self,
            authority: &LaCode,
            upns: &[String],
        ) -> StoreResult<Vec<Notice>> {
            let rows: Vec<NoticeRow> = sqlx::query_as(DB::NOTICES_OF_PUPILS)
                .bind(authority.as_str())
                .bind(DB::list_arg(upns))
                .fetch_all(self.conn())
                .await?;
            rows.into_iter().map(Notice::try_from).collect()
        }

        async fn insert_notice(&mut self, authority: &LaCode, n: &Notice) -> StoreResult<()> {
            let mut group = vec![n.notice_number.as_str()];
            group.extend(n.related_notices.iter().map(String::as_str));
            group.sort_unstable();
            let offence = n.offence.as_ref();
            let charges = n.charges.as_ref();
            let period = n.improvement_period.as_ref();
            sqlx::query(concat!(
                "INSERT INTO notices (authority_code, ",
                notice_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
                 $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31, $32, $33, $34, \
                 $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51, \
                 $52, $53, $54)"
            ))
            .bind(authority.as_str())
            .bind(&n.notice_number)
            .bind(n.kind.as_str())
            .bind(n.pupil.upn.as_str())
            .bind(n.pupil.school_urn.as_str())
            .bind(&n.pupil.given_name)
            .bind(&n.pupil.family_name)
            .bind(to_json(&n.pupil.address.lines))
            .bind(&n.pupil.address.postcode)
            .bind(&n.parent.person_id)
            .bind(&n.parent.given_name)
            .bind(&n.parent.family_name)
            .bind(to_json(&n.parent.address.lines))
            .bind(&n.parent.address.postcode)
            .bind(join_list(group))
            .bind(offence.map(|o| o.offence_type.as_str()))
            .bind(offence.and_then(|o| o.reason).map(|r| r.as_str()))
            .bind(offence.map_or("", |o| o.description.as_str()))
            .bind(to_json(&n.sessions))
            .bind(n.issue_date)
            .bind(n.issuer.role.as_str())
            .bind(&n.issuer.display_name)
            .bind(&n.issuer.official_details)
            .bind(&n.issuer.subject)
            .bind(n.delivery.method.as_str())
            .bind(n.delivery.posting_date)
            .bind(n.receipt_date)
            .bind(&n.policy_version)
            .bind(n.second_notice)
            .bind(n.part_payments_accepted)
            .bind(charges.map(|c| c.lower_amount_pence))
            .bind(charges.and_then(|c| c.lower_deadline))
            .bind(charges.map(|c| c.higher_amount_pence))
            .bind(charges.map(|c| c.higher_deadline))
            .bind(period.map(|p| p.start_date))
            .bind(period.map(|p| p.school_weeks))
            .bind(period.map(|p| p.end_date))
            .bind(period.map(|p| p.reason.as_str()))
            .bind(n.settlement.as_ref().map(|s| s.rate.as_str()))
            .bind(n.settlement.as_ref().map(|s| s.date))
            .bind(n.withdrawal.as_ref().map(|w| w.ground.as_str()))
            .bind(n.withdrawal.as_ref().map(|w| w.reason.as_str()))
            .bind(n.withdrawal.as_ref().map(|w| w.date))
            .bind(n.prosecution.as_ref().map(|p| p.hearing_date))
            .bind(n.prosecution.as_ref().map(|p| p.court.as_str()))
            .bind(n.prosecution.as_ref().map(|p| p.result.as_str()))
            .bind(n.prosecution.as_ref().map(|p| p.fine_pence))
            .bind(n.prosecution.as_ref().map(|p| p.costs_pence))
            .bind(n.created_at)
            .bind(to_json(&n.session_evidence))
            .bind(to_json(&n.evidence_corrections))
            .bind(n.parent.liability.as_ref().map(|l| l.basis.as_str()))
            .bind(n.parent.liability.as_ref().map(|l| l.relationship.as_str()))
            .bind(to_json(&n.other_authority_notices))
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| format!("notice {}", n.notice_number)))?;
            Ok(())
        }

        async fn notice_for_update(
            &mut self,
            authority: &LaCode,
            number: &str,
        ) -> StoreResult<Option<Notice>> {
            let row: Option<NoticeRow> = sqlx::query_as(DB::SELECT_NOTICE_FOR_UPDATE)
                .bind(authority.as_str())
                .bind(number)
                .fetch_optional(&mut *self.conn)
                .await?;
            row.map(Notice::try_from).transpose()
        }

        async fn notice(
            &mut self,
            authority: &LaCode,
            number: &str,
        ) -> StoreResult<Option<Notice>> {
            let row: Option<NoticeRow> = sqlx::query_as(concat!(
                notice_select!(),
                " WHERE authority_code = $1 AND notice_number = $2"
            ))
            .bind(authority.as_str())
            .bind(number)
            .fetch_optional(&mut *self.conn)
            .await?;
            row.map(Notice::try_from).transpose()
        }

        async fn list_notices(
            &mut self,
            authority: &LaCode,
            f: &NoticeFilter<'_>,
            today: NaiveDate,
            after: Option<(NaiveDate, String)>,
            limit: i64,
        ) -> StoreResult<Vec<Notice>> {
            let (after_date, after_number) = after.unzip();
            // With a status, the page walks `notices_by_recorded_status`
            // (migration 0029) from the status's recorded part, so it reads the
            // rows it returns (and, for a status that depends on the date, the
            // open notices of the other such statuses it passes), not every
            // notice of the authority. A statement of its own: a `$8 IS NULL OR`
            // in one statement would keep SQLite, which plans before it sees
            // the values, from the index.
            let sql = match (f.status.is_some(), after_date.is_some()) {
                (true, true) => list_notices_sql!("AND recorded_status = CASE WHEN $8 IN ('withdrawn', 'prosecuted', 'paid') \
                    THEN $8 ELSE 'open' END ", "(issue_date, notice_number) > ($10, $11)"),
                (true, false) => list_notices_sql!("AND recorded_status = CASE WHEN $8 IN ('withdrawn', 'prosecuted', 'paid') \
                    THEN $8 ELSE 'open' END ", "($10 IS NULL AND $11 IS NULL)"),
                (false, true) => list_notices_sql!("", "(issue_date, notice_number) > ($10, $11)"),
                (false, false) => list_notices_sql!("", "($10 IS NULL AND $11 IS NULL)"),
            };
            let rows: Vec<NoticeRow> = sqlx::query_as(sql)
            .bind(authority.as_str())
            .bind(f.school_urn)
            .bind(f.upn)
            .bind(f.parent_person_id)
            .bind(f.kind.map(|k| k.as_str()))
            .bind(f.issued_from)
            .bind(f.issued_to)
            .bind(f.status.map(|s| s.as_str()))
            .bind(today)
            .bind(after_date)
            .bind(after_number)
            .bind(limit)
            .bind(f.issuer_subject)
            .bind(f.sen_provision.map(SenProvision::code))
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(Notice::try_from).collect()
        }

        async fn record_withdrawal(
            &mut self,
            authority: &LaCode,
            number: &str,
            w: &Withdrawal,
        ) -> StoreResult<()> {
            sqlx::query(
                "UPDATE notices SET withdrawal_ground = $3, withdrawal_reason = $4, withdrawal_date = $5 \
                 WHERE authority_code = $1 AND notice_number = $2",
            )
            .bind(authority.as_str())
            .bind(number)
            .bind(w.ground.as_str())
            .bind(&w.reason)
            .bind(w.date)
            .execute(&mut *self.conn)
            .await?;
            Ok(())
        }

        async fn record_prosecution(
            &mut self,
            authority: &LaCode,
            number: &str,
            p: &ProsecutionOutcome,
        ) -> StoreResult<()> {
            sqlx::query(
                "UPDATE notices SET prosecution_hearing_date = $3, prosecution_court = $4, \
                 prosecution_result = $5, prosecution_fine_pence = $6, prosecution_costs_pence = $7 \
                 WHERE authority_code = $1 AND notice_number = $2",
            )
            .bind(authority.as_str())
            .bind(number)
            .bind(p.hearing_date)
            .bind(&p.court)
            .bind(p.result.as_str())
            .bind(p.fine_pence)
            .bind(p.costs_pence)
            .execute(&mut *self.conn)
            .await?;
            Ok(())
        }

        async fn record_evidence_corrections(
            &mut self,
            authority: &LaCode,
            number: &str,
            corrections: &[EvidenceCorrection],
        ) -> StoreResult<()> {
            sqlx::query(
                "UPDATE notices SET evidence_corrections = $3 \
                 WHERE authority_code = $1 AND notice_number = $2",
            )
            .bind(authority.as_str())
            .bind(number)
            .bind(to_json(&corrections))
            .execute(&mut *self.conn)
            .await?;
            Ok(())
        }

        async fn worklist_notices(
            &mut self,
            authority: &LaCode,
            today: NaiveDate,
            lower_until: NaiveDate,
            school: Option<&str>,
        ) -> StoreResult<Vec<Notice>> {
            // "Live" restates `Notice::status` (facts first): neither withdrawn,
            // prosecuted nor paid. The money branches find any notice with money
            // that did not count, or any money after prosecution; the domain
            // then weighs refunds.
            let rows: Vec<NoticeRow> = sqlx::query_as(concat!(
                notice_select!(),
                " WHERE authority_code = $1 AND ($4 IS NULL OR school_urn = $4) AND ( \
                    (kind = 'penalty_notice' AND withdrawal_date IS NULL \
                     AND prosecution_result IS NULL AND paid_rate IS NULL \
                     AND (higher_deadline < $2 OR (lower_deadline >= $2 AND lower_deadline <= $3))) \
                    OR (evidence_corrections <> '[]' AND withdrawal_date IS NULL \
                        AND prosecution_result IS NULL AND paid_rate IS NULL) \
                    OR EXISTS (SELECT 1 FROM allocations a \
                        WHERE a.authority_code = notices.authority_code \
                          AND a.notice_number = notices.notice_number \
                          AND (a.refund_due_pence > 0 OR notices.prosecution_result IS NOT NULL))) \
                 ORDER BY notice_number"
            ))
            .bind(authority.as_str())
            .bind(today)
            .bind(lower_until)
            .bind(school)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(Notice::try_from).collect()
        }

        async fn notices_with_deadlines_between(
            &mut self,
            authority: &LaCode,
            first: NaiveDate,
            last: NaiveDate,
        ) -> StoreResult<Vec<Notice>> {
            let rows: Vec<NoticeRow> = sqlx::query_as(concat!(
                notice_select!(),
                " WHERE authority_code = $1 AND kind = 'penalty_notice' \
                   AND ((lower_deadline >= $2 AND lower_deadline <= $3) \
                        OR (higher_deadline >= $2 AND higher_deadline <= $3)) \
                 ORDER BY notice_number"
            ))
            .bind(authority.as_str())
            .bind(first)
            .bind(last)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(Notice::try_from).collect()
        }
    }
}

#[cfg(test)]
mod plans {
    //! The plans of the reads that must stay flat as the notices grow, on
    //! SQLite with no statistics (a new database, or one never analysed): they
    //! follow from the indexes alone.

    use sqlx::Connection;

    use crate::store::Store;

    /// SQLite's query plan of `sql` on a migrated database, one line a step.
    async fn plan(sql: &str, binds: &[Option<&str>]) -> String {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/plans.db", dir.path().display());
        let store = crate::store::sqlite::SqliteStore::connect(&url, 1)
            .await
            .unwrap();
        store.migrate().await.unwrap();
        store.close().await;
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let statement = format!("EXPLAIN QUERY PLAN {sql}");
        let mut query =
            sqlx::query_as::<_, (i64, i64, i64, String)>(sqlx::AssertSqlSafe(statement));
        for bind in binds {
            query = query.bind(*bind);
        }
        let steps = query.fetch_all(&mut db).await.unwrap();
        steps
            .into_iter()
            .map(|s| s.3)
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[tokio::test]
    async fn a_pupils_notices_are_read_through_the_pupil_index_in_order() {
        let plan = plan(super::PUPIL_NOTICES, &[Some("850"), Some("A801200005001")]).await;
        assert!(plan.contains("USING INDEX notices_by_pupil"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
    }

    #[tokio::test]
    async fn a_page_of_a_status_is_read_through_the_status_index_in_order() {
        for sql in [
            list_notices_sql!(
                "AND recorded_status = CASE WHEN $8 IN ('withdrawn', 'prosecuted', 'paid') \
                 THEN $8 ELSE 'open' END ",
                "($10 IS NULL AND $11 IS NULL)"
            ),
            list_notices_sql!(
                "AND recorded_status = CASE WHEN $8 IN ('withdrawn', 'prosecuted', 'paid') \
                 THEN $8 ELSE 'open' END ",
                "(issue_date, notice_number) > ($10, $11)"
            ),
        ] {
            let mut binds = vec![None; 13];
            binds[0] = Some("850");
            binds[7] = Some("paid");
            binds[8] = Some("2026-01-01");
            binds[9] = Some("2025-01-01");
            binds[10] = Some("850-2025-000001");
            binds[11] = Some("21");
            let plan = plan(sql, &binds).await;
            // The page itself; the outer ORDER BY sorts its 21 rows.
            let page = plan
                .lines()
                .find(|l| l.contains("SEARCH notices") || l.contains("SCAN notices"));
            let page = page.unwrap_or_default();
            assert!(
                page.contains(
                    "USING INDEX notices_by_recorded_status (authority_code=? AND recorded_status=?"
                ),
                "{plan}"
            );
        }
    }
}
