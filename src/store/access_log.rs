//! The access log (see `domain::access_log`): one row per subject a call read,
//! appended when its unit ends, in one statement.
//!
//! A unit that may write appends its entries inside its transaction, before
//! its audit events and COMMIT. A read-only unit cannot write in its
//! transaction (on PostgreSQL it is `READ ONLY`; on SQLite a read transaction
//! that writes after another writer committed fails rather than waits), so its
//! entries are appended right after its COMMIT, on the same connection, before
//! the use case answers: a read that cannot be recorded fails, and nothing it
//! read is returned. A read that fails (not found, refused) records nothing.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::NoticeStore;
use super::notices::{NoticeRow, NoticeSql};
use super::tx::sql_impl;
use super::{StoreError, StoreResult};
use crate::domain::access::NoticeScope;
use crate::domain::access_log::{self, Accessed, SubjectKind};
use crate::domain::actor::Actor;
use crate::domain::identifiers::LaCode;
use crate::domain::notice::{Notice, Session};
use crate::store::AuditEvent;
use crate::store::marks::changes::session_number;

/// What one call read: appended to the access log when its unit commits.
#[derive(Debug, Clone)]
pub struct NewAccess<'a> {
    pub authority: &'a LaCode,
    pub at: DateTime<Utc>,
    pub actor: &'a Actor,
    /// The RPC, for example `GetNotice`.
    pub method: &'static str,
    pub purpose: Option<&'a str>,
    pub accessed: Vec<Accessed>,
}

/// Who read, when, through which call and why: the entries of a read whose
/// subjects the store finds (see [`AccessLogStore::notice_recording_read`]).
#[derive(Debug, Clone, Copy)]
pub struct ReadBy<'a> {
    pub at: DateTime<Utc>,
    pub actor: &'a Actor,
    /// The RPC, for example `GetNotice`.
    pub method: &'static str,
    pub purpose: Option<&'a str>,
}

/// One entry of the access log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessEvent {
    pub entry_id: i64,
    pub at: DateTime<Utc>,
    pub actor_subject: String,
    pub actor_role: String,
    pub method: String,
    pub resource: String,
    pub subject_kind: SubjectKind,
    pub subject_key: String,
    pub purpose: Option<String>,
}

/// Which entries `access_events` returns: every set field must match.
#[derive(Debug, Clone, Copy, Default)]
pub struct AccessFilter<'a> {
    pub subject: Option<(SubjectKind, &'a str)>,
    pub actor_subject: Option<&'a str>,
    /// At or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Before this instant.
    pub to: Option<DateTime<Utc>>,
}

/// A call's entries waiting for its unit to end.
pub(super) struct PendingAccess {
    authority: String,
    at: DateTime<Utc>,
    actor_subject: String,
    actor_role: &'static str,
    method: &'static str,
    purpose: Option<String>,
    /// `[{"k": kind, "s": key, "r": resource}, ...]`
    subjects: String,
}

/// The statement appending one call's entries, per backend: binds the
/// authority, time, actor subject and role, method, purpose, and the subjects
/// as a JSON array of `{"k", "s", "r"}`.
pub(super) trait AccessSql {
    const INSERT_ACCESS: &'static str;
    /// [`AccessSql::INSERT_ACCESS`] as a read-only unit's entries are
    /// appended, in autocommit right after its COMMIT: on PostgreSQL the
    /// statement's own commit does not wait for its WAL to be flushed
    /// (`synchronous_commit` off for that transaction only), which was most of
    /// what the access log cost a read (BENCHMARKS.md). A crash of the
    /// database (not of the service) may lose the entries of the last moments
    /// (at most three `wal_writer_delay`s, 600 ms by default); the database
    /// stays consistent. Writes keep theirs in their own, synchronous, commit.
    const INSERT_ACCESS_AFTER_READ: &'static str;
    /// One notice read and its read recorded in the same statement, where the
    /// backend can write in a read (a data-modifying `WITH` on PostgreSQL;
    /// `None` on SQLite, where there is no round trip to save): binds the
    /// authority, number, whether the scope takes any school, its schools
    /// (a list), its issuer (or NULL), the time, actor subject and role, method, purpose, the
    /// notice's name, and the pupil's and parent's subject kinds. Run only as
    /// a single statement in autocommit (see
    /// [`AccessLogStore::notice_recording_read`]).
    const NOTICE_READ_RECORDED: Option<&'static str>;
    /// The pupil and parent of each notice whose number is one of the list
    /// bound as `$2` (see [`notice_subjects`]).
    const NOTICE_SUBJECTS: &'static str;
    /// An authority's audit events whose details hold the text bound as `$2`,
    /// oldest first (see [`audit_events_naming`]).
    const AUDIT_EVENTS_NAMING: &'static str;
}

/// [`AccessSql::AUDIT_EVENTS_NAMING`] with a backend's substring test
/// (`$2` within `details`; case-sensitive on both, unlike SQLite's LIKE).
macro_rules! audit_events_naming {
    ($contains:literal) => {
        concat!(
            "SELECT event_id, occurred_at, actor_subject, actor_role, action, resource, \
               request_id, details, prev_hash, hash \
             FROM audit_events WHERE authority_code = $1 AND ",
            $contains,
            " ORDER BY event_id"
        )
    };
}
pub(super) use audit_events_naming;

/// A mark a later one replaced, as kept in the pupil's mark history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacedMark {
    pub school_urn: String,
    pub date: NaiveDate,
    pub session: Session,
    pub code: String,
    pub record_time: DateTime<Utc>,
    pub replaced_at: DateTime<Utc>,
    pub replaced_by_code: String,
}

/// [`AccessSql::NOTICE_SUBJECTS`] with a backend's `any_of!`.
macro_rules! notice_subjects {
    ($any_of:ident) => {
        concat!(
            "SELECT notice_number, upn, parent_person_id FROM notices \
             WHERE authority_code = $1 AND notice_number ",
            $any_of!("$2"),
            " ORDER BY notice_number"
        )
    };
}
pub(super) use notice_subjects;

#[derive(sqlx::FromRow)]
struct AccessRow {
    entry_id: i64,
    accessed_at: DateTime<Utc>,
    actor_subject: String,
    actor_role: String,
    method: String,
    resource: String,
    subject_kind: String,
    subject_key: String,
    purpose: Option<String>,
}

impl TryFrom<AccessRow> for AccessEvent {
    type Error = StoreError;

    fn try_from(r: AccessRow) -> StoreResult<Self> {
        Ok(AccessEvent {
            entry_id: r.entry_id,
            at: r.accessed_at,
            actor_subject: r.actor_subject,
            actor_role: r.actor_role,
            method: r.method,
            resource: r.resource,
            subject_kind: SubjectKind::parse(&r.subject_kind).ok_or_else(|| {
                StoreError::Corrupt(format!("access log subject kind '{}'", r.subject_kind))
            })?,
            subject_key: r.subject_key,
            purpose: r.purpose,
        })
    }
}

/// The access log.
#[async_trait]
pub trait AccessLogStore: Send {
    /// Records what a call read, appended when the unit commits (see the
    /// module's documentation); nothing when it rolls back.
    async fn record_access(&mut self, access: &NewAccess<'_>) -> StoreResult<()>;

    /// The notice numbered `number` if `scope` covers it, and its read
    /// recorded as [`Self::record_access`] records
    /// [`access_log::notice_subjects`](crate::domain::access_log::notice_subjects):
    /// its pupil and its parent, under the notice's name `resource`. Nothing
    /// is recorded when there is no such notice in scope. In a unit that is a
    /// single statement, on PostgreSQL, the entries are written by the read's
    /// own statement ([`AccessSql::NOTICE_READ_RECORDED`]): one round trip,
    /// and a read answered has its entries committed with it (with
    /// `synchronous_commit` off, as [`AccessSql::INSERT_ACCESS_AFTER_READ`]).
    async fn notice_recording_read(
        &mut self,
        authority: &LaCode,
        number: &str,
        scope: NoticeScope<'_>,
        resource: &str,
        read: &ReadBy<'_>,
    ) -> StoreResult<Option<Notice>>;

    /// The pupil (UPN) and parent (person id) of each of an authority's
    /// notices numbered in `numbers`: `(number, upn, person id)`, for
    /// recording a read of something that names notices (payments).
    async fn notice_subjects(
        &mut self,
        authority: &LaCode,
        numbers: &[String],
    ) -> StoreResult<Vec<(String, String, String)>>;

    /// The marks of a pupil that later marks replaced (any school), by date,
    /// session and when replaced.
    async fn replaced_marks_of(
        &mut self,
        authority: &LaCode,
        upn: &str,
    ) -> StoreResult<Vec<ReplacedMark>>;

    /// An authority's audit events whose details hold `text` (a subject's key
    /// as JSON writes it, quotes included), oldest first: a scan of the
    /// authority's log, for the rare subject access export.
    async fn audit_events_naming(
        &mut self,
        authority: &LaCode,
        text: &str,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// An authority's entries matching `filter` with `entry_id` above
    /// `after_entry_id`, oldest first, at most `limit`.
    async fn access_events(
        &mut self,
        authority: &LaCode,
        filter: &AccessFilter<'_>,
        after_entry_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AccessEvent>>;
}

sql_impl! {
    impl AccessLogStore for Tx where [DB: AccessSql + NoticeSql] {
        async fn notice_recording_read(
            &mut self,
            authority: &LaCode,
            number: &str,
            scope: NoticeScope<'_>,
            resource: &str,
            read: &ReadBy<'_>,
        ) -> StoreResult<Option<Notice>> {
            let in_one_statement = DB::NOTICE_READ_RECORDED.filter(|_| {
                self.single_statement()
                    && self.access_on.is_none()
                    && !skipping_access_log()
                    && !access_log_after_read()
            });
            if let Some(sql) = in_one_statement {
                let schools: Vec<String> = scope
                    .schools
                    .unwrap_or_default()
                    .iter()
                    .map(|u| u.as_str().to_string())
                    .collect();
                let row: Option<NoticeRow> = sqlx::query_as(sql)
                    .bind(authority.as_str())
                    .bind(number)
                    .bind(scope.schools.is_none())
                    .bind(DB::list_arg(&schools))
                    .bind(scope.issuer)
                    .bind(read.at)
                    .bind(read.actor.subject.as_str())
                    .bind(read.actor.role_str())
                    .bind(read.method)
                    .bind(read.purpose)
                    .bind(resource)
                    .bind(SubjectKind::Pupil.as_str())
                    .bind(SubjectKind::Parent.as_str())
                    .fetch_optional(&mut *self.conn)
                    .await?;
                return row.map(Notice::try_from).transpose();
            }
            let notice = self
                .notice(authority, number)
                .await?
                .filter(|n| scope.covers(&n.pupil.school_urn, &n.issuer.subject));
            if let Some(n) = &notice {
                let [pupil, parent] = access_log::notice_subjects(authority, n);
                debug_assert_eq!(pupil.resource, resource);
                self.record_access(&NewAccess {
                    authority,
                    at: read.at,
                    actor: read.actor,
                    method: read.method,
                    purpose: read.purpose,
                    accessed: access_log::distinct(vec![pupil, parent]),
                })
                .await?;
            }
            Ok(notice)
        }

        async fn record_access(&mut self, access: &NewAccess<'_>) -> StoreResult<()> {
            if access.accessed.is_empty() {
                return Ok(());
            }
            let subjects: Vec<serde_json::Value> = access
                .accessed
                .iter()
                .map(|a| serde_json::json!({"k": a.kind.as_str(), "s": a.key, "r": a.resource}))
                .collect();
            self.pending_access.push(PendingAccess {
                authority: access.authority.as_str().to_string(),
                at: access.at,
                actor_subject: access.actor.subject.clone(),
                actor_role: access.actor.role_str(),
                method: access.method,
                purpose: access.purpose.map(str::to_string),
                subjects: serde_json::Value::Array(subjects).to_string(),
            });
            Ok(())
        }

        async fn notice_subjects(
            &mut self,
            authority: &LaCode,
            numbers: &[String],
        ) -> StoreResult<Vec<(String, String, String)>> {
            if numbers.is_empty() {
                return Ok(vec![]);
            }
            Ok(sqlx::query_as(DB::NOTICE_SUBJECTS)
                .bind(authority.as_str())
                .bind(DB::list_arg(numbers))
                .fetch_all(&mut *self.conn)
                .await?)
        }

        async fn replaced_marks_of(
            &mut self,
            authority: &LaCode,
            upn: &str,
        ) -> StoreResult<Vec<ReplacedMark>> {
            let rows: Vec<(String, NaiveDate, i16, String, DateTime<Utc>, DateTime<Utc>, String)> =
                sqlx::query_as(
                    "SELECT school_urn, mark_date, session, code, record_time, replaced_at, \
                       replaced_by_code FROM attendance_mark_history \
                     WHERE authority_code = $1 AND upn = $2 \
                     ORDER BY mark_date, session, replaced_at, record_time",
                )
                .bind(authority.as_str())
                .bind(upn)
                .fetch_all(&mut *self.conn)
                .await?;
            rows.into_iter()
                .map(|(school_urn, date, n, code, record_time, replaced_at, replaced_by_code)| {
                    let session = [Session::Am, Session::Pm]
                        .into_iter()
                        .find(|s| session_number(*s) == n)
                        .ok_or_else(|| StoreError::Corrupt(format!("mark history session {n}")))?;
                    Ok(ReplacedMark {
                        school_urn,
                        date,
                        session,
                        code,
                        record_time,
                        replaced_at,
                        replaced_by_code,
                    })
                })
                .collect()
        }

        async fn audit_events_naming(
            &mut self,
            authority: &LaCode,
            text: &str,
        ) -> StoreResult<Vec<AuditEvent>> {
            let rows: Vec<super::audit::AuditEventRow> = sqlx::query_as(DB::AUDIT_EVENTS_NAMING)
                .bind(authority.as_str())
                .bind(text)
                .fetch_all(&mut *self.conn)
                .await?;
            rows.into_iter().map(AuditEvent::try_from).collect()
        }

        async fn access_events(
            &mut self,
            authority: &LaCode,
            f: &AccessFilter<'_>,
            after_entry_id: i64,
            limit: i64,
        ) -> StoreResult<Vec<AccessEvent>> {
            // By subject: the (authority, kind, key, entry) index; by actor:
            // the (authority, actor, entry) index; otherwise the primary key.
            let rows: Vec<AccessRow> = sqlx::query_as(
                "SELECT entry_id, accessed_at, actor_subject, actor_role, method, resource, \
                   subject_kind, subject_key, purpose \
                 FROM access_log \
                 WHERE authority_code = $1 \
                   AND ($2 IS NULL OR (subject_kind = $2 AND subject_key = $3)) \
                   AND ($4 IS NULL OR actor_subject = $4) \
                   AND ($5 IS NULL OR accessed_at >= $5) AND ($6 IS NULL OR accessed_at < $6) \
                   AND entry_id > $7 \
                 ORDER BY entry_id LIMIT $8",
            )
            .bind(authority.as_str())
            .bind(f.subject.map(|(kind, _)| kind.as_str()))
            .bind(f.subject.map(|(_, key)| key))
            .bind(f.actor_subject)
            .bind(f.from)
            .bind(f.to)
            .bind(after_entry_id)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(AccessEvent::try_from).collect()
        }
    }
}

/// The environment variable that makes the server skip writing the access
/// log, **for the RPC benchmark only** (benches/rpc.rs `--access-log-cost`
/// measures GetNotice with and without it, in the same run; BENCHMARKS.md).
/// It is not a configuration setting, is not documented for operators, and is
/// honoured only together with `LEA_NOTICES_DEV_TOKENS=true` (development
/// tokens, which a production deployment never enables).
pub const BENCHMARK_ONLY_SKIP_ACCESS_LOG: &str = "LEA_NOTICES_BENCHMARK_ONLY_SKIP_ACCESS_LOG";

/// As [`BENCHMARK_ONLY_SKIP_ACCESS_LOG`], for the same benchmark only: the
/// server writes a `GetNotice`'s entries as before session 15, an `INSERT`
/// after the read, not in the read's statement, so that the two are measured
/// in the same run.
pub const BENCHMARK_ONLY_ACCESS_LOG_AFTER_READ: &str =
    "LEA_NOTICES_BENCHMARK_ONLY_ACCESS_LOG_AFTER_READ";

/// Whether the benchmark-only switch `name` is set, with development tokens.
fn benchmark_switch(name: &str) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| v == "true");
    set(name) && set("LEA_NOTICES_DEV_TOKENS")
}

/// Whether this process skips writing the access log (see
/// [`BENCHMARK_ONLY_SKIP_ACCESS_LOG`]), read once.
fn skipping_access_log() -> bool {
    static SKIP: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| benchmark_switch(BENCHMARK_ONLY_SKIP_ACCESS_LOG));
    *SKIP
}

/// Whether this process writes a read's entries after it even where the
/// read's statement could (see [`BENCHMARK_ONLY_ACCESS_LOG_AFTER_READ`]).
fn access_log_after_read() -> bool {
    static AFTER: std::sync::LazyLock<bool> =
        std::sync::LazyLock::new(|| benchmark_switch(BENCHMARK_ONLY_ACCESS_LOG_AFTER_READ));
    *AFTER
}

sql_impl! {
    impl Tx where [DB: AccessSql] {
        /// Appends the entries recorded in this unit: one statement for each
        /// call (a unit serves one), however many subjects it read.
        pub(super) async fn write_pending_access(&mut self) -> StoreResult<()> {
            if skipping_access_log() {
                self.pending_access.clear();
                return Ok(());
            }
            let sql = if self.read_only {
                DB::INSERT_ACCESS_AFTER_READ
            } else {
                DB::INSERT_ACCESS
            };
            for e in std::mem::take(&mut self.pending_access) {
                sqlx::query(sql)
                    .bind(&e.authority)
                    .bind(e.at)
                    .bind(&e.actor_subject)
                    .bind(e.actor_role)
                    .bind(e.method)
                    .bind(e.purpose.as_deref())
                    .bind(&e.subjects)
                    .execute(&mut *self.conn)
                    .await?;
            }
            Ok(())
        }
    }
}
