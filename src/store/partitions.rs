//! The register partitioned by school year (PostgreSQL, migration 0030): which
//! school years have a partition, and the drop of a whole past school year by
//! the retention purge (see `app::partitions`). SQLite keeps one table and has
//! nothing here. Partitions are made through [`super::Store::make_register_partitions`],
//! outside any unit of work.

use async_trait::async_trait;
use chrono::NaiveDate;

use super::StoreResult;
use super::tx::sql_impl;
use crate::domain::calendar::{school_year_end, school_year_start};
use crate::domain::identifiers::LaCode;

/// One authority's marks in a school year's partition: what the purge's audit
/// event says of them (no personal data: a count and dates).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearMarks {
    pub authority: String,
    pub marks: i64,
    pub first_date: NaiveDate,
    pub last_date: NaiveDate,
}

/// The register's partitions, within a unit of work.
#[async_trait]
pub trait PartitionStore: Send {
    /// The school years that have a partition of the marks, oldest first
    /// (none where the register is not partitioned).
    async fn register_partition_years(&mut self) -> StoreResult<Vec<i32>>;

    /// Takes the lock of the partition drop until the unit ends, so two
    /// replicas purging at once do not both drop (the second finds no
    /// partition left).
    async fn lock_partition_drop(&mut self) -> StoreResult<()>;

    /// Each authority's marks dated in school year `year`.
    async fn register_year_marks(&mut self, year: i32) -> StoreResult<Vec<YearMarks>>;

    /// Deletes what is derived from `authority`'s marks up to the end of school
    /// year `year`, as the purge's batches do for the marks they delete:
    /// enrolment spans ending by then (a span reaching past it now starts
    /// after it), weekly figures of weeks wholly in it or before, yearly
    /// figures of it and before. Answers the rows deleted.
    async fn purge_register_year_derived(
        &mut self,
        authority: &LaCode,
        year: i32,
    ) -> StoreResult<i64>;

    /// Detaches and drops school year `year`'s partitions of the marks and
    /// their history (the database refuses a year not past six years by its
    /// own clock); `false` when there was none.
    async fn drop_register_school_year(&mut self, year: i32) -> StoreResult<bool>;
}

sql_impl! {
    impl PartitionStore for Tx {
        async fn register_partition_years(&mut self) -> StoreResult<Vec<i32>> {
            if !DB::PARTITIONED_REGISTERS {
                return Ok(vec![]);
            }
            let years: Vec<(i32,)> =
                sqlx::query_as("SELECT school_year FROM register_partition_years()")
                    .fetch_all(&mut *self.conn)
                    .await?;
            Ok(years.into_iter().map(|(y,)| y).collect())
        }

        async fn lock_partition_drop(&mut self) -> StoreResult<()> {
            if let Some(sql) = DB::LOCK_PUPIL {
                sqlx::query(sql)
                    .bind("purge/register-partitions")
                    .execute(&mut *self.conn)
                    .await?;
            }
            Ok(())
        }

        async fn register_year_marks(&mut self, year: i32) -> StoreResult<Vec<YearMarks>> {
            let (Some(from), Some(to)) = (school_year_start(year), school_year_end(year)) else {
                return Ok(vec![]);
            };
            // Bounded by the school year's dates: the plan reads its partition only.
            let rows: Vec<(String, i64, NaiveDate, NaiveDate)> = sqlx::query_as(
                "SELECT authority_code, COUNT(*), MIN(mark_date), MAX(mark_date) \
                 FROM attendance_marks WHERE mark_date >= $1 AND mark_date <= $2 \
                 GROUP BY authority_code ORDER BY authority_code",
            )
            .bind(from)
            .bind(to)
            .fetch_all(&mut *self.conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(authority, marks, first_date, last_date)| YearMarks {
                    authority,
                    marks,
                    first_date,
                    last_date,
                })
                .collect())
        }

        async fn purge_register_year_derived(
            &mut self,
            authority: &LaCode,
            year: i32,
        ) -> StoreResult<i64> {
            let Some(through) = school_year_end(year) else {
                return Ok(0);
            };
            let last_week_start = through - chrono::Days::new(6);
            let day_after = through.succ_opt().unwrap_or(through);
            let mut rows = 0;
            let done = sqlx::query(
                "DELETE FROM attendance_enrolments WHERE authority_code = $1 AND last_date <= $2",
            )
            .bind(authority.as_str())
            .bind(through)
            .execute(&mut *self.conn)
            .await?;
            rows += DB::rows_affected(&done) as i64;
            sqlx::query(
                "UPDATE attendance_enrolments SET first_date = $3 \
                 WHERE authority_code = $1 AND first_date <= $2",
            )
            .bind(authority.as_str())
            .bind(through)
            .bind(day_after)
            .execute(&mut *self.conn)
            .await?;
            let done = sqlx::query(
                "DELETE FROM attendance_week_figures WHERE authority_code = $1 AND week_start <= $2",
            )
            .bind(authority.as_str())
            .bind(last_week_start)
            .execute(&mut *self.conn)
            .await?;
            rows += DB::rows_affected(&done) as i64;
            let done = sqlx::query(
                "DELETE FROM attendance_year_figures WHERE authority_code = $1 AND school_year <= $2",
            )
            .bind(authority.as_str())
            .bind(year)
            .execute(&mut *self.conn)
            .await?;
            rows += DB::rows_affected(&done) as i64;
            Ok(rows)
        }

        async fn drop_register_school_year(&mut self, year: i32) -> StoreResult<bool> {
            if !DB::PARTITIONED_REGISTERS {
                return Ok(false);
            }
            let (dropped,): (bool,) = sqlx::query_as("SELECT drop_register_school_year($1)")
                .bind(year)
                .fetch_one(&mut *self.conn)
                .await?;
            Ok(dropped)
        }
    }
}
