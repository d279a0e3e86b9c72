//! SQL that PostgreSQL and SQLite both accept, written once over any sqlx
//! database that implements [`Dialect`] (what differs between the two).

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::pool::PoolConnection;
use sqlx::{ColumnIndex, Database, Encode, Executor, Pool, Type};

use super::attendance::LatestWeeksCache;
use super::dialect::{Column, Dialect};
use super::rows::{
    AllocationFactRow, AllocationRow, AuditEventRow, AuthoritySettingsRow, ChainedEventRow,
    NoticeRow, PaymentRow, PolicyVersionRow, RefundRow, StoredRequestRow, audit_event_columns,
    join_list, notice_columns, notice_select, notice_sums, payment_select, policy_version_columns,
    to_json,
};
use super::{
    AttendanceScope, AuditEvent, AuditFilter, CaseFilter, EnrolmentFigures, NewAuditEvent,
    NoticeFilter, PaymentFilter, QualifyingFilter, RequestKey, SchoolMark, StoreError, StoreResult,
    StoreTx, StoredRequest,
};
use crate::domain::{
    attendance::{MarkCounts, RegisterMark},
    audit::{self, ChainHead, ChainedEvent, EventFields},
    case::BreachCase,
    evidence::{EvidenceCorrection, ReplacedMark},
    identifiers::{LaCode, Upn, Urn},
    letter::AuthoritySettings,
    notice::{Notice, ProsecutionOutcome, Session, Withdrawal},
    payment::{AllocationFact, NoticeMoney, Payment, Refund},
    policy::PolicyVersion,
    referral::{Referral, ReferralState},
    school::School,
};

/// A unit of work: one pool connection inside one transaction, begun with `BEGIN`
/// SQL of the backend's choosing. A unit dropped before `commit` or `rollback`
/// finished (a cancelled or panicked call) closes its connection instead of
/// returning it to the pool mid-transaction or mid-protocol.
pub struct Tx<DB: Database> {
    conn: PoolConnection<DB>,
    finished: bool,
    /// Audit events appended, written and chained at commit.
    pending_audit: Vec<PendingAudit>,
    /// Where serial numbers are taken, when not inside this unit (see
    /// [`Tx::begin`]).
    numbering: Option<Pool<DB>>,
    /// Begun with no statement: the unit is one statement in the database's
    /// autocommit, which is its own transaction (see [`Store::begin_single_read`]).
    single_statement: bool,
    /// Pupils whose lock this unit holds: a lock lasts to the end of the unit,
    /// so taking it again would be a round trip for nothing.
    locked_pupils: HashSet<String>,
    /// An authority's policy versions as this unit read them: a use case decides
    /// on the policy in force on more than one date (an issue reads it for the
    /// issue date and again for the breach it closes). Cleared when the unit
    /// writes a version.
    policy_versions: Option<(LaCode, Vec<PolicyVersion>)>,
    /// Where a read-only unit looks up and keeps every school's latest school
    /// weeks (see [`LatestWeeksCache`]); none in a unit that may write.
    pub(super) latest_weeks: Option<Arc<LatestWeeksCache>>,
}

/// An audit event waiting for its unit to commit.
struct PendingAudit {
    authority: String,
    at: DateTime<Utc>,
    actor_subject: String,
    actor_role: &'static str,
    action: String,
    resource: String,
    request_id: String,
    /// The details as stored (and hashed).
    details: String,
}

// What the shared SQL needs of a database: to run statements on a connection,
// and to bind and read the Rust types it uses. The same bounds stand on each
// generic `impl` of `Tx` (here, below, and in `attendance.rs`): Rust does not
// carry them from one place to another.
impl<DB> Tx<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
    i32: Column<DB>,
    Option<i32>: Column<DB>,
    i16: Column<DB>,
    bool: Column<DB>,
    NaiveDate: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Vec<u8>: Column<DB>,
{
    /// A unit on a connection from `pool`. With `numbering`, serial numbers are
    /// taken on that pool's connections, each in a transaction of its own that
    /// commits at once, so a counter row is locked for one statement rather than
    /// until this unit commits (see [`StoreTx::next_serial`]). The numbering
    /// pool must be separate from `pool`: a unit holding one connection never
    /// waits for a second from the pool it holds it from. An empty `begin`
    /// starts no transaction: the unit must then be a single statement.
    pub(super) async fn begin(
        pool: &Pool<DB>,
        begin: &'static str,
        numbering: Option<&Pool<DB>>,
    ) -> StoreResult<Self> {
        let mut conn = pool.acquire().await?;
        if !begin.is_empty()
            && let Err(e) = sqlx::raw_sql(begin).execute(&mut *conn).await
        {
            conn.close_on_drop();
            return Err(e.into());
        }
        Ok(Self {
            conn,
            finished: false,
            pending_audit: Vec::new(),
            numbering: numbering.cloned(),
            single_statement: begin.is_empty(),
            locked_pupils: HashSet::new(),
            policy_versions: None,
            latest_weeks: None,
        })
    }

    /// This read-only unit shares `cache` (see [`LatestWeeksCache`]).
    pub(super) fn with_latest_weeks(mut self, cache: &Arc<LatestWeeksCache>) -> Self {
        self.latest_weeks = Some(Arc::clone(cache));
        self
    }

    async fn end(mut self: Box<Self>, statement: &'static str) -> StoreResult<()> {
        if !self.single_statement {
            sqlx::raw_sql(statement).execute(&mut *self.conn).await?;
        }
        self.finished = true;
        Ok(())
    }

    async fn select_policy_versions(
        &mut self,
        authority: &LaCode,
        after: Option<NaiveDate>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyVersion>> {
        let rows: Vec<PolicyVersionRow> = sqlx::query_as(concat!(
            "SELECT ",
            policy_version_columns!(),
            " FROM policy_versions \
             WHERE authority_code = $1 AND ($2 IS NULL OR effective_from > $2) \
             ORDER BY effective_from LIMIT $3"
        ))
        .bind(authority.as_str())
        .bind(after)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.into_iter().map(PolicyVersion::try_from).collect()
    }

    async fn select_audit_events(
        &mut self,
        authority: &LaCode,
        f: &AuditFilter<'_>,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        // Times compare as stored: TIMESTAMPTZ on PostgreSQL; on SQLite RFC 3339
        // text in UTC, which sorts as the instants do (a whole second's "+00:00"
        // sorts before any fraction of it).
        let rows: Vec<AuditEventRow> = sqlx::query_as(concat!(
            "SELECT ",
            audit_event_columns!(),
            " FROM audit_events \
             WHERE authority_code = $1 AND ($2 IS NULL OR resource = $2) \
               AND ($3 IS NULL OR action = $3) \
               AND ($4 IS NULL OR occurred_at >= $4) AND ($5 IS NULL OR occurred_at < $5) \
               AND event_id > $6 \
             ORDER BY event_id LIMIT $7"
        ))
        .bind(authority.as_str())
        .bind(f.resource)
        .bind(f.action)
        .bind(f.from)
        .bind(f.to)
        .bind(after_event_id)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        rows.into_iter().map(AuditEvent::try_from).collect()
    }

    async fn select_audit_chain(
        &mut self,
        authority: &LaCode,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChainedEvent>> {
        let rows: Vec<ChainedEventRow> = sqlx::query_as(concat!(
            "SELECT ",
            audit_event_columns!(),
            " FROM audit_events WHERE authority_code = $1 AND event_id > $2 \
             ORDER BY event_id LIMIT $3"
        ))
        .bind(authority.as_str())
        .bind(after_event_id)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(rows.into_iter().map(ChainedEvent::from).collect())
    }

    async fn select_audit_chain_head(
        &mut self,
        authority: &LaCode,
    ) -> StoreResult<Option<ChainHead>> {
        let row: Option<(i64, String)> = sqlx::query_as(
            "SELECT last_event_id, last_hash FROM audit_chain_heads WHERE authority_code = $1",
        )
        .bind(authority.as_str())
        .fetch_optional(&mut *self.conn)
        .await?;
        Ok(row.map(|(last_event_id, last_hash)| ChainHead {
            last_event_id,
            last_hash,
        }))
    }

    /// Writes the events appended in this unit, each authority's linked into its
    /// chain. Reserving the ids updates the authority's chain head, which keeps
    /// its row lock until commit: a concurrent unit appending for the same
    /// authority waits here, then links to this unit's last event.
    ///
    /// The cost: commits of one authority's mutations take turns, from here to
    /// the end of COMMIT (about 1.5 ms each on PostgreSQL on a developer
    /// machine, a ceiling near 600 a second per authority; see README). The rest
    /// of each unit, and other authorities, run concurrently. On SQLite the
    /// single writer serialised commits already.
    async fn write_pending_audit(&mut self) -> StoreResult<()> {
        let pending = std::mem::take(&mut self.pending_audit);
        let mut by_authority: std::collections::BTreeMap<&str, Vec<&PendingAudit>> =
            Default::default();
        for e in &pending {
            by_authority.entry(&e.authority).or_default().push(e);
        }
        // In authority order, so two units cannot wait on each other's heads.
        for (authority, events) in by_authority {
            let count = events.len() as i64;
            let (last_id, mut prev_hash): (i64, String) = sqlx::query_as(
                "INSERT INTO audit_chain_heads (authority_code, last_event_id, last_hash) \
                 VALUES ($1, $2, $3) ON CONFLICT (authority_code) \
                 DO UPDATE SET last_event_id = audit_chain_heads.last_event_id + $2 \
                 RETURNING last_event_id, last_hash",
            )
            .bind(authority)
            .bind(count)
            .bind(audit::GENESIS_HASH)
            .fetch_one(&mut *self.conn)
            .await?;
            for (event_id, e) in (last_id - count + 1..).zip(events) {
                let last = event_id == last_id;
                let hash = audit::event_hash(
                    &prev_hash,
                    &EventFields {
                        authority,
                        event_id,
                        occurred_at: e.at,
                        actor_subject: &e.actor_subject,
                        actor_role: e.actor_role,
                        action: &e.action,
                        resource: &e.resource,
                        request_id: &e.request_id,
                        details: &e.details,
                    },
                );
                let head_too = DB::INSERT_LAST_AUDIT_EVENT.filter(|_| last);
                sqlx::query(head_too.unwrap_or(
                    "INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, \
                     actor_role, action, resource, request_id, details, prev_hash, hash) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                ))
                .bind(authority)
                .bind(event_id)
                .bind(e.at)
                .bind(&e.actor_subject)
                .bind(e.actor_role)
                .bind(&e.action)
                .bind(&e.resource)
                .bind(&e.request_id)
                .bind(&e.details)
                .bind(&prev_hash)
                .bind(&hash)
                .execute(&mut *self.conn)
                .await?;
                prev_hash = hash;
            }
            if DB::INSERT_LAST_AUDIT_EVENT.is_none() {
                sqlx::query(
                    "UPDATE audit_chain_heads SET last_hash = $2 WHERE authority_code = $1",
                )
                .bind(authority)
                .bind(&prev_hash)
                .execute(&mut *self.conn)
                .await?;
            }
        }
        Ok(())
    }

    async fn select_notice(
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

    async fn select_notices(
        &mut self,
        authority: &LaCode,
        f: &NoticeFilter<'_>,
        today: NaiveDate,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Notice>> {
        let (after_date, after_number) = after.unzip();
        // The status expression mirrors `Notice::status`: facts first, then the date.
        // tests/api/store_rules.rs checks that the two agree on every case.
        // The page is cut in a subquery and the money summed for its rows only:
        // summed in the outer select of the filter, a plan made while the table
        // was small (a seq scan and sort) summed every notice of the authority
        // before the LIMIT, seconds a call at a few thousand notices.
        let rows: Vec<NoticeRow> = sqlx::query_as(concat!(
            "SELECT ",
            notice_columns!(),
            ", ",
            notice_sums!(),
            " FROM (SELECT * FROM notices WHERE authority_code = $1 \
              AND ($2 IS NULL OR school_urn = $2) \
              AND ($3 IS NULL OR upn = $3) \
              AND ($4 IS NULL OR parent_person_id = $4) \
              AND ($5 IS NULL OR kind = $5) \
              AND ($6 IS NULL OR issue_date >= $6) \
              AND ($7 IS NULL OR issue_date <= $7) \
              AND ($8 IS NULL OR $8 = CASE \
                    WHEN withdrawal_date IS NOT NULL THEN 'withdrawn' \
                    WHEN prosecution_result IS NOT NULL THEN 'prosecuted' \
                    WHEN paid_rate IS NOT NULL THEN 'paid' \
                    WHEN kind = 'penalty_notice' AND higher_deadline < $9 THEN 'unpaid' \
                    WHEN kind = 'notice_to_improve' AND improvement_end_date < $9 THEN 'improvement_period_ended' \
                    ELSE 'issued' END) \
              AND ($10 IS NULL OR issue_date > $10 OR (issue_date = $10 AND notice_number > $11)) \
              AND ($13 IS NULL OR issuer_subject = $13) \
            ORDER BY issue_date, notice_number LIMIT $12) AS notices \
            ORDER BY issue_date, notice_number"
        ))
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
        .fetch_all(&mut *self.conn)
        .await?;
        rows.into_iter().map(Notice::try_from).collect()
    }

    /// A payment row completed with its allocations and refunds, and its fingerprint.
    async fn payment_parts(
        &mut self,
        authority: &LaCode,
        row: PaymentRow,
    ) -> StoreResult<(Payment, String)> {
        let allocations: Vec<AllocationRow> = sqlx::query_as(
            "SELECT notice_number, amount_pence, applied_pence, refund_due_pence FROM allocations \
             WHERE authority_code = $1 AND payment_id = $2 ORDER BY notice_number",
        )
        .bind(authority.as_str())
        .bind(row.payment_id())
        .fetch_all(&mut *self.conn)
        .await?;
        let refunds: Vec<RefundRow> = sqlx::query_as(
            "SELECT provider_refund_id, amount_pence, refund_date, reason, notice_number FROM refunds \
             WHERE authority_code = $1 AND payment_id = $2 ORDER BY created_at, provider_refund_id",
        )
        .bind(authority.as_str())
        .bind(row.payment_id())
        .fetch_all(&mut *self.conn)
        .await?;
        row.into_payment(allocations, refunds)
    }

    async fn select_payments(
        &mut self,
        authority: &LaCode,
        f: &PaymentFilter<'_>,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Payment>> {
        let (after_date, after_id) = after.unzip();
        // "Unallocated" is `Payment::unallocated_pence`: the amount less what is
        // allocated to notices. Refunds of unallocated money do not change it
        // (checked against the domain in tests/api/store_rules.rs).
        let rows: Vec<PaymentRow> = sqlx::query_as(concat!(
            payment_select!(),
            " WHERE p.authority_code = $1 \
              AND ($2 IS NULL OR EXISTS (SELECT 1 FROM allocations a WHERE a.authority_code = p.authority_code \
                   AND a.payment_id = p.payment_id AND a.notice_number = $2)) \
              AND (NOT $3 OR p.amount_pence \
                   - (SELECT COALESCE(SUM(a.amount_pence), 0) FROM allocations a \
                      WHERE a.authority_code = p.authority_code AND a.payment_id = p.payment_id) > 0) \
              AND ($4 IS NULL OR p.paid_date >= $4) \
              AND ($5 IS NULL OR p.paid_date <= $5) \
              AND ($6 IS NULL OR p.paid_date > $6 OR (p.paid_date = $6 AND p.payment_id > $7)) \
            ORDER BY p.paid_date, p.payment_id LIMIT $8"
        ))
        .bind(authority.as_str())
        .bind(f.notice_number)
        .bind(f.unallocated_only)
        .bind(f.paid_from)
        .bind(f.paid_to)
        .bind(after_date)
        .bind(after_id)
        .bind(limit)
        .fetch_all(&mut *self.conn)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            out.push(self.payment_parts(authority, row).await?.0);
        }
        Ok(out)
    }
}

impl<DB: Database> Tx<DB> {
    /// The unit's connection, for the shared SQL in `attendance.rs`.
    pub(super) fn conn(&mut self) -> &mut DB::Connection {
        &mut self.conn
    }
}

impl<DB: Database> Drop for Tx<DB> {
    fn drop(&mut self) {
        if !self.finished {
            self.conn.close_on_drop();
        }
    }
}

/// `Store::ping` for either backend: `SELECT 1` on an idle pool connection, on a
/// new pool connection while the pool has room, or else on a connection of its
/// own (every pooled one is busy with calls, and queueing behind them would take
/// a busy pool for a dead database), all within the acquire timeout.
pub(super) async fn ping<DB>(pool: &Pool<DB>) -> StoreResult<()>
where
    DB: Database,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    let deadline = tokio::time::Instant::now() + pool.options().get_acquire_timeout();
    let timed_out = || {
        sqlx::Error::Io(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the database did not answer within the acquire timeout",
        ))
    };
    if pool.is_closed() {
        return Err(sqlx::Error::PoolClosed.into());
    }
    // With an idle connection the pool tests it first (and replaces it if it
    // went stale, as across a database restart); with room it opens one.
    let idle_or_room = pool.num_idle() > 0 || pool.size() < pool.options().get_max_connections();
    if idle_or_room {
        let mut conn = pool.acquire().await?;
        let answered = tokio::time::timeout_at(deadline, select_one(&mut *conn)).await;
        let failure = match answered {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e,
            Err(_) => timed_out(),
        };
        // Broken, or cut mid-query: not fit to go back to the pool.
        conn.close_on_drop();
        return Err(failure.into());
    }
    let options = pool.connect_options();
    let connecting = <DB::Connection as sqlx::Connection>::connect_with(&options);
    let mut own = tokio::time::timeout_at(deadline, connecting)
        .await
        .map_err(|_| timed_out())??;
    let answered = tokio::time::timeout_at(deadline, select_one(&mut own))
        .await
        .map_err(|_| timed_out())?;
    let _ = sqlx::Connection::close(own).await;
    Ok(answered?)
}

async fn select_one<DB: Database>(conn: &mut DB::Connection) -> Result<(), sqlx::Error>
where
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
{
    sqlx::raw_sql("SELECT 1").execute(conn).await.map(|_| ())
}

/// Maps a unique-key violation to `Duplicate(what)`.
fn duplicate_as(what: impl FnOnce() -> String) -> impl FnOnce(sqlx::Error) -> StoreError {
    move |e| match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Duplicate(what()),
        _ => StoreError::Database(e),
    }
}

#[async_trait]
impl<DB> StoreTx for Tx<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    usize: ColumnIndex<DB::Row>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB> + ColumnIndex<DB::Row>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q [u8]: Encode<'q, DB> + Type<DB>,
    String: Column<DB>,
    Option<String>: Column<DB>,
    i64: Column<DB>,
    Option<i64>: Column<DB>,
    i32: Column<DB>,
    Option<i32>: Column<DB>,
    i16: Column<DB>,
    bool: Column<DB>,
    NaiveDate: Column<DB>,
    Option<NaiveDate>: Column<DB>,
    DateTime<Utc>: Column<DB>,
    Option<DateTime<Utc>>: Column<DB>,
    Vec<u8>: Column<DB>,
{
    async fn claim_request(
        &mut self,
        key: &RequestKey<'_>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<StoredRequest>> {
        // On PostgreSQL a concurrent claim of the same id waits here until the
        // first transaction ends, then sees its committed row (or takes the id).
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (authority_code, request_id, method, fingerprint, created_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
        )
        .bind(key.authority.as_str())
        .bind(key.request_id)
        .bind(key.method)
        .bind(key.fingerprint)
        .bind(at)
        .execute(&mut *self.conn)
        .await?;
        if DB::rows_affected(&inserted) == 1 {
            return Ok(None);
        }
        let row: StoredRequestRow = sqlx::query_as(
            "SELECT method, fingerprint, response FROM idempotency_keys \
             WHERE authority_code = $1 AND request_id = $2",
        )
        .bind(key.authority.as_str())
        .bind(key.request_id)
        .fetch_one(&mut *self.conn)
        .await?;
        row.try_into().map(Some)
    }

    async fn complete_request(&mut self, key: &RequestKey<'_>, response: &[u8]) -> StoreResult<()> {
        sqlx::query(
            "UPDATE idempotency_keys SET response = $3 WHERE authority_code = $1 AND request_id = $2",
        )
        .bind(key.authority.as_str())
        .bind(key.request_id)
        .bind(response)
        .execute(&mut *self.conn)
        .await?;
        Ok(())
    }

    async fn append_audit(&mut self, event: &NewAuditEvent<'_>) -> StoreResult<()> {
        self.pending_audit.push(PendingAudit {
            authority: event.authority.as_str().to_string(),
            at: audit::chained_instant(event.at),
            actor_subject: event.actor.subject.clone(),
            actor_role: event.actor.role_str(),
            action: event.action.to_string(),
            resource: event.resource.to_string(),
            request_id: event.request_id.to_string(),
            details: event.details.to_string(),
        });
        Ok(())
    }

    async fn insert_policy_version(
        &mut self,
        authority: &LaCode,
        v: &PolicyVersion,
    ) -> StoreResult<()> {
        self.policy_versions = None;
        let r = &v.rules;
        let published = v.published.as_ref().ok_or_else(|| {
            StoreError::Corrupt("an authority's version needs its publication".into())
        })?;
        sqlx::query(concat!(
            "INSERT INTO policy_versions (authority_code, ",
            policy_version_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21, $22, $23)"
        ))
        .bind(authority.as_str())
        .bind(v.effective_from)
        .bind(r.lower_amount_pence)
        .bind(r.lower_period_days)
        .bind(r.higher_amount_pence)
        .bind(r.higher_period_days)
        .bind(r.second_notice_amount_pence)
        .bind(r.threshold.sessions)
        .bind(r.threshold.window_school_weeks)
        .bind(join_list(
            r.threshold.qualifying_codes.iter().map(String::as_str),
        ))
        .bind(r.max_notices_per_parent_per_child)
        .bind(r.notice_limit_period_years)
        .bind(r.notice_to_improve_min_school_weeks)
        .bind(r.notice_to_improve_max_school_weeks)
        .bind(join_list(
            r.notice_to_improve_required_for.iter().map(|x| x.as_str()),
        ))
        .bind(join_list(r.permitted_issuers.iter().map(|x| x.as_str())))
        .bind(r.request_deadline_school_days)
        .bind(r.part_payments_accepted)
        .bind(r.evidence.as_str())
        .bind(published.at)
        .bind(&published.by.subject)
        .bind(published.by.role_str())
        .bind(r.school_requests_accepted)
        .execute(&mut *self.conn)
        .await
        .map_err(duplicate_as(|| {
            format!(
                "a policy version of authority {authority} effective from {}",
                v.effective_from
            )
        }))?;
        Ok(())
    }

    async fn insert_authority_settings(
        &mut self,
        authority: &LaCode,
        s: &AuthoritySettings,
    ) -> StoreResult<()> {
        let d = &s.details;
        sqlx::query(
            "INSERT INTO authority_settings (authority_code, effective_from, authority_name, \
             address_lines, postcode, payment_url, payment_telephone, questions_contact, \
             created_at, created_by_subject, created_by_role) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(authority.as_str())
        .bind(s.effective_from)
        .bind(&d.name)
        .bind(to_json(&d.address.lines))
        .bind(&d.address.postcode)
        .bind(&d.payment_url)
        .bind(&d.payment_telephone)
        .bind(&d.questions_contact)
        .bind(s.published_at)
        .bind(&s.published_by.subject)
        .bind(s.published_by.role_str())
        .execute(&mut *self.conn)
        .await
        .map_err(duplicate_as(|| {
            format!(
                "letter settings of authority {authority} effective from {}",
                s.effective_from
            )
        }))?;
        Ok(())
    }

    async fn authority_settings(
        &mut self,
        authority: &LaCode,
    ) -> StoreResult<Vec<AuthoritySettings>> {
        let rows: Vec<AuthoritySettingsRow> = sqlx::query_as(
            "SELECT effective_from, authority_name, address_lines, postcode, payment_url, \
             payment_telephone, questions_contact, created_at, created_by_subject, \
             created_by_role FROM authority_settings WHERE authority_code = $1 \
             ORDER BY effective_from",
        )
        .bind(authority.as_str())
        .fetch_all(&mut *self.conn)
        .await?;
        rows.into_iter().map(AuthoritySettings::try_from).collect()
    }

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
        let rows: Vec<NoticeRow> = sqlx::query_as(concat!(
            notice_select!(),
            " WHERE authority_code = $1 AND upn = $2 ORDER BY issue_date, notice_number"
        ))
        .bind(authority.as_str())
        .bind(upn.as_str())
        .fetch_all(&mut *self.conn)
        .await?;
        rows.into_iter().map(Notice::try_from).collect()
    }

    async fn next_serial(&mut self, authority: &LaCode, series: &str) -> StoreResult<i64> {
        const NEXT: &str = "INSERT INTO serials (authority_code, series, last_value) VALUES ($1, $2, 1) \
             ON CONFLICT (authority_code, series) DO UPDATE SET last_value = serials.last_value + 1 \
             RETURNING last_value";
        let query = sqlx::query_scalar(NEXT)
            .bind(authority.as_str())
            .bind(series);
        let serial: i64 = match &self.numbering {
            // Committed on its own at once: the row is locked for this one
            // statement, so concurrent units take numbers without waiting for each
            // other's commits. A number taken by a unit that then rolls back is
            // not used again (a gap), as with a database sequence.
            Some(numbering) => query.fetch_one(numbering).await?,
            // In this unit: the row stays locked until it commits (SQLite's
            // single writer serialises the units anyway).
            None => query.fetch_one(&mut *self.conn).await?,
        };
        Ok(serial)
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
             $35, $36, $37, $38, $39, $40, $41, $42, $43, $44, $45, $46, $47, $48, $49, $50, $51)"
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

    async fn find_payment_by_provider_id(
        &mut self,
        authority: &LaCode,
        provider_payment_id: &str,
    ) -> StoreResult<Option<(Payment, String)>> {
        let row: Option<PaymentRow> = sqlx::query_as(concat!(
            payment_select!(),
            " WHERE p.authority_code = $1 AND p.provider_payment_id = $2"
        ))
        .bind(authority.as_str())
        .bind(provider_payment_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => self.payment_parts(authority, row).await.map(Some),
        }
    }

    async fn payment_for_update(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
    ) -> StoreResult<Option<Payment>> {
        if let Some(sql) = DB::LOCK_PAYMENT {
            sqlx::query(sql)
                .bind(format!("payments/{authority}/{payment_id}"))
                .execute(&mut *self.conn)
                .await?;
        }
        // A statement of its own after the lock, so it reads what the unit
        // that held the lock committed.
        let row: Option<PaymentRow> = sqlx::query_as(concat!(
            payment_select!(),
            " WHERE p.authority_code = $1 AND p.payment_id = $2"
        ))
        .bind(authority.as_str())
        .bind(payment_id)
        .fetch_optional(&mut *self.conn)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => Ok(Some(self.payment_parts(authority, row).await?.0)),
        }
    }

    async fn insert_payment(
        &mut self,
        authority: &LaCode,
        p: &Payment,
        fingerprint: &str,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO payments (authority_code, payment_id, amount_pence, paid_date, received_at, \
             channel, provider, provider_payment_id, payer_reference, payer_name, request_fingerprint, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(authority.as_str())
        .bind(&p.payment_id)
        .bind(p.amount_pence)
        .bind(p.paid_date)
        .bind(p.received_at)
        .bind(p.channel.as_str())
        .bind(&p.provider)
        .bind(&p.provider_payment_id)
        .bind(&p.payer_reference)
        .bind(&p.payer_name)
        .bind(fingerprint)
        .bind(p.created_at)
        .execute(&mut *self.conn)
        .await
        .map_err(duplicate_as(|| format!("payment with provider payment id {}", p.provider_payment_id)))?;
        Ok(())
    }

    async fn set_allocations(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        allocations: &[(String, i64)],
    ) -> StoreResult<()> {
        sqlx::query("DELETE FROM allocations WHERE authority_code = $1 AND payment_id = $2")
            .bind(authority.as_str())
            .bind(payment_id)
            .execute(&mut *self.conn)
            .await?;
        for (notice_number, amount) in allocations {
            // Nothing counts until the notice's money is settled in this transaction.
            sqlx::query(
                "INSERT INTO allocations (authority_code, payment_id, notice_number, amount_pence, \
                 applied_pence, refund_due_pence) VALUES ($1, $2, $3, $4, 0, $4)",
            )
            .bind(authority.as_str())
            .bind(payment_id)
            .bind(notice_number)
            .bind(amount)
            .execute(&mut *self.conn)
            .await?;
        }
        Ok(())
    }

    async fn notice_allocations(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Vec<AllocationFact>> {
        // Each payment by its primary key, in subqueries: as a join, a plan
        // cached while `payments` was small (a prepared statement's generic plan,
        // or statistics from before a load) hashes the whole table on every call,
        // so RecordPayment slowed as payments grew, by as much as the plan
        // happened to be. Lookups by key cost the same whatever the statistics.
        let rows: Vec<AllocationFactRow> = sqlx::query_as(
            "SELECT a.payment_id, a.amount_pence, \
             (SELECT p.paid_date FROM payments p \
              WHERE p.authority_code = a.authority_code AND p.payment_id = a.payment_id) AS paid_date, \
             (SELECT p.received_at FROM payments p \
              WHERE p.authority_code = a.authority_code AND p.payment_id = a.payment_id) AS received_at \
             FROM allocations a \
             WHERE a.authority_code = $1 AND a.notice_number = $2 ORDER BY a.payment_id",
        )
        .bind(authority.as_str())
        .bind(notice_number)
        .fetch_all(&mut *self.conn)
        .await?;
        Ok(rows.into_iter().map(AllocationFact::from).collect())
    }

    async fn apply_notice_money(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        money: &NoticeMoney,
    ) -> StoreResult<()> {
        // Only allocations whose figures changed are written. A new payment
        // usually changes its own allocation alone; rewriting every allocation
        // made each payment to a notice cost one statement per earlier payment
        // to it, so RecordPayment slowed as notices were paid in instalments.
        let stored: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT payment_id, applied_pence, refund_due_pence FROM allocations \
             WHERE authority_code = $1 AND notice_number = $2",
        )
        .bind(authority.as_str())
        .bind(notice_number)
        .fetch_all(&mut *self.conn)
        .await?;
        let stored: std::collections::HashMap<&str, (i64, i64)> = stored
            .iter()
            .map(|(id, applied, refund)| (id.as_str(), (*applied, *refund)))
            .collect();
        for a in &money.allocations {
            if stored.get(a.payment_id.as_str()) == Some(&(a.applied_pence, a.refund_due_pence)) {
                continue;
            }
            sqlx::query(
                "UPDATE allocations SET applied_pence = $4, refund_due_pence = $5 \
                 WHERE authority_code = $1 AND payment_id = $2 AND notice_number = $3",
            )
            .bind(authority.as_str())
            .bind(&a.payment_id)
            .bind(notice_number)
            .bind(a.applied_pence)
            .bind(a.refund_due_pence)
            .execute(&mut *self.conn)
            .await?;
        }
        sqlx::query("UPDATE notices SET paid_rate = $3, paid_date = $4 WHERE authority_code = $1 AND notice_number = $2")
            .bind(authority.as_str())
            .bind(notice_number)
            .bind(money.settlement.as_ref().map(|s| s.rate.as_str()))
            .bind(money.settlement.as_ref().map(|s| s.date))
            .execute(&mut *self.conn)
            .await?;
        Ok(())
    }

    async fn refund_fingerprint(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        provider_refund_id: &str,
    ) -> StoreResult<Option<String>> {
        Ok(sqlx::query_scalar(
            "SELECT request_fingerprint FROM refunds \
             WHERE authority_code = $1 AND payment_id = $2 AND provider_refund_id = $3",
        )
        .bind(authority.as_str())
        .bind(payment_id)
        .bind(provider_refund_id)
        .fetch_optional(&mut *self.conn)
        .await?)
    }

    async fn insert_refund(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        r: &Refund,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO refunds (authority_code, payment_id, provider_refund_id, amount_pence, refund_date, \
             reason, notice_number, request_fingerprint, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(authority.as_str())
        .bind(payment_id)
        .bind(&r.provider_refund_id)
        .bind(r.amount_pence)
        .bind(r.refund_date)
        .bind(&r.reason)
        .bind(r.notice_number.as_deref())
        .bind(fingerprint)
        .bind(at)
        .execute(&mut *self.conn)
        .await
        .map_err(duplicate_as(|| format!("refund {}", r.provider_refund_id)))?;
        Ok(())
    }

    async fn record_marks(
        &mut self,
        authority: &LaCode,
        marks: &[RegisterMark],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<(MarkCounts, Vec<ReplacedMark>)> {
        self.write_marks(authority, marks, request_id, at).await
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

    async fn pupil_marks(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SchoolMark>> {
        self.select_pupil_marks(authority, upn, from, to).await
    }

    async fn pupil_schools(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT school_urn FROM attendance_enrolments \
             WHERE authority_code = $1 AND upn = $2 ORDER BY school_urn",
        )
        .bind(authority.as_str())
        .bind(upn.as_str())
        .fetch_all(&mut *self.conn)
        .await?)
    }

    async fn school_weeks_of(
        &mut self,
        authority: &LaCode,
        school: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<(Vec<NaiveDate>, Option<(NaiveDate, NaiveDate)>)> {
        self.select_school_weeks_of(authority, school, from, to)
            .await
    }

    async fn policy_versions(
        &mut self,
        authority: &LaCode,
        after: Option<NaiveDate>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyVersion>> {
        let all = after.is_none() && limit == i64::MAX;
        if all
            && let Some((read_for, versions)) = &self.policy_versions
            && read_for == authority
        {
            return Ok(versions.clone());
        }
        let versions = self.select_policy_versions(authority, after, limit).await?;
        if all {
            self.policy_versions = Some((authority.clone(), versions.clone()));
        }
        Ok(versions)
    }

    async fn audit_events(
        &mut self,
        authority: &LaCode,
        filter: &AuditFilter<'_>,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>> {
        self.select_audit_events(authority, filter, after_event_id, limit)
            .await
    }

    async fn audit_chain(
        &mut self,
        authority: &LaCode,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChainedEvent>> {
        self.select_audit_chain(authority, after_event_id, limit)
            .await
    }

    async fn audit_chain_head(&mut self, authority: &LaCode) -> StoreResult<Option<ChainHead>> {
        self.select_audit_chain_head(authority).await
    }

    async fn notice(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Option<Notice>> {
        self.select_notice(authority, notice_number).await
    }

    async fn list_notices(
        &mut self,
        authority: &LaCode,
        filter: &NoticeFilter<'_>,
        today: NaiveDate,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Notice>> {
        self.select_notices(authority, filter, today, after, limit)
            .await
    }

    async fn list_payments(
        &mut self,
        authority: &LaCode,
        filter: &PaymentFilter<'_>,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Payment>> {
        self.select_payments(authority, filter, after, limit).await
    }

    async fn enrolment_figures(
        &mut self,
        authority: &LaCode,
        scope: AttendanceScope<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<EnrolmentFigures>> {
        self.select_enrolment_figures(authority, scope, from, to)
            .await
    }

    async fn latest_school_weeks(
        &mut self,
        authority: &LaCode,
        last_week: NaiveDate,
        per_school: i64,
        pupil: Option<&str>,
    ) -> StoreResult<Vec<(String, NaiveDate)>> {
        self.select_latest_school_weeks(authority, last_week, per_school, pupil)
            .await
    }

    async fn threshold_candidates(
        &mut self,
        authority: &LaCode,
        filter: &QualifyingFilter<'_>,
        school: Option<&Urn>,
        at_least: i64,
        after_upn: &str,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        self.select_threshold_candidates(authority, filter, school, at_least, after_upn, limit)
            .await
    }

    async fn qualifying_marks(
        &mut self,
        authority: &LaCode,
        upns: &[String],
        filter: &QualifyingFilter<'_>,
    ) -> StoreResult<Vec<SchoolMark>> {
        self.select_qualifying_marks(authority, upns, filter).await
    }

    async fn enrolments_between(
        &mut self,
        authority: &LaCode,
        upns: &[String],
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<(String, String)>> {
        self.select_enrolments_between(authority, upns, from, to)
            .await
    }

    async fn notices_of_pupils(
        &mut self,
        authority: &LaCode,
        upns: &[String],
    ) -> StoreResult<Vec<Notice>> {
        self.select_notices_of_pupils(authority, upns).await
    }

    async fn mark_history(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        school: &Urn,
        date: NaiveDate,
        session: Session,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>> {
        self.select_mark_history(authority, upn, school, date, session)
            .await
    }

    async fn school(&mut self, authority: &LaCode, urn: &Urn) -> StoreResult<Option<School>> {
        self.select_school(authority, urn).await
    }

    async fn school_version(
        &mut self,
        authority: &LaCode,
        urn: &Urn,
        version: Option<i32>,
    ) -> StoreResult<Option<(School, i32)>> {
        self.select_school_version(authority, urn, version).await
    }

    async fn list_schools(
        &mut self,
        authority: &LaCode,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(School, i32)>> {
        self.select_schools(authority, after, limit).await
    }

    async fn import_schools(
        &mut self,
        authority: &LaCode,
        schools: &[School],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<super::SchoolCounts> {
        self.write_schools(authority, schools, request_id, at).await
    }

    async fn insert_breach_case(
        &mut self,
        authority: &LaCode,
        case: &BreachCase,
        request_id: &str,
    ) -> StoreResult<()> {
        self.write_breach_case(authority, case, request_id).await
    }

    async fn breach_cases(
        &mut self,
        authority: &LaCode,
        filter: &CaseFilter<'_>,
    ) -> StoreResult<Vec<BreachCase>> {
        self.select_breach_cases(authority, filter).await
    }

    async fn insert_referral(
        &mut self,
        authority: &LaCode,
        referral: &Referral,
        request_id: &str,
    ) -> StoreResult<()> {
        self.write_referral(authority, referral, request_id).await
    }

    async fn referral(&mut self, authority: &LaCode, number: i64) -> StoreResult<Option<Referral>> {
        self.select_referral(authority, number).await
    }

    async fn referrals(
        &mut self,
        authority: &LaCode,
        state: Option<ReferralState>,
        school: Option<&str>,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Referral>> {
        self.select_referrals(authority, state, school, after, limit)
            .await
    }

    async fn settle_referral(
        &mut self,
        authority: &LaCode,
        number: i64,
        state: ReferralState,
        decline_reason: &str,
        notice_numbers: &[String],
    ) -> StoreResult<bool> {
        self.settle_referral_row(authority, number, state, decline_reason, notice_numbers)
            .await
    }

    async fn school_days(
        &mut self,
        authority: &LaCode,
        school: &str,
        after: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<i64> {
        self.select_school_days(authority, school, after, to).await
    }

    async fn commit(mut self: Box<Self>) -> StoreResult<()> {
        self.write_pending_audit().await?;
        self.end("COMMIT").await
    }

    async fn rollback(self: Box<Self>) -> StoreResult<()> {
        self.end("ROLLBACK").await
    }
}
