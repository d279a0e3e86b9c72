//! The append-only audit log, hash-chained per authority (see `domain::audit`).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::tx::{PendingAudit, sql_impl};
use super::{StoreError, StoreResult};
use crate::domain::actor::Actor;
use crate::domain::audit::{self, ChainHead, ChainedEvent, Covered, EventFields};
use crate::domain::identifiers::LaCode;

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

#[derive(sqlx::FromRow)]
pub(super) struct AuditEventRow {
    event_id: i64,
    occurred_at: DateTime<Utc>,
    actor_subject: String,
    actor_role: String,
    action: String,
    resource: String,
    request_id: String,
    details: String,
    prev_hash: Option<String>,
    hash: Option<String>,
}

/// The columns of [`AuditEventRow`] (and of [`ChainedEventRow`]), in order.
macro_rules! audit_event_columns {
    () => {
        "event_id, occurred_at, actor_subject, actor_role, action, resource, request_id, details, \
         prev_hash, hash, details_digest, details_salt"
    };
}

impl TryFrom<AuditEventRow> for AuditEvent {
    type Error = StoreError;

    fn try_from(r: AuditEventRow) -> StoreResult<Self> {
        Ok(AuditEvent {
            event_id: r.event_id,
            at: r.occurred_at,
            actor_subject: r.actor_subject,
            actor_role: r.actor_role,
            action: r.action,
            resource: r.resource,
            request_id: r.request_id,
            details: serde_json::from_str(&r.details)
                .map_err(|e| StoreError::Corrupt(format!("audit details: {e}")))?,
            prev_hash: r.prev_hash,
            hash: r.hash,
        })
    }
}

/// An audit event as stored, details as text, for recomputing its hash.
#[derive(sqlx::FromRow)]
pub(super) struct ChainedEventRow {
    event_id: i64,
    occurred_at: DateTime<Utc>,
    actor_subject: String,
    actor_role: String,
    action: String,
    resource: String,
    request_id: String,
    details: String,
    prev_hash: Option<String>,
    hash: Option<String>,
    details_digest: Option<String>,
    details_salt: Option<String>,
}

impl From<ChainedEventRow> for ChainedEvent {
    fn from(r: ChainedEventRow) -> Self {
        ChainedEvent {
            event_id: r.event_id,
            occurred_at: r.occurred_at,
            actor_subject: r.actor_subject,
            actor_role: r.actor_role,
            action: r.action,
            resource: r.resource,
            request_id: r.request_id,
            details: r.details,
            details_digest: r.details_digest,
            details_salt: r.details_salt,
            prev_hash: r.prev_hash,
            hash: r.hash,
        }
    }
}

/// The audit log: events appended in a unit are chained and written at its commit.
#[async_trait]
pub trait AuditStore: Send {
    /// Appends an audit event when the unit commits: then each event gets the
    /// next id of its authority and its link in the authority's hash chain.
    /// Linking last, after every other lock the unit takes, means a unit holds
    /// the chain head only while it commits and cannot deadlock on it.
    async fn append_audit(&mut self, event: &NewAuditEvent<'_>) -> StoreResult<()>;

    /// Audit events of an authority matching `filter`, with `event_id` above
    /// `after_event_id`, oldest first, at most `limit`.
    async fn audit_events(
        &mut self,
        authority: &LaCode,
        filter: &AuditFilter<'_>,
        after_event_id: i64,
        limit: i64,
    ) -> StoreResult<Vec<AuditEvent>>;

    /// An authority's audit events with `event_id` above `after_event_id` and
    /// at most `through`, oldest first, at most `limit` (the event feed, which
    /// reads up to the chain head it read in the same snapshot).
    async fn audit_events_through(
        &mut self,
        authority: &LaCode,
        after_event_id: i64,
        through: i64,
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

    /// Where every authority's chain ends, by authority code (for publishing
    /// checkpoints of them all).
    async fn audit_chain_heads(&mut self) -> StoreResult<Vec<(String, ChainHead)>>;

    /// Erases the details of an authority's v2 events about `resource` (their
    /// salt with them; the digest the chain covers stays): the number erased.
    /// v1 events and events already erased are left as they are.
    async fn erase_audit_details_of(
        &mut self,
        authority: &LaCode,
        resource: &str,
    ) -> StoreResult<u64>;

    /// Erases the details of an authority's v2 events whose action starts with
    /// `action_prefix` and that occurred before `before`: the number erased.
    async fn erase_audit_details_before(
        &mut self,
        authority: &LaCode,
        action_prefix: &str,
        before: DateTime<Utc>,
    ) -> StoreResult<u64>;
}

sql_impl! {
    impl AuditStore for Tx {
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

        async fn audit_events(
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

        async fn audit_events_through(
            &mut self,
            authority: &LaCode,
            after_event_id: i64,
            through: i64,
            limit: i64,
        ) -> StoreResult<Vec<AuditEvent>> {
            let rows: Vec<AuditEventRow> = sqlx::query_as(concat!(
                "SELECT ",
                audit_event_columns!(),
                " FROM audit_events WHERE authority_code = $1 AND event_id > $2 \
                 AND event_id <= $3 ORDER BY event_id LIMIT $4"
            ))
            .bind(authority.as_str())
            .bind(after_event_id)
            .bind(through)
            .bind(limit)
            .fetch_all(&mut *self.conn)
            .await?;
            rows.into_iter().map(AuditEvent::try_from).collect()
        }

        async fn audit_chain(
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

        async fn audit_chain_head(
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

        async fn audit_chain_heads(&mut self) -> StoreResult<Vec<(String, ChainHead)>> {
            let rows: Vec<(String, i64, String)> = sqlx::query_as(
                "SELECT authority_code, last_event_id, last_hash FROM audit_chain_heads \
                 ORDER BY authority_code",
            )
            .fetch_all(&mut *self.conn)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(authority, last_event_id, last_hash)| {
                    (authority, ChainHead { last_event_id, last_hash })
                })
                .collect())
        }

        async fn erase_audit_details_of(
            &mut self,
            authority: &LaCode,
            resource: &str,
        ) -> StoreResult<u64> {
            let done = sqlx::query(
                "UPDATE audit_events SET details = $3, details_salt = NULL \
                 WHERE authority_code = $1 AND resource = $2 AND details_salt IS NOT NULL",
            )
            .bind(authority.as_str())
            .bind(resource)
            .bind(audit::ERASED_DETAILS)
            .execute(&mut *self.conn)
            .await?;
            Ok(DB::rows_affected(&done))
        }

        async fn erase_audit_details_before(
            &mut self,
            authority: &LaCode,
            action_prefix: &str,
            before: DateTime<Utc>,
        ) -> StoreResult<u64> {
            let done = sqlx::query(
                "UPDATE audit_events SET details = $4, details_salt = NULL \
                 WHERE authority_code = $1 AND substr(action, 1, length($2)) = $2 \
                   AND occurred_at < $3 AND details_salt IS NOT NULL",
            )
            .bind(authority.as_str())
            .bind(action_prefix)
            .bind(before)
            .bind(audit::ERASED_DETAILS)
            .execute(&mut *self.conn)
            .await?;
            Ok(DB::rows_affected(&done))
        }
    }
}

sql_impl! {
    impl Tx {
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
        pub(super) async fn write_pending_audit(&mut self) -> StoreResult<()> {
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
                let mut rows = Vec::with_capacity(events.len());
                for (event_id, e) in (last_id - count + 1..).zip(events) {
                    let salt = details_salt()?;
                    let digest = audit::details_digest(&salt, &e.details);
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
                            details: Covered::Digest(&digest),
                        },
                    );
                    let prev = std::mem::replace(&mut prev_hash, hash.clone());
                    rows.push((event_id, e, prev, hash, digest, hex::encode(salt)));
                }
                if let Some(all) = DB::INSERT_AUDIT_EVENTS {
                    // Every column as text: the dialect binds lists of strings.
                    let column = |f: &dyn Fn(&AuditRow<'_>) -> String| {
                        DB::list_arg(&rows.iter().map(f).collect::<Vec<String>>())
                    };
                    sqlx::query(all)
                        .bind(authority)
                        .bind(column(&|r| r.0.to_string()))
                        .bind(column(&|r| {
                            r.1.at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
                        }))
                        .bind(column(&|r| r.1.actor_subject.clone()))
                        .bind(column(&|r| r.1.actor_role.to_string()))
                        .bind(column(&|r| r.1.action.clone()))
                        .bind(column(&|r| r.1.resource.clone()))
                        .bind(column(&|r| r.1.request_id.clone()))
                        .bind(column(&|r| r.1.details.clone()))
                        .bind(column(&|r| r.2.clone()))
                        .bind(column(&|r| r.3.clone()))
                        .bind(column(&|r| r.4.clone()))
                        .bind(column(&|r| r.5.clone()))
                        .bind(&prev_hash)
                        .execute(&mut *self.conn)
                        .await?;
                    continue;
                }
                for (event_id, e, prev, hash, digest, salt) in &rows {
                    sqlx::query(
                        "INSERT INTO audit_events (authority_code, event_id, occurred_at, actor_subject, \
                         actor_role, action, resource, request_id, details, prev_hash, hash, \
                         details_digest, details_salt) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                    )
                    .bind(authority)
                    .bind(event_id)
                    .bind(e.at)
                    .bind(&e.actor_subject)
                    .bind(e.actor_role)
                    .bind(&e.action)
                    .bind(&e.resource)
                    .bind(&e.request_id)
                    .bind(&e.details)
                    .bind(prev)
                    .bind(hash)
                    .bind(digest)
                    .bind(salt)
                    .execute(&mut *self.conn)
                    .await?;
                }
                sqlx::query("UPDATE audit_chain_heads SET last_hash = $2 WHERE authority_code = $1")
                    .bind(authority)
                    .bind(&prev_hash)
                    .execute(&mut *self.conn)
                    .await?;
            }
            Ok(())
        }
    }
}

/// An audit event ready to append: its id, the event, the previous hash, its
/// hash, its details' digest and salt (hex).
type AuditRow<'a> = (i64, &'a PendingAudit, String, String, String, String);

/// A fresh random salt for an event's details (see `domain::audit::details_digest`).
fn details_salt() -> StoreResult<[u8; audit::DETAILS_SALT_LEN]> {
    let mut salt = [0u8; audit::DETAILS_SALT_LEN];
    getrandom::fill(&mut salt)
        .map_err(|e| StoreError::Corrupt(format!("no randomness for an audit salt: {e}")))?;
    Ok(salt)
}
