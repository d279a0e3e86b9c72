//! The PostgreSQL store (production).

use std::time::Duration;

use sqlx::postgres::PgPoolOptions;

use super::{Backend, Store, TableKeys};

type Db = sqlx::Postgres;

const INSERT_AUDIT_EVENT: &str = "INSERT INTO audit_events \
    (authority_code, occurred_at, actor_subject, actor_role, action, resource, request_id, details) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING event_id";

// A transaction-scoped advisory lock per pupil: concurrent issuers queue here.
const LOCK_PUPIL: Option<&str> = Some("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))");

const SELECT_NOTICE_FOR_UPDATE: &str = concat!(
    super::rows::notice_select!(),
    " WHERE authority_code = $1 AND notice_number = $2 FOR UPDATE"
);

const SELECT_PAYMENT_FOR_UPDATE: &str = concat!(
    super::rows::payment_select!(),
    " WHERE p.authority_code = $1 AND p.payment_id = $2 FOR UPDATE"
);

include!("../common.rs");
include!("marks.rs");
include!("../attendance.rs");

pub struct PgStore {
    pool: Pool<Db>,
}

impl PgStore {
    pub async fn connect(url: &str, max_connections: u32) -> StoreResult<Self> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        Ok(Self { pool })
    }
}

#[async_trait]
impl Store for PgStore {
    fn backend(&self) -> Backend {
        Backend::Postgres
    }

    async fn migrate(&self) -> StoreResult<()> {
        sqlx::migrate!("src/store/postgres/migrations")
            .run(&self.pool)
            .await?;
        Ok(())
    }

    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>> {
        Ok(Box::new(Tx {
            tx: self.pool.begin().await?,
        }))
    }

    async fn policy_versions(
        &self,
        authority: &LaCode,
        after: Option<NaiveDate>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyVersion>> {
        select_policy_versions(&self.pool, authority, after, limit).await
    }

    async fn audit_events(
        &self,
        authority: &LaCode,
        resource: Option<&str>,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        select_audit_events(&self.pool, authority, resource, after_event_id, limit).await
    }

    async fn notice(&self, authority: &LaCode, notice_number: &str) -> StoreResult<Option<Notice>> {
        select_notice(&self.pool, authority, notice_number).await
    }

    async fn list_notices(
        &self,
        authority: &LaCode,
        filter: &NoticeFilter<'_>,
        today: NaiveDate,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Notice>> {
        select_notices(&self.pool, authority, filter, today, after, limit).await
    }

    async fn payment(&self, authority: &LaCode, payment_id: &str) -> StoreResult<Option<Payment>> {
        select_payment(&self.pool, authority, payment_id).await
    }

    async fn list_payments(
        &self,
        authority: &LaCode,
        filter: &PaymentFilter<'_>,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Payment>> {
        select_payments(&self.pool, authority, filter, after, limit).await
    }

    async fn enrolment_figures(
        &self,
        authority: &LaCode,
        scope: AttendanceScope<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<EnrolmentFigures>> {
        select_enrolment_figures(&self.pool, authority, scope, from, to).await
    }

    async fn latest_school_weeks(
        &self,
        authority: &LaCode,
        last_week: NaiveDate,
        per_school: i64,
    ) -> StoreResult<Vec<(String, NaiveDate)>> {
        select_latest_school_weeks(&self.pool, authority, last_week, per_school).await
    }

    async fn threshold_candidates(
        &self,
        authority: &LaCode,
        filter: &QualifyingFilter<'_>,
        school: Option<&Urn>,
        at_least: i64,
        after_upn: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        select_threshold_candidates(
            &self.pool, authority, filter, school, at_least, after_upn, limit,
        )
        .await
    }

    async fn qualifying_marks(
        &self,
        authority: &LaCode,
        upns: &[String],
        filter: &QualifyingFilter<'_>,
    ) -> StoreResult<Vec<SchoolMark>> {
        select_qualifying_marks(&self.pool, authority, upns, filter).await
    }

    async fn enrolments_between(
        &self,
        authority: &LaCode,
        upns: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>> {
        select_enrolments_between(&self.pool, authority, upns, from, to).await
    }

    async fn notices_of_pupils(
        &self,
        authority: &LaCode,
        upns: &[String],
    ) -> StoreResult<Vec<Notice>> {
        select_notices_of_pupils(&self.pool, authority, upns).await
    }

    async fn mark_history(
        &self,
        authority: &LaCode,
        upn: &Upn,
        school: &Urn,
        date: NaiveDate,
        session: Session,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        select_mark_history(&self.pool, authority, upn, school, date, session).await
    }

    async fn table_keys(&self) -> StoreResult<Vec<TableKeys>> {
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' \
             AND table_name <> '_sqlx_migrations' ORDER BY table_name",
        )
        .fetch_all(&self.pool)
        .await?;
        let columns: Vec<(String, String, String, String)> = sqlx::query_as(
            "SELECT tc.table_name::text, tc.constraint_type::text, tc.constraint_name::text, kcu.column_name::text \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.key_column_usage kcu \
               ON kcu.constraint_schema = tc.constraint_schema AND kcu.constraint_name = tc.constraint_name \
              AND kcu.table_name = tc.table_name \
             WHERE tc.table_schema = current_schema() \
               AND tc.constraint_type IN ('PRIMARY KEY', 'FOREIGN KEY') \
             ORDER BY tc.table_name, tc.constraint_name, kcu.ordinal_position",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(tables
            .into_iter()
            .map(|table| {
                let mut keys = TableKeys {
                    table,
                    primary_key: vec![],
                    foreign_keys: vec![],
                };
                let mut last_fk = None;
                for (t, kind, constraint, column) in &columns {
                    if *t != keys.table {
                        continue;
                    }
                    if kind == "PRIMARY KEY" {
                        keys.primary_key.push(column.clone());
                    } else {
                        if last_fk != Some(constraint) {
                            keys.foreign_keys.push(vec![]);
                            last_fk = Some(constraint);
                        }
                        keys.foreign_keys
                            .last_mut()
                            .expect("pushed above")
                            .push(column.clone());
                    }
                }
                keys
            })
            .collect())
    }

    fn pool_usage(&self) -> (u32, usize) {
        (self.pool.size(), self.pool.num_idle())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}

#[cfg(test)]
mod copy_text_tests {
    use super::copy_text;

    #[test]
    fn escapes_what_copy_text_format_reads_as_special() {
        assert_eq!(copy_text("/"), "/");
        assert_eq!(copy_text("\\"), "\\\\");
        assert_eq!(copy_text("a\tb\nc\rd"), "a\\tb\\nc\\rd");
    }
}
