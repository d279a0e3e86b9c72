//! Persistence behind one trait, with a PostgreSQL implementation (production) and
//! a SQLite implementation (the embedded default).
//!
//! Writes go through a [`StoreTx`]: the request-id claim, the change itself and its
//! audit event commit together or not at all. Audit events are appended at
//! commit, linked into their authority's hash chain. SQLite write transactions are
//! `BEGIN IMMEDIATE` (one writer at a time); PostgreSQL relies on unique keys and
//! row locks, so concurrent requests cannot break an invariant on either backend.

mod attendance;
mod cases;
mod common;
mod dialect;
mod outage;
mod postgres;
mod referrals;
mod rows;
mod schools;
mod sqlite;

use std::{path::Path, sync::Arc, time::Duration};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use crate::domain::{
    actor::Actor,
    attendance::{Figures, MarkCounts, PupilMark, RegisterMark},
    audit::{ChainHead, ChainedEvent},
    case::{BreachCase, BreachState},
    evidence::{EvidenceCorrection, ReplacedMark},
    identifiers::{LaCode, Upn, Urn},
    letter::AuthoritySettings,
    notice::{Notice, NoticeKind, NoticeStatus, ProsecutionOutcome, Withdrawal},
    payment::{AllocationFact, NoticeMoney, Payment, Refund},
    policy::PolicyVersion,
    referral::{Referral, ReferralState},
    school::School,
};

pub use postgres::PgStore;
pub use schools::SchoolCounts;
pub use sqlite::SqliteStore;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A row with the same natural key exists (for example a policy version with
    /// the same effective date).
    #[error("{0} already exists")]
    Duplicate(String),
    /// A stored value the code cannot read back: a bug or a hand-edited database.
    #[error("stored data is invalid: {0}")]
    Corrupt(String),
    #[error("database URL '{0}' is neither postgres:// nor sqlite:")]
    UnsupportedUrl(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// A mutation's idempotency key and what identifies the request it came with.
#[derive(Debug, Clone, Copy)]
pub struct RequestKey<'a> {
    pub authority: &'a LaCode,
    pub request_id: &'a str,
    /// The full gRPC method, so one id cannot be replayed against another method.
    pub method: &'a str,
    /// A hash of the whole request.
    pub fingerprint: &'a str,
}

/// A request id that was already used.
#[derive(Debug, Clone)]
pub struct StoredRequest {
    pub method: String,
    pub fingerprint: String,
    /// The encoded response the first request got.
    pub response: Vec<u8>,
}

/// An audit event about to be appended.
#[derive(Debug, Clone)]
pub struct NewAuditEvent<'a> {
    pub authority: &'a LaCode,
    pub at: DateTime<Utc>,
    pub actor: &'a Actor,
    /// What happened, as `resource_type.verb` (for example `policy_version.created`).
    pub action: &'a str,
    /// The resource name it happened to.
    pub resource: &'a str,
    pub request_id: &'a str,
    pub details: serde_json::Value,
}

/// An event of the append-only audit log.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditEvent {
    pub event_id: i64,
    pub at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub action: String,
    pub resource: String,
    pub request_id: String,
    pub details: serde_json::Value,
    /// The previous event's hash in the chain; `None` before the chain existed.
    pub prev_hash: Option<String>,
    /// This event's hash (see `domain::audit`); `None` before the chain existed.
    pub hash: Option<String>,
}

/// Which audit events `audit_events` returns: every set field must match.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditFilter<'a> {
    pub resource: Option<&'a str>,
    pub action: Option<&'a str>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

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
}

/// Which payments `list_payments` returns: every set field must match.
#[derive(Debug, Clone, Default)]
pub struct PaymentFilter<'a> {
    /// Allocated to this notice.
    pub notice_number: Option<&'a str>,
    /// With unallocated money: `Payment::unallocated_pence()` above 0 (refunds of
    /// unallocated money do not change it).
    pub unallocated_only: bool,
    pub paid_from: Option<NaiveDate>,
    pub paid_to: Option<NaiveDate>,
}

/// Which marks an attendance summary covers.
#[derive(Debug, Clone, Copy)]
pub enum AttendanceScope<'a> {
    Authority,
    School(&'a Urn),
    Pupil(&'a Upn),
}

/// One enrolment's (pupil at a school) session counts over a date range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrolmentFigures {
    pub upn: String,
    pub school_urn: String,
    pub figures: Figures,
}

/// A mark of one pupil at one school.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolMark {
    pub upn: String,
    pub school_urn: String,
    pub mark: PupilMark,
}

/// What the threshold query reads: qualifying marks between two dates.
#[derive(Debug, Clone, Copy)]
pub struct QualifyingFilter<'a> {
    pub codes: &'a [String],
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// Which decided breaches `breach_cases` returns, by UPN then case id.
#[derive(Debug, Clone)]
pub struct CaseFilter<'a> {
    /// After this `(upn, case_id)`; `("", 0)` from the start.
    pub after: (&'a str, i64),
    /// Only this pupil's.
    pub upn: Option<&'a str>,
    /// Only cases whose breach's latest session was at this school.
    pub school: Option<&'a str>,
    /// Cases whose last session lies within these dates.
    pub last_session_from: NaiveDate,
    pub last_session_to: NaiveDate,
    /// In one of these states.
    pub states: &'a [BreachState],
    pub limit: i64,
}

/// A table's primary key, foreign keys and other indexes, each with its columns
/// in key order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableKeys {
    pub table: String,
    pub primary_key: Vec<String>,
    pub foreign_keys: Vec<Vec<String>>,
    /// Every index but the primary key's.
    pub indexes: Vec<Vec<String>>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    fn backend(&self) -> Backend;

    /// Applies this backend's migrations.
    async fn migrate(&self) -> StoreResult<()>;

    /// Starts a unit of work that may write. On SQLite it takes the single write
    /// lock at once (`BEGIN IMMEDIATE`). Dropping it unfinished closes its
    /// connection, so the transaction ends on the server and nothing half-done
    /// goes back to the pool.
    async fn begin(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// Starts a read-only unit of work: every read of one call sees one snapshot
    /// (REPEATABLE READ on PostgreSQL, a deferred transaction on SQLite).
    async fn begin_read(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// Starts a read of exactly one statement, outside an explicit transaction:
    /// a single statement is its own transaction and sees one snapshot, so the
    /// `BEGIN` and `COMMIT` round trips buy nothing. Only for units that make one
    /// store call of one statement (a second would see another snapshot).
    async fn begin_single_read(&self) -> StoreResult<Box<dyn StoreTx>>;

    /// The keys of every table of the schema (for the sharding check), migration
    /// bookkeeping excluded.
    async fn table_keys(&self) -> StoreResult<Vec<TableKeys>>;

    /// Connections in the pool, and how many of them are idle.
    fn pool_usage(&self) -> (u32, usize);

    /// Checks that the database answers a trivial query, for the health service.
    /// It uses an idle pool connection, or opens one; when every connection is
    /// busy it opens one of its own rather than queue behind the calls, so a
    /// saturated pool is not taken for an unreachable database. Bounded by the
    /// pool's acquire timeout.
    async fn ping(&self) -> StoreResult<()>;

    /// Waits for connections to close.
    async fn close(&self);
}

/// One unit of work: every read and write of a use case, on one connection in one
/// transaction.
#[async_trait]
pub trait StoreTx: Send {
    /// Claims `key.request_id` for this transaction. `None`: the id is new and now
    /// held by this transaction. `Some`: it was used before (by a committed request).
    async fn claim_request(
        &mut self,
        key: &RequestKey<'_>,
        at: DateTime<Utc>,
    ) -> StoreResult<Option<StoredRequest>>;

    /// Stores the response to a claimed request id.
    async fn complete_request(&mut self, key: &RequestKey<'_>, response: &[u8]) -> StoreResult<()>;

    /// Appends an audit event when the unit commits: then each event gets the
    /// next id of its authority and its link in the authority's hash chain.
    /// Linking last, after every other lock the unit takes, means a unit holds
    /// the chain head only while it commits and cannot deadlock on it.
    async fn append_audit(&mut self, event: &NewAuditEvent<'_>) -> StoreResult<()>;

    /// Inserts an authority's policy version; `Duplicate` if one starts on that date.
    async fn insert_policy_version(
        &mut self,
        authority: &LaCode,
        version: &PolicyVersion,
    ) -> StoreResult<()>;

    /// Inserts a version of an authority's letter settings; `Duplicate` if one
    /// starts on that date.
    async fn insert_authority_settings(
        &mut self,
        authority: &LaCode,
        settings: &AuthoritySettings,
    ) -> StoreResult<()>;

    /// Every version of an authority's letter settings, oldest first.
    async fn authority_settings(
        &mut self,
        authority: &LaCode,
    ) -> StoreResult<Vec<AuthoritySettings>>;

    /// Serialises issuing for one pupil until the transaction ends, so limits and
    /// evidence checks see every notice committed before this one.
    async fn lock_pupil(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<()>;

    /// Every notice of a pupil (to any parent), oldest first.
    async fn pupil_notices(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<Notice>>;

    /// The next number of a series ("notice-2026", "payment"), starting at 1, in
    /// the order units ask. On PostgreSQL it is taken outside the unit (the
    /// counter is not held to commit, so units do not queue behind each other
    /// here), and a unit that rolls back leaves its number unused: a gap.
    async fn next_serial(&mut self, authority: &LaCode, series: &str) -> StoreResult<i64>;

    async fn insert_notice(&mut self, authority: &LaCode, notice: &Notice) -> StoreResult<()>;

    /// One notice, locked against concurrent change until the transaction ends.
    async fn notice_for_update(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Option<Notice>>;

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

    /// The payment a provider's payment id was recorded as, with its request fingerprint.
    async fn find_payment_by_provider_id(
        &mut self,
        authority: &LaCode,
        provider_payment_id: &str,
    ) -> StoreResult<Option<(Payment, String)>>;

    /// One payment, locked against concurrent change until the transaction ends.
    async fn payment_for_update(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
    ) -> StoreResult<Option<Payment>>;

    /// Inserts a payment (without allocations); `Duplicate` if its provider id is known.
    async fn insert_payment(
        &mut self,
        authority: &LaCode,
        payment: &Payment,
        fingerprint: &str,
    ) -> StoreResult<()>;

    /// Replaces a payment's allocations with `(notice number, pence)` pairs. The
    /// notices' money must then be settled with `apply_notice_money`.
    async fn set_allocations(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        allocations: &[(String, i64)],
    ) -> StoreResult<()>;

    /// Every allocation to a notice, with its payment's dates.
    async fn notice_allocations(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
    ) -> StoreResult<Vec<AllocationFact>>;

    /// Stores what the rules made of a notice's money.
    async fn apply_notice_money(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        money: &NoticeMoney,
    ) -> StoreResult<()>;

    /// The request fingerprint of a refund already recorded.
    async fn refund_fingerprint(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        provider_refund_id: &str,
    ) -> StoreResult<Option<String>>;

    /// Inserts a refund; `Duplicate` if its provider id is known for the payment.
    async fn insert_refund(
        &mut self,
        authority: &LaCode,
        payment_id: &str,
        refund: &Refund,
        fingerprint: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<()>;

    /// Writes a batch of marks (no two for the same session): new sessions are
    /// inserted, later different marks replace held ones (which move to the
    /// history), and the enrolment spans and school weeks follow. Returns the
    /// counts and the held marks that were replaced.
    async fn record_marks(
        &mut self,
        authority: &LaCode,
        marks: &[RegisterMark],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<(MarkCounts, Vec<ReplacedMark>)>;

    /// Replaces the corrections of evidence recorded on a notice (locked with
    /// `notice_for_update`).
    async fn record_evidence_corrections(
        &mut self,
        authority: &LaCode,
        notice_number: &str,
        corrections: &[EvidenceCorrection],
    ) -> StoreResult<()>;

    /// Every mark held for a pupil dated `from..=to`, at any school.
    async fn pupil_marks(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<SchoolMark>>;

    /// The schools whose registers a pupil has ever been on.
    async fn pupil_schools(&mut self, authority: &LaCode, upn: &Upn) -> StoreResult<Vec<String>>;

    /// A school's school weeks (Mondays) within `from..=to`, and the first and
    /// last school week it has sent registers for (`None` before any).
    async fn school_weeks_of(
        &mut self,
        authority: &LaCode,
        school: &str,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<(Vec<NaiveDate>, Option<(NaiveDate, NaiveDate)>)>;

    /// An authority's own policy versions with `effective_from` after `after`,
    /// oldest first, at most `limit`.
    async fn policy_versions(
        &mut self,
        authority: &LaCode,
        after: Option<NaiveDate>,
        limit: i64,
    ) -> StoreResult<Vec<PolicyVersion>>;

    /// Audit events of an authority matching `filter`, with `event_id` above
    /// `after_event_id`, oldest first, at most `limit`.
    async fn audit_events(
        &mut self,
        authority: &LaCode,
        filter: &AuditFilter<'_>,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// An authority's audit events as their hashes cover them, with `event_id`
    /// above `after_event_id`, oldest first, at most `limit`.
    async fn audit_chain(
        &mut self,
        authority: &LaCode,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<ChainedEvent>>;

    /// Where an authority's hash chain ends; `None` before its first event.
    async fn audit_chain_head(&mut self, authority: &LaCode) -> StoreResult<Option<ChainHead>>;

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

    /// Payments matching `filter`, by paid date then id, after the cursor.
    async fn list_payments(
        &mut self,
        authority: &LaCode,
        filter: &PaymentFilter<'_>,
        after: Option<(NaiveDate, String)>,
        limit: i64,
    ) -> StoreResult<Vec<Payment>>;

    /// Session counts per enrolment for marks in scope dated `from..=to`.
    async fn enrolment_figures(
        &mut self,
        authority: &LaCode,
        scope: AttendanceScope<'_>,
        from: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<Vec<EnrolmentFigures>>;

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

    /// Every notice of any of `upns`.
    async fn notices_of_pupils(
        &mut self,
        authority: &LaCode,
        upns: &[String],
    ) -> StoreResult<Vec<Notice>>;

    /// The marks a pupil's session has held, current first then replaced ones
    /// newest first: `(code, record_time)`.
    async fn mark_history(
        &mut self,
        authority: &LaCode,
        upn: &Upn,
        school: &Urn,
        date: NaiveDate,
        session: crate::domain::notice::Session,
    ) -> StoreResult<Vec<(String, DateTime<Utc>)>>;

    /// One school of the authority's register.
    async fn school(&mut self, authority: &LaCode, urn: &Urn) -> StoreResult<Option<School>>;

    /// A school as it stands (`version` `None`) or one of its earlier versions,
    /// with its version number.
    async fn school_version(
        &mut self,
        authority: &LaCode,
        urn: &Urn,
        version: Option<i32>,
    ) -> StoreResult<Option<(School, i32)>>;

    /// The register's schools with URNs after `after`, by URN, at most `limit`,
    /// each with its version number.
    async fn list_schools(
        &mut self,
        authority: &LaCode,
        after: Option<&str>,
        limit: i64,
    ) -> StoreResult<Vec<(School, i32)>>;

    /// Loads schools (each URN once) into the register: new ones are added,
    /// changed ones replaced with their held version kept in the history,
    /// identical ones left alone.
    async fn import_schools(
        &mut self,
        authority: &LaCode,
        schools: &[School],
        request_id: &str,
        at: DateTime<Utc>,
    ) -> StoreResult<SchoolCounts>;

    /// Stores a decided breach (numbered by the caller).
    async fn insert_breach_case(
        &mut self,
        authority: &LaCode,
        case: &BreachCase,
        request_id: &str,
    ) -> StoreResult<()>;

    /// Decided breaches matching `filter`, by UPN then case id, at most `filter.limit`.
    async fn breach_cases(
        &mut self,
        authority: &LaCode,
        filter: &CaseFilter<'_>,
    ) -> StoreResult<Vec<BreachCase>>;

    /// Stores a school's request for a penalty notice (numbered by the caller).
    async fn insert_referral(
        &mut self,
        authority: &LaCode,
        referral: &Referral,
        request_id: &str,
    ) -> StoreResult<()>;

    async fn referral(&mut self, authority: &LaCode, number: i64) -> StoreResult<Option<Referral>>;

    /// Requests in `state` (any: `None`) of `school` (any: `None`), by number after `after`.
    async fn referrals(
        &mut self,
        authority: &LaCode,
        state: Option<ReferralState>,
        school: Option<&str>,
        after: i64,
        limit: i64,
    ) -> StoreResult<Vec<Referral>>;

    /// Issues or declines a pending request; false when it is no longer pending.
    async fn settle_referral(
        &mut self,
        authority: &LaCode,
        number: i64,
        state: ReferralState,
        decline_reason: &str,
        notice_numbers: &[String],
    ) -> StoreResult<bool>;

    /// Days with a possible session at `school` after `after` up to `to`.
    async fn school_days(
        &mut self,
        authority: &LaCode,
        school: &str,
        after: NaiveDate,
        to: NaiveDate,
    ) -> StoreResult<i64>;

    async fn commit(self: Box<Self>) -> StoreResult<()>;

    /// Ends the unit of work, undoing its writes.
    async fn rollback(self: Box<Self>) -> StoreResult<()>;
}

/// Opens the store a database URL names: `postgres://...` or `sqlite:...`.
/// On PostgreSQL a call waits at most `acquire_timeout` for a connection (so an
/// unreachable server answers within it); SQLite keeps sqlx's longer default,
/// since its calls only ever wait for the one write lock.
pub async fn connect(
    database_url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> StoreResult<Arc<dyn Store>> {
    if database_url.starts_with("postgres://") || database_url.starts_with("postgresql://") {
        Ok(Arc::new(
            PgStore::connect(database_url, max_connections, acquire_timeout).await?,
        ))
    } else if database_url.starts_with("sqlite:") {
        Ok(Arc::new(
            SqliteStore::connect(database_url, max_connections).await?,
        ))
    } else {
        Err(StoreError::UnsupportedUrl(database_url.to_string()))
    }
}

/// The embedded default: a SQLite file in `data_dir`, created with the directory
/// on first use.
pub fn sqlite_url_in(data_dir: &Path) -> std::io::Result<String> {
    std::fs::create_dir_all(data_dir)?;
    Ok(format!(
        "sqlite://{}",
        data_dir.join("lea-notices.sqlite3").display()
    ))
}
