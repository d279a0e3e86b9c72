//! Each authority's retention periods, versioned by effective date, and the
//! purge's statements (see `app::retention`).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::tx::{duplicate_as, sql_impl};
use super::{StoreError, StoreResult};
use crate::domain::actor::{Actor, Role};
use crate::domain::identifiers::LaCode;
use crate::domain::policy::Publication;
use crate::domain::retention::{RetentionPeriods, RetentionPolicy};

#[derive(sqlx::FromRow)]
struct RetentionRow {
    effective_from: NaiveDate,
    register_years: i32,
    breach_years: i32,
    notice_years: i32,
    payment_years: i32,
    access_log_years: i32,
    created_at: DateTime<Utc>,
    created_by_subject: String,
    created_by_role: String,
}

impl From<RetentionRow> for RetentionPolicy {
    fn from(r: RetentionRow) -> Self {
        RetentionPolicy {
            effective_from: Some(r.effective_from),
            periods: RetentionPeriods {
                register_years: r.register_years,
                breach_years: r.breach_years,
                notice_years: r.notice_years,
                payment_years: r.payment_years,
                access_log_years: r.access_log_years,
            },
            published: Some(Publication {
                at: r.created_at,
                by: Actor {
                    subject: r.created_by_subject,
                    role: Role::parse(&r.created_by_role),
                },
            }),
        }
    }
}

/// The UPN a pseudonymised notice holds: LA code 000 and establishment 0000
/// exist nowhere, so it cannot be mistaken for a real pupil's (its check letter
/// is right, so the notice still reads).
pub const ERASED_UPN: &str = "A000000000000";
/// What a pseudonymised name, postcode or free text holds.
pub const ERASED_TEXT: &str = "erased";

/// What one batch of the purge removed or pseudonymised: how many records,
/// the range of its keys (no personal data: mark dates, notice numbers,
/// payment ids) and the names of the resources whose audit details go too.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PurgedBatch {
    /// Records the batch selected (marks; notices; payments), at most its size.
    pub selected: i64,
    /// Rows it removed or pseudonymised, the selected ones and those derived
    /// from them (mark history, weekly and yearly figures, enrolments).
    pub rows: i64,
    pub first_key: Option<String>,
    pub last_key: Option<String>,
    /// Notice numbers or payment ids.
    pub keys: Vec<String>,
    /// Where the next batch of the same run starts (the register's last UPN:
    /// never audited or logged).
    pub resume_after: Option<String>,
}

/// The first instant after the day `cut_off`: what happened before it is on
/// or before the cut-off.
fn end_of(cut_off: NaiveDate) -> DateTime<Utc> {
    cut_off
        .succ_opt()
        .unwrap_or(cut_off)
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or_default()
}

/// A batch of the records with `numbers` as keys.
fn batch_of(mut numbers: Vec<i64>, rows: i64) -> PurgedBatch {
    numbers.sort_unstable();
    PurgedBatch {
        selected: numbers.len() as i64,
        rows,
        first_key: numbers.first().map(i64::to_string),
        last_key: numbers.last().map(i64::to_string),
        keys: numbers.iter().map(i64::to_string).collect(),
        resume_after: None,
    }
}

/// The last school year (by the calendar year of its September) that ended on
/// or before `day`: a school year runs to 31 August.
fn last_school_year_ended_by(day: NaiveDate) -> i32 {
    use chrono::Datelike;
    let end_this_year = NaiveDate::from_ymd_opt(day.year(), 8, 31).unwrap_or(day);
    if day >= end_this_year {
        day.year() - 1
    } else {
        day.year() - 2
    }
}

/// Retention periods, versioned by effective date, and the purge's batches.
/// Each batch selects by the cut-off, so a batch repeated after another
/// finds only what is left.
#[async_trait]
pub trait RetentionStore: Send {
    /// Takes the purge's lock of an authority and kind until the unit ends,
    /// so two replicas purging at once take turns batch by batch.
    async fn lock_purge(&mut self, authority: &LaCode, kind: &str) -> StoreResult<()>;

    /// Deletes up to `limit` register marks dated on or before `cut_off`,
    /// with the history, weekly and yearly figures and enrolment spans of their
    /// pupils at their schools that are wholly on or before it (figures of a
    /// week or school year straddling the cut-off are kept).
    /// `after_upn` continues a run from its previous batch's
    /// [`PurgedBatch::resume_after`] ("" to start), so a run reads each pupil's
    /// marks once rather than every batch scanning past the pupils already done.
    async fn purge_register_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        limit: i64,
        after_upn: &str,
    ) -> StoreResult<PurgedBatch>;

    /// Pseudonymises up to `limit` notices closed on or before `cut_off` (paid,
    /// withdrawn, or their prosecution's outcome recorded; a notice to improve
    /// at the end of its improvement period): pupil's and parent's names,
    /// addresses, UPN, the parent's id and the offence's free text; and
    /// deletes their rectifications (which hold the details before).
    async fn pseudonymise_notice_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        limit: i64,
    ) -> StoreResult<PurgedBatch>;

    /// Clears the payer's name and reference of up to `limit` payments dated on
    /// or before `cut_off`.
    async fn clear_payer_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        limit: i64,
    ) -> StoreResult<PurgedBatch>;
    /// Deletes up to `limit` decided breach cases decided before the day
    /// after `cut_off` whose last session is on or before `register_cut_off`
    /// (so no case goes while the marks it was found in are kept, which would
    /// raise it again). Keys: the breach ids.
    async fn delete_breach_case_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        register_cut_off: NaiveDate,
        limit: i64,
    ) -> StoreResult<PurgedBatch>;

    /// Deletes up to `limit` schools' requests for a penalty notice issued or
    /// declined before the day after `cut_off` (a pending one is kept).
    /// Keys: the request numbers.
    async fn delete_penalty_notice_request_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        limit: i64,
    ) -> StoreResult<PurgedBatch>;

    /// Deletes up to `limit` cases of the other measures in one of
    /// `final_states` whose last event is on or before `cut_off`, with their
    /// events and what they follow. Keys: the case numbers.
    async fn delete_measure_case_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        limit: i64,
        final_states: &[&str],
    ) -> StoreResult<PurgedBatch>;

    /// Deletes up to `limit` access-log entries of reads before the day after
    /// `cut_off`. No keys (no entry has an audit event).
    async fn delete_access_log_batch(
        &mut self,
        authority: &LaCode,
        cut_off: NaiveDate,
        limit: i64,
    ) -> StoreResult<PurgedBatch>;

    /// Inserts a version of an authority's retention periods; `Duplicate` if
    /// one starts on that date.
    async fn insert_retention_policy(
        &mut self,
        authority: &LaCode,
        version: &RetentionPolicy,
    ) -> StoreResult<()>;

    /// Every version of an authority's retention periods, oldest first.
    async fn retention_policies(&mut self, authority: &LaCode)
    -> StoreResult<Vec<RetentionPolicy>>;
}

sql_impl! {
    impl RetentionStore for Tx {
        async fn insert_retention_policy(
            &mut self,
            authority: &LaCode,
            v: &RetentionPolicy,
        ) -> StoreResult<()> {
            let (Some(effective_from), Some(published)) = (v.effective_from, &v.published) else {
                return Err(StoreError::Corrupt(
                    "an authority's retention version needs its date and publication".into(),
                ));
            };
            let p = &v.periods;
            sqlx::query(
                "INSERT INTO retention_policy_versions (authority_code, effective_from, \
                 register_years, breach_years, notice_years, payment_years, access_log_years, \
                 created_at, created_by_subject, created_by_role) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(authority.as_str())
            .bind(effective_from)
            .bind(p.register_years)
            .bind(p.breach_years)
            .bind(p.notice_years)
            .bind(p.payment_years)
            .bind(p.access_log_years)
            .bind(published.at)
            .bind(&published.by.subject)
            .bind(published.by.role_str())
            .execute(&mut *self.conn)
            .await
            .map_err(duplicate_as(|| {
                format!(
                    "a retention policy version of authority {authority} effective from \
                     {effective_from}"
                )
            }))?;
            Ok(())
        }

        async fn retention_policies(
            &mut self,
            authority: &LaCode,
        ) -> StoreResult<Vec<RetentionPolicy>> {
            let rows: Vec<RetentionRow> = sqlx::query_as(
                "SELECT effective_from, register_years, breach_years, notice_years, \
                 payment_years, access_log_years, created_at, created_by_subject, \
                 created_by_role FROM retention_policy_versions WHERE authority_code = $1 \
                 ORDER BY effective_from",
            )
            .bind(authority.as_str())
            .fetch_all(&mut *self.conn)
            .await?;
            Ok(rows.into_iter().map(RetentionPolicy::from).collect())
        }

        async fn lock_purge(&mut self, authority: &LaCode, kind: &str) -> StoreResult<()> {
            // The per-pupil lock's statement takes any key.
            if let Some(sql) = DB::LOCK_PUPIL {
                sqlx::query(sql)
                    .bind(format!("purge/{authority}/{kind}"))
                    .execute(&mut *self.conn)
                    .await?;
            }
            Ok(())
        }

        async fn purge_register_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            limit: i64,
            after_upn: &str,
        ) -> StoreResult<PurgedBatch> {
            let deleted: Vec<(String, NaiveDate, String)> = sqlx::query_as(
                "DELETE FROM attendance_marks \
                 WHERE (authority_code, upn, mark_date, session, school_urn) IN ( \
                     SELECT authority_code, upn, mark_date, session, school_urn \
                     FROM attendance_marks WHERE authority_code = $1 AND mark_date <= $2 \
                       AND upn >= $4 \
                     ORDER BY upn, mark_date, session, school_urn LIMIT $3) \
                 RETURNING upn, mark_date, school_urn",
            )
            .bind(authority.as_str())
            .bind(cut_off)
            .bind(limit)
            .bind(after_upn)
            .fetch_all(&mut *self.conn)
            .await?;
            let mut batch = PurgedBatch {
                selected: deleted.len() as i64,
                rows: deleted.len() as i64,
                first_key: deleted.iter().map(|d| d.1).min().map(|d| d.to_string()),
                last_key: deleted.iter().map(|d| d.1).max().map(|d| d.to_string()),
                keys: Vec::new(),
                resume_after: deleted.iter().map(|d| d.0.clone()).max(),
            };
            let mut enrolments: Vec<(&str, &str)> = deleted
                .iter()
                .map(|(upn, _, school)| (upn.as_str(), school.as_str()))
                .collect();
            enrolments.sort_unstable();
            enrolments.dedup();
            // A pupil's SEN statuses that stopped applying by the cut-off (a
            // later one took over on or before it) go with their registers;
            // the one in force at the cut-off stays, as it may still apply.
            let mut pupils: Vec<&str> = enrolments.iter().map(|(upn, _)| *upn).collect();
            pupils.dedup();
            for upn in pupils {
                let done = sqlx::query(
                    "DELETE FROM pupil_sen_statuses WHERE authority_code = $1 AND upn = $2 \
                     AND effective_from < (SELECT MAX(s.effective_from) FROM pupil_sen_statuses s \
                       WHERE s.authority_code = $1 AND s.upn = $2 AND s.effective_from <= $3)",
                )
                .bind(authority.as_str())
                .bind(upn)
                .bind(cut_off)
                .execute(&mut *self.conn)
                .await?;
                batch.rows += DB::rows_affected(&done) as i64;
            }
            // A week's figures go once the whole week (to its Sunday) is past.
            let last_week_start = cut_off - chrono::Days::new(6);
            let last_school_year = last_school_year_ended_by(cut_off);
            let day_after = cut_off.succ_opt().unwrap_or(cut_off);
            for (upn, school) in enrolments {
                for sql in [
                    "DELETE FROM attendance_mark_history WHERE authority_code = $1 AND upn = $2 \
                     AND school_urn = $3 AND mark_date <= $4",
                    "DELETE FROM attendance_enrolments WHERE authority_code = $1 AND upn = $2 \
                     AND school_urn = $3 AND last_date <= $4",
                ] {
                    let done = sqlx::query(sql)
                        .bind(authority.as_str())
                        .bind(upn)
                        .bind(school)
                        .bind(cut_off)
                        .execute(&mut *self.conn)
                        .await?;
                    batch.rows += DB::rows_affected(&done) as i64;
                }
                // A span reaching past the cut-off now starts after it.
                sqlx::query(
                    "UPDATE attendance_enrolments SET first_date = $5 WHERE authority_code = $1 \
                     AND upn = $2 AND school_urn = $3 AND first_date <= $4",
                )
                .bind(authority.as_str())
                .bind(upn)
                .bind(school)
                .bind(cut_off)
                .bind(day_after)
                .execute(&mut *self.conn)
                .await?;
                let done = sqlx::query(
                    "DELETE FROM attendance_week_figures WHERE authority_code = $1 AND upn = $2 \
                     AND school_urn = $3 AND week_start <= $4",
                )
                .bind(authority.as_str())
                .bind(upn)
                .bind(school)
                .bind(last_week_start)
                .execute(&mut *self.conn)
                .await?;
                batch.rows += DB::rows_affected(&done) as i64;
                let done = sqlx::query(
                    "DELETE FROM attendance_year_figures WHERE authority_code = $1 AND upn = $2 \
                     AND school_urn = $3 AND school_year <= $4",
                )
                .bind(authority.as_str())
                .bind(upn)
                .bind(school)
                .bind(last_school_year)
                .execute(&mut *self.conn)
                .await?;
                batch.rows += DB::rows_affected(&done) as i64;
            }
            Ok(batch)
        }

        async fn pseudonymise_notice_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            limit: i64,
        ) -> StoreResult<PurgedBatch> {
            let mut numbers: Vec<String> = sqlx::query_scalar(
                "UPDATE notices SET upn = $4, pupil_given_name = $5, pupil_family_name = $5, \
                 pupil_address_lines = '[]', pupil_postcode = $5, parent_person_id = $5, \
                 parent_given_name = $5, parent_family_name = $5, parent_address_lines = '[]', \
                 parent_postcode = $5, offence_description = $5 \
                 WHERE (authority_code, notice_number) IN ( \
                     SELECT authority_code, notice_number FROM notices \
                     WHERE authority_code = $1 AND upn <> $4 \
                       AND COALESCE(paid_date, withdrawal_date, \
                             CASE WHEN prosecution_result IS NOT NULL \
                                  THEN prosecution_hearing_date END, \
                             CASE WHEN kind = 'notice_to_improve' \
                                  THEN improvement_end_date END) <= $2 \
                     ORDER BY notice_number LIMIT $3) \
                 RETURNING notice_number",
            )
            .bind(authority.as_str())
            .bind(cut_off)
            .bind(limit)
            .bind(ERASED_UPN)
            .bind(ERASED_TEXT)
            .fetch_all(&mut *self.conn)
            .await?;
            numbers.sort_unstable();
            // What the notices held before a rectification goes with them.
            let mut rows = numbers.len() as i64;
            for number in &numbers {
                let done = sqlx::query(
                    "DELETE FROM rectifications WHERE authority_code = $1 AND notice_number = $2",
                )
                .bind(authority.as_str())
                .bind(number)
                .execute(&mut *self.conn)
                .await?;
                rows += DB::rows_affected(&done) as i64;
            }
            Ok(PurgedBatch {
                selected: numbers.len() as i64,
                rows,
                first_key: numbers.first().cloned(),
                last_key: numbers.last().cloned(),
                keys: numbers,
                resume_after: None,
            })
        }

        async fn delete_breach_case_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            register_cut_off: NaiveDate,
            limit: i64,
        ) -> StoreResult<PurgedBatch> {
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM breach_cases WHERE (authority_code, case_id) IN ( \
                     SELECT authority_code, case_id FROM breach_cases \
                     WHERE authority_code = $1 AND decided_at < $2 AND last_date <= $3 \
                     ORDER BY case_id LIMIT $4) \
                 RETURNING case_id",
            )
            .bind(authority.as_str())
            .bind(end_of(cut_off))
            .bind(register_cut_off)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            let rows = ids.len() as i64;
            Ok(batch_of(ids, rows))
        }

        async fn delete_penalty_notice_request_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            limit: i64,
        ) -> StoreResult<PurgedBatch> {
            let numbers: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM penalty_notice_requests \
                 WHERE (authority_code, request_number) IN ( \
                     SELECT authority_code, request_number FROM penalty_notice_requests \
                     WHERE authority_code = $1 AND state <> 0 \
                       AND COALESCE(settled_at, requested_at) < $2 \
                     ORDER BY request_number LIMIT $3) \
                 RETURNING request_number",
            )
            .bind(authority.as_str())
            .bind(end_of(cut_off))
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            let rows = numbers.len() as i64;
            Ok(batch_of(numbers, rows))
        }

        async fn delete_measure_case_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            limit: i64,
            final_states: &[&str],
        ) -> StoreResult<PurgedBatch> {
            let mut numbers: Vec<i64> = Vec::new();
            for state in final_states {
                let left = limit - numbers.len() as i64;
                if left <= 0 {
                    break;
                }
                let found: Vec<i64> = sqlx::query_scalar(
                    "SELECT c.case_number FROM measure_cases c \
                     WHERE c.authority_code = $1 AND c.state = $2 \
                       AND (SELECT MAX(e.on_date) FROM measure_case_events e \
                            WHERE e.authority_code = c.authority_code \
                              AND e.case_number = c.case_number) <= $3 \
                     ORDER BY c.case_number LIMIT $4",
                )
                .bind(authority.as_str())
                .bind(*state)
                .bind(cut_off)
                .bind(left)
                .fetch_all(&mut *self.conn)
                .await?;
                numbers.extend(found);
            }
            let mut rows = 0;
            for number in &numbers {
                for sql in [
                    "DELETE FROM measure_case_follows WHERE authority_code = $1 AND case_number = $2",
                    "DELETE FROM measure_case_events WHERE authority_code = $1 AND case_number = $2",
                    "DELETE FROM measure_cases WHERE authority_code = $1 AND case_number = $2",
                ] {
                    let done = sqlx::query(sql)
                        .bind(authority.as_str())
                        .bind(*number)
                        .execute(&mut *self.conn)
                        .await?;
                    rows += DB::rows_affected(&done) as i64;
                }
            }
            Ok(batch_of(numbers, rows))
        }

        async fn delete_access_log_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            limit: i64,
        ) -> StoreResult<PurgedBatch> {
            let ids: Vec<i64> = sqlx::query_scalar(
                "DELETE FROM access_log WHERE (authority_code, entry_id) IN ( \
                     SELECT authority_code, entry_id FROM access_log \
                     WHERE authority_code = $1 AND accessed_at < $2 \
                     ORDER BY entry_id LIMIT $3) \
                 RETURNING entry_id",
            )
            .bind(authority.as_str())
            .bind(end_of(cut_off))
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            let rows = ids.len() as i64;
            // Entry ids name no one, but a run of them says nothing either:
            // the batch is counted, not listed.
            let mut batch = batch_of(ids, rows);
            batch.keys.clear();
            Ok(batch)
        }

        async fn clear_payer_batch(
            &mut self,
            authority: &LaCode,
            cut_off: NaiveDate,
            limit: i64,
        ) -> StoreResult<PurgedBatch> {
            let mut ids: Vec<String> = sqlx::query_scalar(
                "UPDATE payments SET payer_name = $4, payer_reference = $4 \
                 WHERE (authority_code, payment_id) IN ( \
                     SELECT authority_code, payment_id FROM payments \
                     WHERE authority_code = $1 AND paid_date <= $2 \
                       AND NOT (payer_name = $4 AND payer_reference = $4) \
                     ORDER BY payment_id LIMIT $3) \
                 RETURNING payment_id",
            )
            .bind(authority.as_str())
            .bind(cut_off)
            .bind(limit)
            .bind(ERASED_TEXT)
            .fetch_all(&mut *self.conn)
            .await?;
            ids.sort_unstable();
            Ok(PurgedBatch {
                selected: ids.len() as i64,
                rows: ids.len() as i64,
                first_key: ids.first().cloned(),
                last_key: ids.last().cloned(),
                keys: ids,
                resume_after: None,
            })
        }
    }
}
