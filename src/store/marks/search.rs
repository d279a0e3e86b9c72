//! The breach search's reads: each school's latest weeks, the pupils with
//! enough qualifying marks, their marks and enrolments.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::NaiveDate;

use super::super::StoreResult;
use super::super::tx::sql_impl;
use super::MarkSql;
use super::SchoolMark;
use super::changes::school_mark;
use super::queries::Qualifying;
use crate::domain::identifiers::{LaCode, Urn};

/// What the threshold query reads: qualifying marks between two dates.
#[derive(Debug, Clone, Copy)]
pub struct QualifyingFilter<'a> {
    pub codes: &'a [String],
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// What the threshold search reads.
#[async_trait]
pub trait BreachSearchStore: Send {
    /// Each school's latest `per_school` school weeks (Mondays) up to `last_week`,
    /// in no particular order; with `pupil`, only of the schools the pupil has
    /// been on the register of.
    async fn latest_school_weeks(
        &mut self,
        authority: &LaCode,
        last_week: NaiveDate,
        per_school: i64,
        pupil: Option<&str>,
    ) -> StoreResult<Vec<(String, NaiveDate)>>;

    /// Pupils with at least `at_least` qualifying marks, optionally only pupils on
    /// `school`'s register in the period, by UPN after `after_upn`, at most `limit`.
    async fn threshold_candidates(
        &mut self,
        authority: &LaCode,
        filter: &QualifyingFilter<'_>,
        school: Option<&Urn>,
        at_least: i64,
        after_upn: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>>;

    /// The qualifying marks of `upns`.
    async fn qualifying_marks(
        &mut self,
        authority: &LaCode,
        upns: &[String],
        filter: &QualifyingFilter<'_>,
    ) -> StoreResult<Vec<SchoolMark>>;

    /// `(upn, school)` of every enrolment of `upns` with marks within `from..=to`.
    async fn enrolments_between(
        &mut self,
        authority: &LaCode,
        upns: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>>;
}

sql_impl! {
    impl BreachSearchStore for Tx where [DB: MarkSql] {
        async fn latest_school_weeks(
            &mut self,
            authority: &LaCode,
            last_week: NaiveDate,
            per_school: i64,
            pupil: Option<&str>,
        ) -> StoreResult<Vec<(String, NaiveDate)>> {
            let Some(cache) = self.latest_weeks.clone().filter(|_| pupil.is_none()) else {
                return self
                    .query_latest_school_weeks(authority, last_week, per_school, pupil)
                    .await;
            };
            // (0, 0) while the authority holds no school week.
            let count: Option<(i64, i64)> = sqlx::query_as(
                "SELECT epoch, changes FROM attendance_school_week_changes WHERE authority_code = $1",
            )
            .bind(authority.as_str())
            .fetch_optional(self.conn())
            .await?;
            let key = (
                authority.to_string(),
                last_week,
                per_school,
                count.unwrap_or_default(),
            );
            if let Some(weeks) = cache.get(&key) {
                return Ok(weeks.as_ref().clone());
            }
            let weeks = self
                .query_latest_school_weeks(authority, last_week, per_school, None)
                .await?;
            cache.insert(key, Arc::new(weeks.clone()));
            Ok(weeks)
        }

        async fn threshold_candidates(
            &mut self,
            authority: &LaCode,
            f: &QualifyingFilter<'_>,
            school: Option<&Urn>,
            at_least: i64,
            after_upn: &str,
            limit: i64,
        ) -> StoreResult<Vec<String>> {
            let queries = if school.is_some() {
                &DB::LIST_QUERIES.school_threshold_candidates
            } else {
                &DB::LIST_QUERIES.threshold_candidates
            };
            let query = sqlx::query_scalar(queries.get(Qualifying::of(f.codes)))
                .bind(authority.as_str())
                .bind(f.from)
                .bind(f.to)
                .bind(DB::list_arg(f.codes))
                .bind(after_upn)
                .bind(at_least)
                .bind(limit);
            let query = match school {
                Some(urn) => query.bind(urn.as_str()),
                None => query,
            };
            Ok(query.fetch_all(self.conn()).await?)
        }

        async fn qualifying_marks(
            &mut self,
            authority: &LaCode,
            upns: &[String],
            f: &QualifyingFilter<'_>,
        ) -> StoreResult<Vec<SchoolMark>> {
            let rows: Vec<(String, String, NaiveDate, i16, String)> = sqlx::query_as(
                DB::LIST_QUERIES
                    .qualifying_marks
                    .get(Qualifying::of(f.codes)),
            )
            .bind(authority.as_str())
            .bind(DB::list_arg(upns))
            .bind(f.from)
            .bind(f.to)
            .bind(DB::list_arg(f.codes))
            .fetch_all(self.conn())
            .await?;
            rows.into_iter().map(school_mark).collect()
        }

        async fn enrolments_between(
            &mut self,
            authority: &LaCode,
            upns: &[String],
            from: NaiveDate,
            to: NaiveDate,
        ) -> StoreResult<Vec<(String, String)>> {
            Ok(sqlx::query_as(DB::LIST_QUERIES.enrolments_between)
                .bind(authority.as_str())
                .bind(DB::list_arg(upns))
                .bind(from)
                .bind(to)
                .fetch_all(self.conn())
                .await?)
        }
    }
}

sql_impl! {
    impl Tx {
        async fn query_latest_school_weeks(
            &mut self,
            authority: &LaCode,
            last_week: NaiveDate,
            per_school: i64,
            pupil: Option<&str>,
        ) -> StoreResult<Vec<(String, NaiveDate)>> {
            // One pupil's breach needs only its own schools' weeks, not the county's.
            let query = sqlx::query_as(if pupil.is_some() {
                "SELECT school_urn, week_start FROM ( \
                   SELECT school_urn, week_start, \
                          ROW_NUMBER() OVER (PARTITION BY school_urn ORDER BY week_start DESC) AS back \
                   FROM attendance_school_weeks WHERE authority_code = $1 AND week_start <= $2 \
                     AND school_urn IN (SELECT school_urn FROM attendance_enrolments \
                                        WHERE authority_code = $1 AND upn = $4)) w \
                 WHERE back <= $3"
            } else {
                DB::LATEST_SCHOOL_WEEKS
            })
            .bind(authority.as_str())
            .bind(last_week)
            .bind(per_school);
            let query = match pupil {
                Some(upn) => query.bind(upn),
                None => query,
            };
            Ok(query.fetch_all(self.conn()).await?)
        }
    }
}
