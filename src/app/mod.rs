//! The use cases, one function each, transport-neutral: `src/api/` calls them
//! with domain values and maps their [`ServiceError`] to gRPC once.
//!
//! Every call runs in **one unit of work**: one connection, one transaction, every
//! read it needs inside it (see [`App::write`] and [`App::read`]). The unit runs on
//! a task of its own, so a client that cancels, or the server's request timeout,
//! cannot stop it half-way: it commits or rolls back, and its connection goes back
//! to the pool clean. Time comes from the injected [`Clock`].

mod attendance;
mod audit;
mod breach_decisions;
mod breach_search;
pub mod call;
mod caller;
pub mod checkpoints;
pub mod clock;
mod data_protection;
mod error;
mod events;
mod evidence;
mod idempotency;
mod letters;
mod measures;
mod notices;
mod partitions;
mod payments;
mod penalty_notice_requests;
mod policy;
mod rectification;
mod report;
pub mod retention;
mod schools;
mod sen;
mod sharing;
mod statutory_events;
mod worklist;

use std::{future::Future, sync::Arc};

use chrono::{DateTime, NaiveDate, Utc};
use tracing::Instrument;

pub use attendance::{
    AttendanceSummary, GroupFigures, MarksBatch, PhaseGroup, SchoolGroup, SummaryGrouping,
    SummaryScope,
};
pub use audit::AuditQuery;
pub use breach_search::{BreachPosition, BreachQuery, FoundBreach, RecordedDecision};
pub use caller::{Caller, Read};
pub use data_protection::{AccessQuery, ExportFormat, SubjectExport};
pub use error::{ServiceError, ServiceResult};
pub use events::{EVENT_PAGE, EventPage};
pub use idempotency::RequestId;
pub use letters::pdf::RenderedPdf;
pub use measures::{CaseListing, CaseOpening, CaseQuery};
pub use notices::{LifecycleChange, NoticeQuery};
pub use payments::{AmountDueOn, NewPayment, PaymentQuery};
pub use sen::SentSenStatus;
pub use statutory_events::EmittedEvents;
pub use worklist::Worklist;

use crate::app::clock::Clock;
use crate::store::{Store, StoreTx};

/// The application: the store and the clock every use case runs with, and
/// the audit checkpoint key when it has one.
#[derive(Clone)]
pub struct App {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// Signs and publishes audit checkpoints; `None`: no checkpoint key.
    checkpoints: Option<Arc<checkpoints::Checkpoints>>,
    /// Counts the units of work that committed writes (see [`App::commits`]).
    commits: Arc<tokio::sync::watch::Sender<u64>>,
}

impl App {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            clock,
            checkpoints: None,
            commits: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    /// The same application with another clock.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Today in England.
    pub fn today(&self) -> NaiveDate {
        self.clock.today()
    }

    /// Runs `work` in one unit of work that may write: committed when it returns
    /// `Ok`, rolled back otherwise. `work` gets the unit and hands it back with
    /// its result.
    async fn write<T, F, Fut>(&self, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(App, Box<dyn StoreTx>) -> Fut + Send + 'static,
        Fut: Future<Output = (Box<dyn StoreTx>, ServiceResult<T>)> + Send,
    {
        self.unit(Access::Write, work).await
    }

    /// As [`Self::write`], in a read-only unit (one snapshot on PostgreSQL).
    async fn read<T, F, Fut>(&self, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(App, Box<dyn StoreTx>) -> Fut + Send + 'static,
        Fut: Future<Output = (Box<dyn StoreTx>, ServiceResult<T>)> + Send,
    {
        self.unit(Access::Read, work).await
    }

    /// As [`Self::read`], for a unit that tolerates the read replica (a search,
    /// a summary, a return, a list): it may run there, and still sees every
    /// write committed before it began (see
    /// [`crate::store::Store::begin_replica_read`]).
    async fn read_replica<T, F, Fut>(&self, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(App, Box<dyn StoreTx>) -> Fut + Send + 'static,
        Fut: Future<Output = (Box<dyn StoreTx>, ServiceResult<T>)> + Send,
    {
        self.unit(Access::ReplicaRead, work).await
    }

    /// As [`Self::read`], for a unit that is one statement: it runs in the
    /// database's autocommit, without `BEGIN` and `COMMIT` (see
    /// [`crate::store::Store::begin_single_read`]).
    async fn read_single<T, F, Fut>(&self, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(App, Box<dyn StoreTx>) -> Fut + Send + 'static,
        Fut: Future<Output = (Box<dyn StoreTx>, ServiceResult<T>)> + Send,
    {
        self.unit(Access::SingleRead, work).await
    }

    /// The service-wide secret for `purpose` its migrations made (see
    /// `store::keys`); `None` on a database not yet migrated so far.
    pub async fn service_key(&self, purpose: &'static str) -> ServiceResult<Option<String>> {
        self.read_single(move |_, mut tx| async move {
            let key = tx.service_key(purpose).await;
            (tx, key.map_err(Into::into))
        })
        .await
    }

    async fn unit<T, F, Fut>(&self, access: Access, work: F) -> ServiceResult<T>
    where
        T: Send + 'static,
        F: FnOnce(App, Box<dyn StoreTx>) -> Fut + Send + 'static,
        Fut: Future<Output = (Box<dyn StoreTx>, ServiceResult<T>)> + Send,
    {
        let app = self.clone();
        // Read here, in the caller's task; the unit keeps it (and the server's
        // permit with it) until it ends, even after the caller has gone.
        let call = call::current();
        detached(async move {
            let call = call.as_deref();
            not_abandoned(call)?;
            let tx = match access {
                Access::Write => app.store.begin().await?,
                Access::Read => app.store.begin_read().await?,
                Access::SingleRead => app.store.begin_single_read().await?,
                Access::ReplicaRead => app.store.begin_replica_read().await?,
            };
            // Waiting for a connection (or SQLite's write lock) may outlast the
            // caller: nothing has been done yet, so nothing is.
            if let Err(e) = not_abandoned(call) {
                if let Err(rollback) = tx.rollback().await {
                    tracing::warn!(error = %rollback, "rollback failed; the connection is closed");
                }
                return Err(e);
            }
            let (tx, result) = work(app.clone(), tx).await;
            let result = finish(tx, result).await;
            if matches!(access, Access::Write) && result.is_ok() {
                app.commits.send_modify(|n| *n = n.wrapping_add(1));
            }
            result
        })
        .await
    }
}

#[derive(Debug, Clone, Copy)]
enum Access {
    Read,
    /// A read of one statement.
    SingleRead,
    /// A read that may run on the read replica.
    ReplicaRead,
    Write,
}

/// `NotStarted` (counted in the metrics) when nobody waits for `call` any more.
fn not_abandoned(call: Option<&call::Call>) -> ServiceResult<()> {
    match call.and_then(call::Call::abandoned) {
        None => Ok(()),
        Some(why) => {
            let (service, method) = call.map(call::Call::labels).unwrap_or_default();
            crate::server::metrics::metrics()
                .rpc_units_not_started
                .with_label_values(&[service, method, why.as_str()])
                .inc();
            Err(ServiceError::NotStarted(why))
        }
    }
}

/// Commits on success, rolls back on failure (a rollback that fails leaves the
/// unit unfinished, and its connection is closed rather than reused).
async fn finish<T>(tx: Box<dyn StoreTx>, result: ServiceResult<T>) -> ServiceResult<T> {
    match result {
        Ok(value) => {
            tx.commit().await?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = tx.rollback().await {
                tracing::warn!(error = %rollback, "rollback failed; the connection is closed");
            }
            Err(e)
        }
    }
}

/// Runs `work` on its own task, in the caller's span, so dropping the caller's
/// future does not drop the work. A panic is reported as `Internal`.
async fn detached<T: Send + 'static>(
    work: impl Future<Output = ServiceResult<T>> + Send + 'static,
) -> ServiceResult<T> {
    match tokio::spawn(work.in_current_span()).await {
        Ok(result) => result,
        Err(e) => {
            tracing::error!(error = %e, "a use decided panicked or was aborted");
            Err(ServiceError::Internal(e.to_string()))
        }
    }
}
